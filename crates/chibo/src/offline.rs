//! The offline check of a data directory that `chibo verify --data` makes, and `chibo-bench
//! verify` measures: `$checkpoints` first, which fixes the tree sizes whose roots are needed;
//! then every event in global order, through the chain [`Verifier`] and the Merkle
//! [`LeafWalk`].
//!
//! A long log is walked in parts at once, one per core: each part is a range of positions, read
//! on its own connection and checked whole on its own thread (every chain and payload digest,
//! and the Merkle subtrees its leaves fill). The parts are then joined in log order: each
//! stream's first event in a part is checked against its chain in the parts before
//! ([`Verifier::join`]), and the subtrees are folded into the tree of the whole log, with the
//! roots at every size a checkpoint signs ([`LeafWalk::join`]). What is checked, and every
//! result, is the same as in one walk. The parts' leaves are numbered from their first
//! position on, which holds when every position below it is there; when one is missing (a
//! damaged log), the log is walked again in one part.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use chibo_integrity::log_audit::{checkpoint_note, LeafPart, LeafWalk, LogAudit, LogAuditReport};
use chibo_integrity::{Checkpoint, EnvelopeRef, NoteVerifier, RawEvent, Summary, Verifier};
use chibo_store_sqlite::ScanError;

/// The most threads a log is walked on.
const MAX_WORKERS: usize = 8;
/// How many parts each thread is given, about: the threads take them in turn, so that one
/// finishing early takes another rather than waiting for the slowest.
const PARTS_PER_WORKER: usize = 8;
/// The fewest events a part is given: below this, its own connection and thread cost more
/// than they save.
const MIN_EVENTS_PER_PART: u64 = 16_384;

/// What a walk keeps of each event besides checking it (`chibo verify` counts who recorded
/// what). Each part of the log keeps its own, and they are added up in log order.
pub trait Tally: Default + Send {
    /// Sees the next event of the part, after its chain is checked, with its envelope as
    /// decoded for the check (`None` if it does not decode, or its stream broke before it).
    fn see(&mut self, event: &RawEvent<'_>, envelope: Option<&EnvelopeRef<'_>>);
    /// Adds the tally of the part right after this one's.
    fn then(&mut self, later: Self);
}

/// Keeps nothing.
impl Tally for () {
    fn see(&mut self, _: &RawEvent<'_>, _: Option<&EnvelopeRef<'_>>) {}
    fn then(&mut self, _: Self) {}
}

/// What the walk found: the chains' summary, the Merkle log's report, and the tally.
#[derive(Debug)]
pub struct Checked<T> {
    /// Every chain and payload digest.
    pub summary: Summary,
    /// The tree recomputed, against every checkpoint (and the accepted one, if given).
    pub report: LogAuditReport,
    /// What `T` kept of the events.
    pub tally: T,
}

/// Checks the data directory `data`, with the checkpoint key `key` (none: the checkpoints are
/// counted, not checked) and the checkpoint the inspector accepted before, on as many threads
/// as there are cores (at most [`MAX_WORKERS`]).
pub fn check_dir<T: Tally>(
    data: &Path,
    key: Option<NoteVerifier>,
    accepted: Option<Checkpoint>,
) -> Result<Checked<T>, ScanError> {
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(MAX_WORKERS);
    let parts = Parts { workers, most: workers * PARTS_PER_WORKER, min_events: MIN_EVENTS_PER_PART };
    check_in_parts(data, key, accepted, parts)
}

/// How a log is cut into parts: into at most `most`, each of at least `min_events`, walked on
/// `workers` threads.
#[derive(Debug, Clone, Copy)]
struct Parts {
    workers: usize,
    most: usize,
    min_events: u64,
}

/// What a part's walk gives: its chains, its leaves and its tally.
type Walked<T> = Result<(Verifier, LeafPart, T), ScanError>;

