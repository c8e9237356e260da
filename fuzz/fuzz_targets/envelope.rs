//! Arbitrary bytes as what `chibo verify` reads from a data directory: envelopes, and whole
//! logs of raw events through the chain `Verifier` and the checkpoint audit (`log_audit`).
//!
//! The first byte chooses the way in:
//!
//! - 0: `Envelope::decode` on the rest; an envelope that decodes seals again to bytes that decode
//!   to the same envelope;
//! - 1: the rest cut into raw events (any bytes in any column), through the `Verifier` and the
//!   `LogAudit` with the fuzz key: the summary and the report must agree with the events given;
//! - 2: the rest drives the building of a valid log (streams, payloads, signed checkpoints),
//!   which must verify intact, then, if any input is left, one bit of one stored column is
//!   flipped: the verifier must name that event's stream and revision as the only break.
#![no_main]

use std::collections::{BTreeSet, HashMap};

use chibo_domain::{EventId, Timestamp};
use chibo_integrity::log_audit::{checkpoint_note, LogAudit, LogAuditReport};
use chibo_integrity::merkle::MemoryTree;
use chibo_integrity::{
    checkpoint, event_hash, genesis, payload_digest, seal, Break, BreakKind, Envelope, EnvelopeFields, Hash, RawEvent,
    Verifier,
};
use chibo_proto::v1 as pb;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    match mode % 3 {
        0 => envelope(input),
        1 => {
            let _ = raw_log(&mut Unstructured::new(input));
        }
        _ => {
            let _ = built_log(&mut Unstructured::new(input));
        }
    }
});

fn envelope(bytes: &[u8]) {
    let Ok(envelope) = Envelope::decode(bytes) else { return };
    let stream = envelope.stream.to_string();
    let sealed = seal(EnvelopeFields {
        event_id: &envelope.event_id,
        stream: &stream,
        revision: envelope.revision,
        event_type: &envelope.event_type,
        schema_version: envelope.schema_version,
        occurred_at: envelope.occurred_at,
        recorded_at: envelope.recorded_at,
        actor: &envelope.actor,
        payload_digest: &envelope.payload_digest,
        prev_hash: &envelope.prev_hash,
    });
    assert_eq!(sealed.hash, event_hash(&sealed.envelope));
    assert_eq!(Envelope::decode(&sealed.envelope), Ok(envelope));
}

/// One stored event, owned.
#[derive(Debug, Clone)]
struct Row {
    position: u64,
    stream: String,
    revision: u64,
    envelope: Vec<u8>,
    payload: Vec<u8>,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Row {
    fn raw(&self) -> RawEvent<'_> {
        RawEvent {
            position: self.position,
            stream: &self.stream,
            revision: self.revision,
            envelope: &self.envelope,
            payload: &self.payload,
            salt: &self.salt,
            hash: &self.hash,
        }
    }
}

/// Streams the raw events are filed under: a few names, so that chains meet.
const STREAMS: [&str; 4] = ["cell-a", "org-x", "$checkpoints", "cell-b"];

fn raw_log(u: &mut Unstructured<'_>) -> Result<()> {
    let mut rows = Vec::new();
    while !u.is_empty() && rows.len() < 64 {
        rows.push(Row {
            position: if u.ratio(1, 8)? { u.arbitrary()? } else { rows.len() as u64 },
            stream: if u.ratio(1, 16)? { u.arbitrary()? } else { u.choose(&STREAMS)?.to_string() },
            revision: u.int_in_range(0..=3)?,
            envelope: u.arbitrary()?,
            payload: u.arbitrary()?,
            salt: if u.ratio(1, 8)? { u.arbitrary()? } else { u.bytes(16)?.to_vec() },
            hash: if u.ratio(1, 8)? { u.arbitrary()? } else { u.bytes(32)?.to_vec() },
        });
    }
    verify(&rows);
    Ok(())
}

/// Runs the chain verifier and the checkpoint audit over `rows` and checks what they say
/// against the rows themselves; returns the verifier's breaks and the audit's report.
fn verify(rows: &[Row]) -> (Vec<Break>, LogAuditReport) {
    let mut verifier = Verifier::new();
    let mut audit = LogAudit::new(Some(chibo_fuzz::verifier()), None);
    let mut revision = 0;
    for row in rows.iter().filter(|r| r.stream == "$checkpoints") {
        audit.checkpoint(revision, row.position, checkpoint_note(&row.raw()));
        revision += 1;
    }
    let mut walk = audit.leaves();
    let mut tree = MemoryTree::new();
    let mut all_intact = true;
    for row in rows {
        let (intact, leaf, _) = verifier.check_and_hash(row.raw());
        assert_eq!(leaf, event_hash(&row.envelope), "the leaf is the hash of the stored envelope");
        all_intact &= intact;
        walk.push(&leaf);
        tree.push(&leaf);
    }
    let summary = verifier.finish();
    assert_eq!(summary.events, rows.len() as u64);
    let streams: BTreeSet<&str> = rows.iter().map(|r| r.stream.as_str()).collect();
    assert_eq!(summary.streams, streams.len());
    let broken: BTreeSet<&str> = summary.breaks.iter().map(|b| b.stream.as_str()).collect();
    assert_eq!(broken.len(), summary.breaks.len(), "one break per stream, the first");
    assert_eq!(summary.is_intact(), all_intact, "the summary agrees with the events' verdicts");
    for b in &summary.breaks {
        assert!(rows.iter().any(|r| r.stream == b.stream && r.position == b.position));
        let _ = b.to_string();
    }
    for gap in &summary.gaps {
        let _ = gap.to_string();
    }

    let report = walk.finish();
    assert_eq!(report.size, rows.len() as u64);
    assert_eq!(report.root, tree.root(), "the audit's root is the tree's");
    assert_eq!(report.recorded, revision);
    assert!(report.verified <= report.recorded);
    for problem in &report.problems {
        let _ = problem.to_string();
    }
    if let Some(latest) = &report.latest {
        assert_eq!(checkpoint::open(&latest.note, &chibo_fuzz::verifier()).as_ref(), Ok(&latest.checkpoint));
    }
    (summary.breaks, report)
}

