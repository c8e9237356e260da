//! The values that go into and come out of a store.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use chibo_domain::{EventId, Timestamp};
use chibo_integrity::{
    payload_digest, seal, Envelope, EnvelopeFields, Hash, RawEvent, Salt, Sealed, HASH_LEN, SALT_LEN,
};

use crate::ReadError;

/// What the stream must look like for an append to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedRevision {
    /// Append whatever the stream's last revision.
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream's last event must be at this revision.
    Exact(u64),
}

impl ExpectedRevision {
    /// Whether a stream whose last revision is `last` (`None`: no events) meets this.
    pub fn admits(self, last: Option<u64>) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => last.is_none(),
            Self::Exact(r) => last == Some(r),
        }
    }
}

impl std::fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(r) => write!(f, "revision {r}"),
        }
    }
}

/// An event to append: everything but what the store assigns (revision, previous hash, record
/// time, position).
///
/// Its texts and payload are shared, not owned: a copy of a batch, kept by an append that may
/// have to be tried again, takes a reference to each rather than a copy of its bytes
/// (docs/BENCHMARKS.md, twenty-fourth round).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The client-chosen id.
    pub event_id: EventId,
    /// The catalogue name of the payload's type.
    pub event_type: Cow<'static, str>,
    /// Version of the payload schema.
    pub schema_version: u32,
    /// The real-world time the client asserts.
    pub occurred_at: Timestamp,
    /// The authenticated principal that submits it, shared by the events of one request.
    pub actor: Arc<str>,
    /// The payload bytes.
    pub payload: Bytes,
    /// A fresh random salt for the payload digest.
    pub salt: Salt,
    /// `payload_digest(salt, payload)`, computed by [`NewEvent::new`] so that the store's single
    /// writer does not have to.
    pub payload_digest: Hash,
}

impl NewEvent {
    /// An event to append; computes its payload digest.
    pub fn new(
        event_id: EventId,
        event_type: impl Into<Cow<'static, str>>,
        schema_version: u32,
        occurred_at: Timestamp,
        actor: impl Into<Arc<str>>,
        payload: impl Into<Bytes>,
        salt: Salt,
    ) -> Self {
        let payload = payload.into();
        let payload_digest = payload_digest(&salt, &payload);
        Self {
            event_id,
            event_type: event_type.into(),
            schema_version,
            occurred_at,
            actor: actor.into(),
            payload,
            salt,
            payload_digest,
        }
    }

    /// Seals this event as revision `revision` of `stream`, recorded at `recorded_at`, after the
    /// event whose hash is `prev_hash` (the stream's genesis hash for revision 0): what every
    /// backend stores, by the hash spec.
    pub fn seal(&self, stream: &str, revision: u64, recorded_at: Timestamp, prev_hash: &Hash) -> Sealed {
        seal(EnvelopeFields {
            event_id: &self.event_id,
            stream,
            revision,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            recorded_at,
            actor: &self.actor,
            payload_digest: &self.payload_digest,
            prev_hash,
        })
    }

    /// Whether an event recorded with `envelope` and `payload` is this very submission (the same
    /// id, type, schema version, time, actor and payload bytes): what a resubmission must be to
    /// get the original receipt rather than a refusal.
    pub fn is_recorded_as(&self, envelope: &Envelope, payload: &[u8]) -> bool {
        envelope.event_id == self.event_id
            && envelope.event_type == self.event_type
            && envelope.schema_version == self.schema_version
            && envelope.occurred_at == self.occurred_at
            && *envelope.actor == *self.actor
            && payload == self.payload
    }
}

/// Proof that an event is durably recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The event's id.
    pub event_id: EventId,
    /// The stream it was appended to.
    pub stream: String,
    /// Its revision in the stream.
    pub revision: u64,
    /// Its 0-based position in the global order.
    pub position: u64,
    /// Its event hash.
    pub hash: Hash,
    /// The server's record time.
    pub recorded_at: Timestamp,
    /// True when the event had been recorded before and this is the original receipt.
    pub duplicate: bool,
}

/// One event as stored: the sealed bytes the hash spec covers, and where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// 0-based position in the global order.
    pub position: u64,
    /// The stream it belongs to.
    pub stream: String,
    /// Its revision in the stream.
    pub revision: u64,
    /// The stored `EventEnvelope` encoding.
    pub envelope: Vec<u8>,
    /// The stored payload.
    pub payload: Vec<u8>,
    /// The payload's salt.
    pub salt: Salt,
    /// `SHA-256("chibo:event:v1\0" || envelope)`.
    pub hash: Hash,
}

/// A stored event copied out of the bytes a store handed over ([`crate::EventStore::read_all_into`]):
/// the inverse of [`StoredEvent::as_raw`]; refused when its salt or hash has the wrong length.
impl TryFrom<RawEvent<'_>> for StoredEvent {
    type Error = ReadError;

    fn try_from(raw: RawEvent<'_>) -> Result<Self, ReadError> {
        let wrong = |what: &str, len: usize, expected: usize| ReadError::Corrupt {
            position: raw.position,
            reason: format!("{what} is {len} bytes; expected {expected}"),
        };
        Ok(Self {
            position: raw.position,
            stream: raw.stream.to_owned(),
            revision: raw.revision,
            envelope: raw.envelope.to_vec(),
            payload: raw.payload.to_vec(),
            salt: raw.salt.try_into().map_err(|_| wrong("salt", raw.salt.len(), SALT_LEN))?,
            hash: raw.hash.try_into().map_err(|_| wrong("hash", raw.hash.len(), HASH_LEN))?,
        })
    }
}

impl StoredEvent {
    /// The event as the chain verifier reads it.
    pub fn as_raw(&self) -> RawEvent<'_> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_event_copied_from_its_raw_bytes_is_itself_and_wrong_lengths_are_named() {
        let stored = StoredEvent {
            position: 7,
            stream: "cell-a".into(),
            revision: 3,
            envelope: vec![1, 2, 3],
            payload: vec![4, 5],
            salt: [6; 16],
            hash: [7; 32],
        };
        assert_eq!(StoredEvent::try_from(stored.as_raw()), Ok(stored.clone()));
        let short_salt = RawEvent { salt: &[6; 15], ..stored.as_raw() };
        let Err(ReadError::Corrupt { position: 7, reason }) = StoredEvent::try_from(short_salt) else {
            panic!("a salt of 15 bytes was taken")
        };
        assert_eq!(reason, "salt is 15 bytes; expected 16");
        let long_hash = RawEvent { hash: &[7; 33], ..stored.as_raw() };
        let Err(ReadError::Corrupt { reason, .. }) = StoredEvent::try_from(long_hash) else {
            panic!("a hash of 33 bytes was taken")
        };
        assert_eq!(reason, "hash is 33 bytes; expected 32");
    }
}
