//! The test server driven through the real `eventstore` client only, as chibo's KurrentDB
//! backend drives a real node: what is written comes back byte for byte, expected revisions
//! and idempotent appends behave as KurrentDB's, `$all` keeps one order across streams,
//! subscriptions catch up then follow, and a killed connection ends a subscription with an
//! error from which a new subscription resumes without missing or repeating an event.

use std::collections::HashSet;

use bytes::Bytes;
use chibo_kurrent_testserver::KurrentTestServer;
use eventstore::{
    AppendToStreamOptions, Client, CurrentRevision, Error, EventData, ExpectedRevision, Position, ReadAllOptions,
    ReadStreamOptions, RecordedEvent, ResolvedEvent, StreamPosition, SubscribeToAllOptions, SubscribeToStreamOptions,
    Subscription, SubscriptionEvent, SubscriptionFilter,
};
use uuid::Uuid;

fn client(server: &KurrentTestServer) -> Client {
    let settings = server.connection_string().parse().expect("a valid connection string");
    Client::new(settings).expect("a client")
}

fn binary(event_type: &str, data: &[u8]) -> EventData {
    EventData::binary(event_type, Bytes::copy_from_slice(data)).id(Uuid::new_v4())
}

fn expecting(revision: ExpectedRevision) -> AppendToStreamOptions {
    AppendToStreamOptions::default().expected_revision(revision)
}

async fn read_stream(
    client: &Client,
    stream: &str,
    options: &ReadStreamOptions,
) -> eventstore::Result<Vec<RecordedEvent>> {
    let mut read = client.read_stream(stream, options).await?;
    let mut events = Vec::new();
    while let Some(event) = read.next().await? {
        events.push(original(event));
    }
    Ok(events)
}

async fn read_all(client: &Client, options: &ReadAllOptions) -> Vec<RecordedEvent> {
    let mut read = client.read_all(options).await.expect("read $all");
    let mut events = Vec::new();
    while let Some(event) = read.next().await.expect("read $all") {
        events.push(original(event));
    }
    events
}

/// The event a resolved event carries (no link: the test server resolves none).
fn original(event: ResolvedEvent) -> RecordedEvent {
    event.event.expect("a resolved event carries its event")
}

/// The next event a subscription delivers, skipping confirmation, checkpoints and caught-up.
/// A subscription that delivers nothing fails the test rather than hanging it.
async fn next_event(subscription: &mut Subscription) -> eventstore::Result<RecordedEvent> {
    tokio::time::timeout(HANG, subscription.next()).await.expect("the subscription delivers").map(original)
}

/// Long enough for anything that is going to happen to happen: reached only by a test that
/// would otherwise wait forever.
const HANG: std::time::Duration = std::time::Duration::from_secs(60);

// Appending and reading a stream.

#[tokio::test]
async fn what_is_appended_reads_back_byte_for_byte() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let (json_id, binary_id) = (Uuid::new_v4(), Uuid::new_v4());
    let json =
        EventData::json("MeetingHeld", &"point é").unwrap().id(json_id).metadata(Bytes::from_static(b"\x00custom\xff"));
    let binary = EventData::binary("Sealed", Bytes::from_static(b"\x00\x01\x02\xfe\xff")).id(binary_id);

    let written = client
        .append_to_stream("cell-tan-hoa", &expecting(ExpectedRevision::NoStream), vec![json, binary])
        .await
        .unwrap();
    assert_eq!(written.next_expected_version, 1);

    let events = read_stream(&client, "cell-tan-hoa", &ReadStreamOptions::default()).await.unwrap();
    assert_eq!(events.len(), 2);
    let (first, second) = (&events[0], &events[1]);
    assert_eq!((first.id, first.revision, first.stream_id.as_str()), (json_id, 0, "cell-tan-hoa"));
    assert_eq!(first.event_type, "MeetingHeld");
    assert!(first.is_json);
    assert_eq!(first.data, "\"point é\"".as_bytes());
    assert_eq!(first.custom_metadata, Bytes::from_static(b"\x00custom\xff"));
    assert_eq!(first.metadata["content-type"], "application/json");
    assert_eq!(first.metadata["type"], "MeetingHeld");
    assert!(first.created.timestamp() > 1_600_000_000, "created: {}", first.created);

    assert_eq!((second.id, second.revision), (binary_id, 1));
    assert!(!second.is_json);
    assert_eq!(second.metadata["content-type"], "application/octet-stream");
    assert_eq!(second.data, Bytes::from_static(b"\x00\x01\x02\xfe\xff"));
    assert!(second.custom_metadata.is_empty());

    // Positions are those of $all; the append reports its last event's.
    assert!(first.position.commit > 0 && first.position.commit == first.position.prepare);
    assert!(second.position > first.position);
    assert_eq!(written.position, second.position);
}

