//! Audit bundles: what `chibo audit export` writes and `chibo audit verify` checks with no
//! server. docs/AUDIT.md is the specification; this module holds the format and the manifest.
//!
//! A bundle is one JSON document (`chibo-bundle-v1`):
//!
//! - `checkpoint`: a signed checkpoint (C2SP `tlog-checkpoint` in a `signed-note`) of the log;
//! - `manifest`: a signed note, by the same key, naming the subject (a cell or a committee and a
//!   period) and, for every stream the subject covers, the range of revisions in the bundle and
//!   the hash of the last one: the server's statement that nothing of the subject is left out;
//! - `streams`: for each stream of the manifest, its events of that range, each with the stored
//!   bytes (envelope, payload, salt), its hash and its inclusion proof in the checkpoint's tree
//!   (leaf index = the event's global position);
//! - `consistency`: consistency proofs from earlier tree sizes to the checkpoint's, for an
//!   inspector who accepted an older checkpoint.
//!
//! Binary values are standard padded base64, as in checkpoints.
//!
//! [`verify`] checks a bundle as an inspector does, offline, with the log's key.

mod verify;

pub use verify::{verify, Location, Problem, ProblemKind, ReadEvent, Report, SignedCheckpoint, StreamReport};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::hash::{Hash, HASH_LEN};

/// The `format` of a bundle.
pub const FORMAT: &str = "chibo-bundle-v1";

/// The first line of a manifest's note text. A manifest can never read as a checkpoint: its
/// second line is not a tree size.
pub const MANIFEST_HEADER: &str = "chibo bundle manifest v1";

/// An audit bundle as written to a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: String,
    /// The verifier key of the log, in the signed-note verifier encoding, as the server gave it.
    /// Informational: the inspector verifies with a key obtained separately.
    pub key: String,
    /// The signed checkpoint every inclusion proof is against.
    pub checkpoint: String,
    /// The signed manifest.
    pub manifest: String,
    /// Consistency proofs from earlier sizes to the checkpoint's.
    #[serde(default)]
    pub consistency: Vec<ConsistencyFrom>,
    /// The streams' events, in the manifest's order.
    pub streams: Vec<BundleStream>,
}

/// A consistency proof from an earlier tree size to the checkpoint's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyFrom {
    /// The earlier tree size.
    pub size: u64,
    /// The proof's hashes, base64.
    pub proof: Vec<String>,
}

/// One stream's events in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleStream {
    /// The stream's name (`cell-…`, `org-…`).
    pub stream: String,
    /// Consecutive revisions, in order.
    pub events: Vec<BundleEvent>,
}

/// One stored event with its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEvent {
    /// The event's global position: its leaf index in the Merkle tree.
    pub position: u64,
    /// The stored envelope bytes, base64.
    pub envelope: String,
    /// The stored payload bytes, base64; `null` when the payload was redacted (the envelope's
    /// digest still commits to it).
    pub payload: Option<String>,
    /// The salt, base64 (16 bytes).
    pub salt: String,
    /// The event hash, base64 (32 bytes).
    pub hash: String,
    /// The inclusion proof of the event hash at `position` in the checkpoint's tree, base64
    /// hashes in RFC 9162 order.
    pub inclusion: Vec<String>,
}

/// What a bundle is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `cell` or `committee`.
    pub kind: String,
    /// The organization id.
    pub org: String,
    /// First day of the period, `YYYY-MM-DD`.
    pub from: String,
    /// Last day of the period, `YYYY-MM-DD`.
    pub to: String,
}

/// One stream's line in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRange {
    /// The stream's name.
    pub stream: String,
    /// The first revision in the bundle.
    pub first: u64,
    /// The last revision in the bundle: the stream's head at the checkpoint's size.
    pub last: u64,
    /// The hash of the event at `last`.
    pub last_hash: Hash,
}

/// The server's statement of what a bundle holds: signed, so nothing can be left out of the
/// bundle after export without the signature failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The log's origin, as in the checkpoint.
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root.
    pub root: Hash,
    /// What the bundle is about.
    pub subject: Subject,
    /// Every stream of the subject, sorted by name.
    pub streams: Vec<StreamRange>,
}

/// Why a manifest text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest line {line}: {reason}")]
pub struct ManifestError {
    /// 1-based line of the manifest text.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl Manifest {
    /// The note text: one item per line, each ending in a newline.
    ///
    /// ```text
    /// chibo bundle manifest v1
    /// origin <origin>
    /// checkpoint <size> <root, base64>
    /// subject <cell|committee> <org id> <from> <to>
    /// stream <name> <first revision> <last revision> <hash of the last, base64>
    /// ...
    /// ```
    pub fn text(&self) -> String {
        let Manifest { origin, size, root, subject, streams } = self;
        let Subject { kind, org, from, to } = subject;
        let mut text = format!(
            "{MANIFEST_HEADER}\norigin {origin}\ncheckpoint {size} {}\nsubject {kind} {org} {from} {to}\n",
            BASE64.encode(root)
        );
        for StreamRange { stream, first, last, last_hash } in streams {
            text.push_str(&format!("stream {stream} {first} {last} {}\n", BASE64.encode(last_hash)));
        }
        text
    }

