//! `chibo serve --store esdb://…`: the real binary on a KurrentDB log, here the in-memory
//! KurrentDB test server (it speaks KurrentDB's protocol to the real client). Two servers on
//! one log serve one chain, give the same positions, and a subscriber on one of them sees the
//! other's writes, through KurrentDB dropping every connection in the middle; both servers'
//! projections count every event once; the checkpoints they take turns signing, with one key,
//! are recorded in order and agree with the log; and when the signer stops, the other signs.

use std::time::Duration;

use chibo_integrity::{checkpoint, merkle::Frontier, NoteVerifier, Verifier};
use chibo_kurrent_testserver::KurrentTestServer;
use chibo_proto::v1::{
    self as pb, audit_client::AuditClient, ledger_client::LedgerClient, standings_client::StandingsClient,
};

use crate::harness::{cell, day, is_checkpoint, points_on, read_all, Conn, Fixture, Server};

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
async fn two_servers_appending_at_once_to_one_kurrentdb_log_keep_one_chain_through_dropped_connections() {
    let kurrent = KurrentTestServer::start().await;
    let store = kurrent.connection_string();
    let (one_dir, two_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let flags = ["--store", &store, "--checkpoint-events", "3", "--signer-lease-seconds", "1"];
    let one = Server::start_with(one_dir.path(), &flags);
    let fixture = Fixture::record(&one, &[cell("tan-hoa", ["an", "binh"])]).await;
    // The second server signs with a copy of the first one's key, as every server of a cluster.
    let key = one_dir.path().join("keys");
    std::fs::create_dir_all(two_dir.path().join("keys")).unwrap();
    for file in ["checkpoint.key", "checkpoint.pub"] {
        std::fs::copy(key.join(file), two_dir.path().join("keys").join(file)).unwrap();
    }
    let two = Server::start_with(two_dir.path(), &flags);
    let token = one.writer_token().await;
    let writers = [
        (LedgerClient::new(one.connect_as(&token).await), "an"),
        (LedgerClient::new(two.connect_as(&token).await), "binh"),
    ];
    let mut subscription = two
        .client()
        .await
        .subscribe(pb::SubscribeRequest { after_position: None })
        .await
        .expect("Subscribe answers")
        .into_inner();

    // Both servers append to the same cell at once, one member's points each, while KurrentDB
    // drops every connection three times along the way.
    const EVENTS: u32 = 12;
    let acknowledged = std::cell::Cell::new(0);
    let acknowledged = &acknowledged;
    let [one_writes, two_writes] = writers.map(|(mut client, member)| async move {
        let mut receipts = Vec::new();
        for day_number in 1..=EVENTS / 2 {
            let event = points_on(member, 10, &day(day_number));
            receipts.push(submit_surely(&mut client, "cell-tan-hoa", event).await);
            acknowledged.set(acknowledged.get() + 1);
        }
        receipts
    });
    let drops = async {
        for after in [2, 5, 8] {
            while acknowledged.get() < after {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            kurrent.kill_connections();
        }
    };
    let (mut receipts, two_receipts, ()) = tokio::join!(one_writes, two_writes, drops);
    receipts.extend(two_receipts);
    let mut revisions: Vec<u64> = receipts.iter().map(|r| r.revision).collect();
    revisions.sort_unstable();
    let first = fixture.in_stream("cell-tan-hoa");
    assert_eq!(revisions, (first..first + u64::from(EVENTS)).collect::<Vec<_>>(), "one chain, whoever wrote, no gap");

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
    // A server may sign a checkpoint after the other was read: the logs agree on what both hold,
    // and both hold every acknowledged event.
    let both = logs[0].len().min(logs[1].len());
    assert!(both as u64 > last, "each server follows the log to the last acknowledged event");
    assert_eq!(logs[0][..both], logs[1][..both], "both servers read one log");
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

    // Each server's projections applied every event once, through the drops: ten points a day.
    for server in [&one, &two] {
        let mut standings = StandingsClient::new(server.channel().await);
        for member in ["an", "binh"] {
            let request = pb::MemberStandingRequest { member_id: member.into(), year: 2026 };
            let standing = standings.member_standing(request).await.expect("a member's standing").into_inner();
            let standing: serde_json::Value = serde_json::from_str(&standing.json).unwrap();
            assert_eq!(standing["points_cumulative"], 10 * EVENTS / 2, "{member} on {}: {standing}", server.url);
        }
    }

    // The checkpoints, whichever server signed each, verify with the one key, only grow, and
    // have the log's root at their size.
    let verifier = NoteVerifier::parse(std::fs::read_to_string(key.join("checkpoint.pub")).unwrap().trim_end())
        .expect("the public key");
    let signed = assert_checkpoints_in_order(&mut one.client().await, &verifier).await;
    assert!(signed.len() >= 2, "checkpoints were signed while both served: {signed:?}");

    // The signer stops, whichever it was: the other takes its turn and signs what comes next.
    let last_size = *signed.last().unwrap();
    one.stop().await;
    let mut writer = LedgerClient::new(two.connect_as(&token).await);
    for i in 0..3 {
        submit_surely(&mut writer, "cell-tan-hoa", points_on("an", 10, &day(EVENTS + 1 + i))).await;
    }
    let mut audit = AuditClient::new(two.channel().await);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let latest = audit.get_checkpoint(pb::GetCheckpointRequest {}).await.ok().map(|c| c.into_inner().size);
        if latest.is_some_and(|size| size >= last_size + 3) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the remaining server signs: its latest is {latest:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = assert_checkpoints_in_order(&mut two.client().await, &verifier).await;
    assert!(after.starts_with(&signed) && after.len() > signed.len(), "{signed:?} then {after:?}");
    two.stop().await;
}

/// Every checkpoint in `$checkpoints` verifies with `verifier`, is of more events than the one
/// before, and has the root of the log's first events at its size; returns their sizes.
async fn assert_checkpoints_in_order(client: &mut LedgerClient<Conn>, verifier: &NoteVerifier) -> Vec<u64> {
    let log = read_all(client).await;
    let mut tree = Frontier::new();
    let mut roots = vec![tree.root()];
    for event in &log {
        tree.push(&event.hash);
        roots.push(tree.root());
    }
    let mut sizes: Vec<u64> = Vec::new();
    for event in log.iter().filter(|e| is_checkpoint(e)) {
        let note = match chibo_proto::convert::decode_payload("CheckpointSigned", &event.payload) {
            Ok(pb::Event { kind: Some(pb::event::Kind::CheckpointSigned(c)) }) => c.note,
            other => panic!("a $checkpoints event is a CheckpointSigned: {other:?}"),
        };
        let checkpoint = checkpoint::open(&note, verifier).expect("every checkpoint verifies with the one key");
        assert!(sizes.last().is_none_or(|&last| checkpoint.size > last), "{sizes:?} then {}", checkpoint.size);
        assert!(checkpoint.size <= event.position, "a checkpoint is of events before its own");
        assert_eq!(checkpoint.root, roots[checkpoint.size as usize], "the log's root at {}", checkpoint.size);
        sizes.push(checkpoint.size);
    }
    sizes
}
