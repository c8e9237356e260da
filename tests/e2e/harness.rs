//! Starting and stopping the real `chibo` binary, and talking to it.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::{mpsc, Mutex, OnceLock},
    time::Duration,
};

use chibo_proto::v1::{self as pb, keys_client::KeysClient, ledger_client::LedgerClient};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

pub const CHIBO: &str = env!("CARGO_BIN_EXE_chibo");

/// The token of the first admin of every server the tests start (`CHIBO_INIT_ADMIN_TOKEN`), and
/// the one `chibo` commands call with (`CHIBO_TOKEN`): one per test process, random.
pub fn admin_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| chibo_server::auth::new_token().expect("randomness for a token"))
}

/// Names rustls's process-wide crypto provider for the test's own TLS clients, as `chibo`'s
/// main does: with the KurrentDB client in the build, two are compiled in and rustls picks
/// neither by itself.
pub fn name_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A connection that calls with a token.
pub type Conn = InterceptedService<Channel, Bearer>;

pub use chibo::Bearer;

/// The header for a test's token.
pub fn bearer(token: &str) -> Bearer {
    Bearer::new(Some(token)).expect("a test token is a header value")
}

/// The token of the writer credential issued in each data directory (see [`Server::writer`]),
/// kept across restarts and copied with [`copy_tree`].
static WRITERS: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);

fn writer_token(data: &Path) -> Option<String> {
    WRITERS.lock().unwrap().get_or_insert_with(HashMap::new).get(data).cloned()
}

fn set_writer_token(data: &Path, token: Option<String>) {
    let mut writers = WRITERS.lock().unwrap();
    let writers = writers.get_or_insert_with(HashMap::new);
    match token {
        Some(token) => writers.insert(data.to_owned(), token),
        None => writers.remove(data),
    };
}

/// A running `chibo serve`.
pub struct Server {
    child: Child,
    /// The gRPC URL: `http://127.0.0.1:PORT`, or `https://…` when it serves TLS.
    pub url: String,
    /// The metrics URL.
    pub metrics: String,
    /// The dashboard's address (`127.0.0.1:PORT`), if it serves one.
    pub web: Option<String>,
    /// Its data directory.
    pub data: PathBuf,
    /// The CA the harness's own connections trust, for a server with TLS ([`Server::trusting`]).
    ca: Option<PathBuf>,
}

impl Server {
    /// Starts `chibo serve` on `data`, on free ports, and waits until it serves.
    pub fn start(data: &Path) -> Server {
        Self::start_with(data, &[])
    }

