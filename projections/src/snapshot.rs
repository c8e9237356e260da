//! The canonical encoding of a [`State`]: what a snapshot file holds, and the bytes the
//! "incremental equals rebuilt" property compares.
//!
//! The encoding is protobuf, written from ordered maps, so one state has one encoding. It holds
//! the facts and the id entries only: the index is derived again on decode. Each event is kept
//! as its stored payload encoding (`chibo_proto::convert::encode_payload`), so a snapshot needs
//! no format of its own for the catalogue.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use chibo_domain::{Event, EventId, EventType, StreamName, Timestamp};
use chibo_proto::convert;
use chibo_proto::wire::{Reader, Writer};
use prost::Message;

use crate::state::{Assembly, Fact, Frozen, IdEntry, Role, State, StreamBook};

/// The version of the encoding below; a snapshot of another version is not read.
pub const FORMAT: u32 = 1;

/// The state's fields but its streams. The encoding is this message followed by one
/// `StreamBody` under tag [`STREAMS`] per stream, in name order: what prost writes for the
/// message with the streams as a repeated field, written a stream at a time so that no copy of
/// the whole state is ever held apart from its bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct StateHead {
    #[prost(uint32, tag = "1")]
    format: u32,
    #[prost(uint64, tag = "2")]
    log_size: u64,
    #[prost(bytes = "vec", tag = "3")]
    last_hash: Vec<u8>,
}

/// The tag of the streams in the state's encoding.
///
/// A stream is the message `StreamBody` below, its id entries `IdBody` and its facts
/// `FactBody`. The writer ([`Frozen::write_to`]) and the reader ([`State::decode`]) take them a
/// field at a time, where they lie; the messages are declared for the tests, which check both
/// against what prost writes and reads.
const STREAMS: u32 = 4;

#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct StreamBody {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(uint64, tag = "2")]
    next_revision: u64,
    #[prost(message, repeated, tag = "3")]
    ids: Vec<IdBody>,
    #[prost(message, repeated, tag = "4")]
    facts: Vec<FactBody>,
}

#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct IdBody {
    #[prost(bytes = "vec", tag = "1")]
    event_id: Vec<u8>,
    #[prost(uint64, tag = "2")]
    revision: u64,
    /// Empty for an unreadable event.
    #[prost(string, tag = "3")]
    event_type: String,
    /// 0 original, 1 retracted, 2 correction, 3 retraction, 4 unreadable.
    #[prost(uint32, tag = "4")]
    role: u32,
    /// The retraction (role 1) or the target (roles 2 and 3).
    #[prost(bytes = "vec", tag = "5")]
    other: Vec<u8>,
}

#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct FactBody {
    #[prost(bytes = "vec", tag = "1")]
    event_id: Vec<u8>,
    #[prost(uint64, tag = "2")]
    position: u64,
    #[prost(uint64, tag = "3")]
    revision: u64,
    #[prost(int64, tag = "4")]
    seconds: i64,
    #[prost(uint32, tag = "5")]
    nanos: u32,
    #[prost(string, tag = "6")]
    event_type: String,
    #[prost(bytes = "vec", tag = "7")]
    payload: Vec<u8>,
    #[prost(bytes = "vec", tag = "8")]
    corrected_by: Vec<u8>,
}

/// Why snapshot bytes could not be read as a state.
#[derive(Debug, thiserror::Error)]
#[error("snapshot: {0}")]
pub struct DecodeError(String);

fn bad(what: impl Into<String>) -> DecodeError {
    DecodeError(what.into())
}

impl Frozen {
    /// The canonical encoding of the state this was frozen from, as it was then.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out).expect("writing to a vector does not fail");
        out
    }

    /// Writes [`Frozen::encode`]'s bytes to `out` a stream at a time, so that the whole
    /// encoding is never held in memory: a snapshot's file is written this way. Each stream is
    /// written field by field as prost writes a `StreamBody`, without building one.
    pub fn write_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let head = StateHead {
            format: FORMAT,
            log_size: self.log_size,
            last_hash: self.last_hash.map(|h| h.to_vec()).unwrap_or_default(),
        };
        out.write_all(&head.encode_to_vec())?;
        let mut writer = Writer::default();
        for (name, book) in &self.streams {
            writer.clear();
            writer.message_with(STREAMS as u8, |w| write_stream(w, name, book));
            out.write_all(writer.as_bytes())?;
        }
        Ok(())
    }
}

