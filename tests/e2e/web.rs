//! The inspection dashboard against the real server.
//!
//! - Over plain HTTP: sign-in, sessions and their cookie, refusals (cross-site forms, other
//!   scopes, unknown ids, bad parameters), escaping of what members are called, revocation.
//! - In a real browser (Debian's headless Chromium through chromedriver): sign in, then click
//!   from the tree to a committee, a cell, a member and the member's audit trail, and on to the
//!   evaluation; every figure shown is compared with what the Standings and Evaluation services
//!   answer over gRPC; the trail verifies; a principal of another committee is refused. Each
//!   page is saved as a 1366×768 PNG in `target/screenshots/`, and in the directory
//!   `CHIBO_SCREENSHOTS` names (relative to the workspace root) when it is set, which is how
//!   `docs/screenshots/` is made: `CHIBO_SCREENSHOTS=docs/screenshots cargo test -p chibo --test
//!   e2e web::`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chibo_integrity::Envelope;
use chibo_proto::convert::decode_payload;
use chibo_proto::v1::{
    self as pb, evaluation_client::EvaluationClient, keys_client::KeysClient, standings_client::StandingsClient,
};
use serde_json::Value;

use crate::browser::{ensure_chromium, http, Browser, Response};
use crate::harness::{cell, chibo, event_id, read_all, size_to_sign, Fixture, Server};

/// Issues a credential as the admin; its token.
async fn issue(server: &Server, id: &str, role: pb::Role, scope: &str) -> String {
    let mut keys = KeysClient::new(server.channel().await);
    let request = pb::IssueRequest {
        credential_id: id.into(),
        principal: format!("Tổ kiểm tra {id}"),
        role: role.into(),
        scope_org_id: scope.into(),
        member_id: String::new(),
        certificate: Vec::new(),
    };
    keys.issue(request).await.expect("the admin issues credentials").into_inner().token
}

