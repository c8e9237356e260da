//! Verifying an audit bundle with no server, step by step as docs/AUDIT.md ("Verifying a
//! bundle") fixes it:
//!
//! 1. the document parses and its `format` is `chibo-bundle-v1`;
//! 2. the checkpoint note verifies with the inspector's key;
//! 3. the manifest note verifies with the same key and names the checkpoint's origin, size and
//!    root;
//! 4. the bundle holds exactly the manifest's streams, in its order, each exactly the revisions
//!    `first..=last`, the last with the manifest's hash;
//! 5. every event: hash, envelope, stream and revision, `prev_hash`, payload digest (or a
//!    redacted payload), rising positions below the tree size, inclusion proof;
//! 6. against the checkpoint the inspector accepted last, if any: no rollback, no fork, and a
//!    consistency proof for growth ([`checkpoint::accept`]).
//!
//! Everything in the document is untrusted: any value gives a [`Problem`] naming where it is and
//! what did not match, never a panic. Like the data-directory verifier, a stream is checked up to
//! its first problem and the other streams are still checked; only a checkpoint that does not
//! verify stops the walk, since no proof can be checked without its root.

use std::collections::{HashMap, HashSet};
use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chibo_domain::{Date, Timestamp};

use super::{Bundle, BundleEvent, BundleStream, Manifest, StreamRange, Subject, FORMAT};
use crate::checkpoint::{self, AcceptError, Accepted, Checkpoint, CheckpointError};
use crate::envelope::{Envelope, EnvelopeError};
use crate::hash::{event_hash, genesis, payload_digest, Hash, Salt};
use crate::merkle::{self, VerifyError};
use crate::note::{self, NoteError, NoteVerifier};

/// The manifest line of its first stream: after the header, origin, checkpoint and subject.
const FIRST_STREAM_LINE: usize = 5;
/// The manifest lines naming the origin, the checkpoint and the subject.
const ORIGIN_LINE: usize = 2;
const CHECKPOINT_LINE: usize = 3;
const SUBJECT_LINE: usize = 4;

/// What verifying a bundle found: what it is about, what it holds, and every problem.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// What the bundle is about, once the manifest's signature verified.
    pub subject: Option<Subject>,
    /// The checkpoint, once its signature verified.
    pub checkpoint: Option<SignedCheckpoint>,
    /// The bundle's streams, in its order (a stream listed twice is here twice).
    pub streams: Vec<StreamReport>,
    /// How the checkpoint relates to the accepted one given, when it may follow it.
    pub accepted: Option<Accepted>,
    /// Everything that did not verify, in the order of the steps.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when every step verified.
    pub fn is_verified(&self) -> bool {
        self.problems.is_empty() && self.checkpoint.is_some()
    }
}

/// A checkpoint note that verified, and what it states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The note exactly as in the bundle: what an inspector's state file keeps.
    pub note: String,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
}

/// What one stream of the bundle holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamReport {
    /// The stream's name, as the bundle gives it.
    pub stream: String,
    /// The revision of its first event whose envelope could be read.
    pub first: Option<u64>,
    /// The revision of its last event whose envelope could be read.
    pub last: Option<u64>,
    /// How many events the bundle holds for it.
    pub events: u64,
    /// How many of them occurred (`occurred_at`, by its UTC date) within the subject's period;
    /// 0 when the manifest did not verify.
    pub in_period: u64,
    /// How many of them have their payload redacted (`null`).
    pub redacted: u64,
    /// Every event whose envelope could be read, in the bundle's order. Whether it verified is
    /// for [`Report::problems`] to say.
    pub read: Vec<ReadEvent>,
}

/// An event of a bundle whose envelope could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadEvent {
    /// Its global position, as the bundle gives it.
    pub position: u64,
    /// Its decoded envelope.
    pub envelope: Envelope,
    /// Its payload bytes; `None` when redacted.
    pub payload: Option<Vec<u8>>,
}

