//! Identifiers: entity ids, event ids and stream names (DESIGN.md "Integrity: the hash spec").

use std::fmt;

use crate::compact::Compact;
use crate::error::{InvalidField, Result};

/// The longest entity id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// An entity id (organization, cell, member, programme, meeting, ...): lowercase
/// `[a-z0-9-]{1,64}`.
///
/// An id of up to 23 bytes is kept in the value itself, which is as large as a `String`; a
/// longer one on the heap. Ids compare, order and print as their text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(Compact);

impl Id {
    /// Checks `value` as the id held in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        Self::check(field, value)?;
        Ok(Self(Compact::new(value)))
    }

    /// Like [`Id::parse`], from an owned value.
    pub fn parse_owned(field: &str, value: String) -> Result<Self> {
        Self::check(field, &value)?;
        Ok(Self(Compact::from_string(value)))
    }

    /// Whether [`Id::parse`] accepts `value`. Every byte is asked about, without stopping at
    /// the first refused, so that the compiler can ask of many at once: ids are checked for
    /// every event decoded.
    pub fn is_valid(value: &str) -> bool {
        (1..=MAX_ID_LEN).contains(&value.len())
            && value.bytes().fold(true, |ok, b| ok & matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
    }

    fn check(field: &str, value: &str) -> Result<()> {
        if Self::is_valid(value) {
            return Ok(());
        }
        if value.is_empty() {
            return Err(InvalidField::new(field, "is empty; an id is 1 to 64 characters of [a-z0-9-]"));
        }
        if value.len() > MAX_ID_LEN {
            return Err(InvalidField::new(
                field,
                format!("is {} bytes long; an id is at most {MAX_ID_LEN}", value.len()),
            ));
        }
        let c = value.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-')).unwrap_or_default();
        Err(InvalidField::new(field, format!("contains {c:?}; an id has only lowercase letters a-z, digits and '-'")))
    }

    /// Like [`Id::parse`], but an empty value means "none".
    pub fn parse_optional(field: &str, value: &str) -> Result<Option<Self>> {
        if value.is_empty() {
            Ok(None)
        } else {
            Self::parse(field, value).map(Some)
        }
    }

    /// Like [`Id::parse_optional`], keeping `value`'s own buffer.
    pub fn parse_optional_owned(field: &str, value: String) -> Result<Option<Self>> {
        if value.is_empty() {
            Ok(None)
        } else {
            Self::parse_owned(field, value).map(Some)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Id").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where each byte's two hex digits start in a canonical UUID's text.
const UUID_DIGITS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// The value of each lowercase hex digit; 0xff for every other byte.
const HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// A client-chosen event id: a UUID in canonical lowercase hyphenated form, not nil. One
/// spelling per id, so deduplication cannot be dodged by changing case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId([u8; 16]);

/// Ordered by its bytes, first to last, as the derived order would be; compared as one 128-bit
/// number, which the compiler does in a few instructions, rather than through a call to
/// `memcmp`. Event ids key every stream's facts, and a rebuild's apply spent about a tenth of
/// its time in those calls (docs/BENCHMARKS.md, sixteenth round).
impl Ord for EventId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

impl PartialOrd for EventId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl EventId {
    /// Checks `value` as the event id held in `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        match Self::parse_bytes(value.as_bytes()) {
            Some(id) if id.0 != [0; 16] => Ok(id),
            Some(_) => Err(InvalidField::new(field, "is the nil UUID; choose a unique id per event")),
            None => Err(InvalidField::new(
                field,
                format!(
                    "{value:?} is not a UUID in canonical lowercase form \
                     (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex digits 0-9a-f)"
                ),
            )),
        }
    }

    /// The event id `text` spells in canonical form, if it does and is not nil: what
    /// [`EventId::parse`] accepts, read from bytes.
    pub fn from_canonical(text: &[u8]) -> Option<Self> {
        Self::parse_bytes(text).filter(|id| id.0 != [0; 16])
    }

    /// The UUID spelled by `text` in canonical lowercase hyphenated form (the nil UUID
    /// included), or `None`. Every event of the log carries its id in this form, so this runs
    /// once per event read: a table look-up per digit, and one test of all of them at the end.
    fn parse_bytes(text: &[u8]) -> Option<Self> {
        let text: &[u8; 36] = text.try_into().ok()?;
        if text[8] != b'-' || text[13] != b'-' || text[18] != b'-' || text[23] != b'-' {
            return None;
        }
        let mut out = [0u8; 16];
        let mut invalid = 0u8;
        for (byte, &at) in out.iter_mut().zip(&UUID_DIGITS) {
            let high = HEX[usize::from(text[at])];
            let low = HEX[usize::from(text[at + 1])];
            invalid |= high | low;
            *byte = (high << 4) | (low & 0x0f);
        }
        (invalid & 0xf0 == 0).then_some(Self(out))
    }

    /// The 16 bytes of the UUID.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Builds an id from 16 bytes (for example from a random source).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The canonical form (lowercase, hyphenated), spelled on the stack: every event sealed and
    /// every receipt carries its id as text, so this runs on the writer's thread once per event.
    pub fn canonical(&self) -> [u8; 36] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; 36];
        for (byte, &at) in self.0.iter().zip(&UUID_DIGITS) {
            text[at] = DIGITS[usize::from(byte >> 4)];
            text[at + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
        text
    }
}

/// The canonical form, as `Display` writes it.
impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hex digits and hyphens only, so always ASCII.
        f.write_str(std::str::from_utf8(&self.canonical()).map_err(|_| fmt::Error)?)
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

    /// Whether [`StreamName::parse`] accepts `value`, without building the name.
    pub fn is_valid(value: &str) -> bool {
        value == CHECKPOINTS_STREAM
            || value == CREDENTIALS_STREAM
            || value.strip_prefix("cell-").or_else(|| value.strip_prefix("org-")).is_some_and(Id::is_valid)
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

    /// Ids in place and on the heap compare, order, hash and print as their texts do.
    #[test]
    fn ids_behave_as_their_texts_whatever_their_length() {
        use std::hash::{BuildHasher, RandomState};
        // Every length around the one kept in place, with texts that differ at the start, in
        // the middle, at the end, and by being a prefix of one another.
        let mut texts = Vec::new();
        for len in 1..=30 {
            for last in ["a", "b", "-", "0", "z9"] {
                texts.push(format!("{}{last}", "m".repeat(len - 1)));
                texts.push(format!("a{}{last}", "-".repeat(len - 1)));
            }
        }
        texts.push("a".repeat(MAX_ID_LEN));
        let ids: Vec<Id> = texts.iter().map(|t| Id::parse("id", t).unwrap()).collect();
        let owned: Vec<Id> = texts.iter().map(|t| Id::parse_owned("id", t.clone()).unwrap()).collect();
        let hasher = RandomState::new();
        for (i, (a, text_a)) in ids.iter().zip(&texts).enumerate() {
            assert_eq!(a.as_str(), text_a);
            assert_eq!(a.to_string(), *text_a);
            assert_eq!(format!("{a:?}"), format!("Id({text_a:?})"));
            assert_eq!(*a, owned[i], "{text_a}: parsed from a str or a String");
            assert_eq!(hasher.hash_one(a), hasher.hash_one(&owned[i]));
            for (b, text_b) in ids.iter().zip(&texts) {
                assert_eq!(a.cmp(b), text_a.cmp(text_b), "{text_a} against {text_b}");
                assert_eq!(a == b, text_a == text_b, "{text_a} against {text_b}");
            }
        }
        assert_eq!(std::mem::size_of::<Id>(), std::mem::size_of::<String>());
    }

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
    fn event_ids_are_ordered_by_their_bytes() {
        // Pairs that differ in one byte, at every place and by every amount, and pairs that
        // differ everywhere (a fixed sequence of splitmix64).
        let mut pairs = Vec::new();
        for at in 0..16 {
            for (a, b) in [(0u8, 1u8), (1, 0), (0x7f, 0x80), (0x80, 0x7f), (0, 0xff), (0xff, 0xfe), (5, 5)] {
                let (mut x, mut y) = ([0x33u8; 16], [0x33u8; 16]);
                (x[at], y[at]) = (a, b);
                pairs.push((x, y));
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let z = (state ^ (state >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb)
        };
        for _ in 0..10_000 {
            let mut pair = ([0u8; 16], [0u8; 16]);
            for half in [&mut pair.0, &mut pair.1] {
                half[..8].copy_from_slice(&next().to_le_bytes());
                half[8..].copy_from_slice(&next().to_le_bytes());
            }
            pairs.push(pair);
        }
        for (x, y) in pairs {
            let (a, b) = (EventId::from_bytes(x), EventId::from_bytes(y));
            assert_eq!(a.cmp(&b), x.cmp(&y), "{a} and {b}");
            assert_eq!(a.partial_cmp(&b), Some(x.cmp(&y)));
        }
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

    /// The byte-by-byte parser event ids had before the table-driven one: the reference the
    /// fast one must agree with on every input.
    fn reference_parse(value: &str) -> Option<[u8; 16]> {
        let b = value.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return None,
            };
            out[nibbles / 2] |= if nibbles % 2 == 0 { v << 4 } else { v };
            nibbles += 1;
        }
        (out != [0; 16]).then_some(out)
    }

    /// xorshift64*: reproducible inputs without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn event_ids_are_spelled_byte_by_byte_in_lowercase_hex() {
        let bytes: [u8; 16] = std::array::from_fn(|i| (i as u8) * 0x11);
        assert_eq!(EventId::from_bytes(bytes).to_string(), "00112233-4455-6677-8899-aabbccddeeff");
        let bytes: [u8; 16] = std::array::from_fn(|i| 0xf0 | i as u8);
        assert_eq!(EventId::from_bytes(bytes).to_string(), "f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");
    }

    #[test]
    fn event_id_parse_agrees_with_the_reference_parser_on_every_input() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Bytes that are digits, near digits, separators, or not ASCII at all.
        let alphabet: Vec<char> = "0123456789abcdefABCDEFgGzZ/:@`-_+{} \0\u{7f}é\u{ff}ấ".chars().collect();
        let mut accepted = 0;
        for round in 0..200_000 {
            let mut text = EventId::from_bytes(rng.next().to_le_bytes().repeat(2).try_into().unwrap()).to_string();
            // Most inputs are a valid id with a few changes; some are random strings.
            if round % 10 == 9 {
                text = (0..rng.below(40)).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            } else {
                for _ in 0..rng.below(3) {
                    let mut chars: Vec<char> = text.chars().collect();
                    let at = rng.below(chars.len() + 1);
                    match rng.below(4) {
                        0 if at < chars.len() => chars[at] = alphabet[rng.below(alphabet.len())],
                        1 if at < chars.len() => drop(chars.remove(at)),
                        2 => chars.insert(at, alphabet[rng.below(alphabet.len())]),
                        _ => {
                            chars = vec!['0'; 36]
                                .into_iter()
                                .enumerate()
                                .map(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { '-' } else { c })
                                .collect()
                        }
                    }
                    text = chars.into_iter().collect();
                }
            }
            let fast = EventId::parse("event_id", &text);
            assert_eq!(fast.as_ref().ok().map(|id| id.0), reference_parse(&text), "{text:?}");
            assert_eq!(EventId::from_canonical(text.as_bytes()), fast.clone().ok(), "{text:?}");
            if let Ok(id) = fast {
                assert_eq!(id.to_string(), text);
                accepted += 1;
            }
        }
        // Both sides of the line were exercised.
        assert!((50_000..190_000).contains(&accepted), "{accepted}");
        // Every single-byte change of a valid id, at every place.
        let valid = "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d";
        for at in 0..valid.len() {
            for byte in 0..=0x7fu8 {
                let mut bytes = valid.as_bytes().to_vec();
                bytes[at] = byte;
                let text = String::from_utf8(bytes).unwrap();
                assert_eq!(EventId::parse("e", &text).ok().map(|id| id.0), reference_parse(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn the_validity_tests_agree_with_the_parsers() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let alphabet: Vec<char> = "abz09-_A$.cellorg ấ\u{0}".chars().collect();
        let prefixes = ["", "cell-", "org-", "$", "cell", "org-cell-"];
        for _ in 0..100_000 {
            let len = match rng.below(4) {
                0 => 63 + rng.below(4),
                _ => rng.below(12),
            };
            let body: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            let text = format!("{}{body}", prefixes[rng.below(prefixes.len())]);
            assert_eq!(Id::is_valid(&text), Id::parse("id", &text).is_ok(), "{text:?}");
            assert_eq!(Id::parse_owned("id", text.clone()), Id::parse("id", &text), "{text:?}");
            assert_eq!(StreamName::is_valid(&text), StreamName::parse("stream", &text).is_ok(), "{text:?}");
        }
        for name in ["$checkpoints", "$credentials", "cell-a", "org-a-1", &format!("cell-{}", "a".repeat(64))] {
            assert!(StreamName::is_valid(name), "{name}");
        }
        for name in ["$checkpoint", "cell-", &format!("org-{}", "a".repeat(65)), "cell-a b"] {
            assert!(!StreamName::is_valid(name), "{name}");
        }
        assert_eq!(
            Id::parse("id", "a_b").unwrap_err().reason,
            "contains '_'; an id has only lowercase letters a-z, digits and '-'"
        );
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
