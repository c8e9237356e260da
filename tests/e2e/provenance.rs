//! The provenance of standings figures end to end: a small cell whose events include a
//! retraction and corrections, the events behind several figures worked out by hand and asked
//! for over gRPC and through `chibo standings … --why`; and questions that cannot be answered,
//! each refused naming its field.

use chibo_proto::v1::{self as pb, ledger_client::LedgerClient, standings_client::StandingsClient};
use pb::event::Kind;
use pb::provenance_request::Subject;
use serde_json::Value;
use tonic::Code;

use crate::harness::{cell, chibo, Conn, Fixture, Server};
use crate::rules::{attendance, commended, corrected, ev, held, meeting, points, retracted, spoke};

/// What a test event was recorded as.
struct Recorded {
    event_id: String,
    position: u64,
}

/// Submits `kinds` to `stream` in one batch; what each was recorded as.
async fn submit(client: &mut LedgerClient<Conn>, stream: &str, kinds: Vec<Kind>) -> Vec<Recorded> {
    let events: Vec<_> = kinds.into_iter().map(ev).collect();
    let request = pb::SubmitBatchRequest { stream: stream.into(), expected_revision: None, events };
    let receipts = client
        .submit_batch(request)
        .await
        .unwrap_or_else(|e| panic!("{stream} accepts the batch: {e:?}"))
        .into_inner()
        .receipts;
    receipts.into_iter().map(|r| Recorded { event_id: r.event_id, position: r.position }).collect()
}

/// A provenance request for a figure of 2026.
fn ask(subject: Subject, figure: &str, month: Option<u32>) -> pb::ProvenanceRequest {
    pb::ProvenanceRequest {
        subject: Some(subject),
        year: 2026,
        figure: figure.into(),
        month,
        quarter: None,
        meeting_id: String::new(),
        programme_id: String::new(),
    }
}

fn member(id: &str) -> Subject {
    Subject::MemberId(id.into())
}

/// The regular meeting of 3 February 2026: an and binh present, cuong as `cuong`.
fn february(cuong: pb::AttendanceStatus) -> pb::MeetingHeld {
    let mut m = meeting("sh-2026-02", pb::MeetingKind::Regular, "2026-02-03", &["an", "binh"]);
    m.attendance.push(attendance("cuong", cuong));
    m.guests.clear();
    m
}

