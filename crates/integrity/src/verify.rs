//! The chain verifier: walks stored events in global order and checks, for each, that its hash
//! is the hash of its envelope, that its payload matches the envelope's digest, and that it
//! continues its stream's chain (next revision, `prev_hash` = the previous event's hash, or the
//! stream's genesis at revision 0) at the next global position.
//!
//! It reports the first break of each stream and keeps checking the others: one damaged cell
//! does not hide the state of the rest of the log.

use std::{collections::HashMap, fmt};

use crate::{
    envelope::{EnvelopeError, EnvelopeRef},
    hash::{event_hash, genesis, payload_digest, Hash, HASH_LEN, SALT_LEN},
};

/// One stored event as raw bytes, the way the verifier needs it: nothing here is trusted.
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    /// Global position the store holds the event at.
    pub position: u64,
    /// The stream the store files the event under.
    pub stream: &'a str,
    /// The revision the store files the event under.
    pub revision: u64,
    /// The stored envelope bytes.
    pub envelope: &'a [u8],
    /// The stored payload.
    pub payload: &'a [u8],
    /// The stored salt.
    pub salt: &'a [u8],
    /// The stored event hash.
    pub hash: &'a [u8],
}

/// A place where the log is not what the hash spec says it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// Global position of the record where the break was seen.
    pub position: u64,
    /// The stream it breaks.
    pub stream: String,
    /// The revision at which the stream's chain breaks.
    pub revision: u64,
    /// What did not match.
    pub kind: BreakKind,
}

/// What did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakKind {
    /// The salt or hash column has the wrong length.
    MalformedRecord {
        /// Which column and how.
        what: String,
    },
    /// The stored hash is not the hash of the stored envelope.
    HashMismatch {
        /// The stored hash.
        stored: Hash,
        /// The hash of the stored envelope.
        computed: Hash,
    },
    /// The envelope does not decode or a field is malformed.
    Envelope(EnvelopeError),
    /// The store files the event under another stream or revision than its envelope says.
    IndexMismatch {
        /// `stream` or `revision`.
        field: &'static str,
        /// What the store's index says.
        stored: String,
        /// What the hashed envelope says.
        envelope: String,
    },
    /// The envelope's revision is not the next of its stream.
    RevisionGap {
        /// The revision the envelope carries.
        found: u64,
    },
    /// The envelope's `prev_hash` is not the hash of the stream's previous event (or genesis).
    PrevHashMismatch {
        /// What `prev_hash` should be.
        expected: Hash,
        /// What it is.
        found: Hash,
    },
    /// The payload (with its salt) does not match the envelope's digest.
    PayloadDigestMismatch {
        /// The digest in the envelope.
        envelope: Hash,
        /// The digest of the stored salt and payload.
        computed: Hash,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { position, stream, revision, kind } = self;
        write!(f, "{stream} revision {revision} (position {position}): ")?;
        match kind {
            BreakKind::MalformedRecord { what } => write!(f, "malformed record: {what}"),
            BreakKind::HashMismatch { stored, computed } => write!(
                f,
                "the stored hash {} is not the hash of the stored envelope {}; the envelope or the hash was altered",
                hex(stored),
                hex(computed)
            ),
            BreakKind::Envelope(e) => write!(f, "bad envelope: {e}"),
            BreakKind::IndexMismatch { field, stored, envelope } => {
                write!(f, "the store files it under {field} {stored} but its envelope says {envelope}")
            }
            BreakKind::RevisionGap { found } => write!(
                f,
                "revision {revision} is missing or out of place; the next event in the log carries revision {found}"
            ),
            BreakKind::PrevHashMismatch { expected, found } => write!(
                f,
                "prev_hash {} does not match {} (the hash of revision {} of the stream); the chain was altered",
                hex(found),
                hex(expected),
                revision.wrapping_sub(1)
            ),
            BreakKind::PayloadDigestMismatch { envelope, computed } => write!(
                f,
                "the payload does not match the envelope's digest ({} in the envelope, {} computed); the payload or its salt was altered",
                hex(envelope),
                hex(computed)
            ),
        }
    }
}