/// Something in a bundle that did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub location: Location,
    /// What did not match.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.kind)
    }
}

/// Where in a bundle a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The JSON document as a whole.
    Document,
    /// The checkpoint note.
    Checkpoint,
    /// The manifest note: a line of its text, or the note as a whole (its signature).
    Manifest {
        /// 1-based line of the manifest's text.
        line: Option<usize>,
    },
    /// A stream as a whole.
    Stream {
        /// The stream's name.
        stream: String,
    },
    /// An event of a stream, or the place where one should be.
    Event {
        /// The stream's name.
        stream: String,
        /// The revision that belongs at this place; `None` when nothing says which.
        revision: Option<u64>,
        /// The position the bundle gives the event there; `None` for an event that is missing.
        position: Option<u64>,
    },
    /// The consistency proof from an earlier tree size.
    Consistency {
        /// The earlier tree size.
        size: u64,
    },
    /// The inspector's accepted checkpoint.
    State,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Document => f.write_str("bundle"),
            Location::Checkpoint => f.write_str("checkpoint"),
            Location::Manifest { line: None } => f.write_str("manifest"),
            Location::Manifest { line: Some(line) } => write!(f, "manifest line {line}"),
            Location::Stream { stream } => write!(f, "stream {stream}"),
            Location::Event { stream, revision, position } => {
                f.write_str(stream)?;
                match (revision, position) {
                    (Some(r), Some(p)) => write!(f, " revision {r} (position {p})"),
                    (Some(r), None) => write!(f, " revision {r}"),
                    (None, Some(p)) => write!(f, " at position {p}"),
                    (None, None) => Ok(()),
                }
            }
            Location::Consistency { size } => write!(f, "consistency proof from size {size}"),
            Location::State => f.write_str("state"),
        }
    }
}

