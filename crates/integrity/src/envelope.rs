//! The `EventEnvelope`: built and encoded once when an event is appended ([`seal`]), decoded and
//! checked when it is verified ([`Envelope::decode`]). Never re-encoded: the hash covers the bytes
//! as stored.

use std::borrow::Cow;

use chibo_domain::{EventId, StreamName, Timestamp};
use chibo_proto::v1 as pb;
use chibo_proto::wire::Writer;
use prost::Message;

use crate::hash::{event_hash, Hash, HASH_LEN};

/// What goes into an envelope, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeFields<'a> {
    /// The client-chosen event id.
    pub event_id: &'a EventId,
    /// The stream the event is appended to.
    pub stream: &'a str,
    /// The event's 0-based revision in the stream.
    pub revision: u64,
    /// The catalogue name of the payload's type.
    pub event_type: &'a str,
    /// Version of the payload schema.
    pub schema_version: u32,
    /// The real-world time the client asserts.
    pub occurred_at: Timestamp,
    /// The server's record time.
    pub recorded_at: Timestamp,
    /// The authenticated principal.
    pub actor: &'a str,
    /// The salted digest of the payload.
    pub payload_digest: &'a Hash,
    /// The hash of the previous event of the stream, or its genesis.
    pub prev_hash: &'a Hash,
}

/// An encoded envelope and its hash: what a store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The `EventEnvelope` encoding, stored as is.
    pub envelope: Vec<u8>,
    /// `SHA-256("chibo:event:v1\0" || envelope)`.
    pub hash: Hash,
}

/// Encodes the envelope and hashes the encoding.
///
/// The envelope is written field by field, as prost writes an `EventEnvelope` (fields in
/// order, defaults left out), straight into the one vector that is stored: this runs on the
/// store's writer thread once per event, and building prost's message first took a copy of each
/// text and hash (docs/BENCHMARKS.md, twenty-fourth round). A test holds it to prost's bytes.
pub fn seal(fields: EnvelopeFields<'_>) -> Sealed {
    let EnvelopeFields {
        event_id,
        stream,
        revision,
        event_type,
        schema_version,
        occurred_at,
        recorded_at,
        actor,
        payload_digest,
        prev_hash,
    } = fields;
    // Keys, lengths and the fixed-size fields: at most 2 + 36, 3 × 2, 11, 6, 2 × 19 and 2 × 34.
    let mut envelope = Writer::with_capacity(170 + stream.len() + event_type.len() + actor.len());
    envelope.bytes_field(1, &event_id.canonical());
    envelope.text_field(2, stream);
    envelope.varint_field(3, revision);
    envelope.text_field(4, event_type);
    envelope.varint_field(5, u64::from(schema_version));
    envelope.timestamp_field(6, occurred_at);
    envelope.timestamp_field(7, recorded_at);
    envelope.text_field(8, actor);
    envelope.bytes_field(9, payload_digest);
    envelope.bytes_field(10, prev_hash);
    let envelope = envelope.into_bytes();
    let hash = event_hash(&envelope);
    Sealed { envelope, hash }
}

/// A decoded, well-formed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The client-chosen event id.
    pub event_id: EventId,
    /// The stream the envelope says the event belongs to.
    pub stream: StreamName,
    /// 0-based revision in the stream.
    pub revision: u64,
    /// The catalogue name of the payload's type.
    pub event_type: String,
    /// Version of the payload schema.
    pub schema_version: u32,
    /// The real-world time the client asserted.
    pub occurred_at: Timestamp,
    /// The server's record time.
    pub recorded_at: Timestamp,
    /// Who submitted the event.
    pub actor: String,
    /// The salted digest of the payload.
    pub payload_digest: Hash,
    /// The hash of the previous event of the stream, or its genesis.
    pub prev_hash: Hash,
}

/// Why stored envelope bytes are not a well-formed envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The bytes are not an `EventEnvelope` encoding.
    #[error("not a protobuf EventEnvelope: {0}")]
    Undecodable(String),
    /// A field is missing or malformed.
    #[error("{field}: {reason}")]
    Field {
        /// The envelope field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn hash_field(field: &'static str, bytes: &[u8]) -> Result<Hash, EnvelopeError> {
    bytes
        .try_into()
        .map_err(|_| EnvelopeError::Field { field, reason: format!("is {} bytes; expected {HASH_LEN}", bytes.len()) })
}

fn time_field(field: &'static str, t: Option<pbjson_types::Timestamp>) -> Result<Timestamp, EnvelopeError> {
    let t = t.ok_or(EnvelopeError::Field { field, reason: "is missing".into() })?;
    Timestamp::new(field, t.seconds, t.nanos).map_err(|e| EnvelopeError::Field { field, reason: e.reason })
}