/// A jump in the global order: the record after position `expected - 1` sits at `found`.
/// Which streams the missing positions belonged to cannot be known from the gap itself; their
/// streams' chains say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The position that should have come next.
    pub expected: u64,
    /// The position found instead.
    pub found: u64,
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { expected, found } = self;
        if found > expected {
            write!(
                f,
                "the global order jumps from position {expected} to {found}: {} event(s) missing",
                found - expected
            )
        } else {
            write!(f, "the global order goes back from position {expected} to {found}: events out of place")
        }
    }
}

/// The outcome of a walk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Events checked.
    pub events: u64,
    /// Streams seen.
    pub streams: usize,
    /// The first break of each broken stream, in log order.
    pub breaks: Vec<Break>,
    /// Every jump in the global order.
    pub gaps: Vec<Gap>,
}

impl Summary {
    /// True when nothing is broken.
    pub fn is_intact(&self) -> bool {
        self.breaks.is_empty() && self.gaps.is_empty()
    }
}

#[derive(Debug)]
enum Head {
    Intact { next_revision: u64, last_hash: Hash },
    Broken,
}

/// Walks a log in global order from position 0. Feed every stored event to [`Verifier::check`],
/// then read the [`Summary`] from [`Verifier::finish`].
#[derive(Debug, Default)]
pub struct Verifier {
    next_position: u64,
    heads: HashMap<String, Head>,
    summary: Summary,
}

impl Verifier {
    /// A verifier for a log that starts at position 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next stored event. Returns false when it broke something.
    pub fn check(&mut self, event: RawEvent<'_>) -> bool {
        self.check_and_hash(event).0
    }

    /// Checks the next stored event, like [`Verifier::check`], and returns the hash of its
    /// stored envelope with it: the event's leaf data in the Merkle log, computed once for both.
    /// It is the hash the envelope has, whatever the stored hash column says.
    pub fn check_and_hash(&mut self, event: RawEvent<'_>) -> (bool, Hash) {
        let computed = event_hash(event.envelope);
        let (intact, _, _) = self.check_hashed(event, Hashes::Check(computed));
        (intact, computed)
    }

    /// Checks the next stored event like [`Verifier::check`], all but what costs a hash: the
    /// stored hash against its envelope's, and the payload against the envelope's digest. Those
    /// are left to [`check_deferred`], on another thread if need be, with what this returns.
    /// Each break it finds goes back through [`Verifier::deferred_broke`] before
    /// [`Verifier::finish`]; the summary is then exactly the one [`Verifier::check`] gives.
    ///
    /// The chain is followed by the stored hashes meanwhile: where one is not its envelope's,
    /// the break that [`check_deferred`] reports comes first in its stream.
    ///
    /// The envelope it decoded comes back with it, unless it does not decode (or its stream is
    /// broken already, and it was not read): whatever it says is not yet known to be what was
    /// hashed.
    pub fn check_deferring_hashes<'a>(&mut self, event: RawEvent<'a>) -> (Deferred, Option<EnvelopeRef<'a>>) {
        let (_, deferred, envelope) = self.check_hashed(event, Hashes::Defer);
        (deferred, envelope)
    }

    /// A break found by [`check_deferred`], in any order.
    pub fn deferred_broke(&mut self, broken: Break) {
        self.summary.breaks.push(broken);
    }

    fn check_hashed<'a>(&mut self, event: RawEvent<'a>, hashes: Hashes) -> (bool, Deferred, Option<EnvelopeRef<'a>>) {
        self.summary.events += 1;
        let mut intact = true;
        if event.position != self.next_position {
            self.summary.gaps.push(Gap { expected: self.next_position, found: event.position });
            intact = false;
        }
        self.next_position = event.position.saturating_add(1);

        // The stream's head is updated in place: a key is allocated once per stream.
        let head = match self.heads.get_mut(event.stream) {
            Some(head) => head,
            None => self
                .heads
                .entry(event.stream.to_owned())
                .or_insert(Head::Intact { next_revision: 0, last_hash: genesis(event.stream) }),
        };
        let Head::Intact { next_revision, last_hash } = *head else { return (false, Deferred::NOTHING, None) };
        let envelope = EnvelopeRef::decode(event.envelope);
        let checked = check_chain(&event, &envelope, (next_revision, last_hash), hashes);
        let envelope = envelope.ok();
        match checked {
            Ok((hash, deferred)) => {
                *head = Head::Intact { next_revision: next_revision + 1, last_hash: hash };
                (intact, deferred, envelope)
            }
            Err((revision, kind)) => {
                *head = Head::Broken;
                // A record whose columns have their lengths gets its stored hash compared: in
                // one pass, that comparison comes before any other break could be found.
                let hash = hashes == Hashes::Defer && !matches!(kind, BreakKind::MalformedRecord { .. });
                self.summary.breaks.push(Break {
                    position: event.position,
                    stream: event.stream.to_owned(),
                    revision,
                    kind,
                });
                (false, Deferred { hash, payload: None }, envelope)
            }
        }
    }

    /// Ends the walk.
    pub fn finish(mut self) -> Summary {
        self.summary.streams = self.heads.len();
        // The first break of each stream, in log order. Checked in one pass there is one per
        // stream already; a hash checked apart may break a stream before (or after) the break
        // found in the rest of it, which then is (or is not) the first. At one position, a
        // stored hash that is not its envelope's comes first: one pass compares it first.
        let breaks = &mut self.summary.breaks;
        breaks.sort_by_key(|b| (b.position, !matches!(b.kind, BreakKind::HashMismatch { .. })));
        let mut broken = std::collections::HashSet::new();
        breaks.retain(|b| broken.insert(b.stream.clone()));
        self.summary
    }
}

