//! One function per clause of the `EventStore` contract (see the trait's docs).

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::Duration,
};

use chibo_domain::StreamName;
use chibo_integrity::{Envelope, Verifier};
use chibo_store::{
    AppendError, EventStore, ExpectedRevision, Lease, PageSink, Pages, RawEvent, ReadError, StoredEvent,
    MAX_EVENTS_PER_APPEND,
};
use futures::{stream::BoxStream, StreamExt};

use crate::events::new_event;

fn stream(name: &str) -> StreamName {
    StreamName::parse("stream", name).expect("test stream names are valid")
}

async fn everything(store: &dyn EventStore) -> Vec<StoredEvent> {
    store.read_all(None, usize::MAX).await.expect("read_all works")
}

/// Appended events come back from both reads exactly as sealed, with receipts that match.
pub async fn appended_events_read_back_byte_identical(store: Arc<dyn EventStore>) {
    let a = stream("cell-a");
    let batch: Vec<_> = (0..3).map(|i| new_event(&format!("a{i}"))).collect();
    let receipts = store.append(&a, ExpectedRevision::NoStream, batch.clone()).await.unwrap();
    assert_eq!(receipts.len(), 3);
    let read = store.read_stream(&a, 0, 100).await.unwrap();
    assert_eq!(read, everything(&*store).await, "one stream: stream order is the global order");
    for (i, ((event, receipt), stored)) in batch.iter().zip(&receipts).zip(&read).enumerate() {
        assert_eq!(receipt.event_id, event.event_id);
        assert_eq!((receipt.stream.as_str(), receipt.revision, receipt.position), ("cell-a", i as u64, i as u64));
        assert!(!receipt.duplicate);
        assert_eq!((stored.position, stored.revision, stored.stream.as_str()), (i as u64, i as u64, "cell-a"));
        assert_eq!(stored.payload, event.payload, "payload bytes are kept as given");
        assert_eq!(stored.salt, event.salt);
        assert_eq!(stored.hash, receipt.hash);
        let envelope = Envelope::decode(&stored.envelope).unwrap();
        assert_eq!(envelope.event_id, event.event_id);
        assert_eq!(envelope.event_type, event.event_type);
        assert_eq!(envelope.occurred_at, event.occurred_at);
        assert_eq!(*envelope.actor, *event.actor);
        assert_eq!(envelope.payload_digest, event.payload_digest);
        assert_eq!(envelope.recorded_at, receipt.recorded_at);
    }
    assert!(store.read_stream(&stream("cell-absent"), 0, 10).await.unwrap().is_empty());
    assert_eq!(*store.committed().borrow(), Some(2));
}

/// `read_stream` starts at a revision (inclusive) and stops at `max_count`.
pub async fn read_stream_pages_by_revision(store: Arc<dyn EventStore>) {
    let (a, b) = (stream("cell-a"), stream("org-b"));
    for i in 0..5 {
        store.append(&a, ExpectedRevision::Any, vec![new_event(&format!("a{i}"))]).await.unwrap();
        store.append(&b, ExpectedRevision::Any, vec![new_event(&format!("b{i}"))]).await.unwrap();
    }
    let page = store.read_stream(&a, 2, 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.revision).collect::<Vec<_>>(), [2, 3]);
    assert!(page.iter().all(|e| e.stream == "cell-a"));
    assert_eq!(page.iter().map(|e| e.position).collect::<Vec<_>>(), [4, 6]);
    assert_eq!(store.read_stream(&a, 4, 100).await.unwrap().len(), 1);
    assert!(store.read_stream(&a, 5, 100).await.unwrap().is_empty());
}

/// `read_all` starts after a position (exclusive) and positions run 0, 1, 2, ... with no gap.
pub async fn read_all_is_exclusive_and_gapless(store: Arc<dyn EventStore>) {
    assert!(store.read_all(None, 10).await.unwrap().is_empty());
    assert_eq!(*store.committed().borrow(), None);
    for i in 0..7 {
        let s = stream(if i % 2 == 0 { "cell-even" } else { "cell-odd" });
        store.append(&s, ExpectedRevision::Any, vec![new_event(&i.to_string())]).await.unwrap();
    }
    let all = everything(&*store).await;
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), (0..7).collect::<Vec<_>>());
    let after = store.read_all(Some(2), 3).await.unwrap();
    assert_eq!(after.iter().map(|e| e.position).collect::<Vec<_>>(), [3, 4, 5]);
    assert!(store.read_all(Some(6), 10).await.unwrap().is_empty());
}

