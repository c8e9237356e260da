//! The `EventStore` trait: what every chibo storage backend promises, written on each method.
//!
//! A backend keeps an append-only log of sealed events (DESIGN.md "Integrity"): per-stream
//! revisions and hash chains, one global order without gaps, idempotent appends keyed by event
//! id. This crate holds the trait, its value types and errors, and the catch-up subscription
//! that any backend can offer on top of [`EventStore::read_all`] and
//! [`EventStore::committed`]. The backends (`chibo-store-sqlite`, later KurrentDB) depend on
//! this crate only; the contract suite that checks them is `chibo-store-contract`.
#![deny(missing_docs)]

mod error;
mod event;
mod lease;
mod subscription;

use std::{any::Any, sync::Arc};

use async_trait::async_trait;
use chibo_domain::StreamName;
use futures::stream::BoxStream;
use tokio::sync::watch;

pub use chibo_integrity::{Hash, RawEvent, Salt};
pub use error::{AppendError, ReadError};
pub use event::{ExpectedRevision, NewEvent, Receipt, StoredEvent};
pub use lease::{Lease, LocalLeases};
pub use subscription::{catch_up, Pages};

/// Told about each commit of a store, for metrics.
pub trait CommitObserver: Send + Sync + 'static {
    /// A commit made `events` events of `appends` appends durable and took `duration`
    /// (including the fsync).
    fn committed(&self, appends: usize, events: usize, duration: std::time::Duration);
}

/// Where [`EventStore::read_all_into`] hands the events it reads, one at a time, borrowed.
pub trait PageSink: Send + 'static {
    /// The next event of the page, in global order; its bytes are the store's for the call only.
    fn event(&mut self, event: RawEvent<'_>);

    /// The sink, to be turned back into the type its caller gave (`Box<dyn Any>::downcast`).
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// The most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;

/// An append-only, hash-chained event log.
///
/// Every method is safe to call concurrently from many tasks.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events`, in order, to the end of `stream`, all or nothing.
    ///
    /// - `expected` is checked against the stream as it is when the append is applied:
    ///   [`ExpectedRevision::Exact`]`(r)` needs the stream's last revision to be `r`,
    ///   [`ExpectedRevision::NoStream`] needs the stream to be empty, [`ExpectedRevision::Any`]
    ///   needs nothing. Of concurrent appends expecting the same revision, exactly one wins; the
    ///   others get [`AppendError::WrongExpectedRevision`].
    /// - **Idempotent on event id**, checked before the expected revision: if the first event's
    ///   id is already recorded in `stream` and the whole batch equals what was recorded there
    ///   (same ids at consecutive revisions, same type, version, occurrence time, actor and
    ///   payload), the original receipts are returned with `duplicate` set and nothing is
    ///   written. An id recorded for anything else is [`AppendError::EventIdConflict`].
    /// - The backend assigns each event its revision, its `prev_hash` (the stream's last hash or
    ///   genesis), its record time (never earlier than the last one it assigned) and a global
    ///   position at commit; it seals the envelope (`chibo_integrity::seal`) and stores exactly
    ///   the sealed bytes.
    /// - **Returns only once the events are durable**: fsync-durable in the commit for an
    ///   embedded store, acknowledged by a quorum for a cluster. An error means nothing of this
    ///   append was written, except [`AppendError::Unavailable`] after a failed commit, when the
    ///   outcome is unknown and the caller may retry with the same event ids.
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Receipt>, AppendError>;

    /// Reads up to `max_count` events of `stream`, in revision order, starting at
    /// `from_revision` (inclusive). An absent stream reads as empty. Sees only committed events.
    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<StoredEvent>, ReadError>;

    /// Reads up to `max_count` events of the global order, starting **after** position `after`
    /// (exclusive; `None` reads from the first event). Returns consecutive positions only: a
    /// reader never sees position N+1 before N.
    async fn read_all(&self, after: Option<u64>, max_count: usize) -> Result<Vec<StoredEvent>, ReadError>;

    /// Reads what [`read_all`](Self::read_all) reads, but hands each event to `sink`, borrowed,
    /// instead of copying it out, and gives the sink back. A backend that can read its rows in
    /// place (the embedded store) saves an allocation and a copy of each event's bytes; this
    /// default copies them through `read_all`. A replay reads the log this way.
    async fn read_all_into(
        &self,
        after: Option<u64>,
        max_count: usize,
        mut sink: Box<dyn PageSink>,
    ) -> Result<Box<dyn PageSink>, ReadError> {
        for event in self.read_all(after, max_count).await? {
            sink.event(event.as_raw());
        }
        Ok(sink)
    }

    /// The position of the last committed event (`None` while the log is empty), updated after
    /// every commit. Subscriptions wait on it to go live.
    fn committed(&self) -> watch::Receiver<Option<u64>>;

    /// Takes or renews, for `holder`, the lease called `name` among every server sharing this
    /// store, for `ttl` (see [`Lease`] for what it promises). [`Lease::HeldBy`] when another holder's lease has not run out; then asking
    /// again later takes it over once it has. One holder at a time, across processes for a
    /// store that several servers share.
    async fn lease(&self, name: &str, holder: &str, ttl: std::time::Duration) -> Result<Lease, ReadError>;

    /// Every event after position `after` (exclusive), then every event committed later, each
    /// exactly once and in global order, with no gap and no duplicate at the switch from
    /// catching up to live. The stream ends only on an error or when the store closes.
    fn subscribe(self: Arc<Self>, after: Option<u64>) -> BoxStream<'static, Result<StoredEvent, ReadError>> {
        catch_up(self, after)
    }
}
