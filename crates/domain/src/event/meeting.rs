//! Cell meetings and what happens at them: attendance, who spoke, commendations and reminders,
//! resolutions and the tasks that carry them out, and the meeting's quality score.

use crate::error::{InvalidField, Result};
use crate::id::Id;
use crate::text::limit;
use crate::time::Date;

use super::{at_most, bounded_text, one_to, required_text, unique, RuleSetRef};

named_enum! {
    /// The kind of a cell meeting.
    pub enum MeetingKind {
        /// Sinh hoạt thường kỳ: the monthly meeting.
        Regular = "regular",
        /// Sinh hoạt chuyên đề: a thematic meeting.
        Thematic = "thematic",
        /// Bất thường: an extraordinary meeting.
        Extraordinary = "extraordinary",
    }
}

named_enum! {
    /// Whether a member attended a meeting.
    pub enum AttendanceStatus {
        /// Present.
        Present = "present",
        /// Absent with a valid reason, which is recorded.
        Excused = "excused",
        /// Absent without a valid reason.
        Unexcused = "unexcused",
    }
}

named_enum! {
    /// How attendance was taken.
    pub enum CheckInSource {
        /// On paper.
        Paper = "paper",
        /// In the "Sổ tay đảng viên điện tử" app.
        App = "app",
    }
}

named_enum! {
    /// How serious a reminder is.
    pub enum ReminderSeverity {
        /// Nhắc nhở: a reminder.
        Reminder = "reminder",
        /// Phê bình: criticism.
        Criticism = "criticism",
    }
}

/// The fields of an [`Attendance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendanceFields {
    /// The member.
    pub member_id: Id,
    /// Present, excused or unexcused.
    pub status: AttendanceStatus,
    /// Why the member was absent: required when excused, may be empty otherwise.
    pub reason: String,
}

checked! {
    /// One member's attendance at a [`MeetingHeld`].
    pub struct Attendance(AttendanceFields);
}

impl AttendanceFields {
    fn check(&self) -> Result<()> {
        let Self { member_id: _, status, reason } = self;
        if *status == AttendanceStatus::Excused && reason.trim().is_empty() {
            return Err(InvalidField::new("reason", "is empty; an excused absence records its reason"));
        }
        bounded_text("reason", reason, limit::PARAGRAPH)
    }
}

/// The fields of a [`Guest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestFields {
    /// The guest's full name.
    pub name: String,
    /// The higher committee the guest came from.
    pub committee_id: Id,
    /// The guest's position there; may be empty.
    pub position: String,
}

checked! {
    /// A guest from a higher committee at a [`MeetingHeld`].
    pub struct Guest(GuestFields);
}

impl GuestFields {
    fn check(&self) -> Result<()> {
        let Self { name, committee_id: _, position } = self;
        required_text("name", name, limit::NAME)?;
        bounded_text("position", position, limit::LABEL)
    }
}

/// The fields of a [`MeetingHeld`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingHeldFields {
    /// The meeting, named by later events about it.
    pub meeting_id: Id,
    /// Regular, thematic or extraordinary.
    pub kind: MeetingKind,
    /// The day it was held.
    pub date: Date,
    /// How long it lasted; 0 if not recorded.
    pub duration_minutes: u32,
    /// What it was about.
    pub topic: String,
    /// The minutes; may be empty.
    pub minutes: String,
    /// Every member of the cell on that date, once each.
    pub attendance: Vec<Attendance>,
    /// Guests from higher committees.
    pub guests: Vec<Guest>,
    /// How attendance was taken.
    pub check_in_source: CheckInSource,
    /// When the draft report and documents were sent to members; `None` if they were not.
    pub documents_posted_on: Option<Date>,
    /// Whether the cell committee met to prepare the meeting.
    pub committee_prepared: bool,
}

checked! {
    /// A cell held a meeting. Recorded in the cell's stream.
    pub struct MeetingHeld(MeetingHeldFields);
}

