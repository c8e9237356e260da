//! The Merkle log of the hash spec (v1): an RFC 9162 §2.1 Merkle tree over all events in global
//! order, whose leaf data is each event's 32-byte `hash`.
//!
//! - leaf hash `SHA-256(0x00 || data)`, node hash `SHA-256(0x01 || left || right)`, and the root
//!   of the empty tree is `SHA-256("")`;
//! - inclusion proofs are RFC 9162 §2.1.3 `PATH(m, D[n])` and are checked with the algorithm of
//!   §2.1.3.2; consistency proofs are §2.1.4 `PROOF(m, D[n])`, checked with §2.1.4.2.
//!
//! Proofs are produced from a [`Nodes`] source: the hashes of the *perfect aligned subtrees*,
//! `node(level, index)` = the tree hash of leaves `[index << level, (index + 1) << level)`. Those
//! never change once their last leaf is appended, so one store serves proofs for every tree
//! size up to its own. A subtree on the right edge of a smaller tree that is not perfect is
//! folded from the perfect subtrees its size decomposes into (one per set bit), so a root or a
//! proof costs O(log n) lookups.
//!
//! The verifiers take untrusted input (proofs from the network, from files): any index, size or
//! proof length gives an error, never a panic. They check a proof against a *(size, root)* pair
//! and cannot tell whether that root really is the root at that size — a tree hash does not
//! commit to its size. Take the size and the root from the same signed checkpoint.

use sha2::{Digest, Sha256};

use crate::hash::{sha256_of, Hash};

/// The RFC 9162 hash of a leaf: `SHA-256(0x00 || data)`. In the log, `data` is an event's hash.
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256_of(&[&[0x00], data])
}

