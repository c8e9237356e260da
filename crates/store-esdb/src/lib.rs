//! chibo's clustered store: the event log in KurrentDB (EventStoreDB), for when one machine is
//! not enough. It keeps the same [`EventStore`] contract as the embedded store and passes the
//! same contract suite.
//!
//! # The mapping
//!
//! | chibo | KurrentDB |
//! |---|---|
//! | a log, named `N` (default `chibo`) | the streams whose name starts with `N/` |
//! | stream `S` | stream `N/S` ([`layout`]) |
//! | event id | event id (the same UUID, so KurrentDB's deduplication and chibo's agree) |
//! | revision | stream revision |
//! | payload | event data, as given |
//! | salt, hash, sealed envelope | custom metadata, after a layout version byte ([`layout`]) |
//! | event type | event type (for KurrentDB's tools; chibo reads the envelope's) |
//! | expected revision | the exact revision the events were sealed against (see below) |
//! | global position | the rank of the event among the log's events in `$all` order |
//! | lease `L` (one server at a time, e.g. the checkpoint signer) | claims in stream `N:L`, outside the log (the `lease` module) |
//!
//! **Global positions.** chibo's position is a gapless 0-based index (the Merkle leaf index):
//! `$all` positions are not, and `$all` also holds KurrentDB's system events and whatever else
//! shares the cluster. So chibo's position of an event is *derived*: the number of the log's
//! events before it in `$all`. Every server computes it the same way from the same `$all`, so a
//! receipt's position is the position every reader later sees. Each store runs a follower of
//! `$all` (the `follower` module) that numbers the log's events as they come and keeps, in
//! memory only, the `$all` position of each chibo position and the chibo position of each
//! event id (about 50 bytes an event); it is rebuilt from `$all` on every start (connecting
//! waits until it has caught up), and resumes after a dropped subscription from the `$all`
//! position of the last event it applied, never from a server checkpoint, skipping anything it
//! has applied, so nothing is missed or counted twice. A chibo event is *committed* once this
//! server's follower has indexed it: that is what [`EventStore::committed`] reports, the
//! furthest [`EventStore::read_all`] and [`EventStore::read_stream`] read, and what an append
//! waits for before it answers.
//!
//! **Appends** (the `append` module) are sealed by the store against the stream's head as
//! KurrentDB has it (revision, hash) and appended expecting exactly that revision, so KurrentDB
//! decides between servers: when another append got in first, it refuses, and the store reads
//! the new head and starts over; under the caller's `Any` that retries until it lands, so two
//! servers appending to one stream keep one linear chain. A receipt is given only after
//! KurrentDB acknowledged the append (quorum-durable) and the follower has indexed it.
//! Idempotency is checked first, against the follower's index once it holds the stream up to
//! the head the events are sealed against: a resubmitted batch gets the original receipts, an
//! id recorded for anything else is refused.
//!
//! **Record times** are never earlier than the last one this store assigned, the stream's last
//! event's, or the latest the follower has seen in the log. Two servers appending to different
//! streams at the same moment can still record them in `$all` in the other order than their
//! record times, by as little as their clocks and the race differ: unlike the embedded store,
//! there is no single writer to order record times and commits together.
//!
//! # Running it
//!
//! - The connection string's user must be allowed to read `$all` (an admin, or `$all`'s ACL) and
//!   to read and write the log's streams.
//! - A chibo batch may be up to [`chibo_store::MAX_EVENTS_PER_APPEND`] events and several MiB;
//!   raise the cluster's `MaxAppendSize` (1 MiB by default) to 16 MiB, or batches over it are
//!   refused with [`AppendError::BadBatch`].
//! - The log's streams must never be deleted, truncated (`$tb`, `$maxCount`, `$maxAge`) or
//!   scavenged away: chibo positions are counted over what `$all` holds, and a read that finds
//!   `$all` changed under its index fails rather than renumber the log (the Merkle checkpoints
//!   would show it too).
//! - Two appends of one event id to two *different* streams from two servers within a moment of
//!   each other can both land (KurrentDB keeps ids unique per stream only; one server keeps its
//!   own appends apart); the log then names the first, and the follower logs the second as an
//!   error.
//! - The `eventstore` client installs its own rustls crypto provider (aws-lc-rs) process-wide on
//!   first use and cannot work in a process that chose one before: connect before anything else
//!   installs one (`chibo serve` on KurrentDB leaves the choice to it; connecting refuses, saying
//!   so, otherwise).
#![deny(missing_docs)]

mod append;
mod client;
mod follower;
pub mod layout;
mod lease;
mod locks;
mod read;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use chibo_domain::{StreamName, Timestamp};
use chibo_store::{
    AppendError, CommitObserver, EventStore, ExpectedRevision, Lease, NewEvent, ReadError, Receipt, StoredEvent,
};
use eventstore::{Client, ClientSettings};
use tokio::sync::watch;

use crate::{
    client::Kurrent,
    follower::Follower,
    layout::Namespace,
    locks::{IdsInFlight, StreamLocks},
};

/// Whether this process has made a KurrentDB client: the first one installs the client's
/// rustls crypto provider process-wide. Held while a client is made, so that one connecting
/// beside it never takes the provider the other's client installed for one chosen before.
static CLIENT_MADE: Mutex<bool> = Mutex::new(false);

/// The log name used when none is given.
pub const DEFAULT_LOG: &str = "chibo";

