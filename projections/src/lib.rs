//! chibo's projections: pure functions from the event log to the state that guards every
//! submission, to standings, and to annual evaluations (DESIGN.md invariant 6: a projection is a
//! function of the log prefix it has read; rebuilding from zero gives byte-identical state).
//!
//! - [`rules`]: the rule sets of RULES.md as versioned data, shipped with the binary and
//!   replaceable by a deployment.
#![deny(missing_docs)]

pub mod rules;
