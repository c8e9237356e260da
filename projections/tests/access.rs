//! The authorization matrix: every role, with scopes inside and outside the tree, against every
//! kind of action, each expected outcome written out by hand; then a cell moved to another
//! committee, and the scopes following it.

mod common;

use chibo_domain::event::{
    CellSelected, CellSelectedFields, CheckpointSigned, CheckpointSignedFields, EventCorrected, EventCorrectedFields,
    EventRetracted, EventRetractedFields, MemberJoined, MemberJoinedFields, MembershipChange, OrgLevel,
    StudyPointsEarned, StudyPointsEarnedFields,
};
use chibo_domain::{Date, Event, EventId, Id, StreamName, Timestamp};
use chibo_projections::access::{authorize, Action, Principal, Role, Scope};
use chibo_projections::{Recorded, State};
use common::{id, org};

fn date(s: &str) -> Date {
    Date::parse("date", s).unwrap()
}

fn cell(c: &str) -> StreamName {
    StreamName::Cell(id(c))
}

fn committee(c: &str) -> StreamName {
    StreamName::Org(id(c))
}

/// A state built by applying events as recorded, without the rules (they are not under test).
struct Log {
    state: State,
    next_id: u8,
}

impl Log {
    fn record(&mut self, stream: StreamName, event: Event) -> EventId {
        self.next_id += 1;
        let event_id = EventId::from_bytes([self.next_id; 16]);
        let at = Timestamp::new("t", 1_735_700_000, 0).unwrap();
        let recorded = Recorded {
            position: self.state.log_size(),
            revision: self.state.stream(&stream).map_or(0, |s| s.next_revision),
            stream,
            event_id,
            occurred_at: at,
            recorded_at: at,
            hash: [self.next_id; 32],
            event: Some(event),
        };
        drop(self.state.apply(&recorded));
        event_id
    }
}

fn joined(member: &str) -> Event {
    MemberJoined::new(MemberJoinedFields {
        member_id: id(member),
        name: format!("Đảng viên {member}"),
        date: date("2025-01-02"),
        how: MembershipChange::Admitted,
        transfer_cell_id: None,
    })
    .unwrap()
    .into()
}

fn points(member: &str) -> Event {
    StudyPointsEarned::new(StudyPointsEarnedFields {
        member_id: id(member),
        points: 10,
        date: date("2025-02-01"),
        activity: "Nghị quyết".into(),
        source_ref: Default::default(),
    })
    .unwrap()
    .into()
}

fn selected(cell: &str) -> Event {
    CellSelected::new(CellSelectedFields {
        programme_id: id("mau-2025"),
        cell_id: id(cell),
        decision_number: "12-QĐ/HU".into(),
        date: date("2025-03-01"),
    })
    .unwrap()
    .into()
}

fn retracted(target: EventId) -> Event {
    EventRetracted::new(EventRetractedFields { target_event_id: target, reason: "nhầm".into() }).unwrap().into()
}

/// p (province) → d1 → c1, c2; p → d2 → c3. Member m1 in c1, m3 in c3; study points in c1.
/// Returns the log, c1's registration and the points event.
fn province() -> (Log, EventId, EventId) {
    let mut log = Log { state: State::new(), next_id: 0 };
    log.record(committee("p"), org("p", None, OrgLevel::Province));
    log.record(committee("d1"), org("d1", Some("p"), OrgLevel::District));
    log.record(committee("d2"), org("d2", Some("p"), OrgLevel::District));
    let c1 = log.record(cell("c1"), org("c1", Some("d1"), OrgLevel::Cell));
    log.record(cell("c2"), org("c2", Some("d1"), OrgLevel::Cell));
    log.record(cell("c3"), org("c3", Some("d2"), OrgLevel::Cell));
    log.record(cell("c1"), joined("m1"));
    log.record(cell("c3"), joined("m3"));
    let earned = log.record(cell("c1"), points("m1"));
    (log, c1, earned)
}

fn principal(name: &str, role: Role, scope: Scope) -> Principal {
    Principal { name: name.into(), role, scope }
}