/// What did not match.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    /// The document is not JSON of a bundle's shape (including unknown fields).
    #[error("not a bundle document: {reason}")]
    Unreadable {
        /// What the JSON reader said.
        reason: String,
    },
    /// The document's `format` is not [`FORMAT`].
    #[error("format {found:?} is not {FORMAT:?}")]
    Format {
        /// The format the document names.
        found: String,
    },
    /// The checkpoint note does not open with the key given.
    #[error("does not verify with the key given: {error}{}", bundle_key_hint(.bundle_key))]
    Checkpoint {
        /// Why.
        error: CheckpointError,
        /// The key the bundle names, when it is not the key given.
        bundle_key: Option<String>,
    },
    /// The manifest note does not open with the key given.
    #[error("does not verify with the key given: {0}")]
    ManifestSignature(NoteError),
    /// The manifest's text is not a manifest.
    #[error("{reason}")]
    ManifestText {
        /// What is wrong with the line.
        reason: String,
    },
    /// The manifest names another origin, size or root than the checkpoint.
    #[error("the manifest's {what} {manifest} is not the checkpoint's {checkpoint}")]
    ManifestMismatch {
        /// `origin`, `tree size` or `root`.
        what: &'static str,
        /// The manifest's value.
        manifest: String,
        /// The checkpoint's value.
        checkpoint: String,
    },
    /// The subject's period is not two dates in order.
    #[error("the subject's period: {reason}")]
    Period {
        /// What is wrong.
        reason: String,
    },
    /// A stream of the manifest is not in the bundle.
    #[error("listed in the manifest (line {line}) but not in the bundle")]
    StreamMissing {
        /// The manifest line listing it.
        line: usize,
    },
    /// A stream of the bundle is not in the manifest.
    #[error("in the bundle but not in the manifest")]
    StreamUnlisted,
    /// A stream is in the bundle more than once.
    #[error("in the bundle more than once")]
    StreamRepeated,
    /// The bundle's streams are not in the manifest's order.
    #[error("out of the manifest's order: {expected} comes here")]
    StreamOrder {
        /// The stream the manifest puts here.
        expected: String,
    },
    /// A value is not what the format says (base64, length).
    #[error("{field}: {reason}")]
    Malformed {
        /// The event's field, e.g. `salt` or `inclusion[3]`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The stored hash is not the hash of the envelope.
    #[error(
        "the hash {} is not the hash of the envelope, {}: the envelope or the hash was altered",
        b64(.stored),
        b64(.computed)
    )]
    HashMismatch {
        /// The bundle's hash.
        stored: Hash,
        /// The hash of the bundle's envelope.
        computed: Hash,
    },
    /// The envelope does not decode, or a field is malformed.
    #[error("bad envelope: {0}")]
    Envelope(EnvelopeError),
    /// The envelope names another stream.
    #[error("the envelope names the stream {envelope}")]
    WrongStream {
        /// The stream the envelope names.
        envelope: String,
    },
    /// The event at this place carries another revision: an event is missing or out of place.
    #[error("the event here carries revision {found}: an event is missing or out of place")]
    WrongRevision {
        /// The revision the envelope carries.
        found: u64,
    },
    /// `prev_hash` is not the previous event's hash (or the genesis at revision 0).
    #[error(
        "prev_hash {} is not {}, {}: the chain is broken",
        b64(.found),
        b64(.expected),
        predecessor(.genesis)
    )]
    PrevHash {
        /// What it should be.
        expected: Hash,
        /// What it is.
        found: Hash,
        /// Whether `expected` is the stream's genesis.
        genesis: bool,
    },
    /// The payload and salt do not match the envelope's digest.
    #[error(
        "the payload does not match the envelope's digest ({} in the envelope, {} computed): the payload or its salt was altered",
        b64(.envelope),
        b64(.computed)
    )]
    PayloadDigest {
        /// The digest in the envelope.
        envelope: Hash,
        /// The digest of the bundle's salt and payload.
        computed: Hash,
    },
    /// The position is not above the stream's previous event's.
    #[error("the position is not above {previous}, the previous event's")]
    PositionNotRising {
        /// The previous event's position.
        previous: u64,
    },
    /// The position is not inside the checkpoint's tree.
    #[error("the position is not below the checkpoint's tree size {size}")]
    PositionBeyondSize {
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The inclusion proof does not verify against the checkpoint.
    #[error("the inclusion proof does not verify against the checkpoint: {0}")]
    Inclusion(VerifyError),
    /// The stream ends before the manifest's last revision: this revision and those after it
    /// are missing.
    #[error("not in the bundle, which ends before the manifest's last revision {last}")]
    Missing {
        /// The manifest's last revision.
        last: u64,
    },
    /// An event past the manifest's last revision.
    #[error("past the manifest's last revision {last}")]
    PastLast {
        /// The manifest's last revision.
        last: u64,
    },
    /// The last event's hash is not the one the manifest lists.
    #[error("the hash {} is not {}, the manifest's (line {line})", b64(.found), b64(.manifest))]
    LastHash {
        /// The hash the manifest lists.
        manifest: Hash,
        /// The last event's hash.
        found: Hash,
        /// The manifest line.
        line: usize,
    },
    /// A consistency proof that is not a list of 32-byte base64 hashes.
    #[error("proof[{index}]: {reason}")]
    ConsistencyMalformed {
        /// Which hash.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint may not replace the accepted one: a rollback, a fork, another log, or no
    /// consistency proof for growth.
    #[error("{0}")]
    Refused(AcceptError),
}

fn b64(hash: &Hash) -> String {
    BASE64.encode(hash)
}

fn predecessor(genesis: &bool) -> &'static str {
    if *genesis {
        "the stream's genesis"
    } else {
        "the hash of the previous event"
    }
}

fn bundle_key_hint(bundle_key: &Option<String>) -> String {
    match bundle_key {
        Some(key) => format!(" (the bundle names the key {key})"),
        None => String::new(),
    }
}

