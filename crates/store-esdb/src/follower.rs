//! The follower of `$all`: where chibo's global positions come from.
//!
//! One task per store subscribes to the whole of `$all` and numbers the events of the log's
//! streams 0, 1, 2, … in `$all` order, keeping, in memory, the `$all` position of each (so a
//! read can start at chibo position N) and the chibo position of each event id (so an append
//! can tell a retry from a new event). It resumes after a dropped subscription from the `$all`
//! position of the last event it applied, never from the server's checkpoint messages, and
//! skips anything at or before that position, so nothing is counted twice or missed; every
//! server following the same `$all` counts the same way. Nothing is stored: on start, the
//! index is rebuilt from `$all`.
//!
//! It follows `$all` unfiltered (other streams are skipped here, not by the server) so that it
//! always knows how far it has read `$all`: an append waits until the follower has read at least
//! up to the end of `$all` as the append found it, and so sees every event acknowledged before.

use std::{
    collections::{hash_map::Entry, HashMap},
    sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::Duration,
};

use bytes::Bytes;
use chibo_domain::{EventId, Timestamp};
use chibo_integrity::{Envelope, Hash};
use eventstore::{Position, StreamPosition, SubscribeToAllOptions, SubscriptionEvent};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    client::{Failure, Kurrent},
    layout::{self, Namespace},
};

/// How many events the follower applies under one lock.
const BATCH: usize = 1024;
/// The first wait before following `$all` again after a failure; it doubles up to
/// [`MAX_RESUBSCRIBE_DELAY`].
const FIRST_RESUBSCRIBE_DELAY: Duration = Duration::from_millis(50);
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(2);

/// An event of `$all`, as much of it as the follower needs.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Its `$all` position.
    pub position: Position,
    /// Its KurrentDB stream.
    pub stream: String,
    /// Its KurrentDB event id.
    pub id: uuid::Uuid,
    /// Its custom metadata.
    pub metadata: Bytes,
}

/// An awaited event, once indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexed {
    /// Its chibo position.
    pub position: u64,
    /// The hash it carries (`None`: its metadata is not chibo's).
    pub hash: Option<Hash>,
}

/// Where a `$all` position stands in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The event of the log at this chibo position.
    At(u64),
    /// The follower has not read that far yet.
    NotYet,
    /// Read past, and no event of the log is there.
    Absent,
}

/// What the follower knows.
#[derive(Default)]
pub struct Index {
    /// The `$all` position of every event of the log, by chibo position.
    positions: Vec<Position>,
    /// The chibo position of every event id (the first, should one be in `$all` twice).
    ids: HashMap<EventId, u64>,
    /// The `$all` position of the last event read, of any stream.
    scanned: Option<Position>,
    /// The latest record time among the events read.
    last_recorded_at: Option<Timestamp>,
    /// Appends waiting for their events.
    pending: HashMap<EventId, oneshot::Sender<Indexed>>,
    /// Why the follower stopped for good.
    stopped: Option<String>,
}

impl Index {
    /// The chibo position of the last event indexed.
    pub fn tip(&self) -> Option<u64> {
        (self.positions.len() as u64).checked_sub(1)
    }

    /// The `$all` position of the event at chibo position `position`.
    pub fn all_position(&self, position: u64) -> Option<Position> {
        usize::try_from(position).ok().and_then(|p| self.positions.get(p)).copied()
    }

    /// The chibo position of the event at `$all` position `all`.
    pub fn lookup(&self, all: Position) -> Lookup {
        match self.positions.binary_search(&all) {
            Ok(p) => Lookup::At(p as u64),
            Err(_) if self.scanned.is_some_and(|s| all <= s) => Lookup::Absent,
            Err(_) => Lookup::NotYet,
        }
    }

    /// The chibo position of the event recorded with this id.
    pub fn position_of(&self, id: &EventId) -> Option<u64> {
        self.ids.get(id).copied()
    }

    /// The latest record time the follower has seen.
    pub fn last_recorded_at(&self) -> Option<Timestamp> {
        self.last_recorded_at
    }