/// Signs in over HTTP; the session cookie (`name=value`).
fn sign_in(web: &str, token: &str) -> String {
    let origin = format!("http://{web}");
    let body = format!("token={token}");
    let answer = http(
        web,
        "POST",
        "/login",
        &[("Origin", &origin), ("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    );
    assert_eq!(answer.status, 303, "{answer:?}");
    let cookie = answer.header("set-cookie").expect("a session cookie");
    cookie.split(';').next().unwrap().to_owned()
}

fn get(web: &str, path: &str, cookie: &str) -> Response {
    http(web, "GET", path, &[("Cookie", cookie)], "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_signs_in_refuses_and_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let web = server.web.clone().expect("the harness serves the dashboard");
    Fixture::record(&server, &[cell("a", ["an"]), cell("b", ["binh"])]).await;
    // A member whose recorded name is markup.
    let mut writer = server.writer().await;
    let joined = pb::EventSubmission {
        event_id: event_id(),
        occurred_at: Some(pbjson_types::Timestamp { seconds: 1_704_070_800, nanos: 0 }),
        event: Some(pb::Event {
            kind: Some(pb::event::Kind::MemberJoined(pb::MemberJoined {
                member_id: "mallory".into(),
                name: "<script>alert('x')</script> Nguyễn".into(),
                date: "2024-01-01".into(),
                how: pb::MembershipChange::Admitted.into(),
                transfer_cell_id: String::new(),
            })),
        }),
    };
    writer
        .submit(pb::SubmitRequest { stream: "cell-a".into(), expected_revision: None, event: Some(joined) })
        .await
        .expect("the member joins");

    // Nobody signed in: every page leads to the sign-in form, which is in Vietnamese.
    let anonymous = http(&web, "GET", "/cell/a", &[], "");
    assert_eq!((anonymous.status, anonymous.header("location")), (303, Some("/login")));
    let form = http(&web, "GET", "/login", &[], "");
    assert!(form.body.contains("<html lang=\"vi\">") && form.body.contains("Đăng nhập"), "{}", form.body);
    let english = http(&web, "GET", "/login?lang=en", &[], "");
    assert!(english.body.contains("<html lang=\"en\">") && english.body.contains("Sign in"));
    assert_eq!(english.header("set-cookie"), Some("lang=en; Path=/; SameSite=Strict; Max-Age=31536000"));

    // Sign-in forms from another site, or from nowhere, are refused before the token is looked at.
    let token = issue(&server, "ubkt-a", pb::Role::Inspector, "a").await;
    let form_body = format!("token={token}");
    let kind = ("Content-Type", "application/x-www-form-urlencoded");
    let forged = http(&web, "POST", "/login", &[("Origin", "http://evil.example"), kind], &form_body);
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(forged.header("set-cookie").is_none());
    let bare = http(&web, "POST", "/login", &[kind], &form_body);
    assert_eq!(bare.status, 403);
    let origin = format!("http://{web}");
    let wrong = http(&web, "POST", "/login", &[("Origin", &origin), kind], "token=chibo_not-a-token");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("id=\"login-error\""));

    // A good token: a session cookie the browser keeps to itself and this server.
    let answer = http(&web, "POST", "/login", &[("Origin", &origin), kind], &form_body);
    assert_eq!((answer.status, answer.header("location")), (303, Some("/tree")));
    let set_cookie = answer.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains(&token), "the token is not the cookie");
    let session = set_cookie.split(';').next().unwrap().to_owned();
    assert_eq!(session.len(), "chibo_session=".len() + 64);

    // In scope: the cell's page, with the member's name as text, and the server's time.
    let page = get(&web, "/cell/a?year=2026", &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Nguyễn"), "the name is escaped");
    assert!(!page.body.contains("<script"), "no markup from the log reaches the page");
    let timing = page.header("server-timing").expect("a Server-Timing header");
    assert!(timing.starts_with("app;dur="), "{timing}");
    assert!(page.header("content-security-policy").is_some_and(|c| c.contains("default-src 'none'")));

    // A retraction is shown beside what it retracts, naming it.
    let earned = crate::harness::points("an", 5);
    let target = earned.event_id.clone();
    let retraction = pb::EventSubmission {
        event_id: event_id(),
        occurred_at: earned.occurred_at,
        event: Some(pb::Event {
            kind: Some(pb::event::Kind::EventRetracted(pb::EventRetracted {
                target_event_id: target.clone(),
                reason: "ghi nhầm".into(),
            })),
        }),
    };
    for event in [earned, retraction] {
        writer
            .submit(pb::SubmitRequest { stream: "cell-a".into(), expected_revision: None, event: Some(event) })
            .await
            .expect("the writer records");
    }
    let trail = get(&web, "/audit/cell/a", &session);
    assert_eq!(trail.status, 200, "{}", trail.body);
    let at_target = trail.body.find(&format!("data-event=\"{target}\"")).expect("the retracted event is shown");
    let rows: Vec<&str> = trail.body[at_target..].split("<tr").take(2).collect();
    assert!(
        rows[1].contains("class=\"correction\"") && rows[1].contains(&format!("data-corrects=\"{target}\"")),
        "the retraction follows its target: {rows:?}"
    );
    assert!(trail.body.contains("data-verification="), "{}", trail.body);

    // The tree shows the scope only.
    let tree = get(&web, "/tree", &session);
    assert!(tree.body.contains("data-org=\"a\"") && !tree.body.contains("data-org=\"b\""), "{}", tree.body);

    // Out of scope, unknown, malformed: refused, saying what.
    let other = get(&web, "/cell/b?year=2026", &session);
    assert_eq!(other.status, 403, "{}", other.body);
    assert!(other.body.contains("data-refusal=\"403\"") && other.body.contains("outside its scope"), "{}", other.body);
    assert_eq!(other.header("content-type"), Some("text/html; charset=utf-8"), "a refusal is a page");
    let unknown = get(&web, "/member/nobody", &session);
    assert!(matches!(unknown.status, 403 | 404), "{}", unknown.body);
    let committee = get(&web, "/committee/thaibinh", &session);
    assert_eq!(committee.status, 403);
    let bad_id = get(&web, "/cell/NOT%20AN%20ID", &session);
    assert_eq!(bad_id.status, 400);
    assert!(bad_id.body.contains("cell_id"), "{}", bad_id.body);
    let bad_year = get(&web, "/cell/a?year=abc", &session);
    assert_eq!(bad_year.status, 400);
    assert!(bad_year.body.contains("year:"), "{}", bad_year.body);
    let no_page = get(&web, "/nothing-here", &session);
    assert_eq!(no_page.status, 404);

    // As the admin: an unknown cell is named in the 404.
    let admin = sign_in(&web, crate::harness::admin_token());
    let missing = get(&web, "/cell/zz-missing", &admin);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.body.contains("zz-missing"), "{}", missing.body);

    // A member sees their own page, with no way into the cell's.
    let mut keys = KeysClient::new(server.channel().await);
    let request = pb::IssueRequest {
        credential_id: "dv-an".into(),
        principal: "Đồng chí an".into(),
        role: pb::Role::Member.into(),
        scope_org_id: String::new(),
        member_id: "an".into(),
        certificate: Vec::new(),
    };
    let member_token = keys.issue(request).await.expect("the admin issues a member credential").into_inner().token;
    let member = sign_in(&web, &member_token);
    let own = get(&web, "/member/an?year=2026", &member);
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(!own.body.contains("href=\"/cell/"), "no link a member may not follow: {}", own.body);
    assert!(get(&web, "/tree", &member).body.contains("href=\"/member/an\""));
    assert_eq!(get(&web, "/cell/a", &member).status, 403);
    assert_eq!(get(&web, "/member/binh", &member).status, 403);

    // Signing out needs a form from this server too, and ends the session.
    let forged = http(&web, "POST", "/logout", &[("Cookie", &session), ("Origin", "http://evil.example")], "");
    assert_eq!(forged.status, 403);
    assert_eq!(get(&web, "/cell/a", &session).status, 200, "a forged sign-out ends nothing");
    let out = http(&web, "POST", "/logout", &[("Cookie", &session), ("Origin", &origin)], "");
    assert_eq!((out.status, out.header("location")), (303, Some("/login")));
    assert_eq!(get(&web, "/cell/a", &session).status, 303);

    // Revoking the credential ends its sessions at their next request.
    let again = sign_in(&web, &token);
    assert_eq!(get(&web, "/cell/a", &again).status, 200);
    let mut keys = KeysClient::new(server.channel().await);
    keys.revoke(pb::RevokeRequest { credential_id: "ubkt-a".into(), reason: "hết nhiệm kỳ".into() })
        .await
        .expect("the admin revokes");
    let after = get(&web, "/cell/a", &again);
    assert_eq!((after.status, after.header("location")), (303, Some("/login")));
    server.stop().await;
}

/// An organization as the log registers it.
struct Org {
    parent: Option<String>,
    level: i32,
}

/// The organization tree, from the log's OrganizationRegistered events.
async fn tree(server: &Server) -> BTreeMap<String, Org> {
    let mut orgs = BTreeMap::new();
    for event in read_all(&mut server.client().await).await {
        let envelope = Envelope::decode(&event.envelope).unwrap();
        if envelope.event_type != "OrganizationRegistered" {
            continue;
        }
        if let Ok(pb::Event { kind: Some(pb::event::Kind::OrganizationRegistered(r)) }) =
            decode_payload(&envelope.event_type, &event.payload)
        {
            let parent = (!r.parent_id.is_empty()).then_some(r.parent_id);
            orgs.insert(r.org_id, Org { parent, level: r.level });
        }
    }
    orgs
}

fn cells_below(orgs: &BTreeMap<String, Org>, top: &str) -> Vec<String> {
    fn is_below<'a>(orgs: &'a BTreeMap<String, Org>, top: &str, mut id: &'a str) -> bool {
        // Bounded by the tree's size: a cycle cannot hold the test up.
        for _ in 0..=orgs.len() {
            match orgs.get(id).and_then(|o| o.parent.as_deref()) {
                Some(p) if p == top => return true,
                Some(p) => id = p,
                None => return false,
            }
        }
        false
    }
    orgs.iter()
        .filter(|(id, o)| o.level == pb::OrgLevel::Cell as i32 && is_below(orgs, top, id))
        .map(|(id, _)| id.clone())
        .collect()
}

/// Where screenshots go: `target/screenshots/`, and `CHIBO_SCREENSHOTS` (from the workspace root)
/// if set.
fn screenshot_dirs() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let mut dirs = vec![target.join("screenshots")];
    if let Some(docs) = std::env::var_os("CHIBO_SCREENSHOTS") {
        dirs.push(root.join(docs));
    }
    for dir in &dirs {
        std::fs::create_dir_all(dir).unwrap();
    }
    dirs
}