/// Keeps what a [`PageSink`] is handed, copied.
#[derive(Default)]
struct Copies(Vec<StoredEvent>);

impl PageSink for Copies {
    fn event(&mut self, e: RawEvent<'_>) {
        self.0.push(StoredEvent::try_from(e).expect("a stored salt and hash have their lengths"));
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// `read_all_into` hands its sink, in order, exactly the events `read_all` returns for the same
/// page, byte for byte.
pub async fn read_all_into_sees_what_read_all_reads(store: Arc<dyn EventStore>) {
    async fn into(store: &dyn EventStore, after: Option<u64>, max_count: usize) -> Vec<StoredEvent> {
        let sink = store.read_all_into(after, max_count, Box::<Copies>::default()).await.unwrap();
        sink.into_any().downcast::<Copies>().map(|copies| copies.0).unwrap_or_else(|_| panic!("not the sink given"))
    }

    assert!(into(&*store, None, 10).await.is_empty());
    for i in 0..9 {
        let s = stream(["cell-a", "cell-b", "cell-c"][i % 3]);
        let events = (0..=i % 2).map(|j| new_event(&format!("{i}.{j}"))).collect();
        store.append(&s, ExpectedRevision::Any, events).await.unwrap();
    }
    let all = store.read_all(None, 100).await.unwrap();
    assert_eq!(all.len(), 13);
    for (after, max_count) in
        [(None, 100), (None, 4), (Some(0), 5), (Some(7), 3), (Some(11), 10), (Some(12), 10), (Some(3), 0)]
    {
        assert_eq!(
            into(&*store, after, max_count).await,
            store.read_all(after, max_count).await.unwrap(),
            "after {after:?}, {max_count}"
        );
    }
}

/// `NoStream`, `Exact` and `Any` mean what they say, and a refusal writes nothing.
pub async fn expected_revision_is_enforced(store: Arc<dyn EventStore>) {
    let a = stream("cell-a");
    let err = store.append(&a, ExpectedRevision::Exact(0), vec![new_event("x")]).await.unwrap_err();
    assert_eq!(
        err,
        AppendError::WrongExpectedRevision {
            stream: "cell-a".into(),
            expected: ExpectedRevision::Exact(0),
            actual: None
        }
    );
    store.append(&a, ExpectedRevision::NoStream, vec![new_event("0"), new_event("1")]).await.unwrap();
    let err = store.append(&a, ExpectedRevision::NoStream, vec![new_event("x")]).await.unwrap_err();
    assert!(matches!(err, AppendError::WrongExpectedRevision { actual: Some(1), .. }), "{err}");
    let err = store.append(&a, ExpectedRevision::Exact(0), vec![new_event("x")]).await.unwrap_err();
    assert!(matches!(err, AppendError::WrongExpectedRevision { actual: Some(1), .. }), "{err}");
    let r = store.append(&a, ExpectedRevision::Exact(1), vec![new_event("2")]).await.unwrap();
    assert_eq!(r[0].revision, 2);
    let r = store.append(&a, ExpectedRevision::Any, vec![new_event("3")]).await.unwrap();
    assert_eq!(r[0].revision, 3);
    assert_eq!(everything(&*store).await.len(), 4, "refused appends wrote nothing");
}

/// Of concurrent appends that expect the same revision, exactly one wins.
pub async fn concurrent_exact_appends_have_one_winner_per_revision(store: Arc<dyn EventStore>) {
    let a = stream("cell-contended");
    const WRITERS: usize = 8;
    const ROUNDS: u64 = 25;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (store, a) = (store.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            for round in 0..ROUNDS {
                let expected = if round == 0 { ExpectedRevision::NoStream } else { ExpectedRevision::Exact(round - 1) };
                match store.append(&a, expected, vec![new_event(&format!("w{w} r{round}"))]).await {
                    Ok(r) => wins.push(r[0].revision),
                    Err(AppendError::WrongExpectedRevision { .. }) => {}
                    Err(e) => panic!("unexpected error: {e}"),
                }
                // Follow the stream so that every writer contends for every revision.
                while store.read_stream(&a, round, 1).await.unwrap().is_empty() {
                    tokio::task::yield_now().await;
                }
            }
            wins
        }));
    }
    let mut winners = BTreeMap::new();
    for task in tasks {
        for revision in task.await.unwrap() {
            *winners.entry(revision).or_insert(0) += 1;
        }
    }
    assert_eq!(winners.len() as u64, ROUNDS, "every revision was won");
    assert!(winners.values().all(|&n| n == 1), "exactly one winner per revision: {winners:?}");
    let events = store.read_stream(&a, 0, usize::MAX).await.unwrap();
    assert_eq!(events.iter().map(|e| e.revision).collect::<Vec<_>>(), (0..ROUNDS).collect::<Vec<_>>());
}