/// A `StreamBody`'s fields, as prost writes them.
fn write_stream(w: &mut Writer, name: &StreamName, book: &StreamBook) {
    w.text_field(1, &name.to_string());
    w.varint_field(2, book.next_revision);
    for (id, entry) in book.ids() {
        w.message_with(3, |w| write_id(w, &id, &entry));
    }
    for (id, fact) in book.facts() {
        w.message_with(4, |w| write_fact(w, id, fact, book.corrected_by(id)));
    }
}

/// An `IdBody`'s fields, as prost writes them.
fn write_id(w: &mut Writer, id: &EventId, entry: &IdEntry) {
    let (role, other) = role_and_other(entry.role);
    w.bytes_field(1, id.as_bytes());
    w.varint_field(2, entry.revision);
    w.text_field(3, entry.event_type.map_or("", EventType::name));
    w.varint_field(4, u64::from(role));
    w.bytes_field(5, other.as_ref().map_or(&[][..], |o| o.as_bytes()));
}

/// A `FactBody`'s fields, as prost writes them.
fn write_fact(w: &mut Writer, id: &EventId, fact: &Fact, corrected_by: Option<EventId>) {
    w.bytes_field(1, id.as_bytes());
    w.varint_field(2, fact.position);
    w.varint_field(3, fact.revision);
    // An int64 as its two's complement, as prost writes it.
    w.varint_field(4, fact.occurred_at.seconds() as u64);
    w.varint_field(5, u64::from(fact.occurred_at.nanos()));
    w.text_field(6, fact.event.event_type().name());
    w.bytes_field(7, &convert::encode_payload(&fact.event));
    w.bytes_field(8, corrected_by.as_ref().map_or(&[][..], |c| c.as_bytes()));
}

/// An id entry's role as the encoding numbers it, and the other event it names, if any.
fn role_and_other(role: Role) -> (u32, Option<EventId>) {
    match role {
        Role::Original => (0, None),
        Role::Retracted { by } => (1, Some(by)),
        Role::Correction { target } => (2, Some(target)),
        Role::Retraction { target } => (3, Some(target)),
        Role::Unreadable => (4, None),
    }
}

impl State {
    /// The state's canonical encoding: equal states, and only they, encode to equal bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.freeze().encode()
    }

    /// Reads a state from [`State::encode`]'s bytes, deriving its index again.
    ///
    /// The streams are read on as many threads as the machine has cores (up to four), eight
    /// streams at a time, each field read where it lies in `bytes`; meanwhile this thread
    /// derives the index from the streams read, in name order. A state read this way is the
    /// state read on one thread (docs/BENCHMARKS.md, twenty-sixth round).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let readers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::decode_on(bytes, readers.min(READERS))
    }

    /// [`State::decode`] on `readers` threads besides this one (none: on this one alone).
    pub(crate) fn decode_on(bytes: &[u8], readers: usize) -> Result<Self, DecodeError> {
        // The head's fields and the streams, in one pass over the state's message.
        let (mut format, mut log_size, mut last_hash, mut bodies) = (0, 0, &[][..], Vec::new());
        for field in fields(bytes) {
            match field.map_err(bad)? {
                (1, value) => format = value.varint("the format")?,
                (2, value) => log_size = value.varint("the log size")?,
                (3, value) => last_hash = value.bytes("the last hash")?,
                (STREAMS, value) => bodies.push(value.bytes("a stream")?),
                _ => {}
            }
        }
        if format != u64::from(FORMAT) {
            return Err(bad(format!("format {format} is not {FORMAT}")));
        }
        let last_hash = match last_hash.len() {
            0 => None,
            _ => Some(<[u8; 32]>::try_from(last_hash).map_err(|_| bad("last_hash is not 32 bytes"))?),
        };
        // What a replay keeps stays in the state; so does what this reads.
        let _bulk = crate::heap::Bulk::begin();
        let mut assembly = Assembly::default();
        let mut last: Option<StreamName> = None;
        read_books(&bodies, readers, |name, book| {
            // In name order, each once: the encoding's order, and a stream repeated would put
            // its facts in the index twice.
            if last.as_ref().is_some_and(|last| *last >= name) {
                return Err(bad(format!("the stream {name} is out of order or repeated")));
            }
            last = Some(name.clone());
            assembly.add(name, book);
            Ok(())
        })?;
        Ok(assembly.finish(log_size, last_hash))
    }
}

/// The most threads a snapshot is read on besides the one deriving its index.
const READERS: usize = 4;

