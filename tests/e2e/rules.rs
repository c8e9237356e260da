//! The rules against current state (`chibo-projections::validate`), one case per rule, end to
//! end: one server, one small province recorded as the setup, then a table of submissions in
//! order. A refused case must get its exact status, a message that starts with the exact field
//! path and says why in a key word, and leave the log as it was; an accepted case must append
//! what it sent. Every family of rules has cases of both kinds, so a rule that refused
//! everything would fail here as surely as one that refused nothing.
//!
//! That a refusal wrote nothing is checked through the committed position: each accepted case's
//! receipts must start exactly where the previous accepted case ended, and at the end the log
//! must hold the setup and the accepted cases' events and nothing else; an event of a refused
//! case found there is reported under that case's name, which a ReadAll per case would not
//! make any clearer.
//!
//! The cases run in the order written, and the accepted ones change what later ones are checked
//! against (a cell registers for the programme, then it can be selected), so the order is part
//! of each case. Every case runs even when an earlier one fails; the test then lists them all.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{SystemTime, UNIX_EPOCH},
};

use chibo_domain::{Date, Timestamp};
use chibo_proto::v1 as pb;
use pb::{event::Kind, ledger_client::LedgerClient};
use tonic::Code;

use crate::harness::{self, Conn, Server};

const INVALID: Code = Code::InvalidArgument;
const EXISTS: Code = Code::AlreadyExists;
const CONFLICT: Code = Code::FailedPrecondition;

// ---------------------------------------------------------------------------------------------
// The province
//
// org-phu-tho (province)
// ├── org-lam-thao (district): launches kieu-mau-2026; selects and inspects khu-1
// │   └── org-thi-tran (grassroots)
// │       ├── cell-khu-1: an, binh, cuong; giang until 2025-12-31
// │       └── cell-khu-2: dung, em
// └── org-viet-tri (district): launches viet-tri-2026; above none of these cells
//
// Every organization is registered on 2025-01-01; the members join on 2025-01-10.

/// 2025-01-01T08:00 in Vietnam: when the organizations are registered.
const FOUNDED_AT: i64 = 1_735_693_200;
/// 2026-03-01T08:00 in Vietnam: when everything else is said to have happened (only an
/// organization's occurred_at is checked against anything).
const WHEN: i64 = 1_772_326_800;
const JOINED: &str = "2025-01-10";
const PROGRAMME: &str = "kieu-mau-2026";

fn at(seconds: i64) -> Option<pbjson_types::Timestamp> {
    Some(pbjson_types::Timestamp { seconds, nanos: 0 })
}

/// `kind` as a submission with a fresh id.
pub(crate) fn ev(kind: Kind) -> pb::EventSubmission {
    ev_id(&harness::event_id(), kind)
}

/// `kind` as a submission with the id `id`.
fn ev_id(id: &str, kind: Kind) -> pb::EventSubmission {
    let occurred_at = if matches!(kind, Kind::OrganizationRegistered(_)) { at(FOUNDED_AT) } else { at(WHEN) };
    pb::EventSubmission { event_id: id.into(), occurred_at, event: Some(pb::Event { kind: Some(kind) }) }
}

/// Today in Vietnam, as the server sees it, plus `days`.
fn days_from_today(days: i64) -> Date {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let today = Timestamp::from_unix_nanos(now.as_nanos() as i128).unwrap().date_in_vietnam();
    today.plus_days(days).unwrap()
}

/// A date comfortably in the future: no clock skew or time zone reaches it.
fn future() -> String {
    days_from_today(40).to_string()
}

fn rule_set(name: &str, version: u32) -> Option<pb::RuleSetRef> {
    Some(pb::RuleSetRef { name: name.into(), version })
}

// Events, as their kinds. Each sets what the shape rules ask and no more than the case needs.

fn org(id: &str, parent: &str, level: pb::OrgLevel) -> Kind {
    Kind::OrganizationRegistered(pb::OrganizationRegistered {
        org_id: id.into(),
        parent_id: parent.into(),
        level: level.into(),
        name: format!("Đảng bộ {id}"),
        cell_type: String::new(),
    })
}

fn joined(member: &str, date: &str) -> Kind {
    Kind::MemberJoined(pb::MemberJoined {
        member_id: member.into(),
        name: format!("Đồng chí {member}"),
        date: date.into(),
        how: pb::MembershipChange::Admitted.into(),
        transfer_cell_id: String::new(),
    })
}

fn transferred_in(member: &str, date: &str, from: &str) -> Kind {
    Kind::MemberJoined(pb::MemberJoined {
        member_id: member.into(),
        name: format!("Đồng chí {member}"),
        date: date.into(),
        how: pb::MembershipChange::TransferredIn.into(),
        transfer_cell_id: from.into(),
    })
}

fn transferred_out(member: &str, date: &str, to: &str) -> Kind {
    Kind::MemberLeft(pb::MemberLeft {
        member_id: member.into(),
        date: date.into(),
        how: pb::MembershipChange::TransferredOut.into(),
        transfer_cell_id: to.into(),
        reason: "Chuyển sinh hoạt".into(),
    })
}

fn removed(member: &str, date: &str) -> Kind {
    Kind::MemberLeft(pb::MemberLeft {
        member_id: member.into(),
        date: date.into(),
        how: pb::MembershipChange::Removed.into(),
        transfer_cell_id: String::new(),
        reason: "Xóa tên".into(),
    })
}

fn role(member: &str, date: &str) -> Kind {
    Kind::MemberRoleAssigned(pb::MemberRoleAssigned {
        member_id: member.into(),
        role: pb::MemberRole::Secretary.into(),
        date: date.into(),
    })
}

pub(crate) fn attendance(member: &str, status: pb::AttendanceStatus) -> pb::Attendance {
    let reason = if status == pb::AttendanceStatus::Excused { "ốm" } else { "" };
    pb::Attendance { member_id: member.into(), status: status.into(), reason: reason.into() }
}

/// A meeting with `present` all present, documents posted the day before, a guest from
/// org-thi-tran.
pub(crate) fn meeting(id: &str, kind: pb::MeetingKind, date: &str, present: &[&str]) -> pb::MeetingHeld {
    let date_parsed = Date::parse("date", date).unwrap();
    pb::MeetingHeld {
        meeting_id: id.into(),
        kind: kind.into(),
        date: date.into(),
        duration_minutes: 90,
        topic: format!("Sinh hoạt {id}"),
        minutes: String::new(),
        attendance: present.iter().map(|m| attendance(m, pb::AttendanceStatus::Present)).collect(),
        guests: vec![pb::Guest {
            name: "Trần Văn Khách".into(),
            committee_id: "thi-tran".into(),
            position: "Đảng ủy viên".into(),
        }],
        check_in_source: pb::CheckInSource::App.into(),
        documents_posted_on: date_parsed.plus_days(-1).unwrap().to_string(),
        committee_prepared: true,
    }
}

/// The regular meeting of khu-1 on `date`, everybody present.
fn regular(id: &str, date: &str) -> Kind {
    Kind::MeetingHeld(meeting(id, pb::MeetingKind::Regular, date, &["an", "binh", "cuong"]))
}

pub(crate) fn held(meeting: pb::MeetingHeld) -> Kind {
    Kind::MeetingHeld(meeting)
}