    /// [`Server::start`] with more `serve` flags (a `--listen` of their own replaces 127.0.0.1:0).
    pub fn start_with(data: &Path, flags: &[&str]) -> Server {
        // A data directory without a log is a new log: a writer credential remembered for that
        // path (from a directory since deleted) is not in it.
        if !data.join("chibo.db").exists() {
            set_writer_token(data, None);
        }
        let listen: &[&str] = if flags.contains(&"--listen") { &[] } else { &["--listen", "127.0.0.1:0"] };
        let web: &[&str] = if flags.contains(&"--web") { &[] } else { &["--web", "127.0.0.1:0"] };
        let mut child = Command::new(CHIBO)
            .arg("serve")
            .args(listen)
            .args(web)
            .args(["--metrics", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(flags)
            .env("CHIBO_LOG", "warn")
            .env("CHIBO_INIT_ADMIN_TOKEN", admin_token())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the chibo binary starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("chibo serve announces its address");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {line:?}"))
                .to_owned()
        };
        let scheme = if field("tls=") == "on" { "https" } else { "http" };
        let url = format!("{scheme}://{}", field("grpc="));
        let web = field("web=");
        let web = web.strip_prefix("http://").map(|addr| addr.trim_end_matches('/').to_owned());
        Server { url, metrics: field("metrics="), web, data: data.to_owned(), child, ca: None }
    }

    /// The server, with the harness's own connections ([`Server::client`], [`Server::writer`],
    /// …) trusting the CA in the PEM file `ca`: for a server with TLS.
    pub fn trusting(mut self, ca: &Path) -> Server {
        self.ca = Some(ca.to_owned());
        self
    }

    /// A Ledger client calling as the admin: it registers organizations and reads the whole log,
    /// but writes no record book (see [`Server::writer`]).
    pub async fn client(&self) -> LedgerClient<Conn> {
        LedgerClient::new(self.channel().await)
    }

    /// A connection calling as the admin, for any service.
    pub async fn channel(&self) -> Conn {
        self.connect_as(admin_token()).await
    }

    /// A connection calling with `token`.
    pub async fn connect_as(&self, token: &str) -> Conn {
        InterceptedService::new(self.raw_channel().await, bearer(token))
    }

    /// A connection that presents no credential, for health, reflection and refusals.
    pub async fn raw_channel(&self) -> Channel {
        let mut endpoint = Channel::from_shared(self.url.clone()).unwrap();
        if let Some(ca) = &self.ca {
            name_tls_provider();
            let ca = Certificate::from_pem(std::fs::read(ca).expect("the CA's PEM file"));
            endpoint = endpoint.tls_config(ClientTlsConfig::new().ca_certificate(ca)).unwrap();
        }
        endpoint.connect().await.expect("the server accepts connections")
    }

    /// The token of a committee credential over the whole tree, which writes every cell's and
    /// committee's record book: issued by the admin the first time a test asks for it in this
    /// data directory (as `test-writer`, principal `test writer`), then reused.
    pub async fn writer_token(&self) -> String {
        if let Some(token) = writer_token(&self.data) {
            return token;
        }
        let mut keys = KeysClient::new(self.channel().await);
        let request = pb::IssueRequest {
            credential_id: "test-writer".into(),
            principal: WRITER.into(),
            role: pb::Role::Committee.into(),
            scope_org_id: String::new(),
            member_id: String::new(),
            certificate: Vec::new(),
        };
        let token = keys.issue(request).await.expect("the admin issues the writer's credential").into_inner().token;
        set_writer_token(&self.data, Some(token.clone()));
        token
    }

    /// A Ledger client calling as the writer ([`Server::writer_token`]).
    pub async fn writer(&self) -> LedgerClient<Conn> {
        LedgerClient::new(self.writer_channel().await)
    }

    /// A connection calling as the writer ([`Server::writer_token`]).
    pub async fn writer_channel(&self) -> Conn {
        let token = self.writer_token().await;
        self.connect_as(&token).await
    }

    /// SIGKILL: no shutdown, no flush, nothing.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit. Async, so that the test's own connections keep
    /// being served while the server drains (a blocked client would hold the drain up).
    pub async fn stop(mut self) {
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let exit = tokio::task::spawn_blocking(move || {
            let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            assert!(status.success());
            child.wait().unwrap()
        })
        .await
        .unwrap();
        assert!(exit.success(), "chibo serve exits cleanly on SIGTERM: {exit}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The principal of [`Server::writer`]'s credential, as envelopes record it.
pub const WRITER: &str = "test writer";

/// The principal of the first admin's credential (the harness's [`admin_token`]), as envelopes
/// record it.
pub const ADMIN: &str = chibo_server::FIRST_ADMIN;

/// The actor of what the server records on its own: the first admin's credential, checkpoints.
pub const SERVER: &str = chibo_tlog::checkpoints::ACTOR;

/// Runs a `chibo` command to completion, as the admin ([`admin_token`]).
pub fn chibo(args: &[&str]) -> Output {
    Command::new(CHIBO).args(args).env("CHIBO_TOKEN", admin_token()).output().expect("the chibo binary runs")
}

/// Runs a `chibo` command to completion, calling with `token`.
pub fn chibo_as(token: &str, args: &[&str]) -> Output {
    Command::new(CHIBO).args(args).env("CHIBO_TOKEN", token).output().expect("the chibo binary runs")
}

/// Runs a `chibo` command to completion with no token (neither `CHIBO_TOKEN` nor `--token`
/// unless `args` has it).
pub fn chibo_anonymous(args: &[&str]) -> Output {
    Command::new(CHIBO).args(args).env_remove("CHIBO_TOKEN").output().expect("the chibo binary runs")
}

/// `chibo verify --data DIR --json`: its parsed report and exit code.
pub fn verify(data: &Path) -> (serde_json::Value, i32) {
    verify_with(data, &[])
}

/// `chibo verify --data DIR --json` with more flags (`--key`, `--state`).
pub fn verify_with(data: &Path, flags: &[&str]) -> (serde_json::Value, i32) {
    let out = chibo(&[&["verify", "--json", "--data", data.to_str().unwrap()], flags].concat());
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("verify prints JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (report, out.status.code().unwrap_or(-1))
}

/// A fresh random event id, in canonical form.
pub fn event_id() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).unwrap();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A StudyPointsEarned submission for `member`, on 2026-01-05: valid in a cell `member` has
/// joined (see [`Fixture`]).
pub fn points(member: &str, points: u32) -> pb::EventSubmission {
    pb::EventSubmission {
        event_id: event_id(),
        occurred_at: Some(pbjson_types::Timestamp { seconds: 1_767_600_000, nanos: 0 }),
        event: Some(pb::Event {
            kind: Some(pb::event::Kind::StudyPointsEarned(pb::StudyPointsEarned {
                member_id: member.into(),
                points,
                date: "2026-01-05".into(),
                activity: "Nghị quyết 21-NQ/TW".into(),
                source_ref: Default::default(),
            })),
        }),
    }
}

/// Every event of the global order, read over gRPC.
pub async fn read_all(client: &mut LedgerClient<Conn>) -> Vec<pb::RecordedEvent> {
    let mut stream = client
        .read_all(pb::ReadAllRequest { after_position: None, max_count: 0 })
        .await
        .expect("ReadAll answers")
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.message().await.expect("ReadAll streams") {
        events.push(event);
    }
    events
}

/// Whether `event` is one of the server's own signed checkpoints (`$checkpoints`), which it
/// records beside what clients submit.
pub fn is_checkpoint(event: &pb::RecordedEvent) -> bool {
    stream_of(event) == "$checkpoints"
}

/// The size a signed checkpoint must reach to cover every event of `log` but the server's own
/// checkpoints at its tail: a checkpoint event that is the last one recorded is not signed again
/// on its own (the signer waits for something new), so a wait for the whole length of a log
/// read just after one was recorded would never end.
pub fn size_to_sign(log: &[pb::RecordedEvent]) -> u64 {
    log.iter().rposition(|e| !is_checkpoint(e)).map_or(0, |last| log[last].position + 1)
}

/// Whether `event` records a credential issued or revoked (`$credentials`): the server writes
/// them, the first admin's on a new log and the others as the Keys service is asked.
pub fn is_credential(event: &pb::RecordedEvent) -> bool {
    stream_of(event) == "$credentials"
}

/// Whether `event` is in one of the streams only the server writes (`$checkpoints`,
/// `$credentials`), rather than submitted through the Ledger.
pub fn is_server_written(event: &pb::RecordedEvent) -> bool {
    is_checkpoint(event) || is_credential(event)
}

fn stream_of(event: &pb::RecordedEvent) -> String {
    let envelope = chibo_integrity::Envelope::decode(&event.envelope).expect("a stored envelope decodes");
    envelope.stream.to_string()
}

/// A valid StudyPointsEarned submission for `member`, on `date`.
pub fn points_on(member: &str, points: u32, date: &str) -> pb::EventSubmission {
    let mut submission = self::points(member, points);
    if let Some(pb::event::Kind::StudyPointsEarned(p)) = submission.event.as_mut().and_then(|e| e.kind.as_mut()) {
        p.date = date.into();
    }
    submission
}

// ---------------------------------------------------------------------------------------------
// What the rules need recorded first
//
// The server checks every submission against what is already recorded: a cell's events need the
// cell registered under a committee, a member's events need the member to have joined. The
// fixture records exactly that, dated before anything a test's own events say.

/// The province committee at the root of every fixture's tree: `org-thaibinh`.
pub const PROVINCE: &str = "thaibinh";

/// The day the fixture's organizations are registered and its members join, in Vietnam: before
/// every date the tests' own events use.
pub const FOUNDED: &str = "2024-01-01";

/// 08:00 on [`FOUNDED`] in Vietnam (01:00 UTC): when the fixture's events happened.
const FOUNDED_AT: i64 = 1_704_070_800;

/// The day `n` days after [`FOUNDED`], for tests that spread study points over many days (one
/// member may earn at most 200 points a day).
pub fn day(n: u32) -> String {
    let founded = chibo_domain::Date::parse("date", FOUNDED).unwrap();
    founded.plus_days(i64::from(n)).expect("a day chibo can record").to_string()
}

/// A cell for [`Fixture::record`]: its id and its members' ids.
pub struct CellSetup {
    id: String,
    members: Vec<String>,
}

/// The cell `cell-{id}` with `members` (each member belongs to one cell at a time).
pub fn cell(id: impl Into<String>, members: impl IntoIterator<Item = impl Into<String>>) -> CellSetup {
    CellSetup { id: id.into(), members: members.into_iter().map(Into::into).collect() }
}

/// For a cell without members: `cell("b", NO_MEMBERS)`.
pub const NO_MEMBERS: [&str; 0] = [];

/// One request the fixture made, and its receipts.
#[derive(Debug, Clone)]
pub struct Request {
    /// The stream submitted to.
    pub stream: String,
    /// The events, in order.
    pub events: Vec<pb::EventSubmission>,
    /// Their receipts, in the same order.
    pub receipts: Vec<pb::Receipt>,
}

/// What a test's own events stand on, as recorded: the province committee, then each cell
/// registered under it, each with its members.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The requests, in the order made.
    pub requests: Vec<Request>,
}

impl Fixture {
    /// Records, as the admin, `org-thaibinh` (one Submit), then for each cell its
    /// OrganizationRegistered under the province (a Submit to `cell-{id}`); then, as the writer
    /// ([`Server::writer`]), for each cell with members one SubmitBatch to `cell-{id}` of a
    /// MemberJoined for each, all on [`FOUNDED`]. The writer's credential is issued before all
    /// that if the log has none yet, so the fixture's events follow one another in the log.
    pub async fn record(server: &Server, cells: &[CellSetup]) -> Fixture {
        let writer = &mut server.writer().await;
        let client = &mut server.client().await;
        let mut requests = Vec::new();
        let province = registered(PROVINCE, None, pb::OrgLevel::Province, "Tỉnh ủy Thái Bình");
        let reply = client
            .submit(pb::SubmitRequest {
                stream: format!("org-{PROVINCE}"),
                expected_revision: None,
                event: Some(province.clone()),
            })
            .await
            .expect("the fixture's province is accepted");
        let receipt = reply.into_inner().receipt.expect("Submit returns a receipt");
        requests.push(Request { stream: format!("org-{PROVINCE}"), events: vec![province], receipts: vec![receipt] });
        for CellSetup { id, members } in cells {
            let stream = format!("cell-{id}");
            let cell = registered(id, Some(PROVINCE), pb::OrgLevel::Cell, &format!("Chi bộ {id}"));
            let request =
                pb::SubmitRequest { stream: stream.clone(), expected_revision: None, event: Some(cell.clone()) };
            let reply =
                client.submit(request).await.unwrap_or_else(|e| panic!("the fixture's {stream} is accepted: {e:?}"));
            let receipt = reply.into_inner().receipt.expect("Submit returns a receipt");
            requests.push(Request { stream: stream.clone(), events: vec![cell], receipts: vec![receipt] });
            if members.is_empty() {
                continue;
            }
            let events: Vec<_> = members.iter().map(|m| joined(m)).collect();
            let request =
                pb::SubmitBatchRequest { stream: stream.clone(), expected_revision: None, events: events.clone() };
            let receipts = writer
                .submit_batch(request)
                .await
                .unwrap_or_else(|e| panic!("the fixture's members of {stream} are accepted: {e:?}"))
                .into_inner()
                .receipts;
            requests.push(Request { stream, events, receipts });
        }
        Fixture { requests }
    }

    /// How many events it recorded.
    pub fn len(&self) -> usize {
        self.requests.iter().map(|r| r.events.len()).sum()
    }

    /// Its receipts, in log order.
    pub fn receipts(&self) -> impl Iterator<Item = &pb::Receipt> {
        self.requests.iter().flat_map(|r| &r.receipts)
    }

    /// How many events it recorded in `stream`: the revision a test's first event there gets.
    pub fn in_stream(&self, stream: &str) -> u64 {
        self.requests.iter().filter(|r| r.stream == stream).map(|r| r.events.len() as u64).sum()
    }
}

fn founded_at() -> Option<pbjson_types::Timestamp> {
    Some(pbjson_types::Timestamp { seconds: FOUNDED_AT, nanos: 0 })
}

fn registered(id: &str, parent: Option<&str>, level: pb::OrgLevel, name: &str) -> pb::EventSubmission {
    pb::EventSubmission {
        event_id: event_id(),
        occurred_at: founded_at(),
        event: Some(pb::Event {
            kind: Some(pb::event::Kind::OrganizationRegistered(pb::OrganizationRegistered {
                org_id: id.into(),
                parent_id: parent.unwrap_or_default().into(),
                level: level.into(),
                name: name.into(),
                cell_type: String::new(),
            })),
        }),
    }
}

fn joined(member: &str) -> pb::EventSubmission {
    pb::EventSubmission {
        event_id: event_id(),
        occurred_at: founded_at(),
        event: Some(pb::Event {
            kind: Some(pb::event::Kind::MemberJoined(pb::MemberJoined {
                member_id: member.into(),
                name: format!("Đồng chí {member}"),
                date: FOUNDED.into(),
                how: pb::MembershipChange::Admitted.into(),
                transfer_cell_id: String::new(),
            })),
        }),
    }
}

/// Copies a directory tree (a data directory, with the server stopped), and the writer's token
/// with it.
pub fn copy_tree(from: &Path, to: &Path) {
    set_writer_token(to, writer_token(from));
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}
