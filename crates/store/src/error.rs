//! Errors per store operation.

use chibo_domain::EventId;

use crate::event::ExpectedRevision;

/// Why an append did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The stream is not at the expected revision.
    #[error("{stream}: expected {expected}, but the stream's last revision is {}", actual.map_or("none (no stream)".to_owned(), |r| r.to_string()))]
    WrongExpectedRevision {
        /// The stream.
        stream: String,
        /// What the caller expected.
        expected: ExpectedRevision,
        /// The stream's last revision (`None`: no events).
        actual: Option<u64>,
    },
    /// The event id is already recorded for a different event, or in another stream, or at
    /// another place than this batch would put it.
    #[error("event_id {event_id}: already recorded as {stream} revision {revision}; an event id names one event, and this is not a retry of it")]
    EventIdConflict {
        /// The id.
        event_id: EventId,
        /// Where it is recorded.
        stream: String,
        /// At which revision.
        revision: u64,
    },
    /// The same event id appears twice in one batch.
    #[error("event_id {event_id}: appears more than once in the batch")]
    DuplicateInBatch {
        /// The id.
        event_id: EventId,
    },
    /// The batch has no events or more than [`crate::MAX_EVENTS_PER_APPEND`].
    #[error("events: {0}")]
    BadBatch(String),
    /// The store cannot take writes (closed, or stopped after a failed commit); the outcome of
    /// this append is unknown when it was in a commit that failed.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A stored record does not have the shape of a stored event.
    #[error("corrupt record at position {position}: {reason}")]
    Corrupt {
        /// Its global position.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// The store failed to read.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}
