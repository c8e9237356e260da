//! What the KurrentDB backend promises beyond the store contract, on the in-memory KurrentDB
//! test server: positions counted over the log's own events in `$all`, whatever else the
//! cluster holds; several chibo servers on one log agreeing on every position and keeping every
//! stream one chain; a retry through another server answered with the original receipts; a
//! restarted store finding the log where it was; a subscription and appends that ride out
//! dropped connections; records that are not chibo's named where they are; a lease kept in a
//! stream of its own, outside the log, that keeps its last claims only.

use std::{collections::HashSet, sync::Arc, time::Duration};

use bytes::Bytes;
use chibo_domain::StreamName;
use chibo_integrity::{Envelope, Verifier};
use chibo_kurrent_testserver::KurrentTestServer;
use chibo_store::{AppendError, EventStore, ExpectedRevision, NewEvent, ReadError, Receipt, StoredEvent};
use chibo_store_contract::new_event;
use chibo_store_esdb::{ConnectError, EsdbStore, Options};
use futures::StreamExt;

fn stream(name: &str) -> StreamName {
    StreamName::parse("stream", name).expect("a valid stream name")
}

async fn store(server: &KurrentTestServer, log: &str) -> Arc<EsdbStore> {
    let options = Options { log: log.to_owned(), ..Options::default() };
    Arc::new(EsdbStore::connect_with(&server.connection_string(), options).await.expect("the store connects"))
}

fn client(server: &KurrentTestServer) -> eventstore::Client {
    eventstore::Client::new(server.connection_string().parse().expect("a connection string")).expect("a client")
}

async fn raw_append(client: &eventstore::Client, stream: &str, data: &'static [u8]) {
    let event = eventstore::EventData::binary("NotChibo", Bytes::from_static(data));
    client.append_to_stream(stream, &Default::default(), event).await.expect("a raw append");
}

async fn everything(store: &EsdbStore) -> Vec<StoredEvent> {
    store.read_all(None, usize::MAX).await.expect("read_all works")
}

/// Waits until `store` has indexed position `position`: a store follows what other servers
/// append as they go, not at once.
async fn until_committed(store: &EsdbStore, position: u64) {
    let mut committed = store.committed();
    tokio::time::timeout(Duration::from_secs(30), committed.wait_for(|c| c.is_some_and(|c| c >= position)))
        .await
        .expect("the store follows the log")
        .expect("the store is open");
}

