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

#[derive(Debug, Clone, Copy)]
enum Head {
    Intact { next_revision: u64, last_hash: Hash },
    Broken,
}

/// Where a stream first shows in a part of the log that begins later (see
/// [`Verifier::later_part`]): what its first event there says of the chain before it.
#[derive(Debug)]
struct Entry {
    /// Its index in the part's walk.
    index: u64,
    position: u64,
    revision: u64,
    prev_hash: Hash,
}

/// What a verifier of a later part knows of where it begins.
#[derive(Debug, Default)]
struct LaterPart {
    /// The position of its first event, once seen.
    first_position: Option<u64>,
    /// Each stream's first event in the part, if everything but the chain before it held.
    entries: Vec<(String, Entry)>,
}

/// Walks a log in global order from position 0. Feed every stored event to [`Verifier::check`],
/// then read the [`Summary`] from [`Verifier::finish`].
///
/// A long log can be walked in parts at once, each by its own verifier: the first from
/// [`Verifier::new`], each later one from [`Verifier::later_part`], given to the first in
/// order with [`Verifier::join`]. The summary is the one a single walk gives.
#[derive(Debug, Default)]
pub struct Verifier {
    next_position: u64,
    /// Looked up once per event: hashed with foldhash (seeded per process) rather than SipHash.
    heads: HashMap<String, Head, foldhash::fast::RandomState>,
    later: Option<LaterPart>,
    /// Each break with the index in the walk of the event it was found at.
    breaks: Vec<(u64, Break)>,
    summary: Summary,
}

impl Verifier {
    /// A verifier for a log that starts at position 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// A verifier for a part of the log that begins later, after events it does not see: its
    /// first event may be at any position, and each stream's first event in it continues a
    /// chain it cannot check. [`Verifier::join`] checks both against the part before it.
    pub fn later_part() -> Self {
        Self { later: Some(LaterPart::default()), ..Self::default() }
    }

    /// Checks the next stored event. Returns false when it broke something.
    pub fn check(&mut self, event: RawEvent<'_>) -> bool {
        self.check_and_hash(event).0
    }

    /// Checks the next stored event, like [`Verifier::check`], and returns the hash of its
    /// stored envelope with it: the event's leaf data in the Merkle log, computed once for both.
    /// It is the hash the envelope has, whatever the stored hash column says.
    ///
    /// The envelope it decoded comes back too, unless it does not decode, or its stream is
    /// broken already and it was not read.
    pub fn check_and_hash<'a>(&mut self, event: RawEvent<'a>) -> (bool, Hash, Option<EnvelopeRef<'a>>) {
        let computed = event_hash(event.envelope);
        let index = self.summary.events;
        self.summary.events += 1;
        let mut intact = true;
        match &mut self.later {
            Some(LaterPart { first_position: first @ None, .. }) => *first = Some(event.position),
            _ if event.position != self.next_position => {
                self.summary.gaps.push(Gap { expected: self.next_position, found: event.position });
                intact = false;
            }
            _ => {}
        }
        self.next_position = event.position.saturating_add(1);

        // The stream's head is updated in place: a key is allocated once per stream.
        let (head, first) = match self.heads.get_mut(event.stream) {
            Some(head) => (head, false),
            None => {
                // Entering a later part, the chain's head is the join's to find: the event is
                // checked without one, and the head is set after it.
                let last_hash = if self.later.is_some() { [0; HASH_LEN] } else { genesis(event.stream) };
                let head = Head::Intact { next_revision: 0, last_hash };
                (self.heads.entry(event.stream.to_owned()).or_insert(head), true)
            }
        };
        let Head::Intact { next_revision, last_hash } = *head else { return (false, computed, None) };
        let envelope = EnvelopeRef::decode(event.envelope);
        // A stream's first event in a later part continues a chain this verifier has not seen.
        let entering = self.later.as_mut().filter(|_| first);
        let expected = if entering.is_some() { None } else { Some((next_revision, last_hash)) };
        let checked = check_chain(&event, &envelope, expected, computed);
        let envelope = envelope.ok();
        if let (Some(part), Some(decoded)) = (entering, &envelope) {
            // The payload is checked after the chain: the join may find the chain broken first.
            if matches!(checked, Ok(_) | Err((_, BreakKind::PayloadDigestMismatch { .. }))) {
                let (position, revision, prev_hash) = (event.position, decoded.revision, decoded.prev_hash);
                let entry = Entry { index, position, revision, prev_hash };
                part.entries.push((event.stream.to_owned(), entry));
            }
        }
        match checked {
            Ok(hash) => {
                // The revision is the stream's next (or, entering, its own), as checked.
                *head = Head::Intact { next_revision: event.revision.saturating_add(1), last_hash: hash };
                (intact, computed, envelope)
            }
            Err((revision, kind)) => {
                *head = Head::Broken;
                let stream = event.stream.to_owned();
                self.breaks.push((index, Break { position: event.position, stream, revision, kind }));
                (false, computed, envelope)
            }
        }
    }

    /// Continues this walk with `later`, the walk of the part of the log right after the
    /// events this one saw: checks that its first position follows this walk's last, and that
    /// each of its streams' first event continues that stream's chain here (or is its
    /// genesis).
    ///
    /// Panics if `later` is not a [`Verifier::later_part`], or this one is: a program error.
    pub fn join(&mut self, later: Verifier) {
        assert!(self.later.is_none(), "a later part is joined to the walk from position 0");
        let Verifier { next_position, mut heads, later: Some(part), breaks, summary } = later else {
            panic!("only a later part is joined to a walk")
        };
        let Summary { events, streams: _, breaks: _, gaps } = summary;
        // The later part's events come after this walk's.
        let offset = self.summary.events;
        if let Some(first) = part.first_position {
            if first != self.next_position {
                self.summary.gaps.push(Gap { expected: self.next_position, found: first });
            }
            self.next_position = next_position;
        }
        self.summary.gaps.extend(gaps);
        self.summary.events += events;
        self.breaks.extend(breaks.into_iter().map(|(index, broken)| (offset + index, broken)));
        for (stream, entry) in part.entries {
            let (next_revision, last_hash) = match self.heads.get(&stream) {
                Some(Head::Broken) => continue,
                Some(&Head::Intact { next_revision, last_hash }) => (next_revision, last_hash),
                None => (0, genesis(&stream)),
            };
            let Err((revision, kind)) = continues(entry.revision, entry.prev_hash, (next_revision, last_hash)) else {
                continue;
            };
            let broken = Break { position: entry.position, stream: stream.clone(), revision, kind };
            self.breaks.push((offset + entry.index, broken));
            heads.insert(stream, Head::Broken);
        }
        self.heads.extend(heads);
    }

    /// Ends the walk.
    pub fn finish(mut self) -> Summary {
        self.summary.streams = self.heads.len();
        // The first break of each stream, in the order of the walk. Walked in one part there is
        // one per stream already; walked in parts, a stream may break in two, and the join may
        // find a break at a stream's first event in a later part, where that part found its
        // payload not matching: the chain is checked first, so that break comes first.
        let mut breaks = self.breaks;
        breaks.sort_by_key(|(index, b)| (*index, matches!(b.kind, BreakKind::PayloadDigestMismatch { .. })));
        let mut broken = std::collections::HashSet::new();
        self.summary.breaks = breaks.into_iter().map(|(_, b)| b).filter(|b| broken.insert(b.stream.clone())).collect();
        self.summary
    }
}

