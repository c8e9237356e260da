//! Arbitrary bytes through what the server does to a request before the store sees it.
//!
//! The first byte chooses the way in, the rest is the input:
//!
//! - 0: a `SubmitRequest` as the wire carries it, decoded by prost and checked by
//!   `chibo_server::check_request`;
//! - 1: a `SubmitBatchRequest`, decoded as the server decodes it (`SubmitBatchWire`: each event
//!   left encoded, then read in place or through prost by `check_request`) and checked;
//! - 2: a stored payload, `chibo_proto::convert::decode_payload` under the event type its next
//!   byte names (or a name of no type);
//! - 3: what `chibo submit` reads (a JSON submission, or an array of them), for the stream its
//!   next byte names, then checked like a request.
//!
//! What must hold: a request the checks accept has its stream and every event's place and date
//! right, and every event goes wire → domain → wire and domain → payload → domain unchanged (the
//! promise of `chibo_proto::convert`), and through the protobuf JSON mapping unchanged; a refusal
//! is `INVALID_ARGUMENT` (or `RESOURCE_EXHAUSTED` for too many events) and names a field of the
//! request. An accepted request then goes through the rules against current state
//! (`chibo_projections::validate::check_submission`, on the state of `chibo_fuzz::recorded`),
//! which must answer without a panic and leave the state exactly as it was; what they accept is
//! then recorded, the year's standings and evaluation computed from it without a panic, and a
//! figure of a member's and of the cell's standing must add back up from the events its
//! provenance counts (`Provenance::recompute`).
#![no_main]

use chibo_domain::event::{EventType, Submission};
use std::sync::OnceLock;

use chibo_domain::{Event, Id, StreamName};
use chibo_fuzz::recorded::Log;
use chibo_projections::provenance::{self, Question, Selectors, CELL_FIGURES, MEMBER_FIGURES};
use chibo_projections::rules::RuleBook;
use chibo_projections::validate::{check_submission, Candidate, Context, Limits};
use chibo_projections::{evaluation, standings, State};
use chibo_proto::convert::{decode_payload, encode_payload, PayloadError};
use chibo_proto::v1 as pb;
use chibo_server::{check_request, AppendRequest, CheckedRequest, Fields, MAX_CLOCK_SKEW};
use chibo_store::{ExpectedRevision, MAX_EVENTS_PER_APPEND};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use tonic::{Code, Status};

/// The streams a JSON input is submitted to.
const STREAMS: [&str; 5] = ["cell-tan-hoa", "org-dam-doi", "org-tan-hoa", "cell-a", "$checkpoints"];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else { return };
    match mode % 4 {
        0 => {
            if let Ok(request) = pb::SubmitRequest::decode(input) {
                check(AppendRequest::Submit(request));
            }
        }
        1 => {
            if let Ok(request) = chibo_proto::submit::SubmitBatchWire::decode(input) {
                check(AppendRequest::SubmitBatch(request));
            }
        }
        2 => payload(input),
        _ => json(input),
    }
});

/// The stream, expected revision and submissions of a request, as sent: a batch's events as
/// prost decodes them, or `None` when one of them does not decode (the request must then be
/// refused).
fn parts(request: &AppendRequest) -> (&str, Option<&pb::ExpectedRevision>, Fields, Option<Vec<pb::EventSubmission>>) {
    match request {
        AppendRequest::Submit(r) => {
            (&r.stream, r.expected_revision.as_ref(), Fields::Single, Some(r.event.iter().cloned().collect()))
        }
        AppendRequest::SubmitBatch(r) => {
            let events = r.events.iter().map(|e| pb::EventSubmission::decode(e.clone()).ok()).collect();
            (&r.stream, r.expected_revision.as_ref(), Fields::Batch, events)
        }
    }
}

fn check(request: AppendRequest) {
    let sent = request.clone();
    let (stream, expected, fields, submissions) = parts(&sent);
    match (check_request(request, chibo_fuzz::now()), submissions) {
        (Ok(checked), Some(submissions)) => {
            let submissions: Vec<_> = submissions.iter().collect();
            accepted(stream, expected, fields, &submissions, checked)
        }
        (Ok(_), None) => panic!("a batch with an event that does not decode was accepted"),
        (Err(status), _) => {
            let count = match &sent {
                AppendRequest::Submit(r) => r.event.iter().count(),
                AppendRequest::SubmitBatch(r) => r.events.len(),
            };
            refused(fields, count, &status)
        }
    }
}

