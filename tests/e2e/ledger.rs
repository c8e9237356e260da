//! The `chibo.v1.Ledger` service end to end: every event kind goes in and comes back as the
//! very bytes sent; bad input is refused with the right code, names its field and writes
//! nothing; subscriptions follow the log live; health, reflection and metrics answer; SIGTERM
//! drains and loses nothing that was acknowledged.
//!
//! Each test starts its own server on its own data directory, so they run in parallel.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use chibo_domain::EventType;
use chibo_integrity::Envelope;
use chibo_proto::{
    codec::{EncodedCodec, MAX_MESSAGE_BYTES},
    convert, v1 as pb,
};
use pb::{event::Kind, ledger_client::LedgerClient};
use prost::Message;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};
use tonic::{codegen::http::uri::PathAndQuery, Code, Request, Status};

use crate::harness::{self, Conn, Fixture, Server};

// ---------------------------------------------------------------------------------------------
// Building submissions

/// 2025-01-01T00:00:00Z: comfortably in the past, so the clock check never trips by accident.
const PAST: i64 = 1_735_689_600;

fn at(seconds: i64, nanos: i32) -> Option<pbjson_types::Timestamp> {
    Some(pbjson_types::Timestamp { seconds, nanos })
}

fn submission(event_id: String, occurred_at: Option<pbjson_types::Timestamp>, kind: Kind) -> pb::EventSubmission {
    pb::EventSubmission { event_id, occurred_at, event: Some(pb::Event { kind: Some(kind) }) }
}

fn no_stream() -> Option<pb::ExpectedRevision> {
    Some(pb::ExpectedRevision { kind: Some(pb::expected_revision::Kind::NoStream(pb::Empty {})) })
}

fn exact(revision: u64) -> Option<pb::ExpectedRevision> {
    Some(pb::ExpectedRevision { kind: Some(pb::expected_revision::Kind::Exact(revision)) })
}

fn submit(stream: &str, event: pb::EventSubmission) -> pb::SubmitRequest {
    pb::SubmitRequest { stream: stream.into(), expected_revision: None, event: Some(event) }
}

fn batch(stream: &str, events: Vec<pb::EventSubmission>) -> pb::SubmitBatchRequest {
    pb::SubmitBatchRequest { stream: stream.into(), expected_revision: None, events }
}

fn rule_set(name: &str, version: u32) -> Option<pb::RuleSetRef> {
    Some(pb::RuleSetRef { name: name.into(), version })
}

fn meeting_held(duration_minutes: u32) -> pb::MeetingHeld {
    let attend = |member: &str, status: pb::AttendanceStatus, reason: &str| pb::Attendance {
        member_id: member.into(),
        status: status.into(),
        reason: reason.into(),
    };
    pb::MeetingHeld {
        meeting_id: "2026-03".into(),
        kind: pb::MeetingKind::Regular.into(),
        date: "2026-03-05".into(),
        duration_minutes,
        topic: "Sinh hoạt thường kỳ tháng 3".into(),
        minutes: "Biên bản...\nĐồng chí A phát biểu.\tHết.".into(),
        attendance: vec![
            attend("nguyen-van-a", pb::AttendanceStatus::Present, ""),
            attend("le-van-c", pb::AttendanceStatus::Excused, "ốm"),
            attend("pham-d", pb::AttendanceStatus::Unexcused, ""),
        ],
        guests: vec![pb::Guest {
            name: "Trần Thị B".into(),
            committee_id: "kien-xuong".into(),
            position: "Huyện ủy viên".into(),
        }],
        check_in_source: pb::CheckInSource::App.into(),
        documents_posted_on: "2026-03-03".into(),
        committee_prepared: true,
    }
}

/// One event of every kind a client may submit to a committee's stream, `org-kien-xuong`, in
/// the order they are submitted. Every field is set where the shape rules allow it, so that a
/// field the server dropped or re-encoded would show. Each keeps the rules against what is
/// recorded before it: the first two come before the cell's events, the rest after
/// [`CELL_EVENTS_BEFORE_DECISIONS`] of them (the cell must register and be scored before the
/// committee selects, inspects and certifies it).
fn committee_events() -> Vec<Kind> {
    let indicator =
        |id: &str, max_points: u32| pb::Indicator {
            indicator_id: id.into(), name: format!("Chỉ số {id}"), max_points
        };
    vec![
        Kind::OrganizationRegistered(pb::OrganizationRegistered {
            org_id: "kien-xuong".into(),
            parent_id: harness::PROVINCE.into(),
            level: pb::OrgLevel::District.into(),
            name: "Huyện ủy Kiến Xương".into(),
            cell_type: String::new(),
        }),
        Kind::ProgrammeLaunched(pb::ProgrammeLaunched {
            programme_id: "kieu-mau-2026".into(),
            year: 2026,
            name: "Chi bộ kiểu mẫu 2026".into(),
            framework: Some(pb::CriteriaFramework {
                criteria: vec![
                    pb::Criterion {
                        criterion_id: "leads".into(),
                        name: "Lãnh đạo".into(),
                        hard: false,
                        indicators: vec![indicator("i1", 20), indicator("i2", 30)],
                    },
                    pb::Criterion {
                        criterion_id: "products".into(),
                        name: "Sản phẩm".into(),
                        hard: true,
                        indicators: vec![indicator("i3", 50)],
                    },
                ],
            }),
            // Exactly the framework's 100 points: the threshold may equal the best score.
            certification_threshold: 100,
            rule_sets: vec![rule_set("vn-qd366-2025", 1).unwrap(), rule_set("phutho-meeting-score", 1).unwrap()],
            monthly_study_points_minimum: 20,
        }),
        Kind::CellSelected(pb::CellSelected {
            programme_id: "kieu-mau-2026".into(),
            cell_id: "tan-hoa".into(),
            decision_number: "123-QĐ/HU".into(),
            date: "2026-02-01".into(),
        }),
        Kind::InspectionConducted(pb::InspectionConducted {
            inspection_id: "kt-2026-1".into(),
            cell_id: "tan-hoa".into(),
            date: "2026-09-10".into(),
            findings: "Sổ sách đầy đủ".into(),
            conclusion: pb::InspectionConclusion::NeedsImprovement.into(),
            programme_id: "kieu-mau-2026".into(),
            // The hard criterion is met, as certification needs.
            criteria: vec![
                pb::CriterionCheck { criterion_id: "leads".into(), met: false },
                pb::CriterionCheck { criterion_id: "products".into(), met: true },
            ],
        }),
        Kind::CellCertified(pb::CellCertified {
            programme_id: "kieu-mau-2026".into(),
            cell_id: "tan-hoa".into(),
            decision_number: "456-QĐ/HU".into(),
            date: "2026-10-20".into(),
            score: 100,
        }),
        Kind::CertificationRevoked(pb::CertificationRevoked {
            programme_id: "kieu-mau-2026".into(),
            cell_id: "tan-hoa".into(),
            decision_number: "789-QĐ/HU".into(),
            date: "2026-11-01".into(),
            reason: "Vi phạm kỷ luật".into(),
        }),
        Kind::MemberClassified(pb::MemberClassified {
            year: 2025,
            cell_id: "tan-hoa".into(),
            member_id: "nguyen-van-a".into(),
            level: pb::ClassificationLevel::Good.into(),
            rule_set: rule_set("vn-qd366-2025", 1),
            evaluation_digest: vec![7; 32],
        }),
        Kind::CellClassified(pb::CellClassified {
            year: 2025,
            cell_id: "tan-hoa".into(),
            level: pb::ClassificationLevel::Excellent.into(),
            rule_set: rule_set("vn-qd366-2025", 1),
            evaluation_digest: vec![9; 32],
        }),
        Kind::SigningKeyRegistered(pb::SigningKeyRegistered {
            key_id: "kien-xuong-2026".into(),
            principal: "committee:kien-xuong".into(),
            algorithm: pb::KeyAlgorithm::Ed25519.into(),
            public_key: vec![3; 32],
        }),
        Kind::SigningKeyRevoked(pb::SigningKeyRevoked {
            key_id: "kien-xuong-2026".into(),
            reason: "Thiết bị bị mất".into(),
        }),
    ]
}

