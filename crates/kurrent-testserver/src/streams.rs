//! The `event_store.client.streams.Streams` service: `Append`, and `Read` for reads of a
//! stream or of `$all` and for subscriptions (handed to [`crate::subscription`]).
//!
//! Requests are checked as KurrentDB checks them, and refused with the status and the
//! `exception` trailer it sends; where KurrentDB would fail with an unhandled exception (an
//! event without an id, say), the status is `UNKNOWN` as there.

use std::{collections::HashMap, sync::Arc};

use prost::bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{metadata::MetadataMap, Code, Request, Response, Status, Streaming};

use crate::{
    log::{AllFrom, AppendOutcome, Expected, Proposed, Record, SharedLog, MAX_APPEND_SIZE},
    subscription::{self, Filter, Source},
    wire::event_store::client::{
        self as common,
        streams::{
            append_req, append_resp, read_req, read_resp, streams_server, AppendReq, AppendResp, BatchAppendReq,
            BatchAppendResp, DeleteReq, DeleteResp, ReadReq, ReadResp, TombstoneReq, TombstoneResp,
        },
    },
};

/// How many responses a read may have on their way to the client before it waits for it.
const READ_BUFFER: usize = 32;

/// The Streams service over the shared log.
#[derive(Clone, Debug)]
pub struct Streams {
    log: Arc<SharedLog>,
}

impl Streams {
    pub fn new(log: Arc<SharedLog>) -> Self {
        Streams { log }
    }
}

type ReadResult = Result<ReadResp, Status>;

#[tonic::async_trait]
impl streams_server::Streams for Streams {
    type ReadStream = ReceiverStream<ReadResult>;

    async fn read(&self, request: Request<ReadReq>) -> Result<Response<Self::ReadStream>, Status> {
        let options = request.into_inner().options.ok_or_else(|| required_argument("options"))?;
        let read = Read::from_options(options)?;
        let (responses, stream) = mpsc::channel(READ_BUFFER);
        let log = self.log.clone();
        match read {
            Read::Once(responses_now) => {
                tokio::spawn(async move {
                    for response in responses_now(&log) {
                        if responses.send(response).await.is_err() {
                            return;
                        }
                    }
                });
            }
            Read::Subscription { source, filter, string_ids } => {
                tokio::spawn(subscription::run(log, source, filter, string_ids, responses));
            }
        }
        Ok(Response::new(ReceiverStream::new(stream)))
    }

    async fn append(&self, request: Request<Streaming<AppendReq>>) -> Result<Response<AppendResp>, Status> {
        let mut requests = request.into_inner();
        let options = match requests.message().await? {
            Some(AppendReq { content: Some(append_req::Content::Options(options)) }) => options,
            _ => return Err(unhandled("the first message of an append must be its options")),
        };
        let stream = stream_name(options.stream_identifier)?;
        use append_req::options::ExpectedStreamRevision as Wire;
        let expected = match options.expected_stream_revision {
            Some(Wire::Revision(revision)) => Expected::Exact(revision),
            Some(Wire::NoStream(())) => Expected::NoStream,
            Some(Wire::Any(())) => Expected::Any,
            Some(Wire::StreamExists(())) => Expected::StreamExists,
            None => return Err(Status::invalid_argument("'None' is not a valid ExpectedStreamRevisionOneofCase")),
        };

        let mut events = Vec::new();
        let mut size = 0usize;
        while let Some(message) = requests.message().await? {
            let Some(append_req::Content::ProposedMessage(proposed)) = message.content else {
                return Err(unhandled("an append's options come once, before its events"));
            };
            let event = proposed_event(proposed)?;
            size = size.saturating_add(event.size_on_disk());
            if size > MAX_APPEND_SIZE {
                return Err(max_append_size_exceeded());
            }
            events.push(event);
        }

        let result = match self.log.append(&stream, expected, events) {
            AppendOutcome::Success { revision, position } => append_resp::Result::Success(success(revision, position)),
            AppendOutcome::WrongExpectedVersion { current } => {
                append_resp::Result::WrongExpectedVersion(wrong_expected_version(expected, current))
            }
        };
        Ok(Response::new(AppendResp { result: Some(result) }))
    }

