//! The offline check of a data directory that `chibo verify --data` makes, and `chibo-bench
//! verify` measures: `$checkpoints` first, which fixes the tree sizes whose roots are needed;
//! then every event in global order, through the chain [`Verifier`] and the Merkle
//! [`LeafWalk`].
//!
//! A long log is walked in parts at once, on one thread per core: each part is a range of
//! positions, checked whole by the thread that takes it (every chain and payload digest, and the
//! Merkle subtrees its leaves fill), each thread reading on a connection of its own. The parts
//! shrink towards the end of the log, so that the threads finish close together: the last parts
//! are short, and a thread that finishes one takes the next. The parts are then joined in log
//! order: each stream's first event in a part is checked against its chain in the parts before
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
use chibo_store_sqlite::{Access, ScanError, Scanner};

/// The most threads a log is walked on.
const MAX_WORKERS: usize = 8;
/// The fewest events a part is given: each part starts its streams' chains afresh, to be
/// joined to the parts before, which costs about as much as checking an event per stream.
/// Small enough that the last parts, and the parts of a small log, spread evenly over the
/// threads (at 4,096, a log of 10^4 events was cut in two parts of 4,096 and 5,907;
/// docs/BENCHMARKS.md, fourteenth round).
const MIN_EVENTS_PER_PART: u64 = 1_024;

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
    check_in_parts(data, key, accepted, Parts { workers, min_events: MIN_EVENTS_PER_PART })
}

/// How a log is cut into parts: for `workers` threads, each part of at least `min_events`
/// (see [`part_ranges`]).
#[derive(Debug, Clone, Copy)]
struct Parts {
    workers: usize,
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
    let scanner = Scanner::open(data, Access::Rows)?;
    let mut audit = LogAudit::new(key.clone(), accepted.clone());
    scanner.stream("$checkpoints", |event| {
        audit.checkpoint(event.revision, event.position, checkpoint_note(&event));
    })?;
    let mut walk = audit.leaves();
    let ranges = part_ranges(scanner.last_position()?, parts);
    drop(scanner);
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
        return check_in_parts(data, key, accepted, Parts { workers: 1, ..parts });
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
                scope.spawn(move || {
                    // Opened when the thread takes its first part, and kept for the rest.
                    let mut scanner = None;
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(from, to)) = ranges.get(index) else { break };
                        let verifier = if index == 0 { Verifier::new() } else { Verifier::later_part() };
                        let leaves = walk.part(from.unwrap_or(0));
                        let walked = match &scanner {
                            Some(scanner) => walk_part::<T>(scanner, from, to, verifier, leaves),
                            None => Scanner::open(data, Access::Whole)
                                .and_then(|opened| walk_part::<T>(scanner.insert(opened), from, to, verifier, leaves)),
                        };
                        if done.send((index, walked)).is_err() {
                            break;
                        }
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

/// The positions of each part, for a log whose last position is `last`: the first with no lower
/// end, the last with no upper end. With one worker, one part. Else each part has half of each
/// worker's share of the events left (at least `min_events`, and the rest when fewer than that
/// would be left after it): the parts shrink towards the end of the log, so that a thread
/// taking the last one while the others finish theirs has little to do.
fn part_ranges(last: Option<i64>, Parts { workers, min_events }: Parts) -> Vec<(Option<u64>, Option<u64>)> {
    let events = last.and_then(|last| u64::try_from(last).ok()).map_or(0, |last| last.saturating_add(1));
    let mut starts = vec![];
    if workers > 1 {
        let (mut start, min) = (0, min_events.max(1));
        loop {
            let left = events - start;
            let size = (left / (2 * workers as u64)).max(min);
            if left.saturating_sub(size) < min {
                break;
            }
            start += size;
            starts.push(start);
        }
    }
    let lower = [None].into_iter().chain(starts.iter().copied().map(Some));
    let upper = starts.iter().copied().map(Some).chain([None]);
    lower.zip(upper).collect()
}

/// Walks the events at positions `from..to`.
fn walk_part<T: Tally>(
    scanner: &Scanner,
    from: Option<u64>,
    to: Option<u64>,
    mut verifier: Verifier,
    mut leaves: LeafPart,
) -> Walked<T> {
    let mut tally = T::default();
    scanner.positions(from, to, |event| {
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
    /// Six parts, from 2,078 events down to 1,000, and the last of 1,509, on two threads.
    const SIX: Parts = Parts { workers: 2, min_events: 1_000 };
    const ONE: Parts = Parts { workers: 1, min_events: 1_000 };

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

    /// Checked in six parts and in one, with the same outcome; the first.
    fn checked_both_ways(dir: &Path) -> Checked<Seen> {
        let (six, one) = (check(dir, SIX), check(dir, ONE));
        assert_eq!((&six.summary, &six.report, &six.tally), (&one.summary, &one.report, &one.tally));
        six
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
        assert_eq!(part_ranges(Some(EVENTS as i64 - 1), SIX), from(&[2_078, 3_637, 4_806, 5_806, 6_806]));
        assert_eq!(part_ranges(Some(EVENTS as i64 - 1), ONE), from(&[]));
        assert_eq!(part_ranges(Some(2_500), SIX), from(&[1_000]), "as many parts as there are events for");
        assert_eq!(part_ranges(Some(500), SIX), from(&[]));
        assert_eq!(part_ranges(None, SIX), from(&[]));
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

        // An envelope replaced in the fifth part, in another stream: its hash is not the
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
    fn parts_cover_the_log_once_and_shrink_to_the_least_at_its_end() {
        for workers in [2, 3, 8] {
            for events in [1, 999, 1_000, 1_999, 2_000, 8_315, 65_536, 1_000_003] {
                let parts = Parts { workers, min_events: 1_000 };
                let ranges = part_ranges(Some(events as i64 - 1), parts);
                let (first, last) = (ranges[0], ranges[ranges.len() - 1]);
                assert_eq!((first.0, last.1), (None, None), "{workers} workers, {events} events");
                let sizes: Vec<u64> =
                    ranges.iter().map(|&(from, to)| to.unwrap_or(events) - from.unwrap_or(0)).collect();
                assert_eq!(sizes.iter().sum::<u64>(), events, "{ranges:?}");
                assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0), "contiguous: {ranges:?}");
                let (&end, rest) = sizes.split_last().unwrap();
                assert!(rest.windows(2).all(|w| w[0] >= w[1]), "shrinking: {sizes:?}");
                assert!(rest.iter().all(|&size| size >= 1_000), "{sizes:?}");
                // The last part is the rest: fewer than twice the least, unless it is the only one.
                assert!(end < 2_000 || sizes.len() == 1 && events < 2_000, "{sizes:?}");
                if events >= 65_536 {
                    assert_eq!(rest.last(), Some(&1_000), "{sizes:?}");
                    assert!(sizes[0] <= events / (2 * workers as u64), "{sizes:?}");
                }
            }
        }
    }

    #[test]
    fn a_directory_without_data_is_an_error_not_an_empty_log() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_dir::<()>(dir.path(), None, None).unwrap_err();
        assert!(matches!(err, ScanError::NoData(_)), "{err:?}");
    }
}
