//! The Merkle proofs a bundle carries, checked the way a verifier checks them: proofs from a real
//! tree verify and stop verifying when one bit of them changes; proofs, sizes and indexes from
//! the input are refused or accepted without a panic.
//!
//! The input builds a tree of up to 130 distinct leaves (eight levels), then asks for roots,
//! inclusion and consistency proofs at sizes it picks, and finally hands the verifiers values of
//! its own.
#![no_main]

use chibo_integrity::merkle::{
    self, consistency_proof, inclusion_proof, leaf_hash, verify_consistency, verify_inclusion, Frontier, MemoryTree,
};
use chibo_integrity::Hash;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

/// The data of leaf `i`: distinct for every `i`, so that no two leaves share a hash.
fn leaf(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let n: u64 = u.int_in_range(0..=130)?;
    let mut tree = MemoryTree::new();
    let mut frontier = Frontier::new();
    let mut roots = vec![merkle::empty_root()];
    for i in 0..n {
        tree.push(&leaf(i));
        frontier.push(&leaf(i));
        assert_eq!(frontier.size(), i + 1);
        roots.push(frontier.root());
    }
    assert_eq!(tree.root(), frontier.root());
    // A size beyond the tree has no root and no proof.
    assert!(merkle::root(&tree, n + 1).is_err());
    assert!(inclusion_proof(&tree, 0, n + 1).is_err());
    assert!(consistency_proof(&tree, 0, n + 1).is_err());

    for _ in 0..u.int_in_range(0..=4)? {
        let size = u.int_in_range(0..=n)?;
        let root = roots[size as usize];
        assert_eq!(merkle::root(&tree, size).ok(), Some(root));

        // Inclusion of one leaf of the tree of `size`.
        let index = u.int_in_range(0..=size)?;
        match inclusion_proof(&tree, index, size) {
            Err(_) => assert_eq!(index, size, "a proof exists for every leaf below the size"),
            Ok(proof) => {
                let hash = leaf_hash(&leaf(index));
                assert_eq!(verify_inclusion(&hash, index, size, &proof, &root), Ok(()));
                if let Some(flipped) = flip(u, &proof)? {
                    assert!(verify_inclusion(&hash, index, size, &flipped, &root).is_err());
                }
                let mut other = root;
                other[0] ^= 1;
                assert!(verify_inclusion(&hash, index, size, &proof, &other).is_err());
                assert!(verify_inclusion(&leaf_hash(&leaf(n + 1)), index, size, &proof, &root).is_err());
                let mut longer = proof.clone();
                longer.push(u.arbitrary()?);
                assert!(verify_inclusion(&hash, index, size, &longer, &root).is_err());
                if !proof.is_empty() {
                    assert!(verify_inclusion(&hash, index, size, &proof[..proof.len() - 1], &root).is_err());
                }
            }
        }

        // Consistency from an earlier size.
        let old = u.int_in_range(0..=size)?;
        let old_root = roots[old as usize];
        let proof = consistency_proof(&tree, old, size).expect("both sizes are inside the tree");
        assert_eq!(verify_consistency(old, size, &old_root, &root, &proof), Ok(()));
        if let Some(flipped) = flip(u, &proof)? {
            assert!(verify_consistency(old, size, &old_root, &root, &flipped).is_err());
        }
        if old < size {
            let mut forked = old_root;
            forked[31] ^= 0x80;
            assert!(verify_consistency(old, size, &forked, &root, &proof).is_err());
        }
        assert!(consistency_proof(&tree, size + 1, size).is_err());
    }

    // Whatever a bundle says: any index, sizes and proof are an answer, never a panic.
    let proof: Vec<Hash> = u.arbitrary()?;
    let (index, size, old): (u64, u64, u64) = u.arbitrary()?;
    let (hash, root, old_root): (Hash, Hash, Hash) = u.arbitrary()?;
    if let Err(e) = verify_inclusion(&hash, index, size, &proof, &root) {
        let _ = e.to_string();
    }
    if let Err(e) = verify_consistency(old, size, &old_root, &root, &proof) {
        let _ = e.to_string();
    }
    Ok(())
}

/// `proof` with one bit of one hash flipped, if it has a hash.
fn flip(u: &mut Unstructured<'_>, proof: &[Hash]) -> Result<Option<Vec<Hash>>> {
    if proof.is_empty() {
        return Ok(None);
    }
    let mut flipped = proof.to_vec();
    let hash = u.choose_index(flipped.len())?;
    let byte = u.choose_index(32)?;
    flipped[hash][byte] ^= 1 << u.int_in_range(0..=7)?;
    Ok(Some(flipped))
}