/// How many streams a thread reading a snapshot takes at a time. A cell's stream holds about a
/// thousand facts of the demo's year; a committee's, a few.
const BATCH: usize = 8;

/// What one thread reading a snapshot hands over: the streams of one batch, or why they do not
/// read.
type Batch = Result<Vec<(StreamName, StreamBook)>, DecodeError>;

/// Reads each of the streams' encodings `bodies` as a stream's name and book, on `readers`
/// threads, and gives them to `take` in order on this thread. The first error in that order,
/// of a stream or of `take`, stops the reading and is returned.
fn read_books(
    bodies: &[&[u8]],
    readers: usize,
    mut take: impl FnMut(StreamName, StreamBook) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    if readers == 0 || bodies.len() <= BATCH {
        for body in bodies {
            let (name, book) = read_book(body)?;
            take(name, book)?;
        }
        return Ok(());
    }
    let batches: Vec<&[&[u8]]> = bodies.chunks(BATCH).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (read, books) = std::sync::mpsc::sync_channel::<(usize, Batch)>(2 * readers);
        for _ in 0..readers {
            let (read, next, batches) = (read.clone(), &next, &batches);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(batch) = batches.get(index) else { break };
                    let books = batch.iter().map(|body| read_book(body)).collect();
                    // The receiver gone: the reading stopped at an error.
                    if read.send((index, books)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(read);
        // Batches read out of order wait here for those before them.
        let mut waiting = BTreeMap::new();
        for index in 0..batches.len() {
            let books = loop {
                if let Some(books) = waiting.remove(&index) {
                    break books;
                }
                let (i, books) = books.recv().map_err(|_| bad("a thread reading the snapshot stopped"))?;
                waiting.insert(i, books);
            };
            for (name, book) in books? {
                take(name, book)?;
            }
        }
        Ok(())
    })
}

/// A field's value as the snapshot's messages hold them: a varint, or bytes.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

impl<'a> Value<'a> {
    fn varint(self, field: &str) -> Result<u64, DecodeError> {
        match self {
            Value::Varint(value) => Ok(value),
            Value::Bytes(_) => Err(bad(format!("{field} is bytes, not a number"))),
        }
    }

    fn bytes(self, field: &str) -> Result<&'a [u8], DecodeError> {
        match self {
            Value::Bytes(value) => Ok(value),
            Value::Varint(_) => Err(bad(format!("{field} is a number, not bytes"))),
        }
    }

    fn text(self, field: &str) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes(field)?).map_err(|_| bad(format!("{field} is not UTF-8")))
    }

    fn event_id(self, field: &str) -> Result<EventId, DecodeError> {
        event_id(self.bytes(field)?, field)
    }
}

/// The fields of the protobuf message `message` in order, each its number and its value, read
/// where they lie (by [`Reader`], which takes varints as protobuf's rules have them). Only
/// varints and length-delimited values are read (all the snapshot messages declare); another
/// wire type, or a value running past the message's end, is an error, after which nothing more
/// is read.
fn fields(message: &[u8]) -> impl Iterator<Item = Result<(u32, Value<'_>), String>> {
    let mut reader = Reader::new(message);
    std::iter::from_fn(move || {
        if reader.is_done() {
            return None;
        }
        let field = next_field(&mut reader);
        if field.is_err() {
            reader = Reader::new(&[]);
        }
        Some(field)
    })
}

fn next_field<'a>(reader: &mut Reader<'a>) -> Result<(u32, Value<'a>), String> {
    let key = reader.varint().ok_or("a field's key is not a varint")?;
    let field = u32::try_from(key >> 3).ok().filter(|&field| field > 0);
    let field = field.ok_or_else(|| format!("a field's key, {key}, numbers no field"))?;
    match key & 7 {
        0 => reader
            .varint()
            .map(|value| (field, Value::Varint(value)))
            .ok_or_else(|| format!("field {field} is not a varint")),
        2 => reader
            .delimited()
            .map(|value| (field, Value::Bytes(value)))
            .ok_or_else(|| format!("field {field} runs past the end of its message")),
        wire => Err(format!("field {field} has wire type {wire}, which no field here has")),
    }
}

/// The values of every length-delimited field `tag` of the protobuf message `message`, in
/// order, as slices of it; other fields are passed over (see [`fields`]).
pub(crate) fn length_delimited(message: &[u8], tag: u32) -> Result<Vec<&[u8]>, String> {
    let mut values = Vec::new();
    for field in fields(message) {
        if let (number, Value::Bytes(value)) = field? {
            if number == tag {
                values.push(value);
            }
        }
    }
    Ok(values)
}