impl Envelope {
    /// Decodes stored envelope bytes and checks every field's shape.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        EnvelopeRef::decode(bytes).map(EnvelopeRef::into_owned)
    }

    /// [`Envelope::decode`] by the general protobuf decoder: every encoding, and the errors.
    fn decode_general(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let pb::EventEnvelope {
            event_id,
            stream,
            revision,
            event_type,
            schema_version,
            occurred_at,
            recorded_at,
            actor,
            payload_digest,
            prev_hash,
        } = pb::EventEnvelope::decode(bytes).map_err(|e| EnvelopeError::Undecodable(e.to_string()))?;
        let field =
            |field: &'static str| move |e: chibo_domain::InvalidField| EnvelopeError::Field { field, reason: e.reason };
        Ok(Self {
            event_id: EventId::parse("event_id", &event_id).map_err(field("event_id"))?,
            stream: StreamName::parse("stream", &stream).map_err(field("stream"))?,
            revision,
            event_type,
            schema_version,
            occurred_at: time_field("occurred_at", occurred_at)?,
            recorded_at: time_field("recorded_at", recorded_at)?,
            actor,
            payload_digest: hash_field("payload_digest", &payload_digest)?,
            prev_hash: hash_field("prev_hash", &prev_hash)?,
        })
    }
}

/// A decoded, well-formed envelope whose text fields borrow the stored bytes when they can:
/// what the verifier and the projections read once per event. [`EnvelopeRef::decode`] accepts
/// and refuses exactly what [`Envelope::decode`] does, with the same values and errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeRef<'a> {
    /// The client-chosen event id.
    pub event_id: EventId,
    /// The stream the envelope says the event belongs to: a valid [`StreamName`], as written.
    pub stream: Cow<'a, str>,
    /// 0-based revision in the stream.
    pub revision: u64,
    /// The catalogue name of the payload's type.
    pub event_type: Cow<'a, str>,
    /// Version of the payload schema.
    pub schema_version: u32,
    /// The real-world time the client asserted.
    pub occurred_at: Timestamp,
    /// The server's record time.
    pub recorded_at: Timestamp,
    /// Who submitted the event.
    pub actor: Cow<'a, str>,
    /// The salted digest of the payload.
    pub payload_digest: Hash,
    /// The hash of the previous event of the stream, or its genesis.
    pub prev_hash: Hash,
}

impl<'a> EnvelopeRef<'a> {
    /// Decodes stored envelope bytes and checks every field's shape, like [`Envelope::decode`].
    ///
    /// An envelope as [`seal`] writes it (each field at most once, in field order) is read in
    /// place; any other encoding, and every malformed one, goes through the general decoder,
    /// which gives the same result for the former and the errors for the latter.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        match canonical::decode(bytes) {
            Some(envelope) => Ok(envelope),
            None => Envelope::decode_general(bytes).map(Self::from),
        }
    }

    /// The stream as a [`StreamName`].
    pub fn stream_name(&self) -> StreamName {
        // Checked by `decode`: a failure here would be a bug, and would name the field.
        StreamName::parse("stream", &self.stream).unwrap_or_else(|e| panic!("a decoded envelope's stream: {e}"))
    }

    /// The envelope with owned fields.
    pub fn into_owned(self) -> Envelope {
        Envelope {
            event_id: self.event_id,
            stream: self.stream_name(),
            revision: self.revision,
            event_type: self.event_type.into_owned(),
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            actor: self.actor.into_owned(),
            payload_digest: self.payload_digest,
            prev_hash: self.prev_hash,
        }
    }
}

impl From<Envelope> for EnvelopeRef<'_> {
    fn from(envelope: Envelope) -> Self {
        Self {
            event_id: envelope.event_id,
            stream: Cow::Owned(envelope.stream.to_string()),
            revision: envelope.revision,
            event_type: Cow::Owned(envelope.event_type),
            schema_version: envelope.schema_version,
            occurred_at: envelope.occurred_at,
            recorded_at: envelope.recorded_at,
            actor: Cow::Owned(envelope.actor),
            payload_digest: envelope.payload_digest,
            prev_hash: envelope.prev_hash,
        }
    }
}

/// The envelope as [`seal`] writes it, read in place ([`chibo_proto::wire`]): every field at
/// most once and in field order, and every value well formed. Anything else makes it `None`, for
/// the general decoder to read or refuse.
mod canonical {
    use std::borrow::Cow;

    use chibo_domain::{EventId, StreamName};
    use chibo_proto::wire::{key, timestamp, Reader, LEN, VARINT};

    use super::EnvelopeRef;
    use crate::hash::Hash;

    fn hash(bytes: &[u8]) -> Option<Hash> {
        bytes.try_into().ok()
    }

