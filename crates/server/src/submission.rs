//! From a gRPC submission to events a store can append: [`check_request`] runs every shape rule
//! of the domain, the stream rules and the clock check, as a pure function of the request and
//! the server's clock; [`new_events`] then encodes each payload and adds its salt and digest.
//! Nothing here touches the store, so a refusal leaves the log as it was.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chibo_domain::{event::Submission, Event, InvalidField, StreamName, Timestamp};
use chibo_integrity::SALT_LEN;
use chibo_proto::submit::{self, Bytes, SubmitBatchWire};
use chibo_proto::{convert, v1 as pb};
use chibo_store::{ExpectedRevision, NewEvent, MAX_EVENTS_PER_APPEND};
use tonic::Status;

/// How far in the future (by the server's clock) an `occurred_at` may be.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// An append request as the Ledger service receives it.
// One per request, moved once: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum AppendRequest {
    /// `Submit`: one event.
    Submit(pb::SubmitRequest),
    /// `SubmitBatch`: events for one stream, all or nothing, each as the client encoded it.
    SubmitBatch(SubmitBatchWire),
}

/// An append request that passed every shape rule: where, on what condition, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The stream to append to; never `$checkpoints` or `$credentials`.
    pub stream: StreamName,
    /// The revision the client expects the stream to be at.
    pub expected: ExpectedRevision,
    /// Where the submissions sit in the request, for naming fields in later refusals.
    pub fields: Fields,
    /// At least one and at most [`MAX_EVENTS_PER_APPEND`] submissions, each belonging in
    /// `stream` and dated no later than the clock allows.
    pub submissions: Vec<Submission>,
}

/// Checks an append request before anything else sees it: the stream's name (not
/// `$checkpoints` or `$credentials`, which only the server writes), at least one and at most
/// [`MAX_EVENTS_PER_APPEND`] submissions, each passing every shape rule of the domain, belonging
/// in the stream, and dated no later than `now` (the server's clock) plus [`MAX_CLOCK_SKEW`].
///
/// A pure function of its arguments. A refusal is `INVALID_ARGUMENT` whose message starts with
/// the request's field at fault (`stream`, `event.meeting_held.date`, `events[3].occurred_at`),
/// or `RESOURCE_EXHAUSTED` for too many events.
pub fn check_request(request: AppendRequest, now: Timestamp) -> Result<CheckedRequest, Status> {
    let (stream_name, expected, fields, submissions) = match request {
        AppendRequest::Submit(pb::SubmitRequest { stream, expected_revision, event }) => {
            let event = event.ok_or_else(|| Status::invalid_argument("event: is missing"))?;
            (stream, expected_revision, Fields::Single, Encoded::Decoded(event))
        }
        AppendRequest::SubmitBatch(SubmitBatchWire { stream, expected_revision, events }) => {
            (stream, expected_revision, Fields::Batch, Encoded::Bytes(events))
        }
    };
    let stream = stream("stream", &stream_name)?;
    if matches!(stream, StreamName::Checkpoints | StreamName::Credentials) {
        return Err(Status::invalid_argument(format!("stream: {stream} is written by the server only")));
    }
    let expected = expected_revision(expected)?;
    if submissions.is_empty() {
        return Err(Status::invalid_argument(format!("{}: is empty; submit at least one event", fields.list())));
    }
    if submissions.len() > MAX_EVENTS_PER_APPEND {
        return Err(Status::resource_exhausted(format!(
            "{}: {} events exceeds the limit of {MAX_EVENTS_PER_APPEND} per request",
            fields.list(),
            submissions.len()
        )));
    }
    // None when the clock is within minutes of the year 9999: nothing can be later.
    let latest = Timestamp::from_unix_nanos(now.unix_nanos() + MAX_CLOCK_SKEW.as_nanos() as i128);
    let mut checked = Vec::with_capacity(submissions.len());
    for (i, submission) in submissions.read().enumerate() {
        let at = |e: InvalidField| invalid(e.within(fields.item(i)));
        let submission = submission.map_err(at)?;
        submission.event.check_stream(&stream).map_err(|e| {
            // A misplaced event is a fault of the request's stream, named as such.
            if e.field == "stream" {
                invalid(e)
            } else {
                at(e.within("event"))
            }
        })?;
        let occurred_at = submission.occurred_at;
        if latest.is_some_and(|latest| occurred_at > latest) {
            return Err(at(InvalidField::new(
                "occurred_at",
                format!(
                    "is in the future ({}s after the server's clock; at most {}s of clock skew is allowed)",
                    (occurred_at.unix_nanos() - now.unix_nanos()) / 1_000_000_000,
                    MAX_CLOCK_SKEW.as_secs()
                ),
            )));
        }
        checked.push(submission);
    }
    Ok(CheckedRequest { stream, expected, fields, submissions: checked })
}