/// Options for [`EsdbStore::connect_with`].
#[derive(Clone)]
pub struct Options {
    /// The log's name: its streams are `{log}/{stream}` ([`layout::Namespace::new`] says what a
    /// name may hold). Logs with different names share a cluster without seeing each other.
    pub log: String,
    /// How long an append waits for this server's follower of `$all`, before it answers
    /// [`AppendError::Unavailable`].
    pub follow_timeout: Duration,
    /// Told about every append KurrentDB acknowledged (for metrics): one append, its events,
    /// and how long KurrentDB took to acknowledge it.
    pub observer: Option<Arc<dyn CommitObserver>>,
}

impl Default for Options {
    fn default() -> Self {
        Self { log: DEFAULT_LOG.to_owned(), follow_timeout: Duration::from_secs(30), observer: None }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { log, follow_timeout, observer } = self;
        f.debug_struct("Options")
            .field("log", log)
            .field("follow_timeout", follow_timeout)
            .field("observer", &observer.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Why a store did not connect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The connection string is not one the KurrentDB client takes.
    #[error("not a KurrentDB connection string (esdb://host:2113?tls=false, esdb+discover://…): {0}")]
    ConnectionString(String),
    /// The log name is not one chibo takes.
    #[error("log name: {0}")]
    LogName(String),
    /// KurrentDB could not be reached, or refused to let the store follow `$all`.
    #[error("KurrentDB is unavailable: {0}")]
    Unavailable(String),
}

/// The KurrentDB store. Cheap to share behind an `Arc`; the follower of `$all` stops when it is
/// dropped.
pub struct EsdbStore {
    kurrent: Kurrent,
    namespace: Namespace,
    follower: Arc<Follower>,
    following: tokio::task::JoinHandle<()>,
    stream_locks: StreamLocks,
    ids_in_flight: IdsInFlight,
    heads: append::Heads,
    leases: lease::Leases,
    last_recorded: Mutex<Timestamp>,
    options: Options,
}

impl EsdbStore {
    /// Connects to the log named [`DEFAULT_LOG`] (see [`EsdbStore::connect_with`]).
    pub async fn connect(connection_string: &str) -> Result<Self, ConnectError> {
        Self::connect_with(connection_string, Options::default()).await
    }

    /// Connects to KurrentDB (`esdb://…` or `esdb+discover://…`, as the `eventstore` client takes
    /// them), starts following `$all`, and returns once the follower has read `$all` up to its
    /// end as found on connecting. Call it inside a tokio runtime: the client's connection
    /// lives on it.
    pub async fn connect_with(connection_string: &str, options: Options) -> Result<Self, ConnectError> {
        let namespace = Namespace::new(&options.log).map_err(ConnectError::LogName)?;
        let client = {
            let mut made = CLIENT_MADE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !*made && rustls::crypto::CryptoProvider::get_default().is_some() {
                return Err(ConnectError::Unavailable(
                    "this process chose rustls's crypto provider before its first KurrentDB client: the \
                     `eventstore` client installs its own (aws-lc-rs) on first use and cannot work after another \
                     is chosen, so connect before anything installs one"
                        .into(),
                ));
            }
            let settings: ClientSettings =
                connection_string.parse().map_err(|e: eventstore::ClientSettingsParseError| {
                    // The client's message may quote the whole string, password included.
                    ConnectError::ConnectionString(e.to_string().replace(connection_string, "<the connection string>"))
                })?;
            let client = Client::new(settings).map_err(|e| ConnectError::Unavailable(e.to_string()))?;
            *made = true;
            client
        };
        let kurrent = Kurrent::new(client);
        let follower = Arc::new(Follower::new(namespace.clone()));
        let following = {
            let (follower, kurrent) = (follower.clone(), kurrent.clone());
            tokio::spawn(async move { follower.run(kurrent).await })
        };
        let store = Self {
            kurrent,
            namespace,
            follower,
            following,
            stream_locks: StreamLocks::default(),
            ids_in_flight: IdsInFlight::default(),
            heads: append::Heads::default(),
            leases: lease::Leases::default(),
            last_recorded: Mutex::new(append::epoch()),
            options,
        };
        store.sync(None).await.map_err(ConnectError::Unavailable)?;
        Ok(store)
    }

    /// The log's name.
    pub fn log(&self) -> &str {
        self.namespace.name()
    }

    /// Waits until the follower has read `$all` up to its end as it is now.
    async fn sync(&self, timeout: Option<Duration>) -> Result<(), String> {
        if let Some(reason) = self.follower.stopped() {
            return Err(reason);
        }
        match self.kurrent.last_position().await.map_err(|e| format!("reading the end of $all: {e}"))? {
            Some(end) => self.follower.wait_until_read(end, timeout).await,
            None => Ok(()),
        }
    }
}

impl Drop for EsdbStore {
    fn drop(&mut self) {
        self.following.abort();
    }
}

#[async_trait]
impl EventStore for EsdbStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Receipt>, AppendError> {
        self.append_events(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<StoredEvent>, ReadError> {
        self.read_stream_events(stream, from_revision, max_count).await
    }

    async fn read_all(&self, after: Option<u64>, max_count: usize) -> Result<Vec<StoredEvent>, ReadError> {
        self.read_all_events(after, max_count).await
    }

    fn committed(&self) -> watch::Receiver<Option<u64>> {
        self.follower.committed()
    }

    async fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<Lease, ReadError> {
        self.take_lease(name, holder, ttl).await
    }
}
