//! Tamper detection: a real data directory, altered underneath chibo the way an operator with
//! a SQLite shell could (dropping the append-only triggers first), and `chibo verify` must name
//! where each alteration is (the stream and revision it breaks, the checkpoint it contradicts,
//! the rollback or fork against an inspector's state file) and exit non-zero.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chibo_integrity::checkpoint::{self, Checkpoint};
use chibo_integrity::merkle::{self, MemoryTree};
use chibo_integrity::{NoteSigner, NoteVerifier};
use chibo_proto::v1::{self as pb, audit_client::AuditClient};
use rusqlite::{params, Connection};
use serde_json::json;

use crate::harness::{cell, chibo, copy_tree, points, read_all, size_to_sign, verify, verify_with, Fixture, Server};

const CELLS: [&str; 3] = ["a", "b", "c"];
const PER_CELL: usize = 4;

/// The `n`th member of `cell` (a member belongs to one cell at a time); the `n`th study-points
/// event of each cell is theirs.
fn member(cell: &str, n: usize) -> String {
    format!("{cell}-m{n}")
}

/// The revision of the `n`th study-points event of a cell: after the fixture's registration
/// of the cell and its members.
fn points_revision(n: usize) -> u64 {
    (1 + PER_CELL + n) as u64
}

/// A data directory with the fixture (the province; each cell and its members), then four
/// study-points events in each of three cells, interleaved; the server stopped. Returns how
/// many events the fixture recorded (the credentials before it aside: the first admin's and the
/// writer's).
async fn recorded_log(dir: &Path) -> usize {
    let server = Server::start(dir);
    let fixture = record(&server).await;
    server.stop().await;
    fixture
}

/// Records the fixture and the study points of [`recorded_log`] on a running server; how many
/// events the fixture recorded.
async fn record(server: &Server) -> usize {
    let cells: Vec<_> = CELLS.iter().map(|id| cell(*id, (0..PER_CELL).map(|n| member(id, n)))).collect();
    let fixture = Fixture::record(server, &cells).await;
    let mut client = server.writer().await;
    for i in 0..PER_CELL {
        for id in CELLS {
            let request = chibo_proto::v1::SubmitRequest {
                stream: format!("cell-{id}"),
                expected_revision: None,
                event: Some(points(&member(id, i), 10 + i as u32)),
            };
            let receipt = client.submit(request).await.unwrap().into_inner().receipt.unwrap();
            assert_eq!(receipt.revision, points_revision(i));
        }
    }
    fixture.len()
}

/// Opens the database as an attacker would: with the append-only triggers gone.
fn tamper(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("chibo.db")).unwrap();
    conn.execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;").unwrap();
    conn
}

fn position_of(conn: &Connection, stream: &str, revision: u64) -> i64 {
    let revision = revision as i64;
    conn.query_row("SELECT position FROM events WHERE stream = ?1 AND revision = ?2", params![stream, revision], |r| {
        r.get(0)
    })
    .unwrap()
}

fn flip_byte(conn: &Connection, column: &str, stream: &str, revision: u64) {
    let position = position_of(conn, stream, revision);
    let mut blob: Vec<u8> =
        conn.query_row(&format!("SELECT {column} FROM events WHERE position = ?1"), [position], |r| r.get(0)).unwrap();
    let middle = blob.len() / 2;
    blob[middle] ^= 0x01;
    conn.execute(&format!("UPDATE events SET {column} = ?1 WHERE position = ?2"), params![blob, position]).unwrap();
}

/// Asserts `chibo verify` fails and its first chain break is at `stream`/`revision`.
fn assert_broken_at(dir: &Path, stream: &str, revision: u64, problem: &str) {
    let (report, code) = verify(dir);
    assert_eq!(code, 1, "verify exits 1 on a break: {report}");
    assert_eq!(report["intact"], false);
    let breaks = report["breaks"].as_array().unwrap();
    let hit = breaks
        .iter()
        .find(|b| b["stream"] == stream && b["revision"] == revision)
        .unwrap_or_else(|| panic!("no break reported at {stream} revision {revision}: {report}"));
    let text = hit["problem"].as_str().unwrap();
    assert!(text.contains(problem), "{text:?} should say {problem:?}");
    // Only the tampered stream is broken; the others still verify.
    assert!(breaks.iter().all(|b| b["stream"] == stream), "{report}");
}