/// Verifies a bundle (the bytes of its JSON document) with the log's key, pinned by the
/// inspector, and against `accepted`, the last checkpoint the inspector accepted for the log
/// (verified with the same key), if any. Never panics; every problem is in the report.
pub fn verify(document: &[u8], key: &NoteVerifier, accepted: Option<&Checkpoint>) -> Report {
    let mut report = Report::default();

    // 1. The document.
    let bundle: Bundle = match serde_json::from_slice(document) {
        Ok(bundle) => bundle,
        Err(e) => {
            report.problem(Location::Document, ProblemKind::Unreadable { reason: e.to_string() });
            return report;
        }
    };
    if bundle.format != FORMAT {
        report.problem(Location::Document, ProblemKind::Format { found: bundle.format.clone() });
    }

    // 2. The checkpoint: without it no proof can be checked.
    let cp = match checkpoint::open(&bundle.checkpoint, key) {
        Ok(cp) => cp,
        Err(error) => {
            let bundle_key = (bundle.key != key.to_string()).then(|| bundle.key.clone());
            report.problem(Location::Checkpoint, ProblemKind::Checkpoint { error, bundle_key });
            return report;
        }
    };
    report.checkpoint = Some(SignedCheckpoint { note: bundle.checkpoint.clone(), checkpoint: cp.clone() });

    // 3. The manifest.
    let manifest = open_manifest(&bundle.manifest, key, &cp, &mut report);
    let period = manifest.as_ref().and_then(|m| period(&m.subject, &mut report));

    // 4. The streams against the manifest.
    let ranges: HashMap<&str, (usize, &StreamRange)> = manifest
        .iter()
        .flat_map(|m| m.streams.iter().enumerate())
        .map(|(i, range)| (range.stream.as_str(), (FIRST_STREAM_LINE + i, range)))
        .collect();
    if let Some(manifest) = &manifest {
        check_stream_list(&bundle.streams, manifest, &mut report);
    }

    // 4 and 5. Every stream's events.
    let tree = Tree { size: cp.size, root: cp.root };
    for stream in &bundle.streams {
        let range = ranges.get(stream.stream.as_str()).copied();
        let (stream_report, problem) = walk(stream, range, &tree, period);
        report.streams.push(stream_report);
        report.problems.extend(problem);
    }

    // 6. The accepted checkpoint.
    let proofs = consistency_proofs(&bundle, &mut report);
    if let Some(accepted) = accepted {
        let proof = proofs.get(&accepted.size);
        match checkpoint::accept(accepted, &cp, proof.and_then(|p| p.as_deref())) {
            Ok(how) => report.accepted = Some(how),
            // The bundle has a proof from that size, but a malformed one: reported above.
            Err(AcceptError::NoProof { .. }) if proof.is_some() => {}
            Err(error) => {
                let location = match &error {
                    AcceptError::NoProof { .. } | AcceptError::Fork { .. } if accepted.size != cp.size => {
                        Location::Consistency { size: accepted.size }
                    }
                    _ => Location::State,
                };
                report.problem(location, ProblemKind::Refused(error));
            }
        }
    }
    report
}

impl Report {
    fn problem(&mut self, location: Location, kind: ProblemKind) {
        self.problems.push(Problem { location, kind });
    }
}

/// Opens and reads the manifest, and checks it names the checkpoint; `None` when it cannot be
/// read (a problem is reported).
fn open_manifest(note: &str, key: &NoteVerifier, cp: &Checkpoint, report: &mut Report) -> Option<Manifest> {
    let manifest_at = |line| Location::Manifest { line };
    let text = match note::open(note, std::slice::from_ref(key)) {
        Ok(verified) => verified.text,
        Err(e) => {
            report.problem(manifest_at(None), ProblemKind::ManifestSignature(e));
            return None;
        }
    };
    let manifest = match Manifest::parse(&text) {
        Ok(manifest) => manifest,
        Err(e) => {
            let line = (e.line > 0).then_some(e.line);
            report.problem(manifest_at(line), ProblemKind::ManifestText { reason: e.reason });
            return None;
        }
    };
    report.subject = Some(manifest.subject.clone());
    let mismatches = [
        (ORIGIN_LINE, "origin", manifest.origin.clone(), cp.origin.clone()),
        (CHECKPOINT_LINE, "tree size", manifest.size.to_string(), cp.size.to_string()),
        (CHECKPOINT_LINE, "root", b64(&manifest.root), b64(&cp.root)),
    ];
    for (line, what, manifest, checkpoint) in mismatches {
        if manifest != checkpoint {
            report.problem(manifest_at(Some(line)), ProblemKind::ManifestMismatch { what, manifest, checkpoint });
        }
    }
    Some(manifest)
}

