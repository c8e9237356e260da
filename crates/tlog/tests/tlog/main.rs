//! The transparency log against the real thing: the tree files on disk checked against
//! `chibo_integrity::merkle::MemoryTree`, and the Merkle log and the checkpoint signer over the
//! embedded SQLite store in a temporary directory.

mod checkpoints;
mod log;
mod tree;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chibo_domain::{EventId, StreamName, Timestamp};
use chibo_integrity::merkle::MemoryTree;
use chibo_integrity::Hash;
use chibo_store::{EventStore, ExpectedRevision, NewEvent};
use chibo_store_sqlite::{Options, SqliteStore};

/// How long a test waits for the log or the signer before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The embedded store in `dir` (created if absent).
pub fn open_store(dir: &Path) -> Arc<dyn EventStore> {
    Arc::new(SqliteStore::open(dir, Options::default()).expect("the store opens"))
}

/// Appends `count` events to `stream`, one append each (so each is its own commit), with fresh
/// ids and salts: two stores filled the same way still differ in every hash.
pub async fn append(store: &dyn EventStore, stream: &str, count: usize) {
    let stream = StreamName::parse("stream", stream).expect("a valid stream name");
    for _ in 0..count {
        let mut id: [u8; 16] = rand::random();
        id[6] = (id[6] & 0x0f) | 0x40;
        id[8] = (id[8] & 0x3f) | 0x80;
        let event = NewEvent::new(
            EventId::from_bytes(id),
            "StudyPointsEarned",
            1,
            Timestamp::new("occurred_at", 1_767_600_000, 0).unwrap(),
            "test",
            rand::random::<[u8; 24]>().to_vec(),
            rand::random(),
        );
        store.append(&stream, ExpectedRevision::Any, vec![event]).await.expect("the append commits");
    }
}

/// Every event hash of the store, in global order.
pub async fn hashes(store: &dyn EventStore) -> Vec<Hash> {
    let mut out = Vec::new();
    loop {
        let page = store.read_all(out.len().checked_sub(1).map(|p| p as u64), 1000).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page.iter().map(|e| e.hash));
    }
}

/// The in-memory tree of `leaves` (event hashes).
pub fn memory_tree(leaves: &[Hash]) -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in leaves {
        tree.push(leaf);
    }
    tree
}
