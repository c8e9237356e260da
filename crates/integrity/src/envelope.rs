//! The `EventEnvelope`: built and encoded once when an event is appended ([`seal`]), decoded and
//! checked when it is verified ([`Envelope::decode`]). Never re-encoded: the hash covers the bytes
//! as stored.

use chibo_domain::{EventId, StreamName, Timestamp};
use chibo_proto::v1 as pb;
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

fn timestamp(t: Timestamp) -> pbjson_types::Timestamp {
    // Timestamp keeps nanos below 10^9, so they fit an i32.
    pbjson_types::Timestamp { seconds: t.seconds(), nanos: t.nanos() as i32 }
}

/// Encodes the envelope and hashes the encoding.
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
    let envelope = pb::EventEnvelope {
        event_id: event_id.to_string(),
        stream: stream.to_owned(),
        revision,
        event_type: event_type.to_owned(),
        schema_version,
        occurred_at: Some(timestamp(occurred_at)),
        recorded_at: Some(timestamp(recorded_at)),
        actor: actor.to_owned(),
        payload_digest: payload_digest.to_vec(),
        prev_hash: prev_hash.to_vec(),
    }
    .encode_to_vec();
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
