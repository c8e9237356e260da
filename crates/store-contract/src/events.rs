//! Events for the suite: unique ids and distinct payloads.

use chibo_domain::{EventId, Timestamp};
use chibo_store::NewEvent;

/// A fresh random event id.
pub fn event_id() -> EventId {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    bytes[0] |= 1; // never the nil UUID
    EventId::from_bytes(bytes)
}

/// A new event with a fresh id whose payload names `label`.
pub fn new_event(label: &str) -> NewEvent {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the OS random source works");
    NewEvent::new(
        event_id(),
        "StudyPointsEarned",
        1,
        Timestamp::new("occurred_at", 1_767_225_600, 0).expect("in range"),
        "contract-suite",
        format!("payload {label}").into_bytes(),
        salt,
    )
}
