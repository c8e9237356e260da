//! From a gRPC submission to events a store can append: every shape rule of the domain, the
//! stream rules, the clock check, then the payload encoding, salt and digest. Nothing here
//! touches the store, so a refusal leaves the log as it was.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chibo_domain::{event::Submission, Event, InvalidField, StreamName, Timestamp};
use chibo_proto::{convert, v1 as pb};
use chibo_store::{ExpectedRevision, NewEvent, MAX_EVENTS_PER_APPEND};
use tonic::Status;

/// How far in the future (by the server's clock) an `occurred_at` may be.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The actor recorded while chibo has no authentication: every event says who submitted it,
/// and until credentials exist the honest answer is "nobody known".
pub const UNAUTHENTICATED_ACTOR: &str = "anonymous";

pub fn invalid(e: InvalidField) -> Status {
    Status::invalid_argument(e.to_string())
}

pub fn stream(field: &str, name: &str) -> Result<StreamName, Status> {
    let stream = StreamName::parse(field, name).map_err(invalid)?;
    Ok(stream)
}

pub fn expected_revision(expected: Option<pb::ExpectedRevision>) -> Result<ExpectedRevision, Status> {
    use pb::expected_revision::Kind;
    Ok(match expected.and_then(|e| e.kind) {
        None | Some(Kind::Any(_)) => ExpectedRevision::Any,
        Some(Kind::NoStream(_)) => ExpectedRevision::NoStream,
        Some(Kind::Exact(r)) => ExpectedRevision::Exact(r),
    })
}

/// The server's clock.
pub fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_unix_nanos(since.as_nanos() as i128).expect("the clock is within the years 1900 to 9999")
}

/// Where the submissions sit in the request, for naming fields in errors.
#[derive(Debug, Clone, Copy)]
pub enum Fields {
    /// `Submit`: one submission, `event`.
    Single,
    /// `SubmitBatch`: a list, `events[i]`.
    Batch,
}

impl Fields {
    /// The request field holding the submissions.
    pub fn list(self) -> &'static str {
        match self {
            Self::Single => "event",
            Self::Batch => "events",
        }
    }

    /// The request field holding the `i`th submission.
    pub fn item(self, i: usize) -> String {
        match self {
            Self::Single => "event".to_owned(),
            Self::Batch => format!("events[{i}]"),
        }
    }
}

/// A submission that passed every shape rule: the event to append, and what it says.
pub struct Checked {
    /// The event as the store will append it.
    pub new: NewEvent,
    /// Its payload, as a domain event, for the rules against current state.
    pub event: Event,
}

/// Checks every submission and turns it into an event to append to `stream`, submitted by
/// `actor`.
pub fn new_events(
    stream: &StreamName,
    fields: Fields,
    submissions: Vec<pb::EventSubmission>,
    actor: &str,
) -> Result<Vec<Checked>, Status> {
    if submissions.len() > MAX_EVENTS_PER_APPEND {
        return Err(Status::resource_exhausted(format!(
            "{}: {} events exceeds the limit of {MAX_EVENTS_PER_APPEND} per request",
            fields.list(),
            submissions.len()
        )));
    }
    let latest = Timestamp::from_unix_nanos(now().unix_nanos() + MAX_CLOCK_SKEW.as_nanos() as i128)
        .expect("now plus a few minutes is in range");
    let mut events = Vec::with_capacity(submissions.len());
    for (i, submission) in submissions.into_iter().enumerate() {
        let at = |e: InvalidField| invalid(e.within(fields.item(i)));
        let Submission { event_id, occurred_at, event } = Submission::try_from(submission).map_err(at)?;
        event.check_stream(stream).map_err(|e| {
            // A misplaced event is a fault of the request's stream, named as such.
            if e.field == "stream" {
                invalid(e)
            } else {
                at(e.within("event"))
            }
        })?;
        if occurred_at > latest {
            return Err(at(InvalidField::new(
                "occurred_at",
                format!(
                    "is in the future ({}s after the server's clock; at most {}s of clock skew is allowed)",
                    (occurred_at.unix_nanos() - now().unix_nanos()) / 1_000_000_000,
                    MAX_CLOCK_SKEW.as_secs()
                ),
            )));
        }
        let event_type = event.event_type();
        let mut salt = [0u8; 16];
        getrandom::getrandom(&mut salt).map_err(|e| Status::unavailable(format!("no randomness for the salt: {e}")))?;
        let new = NewEvent::new(
            event_id,
            event_type.name(),
            event_type.schema_version(),
            occurred_at,
            actor,
            convert::encode_payload(&event),
            salt,
        );
        events.push(Checked { new, event });
    }
    Ok(events)
}