impl MeetingHeldFields {
    fn check(&self) -> Result<()> {
        let Self {
            meeting_id: _,
            kind: _,
            date: _,
            duration_minutes: _,
            topic,
            minutes,
            attendance,
            guests,
            check_in_source: _,
            documents_posted_on: _,
            committee_prepared: _,
        } = self;
        required_text("topic", topic, limit::PARAGRAPH)?;
        bounded_text("minutes", minutes, limit::DOCUMENT)?;
        one_to(
            "attendance",
            attendance.len(),
            super::limit::ATTENDANCE,
            "list every member of the cell on the meeting's date",
        )?;
        unique("attendance", "member_id", attendance.iter().map(|a| &a.member_id))?;
        at_most("guests", guests.len(), super::limit::GUESTS)
    }
}

/// The fields of a [`MemberSpoke`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpokeFields {
    /// The meeting.
    pub meeting_id: Id,
    /// The member who spoke.
    pub member_id: Id,
    /// What the member said; may be empty.
    pub summary: String,
}

checked! {
    /// A member spoke at a meeting. Recorded in the cell's stream.
    pub struct MemberSpoke(MemberSpokeFields);
}

impl MemberSpokeFields {
    fn check(&self) -> Result<()> {
        let Self { meeting_id: _, member_id: _, summary } = self;
        bounded_text("summary", summary, limit::PARAGRAPH)
    }
}

/// The fields of a [`MemberCommended`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberCommendedFields {
    /// The meeting.
    pub meeting_id: Id,
    /// The member commended.
    pub member_id: Id,
    /// What for.
    pub reason: String,
}

checked! {
    /// A member was commended (biểu dương) at a meeting. Recorded in the cell's stream.
    pub struct MemberCommended(MemberCommendedFields);
}

impl MemberCommendedFields {
    fn check(&self) -> Result<()> {
        let Self { meeting_id: _, member_id: _, reason } = self;
        required_text("reason", reason, limit::PARAGRAPH)
    }
}

/// The fields of a [`MemberReminded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRemindedFields {
    /// The meeting.
    pub meeting_id: Id,
    /// The member reminded or criticised.
    pub member_id: Id,
    /// What for.
    pub reason: String,
    /// A reminder or criticism.
    pub severity: ReminderSeverity,
}

checked! {
    /// A member was reminded (nhắc nhở) or criticised (phê bình) at a meeting. Recorded in
    /// the cell's stream.
    pub struct MemberReminded(MemberRemindedFields);
}

impl MemberRemindedFields {
    fn check(&self) -> Result<()> {
        let Self { meeting_id: _, member_id: _, reason, severity: _ } = self;
        required_text("reason", reason, limit::PARAGRAPH)
    }
}

/// The fields of a [`ResolutionAdopted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionAdoptedFields {
    /// The meeting that adopted it.
    pub meeting_id: Id,
    /// The resolution, named by the tasks that carry it out.
    pub resolution_id: Id,
    /// Its title.
    pub title: String,
    /// What it says; may be empty.
    pub summary: String,
}

checked! {
    /// A meeting adopted a resolution. Recorded in the cell's stream.
    pub struct ResolutionAdopted(ResolutionAdoptedFields);
}

impl ResolutionAdoptedFields {
    fn check(&self) -> Result<()> {
        let Self { meeting_id: _, resolution_id: _, title, summary } = self;
        required_text("title", title, limit::NAME)?;
        bounded_text("summary", summary, limit::PARAGRAPH)
    }
}

/// The fields of a [`TaskAssigned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskAssignedFields {
    /// The task.
    pub task_id: Id,
    /// The resolution the task carries out, if any.
    pub resolution_id: Option<Id>,
    /// The member responsible.
    pub member_id: Id,
    /// What is to be done.
    pub description: String,
    /// When it is due.
    pub due: Date,
}

checked! {
    /// A task was assigned to a member. Recorded in the cell's stream.
    pub struct TaskAssigned(TaskAssignedFields);
}

impl TaskAssignedFields {
    fn check(&self) -> Result<()> {
        let Self { task_id: _, resolution_id: _, member_id: _, description, due: _ } = self;
        required_text("description", description, limit::PARAGRAPH)
    }
}

