//! The Merkle log's algorithms against published RFC 6962 / RFC 9162 test vectors, against a
//! plain recursive implementation of the RFC's definitions, and against mutated proofs.
//!
//! Randomized tests draw from a seeded `StdRng`; the seed is printed (shown when a test fails)
//! and `MERKLE_SEED=<seed>` replays it.

use std::cell::Cell;

use chibo_integrity::merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, node_hash, root, verify_consistency, verify_inclusion,
    Frontier, MemoryTree, Nodes, NotAdjacent, ProofError, Span, VerifyError,
};
use chibo_integrity::Hash;
use rand::{rngs::StdRng, Rng, SeedableRng};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Helpers

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s:?}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn h(s: &str) -> Hash {
    unhex(s).try_into().expect("32 bytes")
}

fn rng(test: &str) -> StdRng {
    let seed = std::env::var("MERKLE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random::<u64>);
    println!("{test}: seed {seed} (replay with MERKLE_SEED={seed})");
    StdRng::seed_from_u64(seed)
}

fn random_hash(rng: &mut StdRng) -> Hash {
    rng.gen()
}

/// A tree of `n` random leaves (each leaf's data a random 32-byte "event hash").
fn random_tree(rng: &mut StdRng, n: usize) -> (Vec<Vec<u8>>, MemoryTree) {
    let mut tree = MemoryTree::new();
    let leaves: Vec<Vec<u8>> = (0..n).map(|_| random_hash(rng).to_vec()).collect();
    for leaf in &leaves {
        tree.push(leaf);
    }
    (leaves, tree)
}

fn unwrap<T>(r: Result<T, ProofError<std::convert::Infallible>>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Reference implementation: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 written out as defined,
// over the list of leaves, with SHA-256 called directly.

fn ref_leaf(d: &[u8]) -> Hash {
    let mut b = vec![0x00];
    b.extend_from_slice(d);
    Sha256::digest(&b).into()
}

fn ref_node(l: &Hash, r: &Hash) -> Hash {
    let mut b = vec![0x01];
    b.extend_from_slice(l);
    b.extend_from_slice(r);
    Sha256::digest(&b).into()
}

/// The largest power of two smaller than n (n > 1).
fn ref_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]).
fn ref_mth(d: &[Vec<u8>]) -> Hash {
    match d.len() {
        0 => Sha256::digest([]).into(),
        1 => ref_leaf(&d[0]),
        n => {
            let k = ref_k(n);
            ref_node(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]).
fn ref_path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = ref_k(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m <= n.
fn ref_proof(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![ref_mth(d)] };
        }
        let k = ref_k(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(ref_mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(ref_mth(&d[..k]));
            p
        }
    }
    assert!(0 < m && m <= d.len());
    subproof(m, d, true)
}

// ---------------------------------------------------------------------------------------------
// Mutation checks

/// Checks that `proof` proves leaf `index` in the tree of `size` leaves, and that no mutation
/// of it verifies. `roots[s]` is the true root at size `s`; `all_bits` flips every bit of every
/// proof hash instead of one random bit per hash.
fn check_inclusion(
    rng: &mut StdRng,
    roots: &[Hash],
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    all_bits: bool,
) {
    let root = &roots[size as usize];
    let ctx = format!("inclusion of {index} in {size}");
    verify_inclusion(leaf, index, size, proof, root).unwrap_or_else(|e| panic!("{ctx}: {e}"));

    let fails = |what: &str, leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash| {
        let r = verify_inclusion(leaf, index, size, proof, root);
        assert!(r.is_err(), "{ctx}: verified with {what}");
        r.unwrap_err()
    };

    // Any bit of any proof hash.
    for i in 0..proof.len() {
        let bits: Vec<usize> = if all_bits { (0..256).collect() } else { vec![rng.gen_range(0..256)] };
        for bit in bits {
            let mut p = proof.to_vec();
            p[i][bit / 8] ^= 1 << (bit % 8);
            let e = fails(&format!("proof[{i}] bit {bit} flipped"), leaf, index, size, &p, root);
            assert!(matches!(e, VerifyError::RootMismatch { .. }), "{ctx}: {e}");
        }
    }
    // A hash added or removed, anywhere.
    let extra = random_hash(rng);
    for at in [0, proof.len() / 2, proof.len()] {
        for added in [extra, *root, *leaf] {
            let mut p = proof.to_vec();
            p.insert(at, added);
            let e = fails(&format!("a hash inserted at {at}"), leaf, index, size, &p, root);
            assert_eq!(e, VerifyError::WrongProofLength { expected: proof.len(), got: proof.len() + 1 }, "{ctx}");
        }
    }
    if !proof.is_empty() {
        for at in [0, proof.len() / 2, proof.len() - 1] {
            let mut p = proof.to_vec();
            p.remove(at);
            let e = fails(&format!("proof[{at}] removed"), leaf, index, size, &p, root);
            assert_eq!(e, VerifyError::WrongProofLength { expected: proof.len(), got: proof.len() - 1 }, "{ctx}");
        }
    }
    // The wrong index, inside and outside the tree.
    let random_index = rng.gen_range(0..size);
    for wrong in [index.wrapping_sub(1), index + 1, index ^ 1, index ^ 2, random_index, size, u64::MAX] {
        if wrong != index {
            fails(&format!("index {wrong}"), leaf, wrong, size, proof, root);
        }
    }
    // The wrong size, with the true root of that size: must fail whatever the size.
    let max = roots.len() as u64 - 1;
    let random_size = rng.gen_range(1..=max);
    for wrong in [size - 1, size + 1, size * 2, size / 2, size ^ 2, random_size] {
        if wrong != size && wrong <= max {
            fails(&format!("size {wrong} and its root"), leaf, index, wrong, proof, &roots[wrong as usize]);
        }
    }
    // The wrong size with the same root: twice or half the size changes the proof's shape.
    // (size ± 1 can keep the shape: a root does not commit to its size, see
    // `a_root_does_not_commit_to_its_size`.)
    for wrong in [size * 2, size / 2, u64::MAX] {
        fails(&format!("size {wrong}"), leaf, index, wrong, proof, root);
    }
    // The wrong root or leaf.
    let mut bad = *root;
    bad[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8);
    fails("a root bit flipped", leaf, index, size, proof, &bad);
    fails("the empty root", leaf, index, size, proof, &empty_root());
    fails("a random root", leaf, index, size, proof, &random_hash(rng));
    let mut bad = *leaf;
    bad[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8);
    fails("a leaf bit flipped", &bad, index, size, proof, root);
    fails("a random leaf hash", &random_hash(rng), index, size, proof, root);
}

/// Checks that `proof` proves the tree of `old` leaves a prefix of the tree of `new` leaves,
/// and that no mutation of it verifies.
fn check_consistency(rng: &mut StdRng, roots: &[Hash], old: u64, new: u64, proof: &[Hash], all_bits: bool) {
    let (r1, r2) = (&roots[old as usize], &roots[new as usize]);
    let ctx = format!("consistency {old} -> {new}");
    verify_consistency(old, new, r1, r2, proof).unwrap_or_else(|e| panic!("{ctx}: {e}"));

    let fails = |what: &str, old: u64, new: u64, r1: &Hash, r2: &Hash, proof: &[Hash]| {
        let r = verify_consistency(old, new, r1, r2, proof);
        assert!(r.is_err(), "{ctx}: verified with {what}");
        r.unwrap_err()
    };

    for i in 0..proof.len() {
        let bits: Vec<usize> = if all_bits { (0..256).collect() } else { vec![rng.gen_range(0..256)] };
        for bit in bits {
            let mut p = proof.to_vec();
            p[i][bit / 8] ^= 1 << (bit % 8);
            let e = fails(&format!("proof[{i}] bit {bit} flipped"), old, new, r1, r2, &p);
            assert!(
                matches!(e, VerifyError::OldRootMismatch { .. } | VerifyError::NewRootMismatch { .. }),
                "{ctx}: {e}"
            );
        }
    }
    let extra = random_hash(rng);
    for at in [0, proof.len() / 2, proof.len()] {
        for added in [extra, *r1, *r2, proof.first().copied().unwrap_or(extra)] {
            let mut p = proof.to_vec();
            p.insert(at, added);
            let e = fails(&format!("a hash inserted at {at}"), old, new, r1, r2, &p);
            assert_eq!(e, VerifyError::WrongProofLength { expected: proof.len(), got: proof.len() + 1 }, "{ctx}");
        }
    }
    if !proof.is_empty() {
        for at in [0, proof.len() / 2, proof.len() - 1] {
            let mut p = proof.to_vec();
            p.remove(at);
            let e = fails(&format!("proof[{at}] removed"), old, new, r1, r2, &p);
            assert_eq!(e, VerifyError::WrongProofLength { expected: proof.len(), got: proof.len() - 1 }, "{ctx}");
        }
    }
    let max = roots.len() as u64 - 1;
    // The wrong old or new size, with the true roots of those sizes.
    let random_size = rng.gen_range(0..=max);
    for wrong in [old.wrapping_sub(1), old + 1, old ^ 1, old ^ 2, old * 2, old / 2, random_size] {
        // An empty proof rightly proves size 0 and equal sizes: those are true statements.
        let true_statement = proof.is_empty() && (wrong == 0 || wrong == new);
        if wrong != old && wrong <= max && !true_statement {
            fails(&format!("old size {wrong} and its root"), wrong, new, &roots[wrong as usize], r2, proof);
        }
    }
    for wrong in [new.wrapping_sub(1), new + 1, new ^ 1, new ^ 2, new * 2, new / 2, random_size] {
        // From size 0 every new size is consistent.
        if wrong != new && wrong <= max && old > 0 {
            fails(&format!("new size {wrong} and its root"), old, wrong, r1, &roots[wrong as usize], proof);
        }
    }
    // The wrong sizes with the same roots, as the published verifier tests probe them.
    if !proof.is_empty() {
        for wrong in [old - 1, old + 1, old ^ 2] {
            fails(&format!("old size {wrong}"), wrong, new, r1, r2, proof);
        }
        for wrong in [new * 2, new / 2] {
            fails(&format!("new size {wrong}"), old, wrong, r1, r2, proof);
        }
    }
    for wrong in [u64::MAX, u64::MAX - 1] {
        fails(&format!("new size {wrong}"), old.max(1), wrong, r1, r2, proof);
    }
    // The wrong roots.
    let mut bad = *r1;
    bad[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8);
    fails("an old root bit flipped", old, new, &bad, r2, proof);
    fails("a random old root", old, new, &random_hash(rng), r2, proof);
    if old > 0 {
        // From size 0 the new root is not checked (every tree extends the empty one).
        let mut bad = *r2;
        bad[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8);
        fails("a new root bit flipped", old, new, r1, &bad, proof);
        fails("a random new root", old, new, r1, &random_hash(rng), proof);
        if r1 != r2 {
            fails("swapped roots", old, new, r2, r1, proof);
        }
    }
}

/// A `Nodes` view of a tree that counts lookups and checks each is inside `bound` leaves.
struct Counting<'a> {
    tree: &'a MemoryTree,
    bound: u64,
    lookups: Cell<u32>,
}