/// One event of a provenance, as (position, counted, amount, out_of, its text).
fn rows(doc: &Value) -> Vec<(u64, bool, u64, u64, String)> {
    doc["events"]
        .as_array()
        .expect("a provenance lists events")
        .iter()
        .map(|e| {
            let text = if e["counted"] == true { &e["contribution"] } else { &e["reason"] };
            (
                e["position"].as_u64().unwrap(),
                e["counted"].as_bool().unwrap(),
                e["amount"].as_u64().unwrap(),
                e["out_of"].as_u64().unwrap(),
                text.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Cell `a` under the fixture's province, members an, binh and cuong since 2024-01-01; in 2026:
///
/// 1. study points: an 80 on 5 January, 50 on 6 January, 30 on 20 January; binh 30 on
///    10 February;
/// 2. the regular meeting of 3 February: an and binh present, cuong absent without a reason; an
///    speaks; binh is commended;
/// 3. an's 50 is retracted; an's 30 is corrected to 1 February; the meeting is corrected:
///    cuong was excused.
///
/// By hand: an's January is 80 (the 50 retracted, the 30 moved to February), February 30; cuong
/// missed no meeting without a reason, and was excused once; the cell's attendance is 2 of 3,
/// 666 ‰.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_behind_a_figure_over_grpc_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    Fixture::record(&server, &[cell("a", ["an", "binh", "cuong"])]).await;
    let mut client = server.writer().await;
    let points_recorded = submit(
        &mut client,
        "cell-a",
        vec![
            points("an", 80, "2026-01-05"),
            points("an", 50, "2026-01-06"),
            points("an", 30, "2026-01-20"),
            points("binh", 30, "2026-02-10"),
        ],
    )
    .await;
    let meeting_recorded = submit(
        &mut client,
        "cell-a",
        vec![
            held(february(pb::AttendanceStatus::Unexcused)),
            spoke("sh-2026-02", "an"),
            commended("sh-2026-02", "binh"),
        ],
    )
    .await;
    let [p80, p50, p30, _] = &points_recorded[..] else { unreachable!() };
    let held_at = &meeting_recorded[0];
    let fixes = submit(
        &mut client,
        "cell-a",
        vec![
            retracted(&p50.event_id),
            corrected(&p30.event_id, points("an", 30, "2026-02-01")),
            corrected(&held_at.event_id, held(february(pb::AttendanceStatus::Excused))),
        ],
    )
    .await;
    let [retraction, moved, excused] = &fixes[..] else { unreachable!() };

    let mut standings = StandingsClient::new(server.channel().await);
    let an: Value = {
        let request = pb::MemberStandingRequest { member_id: "an".into(), year: 2026 };
        serde_json::from_str(&standings.member_standing(request).await.unwrap().into_inner().json).unwrap()
    };
    let provenance = |request| {
        let mut standings = standings.clone();
        async move {
            let response = standings.provenance(request).await.unwrap_or_else(|e| panic!("{e:?}")).into_inner();
            let doc: Value = serde_json::from_str(&response.json).expect("a provenance is JSON");
            (doc, response.json)
        }
    };

    // an's January: the 80 counts; the retracted 50, its retraction, and the 30 moved to
    // February are listed, each with why it does not count.
    let (january, january_json) = provenance(ask(member("an"), "points_by_month", Some(1))).await;
    assert_eq!(january["value"], 80, "{january:#}");
    assert_eq!(january["value"], an["points_by_month"][0], "the value is the standing's");
    assert_eq!((january["rule"].as_str(), january["counted"].as_u64()), (Some("sum"), Some(80)));
    assert_eq!((january["member_id"].as_str(), january["cell_id"].as_str()), (Some("an"), Some("a")));
    assert_eq!(
        rows(&january),
        [
            (p80.position, true, 80, 0, "+80 points on 2026-01-05".to_owned()),
            (
                p50.position,
                false,
                0,
                0,
                format!("50 points for an on 2026-01-06: retracted by the event at position {}", retraction.position)
            ),
            (
                p30.position,
                false,
                0,
                0,
                format!("30 points for an on 2026-01-20: replaced by the correction at position {}", moved.position)
            ),
            (retraction.position, false, 0, 0, format!("withdraws the event at position {}: Nhập nhầm", p50.position)),
            (
                moved.position,
                false,
                0,
                0,
                "30 points for an on 2026-02-01: as corrected, it no longer counts toward points_by_month".to_owned()
            ),
        ]
    );
    let first = &january["events"][0];
    assert_eq!(first["event_id"], p80.event_id.as_str());
    assert_eq!((first["stream"].as_str(), first["event_type"].as_str()), (Some("cell-a"), Some("StudyPointsEarned")));
    assert_eq!(first["occurred_at"], "2026-03-01T01:00:00Z", "the time the event says it happened");
    let retraction_row = &january["events"][3];
    assert_eq!(
        (retraction_row["event_type"].as_str(), retraction_row["event_id"].as_str()),
        (Some("EventRetracted"), Some(retraction.event_id.as_str()))
    );

    // February: the correction counts, in place of the original it replaced.
    let (february_points, _) = provenance(ask(member("an"), "points_by_month", Some(2))).await;
    assert_eq!(february_points["value"], an["points_by_month"][1]);
    assert_eq!(
        rows(&february_points),
        [
            (
                p30.position,
                false,
                0,
                0,
                format!("30 points for an on 2026-01-20: replaced by the correction at position {}", moved.position)
            ),
            (
                moved.position,
                true,
                30,
                0,
                format!(
                    "+30 points on 2026-02-01; as corrected by this event (the original is at position {})",
                    p30.position
                )
            ),
        ]
    );
    assert_eq!(february_points["events"][1]["event_type"], "EventCorrected");
    let (year, _) = provenance(ask(member("an"), "points_year", None)).await;
    assert_eq!((year["value"].as_u64(), an["points_year"].as_u64()), (Some(110), Some(110)));

    // cuong was first recorded absent without a reason, then corrected to excused.
    let (unexcused, _) = provenance(ask(member("cuong"), "unexcused", None)).await;
    assert_eq!(unexcused["value"], 0);
    assert_eq!(
        rows(&unexcused),
        [
            (
                held_at.position,
                false,
                0,
                0,
                format!("regular meeting sh-2026-02 on 2026-02-03: replaced by the correction at position {}", excused.position)
            ),
            (
                excused.position,
                false,
                0,
                0,
                format!(
                    "excused from meeting sh-2026-02 on 2026-02-03: ốm; as corrected by this event (the original is at position {})",
                    held_at.position
                )
            ),
        ]
    );
    let (excused_doc, _) = provenance(ask(member("cuong"), "excused", None)).await;
    assert_eq!((excused_doc["value"].as_u64(), excused_doc["events"][1]["counted"].as_bool()), (Some(1), Some(true)));

    // The cell's attendance rate: 2 present of the 3 on the corrected list.
    let (rate, _) = provenance(ask(Subject::CellId("a".into()), "attendance_permille", None)).await;
    assert_eq!(
        (rate["value"].as_u64(), rate["rule"].as_str(), rate["scale"].as_u64()),
        (Some(666), Some("ratio"), Some(1000))
    );
    let cell: Value = {
        let request = pb::CellStandingRequest { cell_id: "a".into(), year: 2026 };
        let response = standings.clone().cell_standing(request).await.unwrap().into_inner();
        serde_json::from_str(&response.json).unwrap()
    };
    assert_eq!(rate["value"], cell["attendance_permille"]);
    let counted: Vec<_> = rows(&rate).into_iter().filter(|r| r.1).map(|r| (r.0, r.2, r.3)).collect();
    assert_eq!(counted, [(excused.position, 2, 3)]);
    assert_eq!((rate["counted"].as_u64(), rate["out_of"].as_u64()), (Some(2), Some(3)));
    // The meeting's speakers: an, once.
    let mut speakers = ask(Subject::CellId("a".into()), "meetings.speakers", None);
    speakers.meeting_id = "sh-2026-02".into();
    let (speakers, _) = provenance(speakers).await;
    assert_eq!(
        rows(&speakers),
        [(meeting_recorded[1].position, true, 1, 0, "an spoke at meeting sh-2026-02 on 2026-02-03".to_owned())]
    );

    // The CLI asks the same service: --json prints the document as is; the table lists the
    // events and the total.
    let cli = |args: &[&str]| {
        let mut all = vec!["standings", "--server", &server.url];
        all.extend_from_slice(args);
        chibo(&all)
    };
    let out = cli(&["member", "an", "--year", "2026", "--why", "points_by_month", "--month", "1", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim_end(), january_json);
    let out = cli(&["member", "an", "--year", "2026", "--why", "points_by_month", "--month", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.starts_with("points_by_month of member an (cell a) in 2026, month 1: 80\n"), "{table}");
    let line =
        |position: u64| table.lines().find(|l| l.trim_start().starts_with(&format!("{position} "))).unwrap_or_default();
    assert!(
        line(p80.position).contains("StudyPointsEarned")
            && line(p80.position).ends_with("80  +80 points on 2026-01-05"),
        "{table}"
    );
    assert!(line(p50.position).contains("not counted: 50 points for an on 2026-01-06: retracted"), "{table}");
    assert!(line(retraction.position).contains("EventRetracted"), "{table}");
    assert!(table.contains("total 80 (the sum of what the counted events add)"), "{table}");
    let out = cli(&["cell", "a", "--year", "2026", "--why", "attendance_permille"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("total 2 of 3, × 1000 = 666"), "{table}");

    // Questions that cannot be answered say which field and why.
    let refused = |request: pb::ProvenanceRequest| {
        let mut standings = standings.clone();
        async move { standings.provenance(request).await.expect_err("refused") }
    };
    let invalid = Code::InvalidArgument;
    let cases: Vec<(pb::ProvenanceRequest, Code, &str)> = vec![
        (ask(member("an"), "points", None), invalid, "figure: \"points\" is not a figure"),
        (ask(member("an"), "", None), invalid, "figure: is missing"),
        (ask(member("an"), "points_by_month", None), invalid, "month: is missing"),
        (ask(member("an"), "points_by_month", Some(13)), invalid, "month: 13 is not a month"),
        (ask(member("an"), "points_year", Some(1)), invalid, "month: points_year takes no month"),
        (ask(member("an"), "attendance_permille", None), invalid, "figure:"),
        (ask(Subject::CellId("a".into()), "meetings.score", None), invalid, "meeting_id: is missing"),
        (ask(member("Bad Id"), "points_year", None), invalid, "member_id:"),
        (pb::ProvenanceRequest { subject: None, ..ask(member("an"), "points_year", None) }, invalid, "subject:"),
        (pb::ProvenanceRequest { year: 0, ..ask(member("an"), "points_year", None) }, invalid, "year:"),
        (ask(member("nobody"), "points_year", None), Code::NotFound, "member_id: no member nobody"),
        (ask(Subject::CellId("nowhere".into()), "regular_held", None), Code::NotFound, "cell_id: no cell nowhere"),
        (
            pb::ProvenanceRequest {
                meeting_id: "sh-none".into(),
                ..ask(Subject::CellId("a".into()), "meetings.score", None)
            },
            Code::NotFound,
            "meeting_id: cell-a has no meeting sh-none",
        ),
        (ask(Subject::CellId("a".into()), "programmes.latest_score", None), Code::NotFound, "programme_id:"),
    ];
    for (request, code, message) in cases {
        let what = format!("{request:?}");
        let status = refused(request).await;
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert!(status.message().starts_with(message), "{what}: {status:?}");
    }
    let out = cli(&["member", "an", "--year", "2026", "--why", "points"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("InvalidArgument: figure: \"points\" is not a figure"), "{said}");
    let out = cli(&["committee", "thaibinh", "--year", "2026", "--why", "points_year"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--why"), "{out:?}");
}