/// The submissions of a request, as it holds them.
// One per request, moved once: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Encoded {
    /// One, decoded with the request (`Submit`).
    Decoded(pb::EventSubmission),
    /// Each as the client encoded it (`SubmitBatch`).
    Bytes(Vec<Bytes>),
}

impl Encoded {
    fn len(&self) -> usize {
        match self {
            Self::Decoded(_) => 1,
            Self::Bytes(events) => events.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each submission, if it passes the domain's shape rules; if not, the field at fault, from
    /// the submission's own fields down. A batch's are read one at a time, as they are asked for.
    fn read(self) -> Box<dyn Iterator<Item = Result<Submission, InvalidField>>> {
        match self {
            Self::Decoded(submission) => Box::new(std::iter::once(Submission::try_from(submission))),
            Self::Bytes(events) => Box::new(events.into_iter().map(submit::submission)),
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

/// Turns checked submissions into events to append, submitted by `actor`: each payload
/// encoded once, with a fresh salt and its digest. The salts are drawn from the operating
/// system at once, one system call per request rather than per event, and the events share
/// one copy of the actor's name.
pub fn new_events(submissions: Vec<Submission>, actor: &str) -> Result<Vec<Checked>, Status> {
    let actor: Arc<str> = Arc::from(actor);
    let mut salts = vec![[0u8; SALT_LEN]; submissions.len()];
    getrandom::getrandom(salts.as_flattened_mut())
        .map_err(|e| Status::unavailable(format!("no randomness for the salts: {e}")))?;
    Ok(submissions
        .into_iter()
        .zip(salts)
        .map(|(Submission { event_id, occurred_at, event }, salt)| {
            let event_type = event.event_type();
            let new = NewEvent::new(
                event_id,
                event_type.name(),
                event_type.schema_version(),
                occurred_at,
                actor.clone(),
                convert::encode_payload(&event),
                salt,
            );
            Checked { new, event }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::new("t", seconds, 0).unwrap()
    }

    /// 2026-03-01T00:00:00Z.
    const NOW: i64 = 1_772_323_200;

    fn points(n: u8, occurred_at: i64) -> pb::EventSubmission {
        pb::EventSubmission {
            event_id: format!("0190f1c2-7d4e-7b3a-9c1d-2e3f4a5b6c{n:02x}"),
            occurred_at: Some(pbjson_types::Timestamp { seconds: occurred_at, nanos: 0 }),
            event: Some(pb::Event {
                kind: Some(pb::event::Kind::StudyPointsEarned(pb::StudyPointsEarned {
                    member_id: "nguyen-van-an".into(),
                    points: 20,
                    date: "2026-02-27".into(),
                    activity: "Nghị quyết".into(),
                    source_ref: Default::default(),
                })),
            }),
        }
    }

    fn batch(stream: &str, events: Vec<pb::EventSubmission>) -> AppendRequest {
        AppendRequest::SubmitBatch(
            pb::SubmitBatchRequest { stream: stream.into(), expected_revision: None, events }.into(),
        )
    }

    fn refusal(request: AppendRequest, now: Timestamp) -> (Code, String) {
        let status = check_request(request, now).unwrap_err();
        (status.code(), status.message().to_owned())
    }

    #[test]
    fn a_request_in_shape_is_checked_into_domain_submissions() {
        let expected = pb::ExpectedRevision { kind: Some(pb::expected_revision::Kind::Exact(4)) };
        let request = pb::SubmitRequest {
            stream: "cell-tan-hoa".into(),
            expected_revision: Some(expected),
            event: Some(points(1, NOW - 3600)),
        };
        let checked = check_request(AppendRequest::Submit(request), at(NOW)).unwrap();
        assert_eq!(checked.stream.to_string(), "cell-tan-hoa");
        assert_eq!((checked.expected, checked.fields), (ExpectedRevision::Exact(4), Fields::Single));
        assert_eq!(checked.submissions, [Submission::try_from(points(1, NOW - 3600)).unwrap()]);

        let two = check_request(batch("cell-tan-hoa", vec![points(1, NOW), points(2, NOW)]), at(NOW)).unwrap();
        assert_eq!((two.expected, two.fields, two.submissions.len()), (ExpectedRevision::Any, Fields::Batch, 2));
    }

    #[test]
    fn each_refusal_names_the_field_of_the_request() {
        let now = at(NOW);
        let missing = AppendRequest::Submit(pb::SubmitRequest { stream: "cell-a".into(), ..Default::default() });
        assert_eq!(refusal(missing, now), (Code::InvalidArgument, "event: is missing".into()));
        let (code, message) = refusal(batch("$checkpoints", vec![points(1, NOW)]), now);
        assert_eq!(
            (code, message.as_str()),
            (Code::InvalidArgument, "stream: $checkpoints is written by the server only")
        );
        let (code, message) = refusal(batch("cell-tan-hoa", vec![]), now);
        assert_eq!((code, message.as_str()), (Code::InvalidArgument, "events: is empty; submit at least one event"));
        let (code, message) = refusal(batch("org-dam-doi", vec![points(1, NOW)]), now);
        assert_eq!(code, Code::InvalidArgument);
        assert!(message.starts_with("stream: StudyPointsEarned belongs in a cell-{id} stream"), "{message}");
        let too_many = (0..=MAX_EVENTS_PER_APPEND).map(|n| points(n as u8, NOW)).collect();
        let (code, message) = refusal(batch("cell-tan-hoa", too_many), now);
        assert_eq!(code, Code::ResourceExhausted);
        assert!(message.starts_with("events: 10001 events exceeds the limit"), "{message}");
    }

    /// A batch's events are read one at a time from the bytes the client sent: one that is no
    /// message, or one that breaks a shape rule, is named by its place in the batch.
    #[test]
    fn a_batch_event_that_does_not_decode_is_named_by_its_place() {
        let mut request: SubmitBatchWire = pb::SubmitBatchRequest {
            stream: "cell-tan-hoa".into(),
            expected_revision: None,
            events: vec![points(1, NOW)],
        }
        .into();
        request.events.push(Bytes::from_static(&[0x0a, 0x05, 0x01]));
        let (code, message) = refusal(AppendRequest::SubmitBatch(request), at(NOW));
        assert_eq!(code, Code::InvalidArgument);
        assert!(message.starts_with("events[1]: does not decode: "), "{message}");

        let mut bad = points(2, NOW);
        bad.event_id = "not-a-uuid".into();
        let (code, message) = refusal(batch("cell-tan-hoa", vec![points(1, NOW), bad]), at(NOW));
        assert_eq!(code, Code::InvalidArgument);
        assert!(message.starts_with("events[1].event_id: "), "{message}");
    }

    #[test]
    fn an_event_dated_beyond_the_clock_skew_is_refused_and_one_within_it_accepted() {
        let skew = MAX_CLOCK_SKEW.as_secs() as i64;
        let within = batch("cell-tan-hoa", vec![points(1, NOW), points(2, NOW + skew)]);
        assert!(check_request(within, at(NOW)).is_ok());
        let beyond = batch("cell-tan-hoa", vec![points(1, NOW), points(2, NOW + skew + 1)]);
        let (code, message) = refusal(beyond, at(NOW));
        assert_eq!(code, Code::InvalidArgument);
        assert!(message.starts_with("events[1].occurred_at: is in the future (301s after"), "{message}");
    }

    #[test]
    fn each_event_of_a_request_gets_a_salt_of_its_own() {
        let request = batch("cell-tan-hoa", (1..=40).map(|n| points(n, NOW)).collect());
        let checked = new_events(check_request(request, at(NOW)).unwrap().submissions, "thu-ky").unwrap();
        assert_eq!(checked.len(), 40);
        let salts: std::collections::HashSet<_> = checked.iter().map(|c| c.new.salt).collect();
        assert_eq!(salts.len(), 40, "forty events, forty salts");
        assert!(!salts.contains(&[0; SALT_LEN]), "every salt was drawn");
        for Checked { new, .. } in &checked {
            assert_eq!(new.payload_digest, chibo_integrity::payload_digest(&new.salt, &new.payload));
        }
    }

    #[test]
    fn a_clock_at_the_end_of_the_calendar_leaves_nothing_in_the_future() {
        // 9999-12-31T23:59:59Z: the clock plus the skew is past the last instant there is.
        let end = at(253_402_300_799);
        let request = batch("cell-tan-hoa", vec![points(1, 253_402_300_799)]);
        assert_eq!(check_request(request, end).unwrap().submissions.len(), 1);
    }
}