/// [`check_dir`] in `parts`.
fn check_in_parts<T: Tally>(
    data: &Path,
    key: Option<NoteVerifier>,
    accepted: Option<Checkpoint>,
    parts: Parts,
) -> Result<Checked<T>, ScanError> {
    let mut audit = LogAudit::new(key.clone(), accepted.clone());
    chibo_store_sqlite::scan_stream(data, "$checkpoints", |event| {
        audit.checkpoint(event.revision, event.position, checkpoint_note(&event));
    })?;
    let mut walk = audit.leaves();
    let ranges = part_ranges(chibo_store_sqlite::last_position(data)?, parts);
    // The parts in log order, each joined to the first.
    let (mut first, mut tally, mut adjacent) = (None::<Verifier>, T::default(), true);
    for part in walk_parts::<T>(data, &walk, &ranges, parts.workers) {
        let (verifier, leaves, part_tally) = part?;
        adjacent = adjacent && walk.join(leaves).is_ok();
        match &mut first {
            Some(first) => first.join(verifier),
            None => first = Some(verifier),
        }
        tally.then(part_tally);
    }
    if !adjacent {
        // A position is missing before a part's first: its leaves were numbered wrong.
        return check_in_parts(data, key, accepted, Parts { most: 1, ..parts });
    }
    Ok(Checked { summary: first.unwrap_or_default().finish(), report: walk.finish(), tally })
}

/// Walks the parts of the log at positions `ranges` on `workers` threads, each taking the next
/// part not taken as it finishes one; the walks in the order of `ranges`.
fn walk_parts<T: Tally>(
    data: &Path,
    walk: &LeafWalk,
    ranges: &[(Option<u64>, Option<u64>)],
    workers: usize,
) -> Vec<Walked<T>> {
    let next = AtomicUsize::new(0);
    let (done, finished) = mpsc::channel();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers.clamp(1, ranges.len().max(1)))
            .map(|_| {
                let (done, next) = (done.clone(), &next);
                scope.spawn(move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(from, to)) = ranges.get(index) else { break };
                    let verifier = if index == 0 { Verifier::new() } else { Verifier::later_part() };
                    let leaves = walk.part(from.unwrap_or(0));
                    if done.send((index, walk_part::<T>(data, from, to, verifier, leaves))).is_err() {
                        break;
                    }
                })
            })
            .collect();
        drop(done);
        let mut walked: Vec<Option<Walked<T>>> = ranges.iter().map(|_| None).collect();
        for (index, part) in finished {
            walked[index] = Some(part);
        }
        for thread in threads {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        // Every thread ran to its end without a panic: every part was walked.
        walked.into_iter().flatten().collect()
    })
}

/// The positions of each part, for a log whose last position is `last`: ranges of about equal
/// length, as `parts` says; the first with no lower end, the last with no upper end.
fn part_ranges(last: Option<i64>, Parts { most, min_events, .. }: Parts) -> Vec<(Option<u64>, Option<u64>)> {
    let events = last.and_then(|last| u64::try_from(last).ok()).map_or(0, |last| last.saturating_add(1));
    let parts = (most as u64).min(events / min_events.max(1)).max(1);
    let start = |k: u64| (k > 0).then(|| (u128::from(events) * u128::from(k) / u128::from(parts)) as u64);
    (0..parts).map(|k| (start(k), if k + 1 == parts { None } else { start(k + 1) })).collect()
}

