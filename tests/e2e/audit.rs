//! The Audit service end to end: the server signs checkpoints of its Merkle log, every event's
//! inclusion proof and every consistency proof between two signed checkpoints verifies against
//! the signed roots, the tree is rebuilt from the log to the same roots, and a log that went
//! back behind what the key signed gets no new signature.

use std::path::Path;
use std::time::{Duration, Instant};

use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use chibo_integrity::note::NoteVerifier;
use chibo_integrity::Hash;
use chibo_proto::v1::{self as pb, audit_client::AuditClient};
use tonic::Code;

use crate::harness::{cell, points_on, read_all, size_to_sign, Conn, Fixture, Server, WRITER};

/// Checkpoints every second, so the test does not wait long.
const FAST: [&str; 2] = ["--checkpoint-seconds", "1"];

async fn audit(server: &Server) -> AuditClient<Conn> {
    AuditClient::new(server.channel().await)
}

/// Waits for a signed checkpoint covering at least `size` events; checks its note against the
/// key the server wrote beside its data, not the one it sends.
async fn checkpoint_covering(server: &Server, size: u64) -> (pb::Checkpoint, Checkpoint) {
    let key = std::fs::read_to_string(server.data.join("keys/checkpoint.pub")).expect("the public key file");
    let verifier = NoteVerifier::parse(key.trim_end()).expect("the public key parses");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(reply) = audit(server).await.get_checkpoint(pb::GetCheckpointRequest {}).await {
            let reply = reply.into_inner();
            if reply.size >= size {
                let opened = checkpoint::open(&reply.note, &verifier).expect("the checkpoint verifies");
                assert_eq!((opened.size, opened.root.to_vec()), (reply.size, reply.root.clone()));
                assert_eq!(reply.verifier_key, verifier.to_string());
                return (reply, opened);
            }
        }
        assert!(Instant::now() < deadline, "no checkpoint covering {size} events within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn hash(bytes: &[u8]) -> Hash {
    bytes.try_into().expect("32 bytes")
}

fn hashes(list: &[Vec<u8>]) -> Vec<Hash> {
    list.iter().map(|h| hash(h)).collect()
}

async fn record(server: &Server, days: u32) {
    Fixture::record(server, &[cell("a", ["an", "binh"])]).await;
    let events = (0..days).map(|d| points_on("an", 10, &crate::harness::day(30 + d))).collect();
    let request = pb::SubmitBatchRequest { stream: "cell-a".into(), expected_revision: None, events };
    server.writer().await.submit_batch(request).await.expect("the points are accepted");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_proven_in_a_signed_checkpoint_and_checkpoints_are_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &FAST);
    record(&server, 20).await;
    let log = read_all(&mut server.client().await).await;
    let (first, first_cp) = checkpoint_covering(&server, size_to_sign(&log)).await;
    #[cfg(unix)]
    assert_eq!(mode(&data.join("keys/checkpoint.key")), 0o600, "the signing key is owner-only");
    assert_eq!(first_cp.origin, "chibo.localhost/log");

    // Every event of the log is in the signed tree, at its position.
    let mut client = audit(&server).await;
    for event in log.iter().filter(|e| e.position < first.size) {
        let request = pb::InclusionProofRequest { position: event.position, tree_size: first.size };
        let proof = client.inclusion_proof(request).await.unwrap().into_inner();
        assert_eq!(proof.event_hash, event.hash, "the proof is for the event read back");
        verify_inclusion(&leaf_hash(&event.hash), event.position, first.size, &hashes(&proof.hashes), &first_cp.root)
            .unwrap_or_else(|e| panic!("position {}: {e}", event.position));
        // The same proof does not prove another position.
        if first.size > 1 {
            let other = (event.position + 1) % first.size;
            let wrong =
                verify_inclusion(&leaf_hash(&event.hash), other, first.size, &hashes(&proof.hashes), &first_cp.root);
            assert!(wrong.is_err(), "position {} proven at {other}", event.position);
        }
    }

    // More events, a later checkpoint, consistent with the first.
    let mut client_ledger = server.writer().await;
    let more = (0..15).map(|d| points_on("binh", 5, &crate::harness::day(60 + d))).collect();
    let request = pb::SubmitBatchRequest { stream: "cell-a".into(), expected_revision: None, events: more };
    client_ledger.submit_batch(request).await.unwrap();
    let (second, second_cp) = checkpoint_covering(&server, first.size + 15).await;
    let request = pb::ConsistencyProofRequest { old_size: first.size, new_size: second.size };
    let proof = client.consistency_proof(request).await.unwrap().into_inner();
    verify_consistency(first.size, second.size, &first_cp.root, &second_cp.root, &hashes(&proof.hashes))
        .expect("the later checkpoint extends the earlier one");
    let mut tampered = hashes(&proof.hashes);
    tampered[0][0] ^= 1;
    assert!(verify_consistency(first.size, second.size, &first_cp.root, &second_cp.root, &tampered).is_err());

    // Every checkpoint the server signed is recorded in $checkpoints and verifies.
    let recorded = read_all(&mut server.client().await).await;
    let notes: Vec<_> = recorded
        .iter()
        .filter_map(|e| match chibo_proto::convert::decode_payload("CheckpointSigned", &e.payload) {
            Ok(pb::Event { kind: Some(pb::event::Kind::CheckpointSigned(c)) }) => Some(c.note),
            _ => None,
        })
        .collect();
    assert!(notes.contains(&first.note) && notes.contains(&second.note), "both checkpoints are recorded");

    // Questions outside the tree say which field and why.
    let beyond = pb::InclusionProofRequest { position: second.size, tree_size: second.size };
    let status = client.inclusion_proof(beyond).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("position:"), "{status:?}");
    let status =
        client.consistency_proof(pb::ConsistencyProofRequest { old_size: 1, new_size: 1 << 40 }).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    // The tree deleted: rebuilt from the log, to the same signed roots.
    server.stop().await;
    std::fs::remove_dir_all(data.join("merkle")).unwrap();
    let server = Server::start_with(&data, &FAST);
    let mut client = audit(&server).await;
    let request = pb::ConsistencyProofRequest { old_size: first.size, new_size: second.size };
    let again = client.consistency_proof(request).await.unwrap().into_inner();
    assert_eq!((again.old_root, again.new_root), (first.root.clone(), second.root.clone()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_older_than_what_the_key_signed_gets_no_new_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = dir.path().join("keys");
    let key = keys.join("checkpoint.key");
    let flags = ["--checkpoint-seconds", "1", "--checkpoint-key", key.to_str().unwrap()];
    let server = Server::start_with(&data, &flags);
    record(&server, 3).await;
    let (signed, _) = {
        // The key lives outside the data directory here: find its public half there.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(reply) = audit(&server).await.get_checkpoint(pb::GetCheckpointRequest {}).await {
                break (reply.into_inner(), ());
            }
            assert!(Instant::now() < deadline, "no checkpoint within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(signed.size > 0);
    server.stop().await;

    // The data directory replaced by an empty one (a restore from an old backup): the key's
    // state says it signed more than this log holds.
    std::fs::remove_dir_all(&data).unwrap();
    let server = Server::start_with(&data, &flags);
    record(&server, 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = audit(&server).await.get_checkpoint(pb::GetCheckpointRequest {}).await;
    let status = status.expect_err("no checkpoint is signed over the older log");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("older than what this key signed"), "{status:?}");
    server.stop().await;
}

/// Every item of a trail: the checkpoint first, then the events.
async fn trail(
    server: &Server,
    request: pb::AuditTrailRequest,
) -> Result<(Option<pb::Checkpoint>, Vec<pb::TrailEvent>), tonic::Status> {
    let mut items = audit(server).await.audit_trail(request).await?.into_inner();
    let (mut checkpoint, mut events) = (None, Vec::new());
    while let Some(item) = items.message().await? {
        match item.item.expect("an item holds something") {
            pb::trail_item::Item::Checkpoint(c) => {
                assert!(checkpoint.is_none() && events.is_empty(), "the checkpoint comes first, once");
                checkpoint = Some(c);
            }
            pb::trail_item::Item::Event(e) => events.push(e),
        }
    }
    Ok((checkpoint, events))
}

fn trail_of(org: &str, member: &str, from: &str, to: &str) -> pb::AuditTrailRequest {
    pb::AuditTrailRequest { org_id: org.into(), member_id: member.into(), from: from.into(), to: to.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_proves_every_event_and_shows_corrections_beside_what_they_correct() {
    use crate::rules::{ev, points as earned, retracted};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(&dir.path().join("data"), &FAST);
    Fixture::record(&server, &[cell("a", ["an", "binh"]), cell("b", ["cuong"])]).await;
    let mut client = server.writer().await;
    // Points for an on three days of February; the first retracted, the second corrected, both
    // in April: the trail of February still shows what happened to them, right beside them.
    // Each happened on its day (the envelope's occurred_at is what a period selects by).
    let on = |date: &str, kind| {
        let mut event = ev(kind);
        let day = chibo_domain::Date::parse("date", date).unwrap().days_since_epoch();
        event.occurred_at = Some(pbjson_types::Timestamp { seconds: day * 86_400 + 3_600, nanos: 0 });
        event
    };
    let february: Vec<_> =
        [1, 2, 3].map(|d| on(&format!("2024-02-0{d}"), earned("an", 10, &format!("2024-02-0{d}")))).into();
    let march = on("2024-03-01", earned("binh", 5, "2024-03-01"));
    let mut events = february.clone();
    events.push(march.clone());
    let request = pb::SubmitBatchRequest { stream: "cell-a".into(), expected_revision: None, events };
    client.submit_batch(request).await.unwrap();
    let mut replacement = earned("an", 15, "2024-02-02");
    if let pb::event::Kind::StudyPointsEarned(p) = &mut replacement {
        p.activity = "Nghị quyết 21-NQ/TW (sửa)".into();
    }
    let correction = pb::event::Kind::EventCorrected(Box::new(pb::EventCorrected {
        target_event_id: february[1].event_id.clone(),
        reason: "Sai số điểm".into(),
        replacement: Some(Box::new(pb::Event { kind: Some(replacement) })),
    }));
    let later = vec![on("2024-04-02", retracted(&february[0].event_id)), on("2024-04-02", correction)];
    let request = pb::SubmitBatchRequest { stream: "cell-a".into(), expected_revision: None, events: later.clone() };
    client.submit_batch(request).await.unwrap();
    let log = read_all(&mut server.client().await).await;
    let (_, signed) = checkpoint_covering(&server, size_to_sign(&log)).await;

    let (checkpoint, events) = trail(&server, trail_of("a", "", "2024-02-01", "2024-02-29")).await.unwrap();
    let checkpoint = checkpoint.expect("the trail names its checkpoint");
    assert_eq!((checkpoint.size, checkpoint.root.clone()), (signed.size, signed.root.to_vec()));
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let expected =
        [&february[0].event_id, &later[0].event_id, &february[1].event_id, &later[1].event_id, &february[2].event_id];
    assert_eq!(ids, expected.map(String::as_str), "February's events, each correction right after its target");
    assert_eq!(events[0].corrected_by, [later[0].event_id.clone()]);
    assert_eq!(events[1].corrects, february[0].event_id);
    assert_eq!(events[2].corrected_by, [later[1].event_id.clone()]);
    assert!(events[4].corrected_by.is_empty() && events[4].corrects.is_empty());
    for event in &events {
        let recorded = event.recorded.as_ref().unwrap();
        assert!(event.proven, "{} is covered by the checkpoint", event.event_id);
        assert_eq!(event.actor, WRITER, "who submitted it, as its envelope says");
        let leaf = leaf_hash(&recorded.hash);
        verify_inclusion(&leaf, recorded.position, signed.size, &hashes(&event.inclusion), &signed.root)
            .unwrap_or_else(|e| panic!("{}: {e}", event.event_id));
        assert!(event.event.is_some(), "the payload is decoded for the reader");
    }

    // A member's trail: only what names them, in every cell they belonged to.
    let (_, binh) = trail(&server, trail_of("", "binh", "", "")).await.unwrap();
    let types: Vec<&str> = binh.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["MemberJoined", "StudyPointsEarned"]);
    assert_eq!(binh[1].event_id, march.event_id);
    // A committee's trail: every stream below it.
    let (_, all) = trail(&server, trail_of(crate::harness::PROVINCE, "", "", "")).await.unwrap();
    let streams: std::collections::BTreeSet<&str> = all.iter().map(|e| e.stream.as_str()).collect();
    assert_eq!(streams.into_iter().collect::<Vec<_>>(), ["cell-a", "cell-b", "org-thaibinh"]);

    // The stream's chain as stored, and its head in the checkpoint.
    let verified = audit(&server).await.verify_stream(pb::VerifyStreamRequest { stream: "cell-a".into() }).await;
    let verified = verified.unwrap().into_inner();
    assert!(verified.intact && verified.head_proven && verified.problems.is_empty(), "{verified:?}");
    assert_eq!(verified.events, 9, "registration, two joins, four points, a retraction, a correction");

    // What cannot be answered says which field and why.
    let cases = [
        (trail_of("a", "an", "", ""), Code::InvalidArgument, "member_id:"),
        (trail_of("", "", "", ""), Code::InvalidArgument, "org_id:"),
        (trail_of("a", "", "2024-02-30", ""), Code::InvalidArgument, "from:"),
        (trail_of("a", "", "2024-03-01", "2024-02-01"), Code::InvalidArgument, "to:"),
        (trail_of("nowhere", "", "", ""), Code::NotFound, "org_id:"),
        (trail_of("", "nobody", "", ""), Code::NotFound, "member_id:"),
    ];
    for (request, code, field) in cases {
        let status = trail(&server, request.clone()).await.expect_err("refused");
        assert_eq!(status.code(), code, "{request:?}: {status:?}");
        assert!(status.message().starts_with(field), "{request:?}: {status:?}");
    }
    let status = audit(&server).await.verify_stream(pb::VerifyStreamRequest { stream: "cell-zz".into() }).await;
    assert_eq!(status.unwrap_err().code(), Code::NotFound);
    let mut client = audit(&server).await;
    let export = |org: &str, from: &str, since_size| pb::ExportBundleRequest {
        org_id: org.into(),
        from: from.into(),
        to: "2024-12-31".into(),
        since_size,
    };
    for (request, field) in [(export("a", "", 0), "from:"), (export("Bad Id", "2024-01-01", 0), "org_id:")] {
        let status = match client.export_bundle(request).await {
            Ok(reply) => reply.into_inner().message().await.expect_err("refused"),
            Err(status) => status,
        };
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{status:?}");
    }
    server.stop().await;
}
