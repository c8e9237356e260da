//! What a projection reads: one event of the log, decoded, with its place in the log.

use chibo_domain::{Event, EventId, StreamName, Timestamp};

/// One event of the global order, as the projections see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The event's global position (0-based).
    pub position: u64,
    /// The stream it belongs to.
    pub stream: StreamName,
    /// Its revision in that stream (0-based).
    pub revision: u64,
    /// The client-chosen event id.
    pub event_id: EventId,
    /// When it happened, as the client asserted.
    pub occurred_at: Timestamp,
    /// When the server recorded it.
    pub recorded_at: Timestamp,
    /// The event's hash (DESIGN.md "Integrity"): a snapshot names the last one it covers, so it
    /// cannot be mistaken for a snapshot of another log.
    pub hash: [u8; 32],
    /// The event, or `None` when its payload could not be read as any event this build knows
    /// (a newer schema). Such events still advance their stream; they are counted, and an
    /// evaluation over them is refused.
    pub event: Option<Event>,
}