pub(crate) fn spoke(meeting: &str, member: &str) -> Kind {
    Kind::MemberSpoke(pb::MemberSpoke {
        meeting_id: meeting.into(),
        member_id: member.into(),
        summary: "Ý kiến".into(),
    })
}

pub(crate) fn commended(meeting: &str, member: &str) -> Kind {
    Kind::MemberCommended(pb::MemberCommended {
        meeting_id: meeting.into(),
        member_id: member.into(),
        reason: "Gương mẫu".into(),
    })
}

fn reminded(meeting: &str, member: &str) -> Kind {
    Kind::MemberReminded(pb::MemberReminded {
        meeting_id: meeting.into(),
        member_id: member.into(),
        reason: "Nhắc nhở".into(),
        severity: pb::ReminderSeverity::Reminder.into(),
    })
}

fn resolution(meeting: &str, id: &str) -> Kind {
    Kind::ResolutionAdopted(pb::ResolutionAdopted {
        meeting_id: meeting.into(),
        resolution_id: id.into(),
        title: format!("Nghị quyết {id}"),
        summary: String::new(),
    })
}

fn task(id: &str, resolution: &str, member: &str) -> Kind {
    Kind::TaskAssigned(pb::TaskAssigned {
        task_id: id.into(),
        resolution_id: resolution.into(),
        member_id: member.into(),
        description: format!("Nhiệm vụ {id}"),
        due: "2026-04-30".into(),
    })
}

fn done(task: &str, member: &str, date: &str) -> Kind {
    Kind::TaskCompleted(pb::TaskCompleted {
        task_id: task.into(),
        member_id: member.into(),
        date: date.into(),
        outcome: "Hoàn thành".into(),
    })
}

pub(crate) fn points(member: &str, points: u32, date: &str) -> Kind {
    Kind::StudyPointsEarned(pb::StudyPointsEarned {
        member_id: member.into(),
        points,
        date: date.into(),
        activity: "Học tập nghị quyết".into(),
        source_ref: Default::default(),
    })
}

fn trained(candidate: &str, date: &str) -> Kind {
    Kind::CandidateTrained(pb::CandidateTrained {
        candidate_id: candidate.into(),
        name: format!("Quần chúng {candidate}"),
        course: "Lớp nhận thức về Đảng".into(),
        date: date.into(),
    })
}

/// A programme for 2026: "leads" (i1 up to 40, i2 up to 30) and the hard criterion "products"
/// (i3 up to 30); certification from 80 points.
fn launched(id: &str, rule_sets: &[(&str, u32)]) -> Kind {
    let indicator = |id: &str, max_points| pb::Indicator { indicator_id: id.into(), name: id.into(), max_points };
    Kind::ProgrammeLaunched(pb::ProgrammeLaunched {
        programme_id: id.into(),
        year: 2026,
        name: format!("Chương trình {id}"),
        framework: Some(pb::CriteriaFramework {
            criteria: vec![
                pb::Criterion {
                    criterion_id: "leads".into(),
                    name: "Lãnh đạo".into(),
                    hard: false,
                    indicators: vec![indicator("i1", 40), indicator("i2", 30)],
                },
                pb::Criterion {
                    criterion_id: "products".into(),
                    name: "Sản phẩm".into(),
                    hard: true,
                    indicators: vec![indicator("i3", 30)],
                },
            ],
        }),
        certification_threshold: 80,
        rule_sets: rule_sets.iter().map(|(name, version)| rule_set(name, *version).unwrap()).collect(),
        monthly_study_points_minimum: 20,
    })
}

fn registered(programme: &str, date: &str) -> Kind {
    Kind::CellRegistered(pb::CellRegistered { programme_id: programme.into(), date: date.into() })
}

fn indicators(programme: &str, period: &str, scores: &[(&str, u32)], by: pb::ScoredBy) -> Kind {
    Kind::IndicatorsScored(pb::IndicatorsScored {
        programme_id: programme.into(),
        period: period.into(),
        scores: scores
            .iter()
            .map(|(id, points)| pb::IndicatorScore { indicator_id: (*id).into(), points: *points })
            .collect(),
        scored_by: by.into(),
    })
}

fn selected(programme: &str, cell: &str, date: &str) -> Kind {
    Kind::CellSelected(pb::CellSelected {
        programme_id: programme.into(),
        cell_id: cell.into(),
        decision_number: "01-QĐ".into(),
        date: date.into(),
    })
}

fn certified(programme: &str, cell: &str, score: u32, date: &str) -> Kind {
    Kind::CellCertified(pb::CellCertified {
        programme_id: programme.into(),
        cell_id: cell.into(),
        decision_number: "02-QĐ".into(),
        date: date.into(),
        score,
    })
}

fn revoked(programme: &str, cell: &str, date: &str) -> Kind {
    Kind::CertificationRevoked(pb::CertificationRevoked {
        programme_id: programme.into(),
        cell_id: cell.into(),
        decision_number: "03-QĐ".into(),
        date: date.into(),
        reason: "Vi phạm".into(),
    })
}

fn inspected(id: &str, cell: &str, date: &str, programme: &str, criteria: &[(&str, bool)]) -> Kind {
    Kind::InspectionConducted(pb::InspectionConducted {
        inspection_id: id.into(),
        cell_id: cell.into(),
        date: date.into(),
        findings: "Kiểm tra hồ sơ".into(),
        conclusion: pb::InspectionConclusion::Passed.into(),
        programme_id: programme.into(),
        criteria: criteria.iter().map(|(c, met)| pb::CriterionCheck { criterion_id: (*c).into(), met: *met }).collect(),
    })
}

/// A meeting score on `phutho-meeting-score` v1's parts (15, 20, 45, 20).
fn scored(meeting: &str, rubric: (&str, u32), parts: &[(&str, u32)], scorer: &str) -> Kind {
    Kind::MeetingScored(pb::MeetingScored {
        meeting_id: meeting.into(),
        rubric: rule_set(rubric.0, rubric.1),
        parts: parts.iter().map(|(part, points)| pb::ScorePart { part: (*part).into(), points: *points }).collect(),
        scorer: scorer.into(),
    })
}

const GOOD_SCORE: [(&str, u32); 4] = [("preparation", 14), ("attendance", 18), ("running", 40), ("closing", 18)];
const MEETING_RUBRIC: (&str, u32) = ("phutho-meeting-score", 1);
const CLASSIFICATION: (&str, u32) = ("vn-qd366-2025", 1);

fn member_classified(year: u32, cell: &str, member: &str, rules: (&str, u32)) -> Kind {
    Kind::MemberClassified(pb::MemberClassified {
        year,
        cell_id: cell.into(),
        member_id: member.into(),
        level: pb::ClassificationLevel::Good.into(),
        rule_set: rule_set(rules.0, rules.1),
        evaluation_digest: vec![1; 32],
    })
}

fn cell_classified(year: u32, cell: &str, rules: (&str, u32)) -> Kind {
    Kind::CellClassified(pb::CellClassified {
        year,
        cell_id: cell.into(),
        level: pb::ClassificationLevel::Good.into(),
        rule_set: rule_set(rules.0, rules.1),
        evaluation_digest: vec![2; 32],
    })
}

fn key(id: &str) -> Kind {
    Kind::SigningKeyRegistered(pb::SigningKeyRegistered {
        key_id: id.into(),
        principal: "committee:lam-thao".into(),
        algorithm: pb::KeyAlgorithm::Ed25519.into(),
        public_key: vec![5; 32],
    })
}

