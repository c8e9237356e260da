//! `FileTree`: every root and proof equals the in-memory tree's, across flushes and reopens,
//! and whatever a crash can leave in the level files is repaired when they are opened.

use std::path::Path;

use chibo_integrity::merkle::{self, leaf_hash, MemoryTree, Nodes, ProofError};
use chibo_integrity::Hash;
use chibo_tlog::tree::{FileTree, TreeError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::memory_tree;

fn leaves(count: u64, rng: &mut StdRng) -> Vec<Hash> {
    (0..count).map(|_| rng.gen()).collect()
}

/// A tree of `leaves` in `dir`, flushed at random points along the way and at the end.
fn file_tree(dir: &Path, leaves: &[Hash], rng: &mut StdRng) -> FileTree {
    let mut tree = FileTree::open(dir).unwrap();
    for leaf in leaves {
        tree.push(leaf).unwrap();
        if rng.gen_ratio(1, 8) {
            tree.flush().unwrap();
        }
    }
    tree.flush().unwrap();
    tree
}

/// Every root of `file` equals `memory`'s, and its proofs: all of them for small trees, a
/// random sample for larger ones.
fn assert_same(file: &FileTree, memory: &MemoryTree, rng: &mut StdRng) {
    let n = memory.size();
    assert_eq!(file.len(), n, "leaves");
    assert_eq!(file.is_empty(), n == 0);
    for size in 0..=n {
        assert_eq!(merkle::root(file, size).unwrap(), merkle::root(memory, size).unwrap(), "root at {size}");
    }
    assert_eq!(merkle::root(file, n).unwrap(), memory.root());
    let exhaustive = n <= 40;
    let pairs: Vec<(u64, u64)> = if exhaustive {
        (0..=n).flat_map(|b| (0..=b).map(move |a| (a, b))).collect()
    } else {
        (0..400)
            .map(|_| {
                let b = rng.gen_range(0..=n);
                (rng.gen_range(0..=b), b)
            })
            .chain([(n - 1, n), (0, n), (n / 2, n)])
            .collect()
    };
    for (a, b) in pairs {
        if a < b {
            assert_eq!(
                merkle::inclusion_proof(file, a, b).unwrap(),
                merkle::inclusion_proof(memory, a, b).unwrap(),
                "inclusion proof of {a} in {b}"
            );
        }
        assert_eq!(
            merkle::consistency_proof(file, a, b).unwrap(),
            merkle::consistency_proof(memory, a, b).unwrap(),
            "consistency proof from {a} to {b}"
        );
    }
    for index in 0..n {
        assert_eq!(file.leaf(index).unwrap(), memory.node(0, index).unwrap(), "leaf {index}");
    }
}

/// Sizes around every power of two up to 256, and random ones.
fn sizes(rng: &mut StdRng) -> Vec<u64> {
    let mut sizes: Vec<u64> = (0..=8).flat_map(|k| [(1u64 << k) - 1, 1 << k, (1 << k) + 1]).collect();
    sizes.extend((0..6).map(|_| rng.gen_range(2..600)));
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

#[test]
fn roots_and_proofs_equal_the_memory_tree_and_survive_reopening() {
    let mut rng = StdRng::seed_from_u64(0x7265_6500);
    for n in sizes(&mut rng) {
        let dir = tempfile::tempdir().unwrap();
        let leaves = leaves(n, &mut rng);
        let memory = memory_tree(&leaves);
        let tree = file_tree(dir.path(), &leaves, &mut rng);
        assert_same(&tree, &memory, &mut rng);
        drop(tree);
        let reopened = FileTree::open(dir.path()).unwrap();
        assert_same(&reopened, &memory, &mut rng);
    }
}

#[test]
fn leaves_pushed_across_many_reopens_give_the_same_tree() {
    let mut rng = StdRng::seed_from_u64(2);
    let dir = tempfile::tempdir().unwrap();
    let leaves = leaves(333, &mut rng);
    let mut at = 0;
    while at < leaves.len() {
        let run = rng.gen_range(1..40).min(leaves.len() - at);
        let mut tree = FileTree::open(dir.path()).unwrap();
        assert_eq!(tree.len(), at as u64);
        for leaf in &leaves[at..at + run] {
            tree.push(leaf).unwrap();
        }
        tree.flush().unwrap();
        at += run;
    }
    assert_same(&FileTree::open(dir.path()).unwrap(), &memory_tree(&leaves), &mut rng);
}

#[test]
fn pushed_leaves_are_read_before_a_flush_and_only_a_flush_keeps_them() {
    let mut rng = StdRng::seed_from_u64(3);
    let dir = tempfile::tempdir().unwrap();
    let leaves = leaves(50, &mut rng);
    let mut tree = file_tree(dir.path(), &leaves[..20], &mut rng);
    for leaf in &leaves[20..] {
        tree.push(leaf).unwrap();
    }
    assert_same(&tree, &memory_tree(&leaves), &mut rng);
    drop(tree);
    assert_same(&FileTree::open(dir.path()).unwrap(), &memory_tree(&leaves[..20]), &mut rng);
}

fn level_file(dir: &Path, level: usize) -> std::path::PathBuf {
    dir.join(format!("level-{level:02}.hashes"))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn set_len(path: &Path, len: u64) {
    std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

/// What a crash (or a careless copy) can leave in one level file.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut in the middle of a hash.
    Torn,
    /// The last few hashes gone.
    Short,
    /// The whole file gone.
    Missing,
    /// Part of a hash appended after the last whole one.
    Trailing,
}

#[test]
fn a_torn_short_or_missing_level_file_is_repaired_on_open() {
    let mut rng = StdRng::seed_from_u64(4);
    for round in 0..120 {
        let dir = tempfile::tempdir().unwrap();
        let n = rng.gen_range(2..300u64);
        let leaves = leaves(n, &mut rng);
        drop(file_tree(dir.path(), &leaves, &mut rng));
        let levels = (0..64).take_while(|&l| level_file(dir.path(), l).exists()).count();
        let level = rng.gen_range(0..levels);
        let path = level_file(dir.path(), level);
        let entries = file_len(&path) / 32;
        let damage = [Damage::Torn, Damage::Short, Damage::Missing, Damage::Trailing][round % 4];
        // How many leaves survive: only damage to level 0 loses leaves.
        let survivors = match damage {
            Damage::Torn => {
                let cut = rng.gen_range(0..entries);
                set_len(&path, cut * 32 + rng.gen_range(1..32));
                cut
            }
            Damage::Short => {
                let cut = entries - rng.gen_range(1..=entries.min(5));
                set_len(&path, cut * 32);
                cut
            }
            Damage::Missing => {
                std::fs::remove_file(&path).unwrap();
                0
            }
            Damage::Trailing => {
                let mut bytes = std::fs::read(&path).unwrap();
                bytes.extend_from_slice(&[0xa5; 17]);
                std::fs::write(&path, bytes).unwrap();
                entries
            }
        };
        let survivors = if level == 0 { survivors } else { n };
        let context = format!("round {round}: {damage:?} at level {level} of a tree of {n}");
        let mut tree = FileTree::open(dir.path()).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(tree.len(), survivors, "{context}");
        assert_eq!(
            merkle::root(&tree, survivors).unwrap(),
            memory_tree(&leaves[..survivors as usize]).root(),
            "{context}"
        );
        // Every level file holds whole hashes, exactly as many as the level below supports.
        let mut supported = survivors;
        for l in 0..64 {
            let len = file_len(&level_file(dir.path(), l));
            if l > 0 && supported == 0 {
                assert!(!level_file(dir.path(), l).exists(), "{context}: level {l} should be gone");
                break;
            }
            assert_eq!(len, supported * 32, "{context}: level {l}");
            supported /= 2;
        }
        // The lost leaves pushed again give the whole tree back, on disk too.
        for leaf in &leaves[survivors as usize..] {
            tree.push(leaf).unwrap();
        }
        tree.flush().unwrap();
        drop(tree);
        assert_same(&FileTree::open(dir.path()).unwrap(), &memory_tree(&leaves), &mut rng);
    }
}

#[test]
fn levels_left_by_a_larger_tree_are_cut_to_what_level_zero_supports() {
    let mut rng = StdRng::seed_from_u64(5);
    let dir = tempfile::tempdir().unwrap();
    let leaves = leaves(100, &mut rng);
    drop(file_tree(dir.path(), &leaves, &mut rng));
    // Level 0 of a tree of 5 leaves, under the upper levels of the tree of 100.
    set_len(&level_file(dir.path(), 0), 5 * 32);
    let tree = FileTree::open(dir.path()).unwrap();
    assert_same(&tree, &memory_tree(&leaves[..5]), &mut rng);
    assert_eq!(file_len(&level_file(dir.path(), 1)), 2 * 32);
    assert_eq!(file_len(&level_file(dir.path(), 2)), 32);
    for level in 3..8 {
        assert!(!level_file(dir.path(), level).exists(), "level {level}");
    }
}

#[test]
fn a_cleared_tree_is_empty_on_disk_and_rebuilds_to_the_same_roots() {
    let mut rng = StdRng::seed_from_u64(6);
    let dir = tempfile::tempdir().unwrap();
    let leaves = leaves(77, &mut rng);
    let other = self::leaves(90, &mut rng);
    let mut tree = file_tree(dir.path(), &other, &mut rng);
    tree.clear().unwrap();
    assert!(tree.is_empty());
    assert_eq!(merkle::root(&tree, 0).unwrap(), merkle::empty_root());
    drop(tree);
    assert!(FileTree::open(dir.path()).unwrap().is_empty(), "the clear reached the files");
    let tree = file_tree(dir.path(), &leaves, &mut rng);
    assert_same(&tree, &memory_tree(&leaves), &mut rng);
    drop(tree);
    assert_same(&FileTree::open(dir.path()).unwrap(), &memory_tree(&leaves), &mut rng);
}

#[test]
fn the_leaf_is_the_rfc_leaf_hash_of_the_event_hash() {
    let dir = tempfile::tempdir().unwrap();
    let mut tree = FileTree::open(dir.path()).unwrap();
    let event = [0x42; 32];
    tree.push(&event).unwrap();
    assert_eq!(tree.leaf(0).unwrap(), leaf_hash(&event));
    assert_eq!(merkle::root(&tree, 1).unwrap(), leaf_hash(&event));
}

#[test]
fn what_the_tree_does_not_hold_is_an_error_not_a_panic() {
    let mut rng = StdRng::seed_from_u64(7);
    let dir = tempfile::tempdir().unwrap();
    let tree = file_tree(dir.path(), &leaves(10, &mut rng), &mut rng);
    assert!(matches!(tree.leaf(10), Err(TreeError::NoSuchNode { level: 0, index: 10 })));
    assert!(matches!(tree.node(1, 5), Err(TreeError::NoSuchNode { level: 1, index: 5 })));
    assert!(matches!(tree.node(3, 1), Err(TreeError::NoSuchNode { level: 3, .. })));
    assert!(matches!(tree.node(63, 0), Err(TreeError::NoSuchNode { level: 63, index: 0 })));
    assert!(matches!(tree.node(255, 0), Err(TreeError::NoSuchNode { level: 255, index: 0 })));
    assert!(matches!(merkle::root(&tree, 11), Err(ProofError::SizeBeyondSource { size: 11, available: 10 })));
    assert!(matches!(merkle::inclusion_proof(&tree, 10, 10), Err(ProofError::IndexNotBelowSize { .. })));
    assert!(matches!(merkle::consistency_proof(&tree, 3, 12), Err(ProofError::SizeBeyondSource { .. })));
}

#[cfg(unix)]
#[test]
fn the_tree_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("merkle");
    let mut rng = StdRng::seed_from_u64(8);
    drop(file_tree(&dir, &leaves(9, &mut rng), &mut rng));
    assert_eq!(mode(&dir), 0o700);
    for level in 0..4 {
        assert_eq!(mode(&level_file(&dir, level)), 0o600, "level {level}");
    }
}
