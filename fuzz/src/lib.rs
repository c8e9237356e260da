//! What the fuzz targets and their seed generator (`examples/seeds.rs`) share: the fixed key
//! that signs every note, checkpoint and bundle of the seeds, the fixed clock submissions are
//! checked against, a valid submission of every event kind, and the log the seed bundles are
//! exported from.
//!
//! The key is public on purpose: with it fixed, a mutated note can only verify if it still
//! carries the signature made for its text, which is what the targets assert.

use chibo_domain::Timestamp;
use chibo_integrity::{NoteSigner, NoteVerifier};

#[path = "../../crates/integrity/tests/bundle_builder/mod.rs"]
pub mod bundle_builder;
pub mod history;
pub mod recorded;
pub mod samples;

/// The origin of the seeds' log, and the name of its key.
pub const ORIGIN: &str = "chibo.fuzz.example/log";

/// The signer key of [`ORIGIN`]: a test key, known to everyone.
const PRIVATE_KEY: &str = "PRIVATE+KEY+chibo.fuzz.example/log+2ca674a2+AX5ZoBhKruWMEsvbhIWSUTGiznN9ju4Jqk0Ak10xL8AH";

/// Another log's signer key, for notes that must not verify with [`verifier`].
const OTHER_PRIVATE_KEY: &str =
    "PRIVATE+KEY+chibo.other.example/log+4b0bed3a+AZHC6WeuLzh3i6+bNk5xowCs2M9rDhDsMtBLjOCaBdYP";

/// The key that signs the seeds' notes.
pub fn signer() -> NoteSigner {
    NoteSigner::from_private_key(PRIVATE_KEY).expect("the fuzz key is well-formed")
}

/// The key of another log.
pub fn other_signer() -> NoteSigner {
    NoteSigner::from_private_key(OTHER_PRIVATE_KEY).expect("the other fuzz key is well-formed")
}

/// The verifier of [`signer`].
pub fn verifier() -> NoteVerifier {
    signer().verifier()
}

/// The server's clock as the submission target sees it: 2026-06-01T00:00:00Z.
pub fn now() -> Timestamp {
    Timestamp::new("now", 1_780_272_000, 0).expect("2026 is in range")
}
