//! A whole log against its signed checkpoints: what `chibo verify` checks of a data directory
//! beyond the chains.
//!
//! With every event at hand there is no need for proofs: the Merkle tree is recomputed over all
//! events in global order (leaf data = the hash of each stored envelope) and its root compared
//! with every checkpoint recorded in `$checkpoints`, at the checkpoint's size. Each recorded
//! checkpoint must verify with the log's key, be no larger than the log, have the log's root at
//! its size, and be no smaller than the one recorded before it. Against the checkpoint an
//! inspector accepted before (their state file), the log must not be shorter and its latest
//! checkpoint not smaller (a **rollback**), and the log's root at the accepted size must be the
//! accepted root (else a **fork**: the history was rewritten).
//!
//! The walk is in two phases, so that a log of any length takes memory only for its
//! checkpoints: first every event of `$checkpoints` ([`LogAudit::checkpoint`]), which fixes
//! the sizes whose roots are needed; then every event of the log in global order
//! ([`LeafWalk::push`]), the roots taken at those sizes as a [`Frontier`] passes them. A long
//! log's leaves can be walked in parts at once: each part after the first takes its leaves as
//! a [`LeafPart`] ([`LeafWalk::part`]), and the walk takes the parts in order
//! ([`LeafWalk::join`]), with the same roots as if it had taken every leaf itself.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::envelope::Envelope;
use crate::hash::Hash;
use crate::merkle::{Frontier, NotAdjacent, Span};
use crate::note::NoteVerifier;
use crate::verify::RawEvent;

/// The event type the server records its checkpoints as.
const CHECKPOINT_SIGNED: &str = "CheckpointSigned";

/// The signed note an event of `$checkpoints` carries, or why it carries none: its envelope
/// must decode and name a `CheckpointSigned` event, and its payload must decode as one. Whether
/// the note verifies is [`LogAudit::checkpoint`]'s to check.
pub fn checkpoint_note(event: &RawEvent<'_>) -> Result<String, String> {
    let envelope = Envelope::decode(event.envelope).map_err(|e| format!("its envelope does not decode: {e}"))?;
    if envelope.event_type != CHECKPOINT_SIGNED {
        return Err(format!("it is a {} event, not a {CHECKPOINT_SIGNED}", envelope.event_type));
    }
    let signed: chibo_proto::v1::CheckpointSigned = prost::Message::decode(event.payload)
        .map_err(|e| format!("its payload does not decode as a {CHECKPOINT_SIGNED}: {e}"))?;
    Ok(signed.note)
}

/// A checkpoint recorded in `$checkpoints` that verified with the key.
#[derive(Debug, Clone, Copy)]
struct Recorded {
    revision: u64,
    position: u64,
    size: u64,
    root: Hash,
}

/// The latest checkpoint recorded in `$checkpoints` that verified with the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestCheckpoint {
    /// Its revision in `$checkpoints`.
    pub revision: u64,
    /// Its event's global position.
    pub position: u64,
    /// What it says.
    pub checkpoint: Checkpoint,
    /// The signed note, exactly as recorded: what an inspector keeps as accepted.
    pub note: String,
}

/// Where a checkpoint recorded in `$checkpoints` does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointProblem {
    /// Its revision in `$checkpoints`.
    pub revision: u64,
    /// Its event's global position.
    pub position: u64,
    /// What is wrong.
    pub kind: CheckpointProblemKind,
}

/// What is wrong with a recorded checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointProblemKind {
    /// The event carries no signed note ([`checkpoint_note`] says why).
    Unreadable(String),
    /// The note is not a checkpoint signed by the key.
    NotVerified(CheckpointError),
    /// It signs a larger tree than the log holds: events were removed.
    BeyondLog {
        /// The checkpoint's tree size.
        size: u64,
        /// How many events the log holds.
        log_size: u64,
    },
    /// The log's root at its size is not the root it signs: the log is not the tree signed.
    RootMismatch {
        /// The checkpoint's tree size.
        size: u64,
        /// The root the checkpoint signs.
        signed: Hash,
        /// The root of the log's first `size` events.
        log: Hash,
    },
    /// It is smaller than a checkpoint recorded before it: the server never signs that.
    SizeWentBack {
        /// The checkpoint's tree size.
        size: u64,
        /// The larger size recorded before it.
        previous: u64,
        /// The revision in `$checkpoints` of that earlier checkpoint.
        previous_revision: u64,
    },
}

