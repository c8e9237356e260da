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
use chibo_store::{catch_up, EventStore};
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
            let mut events = catch_up(store.clone(), self.size().checked_sub(1)).ready_chunks(4096);
            let failed = loop {
                let chunk = tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    chunk = events.next() => chunk,
                };
                let Some(chunk) = chunk else { break None };
                let (size, failed) = self.append(chunk)?;
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

    /// Appends the events of `chunk` up to the first failed read; the new size, and the failure.
    fn append(
        &self,
        chunk: Vec<Result<chibo_store::StoredEvent, chibo_store::ReadError>>,
    ) -> Result<(u64, Option<chibo_store::ReadError>), LogError> {
        let mut tree = self.tree.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut failed = None;
        for event in chunk {
            match event {
                Ok(event) if event.position == tree.len() => tree.push(&event.hash)?,
                Ok(event) => {
                    tree.flush()?;
                    return Err(LogError::OutOfOrder { expected: tree.len(), got: event.position });
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        tree.flush()?;
        Ok((tree.len(), failed))
    }
}