/// The subject's period as dates, first and last day included.
fn period(subject: &Subject, report: &mut Report) -> Option<(Date, Date)> {
    let dates = Date::parse("from", &subject.from).and_then(|from| Ok((from, Date::parse("to", &subject.to)?)));
    let reason = match dates {
        Ok((from, to)) if from <= to => return Some((from, to)),
        Ok(_) => "the first day is after the last".to_owned(),
        Err(e) => e.to_string(),
    };
    report.problem(Location::Manifest { line: Some(SUBJECT_LINE) }, ProblemKind::Period { reason });
    None
}

/// Step 4's list: every stream of the manifest once, no other, in its order.
fn check_stream_list(streams: &[BundleStream], manifest: &Manifest, report: &mut Report) {
    let listed: HashSet<&str> = manifest.streams.iter().map(|r| r.stream.as_str()).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut in_bundle: Vec<&str> = Vec::new();
    for stream in streams {
        let name = stream.stream.as_str();
        let at = || Location::Stream { stream: name.to_owned() };
        if !seen.insert(name) {
            report.problem(at(), ProblemKind::StreamRepeated);
        } else if !listed.contains(name) {
            report.problem(at(), ProblemKind::StreamUnlisted);
        } else {
            in_bundle.push(name);
        }
    }
    let mut in_manifest: Vec<&str> = Vec::new();
    for (i, range) in manifest.streams.iter().enumerate() {
        let name = range.stream.as_str();
        if seen.contains(name) {
            in_manifest.push(name);
        } else {
            let at = Location::Stream { stream: name.to_owned() };
            report.problem(at, ProblemKind::StreamMissing { line: FIRST_STREAM_LINE + i });
        }
    }
    // Both lists now hold the same streams; the first place they differ is out of order.
    if let Some((found, expected)) = in_bundle.iter().zip(&in_manifest).find(|(a, b)| a != b) {
        let at = Location::Stream { stream: (*found).to_owned() };
        report.problem(at, ProblemKind::StreamOrder { expected: (*expected).to_owned() });
    }
}

/// The checkpoint's tree, which every inclusion proof is against.
struct Tree {
    size: u64,
    root: Hash,
}

/// An event's values, decoded from base64.
struct Decoded {
    envelope: Vec<u8>,
    payload: Option<Vec<u8>>,
    salt: Salt,
    hash: Hash,
    inclusion: Vec<Hash>,
}

/// Standard padded base64, or why not.
fn base64_bytes(text: &str) -> Result<Vec<u8>, String> {
    BASE64.decode(text).map_err(|_| "not standard padded base64".to_owned())
}

/// Exactly `N` bytes of standard padded base64, or why not.
fn base64_array<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = base64_bytes(text)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| format!("{len} bytes; expected {N}"))
}

fn base64_field(field: &str, text: &str) -> Result<Vec<u8>, ProblemKind> {
    base64_bytes(text).map_err(|reason| ProblemKind::Malformed { field: field.to_owned(), reason })
}

fn fixed_field<const N: usize>(field: &str, text: &str) -> Result<[u8; N], ProblemKind> {
    base64_array(text).map_err(|reason| ProblemKind::Malformed { field: field.to_owned(), reason })
}

