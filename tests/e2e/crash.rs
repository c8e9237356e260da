//! Crash safety: `chibo serve` under a concurrent submit load is killed with SIGKILL at random
//! moments, again and again, and restarted on the same data directory. After every restart:
//! every acknowledged event is there with its receipt's position, revision and hash; nothing
//! unacknowledged is half there (a batch is all in or all out); the global order has no gap;
//! every chain verifies; and a retry of whatever was in flight is answered idempotently.
//!
//! The load keeps the server's rules, so that nothing but a crash stands in its way: the cells
//! are registered first, each with one member per writer, and each member's study points are
//! spread over the days so that none passes the daily cap.
//!
//! The run is random but reproducible: it prints its seed, and `CHIBO_CRASH_SEED=N` replays it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chibo_integrity::Envelope;
use chibo_proto::v1 as pb;
use rand::{rngs::StdRng, Rng, SeedableRng};
use tonic::Code;

use tonic::service::interceptor::InterceptedService;

use crate::harness::{self, cell, points_on, read_all, verify, Conn, Fixture, Server};

const KILLS: usize = 24;
const WRITERS: usize = 8;
const BATCH: usize = 3;
const CELLS: usize = 6;
/// Study points per event are below this, so four events a day stay within the daily cap of 200.
const MAX_POINTS: u32 = 50;
const EVENTS_PER_DAY: usize = 4;

/// What the load sent: one entry per request, with what came back, if anything.
#[derive(Clone)]
struct Sent {
    stream: String,
    events: Vec<pb::EventSubmission>,
    receipts: Option<Vec<pb::Receipt>>,
}

#[derive(Default)]
struct Ledger {
    sent: Vec<Sent>,
    /// How many events each member has been sent so far, across restarts: the next event's day.
    events_of: HashMap<String, usize>,
}

/// The member who earns writer `writer`'s points in cell `c{cell}` (a member belongs to one
/// cell at a time).
fn member(writer: usize, cell: usize) -> String {
    format!("m{writer}-c{cell}")
}

/// Registers the cells `c0`…`c5`, each with one member per writer, and counts the requests as
/// sent and acknowledged.
async fn record_fixture(server: &Server, ledger: &Mutex<Ledger>) {
    let cells: Vec<_> = (0..CELLS).map(|c| cell(format!("c{c}"), (0..WRITERS).map(|w| member(w, c)))).collect();
    let fixture = Fixture::record(server, &cells).await;
    let mut ledger = ledger.lock().unwrap();
    for harness::Request { stream, events, receipts } in fixture.requests {
        ledger.sent.push(Sent { stream, events, receipts: Some(receipts) });
    }
}

