//! What is already recorded when the submission target checks a request against the rules:
//! the province `ca-mau`, its district `dam-doi`, the cells `tan-hoa` and `tan-tien`, three
//! members of `tan-hoa`, a programme it is registered in, its February meeting and some study
//! points. The samples of [`crate::samples`] fit it, so mutations of them reach the rules'
//! deeper checks rather than stopping at "no such cell".

use chibo_domain::event::Submission;
use chibo_domain::{Event, EventId, StreamName, Timestamp};
use chibo_projections::{Recorded, State};
use chibo_proto::v1 as pb;
use pb::event::Kind;

use crate::samples;

/// The id of the recorded event `n`.
pub fn event_id(n: u16) -> String {
    format!("0196aaaa-{n:04x}-7000-8000-000000000000")
}

/// The recorded February meeting, which the correction sample corrects.
pub const MEETING: u16 = 9;
/// The recorded study points, which the retraction sample retracts.
pub const POINTS: u16 = 10;

fn org(org_id: &str, parent: &str, level: pb::OrgLevel, name: &str) -> Kind {
    Kind::OrganizationRegistered(pb::OrganizationRegistered {
        org_id: org_id.into(),
        parent_id: parent.into(),
        level: level.into(),
        name: name.into(),
        cell_type: String::new(),
    })
}

fn joined(member: &str, name: &str) -> Kind {
    Kind::MemberJoined(pb::MemberJoined {
        member_id: member.into(),
        name: name.into(),
        date: "2025-06-01".into(),
        how: pb::MembershipChange::Admitted.into(),
        transfer_cell_id: String::new(),
    })
}

/// The recorded events, in log order, each with its stream and the instant it occurred.
fn events() -> Vec<(&'static str, i64, Kind)> {
    // 2025-06-01T01:00:00Z, and 2026-02-05T02:00:00Z for the cell's February.
    let (june, february) = (1_748_739_600, 1_770_256_800);
    let programme = samples::one_of_each().swap_remove(4).1;
    vec![
        ("org-ca-mau", june, org("ca-mau", "", pb::OrgLevel::Province, "Đảng bộ tỉnh Cà Mau")),
        ("org-dam-doi", june, org("dam-doi", "ca-mau", pb::OrgLevel::District, "Đảng bộ huyện Đầm Dơi")),
        (samples::CELL, june, org("tan-hoa", "dam-doi", pb::OrgLevel::Cell, "Chi bộ ấp Tân Hoà")),
        ("cell-tan-tien", june, org("tan-tien", "dam-doi", pb::OrgLevel::Cell, "Chi bộ ấp Tân Tiến")),
        (samples::CELL, june, joined("nguyen-van-an", "Nguyễn Văn An")),
        (samples::CELL, june, joined("tran-thi-binh", "Trần Thị Bình")),
        (samples::CELL, june, joined("le-van-cuong", "Lê Văn Cường")),
        (samples::ORG, february, programme),
        (
            samples::CELL,
            february,
            Kind::CellRegistered(pb::CellRegistered {
                programme_id: "kieu-mau-2026".into(),
                date: "2026-01-20".into(),
            }),
        ),
        (samples::CELL, february, Kind::MeetingHeld(samples::february_meeting())),
        (
            samples::CELL,
            february,
            Kind::StudyPointsEarned(pb::StudyPointsEarned {
                member_id: "nguyen-van-an".into(),
                points: 50,
                date: "2026-02-06".into(),
                activity: "Học tập Nghị quyết".into(),
                source_ref: Default::default(),
            }),
        ),
    ]
}

/// A log as the projections read it: every event in global order, and the state they fold
/// into.
#[derive(Debug, Clone, Default)]
pub struct Log {
    /// Every event, in global order.
    pub events: Vec<Recorded>,
    /// What they fold into.
    pub state: State,
}

impl Log {
    /// Records `event` at the end of `stream`, for good.
    pub fn record(&mut self, stream: &StreamName, event_id: EventId, occurred_at: Timestamp, event: Event) {
        let recorded = Recorded {
            position: self.state.log_size(),
            revision: self.state.stream(stream).map_or(0, |s| s.next_revision),
            stream: stream.clone(),
            event_id,
            occurred_at,
            recorded_at: occurred_at,
            hash: [self.events.len() as u8; 32],
            event: Some(event),
        };
        // Recorded for good: there is nothing to take back.
        let _ = self.state.apply(&recorded);
        self.events.push(recorded);
    }

    /// The events of `stream`, in revision order.
    pub fn stream(&self, stream: &StreamName) -> Vec<Recorded> {
        self.events.iter().filter(|e| &e.stream == stream).cloned().collect()
    }
}

/// The recorded events of the module documentation.
pub fn log() -> Log {
    let mut log = Log::default();
    for (n, (stream, seconds, kind)) in events().into_iter().enumerate() {
        let stream = StreamName::parse("stream", stream).expect("a recorded stream");
        let event = Event::try_from(pb::Event { kind: Some(kind) }).expect("a recorded event passes the shape rules");
        let at = Timestamp::new("occurred_at", seconds, 0).expect("in range");
        log.record(&stream, EventId::parse("event_id", &event_id(n as u16)).expect("a recorded id"), at, event);
    }
    log
}

/// [`log`], then the cell's year as [`samples::cell_batch`] records it: a meeting with its
/// speakers, commendation, reminder, resolution, task and score, study points, indicator scores,
/// a correction and a retraction. What the reports of the rules target are computed from.
pub fn busy_log() -> Log {
    let mut log = log();
    let stream = StreamName::parse("stream", samples::CELL).expect("the samples' cell");
    for submission in samples::cell_batch() {
        let Submission { event_id, occurred_at, event } =
            Submission::try_from(submission).expect("the batch passes the shape rules");
        log.record(&stream, event_id, occurred_at, event);
    }
    log
}

/// The state of [`log`].
pub fn state() -> State {
    log().state
}
