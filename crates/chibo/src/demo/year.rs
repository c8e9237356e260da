//! One cell's record book for the year: its members coming and going, its regular and
//! thematic meetings with attendance, speeches, commendations, reminders, resolutions, tasks
//! and quality scores, its members' study points and its monthly self-assessment.

use chibo_domain::{
    event::{
        Attendance, AttendanceFields, AttendanceStatus, CandidateTrained, CandidateTrainedFields, CheckInSource, Guest,
        GuestFields, IndicatorScore, IndicatorsScored, IndicatorsScoredFields, MeetingHeld, MeetingHeldFields,
        MeetingKind, MeetingScored, MeetingScoredFields, MemberCommended, MemberCommendedFields, MemberJoined,
        MemberJoinedFields, MemberLeft, MemberLeftFields, MemberReminded, MemberRemindedFields, MemberRole,
        MemberRoleAssigned, MemberRoleAssignedFields, MemberSpoke, MemberSpokeFields, MembershipChange,
        ReminderSeverity, ResolutionAdopted, ResolutionAdoptedFields, RuleSetRef, RuleSetRefFields, ScorePart,
        ScorePartFields, ScoredBy, StudyPointsEarned, StudyPointsEarnedFields, TaskAssigned, TaskAssignedFields,
        TaskCompleted, TaskCompletedFields,
    },
    Id,
};
use rand::{rngs::StdRng, seq::SliceRandom, Rng};

use super::{
    calendar::{days_in_month, Day},
    names::pick_one,
    people::{Joined, Left, Roster, Zeal},
    plan::Recorder,
    programme::{caps, spread, Enrolment, Programme},
    texts,
    tree::{Tree, Unit},
    Schedule,
};

/// The rubric every meeting is scored with, and the most points of each of its parts.
pub const RUBRIC: (&str, u32) = ("phutho-meeting-score", 1);
pub const RUBRIC_PARTS: [(&str, u32); 4] = [("preparation", 15), ("attendance", 20), ("running", 45), ("closing", 20)];

/// Times of day (Vietnam time) at which each kind of thing happens.
pub mod time {
    pub const REGISTERED: (u32, u32) = (8, 0);
    pub const MEMBERSHIP: (u32, u32) = (8, 30);
    pub const ROLE: (u32, u32) = (9, 0);
    pub const PROGRAMME: (u32, u32) = (9, 30);
    pub const DECISION: (u32, u32) = (10, 0);
    pub const TASK_DONE: (u32, u32) = (10, 30);
    pub const TRAINING: (u32, u32) = (11, 0);
    pub const SELF_ASSESSMENT: (u32, u32) = (17, 0);
    pub const STUDY: (u32, u32) = (21, 0);
}

/// When the cell meets (villages and residential groups meet in the evening, after work in
/// the fields), and when what follows the meeting is written up.
fn meeting_times(unit: Unit) -> ((u32, u32), (u32, u32)) {
    match unit {
        Unit::Village | Unit::Ward => ((19, 30), (21, 30)),
        _ => ((14, 0), (16, 30)),
    }
}

/// What the generator of one cell's year needs.
pub struct CellYear<'a> {
    pub tree: &'a Tree,
    pub cell: usize,
    pub roster: &'a Roster,
    pub schedule: &'a Schedule,
    pub enrolment: Option<(&'a Enrolment, &'a Programme)>,
    /// Guests the cell's parent committee sends.
    pub guests: &'a [String],
    pub year: i32,
}

/// A task given at a meeting, and when (if ever) it is done.
struct Task {
    assignee: usize,
    due: Day,
    done: Option<Day>,
    reminded: bool,
}

