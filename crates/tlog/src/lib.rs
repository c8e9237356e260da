//! chibo's transparency log, over any [`chibo_store::EventStore`]:
//!
//! - [`tree`]: the Merkle tree of RFC 9162 over the global order (leaf data = the event hash),
//!   its perfect subtrees kept in one file per level;
//! - [`log`]: [`MerkleLog`], that tree kept up with the store as events commit, answering roots
//!   and inclusion and consistency proofs for any size it holds;
//! - [`checkpoints`]: signed checkpoints (C2SP `tlog-checkpoint` in a `signed-note`, Ed25519)
//!   recorded in `$checkpoints`, never two that conflict.
#![deny(missing_docs)]

pub mod checkpoints;
pub mod fs;
pub mod log;
pub mod tree;

pub use checkpoints::{CheckpointConfig, CheckpointError, Checkpoints, Signed};
pub use log::{LogError, MerkleLog};
pub use tree::{FileTree, TreeError};