/// How many of [`committee_events`] come before the cell's events.
const COMMITTEE_EVENTS_BEFORE_CELL: usize = 2;

/// How many of [`cell_events`] come before the committee's decisions about the cell.
const CELL_EVENTS_BEFORE_DECISIONS: usize = 8;

/// One event of every kind a client may submit to a cell's stream, `cell-tan-hoa`, in the
/// order they are submitted. The correction replaces the meeting (`meeting_id`) and the
/// retraction withdraws the study points (`points_id`), both earlier in the stream. The cell
/// `dong-hai` that members transfer from and to is the fixture's.
fn cell_events(meeting_id: &str, points_id: &str) -> Vec<Kind> {
    let admitted = |member: &str, name: &str| {
        Kind::MemberJoined(pb::MemberJoined {
            member_id: member.into(),
            name: name.into(),
            date: harness::FOUNDED.into(),
            how: pb::MembershipChange::Admitted.into(),
            transfer_cell_id: String::new(),
        })
    };
    vec![
        Kind::OrganizationRegistered(pb::OrganizationRegistered {
            org_id: "tan-hoa".into(),
            parent_id: "kien-xuong".into(),
            level: pb::OrgLevel::Cell.into(),
            name: "Chi bộ ấp Tân Hoà".into(),
            cell_type: "commune".into(),
        }),
        admitted("nguyen-van-a", "Nguyễn Văn A"),
        admitted("pham-d", "Phạm D"),
        Kind::MemberJoined(pb::MemberJoined {
            member_id: "le-van-c".into(),
            name: "Lê Văn C".into(),
            date: "2024-03-01".into(),
            how: pb::MembershipChange::TransferredIn.into(),
            transfer_cell_id: "dong-hai".into(),
        }),
        Kind::MemberLeft(pb::MemberLeft {
            member_id: "pham-d".into(),
            date: "2026-06-30".into(),
            how: pb::MembershipChange::TransferredOut.into(),
            transfer_cell_id: "dong-hai".into(),
            reason: "Chuyển công tác".into(),
        }),
        Kind::MemberRoleAssigned(pb::MemberRoleAssigned {
            member_id: "nguyen-van-a".into(),
            role: pb::MemberRole::DeputySecretary.into(),
            date: "2024-04-01".into(),
        }),
        Kind::CellRegistered(pb::CellRegistered { programme_id: "kieu-mau-2026".into(), date: "2026-01-15".into() }),
        // Every indicator at its maximum: the score certification at a threshold of 100 needs.
        Kind::IndicatorsScored(pb::IndicatorsScored {
            programme_id: "kieu-mau-2026".into(),
            period: "2026-03".into(),
            scores: vec![
                pb::IndicatorScore { indicator_id: "i1".into(), points: 20 },
                pb::IndicatorScore { indicator_id: "i2".into(), points: 30 },
                pb::IndicatorScore { indicator_id: "i3".into(), points: 50 },
            ],
            scored_by: pb::ScoredBy::Committee.into(),
        }),
        Kind::MeetingHeld(meeting_held(120)),
        Kind::MemberSpoke(pb::MemberSpoke {
            meeting_id: "2026-03".into(),
            member_id: "nguyen-van-a".into(),
            summary: "Đề xuất mô hình dân vận khéo".into(),
        }),
        Kind::MemberCommended(pb::MemberCommended {
            meeting_id: "2026-03".into(),
            member_id: "nguyen-van-a".into(),
            reason: "Hoàn thành xuất sắc nhiệm vụ".into(),
        }),
        // Only a member present at the meeting may be reminded there.
        Kind::MemberReminded(pb::MemberReminded {
            meeting_id: "2026-03".into(),
            member_id: "nguyen-van-a".into(),
            reason: "Nộp báo cáo tháng chậm".into(),
            severity: pb::ReminderSeverity::Criticism.into(),
        }),
        Kind::ResolutionAdopted(pb::ResolutionAdopted {
            meeting_id: "2026-03".into(),
            resolution_id: "nq-2026-03".into(),
            title: "Nghị quyết tháng 3".into(),
            summary: "Tập trung vận động hộ nghèo".into(),
        }),
        Kind::TaskAssigned(pb::TaskAssigned {
            task_id: "t-1".into(),
            resolution_id: "nq-2026-03".into(),
            member_id: "nguyen-van-a".into(),
            description: "Vận động hộ nghèo".into(),
            due: "2026-04-01".into(),
        }),
        Kind::TaskCompleted(pb::TaskCompleted {
            task_id: "t-1".into(),
            member_id: "nguyen-van-a".into(),
            date: "2026-03-28".into(),
            outcome: "Xong".into(),
        }),
        Kind::MeetingScored(pb::MeetingScored {
            meeting_id: "2026-03".into(),
            rubric: rule_set("phutho-meeting-score", 1),
            parts: vec![
                pb::ScorePart { part: "preparation".into(), points: 15 },
                pb::ScorePart { part: "attendance".into(), points: 18 },
                pb::ScorePart { part: "running".into(), points: 40 },
                pb::ScorePart { part: "closing".into(), points: 17 },
            ],
            scorer: "kien-xuong".into(),
        }),
        Kind::StudyPointsEarned(pb::StudyPointsEarned {
            member_id: "nguyen-van-a".into(),
            points: 25,
            date: "2026-03-10".into(),
            activity: "Nghị quyết Đại hội XIV".into(),
            source_ref: "stdv-8812".into(),
        }),
        Kind::CandidateTrained(pb::CandidateTrained {
            candidate_id: "hoang-e".into(),
            name: "Hoàng Văn E".into(),
            course: "Lớp bồi dưỡng nhận thức về Đảng".into(),
            date: "2026-05-20".into(),
        }),
        Kind::EventCorrected(Box::new(pb::EventCorrected {
            target_event_id: meeting_id.into(),
            reason: "Ghi sai thời lượng".into(),
            replacement: Some(Box::new(pb::Event { kind: Some(Kind::MeetingHeld(meeting_held(95))) })),
        })),
        Kind::EventRetracted(pb::EventRetracted { target_event_id: points_id.into(), reason: "Nhập trùng".into() }),
    ]
}

/// What the test sent for one event, and where it should have landed.
struct Sent {
    stream: String,
    revision: u64,
    submission: pb::EventSubmission,
}

async fn read_stream(client: &mut LedgerClient<Conn>, stream: &str) -> Vec<pb::RecordedEvent> {
    let request = pb::ReadStreamRequest { stream: stream.into(), from_revision: 0, max_count: 0 };
    let mut events = client.read_stream(request).await.expect("ReadStream answers").into_inner();
    let mut read = Vec::new();
    while let Some(event) = events.message().await.expect("ReadStream streams") {
        read.push(event);
    }
    read
}

fn envelope(event: &pb::RecordedEvent) -> Envelope {
    Envelope::decode(&event.envelope).expect("a stored envelope decodes")
}

fn event_id_of(event: &pb::RecordedEvent) -> String {
    envelope(event).event_id.to_string()
}

/// Whether the admin writes `kind` (an organization's registration, a committee's signing key),
/// rather than a committee or a recorder.
fn by_admin(kind: &Kind) -> bool {
    matches!(kind, Kind::OrganizationRegistered(_) | Kind::SigningKeyRegistered(_) | Kind::SigningKeyRevoked(_))
}