    async fn delete(&self, _: Request<DeleteReq>) -> Result<Response<DeleteResp>, Status> {
        Err(Status::unimplemented("the test server never deletes a stream"))
    }

    async fn tombstone(&self, _: Request<TombstoneReq>) -> Result<Response<TombstoneResp>, Status> {
        Err(Status::unimplemented("the test server never deletes a stream"))
    }

    type BatchAppendStream = ReceiverStream<Result<BatchAppendResp, Status>>;

    async fn batch_append(
        &self,
        _: Request<Streaming<BatchAppendReq>>,
    ) -> Result<Response<Self::BatchAppendStream>, Status> {
        // Not announced by ServerFeatures, so the client does not call it.
        Err(Status::unimplemented("batch append is not supported by the test server"))
    }
}

/// The responses to a read of a stream or of `$all`, decided at once from the log.
type ReadOnce = Box<dyn FnOnce(&SharedLog) -> Vec<ReadResult> + Send>;

/// A read request, checked.
enum Read {
    Once(ReadOnce),
    Subscription { source: Source, filter: Option<Filter>, string_ids: bool },
}

impl Read {
    fn from_options(options: read_req::Options) -> Result<Self, Status> {
        use read_req::options::{
            all_options::AllOption, stream_options::RevisionOption, uuid_option, CountOption, FilterOption,
            ReadDirection, StreamOption,
        };
        let read_req::Options {
            stream_option,
            read_direction,
            resolve_links: _,
            count_option,
            filter_option,
            uuid_option,
            control_option,
        } = options;
        let uuid_option = uuid_option.ok_or_else(|| required_argument("uuidOption"))?;
        let string_ids = matches!(uuid_option.content, Some(uuid_option::Content::String(())));
        let compatibility = control_option.map_or(0, |c| c.compatibility);
        let direction = ReadDirection::try_from(read_direction).ok();
        let filter = match &filter_option {
            Some(FilterOption::Filter(filter)) => Some(Filter::from_options(filter.clone())?),
            Some(FilterOption::NoFilter(())) | None => None,
        };
        // Named as KurrentDB names the cases of the request's options.
        let invalid = || {
            let stream = match stream_option {
                Some(StreamOption::Stream(_)) => "Stream",
                Some(StreamOption::All(_)) => "All",
                None => "None",
            };
            let count = match count_option {
                Some(CountOption::Count(_)) => "Count",
                Some(CountOption::Subscription(_)) => "Subscription",
                None => "None",
            };
            let direction = match direction {
                Some(direction) => direction.as_str_name(),
                None => "unknown",
            };
            let filter = match filter_option {
                Some(FilterOption::Filter(_)) => "Filter",
                Some(FilterOption::NoFilter(())) => "NoFilter",
                None => "None",
            };
            Status::invalid_argument(format!(
                "The combination of ({stream}, {count}, {direction}, {filter}) is invalid."
            ))
        };
        if filter_option.is_none() || direction.is_none() {
            return Err(invalid());
        }
        let forwards = direction == Some(ReadDirection::Forwards);

        match (&stream_option, &count_option) {
            (Some(StreamOption::Stream(options)), Some(CountOption::Count(count))) if filter.is_none() => {
                let stream = stream_name(options.stream_identifier.clone())?;
                let from = match options.revision_option {
                    Some(RevisionOption::Revision(revision)) => Some(revision),
                    Some(RevisionOption::Start(())) => Some(0),
                    Some(RevisionOption::End(())) => None,
                    None => return Err(required_argument("revisionOption")),
                };
                let count = *count;
                Ok(Read::Once(Box::new(move |log| {
                    read_stream(log, &stream, from, forwards, count, compatibility, string_ids)
                })))
            }
            (Some(StreamOption::All(options)), Some(CountOption::Count(count))) => {
                let from = all_from(options.all_option)?;
                let count = *count;
                Ok(Read::Once(Box::new(move |log| read_all(log, from, forwards, count, filter.as_ref(), string_ids))))
            }
            (Some(StreamOption::Stream(options)), Some(CountOption::Subscription(_)))
                if forwards && filter.is_none() =>
            {
                let stream = stream_name(options.stream_identifier.clone())?;
                let after = match options.revision_option {
                    Some(RevisionOption::Revision(revision)) => subscription::StreamFrom::After(revision),
                    Some(RevisionOption::Start(())) => subscription::StreamFrom::Start,
                    Some(RevisionOption::End(())) => subscription::StreamFrom::End,
                    None => return Err(required_argument("revisionOption")),
                };
                Ok(Read::Subscription { source: Source::Stream(stream, after), filter: None, string_ids })
            }
            (Some(StreamOption::All(options)), Some(CountOption::Subscription(_))) if forwards => {
                let after = match options.all_option {
                    Some(AllOption::Position(position)) => {
                        AllFrom::Position(single_position(position.commit_position, position.prepare_position)?)
                    }
                    Some(AllOption::Start(())) => AllFrom::Start,
                    Some(AllOption::End(())) => AllFrom::End,
                    None => return Err(required_argument("allOption")),
                };
                Ok(Read::Subscription { source: Source::All(after), filter, string_ids })
            }
            _ => Err(invalid()),
        }
    }
}