fn key_revoked(id: &str) -> Kind {
    Kind::SigningKeyRevoked(pb::SigningKeyRevoked { key_id: id.into(), reason: "Thay khóa".into() })
}

pub(crate) fn corrected(target: &str, replacement: Kind) -> Kind {
    Kind::EventCorrected(Box::new(pb::EventCorrected {
        target_event_id: target.into(),
        reason: "Sửa sai sót".into(),
        replacement: Some(Box::new(pb::Event { kind: Some(replacement) })),
    }))
}

pub(crate) fn retracted(target: &str) -> Kind {
    Kind::EventRetracted(pb::EventRetracted { target_event_id: target.into(), reason: "Nhập nhầm".into() })
}

// ---------------------------------------------------------------------------------------------
// The setup

/// The ids of setup events that cases name.
struct Setup {
    khu_1_registration: String,
    thi_tran_registration: String,
    dung_joined: String,
    february_meeting: String,
    retracted_points: String,
    retraction: String,
    cuong_points: String,
    programme_launch: String,
}

/// Who submits: the admin registers organizations and signing keys, and corrects or retracts
/// what it wrote; the writer, a committee over the whole tree, writes everything else.
struct Callers {
    admin: LedgerClient<Conn>,
    writer: LedgerClient<Conn>,
    /// The ids of the events the admin submitted.
    by_admin: HashSet<String>,
}

impl Callers {
    async fn of(server: &Server) -> Callers {
        Callers { admin: server.client().await, writer: server.writer().await, by_admin: HashSet::new() }
    }

    /// Whether `event` is the admin's to submit.
    fn is_admin(&self, event: &pb::EventSubmission) -> bool {
        match event.event.as_ref().and_then(|e| e.kind.as_ref()) {
            Some(Kind::OrganizationRegistered(_) | Kind::SigningKeyRegistered(_) | Kind::SigningKeyRevoked(_)) => true,
            Some(Kind::EventCorrected(c)) => self.by_admin.contains(&c.target_event_id),
            Some(Kind::EventRetracted(r)) => self.by_admin.contains(&r.target_event_id),
            _ => false,
        }
    }

    /// The client that submits `events`, which are all the admin's or all the writer's.
    fn client_for(&mut self, events: &[pb::EventSubmission]) -> &mut LedgerClient<Conn> {
        let admin = events.first().is_some_and(|e| self.is_admin(e));
        assert!(events.iter().all(|e| self.is_admin(e) == admin), "one caller per request: {events:?}");
        if admin {
            self.by_admin.extend(events.iter().map(|e| e.event_id.clone()));
            &mut self.admin
        } else {
            &mut self.writer
        }
    }
}

/// Records `events` in `stream`: in one batch, or in one batch per run of the same caller's.
async fn record(callers: &mut Callers, stream: &str, events: Vec<pb::EventSubmission>) {
    let mut runs: Vec<Vec<pb::EventSubmission>> = Vec::new();
    for event in events {
        match runs.last_mut() {
            Some(run) if callers.is_admin(&run[0]) == callers.is_admin(&event) => run.push(event),
            _ => runs.push(vec![event]),
        }
    }
    for events in runs {
        let client = callers.client_for(&events);
        let request = pb::SubmitBatchRequest { stream: stream.into(), expected_revision: None, events };
        if let Err(status) = client.submit_batch(request).await {
            panic!("the setup of {stream} is accepted: {status:?}");
        }
    }
}

async fn set_up(client: &mut Callers) -> Setup {
    use pb::OrgLevel::{Cell, District, Grassroots, Province};
    let ids = Setup {
        khu_1_registration: harness::event_id(),
        thi_tran_registration: harness::event_id(),
        dung_joined: harness::event_id(),
        february_meeting: harness::event_id(),
        retracted_points: harness::event_id(),
        retraction: harness::event_id(),
        cuong_points: harness::event_id(),
        programme_launch: harness::event_id(),
    };
    record(client, "org-phu-tho", vec![ev(org("phu-tho", "", Province))]).await;
    record(client, "org-lam-thao", vec![ev(org("lam-thao", "phu-tho", District))]).await;
    record(client, "org-viet-tri", vec![ev(org("viet-tri", "phu-tho", District))]).await;
    record(client, "org-thi-tran", vec![ev_id(&ids.thi_tran_registration, org("thi-tran", "lam-thao", Grassroots))])
        .await;
    // khu-2 first: giang transfers there from khu-1.
    let khu_2 = vec![
        ev(org("khu-2", "thi-tran", Cell)),
        ev_id(&ids.dung_joined, joined("dung", JOINED)),
        ev(joined("em", JOINED)),
    ];
    record(client, "cell-khu-2", khu_2).await;
    let khu_1 = vec![
        ev_id(&ids.khu_1_registration, org("khu-1", "thi-tran", Cell)),
        ev(joined("an", JOINED)),
        ev(joined("binh", JOINED)),
        ev(joined("cuong", JOINED)),
        ev(joined("giang", JOINED)),
        ev(transferred_out("giang", "2025-12-31", "khu-2")),
    ];
    record(client, "cell-khu-1", khu_1).await;
    let lam_thao = vec![
        ev_id(&ids.programme_launch, launched(PROGRAMME, &[MEETING_RUBRIC, CLASSIFICATION])),
        ev(key("lam-thao-2026")),
    ];
    record(client, "org-lam-thao", lam_thao).await;
    record(client, "org-viet-tri", vec![ev(launched("viet-tri-2026", &[]))]).await;

    let mut january = meeting("2026-01", pb::MeetingKind::Regular, "2026-01-08", &[]);
    january.attendance = vec![
        attendance("an", pb::AttendanceStatus::Present),
        attendance("binh", pb::AttendanceStatus::Unexcused),
        attendance("cuong", pb::AttendanceStatus::Excused),
    ];
    let khu_1 = vec![
        ev(registered(PROGRAMME, "2026-01-15")),
        ev(held(january)),
        ev_id(&ids.february_meeting, regular("2026-02", "2026-02-05")),
        ev(spoke("2026-01", "an")),
        ev(resolution("2026-01", "nq-01")),
        ev(task("t-1", "nq-01", "an")),
        ev(done("t-1", "an", "2026-01-20")),
        ev(task("t-2", "nq-01", "binh")),
        ev(points("an", 150, "2026-03-10")),
        ev_id(&ids.retracted_points, points("an", 10, "2026-03-11")),
        ev_id(&ids.retraction, retracted(&ids.retracted_points)),
        ev_id(&ids.cuong_points, points("cuong", 5, "2026-03-12")),
        // 91 points: above the threshold of 80.
        ev(indicators(PROGRAMME, "2026-05", &[("i1", 38), ("i2", 28), ("i3", 25)], pb::ScoredBy::Committee)),
    ];
    record(client, "cell-khu-1", khu_1).await;
    let lam_thao = vec![
        ev(selected(PROGRAMME, "khu-1", "2026-02-01")),
        // The hard criterion is not met at this inspection.
        ev(inspected("kt-1", "khu-1", "2026-06-10", PROGRAMME, &[("leads", true), ("products", false)])),
    ];
    record(client, "org-lam-thao", lam_thao).await;
    ids
}

// ---------------------------------------------------------------------------------------------
// The cases

