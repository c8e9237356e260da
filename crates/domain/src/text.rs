//! Free text with a length limit per kind of field.

use crate::compact::Compact;
use crate::error::{InvalidField, Result};

/// Limits on free-text fields, in bytes of UTF-8.
pub mod limit {
    /// Names of people, organizations, programmes, indicators, courses.
    pub const NAME: usize = 256;
    /// Short labels: decision numbers, cell types, rubric parts, positions, source references.
    pub const LABEL: usize = 128;
    /// A sentence or a paragraph: reasons, topics, summaries, outcomes, activities, findings.
    pub const PARAGRAPH: usize = 4 * 1024;
    /// Meeting minutes and other long documents.
    pub const DOCUMENT: usize = 64 * 1024;
}

/// Checks that `value` (the content of `field`) is at most `max` bytes and holds no control
/// characters other than tab and newlines; returns it owned.
pub fn bounded(field: &str, value: &str, max: usize) -> Result<String> {
    check(field, value, max)?;
    Ok(value.to_owned())
}

/// [`bounded`]'s check alone, for a value the caller keeps.
pub fn check(field: &str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(InvalidField::new(field, format!("is {} bytes long; the limit is {max} bytes", value.len())));
    }
    if has_control(value) {
        if let Some(c) = value.chars().find(|c| is_refused(*c)) {
            return Err(InvalidField::new(field, format!("contains the control character U+{:04X}", c as u32)));
        }
    }
    Ok(())
}

/// A control character other than tab and newlines.
fn is_refused(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether `value` holds a character [`is_refused`] refuses, read byte by byte: the control
/// characters are U+0000 to U+001F and U+007F (one byte each) and U+0080 to U+009F (0xC2
/// then 0x80 to 0x9F; in valid UTF-8, 0xC2 only ever starts a character).
///
/// Most texts hold no byte that can start such a character. A first pass asks that of every
/// byte without stopping at the first, which the compiler turns into vector instructions: it
/// was a tenth of a replay's instructions byte by byte (docs/BENCHMARKS.md, twentieth round).
/// Only a text that holds such a byte (a tab or a newline, often) is read again byte by byte.
fn has_control(value: &str) -> bool {
    let bytes = value.as_bytes();
    let suspect = bytes.iter().fold(false, |any, &b| any | (b < 0x20) | (b == 0x7f) | (b == 0xc2));
    suspect
        && bytes.iter().enumerate().any(|(i, &b)| match b {
            b'\t' | b'\n' | b'\r' => false,
            0..=0x1f | 0x7f => true,
            0xc2 => bytes.get(i + 1).is_some_and(|next| (0x80..=0x9f).contains(next)),
            _ => false,
        })
}

/// Like [`bounded`], and the value must not be empty or only white space.
pub fn required(field: &str, value: &str, max: usize) -> Result<String> {
    if value.trim().is_empty() {
        return Err(InvalidField::new(field, "is empty"));
    }
    bounded(field, value, max)
}

/// A short text, such as a source system's reference: kept in the value itself (as large as
/// a `String`) when it is at most 23 bytes and holds no zero byte, on the heap otherwise, as an
/// [`Id`](crate::Id) is. A study-points event carries one, and the state keeps it in the
/// event's fact. A label derefs to, compares, orders and prints as its text; it checks nothing
/// itself (its event's rules do).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(Compact);

impl Label {
    /// The label's text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for Label {
    fn from(text: &str) -> Self {
        Self(Compact::new(text))
    }
}

impl From<String> for Label {
    fn from(text: String) -> Self {
        Self(Compact::from_string(text))
    }
}

impl std::ops::Deref for Label {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Label {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Debug for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_control_characters() {
        assert_eq!(bounded("topic", "Học tập Nghị quyết", limit::LABEL).unwrap(), "Học tập Nghị quyết");
        let e = bounded("topic", &"x".repeat(129), limit::LABEL).unwrap_err();
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("topic", "is 129 bytes long; the limit is 128 bytes"));
        assert!(bounded("minutes", "line\nline\ttab", limit::DOCUMENT).is_ok());
        assert!(bounded("name", "a\u{0}b", limit::NAME).unwrap_err().reason.contains("U+0000"));
        assert_eq!(required("name", "  ", limit::NAME).unwrap_err().reason, "is empty");
        assert_eq!(bounded("reason", "", limit::NAME).unwrap(), "");
    }

    /// Labels of every length around the one kept in place, with characters of one to four
    /// bytes and a zero byte, behave as their texts: the same text, equality, order and
    /// printing, made from a `&str` or a `String`; and a label is as large as a `String`.
    #[test]
    fn labels_behave_as_their_texts_whatever_their_length() {
        assert_eq!(std::mem::size_of::<Label>(), std::mem::size_of::<String>());
        let pieces = ["a", "ệ", "\u{0}", "€", "𝔸", "-", "9"];
        let mut texts = vec![String::new()];
        for len in 1..=40 {
            for (i, piece) in pieces.iter().enumerate() {
                let text: String = pieces.iter().cycle().skip(i).take(len).copied().collect();
                texts.push(text.clone());
                texts.push(format!("{text}{piece}"));
            }
        }
        texts.push("STDV-12345678".into());
        texts.push("x".repeat(128));
        let labels: Vec<Label> = texts.iter().map(|text| Label::from(text.as_str())).collect();
        for (text, label) in texts.iter().zip(&labels) {
            assert_eq!(label.as_str(), text);
            assert_eq!(&**label, text.as_str());
            assert_eq!(*label, Label::from(text.clone()), "{text:?} from a String");
            assert_eq!(format!("{label}"), *text);
            assert_eq!(format!("{label:?}"), format!("{text:?}"));
        }
        for (a, x) in texts.iter().zip(&labels) {
            for (b, y) in texts.iter().zip(&labels) {
                assert_eq!(x == y, a == b, "{a:?} and {b:?}");
                assert_eq!(x.cmp(y), a.cmp(b), "{a:?} and {b:?}");
            }
        }
        assert_eq!(Label::default(), Label::from(""));
    }

    /// A long text is refused for a control character wherever it is, and only for one.
    #[test]
    fn a_control_character_is_found_anywhere_in_a_long_text() {
        let text: Vec<char> =
            "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh. ".chars().cycle().take(300).collect();
        assert!(!has_control(&text.iter().collect::<String>()));
        for at in 0..text.len() {
            for c in ['\u{0}', '\u{1f}', '\u{7f}', '\u{85}'] {
                let mut with = text.clone();
                with[at] = c;
                let with: String = with.into_iter().collect();
                assert!(has_control(&with), "{c:?} at {at}");
            }
            let mut allowed = text.clone();
            allowed[at] = '\n';
            assert!(!has_control(&allowed.into_iter().collect::<String>()), "a newline at {at}");
        }
    }

    /// The byte scan refuses exactly the characters the character test refuses.
    #[test]
    fn the_byte_scan_agrees_with_the_character_test() {
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("a{c}"), format!("{c}\u{c2}z"), format!("ấ{c}\u{9f}")] {
                assert_eq!(has_control(&text), text.chars().any(is_refused), "{text:?}");
                assert_eq!(check("f", &text, 64).is_ok(), !text.chars().any(is_refused), "{text:?}");
            }
        }
    }
}