impl CheckpointProblemKind {
    /// A short name for reports: `unreadable`, `not-verified`, `beyond-log`, `root-mismatch`
    /// or `size-went-back`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "unreadable",
            Self::NotVerified(_) => "not-verified",
            Self::BeyondLog { .. } => "beyond-log",
            Self::RootMismatch { .. } => "root-mismatch",
            Self::SizeWentBack { .. } => "size-went-back",
        }
    }

    /// The tree size the problem is about, when the checkpoint could be read.
    pub fn size(&self) -> Option<u64> {
        match self {
            Self::Unreadable(_) | Self::NotVerified(_) => None,
            Self::BeyondLog { size, .. } | Self::RootMismatch { size, .. } | Self::SizeWentBack { size, .. } => {
                Some(*size)
            }
        }
    }
}

fn b64(hash: &Hash) -> String {
    BASE64.encode(hash)
}

impl fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { revision, position, kind } = self;
        write!(f, "$checkpoints revision {revision} (position {position}): ")?;
        match kind {
            CheckpointProblemKind::Unreadable(why) => write!(f, "no signed checkpoint: {why}"),
            CheckpointProblemKind::NotVerified(e) => write!(f, "the checkpoint does not verify with the key: {e}"),
            CheckpointProblemKind::BeyondLog { size, log_size } => write!(
                f,
                "the checkpoint signs a tree of {size} events, but the log holds {log_size}: events were removed"
            ),
            CheckpointProblemKind::RootMismatch { size, signed, log } => write!(
                f,
                "the log's root at size {size} is {}, not the signed {}: the log's first {size} events are not \
                 the ones signed",
                b64(log),
                b64(signed)
            ),
            CheckpointProblemKind::SizeWentBack { size, previous, previous_revision } => write!(
                f,
                "the checkpoint signs {size} events, fewer than the {previous} of revision {previous_revision} \
                 before it: checkpoints only grow"
            ),
        }
    }
}

/// Where the log does not follow the checkpoint an inspector accepted before.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateProblem {
    /// Rollback: the log holds fewer events than the accepted checkpoint.
    LogShorter {
        /// How many events the log holds.
        log_size: u64,
        /// The accepted checkpoint's size.
        accepted_size: u64,
    },
    /// Rollback: the latest checkpoint in `$checkpoints` is smaller than the accepted one, or
    /// there is none.
    LatestSmaller {
        /// The latest checkpoint that verified, as (revision, position, size), if any.
        latest: Option<(u64, u64, u64)>,
        /// The accepted checkpoint's size.
        accepted_size: u64,
    },
    /// Fork: the log's root at the accepted size is not the accepted root.
    Fork {
        /// The accepted size.
        size: u64,
        /// The accepted root.
        accepted_root: Hash,
        /// The root of the log's first `size` events.
        log_root: Hash,
    },
    /// Fork: a checkpoint recorded in `$checkpoints`, signed by the key, has the accepted size
    /// and another root: the key signed two trees of that size.
    ConflictingCheckpoint {
        /// Its revision in `$checkpoints`.
        revision: u64,
        /// Its event's global position.
        position: u64,
        /// The size of both.
        size: u64,
        /// The accepted root.
        accepted_root: Hash,
        /// The recorded checkpoint's root.
        root: Hash,
    },
}

impl StateProblem {
    /// `rollback` or `fork`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LogShorter { .. } | Self::LatestSmaller { .. } => "rollback",
            Self::Fork { .. } | Self::ConflictingCheckpoint { .. } => "fork",
        }
    }
}

