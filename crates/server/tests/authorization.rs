//! The authorization matrix over a real server: every role × every RPC of every chibo service,
//! in scope and out of scope (and, for writes, the event kinds each role may and may not
//! write), each revoked role, an anonymous caller and an unknown token; each row names the exact
//! status expected, written out by hand from DESIGN.md's security model and the table of
//! `projections/src/access.rs` (never computed by asking `authorize`). Every call is checked
//! against the log: a refusal appends nothing, an accepted write appends exactly its events,
//! each with the caller's principal name as the envelope's actor.
//!
//! One server on a real socket and a real SQLite store serves the whole matrix; the rows run in
//! order, each leaving the state the later rows expect.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chibo_integrity::Envelope;
use chibo_projections::engine::{self, SnapshotPolicy};
use chibo_projections::rules::RuleBook;
use chibo_projections::validate::Limits;
use chibo_projections::State;
use chibo_proto::v1::{
    self as pb, audit_client::AuditClient, evaluation_client::EvaluationClient, keys_client::KeysClient,
    ledger_client::LedgerClient, standings_client::StandingsClient,
};
use chibo_server::{AuditService, Domain, Listeners, Metrics};
use chibo_store::EventStore;
use chibo_store_sqlite::{Options, SqliteStore};
use chibo_tlog::{CheckpointConfig, Checkpoints, MerkleLog};
use tonic::codec::Streaming;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

/// When every event of the test happened: 2026-03-10T00:00:00Z.
const OCCURRED: i64 = 1_773_100_800;

/// The date every dated event of the test carries.
const DATE: &str = "2026-03-10";

/// The year the standings, evaluations and programmes are about.
const YEAR: u32 = 2026;

/// The programmes, launched in setup: one by each district.
const MAU_D1: &str = "mau-d1-2026";
const MAU_D2: &str = "mau-d2-2026";

