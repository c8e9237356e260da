//! The rule sets of RULES.md as versioned data.
