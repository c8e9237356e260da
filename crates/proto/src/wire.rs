//! Protobuf's wire format read in place, for the messages read once per event of the log (the
//! envelope, the study-points payload): a field at a time, in the order the message's encoder
//! writes them; and written in place, as prost writes them, for the payloads written most.
//!
//! The reader takes only the canonical layout: each field's key in one byte (field numbers
//! below 16), fields in field order. A caller that meets anything else (a field repeated,
//! unknown or out of order, a key in more bytes) leaves the message to the general decoder,
//! which reads it or says why not. With each field present at most once, protobuf's rules (the
//! last value of a field wins, message fields merge) leave no choice, so what the caller reads
//! is what the general decoder reads.

/// A field's key in its one-byte form: the field `number` (below 16) and its `wire` type.
pub const fn key(number: u8, wire: u8) -> u8 {
    number << 3 | wire
}

/// The wire type of varints (`uint32`, `uint64`, `int64`, enums).
pub const VARINT: u8 = 0;
/// The wire type of length-delimited fields (strings, bytes, messages).
pub const LEN: u8 = 2;

/// The bytes of a message not read yet.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Whether every byte has been read.
    pub fn is_done(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A base-128 varint of at most ten bytes whose tenth byte is 0 or 1 (protobuf's rule).
    pub fn varint(&mut self) -> Option<u64> {
        // Lengths and most small numbers are one byte.
        match self.bytes.split_first() {
            Some((&byte, rest)) if byte < 0x80 => {
                self.bytes = rest;
                Some(u64::from(byte))
            }
            _ => self.long_varint(),
        }
    }

    fn long_varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for (i, &byte) in self.bytes.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                if i == 9 && byte > 1 {
                    return None;
                }
                self.bytes = &self.bytes[i + 1..];
                return Some(value);
            }
        }
        None
    }

    /// A length-delimited value: its length as a varint, then that many bytes.
    pub fn delimited(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > self.bytes.len() {
            return None;
        }
        let (value, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(value)
    }

    /// A length-delimited value that is UTF-8, as a `string` field must be.
    pub fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.delimited()?).ok()
    }

    /// The field `key` opens, if it comes next, read by `read`: `Some(None)` when another key
    /// or the end comes next, `None` when the field is malformed.
    pub fn field<T>(&mut self, key: u8, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.bytes.split_first() {
            Some((&next, rest)) if next == key => {
                self.bytes = rest;
                read(self).map(Some)
            }
            _ => Some(None),
        }
    }
}

/// A `google.protobuf.Timestamp` read in place (`seconds = 1`, an `int64`; `nanos = 2`, an
/// `int32`), when it is laid out as prost writes it and is an instant the domain takes: the
/// instant prost and `Timestamp::new` read from it. `None` otherwise, for the general decoder.
pub fn timestamp(bytes: &[u8]) -> Option<chibo_domain::Timestamp> {
    let mut reader = Reader::new(bytes);
    // The varints' low 64 and 32 bits, as prost reads `int64` and `int32`.
    let seconds = reader.field(key(1, VARINT), Reader::varint)?.unwrap_or(0) as i64;
    let nanos = reader.field(key(2, VARINT), Reader::varint)?.unwrap_or(0) as i32;
    if !reader.is_done() {
        return None;
    }
    chibo_domain::Timestamp::new("", seconds, nanos).ok()
}