/// A fresh event id for every event the test builds (version 4 and variant bits set).
fn event_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("00000000-0000-4000-8000-{:012x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// What the rows submit

/// An event a row submits, in the words of the table.
#[derive(Debug, Clone)]
enum Ev {
    /// StudyPointsEarned (cell): one point for the member.
    Points(&'static str),
    /// MemberJoined (cell).
    Joined(&'static str),
    /// IndicatorsScored (cell) for a programme and month, by the cell or by the committee.
    Scored(&'static str, &'static str, pb::ScoredBy),
    /// EventCorrected (cell): the named IndicatorsScored replaced by a score of the same month
    /// for the given programme, by the given scorer.
    CorrectScore(&'static str, &'static str, &'static str, pb::ScoredBy),
    /// EventRetracted of the named event.
    Retract(&'static str),
    /// ProgrammeLaunched (org).
    Programme(&'static str),
    /// CellRegistered (cell) for the programme.
    Registered(&'static str),
    /// CellSelected (org): programme, cell.
    Selected(&'static str, &'static str),
    /// InspectionConducted (org): inspection id, cell.
    Inspected(&'static str, &'static str),
    /// SigningKeyRegistered (org).
    Key(&'static str),
    /// OrganizationRegistered (own stream): id, parent ("" for a root), level.
    Org(&'static str, &'static str, pb::OrgLevel),
}

impl Ev {
    fn event(&self, named: &HashMap<&'static str, String>) -> pb::Event {
        use pb::event::Kind;
        let kind = match self {
            Ev::Points(member) => Kind::StudyPointsEarned(pb::StudyPointsEarned {
                member_id: (*member).into(),
                points: 1,
                date: DATE.into(),
                activity: "Nghị quyết Trung ương".into(),
                source_ref: Default::default(),
            }),
            Ev::Joined(member) => Kind::MemberJoined(pb::MemberJoined {
                member_id: (*member).into(),
                name: format!("Đảng viên {member}"),
                date: DATE.into(),
                how: pb::MembershipChange::Admitted.into(),
                transfer_cell_id: String::new(),
            }),
            Ev::Scored(programme, period, by) => Kind::IndicatorsScored(scored(programme, period, *by, 60)),
            Ev::CorrectScore(target, programme, period, by) => Kind::EventCorrected(Box::new(pb::EventCorrected {
                target_event_id: named[target].clone(),
                reason: "Chấm lại".into(),
                replacement: Some(Box::new(pb::Event {
                    kind: Some(Kind::IndicatorsScored(scored(programme, period, *by, 70))),
                })),
            })),
            Ev::Retract(target) => Kind::EventRetracted(pb::EventRetracted {
                target_event_id: named[target].clone(),
                reason: "Ghi nhầm".into(),
            }),
            Ev::Programme(id) => Kind::ProgrammeLaunched(pb::ProgrammeLaunched {
                programme_id: (*id).into(),
                year: YEAR,
                name: format!("Chi bộ mẫu {id}"),
                framework: Some(pb::CriteriaFramework {
                    criteria: vec![pb::Criterion {
                        criterion_id: "lanh-dao".into(),
                        name: "Lãnh đạo".into(),
                        hard: false,
                        indicators: vec![pb::Indicator {
                            indicator_id: "nghi-quyet".into(),
                            name: "Thực hiện nghị quyết".into(),
                            max_points: 100,
                        }],
                    }],
                }),
                certification_threshold: 50,
                rule_sets: Vec::new(),
                monthly_study_points_minimum: 0,
            }),
            Ev::Registered(programme) => {
                Kind::CellRegistered(pb::CellRegistered { programme_id: (*programme).into(), date: DATE.into() })
            }
            Ev::Selected(programme, cell) => Kind::CellSelected(pb::CellSelected {
                programme_id: (*programme).into(),
                cell_id: (*cell).into(),
                decision_number: "12-QĐ/HU".into(),
                date: DATE.into(),
            }),
            Ev::Inspected(id, cell) => Kind::InspectionConducted(pb::InspectionConducted {
                inspection_id: (*id).into(),
                cell_id: (*cell).into(),
                date: DATE.into(),
                findings: "Sổ sách đầy đủ".into(),
                conclusion: pb::InspectionConclusion::Passed.into(),
                programme_id: String::new(),
                criteria: Vec::new(),
            }),
            Ev::Key(id) => Kind::SigningKeyRegistered(pb::SigningKeyRegistered {
                key_id: (*id).into(),
                principal: "Văn phòng Huyện ủy".into(),
                algorithm: pb::KeyAlgorithm::Ed25519.into(),
                public_key: vec![7; 32],
            }),
            Ev::Org(id, parent, level) => Kind::OrganizationRegistered(pb::OrganizationRegistered {
                org_id: (*id).into(),
                parent_id: (*parent).into(),
                level: (*level).into(),
                name: format!("Tổ chức {id}"),
                cell_type: if *level == pb::OrgLevel::Cell { "commune".into() } else { String::new() },
            }),
        };
        pb::Event { kind: Some(kind) }
    }

    fn submission(&self, named: &HashMap<&'static str, String>) -> pb::EventSubmission {
        pb::EventSubmission {
            event_id: event_id(),
            occurred_at: Some(pbjson_types::Timestamp { seconds: OCCURRED, nanos: 0 }),
            event: Some(self.event(named)),
        }
    }
}

fn scored(programme: &str, period: &str, by: pb::ScoredBy, points: u32) -> pb::IndicatorsScored {
    pb::IndicatorsScored {
        programme_id: programme.into(),
        period: period.into(),
        scores: vec![pb::IndicatorScore { indicator_id: "nghi-quyet".into(), points }],
        scored_by: by.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The calls

/// One call of one RPC, in the words of the table.
#[derive(Debug, Clone)]
enum Call {
    Submit(&'static str, Ev),
    SubmitBatch(&'static str, Vec<Ev>),
    ReadStream(&'static str),
    ReadAll,
    Subscribe,
    MemberStanding(&'static str),
    CellStanding(&'static str),
    CommitteeStanding(&'static str),
    /// Provenance of a member's figure.
    MemberProvenance(&'static str),
    /// Provenance of a cell's figure.
    CellProvenance(&'static str),
    Evaluate(&'static str),
    GetCheckpoint,
    InclusionProof,
    ConsistencyProof,
    OrgTrail(&'static str),
    MemberTrail(&'static str),
    VerifyStream(&'static str),
    ExportBundle(&'static str),
    /// Issue a credential: role, scope org ("" for the whole tree), member ("" unless a member).
    Issue(pb::Role, &'static str, &'static str),
    List,
    Revoke(&'static str),
}

/// The RPCs, by full name: what the matrix must cover for every principal.
const RPCS: [&str; 19] = [
    "Ledger.Submit",
    "Ledger.SubmitBatch",
    "Ledger.ReadStream",
    "Ledger.ReadAll",
    "Ledger.Subscribe",
    "Standings.MemberStanding",
    "Standings.CellStanding",
    "Standings.CommitteeStanding",
    "Standings.Provenance",
    "Evaluation.Evaluate",
    "Audit.GetCheckpoint",
    "Audit.InclusionProof",
    "Audit.ConsistencyProof",
    "Audit.AuditTrail",
    "Audit.VerifyStream",
    "Audit.ExportBundle",
    "Keys.Issue",
    "Keys.List",
    "Keys.Revoke",
];

impl Call {
    fn rpc(&self) -> &'static str {
        match self {
            Call::Submit(..) => "Ledger.Submit",
            Call::SubmitBatch(..) => "Ledger.SubmitBatch",
            Call::ReadStream(_) => "Ledger.ReadStream",
            Call::ReadAll => "Ledger.ReadAll",
            Call::Subscribe => "Ledger.Subscribe",
            Call::MemberStanding(_) => "Standings.MemberStanding",
            Call::CellStanding(_) => "Standings.CellStanding",
            Call::CommitteeStanding(_) => "Standings.CommitteeStanding",
            Call::MemberProvenance(_) | Call::CellProvenance(_) => "Standings.Provenance",
            Call::Evaluate(_) => "Evaluation.Evaluate",
            Call::GetCheckpoint => "Audit.GetCheckpoint",
            Call::InclusionProof => "Audit.InclusionProof",
            Call::ConsistencyProof => "Audit.ConsistencyProof",
            Call::OrgTrail(_) | Call::MemberTrail(_) => "Audit.AuditTrail",
            Call::VerifyStream(_) => "Audit.VerifyStream",
            Call::ExportBundle(_) => "Audit.ExportBundle",
            Call::Issue(..) => "Keys.Issue",
            Call::List => "Keys.List",
            Call::Revoke(_) => "Keys.Revoke",
        }
    }

    /// How much an accepted call appends: its events, or a credential event; an export may
    /// sign (and record) one checkpoint.
    fn appends(&self) -> Appends {
        match self {
            Call::Submit(..) | Call::Issue(..) | Call::Revoke(_) => Appends::Exactly(1),
            Call::SubmitBatch(_, events) => Appends::Exactly(events.len() as u64),
            Call::ExportBundle(_) => Appends::ACheckpointAtMost,
            _ => Appends::Exactly(0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Appends {
    Exactly(u64),
    ACheckpointAtMost,
}

/// The one call of each RPC that the revoked, anonymous and unknown callers make: a call the
/// live principal of the same role could make (most of them).
fn one_call_of_each_rpc() -> Vec<Call> {
    vec![
        Call::Submit("cell-a", Ev::Points("an")),
        Call::SubmitBatch("cell-a", vec![Ev::Points("an")]),
        Call::ReadStream("cell-a"),
        Call::ReadAll,
        Call::Subscribe,
        Call::MemberStanding("an"),
        Call::CellStanding("a"),
        Call::CommitteeStanding("d1"),
        Call::MemberProvenance("an"),
        Call::Evaluate("d1"),
        Call::GetCheckpoint,
        Call::InclusionProof,
        Call::ConsistencyProof,
        Call::OrgTrail("a"),
        Call::VerifyStream("cell-a"),
        Call::ExportBundle("a"),
        Call::Issue(pb::Role::Recorder, "a", ""),
        Call::List,
        Call::Revoke("spare-b"),
    ]
}

/// A row of the matrix.
#[derive(Debug, Clone)]
struct Row {
    who: &'static str,
    call: Call,
    expect: Code,
}

// ---------------------------------------------------------------------------------------------
// The server and its callers

/// A caller: the token it presents (none for anonymous) and the principal name its credential
/// names (the actor of what it records).
struct Caller {
    token: Option<String>,
    name: String,
}

struct Server {
    channel: Channel,
    store: Arc<dyn EventStore>,
    domain: Arc<Domain>,
    checkpoints: Arc<Checkpoints>,
    callers: HashMap<&'static str, Caller>,
    /// Event ids recorded in setup, by name, for corrections and retractions.
    named: HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

/// `message` sent with `token` as its bearer credential, if any.
fn with<T>(token: Option<&str>, message: T) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// Reads a server-streaming answer: up to its end, or its first message only.
async fn read<T>(answer: Result<Response<Streaming<T>>, Status>, to_the_end: bool) -> Result<(), Status> {
    let mut stream = answer?.into_inner();
    while stream.message().await?.is_some() {
        if !to_the_end {
            break;
        }
    }
    Ok(())
}

impl Server {
    /// A server on 127.0.0.1:0 over a SQLite store in a temporary directory, with its first
    /// admin recorded; checkpoints are signed on request only, so nothing is appended behind
    /// the matrix's back.
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store: Arc<dyn EventStore> = Arc::new(SqliteStore::open(&data, Options::default()).unwrap());
        let (state, _engine) =
            engine::start::<State, _>(store.clone(), None, SnapshotPolicy::default(), std::future::pending()).await;
        let domain = Arc::new(Domain { state, rules: Arc::new(RuleBook::defaults()), limits: Limits::default() });
        domain.caught_up(store.as_ref()).await.unwrap();
        let admin = chibo_server::first_admin(store.as_ref(), &domain, None).await.unwrap().expect("a new log");

        let log = MerkleLog::open(&data.join("merkle"), store.as_ref()).await.unwrap();
        tokio::spawn(log.clone().follow(store.clone(), std::future::pending()));
        let config = CheckpointConfig {
            origin: "chibo.test/authorization".into(),
            key_file: data.join("keys").join("checkpoint.key"),
            every_events: u64::MAX,
            every: Duration::from_secs(86_400),
            lease: Duration::from_secs(15),
        };
        let (checkpoints, _signer) =
            chibo_tlog::checkpoints::start(config, store.clone(), log.clone(), std::future::pending()).await.unwrap();
        let audit = AuditService::new(store.clone(), log, checkpoints.clone(), domain.clone());

        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = grpc.local_addr().unwrap();
        tokio::spawn(chibo_server::run(
            Listeners { grpc, grpc_tls: None, metrics: None, web: None },
            store.clone(),
            domain.clone(),
            Arc::new(Metrics::new()),
            audit,
            std::future::pending(),
        ));
        let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
        let mut callers = HashMap::new();
        callers.insert("admin", Caller { token: Some(admin), name: chibo_server::FIRST_ADMIN.into() });
        callers.insert("anonymous", Caller { token: None, name: String::new() });
        // Well formed, never issued.
        let forged = format!("{}{}", chibo_server::auth::TOKEN_PREFIX, "A".repeat(43));
        callers.insert("unknown-token", Caller { token: Some(forged), name: String::new() });
        Server { channel, store, domain, checkpoints, callers, named: HashMap::new(), _dir: dir }
    }

    fn token(&self, who: &str) -> Option<&str> {
        self.callers.get(who).unwrap_or_else(|| panic!("no caller {who}")).token.as_deref()
    }

    /// How many events the log holds.
    fn log_size(&self) -> u64 {
        self.store.committed().borrow().map_or(0, |last| last + 1)
    }

    /// Setup: a submission that must be accepted; returns its event id.
    async fn record(&mut self, who: &str, stream: &str, event: Ev) -> String {
        let submission = event.submission(&self.named);
        let id = submission.event_id.clone();
        let request = pb::SubmitRequest { stream: stream.into(), expected_revision: None, event: Some(submission) };
        LedgerClient::new(self.channel.clone())
            .submit(with(self.token(who), request))
            .await
            .unwrap_or_else(|e| panic!("setup: {who} writing {event:?} to {stream}: {e:?}"));
        id
    }

    /// Setup: a credential issued by the admin, named `who` among the callers.
    async fn issue(&mut self, who: &'static str, name: &str, role: pb::Role, scope: &str, member: &str) {
        let request = pb::IssueRequest {
            credential_id: who.into(),
            principal: name.into(),
            role: role.into(),
            scope_org_id: scope.into(),
            member_id: member.into(),
            certificate: Vec::new(),
        };
        let issued = KeysClient::new(self.channel.clone())
            .issue(with(self.token("admin"), request))
            .await
            .unwrap_or_else(|e| panic!("setup: issuing {who}: {e:?}"))
            .into_inner();
        self.callers.insert(who, Caller { token: Some(issued.token), name: name.into() });
    }

    async fn revoke(&self, who: &str) {
        let request = pb::RevokeRequest { credential_id: who.into(), reason: "Chuyển công tác".into() };
        KeysClient::new(self.channel.clone())
            .revoke(with(self.token("admin"), request))
            .await
            .unwrap_or_else(|e| panic!("setup: revoking {who}: {e:?}"));
    }

    /// The tree, its members and programmes, and every caller of the matrix:
    ///
    /// ```text
    /// p (province) ── d1 (district) ── a (cell): an, binh; registered for mau-d1-2026
    ///              └─ d2 (district) ── b (cell): chi, dung; registered for mau-d2-2026
    /// ```
    async fn setup(&mut self) {
        use pb::OrgLevel::{Cell, District, Province};
        // The admin registers the tree; a committee over the whole tree writes the record books.
        for (id, parent, level) in [("p", "", Province), ("d1", "p", District), ("d2", "p", District)] {
            self.record("admin", &format!("org-{id}"), Ev::Org(id, parent, level)).await;
        }
        for (id, parent) in [("a", "d1"), ("b", "d2")] {
            self.record("admin", &format!("cell-{id}"), Ev::Org(id, parent, Cell)).await;
        }
        self.issue("committee-all", "Ban Tổ chức Tỉnh ủy", pb::Role::Committee, "", "").await;
        for (cell, member) in [("cell-a", "an"), ("cell-a", "binh"), ("cell-b", "chi"), ("cell-b", "dung")] {
            self.record("committee-all", cell, Ev::Joined(member)).await;
        }
        self.record("committee-all", "org-d1", Ev::Programme(MAU_D1)).await;
        self.record("committee-all", "org-d2", Ev::Programme(MAU_D2)).await;
        self.record("committee-all", "cell-a", Ev::Registered(MAU_D1)).await;
        self.record("committee-all", "cell-b", Ev::Registered(MAU_D2)).await;
        // What the corrections and retractions of the matrix name.
        let id = self.record("committee-all", "cell-a", Ev::Points("binh")).await;
        self.named.insert("points-of-binh", id);
        let id = self.record("committee-all", "cell-a", Ev::Scored(MAU_D1, "2026-01", pb::ScoredBy::Committee)).await;
        self.named.insert("committee-score", id);
        let id = self.record("committee-all", "cell-a", Ev::Scored(MAU_D1, "2026-02", pb::ScoredBy::Cell)).await;
        self.named.insert("self-score", id);

        // The principals of the matrix, and one of each role revoked.
        use pb::Role::{Admin, Committee, Inspector, Member, Recorder};
        self.issue("recorder-a", "Thư ký chi bộ A", Recorder, "a", "").await;
        self.issue("recorder-d1", "Ứng dụng Sổ tay đảng viên D1", Recorder, "d1", "").await;
        self.issue("committee-d1", "Ban Thường vụ Huyện ủy D1", Committee, "d1", "").await;
        self.issue("inspector-d1", "Ủy ban Kiểm tra Huyện ủy D1", Inspector, "d1", "").await;
        self.issue("inspector-all", "Ủy ban Kiểm tra Tỉnh ủy", Inspector, "", "").await;
        self.issue("member-an", "Đảng viên An", Member, "", "an").await;
        self.issue("admin-d1", "Quản trị Huyện ủy D1", Admin, "d1", "").await;
        // Reads back what the rows recorded.
        self.issue("reader", "Kiểm thử", Admin, "", "").await;
        for (who, role, scope, member) in [
            ("revoked-recorder-a", Recorder, "a", ""),
            ("revoked-committee-d1", Committee, "d1", ""),
            ("revoked-inspector-d1", Inspector, "d1", ""),
            ("revoked-member-an", Member, "", "an"),
            ("revoked-admin", Admin, "", ""),
        ] {
            self.issue(who, &format!("Đã thu hồi {who}"), role, scope, member).await;
            self.revoke(who).await;
        }
        // Credentials the Revoke rows name.
        self.issue("spare-a", "Dự phòng A", Recorder, "a", "").await;
        self.issue("spare-b", "Dự phòng B", Recorder, "b", "").await;
        self.issue("spare-b2", "Dự phòng B2", Recorder, "b", "").await;

        // A checkpoint, for GetCheckpoint and the proofs.
        self.checkpoints.sign_now().await.unwrap();
        self.domain.caught_up(self.store.as_ref()).await.unwrap();
    }

    /// Makes `call` as `who`; returns the receipts of what it recorded.
    async fn call(&self, who: &str, call: &Call, row: usize) -> Result<Vec<pb::Receipt>, Status> {
        let token = self.token(who);
        let channel = self.channel.clone();
        let none = |r: Result<(), Status>| r.map(|()| Vec::new());
        match call {
            Call::Submit(stream, event) => {
                let request = pb::SubmitRequest {
                    stream: (*stream).into(),
                    expected_revision: None,
                    event: Some(event.submission(&self.named)),
                };
                let response = LedgerClient::new(channel).submit(with(token, request)).await?.into_inner();
                Ok(response.receipt.into_iter().collect())
            }
            Call::SubmitBatch(stream, events) => {
                let request = pb::SubmitBatchRequest {
                    stream: (*stream).into(),
                    expected_revision: None,
                    events: events.iter().map(|e| e.submission(&self.named)).collect(),
                };
                Ok(LedgerClient::new(channel).submit_batch(with(token, request)).await?.into_inner().receipts)
            }
            Call::ReadStream(stream) => {
                let request = pb::ReadStreamRequest { stream: (*stream).into(), from_revision: 0, max_count: 0 };
                none(read(LedgerClient::new(channel).read_stream(with(token, request)).await, true).await)
            }
            Call::ReadAll => {
                let request = pb::ReadAllRequest { after_position: None, max_count: 0 };
                none(read(LedgerClient::new(channel).read_all(with(token, request)).await, true).await)
            }
            Call::Subscribe => {
                let request = pb::SubscribeRequest { after_position: None };
                // A subscription does not end: its first event is enough.
                none(read(LedgerClient::new(channel).subscribe(with(token, request)).await, false).await)
            }
            Call::MemberStanding(member) => {
                let request = pb::MemberStandingRequest { member_id: (*member).into(), year: YEAR };
                StandingsClient::new(channel).member_standing(with(token, request)).await.map(|_| Vec::new())
            }
            Call::CellStanding(cell) => {
                let request = pb::CellStandingRequest { cell_id: (*cell).into(), year: YEAR };
                StandingsClient::new(channel).cell_standing(with(token, request)).await.map(|_| Vec::new())
            }
            Call::CommitteeStanding(org) => {
                let request = pb::CommitteeStandingRequest { org_id: (*org).into(), year: YEAR, top: 0 };
                StandingsClient::new(channel).committee_standing(with(token, request)).await.map(|_| Vec::new())
            }
            Call::MemberProvenance(member) | Call::CellProvenance(member) => {
                let (subject, figure) = match call {
                    Call::MemberProvenance(_) => {
                        (pb::provenance_request::Subject::MemberId((*member).into()), "points_year")
                    }
                    _ => (pb::provenance_request::Subject::CellId((*member).into()), "attendance_expected"),
                };
                let request = pb::ProvenanceRequest {
                    subject: Some(subject),
                    year: YEAR,
                    figure: figure.into(),
                    month: None,
                    quarter: None,
                    meeting_id: String::new(),
                    programme_id: String::new(),
                };
                StandingsClient::new(channel).provenance(with(token, request)).await.map(|_| Vec::new())
            }
            Call::Evaluate(org) => {
                let request = pb::EvaluateRequest {
                    org_id: (*org).into(),
                    year: YEAR,
                    rule_set: Some(pb::RuleSetRef { name: "vn-qd366-2025".into(), version: 1 }),
                    log_size: None,
                };
                EvaluationClient::new(channel).evaluate(with(token, request)).await.map(|_| Vec::new())
            }
            Call::GetCheckpoint => AuditClient::new(channel)
                .get_checkpoint(with(token, pb::GetCheckpointRequest {}))
                .await
                .map(|_| Vec::new()),
            Call::InclusionProof => {
                let request = pb::InclusionProofRequest { position: 0, tree_size: 0 };
                AuditClient::new(channel).inclusion_proof(with(token, request)).await.map(|_| Vec::new())
            }
            Call::ConsistencyProof => {
                let request = pb::ConsistencyProofRequest { old_size: 1, new_size: 0 };
                AuditClient::new(channel).consistency_proof(with(token, request)).await.map(|_| Vec::new())
            }
            Call::OrgTrail(org) | Call::MemberTrail(org) => {
                let (org_id, member_id) = match call {
                    Call::OrgTrail(_) => ((*org).into(), String::new()),
                    _ => (String::new(), (*org).into()),
                };
                let request = pb::AuditTrailRequest { org_id, member_id, from: String::new(), to: String::new() };
                none(read(AuditClient::new(channel).audit_trail(with(token, request)).await, true).await)
            }
            Call::VerifyStream(stream) => {
                let request = pb::VerifyStreamRequest { stream: (*stream).into() };
                AuditClient::new(channel).verify_stream(with(token, request)).await.map(|_| Vec::new())
            }
            Call::ExportBundle(org) => {
                let request = pb::ExportBundleRequest {
                    org_id: (*org).into(),
                    from: "2026-01-01".into(),
                    to: "2026-12-31".into(),
                    since_size: 0,
                };
                none(read(AuditClient::new(channel).export_bundle(with(token, request)).await, true).await)
            }
            Call::Issue(role, scope, member) => {
                let request = pb::IssueRequest {
                    credential_id: format!("row-{row}"),
                    principal: format!("Người giữ row-{row}"),
                    role: (*role).into(),
                    scope_org_id: (*scope).into(),
                    member_id: (*member).into(),
                    certificate: Vec::new(),
                };
                let issued = KeysClient::new(channel).issue(with(token, request)).await?.into_inner();
                Ok(issued.receipt.into_iter().collect())
            }
            Call::List => {
                KeysClient::new(channel).list(with(token, pb::ListCredentialsRequest {})).await.map(|_| Vec::new())
            }
            Call::Revoke(id) => {
                let request = pb::RevokeRequest { credential_id: (*id).into(), reason: "Hết nhiệm kỳ".into() };
                let revoked = KeysClient::new(channel).revoke(with(token, request)).await?.into_inner();
                Ok(revoked.receipt.into_iter().collect())
            }
        }
    }

    /// The envelope of a recorded event, read back by an admin no row names.
    async fn envelope(&self, receipt: &pb::Receipt) -> Envelope {
        let request =
            pb::ReadStreamRequest { stream: receipt.stream.clone(), from_revision: receipt.revision, max_count: 1 };
        let mut events = LedgerClient::new(self.channel.clone())
            .read_stream(with(self.token("reader"), request))
            .await
            .unwrap()
            .into_inner();
        let event = events.message().await.unwrap().expect("the receipt's event reads back");
        assert_eq!(event.position, receipt.position);
        Envelope::decode(&event.envelope).unwrap()
    }

    /// Runs one row; returns what was wrong with it, if anything.
    async fn check(&self, i: usize, row: &Row) -> Vec<String> {
        let Row { who, call, expect } = row;
        let name = format!("row {i}: {who} {} {call:?}", call.rpc());
        let mut wrong = Vec::new();
        let before = self.log_size();
        let outcome = self.call(who, call, i).await;
        let after = self.log_size();
        // The next row sees the state this one left.
        self.domain.caught_up(self.store.as_ref()).await.unwrap();
        let code = outcome.as_ref().map_or_else(Status::code, |_| Code::Ok);
        if code != *expect {
            let said = outcome.as_ref().err().map(|s| s.message().to_owned()).unwrap_or_default();
            wrong.push(format!("{name}: expected {expect:?}, got {code:?} {said}"));
        }
        let grew = after - before;
        match (&outcome, call.appends()) {
            (Err(_), _) if grew != 0 => wrong.push(format!("{name}: refused, yet the log grew by {grew}")),
            (Err(_), _) => {}
            (Ok(_), Appends::Exactly(n)) if grew != n => {
                wrong.push(format!("{name}: accepted, and the log grew by {grew} instead of {n}"))
            }
            (Ok(_), Appends::ACheckpointAtMost) if grew > 1 => {
                wrong.push(format!("{name}: an export grew the log by {grew}"))
            }
            (Ok(_), Appends::ACheckpointAtMost) if grew == 1 => {
                let last = self.store.read_all(before.checked_sub(1), 1).await.unwrap();
                if last[0].stream != "$checkpoints" {
                    wrong.push(format!("{name}: an export appended to {}", last[0].stream));
                }
            }
            (Ok(_), _) => {}
        }
        // What an accepted call recorded names its caller.
        if let Ok(receipts) = &outcome {
            for receipt in receipts {
                let actor = self.envelope(receipt).await.actor;
                let expected = &self.callers[who].name;
                if actor != *expected {
                    wrong.push(format!("{name}: recorded with actor {actor:?}, not {expected:?}"));
                }
            }
        }
        wrong
    }
}

// ---------------------------------------------------------------------------------------------
// The matrix

/// Every live principal's rows, written out by hand from the security model:
///
/// - recorder: the events of the cells in scope (not a committee's decisions, nor the tree);
///   reads those cells' streams, standings, trails, bundles; public checkpoints and proofs;
/// - committee: a recorder's rights and the decisions of the committees in scope, including the
///   committee's own indicator scores of a cell; reads its subtree;
/// - inspector: reads its subtree (the whole log only with the whole tree); writes nothing;
/// - member: their own standing, provenance and trail (and the public checkpoints and proofs);
/// - admin: registers organizations in scope and signing keys; issues, lists and revokes
///   credentials in scope; reads everything in scope; writes no record book;
/// - nobody writes a committee's score of a cell without the committee's rights.
fn live_rows() -> Vec<Row> {
    use pb::OrgLevel::{Cell, District, Province};
    use pb::Role::{Admin, Committee, Member, Recorder};
    use pb::ScoredBy::{Cell as BY_CELL, Committee as BY_COMMITTEE};
    use Code::{Ok as OK, PermissionDenied as DENIED};
    let row = |who, call, expect| Row { who, call, expect };
    vec![
        // ---- recorder of cell a
        row("recorder-a", Call::Submit("cell-a", Ev::Points("an")), OK),
        row("recorder-a", Call::Submit("cell-a", Ev::Joined("em")), OK),
        row("recorder-a", Call::Submit("cell-b", Ev::Points("chi")), DENIED),
        row("recorder-a", Call::Submit("cell-a", Ev::Scored(MAU_D1, "2026-03", BY_CELL)), OK),
        row("recorder-a", Call::Submit("cell-a", Ev::Scored(MAU_D1, "2026-04", BY_COMMITTEE)), DENIED),
        row("recorder-a", Call::Submit("cell-a", Ev::Retract("committee-score")), DENIED),
        row(
            "recorder-a",
            Call::Submit("cell-a", Ev::CorrectScore("self-score", MAU_D1, "2026-02", BY_COMMITTEE)),
            DENIED,
        ),
        row("recorder-a", Call::Submit("cell-a", Ev::CorrectScore("self-score", MAU_D1, "2026-02", BY_CELL)), OK),
        row("recorder-a", Call::Submit("cell-a", Ev::Retract("points-of-binh")), OK),
        row("recorder-a", Call::Submit("org-d1", Ev::Programme("mau-by-recorder")), DENIED),
        row("recorder-a", Call::Submit("org-d1", Ev::Selected(MAU_D1, "a")), DENIED),
        row("recorder-a", Call::Submit("org-d1", Ev::Inspected("kt-by-recorder", "a")), DENIED),
        row("recorder-a", Call::Submit("cell-c-by-recorder", Ev::Org("c-by-recorder", "d1", Cell)), DENIED),
        row("recorder-a", Call::SubmitBatch("cell-a", vec![Ev::Points("an"), Ev::Points("binh")]), OK),
        row("recorder-a", Call::SubmitBatch("cell-b", vec![Ev::Points("chi")]), DENIED),
        // All or nothing: one event it may not write refuses the batch.
        row(
            "recorder-a",
            Call::SubmitBatch("cell-a", vec![Ev::Points("an"), Ev::Scored(MAU_D1, "2026-05", BY_COMMITTEE)]),
            DENIED,
        ),
        row("recorder-a", Call::ReadStream("cell-a"), OK),
        row("recorder-a", Call::ReadStream("cell-b"), DENIED),
        row("recorder-a", Call::ReadStream("org-d1"), DENIED),
        row("recorder-a", Call::ReadStream("$checkpoints"), OK),
        row("recorder-a", Call::ReadStream("$credentials"), DENIED),
        row("recorder-a", Call::ReadAll, DENIED),
        row("recorder-a", Call::Subscribe, DENIED),
        row("recorder-a", Call::MemberStanding("an"), OK),
        row("recorder-a", Call::MemberStanding("chi"), DENIED),
        row("recorder-a", Call::CellStanding("a"), OK),
        row("recorder-a", Call::CellStanding("b"), DENIED),
        row("recorder-a", Call::CommitteeStanding("d1"), DENIED),
        row("recorder-a", Call::MemberProvenance("an"), OK),
        row("recorder-a", Call::MemberProvenance("chi"), DENIED),
        row("recorder-a", Call::CellProvenance("a"), OK),
        row("recorder-a", Call::CellProvenance("b"), DENIED),
        row("recorder-a", Call::Evaluate("a"), OK),
        row("recorder-a", Call::Evaluate("d1"), DENIED),
        row("recorder-a", Call::GetCheckpoint, OK),
        row("recorder-a", Call::InclusionProof, OK),
        row("recorder-a", Call::ConsistencyProof, OK),
        row("recorder-a", Call::OrgTrail("a"), OK),
        row("recorder-a", Call::OrgTrail("b"), DENIED),
        row("recorder-a", Call::MemberTrail("an"), OK),
        row("recorder-a", Call::MemberTrail("chi"), DENIED),
        row("recorder-a", Call::VerifyStream("cell-a"), OK),
        row("recorder-a", Call::VerifyStream("cell-b"), DENIED),
        row("recorder-a", Call::VerifyStream("$checkpoints"), OK),
        row("recorder-a", Call::VerifyStream("$credentials"), DENIED),
        row("recorder-a", Call::ExportBundle("a"), OK),
        row("recorder-a", Call::ExportBundle("b"), DENIED),
        row("recorder-a", Call::Issue(Recorder, "a", ""), DENIED),
        row("recorder-a", Call::List, DENIED),
        row("recorder-a", Call::Revoke("spare-a"), DENIED),
        // ---- a recorder over district d1 (an app integration): the committee's decisions are
        // in its scope, and still not its to write
        row("recorder-d1", Call::Submit("cell-a", Ev::Points("an")), OK),
        row("recorder-d1", Call::Submit("cell-b", Ev::Points("chi")), DENIED),
        row("recorder-d1", Call::Submit("org-d1", Ev::Programme("mau-by-recorder-d1")), DENIED),
        row("recorder-d1", Call::Submit("org-d1", Ev::Selected(MAU_D1, "a")), DENIED),
        row("recorder-d1", Call::Submit("org-d1", Ev::Inspected("kt-by-recorder-d1", "a")), DENIED),
        row("recorder-d1", Call::Submit("cell-a", Ev::Scored(MAU_D1, "2026-09", BY_COMMITTEE)), DENIED),
        row("recorder-d1", Call::Submit("cell-c-by-recorder-d1", Ev::Org("c-by-recorder-d1", "d1", Cell)), DENIED),
        row("recorder-d1", Call::Submit("org-d1", Ev::Key("khoa-by-recorder-d1")), DENIED),
        row("recorder-d1", Call::SubmitBatch("cell-a", vec![Ev::Points("binh")]), OK),
        row("recorder-d1", Call::SubmitBatch("org-d1", vec![Ev::Programme("mau-by-recorder-d1-b")]), DENIED),
        row("recorder-d1", Call::ReadStream("org-d1"), OK),
        row("recorder-d1", Call::ReadStream("org-d2"), DENIED),
        row("recorder-d1", Call::ReadAll, DENIED),
        row("recorder-d1", Call::Subscribe, DENIED),
        row("recorder-d1", Call::MemberStanding("binh"), OK),
        row("recorder-d1", Call::MemberStanding("dung"), DENIED),
        row("recorder-d1", Call::CellStanding("a"), OK),
        row("recorder-d1", Call::CellStanding("b"), DENIED),
        row("recorder-d1", Call::CommitteeStanding("d1"), OK),
        row("recorder-d1", Call::CommitteeStanding("p"), DENIED),
        row("recorder-d1", Call::CellProvenance("a"), OK),
        row("recorder-d1", Call::MemberProvenance("dung"), DENIED),
        row("recorder-d1", Call::Evaluate("d1"), OK),
        row("recorder-d1", Call::Evaluate("d2"), DENIED),
        row("recorder-d1", Call::GetCheckpoint, OK),
        row("recorder-d1", Call::InclusionProof, OK),
        row("recorder-d1", Call::ConsistencyProof, OK),
        row("recorder-d1", Call::OrgTrail("d1"), OK),
        row("recorder-d1", Call::OrgTrail("d2"), DENIED),
        row("recorder-d1", Call::VerifyStream("org-d1"), OK),
        row("recorder-d1", Call::VerifyStream("$credentials"), DENIED),
        row("recorder-d1", Call::ExportBundle("d1"), OK),
        row("recorder-d1", Call::ExportBundle("d2"), DENIED),
        row("recorder-d1", Call::Issue(Recorder, "a", ""), DENIED),
        row("recorder-d1", Call::List, DENIED),
        row("recorder-d1", Call::Revoke("spare-a"), DENIED),
        // ---- committee of district d1
        row("committee-d1", Call::Submit("cell-a", Ev::Points("binh")), OK),
        row("committee-d1", Call::Submit("cell-b", Ev::Points("chi")), DENIED),
        row("committee-d1", Call::Submit("cell-a", Ev::Scored(MAU_D1, "2026-06", BY_COMMITTEE)), OK),
        row(
            "committee-d1",
            Call::Submit("cell-a", Ev::CorrectScore("committee-score", MAU_D1, "2026-01", BY_COMMITTEE)),
            OK,
        ),
        row("committee-d1", Call::Submit("cell-b", Ev::Scored(MAU_D2, "2026-06", BY_COMMITTEE)), DENIED),
        row("committee-d1", Call::Submit("org-d1", Ev::Selected(MAU_D1, "a")), OK),
        row("committee-d1", Call::Submit("org-d1", Ev::Inspected("kt-d1-1", "a")), OK),
        row("committee-d1", Call::Submit("org-d2", Ev::Selected(MAU_D2, "b")), DENIED),
        row("committee-d1", Call::Submit("org-p", Ev::Programme("mau-p-by-d1")), DENIED),
        row("committee-d1", Call::Submit("cell-c-by-d1", Ev::Org("c-by-d1", "d1", Cell)), DENIED),
        row("committee-d1", Call::Submit("org-d1", Ev::Key("khoa-by-d1")), DENIED),
        row(
            "committee-d1",
            Call::SubmitBatch("org-d1", vec![Ev::Programme("mau-d1-b"), Ev::Inspected("kt-d1-2", "a")]),
            OK,
        ),
        row("committee-d1", Call::SubmitBatch("org-d2", vec![Ev::Programme("mau-d2-by-d1")]), DENIED),
        row("committee-d1", Call::ReadStream("cell-a"), OK),
        row("committee-d1", Call::ReadStream("org-d1"), OK),
        row("committee-d1", Call::ReadStream("cell-b"), DENIED),
        row("committee-d1", Call::ReadStream("org-d2"), DENIED),
        row("committee-d1", Call::ReadStream("org-p"), DENIED),
        row("committee-d1", Call::ReadStream("$checkpoints"), OK),
        row("committee-d1", Call::ReadStream("$credentials"), DENIED),
        row("committee-d1", Call::ReadAll, DENIED),
        row("committee-d1", Call::Subscribe, DENIED),
        row("committee-d1", Call::MemberStanding("binh"), OK),
        row("committee-d1", Call::MemberStanding("dung"), DENIED),
        row("committee-d1", Call::CellStanding("a"), OK),
        row("committee-d1", Call::CellStanding("b"), DENIED),
        row("committee-d1", Call::CommitteeStanding("d1"), OK),
        row("committee-d1", Call::CommitteeStanding("d2"), DENIED),
        row("committee-d1", Call::CommitteeStanding("p"), DENIED),
        row("committee-d1", Call::MemberProvenance("an"), OK),
        row("committee-d1", Call::CellProvenance("b"), DENIED),
        row("committee-d1", Call::Evaluate("d1"), OK),
        row("committee-d1", Call::Evaluate("d2"), DENIED),
        row("committee-d1", Call::Evaluate("p"), DENIED),
        row("committee-d1", Call::GetCheckpoint, OK),
        row("committee-d1", Call::InclusionProof, OK),
        row("committee-d1", Call::ConsistencyProof, OK),
        row("committee-d1", Call::OrgTrail("d1"), OK),
        row("committee-d1", Call::OrgTrail("d2"), DENIED),
        row("committee-d1", Call::MemberTrail("an"), OK),
        row("committee-d1", Call::MemberTrail("chi"), DENIED),
        row("committee-d1", Call::VerifyStream("org-d1"), OK),
        row("committee-d1", Call::VerifyStream("cell-b"), DENIED),
        row("committee-d1", Call::ExportBundle("d1"), OK),
        row("committee-d1", Call::ExportBundle("d2"), DENIED),
        row("committee-d1", Call::Issue(Recorder, "a", ""), DENIED),
        row("committee-d1", Call::List, DENIED),
        row("committee-d1", Call::Revoke("spare-a"), DENIED),
        // ---- the setup's committee over the whole tree: decisions anywhere, still not the
        // tree, the whole log or the credentials
        row("committee-all", Call::Submit("org-p", Ev::Programme("mau-p")), OK),
        row("committee-all", Call::Submit("org-d2", Ev::Selected(MAU_D2, "b")), OK),
        row("committee-all", Call::Submit("org-d3-by-committee", Ev::Org("d3-by-committee", "p", District)), DENIED),
        row("committee-all", Call::SubmitBatch("cell-b", vec![Ev::Points("chi"), Ev::Points("dung")]), OK),
        row("committee-all", Call::ReadStream("cell-b"), OK),
        row("committee-all", Call::ReadStream("$credentials"), DENIED),
        row("committee-all", Call::ReadAll, DENIED),
        row("committee-all", Call::Subscribe, DENIED),
        row("committee-all", Call::MemberStanding("chi"), OK),
        row("committee-all", Call::CellStanding("b"), OK),
        row("committee-all", Call::CommitteeStanding("p"), OK),
        row("committee-all", Call::CellProvenance("b"), OK),
        row("committee-all", Call::Evaluate("p"), OK),
        row("committee-all", Call::GetCheckpoint, OK),
        row("committee-all", Call::InclusionProof, OK),
        row("committee-all", Call::ConsistencyProof, OK),
        row("committee-all", Call::OrgTrail("p"), OK),
        row("committee-all", Call::VerifyStream("cell-b"), OK),
        row("committee-all", Call::ExportBundle("p"), OK),
        row("committee-all", Call::Issue(Recorder, "b", ""), DENIED),
        row("committee-all", Call::List, DENIED),
        row("committee-all", Call::Revoke("spare-b"), DENIED),
        // ---- inspector of district d1
        row("inspector-d1", Call::Submit("cell-a", Ev::Points("an")), DENIED),
        row("inspector-d1", Call::Submit("org-d1", Ev::Inspected("kt-by-inspector", "a")), DENIED),
        row("inspector-d1", Call::Submit("cell-a", Ev::Scored(MAU_D1, "2026-07", BY_COMMITTEE)), DENIED),
        row("inspector-d1", Call::Submit("cell-c-by-inspector", Ev::Org("c-by-inspector", "d1", Cell)), DENIED),
        row("inspector-d1", Call::SubmitBatch("cell-a", vec![Ev::Points("an")]), DENIED),
        row("inspector-d1", Call::ReadStream("cell-a"), OK),
        row("inspector-d1", Call::ReadStream("org-d1"), OK),
        row("inspector-d1", Call::ReadStream("cell-b"), DENIED),
        row("inspector-d1", Call::ReadStream("org-p"), DENIED),
        row("inspector-d1", Call::ReadStream("$checkpoints"), OK),
        row("inspector-d1", Call::ReadStream("$credentials"), DENIED),
        row("inspector-d1", Call::ReadAll, DENIED),
        row("inspector-d1", Call::Subscribe, DENIED),
        row("inspector-d1", Call::MemberStanding("an"), OK),
        row("inspector-d1", Call::MemberStanding("chi"), DENIED),
        row("inspector-d1", Call::CellStanding("a"), OK),
        row("inspector-d1", Call::CellStanding("b"), DENIED),
        row("inspector-d1", Call::CommitteeStanding("d1"), OK),
        row("inspector-d1", Call::CommitteeStanding("p"), DENIED),
        row("inspector-d1", Call::CellProvenance("a"), OK),
        row("inspector-d1", Call::MemberProvenance("chi"), DENIED),
        row("inspector-d1", Call::Evaluate("d1"), OK),
        row("inspector-d1", Call::Evaluate("d2"), DENIED),
        row("inspector-d1", Call::GetCheckpoint, OK),
        row("inspector-d1", Call::InclusionProof, OK),
        row("inspector-d1", Call::ConsistencyProof, OK),
        row("inspector-d1", Call::OrgTrail("d1"), OK),
        row("inspector-d1", Call::OrgTrail("b"), DENIED),
        row("inspector-d1", Call::MemberTrail("binh"), OK),
        row("inspector-d1", Call::MemberTrail("dung"), DENIED),
        row("inspector-d1", Call::VerifyStream("cell-a"), OK),
        row("inspector-d1", Call::VerifyStream("cell-b"), DENIED),
        row("inspector-d1", Call::ExportBundle("d1"), OK),
        row("inspector-d1", Call::ExportBundle("d2"), DENIED),
        row("inspector-d1", Call::Issue(Recorder, "a", ""), DENIED),
        row("inspector-d1", Call::List, DENIED),
        row("inspector-d1", Call::Revoke("spare-a"), DENIED),
        // ---- inspector over the whole tree: the whole log too, still nothing written
        row("inspector-all", Call::Submit("cell-b", Ev::Points("chi")), DENIED),
        row("inspector-all", Call::Submit("org-p", Ev::Inspected("kt-by-inspector-all", "b")), DENIED),
        row("inspector-all", Call::SubmitBatch("org-p", vec![Ev::Programme("mau-by-inspector")]), DENIED),
        row("inspector-all", Call::ReadStream("cell-b"), OK),
        row("inspector-all", Call::ReadStream("org-p"), OK),
        row("inspector-all", Call::ReadStream("$credentials"), DENIED),
        row("inspector-all", Call::ReadAll, OK),
        row("inspector-all", Call::Subscribe, OK),
        row("inspector-all", Call::MemberStanding("dung"), OK),
        row("inspector-all", Call::CellStanding("b"), OK),
        row("inspector-all", Call::CommitteeStanding("p"), OK),
        row("inspector-all", Call::MemberProvenance("dung"), OK),
        row("inspector-all", Call::Evaluate("p"), OK),
        row("inspector-all", Call::GetCheckpoint, OK),
        row("inspector-all", Call::InclusionProof, OK),
        row("inspector-all", Call::ConsistencyProof, OK),
        row("inspector-all", Call::OrgTrail("p"), OK),
        row("inspector-all", Call::MemberTrail("dung"), OK),
        row("inspector-all", Call::VerifyStream("org-d2"), OK),
        row("inspector-all", Call::VerifyStream("$credentials"), DENIED),
        row("inspector-all", Call::ExportBundle("p"), OK),
        row("inspector-all", Call::Issue(Recorder, "a", ""), DENIED),
        row("inspector-all", Call::List, DENIED),
        row("inspector-all", Call::Revoke("spare-a"), DENIED),
        // ---- member an (of cell a): their own standing and history only
        row("member-an", Call::Submit("cell-a", Ev::Points("an")), DENIED),
        row("member-an", Call::SubmitBatch("cell-a", vec![Ev::Points("an")]), DENIED),
        row("member-an", Call::ReadStream("cell-a"), DENIED),
        row("member-an", Call::ReadStream("$checkpoints"), DENIED),
        row("member-an", Call::ReadAll, DENIED),
        row("member-an", Call::Subscribe, DENIED),
        row("member-an", Call::MemberStanding("an"), OK),
        row("member-an", Call::MemberStanding("binh"), DENIED),
        row("member-an", Call::CellStanding("a"), DENIED),
        row("member-an", Call::CommitteeStanding("d1"), DENIED),
        row("member-an", Call::MemberProvenance("an"), OK),
        row("member-an", Call::MemberProvenance("binh"), DENIED),
        row("member-an", Call::CellProvenance("a"), DENIED),
        row("member-an", Call::Evaluate("a"), DENIED),
        // Checkpoints and proofs are hashes and signatures: anyone authenticated.
        row("member-an", Call::GetCheckpoint, OK),
        row("member-an", Call::InclusionProof, OK),
        row("member-an", Call::ConsistencyProof, OK),
        row("member-an", Call::MemberTrail("an"), OK),
        row("member-an", Call::MemberTrail("binh"), DENIED),
        row("member-an", Call::OrgTrail("a"), DENIED),
        row("member-an", Call::VerifyStream("cell-a"), DENIED),
        row("member-an", Call::ExportBundle("a"), DENIED),
        row("member-an", Call::Issue(Recorder, "a", ""), DENIED),
        row("member-an", Call::List, DENIED),
        row("member-an", Call::Revoke("spare-a"), DENIED),
        // ---- the first admin, over the whole tree
        row("admin", Call::Submit("cell-c", Ev::Org("c", "d1", Cell)), OK),
        row("admin", Call::Submit("org-q", Ev::Org("q", "", Province)), OK),
        row("admin", Call::Submit("org-d1", Ev::Key("khoa-d1")), OK),
        row("admin", Call::Submit("cell-a", Ev::Points("an")), DENIED),
        row("admin", Call::Submit("cell-a", Ev::Scored(MAU_D1, "2026-08", BY_COMMITTEE)), DENIED),
        row("admin", Call::Submit("org-d1", Ev::Programme("mau-by-admin")), DENIED),
        row("admin", Call::Submit("org-d1", Ev::Inspected("kt-by-admin", "a")), DENIED),
        row("admin", Call::SubmitBatch("org-d3", vec![Ev::Org("d3", "p", District)]), OK),
        row("admin", Call::SubmitBatch("cell-b", vec![Ev::Points("chi")]), DENIED),
        row("admin", Call::ReadStream("cell-b"), OK),
        row("admin", Call::ReadStream("org-p"), OK),
        row("admin", Call::ReadStream("$checkpoints"), OK),
        row("admin", Call::ReadStream("$credentials"), OK),
        row("admin", Call::ReadAll, OK),
        row("admin", Call::Subscribe, OK),
        row("admin", Call::MemberStanding("chi"), OK),
        row("admin", Call::CellStanding("b"), OK),
        row("admin", Call::CommitteeStanding("p"), OK),
        row("admin", Call::CellProvenance("b"), OK),
        row("admin", Call::MemberProvenance("an"), OK),
        row("admin", Call::Evaluate("p"), OK),
        row("admin", Call::GetCheckpoint, OK),
        row("admin", Call::InclusionProof, OK),
        row("admin", Call::ConsistencyProof, OK),
        row("admin", Call::OrgTrail("p"), OK),
        row("admin", Call::MemberTrail("chi"), OK),
        row("admin", Call::VerifyStream("$credentials"), OK),
        row("admin", Call::VerifyStream("cell-b"), OK),
        row("admin", Call::ExportBundle("p"), OK),
        row("admin", Call::Issue(Recorder, "b", ""), OK),
        row("admin", Call::Issue(Admin, "", ""), OK),
        row("admin", Call::List, OK),
        row("admin", Call::Revoke("spare-b2"), OK),
        // ---- an admin of district d1: the tree and the credentials of its subtree only
        row("admin-d1", Call::Submit("cell-c1", Ev::Org("c1", "d1", Cell)), OK),
        row("admin-d1", Call::Submit("cell-c2", Ev::Org("c2", "d2", Cell)), DENIED),
        row("admin-d1", Call::Submit("org-r", Ev::Org("r", "", Province)), DENIED),
        row("admin-d1", Call::Submit("cell-a", Ev::Points("an")), DENIED),
        row("admin-d1", Call::SubmitBatch("cell-c3", vec![Ev::Org("c3", "d1", Cell)]), OK),
        row("admin-d1", Call::SubmitBatch("cell-c4", vec![Ev::Org("c4", "d2", Cell)]), DENIED),
        row("admin-d1", Call::ReadStream("cell-a"), OK),
        row("admin-d1", Call::ReadStream("cell-b"), DENIED),
        row("admin-d1", Call::ReadAll, DENIED),
        row("admin-d1", Call::Subscribe, DENIED),
        row("admin-d1", Call::MemberStanding("an"), OK),
        row("admin-d1", Call::MemberStanding("chi"), DENIED),
        row("admin-d1", Call::CellStanding("a"), OK),
        row("admin-d1", Call::CellStanding("b"), DENIED),
        row("admin-d1", Call::CommitteeStanding("d1"), OK),
        row("admin-d1", Call::CommitteeStanding("p"), DENIED),
        row("admin-d1", Call::MemberProvenance("an"), OK),
        row("admin-d1", Call::CellProvenance("b"), DENIED),
        row("admin-d1", Call::Evaluate("d1"), OK),
        row("admin-d1", Call::Evaluate("d2"), DENIED),
        row("admin-d1", Call::GetCheckpoint, OK),
        row("admin-d1", Call::InclusionProof, OK),
        row("admin-d1", Call::ConsistencyProof, OK),
        row("admin-d1", Call::OrgTrail("a"), OK),
        row("admin-d1", Call::OrgTrail("b"), DENIED),
        row("admin-d1", Call::VerifyStream("cell-a"), OK),
        row("admin-d1", Call::VerifyStream("cell-b"), DENIED),
        row("admin-d1", Call::ExportBundle("d1"), OK),
        row("admin-d1", Call::ExportBundle("d2"), DENIED),
        row("admin-d1", Call::Issue(Recorder, "a", ""), OK),
        row("admin-d1", Call::Issue(Member, "", "an"), OK),
        row("admin-d1", Call::Issue(Committee, "d2", ""), DENIED),
        row("admin-d1", Call::Issue(Member, "", "chi"), DENIED),
        row("admin-d1", Call::Issue(Admin, "", ""), DENIED),
        row("admin-d1", Call::List, OK),
        row("admin-d1", Call::Revoke("spare-b"), DENIED),
        row("admin-d1", Call::Revoke("admin"), DENIED),
        row("admin-d1", Call::Revoke("spare-a"), OK),
    ]
}

/// The callers whose every call is refused as unauthenticated: each role revoked, nobody, and
/// a token never issued.
const UNAUTHENTICATED: [&str; 7] = [
    "revoked-recorder-a",
    "revoked-committee-d1",
    "revoked-inspector-d1",
    "revoked-member-an",
    "revoked-admin",
    "anonymous",
    "unknown-token",
];

fn unauthenticated_rows() -> Vec<Row> {
    UNAUTHENTICATED
        .iter()
        .flat_map(|who| {
            one_call_of_each_rpc().into_iter().map(move |call| Row { who, call, expect: Code::Unauthenticated })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_rpc_in_and_out_of_scope_revoked_and_anonymous() {
    let mut server = Server::start().await;
    server.setup().await;

    let mut rows = live_rows();
    rows.extend(unauthenticated_rows());

    // The table covers every RPC for every caller.
    let mut missing = Vec::new();
    let callers: Vec<&str> = rows.iter().map(|r| r.who).collect();
    for who in callers.iter().copied().collect::<std::collections::BTreeSet<_>>() {
        for rpc in RPCS {
            if !rows.iter().any(|r| r.who == who && r.call.rpc() == rpc) {
                missing.push(format!("{who} {rpc}"));
            }
        }
    }
    assert!(missing.is_empty(), "the matrix has no row for:\n{}", missing.join("\n"));
    for role in ["recorder-a", "committee-d1", "inspector-d1", "member-an", "admin"] {
        assert!(callers.contains(&role), "no rows for {role}");
    }

    let mut wrong = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        wrong.extend(server.check(i, row).await);
    }
    assert!(wrong.is_empty(), "{} of {} rows wrong:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}
