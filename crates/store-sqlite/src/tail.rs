//! The last commits, kept in memory for the log's followers.
//!
//! Every commit is read back at once by the server's followers (the projection engine, the
//! Merkle log), each through [`EventStore::read_all_into`](chibo_store::EventStore). From
//! SQLite, that read is the commit's pages, just written to the WAL, read again with `pread`,
//! and each row's columns copied out of them. The writer has those bytes in hand when it
//! commits: it keeps them here instead of dropping them, and a page of the log that starts
//! among them is handed over from here. They are the very bytes the commit wrote, moved, not
//! copied, and they are here only once SQLite has committed them.
//!
//! What is kept is bounded: once the commits after the oldest hold [`KEEP`] events, the oldest
//! is dropped. A reader further behind, and every reader before the first commit since the
//! store opened, reads from SQLite as before.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use chibo_integrity::{RawEvent, Sealed};
use chibo_store::NewEvent;

/// The fewest events the tail keeps (with the commits that hold them): a few commits of a
/// busy log, a few megabytes.
pub const KEEP: usize = 16_384;

/// The events of one append as the writer wrote them.
pub struct Appended {
    /// The stream.
    pub stream: String,
    /// The position of the first event.
    pub position: u64,
    /// The revision of the first event.
    pub revision: u64,
    /// The events as submitted: their payloads and salts.
    pub events: Vec<NewEvent>,
    /// Each event's envelope and hash, as sealed.
    pub sealed: Vec<Sealed>,
}

/// One commit: its appends, in position order, their positions following one another.
pub struct Commit {
    appended: Vec<Appended>,
    first: u64,
    end: u64,
}

impl Commit {
    /// The commit of `appended`, which holds at least one event, in position order without
    /// gaps; `None` if they do not.
    pub fn new(appended: Vec<Appended>) -> Option<Self> {
        let first = appended.first()?.position;
        let mut end = first;
        for a in &appended {
            if a.position != end || a.events.len() != a.sealed.len() || a.events.is_empty() {
                return None;
            }
            end += a.events.len() as u64;
        }
        Some(Self { appended, first, end })
    }

    /// How many events it holds.
    fn len(&self) -> usize {
        (self.end - self.first) as usize
    }

    /// Hands the events from position `from` on, at most `max`, to `visit`; how many it handed.
    fn visit(&self, from: u64, max: usize, visit: &mut dyn FnMut(RawEvent<'_>)) -> usize {
        let mut handed = 0;
        for a in &self.appended {
            let end = a.position + a.events.len() as u64;
            if end <= from {
                continue;
            }
            let skip = from.saturating_sub(a.position) as usize;
            for (i, (event, sealed)) in a.events.iter().zip(&a.sealed).enumerate().skip(skip) {
                if handed == max {
                    return handed;
                }
                visit(RawEvent {
                    position: a.position + i as u64,
                    stream: &a.stream,
                    revision: a.revision + i as u64,
                    envelope: &sealed.envelope,
                    payload: &event.payload,
                    salt: &event.salt,
                    hash: &sealed.hash,
                });
                handed += 1;
            }
        }
        handed
    }
}

/// The last commits, oldest first.
#[derive(Default)]
pub struct Tail {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    commits: VecDeque<Arc<Commit>>,
    /// The events the commits hold.
    events: usize,
}

impl Tail {
    /// Keeps `commit`, the log's latest, and drops the oldest commits it no longer needs. Called
    /// by the writer once SQLite has committed it, and before the commit is announced.
    pub fn push(&self, commit: Commit) {
        let dropped = {
            let mut inner = self.lock();
            if inner.commits.back().is_some_and(|last| last.end != commit.first) {
                // Not the next commit: what is kept would have a gap. Start again from this one.
                inner.events = 0;
                inner.commits.clear();
            }
            inner.events += commit.len();
            inner.commits.push_back(Arc::new(commit));
            let mut dropped = Vec::new();
            while inner.commits.len() > 1 && inner.events - inner.commits[0].len() >= KEEP {
                let oldest = inner.commits.pop_front().expect("more than one commit");
                inner.events -= oldest.len();
                dropped.push(oldest);
            }
            dropped
        };
        // Freed outside the lock, so that a reader never waits for it.
        drop(dropped);
    }

    /// Drops every commit kept, so that every page is read from SQLite until the next commit.
    pub fn clear(&self) {
        let dropped = {
            let mut inner = self.lock();
            inner.events = 0;
            std::mem::take(&mut inner.commits)
        };
        drop(dropped);
    }