enum Expect {
    Accepted,
    /// The status, the field path the message starts with, and a word of the reason.
    Refused(Code, String, &'static str),
}

struct Case {
    family: &'static str,
    name: String,
    stream: String,
    /// One event goes in with Submit, more with SubmitBatch.
    events: Vec<pb::EventSubmission>,
    expect: Expect,
}

/// The cases of one family, in order.
struct Family {
    name: &'static str,
    cases: Vec<Case>,
}

impl Family {
    fn new(name: &'static str) -> Self {
        Self { name, cases: Vec::new() }
    }

    /// `kind`, submitted alone to `stream`, is refused with `code`; the message starts with
    /// `path` (given from the event's oneof field, `meeting_held.date`, or as `stream`, or
    /// from the submission, `event.occurred_at`) followed by `: `, and contains `word`.
    fn refuse(&mut self, name: &str, stream: &str, kind: Kind, code: Code, path: &str, word: &'static str) {
        self.refuse_submission(name, stream, ev(kind), code, path, word);
    }

    fn refuse_submission(
        &mut self,
        name: &str,
        stream: &str,
        submission: pb::EventSubmission,
        code: Code,
        path: &str,
        word: &'static str,
    ) {
        let path = match path {
            "stream" => "stream: ".to_owned(),
            p if p.starts_with("event.") => format!("{p}: "),
            p => format!("event.event.{p}: "),
        };
        self.push(name, stream, vec![submission], Expect::Refused(code, path, word));
    }

    /// `events`, submitted as one batch to `stream`, are refused because of event `index`, at
    /// `path` within it.
    fn refuse_batch(
        &mut self,
        name: &str,
        stream: &str,
        events: Vec<Kind>,
        code: Code,
        (index, path): (usize, &str),
        word: &'static str,
    ) {
        let path = format!("events[{index}].event.{path}: ");
        self.push(name, stream, events.into_iter().map(ev).collect(), Expect::Refused(code, path, word));
    }

    /// `kind`, submitted alone to `stream`, is accepted.
    fn accept(&mut self, name: &str, stream: &str, kind: Kind) {
        self.push(name, stream, vec![ev(kind)], Expect::Accepted);
    }

    fn accept_submission(&mut self, name: &str, stream: &str, submission: pb::EventSubmission) {
        self.push(name, stream, vec![submission], Expect::Accepted);
    }

    /// `events`, submitted as one batch to `stream`, are accepted.
    fn accept_batch(&mut self, name: &str, stream: &str, events: Vec<Kind>) {
        self.push(name, stream, events.into_iter().map(ev).collect(), Expect::Accepted);
    }