#[tokio::test]
async fn a_stream_reads_forwards_backwards_from_a_revision_and_up_to_a_count() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let events: Vec<_> = (0..5u8).map(|i| binary("Counted", &[i])).collect();
    client.append_to_stream("org-counted", &expecting(ExpectedRevision::Any), events).await.unwrap();
    let data = |events: Vec<RecordedEvent>| events.iter().map(|e| e.data[0]).collect::<Vec<_>>();

    let from_two = ReadStreamOptions::default().position(StreamPosition::Position(2)).max_count(2);
    assert_eq!(data(read_stream(&client, "org-counted", &from_two).await.unwrap()), [2, 3]);
    let last = ReadStreamOptions::default().position(StreamPosition::End).backwards().max_count(1);
    assert_eq!(data(read_stream(&client, "org-counted", &last).await.unwrap()), [4]);
    let down = ReadStreamOptions::default().position(StreamPosition::Position(1)).backwards();
    assert_eq!(data(read_stream(&client, "org-counted", &down).await.unwrap()), [1, 0]);
    let past = ReadStreamOptions::default().position(StreamPosition::Position(9));
    assert!(read_stream(&client, "org-counted", &past).await.unwrap().is_empty());

    let missing = read_stream(&client, "cell-nowhere", &ReadStreamOptions::default()).await;
    assert!(matches!(missing, Err(Error::ResourceNotFound)), "{missing:?}");
}

#[tokio::test]
async fn a_wrong_expected_revision_is_refused_as_kurrentdb_refuses_it() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let stream = "cell-expected";

    let refused = client.append_to_stream(stream, &expecting(ExpectedRevision::StreamExists), binary("A", b"a")).await;
    assert!(
        matches!(
            refused,
            Err(Error::WrongExpectedVersion {
                current: CurrentRevision::NoStream,
                expected: ExpectedRevision::StreamExists
            })
        ),
        "{refused:?}"
    );
    let refused = client.append_to_stream(stream, &expecting(ExpectedRevision::Exact(0)), binary("A", b"a")).await;
    assert!(matches!(refused, Err(Error::WrongExpectedVersion { current: CurrentRevision::NoStream, .. })));

    client
        .append_to_stream(stream, &expecting(ExpectedRevision::NoStream), vec![binary("A", b"a"), binary("B", b"b")])
        .await
        .unwrap();
    let refused = client.append_to_stream(stream, &expecting(ExpectedRevision::Exact(5)), binary("C", b"c")).await;
    assert!(
        matches!(
            refused,
            Err(Error::WrongExpectedVersion {
                current: CurrentRevision::Current(1),
                expected: ExpectedRevision::Exact(5)
            })
        ),
        "{refused:?}"
    );
    let refused = client.append_to_stream(stream, &expecting(ExpectedRevision::NoStream), binary("C", b"c")).await;
    assert!(
        matches!(
            refused,
            Err(Error::WrongExpectedVersion {
                current: CurrentRevision::Current(1),
                expected: ExpectedRevision::NoStream
            })
        ),
        "{refused:?}"
    );

    let written =
        client.append_to_stream(stream, &expecting(ExpectedRevision::Exact(1)), binary("C", b"c")).await.unwrap();
    assert_eq!(written.next_expected_version, 2);
    let written =
        client.append_to_stream(stream, &expecting(ExpectedRevision::StreamExists), binary("D", b"d")).await.unwrap();
    assert_eq!(written.next_expected_version, 3);
    let types: Vec<_> = read_stream(&client, stream, &ReadStreamOptions::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["A", "B", "C", "D"]);
}