/// Resubmitting an event (or a batch) returns the original receipts and writes nothing.
pub async fn resubmission_returns_the_original_receipt(store: Arc<dyn EventStore>) {
    let a = stream("cell-a");
    let one = new_event("one");
    let first = store.append(&a, ExpectedRevision::NoStream, vec![one.clone()]).await.unwrap();
    let batch = vec![new_event("two"), new_event("three")];
    let firsts = store.append(&a, ExpectedRevision::Exact(0), batch.clone()).await.unwrap();
    let before = everything(&*store).await;

    // The duplicate check comes before the expected revision: a retry of a request that did
    // land (but whose reply was lost) succeeds with the original receipt.
    let again = store.append(&a, ExpectedRevision::NoStream, vec![one]).await.unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].duplicate);
    assert_eq!(again[0], chibo_store::Receipt { duplicate: true, ..first[0].clone() });
    let agains = store.append(&a, ExpectedRevision::Exact(0), batch).await.unwrap();
    for (again, first) in agains.iter().zip(&firsts) {
        assert_eq!(*again, chibo_store::Receipt { duplicate: true, ..first.clone() });
    }
    assert_eq!(everything(&*store).await, before, "resubmissions wrote nothing");
}

/// An event id names one event: reusing it for another event, another stream or another place
/// is refused.
pub async fn event_ids_are_not_reused(store: Arc<dyn EventStore>) {
    let (a, b) = (stream("cell-a"), stream("cell-b"));
    let original = new_event("original");
    store.append(&a, ExpectedRevision::Any, vec![original.clone(), new_event("next")]).await.unwrap();
    let before = everything(&*store).await;

    let changed = chibo_store::NewEvent::new(
        original.event_id,
        original.event_type.clone(),
        1,
        original.occurred_at,
        original.actor.clone(),
        b"something else".to_vec(),
        original.salt,
    );
    let conflict = AppendError::EventIdConflict { event_id: original.event_id, stream: "cell-a".into(), revision: 0 };
    assert_eq!(store.append(&a, ExpectedRevision::Any, vec![changed]).await.unwrap_err(), conflict);
    assert_eq!(store.append(&b, ExpectedRevision::Any, vec![original.clone()]).await.unwrap_err(), conflict);
    // A batch that starts new but carries a recorded id further on.
    let mixed = vec![new_event("fresh"), original.clone()];
    assert_eq!(store.append(&a, ExpectedRevision::Any, mixed).await.unwrap_err(), conflict);
    // A batch that starts with a recorded id but goes on with new events is not a retry.
    let extended = vec![original, new_event("extra")];
    assert!(matches!(
        store.append(&a, ExpectedRevision::Any, extended).await.unwrap_err(),
        AppendError::EventIdConflict { .. }
    ));
    assert_eq!(everything(&*store).await, before, "conflicts wrote nothing");
}

/// Empty, oversized and self-duplicating batches are refused whole.
pub async fn bad_batches_are_refused(store: Arc<dyn EventStore>) {
    let a = stream("cell-a");
    assert!(matches!(store.append(&a, ExpectedRevision::Any, vec![]).await, Err(AppendError::BadBatch(_))));
    let too_many: Vec<_> = (0..=MAX_EVENTS_PER_APPEND).map(|i| new_event(&i.to_string())).collect();
    assert!(matches!(store.append(&a, ExpectedRevision::Any, too_many).await, Err(AppendError::BadBatch(_))));
    let e = new_event("twice");
    let err = store.append(&a, ExpectedRevision::Any, vec![new_event("ok"), e.clone(), e.clone()]).await.unwrap_err();
    assert_eq!(err, AppendError::DuplicateInBatch { event_id: e.event_id });
    assert!(everything(&*store).await.is_empty());
}