/// An event's envelope and payload bytes: what the report reads, even of an event whose other
/// values are malformed.
fn decode_content(event: &BundleEvent) -> Result<(Vec<u8>, Option<Vec<u8>>), ProblemKind> {
    let envelope = base64_field("envelope", &event.envelope)?;
    let payload = event.payload.as_deref().map(|p| base64_field("payload", p)).transpose()?;
    Ok((envelope, payload))
}

/// An event's values, decoded, given its envelope and payload.
fn decode(event: &BundleEvent, envelope: Vec<u8>, payload: Option<Vec<u8>>) -> Result<Decoded, ProblemKind> {
    let BundleEvent { position: _, envelope: _, payload: _, salt, hash, inclusion } = event;
    Ok(Decoded {
        envelope,
        payload,
        salt: fixed_field("salt", salt)?,
        hash: fixed_field("hash", hash)?,
        inclusion: inclusion
            .iter()
            .enumerate()
            .map(|(i, h)| fixed_field(&format!("inclusion[{i}]"), h))
            .collect::<Result<_, _>>()?,
    })
}

/// The previous event of a stream, as far as it verified.
struct Previous {
    hash: Hash,
    position: u64,
}

/// Checks one stream's events, up to its first problem, against its manifest range (and the
/// manifest line listing it) if the manifest lists it.
fn walk(
    stream: &BundleStream,
    range: Option<(usize, &StreamRange)>,
    tree: &Tree,
    period: Option<(Date, Date)>,
) -> (StreamReport, Option<Problem>) {
    let name = stream.stream.as_str();
    let mut report = StreamReport { stream: name.to_owned(), ..StreamReport::default() };
    let mut problem: Option<Problem> = None;
    let at = |revision, position| Location::Event { stream: name.to_owned(), revision, position };
    // The revision of the first event: the manifest's, or (for a stream it does not list) the
    // first event's own.
    let mut first = range.map(|(_, r)| r.first);
    let mut previous: Option<Previous> = None;

    for (index, event) in stream.events.iter().enumerate() {
        report.events += 1;
        let read = decode_content(event).map(|(bytes, payload)| {
            let envelope = Envelope::decode(&bytes);
            (bytes, payload, envelope)
        });
        let envelope = read.as_ref().ok().and_then(|(_, _, envelope)| envelope.as_ref().ok());
        if let (Ok((_, payload, _)), Some(envelope)) = (&read, envelope) {
            report.count(event.position, envelope, payload.as_deref(), period);
        }
        if problem.is_some() {
            continue;
        }
        if index == 0 && first.is_none() {
            first = envelope.map(|e| e.revision);
        }
        let revision = first.and_then(|f| f.checked_add(index as u64));
        let checked = match (revision, range) {
            (Some(revision), Some((_, range))) if revision > range.last => {
                Err(ProblemKind::PastLast { last: range.last })
            }
            (None, _) if first.is_some() => {
                Err(ProblemKind::PastLast { last: range.map_or(u64::MAX, |(_, r)| r.last) })
            }
            _ => read.and_then(|(bytes, payload, envelope)| {
                let decoded = decode(event, bytes, payload)?;
                check_event(name, event.position, &decoded, envelope, revision, previous.as_ref(), tree)
            }),
        };
        match checked {
            Ok(hash) => previous = Some(Previous { hash, position: event.position }),
            Err(kind) => problem = Some(Problem { location: at(revision, Some(event.position)), kind }),
        }
    }

    if let (None, Some((line, range))) = (&problem, range) {
        // Every event verified in place, none past the last; now the range must be whole.
        let end = (stream.events.len() as u64).checked_sub(1).and_then(|n| range.first.checked_add(n));
        match (&previous, end) {
            (Some(last), Some(end)) if end == range.last => {
                if last.hash != range.last_hash {
                    problem = Some(Problem {
                        location: at(Some(range.last), Some(last.position)),
                        kind: ProblemKind::LastHash { manifest: range.last_hash, found: last.hash, line },
                    });
                }
            }
            (_, end) => {
                let missing = end.map_or(range.first, |end| end.saturating_add(1));
                problem =
                    Some(Problem { location: at(Some(missing), None), kind: ProblemKind::Missing { last: range.last } })
            }
        }
    }
    report.first = report.read.first().map(|e| e.envelope.revision);
    report.last = report.read.last().map(|e| e.envelope.revision);
    (report, problem)
}

