//! The one error shape of the domain's shape rules: which field, and why.

use std::fmt;

/// A value that breaks a shape rule. `field` is a path from the top of what was being checked
/// (`event.meeting_held.attendance[3].member_id`), `reason` says what is wrong in words a
/// client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct InvalidField {
    /// Dotted path of the offending field.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidField {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }

    /// The same error, seen from one level up: `parent` is prefixed to the field path.
    #[must_use]
    pub fn within(mut self, parent: impl fmt::Display) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Results of the domain's shape checks.
pub type Result<T, E = InvalidField> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_builds_a_path() {
        let e = InvalidField::new("member_id", "is empty").within("[3]").within("attendance");
        assert_eq!(e.field, "attendance[3].member_id");
        assert_eq!(e.to_string(), "attendance[3].member_id: is empty");
    }
}