    /// Takes in one event of `$all`; an awaited one goes into `fired`.
    fn take(&mut self, namespace: &Namespace, seen: Seen, fired: &mut Vec<(oneshot::Sender<Indexed>, Indexed)>) {
        if self.scanned.is_some_and(|s| seen.position <= s) {
            return; // read before: a subscription resumed at or before it
        }
        self.scanned = Some(seen.position);
        if !namespace.owns(&seen.stream) {
            return;
        }
        let position = self.positions.len() as u64;
        self.positions.push(seen.position);
        let metadata = layout::metadata(&seen.metadata).ok();
        if let Some(envelope) = metadata.and_then(|m| Envelope::decode(m.envelope).ok()) {
            self.last_recorded_at = self.last_recorded_at.max(Some(envelope.recorded_at));
        }
        let id = layout::event_id(&seen.id);
        match self.ids.entry(id) {
            Entry::Vacant(v) => {
                v.insert(position);
            }
            Entry::Occupied(first) => tracing::error!(
                event_id = %id,
                first = first.get(),
                again = position,
                "an event id is recorded twice in the log; the first is the one it names"
            ),
        }
        if let Some(waiter) = self.pending.remove(&id) {
            fired.push((waiter, Indexed { position, hash: metadata.map(|m| m.hash) }));
        }
    }
}

/// The follower's shared state: the index, and the watches that tell of its progress.
pub struct Follower {
    namespace: Namespace,
    index: RwLock<Index>,
    /// Bumped whenever the index changes or the follower stops.
    progress: watch::Sender<u64>,
    /// The chibo position of the last event indexed: the store's `committed()`.
    committed: watch::Sender<Option<u64>>,
}

impl Follower {
    pub fn new(namespace: Namespace) -> Self {
        Self {
            namespace,
            index: RwLock::new(Index::default()),
            progress: watch::Sender::new(0),
            committed: watch::Sender::new(None),
        }
    }

    /// What the follower knows now.
    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches the chibo position of the last event indexed.
    pub fn committed(&self) -> watch::Receiver<Option<u64>> {
        self.committed.subscribe()
    }

    /// Takes in events of `$all`, in `$all` order.
    pub fn apply(&self, events: impl IntoIterator<Item = Seen>) {
        let mut fired = Vec::new();
        let tip = {
            let mut index = self.index_mut();
            for seen in events {
                index.take(&self.namespace, seen, &mut fired);
            }
            index.tip()
        };
        // Committed first, so that whoever is handed a receipt finds it committed.
        self.committed.send_if_modified(|c| std::mem::replace(c, tip) != tip);
        self.progress.send_modify(|n| *n = n.wrapping_add(1));
        for (waiter, indexed) in fired {
            let _ = waiter.send(indexed);
        }
    }

    /// Stops for good: everything waiting is told why.
    pub fn stop(&self, reason: String) {
        let mut index = self.index_mut();
        index.stopped.get_or_insert(reason);
        index.pending.clear();
        drop(index);
        self.progress.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Why the follower stopped, if it did.
    pub fn stopped(&self) -> Option<String> {
        self.index().stopped.clone()
    }

    /// Waits until the follower has read `$all` up to `target` (inclusive), for at most
    /// `timeout` if one is given.
    pub async fn wait_until_read(&self, target: Position, timeout: Option<Duration>) -> Result<(), String> {
        let mut progress = self.progress.subscribe();
        let wait = async {
            loop {
                {
                    let index = self.index();
                    if let Some(reason) = &index.stopped {
                        return Err(reason.clone());
                    }
                    if index.scanned >= Some(target) {
                        return Ok(());
                    }
                }
                // The sender lives as long as `self`.
                let _ = progress.changed().await;
            }
        };
        match timeout {
            None => wait.await,
            Some(limit) => tokio::time::timeout(limit, wait).await.unwrap_or_else(|_| {
                Err(format!("this server's follower of $all has not reached {target} within {} s", limit.as_secs_f32()))
            }),
        }
    }

    /// Registers an append's events to be told their positions once indexed; `None` if one of
    /// them is already indexed (so it was not this append that wrote it).
    pub fn await_events(&self, ids: &[EventId]) -> Option<Awaited<'_>> {
        let mut index = self.index_mut();
        if index.stopped.is_some() || ids.iter().any(|id| index.ids.contains_key(id) || index.pending.contains_key(id))
        {
            return None;
        }
        let mut receivers = Vec::with_capacity(ids.len());
        for id in ids {
            let (tx, rx) = oneshot::channel();
            index.pending.insert(*id, tx);
            receivers.push(rx);
        }
        Some(Awaited { follower: self, ids: ids.to_vec(), receivers })
    }