/// Appends one event, trying again with the same event while the outcome is unknown.
async fn append_surely(store: &EsdbStore, s: &StreamName, event: NewEvent) -> Receipt {
    for _ in 0..100 {
        match store.append(s, ExpectedRevision::Any, vec![event.clone()]).await {
            Ok(mut receipts) => return receipts.remove(0),
            Err(AppendError::Unavailable(why)) => {
                eprintln!("outcome unknown, appending the same event again: {why}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("unexpected refusal: {e}"),
        }
    }
    panic!("the append never went through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_count_the_log_s_own_events_only() {
    let server = KurrentTestServer::start().await;
    let raw = client(&server);
    let (a, b) = (store(&server, "a").await, store(&server, "b").await);
    let mut receipts = Vec::new();
    for i in 0..4 {
        receipts
            .extend(a.append(&stream("cell-x"), ExpectedRevision::Any, vec![new_event(&i.to_string())]).await.unwrap());
        raw_append(&raw, "$stats-127.0.0.1:2113", b"system").await;
        b.append(&stream("cell-x"), ExpectedRevision::Any, vec![new_event("b"), new_event("b2")]).await.unwrap();
        raw_append(&raw, "a-not-the-log/cell-x", b"a neighbour whose name starts like the log's").await;
        receipts
            .extend(a.append(&stream("org-y"), ExpectedRevision::Any, vec![new_event(&i.to_string())]).await.unwrap());
    }
    let all = everything(&a).await;
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
    assert_eq!(all.iter().map(|e| e.stream.as_str()).collect::<Vec<_>>(), ["cell-x", "org-y"].repeat(4));
    for (receipt, stored) in receipts.iter().zip(&all) {
        assert_eq!(
            (receipt.position, receipt.hash),
            (stored.position, stored.hash),
            "a receipt names what readers see"
        );
    }
    let x = a.read_stream(&stream("cell-x"), 0, 100).await.unwrap();
    assert_eq!(x.iter().map(|e| (e.revision, e.position)).collect::<Vec<_>>(), [(0, 0), (1, 2), (2, 4), (3, 6)]);
    let b_all = everything(&b).await;
    assert_eq!(
        b_all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>(),
        "log b counts its own"
    );
    assert_eq!(b.read_all(Some(5), 10).await.unwrap().iter().map(|e| e.revision).collect::<Vec<_>>(), [6, 7]);
    assert_eq!(*a.committed().borrow(), Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_on_one_log_agree_on_every_position_and_keep_every_stream_one_chain() {
    let server = KurrentTestServer::start().await;
    let servers = [store(&server, "chibo").await, store(&server, "chibo").await];
    const WRITERS: usize = 3;
    const PER_WRITER: usize = 12;
    let mut tasks = Vec::new();
    for (n, chibo) in servers.iter().enumerate() {
        for w in 0..WRITERS {
            let chibo = chibo.clone();
            tasks.push(tokio::spawn(async move {
                let mut receipts = Vec::new();
                for i in 0..PER_WRITER {
                    // Every writer of both servers contends for one stream; each server also
                    // has a stream of its own.
                    let s = if i % 3 == 0 { format!("cell-own-{n}") } else { "cell-shared".to_owned() };
                    let batch = (0..1 + i % 2).map(|j| new_event(&format!("{n}/{w}/{i}/{j}"))).collect();
                    receipts.extend(chibo.append(&stream(&s), ExpectedRevision::Any, batch).await.unwrap());
                }
                receipts
            }));
        }
    }
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.extend(task.await.unwrap());
    }
    let total = receipts.len() as u64;
    for chibo in &servers {
        until_committed(chibo, total - 1).await;
    }
    let (first, second) = (everything(&servers[0]).await, everything(&servers[1]).await);
    assert_eq!(first.len() as u64, total, "every acknowledged event, once");
    assert_eq!(first, second, "both servers read the same log, position for position");
    for receipt in &receipts {
        let stored = &first[receipt.position as usize];
        assert_eq!(
            (stored.stream.as_str(), stored.revision, stored.hash),
            (receipt.stream.as_str(), receipt.revision, receipt.hash),
            "the receipt's position holds its event"
        );
    }
    let mut verifier = Verifier::new();
    for event in &first {
        verifier.check(event.as_raw());
    }
    let summary = verifier.finish();
    assert!(summary.is_intact(), "{:?}", summary.breaks);
    assert_eq!(summary.streams, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_through_another_server_gets_the_original_receipts() {
    let server = KurrentTestServer::start().await;
    let (one, two) = (store(&server, "chibo").await, store(&server, "chibo").await);
    let a = stream("cell-a");
    let batch = vec![new_event("first"), new_event("second")];
    let originals = one.append(&a, ExpectedRevision::NoStream, batch.clone()).await.unwrap();
    // The second server may not have followed the first's append yet; the retry finds it anyway.
    let again = two.append(&a, ExpectedRevision::NoStream, batch.clone()).await.unwrap();
    let expected: Vec<Receipt> = originals.iter().map(|r| Receipt { duplicate: true, ..r.clone() }).collect();
    assert_eq!(again, expected);
    let changed = NewEvent { payload: b"something else".to_vec().into(), ..batch[0].clone() };
    assert_eq!(
        two.append(&stream("cell-b"), ExpectedRevision::Any, vec![changed]).await.unwrap_err(),
        AppendError::EventIdConflict { event_id: batch[0].event_id, stream: "cell-a".into(), revision: 0 }
    );
    assert_eq!(everything(&two).await.len(), 2, "nothing written twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_store_finds_the_log_where_it_was() {
    let server = KurrentTestServer::start().await;
    let a = stream("cell-a");
    let before = {
        let chibo = store(&server, "chibo").await;
        for i in 0..5 {
            chibo.append(&a, ExpectedRevision::Any, vec![new_event(&i.to_string())]).await.unwrap();
            chibo.append(&stream("org-b"), ExpectedRevision::Any, vec![new_event(&i.to_string())]).await.unwrap();
        }
        everything(&chibo).await
    };
    let chibo = store(&server, "chibo").await;
    assert_eq!(*chibo.committed().borrow(), Some(9), "connecting waits until the log is indexed");
    assert_eq!(everything(&chibo).await, before);
    let receipt = chibo.append(&a, ExpectedRevision::Exact(4), vec![new_event("after")]).await.unwrap();
    assert_eq!((receipt[0].revision, receipt[0].position), (5, 10));
    let mut verifier = Verifier::new();
    for event in &everything(&chibo).await {
        verifier.check(event.as_raw());
    }
    assert!(verifier.finish().is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_and_appends_ride_out_dropped_connections() {
    let server = Arc::new(KurrentTestServer::start().await);
    let (writer, reader) = (store(&server, "chibo").await, store(&server, "chibo").await);
    const EVENTS: usize = 40;
    let mut subscription = reader.clone().subscribe(None);
    let writing = {
        let (writer, server) = (writer.clone(), server.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EVENTS {
                if i % 8 == 4 {
                    server.kill_connections();
                }
                let event = new_event(&i.to_string());
                ids.push(event.event_id);
                append_surely(&writer, &stream(&format!("cell-{}", i % 3)), event).await;
            }
            ids
        })
    };
    let mut seen = Vec::new();
    while seen.len() < EVENTS {
        let event = tokio::time::timeout(Duration::from_secs(60), subscription.next())
            .await
            .expect("the subscription keeps up")
            .expect("the subscription does not end")
            .expect("no read error");
        seen.push(event);
    }
    let written: HashSet<_> = writing.await.unwrap().into_iter().collect();
    assert_eq!(seen.iter().map(|e| e.position).collect::<Vec<_>>(), (0..EVENTS as u64).collect::<Vec<_>>());
    let seen_ids: HashSet<_> = seen.iter().map(|e| Envelope::decode(&e.envelope).unwrap().event_id).collect();
    assert_eq!(seen_ids, written, "every event once, none twice");
    assert_eq!(seen, everything(&writer).await, "what the subscriber saw is the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_is_not_chibo_s_is_named_where_it_is() {
    let server = KurrentTestServer::start().await;
    let chibo = store(&server, "chibo").await;
    let a = stream("cell-a");
    chibo.append(&a, ExpectedRevision::Any, vec![new_event("chibo's")]).await.unwrap();
    raw_append(&client(&server), "chibo/cell-a", b"written around chibo").await;
    until_committed(&chibo, 1).await;
    match chibo.read_all(None, 10).await {
        Err(ReadError::Corrupt { position: 1, reason }) => assert!(reason.contains("metadata"), "{reason}"),
        other => panic!("expected the record at 1 to be named corrupt: {other:?}"),
    }
    assert!(matches!(chibo.read_stream(&a, 1, 10).await, Err(ReadError::Corrupt { position: 1, .. })));
    assert_eq!(chibo.read_all(None, 1).await.unwrap().len(), 1, "what comes before it reads");
    match chibo.append(&a, ExpectedRevision::Any, vec![new_event("next")]).await {
        Err(AppendError::Unavailable(why)) => assert!(why.contains("cannot be chained from"), "{why}"),
        other => panic!("expected no append onto a record that is not chibo's: {other:?}"),
    }
}

#[tokio::test]
async fn connecting_names_what_is_wrong_without_repeating_a_password() {
    let not_kurrent = EsdbStore::connect("postgres://admin:s3cret@localhost/chibo").await.err().unwrap();
    assert!(matches!(not_kurrent, ConnectError::ConnectionString(_)), "{not_kurrent}");
    let unparsable = EsdbStore::connect("esdb://admin:s3cret@[::1").await.err().unwrap();
    assert!(matches!(unparsable, ConnectError::ConnectionString(_)), "{unparsable}");
    for e in [&not_kurrent, &unparsable] {
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
    let options = Options { log: "a/b".into(), ..Options::default() };
    let bad_log = EsdbStore::connect_with("esdb://localhost:2113?tls=false", options).await.err().unwrap();
    assert!(matches!(bad_log, ConnectError::LogName(_)), "{bad_log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_a_stream_outside_the_log_that_keeps_its_last_claims_only() {
    let server = KurrentTestServer::start().await;
    let store = store(&server, "leased").await;
    let lease = store.lease("signer", "a", Duration::from_secs(5)).await.expect("a lease");
    assert!(matches!(lease, chibo_store::Lease::Held { .. }), "{lease:?}");
    let metadata = client(&server).get_stream_metadata("leased:signer", &Default::default()).await;
    let metadata = match metadata.expect("the lease stream's metadata reads") {
        eventstore::StreamMetadataResult::Success(m) => m.metadata().clone(),
        other => panic!("the lease stream has metadata: {other:?}"),
    };
    assert_eq!(metadata.max_count, Some(16));
    assert!(everything(&store).await.is_empty(), "no claim is an event of the log");
}