impl<'a> Counting<'a> {
    fn new(tree: &'a MemoryTree, bound: u64) -> Self {
        Counting { tree, bound, lookups: Cell::new(0) }
    }
    fn take(&self) -> u32 {
        self.lookups.replace(0)
    }
}

impl Nodes for Counting<'_> {
    type Error = std::convert::Infallible;
    fn size(&self) -> u64 {
        self.tree.size()
    }
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        assert!(
            (u128::from(index) + 1) << level <= u128::from(self.bound),
            "asked for ({level}, {index}), outside {} leaves",
            self.bound
        );
        self.lookups.set(self.lookups.get() + 1);
        self.tree.node(level, index)
    }
}

fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Checks every proof `tree` gives for tree size `size` (all indices) against the reference.
fn all_inclusions_match_reference(rng: &mut StdRng, leaves: &[Vec<u8>], tree: &MemoryTree, roots: &[Hash], size: u64) {
    let counting = Counting::new(tree, size);
    for index in 0..size {
        let proof = unwrap(inclusion_proof(&counting, index, size));
        assert!(counting.take() <= 2 * bit_len(size), "too many lookups for {index} in {size}");
        assert_eq!(proof, ref_path(index as usize, &leaves[..size as usize]), "inclusion of {index} in {size}");
        check_inclusion(rng, roots, &ref_leaf(&leaves[index as usize]), index, size, &proof, false);
    }
}