    /// Follows `$all` until the task is aborted or access is denied for good.
    pub async fn run(&self, kurrent: Kurrent) {
        let mut delay = FIRST_RESUBSCRIBE_DELAY;
        loop {
            let from = self.index().scanned;
            let (tx, mut rx) = mpsc::channel(BATCH);
            let mut reader = AbortOnDrop(tokio::spawn(forward(kurrent.clone(), from, tx)));
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                self.apply(batch.drain(..));
                delay = FIRST_RESUBSCRIBE_DELAY;
            }
            let failure = match (&mut reader.0).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(Failure::Kurrent(e)),
                Err(e) if e.is_panic() => Some(Failure::Panicked(format!("{e}"))),
                Err(_) => None,
            };
            if let Some(Failure::Kurrent(eventstore::Error::AccessDenied)) = failure {
                let reason = format!("following $all: {}", Failure::Kurrent(eventstore::Error::AccessDenied));
                tracing::error!(%reason, "the follower of $all stopped");
                self.stop(reason);
                return;
            }
            let why = failure.map_or_else(|| "the subscription ended".to_owned(), |f| f.to_string());
            tracing::warn!(reason = %why, resume_after = ?from, "following $all again in {delay:?}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY);
        }
    }
}

/// An append's events, waited for.
pub struct Awaited<'a> {
    follower: &'a Follower,
    ids: Vec<EventId>,
    receivers: Vec<oneshot::Receiver<Indexed>>,
}

impl Awaited<'_> {
    /// Each event once indexed, in order; waits at most `timeout` in all.
    pub async fn indexed(mut self, timeout: Duration) -> Result<Vec<Indexed>, String> {
        let receivers = std::mem::take(&mut self.receivers);
        let all = async {
            let mut indexed = Vec::with_capacity(receivers.len());
            for rx in receivers {
                match rx.await {
                    Ok(i) => indexed.push(i),
                    Err(_) => {
                        return Err(self
                            .follower
                            .stopped()
                            .unwrap_or_else(|| "this server's follower of $all was reset".to_owned()))
                    }
                }
            }
            Ok(indexed)
        };
        tokio::time::timeout(timeout, all).await.unwrap_or_else(|_| {
            Err(format!("this server's follower of $all has not seen it within {} s", timeout.as_secs_f32()))
        })
    }
}

impl Drop for Awaited<'_> {
    fn drop(&mut self) {
        let mut index = self.follower.index_mut();
        for id in &self.ids {
            index.pending.remove(id);
        }
    }
}