#[tokio::test]
async fn re_appending_the_same_event_ids_writes_nothing_and_reports_the_original_write() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let stream = "cell-idempotent";
    let batch = vec![binary("A", b"a"), binary("B", b"b")];

    let original =
        client.append_to_stream(stream, &expecting(ExpectedRevision::NoStream), batch.clone()).await.unwrap();
    client.append_to_stream(stream, &expecting(ExpectedRevision::Exact(1)), binary("C", b"c")).await.unwrap();

    // At the same expected revision: the original write, nothing written.
    let again = client.append_to_stream(stream, &expecting(ExpectedRevision::NoStream), batch.clone()).await.unwrap();
    assert_eq!(again.next_expected_version, original.next_expected_version);
    assert_eq!(again.position, original.position);
    // With any revision expected, likewise.
    let again = client.append_to_stream(stream, &expecting(ExpectedRevision::Any), batch.clone()).await.unwrap();
    assert_eq!(again.position, original.position);

    // Part of it written before, part not: not idempotent.
    let mixed = vec![batch[0].clone(), binary("E", b"e")];
    let refused = client.append_to_stream(stream, &expecting(ExpectedRevision::NoStream), mixed.clone()).await;
    assert!(matches!(refused, Err(Error::WrongExpectedVersion { .. })), "{refused:?}");
    let refused = client.append_to_stream(stream, &expecting(ExpectedRevision::Any), mixed).await;
    assert!(matches!(refused, Err(Error::WrongExpectedVersion { .. })), "{refused:?}");

    let all = read_stream(&client, stream, &ReadStreamOptions::default()).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
}

#[tokio::test]
async fn an_append_over_kurrentdbs_size_limit_is_refused_whole() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let too_big = binary("Big", &vec![7u8; 1024 * 1024 + 1]);
    let refused = client.append_to_stream("cell-big", &expecting(ExpectedRevision::Any), too_big).await;
    assert!(
        matches!(&refused, Err(Error::Grpc { code: tonic::Code::InvalidArgument, message }) if message.contains("Maximum Append Size")),
        "{refused:?}"
    );
    let missing = read_stream(&client, "cell-big", &ReadStreamOptions::default()).await;
    assert!(matches!(missing, Err(Error::ResourceNotFound)), "{missing:?}");
}

// $all.

#[tokio::test]
async fn all_keeps_one_order_across_streams() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    for (stream, data) in [("cell-a", b"1"), ("org-b", b"2"), ("cell-a", b"3"), ("$checkpoints", b"4")] {
        client.append_to_stream(stream, &expecting(ExpectedRevision::Any), binary("Ordered", data)).await.unwrap();
    }

    let all = read_all(&client, &ReadAllOptions::default()).await;
    let seen: Vec<_> = all.iter().map(|e| (e.stream_id.as_str(), e.data[0])).collect();
    assert_eq!(seen, [("cell-a", b'1'), ("org-b", b'2'), ("cell-a", b'3'), ("$checkpoints", b'4')]);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));

    // Forwards from an event's position includes it.
    let from_second = ReadAllOptions::default().position(StreamPosition::Position(all[1].position)).max_count(2);
    let read: Vec<_> = read_all(&client, &from_second).await.iter().map(|e| e.id).collect();
    assert_eq!(read, [all[1].id, all[2].id]);
    // Backwards from the end: the last event first.
    let last = ReadAllOptions::default().position(StreamPosition::End).backwards().max_count(1);
    assert_eq!(read_all(&client, &last).await[0].id, all[3].id);
    // Backwards from an event's position: the events before it.
    let before = ReadAllOptions::default().position(StreamPosition::Position(all[2].position)).backwards();
    let read: Vec<_> = read_all(&client, &before).await.iter().map(|e| e.id).collect();
    assert_eq!(read, [all[1].id, all[0].id]);
}

// Subscriptions.

#[tokio::test]
async fn a_subscription_to_all_catches_up_then_follows() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let old = vec![binary("Old", b"1"), binary("Old", b"2")];
    client.append_to_stream("cell-sub", &expecting(ExpectedRevision::NoStream), old).await.unwrap();

    let mut subscription = client.subscribe_to_all(&SubscribeToAllOptions::default()).await;
    let mut kinds = Vec::new();
    loop {
        match subscription.next_subscription_event().await.unwrap() {
            SubscriptionEvent::Confirmed(_) => kinds.push("confirmed".to_owned()),
            SubscriptionEvent::EventAppeared(e) => {
                kinds.push(String::from_utf8_lossy(&e.get_original_event().data).into_owned())
            }
            SubscriptionEvent::CaughtUp => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["confirmed", "1", "2"]);

    client
        .append_to_stream("org-live", &expecting(ExpectedRevision::Any), vec![binary("New", b"3"), binary("New", b"4")])
        .await
        .unwrap();
    let live: Vec<_> = [next_event(&mut subscription).await.unwrap(), next_event(&mut subscription).await.unwrap()]
        .iter()
        .map(|e| (e.stream_id.clone(), e.data[0]))
        .collect();
    assert_eq!(live, [("org-live".to_owned(), b'3'), ("org-live".to_owned(), b'4')]);
}

