//! The inspector's path end to end, on a real server and real bundles: a demo province's cell
//! exported for one year and verified offline by `chibo audit verify`; the bundle file altered in
//! each way the tamper suite lists; then the data directory altered underneath the server (a
//! payload byte flipped, an old backup restored, a different history written over it) and each
//! fresh export refused against the state saved from the first run, which stays as it was.

use std::path::{Path, PathBuf};

use chibo_integrity::bundle::Bundle;
use chibo_integrity::Envelope;
use chibo_proto::v1::{self as pb, event::Kind};
use serde_json::Value;

use crate::harness::{chibo, copy_tree, points_on, read_all, Server};

/// The inspector's files: the key they pinned, their state, and the bundles they received.
struct Inspector {
    dir: PathBuf,
    key: PathBuf,
}

impl Inspector {
    fn state(&self) -> PathBuf {
        self.dir.join("inspector.state")
    }

    /// `chibo audit export ORG --year 2025 --state STATE --out NAME`.
    fn export(&self, server: &Server, org: &str, name: &str) -> PathBuf {
        let out = self.dir.join(name);
        let (out_arg, state) = (out.to_str().unwrap(), self.state());
        let args = ["audit", "export", org, "--year", "2025", "--server", &server.url, "--out", out_arg];
        let done = chibo(&[&args[..], &["--state", state.to_str().unwrap()]].concat());
        assert!(done.status.success(), "chibo audit export: {}", String::from_utf8_lossy(&done.stderr));
        out
    }

    /// `chibo audit verify FILE --key KEY --state STATE --json`: the report and the exit code.
    fn verify(&self, bundle: &Path) -> (Value, i32) {
        let (key, state) = (self.key.to_str().unwrap(), self.state());
        let out = chibo(&[
            "audit",
            "verify",
            bundle.to_str().unwrap(),
            "--key",
            key,
            "--state",
            state.to_str().unwrap(),
            "--json",
        ]);
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("audit verify prints JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        (report, out.status.code().unwrap_or(-1))
    }

    /// Verifies `bundle`, expecting a refusal whose first problem's place and text contain
    /// `at` and `says`; the state file must not change.
    fn refuses(&self, bundle: &Path, at: &str, says: &str) {
        let before = std::fs::read(self.state()).unwrap();
        let (report, code) = self.verify(bundle);
        assert_eq!((code, &report["verified"]), (1, &Value::Bool(false)), "{report:#}");
        let problems = report["problems"].as_array().unwrap();
        let hit = problems.iter().find(|p| p["at"].as_str().is_some_and(|a| a.contains(at)));
        let hit = hit.unwrap_or_else(|| panic!("no problem at {at:?}: {report:#}"));
        assert!(hit.to_string().contains(says), "{hit} should say {says:?}");
        assert_eq!(report["state"]["written"], false);
        assert_eq!(std::fs::read(self.state()).unwrap(), before, "the state is left as it was after a failure");
    }
}

fn read_bundle(path: &Path) -> Bundle {
    serde_json::from_slice(&std::fs::read(path).unwrap()).expect("an exported bundle parses")
}

fn write_bundle(dir: &Path, name: &str, bundle: &Bundle) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(bundle).unwrap()).unwrap();
    path
}

/// A byte of base64 data flipped.
fn flipped(text: &str) -> String {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let mut bytes = STANDARD.decode(text).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    STANDARD.encode(bytes)
}

/// A demo cell's stream and a member in it from start to end.
async fn a_cell_and_member(server: &Server) -> (String, String) {
    let log = read_all(&mut server.client().await).await;
    let mut joined: Vec<(String, String)> = Vec::new();
    let mut left = Vec::new();
    for event in &log {
        let envelope = Envelope::decode(&event.envelope).unwrap();
        let stream = envelope.stream.to_string();
        match chibo_proto::convert::decode_payload(&envelope.event_type, &event.payload).map(|e| e.kind) {
            Ok(Some(Kind::MemberJoined(m))) => joined.push((stream, m.member_id)),
            Ok(Some(Kind::MemberLeft(m))) => left.push(m.member_id),
            _ => {}
        }
    }
    joined.into_iter().find(|(_, member)| !left.contains(member)).expect("a demo member who stayed")
}