/// The fields of a [`TaskCompleted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCompletedFields {
    /// The task.
    pub task_id: Id,
    /// The member who completed it.
    pub member_id: Id,
    /// The day it was completed.
    pub date: Date,
    /// What came of it; may be empty.
    pub outcome: String,
}

checked! {
    /// A member completed a task. Recorded in the cell's stream.
    pub struct TaskCompleted(TaskCompletedFields);
}

impl TaskCompletedFields {
    fn check(&self) -> Result<()> {
        let Self { task_id: _, member_id: _, date: _, outcome } = self;
        bounded_text("outcome", outcome, limit::PARAGRAPH)
    }
}

/// The fields of a [`ScorePart`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorePartFields {
    /// The rubric's part, e.g. `preparation`, `attendance`, `running`, `closing`.
    pub part: String,
    /// The points given for it.
    pub points: u32,
}

checked! {
    /// The points one part of a rubric gave a meeting, in a [`MeetingScored`].
    pub struct ScorePart(ScorePartFields);
}

impl ScorePartFields {
    fn check(&self) -> Result<()> {
        let Self { part, points: _ } = self;
        required_text("part", part, limit::LABEL)
    }
}

/// The fields of a [`MeetingScored`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingScoredFields {
    /// The meeting.
    pub meeting_id: Id,
    /// The rubric scored against.
    pub rubric: RuleSetRef,
    /// The points per part of the rubric, each part once.
    pub parts: Vec<ScorePart>,
    /// Who scored: a member id, or a committee id for a higher-level observer.
    pub scorer: Id,
}

checked! {
    /// A meeting's quality was scored against a rubric. Recorded in the cell's stream.
    pub struct MeetingScored(MeetingScoredFields);
}