/// Walks the events at positions `from..to`.
fn walk_part<T: Tally>(
    data: &Path,
    from: Option<u64>,
    to: Option<u64>,
    mut verifier: Verifier,
    mut leaves: LeafPart,
) -> Walked<T> {
    let mut tally = T::default();
    chibo_store_sqlite::scan_positions(data, from, to, |event| {
        let (_, leaf, envelope) = verifier.check_and_hash(event);
        tally.see(&event, envelope.as_ref());
        leaves.push(&leaf);
    })?;
    Ok((verifier, leaves, tally))
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

    const EVENTS: usize = 8_315;
    /// Five parts of 1,663 events, on two threads.
    const FIVE: Parts = Parts { workers: 2, most: 5, min_events: 1_000 };
    const ONE: Parts = Parts { workers: 1, most: 1, min_events: 1_000 };

    /// The positions seen, in order.
    #[derive(Default, Debug, PartialEq)]
    struct Seen(Vec<u64>);

    impl Tally for Seen {
        fn see(&mut self, event: &RawEvent<'_>, _: Option<&EnvelopeRef<'_>>) {
            self.0.push(event.position);
        }
        fn then(&mut self, later: Self) {
            self.0.extend(later.0);
        }
    }

    fn check(dir: &Path, parts: Parts) -> Checked<Seen> {
        check_in_parts(dir, None, None, parts).unwrap()
    }

    /// Checked in five parts and in one, with the same outcome; the first.
    fn checked_both_ways(dir: &Path) -> Checked<Seen> {
        let (five, one) = (check(dir, FIVE), check(dir, ONE));
        assert_eq!((&five.summary, &five.report, &five.tally), (&one.summary, &one.report, &one.tally));
        five
    }

    fn tamper(dir: &Path, sql: &str, position: i64) {
        let conn = rusqlite::Connection::open(dir.join(chibo_store_sqlite::schema::DB_FILE)).unwrap();
        conn.execute_batch("DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete").unwrap();
        conn.execute(sql, [position]).unwrap();
    }

    #[tokio::test]
    async fn a_log_checked_in_parts_gives_every_result_of_one_walk() {
        let from = |starts: &[u64]| -> Vec<_> {
            let ends = starts.iter().map(|&end| Some(end)).chain([None]);
            [None].into_iter().chain(starts.iter().map(|&start| Some(start))).zip(ends).collect()
        };
        assert_eq!(part_ranges(Some(EVENTS as i64 - 1), FIVE), from(&[1_663, 3_326, 4_989, 6_652]));
        assert_eq!(part_ranges(Some(2_500), FIVE), from(&[1_250]), "as many parts as there are events for");
        assert_eq!(part_ranges(Some(500), FIVE), from(&[]));
        assert_eq!(part_ranges(None, FIVE), from(&[]));
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

        let checked = checked_both_ways(dir.path());
        assert!(checked.summary.is_intact(), "{:?}", checked.summary.breaks);
        assert_eq!(checked.summary.events, EVENTS as u64);
        assert_eq!(checked.tally.0, (0..EVENTS as u64).collect::<Vec<_>>());
        assert_eq!((checked.report.size, checked.report.root), (EVENTS as u64, tree.root()));

        // A payload changed in the third part: its chain breaks there, and only there.
        let broken = 4_000;
        tamper(dir.path(), "UPDATE events SET payload = x'00' WHERE position = ?1", broken);
        let checked = checked_both_ways(dir.path());
        let positions: Vec<u64> = checked.summary.breaks.iter().map(|b| b.position).collect();
        assert_eq!(positions, [broken as u64]);
        assert!(matches!(checked.summary.breaks[0].kind, BreakKind::PayloadDigestMismatch { .. }));
        assert_eq!(checked.report.root, tree.root(), "the leaves are the envelopes' hashes");

        // An envelope replaced in the fourth part, in another stream: its hash is not the
        // stored one, and the tree is not the one recorded.
        let altered = 6_005;
        tamper(dir.path(), "UPDATE events SET envelope = x'0a00' WHERE position = ?1", altered);
        let checked = checked_both_ways(dir.path());
        let breaks: Vec<_> = checked.summary.breaks.iter().map(|b| (b.position, &b.kind)).collect();
        assert_eq!(breaks.len(), 2, "{breaks:?}");
        assert_eq!(breaks[1].0, altered as u64);
        assert!(matches!(breaks[1].1, BreakKind::HashMismatch { .. }), "{breaks:?}");
        assert_ne!(checked.report.root, tree.root());
        assert_eq!(checked.report.size, EVENTS as u64);

        // An event of the second part deleted: the parts after it are numbered wrong, and the
        // log is walked again in one part; the third stream's chain breaks there.
        tamper(dir.path(), "DELETE FROM events WHERE position = ?1", 2_500);
        let checked = checked_both_ways(dir.path());
        assert_eq!(checked.summary.gaps, [chibo_integrity::Gap { expected: 2_500, found: 2_501 }]);
        let breaks: Vec<_> = checked.summary.breaks.iter().map(|b| (b.stream.as_str(), b.position)).collect();
        assert_eq!(breaks, [("cell-2", 2_501), ("cell-1", broken as u64), ("cell-0", altered as u64)]);
        assert_eq!(checked.report.size, EVENTS as u64 - 1);
    }

    #[test]
    fn a_directory_without_data_is_an_error_not_an_empty_log() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_dir::<()>(dir.path(), None, None).unwrap_err();
        assert!(matches!(err, ScanError::NoData(_)), "{err:?}");
    }
}
