//! The README's walkthrough, run as written: the example files in ops/examples/ go in through
//! `chibo submit`, come back through `chibo read`, and `chibo verify` passes. If the README's
//! commands or examples drift from the code, this fails. The admin registers the organizations
//! and reads; the cell's record book is written by its secretary, a recorder credential the admin
//! issues with `chibo keys issue`.

use std::path::Path;

use serde_json::Value;

use crate::harness::{chibo, chibo_as, verify, Server};

/// The secretary of the cell Tân Hoà, as the README issues their credential.
const SECRETARY: &str = "Bí thư chi bộ Tân Hoà";

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
    let submit_to = |stream: &str, file: &str| {
        lines(&chibo(&["submit", "--server", &server.url, "--stream", stream, &example(file)]))
    };
    // The organizations first, each parent before its children, each in its own stream.
    let organizations = [
        ("org-ca-mau", "1a-province.json"),
        ("org-dam-doi", "1b-district.json"),
        ("org-tan-tien", "1c-commune.json"),
        ("cell-tan-hoa", "1d-cell.json"),
    ];
    for (stream, file) in organizations {
        assert_eq!(submit_to(stream, file)[0]["revision"], 0, "{file}");
    }
    // The secretary's credential: the token alone on stdout.
    let issued = chibo(&[
        "keys",
        "issue",
        "--server",
        &server.url,
        "--id",
        "tan-hoa-secretary",
        "--principal",
        SECRETARY,
        "--role",
        "recorder",
        "--scope",
        "tan-hoa",
    ]);
    assert!(issued.status.success(), "{issued:?}");
    let writer = String::from_utf8(issued.stdout).unwrap().trim().to_owned();
    assert!(writer.starts_with("chibo_") && !writer.contains(char::is_whitespace), "{writer:?}");
    let write_to = |stream: &str, file: &str| {
        lines(&chibo_as(&writer, &["submit", "--server", &server.url, "--stream", stream, &example(file)]))
    };
    // Before its members are recorded, the meeting is refused as the README says.
    let early =
        chibo_as(&writer, &["submit", "--server", &server.url, "--stream", "cell-tan-hoa", &example("3-meeting.json")]);
    assert_eq!(early.status.code(), Some(2));
    let said = "chibo: the server refused: FailedPrecondition: event.event.meeting_held.attendance[0].member_id: \
                nguyen-van-an is not a member of cell-tan-hoa on 2026-01-05";
    assert!(String::from_utf8_lossy(&early.stderr).contains(said), "{early:?}");

    let submit = |file: &str| write_to("cell-tan-hoa", file);
    assert_eq!(submit("2-members.json").len(), 3);
    let meeting = submit("3-meeting.json");
    // The committees' three events and the cell's four come before it in the global order, and
    // two credentials: the first admin's, recorded on the first start, and the secretary's,
    // issued before the members were submitted.
    assert_eq!(
        (meeting[0]["revision"].as_u64(), meeting[0]["position"].as_u64(), meeting[0]["duplicate"].as_bool()),
        (Some(4), Some(9), Some(false))
    );
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
    let refused =
        chibo_as(&writer, &["submit", "--server", &server.url, "--stream", "org-tan-hoa", &example("3-meeting.json")]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stream: MeetingHeld belongs in"), "{refused:?}");

    server.stop().await;
    // The committees' three streams, the cell's, and $credentials.
    let (report, code) = verify(dir.path());
    assert_eq!((code, report["events"].as_u64(), report["streams"].as_u64()), (0, Some(10), Some(5)), "{report}");
    let text = chibo(&["verify", "--data", dir.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("ok: 10 events in 5 streams"), "{text}");
    // The organizations and the secretary's credential by the admin, the cell's book by its
    // secretary, the admin's own credential by the server.
    assert!(text.contains(&format!("recorded by: {SECRETARY} 4, admin 5, chibo-server 1")), "{text}");
}