/// The page shown, saved as `name.png`; its server time.
fn shoot(browser: &Browser, name: &str, timings: &mut Vec<(String, f64)>) {
    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
    for dir in screenshot_dirs() {
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
    timings.push((name.to_owned(), browser.server_time()));
}

fn figure(browser: &Browser, name: &str) -> String {
    browser.text_of(&format!("[data-figure='{name}']"))
}

fn permille(value: &Value) -> String {
    let v = value.as_u64().unwrap();
    format!("{}.{} %", v / 10, v % 10)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn standing(server: &Server, token: &str, ask: impl Fn() -> StandingQuestion) -> Value {
    let mut standings = StandingsClient::new(server.connect_as(token).await);
    let json = match ask() {
        StandingQuestion::Committee(org, year) => {
            standings.committee_standing(pb::CommitteeStandingRequest { org_id: org, year, top: 10 }).await
        }
        StandingQuestion::Cell(cell, year) => {
            standings.cell_standing(pb::CellStandingRequest { cell_id: cell, year }).await
        }
        StandingQuestion::Member(member, year) => {
            standings.member_standing(pb::MemberStandingRequest { member_id: member, year }).await
        }
    }
    .expect("the Standings service answers")
    .into_inner()
    .json;
    serde_json::from_str(&json).unwrap()
}

enum StandingQuestion {
    Committee(String, u32),
    Cell(String, u32),
    Member(String, u32),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_browser_shows_the_standings_figures() {
    // Installing the browser (when missing) overlaps building the province.
    let install = tokio::task::spawn_blocking(ensure_chromium);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--checkpoint-seconds", "1"]);
    let web = server.web.clone().expect("the harness serves the dashboard");
    let demo = chibo(&["demo", "--server", &server.url, "--cells", "6", "--seed", "7"]);
    assert!(demo.status.success(), "chibo demo failed: {}", String::from_utf8_lossy(&demo.stderr));
    let orgs = tree(&server).await;
    let province = orgs.iter().find(|(_, o)| o.parent.is_none()).map(|(id, _)| id.clone()).expect("a province");
    let mut below: Vec<(String, Vec<String>)> = orgs
        .iter()
        .filter(|(_, o)| o.parent.as_deref() == Some(province.as_str()) && o.level != pb::OrgLevel::Cell as i32)
        .map(|(id, _)| (id.clone(), cells_below(&orgs, id)))
        .filter(|(_, cells)| !cells.is_empty())
        .collect();
    below.sort_by_key(|(id, cells)| (std::cmp::Reverse(cells.len()), id.clone()));
    assert!(below.len() >= 2, "the demo province has two committees with cells under it");
    let (committee, other) = (below[0].0.clone(), below[1].0.clone());
    let inspector = issue(&server, "ubkt-tinh", pb::Role::Inspector, &province).await;
    let outsider = issue(&server, "ubkt-ngoai", pb::Role::Inspector, &other).await;
    // A checkpoint covering everything the demo wrote, so that the trail can be proven whole.
    let size = size_to_sign(&read_all(&mut server.client().await).await);
    let mut audit = chibo_proto::v1::audit_client::AuditClient::new(server.channel().await);
    let waited = Instant::now();
    loop {
        if let Ok(cp) = audit.get_checkpoint(pb::GetCheckpointRequest {}).await {
            if cp.into_inner().size >= size {
                break;
            }
        }
        assert!(waited.elapsed() < Duration::from_secs(30), "a checkpoint of the whole log is signed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    install.await.unwrap();

    let started = Instant::now();
    let base = format!("http://{web}");
    let browser = tokio::task::block_in_place(Browser::start);
    let mut timings = Vec::new();
    let b = &browser;
    tokio::task::block_in_place(|| {
        // Sign in through the form.
        b.goto(&format!("{base}/tree"));
        assert!(b.url().ends_with("/login"), "not signed in: {}", b.url());
        assert_eq!(b.attr(&b.find("html"), "lang").as_deref(), Some("vi"));
        shoot(b, "login", &mut timings);
        b.type_into(&b.find("#token"), &inspector);
        b.click(&b.find("#sign-in"));
        b.wait_for_url("/tree");
        assert!(b.url().ends_with("/tree"), "signed in: {}", b.url());
        assert!(b.try_find(&format!("#tree li[data-org='{committee}']")).is_some());
        shoot(b, "tree", &mut timings);
        b.click(&b.find(&format!("#tree li[data-org='{committee}'] > a")));
        assert!(b.url().contains(&format!("/committee/{committee}")), "{}", b.url());
    });
    let year: u32 = b.attr(&b.find("[data-year]"), "data-year").unwrap().parse().unwrap();

    // The committee: its rollup and leaderboards, as the Standings service has them.
    let api = standing(&server, &inspector, || StandingQuestion::Committee(committee.clone(), year)).await;
    let cell_id = tokio::task::block_in_place(|| {
        shoot(b, "committee", &mut timings);
        assert_eq!(figure(b, "cells"), api["cells"].to_string());
        assert_eq!(figure(b, "members"), api["members"].to_string());
        assert_eq!(
            figure(b, "cells_every_meeting_held"),
            format!("{} / {}", api["cells_every_meeting_held"], api["cells"])
        );
        assert_eq!(figure(b, "attendance_permille"), permille(&api["attendance_permille"]));
        assert_eq!(figure(b, "points_compliance_permille"), permille(&api["points_compliance_permille"]));
        let rows = b.find_all("#cell-leaderboard tr[data-cell]");
        let lines = api["cell_leaderboard"].as_array().unwrap();
        assert_eq!(rows.len(), lines.len());
        for (row, line) in rows.iter().zip(lines) {
            assert_eq!(b.attr(row, "data-cell").as_deref(), line["id"].as_str());
        }
        let members = b.find_all("#member-leaderboard td[data-value]");
        let lines = api["member_leaderboard"].as_array().unwrap();
        assert_eq!(members.len(), lines.len());
        for (cell, line) in members.iter().zip(lines) {
            assert_eq!(b.text(cell), line["value"].to_string());
        }
        let first = b.find("#cell-leaderboard tr[data-cell]");
        let cell_id = b.attr(&first, "data-cell").unwrap();
        b.click(&b.find("#cell-leaderboard tr[data-cell] a"));
        assert!(b.url().contains(&format!("/cell/{cell_id}")), "{}", b.url());
        cell_id
    });

    // The cell: its year, the calendar, the chart, and each member's points.
    let api = standing(&server, &inspector, || StandingQuestion::Cell(cell_id.clone(), year)).await;
    let member_id = tokio::task::block_in_place(|| {
        shoot(b, "cell", &mut timings);
        assert_eq!(figure(b, "members"), api["members"].to_string());
        assert_eq!(figure(b, "regular_held"), format!("{} / {}", api["regular_held"], api["regular_expected"]));
        assert_eq!(figure(b, "thematic_held"), format!("{} / {}", api["thematic_held"], api["thematic_expected"]));
        assert_eq!(figure(b, "attendance_permille"), permille(&api["attendance_permille"]));
        assert_eq!(figure(b, "points_compliance_permille"), permille(&api["points_compliance_permille"]));
        assert_eq!(b.find_all("#calendar [data-meeting]").len(), api["meetings"].as_array().unwrap().len());
        for line in api["member_standings"].as_array().unwrap() {
            let shown = b.text_of(&format!(
                "#member-points tr[data-member='{}'] [data-figure='points_year']",
                line["member_id"].as_str().unwrap()
            ));
            assert_eq!(shown, line["points_year"].to_string());
        }
        let scored: Vec<u64> = api["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["indicator_by_month"].as_array().unwrap().iter().filter_map(Value::as_u64))
            .collect();
        let drawn: Vec<u64> = b
            .find_all("svg[data-chart='lines'] circle[data-value]")
            .iter()
            .map(|c| b.attr(c, "data-value").unwrap().parse().unwrap())
            .collect();
        assert_eq!(drawn, scored, "the trend chart draws the indicator scores");
        let row = b.find("#member-points tr[data-member] a");
        b.click(&row);
        let member_id = b.url().split("/member/").nth(1).unwrap().split('?').next().unwrap().to_owned();
        member_id
    });

    // The member.
    let api = standing(&server, &inspector, || StandingQuestion::Member(member_id.clone(), year)).await;
    tokio::task::block_in_place(|| {
        shoot(b, "member", &mut timings);
        for name in ["points_year", "points_cumulative", "times_spoke", "commendations", "reminders", "criticisms"] {
            assert_eq!(figure(b, name), api[name].to_string(), "{name}");
        }
        assert_eq!(
            figure(b, "meetings_present"),
            format!("{} / {}", api["meetings_present"], api["meetings_expected"])
        );
        let bars: Vec<u64> = b
            .find_all("svg[data-chart='bars'] rect[data-value]")
            .iter()
            .map(|r| b.attr(r, "data-value").unwrap().parse().unwrap())
            .collect();
        let months: Vec<u64> = api["points_by_month"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(bars, months, "the bars are the points by month");

        // The member's audit trail, verified against the latest checkpoint.
        b.click(&b.find("#to-audit"));
        assert!(b.url().contains(&format!("/audit/member/{member_id}")), "{}", b.url());
        assert_eq!(
            b.attr(&b.find("#verification"), "data-verification").as_deref(),
            Some("verified"),
            "{}",
            b.text_of("#verification")
        );
        assert!(!b.find_all("#trail tr[data-event]").is_empty());
        assert!(b.try_find("#checkpoint [data-checkpoint-size]").is_some());
        shoot(b, "audit", &mut timings);

        // The cell's trail too.
        b.goto(&format!("{base}/audit/cell/{cell_id}"));
        assert_eq!(b.attr(&b.find("#verification"), "data-verification").as_deref(), Some("verified"));
        shoot(b, "audit-cell", &mut timings);

        // The committee's evaluation.
        b.goto(&format!("{base}/committee/{committee}?year={year}"));
        b.click(&b.find("#to-evaluation"));
        assert!(b.url().contains(&format!("/evaluation/{committee}")), "{}", b.url());
    });
    let (rule_set, digest, log_size) = tokio::task::block_in_place(|| {
        shoot(b, "evaluation", &mut timings);
        let rule_set = b.attr(&b.find("[data-rule-set]"), "data-rule-set").unwrap();
        let digest = b.attr(&b.find("[data-digest]"), "data-digest").unwrap();
        let log_size = b.attr(&b.find("#report [data-log-size]"), "data-log-size").unwrap();
        (rule_set, digest, log_size)
    });
    let (name, version) = rule_set.rsplit_once('@').unwrap();
    let mut evaluation = EvaluationClient::new(server.connect_as(&inspector).await);
    let report = evaluation
        .evaluate(pb::EvaluateRequest {
            org_id: committee.clone(),
            year,
            rule_set: Some(pb::RuleSetRef { name: name.into(), version: version.parse().unwrap() }),
            log_size: Some(log_size.parse().unwrap()),
        })
        .await
        .expect("the Evaluation service answers")
        .into_inner();
    assert_eq!(digest, hex(&report.digest), "the page shows the report the Evaluation service makes");

    // English, on request.
    tokio::task::block_in_place(|| {
        b.click(&b.find("#lang-switch"));
        b.wait_for_url("lang=en");
        assert_eq!(b.attr(&b.find("html"), "lang").as_deref(), Some("en"));
        assert!(b.text_of("h1").starts_with("Evaluation"), "{}", b.text_of("h1"));
        shoot(b, "evaluation-en", &mut timings);
        b.goto(&format!("{base}/tree?lang=vi"));

        // Another committee's inspector sees its own subtree, and is refused this one.
        b.click(&b.find("#logout"));
        b.wait_for_url("/login");
        assert!(b.url().ends_with("/login"), "{}", b.url());
        b.type_into(&b.find("#token"), &outsider);
        b.click(&b.find("#sign-in"));
        b.wait_for_url("/tree");
        assert!(b.try_find(&format!("#tree li[data-org='{committee}']")).is_none(), "out of scope is not in the tree");
        b.goto(&format!("{base}/cell/{cell_id}"));
        let refusal = b.try_find("[data-refusal]").unwrap_or_else(|| {
            panic!(
                "{cell_id} is not refused to another committee: {}",
                b.run("return document.documentElement.outerHTML")
            )
        });
        assert_eq!(b.attr(&refusal, "data-refusal").as_deref(), Some("403"));
        assert!(b.text(&refusal).contains("outside its scope"), "{}", b.text(&refusal));
        shoot(b, "refused", &mut timings);
    });
    drop(browser);

    let report: String = timings.iter().map(|(page, ms)| format!("{page}\t{ms:.2} ms\n")).collect();
    // The times of a debug build, kept beside the test's artifacts (docs/BENCHMARKS.md has the
    // release build's, from bench/web.sh).
    let _ = std::fs::write(screenshot_dirs()[0].join("server-timing.txt"), &report);
    eprintln!("server time per page (Server-Timing):\n{report}browser flow took {:?}", started.elapsed());
    for (page, ms) in &timings {
        assert!(*ms >= 0.0, "{page}: the page carries its server time");
    }
    server.stop().await;
}

#[test]
fn the_dashboard_is_refused_a_network_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["serve", "--listen", "127.0.0.1:0", "--metrics", "off", "--web", "0.0.0.0:0", "--data"];
    let out =
        crate::tls::chibo_within_30s(crate::tls::Caller::Nobody, &[&args[..], &[data.to_str().unwrap()]].concat());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to serve the inspection dashboard on 0.0.0.0:0") && stderr.contains("--web off"),
        "{stderr}"
    );
}
