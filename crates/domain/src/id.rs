//! Identifiers: entity ids, event ids and stream names (DESIGN.md "Integrity: the hash spec").

use std::fmt;

use crate::error::{InvalidField, Result};

/// The longest entity id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// An entity id (organization, cell, member, programme, meeting, ...): lowercase
/// `[a-z0-9-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(String);

impl Id {
    /// Checks `value` as the id held in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        if value.is_empty() {
            return Err(InvalidField::new(field, "is empty; an id is 1 to 64 characters of [a-z0-9-]"));
        }
        if value.len() > MAX_ID_LEN {
            return Err(InvalidField::new(
                field,
                format!("is {} bytes long; an id is at most {MAX_ID_LEN}", value.len()),
            ));
        }
        if let Some(c) = value.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-')) {
            return Err(InvalidField::new(
                field,
                format!("contains {c:?}; an id has only lowercase letters a-z, digits and '-'"),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// Like [`Id::parse`], but an empty value means "none".
    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>> {
        if value.is_empty() {
            Ok(None)
        } else {
            Self::parse(field, value).map(Some)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client-chosen event id: a UUID in canonical lowercase hyphenated form, not nil. One
/// spelling per id, so deduplication cannot be dodged by changing case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId([u8; 16]);

impl EventId {
    /// Checks `value` as the event id held in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        let bad = || {
            InvalidField::new(
                field,
                format!(
                    "{value:?} is not a UUID in canonical lowercase form \
                     (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex digits 0-9a-f)"
                ),
            )
        };
        let b = value.as_bytes();
        if b.len() != 36 {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return Err(bad());
                }
                continue;
            }
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return Err(bad()),
            };
            out[nibbles / 2] |= if nibbles % 2 == 0 { v << 4 } else { v };
            nibbles += 1;
        }
        if out == [0; 16] {
            return Err(InvalidField::new(field, "is the nil UUID; choose a unique id per event"));
        }
        Ok(Self(out))
    }

    /// The 16 bytes of the UUID.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Builds an id from 16 bytes (for example from a random source).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// What a stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// `cell-{id}`: a cell's record book.
    Cell,
    /// `org-{id}`: a committee's decisions.
    Org,
    /// `$checkpoints`: signed checkpoints, written by the server only.
    Checkpoints,
    /// `$credentials`: credentials issued and revoked, written by the server only.
    Credentials,
}

/// A stream name: `cell-{id}`, `org-{id}`, `$checkpoints` or `$credentials`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StreamName {
    /// `cell-{id}`.
    Cell(Id),
    /// `org-{id}`.
    Org(Id),
    /// `$checkpoints`.
    Checkpoints,
    /// `$credentials`.
    Credentials,
}

/// The name of the checkpoint stream.
pub const CHECKPOINTS_STREAM: &str = "$checkpoints";

/// The name of the credential stream.
pub const CREDENTIALS_STREAM: &str = "$credentials";

impl StreamName {
    /// Checks `value` as the stream name held in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        if value == CHECKPOINTS_STREAM {
            return Ok(Self::Checkpoints);
        }
        if value == CREDENTIALS_STREAM {
            return Ok(Self::Credentials);
        }
        if let Some(id) = value.strip_prefix("cell-") {
            return Id::parse(field, id).map(Self::Cell);
        }
        if let Some(id) = value.strip_prefix("org-") {
            return Id::parse(field, id).map(Self::Org);
        }
        Err(InvalidField::new(
            field,
            format!("{value:?} is not a stream name; expected cell-{{id}}, org-{{id}}, $checkpoints or $credentials"),
        ))
    }

    /// What the stream holds.
    pub fn kind(&self) -> StreamKind {
        match self {
            Self::Cell(_) => StreamKind::Cell,
            Self::Org(_) => StreamKind::Org,
            Self::Checkpoints => StreamKind::Checkpoints,
            Self::Credentials => StreamKind::Credentials,
        }
    }

    /// The organization or cell id in the name, if any.
    pub fn id(&self) -> Option<&Id> {
        match self {
            Self::Cell(id) | Self::Org(id) => Some(id),
            Self::Checkpoints | Self::Credentials => None,
        }
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cell(id) => write!(f, "cell-{id}"),
            Self::Org(id) => write!(f, "org-{id}"),
            Self::Checkpoints => f.write_str(CHECKPOINTS_STREAM),
            Self::Credentials => f.write_str(CREDENTIALS_STREAM),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_documented_alphabet_only() {
        assert!(Id::parse("id", "chi-bo-3").is_ok());
        assert!(Id::parse("id", &"a".repeat(64)).is_ok());
        let e = Id::parse("member_id", &"a".repeat(65)).unwrap_err();
        assert_eq!(e.field, "member_id");
        assert!(e.reason.contains("at most 64"), "{e}");
        assert!(Id::parse("id", "").is_err());
        assert!(Id::parse("id", "Chi").unwrap_err().reason.contains("'C'"));
        assert!(Id::parse("id", "a_b").is_err());
        assert!(Id::parse("id", "ấp").is_err());
    }

    #[test]
    fn event_ids_are_canonical_uuids() {
        let text = "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d";
        let id = EventId::parse("event_id", text).unwrap();
        assert_eq!(id.to_string(), text);
        for bad in [
            "0190F1C2-7D4E-7B3A-9C1D-2E3F4A5B6C7D",
            "0190f1c27d4e7b3a9c1d2e3f4a5b6c7d",
            "{0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d}",
            "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7g",
            "0190f1c2+7d4e-7b3a-9c1d-2e3f4a5b6c7d",
            "00000000-0000-0000-0000-000000000000",
            "",
        ] {
            assert_eq!(EventId::parse("event_id", bad).unwrap_err().field, "event_id", "{bad}");
        }
    }

    #[test]
    fn stream_names_round_trip() {
        for name in ["cell-tan-hoa", "org-thaibinh", "$checkpoints"] {
            assert_eq!(StreamName::parse("stream", name).unwrap().to_string(), name);
        }
        for bad in ["cell-", "cell-A", "org", "checkpoints", "member-1", "org-a/b"] {
            assert_eq!(StreamName::parse("stream", bad).unwrap_err().field, "stream", "{bad}");
        }
        assert_eq!(StreamName::parse("s", "cell-x").unwrap().kind(), StreamKind::Cell);
    }
}
