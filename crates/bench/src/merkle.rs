//! Merkle proofs as the Audit service gives them: from the server's tree files
//! (`DATA/merkle/`, one file per level of perfect-subtree hashes), at tree sizes from 10^3 to
//! the whole log: the root, inclusion proofs of random leaves and consistency proofs from
//! random older sizes, each generated and then verified as an inspector does.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chibo_integrity::merkle::{self, Nodes};
use chibo_tlog::FileTree;

use crate::{cli::MerkleArgs, figure};

/// splitmix64: reproducible leaf choices without a dependency.
struct Picks(u64);

impl Picks {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (x ^ (x >> 31)) % n
    }
}

fn sizes(len: u64) -> Vec<u64> {
    let mut sizes: Vec<u64> =
        std::iter::successors(Some(1_000u64), |s| s.checked_mul(10)).take_while(|&s| s < len).collect();
    sizes.push(len);
    sizes
}

fn per_proof(elapsed: Duration, n: usize) -> Duration {
    elapsed / u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

pub fn run(args: MerkleArgs) -> anyhow::Result<()> {
    let MerkleArgs { data, proofs } = args;
    if proofs == 0 {
        bail!("--proofs: must be at least 1");
    }
    let dir = data.join("merkle");
    if !dir.is_dir() {
        bail!("--data {}: no merkle/ tree there (a directory a chibo server has served)", data.display());
    }
    let tree = FileTree::open(&dir).with_context(|| format!("cannot open the tree in {}", dir.display()))?;
    let len = tree.size();
    if len < 2 {
        bail!("--data {}: the tree has {len} leaves; proofs need at least 2", data.display());
    }
    let mut picks = Picks(7);
    for size in sizes(len) {
        let started = Instant::now();
        let root = merkle::root(&tree, size)?;
        let root_time = started.elapsed();

        let leaves: Vec<u64> = (0..proofs).map(|_| picks.below(size)).collect();
        let started = Instant::now();
        let inclusion: Vec<Vec<_>> =
            leaves.iter().map(|&i| merkle::inclusion_proof(&tree, i, size)).collect::<Result<_, _>>()?;
        let generate = started.elapsed();
        let leaf_hashes: Vec<_> = leaves.iter().map(|&i| tree.node(0, i)).collect::<Result<_, _>>()?;
        let started = Instant::now();
        for ((&i, proof), leaf) in leaves.iter().zip(&inclusion).zip(&leaf_hashes) {
            merkle::verify_inclusion(leaf, i, size, proof, &root).context("an inclusion proof does not verify")?;
        }
        let verify = started.elapsed();
        let hashes = inclusion.iter().map(Vec::len).sum::<usize>() as f64 / proofs as f64;

        let olds: Vec<u64> = (0..proofs).map(|_| 1 + picks.below(size - 1)).collect();
        let old_roots: Vec<_> = olds.iter().map(|&m| merkle::root(&tree, m)).collect::<Result<_, _>>()?;
        let started = Instant::now();
        let consistency: Vec<Vec<_>> =
            olds.iter().map(|&m| merkle::consistency_proof(&tree, m, size)).collect::<Result<_, _>>()?;
        let c_generate = started.elapsed();
        let started = Instant::now();
        for ((&m, proof), old_root) in olds.iter().zip(&consistency).zip(&old_roots) {
            merkle::verify_consistency(m, size, old_root, &root, proof)
                .context("a consistency proof does not verify")?;
        }
        let c_verify = started.elapsed();
        let c_hashes = consistency.iter().map(Vec::len).sum::<usize>() as f64 / proofs as f64;

        let at = format!("merkle.{size}");
        let what = format!("tree of {size} leaves, {proofs} proofs, from the tree files");
        figure::print(&format!("{at}.root_us"), root_time.as_secs_f64() * 1e6, "µs", &what);
        figure::print(&format!("{at}.inclusion_bytes"), hashes * 32.0, "B", "mean inclusion proof");
        figure::print(
            &format!("{at}.inclusion_generate_us"),
            per_proof(generate, proofs).as_secs_f64() * 1e6,
            "µs",
            &what,
        );
        figure::print(&format!("{at}.inclusion_verify_us"), per_proof(verify, proofs).as_secs_f64() * 1e6, "µs", &what);
        figure::print(&format!("{at}.consistency_bytes"), c_hashes * 32.0, "B", "mean consistency proof");
        figure::print(
            &format!("{at}.consistency_generate_us"),
            per_proof(c_generate, proofs).as_secs_f64() * 1e6,
            "µs",
            &what,
        );
        figure::print(
            &format!("{at}.consistency_verify_us"),
            per_proof(c_verify, proofs).as_secs_f64() * 1e6,
            "µs",
            &what,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_grow_by_ten_and_end_with_the_whole_tree() {
        assert_eq!(sizes(2), [2]);
        assert_eq!(sizes(1_000), [1_000]);
        assert_eq!(sizes(25_000), [1_000, 10_000, 25_000]);
    }

    #[test]
    fn picks_stay_below_their_bound() {
        let mut picks = Picks(1);
        assert!((0..1000).all(|_| picks.below(3) < 3));
    }
}
