//! Corrections: the log is append-only (architecture invariant 1), so a mistake is mended by a
//! new event that names the event it corrects or withdraws.

use crate::error::{InvalidField, Result};
use crate::id::EventId;
use crate::text::limit;

use super::{required_text, Event, EventType};

/// The fields of an [`EventCorrected`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCorrectedFields {
    /// The event corrected, earlier in the same stream.
    pub target_event_id: EventId,
    /// Why it is corrected.
    pub reason: String,
    /// What the target should have said: an event of the target's type, and never itself a
    /// correction, a retraction or a checkpoint.
    pub replacement: Box<Event>,
}

checked! {
    /// An earlier event is corrected. Recorded in the stream of the event it corrects.
    pub struct EventCorrected(EventCorrectedFields);
}

impl EventCorrectedFields {
    fn check(&self) -> Result<()> {
        let Self { target_event_id: _, reason, replacement } = self;
        required_text("reason", reason, limit::PARAGRAPH)?;
        let replacement_type = replacement.event_type();
        // Correcting a correction would make what an event "really" says depend on a chain of
        // replacements; correct the original again instead. Checkpoints are the server's.
        if matches!(
            replacement_type,
            EventType::EventCorrected | EventType::EventRetracted | EventType::CheckpointSigned
        ) {
            return Err(InvalidField::new(
                "replacement",
                format!(
                    "is {replacement_type}; a replacement is an ordinary event, not a correction, \
                     retraction or checkpoint"
                ),
            ));
        }
        Ok(())
    }
}

/// The fields of an [`EventRetracted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRetractedFields {
    /// The event withdrawn, earlier in the same stream.
    pub target_event_id: EventId,
    /// Why it is withdrawn.
    pub reason: String,
}

checked! {
    /// An earlier event is withdrawn. Recorded in the stream of the event it withdraws.
    pub struct EventRetracted(EventRetractedFields);
}

impl EventRetractedFields {
    fn check(&self) -> Result<()> {
        let Self { target_event_id: _, reason } = self;
        required_text("reason", reason, limit::PARAGRAPH)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::meeting::tests::meeting_held;
    use crate::event::tests::{err, one_of_each, pair};

    fn target() -> EventId {
        EventId::parse("id", "0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c7d").unwrap()
    }

    fn corrected() -> EventCorrectedFields {
        let mut meeting = meeting_held().into_fields();
        meeting.duration_minutes = 95;
        EventCorrectedFields {
            target_event_id: target(),
            reason: "Ghi sai thời lượng".into(),
            replacement: Box::new(super::super::MeetingHeld::new(meeting).unwrap().into()),
        }
    }

    pub(crate) fn event_corrected() -> EventCorrected {
        EventCorrected::new(corrected()).unwrap()
    }

    pub(crate) fn event_retracted() -> EventRetracted {
        EventRetracted::new(EventRetractedFields { target_event_id: target(), reason: "Nhập trùng".into() }).unwrap()
    }

    #[test]
    fn a_correction_replaces_an_ordinary_event() {
        assert_eq!(event_corrected().replacement.event_type(), EventType::MeetingHeld);
        for event in one_of_each() {
            let t = event.event_type();
            let result = EventCorrected::new(EventCorrectedFields { replacement: Box::new(event), ..corrected() });
            match t {
                EventType::EventCorrected | EventType::EventRetracted | EventType::CheckpointSigned => {
                    assert_eq!(
                        err(result),
                        pair(
                            "replacement",
                            &format!(
                                "is {t}; a replacement is an ordinary event, not a correction, \
                                 retraction or checkpoint"
                            )
                        )
                    );
                }
                _ => assert!(result.is_ok(), "{t}"),
            }
        }
        let unexplained = EventCorrectedFields { reason: String::new(), ..corrected() };
        assert_eq!(err(EventCorrected::new(unexplained)), pair("reason", "is empty"));
    }

    #[test]
    fn a_retraction_says_why() {
        assert_eq!(event_retracted().target_event_id, target());
        let unexplained = EventRetractedFields { target_event_id: target(), reason: " ".into() };
        assert_eq!(err(EventRetracted::new(unexplained)), pair("reason", "is empty"));
    }
}