#[tokio::test]
async fn an_untouched_log_verifies_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = recorded_log(dir.path()).await;
    let (report, code) = verify(dir.path());
    assert_eq!((code, report["intact"].as_bool()), (0, Some(true)), "{report}");
    // The two credentials (the first admin's and the writer's), the fixture, the points.
    let events = 2 + fixture + CELLS.len() * PER_CELL;
    assert_eq!(report["events"], events as u64);
    let text = chibo(&["verify", "--data", dir.path().to_str().unwrap()]);
    // The cells' streams, the province's, and $credentials.
    let streams = CELLS.len() + 2;
    let expected = format!("ok: {events} events in {streams} streams");
    assert!(String::from_utf8_lossy(&text.stdout).starts_with(&expected), "{text:?}");
}

#[tokio::test]
async fn a_flipped_envelope_byte_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    flip_byte(&tamper(dir.path()), "envelope", "cell-b", points_revision(2));
    assert_broken_at(dir.path(), "cell-b", points_revision(2), "not the hash of the stored envelope");
}

#[tokio::test]
async fn a_flipped_payload_byte_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    flip_byte(&tamper(dir.path()), "payload", "cell-a", points_revision(1));
    assert_broken_at(dir.path(), "cell-a", points_revision(1), "payload does not match");
}

#[tokio::test]
async fn a_deleted_event_is_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    let revision = points_revision(1);
    let position = position_of(&conn, "cell-c", revision);
    conn.execute("DELETE FROM events WHERE position = ?1", [position]).unwrap();
    assert_broken_at(dir.path(), "cell-c", revision, &format!("revision {revision} is missing"));
    let (report, _) = verify(dir.path());
    assert_eq!(report["gaps"][0]["expected"], position, "{report}");
}

#[tokio::test]
async fn two_swapped_events_are_found() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    // Swap the places of two study-points events of cell-a in the global order: each row keeps
    // its content but takes the other's position.
    let (r1, r2) = (points_revision(1), points_revision(2));
    let (p1, p2) = (position_of(&conn, "cell-a", r1), position_of(&conn, "cell-a", r2));
    conn.execute_batch(&format!(
        "UPDATE events SET position = -1 WHERE position = {p1};
         UPDATE events SET position = {p1} WHERE position = {p2};
         UPDATE events SET position = {p2} WHERE position = -1;"
    ))
    .unwrap();
    assert_broken_at(dir.path(), "cell-a", r1, &format!("revision {r1} is missing or out of place"));
}

#[tokio::test]
async fn a_consistent_forgery_is_found_at_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    recorded_log(dir.path()).await;
    let conn = tamper(dir.path());
    // A careful forger rewrites a payload and everything derived from it: the payload digest
    // in the envelope, the envelope, the stored hash. The event itself now checks out, but the
    // next event of the stream still names the original's hash as its prev_hash.
    let position = position_of(&conn, "cell-b", points_revision(1));
    let (envelope, salt): (Vec<u8>, Vec<u8>) = conn
        .query_row("SELECT envelope, salt FROM events WHERE position = ?1", [position], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let forged_payload = prost::Message::encode_to_vec(&chibo_proto::v1::StudyPointsEarned {
        member_id: member("b", 1),
        points: 5000,
        date: "2026-01-05".into(),
        activity: "Nghị quyết 21-NQ/TW".into(),
        source_ref: Default::default(),
    });
    let mut forged: chibo_proto::v1::EventEnvelope = prost::Message::decode(envelope.as_slice()).unwrap();
    forged.payload_digest = chibo_integrity::payload_digest(&salt.try_into().unwrap(), &forged_payload).to_vec();
    let forged = prost::Message::encode_to_vec(&forged);
    let hash = chibo_integrity::event_hash(&forged);
    conn.execute(
        "UPDATE events SET payload = ?1, envelope = ?2, hash = ?3 WHERE position = ?4",
        params![forged_payload, forged, hash.to_vec(), position],
    )
    .unwrap();
    assert_broken_at(dir.path(), "cell-b", points_revision(2), "prev_hash");
}