impl fmt::Display for StateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LogShorter { log_size, accepted_size } => write!(
                f,
                "rollback: the log holds {log_size} events, fewer than the {accepted_size} of the checkpoint \
                 accepted before: positions {log_size} to {} are gone",
                accepted_size - 1
            ),
            Self::LatestSmaller { latest: Some((revision, position, size)), accepted_size } => write!(
                f,
                "rollback: the latest checkpoint in $checkpoints (revision {revision}, position {position}) signs \
                 {size} events, fewer than the {accepted_size} of the checkpoint accepted before"
            ),
            Self::LatestSmaller { latest: None, accepted_size } => write!(
                f,
                "rollback: $checkpoints holds no checkpoint that verifies, but one of {accepted_size} events was \
                 accepted before"
            ),
            Self::Fork { size, accepted_root, log_root } => write!(
                f,
                "fork: the log's root at size {size} is {}, not the root {} of the checkpoint accepted before: \
                 the history of its first {size} events was rewritten",
                b64(log_root),
                b64(accepted_root)
            ),
            Self::ConflictingCheckpoint { revision, position, size, accepted_root, root } => write!(
                f,
                "fork: $checkpoints revision {revision} (position {position}) signs {size} events with root {}, \
                 but the checkpoint accepted before signs that size with root {}",
                b64(root),
                b64(accepted_root)
            ),
        }
    }
}

/// How the log stands against the checkpoint an inspector accepted before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCheck {
    /// The accepted checkpoint.
    pub accepted: Checkpoint,
    /// Every rollback and fork found; none when the log extends the accepted tree.
    pub problems: Vec<StateProblem>,
}

/// The outcome of a [`LogAudit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogAuditReport {
    /// How many events the log holds (leaves walked).
    pub size: u64,
    /// The root of the whole log.
    pub root: Hash,
    /// Events in `$checkpoints`.
    pub recorded: u64,
    /// Of those, how many verify with the key and have the log's root at their size.
    pub verified: u64,
    /// The latest recorded checkpoint that verifies with the key.
    pub latest: Option<LatestCheckpoint>,
    /// Every recorded checkpoint that does not hold, in `$checkpoints` order.
    pub problems: Vec<CheckpointProblem>,
    /// Against the accepted checkpoint, if one was given.
    pub state: Option<StateCheck>,
}

impl LogAuditReport {
    /// True when every recorded checkpoint holds and nothing contradicts the accepted one.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.state.as_ref().is_none_or(|s| s.problems.is_empty())
    }

    /// Whether the latest checkpoint is newer than the accepted one (or there was none), so
    /// that an inspector whose audit found nothing wrong would accept it now.
    pub fn latest_is_newer(&self) -> bool {
        match (&self.latest, &self.state) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(latest), Some(state)) => latest.checkpoint.size > state.accepted.size,
        }
    }
}

/// The first phase: the checkpoints recorded in `$checkpoints`. See the module documentation.
#[derive(Debug)]
pub struct LogAudit {
    key: Option<NoteVerifier>,
    accepted: Option<Checkpoint>,
    recorded: u64,
    opened: Vec<Recorded>,
    latest_note: Option<(String, Checkpoint)>,
    problems: Vec<CheckpointProblem>,
}

impl LogAudit {
    /// An audit of a log whose checkpoints `key` signs (`None`: no key at hand, so the recorded
    /// checkpoints are counted, not checked), against `accepted`, the checkpoint an inspector
    /// accepted before (already verified with the same key), if any.
    pub fn new(key: Option<NoteVerifier>, accepted: Option<Checkpoint>) -> Self {
        Self { key, accepted, recorded: 0, opened: Vec::new(), latest_note: None, problems: Vec::new() }
    }

    /// The next event of `$checkpoints`, in revision order: where it is, and its note or why it
    /// has none (see [`checkpoint_note`]).
    pub fn checkpoint(&mut self, revision: u64, position: u64, note: Result<String, String>) {
        self.recorded += 1;
        let Some(key) = &self.key else { return };
        let problem = |kind| CheckpointProblem { revision, position, kind };
        let note = match note {
            Ok(note) => note,
            Err(why) => return self.problems.push(problem(CheckpointProblemKind::Unreadable(why))),
        };
        match checkpoint::open(&note, key) {
            Ok(opened) => {
                self.opened.push(Recorded { revision, position, size: opened.size, root: opened.root });
                self.latest_note = Some((note, opened));
            }
            Err(e) => self.problems.push(problem(CheckpointProblemKind::NotVerified(e))),
        }
    }