/// Asserts that a receipt describes `event` exactly.
fn assert_receipt_matches(receipt: &pb::Receipt, event: &pb::RecordedEvent) {
    let envelope = envelope(event);
    assert_eq!(receipt.event_id, envelope.event_id.to_string());
    assert_eq!(receipt.stream, envelope.stream.to_string());
    assert_eq!(receipt.revision, envelope.revision, "{}", receipt.event_id);
    assert_eq!(receipt.position, event.position, "{}", receipt.event_id);
    assert_eq!(receipt.hash, event.hash, "{}", receipt.event_id);
    let recorded = receipt.recorded_at.expect("a receipt says when the event was recorded");
    assert_eq!(
        (recorded.seconds, recorded.nanos as u32),
        (envelope.recorded_at.seconds(), envelope.recorded_at.nanos()),
        "{}",
        receipt.event_id
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Every event kind, byte for byte

#[tokio::test(flavor = "multi_thread")]
async fn every_event_kind_reads_back_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let data = server.data.clone();
    // The admin registers organizations and signing keys; the writer, a committee over the whole
    // tree, writes everything else.
    let mut client = server.client().await;
    let writer = server.writer().await;

    const ORG: &str = "org-kien-xuong";
    const CELL: &str = "cell-tan-hoa";
    // What the rules need first: the province, and the cell dong-hai that members transfer
    // from and to. The fixture's events are checked like the test's own.
    let fixture = Fixture::record(&server, &[harness::cell("dong-hai", harness::NO_MEMBERS)]).await;
    let recorded: Vec<Sent> = fixture
        .requests
        .iter()
        .flat_map(|r| {
            r.events.iter().zip(&r.receipts).map(|(submission, receipt)| Sent {
                stream: r.stream.clone(),
                revision: receipt.revision,
                submission: submission.clone(),
            })
        })
        .collect();
    assert_eq!((fixture.in_stream(ORG), fixture.in_stream(CELL)), (0, 0), "the test's own streams start empty");

    // Distinct times with nanoseconds, so a truncated or shuffled occurred_at would show.
    let mut clock = 0;
    let mut next_time = || {
        clock += 1;
        at(PAST + clock * 3600, 123_456_789 + clock as i32)
    };

    let org: Vec<Sent> = committee_events()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Sent {
            stream: ORG.into(),
            revision: i as u64,
            submission: submission(harness::event_id(), next_time(), kind),
        })
        .collect();
    let (meeting_id, points_id) = (harness::event_id(), harness::event_id());
    let cell: Vec<Sent> = cell_events(&meeting_id, &points_id)
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let id = match &kind {
                Kind::MeetingHeld(_) => meeting_id.clone(),
                Kind::StudyPointsEarned(_) => points_id.clone(),
                _ => harness::event_id(),
            };
            Sent { stream: CELL.into(), revision: i as u64, submission: submission(id, next_time(), kind) }
        })
        .collect();

    // The committee's events one by one with Submit, each expecting the revision before it; the
    // cell's in SubmitBatch calls (the registration alone, by the admin); interleaved, so global
    // positions and stream revisions differ.
    let mut receipts: HashMap<String, pb::Receipt> =
        fixture.receipts().map(|r| (r.event_id.clone(), r.clone())).collect();
    let kind_of = |sent: &Sent| sent.submission.event.as_ref().unwrap().kind.clone().unwrap();
    let submit_org = |range: std::ops::Range<usize>| {
        let (admin, writer) = (client.clone(), writer.clone());
        let org = &org;
        async move {
            let mut receipts = Vec::new();
            for sent in &org[range] {
                let mut client = if by_admin(&kind_of(sent)) { admin.clone() } else { writer.clone() };
                let expected = if sent.revision == 0 { no_stream() } else { exact(sent.revision - 1) };
                let request = pb::SubmitRequest {
                    stream: ORG.into(),
                    expected_revision: expected,
                    event: Some(sent.submission.clone()),
                };
                let reply = client.submit(request).await.expect("a valid committee event is accepted");
                receipts.push(reply.into_inner().receipt.expect("Submit returns a receipt"));
            }
            receipts
        }
    };
    let submit_cell = |range: std::ops::Range<usize>| {
        let admin = by_admin(&kind_of(&cell[range.start]));
        assert!(cell[range.clone()].iter().all(|sent| by_admin(&kind_of(sent)) == admin), "one writer per batch");
        let mut client = if admin { client.clone() } else { writer.clone() };
        let cell = &cell;
        async move {
            let first = cell[range.start].revision;
            let request = pb::SubmitBatchRequest {
                stream: CELL.into(),
                expected_revision: if first == 0 { no_stream() } else { exact(first - 1) },
                events: cell[range].iter().map(|s| s.submission.clone()).collect(),
            };
            client.submit_batch(request).await.expect("a valid cell batch is accepted").into_inner().receipts
        }
    };
    let mut all_receipts = Vec::new();
    all_receipts.extend(submit_org(0..COMMITTEE_EVENTS_BEFORE_CELL).await);
    all_receipts.extend(submit_cell(0..1).await);
    all_receipts.extend(submit_cell(1..CELL_EVENTS_BEFORE_DECISIONS).await);
    all_receipts.extend(submit_org(COMMITTEE_EVENTS_BEFORE_CELL..org.len()).await);
    all_receipts.extend(submit_cell(CELL_EVENTS_BEFORE_DECISIONS..cell.len()).await);
    for receipt in all_receipts {
        assert!(!receipt.duplicate);
        receipts.insert(receipt.event_id.clone(), receipt);
    }

    let sent: Vec<&Sent> = recorded.iter().chain(&org).chain(&cell).collect();
    let by_id: HashMap<&str, &Sent> = sent.iter().map(|s| (s.submission.event_id.as_str(), *s)).collect();
    assert_eq!(receipts.len(), sent.len(), "one receipt per event");

    let all = harness::read_all(&mut client).await;
    for (position, event) in all.iter().enumerate() {
        assert_eq!(event.position, position as u64, "ReadAll is gapless and in order");
    }
    // Beside what was sent, the two credentials the server recorded: the first admin's, on its
    // first start, and the writer's, as the admin asked.
    let (credentials, submitted): (Vec<_>, Vec<_>) = all.iter().partition(|e| harness::is_credential(e));
    let issuers: Vec<String> = credentials.iter().map(|e| envelope(e).actor).collect();
    assert_eq!(issuers, [harness::SERVER, harness::ADMIN]);
    assert_eq!(submitted.len(), sent.len());
    let mut last_hash: HashMap<String, Vec<u8>> = HashMap::new();
    let mut types = BTreeSet::new();
    for event in submitted {
        let envelope = envelope(event);
        let id = envelope.event_id.to_string();
        let sent = by_id[id.as_str()];
        let pb::EventSubmission { event_id, occurred_at, event: sent_event } = &sent.submission;
        let sent_event = sent_event.as_ref().unwrap();
        let kind = sent_event.kind.as_ref().unwrap();

        // The payload is the sent message's own encoding, byte for byte, and reads back as the
        // event that was sent.
        assert_eq!(event.payload, chibo_proto::convert::encode_kind(kind), "{id}: payload bytes");
        let decoded = convert::decode_payload(&envelope.event_type, &event.payload).expect("the payload decodes");
        assert_eq!(&decoded, sent_event, "{id}: decoded payload");

        // The envelope says what, where, when and who.
        let event_type = EventType::from_name(&envelope.event_type).expect("a catalogue type");
        assert_eq!(payload_type(kind), event_type, "{id}: event_type");
        assert_eq!(envelope.event_id.to_string(), *event_id);
        assert_eq!(envelope.stream.to_string(), sent.stream, "{id}: stream");
        assert_eq!(envelope.revision, sent.revision, "{id}: revision");
        assert_eq!(envelope.schema_version, 1);
        let occurred_at = occurred_at.unwrap();
        assert_eq!(
            (envelope.occurred_at.seconds(), envelope.occurred_at.nanos()),
            (occurred_at.seconds, occurred_at.nanos as u32),
            "{id}: occurred_at"
        );
        let actor = if by_admin(kind) { harness::ADMIN } else { harness::WRITER };
        assert_eq!(envelope.actor, actor, "{id}: who submitted it");

        // The hash spec holds for the bytes as served.
        let salt: [u8; 16] = event.salt.as_slice().try_into().expect("a 16-byte salt");
        assert_eq!(envelope.payload_digest, chibo_integrity::payload_digest(&salt, &event.payload));
        assert_eq!(event.hash, chibo_integrity::event_hash(&event.envelope));
        let prev = last_hash
            .insert(sent.stream.clone(), event.hash.clone())
            .unwrap_or_else(|| chibo_integrity::genesis(&sent.stream).to_vec());
        assert_eq!(envelope.prev_hash.to_vec(), prev, "{id}: prev_hash");

        assert_receipt_matches(&receipts[&id], event);
        types.insert(event_type);
    }

    // Every kind of the oneof but the server's own (checkpoints, credentials) went through.
    let server_only = [EventType::CheckpointSigned, EventType::CredentialIssued, EventType::CredentialRevoked];
    let submittable: BTreeSet<EventType> = EventType::ALL.into_iter().filter(|t| !server_only.contains(t)).collect();
    assert_eq!(types, submittable);

    // ReadStream serves exactly the same records as ReadAll, stream by stream.
    for stream in [ORG, CELL] {
        let expected: Vec<_> = all.iter().filter(|e| envelope(e).stream.to_string() == stream).cloned().collect();
        assert_eq!(read_stream(&mut client, stream).await, expected, "{stream}");
    }

    server.stop().await;
    let (report, code) = harness::verify(&data);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["events"], sent.len() + credentials.len(), "{report}");
    let mut streams: BTreeSet<&str> = sent.iter().map(|s| s.stream.as_str()).collect();
    streams.insert("$credentials");
    assert_eq!(report["streams"], streams.len(), "{report}");
}