// ---------------------------------------------------------------------------------------------
// The Merkle log against the signed checkpoints
//
// The server signs a checkpoint every few events and every second, so the log's tail is signed
// soon after it is recorded; `chibo verify` recomputes the tree and checks each checkpoint in
// $checkpoints, and, with an inspector's state file, refuses a rollback or a fork.

/// A checkpoint every 5 events, and every second.
const SIGNED: [&str; 4] = ["--checkpoint-events", "5", "--checkpoint-seconds", "1"];

/// Waits until the server has signed a checkpoint of at least `size` events.
async fn signed_up_to(server: &Server, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut audit = AuditClient::new(server.channel().await);
        if let Ok(reply) = audit.get_checkpoint(pb::GetCheckpointRequest {}).await {
            if reply.into_inner().size >= size {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no checkpoint of {size} events within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records what [`recorded_log`] records, with checkpoints, until a checkpoint covers every
/// event the clients sent; the server stopped.
async fn signed_log(dir: &Path) {
    let server = Server::start_with(dir, &SIGNED);
    record(&server).await;
    // Up to the clients' last event: a checkpoint event already at the tail is not signed
    // again on its own (the signer waits for something new), so it must not be waited for.
    signed_up_to(&server, size_to_sign(&read_all(&mut server.client().await).await)).await;
    server.stop().await;
}

/// Every checkpoint recorded in $checkpoints: (revision, position, checkpoint), by the key the
/// server wrote beside its data.
fn recorded_checkpoints(dir: &Path) -> Vec<(u64, u64, Checkpoint)> {
    recorded_notes(dir)
        .into_iter()
        .map(|(revision, position, checkpoint, _)| (revision, position, checkpoint))
        .collect()
}

/// [`recorded_checkpoints`], each with its signed note.
fn recorded_notes(dir: &Path) -> Vec<(u64, u64, Checkpoint, String)> {
    let key = NoteVerifier::parse(std::fs::read_to_string(dir.join("keys/checkpoint.pub")).unwrap().trim()).unwrap();
    let conn = Connection::open(dir.join("chibo.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT revision, position, payload FROM events WHERE stream = '$checkpoints' ORDER BY position")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?))).unwrap();
    rows.map(|row| {
        let (revision, position, payload) = row.unwrap();
        let signed: pb::CheckpointSigned = prost::Message::decode(payload.as_slice()).unwrap();
        (revision as u64, position as u64, checkpoint::open(&signed.note, &key).unwrap(), signed.note)
    })
    .collect()
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The state problems of a report, as (kind, the whole problem).
fn state_problems(report: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    report["state"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no state problems in {report}"))
        .iter()
        .map(|p| (p["kind"].as_str().unwrap().to_owned(), p.clone()))
        .collect()
}

#[tokio::test]
async fn a_signed_log_verifies_against_its_checkpoints_and_the_state_file_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    signed_log(&data).await;
    let checkpoints = recorded_checkpoints(&data);
    assert!(checkpoints.len() >= 3, "a checkpoint every 5 events: {checkpoints:?}");
    let (_, latest_position, latest) = checkpoints.last().unwrap().clone();

    let (report, code) = verify(&data);
    assert_eq!((code, &report["intact"]), (0, &json!(true)), "{report}");
    assert_eq!(report["checkpoints"]["recorded"], checkpoints.len());
    assert_eq!(report["checkpoints"]["verified"], checkpoints.len());
    assert_eq!(report["checkpoints"]["latest"]["size"], latest.size);
    assert_eq!(report["checkpoints"]["latest"]["position"], latest_position);
    assert_eq!(report["merkle"]["size"], report["events"]);
    // The key came from the directory under check, and the report says what that proves.
    assert_eq!(report["key"]["source"], "data directory");
    assert_eq!(report["key"]["authenticates"], false);
    let text = chibo(&["verify", "--data", arg(&data)]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("inside the directory under check"), "{text}");
    assert!(text.contains("not that the server's key signed them"), "{text}");

    // A pinned key, given as a file or as the key itself.
    let public = std::fs::read_to_string(data.join("keys/checkpoint.pub")).unwrap();
    let pinned = dir.path().join("pinned.pub");
    std::fs::write(&pinned, &public).unwrap();
    for key in [arg(&pinned), public.trim()] {
        let (report, code) = verify_with(&data, &["--key", key]);
        assert_eq!(code, 0, "{report}");
        assert_eq!((&report["key"]["source"], &report["key"]["authenticates"]), (&json!("--key"), &json!(true)));
    }

    // The state file: created on first use, then kept while nothing is newer.
    let state = dir.path().join("accepted.note");
    let (report, code) = verify_with(&data, &["--key", arg(&pinned), "--state", arg(&state)]);
    assert_eq!((code, &report["state"]["written"], &report["state"]["accepted"]), (0, &json!(true), &json!(null)));
    let accepted = std::fs::read_to_string(&state).unwrap();
    assert_eq!(checkpoint::open(&accepted, &NoteVerifier::parse(public.trim()).unwrap()).unwrap(), latest);
    let (report, code) = verify_with(&data, &["--key", arg(&pinned), "--state", arg(&state)]);
    assert_eq!((code, &report["state"]["written"]), (0, &json!(false)), "{report}");
    assert_eq!(report["state"]["accepted"]["size"], latest.size);
    assert!(state_problems(&report).is_empty());

    // Another key of the same name: no checkpoint is the key holder's.
    let other = chibo_integrity::NoteSigner::generate(&latest.origin).unwrap().verifier().to_string();
    let (report, code) = verify_with(&data, &["--key", &other]);
    assert_eq!(code, 1, "{report}");
    let problems = report["checkpoints"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), checkpoints.len());
    for (problem, (revision, position, _)) in problems.iter().zip(&checkpoints) {
        assert_eq!((&problem["revision"], &problem["position"]), (&json!(revision), &json!(position)));
        assert_eq!(problem["kind"], "not-verified");
    }
}

#[tokio::test]
async fn bad_keys_and_state_files_are_refused_naming_what_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    signed_log(&data).await;
    let refused = |args: &[&str], says: &str| {
        let out = chibo(&[&["verify", "--data", arg(&data)], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr:?} should say {says:?}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    };
    refused(&["--key", "not-a-key"], "--key \"not-a-key\" is neither a verifier key nor a readable file");
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "chibo.localhost/log+00000000+AAAA\n").unwrap();
    refused(&["--key", arg(&garbage)], "does not hold a verifier key");
    let state = dir.path().join("state");
    std::fs::write(&state, "not a checkpoint\n").unwrap();
    refused(&["--state", arg(&state)], "does not hold a checkpoint signed by the key");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "not a checkpoint\n", "a bad state file is left alone");
    std::fs::write(data.join("keys/checkpoint.pub"), "garbage\n").unwrap();
    refused(&[], "checkpoint.pub does not hold a checkpoint verifier key");
    std::fs::remove_file(data.join("keys/checkpoint.pub")).unwrap();
    refused(&["--state", arg(&state)], "pass --key");
    let out = chibo(&["verify", "--data", arg(&dir.path().join("nowhere")), "--state", arg(&state)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no chibo data there"), "{out:?}");
}

#[tokio::test]
async fn a_truncated_tail_is_a_rollback_against_the_state_from_before() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    signed_log(&data).await;
    let state = dir.path().join("accepted.note");
    let (report, code) = verify_with(&data, &["--state", arg(&state)]);
    assert_eq!((code, &report["state"]["written"]), (0, &json!(true)), "{report}");
    let accepted = std::fs::read(&state).unwrap();
    let (_, _, latest) = recorded_checkpoints(&data).last().unwrap().clone();

    // The last events deleted, checkpoint events with them: every chain still ends cleanly and
    // every checkpoint left still holds.
    let kept = latest.size - 3;
    tamper(&data).execute("DELETE FROM events WHERE position >= ?1", [kept as i64]).unwrap();
    let remaining = recorded_checkpoints(&data);
    let (revision, position, last_left) = remaining.last().unwrap().clone();
    assert!(last_left.size < latest.size);
    let (report, code) = verify(&data);
    assert_eq!(code, 0, "without the state the truncation does not show: {report}");

    let (report, code) = verify_with(&data, &["--state", arg(&state)]);
    assert_eq!((code, &report["intact"]), (1, &json!(false)), "{report}");
    let problems = state_problems(&report);
    assert_eq!(problems.len(), 2, "{report}");
    let (kind, shorter) = &problems[0];
    assert_eq!(kind, "rollback");
    assert_eq!((&shorter["log_size"], &shorter["accepted_size"]), (&json!(kept), &json!(latest.size)));
    assert!(shorter["problem"]
        .as_str()
        .unwrap()
        .contains(&format!("positions {kept} to {} are gone", latest.size - 1)));
    let (kind, smaller) = &problems[1];
    assert_eq!(kind, "rollback");
    assert_eq!((&smaller["revision"], &smaller["position"]), (&json!(revision), &json!(position)));
    assert_eq!(smaller["size"], last_left.size);
    assert_eq!(report["state"]["written"], false);
    assert_eq!(std::fs::read(&state).unwrap(), accepted, "the state file is left exactly as it was");
    let text = chibo(&["verify", "--data", arg(&data), "--state", arg(&state)]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("BROKEN: 2 problem(s)"), "{text}");
    assert!(text.contains("rollback: the log holds"), "{text}");
}

