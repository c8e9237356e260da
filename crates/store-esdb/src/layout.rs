//! How one chibo log is laid out in KurrentDB: the names of its streams, and the bytes of each
//! event.
//!
//! - **Streams.** chibo stream `S` of the log named `N` is the KurrentDB stream `N/S`
//!   (`chibo/cell-tan-hoa`, `chibo/$checkpoints`). The prefix keeps chibo's `$checkpoints` and
//!   `$credentials` out of KurrentDB's system namespace (names starting with `$`), and lets several
//!   logs, or a test per log, share one cluster: a log is exactly the events of `$all` whose stream
//!   starts with `N/`.
//! - **Events.** The KurrentDB event id is the chibo event id; the event type is chibo's
//!   `event_type` (for KurrentDB's own tools only: chibo reads the type from the envelope); the
//!   data is the payload, as given; the custom metadata is [`LAYOUT_VERSION`] (one byte), the salt
//!   (16 bytes), the event hash (32 bytes) and the sealed envelope (the rest), so every byte the
//!   hash spec covers reads back exactly as it was sealed. Content type `application/octet-stream`.

use bytes::Bytes;
use chibo_domain::{EventId, StreamName};
use chibo_integrity::{Hash, Salt, Sealed};
use chibo_store::{NewEvent, StoredEvent};
use eventstore::EventData;

/// The version of this layout, the first byte of every event's metadata.
pub const LAYOUT_VERSION: u8 = 1;

/// Version, salt, hash.
const HEADER_LEN: usize = 1 + 16 + 32;

/// The longest log name.
const MAX_NAME_LEN: usize = 64;

/// The name of a log, and the KurrentDB streams it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// `{name}/`.
    prefix: String,
}

impl Namespace {
    /// A log name: 1 to 64 of `a-z A-Z 0-9 . _ -`, not starting with `$` (KurrentDB's system
    /// streams) and without `/` (so that no log's streams are a prefix of another's).
    pub fn new(name: &str) -> Result<Self, String> {
        let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(fits) {
            return Err(format!(
                "{name:?} is not a log name: 1 to {MAX_NAME_LEN} of the letters a-z and A-Z, digits, '.', '_' and '-'"
            ));
        }
        Ok(Self { prefix: format!("{name}/") })
    }

    /// The name, without the separator.
    pub fn name(&self) -> &str {
        &self.prefix[..self.prefix.len() - 1]
    }

    /// The KurrentDB stream that holds `stream`.
    pub fn stream(&self, stream: &StreamName) -> String {
        format!("{}{stream}", self.prefix)
    }

    /// The chibo stream a KurrentDB stream holds, if it belongs to this log.
    pub fn chibo_stream<'a>(&self, kurrent_stream: &'a str) -> Option<&'a str> {
        kurrent_stream.strip_prefix(&self.prefix)
    }

    /// Whether a KurrentDB stream belongs to this log.
    pub fn owns(&self, kurrent_stream: &str) -> bool {
        kurrent_stream.starts_with(&self.prefix)
    }
}

/// The KurrentDB event that records `event`, sealed as `sealed`.
pub fn event_data(event: &NewEvent, sealed: &Sealed) -> EventData {
    EventData::binary(&event.event_type, event.payload.clone())
        .id(uuid(&event.event_id))
        .metadata(Bytes::from(encode_metadata(&event.salt, sealed)))
}

/// An event's metadata: the layout version, the salt, the hash and the envelope.
pub fn encode_metadata(salt: &Salt, sealed: &Sealed) -> Vec<u8> {
    let mut metadata = Vec::with_capacity(HEADER_LEN + sealed.envelope.len());
    metadata.push(LAYOUT_VERSION);
    metadata.extend_from_slice(salt);
    metadata.extend_from_slice(&sealed.hash);
    metadata.extend_from_slice(&sealed.envelope);
    metadata
}

/// The KurrentDB id of a chibo event id: the same 16 bytes.
pub fn uuid(id: &EventId) -> uuid::Uuid {
    uuid::Uuid::from_bytes(*id.as_bytes())
}

/// The chibo id of a KurrentDB event id.
pub fn event_id(id: &uuid::Uuid) -> EventId {
    EventId::from_bytes(*id.as_bytes())
}

/// The parts of an event's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// The payload's salt.
    pub salt: Salt,
    /// The stored event hash.
    pub hash: Hash,
    /// The sealed envelope.
    pub envelope: &'a [u8],
}

/// Splits an event's metadata into its parts, refusing what this layout did not write.
pub fn metadata(bytes: &[u8]) -> Result<Metadata<'_>, String> {
    let Some((&version, rest)) = bytes.split_first() else {
        return Err("the event has no chibo metadata".into());
    };
    if version != LAYOUT_VERSION {
        return Err(format!("the event's metadata is of layout {version}; this build reads layout {LAYOUT_VERSION}"));
    }
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "the event's metadata is {} bytes, shorter than its {HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    let (salt, rest) = rest.split_at(16);
    let (hash, envelope) = rest.split_at(32);
    Ok(Metadata {
        salt: salt.try_into().map_err(|_| "the salt is not 16 bytes".to_owned())?,
        hash: hash.try_into().map_err(|_| "the hash is not 32 bytes".to_owned())?,
        envelope,
    })
}