/// A message written a field at a time, in field order, as prost writes it: a field at its
/// default value (0, an empty string) is left out, and each key is one byte (field numbers
/// below 16).
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// A writer with room for `len` bytes.
    pub fn with_capacity(len: usize) -> Self {
        Self { bytes: Vec::with_capacity(len) }
    }

    /// Field `number`, a varint, unless 0.
    pub fn varint_field(&mut self, number: u8, value: u64) {
        if value != 0 {
            self.bytes.push(key(number, VARINT));
            prost::encoding::encode_varint(value, &mut self.bytes);
        }
    }

    /// Field `number`, a string, unless empty.
    pub fn text_field(&mut self, number: u8, text: &str) {
        self.bytes_field(number, text.as_bytes());
    }

    /// Field `number`, bytes (or a string's or a message's encoding), unless empty.
    pub fn bytes_field(&mut self, number: u8, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.delimited(number, bytes);
        }
    }

    /// Field `number`, a message whose encoding is `bytes`, written even when empty: a message
    /// field that is set.
    pub fn message_field(&mut self, number: u8, bytes: &[u8]) {
        self.delimited(number, bytes);
    }

    /// Field `number`, a `google.protobuf.Timestamp` that is set.
    pub fn timestamp_field(&mut self, number: u8, at: chibo_domain::Timestamp) {
        let (seconds, nanos) = (at.seconds(), at.nanos());
        // As prost writes `int64` and `int32`: the two's complement, sign-extended to 64 bits
        // (a timestamp's nanos are below 10^9, so never negative).
        let len = varint_len(seconds as u64, seconds != 0) + varint_len(u64::from(nanos), nanos != 0);
        self.bytes.push(key(number, LEN));
        // At most 11 + 6 bytes: a length in one byte.
        self.bytes.push(len as u8);
        self.varint_field(1, seconds as u64);
        self.varint_field(2, u64::from(nanos));
    }

    /// Field `number`, a message that is set, whose fields `write` writes. Its length goes
    /// before it once it is written: a few bytes moved, rather than a second buffer.
    pub fn message_with(&mut self, number: u8, write: impl FnOnce(&mut Self)) {
        self.bytes.push(key(number, LEN));
        let start = self.bytes.len();
        write(self);
        let mut prefix = [0u8; 10];
        let written = {
            let mut at = &mut prefix[..];
            prost::encoding::encode_varint((self.bytes.len() - start) as u64, &mut at);
            10 - at.len()
        };
        self.bytes.splice(start..start, prefix[..written].iter().copied());
    }

    fn delimited(&mut self, number: u8, bytes: &[u8]) {
        self.bytes.push(key(number, LEN));
        prost::encoding::encode_varint(bytes.len() as u64, &mut self.bytes);
        self.bytes.extend_from_slice(bytes);
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Forgets what was written, keeping the room.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// The message written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The length of a varint field's key and value, if `present`.
fn varint_len(value: u64, present: bool) -> usize {
    if present {
        1 + prost::encoding::encoded_len_varint(value)
    } else {
        0
    }
}

/// Text written to the stack, for a value whose `Display` is its protobuf text (a date).
pub struct Short<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Short<N> {
    /// `value` as `Display` writes it, if it fits in `N` bytes.
    pub fn of(value: &impl std::fmt::Display) -> Option<Self> {
        use std::fmt::Write;
        let mut short = Self { bytes: [0; N], len: 0 };
        write!(short, "{value}").ok()?;
        Some(short)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are written in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl<const N: usize> std::fmt::Write for Short<N> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.len + text.len();
        self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_written_as_prost_writes_it() {
        use prost::Message;
        #[derive(Clone, PartialEq, prost::Message)]
        struct Sample {
            #[prost(string, tag = "1")]
            a: String,
            #[prost(uint64, tag = "2")]
            b: u64,
            #[prost(string, tag = "15")]
            c: String,
        }
        let long = "ấp ".repeat(60);
        for (a, b, c) in [("", 0, ""), ("x", 1, "y"), ("Điều lệ", 127, ""), ("", 128, &long[..]), ("z", u64::MAX, "w")]
        {
            let mut writer = Writer::default();
            writer.text_field(1, a);
            writer.varint_field(2, b);
            writer.text_field(15, c);
            let expected = Sample { a: a.into(), b, c: c.into() }.encode_to_vec();
            assert_eq!(writer.into_bytes(), expected, "{a:?} {b} {c:?}");
        }
    }

    #[test]
    fn short_text_holds_what_fits_and_refuses_the_rest() {
        assert_eq!(Short::<10>::of(&"2026-03-14").map(|s| s.as_str().to_owned()), Some("2026-03-14".into()));
        assert!(Short::<4>::of(&"2026-03-14").is_none());
    }

    #[test]
    fn varints_are_read_as_protobuf_spells_them() {
        for (bytes, value) in [
            (&[0x00][..], Some(0)),
            (&[0x7f], Some(127)),
            (&[0x80, 0x01], Some(128)),
            (&[0xff, 0xff, 0xff, 0xff, 0x0f], Some(u64::from(u32::MAX))),
            (&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], Some(u64::MAX)),
            // A tenth byte above 1 overflows 64 bits; an eleventh byte is too long; a varint
            // cut short has no end.
            (&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02], None),
            (&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], None),
            (&[0x80], None),
            (&[], None),
        ] {
            assert_eq!(Reader::new(bytes).varint(), value, "{bytes:02x?}");
        }
    }

    #[test]
    fn fields_are_read_in_order_or_not_at_all() {
        // Field 1 "ab", field 2 varint 300.
        let bytes = [0x0a, 0x02, b'a', b'b', 0x10, 0xac, 0x02];
        let mut reader = Reader::new(&bytes);
        // Field 2 is not next: nothing is read.
        assert_eq!(reader.field(key(2, VARINT), Reader::varint), Some(None));
        assert_eq!(reader.field(key(1, LEN), Reader::text), Some(Some("ab")));
        assert_eq!(reader.field(key(2, VARINT), Reader::varint), Some(Some(300)));
        assert!(reader.is_done());
        // A length past the end, and text that is not UTF-8, are malformed.
        assert_eq!(Reader::new(&[0x0a, 0x03, b'a']).field(key(1, LEN), Reader::delimited), None);
        assert_eq!(Reader::new(&[0x0a, 0x01, 0xff]).field(key(1, LEN), Reader::text), None);
    }
}