    /// The second phase: the log's leaves.
    pub fn leaves(self) -> LeafWalk {
        let mut wanted: Vec<u64> =
            self.opened.iter().map(|r| r.size).chain(self.accepted.iter().map(|a| a.size)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        LeafWalk { audit: self, frontier: Frontier::new(), wanted, roots: Vec::new() }
    }
}

/// The second phase: every event of the log in global order. See the module documentation.
#[derive(Debug)]
pub struct LeafWalk {
    audit: LogAudit,
    frontier: Frontier,
    /// The sizes whose roots are needed, ascending.
    wanted: Vec<u64>,
    /// The roots of the first `roots.len()` wanted sizes.
    roots: Vec<Hash>,
}

/// The leaves of a log from some index on, walked apart: see [`LeafWalk::part`].
#[derive(Debug)]
pub struct LeafPart {
    span: Span,
    /// The sizes past the part's start whose roots are needed, ascending.
    wanted: Vec<u64>,
    /// The span as it was at each wanted size it passed, in order.
    taken: Vec<Span>,
}

impl LeafPart {
    /// The next leaf, as [`LeafWalk::push`].
    pub fn push(&mut self, leaf_data: &Hash) {
        self.span.push(leaf_data);
        if self.wanted.get(self.taken.len()) == Some(&self.span.end()) {
            self.taken.push(self.span.clone());
        }
    }
}

impl LeafWalk {
    /// The next leaf: the hash of the next event's stored envelope, in global order.
    pub fn push(&mut self, leaf_data: &Hash) {
        self.take_roots();
        self.frontier.push(leaf_data);
    }

    fn take_roots(&mut self) {
        while self.wanted.get(self.roots.len()) == Some(&self.frontier.size()) {
            self.roots.push(self.frontier.root());
        }
    }

    /// A walk of the leaves from index `start` on, apart from this one, for [`LeafWalk::join`]
    /// once this walk has taken every leaf before `start`.
    pub fn part(&self, start: u64) -> LeafPart {
        let wanted = self.wanted.iter().copied().filter(|&size| size > start).collect();
        LeafPart { span: Span::new(start), wanted, taken: Vec::new() }
    }

    /// Takes the leaves `part` walked, which must come right after this walk's: refused, with
    /// nothing taken, when this walk does not hold exactly the leaves before the part's first.
    pub fn join(&mut self, part: LeafPart) -> Result<(), NotAdjacent> {
        let mut joined = self.frontier.clone();
        joined.append(&part.span)?;
        self.take_roots();
        // The part took the sizes wanted past its start, in order: the next ones here.
        for taken in &part.taken {
            let mut tree = self.frontier.clone();
            tree.append(taken)?;
            debug_assert_eq!(self.wanted.get(self.roots.len()), Some(&tree.size()));
            self.roots.push(tree.root());
        }
        self.frontier = joined;
        Ok(())
    }

    /// The log's root at `size`, if it holds that many events.
    fn root_at(&self, size: u64) -> Option<Hash> {
        self.wanted.binary_search(&size).ok().and_then(|i| self.roots.get(i)).copied()
    }