#[tokio::test]
async fn a_subscription_from_a_position_starts_after_it() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    for data in [b"1", b"2", b"3"] {
        client.append_to_stream("cell-after", &expecting(ExpectedRevision::Any), binary("E", data)).await.unwrap();
    }
    let all = read_all(&client, &ReadAllOptions::default()).await;
    let options = SubscribeToAllOptions::default().position(StreamPosition::Position(all[0].position));
    let mut subscription = client.subscribe_to_all(&options).await;
    assert_eq!(next_event(&mut subscription).await.unwrap().id, all[1].id);
    assert_eq!(next_event(&mut subscription).await.unwrap().id, all[2].id);

    // A position inside a record is no event's: refused.
    let inside = Position { commit: all[0].position.commit + 1, prepare: all[0].position.prepare + 1 };
    let mut subscription =
        client.subscribe_to_all(&SubscribeToAllOptions::default().position(StreamPosition::Position(inside))).await;
    let refused = next_event(&mut subscription).await;
    assert!(matches!(refused, Err(Error::Grpc { code: tonic::Code::InvalidArgument, .. })), "{refused:?}");
}

#[tokio::test]
async fn a_subscription_from_past_the_end_waits_for_the_log_to_pass_it() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let first =
        client.append_to_stream("cell-far", &expecting(ExpectedRevision::Any), binary("E", b"0")).await.unwrap();
    let far = Position { commit: first.position.commit + 1000, prepare: first.position.prepare + 1000 };
    let mut subscription =
        client.subscribe_to_all(&SubscribeToAllOptions::default().position(StreamPosition::Position(far))).await;
    // The client sends its request when first asked for an event; once it is confirmed, the
    // subscription has fixed where it starts.
    let confirmed = subscription.next_subscription_event().await.unwrap();
    assert!(matches!(confirmed, SubscriptionEvent::Confirmed(_)), "{confirmed:?}");
    let events: Vec<_> = (1..40u8).map(|n| binary("E", &[n])).collect();
    client.append_to_stream("cell-far", &expecting(ExpectedRevision::Any), events).await.unwrap();

    let beyond: Vec<_> =
        read_all(&client, &ReadAllOptions::default()).await.into_iter().filter(|e| e.position > far).collect();
    assert!(beyond.len() > 1 && beyond.len() < 39, "the log passes the position within the append");
    for expected in beyond {
        assert_eq!(next_event(&mut subscription).await.unwrap().id, expected.id);
    }
}

#[tokio::test]
async fn a_subscription_to_a_stream_sees_only_that_stream_after_its_revision() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    client
        .append_to_stream("cell-one", &expecting(ExpectedRevision::Any), vec![binary("E", b"0"), binary("E", b"1")])
        .await
        .unwrap();
    let options = SubscribeToStreamOptions::default().start_from(StreamPosition::Position(0));
    let mut subscription = client.subscribe_to_stream("cell-one", &options).await;
    assert_eq!(next_event(&mut subscription).await.unwrap().revision, 1);
    client.append_to_stream("cell-other", &expecting(ExpectedRevision::Any), binary("E", b"x")).await.unwrap();
    client.append_to_stream("cell-one", &expecting(ExpectedRevision::Exact(1)), binary("E", b"2")).await.unwrap();
    let live = next_event(&mut subscription).await.unwrap();
    assert_eq!((live.stream_id.as_str(), live.revision), ("cell-one", 2));
}