/// The catalogue type of a oneof choice. The match is exhaustive, so a kind added to the
/// schema stops this file compiling until it is mapped here, and then fails the coverage check
/// until the test submits it.
fn payload_type(kind: &Kind) -> EventType {
    let name = match kind {
        Kind::OrganizationRegistered(_) => "OrganizationRegistered",
        Kind::MemberJoined(_) => "MemberJoined",
        Kind::MemberLeft(_) => "MemberLeft",
        Kind::MemberRoleAssigned(_) => "MemberRoleAssigned",
        Kind::ProgrammeLaunched(_) => "ProgrammeLaunched",
        Kind::CellRegistered(_) => "CellRegistered",
        Kind::CellSelected(_) => "CellSelected",
        Kind::CellCertified(_) => "CellCertified",
        Kind::CertificationRevoked(_) => "CertificationRevoked",
        Kind::MeetingHeld(_) => "MeetingHeld",
        Kind::MemberSpoke(_) => "MemberSpoke",
        Kind::MemberCommended(_) => "MemberCommended",
        Kind::MemberReminded(_) => "MemberReminded",
        Kind::ResolutionAdopted(_) => "ResolutionAdopted",
        Kind::TaskAssigned(_) => "TaskAssigned",
        Kind::TaskCompleted(_) => "TaskCompleted",
        Kind::MeetingScored(_) => "MeetingScored",
        Kind::StudyPointsEarned(_) => "StudyPointsEarned",
        Kind::IndicatorsScored(_) => "IndicatorsScored",
        Kind::InspectionConducted(_) => "InspectionConducted",
        Kind::CandidateTrained(_) => "CandidateTrained",
        Kind::MemberClassified(_) => "MemberClassified",
        Kind::CellClassified(_) => "CellClassified",
        Kind::EventCorrected(_) => "EventCorrected",
        Kind::EventRetracted(_) => "EventRetracted",
        Kind::SigningKeyRegistered(_) => "SigningKeyRegistered",
        Kind::SigningKeyRevoked(_) => "SigningKeyRevoked",
        Kind::CheckpointSigned(_) => "CheckpointSigned",
        Kind::CredentialIssued(_) => "CredentialIssued",
        Kind::CredentialRevoked(_) => "CredentialRevoked",
    };
    EventType::from_name(name).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 2. Health and reflection

#[tokio::test(flavor = "multi_thread")]
async fn health_and_reflection_answer() {
    use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse, ServerReflectionRequest,
    };

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // Neither needs a credential: they answer no question about the log.
    let channel = server.raw_channel().await;

    let mut health = HealthClient::new(channel.clone());
    for service in ["", "chibo.v1.Ledger"] {
        let reply = health.check(HealthCheckRequest { service: service.into() }).await.expect("Check answers");
        assert_eq!(reply.into_inner().status(), ServingStatus::Serving, "{service:?}");
    }

    let reflection = ServerReflectionClient::new(channel);
    let ask = |request: MessageRequest| {
        let mut reflection = reflection.clone();
        async move {
            let request = ServerReflectionRequest { host: String::new(), message_request: Some(request) };
            let mut replies = reflection
                .server_reflection_info(tokio_stream::once(request))
                .await
                .expect("reflection answers")
                .into_inner();
            let reply = replies.message().await.expect("reflection streams").expect("one reply per request");
            reply.message_response.expect("the reply has a response")
        }
    };
    let services: BTreeSet<String> = match ask(MessageRequest::ListServices(String::new())).await {
        MessageResponse::ListServicesResponse(list) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("ListServices is answered with a service list, not {other:?}"),
    };
    for service in ["chibo.v1.Ledger", "grpc.health.v1.Health"] {
        assert!(services.contains(service), "{service} is listed: {services:?}");
    }
    match ask(MessageRequest::FileContainingSymbol("chibo.v1.Ledger".into())).await {
        MessageResponse::FileDescriptorResponse(files) => {
            assert!(!files.file_descriptor_proto.is_empty());
            assert!(files.file_descriptor_proto.iter().all(|f| !f.is_empty()));
        }
        other => panic!("FileContainingSymbol is answered with file descriptors, not {other:?}"),
    }
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 3. Bad input: refused, with the field named, and nothing written

/// A server with the fixture (the province; `cell-a` with its members, `cell-b` with none) and
/// a couple of events in `cell-a`, and the log as it stood after them: every refusal must leave
/// it exactly so.
struct Refusals {
    server: Server,
    /// The admin's: it reads the log.
    client: LedgerClient<Conn>,
    /// The writer's: it submits the cases.
    writer: LedgerClient<Conn>,
    seeded: Vec<pb::Receipt>,
    log: Vec<pb::RecordedEvent>,
}

/// The members of `cell-a`.
const MEMBERS_OF_A: [&str; 5] = ["nguyen-van-a", "le-van-c", "a", "b", "c"];

impl Refusals {
    async fn start(dir: &std::path::Path) -> Refusals {
        let server = Server::start(dir);
        let cells = [harness::cell("a", MEMBERS_OF_A), harness::cell("b", harness::NO_MEMBERS)];
        let fixture = Fixture::record(&server, &cells).await;
        let (mut client, mut writer) = (server.client().await, server.writer().await);
        // The first seed is valid in any registered cell, so that its id can be tried in cell-b.
        let seeds = vec![trained("hoang-e"), harness::points("le-van-c", 5)];
        let seeded = writer.submit_batch(batch("cell-a", seeds)).await.expect("the seed is accepted").into_inner();
        let log = harness::read_all(&mut client).await;
        assert_eq!(log.iter().filter(|e| !harness::is_server_written(e)).count(), fixture.len() + 2);
        Refusals { server, client, writer, seeded: seeded.receipts, log }
    }

    /// The stored events of the seed, as they were submitted.
    fn seed_submissions(&self) -> Vec<pb::EventSubmission> {
        self.seeded.iter().map(|r| resubmission(&self.log[r.position as usize])).collect()
    }

    /// Asserts that `result` is refused with `code`, that its message contains every one of
    /// `mentions` (field paths are given as `path: `, the way the server writes them), and that
    /// the log is as it was.
    async fn check<T: std::fmt::Debug>(
        &mut self,
        case: &str,
        result: Result<T, Status>,
        code: Code,
        mentions: &[&str],
    ) {
        let status = match result {
            Ok(reply) => panic!("{case}: accepted: {reply:?}"),
            Err(status) => status,
        };
        assert_eq!(status.code(), code, "{case}: {status:?}");
        for mention in mentions {
            assert!(status.message().contains(mention), "{case}: {:?} does not mention {mention:?}", status.message());
        }
        assert!(harness::read_all(&mut self.client).await == self.log, "{case}: the log changed");
    }
}

/// The submission that produced a stored event, rebuilt from what the log holds.
fn resubmission(event: &pb::RecordedEvent) -> pb::EventSubmission {
    let envelope = envelope(event);
    pb::EventSubmission {
        event_id: envelope.event_id.to_string(),
        occurred_at: at(envelope.occurred_at.seconds(), envelope.occurred_at.nanos() as i32),
        event: Some(convert::decode_payload(&envelope.event_type, &event.payload).expect("the payload decodes")),
    }
}

/// `event` submitted alone to `stream`.
async fn submit_one(
    client: &mut LedgerClient<Conn>,
    stream: &str,
    event: pb::EventSubmission,
) -> Result<tonic::Response<pb::SubmitResponse>, Status> {
    client.submit(submit(stream, event)).await
}

fn with_kind(kind: Kind) -> pb::EventSubmission {
    submission(harness::event_id(), at(PAST, 0), kind)
}

/// A CandidateTrained: valid in any registered cell.
fn trained(candidate: &str) -> pb::EventSubmission {
    with_kind(Kind::CandidateTrained(pb::CandidateTrained {
        candidate_id: candidate.into(),
        name: format!("Quần chúng {candidate}"),
        course: "Lớp bồi dưỡng nhận thức về Đảng".into(),
        date: "2026-05-20".into(),
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Refusals::start(dir.path()).await;
    let mut client = t.writer.clone();
    let invalid = Code::InvalidArgument;

    // Unknown or missing event types.
    let kindless = pb::EventSubmission { event: Some(pb::Event { kind: None }), ..harness::points("a", 1) };
    let result = submit_one(&mut client, "cell-a", kindless).await;
    t.check("an event of no kind", result, invalid, &["event.event: ", "unknown event type"]).await;
    let eventless = pb::EventSubmission { event: None, ..harness::points("a", 1) };
    let result = submit_one(&mut client, "cell-a", eventless).await;
    t.check("a submission without an event", result, invalid, &["event.event: is missing"]).await;
    let request = pb::SubmitRequest { stream: "cell-a".into(), expected_revision: None, event: None };
    t.check("a request without a submission", client.submit(request).await, invalid, &["event: is missing"]).await;

    // Malformed ids.
    let not_uuid = pb::EventSubmission { event_id: "not-a-uuid".into(), ..harness::points("a", 1) };
    let result = submit_one(&mut client, "cell-a", not_uuid).await;
    t.check("an event id that is no UUID", result, invalid, &["event.event_id: ", "\"not-a-uuid\""]).await;
    let upper = pb::EventSubmission { event_id: harness::event_id().to_uppercase(), ..harness::points("a", 1) };
    let result = submit_one(&mut client, "cell-a", upper).await;
    t.check("an event id in upper case", result, invalid, &["event.event_id: "]).await;
    let nil =
        pb::EventSubmission { event_id: "00000000-0000-0000-0000-000000000000".into(), ..harness::points("a", 1) };
    let result = submit_one(&mut client, "cell-a", nil).await;
    t.check("the nil event id", result, invalid, &["event.event_id: ", "nil"]).await;
    let result = submit_one(&mut client, "cell-Bad", harness::points("a", 1)).await;
    t.check("a stream id in upper case", result, invalid, &["stream: ", "'B'"]).await;
    let result = submit_one(&mut client, "members-a", harness::points("a", 1)).await;
    t.check("a stream of no kind", result, invalid, &["stream: ", "not a stream name"]).await;
    let result = submit_one(&mut client, "cell-a", harness::points("Nguyen-van-a", 1)).await;
    t.check("a member id in upper case", result, invalid, &["event.event.study_points_earned.member_id: ", "'N'"])
        .await;
    // A batch is all or nothing: a valid first event is not written either.
    let events = vec![harness::points("a", 1), harness::points("b c", 1)];
    let result = client.submit_batch(batch("cell-a", events)).await;
    t.check("a batch with one bad event", result, invalid, &["events[1].event.study_points_earned.member_id: "]).await;

    // Shape rules of the payload.
    let mut meeting = meeting_held(90);
    meeting.attendance[1].reason = " ".into();
    let result = submit_one(&mut client, "cell-a", with_kind(Kind::MeetingHeld(meeting))).await;
    t.check(
        "an excused absence without a reason",
        result,
        invalid,
        &["event.event.meeting_held.attendance[1].reason: "],
    )
    .await;
    let mut meeting = meeting_held(90);
    meeting.kind = pb::MeetingKind::Unspecified.into();
    let result = submit_one(&mut client, "cell-a", with_kind(Kind::MeetingHeld(meeting))).await;
    t.check("an unspecified meeting kind", result, invalid, &["event.event.meeting_held.kind: ", "unspecified"]).await;
    let mut meeting = meeting_held(90);
    meeting.date = "2026-3-5".into();
    let result = submit_one(&mut client, "cell-a", with_kind(Kind::MeetingHeld(meeting))).await;
    t.check("a date not in YYYY-MM-DD", result, invalid, &["event.event.meeting_held.date: "]).await;
    let key = pb::SigningKeyRegistered {
        key_id: "k".into(),
        principal: "committee:x".into(),
        algorithm: pb::KeyAlgorithm::Ed25519.into(),
        public_key: vec![1; 31],
    };
    let result = submit_one(&mut client, "org-x", with_kind(Kind::SigningKeyRegistered(key))).await;
    t.check("a short public key", result, invalid, &["event.event.signing_key_registered.public_key: "]).await;

    // Events on the wrong stream.
    let result = submit_one(&mut client, "org-x", with_kind(Kind::MeetingHeld(meeting_held(90)))).await;
    t.check("a meeting on a committee's stream", result, invalid, &["stream: ", "MeetingHeld belongs in a cell-{id}"])
        .await;
    let result = submit_one(&mut client, "$checkpoints", harness::points("a", 1)).await;
    t.check("study points on $checkpoints", result, invalid, &["stream: ", "$checkpoints"]).await;
    let checkpoint = pb::CheckpointSigned { note: "chibo.example/2026\n1\nAAAA\n".into() };
    let result = submit_one(&mut client, "$checkpoints", with_kind(Kind::CheckpointSigned(checkpoint.clone()))).await;
    t.check("a checkpoint from a client", result, invalid, &["stream: ", "$checkpoints"]).await;
    let result = submit_one(&mut client, "cell-a", with_kind(Kind::CheckpointSigned(checkpoint))).await;
    t.check("a checkpoint on a cell's stream", result, invalid, &["stream: ", "CheckpointSigned belongs in"]).await;
    let credential = pb::CredentialIssued {
        credential_id: "forged".into(),
        principal: "Không ai".into(),
        role: pb::Role::Admin.into(),
        scope_org_id: String::new(),
        member_id: String::new(),
        kind: pb::CredentialKind::Token.into(),
        digest: vec![0; 32],
    };
    let result = submit_one(&mut client, "$credentials", with_kind(Kind::CredentialIssued(credential.clone()))).await;
    t.check("a credential from a client", result, invalid, &["stream: ", "$credentials is written by the server only"])
        .await;
    let result = submit_one(&mut client, "org-x", with_kind(Kind::CredentialIssued(credential))).await;
    t.check("a credential on a committee's stream", result, invalid, &["stream: ", "CredentialIssued belongs in"])
        .await;
    let cell = pb::OrganizationRegistered {
        org_id: "b".into(),
        parent_id: "x".into(),
        level: pb::OrgLevel::Cell.into(),
        name: "Chi bộ B".into(),
        cell_type: String::new(),
    };
    let result = submit_one(&mut client, "cell-a", with_kind(Kind::OrganizationRegistered(cell))).await;
    t.check("a cell registered on another cell's stream", result, invalid, &["stream: ", "belongs in cell-b"]).await;

    // When it happened: required, and not ahead of the server's clock.
    let tomorrow = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 + 24 * 3600;
    let future = pb::EventSubmission { occurred_at: at(tomorrow, 0), ..harness::points("a", 1) };
    let result = submit_one(&mut client, "cell-a", future).await;
    t.check("occurred_at a day ahead", result, invalid, &["event.occurred_at: ", "in the future"]).await;
    let timeless = pb::EventSubmission { occurred_at: None, ..harness::points("a", 1) };
    let result = submit_one(&mut client, "cell-a", timeless).await;
    t.check("no occurred_at", result, invalid, &["event.occurred_at: is missing"]).await;
    let later = pb::EventSubmission { occurred_at: at(PAST, 0), ..harness::points("a", 1) };
    let events = vec![later, pb::EventSubmission { occurred_at: None, ..harness::points("a", 1) }];
    let result = client.submit_batch(batch("cell-a", events)).await;
    t.check("no occurred_at in a batch", result, invalid, &["events[1].occurred_at: is missing"]).await;

    // Batches that cannot be appended as they are.
    let result = client.submit_batch(batch("cell-a", vec![])).await;
    t.check("an empty batch", result, invalid, &["events: ", "is empty"]).await;

    t.server.stop().await;
}

/// One event id twice in one batch is a malformed request, whatever is recorded: the store's
/// `DuplicateInBatch`, `INVALID_ARGUMENT` (ARCHITECTURE.md, invariant 3). The rules against
/// current state must not turn it into `ALREADY_EXISTS` by applying the first copy tentatively
/// and then finding the second "already recorded".
#[tokio::test(flavor = "multi_thread")]
async fn one_event_id_twice_in_a_batch_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Refusals::start(dir.path()).await;
    let mut client = t.writer.clone();
    let twice = harness::points("a", 1);
    let result = client.submit_batch(batch("cell-a", vec![twice.clone(), twice.clone()])).await;
    t.check("one event id twice in a batch", result, Code::InvalidArgument, &["event_id", &twice.event_id]).await;
    t.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_are_refused_and_resubmissions_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Refusals::start(dir.path()).await;
    let mut client = t.writer.clone();
    let seeded = t.seeded.clone();
    let first = t.seed_submissions().remove(0);

    // The stream `cell-a` is at the seed's last revision.
    let head = seeded.last().unwrap().revision;
    let ahead = head + 4;
    let stale = pb::SubmitRequest { expected_revision: exact(ahead), ..submit("cell-a", harness::points("a", 1)) };
    let result = client.submit(stale).await;
    let case = format!("expecting revision {ahead} of a stream at {head}");
    t.check(&case, result, Code::FailedPrecondition, &["expected_revision: "]).await;
    let fresh = pb::SubmitRequest { expected_revision: no_stream(), ..submit("cell-a", harness::points("a", 1)) };
    let result = client.submit(fresh).await;
    t.check("expecting no stream of an existing one", result, Code::FailedPrecondition, &["expected_revision: "]).await;
    let batched = pb::SubmitBatchRequest {
        expected_revision: exact(0),
        ..batch("cell-a", vec![harness::points("a", 1), harness::points("b", 1)])
    };
    let result = client.submit_batch(batched).await;
    t.check("a batch expecting revision 0", result, Code::FailedPrecondition, &["expected_revision: "]).await;

    // A recorded event id names that event and no other.
    let mention = format!("event_id {}", first.event_id);
    let different = pb::EventSubmission { event: harness::points("nguyen-van-a", 11).event, ..first.clone() };
    let result = submit_one(&mut client, "cell-a", different).await;
    t.check("an event id reused for another payload", result, Code::AlreadyExists, &[&mention]).await;
    let moved = pb::EventSubmission { occurred_at: at(PAST, 1), ..first.clone() };
    let result = submit_one(&mut client, "cell-a", moved).await;
    t.check("an event id reused for another time", result, Code::AlreadyExists, &[&mention]).await;
    let result = submit_one(&mut client, "cell-b", first.clone()).await;
    t.check("an event id reused in another stream", result, Code::AlreadyExists, &[&mention]).await;
    let result = client.submit_batch(batch("cell-a", vec![harness::points("a", 1), first.clone()])).await;
    let in_batch = format!("events[1].event_id: {}", first.event_id);
    t.check("an event id reused later in a batch", result, Code::AlreadyExists, &[&in_batch]).await;

    // The same event again is answered with its original receipt, whatever the expected
    // revision now says, and writes nothing.
    let again = pb::SubmitRequest { expected_revision: no_stream(), ..submit("cell-a", first.clone()) };
    let receipt = client.submit(again).await.expect("a resubmission is answered").into_inner().receipt.unwrap();
    assert_eq!(receipt, pb::Receipt { duplicate: true, ..seeded[0].clone() });
    assert!(harness::read_all(&mut t.client).await == t.log, "a resubmission writes nothing");
    let again = batch("cell-a", t.seed_submissions());
    let receipts = client.submit_batch(again).await.expect("a resubmitted batch is answered").into_inner().receipts;
    let originals: Vec<_> = seeded.iter().map(|r| pb::Receipt { duplicate: true, ..r.clone() }).collect();
    assert_eq!(receipts, originals);
    assert!(harness::read_all(&mut t.client).await == t.log, "a resubmitted batch writes nothing");

    // Through all of that the stream stayed at its revision, and the log at its length.
    let receipts = client
        .submit_batch(pb::SubmitBatchRequest {
            expected_revision: exact(head),
            ..batch("cell-a", vec![harness::points("c", 1)])
        })
        .await
        .expect("the expected revision admits the append")
        .into_inner()
        .receipts;
    assert_eq!((receipts[0].revision, receipts[0].position), (head + 1, t.log.len() as u64));

    t.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_requests_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Refusals::start(dir.path()).await;
    let mut client = t.writer.clone();

    // Text over its field's limit (64 KiB of minutes).
    let mut meeting = meeting_held(90);
    meeting.minutes = "x".repeat(64 * 1024 + 1);
    let result = submit_one(&mut client, "cell-a", with_kind(Kind::MeetingHeld(meeting))).await;
    t.check("minutes over 64 KiB", result, Code::InvalidArgument, &["event.event.meeting_held.minutes: ", "65536"])
        .await;

    // A message over 4 MiB: each meeting is valid, the request is too big.
    let meetings: Vec<_> = (0..70)
        .map(|i| {
            let mut meeting = meeting_held(90);
            meeting.meeting_id = format!("m-{i}");
            meeting.minutes = "x".repeat(64 * 1000);
            with_kind(Kind::MeetingHeld(meeting))
        })
        .collect();
    let request = batch("cell-a", meetings);
    assert!(request.encoded_len() > MAX_MESSAGE_BYTES);
    let result = client.submit_batch(request).await;
    t.check(
        "a batch over 4 MiB",
        result,
        Code::ResourceExhausted,
        &["message: ", &format!("the limit of {MAX_MESSAGE_BYTES} bytes")],
    )
    .await;

    // More events than one append may carry, in a message well under 4 MiB.
    let limit = chibo_store::MAX_EVENTS_PER_APPEND;
    let request = batch("cell-a", (0..=limit).map(|_| harness::points("a", 1)).collect());
    assert!(request.encoded_len() < MAX_MESSAGE_BYTES);
    let result = client.submit_batch(request).await;
    t.check(
        "a batch over the event limit",
        result,
        Code::ResourceExhausted,
        &["events: ", &format!("{} events exceeds the limit of {limit}", limit + 1)],
    )
    .await;

    // Exactly at the limit is fine (one point per event, spread over days: at most 200 a day).
    let spread = |i: usize| harness::points_on("a", 1, &harness::day(1 + (i / 200) as u32));
    let request = batch("cell-a", (0..limit).map(spread).collect());
    let receipts = client.submit_batch(request).await.expect("a batch at the limit is accepted").into_inner().receipts;
    assert_eq!(receipts.len(), limit);

    t.server.stop().await;
}

/// Calls `Submit` with `request` as the encoded `SubmitRequest`.
async fn submit_raw(channel: Conn, request: Vec<u8>) -> Result<pb::SubmitResponse, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    let path = PathAndQuery::from_static("/chibo.v1.Ledger/Submit");
    let codec = EncodedCodec::<pb::SubmitResponse>::default();
    grpc.unary(Request::new(request.into()), path, codec).await.map(tonic::Response::into_inner)
}

/// `bytes` with the one occurrence of `placeholder` replaced by `with` (of the same length).
fn replace_once(bytes: &[u8], placeholder: &[u8], with: &[u8]) -> Vec<u8> {
    assert_eq!(placeholder.len(), with.len());
    let found: Vec<usize> =
        bytes.windows(placeholder.len()).enumerate().filter(|(_, w)| *w == placeholder).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "the placeholder occurs once");
    let mut out = bytes.to_vec();
    out[found[0]..found[0] + with.len()].copy_from_slice(with);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn undecodable_requests_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Refusals::start(dir.path()).await;
    let channel = t.server.writer_channel().await;

    // The raw path itself works: a valid encoding goes through.
    let valid = submit("cell-a", harness::points("a", 1)).encode_to_vec();
    submit_raw(channel.clone(), valid).await.expect("a valid raw request is accepted");
    let before = t.log.len();
    t.log = harness::read_all(&mut t.client).await;
    assert_eq!(t.log.len(), before + 1);

    // An event of a type this server does not know: field 99 of the Event oneof. prost skips
    // unknown fields, so the server sees an Event of no kind.
    let unknown_kind = [0x9a, 0x06, 0x00]; // field 99, length-delimited, empty
    let mut submission = pb::EventSubmission { event: None, ..harness::points("a", 1) }.encode_to_vec();
    submission.push(0x1a); // field 3 (event), length-delimited
    prost::encoding::encode_varint(unknown_kind.len() as u64, &mut submission);
    submission.extend_from_slice(&unknown_kind);
    let mut request =
        pb::SubmitRequest { stream: "cell-a".into(), expected_revision: None, event: None }.encode_to_vec();
    request.push(0x1a); // field 3 (event), length-delimited
    prost::encoding::encode_varint(submission.len() as u64, &mut request);
    request.extend_from_slice(&submission);
    let result = submit_raw(channel.clone(), request).await;
    t.check("an event of an unknown type", result, Code::InvalidArgument, &["event.event: ", "unknown event type"])
        .await;

    // Strings that are not UTF-8, at the top and deep inside the payload.
    let not_utf8 = [0xff, 0xfe, 0xfd, 0xfc];
    let request = submit("cell-XXXX", harness::points("a", 1)).encode_to_vec();
    let result = submit_raw(channel.clone(), replace_once(&request, b"XXXX", &not_utf8)).await;
    t.check("a stream that is not UTF-8", result, Code::InvalidArgument, &["SubmitRequest.stream", "UTF-8"]).await;
    let mut points = harness::points("a", 1);
    if let Some(Kind::StudyPointsEarned(p)) = points.event.as_mut().and_then(|e| e.kind.as_mut()) {
        p.activity = "Nghị quyết XXXX".into();
    }
    let request = submit("cell-a", points).encode_to_vec();
    let result = submit_raw(channel.clone(), replace_once(&request, b"XXXX", &not_utf8)).await;
    t.check("an activity that is not UTF-8", result, Code::InvalidArgument, &["StudyPointsEarned.activity", "UTF-8"])
        .await;

    // Bytes that are no protobuf at all.
    let result = submit_raw(channel, vec![0xff; 16]).await;
    t.check("bytes that are no message", result, Code::InvalidArgument, &["does not decode"]).await;

    t.server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Subscriptions

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribe_streams_live_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // The admin subscribes and reads; the writers write.
    let mut client = server.client().await;

    // Writers on their own connections, unary and batched, to different streams and one shared;
    // each writer's points go to its own member in each.
    const WRITERS: usize = 3;
    const ROUNDS: usize = 20;
    let own = |w: usize| format!("w{w}");
    let shared = |w: usize| format!("s{w}");
    let early_members: Vec<String> = (0..5).map(|i| format!("m-{i}")).collect();
    let mut cells = vec![harness::cell("early", &early_members), harness::cell("shared", (0..WRITERS).map(shared))];
    cells.extend((0..WRITERS).map(|w| harness::cell(format!("writer-{w}"), [own(w)])));
    let fixture = Fixture::record(&server, &cells).await;
    let mut receipts: Vec<pb::Receipt> = fixture.receipts().cloned().collect();

    // Some events before the subscription, so it catches up first and then goes live.
    let early = early_members.iter().map(|m| harness::points(m, 1)).collect();
    let mut writer = server.writer().await;
    receipts.extend(writer.submit_batch(batch("cell-early", early)).await.unwrap().into_inner().receipts);
    let mut subscription =
        client.subscribe(pb::SubscribeRequest { after_position: None }).await.expect("Subscribe answers").into_inner();

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut client = server.writer().await;
        writers.push(tokio::spawn(async move {
            let mut receipts = Vec::new();
            for round in 0..ROUNDS {
                let (stream, member) = if round % 2 == 0 {
                    (format!("cell-writer-{w}"), own(w))
                } else {
                    ("cell-shared".to_owned(), shared(w))
                };
                if round % 5 == 4 {
                    let events = (0..3).map(|_| harness::points(&member, 1)).collect();
                    receipts.extend(client.submit_batch(batch(&stream, events)).await.unwrap().into_inner().receipts);
                } else {
                    let reply = client.submit(submit(&stream, harness::points(&member, 1))).await.unwrap();
                    receipts.push(reply.into_inner().receipt.unwrap());
                }
            }
            receipts
        }));
    }
    for writer in writers {
        receipts.extend(writer.await.unwrap());
    }
    assert_eq!(receipts.len(), fixture.len() + 5 + WRITERS * ROUNDS + WRITERS * (ROUNDS / 5) * 2);
    // And before all of them, the two credentials: the first admin's and the writer's.
    const CREDENTIALS: usize = 2;
    let total = CREDENTIALS + receipts.len();

    let mut seen = Vec::new();
    while seen.len() < total {
        let next = timeout(Duration::from_secs(10), subscription.message()).await;
        let event = next.expect("every event arrives").expect("the subscription streams").expect("it stays open");
        seen.push(event);
    }
    let positions: Vec<u64> = seen.iter().map(|e| e.position).collect();
    assert_eq!(positions, (0..total as u64).collect::<Vec<_>>(), "every event once, in global order");
    let by_position: HashMap<u64, &pb::Receipt> = receipts.iter().map(|r| (r.position, r)).collect();
    assert_eq!(by_position.len(), receipts.len(), "one position per receipt");
    let (credentials, submitted): (Vec<_>, Vec<_>) = seen.iter().partition(|e| harness::is_credential(e));
    assert_eq!(credentials.len(), CREDENTIALS);
    for event in submitted {
        let receipt = by_position.get(&event.position).unwrap_or_else(|| panic!("no receipt for {}", event.position));
        assert_receipt_matches(receipt, event);
    }
    // What a subscriber sees is what a reader sees.
    assert!(harness::read_all(&mut client).await == seen);
    // And nothing more.
    assert!(timeout(Duration::from_millis(200), subscription.message()).await.is_err(), "no extra event arrives");

    drop(subscription);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 5. Metrics

/// `GET url` over a plain HTTP/1.1 connection: the status line and the body.
async fn http_get(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).await.expect("the metrics port accepts connections");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await.expect("the response ends").unwrap();
    let response = String::from_utf8(response).expect("the metrics page is text");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response has a head and a body");
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

/// The value of the sample named exactly `name` (labels included) in a Prometheus text page.
fn sample(page: &str, name: &str) -> Option<f64> {
    page.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let cells = [harness::cell("a", ["a", "b"]), harness::cell("b", ["c"])];
    let fixture = Fixture::record(&server, &cells).await;
    let log = harness::read_all(&mut server.client().await).await;
    let credentials = log.iter().filter(|e| harness::is_credential(e)).count();
    assert_eq!(log.len(), credentials + fixture.len());
    // What the fixture's appends and the credentials before them counted: the counts below are
    // the test's own, on top.
    let (status, before) = http_get(&server.metrics).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let counted = |page: &str, name: &str| sample(page, name).unwrap_or(0.0);
    assert_eq!(counted(&before, "chibo_events_appended_total"), log.len() as f64, "{before}");

    let mut client = server.writer().await;
    let events = (0..3).map(|_| harness::points("a", 1)).collect();
    client.submit_batch(batch("cell-a", events)).await.unwrap();
    let once = harness::points("b", 2);
    client.submit(submit("cell-a", once.clone())).await.unwrap();
    client.submit(submit("cell-b", harness::points("c", 3))).await.unwrap();
    // Neither a resubmission nor a refusal appends anything.
    client.submit(submit("cell-a", once)).await.unwrap();
    client.submit(submit("cell-Bad", harness::points("c", 3))).await.unwrap_err();

    let (status, page) = http_get(&server.metrics).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let added = |name: &str| counted(&page, name) - counted(&before, name);
    assert_eq!(added("chibo_events_appended_total"), 5.0, "{page}");
    assert_eq!(added("chibo_appends_total{outcome=\"ok\"}"), 3.0, "{page}");
    assert_eq!(added("chibo_appends_total{outcome=\"duplicate\"}"), 1.0, "{page}");
    assert_eq!(added("chibo_appends_total{outcome=\"InvalidArgument\"}"), 1.0, "{page}");
    assert_eq!(added("chibo_append_duration_seconds_count"), 5.0, "every append is timed, refusals too: {page}");
    assert!(added("chibo_append_duration_seconds_sum") > 0.0, "{page}");
    assert!(page.contains("# TYPE chibo_commit_duration_seconds histogram"), "{page}");
    assert!(sample(&page, "chibo_commit_duration_seconds_count").is_some(), "commits are counted: {page}");
    let commits = added("chibo_commit_duration_seconds_count");
    assert!((1.0..=3.0).contains(&commits), "three appends make one to three commits: {commits}");

    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 6. Shutdown

/// The address line means the server is up, signals included: a SIGTERM sent as soon as it is
/// read stops the server cleanly, never by the signal's default action. (A few times over, on
/// fresh logs, where starting does the most before the line.)
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_right_after_the_address_line_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for n in 0..10 {
        Server::start(&dir.path().join(format!("data-{n}"))).stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let data = server.data.clone();

    // A subscriber that is still open when the signal comes.
    let mut subscription = server
        .client()
        .await
        .subscribe(pb::SubscribeRequest { after_position: None })
        .await
        .expect("Subscribe answers")
        .into_inner();
    let subscriber = tokio::spawn(async move {
        let mut positions = Vec::new();
        loop {
            match subscription.message().await {
                Ok(Some(event)) => positions.push(event.position),
                Ok(None) => return (positions, None),
                Err(status) => return (positions, Some(status)),
            }
        }
    });

    // Writers that keep submitting until the server is gone, each to its own cell for its own
    // member, one point per event, at most 200 a day.
    const WRITERS: usize = 4;
    let cells: Vec<_> = (0..WRITERS).map(|w| harness::cell(format!("load-{w}"), [format!("m{w}")])).collect();
    Fixture::record(&server, &cells).await;
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut client = server.writer().await;
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            let mut receipts = Vec::new();
            let stream = format!("cell-load-{w}");
            let member = format!("m{w}");
            let mut sent = 0;
            let mut next = || {
                sent += 1;
                harness::points_on(&member, 1, &harness::day(1 + (sent / 200) as u32))
            };
            for round in 0usize.. {
                let reply = if round % 4 == 3 {
                    let events = (0..5).map(|_| next()).collect();
                    client.submit_batch(batch(&stream, events)).await.map(|r| r.into_inner().receipts)
                } else {
                    let reply = client.submit(submit(&stream, next())).await;
                    reply.map(|r| r.into_inner().receipt.into_iter().collect())
                };
                match reply {
                    Ok(got) => {
                        acknowledged.fetch_add(got.len(), Ordering::Relaxed);
                        receipts.extend(got);
                    }
                    Err(status) => return (receipts, status),
                }
            }
            unreachable!()
        }));
    }
    let started = Instant::now();
    while acknowledged.load(Ordering::Relaxed) < 200 {
        assert!(started.elapsed() < Duration::from_secs(20), "the load makes progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // SIGTERM with the subscription open and appends in flight: a clean exit, well within the
    // 10 s grace period (a subscription holding the server open would use all of it).
    let stopping = Instant::now();
    timeout(Duration::from_secs(30), server.stop()).await.expect("chibo exits, and cleanly");
    let took = stopping.elapsed();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");

    let mut receipts = Vec::new();
    for writer in writers {
        let (got, status) = timeout(Duration::from_secs(10), writer).await.expect("each writer sees the end").unwrap();
        assert_ne!(status.code(), Code::Ok);
        let refused = matches!(
            status.code(),
            Code::InvalidArgument
                | Code::FailedPrecondition
                | Code::AlreadyExists
                | Code::Unauthenticated
                | Code::PermissionDenied
        );
        assert!(!refused, "a writer ends with the shutdown, not with a refusal: {status:?}");
        receipts.extend(got);
    }
    let (seen, end) = timeout(Duration::from_secs(10), subscriber).await.expect("the subscription ends").unwrap();
    assert_eq!(seen, (0..seen.len() as u64).collect::<Vec<_>>(), "the subscriber saw a gapless prefix");
    // Not as if the log were complete: the subscriber is told to come back.
    let end = end.expect("the subscription ends with an error status, not OK");
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    assert!(end.message().contains("shutting down"), "{end:?}");

    // Every acknowledged event is on disk, with the position and hash its receipt promised.
    let (report, code) = harness::verify(&data);
    assert_eq!((code, &report["intact"]), (0, &serde_json::Value::Bool(true)), "{report}");
    let server = Server::start(&data);
    let mut client = server.client().await;
    let log = harness::read_all(&mut client).await;
    // What verify saw, and perhaps a checkpoint the restarted server signed since.
    let verified = report["events"].as_u64().unwrap() as usize;
    assert!(log.len() >= verified && log[verified..].iter().all(harness::is_checkpoint), "{report}");
    assert!(log.len() >= receipts.len(), "{} events for {} receipts", log.len(), receipts.len());
    for receipt in &receipts {
        let event = log.get(receipt.position as usize).expect("an acknowledged event is in the log");
        assert_eq!(event_id_of(event), receipt.event_id);
        assert_receipt_matches(receipt, event);
    }
    server.stop().await;
}