    /// Ends the walk: every check of the module documentation.
    pub fn finish(mut self) -> LogAuditReport {
        self.take_roots();
        let log_size = self.frontier.size();
        let mut problems = std::mem::take(&mut self.audit.problems);
        let mut verified = 0;
        let mut largest: Option<Recorded> = None;
        for recorded in &self.audit.opened {
            let problem = |kind| CheckpointProblem { revision: recorded.revision, position: recorded.position, kind };
            let Recorded { size, root, .. } = *recorded;
            match self.root_at(size) {
                None => problems.push(problem(CheckpointProblemKind::BeyondLog { size, log_size })),
                Some(log) if log != root => {
                    problems.push(problem(CheckpointProblemKind::RootMismatch { size, signed: root, log }))
                }
                Some(_) => verified += 1,
            }
            match largest {
                Some(previous) if size < previous.size => problems.push(problem(CheckpointProblemKind::SizeWentBack {
                    size,
                    previous: previous.size,
                    previous_revision: previous.revision,
                })),
                _ => largest = Some(*recorded),
            }
        }
        // Problems in $checkpoints order, whichever check found them.
        problems.sort_by_key(|p| p.revision);
        let latest = self.audit.opened.last().zip(self.audit.latest_note.take()).map(|(r, (note, checkpoint))| {
            LatestCheckpoint { revision: r.revision, position: r.position, checkpoint, note }
        });
        let state = self.audit.accepted.take().map(|accepted| self.against(accepted, log_size, latest.as_ref()));
        LogAuditReport {
            size: log_size,
            root: self.frontier.root(),
            recorded: self.audit.recorded,
            verified,
            latest,
            problems,
            state,
        }
    }