/// The stored columns a bit can be flipped in.
#[derive(Debug, Clone, Copy)]
enum Column {
    Envelope,
    Payload,
    Salt,
    Hash,
}

fn built_log(u: &mut Unstructured<'_>) -> Result<()> {
    let signer = chibo_fuzz::signer();
    let mut rows: Vec<Row> = Vec::new();
    let mut heads: HashMap<String, (u64, Hash)> = HashMap::new();
    let mut tree = MemoryTree::new();
    let events: u8 = u.int_in_range(1..=24)?;
    for n in 0..events {
        let position = rows.len() as u64;
        let (stream, event_type, payload) = if u.ratio(1, 6)? {
            let note =
                checkpoint::sign(&signer, &checkpoint::Checkpoint::new(chibo_fuzz::ORIGIN, position, tree.root()))
                    .expect("the fuzz key signs its own checkpoints");
            ("$checkpoints".to_owned(), "CheckpointSigned", pb::CheckpointSigned { note }.encode_to_vec())
        } else {
            let stream = u.choose(&["cell-a", "cell-b", "org-x"])?.to_string();
            (stream, "StudyPointsEarned", u.arbitrary::<Vec<u8>>()?)
        };
        let (revision, prev_hash) = heads.get(&stream).copied().unwrap_or((0, genesis(&stream)));
        let salt: [u8; 16] = u.arbitrary()?;
        let digest = payload_digest(&salt, &payload);
        let mut id = [0u8; 16];
        id[0] = 0x19;
        id[15] = n + 1;
        let at = Timestamp::new("t", 1_750_000_000 + i64::from(n), 0).expect("in range");
        let sealed = seal(EnvelopeFields {
            event_id: &EventId::from_bytes(id),
            stream: &stream,
            revision,
            event_type,
            schema_version: 1,
            occurred_at: at,
            recorded_at: at,
            actor: "anonymous",
            payload_digest: &digest,
            prev_hash: &prev_hash,
        });
        heads.insert(stream.clone(), (revision + 1, sealed.hash));
        tree.push(&sealed.hash);
        rows.push(Row {
            position,
            stream,
            revision,
            envelope: sealed.envelope,
            payload,
            salt: salt.to_vec(),
            hash: sealed.hash.to_vec(),
        });
    }
    let (breaks, report) = verify(&rows);
    assert!(breaks.is_empty(), "a log built by the rules verifies: {breaks:?}");
    assert!(report.problems.is_empty(), "its checkpoints verify: {:?}", report.problems);
    assert_eq!(report.verified, report.recorded);

    if u.is_empty() {
        return Ok(());
    }
    let victim = u.choose_index(rows.len())?;
    let column = *u.choose(&[Column::Envelope, Column::Payload, Column::Salt, Column::Hash])?;
    let row = &mut rows[victim];
    let bytes = match column {
        Column::Envelope => &mut row.envelope,
        Column::Payload => &mut row.payload,
        Column::Salt => &mut row.salt,
        Column::Hash => &mut row.hash,
    };
    if bytes.is_empty() {
        return Ok(());
    }
    let at = u.choose_index(bytes.len())?;
    bytes[at] ^= 1 << u.int_in_range(0..=7)?;
    let (stream, revision) = (row.stream.clone(), row.revision);
    let (breaks, report) = verify(&rows);
    // The Merkle audit reads the envelopes and the checkpoints' payloads, nothing else.
    let audited = matches!(column, Column::Envelope) || (stream == "$checkpoints" && matches!(column, Column::Payload));
    if !audited {
        assert!(report.problems.is_empty(), "{column:?} flipped: {:?}", report.problems);
    }
    assert_eq!(breaks.len(), 1, "one flipped bit breaks one stream: {breaks:?}");
    let only = &breaks[0];
    assert_eq!((only.stream.as_str(), only.revision), (stream.as_str(), revision), "{only}");
    let expected = match column {
        Column::Envelope | Column::Hash => matches!(only.kind, BreakKind::HashMismatch { .. }),
        Column::Payload | Column::Salt => matches!(only.kind, BreakKind::PayloadDigestMismatch { .. }),
    };
    assert!(expected, "{column:?} flipped: {only}");
    Ok(())
}
