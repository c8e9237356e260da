//! Authentication end to end, through the real binary: the first admin's token on a new log
//! (printed once, or chosen with CHIBO_INIT_ADMIN_TOKEN, and an unusable one refused before
//! anything is recorded); anonymous calls refused by every chibo service while health answers;
//! `chibo keys issue`, `list` and `revoke`; client certificates issued as credentials; and the
//! demo, which registers the tree as the admin and writes the rest as a committee it issues.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::thread::JoinHandle;

use chibo_integrity::Envelope;
use chibo_proto::v1::{
    self as pb, audit_client::AuditClient, evaluation_client::EvaluationClient, keys_client::KeysClient,
    ledger_client::LedgerClient, standings_client::StandingsClient,
};
use serde_json::Value;
use tonic::Code;

use crate::harness::{
    admin_token, cell, chibo, chibo_anonymous, chibo_as, is_checkpoint, is_credential, is_server_written, points,
    read_all, verify, Fixture, Server, ADMIN, CHIBO, SERVER, WRITER,
};
use crate::tls::{self, Caller, Pki};

/// The environment variable that chooses the first admin's token.
const INIT: &str = "CHIBO_INIT_ADMIN_TOKEN";

/// A `chibo serve` whose stderr the test reads, started with CHIBO_INIT_ADMIN_TOKEN as given.
struct Serving {
    child: Child,
    url: String,
    /// Kept open: the server's stdout is the test's until it stops.
    _stdout: BufReader<ChildStdout>,
    stderr: JoinHandle<String>,
}

impl Serving {
    /// Starts `chibo serve` on `data`, with CHIBO_INIT_ADMIN_TOKEN set to `init` or unset, and
    /// waits for its address line.
    fn start(data: &Path, init: Option<&str>) -> Serving {
        let mut command = Command::new(CHIBO);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--metrics", "off", "--web", "off", "--data"])
            .arg(data)
            .env("CHIBO_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match init {
            Some(token) => command.env(INIT, token),
            None => command.env_remove(INIT),
        };
        let mut child = command.spawn().expect("the chibo binary starts");
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            text
        });
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let grpc = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("grpc="))
            .unwrap_or_else(|| panic!("no address line: {line:?}"));
        Serving { url: format!("http://{grpc}"), child, _stdout: stdout, stderr }
    }

    /// SIGTERM, a clean exit, and everything it wrote on stderr.
    fn stop(mut self) -> String {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "chibo serve exits cleanly on SIGTERM: {exit}");
        self.stderr.join().unwrap()
    }
}

/// The words of `text` that are chibo tokens.
fn tokens(text: &str) -> Vec<&str> {
    text.split_whitespace().filter(|w| w.starts_with("chibo_")).collect()
}

/// Whether `out` succeeded; its stdout.
fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "chibo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// How many events the log in `data` holds, read from its database (the server stopped).
fn events_in(data: &Path) -> i64 {
    let conn = rusqlite::Connection::open(data.join("chibo.db")).unwrap();
    conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)).unwrap()
}

/// The actors of the credentials the log in `data` holds, in order (the server stopped).
fn credentials_in(data: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(data.join("chibo.db")).unwrap();
    let mut query =
        conn.prepare("SELECT envelope FROM events WHERE stream = '$credentials' ORDER BY position").unwrap();
    let rows = query.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
    rows.map(|envelope| Envelope::decode(&envelope.unwrap()).unwrap().actor).collect()
}

#[test]
fn the_first_start_prints_the_first_admins_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // A new log, no token chosen: the server makes one and shows it, once, on stderr.
    let server = Serving::start(&data, None);
    let list = |url: &str, token: &str| chibo_as(token, &["keys", "list", "--server", url]);
    let printed = server.stop();
    let shown = tokens(&printed);
    assert_eq!(shown.len(), 1, "one token, once: {printed}");
    let token = shown[0].to_owned();
    assert!(chibo_server::auth::check_token(&token).is_ok(), "{token}");
    assert!(printed.contains("CHIBO_TOKEN"), "it says how to call with it: {printed}");

    // Restarted on the same log: nothing printed, and the token works.
    let server = Serving::start(&data, None);
    let listed = stdout(&list(&server.url, &token));
    let rows: Vec<Vec<&str>> = listed.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows, [["admin", "admin", "token", "everything", "active", "admin"]], "{listed}");
    let printed = server.stop();
    assert!(tokens(&printed).is_empty(), "a restart prints no token: {printed}");

    // A log that has its admin ignores CHIBO_INIT_ADMIN_TOKEN: that token is nobody's.
    let other = chibo_server::auth::new_token().unwrap();
    let server = Serving::start(&data, Some(&other));
    let refused = list(&server.url, &other);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("Unauthenticated"), "{}", stderr(&refused));
    stdout(&list(&server.url, &token));
    let printed = server.stop();
    assert!(tokens(&printed).is_empty(), "{printed}");
    assert_eq!(credentials_in(&data), [SERVER], "one credential, the first admin's, recorded by the server");
}