/// Whether [`check_chain`] compares the hashes (the envelope's being given), or leaves them to
/// [`check_deferred`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hashes {
    Check(Hash),
    Defer,
}

/// What [`Verifier::check_deferring_hashes`] leaves to [`check_deferred`] of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferred {
    /// Compare the stored hash with the envelope's: the record's columns have their lengths.
    hash: bool,
    /// The digest the envelope gives the payload, when everything but the hashes held.
    payload: Option<Hash>,
}

impl Deferred {
    const NOTHING: Self = Self { hash: false, payload: None };
}

/// The checks [`Verifier::check_deferring_hashes`] leaves out, of the same `event`: returns
/// the hash of its envelope (its leaf data in the Merkle log) and the break, if the stored hash
/// is not that hash or the payload does not match its envelope's digest.
pub fn check_deferred(event: &RawEvent<'_>, deferred: &Deferred) -> (Hash, Option<Break>) {
    let computed = event_hash(event.envelope);
    let broken = |kind| {
        Some(Break { position: event.position, stream: event.stream.to_owned(), revision: event.revision, kind })
    };
    if deferred.hash {
        // The length was checked before the comparison was deferred.
        let stored = Hash::try_from(event.hash).unwrap_or_default();
        if stored != computed {
            return (computed, broken(BreakKind::HashMismatch { stored, computed }));
        }
    }
    let (Some(envelope), Ok(salt)) = (deferred.payload, <&[u8; SALT_LEN]>::try_from(event.salt)) else {
        return (computed, None);
    };
    let digest = payload_digest(salt, event.payload);
    if digest != envelope {
        return (computed, broken(BreakKind::PayloadDigestMismatch { envelope, computed: digest }));
    }
    (computed, None)
}

