//! The Merkle log: the tree of [`FileTree`] kept up with the store's global order by a
//! catch-up subscriber, and read by the proof services under a lock held only for the reads.
//!
//! On open, the tree is checked against the log: its last leaf must be the leaf of the event the
//! store holds at that position. A tree that is longer than the log or disagrees with it is
//! rebuilt from the log (it is derived data; the log is the truth).

use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use chibo_integrity::merkle::{self, leaf_hash, ProofError};
use chibo_integrity::Hash;
use chibo_store::{EventStore, PageSink, Pages, RawEvent, ReadError};
use futures::StreamExt;
use tokio::sync::watch;

use crate::tree::{FileTree, TreeError};

/// Why the Merkle log could not be opened or kept up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The tree files failed.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(String),
    /// The store delivered an event out of order.
    #[error("the store delivered position {got} where {expected} was next")]
    OutOfOrder {
        /// The position expected.
        expected: u64,
        /// The position delivered.
        got: u64,
    },
}

/// A proof could not be made.
pub type LogProofError = ProofError<TreeError>;

/// The Merkle tree over the global order, kept up with the store.
pub struct MerkleLog {
    tree: RwLock<FileTree>,
    size: watch::Sender<u64>,
}

impl MerkleLog {
    /// Opens the tree in `dir` and checks it against `store` (see the module documentation).
    pub async fn open(dir: &Path, store: &dyn EventStore) -> Result<Arc<Self>, LogError> {
        let mut tree = FileTree::open(dir)?;
        if let Some(last) = tree.len().checked_sub(1) {
            let stored = store.read_all(last.checked_sub(1), 1).await.map_err(|e| LogError::Store(e.to_string()))?;
            let agrees = match stored.first() {
                Some(event) if event.position == last => leaf_hash(&event.hash) == tree.leaf(last)?,
                _ => false,
            };
            if !agrees {
                tracing::warn!(
                    dir = %dir.display(),
                    leaves = tree.len(),
                    "the Merkle tree does not match the log; rebuilding it from the log"
                );
                tree.clear()?;
            }
        }
        let size = tree.len();
        Ok(Arc::new(Self { tree: RwLock::new(tree), size: watch::Sender::new(size) }))
    }

    /// How many leaves the tree holds now.
    pub fn size(&self) -> u64 {
        *self.size.borrow()
    }

    /// Waits until the tree holds at least `size` leaves, for at most `timeout`; whether it does.
    pub async fn wait_for(&self, size: u64, timeout: Duration) -> bool {
        let mut watch = self.size.subscribe();
        tokio::time::timeout(timeout, watch.wait_for(|&s| s >= size)).await.is_ok_and(|r| r.is_ok())
    }

    fn read(&self) -> RwLockReadGuard<'_, FileTree> {
        self.tree.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, LogProofError> {
        merkle::root(&*self.read(), size)
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Result<Hash, TreeError> {
        self.read().leaf(index)
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LogProofError> {
        merkle::inclusion_proof(&*self.read(), index, size)
    }

    /// The consistency proof from the tree of `old_size` leaves to the tree of `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, LogProofError> {
        merkle::consistency_proof(&*self.read(), old_size, new_size)
    }

    /// Follows `store` from the tree's size on, appending each event's leaf, until `shutdown`
    /// resolves. What it appended is written to the files after every run of events that were
    /// ready together. A failed read is retried from the tree's size a second later; an event
    /// out of order (a broken store) stops it with an error.
    pub async fn follow<F>(self: Arc<Self>, store: Arc<dyn EventStore>, shutdown: F) -> Result<(), LogError>
    where
        F: std::future::Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        loop {
            let mut pages = Pages::new(store.clone(), self.size().checked_sub(1)).into_stream(PAGE, Hashes::default);
            let failed = loop {
                let page = tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    page = pages.next() => page,
                };
                let Some(page) = page else { break None };
                let (size, failed) = self.append(page)?;
                self.size.send_replace(size);
                if failed.is_some() {
                    break failed;
                }
            };
            tracing::warn!(error = ?failed, "reading the log for the Merkle tree failed; retrying");
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Appends the hashes of `page` up to the first one that could not be read; the new size,
    /// and why the read failed, if it did.
    fn append(&self, page: Result<Hashes, ReadError>) -> Result<(u64, Option<ReadError>), LogError> {
        let mut tree = self.tree.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (hashes, failed) = match page {
            Ok(Hashes { hashes, malformed }) => (hashes, malformed),
            Err(e) => (Vec::new(), Some(e)),
        };
        for (position, hash) in hashes {
            if position != tree.len() {
                tree.flush()?;
                return Err(LogError::OutOfOrder { expected: tree.len(), got: position });
            }
            tree.push(&hash)?;
        }
        tree.flush()?;
        Ok((tree.len(), failed))
    }
}

/// The most events the tree follows the log by at a time.
const PAGE: usize = 4096;

/// What the tree takes of each event: its position and its hash, read where the store holds
/// them, up to the first hash of the wrong length.
#[derive(Default)]
struct Hashes {
    hashes: Vec<(u64, Hash)>,
    malformed: Option<ReadError>,
}

impl PageSink for Hashes {
    fn event(&mut self, event: RawEvent<'_>) {
        if self.malformed.is_some() {
            return;
        }
        match Hash::try_from(event.hash) {
            Ok(hash) => self.hashes.push((event.position, hash)),
            Err(_) => {
                let reason = format!("its hash is {} bytes; expected 32", event.hash.len());
                self.malformed = Some(ReadError::Corrupt { position: event.position, reason });
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}
