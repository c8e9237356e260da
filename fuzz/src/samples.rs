//! A valid submission of every event kind, with the stream it belongs in: the seeds that let
//! the submission target start from requests the server accepts and mutate from there.
//!
//! Every one passes the shape rules (the seed generator checks it with the server's own
//! `check_request`), and they are written to fit what [`recorded`] holds, so that the rules
//! against recorded state have something to check them against.

use chibo_domain::event::EventType;
use chibo_proto::v1 as pb;
use pb::event::Kind;

use crate::recorded;

/// The cell every cell event of the samples is about.
pub const CELL: &str = "cell-tan-hoa";
/// The committee every committee event of the samples is recorded by.
pub const ORG: &str = "org-dam-doi";

/// A submission of `kind` with a distinct event id per `n`, dated in March 2026.
pub fn submission(n: u16, kind: Kind) -> pb::EventSubmission {
    pb::EventSubmission {
        event_id: format!("01961a2b-{n:04x}-7c3d-8e4f-5a6b7c8d9e0f"),
        occurred_at: Some(pbjson_types::Timestamp { seconds: 1_772_700_000 + i64::from(n) * 60, nanos: 250_000_000 }),
        event: Some(pb::Event { kind: Some(kind) }),
    }
}

/// What the cell records after [`recorded`]'s state, as one batch the rules accept: every cell
/// sample but the cell's registration, the members' joining and the programme registration
/// (recorded already) and a member leaving (before the tasks they are given).
pub fn cell_batch() -> Vec<pb::EventSubmission> {
    let again =
        [EventType::OrganizationRegistered, EventType::MemberJoined, EventType::CellRegistered, EventType::MemberLeft];
    one_of_each()
        .into_iter()
        .zip(EventType::ALL)
        .enumerate()
        .filter(|(_, ((stream, _), event_type))| *stream == CELL && !again.contains(event_type))
        .map(|(n, ((_, kind), _))| submission(n as u16, kind))
        .collect()
}