/// Where a read of `$all` starts, from its options.
fn all_from(option: Option<read_req::options::all_options::AllOption>) -> Result<AllFrom, Status> {
    use read_req::options::all_options::AllOption;
    match option {
        Some(AllOption::Position(position)) => {
            // The client's `End` position is all ones, as KurrentDB reads it.
            if position.commit_position == u64::MAX && position.prepare_position == u64::MAX {
                return Ok(AllFrom::End);
            }
            Ok(AllFrom::Position(single_position(position.commit_position, position.prepare_position)?))
        }
        Some(AllOption::Start(())) => Ok(AllFrom::Start),
        Some(AllOption::End(())) => Ok(AllFrom::End),
        None => Err(required_argument("allOption")),
    }
}

/// Every event's commit and prepare positions are equal here; a position whose two halves
/// differ, or that does not fit KurrentDB's signed 64-bit positions, is not one of them.
fn single_position(commit: u64, prepare: u64) -> Result<u64, Status> {
    if commit != prepare || i64::try_from(commit).is_err() {
        return Err(invalid_position());
    }
    Ok(commit)
}

fn read_stream(
    log: &SharedLog,
    stream: &str,
    from: Option<u64>,
    forwards: bool,
    count: u64,
    compatibility: u32,
    string_ids: bool,
) -> Vec<ReadResult> {
    let (events, last) = log.read(|log| {
        let events = if forwards {
            // Forwards from the end of a stream reads nothing.
            from.map_or(Some(Vec::new()), |from| log.read_stream_forwards(stream, from, count))
        } else {
            log.read_stream_backwards(stream, from, count)
        };
        (events, log.last_revision(stream))
    });
    let (Some(events), Some(last)) = (events, last) else {
        return vec![Ok(content(read_resp::Content::StreamNotFound(read_resp::StreamNotFound {
            stream_identifier: Some(stream_identifier(stream)),
        })))];
    };
    let mut responses = Vec::with_capacity(events.len() + 2);
    if compatibility >= 1 && forwards && events.is_empty() && count > 0 {
        // Past the end: KurrentDB says where the stream's next event would be.
        let next = last + 1;
        if from.is_some_and(|from| from != next) {
            responses.push(Ok(content(read_resp::Content::FirstStreamPosition(next))));
        }
    }
    responses.extend(events.iter().map(|record| Ok(event(record, string_ids))));
    if compatibility >= 1 {
        responses.push(Ok(content(read_resp::Content::LastStreamPosition(last))));
    }
    responses
}

