//! The README's walkthrough, run as written: the example files in ops/examples/ go in through
//! `chibo submit`, come back through `chibo read`, and `chibo verify` passes. If the README's
//! commands or examples drift from the code, this fails.

use std::path::Path;

use serde_json::Value;

use crate::harness::{chibo, verify, Server};

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ops/examples").join(name).to_str().unwrap().to_owned()
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "chibo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let submit =
        |file: &str| lines(&chibo(&["submit", "--server", &server.url, "--stream", "cell-tan-hoa", &example(file)]));
    assert_eq!(submit("1-cell.json")[0]["revision"], 0);
    assert_eq!(submit("2-members.json").len(), 3);
    let meeting = submit("3-meeting.json");
    assert_eq!((meeting[0]["revision"].as_u64(), meeting[0]["duplicate"].as_bool()), (Some(4), Some(false)));
    // Running the walkthrough twice records nothing twice.
    assert_eq!(submit("3-meeting.json")[0]["duplicate"], true);

    let read = lines(&chibo(&["read", "--server", &server.url, "--stream", "cell-tan-hoa"]));
    assert_eq!(read.len(), 5);
    let held = &read[4];
    assert_eq!(held["eventType"], "MeetingHeld");
    assert_eq!(held["event"]["meetingHeld"]["attendance"][1]["reason"], "đi công tác");
    assert_eq!(held["occurredAt"], "2026-01-05T12:30:00+00:00");
    assert_eq!(held["prevHash"], read[3]["hash"], "each event names its predecessor's hash");

    let raw = lines(&chibo(&["read", "--server", &server.url, "--raw", "--limit", "2"]));
    assert_eq!(raw.len(), 2);
    assert!(raw[0]["envelope"].as_str().is_some_and(|b64| !b64.is_empty()));

    // A meeting for the wrong cell's stream is refused, naming the field.
    let refused = chibo(&["submit", "--server", &server.url, "--stream", "org-tan-hoa", &example("3-meeting.json")]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stream: MeetingHeld belongs in"), "{refused:?}");

    server.stop().await;
    let (report, code) = verify(dir.path());
    assert_eq!((code, report["events"].as_u64()), (0, Some(5)), "{report}");
}