/// A chibo event as KurrentDB returned it, with the global position chibo gives it.
pub struct Recorded<'a> {
    /// Its chibo position.
    pub position: u64,
    /// Its KurrentDB stream.
    pub kurrent_stream: &'a str,
    /// Its KurrentDB stream revision.
    pub revision: u64,
    /// Its data.
    pub data: &'a [u8],
    /// Its custom metadata.
    pub metadata: &'a [u8],
}

/// The stored event a KurrentDB event of this log holds.
pub fn stored_event(namespace: &Namespace, recorded: Recorded<'_>) -> Result<StoredEvent, String> {
    let Recorded { position, kurrent_stream, revision, data, metadata: raw } = recorded;
    let Some(stream) = namespace.chibo_stream(kurrent_stream) else {
        return Err(format!("{kurrent_stream:?} is not a stream of the log {:?}", namespace.name()));
    };
    if StreamName::parse("stream", stream).is_err() {
        return Err(format!("{kurrent_stream:?} does not name a chibo stream"));
    }
    let Metadata { salt, hash, envelope } =
        metadata(raw).map_err(|e| format!("{kurrent_stream} revision {revision}: {e}"))?;
    Ok(StoredEvent {
        position,
        stream: stream.to_owned(),
        revision,
        envelope: envelope.to_vec(),
        payload: data.to_vec(),
        salt,
        hash,
    })
}

#[cfg(test)]
mod tests {
    use chibo_domain::Timestamp;
    use chibo_integrity::{genesis, seal, Envelope, EnvelopeFields};

    use super::*;

    fn sealed(event: &NewEvent, stream: &str) -> Sealed {
        seal(EnvelopeFields {
            event_id: &event.event_id,
            stream,
            revision: 0,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            occurred_at: event.occurred_at,
            recorded_at: Timestamp::new("t", 1_800_000_000, 5).unwrap(),
            actor: &event.actor,
            payload_digest: &event.payload_digest,
            prev_hash: &genesis(stream),
        })
    }

    #[test]
    fn log_names_keep_to_their_own_streams() {
        let log = Namespace::new("chibo").unwrap();
        let cell = StreamName::parse("s", "cell-tan-hoa").unwrap();
        assert_eq!(log.stream(&cell), "chibo/cell-tan-hoa");
        assert_eq!(log.stream(&StreamName::Checkpoints), "chibo/$checkpoints");
        assert_eq!(log.chibo_stream("chibo/$credentials"), Some("$credentials"));
        assert!(!log.owns("chibo2/cell-a"), "another log's streams are not this one's");
        assert!(!log.owns("$$chibo/cell-a"), "KurrentDB's metadata streams are not the log's");
        assert!(!log.owns("$ce-chibo"));
        assert_eq!(log.name(), "chibo");
        for bad in ["", "a/b", "$chibo", "chi bo", &"x".repeat(65), "thái-bình"] {
            assert!(Namespace::new(bad).is_err(), "{bad:?}");
        }
        assert!(Namespace::new("test-1.a_B").is_ok());
    }

    #[test]
    fn every_sealed_byte_reads_back_as_stored() {
        let log = Namespace::new("chibo").unwrap();
        let event = chibo_store_contract::new_event("layout");
        let sealed = sealed(&event, "cell-a");
        let raw_metadata = encode_metadata(&event.salt, &sealed);
        let stored = stored_event(
            &log,
            Recorded {
                position: 7,
                kurrent_stream: "chibo/cell-a",
                revision: 0,
                data: &event.payload,
                metadata: &raw_metadata,
            },
        )
        .unwrap();
        assert_eq!(stored.position, 7);
        assert_eq!(stored.stream, "cell-a");
        assert_eq!(stored.envelope, sealed.envelope);
        assert_eq!(stored.hash, sealed.hash);
        assert_eq!(stored.salt, event.salt);
        assert_eq!(stored.payload, event.payload);
        assert_eq!(Envelope::decode(&stored.envelope).unwrap().event_id, event.event_id);
        assert_eq!(event_id(&uuid(&event.event_id)), event.event_id);
        assert_eq!(uuid(&event.event_id).to_string(), event.event_id.to_string(), "the same UUID, spelled the same");
    }

    #[test]
    fn metadata_this_layout_did_not_write_is_refused() {
        let good = {
            let mut m = vec![LAYOUT_VERSION];
            m.extend_from_slice(&[1; 16]);
            m.extend_from_slice(&[2; 32]);
            m.extend_from_slice(b"envelope");
            m
        };
        let parsed = metadata(&good).unwrap();
        assert_eq!((parsed.salt, parsed.hash, parsed.envelope), ([1; 16], [2; 32], &b"envelope"[..]));
        assert!(metadata(&good[..HEADER_LEN]).unwrap().envelope.is_empty());
        assert!(metadata(&good[..HEADER_LEN - 1]).unwrap_err().contains("shorter"));
        assert!(metadata(&[]).unwrap_err().contains("no chibo metadata"));
        let mut other = good.clone();
        other[0] = 2;
        assert!(metadata(&other).unwrap_err().contains("layout 2"));
        let log = Namespace::new("chibo").unwrap();
        let read = |stream, metadata| {
            stored_event(&log, Recorded { position: 0, kurrent_stream: stream, revision: 3, data: b"", metadata })
        };
        assert!(read("chibo/cell-a", &good).is_ok());
        assert!(read("other/cell-a", &good).unwrap_err().contains("not a stream of the log"));
        assert!(read("chibo/meetings", &good).unwrap_err().contains("does not name a chibo stream"));
        assert!(read("chibo/cell-a", &other).unwrap_err().contains("chibo/cell-a revision 3"));
    }
}