/// Whatever the interleaving, every stream's chain verifies.
pub async fn appended_chains_verify(store: Arc<dyn EventStore>) {
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let s = stream(&format!("cell-{}", (w + i) % 4));
                let n = 1 + (i % 3);
                let batch = (0..n).map(|j| new_event(&format!("{w}/{i}/{j}"))).collect();
                store.append(&s, ExpectedRevision::Any, batch).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut verifier = Verifier::new();
    let all = everything(&*store).await;
    for event in &all {
        verifier.check(event.as_raw());
    }
    let summary = verifier.finish();
    assert!(summary.is_intact(), "{:?}", summary.breaks);
    assert_eq!((summary.events, summary.streams), (all.len() as u64, 4));
    assert_eq!(all.len(), 6 * (7 + 7 * 2 + 6 * 3));
}

/// Record times are assigned by the store and never go back in the global order.
pub async fn record_times_never_go_back(store: Arc<dyn EventStore>) {
    for i in 0..20 {
        store.append(&stream("cell-t"), ExpectedRevision::Any, vec![new_event(&i.to_string())]).await.unwrap();
    }
    let times: Vec<_> =
        everything(&*store).await.iter().map(|e| Envelope::decode(&e.envelope).unwrap().recorded_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

/// A subscription starts after its position (exclusive) and goes on with later commits.
pub async fn subscription_is_exclusive_of_its_start(store: Arc<dyn EventStore>) {
    let a = stream("cell-a");
    for i in 0..4 {
        store.append(&a, ExpectedRevision::Any, vec![new_event(&i.to_string())]).await.unwrap();
    }
    let mut sub = store.clone().subscribe(Some(1));
    assert_eq!(next(&mut sub).await.unwrap().unwrap().position, 2);
    assert_eq!(next(&mut sub).await.unwrap().unwrap().position, 3);
    store.append(&a, ExpectedRevision::Any, vec![new_event("live")]).await.unwrap();
    assert_eq!(next(&mut sub).await.unwrap().unwrap().position, 4);
    let mut from_start = store.clone().subscribe(None);
    assert_eq!(next(&mut from_start).await.unwrap().unwrap().position, 0);
}

async fn next(sub: &mut BoxStream<'static, Result<StoredEvent, ReadError>>) -> Option<Result<StoredEvent, ReadError>> {
    tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("an event arrives in time")
}

/// A subscriber that starts mid-load sees every event of the load exactly once, in order.
pub async fn subscriber_sees_a_concurrent_load_exactly_once_in_order(store: Arc<dyn EventStore>) {
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 60;
    const TOTAL: usize = WRITERS * PER_WRITER;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..PER_WRITER {
                let s = stream(&format!("cell-{}", i % 5));
                let event = new_event(&format!("{w}/{i}"));
                ids.push(event.event_id);
                store.append(&s, ExpectedRevision::Any, vec![event]).await.unwrap();
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            ids
        }));
    }
    // Start once some events are in, so the subscription both catches up and goes live.
    while store.committed().borrow().is_none_or(|p| p < 20) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut sub = store.clone().subscribe(None);
    let mut seen = Vec::new();
    while seen.len() < TOTAL {
        let event = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .expect("the subscription keeps up")
            .expect("the subscription does not end")
            .expect("no read error");
        seen.push(event);
    }
    let mut expected_ids = HashSet::new();
    for w in writers {
        expected_ids.extend(w.await.unwrap());
    }
    assert_eq!(seen.iter().map(|e| e.position).collect::<Vec<_>>(), (0..TOTAL as u64).collect::<Vec<_>>());
    let seen_ids: HashSet<_> = seen.iter().map(|e| Envelope::decode(&e.envelope).unwrap().event_id).collect();
    assert_eq!(seen_ids, expected_ids, "every acknowledged event, and nothing else");
    // And nothing more arrives.
    assert!(tokio::time::timeout(Duration::from_millis(100), sub.next()).await.is_err());
}