#[tokio::test]
async fn a_filtered_subscription_sees_matching_events_and_checkpoints() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    for stream in ["cell-a", "org-b", "cell-c", "org-d"] {
        client
            .append_to_stream(stream, &expecting(ExpectedRevision::Any), binary("E", stream.as_bytes()))
            .await
            .unwrap();
    }
    let filter = SubscriptionFilter::on_stream_name().add_prefix("cell-").max(2);
    let mut subscription = client.subscribe_to_all(&SubscribeToAllOptions::default().filter(filter)).await;
    let mut events = Vec::new();
    let mut checkpoints = Vec::new();
    loop {
        match subscription.next_subscription_event().await.unwrap() {
            SubscriptionEvent::EventAppeared(e) => events.push(original(e)),
            SubscriptionEvent::Checkpoint(position) => checkpoints.push(position),
            SubscriptionEvent::CaughtUp => break,
            _ => {}
        }
    }
    let streams: Vec<_> = events.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["cell-a", "cell-c"]);
    assert!(!checkpoints.is_empty());
    assert!(checkpoints.windows(2).all(|w| w[0] <= w[1]), "{checkpoints:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_followed_once_each_in_all_order() {
    let server = KurrentTestServer::start().await;
    let client = client(&server);
    let mut subscription = client.subscribe_to_all(&SubscribeToAllOptions::default()).await;
    let writers: Vec<_> = (0..4u8)
        .map(|w| {
            let client = client.clone();
            tokio::spawn(async move {
                for n in 0..25u8 {
                    let stream = format!("cell-writer-{w}");
                    client
                        .append_to_stream(stream, &expecting(ExpectedRevision::Any), binary("N", &[w, n]))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let mut followed = Vec::new();
    while followed.len() < 100 {
        followed.push(next_event(&mut subscription).await.unwrap());
    }
    for writer in writers {
        writer.await.unwrap();
    }

    assert!(followed.windows(2).all(|w| w[0].position < w[1].position));
    for w in 0..4u8 {
        let of_writer: Vec<_> = followed.iter().filter(|e| e.data[0] == w).map(|e| (e.revision, e.data[1])).collect();
        assert_eq!(of_writer, (0..25u8).map(|n| (u64::from(n), n)).collect::<Vec<_>>());
    }
    let read: Vec<_> = read_all(&client, &ReadAllOptions::default()).await.iter().map(|e| e.id).collect();
    assert_eq!(read, followed.iter().map(|e| e.id).collect::<Vec<_>>());
}

// A killed connection.

#[tokio::test]
async fn a_killed_connection_ends_a_subscription_and_a_new_one_resumes_exactly_after_it() {
    let server = KurrentTestServer::start().await;
    let writer = client(&server);
    let reader = client(&server);
    let append = |n: u32| {
        let writer = writer.clone();
        async move {
            let data = n.to_be_bytes();
            writer
                .append_to_stream("cell-resume", &expecting(ExpectedRevision::Any), binary("N", &data))
                .await
                .unwrap();
        }
    };
    for n in 0..3 {
        append(n).await;
    }

    let mut subscription = reader.subscribe_to_all(&SubscribeToAllOptions::default()).await;
    let mut seen = Vec::new();
    let mut last = None;
    while seen.len() < 3 {
        let event = next_event(&mut subscription).await.unwrap();
        last = Some(event.position);
        seen.push(u32::from_be_bytes(event.data[..].try_into().unwrap()));
    }

    server.kill_connections();
    let ended = next_event(&mut subscription).await;
    assert!(ended.is_err(), "a subscription on a killed connection ends: {ended:?}");

    // Written while the reader is away, and after it comes back.
    for n in 3..6 {
        append(n).await;
    }
    let from = StreamPosition::Position(last.expect("an event was seen"));
    let mut resumed = reader.subscribe_to_all(&SubscribeToAllOptions::default().position(from)).await;
    for n in 6..8 {
        append(n).await;
    }
    while seen.len() < 8 {
        let event = next_event(&mut resumed).await.unwrap();
        seen.push(u32::from_be_bytes(event.data[..].try_into().unwrap()));
    }
    assert_eq!(seen, (0..8).collect::<Vec<_>>());
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 8);
}

#[tokio::test]
async fn two_clients_share_one_server_and_the_log_outlives_killed_connections() {
    let server = KurrentTestServer::start().await;
    let (first, second) = (client(&server), client(&server));
    first.append_to_stream("cell-shared", &expecting(ExpectedRevision::NoStream), binary("E", b"1")).await.unwrap();
    let refused =
        second.append_to_stream("cell-shared", &expecting(ExpectedRevision::NoStream), binary("E", b"2")).await;
    assert!(matches!(refused, Err(Error::WrongExpectedVersion { .. })));

    server.kill_connections();
    // The first call after a connection is lost may fail; a client retries it.
    let mut written = None;
    for _ in 0..3 {
        match second.append_to_stream("cell-shared", &expecting(ExpectedRevision::Exact(0)), binary("E", b"2")).await {
            Ok(result) => {
                written = Some(result);
                break;
            }
            Err(Error::WrongExpectedVersion { .. }) => panic!("the log was kept"),
            Err(_) => continue,
        }
    }
    assert_eq!(written.expect("a retried append succeeds").next_expected_version, 1);
    server.stop().await;
}