impl CellYear<'_> {
    fn stream(&self) -> String {
        format!("cell-{}", self.tree.cells[self.cell].id)
    }

    fn unit(&self) -> Unit {
        self.tree.cells[self.cell].unit
    }

    fn member_id(&self, membership: usize) -> Id {
        Id::parse("member_id", &self.roster.person_of(membership).id).expect("member ids are made valid")
    }

    /// How well the cell works this month, from 0 to 1: a registered cell's self-assessment,
    /// otherwise a fair cell.
    fn quality(&self, month: u32) -> f64 {
        match self.enrolment {
            Some((e, p)) => f64::from(e.totals[month as usize - 1]) / f64::from(p.best_total().max(1)),
            None => 0.85,
        }
    }

    /// Records the cell's year in `out`.
    pub fn record(&self, rng: &mut StdRng, out: &mut Recorder) -> anyhow::Result<()> {
        self.members(rng, out)?;
        self.meetings(rng, out)?;
        self.study(rng, out)?;
        self.self_assessment(rng, out)?;
        Ok(())
    }

    fn members(&self, rng: &mut StdRng, out: &mut Recorder) -> anyhow::Result<()> {
        let stream = self.stream();
        let cells = &self.tree.cells;
        for &m in &self.roster.by_cell[self.cell] {
            let membership = &self.roster.memberships[m];
            let person = self.roster.person_of(m);
            let (how, transfer_cell_id) = match membership.joined {
                Joined::Admitted => (MembershipChange::Admitted, None),
                Joined::TransferredIn { from } => {
                    (MembershipChange::TransferredIn, Some(Id::parse("transfer_cell_id", &cells[from].id)?))
                }
            };
            let joined = MemberJoined::new(MemberJoinedFields {
                member_id: self.member_id(m),
                name: person.name.clone(),
                date: membership.from.date(),
                how,
                transfer_cell_id,
            })?;
            out.cell(&stream, membership.from, time::MEMBERSHIP, joined);
            if let Some((day, left)) = membership.until {
                let (how, transfer_cell_id) = match left {
                    Left::TransferredOut { to } => {
                        (MembershipChange::TransferredOut, Some(Id::parse("transfer_cell_id", &cells[to].id)?))
                    }
                    Left::Removed => (MembershipChange::Removed, None),
                    Left::Deceased => (MembershipChange::Deceased, None),
                };
                let left = MemberLeft::new(MemberLeftFields {
                    member_id: self.member_id(m),
                    date: day.date(),
                    how,
                    transfer_cell_id,
                    reason: super::people::leaving_reason(rng, left),
                })?;
                out.cell(&stream, day, time::MEMBERSHIP, left);
            }
        }
        let officers = &self.roster.officers[self.cell];
        let roles = [(officers.secretary, MemberRole::Secretary), (officers.deputy, MemberRole::DeputySecretary)]
            .into_iter()
            .chain(officers.committee.iter().map(|&m| (m, MemberRole::CommitteeMember)));
        for (m, role) in roles {
            let assigned = MemberRoleAssigned::new(MemberRoleAssignedFields {
                member_id: self.member_id(m),
                role,
                date: officers.elected_on.date(),
            })?;
            out.cell(&stream, officers.elected_on, time::ROLE, assigned);
        }
        for candidate in self.roster.candidates.iter().filter(|c| c.cell == self.cell) {
            let person = &self.roster.persons[candidate.person];
            let trained = CandidateTrained::new(CandidateTrainedFields {
                candidate_id: Id::parse("candidate_id", &person.id)?,
                name: person.name.clone(),
                course: texts::CANDIDATE_COURSE.to_owned(),
                date: candidate.trained_on.date(),
            })?;
            out.cell(&stream, candidate.trained_on, time::TRAINING, trained);
        }
        Ok(())
    }

    /// Whether the member is on the way to removal from the rolls on `day`: three months of
    /// unexcused absence and no study before it.
    fn lapsed(&self, membership: usize, day: Day) -> bool {
        matches!(self.roster.memberships[membership].until, Some((until, Left::Removed)) if until.since(day) <= 100)
    }

    fn meetings(&self, rng: &mut StdRng, out: &mut Recorder) -> anyhow::Result<()> {
        let year = self.year;
        // (day, kind, month or quarter, meeting id)
        let mut meetings: Vec<(Day, MeetingKind, u32, String)> = (1..=12)
            .map(|m| {
                (self.schedule.regular[m as usize - 1], MeetingKind::Regular, m, format!("thuong-ky-{year}-{m:02}"))
            })
            .collect();
        let mut in_quarter = [0u32; 5];
        for &(day, q) in &self.schedule.thematic {
            in_quarter[q as usize] += 1;
            let suffix =
                if in_quarter[q as usize] == 1 { String::new() } else { format!("-{}", in_quarter[q as usize]) };
            meetings.push((day, MeetingKind::Thematic, q, format!("chuyen-de-{year}-q{q}{suffix}")));
        }
        meetings.sort_by_key(|(day, ..)| *day);

        let mut tasks: Vec<Task> = Vec::new();
        let mut unexcused_last_time: Vec<usize> = Vec::new();
        let app = self.enrolment.is_some_and(|(_, p)| self.tree.committees[p.committee].id == super::tree::QUYNH_PHU)
            || rng.gen_bool(0.6);
        for (day, kind, n, meeting_id) in meetings {
            let meeting_id = Id::parse("meeting_id", &meeting_id)?;
            unexcused_last_time =
                self.meeting(rng, out, day, (kind, n, meeting_id), app, &mut tasks, &unexcused_last_time)?;
        }
        Ok(())
    }

    /// Records one meeting and what follows it; returns who was absent without a reason.
    #[allow(clippy::too_many_arguments)]
    fn meeting(
        &self,
        rng: &mut StdRng,
        out: &mut Recorder,
        day: Day,
        (kind, n, meeting_id): (MeetingKind, u32, Id),
        app: bool,
        tasks: &mut Vec<Task>,
        unexcused_last_time: &[usize],
    ) -> anyhow::Result<Vec<usize>> {
        let stream = self.stream();
        let unit = self.unit();
        let year = self.year;
        let (start, after) = meeting_times(unit);
        let quality = self.quality(day.month());
        let officers = &self.roster.officers[self.cell];
        let regular = kind == MeetingKind::Regular;

        // Attendance: every member of the cell that day, once.
        let active = self.roster.active(self.cell, day);
        let p_excused = 0.03 + (1.0 - quality) * 0.15;
        let p_unexcused = 0.001 + (1.0 - quality) * 0.01;
        let mut attendance = Vec::with_capacity(active.len());
        let (mut present, mut excused, mut unexcused) = (Vec::new(), 0, Vec::new());
        for &m in &active {
            let roll: f64 = rng.gen();
            let status = if self.lapsed(m, day) || (roll < p_unexcused && m != officers.secretary) {
                AttendanceStatus::Unexcused
            } else if roll < p_unexcused + p_excused && m != officers.secretary {
                AttendanceStatus::Excused
            } else {
                AttendanceStatus::Present
            };
            let reason = match status {
                AttendanceStatus::Excused => {
                    excused += 1;
                    pick_one(rng, texts::excuses(unit)).to_owned()
                }
                AttendanceStatus::Unexcused => {
                    unexcused.push(m);
                    String::new()
                }
                AttendanceStatus::Present => {
                    present.push(m);
                    String::new()
                }
            };
            attendance.push(Attendance::new(AttendanceFields { member_id: self.member_id(m), status, reason })?);
        }

        let speakers = {
            let want = if present.len() >= 12 { rng.gen_range(7..=10) } else { (present.len() * 2 / 3).max(2) };
            let mut others: Vec<usize> = present.iter().copied().filter(|&m| m != officers.secretary).collect();
            others.shuffle(rng);
            let mut speakers: Vec<usize> = present.iter().copied().filter(|&m| m == officers.secretary).collect();
            speakers.extend(others);
            speakers.truncate(want.min(present.len()));
            speakers
        };

        let parent = &self.tree.committees[self.tree.cells[self.cell].parent];
        let guests = if rng.gen_bool(if regular { 0.2 } else { 0.45 }) && !self.guests.is_empty() {
            vec![Guest::new(GuestFields {
                name: pick_one(rng, &self.guests.iter().map(String::as_str).collect::<Vec<_>>()).to_owned(),
                committee_id: Id::parse("committee_id", &parent.id)?,
                position: texts::guest_position(parent.level).to_owned(),
            })?]
        } else {
            Vec::new()
        };
        let committee_prepared = rng.gen_bool(0.9 + quality * 0.09);
        let posted = day.plus(-rng.gen_range(1..=3));
        let topic = if regular {
            let next = if n == 12 { "năm tới".to_owned() } else { format!("tháng {}", n + 1) };
            format!(
                "Sinh hoạt chi bộ thường kỳ tháng {n}/{year}: đánh giá kết quả tháng {n}, triển khai nhiệm vụ {next}"
            )
        } else {
            format!("Sinh hoạt chuyên đề quý {n}/{year}: {}", texts::theme(unit, n))
        };
        let secretary = &self.roster.person_of(officers.secretary).name;
        let minutes = format!(
            "Chủ trì: đồng chí {secretary}, Bí thư chi bộ. Đảng viên có mặt {}/{}; vắng có lý do {excused}; vắng không \
             có lý do {}. {} đồng chí phát biểu ý kiến.{}",
            present.len(),
            active.len(),
            unexcused.len(),
            speakers.len(),
            if regular { " Chi bộ biểu quyết thông qua nghị quyết tháng." } else { "" },
        );
        let duration = if regular { rng.gen_range(90..=150) } else { rng.gen_range(100..=180) };
        let held = MeetingHeld::new(MeetingHeldFields {
            meeting_id: meeting_id.clone(),
            kind,
            date: day.date(),
            duration_minutes: duration,
            topic,
            minutes,
            attendance,
            guests,
            check_in_source: if app { CheckInSource::App } else { CheckInSource::Paper },
            documents_posted_on: Some(posted.date()),
            committee_prepared,
        })?;
        out.cell(&stream, day, start, held);

        let speeches: Vec<&str> = texts::SPEECHES.iter().chain(texts::local_speeches(unit)).copied().collect();
        for &m in &speakers {
            let spoke = MemberSpoke::new(MemberSpokeFields {
                meeting_id: meeting_id.clone(),
                member_id: self.member_id(m),
                summary: pick_one(rng, &speeches).to_owned(),
            })?;
            out.cell(&stream, day, after, spoke);
        }

        if rng.gen_bool(if regular { 0.35 } else { 0.15 }) {
            let mut keen: Vec<usize> = present.to_vec();
            keen.sort_by_key(|&m| self.roster.person_of(m).zeal != Zeal::Keen);
            for &m in keen.iter().take(rng.gen_range(1..=2)) {
                let commended = MemberCommended::new(MemberCommendedFields {
                    meeting_id: meeting_id.clone(),
                    member_id: self.member_id(m),
                    reason: pick_one(rng, texts::COMMENDATIONS).to_owned(),
                })?;
                out.cell(&stream, day, after, commended);
            }
        }

        // Reminders, for members present now: an unexcused absence last time, a task done
        // late or not at all, or (now and then) too little study.
        let mut reminders: Vec<(usize, &str, ReminderSeverity)> = Vec::new();
        for &m in present.iter().filter(|m| unexcused_last_time.contains(m)) {
            reminders.push((m, texts::REMINDER_ABSENCE, ReminderSeverity::Reminder));
        }
        for task in tasks.iter_mut().filter(|t| !t.reminded && t.due < day && t.done.is_none_or(|d| d > t.due)) {
            if present.contains(&task.assignee) && !reminders.iter().any(|(m, ..)| *m == task.assignee) {
                task.reminded = true;
                reminders.push((task.assignee, texts::REMINDER_LATE_TASK, ReminderSeverity::Reminder));
            }
        }
        if regular && rng.gen_bool(0.03) {
            let idle = present.iter().find(|&&m| self.roster.person_of(m).zeal == Zeal::Low);
            if let Some(&m) = idle.filter(|m| !reminders.iter().any(|(r, ..)| r == *m)) {
                reminders.push((m, texts::REMINDER_STUDY, ReminderSeverity::Criticism));
            }
        }
        for (m, reason, severity) in reminders {
            let reminded = MemberReminded::new(MemberRemindedFields {
                meeting_id: meeting_id.clone(),
                member_id: self.member_id(m),
                reason: reason.to_owned(),
                severity,
            })?;
            out.cell(&stream, day, after, reminded);
        }

        if regular {
            self.resolution(rng, out, day, n, &meeting_id, &present, tasks)?;
        }

        // The quality score, part by part, from what the meeting was.
        let ratio = present.len() as f64 / active.len().max(1) as f64;
        let preparation = if committee_prepared { 15 } else { 11 } - u32::from(rng.gen_bool(0.2));
        let attendance = match (ratio, unexcused.is_empty()) {
            (r, true) if r >= 0.95 => 20,
            (r, true) if r >= 0.9 => 19,
            (r, true) if r >= 0.85 => 17,
            (_, true) => 14,
            (_, false) => 12,
        };
        let running = (33.0 + quality * 10.0 + if speakers.len() >= 8 { 2.0 } else { 0.0 }) as u32;
        let closing = (15.0 + quality * 5.0) as u32 - u32::from(rng.gen_bool(0.3));
        let points = [preparation, attendance, running.min(45), closing.min(20)];
        let scored = MeetingScored::new(MeetingScoredFields {
            meeting_id,
            rubric: RuleSetRef::new(RuleSetRefFields { name: Id::parse("rubric", RUBRIC.0)?, version: RUBRIC.1 })?,
            parts: RUBRIC_PARTS
                .iter()
                .zip(points)
                .map(|((part, _), points)| ScorePart::new(ScorePartFields { part: (*part).to_owned(), points }))
                .collect::<Result<_, _>>()?,
            scorer: self.member_id(officers.secretary),
        })?;
        out.cell(&stream, day, after, scored);
        Ok(unexcused)
    }

    /// The month's resolution and the tasks that carry it out, and when each is done.
    #[allow(clippy::too_many_arguments)]
    fn resolution(
        &self,
        rng: &mut StdRng,
        out: &mut Recorder,
        day: Day,
        month: u32,
        meeting_id: &Id,
        present: &[usize],
        tasks: &mut Vec<Task>,
    ) -> anyhow::Result<()> {
        let stream = self.stream();
        let (_, after) = meeting_times(self.unit());
        let year = self.year;
        let resolution_id = Id::parse("resolution_id", &format!("nq-{year}-{month:02}"))?;
        let adopted = ResolutionAdopted::new(ResolutionAdoptedFields {
            meeting_id: meeting_id.clone(),
            resolution_id: resolution_id.clone(),
            title: format!("Nghị quyết chi bộ tháng {month:02}/{year}"),
            summary: "Lãnh đạo thực hiện nhiệm vụ chính trị của đơn vị; phân công đảng viên phụ trách từng nội dung"
                .to_owned(),
        })?;
        out.cell(&stream, day, after, adopted);

        // Tasks go to members present who stay in the cell to the end of the year.
        let mut staying: Vec<usize> = present.iter().copied().filter(|&m| self.roster.memberships[m].stays()).collect();
        staying.shuffle(rng);
        let end_of_year = Day::ymd(year, 12, 31);
        let count = if rng.gen_bool(0.3) { 2 } else { 1 };
        for (k, &m) in staying.iter().take(count).enumerate() {
            let due = day.plus(rng.gen_range(14..=28)).min(end_of_year);
            // About one task in twelve late or never done: most cells stay within the 20 % of
            // late tasks a "completed" cell may have, a few do not. A keen cell, one that holds
            // more thematic meetings than asked, is late with one task in thirty.
            let on_time = if self.schedule.thematic.len() > 4 { 97 } else { 92 };
            let done = match rng.gen_range(0..100) {
                n if n < on_time => Some(day.plus(rng.gen_range(2..=due.since(day)))),
                n if n < on_time + (100 - on_time) * 2 / 3 => Some(due.plus(rng.gen_range(1..=12)).min(end_of_year)),
                _ => None,
            };
            let task_id = Id::parse("task_id", &format!("nv-{year}-{month:02}-{}", k + 1))?;
            let assigned = TaskAssigned::new(TaskAssignedFields {
                task_id: task_id.clone(),
                resolution_id: Some(resolution_id.clone()),
                member_id: self.member_id(m),
                description: pick_one(rng, texts::tasks(self.unit())).to_owned(),
                due: due.date(),
            })?;
            out.cell(&stream, day, after, assigned);
            if let Some(done) = done {
                let completed = TaskCompleted::new(TaskCompletedFields {
                    task_id,
                    member_id: self.member_id(m),
                    date: done.date(),
                    outcome: pick_one(rng, texts::TASK_OUTCOMES).to_owned(),
                })?;
                out.cell(&stream, done, time::TASK_DONE, completed);
            }
            tasks.push(Task { assignee: m, due, done, reminded: false });
        }
        Ok(())
    }

    /// Study points in the app: a few sessions a month for each member, at most one a day, more
    /// for the keen.
    fn study(&self, rng: &mut StdRng, out: &mut Recorder) -> anyhow::Result<()> {
        let stream = self.stream();
        let year = self.year;
        for &m in &self.roster.by_cell[self.cell] {
            let person = self.roster.person_of(m);
            for month in 1..=12 {
                let first = Day::ymd(year, month, 1);
                let days: Vec<Day> = (0..days_in_month(year, month) as i32)
                    .map(|d| first.plus(d))
                    .filter(|&d| self.roster.memberships[m].active_on(d) && !self.lapsed(m, d))
                    .collect();
                let (sessions, points) = match person.zeal {
                    Zeal::Low => (rng.gen_range(0..=2), 5..=15),
                    Zeal::Usual => (rng.gen_range(2..=4), 6..=25),
                    Zeal::Keen => (rng.gen_range(5..=10), 20..=60),
                };
                let mut chosen: Vec<Day> = days.choose_multiple(rng, sessions).copied().collect();
                chosen.sort();
                for day in chosen {
                    let earned = StudyPointsEarned::new(StudyPointsEarnedFields {
                        member_id: self.member_id(m),
                        points: rng.gen_range(points.clone()),
                        date: day.date(),
                        activity: pick_one(rng, texts::STUDY).into(),
                        source_ref: format!("STDV-{}", rng.gen_range(10_000_000..100_000_000)).into(),
                    })?;
                    out.cell(&stream, day, time::STUDY, earned);
                }
            }
        }
        Ok(())
    }

    /// The monthly self-assessment against the programme's indicators, on the 28th.
    fn self_assessment(&self, rng: &mut StdRng, out: &mut Recorder) -> anyhow::Result<()> {
        let Some((enrolment, programme)) = self.enrolment else { return Ok(()) };
        let indicators: Vec<_> = programme.launched.framework.indicators().collect();
        for month in 1..=12u32 {
            let day = Day::ymd(self.year, month, 28);
            let caps = caps(programme, enrolment, month);
            let points = spread(rng, enrolment.totals[month as usize - 1], &caps);
            let scored = IndicatorsScored::new(IndicatorsScoredFields {
                programme_id: programme.launched.programme_id.clone(),
                period: day.period(),
                scores: indicators
                    .iter()
                    .zip(points)
                    .map(|(i, points)| IndicatorScore { indicator_id: i.indicator_id.clone(), points })
                    .collect(),
                scored_by: ScoredBy::Cell,
            })?;
            out.cell(&self.stream(), day, time::SELF_ASSESSMENT, scored);
        }
        Ok(())
    }
}