    /// Reads a manifest text (the note's text, without signatures).
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let bad = |line: usize, reason: &str| ManifestError { line, reason: reason.to_owned() };
        let body = text.strip_suffix('\n').ok_or_else(|| bad(1, "the text does not end in a newline"))?;
        let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        let mut next = |what: &str| lines.next().ok_or_else(|| bad(0, &format!("no {what} line")));
        let (n, header) = next("header")?;
        if header != MANIFEST_HEADER {
            return Err(bad(n, &format!("expected {MANIFEST_HEADER:?}")));
        }
        let (n, origin) = next("origin")?;
        let origin =
            origin.strip_prefix("origin ").filter(|o| !o.is_empty()).ok_or_else(|| bad(n, "not `origin NAME`"))?;
        let (n, line) = next("checkpoint")?;
        let fields = words(line, "checkpoint", 2).ok_or_else(|| bad(n, "not `checkpoint SIZE ROOT`"))?;
        let size = number(fields[0]).ok_or_else(|| bad(n, "the size is not a decimal number"))?;
        let root = hash(fields[1]).ok_or_else(|| bad(n, "the root is not 32 bytes of base64"))?;
        let (n, line) = next("subject")?;
        let fields = words(line, "subject", 4).ok_or_else(|| bad(n, "not `subject KIND ORG FROM TO`"))?;
        if !matches!(fields[0], "cell" | "committee") {
            return Err(bad(n, "the subject kind is neither `cell` nor `committee`"));
        }
        let [kind, org, from, to] = [fields[0], fields[1], fields[2], fields[3]].map(str::to_owned);
        let subject = Subject { kind, org, from, to };
        let mut streams: Vec<StreamRange> = Vec::new();
        for (n, line) in lines {
            let fields = words(line, "stream", 4).ok_or_else(|| bad(n, "not `stream NAME FIRST LAST HASH`"))?;
            let first = number(fields[1]).ok_or_else(|| bad(n, "the first revision is not a decimal number"))?;
            let last = number(fields[2]).ok_or_else(|| bad(n, "the last revision is not a decimal number"))?;
            let last_hash = hash(fields[3]).ok_or_else(|| bad(n, "the hash is not 32 bytes of base64"))?;
            if last < first {
                return Err(bad(n, "the last revision is below the first"));
            }
            if streams.last().is_some_and(|s| s.stream.as_str() >= fields[0]) {
                return Err(bad(n, "streams are not sorted by name, or one is listed twice"));
            }
            streams.push(StreamRange { stream: fields[0].to_owned(), first, last, last_hash });
        }
        Ok(Manifest { origin: origin.to_owned(), size, root, subject, streams })
    }
}

/// The `count` space-separated words after `keyword `, none empty.
fn words<'a>(line: &'a str, keyword: &str, count: usize) -> Option<Vec<&'a str>> {
    let rest = line.strip_prefix(keyword)?.strip_prefix(' ')?;
    let fields: Vec<&str> = rest.split(' ').collect();
    (fields.len() == count && fields.iter().all(|f| !f.is_empty())).then_some(fields)
}

/// ASCII decimal with no leading zero.
fn number(text: &str) -> Option<u64> {
    let canonical = text == "0" || (!text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| text.parse().ok()).flatten()
}

/// 32 bytes of standard padded base64.
pub fn hash(text: &str) -> Option<Hash> {
    let bytes: [u8; HASH_LEN] = BASE64.decode(text).ok()?.try_into().ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            origin: "chibo.thaibinh.example/log".into(),
            size: 1234,
            root: [7; 32],
            subject: Subject {
                kind: "committee".into(),
                org: "xa-an-binh".into(),
                from: "2025-01-01".into(),
                to: "2025-12-31".into(),
            },
            streams: vec![
                StreamRange { stream: "cell-a".into(), first: 3, last: 90, last_hash: [1; 32] },
                StreamRange { stream: "org-xa-an-binh".into(), first: 0, last: 0, last_hash: [2; 32] },
            ],
        }
    }

    #[test]
    fn a_manifest_reads_back_as_written() {
        let text = manifest().text();
        assert!(text.starts_with("chibo bundle manifest v1\norigin chibo.thaibinh.example/log\ncheckpoint 1234 "));
        assert_eq!(Manifest::parse(&text), Ok(manifest()));
    }

    #[test]
    fn a_damaged_manifest_names_its_line() {
        let text = manifest().text();
        let cases = [
            (text.replace("checkpoint 1234", "checkpoint 01234"), 3),
            (text.replace("subject committee", "subject club"), 4),
            (text.replace("cell-a 3 90", "cell-a 91 90"), 5),
            (text.replace("stream org-xa-an-binh", "stream cell-0"), 6),
            (text.replace("origin ", "origin:"), 2),
        ];
        for (damaged, line) in cases {
            assert_eq!(Manifest::parse(&damaged).map_err(|e| e.line), Err(line), "{damaged}");
        }
        assert!(Manifest::parse(text.trim_end()).is_err(), "no final newline");
    }
}
