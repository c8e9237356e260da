//! chibo's projections: pure functions from the event log to the state that guards every
//! submission, to standings, and to annual evaluations (DESIGN.md invariant 6: a projection is a
//! function of the log prefix it has read; rebuilding from zero gives byte-identical state).
//!
//! - [`state`]: the state the log folds into, with its index.
//! - [`rules`]: the rule sets of RULES.md as versioned data, shipped with the binary and
//!   replaceable by a deployment.
//! - [`standings`]: a member's, a cell's and a committee's year; [`provenance`]: the events one
//!   of those figures was computed from.
#![deny(missing_docs)]

pub mod access;
pub mod engine;
pub mod evaluation;
pub mod handoff;
mod heap;
pub mod provenance;
pub mod record;
pub mod rules;
pub mod snapshot;
pub mod standings;
pub mod state;
pub mod validate;

pub use record::Recorded;
pub use state::State;