/// A `StreamBody`'s stream: its name and book. Fields read more than once keep their last
/// value, as prost's would; fields no `StreamBody` declares are passed over.
fn read_book(body: &[u8]) -> Result<(StreamName, StreamBook), DecodeError> {
    let (mut name, mut next_revision) = ("", 0);
    let mut entries = Vec::new();
    let mut facts = Vec::new();
    let mut read = || {
        for field in fields(body) {
            match field.map_err(bad)? {
                (1, value) => name = value.text("a stream's name")?,
                (2, value) => next_revision = value.varint("a stream's next revision")?,
                (3, value) => entries.push(read_id(value.bytes("an id entry")?)?),
                (4, value) => facts.push(read_fact(value.bytes("a fact")?)?),
                _ => {}
            }
        }
        Ok(())
    };
    // An error names the stream, once its name is read (the encoding writes it first).
    read().map_err(|e: DecodeError| match name {
        "" => e,
        name => bad(format!("{name}: {}", e.0)),
    })?;
    let name = StreamName::parse("name", name).map_err(|e| bad(e.to_string()))?;
    let facts: BTreeMap<_, _> = facts.into_iter().collect();
    let book = State::book_from_parts(next_revision, entries, facts).map_err(|e| bad(format!("{name}: {e}")))?;
    Ok((name, book))
}

/// An `IdBody`'s event id and entry.
fn read_id(body: &[u8]) -> Result<(EventId, IdEntry), DecodeError> {
    let (mut id, mut revision, mut event_type, mut role, mut other) = (None, 0, "", 0, None);
    for field in fields(body) {
        match field.map_err(bad)? {
            (1, value) => id = Some(value.event_id("an id entry's event id")?),
            (2, value) => revision = value.varint("an id entry's revision")?,
            (3, value) => event_type = value.text("an id entry's event type")?,
            (4, value) => role = value.varint("an id entry's role")?,
            (5, value) => other = Some(value.bytes("an id entry's other event")?),
            _ => {}
        }
    }
    let other = || event_id(other.unwrap_or_default(), "an id entry's other event");
    let role = match role {
        0 => Role::Original,
        1 => Role::Retracted { by: other()? },
        2 => Role::Correction { target: other()? },
        3 => Role::Retraction { target: other()? },
        4 => Role::Unreadable,
        n => return Err(bad(format!("unknown role {n}"))),
    };
    let event_type = match event_type {
        "" => None,
        name => Some(EventType::from_name(name).ok_or_else(|| bad(format!("unknown event type {name}")))?),
    };
    let id = id.ok_or_else(|| bad("an id entry has no event id"))?;
    Ok((id, IdEntry { revision, event_type, role }))
}

/// A `FactBody`'s event id, fact and latest correction.
fn read_fact(body: &[u8]) -> Result<(EventId, (Fact, Option<EventId>)), DecodeError> {
    let (mut id, mut position, mut revision, mut seconds, mut nanos) = (None, 0, 0, 0, 0);
    let (mut event_type, mut payload, mut corrected_by) = ("", &[][..], None);
    for field in fields(body) {
        match field.map_err(bad)? {
            (1, value) => id = Some(value.event_id("a fact's event id")?),
            (2, value) => position = value.varint("a fact's position")?,
            (3, value) => revision = value.varint("a fact's revision")?,
            // An int64 is written as its two's complement, as prost writes it.
            (4, value) => seconds = value.varint("a fact's seconds")? as i64,
            (5, value) => nanos = value.varint("a fact's nanos")?,
            (6, value) => event_type = value.text("a fact's event type")?,
            (7, value) => payload = value.bytes("a fact's payload")?,
            (8, value) => corrected_by = Some(value.bytes("a fact's correction")?).filter(|c| !c.is_empty()),
            _ => {}
        }
    }
    let nanos = i32::try_from(nanos).map_err(|_| bad(format!("a fact's nanos, {nanos}, is out of range")))?;
    let occurred_at = Timestamp::new("occurred_at", seconds, nanos).map_err(|e| bad(e.to_string()))?;
    let event = decode_event(event_type, payload).map_err(bad)?;
    let corrected_by = corrected_by.map(|c| event_id(c, "a fact's correction")).transpose()?;
    let id = id.ok_or_else(|| bad("a fact has no event id"))?;
    Ok((id, (Fact { position, revision, occurred_at, event }, corrected_by)))
}

