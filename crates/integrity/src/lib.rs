//! chibo's integrity primitives, exactly as the hash spec (v1) in DESIGN.md and
//! docs/ARCHITECTURE.md fixes them:
//!
//! - `genesis(stream) = SHA-256("chibo:genesis:v1\0" || stream)`;
//! - `payload_digest = SHA-256("chibo:payload:v1\0" || salt || payload)`;
//! - `hash = SHA-256("chibo:event:v1\0" || envelope_bytes)`, over the stored envelope bytes.
//!
//! [`seal`] builds and encodes an envelope once, for the stores; [`Verifier`] walks stored
//! events in global order and reports the first break of every stream's chain. [`merkle`] holds
//! the Merkle log's tree algorithms: roots, inclusion and consistency proofs, their verifiers.
//!
//! Checkpoints are C2SP `tlog-checkpoint` bodies ([`checkpoint`]) signed as C2SP `signed-note`s
//! with Ed25519 ([`note`]). [`bundle`] holds the audit bundle an inspector carries away, and
//! its offline verifier; [`log_audit`] checks a whole log against the checkpoints recorded in
//! it and the one an inspector accepted before.
#![deny(missing_docs)]

pub mod bundle;
pub mod checkpoint;
mod envelope;
mod hash;
pub mod log_audit;
pub mod merkle;
pub mod note;
mod verify;

pub use checkpoint::{accept, AcceptError, Accepted, Checkpoint, CheckpointError};
pub use envelope::{seal, Envelope, EnvelopeError, EnvelopeFields, EnvelopeRef, Sealed};
pub use hash::{event_hash, genesis, payload_digest, Hash, Salt, HASH_LEN, SALT_LEN};
pub use note::{NoteError, NoteSigner, NoteVerifier, Verified};
pub use verify::{Break, BreakKind, Gap, RawEvent, Summary, Verifier};