fn read_all(
    log: &SharedLog,
    from: AllFrom,
    forwards: bool,
    count: u64,
    filter: Option<&Filter>,
    string_ids: bool,
) -> Vec<ReadResult> {
    let events = log.read(|log| match filter {
        None if forwards => log.read_all_forwards(from, count),
        None => log.read_all_backwards(from, count),
        Some(filter) => {
            let all =
                if forwards { log.read_all_forwards(from, u64::MAX) } else { log.read_all_backwards(from, u64::MAX) };
            all.map(|events| {
                let max = usize::try_from(count).unwrap_or(usize::MAX);
                events.into_iter().filter(|e| filter.allows(e)).take(max).collect()
            })
        }
    });
    match events {
        Ok(events) => events.iter().map(|record| Ok(event(record, string_ids))).collect(),
        // A plain read of $all reports an invalid position as an unexpected result.
        Err(_) => vec![Err(Status::unknown("Unexpected ReadAllResult: InvalidPosition"))],
    }
}

fn content(content: read_resp::Content) -> ReadResp {
    ReadResp { content: Some(content) }
}

/// The response carrying one event, with every field the client reads.
pub fn event(record: &Record, string_ids: bool) -> ReadResp {
    let id = if string_ids {
        common::uuid::Value::String(record.id.hyphenated().to_string())
    } else {
        let bits = record.id.as_u128();
        common::uuid::Value::Structured(common::uuid::Structured {
            most_significant_bits: (bits >> 64) as u64 as i64,
            least_significant_bits: bits as u64 as i64,
        })
    };
    let content_type = if record.is_json { "application/json" } else { "application/octet-stream" };
    let metadata = HashMap::from([
        ("type".to_owned(), record.event_type.clone()),
        ("created".to_owned(), record.created.to_string()),
        ("content-type".to_owned(), content_type.to_owned()),
    ]);
    let recorded = read_resp::read_event::RecordedEvent {
        id: Some(common::Uuid { value: Some(id) }),
        stream_identifier: Some(stream_identifier(&record.stream)),
        stream_revision: record.revision,
        prepare_position: record.position,
        commit_position: record.position,
        metadata,
        custom_metadata: record.custom_metadata.clone(),
        data: record.data.clone(),
    };
    content(read_resp::Content::Event(read_resp::ReadEvent {
        event: Some(recorded),
        link: None,
        position: Some(read_resp::read_event::Position::CommitPosition(record.position)),
    }))
}

fn stream_identifier(stream: &str) -> common::StreamIdentifier {
    common::StreamIdentifier { stream_name: Bytes::copy_from_slice(stream.as_bytes()) }
}

/// The stream a request names. KurrentDB decodes the name as UTF-8, replacing what is not.
fn stream_name(identifier: Option<common::StreamIdentifier>) -> Result<String, Status> {
    let identifier = identifier.ok_or_else(|| required_argument("streamIdentifier"))?;
    let name = String::from_utf8_lossy(&identifier.stream_name).into_owned();
    if name.is_empty() {
        return Err(unhandled("a stream name must not be empty"));
    }
    Ok(name)
}

/// A proposed message as the event to write, refused as KurrentDB refuses it.
fn proposed_event(proposed: append_req::ProposedMessage) -> Result<Proposed, Status> {
    let append_req::ProposedMessage { id, metadata, custom_metadata, data } = proposed;
    let Some(event_type) = metadata.get("type") else {
        return Err(required_metadata_missing("type"));
    };
    let Some(content_type) = metadata.get("content-type") else {
        return Err(required_metadata_missing("content-type"));
    };
    let id = match id.and_then(|id| id.value) {
        Some(common::uuid::Value::Structured(s)) => uuid::Uuid::from_u128(
            (u128::from(s.most_significant_bits as u64) << 64) | u128::from(s.least_significant_bits as u64),
        ),
        Some(common::uuid::Value::String(s)) => {
            uuid::Uuid::parse_str(&s).map_err(|e| unhandled(&format!("event id {s:?}: {e}")))?
        }
        None => return Err(unhandled("an event has no id")),
    };
    if id.is_nil() {
        return Err(unhandled("Empty eventId provided."));
    }
    if event_type.is_empty() {
        return Err(unhandled("Empty eventType provided."));
    }
    Ok(Proposed {
        id,
        event_type: event_type.clone(),
        is_json: content_type == "application/json",
        data,
        custom_metadata,
    })
}