fn accepted(
    stream: &str,
    expected: Option<&pb::ExpectedRevision>,
    fields: Fields,
    sent: &[&pb::EventSubmission],
    checked: CheckedRequest,
) {
    let CheckedRequest { stream: name, expected: condition, fields: checked_fields, submissions } = checked;
    assert_eq!(name.to_string(), stream, "the stream appended to is the one named");
    assert_ne!(name, StreamName::Checkpoints, "only the server writes $checkpoints");
    assert_eq!(checked_fields, fields);
    use pb::expected_revision::Kind;
    let asked = match expected.and_then(|e| e.kind.as_ref()) {
        None | Some(Kind::Any(_)) => ExpectedRevision::Any,
        Some(Kind::NoStream(_)) => ExpectedRevision::NoStream,
        Some(Kind::Exact(r)) => ExpectedRevision::Exact(*r),
    };
    assert_eq!(condition, asked);
    assert!((1..=MAX_EVENTS_PER_APPEND).contains(&submissions.len()));
    assert_eq!(submissions.len(), sent.len(), "every submission is checked, none dropped");
    let latest = chibo_fuzz::now().unix_nanos() + MAX_CLOCK_SKEW.as_nanos() as i128;
    for (submission, wire) in submissions.iter().zip(sent) {
        assert!(submission.event.check_stream(&name).is_ok(), "an accepted event belongs in its stream");
        assert!(submission.occurred_at.unix_nanos() <= latest, "an accepted event is not in the future");
        // A valid message converts back to itself, and the domain value to itself.
        assert_eq!(&pb::EventSubmission::from(submission), *wire);
        assert_eq!(Submission::try_from(pb::EventSubmission::from(submission)).as_ref(), Ok(submission));
        // What `chibo read` prints, `chibo submit` reads back as the same message.
        let json = serde_json::to_string(*wire).expect("a message writes as JSON");
        assert_eq!(serde_json::from_str::<pb::EventSubmission>(&json).as_ref().ok(), Some(*wire), "{json}");
        stored_payload_reads_back(&submission.event);
    }
    against_the_record(&name, &submissions);
}

/// What is recorded, the encoding of its state, and the rule sets.
fn recorded() -> &'static (Log, Vec<u8>, RuleBook) {
    static RECORDED: OnceLock<(Log, Vec<u8>, RuleBook)> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let log = chibo_fuzz::recorded::log();
        let bytes = log.state.encode();
        (log, bytes, RuleBook::defaults())
    })
}

/// The rules against current state, as the server runs them next: they answer, and leave the
/// state exactly as it was whatever they answer.
fn against_the_record(stream: &StreamName, submissions: &[Submission]) {
    let (log, encoded, rules) = recorded();
    let mut state = log.state.clone();
    let limits = Limits::default();
    let cx = Context { rules, limits: &limits, today: chibo_fuzz::now().date_in_vietnam() };
    let candidates: Vec<Candidate<'_>> = submissions
        .iter()
        .map(|s| Candidate { event_id: s.event_id, occurred_at: s.occurred_at, event: &s.event })
        .collect();
    let outcome = check_submission(&mut state, &cx, stream, &candidates);
    assert_eq!(&state.encode(), encoded, "the rules leave the facts as they were");
    assert!(state.index() == log.state.index(), "the rules leave the index as it was");
    assert_eq!((state.log_size(), state.unreadable()), (log.state.log_size(), log.state.unreadable()));
    if let Err((i, rejection)) = outcome {
        assert!(i < candidates.len(), "the refused event is one of the submission's");
        let _ = rejection.error.to_string();
        return;
    }
    recorded_and_reported(log.clone(), stream, submissions, rules);
}