#[tokio::test]
async fn a_dropped_stream_is_found_by_every_checkpoint_covering_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    signed_log(&data).await;
    let checkpoints = recorded_checkpoints(&data);
    // An inspector accepted the first checkpoint earlier.
    let state = dir.path().join("accepted.note");
    std::fs::write(&state, &recorded_notes(&data)[0].3).unwrap();
    let conn = tamper(&data);
    let first: i64 =
        conn.query_row("SELECT MIN(position) FROM events WHERE stream = 'cell-b'", [], |r| r.get(0)).unwrap();
    let dropped = conn.execute("DELETE FROM events WHERE stream = 'cell-b'", []).unwrap();
    assert_eq!(dropped, 1 + 2 * PER_CELL);

    let (report, code) = verify(&data);
    assert_eq!((code, &report["intact"]), (1, &json!(false)), "{report}");
    // The chains cannot see a stream that is gone; the global order shows holes, and the
    // checkpoints name the signed trees this log no longer is.
    assert!(report["breaks"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(report["gaps"][0]["expected"], first, "{report}");
    let problems = report["checkpoints"]["problems"].as_array().unwrap();
    let covering: Vec<_> = checkpoints.iter().filter(|(_, _, cp)| cp.size > first as u64).collect();
    assert!(!covering.is_empty());
    assert_eq!(problems.len(), covering.len(), "{report}");
    for (problem, (revision, position, cp)) in problems.iter().zip(covering) {
        assert_eq!(problem["stream"], "$checkpoints");
        assert_eq!((&problem["revision"], &problem["position"]), (&json!(revision), &json!(position)), "{problem}");
        assert_eq!(problem["size"], cp.size);
        let kind = problem["kind"].as_str().unwrap();
        assert!(kind == "root-mismatch" || kind == "beyond-log", "{problem}");
    }
    // The latest checkpoint is newer than the one accepted, but nothing is accepted from a log
    // that does not verify.
    let (report, code) = verify_with(&data, &["--state", arg(&state)]);
    assert_eq!((code, &report["state"]["written"]), (1, &json!(false)), "{report}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), recorded_notes(&data)[0].3, "left exactly as it was");
}

/// A stored row, as the forger reads it.
struct Row {
    position: i64,
    stream: String,
    envelope: Vec<u8>,
    payload: Vec<u8>,
    salt: Vec<u8>,
}

#[tokio::test]
async fn a_history_rewritten_and_re_signed_with_the_servers_key_is_a_fork_against_the_state_from_before() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    signed_log(&data).await;
    let state = dir.path().join("accepted.note");
    assert_eq!(verify_with(&data, &["--state", arg(&state)]).1, 0);
    let accepted_note = std::fs::read(&state).unwrap();
    let key = NoteVerifier::parse(std::fs::read_to_string(data.join("keys/checkpoint.pub")).unwrap().trim()).unwrap();
    let accepted = checkpoint::open(std::str::from_utf8(&accepted_note).unwrap(), &key).unwrap();

    // The forger holds the server's key file. They rewrite one study-points event, then every
    // event after it in its stream (prev_hash), and re-sign every checkpoint whose tree holds it
    // (so $checkpoints' own chain is rewritten too), walking the log in order.
    let signer =
        NoteSigner::from_private_key(std::fs::read_to_string(data.join("keys/checkpoint.key")).unwrap().trim())
            .unwrap();
    let conn = tamper(&data);
    let target = position_of(&conn, "cell-b", points_revision(1)) as u64;
    let rows: Vec<Row> = {
        let mut stmt =
            conn.prepare("SELECT position, stream, envelope, payload, salt FROM events ORDER BY position").unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(Row {
                    position: r.get(0)?,
                    stream: r.get(1)?,
                    envelope: r.get(2)?,
                    payload: r.get(3)?,
                    salt: r.get(4)?,
                })
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    };
    let mut heads: HashMap<String, Vec<u8>> = HashMap::new();
    let mut tree = MemoryTree::new();
    let mut rewritten = Vec::new();
    for Row { position, stream, envelope, payload, salt } in rows {
        let mut envelope: pb::EventEnvelope = prost::Message::decode(envelope.as_slice()).unwrap();
        let mut payload = payload;
        if position as u64 == target {
            payload = prost::Message::encode_to_vec(&pb::StudyPointsEarned {
                member_id: member("b", 1),
                points: 150,
                date: "2026-01-05".into(),
                activity: "Nghị quyết 21-NQ/TW".into(),
                source_ref: Default::default(),
            });
        }
        if stream == "$checkpoints" {
            let signed: pb::CheckpointSigned = prost::Message::decode(payload.as_slice()).unwrap();
            let cp = checkpoint::open(&signed.note, &key).unwrap();
            if cp.size > target {
                let root = merkle::root(&tree, cp.size).unwrap();
                let note = checkpoint::sign(&signer, &Checkpoint::new(cp.origin.clone(), cp.size, root)).unwrap();
                payload = prost::Message::encode_to_vec(&pb::CheckpointSigned { note });
                rewritten.push((envelope.revision, position as u64, cp.size));
            }
        }
        envelope.payload_digest = chibo_integrity::payload_digest(&salt.try_into().unwrap(), &payload).to_vec();
        envelope.prev_hash = heads.get(&stream).cloned().unwrap_or_else(|| chibo_integrity::genesis(&stream).to_vec());
        let envelope = prost::Message::encode_to_vec(&envelope);
        let hash = chibo_integrity::event_hash(&envelope);
        conn.execute(
            "UPDATE events SET envelope = ?1, payload = ?2, hash = ?3 WHERE position = ?4",
            params![envelope, payload, hash.to_vec(), position],
        )
        .unwrap();
        heads.insert(stream, hash.to_vec());
        tree.push(&hash);
    }
    assert!(rewritten.iter().any(|(_, _, size)| *size == accepted.size), "the accepted checkpoint was re-signed");

    // The forgery is consistent: every chain and every checkpoint verifies.
    let (report, code) = verify(&data);
    assert_eq!(code, 0, "a consistent forgery passes without the state: {report}");
    // Against the checkpoint accepted before the rewrite, it is a fork, at the accepted size, and
    // the re-signed checkpoint of that size is named.
    let (report, code) = verify_with(&data, &["--state", arg(&state)]);
    assert_eq!((code, &report["intact"]), (1, &json!(false)), "{report}");
    let problems = state_problems(&report);
    assert!(problems.iter().all(|(kind, _)| kind == "fork"), "{report}");
    let (_, fork) = &problems[0];
    assert_eq!(fork["accepted_size"], accepted.size);
    assert!(fork["problem"]
        .as_str()
        .unwrap()
        .contains(&format!("the history of its first {} events was rewritten", accepted.size)));
    let (revision, position, _) = rewritten.iter().find(|(_, _, size)| *size == accepted.size).unwrap();
    assert!(
        problems.iter().any(|(_, p)| p["revision"] == *revision && p["position"] == *position),
        "the re-signed checkpoint of the accepted size is named: {report}"
    );
    assert_eq!(std::fs::read(&state).unwrap(), accepted_note, "the state file is left exactly as it was");
}

#[tokio::test]
async fn an_older_copy_of_the_directory_is_a_rollback_against_the_state_of_the_newer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    signed_log(&data).await;
    let old = dir.path().join("old");
    copy_tree(&data, &old);

    // The log goes on, and the inspector accepts its newer checkpoint.
    let server = Server::start_with(&data, &SIGNED);
    let mut client = server.writer().await;
    for (n, id) in CELLS.iter().enumerate() {
        let request = chibo_proto::v1::SubmitRequest {
            stream: format!("cell-{id}"),
            expected_revision: None,
            event: Some(points(&member(id, n), 20)),
        };
        client.submit(request).await.unwrap();
    }
    signed_up_to(&server, size_to_sign(&read_all(&mut server.client().await).await)).await;
    server.stop().await;
    let state = dir.path().join("accepted.note");
    let (report, code) = verify_with(&data, &["--state", arg(&state)]);
    assert_eq!((code, &report["state"]["written"]), (0, &json!(true)), "{report}");
    let accepted = std::fs::read(&state).unwrap();
    let accepted_size = report["checkpoints"]["latest"]["size"].as_u64().unwrap();

    // The old copy verifies on its own, but not against what the inspector accepted.
    assert_eq!(verify(&old).1, 0);
    let (old_latest_revision, old_latest_position, old_latest) = recorded_checkpoints(&old).last().unwrap().clone();
    let (report, code) = verify_with(&old, &["--state", arg(&state)]);
    assert_eq!((code, &report["intact"]), (1, &json!(false)), "{report}");
    let problems = state_problems(&report);
    assert!(problems.iter().all(|(kind, _)| kind == "rollback"), "{report}");
    let shorter = problems.iter().find(|(_, p)| p.get("log_size").is_some()).expect("the log is shorter");
    assert_eq!((&shorter.1["log_size"], &shorter.1["accepted_size"]), (&report["events"], &json!(accepted_size)));
    let smaller = problems.iter().find(|(_, p)| p.get("revision").is_some()).expect("its checkpoint is smaller");
    assert_eq!(
        (&smaller.1["revision"], &smaller.1["position"], &smaller.1["size"]),
        (&json!(old_latest_revision), &json!(old_latest_position), &json!(old_latest.size))
    );
    assert_eq!(std::fs::read(&state).unwrap(), accepted, "the state file is left exactly as it was");
}