fn success(revision: Option<u64>, position: Option<u64>) -> append_resp::Success {
    use append_resp::success::{CurrentRevisionOption, PositionOption};
    append_resp::Success {
        current_revision_option: Some(match revision {
            Some(revision) => CurrentRevisionOption::CurrentRevision(revision),
            None => CurrentRevisionOption::NoStream(()),
        }),
        position_option: Some(match position {
            Some(position) => PositionOption::Position(append_resp::Position {
                commit_position: position,
                prepare_position: position,
            }),
            None => PositionOption::NoPosition(()),
        }),
    }
}

/// KurrentDB fills both the current fields and those of the 20.6.0 protocol.
fn wrong_expected_version(expected: Expected, current: Option<u64>) -> append_resp::WrongExpectedVersion {
    use append_resp::wrong_expected_version::{
        CurrentRevisionOption, CurrentRevisionOption2060, ExpectedRevisionOption, ExpectedRevisionOption2060,
    };
    let (expected_now, expected_2060) = match expected {
        Expected::Any => (ExpectedRevisionOption::ExpectedAny(()), ExpectedRevisionOption2060::Any2060(())),
        Expected::StreamExists => {
            (ExpectedRevisionOption::ExpectedStreamExists(()), ExpectedRevisionOption2060::StreamExists2060(()))
        }
        Expected::NoStream => {
            (ExpectedRevisionOption::ExpectedNoStream(()), ExpectedRevisionOption2060::ExpectedRevision2060(u64::MAX))
        }
        Expected::Exact(revision) => (
            ExpectedRevisionOption::ExpectedRevision(revision),
            ExpectedRevisionOption2060::ExpectedRevision2060(revision),
        ),
    };
    let (current_now, current_2060) = match current {
        Some(revision) => {
            (CurrentRevisionOption::CurrentRevision(revision), CurrentRevisionOption2060::CurrentRevision2060(revision))
        }
        None => (CurrentRevisionOption::CurrentNoStream(()), CurrentRevisionOption2060::NoStream2060(())),
    };
    append_resp::WrongExpectedVersion {
        current_revision_option_20_6_0: Some(current_2060),
        expected_revision_option_20_6_0: Some(expected_2060),
        current_revision_option: Some(current_now),
        expected_revision_option: Some(expected_now),
    }
}

