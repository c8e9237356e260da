//! Standings and evaluations end to end: a small cell whose figures are worked out by hand,
//! asked over gRPC and through `chibo standings`; and the demo province evaluated twice, after a
//! restart from the snapshot, and after every projection state is deleted, always to the same
//! report bytes and digest.

use chibo_proto::v1::{
    self as pb, evaluation_client::EvaluationClient, ledger_client::LedgerClient, standings_client::StandingsClient,
};
use pb::event::Kind;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::harness::{cell, chibo, Conn, Fixture, Server, PROVINCE};
use crate::rules::{attendance, ev, held, meeting, points, retracted, spoke};

async fn submit(client: &mut LedgerClient<Conn>, stream: &str, kinds: Vec<Kind>) -> Vec<pb::EventSubmission> {
    let events: Vec<_> = kinds.into_iter().map(ev).collect();
    let request = pb::SubmitBatchRequest { stream: stream.into(), expected_revision: None, events: events.clone() };
    client.submit_batch(request).await.unwrap_or_else(|e| panic!("{stream} accepts the batch: {e:?}"));
    events
}

fn json(response: pb::StandingResponse) -> Value {
    serde_json::from_str(&response.json).expect("a standing is JSON")
}

/// `chibo standings …` against `server`; its stdout, after checking it succeeded.
fn standings_cli(server: &Server, args: &[&str]) -> String {
    let mut all = vec!["standings", "--server", &server.url];
    all.extend_from_slice(args);
    let out = chibo(&all);
    assert!(out.status.success(), "chibo {all:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Cell `a` under the fixture's province, members an, binh and cuong since 2024-01-01; in 2026:
///
/// - study points: an 80 on 5 January and 50 on 6 January (the 50 later retracted), binh 30
///   on 10 February;
/// - one regular meeting on 3 February: an and binh present, cuong absent without a reason;
///   an speaks.
///
/// By hand, for 2026: an has 80 points, all in January, attended 1 of 1 meeting and spoke once;
/// cuong was expected at 1 meeting and missed it unexcused; the cell held 1 regular meeting (in
/// February) with 2 of 3 present (666 ‰); the committee's member leaderboard is an (80), then
/// binh (30).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standings_answer_the_same_over_grpc_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    Fixture::record(&server, &[cell("a", ["an", "binh", "cuong"])]).await;
    let mut client = server.writer().await;
    let recorded = submit(
        &mut client,
        "cell-a",
        vec![points("an", 80, "2026-01-05"), points("an", 50, "2026-01-06"), points("binh", 30, "2026-02-10")],
    )
    .await;
    let mut february = meeting("sh-2026-02", pb::MeetingKind::Regular, "2026-02-03", &["an", "binh"]);
    february.attendance.push(attendance("cuong", pb::AttendanceStatus::Unexcused));
    february.guests.clear();
    submit(&mut client, "cell-a", vec![held(february), spoke("sh-2026-02", "an")]).await;
    submit(&mut client, "cell-a", vec![retracted(&recorded[1].event_id)]).await;

    let mut standings = StandingsClient::new(server.channel().await);
    let member = |id: &str| pb::MemberStandingRequest { member_id: id.into(), year: 2026 };
    let an = standings.member_standing(member("an")).await.unwrap().into_inner();
    let an_json = an.json.clone();
    let an = json(an);
    assert_eq!(an["points_by_month"][0], 80, "the retracted 50 is not counted: {an}");
    assert_eq!(an["points_year"], 80);
    assert_eq!((an["meetings_present"].clone(), an["meetings_expected"].clone()), (1.into(), 1.into()));
    assert_eq!(an["times_spoke"], 1);
    let cuong = json(standings.member_standing(member("cuong")).await.unwrap().into_inner());
    assert_eq!((cuong["unexcused"].clone(), cuong["meetings_present"].clone()), (1.into(), 0.into()), "{cuong}");

    let a = json(
        standings
            .cell_standing(pb::CellStandingRequest { cell_id: "a".into(), year: 2026 })
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(a["members"], 3, "{a}");
    assert_eq!(a["regular_by_month"], serde_json::json!([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert_eq!((a["attendance_present"].clone(), a["attendance_expected"].clone()), (2.into(), 3.into()));
    assert_eq!(a["attendance_permille"], 666);

    let request = pb::CommitteeStandingRequest { org_id: PROVINCE.into(), year: 2026, top: 2 };
    let committee = json(standings.committee_standing(request).await.unwrap().into_inner());
    let leaders: Vec<(String, u64)> = committee["member_leaderboard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_str().unwrap().to_owned(), l["value"].as_u64().unwrap()))
        .collect();
    assert_eq!(leaders, [("an".to_owned(), 80), ("binh".to_owned(), 30)], "{committee}");
    assert_eq!(committee["cells"], 1);

    // The CLI asks the same service: --json prints its document as is; the table shows it.
    assert_eq!(standings_cli(&server, &["member", "an", "--year", "2026", "--json"]).trim_end(), an_json);
    let table = standings_cli(&server, &["member", "an", "--year", "2026"]);
    assert!(table.contains("year / cumulative 80 / 80") && table.contains("meetings attended   1 of 1"), "{table}");
    let table = standings_cli(&server, &["committee", PROVINCE, "--year", "2026", "--top", "2"]);
    assert!(table.contains("1. ") && table.contains("80"), "{table}");

    // A reader that stops reading (`chibo standings … | head -1`) ends the command quietly.
    let mut child = std::process::Command::new(crate::harness::CHIBO)
        .args(["standings", "--server", &server.url, "cell", "a", "--year", "2026"])
        .env("CHIBO_TOKEN", crate::harness::admin_token())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let closed = child.wait_with_output().unwrap();
    assert!(closed.status.success(), "a closed stdout is no failure: {closed:?}");
    assert!(closed.stderr.is_empty(), "and no panic: {}", String::from_utf8_lossy(&closed.stderr));

    // Questions that cannot be answered say which field and why.
    let status = standings.member_standing(member("nobody")).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("nobody"), "{status:?}");
    let status = standings.cell_standing(pb::CellStandingRequest { cell_id: "a".into(), year: 0 }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("year:"), "{status:?}");
    let status = standings.member_standing(pb::MemberStandingRequest { member_id: "Bad Id".into(), year: 2026 }).await;
    assert!(status.unwrap_err().message().starts_with("member_id:"));
    let out = chibo(&["standings", "--server", &server.url, "cell", "nowhere", "--year", "2026"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NotFound"), "{out:?}");
}

/// One evaluation, checked against its own digest.
struct Evaluated {
    report: Vec<u8>,
    digest: Vec<u8>,
    log_size: u64,
}

async fn evaluate(
    server: &Server,
    org: &str,
    year: u32,
    rule_set: (&str, u32),
    log_size: Option<u64>,
) -> Result<Evaluated, tonic::Status> {
    let mut client = EvaluationClient::new(server.channel().await);
    let rule_set = Some(pb::RuleSetRef { name: rule_set.0.into(), version: rule_set.1 });
    let request = pb::EvaluateRequest { org_id: org.into(), year, rule_set, log_size };
    let response = client.evaluate(request).await?.into_inner();
    let recomputed = Sha256::new().chain_update(b"chibo:evaluation:v1\0").chain_update(&response.report).finalize();
    assert_eq!(response.digest, recomputed.to_vec(), "the digest is SHA-256 of the tag and the report");
    Ok(Evaluated { report: response.report, digest: response.digest, log_size: response.log_size })
}

const RULE_SETS: [(&str, u32); 2] = [("vn-qd366-2025", 1), ("vn-qd124-2023", 1)];
const DEMO_PROVINCE: &str = "tinh-thai-binh";

/// The demo province under both rule sets, over the first `log_size` events.
async fn evaluate_both(server: &Server, log_size: u64) -> Vec<Evaluated> {
    let mut all = Vec::new();
    for rule_set in RULE_SETS {
        all.push(evaluate(server, DEMO_PROVINCE, 2025, rule_set, Some(log_size)).await.unwrap());
    }
    all
}

fn same(a: &[Evaluated], b: &[Evaluated], when: &str) {
    for (x, y) in a.iter().zip(b) {
        assert!(x.report == y.report, "{when}: the same report bytes");
        assert_eq!((&x.digest, x.log_size), (&y.digest, y.log_size), "{when}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluating_the_demo_province_gives_the_same_digest_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    let out = chibo(&["demo", "--server", &server.url, "--cells", "12", "--seed", "5", "--year", "2025"]);
    assert!(out.status.success(), "chibo demo: {}", String::from_utf8_lossy(&out.stderr));

    // Asked of the log as it stands, the evaluation covers all of it: every event after the
    // size it names is one of the server's own checkpoints, signed since.
    let now = evaluate(&server, DEMO_PROVINCE, 2025, RULE_SETS[0], None).await.unwrap();
    let log = crate::harness::read_all(&mut server.client().await).await;
    let covered = now.log_size as usize;
    assert!(covered <= log.len() && log[covered..].iter().all(crate::harness::is_checkpoint));
    assert!(log.len() > 10_000 && covered > log.len() - 10, "{covered} of {} events", log.len());

    // Asked again at that size, under each rule set: the same bytes.
    let first = evaluate_both(&server, now.log_size).await;
    assert!(first[0].report == now.report && first[0].digest == now.digest);
    assert_eq!((first[0].log_size, first[1].log_size), (now.log_size, now.log_size));
    assert_ne!(first[0].digest, first[1].digest, "another rule set, another report");
    let report: Value = serde_json::from_slice(&first[0].report).unwrap();
    assert_eq!(report["cells"].as_array().unwrap().len(), 12, "every cell of the province is classified");
    assert_eq!(report["rule_set"]["name"], "vn-qd366-2025");
    assert_eq!(report["log_size"], now.log_size, "the report names the log size it covers");
    same(&first, &evaluate_both(&server, now.log_size).await, "asked twice");

    // An earlier size is the province as it stood then: another report, naming that size.
    let half = evaluate(&server, DEMO_PROVINCE, 2025, RULE_SETS[0], Some(now.log_size / 2)).await.unwrap();
    assert_eq!(half.log_size, now.log_size / 2);
    assert_ne!(half.digest, now.digest);
    let again = evaluate(&server, DEMO_PROVINCE, 2025, RULE_SETS[0], Some(now.log_size / 2)).await.unwrap();
    assert!(again.report == half.report, "a replayed prefix gives the same bytes each time");

    // A size beyond the log is refused, naming the field.
    let beyond = Some(log.len() as u64 + 1_000);
    let status = evaluate(&server, DEMO_PROVINCE, 2025, RULE_SETS[0], beyond).await.err().unwrap();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().starts_with("log_size:"), "{status:?}");

    // The CLI writes the same bytes and prints the same digest.
    let file = dir.path().join("report.json");
    let size = now.log_size.to_string();
    let (file_arg, url) = (file.to_str().unwrap(), &server.url);
    let out =
        chibo(&["evaluate", DEMO_PROVINCE, "--year", "2025", "--server", url, "--log-size", &size, "--out", file_arg]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read(&file).unwrap(), first[0].report);
    let hex: String = first[0].digest.iter().map(|b| format!("{b:02x}")).collect();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&hex), "the CLI prints the digest");

    // Restarted: the state comes back from the snapshot written at shutdown.
    server.stop().await;
    server = Server::start(&data);
    assert!(data.join("projections/state.snapshot").is_file(), "shutdown wrote a snapshot");
    same(&first, &evaluate_both(&server, now.log_size).await, "after a restart from the snapshot");

    // Every projection state deleted: the state is rebuilt from the log alone.
    server.stop().await;
    std::fs::remove_dir_all(data.join("projections")).unwrap();
    server = Server::start(&data);
    same(&first, &evaluate_both(&server, now.log_size).await, "after a rebuild from zero");

    // What cannot be evaluated says which field and why.
    let status = evaluate(&server, DEMO_PROVINCE, 2025, ("no-such-rules", 1), None).await.err().unwrap();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = evaluate(&server, "nowhere", 2025, RULE_SETS[0], None).await.err().unwrap();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    server.stop().await;
}
