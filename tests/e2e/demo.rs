//! `chibo demo` against the real server: it builds a province whose log holds every kind of
//! event the demo writes and verifies; running it again writes nothing; another seed gives
//! another log, and the same seed on a fresh server the same events in the same order (the
//! server's own, among them the credential the demo issues itself afresh on each run, aside).

use std::{collections::BTreeSet, path::Path, process::Output};

use chibo_integrity::Envelope;
use chibo_proto::v1 as pb;

use crate::harness::{chibo, is_server_written, read_all, verify, Server};

fn demo(server: &Server, seed: &str) -> Output {
    let out = chibo(&["demo", "--server", &server.url, "--cells", "6", "--seed", seed]);
    assert!(out.status.success(), "chibo demo failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// What a run of the demo wrote, as the server reads it back: each event's type and payload,
/// in the global order. The server's own events are left out: the credentials (the demo issues
/// itself one with a random id on each run) and the checkpoints.
fn contents(log: &[pb::RecordedEvent]) -> Vec<(String, Vec<u8>)> {
    log.iter()
        .filter(|e| !is_server_written(e))
        .map(|e| (Envelope::decode(&e.envelope).unwrap().event_type, e.payload.clone()))
        .collect()
}

async fn build(dir: &Path, seed: &str) -> (Server, Vec<pb::RecordedEvent>, Output) {
    let server = Server::start(dir);
    let out = demo(&server, seed);
    let log = read_all(&mut server.client().await).await;
    (server, log, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_builds_a_province_once() {
    let dir = tempfile::tempdir().unwrap();
    let (server, log, out) = build(&dir.path().join("first"), "7").await;
    let written = contents(&log);
    let summary = String::from_utf8_lossy(&out.stdout).replace(',', "");
    assert!(summary.contains("6 cells") && summary.contains(&format!("{} new", written.len())), "{summary}");
    let kinds: BTreeSet<&str> = written.iter().map(|(kind, _)| kind.as_str()).collect();
    for kind in [
        "OrganizationRegistered",
        "MemberJoined",
        "MemberRoleAssigned",
        "ProgrammeLaunched",
        "CellRegistered",
        "CellSelected",
        "MeetingHeld",
        "MemberSpoke",
        "ResolutionAdopted",
        "TaskAssigned",
        "TaskCompleted",
        "MeetingScored",
        "StudyPointsEarned",
        "IndicatorsScored",
        "InspectionConducted",
        "CellCertified",
    ] {
        assert!(kinds.contains(kind), "the log has no {kind}: {kinds:?}");
    }
    assert_eq!(written[0].0, "OrganizationRegistered", "the province comes first");

    // Again: every event is answered as a duplicate and the log does not grow.
    let again = demo(&server, "7");
    assert!(String::from_utf8_lossy(&again.stdout).contains("(0 new,"), "{again:?}");
    assert!(read_all(&mut server.client().await).await == log, "a second run writes nothing");

    // Another seed, another province; the same seed on a fresh server, the same one.
    let (other, other_log, _) = build(&dir.path().join("other"), "8").await;
    assert_ne!(contents(&other_log), written);
    let (same, same_log, _) = build(&dir.path().join("same"), "7").await;
    assert!(contents(&same_log) == written, "the same seed writes the same events in the same order");

    for (server, name) in [(server, "first"), (other, "other"), (same, "same")] {
        server.stop().await;
        let (report, code) = verify(&dir.path().join(name));
        assert_eq!(code, 0, "{name}: {report}");
    }
}

#[test]
fn a_year_that_is_not_over_is_refused() {
    let out = chibo(&["demo", "--server", "http://127.0.0.1:1", "--year", "9999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not over"), "{out:?}");
}
