//! The log the seed bundles are exported from, built the same way every time, and the
//! checkpoints an inspector might have accepted before: the bundle target verifies against
//! each, so a seed reaches the rollback, fork and consistency checks as well as the events.

use std::sync::OnceLock;

use chibo_integrity::bundle::{Bundle, Subject};
use chibo_integrity::checkpoint::Checkpoint;

use crate::bundle_builder::{subject, Log};

/// The committee of the seed log, whose bundle holds every stream but `cell-z`.
pub const COMMITTEE_STREAMS: [&str; 3] = ["cell-a", "cell-b", "org-x"];

/// [`log`], built once for the whole run of a target.
pub fn shared() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(log)
}

/// A log of 23 events signed by the fuzz key: `org-x` registered in 2024, `cell-a` with
/// events in 2024, 2025 and 2026, `cell-b` from 2025, and `cell-z`, outside the committee.
pub fn log() -> Log {
    let mut log = Log::with_signer(crate::signer(), 7);
    log.register("org-x", "x", "thaibinh", "2024-03-01");
    log.points("cell-a", "a1", 5, "2024-11-02");
    log.points("cell-z", "z1", 5, "2024-11-03");
    log.points("cell-a", "a2", 5, "2024-12-20");
    for month in 1..=6 {
        let day = format!("2025-{month:02}-10");
        log.points("cell-a", "a1", 10 + month, &day);
        log.points("cell-z", "z1", 10, &day);
        log.points("cell-b", "b1", 20 + month, &day);
    }
    log.points("cell-a", "a1", 7, "2026-01-03");
    log
}

/// The committee's 2025.
pub fn period() -> Subject {
    subject("committee", "x", "2025-01-01", "2025-12-31")
}

/// The seed bundles: the committee's 2025 at the whole log with consistency proofs from
/// earlier sizes, the same at an earlier size, and one cell's year.
pub fn bundles(log: &Log) -> Vec<Bundle> {
    let size = log.size();
    vec![
        log.export(period(), &COMMITTEE_STREAMS, size, &[1, 10, 16]),
        log.export(period(), &COMMITTEE_STREAMS, 16, &[10]),
        log.export(subject("cell", "a", "2025-01-01", "2025-12-31"), &["cell-a"], size, &[]),
    ]
}

/// The checkpoints an inspector's state file might hold, the first byte of a bundle input
/// choosing one (or none): earlier sizes of the log, its whole size, a fork of it, a size it
/// never reached, and another log's.
pub fn accepted(log: &Log) -> Vec<Option<Checkpoint>> {
    let size = log.size();
    let fork = Checkpoint { root: [0x42; 32], ..log.checkpoint(size) };
    let beyond = Checkpoint::new(crate::ORIGIN, size + 5, [0x24; 32]);
    let other = Checkpoint::new("chibo.other.example/log", size, log.root(size));
    vec![
        None,
        Some(log.checkpoint(1)),
        Some(log.checkpoint(10)),
        Some(log.checkpoint(16)),
        Some(log.checkpoint(size)),
        Some(fork),
        Some(beyond),
        Some(other),
    ]
}