/// The event id `bytes` hold, the value of `field`.
fn event_id(bytes: &[u8], field: &str) -> Result<EventId, DecodeError> {
    <[u8; 16]>::try_from(bytes).map(EventId::from_bytes).map_err(|_| bad(format!("{field} is not 16 bytes")))
}

/// Reads a stored payload as the event of type `event_type`, or says why it cannot.
pub fn decode_event(event_type: &str, payload: &[u8]) -> Result<Event, String> {
    let Some(known) = EventType::from_name(event_type) else {
        return Err(convert::PayloadError::UnknownType(event_type.to_owned()).to_string());
    };
    if let Some(event) = convert::decode_in_place(known, payload) {
        return Ok(event);
    }
    let wire = convert::decode_payload_of(known, payload).map_err(|e| e.to_string())?;
    Event::try_from(wire).map_err(|e| format!("{event_type}: {e}"))
}

#[cfg(test)]
mod tests {
    use chibo_domain::event::{OrgLevel, OrganizationRegistered, OrganizationRegisteredFields};
    use chibo_domain::Id;

    use super::*;
    use crate::Recorded;

    /// The state's message as one prost message, its streams a repeated field: what the
    /// encoding written a stream at a time must equal.
    #[derive(Clone, PartialEq, prost::Message)]
    struct StateBody {
        #[prost(uint32, tag = "1")]
        format: u32,
        #[prost(uint64, tag = "2")]
        log_size: u64,
        #[prost(bytes = "vec", tag = "3")]
        last_hash: Vec<u8>,
        #[prost(message, repeated, tag = "4")]
        streams: Vec<StreamBody>,
    }

    /// What prost writes for a stream's id entry: the encoding's reference.
    fn id_body(id: &EventId, entry: &IdEntry) -> IdBody {
        let (role, other) = role_and_other(entry.role);
        IdBody {
            event_id: id.as_bytes().to_vec(),
            revision: entry.revision,
            event_type: entry.event_type.map(|t| t.name().to_owned()).unwrap_or_default(),
            role,
            other: other.map(|o| o.as_bytes().to_vec()).unwrap_or_default(),
        }
    }

    /// What prost writes for a fact: the encoding's reference.
    fn fact_body(id: &EventId, fact: &Fact, corrected_by: Option<EventId>) -> FactBody {
        FactBody {
            event_id: id.as_bytes().to_vec(),
            position: fact.position,
            revision: fact.revision,
            seconds: fact.occurred_at.seconds(),
            nanos: fact.occurred_at.nanos(),
            event_type: fact.event.event_type().name().to_owned(),
            payload: convert::encode_payload(&fact.event),
            corrected_by: corrected_by.map(|c| c.as_bytes().to_vec()).unwrap_or_default(),
        }
    }

    /// The registration of the province `org`.
    fn registered(org: &str) -> Event {
        OrganizationRegistered::new(OrganizationRegisteredFields {
            org_id: Id::parse("id", org).unwrap(),
            parent_id: None,
            level: OrgLevel::Province,
            name: format!("Tỉnh {org}"),
            cell_type: String::new(),
        })
        .unwrap()
        .into()
    }

    /// Applies `event` to `state` at `position`, as revision `revision` of `stream`.
    fn apply(state: &mut State, position: u64, stream: &str, revision: u64, event: Event, id: u8) {
        state.apply_owned(Recorded {
            position,
            stream: StreamName::parse("stream", stream).unwrap(),
            revision,
            event_id: EventId::from_bytes([id; 16]),
            occurred_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
            recorded_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
            hash: [position as u8; 32],
            event: Some(event),
        });
    }

    fn state(orgs: &[&str]) -> State {
        let mut state = State::new();
        for (position, org) in orgs.iter().enumerate() {
            apply(&mut state, position as u64, &format!("org-{org}"), 0, registered(org), position as u8 + 1);
        }
        state
    }

    #[test]
    fn streams_written_one_at_a_time_are_the_whole_message_prost_writes() {
        for orgs in [&[][..], &["a"], &["c", "a", "b"]] {
            let bytes = state(orgs).encode();
            let whole = StateBody::decode(bytes.as_slice()).unwrap();
            assert_eq!(whole.streams.len(), orgs.len());
            assert_eq!(whole.encode_to_vec(), bytes, "{orgs:?}");
            assert_eq!(State::decode(&bytes).unwrap().encode(), bytes, "{orgs:?} reads back");
        }
    }