/// Aborts a task when dropped, so that no reader outlives its follower.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads `$all` after `from` (exclusive) into `events`, until the subscription fails or nobody
/// listens.
async fn forward(kurrent: Kurrent, from: Option<Position>, events: mpsc::Sender<Seen>) -> eventstore::Result<()> {
    let start = from.map_or(StreamPosition::Start, StreamPosition::Position);
    let mut subscription = kurrent.client().subscribe_to_all(&SubscribeToAllOptions::default().position(start)).await;
    loop {
        if let SubscriptionEvent::EventAppeared(resolved) = subscription.next_subscription_event().await? {
            let Some(event) = resolved.event else { continue };
            let seen = Seen {
                position: event.position,
                stream: event.stream_id,
                id: event.id,
                metadata: event.custom_metadata,
            };
            if events.send(seen).await.is_err() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(commit: u64) -> Position {
        Position { commit, prepare: commit }
    }

    fn seen(commit: u64, stream: &str, id: u8) -> Seen {
        let mut bytes = [0u8; 16];
        bytes[15] = id;
        bytes[0] = 1;
        Seen { position: at(commit), stream: stream.into(), id: uuid::Uuid::from_bytes(bytes), metadata: Bytes::new() }
    }

    fn id(n: u8) -> EventId {
        let mut bytes = [0u8; 16];
        bytes[15] = n;
        bytes[0] = 1;
        EventId::from_bytes(bytes)
    }

    fn follower() -> Follower {
        Follower::new(Namespace::new("log").unwrap())
    }

    #[test]
    fn the_log_s_events_are_numbered_without_gaps_in_all_order() {
        let f = follower();
        let committed = f.committed();
        f.apply([seen(10, "$stats-1", 1), seen(20, "log/cell-a", 2), seen(25, "other/cell-a", 3)]);
        f.apply([seen(30, "log/org-b", 4), seen(40, "$$log/cell-a", 5), seen(50, "log/cell-a", 6)]);
        let index = f.index();
        assert_eq!(index.tip(), Some(2));
        assert_eq!(*committed.borrow(), Some(2));
        assert_eq!(
            (0..4).map(|p| index.all_position(p)).collect::<Vec<_>>(),
            [Some(at(20)), Some(at(30)), Some(at(50)), None]
        );
        assert_eq!([2, 4, 6, 1].map(|n| index.position_of(&id(n))), [Some(0), Some(1), Some(2), None]);
        assert_eq!(index.lookup(at(30)), Lookup::At(1));
        assert_eq!(index.lookup(at(25)), Lookup::Absent, "read past, another log's");
        assert_eq!(index.lookup(at(51)), Lookup::NotYet);
    }

    #[test]
    fn what_a_resumed_subscription_repeats_is_not_counted_again() {
        let f = follower();
        f.apply([seen(1, "log/cell-a", 1), seen(2, "log/cell-a", 2)]);
        // A subscription resumed inclusively, or from an earlier point, repeats events.
        f.apply([seen(1, "log/cell-a", 1), seen(2, "log/cell-a", 2), seen(3, "log/cell-a", 3)]);
        let index = f.index();
        assert_eq!(index.tip(), Some(2));
        assert_eq!(index.position_of(&id(3)), Some(2));
    }

    #[test]
    fn an_id_recorded_twice_names_its_first_event() {
        let f = follower();
        f.apply([seen(1, "log/cell-a", 7), seen(2, "log/cell-b", 7)]);
        assert_eq!(f.index().position_of(&id(7)), Some(0));
        assert_eq!(f.index().tip(), Some(1), "both count: both are in $all");
    }

    #[tokio::test]
    async fn an_append_is_told_the_positions_of_its_events() {
        let f = follower();
        f.apply([seen(1, "log/cell-a", 1)]);
        assert!(f.await_events(&[id(2), id(1)]).is_none(), "an indexed id is not this append's");
        let awaited = f.await_events(&[id(2), id(3)]).unwrap();
        assert!(f.await_events(&[id(3)]).is_none(), "an id awaited by another append");
        f.apply([seen(5, "log/cell-a", 2), seen(6, "log/cell-a", 3)]);
        let indexed = awaited.indexed(Duration::from_secs(10)).await.unwrap();
        assert_eq!(indexed, [Indexed { position: 1, hash: None }, Indexed { position: 2, hash: None }]);
        assert!(f.index().pending.is_empty());
    }

    #[tokio::test]
    async fn waiting_ends_with_the_reason_the_follower_stopped() {
        let f = follower();
        let awaited = f.await_events(&[id(1)]).unwrap();
        f.stop("KurrentDB denied access".into());
        assert_eq!(awaited.indexed(Duration::from_secs(10)).await.unwrap_err(), "KurrentDB denied access");
        assert_eq!(f.wait_until_read(at(1), None).await.unwrap_err(), "KurrentDB denied access");
        assert!(f.await_events(&[id(2)]).is_none());
    }

    #[tokio::test]
    async fn waiting_for_a_position_ends_once_it_is_read() {
        let f = std::sync::Arc::new(follower());
        let waiter = {
            let f = f.clone();
            tokio::spawn(async move { f.wait_until_read(at(7), None).await })
        };
        f.apply([seen(3, "$stats", 1)]);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        f.apply([seen(7, "$stats", 2)]);
        waiter.await.unwrap().unwrap();
        f.wait_until_read(at(5), None).await.unwrap();
    }
}