    pub(super) fn decode(bytes: &[u8]) -> Option<EnvelopeRef<'_>> {
        let mut reader = Reader::new(bytes);
        let event_id = reader.field(key(1, LEN), Reader::delimited)?.unwrap_or_default();
        let stream = reader.field(key(2, LEN), Reader::text)?.unwrap_or_default();
        let revision = reader.field(key(3, VARINT), Reader::varint)?.unwrap_or(0);
        let event_type = reader.field(key(4, LEN), Reader::text)?.unwrap_or_default();
        // protobuf's uint32: the varint's low 32 bits, as prost reads them.
        let schema_version = reader.field(key(5, VARINT), Reader::varint)?.unwrap_or(0) as u32;
        let occurred_at = reader.field(key(6, LEN), |r| timestamp(r.delimited()?))?;
        let recorded_at = reader.field(key(7, LEN), |r| timestamp(r.delimited()?))?;
        let actor = reader.field(key(8, LEN), Reader::text)?.unwrap_or_default();
        let payload_digest = reader.field(key(9, LEN), Reader::delimited)?.unwrap_or_default();
        let prev_hash = reader.field(key(10, LEN), Reader::delimited)?.unwrap_or_default();
        if !reader.is_done() || !StreamName::is_valid(stream) {
            return None;
        }
        Some(EnvelopeRef {
            event_id: EventId::from_canonical(event_id)?,
            stream: Cow::Borrowed(stream),
            revision,
            event_type: Cow::Borrowed(event_type),
            schema_version,
            occurred_at: occurred_at?,
            recorded_at: recorded_at?,
            actor: Cow::Borrowed(actor),
            payload_digest: hash(payload_digest)?,
            prev_hash: hash(prev_hash)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{genesis, payload_digest};

    #[test]
    fn sealed_envelopes_decode_to_what_was_sealed() {
        let id = EventId::parse("id", "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d").unwrap();
        let digest = payload_digest(&[1; 16], b"p");
        let prev = genesis("cell-a");
        let occurred = Timestamp::new("t", 1_700_000_000, 5).unwrap();
        let recorded = Timestamp::new("t", 1_700_000_100, 0).unwrap();
        let sealed = seal(EnvelopeFields {
            event_id: &id,
            stream: "cell-a",
            revision: 0,
            event_type: "MeetingHeld",
            schema_version: 1,
            occurred_at: occurred,
            recorded_at: recorded,
            actor: "recorder:a",
            payload_digest: &digest,
            prev_hash: &prev,
        });
        assert_eq!(sealed.hash, event_hash(&sealed.envelope));
        let envelope = Envelope::decode(&sealed.envelope).unwrap();
        assert_eq!(envelope.event_id, id);
        assert_eq!(envelope.stream.to_string(), "cell-a");
        assert_eq!((envelope.revision, envelope.schema_version), (0, 1));
        assert_eq!(envelope.event_type, "MeetingHeld");
        assert_eq!((envelope.occurred_at, envelope.recorded_at), (occurred, recorded));
        assert_eq!(envelope.actor, "recorder:a");
        assert_eq!((envelope.payload_digest, envelope.prev_hash), (digest, prev));
    }

    /// A random sealed envelope.
    fn random_sealed(rng: &mut impl rand::Rng) -> Vec<u8> {
        with_random_fields(rng, |fields| seal(fields).envelope)
    }

    /// `fields` encoded as prost encodes an `EventEnvelope`: the hash spec's encoding.
    fn encoded_by_prost(fields: EnvelopeFields<'_>) -> Vec<u8> {
        // Timestamp keeps nanos below 10^9, so they fit an i32.
        let timestamp = |t: Timestamp| pbjson_types::Timestamp { seconds: t.seconds(), nanos: t.nanos() as i32 };
        pb::EventEnvelope {
            event_id: fields.event_id.to_string(),
            stream: fields.stream.to_owned(),
            revision: fields.revision,
            event_type: fields.event_type.to_owned(),
            schema_version: fields.schema_version,
            occurred_at: Some(timestamp(fields.occurred_at)),
            recorded_at: Some(timestamp(fields.recorded_at)),
            actor: fields.actor.to_owned(),
            payload_digest: fields.payload_digest.to_vec(),
            prev_hash: fields.prev_hash.to_vec(),
        }
        .encode_to_vec()
    }

    #[test]
    fn sealed_envelopes_are_the_bytes_prost_writes() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..20_000 {
            with_random_fields(&mut rng, |fields| {
                let sealed = seal(fields);
                let expected = encoded_by_prost(fields);
                assert_eq!(sealed.envelope, expected, "{fields:?}");
                assert_eq!(sealed.hash, event_hash(&expected));
            });
        }
    }

    /// Random envelope fields, handed to `f`: text of every shape the fields take, times on
    /// both sides of 1970 and at 0, revisions and versions of every varint length and 0.
    fn with_random_fields<R>(rng: &mut impl rand::Rng, f: impl FnOnce(EnvelopeFields<'_>) -> R) -> R {
        let pick =
            |rng: &mut dyn rand::RngCore, options: &[&'static str]| options[rng.next_u32() as usize % options.len()];
        let streams = ["cell-a", "org-thai-binh", "$checkpoints", "$credentials", "cell-0-9"];
        let texts = ["", "MeetingHeld", "recorder:a", "ấp Tân Hòa", "x"];
        let mut id = [0u8; 16];
        rng.fill(&mut id[..]);
        id[0] |= 1;
        let time = |rng: &mut dyn rand::RngCore| {
            let seconds = match rng.next_u32() % 3 {
                0 => 0,
                1 => -2_000_000_000 + i64::from(rng.next_u32() % 1000),
                _ => i64::from(rng.next_u32()),
            };
            let nanos = if rng.next_u32().is_multiple_of(3) { 0 } else { rng.next_u32() % 1_000_000_000 };
            Timestamp::new("t", seconds, nanos as i32).unwrap()
        };
        let stream = pick(rng, &streams);
        let event_type = pick(rng, &texts);
        let actor = pick(rng, &texts);
        let shift = rng.gen_range(0..=64);
        f(EnvelopeFields {
            event_id: &EventId::from_bytes(id),
            stream,
            revision: rng.gen::<u64>().checked_shr(shift).unwrap_or(0),
            event_type,
            schema_version: rng.gen::<u32>().checked_shr(shift % 33).unwrap_or(0),
            occurred_at: time(rng),
            recorded_at: time(rng),
            actor,
            payload_digest: &rng.gen(),
            prev_hash: &rng.gen(),
        })
    }

    /// Reads `bytes` both ways: the in-place reader and the general decoder must agree on the
    /// value or on the error. Returns whether the in-place reader took it.
    fn agree(bytes: &[u8]) -> bool {
        let general = Envelope::decode_general(bytes);
        assert_eq!(EnvelopeRef::decode(bytes), general.clone().map(EnvelopeRef::from), "{bytes:02x?}");
        assert_eq!(Envelope::decode(bytes), general, "{bytes:02x?}");
        canonical::decode(bytes).is_some()
    }

    #[test]
    fn sealed_envelopes_are_read_in_place() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let bytes = random_sealed(&mut rng);
            assert!(agree(&bytes), "{bytes:02x?}");
            let borrowed = EnvelopeRef::decode(&bytes).unwrap();
            assert!(matches!(borrowed.stream, Cow::Borrowed(_)));
            assert_eq!(borrowed.into_owned(), Envelope::decode_general(&bytes).unwrap());
        }
    }

    #[test]
    fn the_in_place_reader_agrees_with_the_general_decoder_on_altered_bytes() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let (mut in_place, mut general) = (0, 0);
        for round in 0..100_000 {
            let mut bytes = random_sealed(&mut rng);
            // One of six ways; the sixth puts two envelopes end to end, which protobuf merges
            // (every field twice, out of order).
            chibo_proto::testing::alter(&mut bytes, round, &mut rng, random_sealed);
            if agree(&bytes) {
                in_place += 1;
            } else {
                general += 1;
            }
        }
        // Both paths were exercised.
        assert!(in_place > 1_000 && general > 10_000, "{in_place} in place, {general} general");
        // Fields repeated, unknown fields, fields out of order, over-long varints: all general.
        let sealed = random_sealed(&mut rng);
        let mut unknown = sealed.clone();
        unknown.extend([0x58, 0x01]); // field 11, varint 1
        let mut long_revision = pb::EventEnvelope::decode(sealed.as_slice()).unwrap();
        long_revision.revision = u64::MAX;
        for bytes in [unknown, long_revision.encode_to_vec(), [&sealed[..], &[0x18, 0x05]].concat()] {
            let _ = agree(&bytes);
        }
    }

    #[test]
    fn malformed_envelopes_name_the_field() {
        assert!(matches!(Envelope::decode(&[0xff, 0xff]), Err(EnvelopeError::Undecodable(_))));
        let short = pb::EventEnvelope {
            event_id: "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d".into(),
            stream: "cell-a".into(),
            occurred_at: Some(Default::default()),
            recorded_at: Some(Default::default()),
            payload_digest: vec![0; 31],
            prev_hash: vec![0; 32],
            ..Default::default()
        };
        let err = Envelope::decode(&short.encode_to_vec()).unwrap_err();
        assert_eq!(err.to_string(), "payload_digest: is 31 bytes; expected 32");
    }
}
