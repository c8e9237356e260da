//! `MerkleLog` over the embedded store: it follows what commits, answers the in-memory tree's
//! roots and proofs for every size, survives restarts, and rebuilds a tree that is not this
//! log's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chibo_integrity::merkle::{self, leaf_hash, verify_consistency, verify_inclusion};
use chibo_store::EventStore;
use chibo_tlog::MerkleLog;
use tokio::sync::oneshot;

use crate::{append, hashes, memory_tree, open_store, WAIT};

/// A log following `store` until the returned sender is dropped or fired.
struct Following {
    log: Arc<MerkleLog>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), chibo_tlog::LogError>>,
}

async fn follow(dir: &Path, store: &Arc<dyn EventStore>) -> Following {
    let log = MerkleLog::open(dir, store.as_ref()).await.expect("the Merkle log opens");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(log.clone().follow(store.clone(), async move {
        let _ = stopped.await;
    }));
    Following { log, stop, task }
}

impl Following {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().expect("the log stops cleanly");
    }
}

/// Every root of `log` equals the in-memory tree's of the store's events, and every inclusion
/// and consistency proof verifies against those roots.
async fn assert_matches_store(log: &MerkleLog, store: &dyn EventStore) {
    let leaves = hashes(store).await;
    let n = leaves.len() as u64;
    assert!(log.wait_for(n, WAIT).await, "the log reaches {n} leaves");
    assert_eq!(log.size(), n);
    let memory = memory_tree(&leaves);
    let roots: Vec<_> = (0..=n).map(|size| merkle::root(&memory, size).unwrap()).collect();
    for size in 0..=n {
        assert_eq!(log.root(size).unwrap(), roots[size as usize], "root at {size}");
        for index in 0..size {
            let proof = log.inclusion_proof(index, size).unwrap();
            assert_eq!(log.leaf(index).unwrap(), leaf_hash(&leaves[index as usize]));
            verify_inclusion(&leaf_hash(&leaves[index as usize]), index, size, &proof, &roots[size as usize])
                .unwrap_or_else(|e| panic!("leaf {index} in {size}: {e}"));
        }
        for old in 0..=size {
            let proof = log.consistency_proof(old, size).unwrap();
            assert_eq!(proof, merkle::consistency_proof(&memory, old, size).unwrap());
            verify_consistency(old, size, &roots[old as usize], &roots[size as usize], &proof)
                .unwrap_or_else(|e| panic!("{old} to {size}: {e}"));
        }
    }
    assert!(log.root(n + 1).is_err(), "no root beyond the log");
    assert!(log.inclusion_proof(n, n + 1).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_follows_appends_and_proves_every_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("data"));
    append(store.as_ref(), "cell-a", 5).await;
    let following = follow(&dir.path().join("merkle"), &store).await;
    assert_matches_store(&following.log, store.as_ref()).await;
    // Appends made while it follows, to several streams.
    for (stream, count) in [("cell-b", 7), ("org-p", 3), ("cell-a", 18)] {
        append(store.as_ref(), stream, count).await;
    }
    assert_matches_store(&following.log, store.as_ref()).await;
    assert_eq!(following.log.size(), 33);
    following.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_answers_when_the_size_is_reached_or_the_time_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("data"));
    let following = follow(&dir.path().join("merkle"), &store).await;
    assert!(following.log.wait_for(0, Duration::ZERO).await, "an empty tree holds 0 leaves");
    assert!(!following.log.wait_for(1, Duration::from_millis(200)).await, "nothing was appended");
    let log = following.log.clone();
    let waiting = tokio::spawn(async move { log.wait_for(4, WAIT).await });
    append(store.as_ref(), "cell-a", 4).await;
    assert!(waiting.await.unwrap(), "the waiter wakes when the fourth leaf lands");
    assert!(!following.log.wait_for(5, Duration::from_millis(200)).await);
    following.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_tree_and_goes_on_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let (data, merkle) = (dir.path().join("data"), dir.path().join("merkle"));
    let store = open_store(&data);
    append(store.as_ref(), "cell-a", 12).await;
    let following = follow(&merkle, &store).await;
    assert!(following.log.wait_for(12, WAIT).await);
    let root = following.log.root(12).unwrap();
    following.stop().await;

    append(store.as_ref(), "cell-b", 9).await;
    let log = MerkleLog::open(&merkle, store.as_ref()).await.unwrap();
    assert_eq!(log.size(), 12, "the tree on disk agrees with the log: kept, not rebuilt");
    assert_eq!(log.root(12).unwrap(), root);
    drop(log);
    let following = follow(&merkle, &store).await;
    assert_matches_store(&following.log, store.as_ref()).await;
    following.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_of_another_log_is_rebuilt_from_this_one() {
    let dir = tempfile::tempdir().unwrap();
    // Two logs of the same shape: the same streams and sizes, other hashes (fresh salts).
    let ours = open_store(&dir.path().join("ours"));
    let theirs = open_store(&dir.path().join("theirs"));
    for store in [&ours, &theirs] {
        append(store.as_ref(), "cell-a", 10).await;
    }
    append(theirs.as_ref(), "cell-a", 6).await;
    let their_leaves = hashes(theirs.as_ref()).await;
    // Their tree, longer than our log, shorter, and of the same size.
    for their_size in [16, 6, 10] {
        let merkle = dir.path().join(format!("merkle-{their_size}"));
        let mut tree = chibo_tlog::FileTree::open(&merkle).unwrap();
        for leaf in &their_leaves[..their_size] {
            tree.push(leaf).unwrap();
        }
        tree.flush().unwrap();
        drop(tree);

        let log = MerkleLog::open(&merkle, ours.as_ref()).await.unwrap();
        assert_eq!(log.size(), 0, "a tree of {their_size} leaves from another log is cleared");
        drop(log);
        let following = follow(&merkle, &ours).await;
        assert_matches_store(&following.log, ours.as_ref()).await;
        following.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_cut_short_by_a_crash_catches_up_with_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (data, merkle) = (dir.path().join("data"), dir.path().join("merkle"));
    let store = open_store(&data);
    append(store.as_ref(), "cell-a", 21).await;
    let following = follow(&merkle, &store).await;
    assert!(following.log.wait_for(21, WAIT).await);
    following.stop().await;
    // The last leaves never reached the disk, and the last one is torn.
    let level0 = merkle.join("level-00.hashes");
    std::fs::OpenOptions::new().write(true).open(&level0).unwrap().set_len(13 * 32 + 5).unwrap();
    let log = MerkleLog::open(&merkle, store.as_ref()).await.unwrap();
    assert_eq!(log.size(), 13, "the whole leaves agree with the log: kept");
    drop(log);
    let following = follow(&merkle, &store).await;
    assert_matches_store(&following.log, store.as_ref()).await;
    following.stop().await;
}
