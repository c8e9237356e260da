//! chibo's embedded store: the event log in one SQLite database in a data directory.
//!
//! - **Durable before acknowledged**: WAL with `synchronous=FULL`; an append's receipt is sent
//!   only after the commit that holds it has fsynced the WAL.
//! - **One writer, group commit**: a single thread applies appends in groups, one transaction
//!   and one fsync per group ([`writer`] says how); the WAL is copied back into the database
//!   on a thread of its own ([`backfill`]). Global positions are assigned there, in
//!   commit order, so positions never have gaps and a reader never sees N+1 before N.
//! - **Readers in parallel**: a pool of read-only connections, each reading whole commits.
//!   The followers of the log read its last commits from memory instead ([`tail`]).
//! - **One server per directory**: an exclusive lock on `chibo.lock`; offline readers
//!   ([`scan`]) need no lock.
//!
//! The file format is described in [`schema`] and docs/ARCHITECTURE.md.
#![deny(missing_docs)]

mod backfill;
mod cursor;
pub mod ids;
mod read;
pub mod schema;
mod tail;
mod writer;

use std::{
    fs::{self, File, OpenOptions},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use async_trait::async_trait;
use chibo_domain::StreamName;
use chibo_store::{
    AppendError, CommitObserver, EventStore, ExpectedRevision, Lease, LocalLeases, NewEvent, PageSink, ReadError,
    Receipt, StoredEvent,
};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    read::{query_events, read_page_into, sql_after, sql_limit, ReadPool, PAGE_AFTER, PAGE_OF_STREAM},
    tail::Tail,
    writer::{AppendRequest, Writer},
};
pub use read::{scan, Access, ScanError, Scanner};

/// How many appends may wait for the writer before callers wait to enqueue.
const QUEUE_DEPTH: usize = 4096;

/// Why a store did not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The data directory or a file in it could not be created or opened.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Another process holds the data directory.
    #[error("{0} is in use by another chibo process (it holds {lock})", lock = LOCK_FILE)]
    Locked(PathBuf),
    /// SQLite refused the database, or its format is not this version's.
    #[error("{path}: {reason}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The lock file in the data directory.
pub const LOCK_FILE: &str = "chibo.lock";

/// Options for [`SqliteStore::open`].
#[derive(Clone)]
pub struct Options {
    /// Told about every commit (for metrics).
    pub observer: Option<Arc<dyn CommitObserver>>,
    /// The fewest recent event ids the writer merges into their table ([`ids`]); by default
    /// [`ids::MERGE_AT_LEAST`]. Tests set it low to merge at every commit.
    pub merge_ids_at_least: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { observer: None, merge_ids_at_least: ids::MERGE_AT_LEAST }
    }
}

/// The embedded store. Cheap to share behind an `Arc`; closes when the last handle is dropped
/// (the writer finishes the group in hand, then stops).
pub struct SqliteStore {
    queue: mpsc::Sender<AppendRequest>,
    readers: Arc<ReadPool>,
    /// The last commits' events, kept by the writer.
    tail: Arc<Tail>,
    committed: watch::Receiver<Option<u64>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// In memory: the directory's lock keeps every server that could hold one in this process.
    leases: LocalLeases,
    _lock: File,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`, locks it, and starts the writer.
    pub fn open(dir: &Path, options: Options) -> Result<Self, OpenError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| OpenError::Io { path, source }
        };
        create_private_dir(dir).map_err(io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock =
            OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(OpenError::Locked(dir.to_owned())),
            Err(fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }

        let path = dir.join(schema::DB_FILE);
        let database = |reason: String| OpenError::Database { path: path.clone(), reason };
        let conn = Connection::open(&path).map_err(|e| database(e.to_string()))?;
        schema::configure(&conn).map_err(|e| database(e.to_string()))?;
        schema::migrate(&conn).map_err(database)?;
        let (committed_tx, committed) = watch::channel(None);
        let backfill = backfill::Backfill::start(&conn).map_err(database)?;
        let tail = Arc::new(Tail::default());
        let writer =
            Writer::new(conn, backfill, tail.clone(), committed_tx, options.observer, options.merge_ids_at_least)
                .map_err(database)?;
        let (queue, inbox) = mpsc::channel(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("chibo-writer".into())
            .spawn(move || writer.run(inbox))
            .map_err(io(dir))?;
        Ok(Self {
            queue,
            readers: Arc::new(ReadPool::new(path)),
            tail,
            committed,
            writer: Mutex::new(Some(thread)),
            leases: LocalLeases::default(),
            _lock: lock,
        })
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, ReadError> + Send + 'static,
    ) -> Result<R, ReadError> {
        let readers = self.readers.clone();
        blocking(move || readers.with(f)).await
    }
}

/// Runs `f` on a blocking thread.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ReadError> + Send + 'static,
) -> Result<R, ReadError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ReadError::Unavailable(format!("a read task failed: {e}")))?
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish its group and stop; wait for it so that the
        // lock is released only once the database is closed.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.queue, closed));
        if let Some(thread) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Receipt>, AppendError> {
        let (reply, receipt) = oneshot::channel();
        let request = AppendRequest { stream: stream.to_string(), expected, events, reply };
        let gone = || AppendError::Unavailable("the embedded store is closed".into());
        self.queue.send(request).await.map_err(|_| gone())?;
        receipt.await.map_err(|_| gone())?
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<StoredEvent>, ReadError> {
        let stream = stream.to_string();
        let from = i64::try_from(from_revision).unwrap_or(i64::MAX);
        self.read(move |conn| {
            query_events(conn, PAGE_OF_STREAM, rusqlite::params![stream, from, sql_limit(max_count)], max_count)
        })
        .await
    }

    async fn read_all(&self, after: Option<u64>, max_count: usize) -> Result<Vec<StoredEvent>, ReadError> {
        let after = sql_after(after);
        self.read(move |conn| query_events(conn, PAGE_AFTER, rusqlite::params![after, sql_limit(max_count)], max_count))
            .await
    }

    async fn read_all_into(
        &self,
        after: Option<u64>,
        max_count: usize,
        mut sink: Box<dyn PageSink>,
    ) -> Result<Box<dyn PageSink>, ReadError> {
        let (readers, tail) = (self.readers.clone(), self.tail.clone());
        blocking(move || {
            // The last commits are in memory; a page that starts before them is read from SQLite.
            if !tail.read(after, max_count, &mut |event| sink.event(event)) {
                readers
                    .with(|conn| read_page_into(conn, sql_after(after), max_count, &mut |event| sink.event(event)))?;
            }
            Ok(sink)
        })
        .await
    }

    fn committed(&self) -> watch::Receiver<Option<u64>> {
        self.committed.clone()
    }

    async fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<Lease, ReadError> {
        Ok(self.leases.lease(name, holder, ttl))
    }
}
