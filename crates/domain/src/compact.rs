//! Short texts kept in place: how [`Id`](crate::Id) and [`Label`](crate::text::Label) hold
//! their text.

use std::cmp::Ordering;

/// The longest text kept in place, in bytes.
pub(crate) const INLINE: usize = 23;

/// A text of up to 23 bytes, none of them zero, kept in the value itself (which is as large as
/// a `String`); any other text on the heap. The state keeps ids and labels in most facts and
/// index entries, and decoding makes several for nearly every event: a heap copy each was an
/// allocation and 32 bytes more (docs/BENCHMARKS.md, twentieth and twenty-first rounds).
///
/// Each text has one form, so two values are equal exactly when their texts are; they order as
/// their texts do.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Compact {
    /// The text's bytes, then zeros: it holds no zero byte, so the first zero ends it.
    Inline([u8; INLINE]),
    /// A text longer than [`INLINE`], or one holding a zero byte.
    Heap(Box<str>),
}

impl Compact {
    /// `text` in place, if it can be.
    fn inline(text: &str) -> Option<Self> {
        if text.len() > INLINE || text.as_bytes().contains(&0) {
            return None;
        }
        let mut bytes = [0; INLINE];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(Self::Inline(bytes))
    }

    /// The form of `text`.
    pub(crate) fn new(text: &str) -> Self {
        Self::inline(text).unwrap_or_else(|| Self::Heap(text.into()))
    }

    /// The form of `text`, keeping its buffer when it goes on the heap.
    pub(crate) fn from_string(text: String) -> Self {
        Self::inline(&text).unwrap_or_else(|| Self::Heap(text.into_boxed_str()))
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Inline(bytes) => {
                let len = bytes.iter().position(|&b| b == 0).unwrap_or(INLINE);
                // Only `inline` fills the bytes, with a whole text's: UTF-8.
                std::str::from_utf8(&bytes[..len]).expect("a whole text is kept in place")
            }
            Self::Heap(text) => text,
        }
    }
}

impl Default for Compact {
    /// The empty text.
    fn default() -> Self {
        Self::Inline([0; INLINE])
    }
}

impl Ord for Compact {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            // Zeros sort before every byte a text in place holds, so padded texts sort as
            // themselves; as three big-endian words, in a few instructions rather than a call
            // of memcmp.
            (Self::Inline(a), Self::Inline(b)) => words(a).cmp(&words(b)),
            _ => self.as_str().cmp(other.as_str()),
        }
    }
}

impl PartialOrd for Compact {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A text in place as three big-endian words, which order as its bytes do.
fn words(bytes: &[u8; INLINE]) -> [u64; 3] {
    let mut padded = [0u8; 24];
    padded[..INLINE].copy_from_slice(bytes);
    let word = |at: usize| u64::from_be_bytes(padded[at..at + 8].try_into().expect("eight bytes"));
    [word(0), word(8), word(16)]
}