    /// `live`, which holds `orgs` events, with a second event in `org-a` and a first in the
    /// stream of each of `more`.
    fn grown(mut live: State, orgs: usize, more: &[&str]) -> State {
        let mut position = orgs as u64;
        apply(&mut live, position, "org-a", 1, registered("a"), 0x80 + position as u8);
        for org in more {
            position += 1;
            apply(&mut live, position, &format!("org-{org}"), 0, registered(org), 0x80 + position as u8);
        }
        live
    }

    #[test]
    fn a_frozen_state_keeps_its_encoding_while_the_state_changes() {
        let before = state(&["a", "b"]).encode();
        let live = state(&["a", "b"]);
        let frozen = live.freeze();
        let live = grown(live, 2, &["c"]);
        assert_eq!(frozen.encode(), before, "the frozen state did not change with the state");
        let never_frozen = grown(state(&["a", "b"]), 2, &["c"]);
        assert_eq!(live.encode(), never_frozen.encode(), "freezing did not change the state");
        assert_ne!(live.encode(), before);
        assert_eq!(State::decode(&frozen.encode()).unwrap().encode(), before, "a frozen encoding reads back");
    }

    #[test]
    fn an_original_without_its_fact_or_a_fact_without_its_id_is_refused() {
        let bytes = state(&["a", "b"]).encode();
        let mut body = StateBody::decode(bytes.as_slice()).unwrap();
        body.streams[0].facts.clear();
        let err = State::decode(&body.encode_to_vec()).unwrap_err();
        assert!(err.to_string().contains("org-a: the original"), "{err}");

        let mut body = StateBody::decode(bytes.as_slice()).unwrap();
        body.streams[1].ids.clear();
        let err = State::decode(&body.encode_to_vec()).unwrap_err();
        assert!(err.to_string().contains("org-b: a fact has no id entry"), "{err}");
    }

    #[test]
    fn a_fact_corrected_by_what_is_not_its_correction_is_refused() {
        let mut live = state(&["a"]);
        let correction = chibo_domain::event::EventCorrected::new(chibo_domain::event::EventCorrectedFields {
            target_event_id: EventId::from_bytes([1; 16]),
            reason: "sửa tên".into(),
            replacement: Box::new(registered("a")),
        })
        .unwrap();
        apply(&mut live, 1, "org-a", 1, correction.into(), 9);
        let bytes = live.encode();
        assert_eq!(State::decode(&bytes).unwrap().encode(), bytes, "a corrected fact reads back");
        let mut body = StateBody::decode(bytes.as_slice()).unwrap();
        assert_eq!(body.streams[0].facts[0].corrected_by, [9; 16]);
        body.streams[0].facts[0].corrected_by = vec![1; 16];
        let err = State::decode(&body.encode_to_vec()).unwrap_err();
        assert!(err.to_string().contains("which is not a correction of it"), "{err}");
    }