/// The actions, in the order of the expectation strings below.
fn actions<'a>(
    streams: &'a [StreamName; 9],
    events: &'a [Event; 9],
    ids: &'a (Id, Id, Id, Id),
) -> Vec<(&'static str, Action<'a>)> {
    let append = |i: usize| Action::Append { stream: &streams[i], event: &events[i] };
    vec![
        ("points to cell-c1", append(0)),
        ("points to cell-c3", append(1)),
        ("selection to org-d1", append(2)),
        ("selection to org-d2", append(3)),
        ("register c4 under d1", append(4)),
        ("register a new root q", append(5)),
        ("retract c1's points", append(6)),
        ("retract c1's registration", append(7)),
        ("a checkpoint", append(8)),
        ("read cell-c1", Action::ReadStream(&streams[0])),
        ("read cell-c3", Action::ReadStream(&streams[1])),
        ("read $checkpoints", Action::ReadStream(&streams[8])),
        ("read the whole log", Action::ReadLog),
        ("proofs", Action::Proofs),
        ("member m1", Action::ReadMember(&ids.0)),
        ("member m3", Action::ReadMember(&ids.1)),
        ("org d1", Action::ReadOrg(&ids.2)),
        ("org p", Action::ReadOrg(&ids.3)),
        ("credentials", Action::Credentials),
    ]
}

