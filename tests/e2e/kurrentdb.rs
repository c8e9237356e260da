//! `chibo serve --store esdb://…`: the real binary on a KurrentDB log, here the in-memory
//! KurrentDB test server (it speaks KurrentDB's protocol to the real client). Two servers on
//! one log serve one chain, give the same positions, and a subscriber on one of them sees the
//! other's writes, through KurrentDB dropping every connection in the middle.

use std::time::Duration;

use chibo_integrity::Verifier;
use chibo_kurrent_testserver::KurrentTestServer;
use chibo_proto::v1::{self as pb, ledger_client::LedgerClient};

use crate::harness::{cell, day, points_on, read_all, Conn, Fixture, Server};

/// Submits one event, again (the same event id) while the answer is that the outcome is unknown
/// or, on a server that has not yet followed the log up to the credential, that it is unknown.
async fn submit_surely(client: &mut LedgerClient<Conn>, stream: &str, event: pb::EventSubmission) -> pb::Receipt {
    for _ in 0..200 {
        let request = pb::SubmitRequest { stream: stream.into(), expected_revision: None, event: Some(event.clone()) };
        match client.submit(request).await {
            Ok(reply) => return reply.into_inner().receipt.expect("Submit returns a receipt"),
            Err(status) if matches!(status.code(), tonic::Code::Unavailable | tonic::Code::Unauthenticated) => {
                eprintln!("submitting again: {status:?}");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(status) => panic!("the submission is refused: {status:?}"),
        }
    }
    panic!("the submission never went through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_kurrentdb_log_serve_one_chain_through_dropped_connections() {
    let kurrent = KurrentTestServer::start().await;
    let store = kurrent.connection_string();
    let (one_dir, two_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = Server::start_with(one_dir.path(), &["--store", &store]);
    let fixture = Fixture::record(&one, &[cell("tan-hoa", ["an", "binh"])]).await;
    let two = Server::start_with(two_dir.path(), &["--store", &store]);
    let token = one.writer_token().await;
    let mut writers =
        [LedgerClient::new(one.connect_as(&token).await), LedgerClient::new(two.connect_as(&token).await)];
    let mut subscription = two
        .client()
        .await
        .subscribe(pb::SubscribeRequest { after_position: None })
        .await
        .expect("Subscribe answers")
        .into_inner();

    const EVENTS: u32 = 12;
    let mut receipts = Vec::new();
    for i in 0..EVENTS {
        if i % 4 == 2 {
            kurrent.kill_connections();
        }
        let member = if i % 2 == 0 { "an" } else { "binh" };
        let event = points_on(member, 10, &day(i + 1));
        receipts.push(submit_surely(&mut writers[i as usize % 2], "cell-tan-hoa", event).await);
    }
    let revisions: Vec<u64> = receipts.iter().map(|r| r.revision).collect();
    let first = fixture.in_stream("cell-tan-hoa");
    assert_eq!(revisions, (first..first + u64::from(EVENTS)).collect::<Vec<_>>(), "one chain, whoever wrote");

    // Every server reads the same log, position for position, once it has followed it.
    let last = receipts.iter().map(|r| r.position).max().unwrap();
    let mut logs = Vec::new();
    for server in [&one, &two] {
        let client = &mut server.client().await;
        let mut log = read_all(client).await;
        for _ in 0..400 {
            if log.last().is_some_and(|e| e.position >= last) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            log = read_all(client).await;
        }
        logs.push(log);
    }
    assert_eq!(logs[0], logs[1], "both servers read one log");
    let log = &logs[0];
    assert_eq!(log.iter().map(|e| e.position).collect::<Vec<_>>(), (0..log.len() as u64).collect::<Vec<_>>());
    for receipt in &receipts {
        assert_eq!(log[receipt.position as usize].hash, receipt.hash, "a receipt's position holds its event");
    }
    let mut verifier = Verifier::new();
    for event in log {
        let envelope = chibo_integrity::Envelope::decode(&event.envelope).expect("a stored envelope decodes");
        let stream = envelope.stream.to_string();
        verifier.check(chibo_integrity::RawEvent {
            position: event.position,
            stream: &stream,
            revision: envelope.revision,
            envelope: &event.envelope,
            payload: &event.payload,
            salt: &event.salt,
            hash: &event.hash,
        });
    }
    let summary = verifier.finish();
    assert!(summary.is_intact(), "{:?}", summary.breaks);

    // The subscriber on the second server saw every event once, in order, through the drops.
    let mut seen = Vec::new();
    while seen.len() < log.len() {
        let event = tokio::time::timeout(Duration::from_secs(30), subscription.message())
            .await
            .expect("the subscription keeps up")
            .expect("the subscription goes on")
            .expect("the subscription does not end");
        seen.push(event);
    }
    assert_eq!(&seen, log);
    one.stop().await;
    two.stop().await;
}