/// A status with KurrentDB's `exception` trailer and the trailers that go with it.
fn status_with_exception(code: Code, message: String, trailers: &[(&'static str, String)]) -> Status {
    let mut metadata = MetadataMap::new();
    for (key, value) in trailers {
        if let Ok(value) = value.parse() {
            metadata.insert(*key, value);
        }
    }
    Status::with_metadata(code, message, metadata)
}

fn required_metadata_missing(property: &str) -> Status {
    status_with_exception(
        Code::InvalidArgument,
        format!("Required Metadata Property '{property}' is missing"),
        &[
            ("exception", "missing-required-metadata-property".into()),
            ("required-metadata-properties", "type,content-type".into()),
        ],
    )
}

fn max_append_size_exceeded() -> Status {
    status_with_exception(
        Code::InvalidArgument,
        format!("Maximum Append Size of {MAX_APPEND_SIZE} Exceeded."),
        &[("exception", "maximum-append-size-exceeded".into()), ("maximum-append-size", MAX_APPEND_SIZE.to_string())],
    )
}

fn required_argument(name: &str) -> Status {
    Status::invalid_argument(format!(" `{name}` is a required argument"))
}

/// Where KurrentDB's handler would throw an exception of its own: gRPC's `UNKNOWN`.
fn unhandled(why: &str) -> Status {
    Status::unknown(format!("Exception was thrown by handler. {why}"))
}

/// What a subscription from a position that is no event's reports.
pub fn invalid_position() -> Status {
    Status::invalid_argument("Trying to read from an invalid position.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use read_req::options::{self as wire, CountOption, FilterOption, StreamOption};

    fn proposed(metadata: &[(&str, &str)], id: Option<common::uuid::Value>) -> append_req::ProposedMessage {
        append_req::ProposedMessage {
            id: id.map(|value| common::Uuid { value: Some(value) }),
            metadata: metadata.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            custom_metadata: Bytes::new(),
            data: Bytes::new(),
        }
    }

    #[test]
    fn an_event_without_its_required_metadata_or_a_usable_id_is_refused() {
        let id = Some(common::uuid::Value::String(uuid::Uuid::new_v4().to_string()));
        let typed = [("type", "T"), ("content-type", "application/json")];
        assert!(proposed_event(proposed(&typed, id.clone())).unwrap().is_json);

        let missing = proposed_event(proposed(&[("type", "T")], id.clone())).unwrap_err();
        assert_eq!(missing.code(), Code::InvalidArgument);
        assert_eq!(missing.metadata().get("exception").unwrap(), "missing-required-metadata-property");
        let missing = proposed_event(proposed(&[("content-type", "x")], id.clone())).unwrap_err();
        assert_eq!(missing.message(), "Required Metadata Property 'type' is missing");

        for id in [
            None,
            Some(common::uuid::Value::String("not a uuid".into())),
            Some(common::uuid::Value::String(uuid::Uuid::nil().to_string())),
        ] {
            assert_eq!(proposed_event(proposed(&typed, id)).unwrap_err().code(), Code::Unknown);
        }
        let empty_type = [("type", ""), ("content-type", "x")];
        assert_eq!(proposed_event(proposed(&empty_type, id)).unwrap_err().code(), Code::Unknown);
    }

    #[test]
    fn a_read_request_kurrentdb_would_not_serve_is_refused() {
        let all =
            || Some(StreamOption::All(wire::AllOptions { all_option: Some(wire::all_options::AllOption::Start(())) }));
        let valid = read_req::Options {
            stream_option: all(),
            read_direction: 0,
            resolve_links: false,
            count_option: Some(CountOption::Count(10)),
            filter_option: Some(FilterOption::NoFilter(())),
            uuid_option: Some(wire::UuidOption { content: Some(wire::uuid_option::Content::String(())) }),
            control_option: None,
        };
        assert!(Read::from_options(valid.clone()).is_ok());
        let refused = [
            read_req::Options { uuid_option: None, ..valid.clone() },
            read_req::Options { stream_option: None, ..valid.clone() },
            read_req::Options { count_option: None, ..valid.clone() },
            read_req::Options { filter_option: None, ..valid.clone() },
            read_req::Options { read_direction: 7, ..valid.clone() },
            // Subscriptions go forwards only.
            read_req::Options {
                read_direction: 1,
                count_option: Some(CountOption::Subscription(wire::SubscriptionOptions {})),
                ..valid.clone()
            },
            read_req::Options {
                stream_option: Some(StreamOption::All(wire::AllOptions { all_option: None })),
                ..valid.clone()
            },
            read_req::Options {
                stream_option: Some(StreamOption::Stream(wire::StreamOptions {
                    stream_identifier: None,
                    revision_option: Some(wire::stream_options::RevisionOption::Start(())),
                })),
                ..valid.clone()
            },
            read_req::Options {
                filter_option: Some(FilterOption::Filter(wire::FilterOptions {
                    filter: Some(wire::filter_options::Filter::EventType(wire::filter_options::Expression {
                        regex: "(".into(),
                        prefix: vec![],
                    })),
                    window: Some(wire::filter_options::Window::Count(())),
                    checkpoint_interval_multiplier: 1,
                })),
                ..valid.clone()
            },
        ];
        for options in refused {
            let described = format!("{options:?}");
            assert!(Read::from_options(options).is_err(), "{described}");
        }
    }
}