#[test]
fn every_role_in_and_out_of_scope_against_every_action() {
    let (log, c1, earned) = province();
    let checkpoint: Event = CheckpointSigned::new(CheckpointSignedFields { note: "a note".into() }).unwrap().into();
    let streams = [
        cell("c1"),
        cell("c3"),
        committee("d1"),
        committee("d2"),
        cell("c4"),
        committee("q"),
        cell("c1"),
        cell("c1"),
        StreamName::Checkpoints,
    ];
    let events = [
        points("m1"),
        points("m3"),
        selected("c1"),
        selected("c3"),
        org("c4", Some("d1"), OrgLevel::Cell),
        org("q", None, OrgLevel::Province),
        retracted(earned),
        retracted(c1),
        checkpoint,
    ];
    let ids = (id("m1"), id("m3"), id("d1"), id("p"));
    let actions = actions(&streams, &events, &ids);

    // One letter per action above: Y allowed, n denied.
    let matrix = [
        (principal("rec-d1", Role::Recorder, Scope::Tree(id("d1"))), "YnnnnnYnnYnYnYYnYnn"),
        (principal("rec-c3", Role::Recorder, Scope::Tree(id("c3"))), "nYnnnnnnnnYYnYnYnnn"),
        (principal("com-d1", Role::Committee, Scope::Tree(id("d1"))), "YnYnnnYnnYnYnYYnYnn"),
        (principal("ins-d2", Role::Inspector, Scope::Tree(id("d2"))), "nnnnnnnnnnYYnYnYnnn"),
        (principal("ins-all", Role::Inspector, Scope::All), "nnnnnnnnnYYYYYYYYYn"),
        (principal("m1", Role::Member, Scope::Member(id("m1"))), "nnnnnnnnnnnnnYYnnnn"),
        (principal("adm-p", Role::Admin, Scope::Tree(id("p"))), "nnnnYnnYnYYYnYYYYYY"),
        (principal("adm-all", Role::Admin, Scope::All), "nnnnYYnYnYYYYYYYYYY"),
    ];
    let mut wrong = Vec::new();
    for (who, expected) in &matrix {
        assert_eq!(expected.len(), actions.len(), "{}: one letter per action", who.name);
        for ((what, action), want) in actions.iter().zip(expected.chars()) {
            let got = authorize(&log.state, who, *action);
            if got.is_ok() != (want == 'Y') {
                wrong.push(format!("{} {what}: expected {want}, got {got:?}", who.name));
            }
            if let Err(denied) = got {
                assert!(denied.0.starts_with(&format!("{} {:?} may not ", who.role, who.name)), "{denied}");
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn a_refusal_says_who_what_and_why() {
    let (log, ..) = province();
    let recorder = principal("thu-ky-c3", Role::Recorder, Scope::Tree(id("c3")));
    let denied = authorize(&log.state, &recorder, Action::Append { stream: &cell("c1"), event: &points("m1") });
    assert_eq!(
        denied.unwrap_err().0,
        "recorder \"thu-ky-c3\" may not write StudyPointsEarned to cell-c1: c1 is outside its scope (c3 and below)"
    );
    let inspector = principal("ubkt", Role::Inspector, Scope::All);
    let denied = authorize(&log.state, &inspector, Action::Append { stream: &cell("c1"), event: &points("m1") });
    assert_eq!(
        denied.unwrap_err().0,
        "inspector \"ubkt\" may not write StudyPointsEarned to cell-c1: that is for a recorder or a committee"
    );
}

#[test]
fn a_cell_moved_to_another_committee_moves_out_of_one_scope_and_into_the_other() {
    let (mut log, c1, _) = province();
    let d1 = principal("com-d1", Role::Committee, Scope::Tree(id("d1")));
    let d2 = principal("com-d2", Role::Committee, Scope::Tree(id("d2")));
    let write = |state: &State, who: &Principal| {
        authorize(state, who, Action::Append { stream: &cell("c1"), event: &points("m1") }).is_ok()
    };
    assert!(write(&log.state, &d1) && !write(&log.state, &d2), "before the move: d1's");

    // c1's registration corrected: its parent is now d2.
    let moved = EventCorrected::new(EventCorrectedFields {
        target_event_id: c1,
        reason: "Chuyển sinh hoạt về Đảng bộ d2".into(),
        replacement: Box::new(org("c1", Some("d2"), OrgLevel::Cell)),
    })
    .unwrap();
    log.record(cell("c1"), moved.into());
    assert!(!write(&log.state, &d1) && write(&log.state, &d2), "after the move: d2's");
    let read = |who: &Principal| authorize(&log.state, who, Action::ReadMember(&id("m1"))).is_ok();
    assert!(!read(&d1) && read(&d2), "its members move with it");
}

#[test]
fn a_credential_is_found_by_its_digest_until_it_is_revoked() {
    use chibo_domain::event::{
        CredentialIssued, CredentialIssuedFields, CredentialKind, CredentialRevoked, CredentialRevokedFields,
    };
    let (mut log, ..) = province();
    let issued = CredentialIssued::new(CredentialIssuedFields {
        credential_id: id("thu-ky-c1"),
        principal: "Thư ký chi bộ c1".into(),
        role: Role::Recorder,
        scope_org_id: Some(id("c1")),
        member_id: None,
        kind: CredentialKind::Token,
        digest: vec![4; 32],
    })
    .unwrap();
    log.record(StreamName::Credentials, issued.clone().into());
    let found = log.state.index().credential(&[4; 32]).expect("issued, not revoked");
    assert_eq!((found.role, &found.principal), (Role::Recorder, &issued.principal));
    assert!(log.state.index().credential(&[5; 32]).is_none(), "another digest is no credential");

    let revoked = CredentialRevoked::new(CredentialRevokedFields {
        credential_id: id("thu-ky-c1"),
        reason: "Chuyển công tác".into(),
    })
    .unwrap();
    log.record(StreamName::Credentials, revoked.into());
    assert!(log.state.index().credential(&[4; 32]).is_none(), "revoked: no longer a credential");

    // And a snapshot of the state derives the same.
    let restored = State::decode(&log.state.encode()).unwrap();
    assert!(restored.index().credential(&[4; 32]).is_none());
    assert!(restored.index().credentials.contains_key(&id("thu-ky-c1")));
}

#[test]
fn a_committee_s_score_of_a_cell_is_written_by_a_committee_only() {
    use chibo_domain::event::{IndicatorScore, IndicatorsScored, IndicatorsScoredFields, ScoredBy};
    use chibo_domain::Period;
    let scored = |by: ScoredBy| -> Event {
        IndicatorsScored::new(IndicatorsScoredFields {
            programme_id: id("mau-2025"),
            period: Period::parse("period", "2025-02").unwrap(),
            scores: vec![IndicatorScore { indicator_id: id("i1"), points: 7 }],
            scored_by: by,
        })
        .unwrap()
        .into()
    };
    let (mut log, ..) = province();
    let own = log.record(cell("c1"), scored(ScoredBy::Cell));
    let committees = log.record(cell("c1"), scored(ScoredBy::Committee));
    let corrected = |target: EventId, by: ScoredBy| -> Event {
        EventCorrected::new(EventCorrectedFields {
            target_event_id: target,
            reason: "chấm lại".into(),
            replacement: Box::new(scored(by)),
        })
        .unwrap()
        .into()
    };
    let recorder = principal("rec-c1", Role::Recorder, Scope::Tree(id("c1")));
    let committee = principal("com-d1", Role::Committee, Scope::Tree(id("d1")));
    let cases = [
        ("its own score", scored(ScoredBy::Cell), true, true),
        ("the committee's score", scored(ScoredBy::Committee), false, true),
        ("a retraction of the committee's score", retracted(committees), false, true),
        ("a correction of the committee's score", corrected(committees, ScoredBy::Committee), false, true),
        ("its own score corrected into the committee's", corrected(own, ScoredBy::Committee), false, true),
        ("its own score corrected", corrected(own, ScoredBy::Cell), true, true),
        ("a retraction of its own score", retracted(own), true, true),
    ];
    for (what, event, by_recorder, by_committee) in cases {
        let may = |who: &Principal| authorize(&log.state, who, Action::Append { stream: &cell("c1"), event: &event });
        assert_eq!(may(&recorder).is_ok(), by_recorder, "a recorder writing {what}: {:?}", may(&recorder));
        assert_eq!(may(&committee).is_ok(), by_committee, "a committee writing {what}: {:?}", may(&committee));
    }
}

#[test]
fn an_admin_issues_and_revokes_credentials_inside_its_own_scope_only() {
    let (log, ..) = province();
    let may = |who: &Principal, of: &Scope| authorize(&log.state, who, Action::Credential(of)).is_ok();
    let d1 = principal("adm-d1", Role::Admin, Scope::Tree(id("d1")));
    let all = principal("adm-all", Role::Admin, Scope::All);
    let committee = principal("com-all", Role::Committee, Scope::All);
    // (for, adm-d1, adm-all)
    let cases = [
        (Scope::Tree(id("d1")), true, true),
        (Scope::Tree(id("c1")), true, true),
        (Scope::Member(id("m1")), true, true),
        (Scope::Tree(id("d2")), false, true),
        (Scope::Tree(id("p")), false, true),
        (Scope::Member(id("m3")), false, true),
        (Scope::All, false, true),
    ];
    for (of, by_d1, by_all) in cases {
        assert_eq!(may(&d1, &of), by_d1, "adm-d1, a credential for {of}");
        assert_eq!(may(&all, &of), by_all, "adm-all, a credential for {of}");
        assert!(!may(&committee, &of), "a committee, a credential for {of}");
    }
    let denied = authorize(&log.state, &d1, Action::Credential(&Scope::All)).unwrap_err();
    assert_eq!(
        denied.0,
        "admin \"adm-d1\" may not issue or revoke a credential for the whole log: that is outside its scope (d1 and below)"
    );
}

#[test]
fn a_correction_or_retraction_naming_another_is_for_the_originals_writers() {
    // The rules refuse both, naming the original instead; who may send them is who may send a
    // correction of the original, so that the cell's writers hear the rules' reason.
    let (mut log, _, earned) = province();
    let correction = EventCorrected::new(EventCorrectedFields {
        target_event_id: earned,
        reason: "sai ngày".into(),
        replacement: Box::new(points("m1")),
    })
    .unwrap();
    let correction = log.record(cell("c1"), correction.into());
    let more = log.record(cell("c1"), points("m1"));
    let retraction = log.record(cell("c1"), retracted(more));
    let recorder = principal("rec-c1", Role::Recorder, Scope::Tree(id("c1")));
    let admin = principal("adm-all", Role::Admin, Scope::All);
    for (what, target) in [("the correction", correction), ("the retraction", retraction)] {
        let again = EventCorrected::new(EventCorrectedFields {
            target_event_id: target,
            reason: "lần nữa".into(),
            replacement: Box::new(points("m1")),
        })
        .unwrap()
        .into();
        for event in [again, retracted(target)] {
            let may =
                |who: &Principal| authorize(&log.state, who, Action::Append { stream: &cell("c1"), event: &event });
            assert!(may(&recorder).is_ok(), "{what}, {}: {:?}", event.event_type(), may(&recorder));
            assert!(may(&admin).is_err(), "{what}, {}: an admin writes no cell's events", event.event_type());
        }
    }
}

#[test]
fn a_member_the_log_never_recorded_is_inside_the_whole_log_only() {
    let (log, ..) = province();
    let read = |who: &Principal, member: &str| authorize(&log.state, who, Action::ReadMember(&id(member))).is_ok();
    let everything = [
        principal("ins-all", Role::Inspector, Scope::All),
        principal("adm-all", Role::Admin, Scope::All),
        principal("com-all", Role::Committee, Scope::All),
    ];
    for who in &everything {
        assert!(read(who, "m1") && read(who, "nobody"), "{}: the service answers NOT_FOUND for nobody", who.name);
    }
    let d1 = principal("ins-d1", Role::Inspector, Scope::Tree(id("d1")));
    assert!(read(&d1, "m1") && !read(&d1, "nobody"), "a subtree says nothing of members it does not hold");
    let m1 = principal("m1", Role::Member, Scope::Member(id("m1")));
    assert!(!read(&m1, "nobody"));
}
