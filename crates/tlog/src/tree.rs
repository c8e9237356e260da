//! The Merkle tree's nodes on disk: one append-only file per level, `level-LL.hashes`, holding
//! the 32-byte hash of every perfect subtree of that level in order — level 0 the leaf hashes,
//! level `L` entry `i` the root of leaves `[i·2^L, (i+1)·2^L)`. Any root, inclusion proof or
//! consistency proof, for any tree size up to the current one, is a few dozen reads of these
//! files (`chibo_integrity::merkle`).
//!
//! The files are derived data: the log is the truth and the tree can always be rebuilt from it.
//! So they are written without fsync, and opening them repairs what a crash can leave: a torn
//! last entry is cut off, an upper level longer than its level 0 allows is cut back, and missing
//! upper nodes are computed again from the level below. Whether level 0 still matches the log is
//! for the caller to check ([`crate::MerkleLog`] compares the last leaf with the store).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chibo_integrity::merkle::{leaf_hash, node_hash, Nodes};
use chibo_integrity::Hash;

use crate::fs::create_private_dir;

/// Why the tree files could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A node was asked for that the tree does not hold.
    #[error("the tree holds no node at level {level}, index {index}")]
    NoSuchNode {
        /// The level asked for.
        level: u8,
        /// The index asked for.
        index: u64,
    },
}

const HASH_LEN: u64 = 32;
/// Levels 0..=63: a tree of up to 2^63 leaves.
const MAX_LEVELS: usize = 64;

struct Level {
    path: PathBuf,
    file: File,
    /// Entries in the file.
    on_disk: u64,
    /// Entries appended since the last flush.
    pending: Vec<Hash>,
}

impl Level {
    fn len(&self) -> u64 {
        self.on_disk + self.pending.len() as u64
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> TreeError + '_ {
        move |source| TreeError::Io { path: self.path.clone(), source }
    }

    fn get(&self, index: u64, level: u8) -> Result<Hash, TreeError> {
        if index < self.on_disk {
            let mut hash = [0u8; 32];
            read_at(&self.file, &mut hash, index * HASH_LEN).map_err(self.io())?;
            Ok(hash)
        } else {
            usize::try_from(index - self.on_disk)
                .ok()
                .and_then(|i| self.pending.get(i))
                .copied()
                .ok_or(TreeError::NoSuchNode { level, index })
        }
    }

    fn flush(&mut self) -> Result<(), TreeError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes: Vec<u8> = self.pending.iter().flatten().copied().collect();
        // The file is opened for appending: a write lands at its end, after `on_disk` entries.
        self.file.write_all(&bytes).map_err(self.io())?;
        self.on_disk += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    fn truncate(&mut self, entries: u64) -> Result<(), TreeError> {
        self.flush()?;
        self.file.set_len(entries * HASH_LEN).map_err(self.io())?;
        self.on_disk = entries;
        Ok(())
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// The tree's perfect-subtree hashes, in `dir`.
pub struct FileTree {
    dir: PathBuf,
    levels: Vec<Level>,
}

impl FileTree {
    /// Opens the tree in `dir` (created owner-only if absent) and repairs what a crash can
    /// leave (see the module documentation).
    pub fn open(dir: &Path) -> Result<Self, TreeError> {
        create_private_dir(dir).map_err(|source| TreeError::Io { path: dir.to_owned(), source })?;
        let mut tree = Self { dir: dir.to_owned(), levels: Vec::new() };
        // How many entries the level may hold: all of them at level 0, then half the level below.
        let mut supported = u64::MAX;
        for level in 0..MAX_LEVELS {
            let path = level_path(dir, level);
            if level > 0 && supported == 0 {
                // Nothing can be at this level or above: remove what a larger tree left.
                for stale in level..MAX_LEVELS {
                    let path = level_path(dir, stale);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => return Err(TreeError::Io { path, source }),
                    }
                }
                break;
            }
            let mut entry = open_level(path)?;
            // A torn last entry, or more entries than the level below supports, is cut off.
            let whole = entry.on_disk.min(supported);
            if whole != entry.on_disk || entry.file.metadata().map_err(entry.io())?.len() != whole * HASH_LEN {
                entry.truncate(whole)?;
            }
            // Missing nodes are computed from the level below.
            if let Some(below) = tree.levels.last() {
                let level = (level - 1) as u8;
                for index in entry.len()..supported {
                    let (left, right) = (below.get(2 * index, level)?, below.get(2 * index + 1, level)?);
                    entry.pending.push(node_hash(&left, &right));
                }
                entry.flush()?;
            }
            supported = entry.len() / 2;
            tree.levels.push(entry);
        }
        Ok(tree)
    }

    /// Where the tree lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many leaves the tree holds.
    pub fn len(&self) -> u64 {
        self.levels[0].len()
    }

    /// Whether the tree holds no leaf.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Result<Hash, TreeError> {
        self.levels[0].get(index, 0)
    }