    #[test]
    fn a_stream_cut_short_or_of_an_unknown_wire_type_is_refused() {
        let bytes = state(&["a", "b"]).encode();
        assert!(State::decode(&bytes[..bytes.len() - 1]).is_err(), "a cut stream is refused");
        let past = length_delimited(&bytes[..bytes.len() - 1], STREAMS).unwrap_err();
        assert!(past.contains("field 4 runs past the end"), "{past}");
        let mut fixed64 = bytes.clone();
        // Field 9 as a 64-bit value: no snapshot message has one.
        fixed64.extend([9 << 3 | 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let odd = State::decode(&fixed64).unwrap_err();
        assert!(odd.to_string().contains("field 9"), "{odd}");
    }

    /// Applies `event` (`None`: unreadable) as `id` at `position`, revision `revision` of
    /// `stream`, which happened `seconds` and `nanos` after 1970.
    fn record(state: &mut State, at: (u64, &str, u64), event: Option<Event>, id: u8, (seconds, nanos): (i64, i32)) {
        let (position, stream, revision) = at;
        state.apply_owned(Recorded {
            position,
            stream: StreamName::parse("stream", stream).unwrap(),
            revision,
            event_id: EventId::from_bytes([id; 16]),
            occurred_at: Timestamp::new("t", seconds, nanos).unwrap(),
            recorded_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
            hash: [position as u8; 32],
            event,
        });
    }

    #[test]
    fn the_streams_are_written_as_prost_writes_their_messages() {
        let mut live = State::new();
        // At position and revision 0, at 1970's first instant: fields left out as zeros.
        record(&mut live, (0, "org-a", 0), Some(registered("a")), 1, (0, 0));
        // Before 1970, with nanos: an int64 written as its two's complement.
        record(&mut live, (1, "org-b", 0), Some(registered("b")), 2, (-86_399, 5));
        let renamed = chibo_domain::event::EventCorrected::new(chibo_domain::event::EventCorrectedFields {
            target_event_id: EventId::from_bytes([1; 16]),
            reason: "sửa tên".into(),
            replacement: Box::new(registered("a2")),
        })
        .unwrap();
        record(&mut live, (2, "org-a", 1), Some(renamed.into()), 3, (1_700_000_000, 999_999_999));
        let withdrawn = chibo_domain::event::EventRetracted::new(chibo_domain::event::EventRetractedFields {
            target_event_id: EventId::from_bytes([7; 16]),
            reason: "nhầm".into(),
        })
        .unwrap();
        record(&mut live, (3, "org-b", 1), Some(registered("b2")), 7, (1_700_000_000, 0));
        record(&mut live, (4, "org-b", 2), Some(withdrawn.into()), 4, (1_700_000_000, 0));
        record(&mut live, (5, "org-c", 0), None, 5, (1_700_000_000, 0));
        record(&mut live, (6, "org-c", 1), Some(registered("c")), 6, (1_700_000_000, 0));

        let mut reference = StateHead { format: FORMAT, log_size: 7, last_hash: vec![6; 32] }.encode_to_vec();
        for (name, book) in live.streams() {
            let body = StreamBody {
                name: name.to_string(),
                next_revision: book.next_revision,
                ids: book.ids().map(|(id, entry)| id_body(&id, &entry)).collect(),
                facts: book.facts().map(|(id, fact)| fact_body(id, fact, book.corrected_by(id))).collect(),
            };
            prost::encoding::message::encode(STREAMS, &body, &mut reference);
        }
        let roles: Vec<u32> = StateBody::decode(reference.as_slice())
            .unwrap()
            .streams
            .iter()
            .flat_map(|s| s.ids.iter().map(|id| id.role))
            .collect();
        assert_eq!(roles, [0, 2, 0, 3, 1, 4, 0], "every role is in the state");
        let before_1970 = live.fact(&StreamName::parse("stream", "org-b").unwrap(), &EventId::from_bytes([2; 16]));
        assert_eq!(before_1970.map(|f| f.occurred_at.seconds()), Some(-86_399), "a fact in force");
        assert_eq!(live.encode(), reference, "what prost writes of the same messages");
        assert_eq!(State::decode(&reference).unwrap().encode(), reference, "and it reads back");
    }

    /// A state of `streams` organizations' streams, more than a batch of them.
    fn many(streams: usize) -> State {
        let names: Vec<String> = (0..streams).map(|n| format!("o{n:03}")).collect();
        state(&names.iter().map(String::as_str).collect::<Vec<_>>())
    }

    #[test]
    fn a_state_read_on_several_threads_is_the_state_read_on_one() {
        for streams in [0, 1, BATCH, BATCH + 1, 5 * BATCH + 3] {
            let live = many(streams);
            let bytes = live.encode();
            let alone = State::decode_on(&bytes, 0).unwrap();
            assert_eq!(alone.encode(), bytes, "{streams} streams read on one thread");
            assert_eq!(alone.index(), live.index(), "{streams} streams: the index derived again");
            for readers in [1, 2, 3, READERS] {
                let read = State::decode_on(&bytes, readers).unwrap();
                assert_eq!(read.encode(), bytes, "{streams} streams on {readers} threads");
                assert_eq!(read.index(), alone.index(), "{streams} streams on {readers} threads: the index");
                assert_eq!((read.log_size(), read.last_hash()), (alone.log_size(), alone.last_hash()));
            }
        }
    }

    #[test]
    fn the_first_stream_in_name_order_that_does_not_read_is_the_one_reported() {
        let bytes = many(6 * BATCH).encode();
        let mut body = StateBody::decode(bytes.as_slice()).unwrap();
        for damaged in [5 * BATCH + 2, BATCH + 3] {
            body.streams[damaged].facts[0].event_type = "MeetingHappened".into();
        }
        let damaged = body.encode_to_vec();
        for readers in [0, 1, 2, READERS] {
            let err = State::decode_on(&damaged, readers).unwrap_err().to_string();
            let first = format!("o{:03}: ", BATCH + 3);
            assert!(err.contains(&first) && err.contains("MeetingHappened"), "{readers} threads: {err}");
        }
    }

    #[test]
    fn a_stream_out_of_name_order_or_repeated_is_refused() {
        let bytes = many(3 * BATCH).encode();
        let whole = StateBody::decode(bytes.as_slice()).unwrap();
        let mut repeated = whole.clone();
        repeated.streams.insert(2 * BATCH, whole.streams[2 * BATCH].clone());
        let mut swapped = whole;
        swapped.streams.swap(1, BATCH + 1);
        // The first stream out of order: the one after the stream moved forward.
        for (body, name) in [(repeated, 2 * BATCH), (swapped, 2)] {
            for readers in [0, 2] {
                let err = State::decode_on(&body.encode_to_vec(), readers).unwrap_err().to_string();
                assert!(err.contains(&format!("the stream org-o{name:03} is out of order or repeated")), "{err}");
            }
        }
    }

    #[test]
    fn a_field_of_the_wrong_kind_is_refused_by_its_name() {
        let bytes = many(1).encode();
        let mut body = StateBody::decode(bytes.as_slice()).unwrap();
        body.streams[0].facts[0].position = 7;
        let mut stream = Vec::new();
        // The stream's fields as prost writes them, and then its next revision as bytes.
        body.streams[0].encode_raw(&mut stream);
        prost::encoding::bytes::encode(2, &vec![1u8], &mut stream);
        let mut state = StateHead { format: FORMAT, log_size: 1, last_hash: vec![0; 32] }.encode_to_vec();
        prost::encoding::bytes::encode(STREAMS, &stream, &mut state);
        let err = State::decode(&state).unwrap_err().to_string();
        assert!(err.contains("org-o000: a stream's next revision is bytes, not a number"), "{err}");
    }

    #[test]
    fn an_event_id_missing_or_of_the_wrong_length_is_refused_by_its_field() {
        let bytes = many(1).encode();
        let body = StateBody::decode(bytes.as_slice()).unwrap();
        let damaged = |damage: &dyn Fn(&mut StreamBody)| {
            let mut body = body.clone();
            damage(&mut body.streams[0]);
            State::decode(&body.encode_to_vec()).unwrap_err().to_string()
        };
        let err = damaged(&|s| s.facts[0].event_id.clear());
        assert!(err.contains("org-o000: a fact has no event id"), "{err}");
        let err = damaged(&|s| s.facts[0].event_id.truncate(15));
        assert!(err.contains("org-o000: a fact's event id is not 16 bytes"), "{err}");
        let err = damaged(&|s| s.facts[0].corrected_by = vec![1; 17]);
        assert!(err.contains("org-o000: a fact's correction is not 16 bytes"), "{err}");
        let err = damaged(&|s| s.ids[0].event_id.clear());
        assert!(err.contains("org-o000: an id entry has no event id"), "{err}");
        // A retracted original names its retraction.
        let err = damaged(&|s| s.ids[0] = IdBody { role: 1, other: Vec::new(), ..s.ids[0].clone() });
        assert!(err.contains("org-o000: an id entry's other event is not 16 bytes"), "{err}");
    }

    #[test]
    fn stored_payloads_decode_to_their_events_or_say_why_not() {
        let org = registered("thai-binh");
        let payload = convert::encode_payload(&org);
        assert_eq!(decode_event("OrganizationRegistered", &payload), Ok(org));
        let points = chibo_domain::event::StudyPointsEarned::new(chibo_domain::event::StudyPointsEarnedFields {
            member_id: Id::parse("member_id", "m-1").unwrap(),
            points: 2,
            date: chibo_domain::Date::parse("date", "2026-03-14").unwrap(),
            activity: "Nghị quyết".into(),
            source_ref: Default::default(),
        })
        .unwrap();
        let points = Event::StudyPointsEarned(points);
        assert_eq!(decode_event("StudyPointsEarned", &convert::encode_payload(&points)), Ok(points));
        assert_eq!(
            decode_event("MeetingHappened", &payload),
            Err("\"MeetingHappened\" is not an event type of the catalogue".to_owned())
        );
        assert_eq!(
            decode_event("MeetingHeld", &[0x0a, 0x05, b'a']),
            Err("the payload does not decode as MeetingHeld".to_owned())
        );
    }
}
