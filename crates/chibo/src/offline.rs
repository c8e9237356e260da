//! The offline check of a data directory that `chibo verify --data` makes, and `chibo-bench
//! verify` measures: `$checkpoints` first, which fixes the tree sizes whose roots are needed;
//! then every event in global order, through the chain [`Verifier`] and the Merkle
//! [`LeafWalk`].
//!
//! The work runs on two threads. The scanning thread reads each row and checks its chain,
//! following it by the stored hashes; the other thread takes the rows in batches and does all
//! the hashing: each envelope's hash (the event's leaf data) against the stored one, each
//! payload against its envelope's digest, and the tree, its leaf and node hashes, and the roots
//! the checkpoints sign. Reading and decoding the rows costs a little more than hashing them
//! (about 60 : 40 on a log of 10^6 events), so the scanning thread sets the pace; neither waits
//! on the other except when the batch queue is full or empty. What is checked, and every result, is the same as on one thread: the leaves reach
//! the tree in the order they were scanned, and the verifier reports the first break of each
//! stream whichever thread found it.

use std::ops::Range;
use std::path::Path;
use std::sync::mpsc;

use chibo_integrity::log_audit::{checkpoint_note, LeafWalk, LogAudit, LogAuditReport};
use chibo_integrity::{
    check_deferred, Break, Checkpoint, Deferred, EnvelopeRef, NoteVerifier, RawEvent, Summary, Verifier,
};
use chibo_store_sqlite::ScanError;

/// How many events go to the second thread at once.
const EVENTS_PER_BATCH: usize = 4_096;
/// How many batches may wait for the second thread before the scan waits for it.
const BATCHES_QUEUED: usize = 4;

/// What the walk found: the chains' summary and the Merkle log's report.
#[derive(Debug)]
pub struct Checked {
    /// Every chain and payload digest.
    pub summary: Summary,
    /// The tree recomputed, against every checkpoint (and the accepted one, if given).
    pub report: LogAuditReport,
}

/// A run of events for the second thread, in log order; the bytes of their columns are copied
/// back to back into `bytes`.
#[derive(Default)]
struct Batch {
    rows: Vec<Row>,
    bytes: Vec<u8>,
}

/// One event of a [`Batch`]: where its columns are in the batch's bytes, and what is left to
/// check of it.
struct Row {
    position: u64,
    revision: u64,
    stream: Range<usize>,
    envelope: Range<usize>,
    payload: Range<usize>,
    salt: Range<usize>,
    hash: Range<usize>,
    deferred: Deferred,
}

impl Batch {
    fn new() -> Self {
        Self { rows: Vec::with_capacity(EVENTS_PER_BATCH), bytes: Vec::new() }
    }

    fn push(&mut self, event: &RawEvent<'_>, deferred: Deferred) {
        let mut copy = |bytes: &[u8]| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(bytes);
            start..self.bytes.len()
        };
        let row = Row {
            position: event.position,
            revision: event.revision,
            stream: copy(event.stream.as_bytes()),
            envelope: copy(event.envelope),
            payload: copy(event.payload),
            salt: copy(event.salt),
            hash: copy(event.hash),
            deferred,
        };
        self.rows.push(row);
    }

    /// The event `row` as the scan saw it.
    fn event(&self, row: &Row) -> RawEvent<'_> {
        let bytes = |range: &Range<usize>| &self.bytes[range.clone()];
        RawEvent {
            position: row.position,
            // The stream was copied from a `&str`: it is UTF-8.
            stream: std::str::from_utf8(bytes(&row.stream)).unwrap_or_default(),
            revision: row.revision,
            envelope: bytes(&row.envelope),
            payload: bytes(&row.payload),
            salt: bytes(&row.salt),
            hash: bytes(&row.hash),
        }
    }
}