    /// Appends a leaf whose data is `event_hash`, and every perfect subtree it completes. Kept
    /// in memory until [`FileTree::flush`].
    pub fn push(&mut self, event_hash: &Hash) -> Result<(), TreeError> {
        let mut node = leaf_hash(event_hash);
        self.levels[0].pending.push(node);
        let mut size = self.len();
        let mut level = 0usize;
        // Each time the new size is even at this level, the last two nodes close a pair.
        while size.is_multiple_of(2) {
            if level + 1 == self.levels.len() {
                self.levels.push(open_level(level_path(&self.dir, level + 1))?);
            }
            let left = self.levels[level].get(self.levels[level].len() - 2, level as u8)?;
            node = node_hash(&left, &node);
            level += 1;
            self.levels[level].pending.push(node);
            size /= 2;
        }
        Ok(())
    }

    /// Writes what [`FileTree::push`] appended to the files (no fsync: see the module
    /// documentation).
    pub fn flush(&mut self) -> Result<(), TreeError> {
        self.levels.iter_mut().try_for_each(Level::flush)
    }

    /// Empties the tree, for a rebuild from the log.
    pub fn clear(&mut self) -> Result<(), TreeError> {
        self.levels.iter_mut().try_for_each(|level| {
            level.pending.clear();
            level.truncate(0)
        })
    }
}

impl Nodes for FileTree {
    type Error = TreeError;

    fn size(&self) -> u64 {
        self.len()
    }

    fn node(&self, level: u8, index: u64) -> Result<Hash, TreeError> {
        match self.levels.get(usize::from(level)) {
            Some(entries) => entries.get(index, level),
            None => Err(TreeError::NoSuchNode { level, index }),
        }
    }
}

fn open_level(path: PathBuf) -> Result<Level, TreeError> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).map_err(|source| TreeError::Io { path: path.clone(), source })?;
    let len = file.metadata().map_err(|source| TreeError::Io { path: path.clone(), source })?.len();
    Ok(Level { path, file, on_disk: len / HASH_LEN, pending: Vec::new() })
}

fn level_path(dir: &Path, level: usize) -> PathBuf {
    dir.join(format!("level-{level:02}.hashes"))
}

#[cfg(test)]
mod tests {
    use chibo_integrity::merkle::{self, MemoryTree};

    use super::*;

    fn event(i: u64) -> Hash {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&i.to_be_bytes());
        h
    }

    #[test]
    fn every_root_equals_the_in_memory_tree_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut memory = MemoryTree::new();
        let mut roots = vec![merkle::empty_root()];
        let mut tree = FileTree::open(dir.path()).unwrap();
        for i in 0..300u64 {
            tree.push(&event(i)).unwrap();
            memory.push(&event(i));
            roots.push(memory.root());
            if i % 37 == 0 {
                tree.flush().unwrap();
                tree = FileTree::open(dir.path()).unwrap();
            }
        }
        tree.flush().unwrap();
        let tree = FileTree::open(dir.path()).unwrap();
        assert_eq!(tree.len(), 300);
        for (size, root) in roots.iter().enumerate() {
            assert_eq!(&merkle::root(&tree, size as u64).unwrap(), root, "size {size}");
        }
    }

    #[test]
    fn a_crash_leaves_nothing_that_opening_does_not_repair() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = FileTree::open(dir.path()).unwrap();
        let mut memory = MemoryTree::new();
        for i in 0..64u64 {
            tree.push(&event(i)).unwrap();
            memory.push(&event(i));
        }
        tree.flush().unwrap();
        drop(tree);
        // A torn leaf write, an upper level lost entirely, another cut short.
        let level0 = dir.path().join("level-00.hashes");
        let mut bytes = std::fs::read(&level0).unwrap();
        bytes.extend_from_slice(&[7u8; 13]);
        std::fs::write(&level0, bytes).unwrap();
        std::fs::remove_file(dir.path().join("level-03.hashes")).unwrap();
        let level1 = dir.path().join("level-01.hashes");
        std::fs::OpenOptions::new().write(true).open(&level1).unwrap().set_len(5 * 32 + 3).unwrap();
        let tree = FileTree::open(dir.path()).unwrap();
        assert_eq!(tree.len(), 64);
        assert_eq!(merkle::root(&tree, 64).unwrap(), memory.root());
        assert_eq!(std::fs::metadata(&level0).unwrap().len(), 64 * 32);
        assert_eq!(std::fs::metadata(&level1).unwrap().len(), 32 * 32);
    }

    #[test]
    fn a_shorter_level_zero_cuts_the_levels_above_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = FileTree::open(dir.path()).unwrap();
        for i in 0..40u64 {
            tree.push(&event(i)).unwrap();
        }
        tree.flush().unwrap();
        drop(tree);
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("level-00.hashes"))
            .unwrap()
            .set_len(9 * 32)
            .unwrap();
        let tree = FileTree::open(dir.path()).unwrap();
        let mut memory = MemoryTree::new();
        (0..9u64).for_each(|i| drop(memory.push(&event(i))));
        assert_eq!(tree.len(), 9);
        assert_eq!(merkle::root(&tree, 9).unwrap(), memory.root());
        assert!(!dir.path().join("level-04.hashes").exists(), "no level above what 9 leaves support");
    }
}