/// The events the rules accepted, recorded as the projection engine would, then the reports of
/// the year: they are computed without a panic, the state still has one encoding, and a figure
/// of the cell's and of a member's standing adds back up from the events its provenance lists.
fn recorded_and_reported(mut log: Log, stream: &StreamName, submissions: &[Submission], rules: &RuleBook) {
    for submission in submissions {
        log.record(stream, submission.event_id, submission.occurred_at, submission.event.clone());
    }
    let bytes = log.state.encode();
    assert_eq!(State::decode(&bytes).map(|s| s.encode()).ok(), Some(bytes), "a state has one encoding");
    let province = Id::parse("org", "ca-mau").expect("an id");
    for year in [2025, 2026] {
        let _ = standings::committee(&log.state, rules, &province, year, 5);
        for cell in standings::cells_below(&log.state, &province) {
            let _ = standings::cell(&log.state, rules, &cell, year);
        }
        let _ = evaluation::evaluate(&log.state, rules, &province, year, "vn-qd366-2025", 1);
    }
    // Which figures, from the first event id: the input chooses.
    let pick = submissions[0].event_id.as_bytes();
    let member = ["nguyen-van-an", "tran-thi-binh", "le-van-cuong"][usize::from(pick[0]) % 3];
    let member = Id::parse("member", member).expect("an id");
    let month = Some(u32::from(pick[2] % 12) + 1);
    let figure = MEMBER_FIGURES[usize::from(pick[1]) % MEMBER_FIGURES.len()];
    let question = Question::member(member.clone(), 2026, figure, Selectors::default())
        .or_else(|_| Question::member(member, 2026, figure, Selectors { month, ..Selectors::default() }));
    adds_up(&log, rules, question.ok());
    let cell = Id::parse("cell", "tan-hoa").expect("an id");
    let figure = CELL_FIGURES[usize::from(pick[3]) % CELL_FIGURES.len()];
    let meeting = Id::parse("meeting", ["thuong-ky-2026-02", "thuong-ky-2026-03"][usize::from(pick[4]) % 2]).ok();
    let programme = Id::parse("programme", "kieu-mau-2026").ok();
    let quarter = Some(u32::from(pick[2] % 4) + 1);
    let question = [
        Selectors::default(),
        Selectors { month, ..Selectors::default() },
        Selectors { quarter, ..Selectors::default() },
        Selectors { meeting, ..Selectors::default() },
        Selectors { month, programme: programme.clone(), ..Selectors::default() },
        Selectors { programme, ..Selectors::default() },
    ]
    .into_iter()
    .find_map(|selectors| Question::cell(cell.clone(), 2026, figure, selectors).ok());
    adds_up(&log, rules, question);
}

/// The figure `question` asks for adds back up from the events its provenance counts.
fn adds_up(log: &Log, rules: &RuleBook, question: Option<Question>) {
    let Some(question) = question else { return };
    let Ok(stream) = provenance::stream_of(&log.state, &question) else { return };
    match provenance::explain(&log.state, rules, &question, &log.stream(&stream)) {
        Ok(p) => assert_eq!(p.recompute(), p.value, "{} of {question:?}: {p:?}", p.figure),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// What the store keeps of `event` reads back as `event`.
fn stored_payload_reads_back(event: &Event) {
    let event_type = event.event_type();
    let payload = encode_payload(event);
    let wire = decode_payload(event_type.name(), &payload).expect("a payload the server encoded decodes");
    assert_eq!(wire, pb::Event::from(event));
    assert_eq!(Event::try_from(wire).as_ref(), Ok(event));
}

fn refused(fields: Fields, count: usize, status: &Status) {
    let message = status.message();
    let field = message.split_once(": ").map_or(message, |(field, _)| field);
    match status.code() {
        Code::ResourceExhausted => {
            assert_eq!(field, fields.list());
            assert!(count > MAX_EVENTS_PER_APPEND);
        }
        Code::InvalidArgument => {
            let named = field == "stream"
                || field == fields.list()
                || (0..count).any(|i| {
                    let item = fields.item(i);
                    field == item || field.strip_prefix(&item).is_some_and(|rest| rest.starts_with('.'))
                });
            assert!(named, "a refusal names a field of the request: {message}");
        }
        other => panic!("a malformed request is refused with {other:?}: {message}"),
    }
}

fn payload(input: &[u8]) {
    let Some((&which, payload)) = input.split_first() else { return };
    let Some(&event_type) = EventType::ALL.get(usize::from(which)) else {
        let unknown = decode_payload("NoSuchEvent", payload);
        assert!(matches!(unknown, Err(PayloadError::UnknownType(_))));
        return;
    };
    let Ok(wire) = decode_payload(event_type.name(), payload) else { return };
    // A stored payload is read back whatever today's rules say; when they accept it, it is an
    // event of the type named, and a valid message converts back to itself.
    if let Ok(event) = Event::try_from(wire.clone()) {
        assert_eq!(event.event_type(), event_type);
        assert_eq!(pb::Event::from(&event), wire);
        stored_payload_reads_back(&event);
    }
}

fn json(input: &[u8]) {
    let Some((&which, text)) = input.split_first() else { return };
    let stream = STREAMS[usize::from(which) % STREAMS.len()].to_owned();
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) else { return };
    let items = match value {
        serde_json::Value::Array(items) => items,
        item @ serde_json::Value::Object(_) => vec![item],
        _ => return,
    };
    let Ok(events) =
        items.into_iter().map(serde_json::from_value::<pb::EventSubmission>).collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    // What the client sends is what the server decodes.
    for event in &events {
        assert_eq!(pb::EventSubmission::decode(event.encode_to_vec().as_slice()).as_ref(), Ok(event));
    }
    check(AppendRequest::SubmitBatch(pb::SubmitBatchRequest { stream, expected_revision: None, events }.into()));
}