#[test]
fn an_unusable_init_token_stops_the_first_start_before_anything_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for bad in ["hunter2", "chibo_short", &format!("{}x", admin_token())] {
        let out = Command::new(CHIBO)
            .args(["serve", "--listen", "127.0.0.1:0", "--metrics", "off", "--web", "off", "--data"])
            .arg(&data)
            .env(INIT, bad)
            .env("CHIBO_LOG", "warn")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains(INIT) && stderr(&out).contains("chibo keys new-token"), "{}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert!(out.stdout.is_empty(), "it never served: {}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(events_in(&data), 0, "{bad}: nothing recorded");
    }

    // With a usable one, the first start records the admin with it, and the log's first event
    // is that credential.
    let chosen = stdout(&chibo(&["keys", "new-token"]));
    let chosen = chosen.trim_end();
    assert!(chibo_server::auth::check_token(chosen).is_ok(), "{chosen}");
    let server = Serving::start(&data, Some(chosen));
    stdout(&chibo_as(chosen, &["keys", "list", "--server", &server.url]));
    let printed = server.stop();
    assert!(tokens(&printed).is_empty(), "the chosen token is not shown: {printed}");
    assert_eq!(credentials_in(&data), [SERVER]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_calls_are_refused_by_every_chibo_service_and_health_answers() {
    use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    Fixture::record(&server, &[cell("a", ["an"])]).await;
    let before = read_all(&mut server.client().await).await;
    let channel = server.raw_channel().await;

    let mut refusals = Vec::new();
    let submit = pb::SubmitRequest { stream: "cell-a".into(), expected_revision: None, event: Some(points("an", 5)) };
    refusals.push(("Ledger.Submit", LedgerClient::new(channel.clone()).submit(submit).await.map(drop)));
    let standing = pb::MemberStandingRequest { member_id: "an".into(), year: 2026 };
    refusals.push((
        "Standings.MemberStanding",
        StandingsClient::new(channel.clone()).member_standing(standing).await.map(drop),
    ));
    let evaluate = pb::EvaluateRequest { org_id: "a".into(), year: 2025, rule_set: None, log_size: None };
    refusals.push(("Evaluation.Evaluate", EvaluationClient::new(channel.clone()).evaluate(evaluate).await.map(drop)));
    let checkpoint = pb::GetCheckpointRequest {};
    refusals
        .push(("Audit.GetCheckpoint", AuditClient::new(channel.clone()).get_checkpoint(checkpoint).await.map(drop)));
    let issue = pb::IssueRequest {
        credential_id: "self-made".into(),
        principal: "Không ai".into(),
        role: pb::Role::Admin.into(),
        scope_org_id: String::new(),
        member_id: String::new(),
        certificate: Vec::new(),
    };
    refusals.push(("Keys.Issue", KeysClient::new(channel.clone()).issue(issue).await.map(drop)));
    for (call, result) in refusals {
        let status = result.expect_err(call);
        assert_eq!(status.code(), Code::Unauthenticated, "{call}: {status:?}");
        assert!(
            status.message().starts_with("authorization: no credential") && status.message().contains("Bearer"),
            "{call}: {status:?}"
        );
    }
    assert!(read_all(&mut server.client().await).await == before, "a refused call appends nothing");

    // Health answers anyone, for the server and for each service.
    let mut health = HealthClient::new(channel);
    for service in
        ["", "chibo.v1.Ledger", "chibo.v1.Standings", "chibo.v1.Evaluation", "chibo.v1.Audit", "chibo.v1.Keys"]
    {
        let reply = health.check(HealthCheckRequest { service: service.into() }).await.expect("Check answers");
        assert_eq!(reply.into_inner().status(), ServingStatus::Serving, "{service:?}");
    }

    // The CLI without a token says how to pass one.
    for args in
        [vec!["read", "--server", &server.url, "--stream", "cell-a"], vec!["keys", "list", "--server", &server.url]]
    {
        let out = chibo_anonymous(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains("Unauthenticated"), "{said}");
        assert!(said.contains("CHIBO_TOKEN") && said.contains("--token"), "it says how to pass a token: {said}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_issue_list_and_revoke_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    Fixture::record(&server, &[cell("a", ["an"]), cell("b", ["binh"])]).await;
    let url = server.url.clone();
    let points_file = |name: &str, member: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, serde_json::to_string(&points(member, 5)).unwrap()).unwrap();
        file.to_str().unwrap().to_owned()
    };

    // Issued: the token alone on stdout, what it is on stderr.
    let principal = "Thư ký chi bộ a";
    let issue = ["keys", "issue", "--server", &url, "--id", "thu-ky-a", "--principal", principal, "--role"];
    let out = chibo(&[&issue[..], &["recorder", "--scope", "a"]].concat());
    let printed = stdout(&out);
    assert_eq!(printed.lines().count(), 1, "{printed}");
    let token = printed.trim_end().to_owned();
    assert!(chibo_server::auth::check_token(&token).is_ok(), "{printed:?}");
    assert_eq!(printed, format!("{token}\n"), "the token alone");
    assert!(stderr(&out).contains("issued thu-ky-a"), "{}", stderr(&out));

    // It works, as the principal it names, within its scope.
    let first = points_file("first.json", "an");
    let receipt: Value =
        serde_json::from_str(&stdout(&chibo_as(&token, &["submit", "--server", &url, "--stream", "cell-a", &first])))
            .unwrap();
    let log = read_all(&mut server.client().await).await;
    let recorded = &log[receipt["position"].as_u64().unwrap() as usize];
    assert_eq!(Envelope::decode(&recorded.envelope).unwrap().actor, principal);
    let elsewhere =
        chibo_as(&token, &["submit", "--server", &url, "--stream", "cell-b", &points_file("b.json", "binh")]);
    assert_eq!(elsewhere.status.code(), Some(2));
    assert!(stderr(&elsewhere).contains("PermissionDenied"), "{}", stderr(&elsewhere));
    // Only an admin issues credentials.
    let by_recorder = chibo_as(&token, &[&issue[..], &["recorder"]].concat());
    assert!(stderr(&by_recorder).contains("PermissionDenied"), "{}", stderr(&by_recorder));
    // One id, one credential.
    let again = chibo(&[&issue[..], &["recorder", "--scope", "a"]].concat());
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("AlreadyExists"), "{}", stderr(&again));
    // As JSON: the id, the token and where the credential was recorded.
    let inspector = ["keys", "issue", "--server", &url, "--id", "ubkt", "--principal", "Ủy ban kiểm tra"];
    let issued: Value =
        serde_json::from_str(&stdout(&chibo(&[&inspector[..], &["--role", "inspector", "--json"]].concat()))).unwrap();
    assert_eq!(issued["credential_id"], "ubkt");
    assert!(chibo_server::auth::check_token(issued["token"].as_str().unwrap()).is_ok(), "{issued}");
    let log = read_all(&mut server.client().await).await;
    assert!(is_credential(&log[issued["position"].as_u64().unwrap() as usize]));

    // Listed: every credential, as a table and as JSON lines.
    let table = stdout(&chibo(&["keys", "list", "--server", &url]));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["id", "role", "kind", "scope", "state", "principal"]);
    let row = |table: &str, id: &str| -> Vec<String> {
        let line = table.lines().find(|l| l.split_whitespace().next() == Some(id));
        line.unwrap_or_else(|| panic!("no {id} in {table}")).split_whitespace().map(str::to_owned).collect()
    };
    assert_eq!(
        row(&table, "thu-ky-a"),
        ["thu-ky-a", "recorder", "token", "a", "active", "Thư", "ký", "chi", "bộ", "a"]
    );
    assert_eq!(row(&table, "admin")[..5], ["admin", "admin", "token", "everything", "active"]);
    assert_eq!(row(&table, "test-writer")[..5], ["test-writer", "committee", "token", "everything", "active"]);
    assert_eq!(table.lines().count(), 5, "the header, admin, test-writer, thu-ky-a, ubkt: {table}");
    let listed = |json: &str| -> BTreeMap<String, Value> {
        json.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|v| (v["credential_id"].as_str().unwrap().to_owned(), v))
            .collect()
    };
    let json = listed(&stdout(&chibo(&["keys", "list", "--server", &url, "--json"])));
    assert_eq!(json.keys().collect::<Vec<_>>(), ["admin", "test-writer", "thu-ky-a", "ubkt"]);
    assert_eq!(
        json["thu-ky-a"],
        serde_json::json!({
            "credential_id": "thu-ky-a", "principal": principal, "role": "recorder", "kind": "token",
            "scope_org_id": "a", "member_id": null, "revoked": false,
        })
    );

    // Revoked: it stops working at once, and the list says so.
    let revoked = stdout(&chibo(&["keys", "revoke", "--server", &url, "thu-ky-a", "--reason", "Chuyển công tác"]));
    assert_eq!(revoked, "revoked thu-ky-a\n");
    let second = points_file("second.json", "an");
    let out = chibo_as(&token, &["submit", "--server", &url, "--stream", "cell-a", &second]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Unauthenticated") && stderr(&out).contains("revoked"), "{}", stderr(&out));
    let out = chibo(&["keys", "revoke", "--server", &url, "thu-ky-a", "--reason", "again"]);
    assert!(
        stderr(&out).contains("FailedPrecondition") && stderr(&out).contains("already revoked"),
        "{}",
        stderr(&out)
    );
    let out = chibo(&["keys", "revoke", "--server", &url, "nobody", "--reason", "none"]);
    assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));
    assert_eq!(row(&stdout(&chibo(&["keys", "list", "--server", &url])), "thu-ky-a")[4], "revoked");
    let json = listed(&stdout(&chibo(&["keys", "list", "--server", &url, "--json"])));
    assert_eq!((&json["thu-ky-a"]["revoked"], &json["ubkt"]["revoked"]), (&Value::Bool(true), &Value::Bool(false)));

    // Nothing the refused or revoked token sent was recorded: the one event it wrote, and the
    // admin's and the server's credentials.
    let log = read_all(&mut server.client().await).await;
    let actors: Vec<String> = log.iter().map(|e| Envelope::decode(&e.envelope).unwrap().actor).collect();
    assert_eq!(actors.iter().filter(|a| *a == principal).count(), 1, "{actors:?}");
    let credentials: Vec<&String> =
        log.iter().zip(&actors).filter(|(e, _)| is_credential(e)).map(|(_, actor)| actor).collect();
    assert_eq!(
        credentials,
        [SERVER, ADMIN, ADMIN, ADMIN, ADMIN],
        "the first admin, test-writer, thu-ky-a, ubkt, the revocation"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_issued_as_a_credential_calls_without_a_token_until_revoked() {
    let pki = Pki::new();
    let data = pki.dir.path().join("data");
    let server = tls::start(&data, &pki.mutual_flags(), &pki.ca.pem);
    Fixture::record(&server, &[cell("tan-hoa", ["an"]), cell("dong-hai", ["binh"])]).await;
    let ca = ["--ca".to_owned(), tls::path(&pki.ca.pem)];
    let with = |cert: &tls::Issued| {
        let mut flags = ca.to_vec();
        flags.extend(["--cert".into(), tls::path(&cert.cert), "--key".into(), tls::path(&cert.key)]);
        flags
    };
    let submit = |member: &str, stream: &str, flags: Vec<String>| {
        let file = pki.dir.path().join(format!("{}.json", crate::harness::event_id()));
        std::fs::write(&file, serde_json::to_string(&points(member, 5)).unwrap()).unwrap();
        let mut args: Vec<String> = ["submit", "--server", &server.url, "--stream", stream].map(Into::into).into();
        args.extend(flags);
        args.push(tls::path(&file));
        tls::cli(Caller::Nobody, args)
    };

    // The admin issues the client certificate as the recorder of cell tan-hoa.
    let principal = "Thư ký chi bộ Tân Hoà";
    let mut issue: Vec<String> =
        ["keys", "issue", "--server", &server.url, "--id", "thu-ky-tan-hoa"].map(Into::into).into();
    issue.extend(
        ["--principal", principal, "--role", "recorder", "--scope", "tan-hoa", "--certificate"].map(String::from),
    );
    issue.push(tls::path(&pki.client.cert));
    issue.extend(ca.iter().cloned());
    let issued = tls::cli(Caller::Admin, issue).await;
    assert_eq!(stdout(&issued), "issued thu-ky-tan-hoa: the client certificate is the credential\n");

    // With the certificate and no token: recorded, the certificate's principal the actor.
    let out = submit("an", "cell-tan-hoa", with(&pki.client)).await;
    let receipt: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let log = read_all(&mut server.client().await).await;
    let recorded = &log[receipt["position"].as_u64().unwrap() as usize];
    assert_eq!(Envelope::decode(&recorded.envelope).unwrap().actor, principal);
    // As the recorder it is: not outside its cell, not the whole log.
    let out = submit("binh", "cell-dong-hai", with(&pki.client)).await;
    assert!(stderr(&out).contains("PermissionDenied"), "{}", stderr(&out));
    let mut client = tls::tls_client(&server.url, &pki.ca.pem, Some(&pki.client)).await.unwrap();
    let read_all_refused = tls::reads(&mut client, None).await.unwrap_err();
    assert!(read_all_refused.contains("PermissionDenied"), "{read_all_refused}");

    // A certificate from the same CA that was never issued: through TLS, refused by the services.
    let stranger = pki.ca.issue(pki.dir.path(), "stranger", &["recorder.dong-hai"]);
    let out = submit("an", "cell-tan-hoa", with(&stranger)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Unauthenticated") && stderr(&out).contains("the client certificate is not a credential"),
        "{}",
        stderr(&out)
    );
    let mut client = tls::tls_client(&server.url, &pki.ca.pem, Some(&stranger)).await.unwrap();
    assert!(tls::reads(&mut client, None).await.unwrap_err().contains("Unauthenticated"));

    // Revoked: the certificate stops working.
    let mut revoke: Vec<String> = ["keys", "revoke", "--server", &server.url, "thu-ky-tan-hoa"].map(Into::into).into();
    revoke.extend(["--reason", "Thiết bị bị mất"].map(String::from));
    revoke.extend(ca.iter().cloned());
    assert_eq!(stdout(&tls::cli(Caller::Admin, revoke).await), "revoked thu-ky-tan-hoa\n");
    let out = submit("an", "cell-tan-hoa", with(&pki.client)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Unauthenticated"), "{}", stderr(&out));

    // Of all that, the log holds the one event the certificate was let write.
    let after = read_all(&mut server.client().await).await;
    let by: Vec<_> = after.iter().filter(|e| Envelope::decode(&e.envelope).unwrap().actor == principal).collect();
    assert_eq!(by.len(), 1);
    assert_eq!(
        after.iter().filter(|e| !is_server_written(e)).count(),
        log.iter().filter(|e| !is_server_written(e)).count()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_with_the_admins_token_and_verify_says_who_recorded_what() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let out = chibo(&["demo", "--server", &server.url, "--cells", "3", "--seed", "4", "--year", "2025"]);
    assert!(out.status.success(), "chibo demo: {}", stderr(&out));
    let said = stderr(&out);
    assert!(said.contains("writing as the committee credential demo-"), "{said}");

    // The demo issued itself a committee credential over the whole tree, as "chibo demo".
    let listed = stdout(&chibo(&["keys", "list", "--server", &server.url, "--json"]));
    let demo: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|c| c["credential_id"].as_str().is_some_and(|id| id.starts_with("demo-")))
        .collect();
    assert_eq!(demo.len(), 1, "{listed}");
    assert_eq!((&demo[0]["principal"], &demo[0]["role"]), (&"chibo demo".into(), &"committee".into()), "{listed}");
    assert_eq!(demo[0]["scope_org_id"], Value::Null);

    // Who wrote what, as the envelopes say: the admin the tree and the demo's credential, the
    // demo's committee everything else, the server the first admin and its checkpoints.
    let log = read_all(&mut server.client().await).await;
    server.stop().await;
    let event_type = |e: &pb::RecordedEvent| Envelope::decode(&e.envelope).unwrap().event_type;
    let registrations = log.iter().filter(|e| event_type(e) == "OrganizationRegistered").count() as u64;
    let checkpoints = log.iter().filter(|e| is_checkpoint(e)).count() as u64;
    let domain = log.iter().filter(|e| !is_server_written(e)).count() as u64;
    assert!(registrations > 3 && domain > registrations);

    let (report, code) = verify(&data);
    assert_eq!(code, 0, "{report}");
    let actors: BTreeMap<String, u64> = serde_json::from_value(report["actors"].clone()).unwrap();
    let expected = BTreeMap::from([
        (ADMIN.to_owned(), registrations + 1),
        ("chibo demo".to_owned(), domain - registrations),
        (SERVER.to_owned(), 1 + checkpoints),
    ]);
    assert_eq!(actors, expected, "{report}");
    assert_eq!(actors.values().sum::<u64>(), report["events"].as_u64().unwrap());
    assert!(!actors.contains_key(WRITER));
    let text = stdout(&chibo(&["verify", "--data", data.to_str().unwrap()]));
    let recorded_by = text.lines().find(|l| l.starts_with("recorded by: ")).unwrap_or_else(|| panic!("{text}"));
    assert!(
        recorded_by.contains(&format!("admin {}", registrations + 1))
            && recorded_by.contains(&format!("chibo demo {}", domain - registrations)),
        "{recorded_by}"
    );
}