/// Checks one event against its stream's head; returns its hash and what is left to check of
/// it, or where and how it breaks.
fn check_chain(
    event: &RawEvent<'_>,
    envelope: &Result<EnvelopeRef<'_>, EnvelopeError>,
    (next_revision, last_hash): (u64, Hash),
    hashes: Hashes,
) -> Result<(Hash, Deferred), (u64, BreakKind)> {
    let at_record = |kind| (event.revision, kind);
    let salt: &[u8; SALT_LEN] = event.salt.try_into().map_err(|_| {
        at_record(BreakKind::MalformedRecord {
            what: format!("salt is {} bytes; expected {SALT_LEN}", event.salt.len()),
        })
    })?;
    let stored: Hash = event.hash.try_into().map_err(|_| {
        at_record(BreakKind::MalformedRecord {
            what: format!("hash is {} bytes; expected {HASH_LEN}", event.hash.len()),
        })
    })?;
    if let Hashes::Check(computed) = hashes {
        if computed != stored {
            return Err(at_record(BreakKind::HashMismatch { stored, computed }));
        }
    }
    let envelope = envelope.as_ref().map_err(|e| at_record(BreakKind::Envelope(e.clone())))?;
    // A decoded stream is a valid name, as written: its text is the name's.
    if envelope.stream != event.stream {
        return Err(at_record(BreakKind::IndexMismatch {
            field: "stream",
            stored: event.stream.to_owned(),
            envelope: envelope.stream.to_string(),
        }));
    }
    if envelope.revision != event.revision {
        return Err(at_record(BreakKind::IndexMismatch {
            field: "revision",
            stored: event.revision.to_string(),
            envelope: envelope.revision.to_string(),
        }));
    }
    if envelope.revision != next_revision {
        return Err((next_revision, BreakKind::RevisionGap { found: envelope.revision }));
    }
    if envelope.prev_hash != last_hash {
        return Err(at_record(BreakKind::PrevHashMismatch { expected: last_hash, found: envelope.prev_hash }));
    }
    if hashes == Hashes::Defer {
        return Ok((stored, Deferred { hash: true, payload: Some(envelope.payload_digest) }));
    }
    let digest = payload_digest(salt, event.payload);
    if digest != envelope.payload_digest {
        return Err(at_record(BreakKind::PayloadDigestMismatch {
            envelope: envelope.payload_digest,
            computed: digest,
        }));
    }
    Ok((stored, Deferred::NOTHING))
}

#[cfg(test)]
mod tests {
    use chibo_domain::{EventId, Timestamp};

    use super::*;
    use crate::envelope::{seal, EnvelopeFields};

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