    /// Hands the events after position `after` (`None`: from the first), at most `max`, to
    /// `visit`, in order, if the tail holds the first of them or they are past its end (then
    /// none are handed: the log has no more). `false`, having handed nothing, if the events
    /// asked for start before what the tail holds, or it holds nothing yet.
    pub fn read(&self, after: Option<u64>, max: usize, visit: &mut dyn FnMut(RawEvent<'_>)) -> bool {
        let from = after.map_or(0, |p| p.saturating_add(1));
        // The commits needed, taken under the lock; visited after it.
        let commits: Vec<Arc<Commit>> = {
            let inner = self.lock();
            match inner.commits.front() {
                Some(oldest) if oldest.first <= from => {}
                _ => return false,
            }
            inner.commits.iter().filter(|c| c.end > from).cloned().collect()
        };
        let mut handed = 0;
        for commit in &commits {
            if handed == max {
                break;
            }
            handed += commit.visit(from.max(commit.first), max - handed, visit);
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use chibo_domain::{EventId, Timestamp};
    use chibo_integrity::genesis;

    use super::*;

    /// An append of `n` events to `stream` from `position` and `revision` on.
    fn appended(stream: &str, position: u64, revision: u64, n: usize) -> Appended {
        let mut events = Vec::new();
        let mut sealed = Vec::new();
        let mut prev = genesis(stream);
        for i in 0..n {
            let id = EventId::from_bytes(((position + i as u64) as u128 + 1).to_be_bytes());
            let at = Timestamp::from_unix_nanos(1_000).unwrap();
            let event = NewEvent::new(id, "MeetingHeld", 1, at, "actor", vec![i as u8; 3], [position as u8; 16]);
            let s = event.seal(stream, revision + i as u64, at, &prev);
            prev = s.hash;
            events.push(event);
            sealed.push(s);
        }
        Appended { stream: stream.into(), position, revision, events, sealed }
    }

    /// The positions, streams and revisions the tail hands over after `after`, or `None`.
    fn read(tail: &Tail, after: Option<u64>, max: usize) -> Option<Vec<(u64, String, u64)>> {
        let mut seen = Vec::new();
        let served = tail.read(after, max, &mut |e| {
            assert_eq!(e.salt.len(), 16);
            seen.push((e.position, e.stream.to_owned(), e.revision))
        });
        served.then_some(seen)
    }

    #[test]
    fn a_commit_needs_its_positions_to_follow_one_another() {
        assert!(Commit::new(vec![]).is_none());
        assert!(Commit::new(vec![appended("a", 0, 0, 2), appended("b", 2, 0, 1)]).is_some());
        assert!(Commit::new(vec![appended("a", 0, 0, 2), appended("b", 3, 0, 1)]).is_none(), "a gap");
        assert!(Commit::new(vec![appended("a", 0, 0, 0)]).is_none(), "an empty append");
        let mut short = appended("a", 0, 0, 2);
        short.sealed.pop();
        assert!(Commit::new(vec![short]).is_none(), "an event without its seal");
    }

    #[test]
    fn pages_are_handed_over_across_appends_and_commits_in_order() {
        let tail = Tail::default();
        assert_eq!(read(&tail, None, 10), None, "nothing kept yet: read from SQLite");
        tail.push(Commit::new(vec![appended("a", 5, 0, 2), appended("b", 7, 3, 2)]).unwrap());
        tail.push(Commit::new(vec![appended("a", 9, 2, 3)]).unwrap());
        assert_eq!(read(&tail, Some(3), 10), None, "position 4 is older than the tail");
        let all = read(&tail, Some(4), 100).unwrap();
        let expected: Vec<_> =
            [(5, "a", 0), (6, "a", 1), (7, "b", 3), (8, "b", 4), (9, "a", 2), (10, "a", 3), (11, "a", 4)]
                .into_iter()
                .map(|(p, s, r)| (p, s.to_owned(), r))
                .collect();
        assert_eq!(all, expected);
        // Any start within, any page size: the same events in the same order.
        for after in 4..12 {
            for max in 1..9 {
                let page = read(&tail, Some(after), max).unwrap();
                let from = (after - 4) as usize;
                assert_eq!(page, expected[from..(from + max).min(expected.len())], "after {after}, max {max}");
            }
        }
        assert_eq!(read(&tail, Some(11), 10), Some(vec![]), "past the end: nothing more yet");
    }

    #[test]
    fn the_oldest_commits_go_once_the_rest_hold_enough() {
        let tail = Tail::default();
        let per = KEEP / 4;
        for i in 0..5u64 {
            let position = i * per as u64;
            tail.push(Commit::new(vec![appended("a", position, position, per)]).unwrap());
        }
        // Five commits of a quarter each: the first went once the four after it held KEEP.
        assert_eq!(read(&tail, Some(per as u64 - 2), 1), None);
        assert_eq!(read(&tail, Some(per as u64 - 1), 1).unwrap()[0].0, per as u64);
        // One commit larger than KEEP is kept whole, alone.
        let big = Commit::new(vec![appended("b", 5 * per as u64, 0, KEEP + 1)]).unwrap();
        tail.push(big);
        assert_eq!(read(&tail, Some(5 * per as u64 - 1), 1).unwrap()[0].0, 5 * per as u64);
        assert_eq!(read(&tail, Some(5 * per as u64 - 2), 1), None);
    }

    #[test]
    fn a_commit_that_does_not_follow_starts_the_tail_again() {
        let tail = Tail::default();
        tail.push(Commit::new(vec![appended("a", 0, 0, 2)]).unwrap());
        tail.push(Commit::new(vec![appended("a", 5, 5, 1)]).unwrap());
        assert_eq!(read(&tail, None, 10), None, "positions 0 and 1 were dropped with the gap");
        assert_eq!(read(&tail, Some(4), 10).unwrap().len(), 1);
        tail.clear();
        assert_eq!(read(&tail, Some(4), 10), None, "nothing kept: read from SQLite");
    }
}
