//! Free text with a length limit per kind of field.

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
    if value.len() > max {
        return Err(InvalidField::new(field, format!("is {} bytes long; the limit is {max} bytes", value.len())));
    }
    if let Some(c) = value.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(InvalidField::new(field, format!("contains the control character U+{:04X}", c as u32)));
    }
    Ok(value.to_owned())
}

/// Like [`bounded`], and the value must not be empty or only white space.
pub fn required(field: &str, value: &str, max: usize) -> Result<String> {
    if value.trim().is_empty() {
        return Err(InvalidField::new(field, "is empty"));
    }
    bounded(field, value, max)
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
}