impl StreamReport {
    fn count(&mut self, position: u64, envelope: &Envelope, payload: Option<&[u8]>, period: Option<(Date, Date)>) {
        if payload.is_none() {
            self.redacted += 1;
        }
        if let (Some((from, to)), Some(day)) = (period, utc_date(envelope.occurred_at)) {
            if (from..=to).contains(&day) {
                self.in_period += 1;
            }
        }
        self.read.push(ReadEvent { position, envelope: envelope.clone(), payload: payload.map(<[u8]>::to_vec) });
    }
}

/// The calendar date of an instant in UTC.
fn utc_date(t: Timestamp) -> Option<Date> {
    Date::from_days_since_epoch(t.seconds().div_euclid(86_400))
}

/// Step 5 for one event at the place of `revision` (`None`: unknown, the stream's first event
/// did not decode) in stream `name`; returns its hash.
fn check_event(
    name: &str,
    position: u64,
    event: &Decoded,
    envelope: Result<Envelope, EnvelopeError>,
    revision: Option<u64>,
    previous: Option<&Previous>,
    tree: &Tree,
) -> Result<Hash, ProblemKind> {
    let computed = event_hash(&event.envelope);
    if computed != event.hash {
        return Err(ProblemKind::HashMismatch { stored: event.hash, computed });
    }
    let envelope = envelope.map_err(ProblemKind::Envelope)?;
    let envelope_stream = envelope.stream.to_string();
    if envelope_stream != name {
        return Err(ProblemKind::WrongStream { envelope: envelope_stream });
    }
    if revision != Some(envelope.revision) {
        return Err(ProblemKind::WrongRevision { found: envelope.revision });
    }
    // The first event's predecessor is outside the bundle, unless it is the genesis; its
    // inclusion proof vouches for it.
    let expected_prev = match previous {
        Some(previous) => Some((previous.hash, false)),
        None if envelope.revision == 0 => Some((genesis(name), true)),
        None => None,
    };
    if let Some((expected, genesis)) = expected_prev {
        if envelope.prev_hash != expected {
            return Err(ProblemKind::PrevHash { expected, found: envelope.prev_hash, genesis });
        }
    }
    if let Some(payload) = &event.payload {
        let computed = payload_digest(&event.salt, payload);
        if computed != envelope.payload_digest {
            return Err(ProblemKind::PayloadDigest { envelope: envelope.payload_digest, computed });
        }
    }
    if let Some(previous) = previous {
        if position <= previous.position {
            return Err(ProblemKind::PositionNotRising { previous: previous.position });
        }
    }
    if position >= tree.size {
        return Err(ProblemKind::PositionBeyondSize { size: tree.size });
    }
    merkle::verify_inclusion(&merkle::leaf_hash(&event.hash), position, tree.size, &event.inclusion, &tree.root)
        .map_err(ProblemKind::Inclusion)?;
    Ok(event.hash)
}

/// The bundle's consistency proofs by earlier tree size; `None` for one that is malformed
/// (reported).
fn consistency_proofs(bundle: &Bundle, report: &mut Report) -> HashMap<u64, Option<Vec<Hash>>> {
    let mut proofs = HashMap::new();
    for entry in &bundle.consistency {
        let decoded: Result<Vec<Hash>, ProblemKind> = entry
            .proof
            .iter()
            .enumerate()
            .map(|(index, h)| base64_array(h).map_err(|reason| ProblemKind::ConsistencyMalformed { index, reason }))
            .collect();
        let proof = match decoded {
            Ok(proof) => Some(proof),
            Err(kind) => {
                report.problem(Location::Consistency { size: entry.size }, kind);
                None
            }
        };
        proofs.entry(entry.size).or_insert(proof);
    }
    proofs
}