    fn against(&self, accepted: Checkpoint, log_size: u64, latest: Option<&LatestCheckpoint>) -> StateCheck {
        let mut problems = Vec::new();
        let accepted_size = accepted.size;
        match self.root_at(accepted_size) {
            None => problems.push(StateProblem::LogShorter { log_size, accepted_size }),
            Some(log_root) if log_root != accepted.root => {
                problems.push(StateProblem::Fork { size: accepted_size, accepted_root: accepted.root, log_root })
            }
            Some(_) => {}
        }
        match latest {
            Some(latest) if latest.checkpoint.size < accepted_size => problems.push(StateProblem::LatestSmaller {
                latest: Some((latest.revision, latest.position, latest.checkpoint.size)),
                accepted_size,
            }),
            None => problems.push(StateProblem::LatestSmaller { latest: None, accepted_size }),
            Some(_) => {}
        }
        // Any checkpoint the key signed at the accepted size with another root.
        let conflicting = self.audit.opened.iter().find(|r| r.size == accepted_size && r.root != accepted.root);
        if let Some(r) = conflicting {
            problems.push(StateProblem::ConflictingCheckpoint {
                revision: r.revision,
                position: r.position,
                size: r.size,
                accepted_root: accepted.root,
                root: r.root,
            });
        }
        StateCheck { accepted, problems }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;

    const ORIGIN: &str = "chibo.test.example/log";

    /// A log of `n` leaves and, for each size in `signed_at`, a checkpoint recorded right after
    /// the leaves it covers (revision i, position = its size + i).
    struct Log {
        leaves: Vec<Hash>,
        signer: NoteSigner,
        notes: Vec<(u64, u64, Result<String, String>)>,
    }

    fn leaf(i: u64) -> Hash {
        crate::hash::event_hash(&i.to_be_bytes())
    }

    fn root_of(leaves: &[Hash]) -> Hash {
        let mut frontier = Frontier::new();
        leaves.iter().for_each(|l| frontier.push(l));
        frontier.root()
    }

    impl Log {
        fn new(n: u64, signed_at: &[u64]) -> Log {
            let signer = NoteSigner::generate(ORIGIN).unwrap();
            let leaves: Vec<Hash> = (0..n).map(leaf).collect();
            let mut log = Log { leaves, signer, notes: Vec::new() };
            for &size in signed_at {
                let note = log.sign(size, root_of(&log.leaves[..size as usize]));
                let revision = log.notes.len() as u64;
                log.notes.push((revision, size + revision, Ok(note)));
            }
            log
        }

        fn sign(&self, size: u64, root: Hash) -> String {
            checkpoint::sign(&self.signer, &Checkpoint::new(ORIGIN, size, root)).unwrap()
        }

        fn accepted(&self, size: u64) -> Checkpoint {
            Checkpoint::new(ORIGIN, size, root_of(&self.leaves[..size as usize]))
        }

        fn audit(&self, accepted: Option<Checkpoint>) -> LogAuditReport {
            self.audit_with(Some(self.signer.verifier()), accepted)
        }

        fn audit_with(&self, key: Option<NoteVerifier>, accepted: Option<Checkpoint>) -> LogAuditReport {
            let mut audit = LogAudit::new(key, accepted);
            for (revision, position, note) in &self.notes {
                audit.checkpoint(*revision, *position, note.clone());
            }
            let mut walk = audit.leaves();
            self.leaves.iter().for_each(|l| walk.push(l));
            walk.finish()
        }
    }

    /// The audit with the leaves walked in parts, cut at `cuts` (ascending); `None` if a part
    /// is refused.
    fn audit_in_parts(log: &Log, accepted: Option<Checkpoint>, cuts: &[usize]) -> Option<LogAuditReport> {
        let mut audit = LogAudit::new(Some(log.signer.verifier()), accepted);
        for (revision, position, note) in &log.notes {
            audit.checkpoint(*revision, *position, note.clone());
        }
        let mut walk = audit.leaves();
        let mut parts = Vec::new();
        let ends = cuts.iter().skip(1).copied().chain([log.leaves.len()]);
        for (&start, end) in cuts.iter().zip(ends) {
            let mut part = walk.part(start as u64);
            log.leaves[start..end].iter().for_each(|l| part.push(l));
            parts.push(part);
        }
        let first = cuts.first().copied().unwrap_or(log.leaves.len());
        log.leaves[..first].iter().for_each(|l| walk.push(l));
        for part in parts {
            walk.join(part).ok()?;
        }
        Some(walk.finish())
    }

    #[test]
    fn leaves_walked_in_parts_give_the_report_of_one_walk() {
        let mut log = Log::new(24, &[0, 3, 8, 8, 16, 23, 24]);
        log.notes.push((7, 40, Ok(log.sign(30, leaf(1)))));
        for (accepted, altered) in [(None, None), (Some(log.accepted(8)), None), (Some(log.accepted(16)), Some(11))] {
            let alter = |log: &mut Log| altered.into_iter().for_each(|at: usize| log.leaves[at][0] ^= 1);
            alter(&mut log);
            let whole = log.audit(accepted.clone());
            assert!(!whole.is_intact(), "the checkpoint of size 30 is beyond the log");
            for a in 0..=24 {
                for b in a..=24 {
                    let report = audit_in_parts(&log, accepted.clone(), &[a, b]).expect("adjacent parts");
                    assert_eq!(report, whole, "parts from {a} and {b}");
                }
            }
            alter(&mut log);
        }
        // A part that does not begin where the walk before it ends is refused.
        let mut walk = LogAudit::new(None, None).leaves();
        let part = walk.part(3);
        walk.push(&leaf(0));
        assert_eq!(walk.join(part).unwrap_err(), NotAdjacent { size: 1, start: 3 });
    }

    fn kinds(report: &LogAuditReport) -> Vec<(u64, CheckpointProblemKind)> {
        report.problems.iter().map(|p| (p.revision, p.kind.clone())).collect()
    }

    #[test]
    fn a_log_whose_checkpoints_hold_verifies() {
        for n in [0, 1, 2, 7, 64, 100] {
            let sizes: Vec<u64> = [1, 2, 5, 32, 33, 64, 99].into_iter().filter(|&s| s <= n).collect();
            let log = Log::new(n, &sizes);
            let report = log.audit(None);
            assert!(report.is_intact(), "{n}: {:?}", report.problems);
            assert_eq!((report.size, report.root), (n, root_of(&log.leaves)));
            assert_eq!((report.recorded, report.verified), (sizes.len() as u64, sizes.len() as u64));
            let latest = report.latest.as_ref().map(|l| (l.revision, l.checkpoint.size, l.note.clone()));
            let expected = log.notes.last().map(|(r, _, note)| (*r, *sizes.last().unwrap(), note.clone().unwrap()));
            assert_eq!(latest, expected);
            assert_eq!(report.latest_is_newer(), !sizes.is_empty());
        }
    }

    #[test]
    fn a_checkpoint_at_the_whole_log_and_at_zero_are_checked() {
        let log = Log::new(10, &[0, 10]);
        let report = log.audit(None);
        assert!(report.is_intact(), "{:?}", report.problems);
        assert_eq!(report.verified, 2);
    }

    #[test]
    fn an_altered_leaf_is_a_root_mismatch_at_every_checkpoint_covering_it() {
        let mut log = Log::new(40, &[10, 20, 30, 40]);
        log.leaves[15][0] ^= 1;
        let report = log.audit(None);
        let mismatched: Vec<_> = report
            .problems
            .iter()
            .map(|p| match p.kind {
                CheckpointProblemKind::RootMismatch { size, .. } => (p.revision, p.position, size),
                ref other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(mismatched, [(1, 21, 20), (2, 32, 30), (3, 43, 40)]);
        assert_eq!(report.verified, 1);
        let text = report.problems[0].to_string();
        assert!(text.starts_with("$checkpoints revision 1 (position 21): the log's root at size 20 is "), "{text}");
    }

    #[test]
    fn a_truncated_log_leaves_checkpoints_beyond_it() {
        let mut log = Log::new(40, &[10, 30]);
        log.leaves.truncate(25);
        let report = log.audit(None);
        assert_eq!(kinds(&report), [(1, CheckpointProblemKind::BeyondLog { size: 30, log_size: 25 })]);
        assert!(report.problems[0].to_string().contains("signs a tree of 30 events, but the log holds 25"));
    }

    #[test]
    fn notes_that_do_not_verify_or_cannot_be_read_are_named() {
        let mut log = Log::new(20, &[5, 10, 15]);
        let other = NoteSigner::generate(ORIGIN).unwrap();
        let forged = checkpoint::sign(&other, &Checkpoint::new(ORIGIN, 10, root_of(&log.leaves[..10]))).unwrap();
        log.notes[1].2 = Ok(forged);
        log.notes[2].2 = Err("it is a MeetingHeld event, not a CheckpointSigned".into());
        let report = log.audit(None);
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        assert!(matches!(report.problems[0].kind, CheckpointProblemKind::NotVerified(_)));
        assert_eq!((report.problems[0].revision, report.problems[0].position), (1, 11));
        assert!(matches!(report.problems[1].kind, CheckpointProblemKind::Unreadable(_)));
        assert!(report.problems[1].to_string().contains("MeetingHeld"), "{}", report.problems[1]);
        // The latest is the last that verified.
        assert_eq!(report.latest.as_ref().map(|l| l.revision), Some(0));
        assert_eq!(report.verified, 1);
    }

    #[test]
    fn a_checkpoint_smaller_than_one_before_it_is_named() {
        let log = Log::new(30, &[10, 20, 15, 25]);
        let report = log.audit(None);
        assert_eq!(
            kinds(&report),
            [(2, CheckpointProblemKind::SizeWentBack { size: 15, previous: 20, previous_revision: 1 })]
        );
        // Its root is still checked, and the next one is compared with the largest before it.
        assert_eq!(report.verified, 4);
    }

    #[test]
    fn without_a_key_checkpoints_are_counted_not_checked() {
        let mut log = Log::new(20, &[5, 10]);
        log.notes[1].2 = Err("garbage".into());
        let report = log.audit_with(None, None);
        assert_eq!((report.recorded, report.verified, report.latest.is_none()), (2, 0, true));
        assert!(report.is_intact());
        assert!(!report.latest_is_newer());
    }

    #[test]
    fn the_accepted_checkpoint_is_extended_matched_or_contradicted() {
        let log = Log::new(40, &[10, 20, 30]);
        // Extended, or the same.
        for (size, newer) in [(10, true), (20, true), (30, false), (15, true)] {
            let report = log.audit(Some(log.accepted(size)));
            assert!(report.is_intact(), "{size}: {:?}", report.state);
            assert_eq!(report.latest_is_newer(), newer, "{size}");
        }
        // Rollback: the latest checkpoint is smaller; the log too.
        let report = log.audit(Some(log.accepted(35)));
        let state = report.state.clone().unwrap();
        assert_eq!(
            state.problems,
            [StateProblem::LatestSmaller { latest: Some((2, 32, 30)), accepted_size: 35 }],
            "the log holds 40 events: only the checkpoint is behind"
        );
        let report = log.audit(Some(Checkpoint::new(ORIGIN, 45, [0; 32])));
        let state = report.state.unwrap();
        assert_eq!(state.problems[0], StateProblem::LogShorter { log_size: 40, accepted_size: 45 });
        assert_eq!(state.problems[1].kind(), "rollback");
        assert!(state.problems[0].to_string().contains("positions 40 to 44 are gone"), "{}", state.problems[0]);
        // Fork: another root at an accepted size inside the log.
        let mut forked = log.accepted(25);
        forked.root[3] ^= 1;
        let state = log.audit(Some(forked.clone())).state.unwrap();
        assert_eq!(
            state.problems,
            [StateProblem::Fork { size: 25, accepted_root: forked.root, log_root: root_of(&log.leaves[..25]) }]
        );
        assert_eq!(state.problems[0].kind(), "fork");
        // Fork at the size of a recorded checkpoint: the log and the checkpoint both contradict it.
        let mut forked = log.accepted(20);
        forked.root[0] ^= 1;
        let state = log.audit(Some(forked)).state.unwrap();
        assert!(
            matches!(
                state.problems[..],
                [StateProblem::Fork { .. }, StateProblem::ConflictingCheckpoint { revision: 1, position: 21, .. }]
            ),
            "{:?}",
            state.problems
        );
    }

    #[test]
    fn a_bogus_checkpoint_of_no_events_is_reported_not_a_panic() {
        let mut log = Log::new(3, &[]);
        log.notes.push((0, 3, Ok(log.sign(0, [1; 32]))));
        let report = log.audit(Some(Checkpoint::new(ORIGIN, 0, [2; 32])));
        assert!(matches!(report.problems[0].kind, CheckpointProblemKind::RootMismatch { size: 0, .. }));
        let state = report.state.clone().unwrap();
        assert!(matches!(state.problems[0], StateProblem::Fork { size: 0, .. }), "{:?}", state.problems);
        let texts: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        let states: Vec<String> = state.problems.iter().map(ToString::to_string).collect();
        assert!(texts[0].contains("first 0 events") && states[0].contains("first 0 events"), "{texts:?} {states:?}");
    }

    #[test]
    fn an_accepted_checkpoint_with_no_checkpoint_recorded_is_a_rollback() {
        let log = Log::new(12, &[]);
        let state = log.audit(Some(log.accepted(12))).state.unwrap();
        assert_eq!(state.problems, [StateProblem::LatestSmaller { latest: None, accepted_size: 12 }]);
    }

    #[test]
    fn checkpoint_notes_are_read_from_checkpoint_events_only() {
        use crate::envelope::{seal, EnvelopeFields};
        use chibo_domain::{EventId, Timestamp};
        let payload = prost::Message::encode_to_vec(&chibo_proto::v1::CheckpointSigned { note: "the note".into() });
        let sealed = |event_type| {
            seal(EnvelopeFields {
                event_id: &EventId::from_bytes([7; 16]),
                stream: "$checkpoints",
                revision: 0,
                event_type,
                schema_version: 1,
                occurred_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
                recorded_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
                actor: "chibo-server",
                payload_digest: &[0; 32],
                prev_hash: &[0; 32],
            })
        };
        let event = |envelope: &'static [u8], payload: &'static [u8]| RawEvent {
            position: 0,
            stream: "$checkpoints",
            revision: 0,
            envelope,
            payload,
            salt: &[0; 16],
            hash: &[0; 32],
        };
        let good = sealed("CheckpointSigned").envelope.leak();
        let payload: &'static [u8] = payload.leak();
        assert_eq!(checkpoint_note(&event(good, payload)), Ok("the note".into()));
        let other = sealed("MeetingHeld").envelope.leak();
        assert!(checkpoint_note(&event(other, payload)).unwrap_err().contains("a MeetingHeld event"));
        assert!(checkpoint_note(&event(b"\xff\xff", payload)).unwrap_err().contains("envelope does not decode"));
        assert!(checkpoint_note(&event(good, b"\xff\xff\xff")).unwrap_err().contains("payload does not decode"));
    }
}