/// Whether an event of `revision` whose `prev_hash` is given continues a chain whose next
/// revision and last hash are `expected`; where and how it breaks it if not.
fn continues(revision: u64, prev_hash: Hash, (next_revision, last_hash): (u64, Hash)) -> Result<(), (u64, BreakKind)> {
    if revision != next_revision {
        return Err((next_revision, BreakKind::RevisionGap { found: revision }));
    }
    if prev_hash != last_hash {
        return Err((revision, BreakKind::PrevHashMismatch { expected: last_hash, found: prev_hash }));
    }
    Ok(())
}

/// Checks one event against its stream's head (`expected`: its next revision and last hash;
/// `None` when the chain before it is checked apart), given the hash of its envelope; returns
/// its stored hash, or where and how it breaks.
fn check_chain(
    event: &RawEvent<'_>,
    envelope: &Result<EnvelopeRef<'_>, EnvelopeError>,
    expected: Option<(u64, Hash)>,
    computed: Hash,
) -> Result<Hash, (u64, BreakKind)> {
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
    if computed != stored {
        return Err(at_record(BreakKind::HashMismatch { stored, computed }));
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
    if let Some(expected) = expected {
        continues(envelope.revision, envelope.prev_hash, expected)?;
    }
    let digest = payload_digest(salt, event.payload);
    if digest != envelope.payload_digest {
        return Err(at_record(BreakKind::PayloadDigestMismatch {
            envelope: envelope.payload_digest,
            computed: digest,
        }));
    }
    Ok(stored)
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
        for (row, (_, hash, _)) in rows.iter().zip(&checked) {
            assert_eq!(*hash, event_hash(&row.envelope));
        }
        assert_eq!(checked.iter().map(|(intact, _, _)| *intact).collect::<Vec<_>>(), [true, false, false]);
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

    /// The walk in parts: the rows from each of `cuts` on walked by a later part, all joined
    /// to the first.
    fn verify_in_parts(rows: &[Row], cuts: &[usize]) -> Summary {
        let mut first = Verifier::new();
        rows[..cuts.first().copied().unwrap_or(rows.len())].iter().for_each(|row| _ = first.check(row.raw()));
        let ends = cuts.iter().skip(1).copied().chain([rows.len()]);
        for (&start, end) in cuts.iter().zip(ends) {
            let mut part = Verifier::later_part();
            rows[start..end].iter().for_each(|row| _ = part.check(row.raw()));
            first.join(part);
        }
        first.finish()
    }

    #[test]
    fn a_log_walked_in_parts_gives_the_summary_of_one_walk() {
        type Tamper = fn(&mut Vec<Row>);
        let cases: [(&str, Tamper); 22] = [
            ("two swapped events of a stream", |rows| {
                rows.swap(3, 6);
                (rows[3].position, rows[6].position) = (3, 6);
            }),
            ("an event deleted, then its stream's next payload", |rows| {
                rows.remove(4);
                rows[6].payload[0] ^= 1;
            }),
            ("a stream's first event deleted", |rows| drop(rows.remove(1))),
            ("an event moved to the end", |rows| {
                let moved = rows.remove(5);
                rows.push(moved);
            }),
            ("the first event's position", |rows| rows[0].position = 7),
            ("a stream's event filed under another", |rows| rows[7].stream = "cell-a".into()),
            ("an event chained to another stream's genesis", |rows| {
                let other = log(&["cell-d"], 1).remove(0);
                rows[9] = Row { stream: "cell-a".into(), revision: 3, position: 9, ..other };
            }),
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
            let one_pass = verify(&rows);
            assert_eq!(one_pass.is_intact(), name == "untouched", "{name}: {:?}", one_pass.breaks);
            for a in 0..=rows.len() {
                assert_eq!(verify_in_parts(&rows, &[a]), one_pass, "{name}: parts from 0 and {a}");
                for b in a..=rows.len() {
                    assert_eq!(verify_in_parts(&rows, &[a, b]), one_pass, "{name}: parts from 0, {a} and {b}");
                }
            }
        }
    }
}