impl MeetingScoredFields {
    fn check(&self) -> Result<()> {
        let Self { meeting_id: _, rubric: _, parts, scorer: _ } = self;
        one_to("parts", parts.len(), super::limit::SCORE_PARTS, "a score gives points per part of the rubric")?;
        unique("parts", "part", parts.iter().map(|p| p.part.as_str()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::programme::tests::rule_set;
    use crate::event::tests::{date, err, id, pair};

    fn present(member: &str) -> Attendance {
        Attendance::new(AttendanceFields {
            member_id: id(member),
            status: AttendanceStatus::Present,
            reason: String::new(),
        })
        .unwrap()
    }

    fn excused(member: &str) -> AttendanceFields {
        AttendanceFields { member_id: id(member), status: AttendanceStatus::Excused, reason: "ốm".into() }
    }

    fn guest() -> GuestFields {
        GuestFields {
            name: "Trần Thị B".into(), committee_id: id("thaibinh"), position: "Huyện ủy viên".into()
        }
    }

    fn held() -> MeetingHeldFields {
        MeetingHeldFields {
            meeting_id: id("2026-03"),
            kind: MeetingKind::Regular,
            date: date("2026-03-05"),
            duration_minutes: 120,
            topic: "Sinh hoạt thường kỳ tháng 3".into(),
            minutes: "Biên bản...\nĐồng chí A phát biểu.".into(),
            attendance: vec![
                present("nguyen-van-a"),
                Attendance::new(excused("le-van-c")).unwrap(),
                Attendance::new(AttendanceFields {
                    member_id: id("pham-d"),
                    status: AttendanceStatus::Unexcused,
                    reason: String::new(),
                })
                .unwrap(),
            ],
            guests: vec![Guest::new(guest()).unwrap()],
            check_in_source: CheckInSource::App,
            documents_posted_on: Some(date("2026-03-03")),
            committee_prepared: true,
        }
    }

    pub(crate) fn meeting_held() -> MeetingHeld {
        MeetingHeld::new(held()).unwrap()
    }

    pub(crate) fn member_spoke() -> MemberSpoke {
        MemberSpoke::new(MemberSpokeFields {
            meeting_id: id("2026-03"),
            member_id: id("nguyen-van-a"),
            summary: "Đề xuất mô hình dân vận khéo".into(),
        })
        .unwrap()
    }

    pub(crate) fn member_commended() -> MemberCommended {
        MemberCommended::new(MemberCommendedFields {
            meeting_id: id("2026-03"),
            member_id: id("nguyen-van-a"),
            reason: "Hoàn thành xuất sắc nhiệm vụ".into(),
        })
        .unwrap()
    }

    fn reminded() -> MemberRemindedFields {
        MemberRemindedFields {
            meeting_id: id("2026-03"),
            member_id: id("pham-d"),
            reason: "Vắng họp không có lý do chính đáng".into(),
            severity: ReminderSeverity::Criticism,
        }
    }

    pub(crate) fn member_reminded() -> MemberReminded {
        MemberReminded::new(reminded()).unwrap()
    }

    pub(crate) fn resolution_adopted() -> ResolutionAdopted {
        ResolutionAdopted::new(ResolutionAdoptedFields {
            meeting_id: id("2026-03"),
            resolution_id: id("nq-2026-03"),
            title: "Nghị quyết tháng 3".into(),
            summary: String::new(),
        })
        .unwrap()
    }

    fn assigned() -> TaskAssignedFields {
        TaskAssignedFields {
            task_id: id("t-1"),
            resolution_id: Some(id("nq-2026-03")),
            member_id: id("nguyen-van-a"),
            description: "Vận động hộ nghèo".into(),
            due: date("2026-04-01"),
        }
    }

    pub(crate) fn task_assigned() -> TaskAssigned {
        TaskAssigned::new(assigned()).unwrap()
    }

    pub(crate) fn task_completed() -> TaskCompleted {
        TaskCompleted::new(TaskCompletedFields {
            task_id: id("t-1"),
            member_id: id("nguyen-van-a"),
            date: date("2026-03-28"),
            outcome: "Xong".into(),
        })
        .unwrap()
    }

    fn part(name: &str, points: u32) -> ScorePart {
        ScorePart::new(ScorePartFields { part: name.into(), points }).unwrap()
    }

    fn scored() -> MeetingScoredFields {
        MeetingScoredFields {
            meeting_id: id("2026-03"),
            rubric: rule_set("phutho-meeting-score", 1),
            parts: vec![part("preparation", 15), part("attendance", 18), part("running", 40)],
            scorer: id("thaibinh"),
        }
    }

    pub(crate) fn meeting_scored() -> MeetingScored {
        MeetingScored::new(scored()).unwrap()
    }

    #[test]
    fn an_excused_absence_has_a_reason() {
        assert!(Attendance::new(excused("a")).is_ok());
        let silent = AttendanceFields { reason: "  ".into(), ..excused("a") };
        assert_eq!(err(Attendance::new(silent)), pair("reason", "is empty; an excused absence records its reason"));
        let long = AttendanceFields { reason: "x".repeat(4097), ..excused("a") };
        assert_eq!(err(Attendance::new(long)).0, "reason");
    }

    #[test]
    fn guests_are_named() {
        let unnamed = GuestFields { name: String::new(), ..guest() };
        assert_eq!(err(Guest::new(unnamed)), pair("name", "is empty"));
        let long = GuestFields { position: "x".repeat(129), ..guest() };
        assert_eq!(err(Guest::new(long)).0, "position");
        assert!(Guest::new(GuestFields { position: String::new(), ..guest() }).is_ok());
    }

    #[test]
    fn a_meeting_lists_each_member_once() {
        assert_eq!(meeting_held().attendance.len(), 3);
        let twice = MeetingHeldFields { attendance: vec![present("a"), present("b"), present("a")], ..held() };
        assert_eq!(
            err(MeetingHeld::new(twice)),
            pair("attendance[2].member_id", "\"a\" is listed twice (first at attendance[0])")
        );
        let nobody = MeetingHeldFields { attendance: vec![], ..held() };
        assert_eq!(
            err(MeetingHeld::new(nobody)),
            pair("attendance", "is empty; list every member of the cell on the meeting's date")
        );
        let crowd = MeetingHeldFields { attendance: (0..1001).map(|i| present(&format!("m{i}"))).collect(), ..held() };
        assert_eq!(err(MeetingHeld::new(crowd)), pair("attendance", "has 1001 entries; the limit is 1000"));
        let full = MeetingHeldFields { attendance: (0..1000).map(|i| present(&format!("m{i}"))).collect(), ..held() };
        assert!(MeetingHeld::new(full).is_ok());
        let visitors = MeetingHeldFields { guests: (0..101).map(|_| Guest::new(guest()).unwrap()).collect(), ..held() };
        assert_eq!(err(MeetingHeld::new(visitors)), pair("guests", "has 101 entries; the limit is 100"));
        let untopical = MeetingHeldFields { topic: String::new(), ..held() };
        assert_eq!(err(MeetingHeld::new(untopical)), pair("topic", "is empty"));
        let long = MeetingHeldFields { minutes: "x".repeat(64 * 1024 + 1), ..held() };
        assert_eq!(err(MeetingHeld::new(long)).0, "minutes");
        let unrecorded = MeetingHeldFields { minutes: String::new(), documents_posted_on: None, ..held() };
        assert!(MeetingHeld::new(unrecorded).is_ok());
    }

    #[test]
    fn what_happens_at_a_meeting_is_explained() {
        assert_eq!(member_spoke().member_id.as_str(), "nguyen-van-a");
        let mut spoke = member_spoke().into_fields();
        spoke.summary = "\u{7}".into();
        assert_eq!(err(MemberSpoke::new(spoke)), pair("summary", "contains the control character U+0007"));

        assert_eq!(member_commended().reason, "Hoàn thành xuất sắc nhiệm vụ");
        let mut commended = member_commended().into_fields();
        commended.reason = String::new();
        assert_eq!(err(MemberCommended::new(commended)), pair("reason", "is empty"));

        assert_eq!(member_reminded().severity, ReminderSeverity::Criticism);
        let unexplained = MemberRemindedFields { reason: String::new(), ..reminded() };
        assert_eq!(err(MemberReminded::new(unexplained)), pair("reason", "is empty"));

        assert_eq!(resolution_adopted().title, "Nghị quyết tháng 3");
        let mut untitled = resolution_adopted().into_fields();
        untitled.title = String::new();
        assert_eq!(err(ResolutionAdopted::new(untitled)), pair("title", "is empty"));
        let mut long = resolution_adopted().into_fields();
        long.summary = "x".repeat(4097);
        assert_eq!(err(ResolutionAdopted::new(long)).0, "summary");
    }

    #[test]
    fn tasks_say_what_is_to_be_done() {
        assert_eq!(task_assigned().due, date("2026-04-01"));
        assert!(TaskAssigned::new(TaskAssignedFields { resolution_id: None, ..assigned() }).is_ok());
        let vague = TaskAssignedFields { description: String::new(), ..assigned() };
        assert_eq!(err(TaskAssigned::new(vague)), pair("description", "is empty"));
        assert_eq!(task_completed().outcome, "Xong");
        let mut long = task_completed().into_fields();
        long.outcome = "x".repeat(4097);
        assert_eq!(err(TaskCompleted::new(long)).0, "outcome");
    }

    #[test]
    fn a_score_gives_each_part_once() {
        assert_eq!(meeting_scored().parts.len(), 3);
        assert_eq!(err(ScorePart::new(ScorePartFields { part: String::new(), points: 1 })), pair("part", "is empty"));
        let none = MeetingScoredFields { parts: vec![], ..scored() };
        assert_eq!(
            err(MeetingScored::new(none)),
            pair("parts", "is empty; a score gives points per part of the rubric")
        );
        let twice = MeetingScoredFields { parts: vec![part("preparation", 1), part("preparation", 2)], ..scored() };
        assert_eq!(
            err(MeetingScored::new(twice)),
            pair("parts[1].part", "\"preparation\" is listed twice (first at parts[0])")
        );
        let many = MeetingScoredFields { parts: (0..51).map(|i| part(&format!("p{i}"), 1)).collect(), ..scored() };
        assert_eq!(err(MeetingScored::new(many)), pair("parts", "has 51 entries; the limit is 50"));
    }
}
