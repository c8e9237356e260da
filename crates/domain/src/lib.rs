//! chibo's domain: the events of the catalogue (DESIGN.md "Event catalogue (v1)") as plain Rust
//! types, and the shape rules every submission must pass before anything is written.
//!
//! This crate knows nothing of protobuf, gRPC or storage (architecture invariant 8): the wire
//! types are converted into these at the edge, in `chibo-proto`, and every check here reports an
//! [`InvalidField`] that names the field and the reason.
#![deny(missing_docs)]

mod compact;
pub mod error;
pub mod event;
pub mod id;
pub mod text;
pub mod time;

pub use error::InvalidField;
pub use event::{Event, EventType, Submission};
pub use id::{EventId, Id, StreamKind, StreamName};
pub use time::{Date, Period, Timestamp};