/// The RFC 9162 hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_of(&[&[0x01], left, right])
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A source of perfect-subtree hashes.
pub trait Nodes {
    /// Why a lookup failed (a storage error, a missing row).
    type Error: std::error::Error + Send + Sync + 'static;
    /// How many leaves the source holds.
    fn size(&self) -> u64;
    /// The hash of the perfect subtree `(level, index)`: the tree hash of leaves
    /// `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes. Only asked for
    /// subtrees inside `size()` (and inside the tree size a root or proof is asked for).
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a root or a proof could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E> {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexNotBelowSize {
        /// The leaf index asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// The tree size asked for is larger than the source.
    #[error("tree size {size} is beyond the {available} leaves the log holds")]
    SizeBeyondSource {
        /// The tree size asked for.
        size: u64,
        /// How many leaves the source holds.
        available: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is greater than new tree size {new_size}")]
    OldSizeAboveNew {
        /// The old tree size asked for.
        old_size: u64,
        /// The new tree size asked for.
        new_size: u64,
    },
    /// The source failed to give a subtree hash.
    #[error("reading a subtree hash failed: {0}")]
    Source(E),
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexNotBelowSize {
        /// The leaf index given.
        index: u64,
        /// The tree size given.
        size: u64,
    },
    /// The old tree size is greater than the new one.
    #[error("old tree size {old_size} is greater than new tree size {new_size}")]
    OldSizeAboveNew {
        /// The old tree size given.
        old_size: u64,
        /// The new tree size given.
        new_size: u64,
    },
    /// The proof does not have the number of hashes the sizes (and index) call for.
    #[error("the proof has {got} hashes; these sizes call for {expected}")]
    WrongProofLength {
        /// The length RFC 9162 fixes for the given index and sizes.
        expected: usize,
        /// The length of the proof given.
        got: usize,
    },
    /// The inclusion proof leads to another root than the one claimed.
    #[error("the inclusion proof leads to root {}, not the claimed {}", hex(.computed), hex(.claimed))]
    RootMismatch {
        /// The root the leaf hash and the proof lead to.
        computed: Hash,
        /// The root given.
        claimed: Hash,
    },
    /// The consistency proof leads to another old root than the one claimed (for an old size
    /// of 0, the old root must be the empty tree's root).
    #[error("the consistency proof leads to old root {}, not the claimed {}", hex(.computed), hex(.claimed))]
    OldRootMismatch {
        /// The old root the proof leads to.
        computed: Hash,
        /// The old root given.
        claimed: Hash,
    },
    /// The consistency proof leads to another new root than the one claimed.
    #[error("the consistency proof leads to new root {}, not the claimed {}", hex(.computed), hex(.claimed))]
    NewRootMismatch {
        /// The new root the proof leads to.
        computed: Hash,
        /// The new root given.
        claimed: Hash,
    },
    /// Two roots claimed for the same tree size differ: the log forked.
    #[error("two different roots for tree size {size}: {} and {}", hex(.old_root), hex(.new_root))]
    SameSizeRootsDiffer {
        /// The tree size of both.
        size: u64,
        /// The old root given.
        old_root: Hash,
        /// The new root given.
        new_root: Hash,
    },
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// The largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The tree hash of leaves `[start, start + len)`, `len >= 1`, where `start` is a multiple of
/// every power of two in `len` (true of every subtree the RFC recursion visits). The range splits
/// into one perfect subtree per set bit of `len`, largest leftmost; RFC 9162 splits a tree at the
/// largest power of two below its size, so its hash is the right fold of those pieces:
/// `node(p1, node(p2, … node(pk-1, pk)))`. One lookup per set bit of `len`.
fn fold_subtree<E>(start: u64, len: u64, get: &mut impl FnMut(u8, u64) -> Result<Hash, E>) -> Result<Hash, E> {
    debug_assert!(len >= 1);
    let mut acc: Option<Hash> = None;
    // From the smallest piece (rightmost) to the largest (leftmost): each is the left child of
    // what was folded so far.
    let mut end = start + len; // start + len <= the tree size, a u64.
    for level in 0..64u8 {
        if len >> level & 1 == 0 {
            continue;
        }
        end -= 1 << level;
        debug_assert_eq!(end % (1 << level), 0, "unaligned subtree at {start}+{len}");
        let piece = get(level, end >> level)?;
        acc = Some(match acc {
            None => piece,
            Some(right) => node_hash(&piece, &right),
        });
    }
    // `len` >= 1 has a set bit; an empty range would be the empty tree.
    Ok(acc.unwrap_or_else(empty_root))
}

fn subtree<N: Nodes>(nodes: &N, start: u64, len: u64) -> Result<Hash, ProofError<N::Error>> {
    fold_subtree(start, len, &mut |level, index| nodes.node(level, index)).map_err(ProofError::Source)
}

fn check_size<N: Nodes>(nodes: &N, size: u64) -> Result<(), ProofError<N::Error>> {
    let available = nodes.size();
    if size > available {
        return Err(ProofError::SizeBeyondSource { size, available });
    }
    Ok(())
}

/// The root (RFC 9162 `MTH`) of the tree of the first `size` leaves of `nodes`; the empty
/// tree's root for size 0.
pub fn root<N: Nodes>(nodes: &N, size: u64) -> Result<Hash, ProofError<N::Error>> {
    check_size(nodes, size)?;
    if size == 0 {
        return Ok(empty_root());
    }
    subtree(nodes, 0, size)
}

/// The inclusion proof (RFC 9162 §2.1.3.1 `PATH(index, D[size])`) of leaf `index` in the tree
/// of the first `size` leaves of `nodes`: sibling hashes from the leaf up to the root. Empty for
/// a tree of one leaf.
pub fn inclusion_proof<N: Nodes>(nodes: &N, index: u64, size: u64) -> Result<Vec<Hash>, ProofError<N::Error>> {
    check_size(nodes, size)?;
    if index >= size {
        return Err(ProofError::IndexNotBelowSize { index, size });
    }
    // Walk down from the root: at each subtree [start, start + len), split at the largest
    // power of two k < len; the sibling of the half holding the leaf joins the proof.
    let mut proof = Vec::new();
    let (mut start, mut len, mut m) = (0u64, size, index);
    while len > 1 {
        let k = split_point(len);
        if m < k {
            proof.push(subtree(nodes, start + k, len - k)?);
            len = k;
        } else {
            proof.push(subtree(nodes, start, k)?);
            start += k;
            len -= k;
            m -= k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof (RFC 9162 §2.1.4.1 `PROOF(old_size, D[new_size])`) between the trees
/// of the first `old_size` and `new_size` leaves of `nodes`.
///
/// Empty when `old_size == new_size`, and empty when `old_size == 0`: RFC 9162 defines proofs
/// only for `0 < m < n`; every tree extends the empty one, so there is nothing to prove, and
/// [`verify_consistency`] accepts an empty proof from size 0 when the old root is
/// [`empty_root`].
pub fn consistency_proof<N: Nodes>(nodes: &N, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError<N::Error>> {
    if old_size > new_size {
        return Err(ProofError::OldSizeAboveNew { old_size, new_size });
    }
    check_size(nodes, new_size)?;
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    // SUBPROOF(m, D[start, start + len), whole), walked down from the root; `whole` is true
    // while the old tree could still be this whole subtree (its root is then known to the
    // verifier and left out).
    let (mut start, mut len, mut m, mut whole) = (0u64, new_size, old_size, true);
    loop {
        if m == len {
            if !whole {
                proof.push(subtree(nodes, start, len)?);
            }
            break;
        }
        // 0 < m < len, so len >= 2.
        let k = split_point(len);
        if m <= k {
            proof.push(subtree(nodes, start + k, len - k)?);
            len = k;
        } else {
            proof.push(subtree(nodes, start, k)?);
            start += k;
            len -= k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Bits needed to write `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    u64::BITS - x.leading_zeros()
}

/// The length of an inclusion proof climbing from node `index` in a level whose last node is
/// `last` (`index <= last`): one hash per level below the one where the two paths meet, then
/// one per left sibling along the right edge.
fn path_len(index: u64, last: u64) -> usize {
    let inner = bit_len(index ^ last);
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// RFC 9162 §2.1.3.2 step 4 (and §2.1.4.2 step 6): climbs from node `fn_` (with hash `r`, and
/// `fr` for the old root's side when given) in a level whose last node is `sn`. Returns `None`
/// unless the proof takes `sn` exactly to 0.
fn climb(mut fn_: u64, mut sn: u64, proof: &[Hash], r: &mut Hash, mut fr: Option<&mut Hash>) -> Option<()> {
    for p in proof {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            *r = node_hash(p, r);
            if let Some(fr) = fr.as_deref_mut() {
                *fr = node_hash(p, fr);
            }
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            *r = node_hash(r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(())
}

/// Checks that `leaf_hash` (the [`leaf_hash`] of an event's hash, not the event hash itself) is
/// leaf `index` of the tree of `size` leaves whose root is `root`, by RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexNotBelowSize { index, size });
    }
    let last = size - 1; // size > index >= 0
    let expected = path_len(index, last);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength { expected, got: proof.len() });
    }
    let mut r = *leaf_hash;
    // With the length checked, the climb always ends at the root; the `None` arm is defensive.
    climb(index, last, proof, &mut r, None).ok_or(VerifyError::WrongProofLength { expected, got: proof.len() })?;
    if r != *root {
        return Err(VerifyError::RootMismatch { computed: r, claimed: *root });
    }
    Ok(())
}

/// The length of the consistency proof between sizes `0 < old_size < new_size`.
fn consistency_len(old_size: u64, new_size: u64) -> usize {
    // The old tree's last perfect subtree is node (t, fn) with t = trailing zeros of old_size;
    // the proof is that node's hash (left out when it is the whole old tree, fn == 0) and then
    // its inclusion proof at level t of the new tree.
    let t = old_size.trailing_zeros();
    let fn_ = (old_size - 1) >> t;
    let sn = (new_size - 1) >> t;
    usize::from(fn_ != 0) + path_len(fn_, sn)
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, by RFC 9162 §2.1.4.2.
///
/// Equal sizes need an empty proof and equal roots. An old size of 0 needs an empty proof and
/// `old_root` = [`empty_root`]; `new_root` is then not checked (every tree extends the empty
/// one), so it must be trusted on its own, e.g. from a signed checkpoint.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::OldSizeAboveNew { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(VerifyError::WrongProofLength { expected: 0, got: proof.len() });
        }
        if old_size == 0 {
            let empty = empty_root();
            if *old_root != empty {
                return Err(VerifyError::OldRootMismatch { computed: empty, claimed: *old_root });
            }
            if new_size == 0 && *new_root != empty {
                return Err(VerifyError::NewRootMismatch { computed: empty, claimed: *new_root });
            }
        } else if old_root != new_root {
            return Err(VerifyError::SameSizeRootsDiffer { size: old_size, old_root: *old_root, new_root: *new_root });
        }
        return Ok(());
    }
    // 0 < old_size < new_size from here.
    let expected = consistency_len(old_size, new_size);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength { expected, got: proof.len() });
    }
    // Steps 2–4: start from the old tree's last perfect subtree, whose hash is the old root
    // when old_size is a power of two (then left out of the proof) and the proof's first hash
    // otherwise.
    let t = old_size.trailing_zeros();
    let fn_ = (old_size - 1) >> t;
    let sn = (new_size - 1) >> t;
    let (start, rest) = if fn_ == 0 { (*old_root, proof) } else { (proof[0], &proof[1..]) };
    let (mut fr, mut sr) = (start, start);
    climb(fn_, sn, rest, &mut sr, Some(&mut fr)).ok_or(VerifyError::WrongProofLength { expected, got: proof.len() })?;
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch { computed: fr, claimed: *old_root });
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch { computed: sr, claimed: *new_root });
    }
    Ok(())
}

/// The right edge of a growing tree: the roots of the perfect subtrees its size splits into
/// (one per set bit of the size, largest leftmost). That is all it takes to append a leaf and to
/// compute the root of the tree as it is, so a verifier can recompute the roots of a log of any
/// length as its leaves stream by, in memory for 64 hashes. It is the [`Span`] of the leaves
/// from the first on.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    leaves: Span,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves it holds.
    pub fn size(&self) -> u64 {
        self.leaves.end()
    }

    /// Appends a leaf given its DATA (the event hash).
    ///
    /// Panics after 2^64 - 1 leaves, which no log reaches.
    pub fn push(&mut self, leaf_data: &[u8]) {
        self.leaves.push(leaf_data);
    }

    /// Appends the leaves of `span`, which must begin where this tree ends.
    pub fn append(&mut self, span: &Span) -> Result<(), NotAdjacent> {
        if span.start != self.size() {
            return Err(NotAdjacent { size: self.size(), start: span.start });
        }
        for &(level, node) in &span.peaks {
            self.leaves.push_subtree(level, node);
        }
        Ok(())
    }

    /// The root (RFC 9162 `MTH`) of the tree as it is; the empty tree's root for no leaf.
    pub fn root(&self) -> Hash {
        // RFC 9162 splits at the largest power of two below the size: the root is the right
        // fold of the peaks, which from the first leaf on are one per set bit of the size.
        let mut peaks = self.leaves.peaks.iter().rev().map(|(_, hash)| hash);
        let Some(last) = peaks.next() else { return empty_root() };
        peaks.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// The leaves of a log from some index on, hashed apart from those before them: the perfect
/// subtrees they fill, as far as they fill them without a leaf from before `start`. A
/// [`Frontier`] of the leaves before `start` takes them with [`Frontier::append`], and is then
/// the tree of both, so a long log can be hashed in parts at once, each on its own thread.
#[derive(Debug, Clone, Default)]
pub struct Span {
    start: u64,
    len: u64,
    /// The subtrees' levels and hashes, leftmost first: each is aligned (it begins at a
    /// multiple of its width), and each begins where the one before it ends.
    peaks: Vec<(u32, Hash)>,
}

impl Span {
    /// No leaf yet, the first to come being leaf `start` of the log.
    pub fn new(start: u64) -> Self {
        Self { start, len: 0, peaks: Vec::new() }
    }

    /// The index of its first leaf.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The index after its last leaf.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }

    /// Appends a leaf given its DATA (the event hash).
    ///
    /// Panics after leaf 2^64 - 2, which no log reaches.
    pub fn push(&mut self, leaf_data: &[u8]) {
        self.push_subtree(0, leaf_hash(leaf_data));
    }

    /// Appends the perfect subtree of `2^level` leaves whose hash is `node`: it must begin at
    /// a multiple of its width (the peaks of a span that begins where this one ends do).
    fn push_subtree(&mut self, mut level: u32, mut node: Hash) {
        let index = self.end();
        debug_assert!(index.trailing_zeros() >= level, "a subtree of level {level} at leaf {index}");
        let width = 1u64 << level;
        // While the node is a right child, its left sibling is the last peak if it lies in the
        // span: a peak of its level ends where the node begins only if it is that sibling.
        while (index >> level) & 1 == 1 {
            match self.peaks.last() {
                Some(&(peak, left)) if peak == level => {
                    self.peaks.pop();
                    node = node_hash(&left, &node);
                    level += 1;
                }
                _ => break,
            }
        }
        self.peaks.push((level, node));
        self.len = self
            .len
            .checked_add(width)
            .filter(|_| index.checked_add(width).is_some())
            .expect("a log of fewer than 2^64 leaves");
    }
}

/// A [`Span`] given to a tree it does not continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the leaves begin at index {start}, but the tree holds {size}")]
pub struct NotAdjacent {
    /// The tree's size.
    pub size: u64,
    /// The span's first leaf.
    pub start: u64,
}

/// The perfect-subtree hashes of a tree, in memory, appended leaf by leaf (tests, bundles, and
/// small trees).
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` = `node(l, i)`.
    levels: Vec<Vec<Hash>>,
    size: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf given its DATA (the event hash); returns the perfect subtrees it
    /// completed, as (level, index, hash), level 0 first: the new leaf's hash, then each
    /// ancestor whose right edge it is.
    pub fn push(&mut self, leaf_data: &[u8]) -> Vec<(u8, u64, Hash)> {
        let mut completed = Vec::new();
        let mut hash = leaf_hash(leaf_data);
        let mut level = 0usize;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            let index = row.len() - 1;
            completed.push((level as u8, index as u64, hash));
            if index.is_multiple_of(2) {
                break;
            }
            hash = node_hash(&row[index - 1], &hash);
            level += 1;
        }
        self.size += 1;
        completed
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        if self.size == 0 {
            return empty_root();
        }
        let mut lookup =
            |level: u8, index: u64| Ok::<_, std::convert::Infallible>(self.levels[level as usize][index as usize]);
        match fold_subtree(0, self.size, &mut lookup) {
            Ok(root) => root,
            Err(never) => match never {},
        }
    }
}

impl Nodes for MemoryTree {
    type Error = std::convert::Infallible;

    fn size(&self) -> u64 {
        self.size
    }

    /// Panics when asked for a subtree outside the tree, which the trait rules out.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let row = self.levels.get(usize::from(level));
        Ok(*row
            .and_then(|row| row.get(usize::try_from(index).ok()?))
            .unwrap_or_else(|| panic!("MemoryTree of {} leaves has no perfect subtree ({level}, {index})", self.size)))
    }
}