/// [`Pages`] follows the log as a subscription does: after its start (exclusive), every event
/// of a concurrent load exactly once and in order, byte for byte as `read_all` reads it, page
/// by page; then it waits for the next commit.
pub async fn pages_follow_the_log_like_a_subscription(store: Arc<dyn EventStore>) {
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 40;
    const TOTAL: usize = 2 + WRITERS * PER_WRITER;
    async fn page(pages: &mut Pages, max: usize) -> Vec<StoredEvent> {
        let read = tokio::time::timeout(Duration::from_secs(30), pages.next_into(max, Copies::default()))
            .await
            .expect("a page arrives in time");
        read.expect("the store is open").expect("no read error").0
    }
    let a = stream("cell-a");
    for i in 0..2 {
        store.append(&a, ExpectedRevision::Any, vec![new_event(&format!("first {i}"))]).await.unwrap();
    }
    let mut later = Pages::new(store.clone(), Some(0));
    assert_eq!(page(&mut later, 10).await.iter().map(|e| e.position).collect::<Vec<_>>(), [1]);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    let event = new_event(&format!("{w}/{i}"));
                    store
                        .append(&stream(&format!("cell-{}", i % 3)), ExpectedRevision::Any, vec![event])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    // Half the load read one page at a time, the rest as a stream of pages.
    let mut pages = Pages::new(store.clone(), None);
    let mut seen = Vec::new();
    while seen.len() < TOTAL / 2 {
        let read = page(&mut pages, 7).await;
        assert!(!read.is_empty() && read.len() <= 7, "{} events in a page", read.len());
        seen.extend(read);
    }
    let mut stream = pages.into_stream(7, Copies::default);
    while seen.len() < TOTAL {
        let read = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("a page arrives in time");
        let read = read.expect("the store is open").expect("no read error").0;
        assert!(!read.is_empty() && read.len() <= 7, "{} events in a page", read.len());
        seen.extend(read);
    }

    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(seen, everything(&*store).await, "every event once, in order, as read_all reads it");
    // Everything is read: the next page waits for the next commit, and has it.
    let mut pages = Pages::new(store.clone(), Some(TOTAL as u64 - 1));
    let waiting = tokio::time::timeout(Duration::from_millis(100), pages.next_into(7, Copies::default())).await;
    assert!(waiting.is_err(), "a page waits for a commit");
    store.append(&a, ExpectedRevision::Any, vec![new_event("live")]).await.unwrap();
    assert_eq!(page(&mut pages, 7).await.iter().map(|e| e.position).collect::<Vec<_>>(), [TOTAL as u64]);
}

/// A lease has one holder at a time: its holder renews it, anyone else is told who holds it,
/// and takes it over only once the holder stopped renewing and its lease has run out.
pub async fn a_lease_has_one_holder_at_a_time(store: Arc<dyn EventStore>) {
    let ttl = Duration::from_millis(400);
    let role = "contract-role";
    let lease = |holder: &'static str| {
        let store = store.clone();
        async move { store.lease(role, holder, ttl).await.expect("the store answers a lease") }
    };
    let Lease::Held { until: mut a_until } = lease("a").await else { panic!("a lease nobody holds is taken") };
    assert_eq!(lease("b").await, Lease::HeldBy { holder: "a".into() });
    for _ in 0..4 {
        tokio::time::sleep(ttl / 4).await;
        match lease("a").await {
            Lease::Held { until } => {
                assert!(until >= a_until, "a renewal does not shorten the lease");
                a_until = until;
            }
            other => panic!("the holder renews its lease: {other:?}"),
        }
        assert_eq!(lease("b").await, Lease::HeldBy { holder: "a".into() }, "a renewed lease is not taken over");
    }
    // a stops renewing.
    let deadline = std::time::Instant::now() + ttl * 20;
    let b_until = loop {
        match lease("b").await {
            Lease::Held { until } => break until,
            Lease::HeldBy { holder } => assert_eq!(holder, "a"),
        }
        assert!(std::time::Instant::now() < deadline, "a lease nobody renews is taken over");
        tokio::time::sleep(ttl / 8).await;
    };
    assert!(b_until >= a_until + ttl, "b's lease starts only once a's has run out");
    assert_eq!(lease("a").await, Lease::HeldBy { holder: "b".into() });
    let other = store.lease("contract-other-role", "a", ttl).await.expect("the store answers a lease");
    assert!(matches!(other, Lease::Held { .. }), "each lease has its own holder: {other:?}");
}