/// Submits writer `writer`'s study points with `token` (the harness's writer credential) until
/// the server dies.
async fn load(url: String, token: String, ledger: Arc<Mutex<Ledger>>, writer: usize, seed: u64) {
    let Ok(channel) = tonic::transport::Channel::from_shared(url).unwrap().connect().await else { return };
    let mut client = pb::ledger_client::LedgerClient::new(InterceptedService::new(channel, harness::bearer(&token)));
    let mut rng = StdRng::seed_from_u64(seed);
    loop {
        let cell = rng.gen_range(0..CELLS);
        let stream = format!("cell-c{cell}");
        let n = if rng.gen_bool(0.3) { BATCH } else { 1 };
        let member = member(writer, cell);
        let (index, events) = {
            let mut ledger = ledger.lock().unwrap();
            let before = ledger.events_of.entry(member.clone()).or_default();
            let events: Vec<_> = (*before..*before + n)
                .map(|k| {
                    points_on(&member, rng.gen_range(1..MAX_POINTS), &harness::day(1 + (k / EVENTS_PER_DAY) as u32))
                })
                .collect();
            *before += n;
            ledger.sent.push(Sent { stream: stream.clone(), events: events.clone(), receipts: None });
            (ledger.sent.len() - 1, events)
        };
        let request = pb::SubmitBatchRequest { stream, expected_revision: None, events };
        match client.submit_batch(request).await {
            Ok(response) => ledger.lock().unwrap().sent[index].receipts = Some(response.into_inner().receipts),
            // Every event the load sends keeps the rules and its writer's rights, with no rate
            // limit: a refusal means the test is wrong, and must not pass for the server dying.
            Err(status)
                if matches!(
                    status.code(),
                    Code::InvalidArgument
                        | Code::FailedPrecondition
                        | Code::AlreadyExists
                        | Code::PermissionDenied
                        | Code::Unauthenticated
                        | Code::ResourceExhausted
                ) =>
            {
                panic!("writer {writer}: the server refused a valid event: {status:?}")
            }
            Err(_) => return, // the server died under us
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_event() {
    let seed = std::env::var("CHIBO_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random::<u64>);
    println!("crash test seed: {seed} (CHIBO_CRASH_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut acknowledged_total = 0;

    for kill in 0..KILLS {
        // A load test: no rate limit, so that every refusal below is the server's fault.
        let server = Server::start_with(dir.path(), &["--rate-limit", "0"]);
        let mut client = server.client().await;
        let sent = ledger.lock().unwrap().sent.clone();
        check_log(&mut client, &sent, kill).await;
        // The load writes as the harness's writer, issued on the first start (before the
        // fixture) and the same credential after every restart.
        let token = server.writer_token().await;
        retry_in_flight(&mut server.writer().await, &ledger).await;
        if kill == 0 {
            record_fixture(&server, &ledger).await;
        }

        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(load(server.url.clone(), token.clone(), ledger.clone(), w, rng.gen())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..250))).await;
        server.kill();
        for task in tasks {
            task.await.unwrap();
        }
        acknowledged_total = ledger.lock().unwrap().sent.iter().filter(|s| s.receipts.is_some()).count();
    }

    let server = Server::start(dir.path());
    let mut client = server.client().await;
    let sent = ledger.lock().unwrap().sent.clone();
    check_log(&mut client, &sent, KILLS).await;
    server.stop().await;
    let (report, code) = verify(dir.path());
    assert_eq!((report["intact"].as_bool(), code), (Some(true), 0), "{report}");
    assert!(acknowledged_total > KILLS * 5, "the load made progress: {acknowledged_total} requests acknowledged");
}

/// Retries every request that got no answer; each must now succeed, as the original receipt
/// if it had landed before the kill, as a new append if it had not.
async fn retry_in_flight(client: &mut pb::ledger_client::LedgerClient<Conn>, ledger: &Mutex<Ledger>) {
    let pending: Vec<(usize, Sent)> = {
        let ledger = ledger.lock().unwrap();
        ledger.sent.iter().enumerate().filter(|(_, s)| s.receipts.is_none()).map(|(i, s)| (i, s.clone())).collect()
    };
    for (index, sent) in pending {
        let request = pb::SubmitBatchRequest { stream: sent.stream, expected_revision: None, events: sent.events };
        let receipts =
            client.submit_batch(request).await.expect("a retry after a crash succeeds").into_inner().receipts;
        ledger.lock().unwrap().sent[index].receipts = Some(receipts);
    }
}

/// Checks the log the restarted server serves against everything sent so far.
async fn check_log(client: &mut pb::ledger_client::LedgerClient<Conn>, sent: &[Sent], cycle: usize) {
    let log = read_all(client).await;
    assert_eq!(
        log.iter().map(|e| e.position).collect::<Vec<_>>(),
        (0..log.len() as u64).collect::<Vec<_>>(),
        "cycle {cycle}: the global order has no gap"
    );
    let by_id: HashMap<String, (&pb::RecordedEvent, Envelope)> = log
        .iter()
        .map(|e| {
            let envelope = Envelope::decode(&e.envelope).expect("stored envelopes decode");
            (envelope.event_id.to_string(), (e, envelope))
        })
        .collect();
    assert_eq!(by_id.len(), log.len(), "cycle {cycle}: no event id is recorded twice");

    let mut accounted = 0;
    for request in sent {
        let present: Vec<bool> = request.events.iter().map(|e| by_id.contains_key(&e.event_id)).collect();
        match &request.receipts {
            Some(receipts) => {
                for receipt in receipts {
                    let (event, envelope) = by_id
                        .get(&receipt.event_id)
                        .unwrap_or_else(|| panic!("cycle {cycle}: acknowledged event {} is missing", receipt.event_id));
                    assert_eq!(event.position, receipt.position, "cycle {cycle}: position of {}", receipt.event_id);
                    assert_eq!(event.hash, receipt.hash, "cycle {cycle}: hash of {}", receipt.event_id);
                    assert_eq!(envelope.revision, receipt.revision);
                    assert_eq!(envelope.stream.to_string(), receipt.stream);
                }
                accounted += receipts.len();
            }
            None => {
                // Never acknowledged: all of it landed (the reply was lost) or none of it.
                assert!(
                    present.iter().all(|p| *p) || present.iter().all(|p| !*p),
                    "cycle {cycle}: a batch to {} is half written: {present:?}",
                    request.stream
                );
                accounted += present.iter().filter(|p| **p).count();
            }
        }
    }
    let submitted = log.iter().filter(|e| !harness::is_server_written(e)).count();
    assert_eq!(
        accounted, submitted,
        "cycle {cycle}: every event in the log but the server's own (checkpoints, credentials) was sent by the load"
    );
}