/// Every event kind once, in `EventType::ALL` order, each with the stream it belongs in
/// (`$checkpoints` for the one only the server writes).
pub fn one_of_each() -> Vec<(&'static str, Kind)> {
    vec![
        (
            CELL,
            Kind::OrganizationRegistered(pb::OrganizationRegistered {
                org_id: "tan-hoa".into(),
                parent_id: "dam-doi".into(),
                level: pb::OrgLevel::Cell.into(),
                name: "Chi bộ ấp Tân Hoà".into(),
                cell_type: "village".into(),
            }),
        ),
        (
            CELL,
            Kind::MemberJoined(pb::MemberJoined {
                member_id: "nguyen-van-an".into(),
                name: "Nguyễn Văn An".into(),
                date: "2026-01-05".into(),
                how: pb::MembershipChange::TransferredIn.into(),
                transfer_cell_id: "tan-tien".into(),
            }),
        ),
        (
            CELL,
            Kind::MemberLeft(pb::MemberLeft {
                member_id: "nguyen-van-an".into(),
                date: "2026-04-30".into(),
                how: pb::MembershipChange::Removed.into(),
                transfer_cell_id: String::new(),
                reason: "vi phạm tư cách".into(),
            }),
        ),
        (
            CELL,
            Kind::MemberRoleAssigned(pb::MemberRoleAssigned {
                member_id: "tran-thi-binh".into(),
                role: pb::MemberRole::Secretary.into(),
                date: "2026-01-10".into(),
            }),
        ),
        (
            ORG,
            Kind::ProgrammeLaunched(pb::ProgrammeLaunched {
                programme_id: "kieu-mau-2026".into(),
                year: 2026,
                name: "Chi bộ kiểu mẫu năm 2026".into(),
                framework: Some(pb::CriteriaFramework {
                    criteria: vec![
                        pb::Criterion {
                            criterion_id: "lanh-dao".into(),
                            name: "Lãnh đạo".into(),
                            hard: true,
                            indicators: vec![
                                pb::Indicator { indicator_id: "nghi-quyet".into(), name: "Nghị quyết".into(), max_points: 40 },
                                pb::Indicator { indicator_id: "sinh-hoat".into(), name: "Sinh hoạt".into(), max_points: 30 },
                            ],
                        },
                        pb::Criterion {
                            criterion_id: "dan-van".into(),
                            name: "Dân vận".into(),
                            hard: false,
                            indicators: vec![pb::Indicator {
                                indicator_id: "mo-hinh".into(),
                                name: "Mô hình".into(),
                                max_points: 30,
                            }],
                        },
                    ],
                }),
                certification_threshold: 85,
                rule_sets: vec![pb::RuleSetRef { name: "vn-qd366-2025".into(), version: 1 }],
                monthly_study_points_minimum: 10,
            }),
        ),
        (CELL, Kind::CellRegistered(pb::CellRegistered { programme_id: "kieu-mau-2026".into(), date: "2026-01-20".into() })),
        (
            ORG,
            Kind::CellSelected(pb::CellSelected {
                programme_id: "kieu-mau-2026".into(),
                cell_id: "tan-hoa".into(),
                decision_number: "12-QĐ/ĐU".into(),
                date: "2026-02-02".into(),
            }),
        ),
        (
            ORG,
            Kind::CellCertified(pb::CellCertified {
                programme_id: "kieu-mau-2026".into(),
                cell_id: "tan-hoa".into(),
                decision_number: "40-QĐ/ĐU".into(),
                date: "2026-03-20".into(),
                score: 91,
            }),
        ),
        (
            ORG,
            Kind::CertificationRevoked(pb::CertificationRevoked {
                programme_id: "kieu-mau-2026".into(),
                cell_id: "tan-hoa".into(),
                decision_number: "41-QĐ/ĐU".into(),
                date: "2026-03-25".into(),
                reason: "sai sót hồ sơ".into(),
            }),
        ),
        (CELL, Kind::MeetingHeld(meeting_held())),
        (
            CELL,
            Kind::MemberSpoke(pb::MemberSpoke {
                meeting_id: "thuong-ky-2026-03".into(),
                member_id: "nguyen-van-an".into(),
                summary: "Góp ý về công tác dân vận".into(),
            }),
        ),
        (
            CELL,
            Kind::MemberCommended(pb::MemberCommended {
                meeting_id: "thuong-ky-2026-03".into(),
                member_id: "tran-thi-binh".into(),
                reason: "Hoàn thành tốt nhiệm vụ".into(),
            }),
        ),
        (
            CELL,
            Kind::MemberReminded(pb::MemberReminded {
                meeting_id: "thuong-ky-2026-03".into(),
                member_id: "tran-thi-binh".into(),
                reason: "Chậm nộp báo cáo".into(),
                severity: pb::ReminderSeverity::Reminder.into(),
            }),
        ),
        (
            CELL,
            Kind::ResolutionAdopted(pb::ResolutionAdopted {
                meeting_id: "thuong-ky-2026-03".into(),
                resolution_id: "nq-2026-03".into(),
                title: "Nghị quyết tháng 3".into(),
                summary: "Làm đường giao thông nông thôn".into(),
            }),
        ),
        (
            CELL,
            Kind::TaskAssigned(pb::TaskAssigned {
                task_id: "nv-2026-03-1".into(),
                resolution_id: "nq-2026-03".into(),
                member_id: "nguyen-van-an".into(),
                description: "Vận động bà con hiến đất".into(),
                due: "2026-04-15".into(),
            }),
        ),
        (
            CELL,
            Kind::TaskCompleted(pb::TaskCompleted {
                task_id: "nv-2026-03-1".into(),
                member_id: "nguyen-van-an".into(),
                date: "2026-04-10".into(),
                outcome: "Đã vận động 12 hộ".into(),
            }),
        ),
        (
            CELL,
            Kind::MeetingScored(pb::MeetingScored {
                meeting_id: "thuong-ky-2026-03".into(),
                rubric: Some(pb::RuleSetRef { name: "phutho-meeting-score".into(), version: 1 }),
                parts: vec![
                    pb::ScorePart { part: "preparation".into(), points: 14 },
                    pb::ScorePart { part: "attendance".into(), points: 18 },
                    pb::ScorePart { part: "running".into(), points: 40 },
                    pb::ScorePart { part: "closing".into(), points: 17 },
                ],
                scorer: "dam-doi".into(),
            }),
        ),
        (
            CELL,
            Kind::StudyPointsEarned(pb::StudyPointsEarned {
                member_id: "nguyen-van-an".into(),
                points: 30,
                date: "2026-03-12".into(),
                activity: "Học tập chuyên đề".into(),
                source_ref: "so-tay-42".into(),
            }),
        ),
        (
            CELL,
            Kind::IndicatorsScored(pb::IndicatorsScored {
                programme_id: "kieu-mau-2026".into(),
                period: "2026-03".into(),
                scores: vec![
                    pb::IndicatorScore { indicator_id: "nghi-quyet".into(), points: 35 },
                    pb::IndicatorScore { indicator_id: "mo-hinh".into(), points: 25 },
                ],
                scored_by: pb::ScoredBy::Cell.into(),
            }),
        ),
        (
            ORG,
            Kind::InspectionConducted(pb::InspectionConducted {
                inspection_id: "kt-2026-1".into(),
                cell_id: "tan-hoa".into(),
                date: "2026-03-15".into(),
                findings: "Hồ sơ đầy đủ".into(),
                conclusion: pb::InspectionConclusion::Passed.into(),
                programme_id: "kieu-mau-2026".into(),
                criteria: vec![pb::CriterionCheck { criterion_id: "lanh-dao".into(), met: true }],
            }),
        ),
        (
            CELL,
            Kind::CandidateTrained(pb::CandidateTrained {
                candidate_id: "pham-van-dung".into(),
                name: "Phạm Văn Dũng".into(),
                course: "Lớp cảm tình Đảng".into(),
                date: "2026-02-20".into(),
            }),
        ),
        (
            ORG,
            Kind::MemberClassified(pb::MemberClassified {
                year: 2025,
                cell_id: "tan-hoa".into(),
                member_id: "nguyen-van-an".into(),
                level: pb::ClassificationLevel::Excellent.into(),
                rule_set: Some(pb::RuleSetRef { name: "vn-qd366-2025".into(), version: 1 }),
                evaluation_digest: vec![0x5a; 32],
            }),
        ),
        (
            ORG,
            Kind::CellClassified(pb::CellClassified {
                year: 2025,
                cell_id: "tan-hoa".into(),
                level: pb::ClassificationLevel::Good.into(),
                rule_set: Some(pb::RuleSetRef { name: "vn-qd366-2025".into(), version: 1 }),
                evaluation_digest: vec![0xa5; 32],
            }),
        ),
        (
            CELL,
            Kind::EventCorrected(Box::new(pb::EventCorrected {
                target_event_id: recorded::event_id(recorded::MEETING),
                reason: "Ghi sai thời lượng".into(),
                replacement: Some(Box::new(pb::Event {
                    kind: Some(Kind::MeetingHeld(pb::MeetingHeld { duration_minutes: 150, ..february_meeting() })),
                })),
            })),
        ),
        (
            CELL,
            Kind::EventRetracted(pb::EventRetracted {
                target_event_id: recorded::event_id(recorded::POINTS),
                reason: "Nhập nhầm".into(),
            }),
        ),
        (
            ORG,
            Kind::SigningKeyRegistered(pb::SigningKeyRegistered {
                key_id: "dam-doi-2026".into(),
                principal: "committee:dam-doi".into(),
                algorithm: pb::KeyAlgorithm::Ed25519.into(),
                public_key: vec![0x11; 32],
            }),
        ),
        (
            ORG,
            Kind::SigningKeyRevoked(pb::SigningKeyRevoked {
                key_id: "dam-doi-2026".into(),
                reason: "Hết hiệu lực".into(),
            }),
        ),
        (
            "$checkpoints",
            Kind::CheckpointSigned(pb::CheckpointSigned {
                note: "chibo.fuzz.example/log\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n\n\u{2014} chibo.fuzz.example/log LKZ0og==\n".into(),
            }),
        ),
    ]
}