    fn push(&mut self, name: &str, stream: &str, events: Vec<pb::EventSubmission>, expect: Expect) {
        self.cases.push(Case { family: self.name, name: name.into(), stream: stream.into(), events, expect });
    }
}

/// Every case, in the order they run. Families come back to a rule when an accepted case of
/// another family has changed what it is checked against. One case a line, to read as a table.
#[rustfmt::skip]
fn cases(ids: &Setup) -> Vec<Family> {
    use pb::OrgLevel::{Cell, District, Grassroots};
    use pb::ScoredBy::{Cell as BySelf, Committee};
    let mut all = Vec::new();
    let (k1, k2, k3) = ("cell-khu-1", "cell-khu-2", "cell-khu-3");
    let (lam_thao, viet_tri, thi_tran) = ("org-lam-thao", "org-viet-tri", "org-thi-tran");

    let mut f = Family::new("organizations");
    f.refuse("parent unknown", "cell-khu-9", org("khu-9", "nowhere", Cell), CONFLICT, "organization_registered.parent_id", "not a registered organization");
    f.refuse("parent of a lower level", "org-xa-moi", org("xa-moi", "khu-1", Grassroots), CONFLICT, "organization_registered.parent_id", "cannot be the parent");
    f.refuse("parent of the same level", "org-ha-hoa", org("ha-hoa", "lam-thao", District), CONFLICT, "organization_registered.parent_id", "cannot be the parent");
    f.refuse("id reused", "org-lam-thao", org("lam-thao", "phu-tho", District), EXISTS, "organization_registered.org_id", "already registered");
    f.refuse("id of a cell reused", k1, org("khu-1", "thi-tran", Cell), EXISTS, "organization_registered.org_id", "already registered");
    let early = pb::EventSubmission { occurred_at: at(FOUNDED_AT - 200 * 86_400), ..ev(org("khu-9", "thi-tran", Cell)) };
    f.refuse_submission("registered before its parent", "cell-khu-9", early, CONFLICT, "event.occurred_at", "before the parent");
    f.accept("a cell under the grassroots committee", k3, org("khu-3", "thi-tran", Cell));
    all.push(f);

    let mut f = Family::new("streams");
    f.refuse("a cell that is not registered", "cell-ghost", trained("hung", "2026-02-01"), CONFLICT, "stream", "not a registered cell");
    f.refuse("a committee that is not registered", "org-ghost", key("ghost-1"), CONFLICT, "stream", "not a registered committee");
    f.accept("a registered cell", k1, trained("hung", "2026-02-01"));
    all.push(f);

    let mut f = Family::new("candidates");
    f.refuse("trained in the future", k1, trained("ly", &future()), INVALID, "candidate_trained.date", "in the future");
    f.accept("trained in the past", k1, trained("ly", "2026-02-15"));
    all.push(f);

    let mut f = Family::new("membership");
    f.refuse("join while active in another cell", k1, joined("dung", "2026-03-01"), CONFLICT, "member_joined.member_id", "record their MemberLeft");
    f.refuse("join while already a member", k1, joined("an", "2026-03-01"), CONFLICT, "member_joined.member_id", "already a member");
    f.refuse("join before the departure it follows", k1, joined("giang", "2025-06-01"), CONFLICT, "member_joined.date", "departure");
    f.refuse("join in the future", k3, joined("hoa", &future()), INVALID, "member_joined.date", "in the future");
    f.refuse("transfer in from an unknown cell", k3, transferred_in("hoa", "2026-03-01", "ghost"), CONFLICT, "member_joined.transfer_cell_id", "not a registered cell");
    f.refuse("leave when not a member", k1, removed("hoa", "2026-03-01"), CONFLICT, "member_left.member_id", "not a member");
    f.refuse("leave a cell one has already left", k1, removed("giang", "2026-03-01"), CONFLICT, "member_left.member_id", "not a member");
    f.refuse("departure before joining", k1, removed("an", "2024-12-01"), CONFLICT, "member_left.date", "before an joined");
    f.refuse("transfer out to an unknown cell", k1, transferred_out("an", "2026-03-01", "ghost"), CONFLICT, "member_left.transfer_cell_id", "not a registered cell");
    f.refuse("a role for a non-member on that date", k1, role("an", "2024-12-01"), CONFLICT, "member_role_assigned.member_id", "not a member");
    f.accept("a role for a member", k1, role("an", "2025-02-01"));
    f.refuse("a transfer in dated before the transfer out", k2, transferred_in("giang", "2025-12-01", "khu-1"), CONFLICT, "member_joined.date", "one cell at a time");
    f.accept("a transfer in after the transfer out", k2, transferred_in("giang", "2026-01-02", "khu-1"));
    f.accept("a new member of a new cell", k3, joined("hoa", "2026-03-01"));
    all.push(f);

    let mut f = Family::new("meetings");
    let mut m = meeting("2026-03", pb::MeetingKind::Regular, "2026-03-05", &["an", "binh"]);
    f.refuse("attendance missing a member", k1, held(m.clone()), CONFLICT, "meeting_held.attendance", "cuong, a member of cell-khu-1 on 2026-03-05, is missing");
    m.attendance.extend([attendance("cuong", pb::AttendanceStatus::Present), attendance("dung", pb::AttendanceStatus::Present)]);
    f.refuse("attendance listing a non-member", k1, held(m), CONFLICT, "meeting_held.attendance[3].member_id", "dung is not a member");
    let m = meeting("2026-03", pb::MeetingKind::Regular, "2026-03-05", &["an", "binh", "cuong", "giang"]);
    f.refuse("attendance listing a member who had left", k1, held(m), CONFLICT, "meeting_held.attendance[3].member_id", "giang is not a member");
    let mut m = meeting("2026-03", pb::MeetingKind::Regular, &future(), &["an", "binh", "cuong"]);
    m.documents_posted_on = String::new();
    f.refuse("dated in the future", k1, held(m), INVALID, "meeting_held.date", "in the future");
    f.refuse("before the cell was registered", k1, held(meeting("2024-12", pb::MeetingKind::Regular, "2024-12-20", &["an"])), CONFLICT, "meeting_held.date", "before cell-khu-1 was registered");
    f.refuse("a second regular meeting in a month", k1, regular("2026-01-b", "2026-01-20"), CONFLICT, "meeting_held.kind", "already held its regular meeting");
    f.refuse("meeting id reused", k1, regular("2026-01", "2026-03-05"), EXISTS, "meeting_held.meeting_id", "already recorded");
    let mut m = meeting("2026-03", pb::MeetingKind::Regular, "2026-03-05", &["an", "binh", "cuong"]);
    m.documents_posted_on = "2026-03-06".into();
    f.refuse("documents posted after the meeting", k1, held(m), INVALID, "meeting_held.documents_posted_on", "after the meeting");
    let mut m = meeting("2026-03", pb::MeetingKind::Regular, "2026-03-05", &["an", "binh", "cuong"]);
    m.guests[0].committee_id = "viet-tri".into();
    f.refuse("a guest from a committee not above the cell", k1, held(m), CONFLICT, "meeting_held.guests[0].committee_id", "not a committee above");
    f.accept("the March regular meeting", k1, regular("2026-03", "2026-03-05"));
    f.accept("a second meeting in March, declared extraordinary", k1, held(meeting("2026-03-x", pb::MeetingKind::Extraordinary, "2026-03-20", &["an", "binh", "cuong"])));
    all.push(f);

    let mut f = Family::new("at a meeting");
    f.refuse("a speaker absent with a reason", k1, spoke("2026-01", "cuong"), CONFLICT, "member_spoke.member_id", "not present");
    f.refuse("a speaker not on the attendance list", k1, spoke("2026-01", "dung"), CONFLICT, "member_spoke.member_id", "not on meeting 2026-01's attendance list");
    f.refuse("a speaker at an unknown meeting", k1, spoke("khong-co", "an"), CONFLICT, "member_spoke.meeting_id", "no meeting");
    f.refuse("commended while absent", k1, commended("2026-01", "binh"), CONFLICT, "member_commended.member_id", "not present");
    f.refuse("reminded while absent", k1, reminded("2026-01", "binh"), CONFLICT, "member_reminded.member_id", "not present");
    f.accept("a speaker who was present", k1, spoke("2026-02", "binh"));
    f.accept("commended while present", k1, commended("2026-01", "an"));
    f.accept("reminded while present", k1, reminded("2026-02", "cuong"));
    all.push(f);

    let mut f = Family::new("resolutions");
    f.refuse("at an unknown meeting", k1, resolution("khong-co", "nq-09"), CONFLICT, "resolution_adopted.meeting_id", "no meeting");
    f.refuse("resolution id reused", k1, resolution("2026-02", "nq-01"), EXISTS, "resolution_adopted.resolution_id", "already recorded");
    f.accept("a new resolution", k1, resolution("2026-02", "nq-02"));
    all.push(f);

    let mut f = Family::new("tasks");
    f.refuse("task id reused", k1, task("t-1", "nq-01", "cuong"), EXISTS, "task_assigned.task_id", "already recorded");
    f.refuse("under an unknown resolution", k1, task("t-3", "nq-99", "cuong"), CONFLICT, "task_assigned.resolution_id", "no resolution");
    f.refuse("for a non-member", k1, task("t-3", "nq-01", "dung"), CONFLICT, "task_assigned.member_id", "not a member");
    f.refuse("completed by another member", k1, done("t-2", "an", "2026-02-20"), CONFLICT, "task_completed.member_id", "assigned to binh");
    f.refuse("completed twice", k1, done("t-1", "an", "2026-02-20"), EXISTS, "task_completed.task_id", "already completed");
    f.refuse("completion of an unknown task", k1, done("t-99", "an", "2026-02-20"), CONFLICT, "task_completed.task_id", "no task");
    f.refuse("completed in the future", k1, done("t-2", "binh", &future()), INVALID, "task_completed.date", "in the future");
    f.accept("a new task", k1, task("t-3", "nq-02", "cuong"));
    f.accept("completed by its member", k1, done("t-2", "binh", "2026-02-20"));
    all.push(f);

    let mut f = Family::new("study points");
    f.refuse("before the member joined", k1, points("an", 10, "2025-01-05"), CONFLICT, "study_points_earned.member_id", "an is not a member of cell-khu-1 on 2025-01-05");
    f.refuse("after the member left", k1, points("giang", 10, "2026-03-10"), CONFLICT, "study_points_earned.member_id", "giang is not a member");
    f.refuse("over the daily cap", k1, points("an", 51, "2026-03-10"), CONFLICT, "study_points_earned.points", "daily cap of 200");
    f.refuse("in the future", k1, points("an", 10, &future()), INVALID, "study_points_earned.date", "in the future");
    f.accept("up to the daily cap exactly", k1, points("an", 50, "2026-03-10"));
    f.accept("the day after, afresh", k1, points("an", 200, "2026-03-13"));
    all.push(f);

    let mut f = Family::new("indicator scores");
    let score = |period: &str, scores: &[(&str, u32)], by| indicators(PROGRAMME, period, scores, by);
    f.refuse("an unknown indicator", k1, score("2026-06", &[("i9", 10)], Committee), CONFLICT, "indicators_scored.scores[0].indicator_id", "not an indicator");
    f.refuse("points over the indicator's maximum", k1, score("2026-06", &[("i1", 38), ("i2", 31)], Committee), CONFLICT, "indicators_scored.scores[1].points", "maximum of 30");
    f.refuse("a period outside the programme's year", k1, score("2025-12", &[("i1", 38)], Committee), CONFLICT, "indicators_scored.period", "outside");
    let next_month = days_from_today(40).period().to_string();
    f.refuse("a period in the future", k1, score(&next_month, &[("i1", 38)], Committee), INVALID, "indicators_scored.period", "in the future");
    f.refuse("a cell not registered for the programme", k2, score("2026-05", &[("i1", 20)], Committee), CONFLICT, "indicators_scored.programme_id", "has not registered");
    f.refuse("an unknown programme", k1, indicators("khong-co", "2026-05", &[("i1", 20)], Committee), CONFLICT, "indicators_scored.programme_id", "no programme");
    f.refuse("a month scored twice by the same scorer", k1, score("2026-05", &[("i1", 30)], Committee), EXISTS, "indicators_scored.period", "already scored");
    f.accept("the same month scored by the cell itself", k1, score("2026-05", &[("i1", 35), ("i2", 25), ("i3", 20)], BySelf));
    all.push(f);

    let mut f = Family::new("programmes");
    f.refuse("programme id reused", viet_tri, launched(PROGRAMME, &[]), EXISTS, "programme_launched.programme_id", "already launched");
    f.refuse("an unknown rule set", thi_tran, launched("thi-tran-2026", &[("khong-co", 1)]), CONFLICT, "programme_launched.rule_sets[0]", "no rule set");
    f.refuse("a rule set's unknown version", thi_tran, launched("thi-tran-2026", &[("phutho-meeting-score", 9)]), CONFLICT, "programme_launched.rule_sets[0]", "no rule set");
    f.accept("a programme naming known rule sets", thi_tran, launched("thi-tran-2026", &[MEETING_RUBRIC]));
    all.push(f);

    let mut f = Family::new("selections");
    f.refuse("without a registration", lam_thao, selected(PROGRAMME, "khu-2", "2026-03-01"), CONFLICT, "cell_selected.cell_id", "has not registered");
    f.refuse("selected twice", lam_thao, selected(PROGRAMME, "khu-1", "2026-03-01"), EXISTS, "cell_selected.cell_id", "already selected");
    f.refuse("a programme another committee runs", viet_tri, selected(PROGRAMME, "khu-1", "2026-03-01"), CONFLICT, "cell_selected.programme_id", "run by org-lam-thao");
    f.refuse("a cell not below the committee", viet_tri, selected("viet-tri-2026", "khu-1", "2026-03-01"), CONFLICT, "cell_selected.cell_id", "not below org-viet-tri");
    f.refuse("an unknown programme", lam_thao, selected("khong-co", "khu-1", "2026-03-01"), CONFLICT, "cell_selected.programme_id", "no programme");
    f.refuse("an unknown cell", lam_thao, selected(PROGRAMME, "ghost", "2026-03-01"), CONFLICT, "cell_selected.cell_id", "not a registered cell");
    f.refuse("dated in the future", lam_thao, selected(PROGRAMME, "khu-2", &future()), INVALID, "cell_selected.date", "in the future");
    all.push(f);

    let mut f = Family::new("inspections");
    let inspect = |id: &str, cell: &str, criteria: &[(&str, bool)]| inspected(id, cell, "2026-07-10", PROGRAMME, criteria);
    let both = [("leads", true), ("products", true)];
    f.refuse("inspection id reused", lam_thao, inspect("kt-1", "khu-1", &both), EXISTS, "inspection_conducted.inspection_id", "already recorded");
    f.refuse("a cell not below the committee", viet_tri, inspect("kt-1", "khu-1", &both), CONFLICT, "inspection_conducted.cell_id", "not below org-viet-tri");
    f.refuse("a hard criterion not checked", lam_thao, inspect("kt-2", "khu-1", &[("leads", true)]), CONFLICT, "inspection_conducted.criteria", "hard criterion products");
    f.refuse("an unknown criterion", lam_thao, inspect("kt-2", "khu-1", &[("leads", true), ("products", true), ("extra", true)]), CONFLICT, "inspection_conducted.criteria[2].criterion_id", "not a criterion");
    f.refuse("a cell not registered for the programme", lam_thao, inspect("kt-2", "khu-2", &both), CONFLICT, "inspection_conducted.programme_id", "has not registered");
    f.refuse("an unknown cell", lam_thao, inspect("kt-2", "ghost", &both), CONFLICT, "inspection_conducted.cell_id", "not a registered cell");
    f.refuse("dated in the future", lam_thao, inspected("kt-2", "khu-1", &future(), PROGRAMME, &both), INVALID, "inspection_conducted.date", "in the future");
    all.push(f);

    let mut f = Family::new("registrations");
    f.refuse("a programme of a committee not above the cell", k1, registered("viet-tri-2026", "2026-01-15"), CONFLICT, "cell_registered.programme_id", "not above cell-khu-1");
    f.refuse("registered twice", k1, registered(PROGRAMME, "2026-02-15"), EXISTS, "cell_registered.programme_id", "already registered");
    f.refuse("an unknown programme", k1, registered("khong-co", "2026-02-15"), CONFLICT, "cell_registered.programme_id", "no programme");
    f.refuse("dated in the future", k2, registered(PROGRAMME, &future()), INVALID, "cell_registered.date", "in the future");
    f.accept("a cell below the programme's committee", k2, registered(PROGRAMME, "2026-01-20"));
    all.push(f);

    let mut f = Family::new("certifications");
    f.refuse("without a selection", lam_thao, certified(PROGRAMME, "khu-2", 85, "2026-08-01"), CONFLICT, "cell_certified.cell_id", "was not selected");
    all.push(f);

    let mut f = Family::new("selections");
    f.accept("a registered cell", lam_thao, selected(PROGRAMME, "khu-2", "2026-02-01"));
    all.push(f);

    let mut f = Family::new("certifications");
    let certify = |cell: &str, score: u32| certified(PROGRAMME, cell, score, "2026-08-01");
    f.refuse("no recorded indicator score", lam_thao, certify("khu-2", 85), CONFLICT, "cell_certified.cell_id", "no indicator score");
    all.push(f);

    let mut f = Family::new("indicator scores");
    f.accept("a low score for the other cell", k2, indicators(PROGRAMME, "2026-05", &[("i1", 20), ("i2", 15), ("i3", 15)], Committee));
    all.push(f);

    let mut f = Family::new("certifications");
    f.refuse("recorded score below the threshold", lam_thao, certify("khu-2", 85), CONFLICT, "cell_certified.cell_id", "latest recorded score");
    f.refuse("a score below the threshold", lam_thao, certify("khu-1", 79), CONFLICT, "cell_certified.score", "below");
    f.refuse("a score above the framework's best", lam_thao, certify("khu-1", 101), CONFLICT, "cell_certified.score", "above");
    f.refuse("a hard criterion not met at the latest inspection", lam_thao, certify("khu-1", 90), CONFLICT, "cell_certified.cell_id", "hard criterion products");
    f.refuse("by a committee not running the programme", thi_tran, certify("khu-1", 90), CONFLICT, "cell_certified.programme_id", "run by org-lam-thao");
    f.refuse("dated in the future", lam_thao, certified(PROGRAMME, "khu-1", 90, &future()), INVALID, "cell_certified.date", "in the future");
    all.push(f);

    let mut f = Family::new("inspections");
    f.accept("every hard criterion checked, and met", lam_thao, inspect("kt-2", "khu-1", &both));
    all.push(f);

    let mut f = Family::new("certifications");
    f.accept("selected, scored above the threshold, hard criterion met", lam_thao, certify("khu-1", 90));
    f.refuse("certified twice", lam_thao, certify("khu-1", 92), EXISTS, "cell_certified.cell_id", "already certified");
    all.push(f);

    let mut f = Family::new("revocations");
    f.refuse("without a certification", lam_thao, revoked(PROGRAMME, "khu-2", "2026-09-01"), CONFLICT, "certification_revoked.cell_id", "holds no certification");
    f.refuse("by a committee not running the programme", viet_tri, revoked(PROGRAMME, "khu-1", "2026-09-01"), CONFLICT, "certification_revoked.programme_id", "run by org-lam-thao");
    f.accept("of a certification in force", lam_thao, revoked(PROGRAMME, "khu-1", "2026-09-01"));
    f.refuse("revoked twice", lam_thao, revoked(PROGRAMME, "khu-1", "2026-09-02"), CONFLICT, "certification_revoked.cell_id", "holds no certification");
    all.push(f);

    let mut f = Family::new("meeting scores");
    let score = |meeting: &str, rubric, parts: &[(&str, u32)], scorer: &str| scored(meeting, rubric, parts, scorer);
    f.refuse("an unknown rubric", k1, score("2026-02", ("khong-co", 1), &GOOD_SCORE, "lam-thao"), CONFLICT, "meeting_scored.rubric", "no meeting-scoring rule set");
    f.refuse("a rule set that is no rubric", k1, score("2026-02", CLASSIFICATION, &GOOD_SCORE, "lam-thao"), CONFLICT, "meeting_scored.rubric", "no meeting-scoring rule set");
    f.refuse("an unknown meeting", k1, score("khong-co", MEETING_RUBRIC, &GOOD_SCORE, "lam-thao"), CONFLICT, "meeting_scored.meeting_id", "no meeting");
    let mut over = GOOD_SCORE;
    over[0].1 = 16;
    f.refuse("a part over its maximum", k1, score("2026-02", MEETING_RUBRIC, &over, "lam-thao"), INVALID, "meeting_scored.parts[0].points", "at most 15");
    f.refuse("a part missing", k1, score("2026-02", MEETING_RUBRIC, &GOOD_SCORE[..3], "lam-thao"), INVALID, "meeting_scored.parts", "closing");
    let mut unknown = GOOD_SCORE.to_vec();
    unknown.push(("extra", 1));
    f.refuse("an unknown part", k1, score("2026-02", MEETING_RUBRIC, &unknown, "lam-thao"), INVALID, "meeting_scored.parts[4].part", "not a part");
    f.refuse("a scorer neither a member nor a committee above", k1, score("2026-02", MEETING_RUBRIC, &GOOD_SCORE, "viet-tri"), CONFLICT, "meeting_scored.scorer", "neither");
    f.accept("by a committee above the cell", k1, score("2026-02", MEETING_RUBRIC, &GOOD_SCORE, "lam-thao"));
    f.accept("by a member of the cell", k1, score("2026-01", MEETING_RUBRIC, &GOOD_SCORE, "an"));
    f.refuse("a second score by the same scorer", k1, score("2026-02", MEETING_RUBRIC, &GOOD_SCORE, "lam-thao"), EXISTS, "meeting_scored.meeting_id", "already scored by lam-thao");
    f.accept("the same meeting, by another scorer", k1, score("2026-02", MEETING_RUBRIC, &GOOD_SCORE, "an"));
    all.push(f);

    let mut f = Family::new("classifications");
    let next_year = u32::from(days_from_today(0).year()) + 1;
    f.refuse("a member, with an unknown rule set", lam_thao, member_classified(2025, "khu-1", "an", ("khong-co", 1)), CONFLICT, "member_classified.rule_set", "no classification rule set");
    f.refuse("a member, with a rule set that is no classification", lam_thao, member_classified(2025, "khu-1", "an", MEETING_RUBRIC), CONFLICT, "member_classified.rule_set", "no classification rule set");
    f.refuse("a member, for a year not begun", lam_thao, member_classified(next_year, "khu-1", "an", CLASSIFICATION), INVALID, "member_classified.year", "has not begun");
    f.refuse("someone not a member of the cell that year", lam_thao, member_classified(2025, "khu-1", "dung", CLASSIFICATION), CONFLICT, "member_classified.member_id", "was not a member");
    f.refuse("a member of a cell not below the committee", viet_tri, member_classified(2025, "khu-1", "an", CLASSIFICATION), CONFLICT, "member_classified.cell_id", "not below org-viet-tri");
    f.accept("a member, for a year", lam_thao, member_classified(2025, "khu-1", "an", CLASSIFICATION));
    f.accept("a member who left during the year", lam_thao, member_classified(2025, "khu-1", "giang", CLASSIFICATION));
    f.refuse("a member, twice", lam_thao, member_classified(2025, "khu-1", "an", CLASSIFICATION), EXISTS, "member_classified.member_id", "already classified");
    f.refuse("a cell, with an unknown rule set", lam_thao, cell_classified(2025, "khu-1", ("khong-co", 1)), CONFLICT, "cell_classified.rule_set", "no classification rule set");
    f.refuse("a cell not below the committee", viet_tri, cell_classified(2025, "khu-1", CLASSIFICATION), CONFLICT, "cell_classified.cell_id", "not below org-viet-tri");
    f.accept("a cell, for a year", lam_thao, cell_classified(2025, "khu-1", CLASSIFICATION));
    f.refuse("a cell, twice", lam_thao, cell_classified(2025, "khu-1", CLASSIFICATION), EXISTS, "cell_classified.cell_id", "already classified");
    all.push(f);

    let mut f = Family::new("signing keys");
    f.refuse("key id reused", lam_thao, key("lam-thao-2026"), EXISTS, "signing_key_registered.key_id", "already registered");
    f.refuse("revoking an unknown key", lam_thao, key_revoked("khong-co"), CONFLICT, "signing_key_revoked.key_id", "no key");
    f.accept("revoking a key in force", lam_thao, key_revoked("lam-thao-2026"));
    f.refuse("revoking a key twice", lam_thao, key_revoked("lam-thao-2026"), CONFLICT, "signing_key_revoked.key_id", "no key");
    f.accept("a new key", lam_thao, key("lam-thao-2027"));
    all.push(f);

    let mut f = Family::new("corrections");
    let feb = &ids.february_meeting;
    let correction = harness::event_id();
    f.refuse("an unknown target", k1, corrected(&harness::event_id(), regular("2026-02", "2026-02-05")), CONFLICT, "event_corrected.target_event_id", "no event");
    f.refuse("a target in another stream", k1, corrected(&ids.dung_joined, joined("dung", "2025-01-11")), CONFLICT, "event_corrected.target_event_id", "no event");
    f.refuse("a target of another type", k1, corrected(feb, points("an", 5, "2026-02-05")), INVALID, "event_corrected.replacement", "the corrected event is a MeetingHeld");
    f.refuse("changing the id", k1, corrected(feb, regular("2026-02-b", "2026-02-05")), INVALID, "event_corrected.replacement.meeting_held.meeting_id", "cannot change which thing");
    // (A change of id, or between a cell and a committee, the shape rules refuse first: the
    // replacement would belong in another stream.)
    let district = org("thi-tran", "phu-tho", District);
    f.refuse("changing an organization's level", thi_tran, corrected(&ids.thi_tran_registration, district), INVALID, "event_corrected.replacement.organization_registered.level", "cannot be corrected");
    let short = meeting("2026-02", pb::MeetingKind::Regular, "2026-02-05", &["an", "binh"]);
    f.refuse("a replacement that breaks a rule", k1, corrected(feb, held(short)), CONFLICT, "event_corrected.replacement.meeting_held.attendance", "cuong, a member of cell-khu-1 on 2026-02-05, is missing");
    f.refuse("a retracted target", k1, corrected(&ids.retracted_points, points("an", 12, "2026-03-11")), CONFLICT, "event_corrected.target_event_id", "was retracted");
    // The replacement is checked in the original's place: the February meeting stays the
    // month's one regular meeting.
    let mut longer = meeting("2026-02", pb::MeetingKind::Regular, "2026-02-05", &["an", "binh", "cuong"]);
    longer.duration_minutes = 120;
    f.accept_submission("the February meeting's duration", k1, ev_id(&correction, corrected(feb, held(longer.clone()))));
    longer.duration_minutes = 110;
    f.accept("a corrected event, corrected again", k1, corrected(feb, held(longer)));
    f.refuse("a correction as the target", k1, corrected(&correction, regular("2026-02", "2026-02-05")), CONFLICT, "event_corrected.target_event_id", "itself a correction");
    all.push(f);

    let mut f = Family::new("retractions");
    f.refuse("an organization", k1, retracted(&ids.khu_1_registration), CONFLICT, "event_retracted.target_event_id", "cannot be retracted");
    f.refuse("retracted twice", k1, retracted(&ids.retracted_points), CONFLICT, "event_retracted.target_event_id", "was retracted");
    f.refuse("an unknown target", k1, retracted(&harness::event_id()), CONFLICT, "event_retracted.target_event_id", "no event");
    f.refuse("a retraction as the target", k1, retracted(&ids.retraction), CONFLICT, "event_retracted.target_event_id", "itself a correction or retraction");
    f.refuse("a programme cells registered for", lam_thao, retracted(&ids.programme_launch), CONFLICT, "event_retracted.target_event_id", "has registrations");
    f.accept("study points", k1, retracted(&ids.cuong_points));
    all.push(f);

    let mut f = Family::new("batches");
    f.refuse_batch(
        "a second regular meeting, invalid only after the first in the same batch",
        k1,
        vec![regular("2026-04", "2026-04-02"), regular("2026-04-b", "2026-04-16")],
        CONFLICT,
        (1, "meeting_held.kind"),
        "already held its regular meeting of 2026-04",
    );
    f.refuse_batch(
        "points over the daily cap only with an earlier event of the same batch",
        k1,
        vec![points("binh", 120, "2026-04-01"), points("binh", 90, "2026-04-01")],
        CONFLICT,
        (1, "study_points_earned.points"),
        "already has 120 points",
    );
    f.accept_batch(
        "a speaker at a meeting recorded earlier in the same batch",
        k1,
        vec![regular("2026-04", "2026-04-02"), spoke("2026-04", "binh")],
    );
    f.accept_batch(
        "points of a member who joined earlier in the same batch",
        k3,
        vec![joined("khanh", "2026-04-01"), points("khanh", 30, "2026-04-02")],
    );
    all.push(f);

    all
}

// ---------------------------------------------------------------------------------------------
// Running them

/// Runs `case`, whose events, if accepted, should land at `next` onwards; returns how many it
/// appended, or what went wrong.
async fn run(callers: &mut Callers, case: &Case, next: u64) -> Result<u64, String> {
    let mut events = case.events.clone();
    let client = callers.client_for(&events);
    let result = if events.len() == 1 {
        let request = pb::SubmitRequest { stream: case.stream.clone(), expected_revision: None, event: events.pop() };
        client.submit(request).await.map(|r| r.into_inner().receipt.into_iter().collect::<Vec<_>>())
    } else {
        let request = pb::SubmitBatchRequest { stream: case.stream.clone(), expected_revision: None, events };
        client.submit_batch(request).await.map(|r| r.into_inner().receipts)
    };
    match (&case.expect, result) {
        (Expect::Accepted, Ok(receipts)) => {
            // The log grew by exactly these events: nothing was appended since the last
            // accepted case (no refused case wrote anything in between), and all of this one.
            let positions: Vec<u64> = receipts.iter().map(|r| r.position).collect();
            let expected: Vec<u64> = (next..next + case.events.len() as u64).collect();
            if positions != expected || receipts.iter().any(|r| r.duplicate) {
                return Err(format!("accepted at positions {positions:?}, not {expected:?}"));
            }
            Ok(expected.len() as u64)
        }
        (Expect::Accepted, Err(status)) => Err(format!("refused: {:?}: {}", status.code(), status.message())),
        (Expect::Refused(..), Ok(_)) => Err("accepted".into()),
        (Expect::Refused(code, path, word), Err(status)) => {
            let message = status.message();
            let mut wrong = Vec::new();
            if status.code() != *code {
                wrong.push(format!("status {:?}, not {code:?}", status.code()));
            }
            if !message.starts_with(path.as_str()) {
                wrong.push(format!("the message does not start with {path:?}"));
            }
            if !message.contains(word) {
                wrong.push(format!("the message does not say {word:?}"));
            }
            if wrong.is_empty() {
                Ok(0)
            } else {
                Err(format!("{}: {message:?}", wrong.join("; ")))
            }
        }
    }
}

/// The event id of a recorded event.
fn event_id(event: &pb::RecordedEvent) -> String {
    chibo_integrity::Envelope::decode(&event.envelope).expect("a stored envelope decodes").event_id.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rule_refuses_what_breaks_it_and_only_that() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut callers = Callers::of(&server).await;
    let ids = set_up(&mut callers).await;
    let mut client = server.client().await;
    let set_up_len = harness::read_all(&mut client).await.len();

    let families = cases(&ids);
    let mut failures = Vec::new();
    // Per family: how many cases were refused and accepted as expected.
    let mut passed: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    // Which case sent each event id, and whether it was to be accepted.
    let mut sent_by: HashMap<&str, (String, bool)> = HashMap::new();
    let mut next = set_up_len as u64;
    let mut total = 0;
    for case in families.iter().flat_map(|f| &f.cases) {
        total += 1;
        let label = format!("{}: {}", case.family, case.name);
        let accepted = matches!(case.expect, Expect::Accepted);
        for event in &case.events {
            sent_by.insert(&event.event_id, (label.clone(), accepted));
        }
        let tally = passed.entry(case.family).or_default();
        match run(&mut callers, case, next).await {
            Ok(appended) => {
                next += appended;
                if accepted {
                    tally.1 += 1;
                } else {
                    tally.0 += 1;
                }
            }
            Err(what) => failures.push(format!("{label}: {what}")),
        }
    }
    // Every refused case left the log as it was: what the log holds after the setup is exactly
    // the accepted cases' events.
    let log = harness::read_all(&mut client).await;
    for event in &log[set_up_len..] {
        match sent_by.get(event_id(event).as_str()) {
            Some((_, true)) => {}
            Some((label, false)) => failures.push(format!("{label}: refused, but written at {}", event.position)),
            None => failures.push(format!("an event nobody sent is at {}", event.position)),
        }
    }
    if log.len() as u64 != next {
        failures
            .push(format!("the log holds {} events, not the {next} of the setup and the accepted cases", log.len()));
    }
    assert!(failures.is_empty(), "{} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
    // A family whose rules refused everything, or nothing, would show here too.
    for (family, (refused, accepted)) in &passed {
        assert!(*refused > 0 && *accepted > 0, "{family}: {refused} refused and {accepted} accepted as expected");
    }
    println!("{total} cases in {} families", passed.len());

    server.stop().await;
    let (report, code) = harness::verify(dir.path());
    assert_eq!((code, report["intact"].as_bool()), (0, Some(true)), "{report}");
}