fn consistency_matches_reference(
    rng: &mut StdRng,
    leaves: &[Vec<u8>],
    tree: &MemoryTree,
    roots: &[Hash],
    old: u64,
    new: u64,
) {
    let counting = Counting::new(tree, new);
    let proof = unwrap(consistency_proof(&counting, old, new));
    assert!(counting.take() <= 2 * bit_len(new) + 1, "too many lookups for {old} -> {new}");
    let want = if old == 0 { vec![] } else { ref_proof(old as usize, &leaves[..new as usize]) };
    assert_eq!(proof, want, "consistency {old} -> {new}");
    check_consistency(rng, roots, old, new, &proof, false);
}

/// The roots of every size of `tree`, checked against the reference.
fn roots_of(leaves: &[Vec<u8>], tree: &MemoryTree, check_every: usize) -> Vec<Hash> {
    let counting = Counting::new(tree, tree.size());
    let roots: Vec<Hash> = (0..=tree.size()).map(|s| unwrap(root(&counting, s))).collect();
    for s in (0..roots.len()).step_by(check_every).chain([roots.len() - 1]) {
        assert_eq!(roots[s], ref_mth(&leaves[..s]), "root of {s}");
    }
    roots
}

// ---------------------------------------------------------------------------------------------
// Published test vectors

/// The 8 leaves of the reference tree of google/certificate-transparency
/// `cpp/merkletree/merkle_tree_test.cc` (`kInputs`), also in transparency-dev/merkle
/// `proof/verify_test.go` (`leaves`).
const INPUTS: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Its roots at sizes 1..=8: `kSHA256Roots` in merkle_tree_test.cc, `roots` in verify_test.go.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Inclusion proofs in that tree as (0-based leaf index, tree size, path): `kSHA256Paths` in
/// merkle_tree_test.cc and `inclusionProofs` in verify_test.go, which number leaves from 1.
const PATHS: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// Consistency proofs in that tree as (old size, new size, proof): `kSHA256Proofs` in
/// merkle_tree_test.cc and `consistencyProofs` in verify_test.go (which adds 6 -> 7).
const PROOFS: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn reference_tree() -> (Vec<Vec<u8>>, MemoryTree, Vec<Hash>) {
    let leaves: Vec<Vec<u8>> = INPUTS.iter().map(|s| unhex(s)).collect();
    let mut tree = MemoryTree::new();
    let mut roots = vec![empty_root()];
    for leaf in &leaves {
        tree.push(leaf);
        roots.push(tree.root());
    }
    (leaves, tree, roots)
}