/// The cell's February meeting, as recorded in [`recorded`].
pub fn february_meeting() -> pb::MeetingHeld {
    pb::MeetingHeld {
        meeting_id: "thuong-ky-2026-02".into(),
        date: "2026-02-05".into(),
        topic: "Sinh hoạt thường kỳ tháng 2".into(),
        documents_posted_on: "2026-02-02".into(),
        ..meeting_held()
    }
}

fn meeting_held() -> pb::MeetingHeld {
    let attended = |member: &str, status: pb::AttendanceStatus, reason: &str| pb::Attendance {
        member_id: member.into(),
        status: status.into(),
        reason: reason.into(),
    };
    pb::MeetingHeld {
        meeting_id: "thuong-ky-2026-03".into(),
        kind: pb::MeetingKind::Regular.into(),
        date: "2026-03-05".into(),
        duration_minutes: 120,
        topic: "Sinh hoạt thường kỳ tháng 3".into(),
        minutes: "Biên bản cuộc họp".into(),
        attendance: vec![
            attended("nguyen-van-an", pb::AttendanceStatus::Present, ""),
            attended("tran-thi-binh", pb::AttendanceStatus::Present, ""),
            attended("le-van-cuong", pb::AttendanceStatus::Excused, "đi công tác"),
        ],
        guests: vec![pb::Guest {
            name: "Võ Thị Hoa".into(),
            committee_id: "dam-doi".into(),
            position: "Đảng ủy viên".into(),
        }],
        check_in_source: pb::CheckInSource::Paper.into(),
        documents_posted_on: "2026-03-02".into(),
        committee_prepared: false,
    }
}