/// `count` study-points events for `member` in `stream`, `points` each, on the last day of 2025.
async fn earn(server: &Server, stream: &str, member: &str, count: usize, points: u32) {
    let events = (0..count).map(|_| points_on(member, points, "2025-12-31")).collect();
    let request = pb::SubmitBatchRequest { stream: stream.into(), expected_revision: None, events };
    server.writer().await.submit_batch(request).await.expect("the points are accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_year_verifies_offline_and_no_altered_log_passes_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let out = chibo(&["demo", "--server", &server.url, "--cells", "3", "--seed", "2", "--year", "2025"]);
    assert!(out.status.success(), "chibo demo: {}", String::from_utf8_lossy(&out.stderr));
    let (stream, member) = a_cell_and_member(&server).await;
    let cell = stream.strip_prefix("cell-").expect("a member joins a cell").to_owned();

    // An old backup, taken with the server stopped.
    server.stop().await;
    let backup = dir.path().join("backup");
    copy_tree(&data, &backup);
    let server = Server::start(&data);
    earn(&server, &stream, &member, 10, 1).await;

    // The inspector pins the key (here, from the server's own file), exports the cell's 2025
    // and verifies it with no server: trust on first use writes the state.
    let inspector = Inspector { dir: dir.path().join("inspector"), key: dir.path().join("inspector/checkpoint.pub") };
    std::fs::create_dir_all(&inspector.dir).unwrap();
    std::fs::copy(data.join("keys/checkpoint.pub"), &inspector.key).unwrap();
    let first = inspector.export(&server, &cell, "first.json");
    let (report, code) = inspector.verify(&first);
    assert_eq!((code, &report["verified"]), (0, &Value::Bool(true)), "{report:#}");
    assert_eq!(report["state"]["written"], true);
    let streams = report["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0]["stream"], stream.as_str());
    assert!(streams[0]["in_period"].as_u64().unwrap() > 100, "a year of the cell's life: {report:#}");
    let accepted = read_bundle(&first);
    assert_eq!(std::fs::read_to_string(inspector.state()).unwrap(), accepted.checkpoint);

    // The bundle file altered in transit: each alteration refused at its place.
    let events = &accepted.streams[0].events;
    let first_revision = Envelope::decode(&{
        use base64::{engine::general_purpose::STANDARD, Engine};
        STANDARD.decode(&events[0].envelope).unwrap()
    })
    .unwrap()
    .revision;
    let at = |k: usize| format!("{stream} revision {}", first_revision + k as u64);
    let mut bundle = accepted.clone();
    bundle.streams[0].events[20].envelope = flipped(&events[20].envelope);
    inspector.refuses(&write_bundle(&inspector.dir, "envelope.json", &bundle), &at(20), "");
    let mut bundle = accepted.clone();
    let payload = events[30].payload.as_deref().unwrap();
    bundle.streams[0].events[30].payload = Some(flipped(payload));
    inspector.refuses(&write_bundle(&inspector.dir, "payload.json", &bundle), &at(30), "payload");
    let mut bundle = accepted.clone();
    bundle.streams[0].events.remove(40);
    inspector.refuses(&write_bundle(&inspector.dir, "deleted.json", &bundle), &at(40), "");
    let mut bundle = accepted.clone();
    bundle.streams[0].events.swap(50, 51);
    inspector.refuses(&write_bundle(&inspector.dir, "swapped.json", &bundle), &at(50), "");
    let mut bundle = accepted.clone();
    let kept = events.len() - 5;
    bundle.streams[0].events.truncate(kept);
    inspector.refuses(&write_bundle(&inspector.dir, "truncated.json", &bundle), &at(kept), "");
    let mut bundle = accepted.clone();
    bundle.streams.clear();
    inspector.refuses(&write_bundle(&inspector.dir, "dropped.json", &bundle), &format!("stream {stream}"), "manifest");

    // The data directory altered underneath the server: a payload byte flipped in the cell's
    // year. The fresh export carries it, and it is found at its place.
    server.stop().await;
    let flipped_revision = first_revision + 60;
    {
        let conn = rusqlite::Connection::open(data.join("chibo.db")).unwrap();
        conn.execute_batch("DROP TRIGGER events_no_update;").unwrap();
        let find = "SELECT payload FROM events WHERE stream = ?1 AND revision = ?2";
        let mut payload: Vec<u8> =
            conn.query_row(find, rusqlite::params![stream, flipped_revision as i64], |r| r.get(0)).unwrap();
        payload[0] ^= 0x01;
        let update = "UPDATE events SET payload = ?1 WHERE stream = ?2 AND revision = ?3";
        assert_eq!(conn.execute(update, rusqlite::params![payload, stream, flipped_revision as i64]).unwrap(), 1);
    }
    let server = Server::start(&data);
    let altered = inspector.export(&server, &cell, "altered.json");
    inspector.refuses(&altered, &format!("{stream} revision {flipped_revision}"), "payload");
    server.stop().await;

    // The old backup restored, signing state and all: its checkpoints are smaller than the one
    // accepted, a rollback.
    std::fs::remove_dir_all(&data).unwrap();
    copy_tree(&backup, &data);
    let server = Server::start(&data);
    let restored = inspector.export(&server, &cell, "restored.json");
    inspector.refuses(&restored, "state", "rollback");

    // Another history written over the backup, longer than the one accepted: the log no longer
    // extends what the inspector accepted, a fork.
    earn(&server, &stream, &member, 30, 2).await;
    let forked = inspector.export(&server, &cell, "forked.json");
    assert!(read_bundle(&forked).consistency.len() == 1, "the export carries the proof from the accepted size");
    inspector.refuses(&forked, "consistency", "fork");
    server.stop().await;
}