    /// A log of `per_stream` events in each of `streams`, interleaved in global order.
    fn log(streams: &[&str], per_stream: u64) -> Vec<Row> {
        let mut heads: HashMap<&str, Hash> = streams.iter().map(|s| (*s, genesis(s))).collect();
        let mut rows = Vec::new();
        for revision in 0..per_stream {
            for stream in streams {
                let position = rows.len() as u64;
                let payload = format!("payload {stream} {revision}").into_bytes();
                let salt = [position as u8; 16];
                let digest = payload_digest(&salt, &payload);
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&(position + 1).to_be_bytes());
                let sealed = seal(EnvelopeFields {
                    event_id: &EventId::from_bytes(id),
                    stream,
                    revision,
                    event_type: "StudyPointsEarned",
                    schema_version: 1,
                    occurred_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
                    recorded_at: Timestamp::new("t", 1_700_000_000 + position as i64, 0).unwrap(),
                    actor: "test",
                    payload_digest: &digest,
                    prev_hash: &heads[stream],
                });
                heads.insert(stream, sealed.hash);
                rows.push(Row {
                    position,
                    stream: stream.to_string(),
                    revision,
                    envelope: sealed.envelope,
                    payload,
                    salt: salt.to_vec(),
                    hash: sealed.hash.to_vec(),
                });
            }
        }
        rows
    }

    fn verify(rows: &[Row]) -> Summary {
        let mut verifier = Verifier::new();
        for row in rows {
            verifier.check(row.raw());
        }
        verifier.finish()
    }

    fn only_break(rows: &[Row]) -> Break {
        let summary = verify(rows);
        assert_eq!(summary.breaks.len(), 1, "{:#?}", summary.breaks);
        summary.breaks[0].clone()
    }

    #[test]
    fn an_untouched_log_verifies() {
        let summary = verify(&log(&["cell-a", "cell-b", "org-x"], 5));
        assert!(summary.is_intact(), "{:?}", summary.breaks);
        assert_eq!((summary.events, summary.streams), (15, 3));
    }

    #[test]
    fn a_flipped_envelope_byte_is_a_hash_mismatch_at_that_event() {
        let mut rows = log(&["cell-a", "cell-b"], 4);
        rows[5].envelope[10] ^= 1; // cell-b revision 2
        let b = only_break(&rows);
        assert_eq!((b.stream.as_str(), b.revision, b.position), ("cell-b", 2, 5));
        assert!(matches!(b.kind, BreakKind::HashMismatch { .. }));
    }

    #[test]
    fn a_rehashed_envelope_breaks_the_next_link() {
        let mut rows = log(&["cell-a"], 4);
        rows[1].envelope[10] ^= 1;
        rows[1].hash = event_hash(&rows[1].envelope).to_vec();
        let b = only_break(&rows);
        // Either the altered envelope no longer decodes the same, or the next link breaks.
        assert_eq!(b.stream, "cell-a");
        assert!(b.revision == 1 || b.revision == 2, "{b}");
    }

    #[test]
    fn a_flipped_payload_byte_is_a_digest_mismatch() {
        let mut rows = log(&["cell-a", "cell-b"], 3);
        rows[2].payload[0] ^= 0x20; // cell-a revision 1
        let b = only_break(&rows);
        assert_eq!((b.stream.as_str(), b.revision), ("cell-a", 1));
        assert!(matches!(b.kind, BreakKind::PayloadDigestMismatch { .. }), "{b}");
    }

    #[test]
    fn a_deleted_event_is_named_by_its_revision() {
        let mut rows = log(&["cell-a", "cell-b"], 4);
        rows.remove(4); // cell-a revision 2
        let summary = verify(&rows);
        let chain = &summary.breaks;
        assert_eq!(chain.len(), 1, "{:#?}", summary.breaks);
        assert_eq!((chain[0].stream.as_str(), chain[0].revision), ("cell-a", 2));
        assert!(chain[0].to_string().contains("revision 2 is missing"), "{}", chain[0]);
        assert_eq!(summary.gaps, [Gap { expected: 4, found: 5 }]);
        assert_eq!(summary.gaps[0].to_string(), "the global order jumps from position 4 to 5: 1 event(s) missing");
    }

    #[test]
    fn two_swapped_events_of_a_stream_are_named() {
        let mut rows = log(&["cell-a", "cell-b"], 4);
        // Swap the rows of cell-a revisions 1 and 2 (positions 2 and 4), keeping positions.
        rows.swap(2, 4);
        rows[2].position = 2;
        rows[4].position = 4;
        let b = only_break(&rows);
        assert_eq!((b.stream.as_str(), b.revision), ("cell-a", 1), "{b}");
        assert_eq!(b.kind, BreakKind::RevisionGap { found: 2 });
    }

    #[test]
    fn an_event_filed_under_another_stream_is_caught() {
        let mut rows = log(&["cell-a", "cell-b"], 2);
        rows[3].stream = "cell-a".into(); // cell-b revision 1, filed under cell-a
        let b = verify(&rows).breaks.into_iter().find(|b| b.stream == "cell-a").unwrap();
        assert!(matches!(b.kind, BreakKind::IndexMismatch { field: "stream", .. }), "{b}");
    }

    #[test]
    fn a_wrong_genesis_is_caught() {
        let mut rows = log(&["cell-a"], 1);
        let other = log(&["cell-b"], 1);
        // An envelope claiming cell-a but chained from cell-b's genesis cannot be built from
        // `log`, so rename cell-b's record: its envelope still says cell-b.
        rows[0] = Row { stream: "cell-a".into(), ..other.into_iter().next().unwrap() };
        let b = only_break(&rows);
        assert!(matches!(b.kind, BreakKind::IndexMismatch { .. }), "{b}");
    }

    #[test]
    fn the_leaf_data_is_the_hash_of_the_stored_envelope_whatever_the_hash_column_says() {
        let mut rows = log(&["cell-a"], 3);
        rows[1].hash[0] ^= 1;
        let mut verifier = Verifier::new();
        let checked: Vec<_> = rows.iter().map(|row| verifier.check_and_hash(row.raw())).collect();
        for (row, (_, hash)) in rows.iter().zip(&checked) {
            assert_eq!(*hash, event_hash(&row.envelope));
        }
        assert_eq!(checked.iter().map(|(intact, _)| *intact).collect::<Vec<_>>(), [true, false, false]);
        let b = verifier.finish().breaks;
        assert_eq!(b.len(), 1);
        assert!(matches!(b[0].kind, BreakKind::HashMismatch { .. }), "{}", b[0]);
    }

    #[test]
    fn short_columns_are_malformed_records() {
        let mut rows = log(&["cell-a"], 2);
        rows[1].salt.pop();
        let b = only_break(&rows);
        assert_eq!(b.revision, 1);
        assert!(b.to_string().contains("salt is 15 bytes"), "{b}");
    }

    /// The walk with every hash checked apart, after the rest, and in reverse order.
    fn verify_deferred(rows: &[Row]) -> Summary {
        let mut verifier = Verifier::new();
        let deferred: Vec<_> = rows.iter().map(|row| (row, verifier.check_deferring_hashes(row.raw()).0)).collect();
        for (row, deferred) in deferred.iter().rev() {
            let (leaf, broken) = check_deferred(&row.raw(), deferred);
            assert_eq!(leaf, event_hash(&row.envelope));
            if let Some(broken) = broken {
                verifier.deferred_broke(broken);
            }
        }
        verifier.finish()
    }

    #[test]
    fn hashes_checked_apart_give_the_same_summary_as_one_pass() {
        type Tamper = fn(&mut Vec<Row>);
        let cases: [(&str, Tamper); 15] = [
            ("untouched", |_| {}),
            ("one payload", |rows| rows[4].payload[0] ^= 1),
            ("payloads of two streams", |rows| {
                rows[1].payload[0] ^= 1;
                rows[6].payload[0] ^= 1;
            }),
            ("a payload, then the same stream's envelope", |rows| {
                rows[3].payload[0] ^= 1;
                rows[9].envelope[10] ^= 1;
            }),
            ("an envelope, then the same stream's payload", |rows| {
                rows[3].envelope[10] ^= 1;
                rows[9].payload[0] ^= 1;
            }),
            ("two payloads of one stream", |rows| {
                rows[0].payload[0] ^= 1;
                rows[6].payload[0] ^= 1;
            }),
            ("a salt", |rows| rows[7].salt[0] ^= 1),
            ("an envelope", |rows| rows[5].envelope[10] ^= 1),
            ("a stored hash", |rows| rows[5].hash[0] ^= 1),
            ("an envelope and its payload", |rows| {
                rows[5].envelope[10] ^= 1;
                rows[5].payload[0] ^= 1;
            }),
            ("a stored hash, then the same stream's payload", |rows| {
                rows[2].hash[0] ^= 1;
                rows[8].payload[0] ^= 1;
            }),
            ("a stored hash and a short salt", |rows| {
                rows[4].hash[0] ^= 1;
                rows[4].salt.pop();
            }),
            ("a short hash", |rows| rows[4].hash.truncate(31)),
            ("a rehashed envelope", |rows| {
                rows[4].envelope[10] ^= 1;
                rows[4].hash = event_hash(&rows[4].envelope).to_vec();
            }),
            ("an event deleted, and another's envelope", |rows| {
                rows.remove(4);
                rows[7].envelope[10] ^= 1;
            }),
        ];
        for (name, tamper) in cases {
            let mut rows = log(&["cell-a", "cell-b", "cell-c"], 4);
            tamper(&mut rows);
            let (one_pass, apart) = (verify(&rows), verify_deferred(&rows));
            assert_eq!(apart, one_pass, "{name}");
            assert_eq!(one_pass.is_intact(), name == "untouched", "{name}: {:?}", one_pass.breaks);
        }
    }
}