/// Checks the data directory `data`, with the checkpoint key `key` (none: the checkpoints are
/// counted, not checked) and the checkpoint the inspector accepted before; `visit` sees every
/// event after its chain is checked, on the scanning thread, with its envelope as decoded for
/// the check (`None` if it does not decode, or its stream broke before it).
pub fn check_dir(
    data: &Path,
    key: Option<NoteVerifier>,
    accepted: Option<Checkpoint>,
    mut visit: impl FnMut(&RawEvent<'_>, Option<&EnvelopeRef<'_>>),
) -> Result<Checked, ScanError> {
    let mut audit = LogAudit::new(key, accepted);
    chibo_store_sqlite::scan_stream(data, "$checkpoints", |event| {
        audit.checkpoint(event.revision, event.position, checkpoint_note(&event));
    })?;
    let leaves = audit.leaves();

    let (batches, queue) = mpsc::sync_channel::<Batch>(BATCHES_QUEUED);
    std::thread::scope(|scope| {
        let second = scope.spawn(move || second_thread(leaves, queue));
        let mut verifier = Verifier::new();
        let mut batch = Batch::new();
        let mut second_gone = false;
        let scanned = chibo_store_sqlite::scan(data, |event| {
            let (deferred, envelope) = verifier.check_deferring_hashes(event);
            visit(&event, envelope.as_ref());
            batch.push(&event, deferred);
            if batch.rows.len() == EVENTS_PER_BATCH && !second_gone {
                let full = std::mem::replace(&mut batch, Batch::new());
                // The second thread stops only by panicking, reported at the join below.
                second_gone = batches.send(full).is_err();
            }
        });
        if !second_gone && !batch.rows.is_empty() {
            let _ = batches.send(batch);
        }
        drop(batches);
        let (report, breaks) = match second.join() {
            Ok(done) => done,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        scanned?;
        for broken in breaks {
            verifier.deferred_broke(broken);
        }
        Ok(Checked { summary: verifier.finish(), report })
    })
}

/// The second thread: every batch, in order, then the Merkle report and the breaks its hashes
/// found.
fn second_thread(mut leaves: LeafWalk, queue: mpsc::Receiver<Batch>) -> (LogAuditReport, Vec<Break>) {
    let mut breaks = Vec::new();
    for batch in queue {
        for row in &batch.rows {
            let (leaf, broken) = check_deferred(&batch.event(row), &row.deferred);
            leaves.push(&leaf);
            breaks.extend(broken);
        }
    }
    (leaves.finish(), breaks)
}

#[cfg(test)]
mod tests {
    use chibo_domain::StreamName;
    use chibo_integrity::merkle::Frontier;
    use chibo_integrity::BreakKind;
    use chibo_store::{EventStore, ExpectedRevision};
    use chibo_store_contract::new_event;
    use chibo_store_sqlite::{Options, SqliteStore};

    use super::*;

    /// Two full batches for the Merkle thread and a part of one.
    const EVENTS: usize = EVENTS_PER_BATCH * 2 + 123;

    #[tokio::test]
    async fn the_second_thread_gets_every_leaf_in_order_and_finds_a_broken_payload() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), Options::default()).unwrap();
        let mut receipts = Vec::new();
        for (i, chunk) in (0..EVENTS).collect::<Vec<_>>().chunks(1_000).enumerate() {
            let stream = StreamName::parse("stream", &format!("cell-{}", i % 3)).unwrap();
            let events = chunk.iter().map(|n| new_event(&n.to_string())).collect();
            receipts.extend(store.append(&stream, ExpectedRevision::Any, events).await.unwrap());
        }
        drop(store);
        receipts.sort_by_key(|r| r.position);
        let mut tree = Frontier::new();
        for receipt in &receipts {
            tree.push(&receipt.hash);
        }

        let mut visited = Vec::new();
        let checked = check_dir(dir.path(), None, None, |event, _| visited.push(event.position)).unwrap();
        assert!(checked.summary.is_intact(), "{:?}", checked.summary.breaks);
        assert_eq!(checked.summary.events, EVENTS as u64);
        assert_eq!(visited, (0..EVENTS as u64).collect::<Vec<_>>());
        assert_eq!((checked.report.size, checked.report.root), (EVENTS as u64, tree.root()));

        // A payload changed in the second batch: its chain breaks there, and only there.
        let broken = EVENTS_PER_BATCH as i64 + 7;
        let conn = rusqlite::Connection::open(dir.path().join(chibo_store_sqlite::schema::DB_FILE)).unwrap();
        conn.execute_batch("DROP TRIGGER events_no_update").unwrap();
        conn.execute("UPDATE events SET payload = x'00' WHERE position = ?1", [broken]).unwrap();
        drop(conn);
        let checked = check_dir(dir.path(), None, None, |_, _| {}).unwrap();
        let positions: Vec<u64> = checked.summary.breaks.iter().map(|b| b.position).collect();
        assert_eq!(positions, [broken as u64]);
        assert!(matches!(checked.summary.breaks[0].kind, BreakKind::PayloadDigestMismatch { .. }));
        assert_eq!(checked.report.root, tree.root(), "the leaves are the envelopes' hashes");

        // An envelope replaced in the third batch, in another stream: the second thread finds
        // its hash is not the stored one, and the tree it builds is not the one recorded.
        let altered = EVENTS_PER_BATCH as i64 * 2 + 5;
        let conn = rusqlite::Connection::open(dir.path().join(chibo_store_sqlite::schema::DB_FILE)).unwrap();
        conn.execute("UPDATE events SET envelope = x'0a00' WHERE position = ?1", [altered]).unwrap();
        drop(conn);
        let checked = check_dir(dir.path(), None, None, |_, _| {}).unwrap();
        let breaks: Vec<_> = checked.summary.breaks.iter().map(|b| (b.position, &b.kind)).collect();
        assert_eq!(breaks.len(), 2, "{breaks:?}");
        assert_eq!(breaks[1].0, altered as u64);
        assert!(matches!(breaks[1].1, BreakKind::HashMismatch { .. }), "{breaks:?}");
        assert_ne!(checked.report.root, tree.root());
        assert_eq!(checked.report.size, EVENTS as u64);
    }

    #[test]
    fn a_directory_without_data_is_an_error_not_an_empty_log() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_dir(dir.path(), None, None, |_, _| {}).unwrap_err();
        assert!(matches!(err, ScanError::NoData(_)), "{err:?}");
    }
}