/// Hash function vectors of transparency-dev/merkle `rfc6962/rfc6962_test.go`
/// (`TestRFC6962Hasher`), recomputable with `sha256sum`. (Its node vector hashes two 4-byte
/// children; ours are always 32 bytes, so that one is checked through the tree roots instead.)
#[test]
fn hash_functions_match_published_values() {
    assert_eq!(empty_root(), h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_eq!(leaf_hash(b""), h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
    assert_eq!(leaf_hash(b"L123456"), h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"));
    // The empty tree and the tree of one empty leaf differ.
    assert_ne!(empty_root(), leaf_hash(b""));
    // node_hash is the root of the two-leaf tree.
    assert_eq!(node_hash(&leaf_hash(b""), &leaf_hash(&[0x00])), h(ROOTS[1]));
}

#[test]
fn roots_match_published_vectors() {
    let (leaves, tree, roots) = reference_tree();
    assert_eq!(roots[0], empty_root());
    assert_eq!(unwrap(root(&tree, 0)), empty_root());
    for size in 1..=8 {
        let want = h(ROOTS[size - 1]);
        assert_eq!(roots[size], want, "incremental root of {size}");
        assert_eq!(unwrap(root(&tree, size as u64)), want, "root of {size} from the full tree");
        assert_eq!(ref_mth(&leaves[..size]), want, "reference root of {size}");
    }
}

#[test]
fn inclusion_proofs_match_published_vectors() {
    let (leaves, tree, roots) = reference_tree();
    let mut rng = rng("inclusion_proofs_match_published_vectors");
    for (index, size, path) in PATHS {
        let want: Vec<Hash> = path.iter().map(|s| h(s)).collect();
        assert_eq!(unwrap(inclusion_proof(&tree, index, size)), want, "inclusion of {index} in {size}");
        assert_eq!(ref_path(index as usize, &leaves[..size as usize]), want);
        check_inclusion(&mut rng, &roots, &leaf_hash(&leaves[index as usize]), index, size, &want, true);
    }
}

#[test]
fn consistency_proofs_match_published_vectors() {
    let (leaves, tree, roots) = reference_tree();
    let mut rng = rng("consistency_proofs_match_published_vectors");
    for (old, new, proof) in PROOFS {
        let want: Vec<Hash> = proof.iter().map(|s| h(s)).collect();
        assert_eq!(unwrap(consistency_proof(&tree, old, new)), want, "consistency {old} -> {new}");
        assert_eq!(ref_proof(old as usize, &leaves[..new as usize]), want);
        check_consistency(&mut rng, &roots, old, new, &want, true);
    }
}

/// A proof element: one perfect subtree `(level, index)`, or several folded into the hash of a
/// right-edge subtree, listed right to left as transparency-dev/merkle lists them.
enum Part {
    N(u8, u64),
    Fold(&'static [(u8, u64)]),
}
use Part::{Fold, N};

fn expand(tree: &MemoryTree, parts: &[Part]) -> Vec<Hash> {
    let node = |(l, i): (u8, u64)| unwrap(tree.node(l, i).map_err(ProofError::Source));
    parts
        .iter()
        .map(|p| match p {
            N(l, i) => node((*l, *i)),
            Fold(ids) => ids[1..].iter().fold(node(ids[0]), |acc, id| node_hash(&node(*id), &acc)),
        })
        .collect()
}

/// Which perfect subtrees make up each proof: the node-id vectors of transparency-dev/merkle
/// `proof/proof_test.go` (`TestInclusion`, `TestConsistency`), including the right-edge
/// subtrees folded from several ("rehash").
#[test]
fn proofs_are_made_of_the_published_subtrees() {
    let mut rng = rng("proofs_are_made_of_the_published_subtrees");
    let (leaves, tree) = random_tree(&mut rng, 95);
    const J_I: Part = Fold(&[(0, 6), (1, 2)]);
    let inclusion: &[(u64, u64, &[Part])] = &[
        (1, 0, &[]),
        (2, 0, &[N(0, 1)]),
        (2, 1, &[N(0, 0)]),
        (3, 1, &[N(0, 0), N(0, 2)]),
        (7, 0, &[N(0, 1), N(1, 1), J_I]),
        (7, 1, &[N(0, 0), N(1, 1), J_I]),
        (7, 2, &[N(0, 3), N(1, 0), J_I]),
        (7, 3, &[N(0, 2), N(1, 0), J_I]),
        (7, 4, &[N(0, 5), N(0, 6), N(2, 0)]),
        (7, 5, &[N(0, 4), N(0, 6), N(2, 0)]),
        (7, 6, &[N(1, 2), N(2, 0)]),
        (4, 2, &[N(0, 3), N(1, 0)]),
        (5, 3, &[N(0, 2), N(1, 0), N(0, 4)]),
        (6, 3, &[N(0, 2), N(1, 0), N(1, 2)]),
        (6, 4, &[N(0, 5), N(2, 0)]),
        (15, 10, &[N(0, 11), N(1, 4), Fold(&[(0, 14), (1, 6)]), N(3, 0)]),
        (31, 24, &[N(0, 25), N(1, 13), Fold(&[(0, 30), (1, 14)]), N(3, 2), N(4, 0)]),
        (95, 81, &[N(0, 80), N(1, 41), N(2, 21), Fold(&[(0, 94), (1, 46), (2, 22)]), N(4, 4), N(6, 0)]),
    ];
    for (size, index, parts) in inclusion {
        let want = expand(&tree, parts);
        assert_eq!(unwrap(inclusion_proof(&tree, *index, *size)), want, "inclusion of {index} in {size}");
        assert_eq!(ref_path(*index as usize, &leaves[..*size as usize]), want);
    }
    let consistency: &[(u64, u64, &[Part])] = &[
        (1, 2, &[N(0, 1)]),
        (1, 4, &[N(0, 1), N(1, 1)]),
        (1, 6, &[N(0, 1), N(1, 1), N(1, 2)]),
        (2, 3, &[N(0, 2)]),
        (2, 8, &[N(1, 1), N(2, 1)]),
        (3, 7, &[N(0, 2), N(0, 3), N(1, 0), J_I]),
        (4, 7, &[J_I]),
        (5, 7, &[N(0, 4), N(0, 5), N(0, 6), N(2, 0)]),
        (6, 7, &[N(1, 2), N(0, 6), N(2, 0)]),
        (7, 8, &[N(0, 6), N(0, 7), N(1, 2), N(2, 0)]),
        (1, 1, &[]),
        (2, 2, &[]),
        (3, 3, &[]),
        (4, 4, &[]),
        (5, 5, &[]),
        (7, 7, &[]),
        (8, 8, &[]),
        (2, 4, &[N(1, 1)]),
        (3, 5, &[N(0, 2), N(0, 3), N(1, 0), N(0, 4)]),
        (3, 6, &[N(0, 2), N(0, 3), N(1, 0), N(1, 2)]),
        (4, 6, &[N(1, 2)]),
        (1, 7, &[N(0, 1), N(1, 1), J_I]),
        (10, 15, &[N(1, 4), N(1, 5), Fold(&[(0, 14), (1, 6)]), N(3, 0)]),
        (24, 31, &[N(3, 2), Fold(&[(0, 30), (1, 14), (2, 6)]), N(4, 0)]),
        (81, 95, &[N(0, 80), N(0, 81), N(1, 41), N(2, 21), Fold(&[(0, 94), (1, 46), (2, 22)]), N(4, 4), N(6, 0)]),
    ];
    for (old, new, parts) in consistency {
        let want = expand(&tree, parts);
        assert_eq!(unwrap(consistency_proof(&tree, *old, *new)), want, "consistency {old} -> {new}");
        assert_eq!(ref_proof(*old as usize, &leaves[..*new as usize]), want);
    }
}

// ---------------------------------------------------------------------------------------------
// Against the reference, with mutations

/// Every tree size up to 64, every leaf and every pair of sizes (every bit of every proof hash
/// flipped up to size 8).
#[test]
fn small_trees_exhaustively() {
    let mut rng = rng("small_trees_exhaustively");
    let (leaves, tree) = random_tree(&mut rng, 64);
    let roots = roots_of(&leaves, &tree, 1);
    for size in 1..=64u64 {
        let counting = Counting::new(&tree, size);
        for index in 0..size {
            let proof = unwrap(inclusion_proof(&counting, index, size));
            assert_eq!(proof, ref_path(index as usize, &leaves[..size as usize]), "inclusion of {index} in {size}");
            check_inclusion(&mut rng, &roots, &leaf_hash(&leaves[index as usize]), index, size, &proof, size <= 8);
        }
    }
    for new in 0..=64u64 {
        for old in 0..=new {
            let proof = unwrap(consistency_proof(&tree, old, new));
            let want = if old == 0 { vec![] } else { ref_proof(old as usize, &leaves[..new as usize]) };
            assert_eq!(proof, want, "consistency {old} -> {new}");
            check_consistency(&mut rng, &roots, old, new, &proof, new <= 8);
        }
    }
}

/// Random tree sizes up to 300, proofs for past sizes as well as the latest.
#[test]
fn random_trees_up_to_300() {
    let mut rng = rng("random_trees_up_to_300");
    let n = rng.gen_range(200..=300u64);
    let (leaves, tree) = random_tree(&mut rng, n as usize);
    let roots = roots_of(&leaves, &tree, 1);
    let mut sizes: Vec<u64> = (0..6).map(|_| rng.gen_range(65..=n)).collect();
    sizes.push(n);
    for &size in &sizes {
        all_inclusions_match_reference(&mut rng, &leaves, &tree, &roots, size);
    }
    for _ in 0..400 {
        let new = rng.gen_range(0..=n);
        let old = rng.gen_range(0..=new);
        consistency_matches_reference(&mut rng, &leaves, &tree, &roots, old, new);
    }
    for &new in &sizes {
        for old in [0, 1, new / 2, new - 1, new] {
            consistency_matches_reference(&mut rng, &leaves, &tree, &roots, old, new);
        }
    }
}

/// A 5000-leaf tree: every leaf's proof verifies at several sizes; a sample is compared with
/// the reference.
#[test]
fn large_trees() {
    let mut rng = rng("large_trees");
    let n = 5000u64;
    let (leaves, tree) = random_tree(&mut rng, n as usize);
    let roots = roots_of(&leaves, &tree, 499);
    let mut sizes = vec![1000, 1023, 1024, 1025, 4095, 4096, 4097, n];
    sizes.extend((0..2).map(|_| rng.gen_range(1000..n)));
    for &size in &sizes {
        let counting = Counting::new(&tree, size);
        for index in 0..size {
            let proof = unwrap(inclusion_proof(&counting, index, size));
            assert!(counting.take() <= 2 * bit_len(size));
            let leaf = leaf_hash(&leaves[index as usize]);
            verify_inclusion(&leaf, index, size, &proof, &roots[size as usize])
                .unwrap_or_else(|e| panic!("inclusion of {index} in {size}: {e}"));
        }
        for _ in 0..6 {
            let index = rng.gen_range(0..size);
            let proof = unwrap(inclusion_proof(&tree, index, size));
            assert_eq!(proof, ref_path(index as usize, &leaves[..size as usize]), "inclusion of {index} in {size}");
            check_inclusion(&mut rng, &roots, &leaf_hash(&leaves[index as usize]), index, size, &proof, false);
        }
        for _ in 0..6 {
            let old = rng.gen_range(0..=size);
            consistency_matches_reference(&mut rng, &leaves, &tree, &roots, old, size);
        }
    }
    for _ in 0..200 {
        let new = rng.gen_range(1..=n);
        let old = rng.gen_range(0..=new);
        let proof = unwrap(consistency_proof(&tree, old, new));
        check_consistency(&mut rng, &roots, old, new, &proof, false);
    }
}

/// Sizes 2^k - 1, 2^k and 2^k + 1 up to 2^12 + 1: first, middle and last leaf, every pair
/// (against the reference up to 2^10 + 1, and from the neighbouring sizes above).
#[test]
fn powers_of_two_and_their_neighbours() {
    let mut rng = rng("powers_of_two_and_their_neighbours");
    let (leaves, tree) = random_tree(&mut rng, 4097);
    let roots = roots_of(&leaves, &tree, 257);
    let sizes: Vec<u64> = (0..=12).flat_map(|k| [(1u64 << k) - 1, 1 << k, (1 << k) + 1]).filter(|&s| s > 0).collect();
    for &size in &sizes {
        assert_eq!(roots[size as usize], ref_mth(&leaves[..size as usize]), "root of {size}");
        for index in [0, size / 2, size - 1] {
            let proof = unwrap(inclusion_proof(&tree, index, size));
            if size <= 1025 || index == size - 1 {
                assert_eq!(proof, ref_path(index as usize, &leaves[..size as usize]), "inclusion of {index} in {size}");
            }
            check_inclusion(&mut rng, &roots, &leaf_hash(&leaves[index as usize]), index, size, &proof, false);
        }
    }
    for &new in &sizes {
        for &old in sizes.iter().filter(|&&old| old <= new) {
            if new <= 1025 || new - old <= 2 {
                consistency_matches_reference(&mut rng, &leaves, &tree, &roots, old, new);
            } else {
                let proof = unwrap(consistency_proof(&tree, old, new));
                check_consistency(&mut rng, &roots, old, new, &proof, false);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MemoryTree

#[test]
fn push_reports_the_subtrees_it_completes() {
    let mut rng = rng("push_reports_the_subtrees_it_completes");
    let mut tree = MemoryTree::new();
    assert_eq!(tree.size(), 0);
    assert_eq!(tree.root(), empty_root());
    let mut leaves = Vec::new();
    for n in 0..300u64 {
        let leaf = random_hash(&mut rng).to_vec();
        leaves.push(leaf.clone());
        let completed = tree.push(&leaf);
        // The leaf, then one ancestor per trailing one bit of the old size.
        assert_eq!(completed.len() as u32, 1 + n.trailing_ones(), "push #{n}");
        for (i, &(level, index, hash)) in completed.iter().enumerate() {
            assert_eq!(level as usize, i);
            assert_eq!(index, n >> level);
            let start = (index << level) as usize;
            assert_eq!(hash, ref_mth(&leaves[start..start + (1 << level)]), "({level}, {index})");
            assert_eq!(unwrap(tree.node(level, index).map_err(ProofError::Source)), hash);
        }
        assert_eq!(tree.size(), n + 1);
        assert_eq!(tree.root(), ref_mth(&leaves), "root of {}", n + 1);
        assert_eq!(unwrap(root(&tree, n + 1)), tree.root());
    }
}

// ---------------------------------------------------------------------------------------------
// Frontier

#[test]
fn the_frontier_holds_the_root_of_every_size_as_leaves_stream_by() {
    let mut rng = rng("the_frontier_holds_the_root_of_every_size_as_leaves_stream_by");
    let mut frontier = Frontier::new();
    let mut leaves = Vec::new();
    assert_eq!((frontier.size(), frontier.root()), (0, empty_root()));
    for n in 1..=600u64 {
        let leaf = random_hash(&mut rng).to_vec();
        leaves.push(leaf.clone());
        frontier.push(&leaf);
        assert_eq!(frontier.size(), n);
        assert_eq!(frontier.root(), ref_mth(&leaves), "root of {n}");
    }
    // The reference tree of the published vectors, root by root.
    let (leaves, tree, roots) = reference_tree();
    let mut frontier = Frontier::new();
    for (n, leaf) in leaves.iter().enumerate() {
        frontier.push(leaf);
        assert_eq!(frontier.root(), roots[n + 1]);
    }
    assert_eq!(frontier.root(), tree.root());
}

/// Every tree of up to 70 leaves, cut at every place into a frontier and a span (and the span
/// again into two): the frontier with the span appended has the reference root at every size
/// the span passes, and a span given to a tree it does not continue is refused.
#[test]
fn leaves_hashed_in_spans_give_the_roots_of_one_tree() {
    let mut rng = rng("leaves_hashed_in_spans_give_the_roots_of_one_tree");
    let leaves: Vec<Vec<u8>> = (0..70).map(|_| random_hash(&mut rng).to_vec()).collect();
    for cut in 0..=leaves.len() {
        let mut before = Frontier::new();
        for leaf in &leaves[..cut] {
            before.push(leaf);
        }
        let mut span = Span::new(cut as u64);
        for (n, leaf) in leaves.iter().enumerate().skip(cut) {
            span.push(leaf);
            assert_eq!((span.start(), span.end()), (cut as u64, n as u64 + 1));
            let mut tree = before.clone();
            tree.append(&span).unwrap();
            assert_eq!(tree.size(), n as u64 + 1);
            assert_eq!(tree.root(), ref_mth(&leaves[..=n]), "{cut} leaves, then {} in a span", n + 1 - cut);
        }
        // Three parts: the span cut again, each part hashed alone.
        for second in cut..=leaves.len() {
            let (mut a, mut b) = (Span::new(cut as u64), Span::new(second as u64));
            leaves[cut..second].iter().for_each(|leaf| a.push(leaf));
            leaves[second..].iter().for_each(|leaf| b.push(leaf));
            if second != cut {
                let refused = before.clone().append(&b);
                assert_eq!(refused, Err(NotAdjacent { size: cut as u64, start: second as u64 }));
            }
            let mut tree = before.clone();
            tree.append(&a).unwrap();
            tree.append(&b).unwrap();
            assert_eq!(tree.root(), ref_mth(&leaves), "parts at {cut} and {second}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Edge cases and errors

#[test]
fn the_empty_tree() {
    let tree = MemoryTree::new();
    assert_eq!(unwrap(root(&tree, 0)), empty_root());
    assert!(matches!(inclusion_proof(&tree, 0, 0), Err(ProofError::IndexNotBelowSize { index: 0, size: 0 })));
    assert_eq!(unwrap(consistency_proof(&tree, 0, 0)), Vec::<Hash>::new());
    let e = empty_root();
    assert_eq!(verify_inclusion(&e, 0, 0, &[], &e), Err(VerifyError::IndexNotBelowSize { index: 0, size: 0 }));
    assert_eq!(verify_consistency(0, 0, &e, &e, &[]), Ok(()));
    let other = leaf_hash(b"");
    assert!(matches!(verify_consistency(0, 0, &other, &other, &[]), Err(VerifyError::OldRootMismatch { .. })));
    assert!(matches!(verify_consistency(0, 0, &e, &other, &[]), Err(VerifyError::NewRootMismatch { .. })));
    assert!(matches!(
        verify_consistency(0, 0, &e, &e, &[e]),
        Err(VerifyError::WrongProofLength { expected: 0, got: 1 })
    ));
}

#[test]
fn a_tree_of_one_leaf() {
    let mut tree = MemoryTree::new();
    tree.push(b"event");
    let leaf = leaf_hash(b"event");
    assert_eq!(tree.root(), leaf);
    assert_eq!(unwrap(inclusion_proof(&tree, 0, 1)), Vec::<Hash>::new());
    assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
    assert!(verify_inclusion(&leaf, 0, 1, &[leaf], &leaf).is_err());
    assert!(verify_inclusion(&leaf, 1, 1, &[], &leaf).is_err());
    assert!(verify_inclusion(&leaf_hash(b"other"), 0, 1, &[], &leaf).is_err());
    assert_eq!(unwrap(consistency_proof(&tree, 1, 1)), Vec::<Hash>::new());
    assert_eq!(unwrap(consistency_proof(&tree, 0, 1)), Vec::<Hash>::new());
    assert_eq!(verify_consistency(1, 1, &leaf, &leaf, &[]), Ok(()));
    assert_eq!(verify_consistency(0, 1, &empty_root(), &leaf, &[]), Ok(()));
}

/// RFC 9162 defines no consistency proof from size 0; the empty proof is given and accepted,
/// provided the old root is the empty tree's. The new root is not checked by it.
#[test]
fn consistency_from_the_empty_tree() {
    let mut rng = rng("consistency_from_the_empty_tree");
    let (_, tree) = random_tree(&mut rng, 10);
    let e = empty_root();
    for new in 0..=10 {
        assert_eq!(unwrap(consistency_proof(&tree, 0, new)), Vec::<Hash>::new());
    }
    assert_eq!(verify_consistency(0, 10, &e, &tree.root(), &[]), Ok(()));
    assert_eq!(verify_consistency(0, 10, &e, &random_hash(&mut rng), &[]), Ok(()));
    assert!(matches!(
        verify_consistency(0, 10, &tree.root(), &tree.root(), &[]),
        Err(VerifyError::OldRootMismatch { .. })
    ));
    assert!(matches!(verify_consistency(0, 10, &e, &tree.root(), &[e]), Err(VerifyError::WrongProofLength { .. })));
}

#[test]
fn equal_sizes_need_equal_roots() {
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    assert_eq!(verify_consistency(5, 5, &a, &a, &[]), Ok(()));
    assert_eq!(
        verify_consistency(5, 5, &a, &b, &[]),
        Err(VerifyError::SameSizeRootsDiffer { size: 5, old_root: a, new_root: b })
    );
    assert!(matches!(
        verify_consistency(5, 5, &a, &a, &[a]),
        Err(VerifyError::WrongProofLength { expected: 0, got: 1 })
    ));
    assert_eq!(verify_consistency(u64::MAX, u64::MAX, &a, &a, &[]), Ok(()));
}

/// A tree hash does not commit to the tree's size: the proof of leaf 0 in a tree of 3 has the
/// shape of one in a tree of 4, so it verifies against (size 4, the root of size 3). Against
/// the true root of size 4 it fails. Callers must take size and root from one checkpoint.
#[test]
fn a_root_does_not_commit_to_its_size() {
    let (leaves, tree, roots) = reference_tree();
    let leaf = leaf_hash(&leaves[0]);
    let proof = unwrap(inclusion_proof(&tree, 0, 3));
    assert_eq!(verify_inclusion(&leaf, 0, 4, &proof, &roots[3]), Ok(()));
    assert!(matches!(verify_inclusion(&leaf, 0, 4, &proof, &roots[4]), Err(VerifyError::RootMismatch { .. })));
    let proof = unwrap(consistency_proof(&tree, 1, 3));
    assert_eq!(verify_consistency(1, 4, &roots[1], &roots[3], &proof), Ok(()));
    assert!(matches!(verify_consistency(1, 4, &roots[1], &roots[4], &proof), Err(VerifyError::NewRootMismatch { .. })));
}

#[test]
fn producers_refuse_sizes_outside_the_source() {
    let mut rng = rng("producers_refuse_sizes_outside_the_source");
    let (_, tree) = random_tree(&mut rng, 10);
    assert!(matches!(root(&tree, 11), Err(ProofError::SizeBeyondSource { size: 11, available: 10 })));
    assert!(matches!(root(&tree, u64::MAX), Err(ProofError::SizeBeyondSource { .. })));
    assert!(matches!(inclusion_proof(&tree, 0, 11), Err(ProofError::SizeBeyondSource { size: 11, available: 10 })));
    assert!(matches!(inclusion_proof(&tree, 10, 10), Err(ProofError::IndexNotBelowSize { index: 10, size: 10 })));
    assert!(matches!(inclusion_proof(&tree, u64::MAX, 10), Err(ProofError::IndexNotBelowSize { .. })));
    assert!(matches!(inclusion_proof(&tree, u64::MAX - 1, u64::MAX), Err(ProofError::SizeBeyondSource { .. })));
    assert!(matches!(consistency_proof(&tree, 5, 11), Err(ProofError::SizeBeyondSource { size: 11, available: 10 })));
    assert!(matches!(consistency_proof(&tree, 6, 5), Err(ProofError::OldSizeAboveNew { old_size: 6, new_size: 5 })));
    assert!(matches!(consistency_proof(&tree, u64::MAX, 5), Err(ProofError::OldSizeAboveNew { .. })));
    assert!(matches!(consistency_proof(&tree, 0, u64::MAX), Err(ProofError::SizeBeyondSource { .. })));
    let e = consistency_proof(&tree, 6, 5).unwrap_err();
    assert_eq!(e.to_string(), "old tree size 6 is greater than new tree size 5");
}

/// A source whose lookups fail, and which claims more leaves than a `u64` index space allows
/// for a perfect tree: the error comes back as `Source`, nothing panics.
#[test]
fn source_errors_are_passed_on() {
    struct Broken;
    impl Nodes for Broken {
        type Error = std::io::Error;
        fn size(&self) -> u64 {
            u64::MAX
        }
        fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
            Err(std::io::Error::other(format!("no row for ({level}, {index})")))
        }
    }
    let e = root(&Broken, u64::MAX).unwrap_err();
    assert!(matches!(e, ProofError::Source(_)));
    assert!(e.to_string().starts_with("reading a subtree hash failed: no row for"), "{e}");
    assert!(matches!(inclusion_proof(&Broken, u64::MAX - 1, u64::MAX), Err(ProofError::Source(_))));
    assert!(matches!(consistency_proof(&Broken, 1 << 63, u64::MAX), Err(ProofError::Source(_))));
    assert!(matches!(consistency_proof(&Broken, 0, u64::MAX), Ok(p) if p.is_empty()));
}

/// A source of `u64::MAX` identical leaves (every perfect subtree of a level has the same
/// hash): proofs at the largest sizes are produced without overflow, have the lengths the RFC
/// gives, and verify against the roots it gives.
#[test]
fn the_largest_sizes() {
    struct Same([Hash; 64]);
    impl Nodes for Same {
        type Error = std::convert::Infallible;
        fn size(&self) -> u64 {
            u64::MAX
        }
        fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
            assert!((u128::from(index) + 1) << level <= u128::from(u64::MAX), "({level}, {index})");
            Ok(self.0[usize::from(level)])
        }
    }
    let mut levels = [leaf_hash(b"same"); 64];
    for l in 1..64 {
        levels[l] = node_hash(&levels[l - 1], &levels[l - 1]);
    }
    let same = Same(levels);
    let max = u64::MAX;
    let r = unwrap(root(&same, max));
    for (index, len) in
        [(0, 64), (1, 64), (1 << 62, 64), ((1 << 63) - 1, 64), (1 << 63, 64), (max - 2, 64), (max - 1, 63)]
    {
        let proof = unwrap(inclusion_proof(&same, index, max));
        assert_eq!(proof.len(), len, "index {index}");
        assert_eq!(verify_inclusion(&levels[0], index, max, &proof, &r), Ok(()), "index {index}");
        assert!(verify_inclusion(&levels[1], index, max, &proof, &r).is_err());
    }
    for old in [1, 2, 3, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 63) + 1, max - 1, max] {
        let proof = unwrap(consistency_proof(&same, old, max));
        let old_root = unwrap(root(&same, old));
        assert_eq!(verify_consistency(old, max, &old_root, &r, &proof), Ok(()), "old size {old}");
        if !proof.is_empty() {
            assert!(verify_consistency(old, max, &r, &old_root, &proof).is_err(), "old size {old}");
        }
    }
}

/// Verifiers are fed `u64::MAX` and its neighbours, and proofs of any length: errors, never a
/// panic or an overflow.
#[test]
fn verifiers_take_extreme_values() {
    let mut rng = rng("verifiers_take_extreme_values");
    let max = u64::MAX;
    let specials = [0, 1, 2, 3, (1 << 32) - 1, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 63) + 1, max - 2, max - 1, max];
    let (a, b) = (random_hash(&mut rng), random_hash(&mut rng));
    let proofs: Vec<Vec<Hash>> = (0..=140).map(|len| (0..len).map(|_| random_hash(&mut rng)).collect()).collect();
    for &x in &specials {
        for &y in &specials {
            for proof in &proofs {
                assert!(verify_inclusion(&a, x, y, proof, &b).is_err(), "inclusion {x} {y} {}", proof.len());
                let r = verify_consistency(x, y, &a, &b, proof);
                assert!(r.is_err(), "consistency {x} {y} {}", proof.len());
            }
        }
    }
    assert_eq!(verify_inclusion(&a, max, max, &[], &a), Err(VerifyError::IndexNotBelowSize { index: max, size: max }));
    assert_eq!(
        verify_inclusion(&a, max - 1, max, &[], &a),
        Err(VerifyError::WrongProofLength { expected: 63, got: 0 })
    );
    assert_eq!(verify_inclusion(&a, 0, max, &[], &a), Err(VerifyError::WrongProofLength { expected: 64, got: 0 }));
    assert_eq!(
        verify_consistency(max, max - 1, &a, &a, &[]),
        Err(VerifyError::OldSizeAboveNew { old_size: max, new_size: max - 1 })
    );
    assert!(matches!(verify_consistency(max - 1, max, &a, &b, &[]), Err(VerifyError::WrongProofLength { got: 0, .. })));
    // Random values anywhere in the range.
    for _ in 0..20_000 {
        let size: u64 = if rng.gen() { rng.gen() } else { rng.gen_range(0..1000) };
        let index: u64 = if rng.gen() { rng.gen() } else { rng.gen_range(0..=size) };
        let proof = &proofs[rng.gen_range(0..proofs.len())];
        assert!(verify_inclusion(&a, index, size, proof, &b).is_err());
        assert!(verify_consistency(index, size, &a, &b, proof).is_err());
    }
}
