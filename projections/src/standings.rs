//! Standings: a member's, a cell's and a committee's year, counted from the facts in force
//! (corrections applied, retractions left out), and leaderboards.
//!
//! Every figure is a function of the state alone — no clock — so the same log prefix gives the
//! same standings. "Late" means done after the due date, or not done by the end of the year.

use std::collections::{BTreeMap, BTreeSet};

use chibo_domain::event::{
    Attendance, AttendanceStatus, MeetingHeld, MeetingKind, MembershipChange, ReminderSeverity, ScoredBy,
};
use chibo_domain::{Date, Event, EventId, Id, StreamName};
use serde::Serialize;

use crate::rules::{Cadence, MeetingRules, RuleBook, RuleSetBody};
use crate::state::{Fact, State, StreamBook};

/// A member's year in one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemberStanding {
    /// The member.
    pub member_id: String,
    /// Their name, as recorded when they joined.
    pub name: String,
    /// The cell.
    pub cell_id: String,
    /// The year.
    pub year: u16,
    /// Whether they are a member at the end of the year.
    pub member_at_year_end: bool,
    /// The day of their latest admission to the party in this cell, if recorded.
    pub admitted_on: Option<String>,
    /// Study points earned in each month of the year.
    pub points_by_month: [u64; 12],
    /// Study points earned in the year.
    pub points_year: u64,
    /// Study points earned in this cell up to the end of the year.
    pub points_cumulative: u64,
    /// The monthly minimum of the cell's programme (0: none).
    pub monthly_minimum: u32,
    /// Months of the year they were a member (at the month's end).
    pub months_active: u32,
    /// Months they were a member and earned less than the minimum.
    pub months_under_minimum: Vec<u8>,
    /// Meetings they were on the attendance list of.
    pub meetings_expected: u32,
    /// Meetings attended.
    pub meetings_present: u32,
    /// Absences with a valid reason.
    pub excused: u32,
    /// Absences without one.
    pub unexcused: u32,
    /// Months with an unexcused absence.
    pub months_with_unexcused_absence: u32,
    /// Proposed for removal from the rolls (Party Statute art. 8, as the meeting rules count it).
    pub removal_flag: bool,
    /// Times they spoke at a meeting.
    pub times_spoke: u32,
    /// Commendations.
    pub commendations: u32,
    /// Reminders (nhắc nhở).
    pub reminders: u32,
    /// Criticisms (phê bình).
    pub criticisms: u32,
    /// Tasks due in the year.
    pub tasks_assigned: u32,
    /// Done by their due date.
    pub tasks_done_on_time: u32,
    /// Done, on time or not.
    pub tasks_done: u32,
    /// Done late, or open past due at the end of the year.
    pub tasks_late: u32,
}

/// One meeting, as a cell's standing lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeetingLine {
    /// The meeting.
    pub meeting_id: String,
    /// Its date.
    pub date: String,
    /// Regular, thematic or extraordinary.
    pub kind: String,
    /// Members expected, present, excused, unexcused.
    pub expected: u32,
    /// Present.
    pub present: u32,
    /// Absent with a reason.
    pub excused: u32,
    /// Absent without one.
    pub unexcused: u32,
    /// Members who spoke.
    pub speakers: u32,
    /// The latest score's total, if scored.
    pub score: Option<u32>,
    /// Its band id, if scored.
    pub band: Option<String>,
    /// Whether it meets the meeting rules' "quality meeting" criteria.
    pub quality: bool,
}

/// A cell's standing in a programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgrammeLine {
    /// The programme.
    pub programme_id: String,
    /// Registered, selected, certified, revoked.
    pub status: String,
    /// The indicator total of each month of the year (committee's score over the cell's own).
    pub indicator_by_month: [Option<u32>; 12],
    /// The latest total recorded, any year.
    pub latest_score: Option<u32>,
    /// The certification threshold.
    pub threshold: u32,
}

/// A cell's year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellStanding {
    /// The cell.
    pub cell_id: String,
    /// Its name.
    pub name: String,
    /// Its parent committee.
    pub parent_id: String,
    /// The year.
    pub year: u16,
    /// The meeting rule set applied (`name@version`).
    pub meeting_rules: String,
    /// Members at the end of the year.
    pub members: u32,
    /// Regular meetings in each month.
    pub regular_by_month: [u32; 12],
    /// Thematic meetings in each quarter.
    pub thematic_by_quarter: [u32; 4],
    /// Meetings expected and held against the meeting rules, from the month the cell was
    /// registered (its fields appear at this level of the JSON document).
    #[serde(flatten)]
    pub cadence: Cadence,
    /// Member-meetings expected.
    pub attendance_expected: u32,
    /// Member-meetings attended.
    pub attendance_present: u32,
    /// Attendance in per mille.
    pub attendance_permille: u32,
    /// Speakers per meeting, × 10.
    pub speakers_per_meeting_x10: u32,
    /// Meetings, by date.
    pub meetings: Vec<MeetingLine>,
    /// Scored meetings per band id.
    pub bands: BTreeMap<String, u32>,
    /// Member-months, and those meeting the points minimum.
    pub member_months: u32,
    /// Member-months meeting the minimum.
    pub member_months_meeting_minimum: u32,
    /// Members who met the minimum every month they were active, in per mille of members.
    pub points_compliance_permille: u32,
    /// Tasks due in the year, and those late.
    pub tasks_assigned: u32,
    /// Late or open past due.
    pub tasks_late: u32,
    /// Members criticised in the year.
    pub members_criticised: u32,
    /// Programmes the cell registered for.
    pub programmes: Vec<ProgrammeLine>,
    /// Each member's year, by member id.
    pub member_standings: Vec<MemberStanding>,
}

/// A committee's year: its whole subtree rolled up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitteeStanding {
    /// The committee.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// The year.
    pub year: u16,
    /// Cells in the subtree.
    pub cells: u32,
    /// Members of those cells at the end of the year.
    pub members: u32,
    /// Cells that held every expected meeting.
    pub cells_every_meeting_held: u32,
    /// Member-meetings expected and attended over the subtree.
    pub attendance_expected: u32,
    /// Attended.
    pub attendance_present: u32,
    /// Attendance in per mille.
    pub attendance_permille: u32,
    /// Member-months meeting the points minimum, in per mille.
    pub points_compliance_permille: u32,
    /// Programme statuses: how many cells are registered, selected, certified, revoked.
    pub programme_status: BTreeMap<String, u32>,
    /// Cells by latest indicator score, then attendance (best first).
    pub cell_leaderboard: Vec<LeaderLine>,
    /// Members by study points in the year (best first).
    pub member_leaderboard: Vec<LeaderLine>,
}

/// One line of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaderLine {
    /// 1-based rank.
    pub rank: u32,
    /// The cell or member.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The cell (for a member).
    pub cell_id: String,
    /// The figure ranked by.
    pub value: u64,
}

/// Why a standing cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandingsError {
    /// No such organization, or not of the kind asked for.
    #[error("{0}")]
    NotFound(String),
}

/// A figure of a member's standing that facts add to, named as in its JSON document: what
/// [`crate::provenance`] can explain for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberFigure {
    /// `points_by_month` of one month (1 to 12).
    PointsByMonth(u8),
    /// `points_year`.
    PointsYear,
    /// `points_cumulative`.
    PointsCumulative,
    /// `meetings_expected`.
    MeetingsExpected,
    /// `meetings_present`.
    MeetingsPresent,
    /// `excused`.
    Excused,
    /// `unexcused`.
    Unexcused,
    /// `months_with_unexcused_absence`.
    MonthsWithUnexcusedAbsence,
    /// `times_spoke`.
    TimesSpoke,
    /// `commendations`.
    Commendations,
    /// `reminders`.
    Reminders,
    /// `criticisms`.
    Criticisms,
    /// `tasks_assigned`.
    TasksAssigned,
    /// `tasks_done`.
    TasksDone,
    /// `tasks_done_on_time`.
    TasksDoneOnTime,
    /// `tasks_late`.
    TasksLate,
}

/// A figure of one meeting's line in a cell's standing (`meetings[]`), named as in its JSON
/// document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingFigure {
    /// `expected`.
    Expected,
    /// `present`.
    Present,
    /// `excused`.
    Excused,
    /// `unexcused`.
    Unexcused,
    /// `speakers`.
    Speakers,
    /// `score`.
    Score,
}

/// Where a fact adds to a standing: the unit [`Tally`] reports in. Cell-wide sums
/// (`attendance_present` is the sum of the meetings' `present`) are made of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot<'a> {
    /// A member's figure.
    Member(&'a Id, MemberFigure),
    /// A meeting line's figure.
    Meeting(&'a Id, MeetingFigure),
    /// One line in `meetings` (the meeting counts once toward `speakers_per_meeting_x10`).
    MeetingLine(&'a Id),
    /// `regular_by_month` of one month.
    RegularInMonth(u8),
    /// `thematic_by_quarter` of one quarter.
    ThematicInQuarter(u8),
    /// `regular_held` of the cadence.
    RegularHeld,
    /// `thematic_held` of the cadence.
    ThematicHeld,
    /// `indicator_by_month` of one programme and month.
    IndicatorInMonth(&'a Id, u8),
    /// `latest_score` of one programme.
    LatestIndicator(&'a Id),
}

/// What a standing's computation says, fact by fact, about how it reached each figure: the
/// provenance of a figure listens to the one computation the standings run, so the two cannot
/// disagree. Texts are built only when a listener asks for them.
pub(crate) trait Tally {
    /// Whether anyone listens: work done only to report is skipped when not.
    const LISTENING: bool;
    /// The fact `id` added `amount` to `slot`; `what` says how, for people.
    fn counted(&mut self, slot: Slot<'_>, id: &EventId, fact: &Fact, amount: u64, what: impl FnOnce() -> String);
    /// The fact `id` concerns `slot` but added nothing to it; `why` says why, for people.
    fn passed_over(&mut self, slot: Slot<'_>, id: &EventId, fact: &Fact, why: impl FnOnce() -> String);
}

/// The standings as shown: nobody listens.
struct Unheard;

impl Tally for Unheard {
    const LISTENING: bool = false;
    fn counted(&mut self, _: Slot<'_>, _: &EventId, _: &Fact, _: u64, _: impl FnOnce() -> String) {}
    fn passed_over(&mut self, _: Slot<'_>, _: &EventId, _: &Fact, _: impl FnOnce() -> String) {}
}

fn permille(part: u64, whole: u64) -> u32 {
    (part * 1000).checked_div(whole).map_or(0, |p| p as u32)
}

fn month_end(year: u16, month: u8) -> Date {
    let next = if month == 12 { Date::first_of_year(year + 1) } else { None };
    let first_next = next.or_else(|| Date::parse("", &format!("{year:04}-{:02}-01", month + 1)).ok());
    first_next.and_then(|d| d.plus_days(-1)).unwrap_or_else(|| Date::last_of_year(year).expect("year in range"))
}

/// The meeting rules for `year`: the set a programme of the cell names, else HD 42 from 2026
/// and HD 12 before.
fn meeting_rules<'a>(state: &State, rules: &'a RuleBook, cell: &Id, year: u16) -> Option<(String, &'a MeetingRules)> {
    let named = programmes_of(state, cell).into_iter().flat_map(|p| {
        state
            .programme(&p)
            .map(|p| p.launched.rule_sets.iter().map(|r| (r.name.to_string(), r.version)).collect::<Vec<_>>())
    });
    for (name, version) in named.flatten() {
        if let Some(m) = rules.meetings(&name, version) {
            return Some((format!("{name}@{version}"), m));
        }
    }
    let name = if year >= 2026 { "vn-meetings-hd42" } else { "vn-meetings-hd12" };
    let set = rules.latest(name)?;
    match &set.body {
        RuleSetBody::Meetings(m) => Some((format!("{}@{}", set.name, set.version), m)),
        _ => None,
    }
}

pub(crate) fn programmes_of(state: &State, cell: &Id) -> Vec<Id> {
    state.index().cells.get(cell).map(|c| c.registrations.keys().cloned().collect()).unwrap_or_default()
}

/// A cell's year, with each member's.
pub fn cell(state: &State, rules: &RuleBook, cell: &Id, year: u16) -> Result<CellStanding, StandingsError> {
    tallied(state, rules, cell, year, &mut Unheard)
}

/// [`cell`], telling `tally` what each fact added to which figure.
pub(crate) fn tallied<T: Tally>(
    state: &State,
    rules: &RuleBook,
    cell: &Id,
    year: u16,
    tally: &mut T,
) -> Result<CellStanding, StandingsError> {
    let node = state
        .index()
        .org(cell)
        .filter(|n| n.level == chibo_domain::event::OrgLevel::Cell)
        .ok_or_else(|| StandingsError::NotFound(format!("no cell {cell} is registered")))?;
    let stream = StreamName::Cell(cell.clone());
    let book = state.stream(&stream);
    let facts = || book.into_iter().flat_map(StreamBook::facts);
    let year_end = Date::last_of_year(year).ok_or_else(|| StandingsError::NotFound(format!("year {year}")))?;
    let in_year = |d: Date| d.year() == year;

    let programmes = programmes_of(state, cell);
    let minimum = programmes
        .iter()
        .filter_map(|p| state.programme(p))
        .filter(|p| p.launched.year == year)
        .map(|p| p.launched.monthly_study_points_minimum)
        .max()
        .unwrap_or(0);

    let mut members: BTreeMap<Id, MemberStanding> = BTreeMap::new();
    // Whether each member is a member at the end of each month: asked once, used twice.
    let mut active: BTreeMap<Id, [bool; 12]> = BTreeMap::new();
    for member in state.members_ever(cell) {
        let months: [bool; 12] =
            std::array::from_fn(|m| state.is_member(cell, member, Some(month_end(year, m as u8 + 1))));
        active.insert(member.clone(), months);
        let months_active = months.iter().filter(|a| **a).count() as u32;
        let standing = MemberStanding {
            member_id: member.to_string(),
            cell_id: cell.to_string(),
            year,
            member_at_year_end: state.is_member(cell, member, Some(year_end)),
            monthly_minimum: minimum,
            months_active,
            ..MemberStanding::default()
        };
        members.insert(member.clone(), standing);
    }

    // Meetings first: the other events of the year refer to them.
    let mut meetings: BTreeMap<Id, MeetingLine> = BTreeMap::new();
    let mut meeting_dates: BTreeMap<Id, Date> = BTreeMap::new();
    let mut unexcused_months: BTreeMap<Id, BTreeSet<u8>> = BTreeMap::new();
    let mut regular_by_month = [0u32; 12];
    let mut thematic_by_quarter = [0u32; 4];
    let mut meeting_events: Vec<HeldFact<'_>> = Vec::new();
    for (id, fact) in facts() {
        match &fact.event {
            Event::MemberJoined(e) => {
                if let Some(m) = members.get_mut(&e.member_id) {
                    m.name = e.name.clone();
                    if e.how == MembershipChange::Admitted && e.date <= year_end {
                        m.admitted_on = Some(e.date.to_string());
                    }
                }
            }
            Event::MeetingHeld(e) if in_year(e.date) => meeting_events.push(HeldFact { id, fact, held: e }),
            _ => {}
        }
    }
    meeting_events.sort_by_key(|m| (m.held.date, m.fact.revision));
    for &HeldFact { id, fact, held: e } in &meeting_events {
        let date = e.date;
        meeting_dates.insert(e.meeting_id.clone(), date);
        match e.kind {
            MeetingKind::Regular => {
                regular_by_month[usize::from(date.month() - 1)] += 1;
                tally.counted(Slot::RegularInMonth(date.month()), id, fact, 1, || {
                    format!("regular meeting {} on {date}", e.meeting_id)
                });
            }
            MeetingKind::Thematic => {
                let quarter = date.period().quarter();
                thematic_by_quarter[usize::from(quarter - 1)] += 1;
                tally.counted(Slot::ThematicInQuarter(quarter), id, fact, 1, || {
                    format!("thematic meeting {} on {date}", e.meeting_id)
                });
            }
            MeetingKind::Extraordinary => {}
        }
        let mut line = MeetingLine {
            meeting_id: e.meeting_id.to_string(),
            date: date.to_string(),
            kind: e.kind.name().to_owned(),
            expected: 0,
            present: 0,
            excused: 0,
            unexcused: 0,
            speakers: 0,
            score: None,
            band: None,
            quality: false,
        };
        for a in &e.attendance {
            line.expected += 1;
            let m = members.get_mut(&a.member_id);
            let listed = m.is_some();
            match a.status {
                AttendanceStatus::Present => {
                    line.present += 1;
                    if let Some(m) = m {
                        m.meetings_expected += 1;
                        m.meetings_present += 1;
                    }
                }
                AttendanceStatus::Excused => {
                    line.excused += 1;
                    if let Some(m) = m {
                        m.meetings_expected += 1;
                        m.excused += 1;
                    }
                }
                AttendanceStatus::Unexcused => {
                    line.unexcused += 1;
                    if let Some(m) = m {
                        m.meetings_expected += 1;
                        m.unexcused += 1;
                    }
                }
            }
            let first_in_month = a.status == AttendanceStatus::Unexcused
                && unexcused_months.entry(a.member_id.clone()).or_default().insert(date.month());
            if T::LISTENING && listed {
                tally_attendance(tally, id, fact, e, a, first_in_month);
            }
        }
        if T::LISTENING {
            tally_meeting_line(tally, id, fact, e, &line);
        }
        meetings.insert(e.meeting_id.clone(), line);
    }

    let mut points_by_member_month: BTreeMap<Id, [u64; 12]> = BTreeMap::new();
    let mut latest_score: BTreeMap<Id, (u64, u32, String)> = BTreeMap::new();
    // Every score that could be the meeting's, for the tally: (position, id, fact, total).
    let mut scores: Vec<(&Id, u64, &EventId, &Fact, u32)> = Vec::new();
    let mut spoke: BTreeMap<Id, BTreeSet<Id>> = BTreeMap::new();
    // Every record of each member speaking at each meeting, for the tally.
    let mut speaking: BTreeMap<(&Id, &Id), Vec<FactAt<'_>>> = BTreeMap::new();
    let mut tasks: BTreeMap<Id, (Id, Date, &EventId, &Fact)> = BTreeMap::new();
    let mut done: BTreeMap<Id, (Date, &EventId, &Fact)> = BTreeMap::new();
    for (id, fact) in facts() {
        let in_meeting = |meeting: &Id| meeting_dates.contains_key(meeting);
        // A fact about a meeting that is not in force at all (never recorded, or retracted)
        // counts toward nothing; one about a meeting of another year is another year's.
        let orphan = |meeting: &Id| T::LISTENING && !in_meeting(meeting) && state.meeting(cell, meeting).is_none();
        match &fact.event {
            Event::MemberSpoke(e) if in_meeting(&e.meeting_id) => {
                let first_time = spoke.entry(e.meeting_id.clone()).or_default().insert(e.member_id.clone());
                if let Some(m) = members.get_mut(&e.member_id).filter(|_| first_time) {
                    m.times_spoke += 1;
                }
                if T::LISTENING {
                    let records = speaking.entry((&e.meeting_id, &e.member_id)).or_default();
                    records.push((fact.position, id, fact));
                }
            }
            Event::MemberSpoke(e) if orphan(&e.meeting_id) && members.contains_key(&e.member_id) => {
                let slot = Slot::Member(&e.member_id, MemberFigure::TimesSpoke);
                tally.passed_over(slot, id, fact, || not_in_force(&e.meeting_id));
            }
            Event::MemberCommended(e) if in_meeting(&e.meeting_id) => {
                if let Some(m) = members.get_mut(&e.member_id) {
                    m.commendations += 1;
                    let date = meeting_dates[&e.meeting_id];
                    tally.counted(Slot::Member(&e.member_id, MemberFigure::Commendations), id, fact, 1, || {
                        format!("commended at meeting {} on {date}: {}", e.meeting_id, e.reason)
                    });
                }
            }
            Event::MemberCommended(e) if orphan(&e.meeting_id) && members.contains_key(&e.member_id) => {
                let slot = Slot::Member(&e.member_id, MemberFigure::Commendations);
                tally.passed_over(slot, id, fact, || not_in_force(&e.meeting_id));
            }
            Event::MemberReminded(e) if in_meeting(&e.meeting_id) => {
                if let Some(m) = members.get_mut(&e.member_id) {
                    let (figure, said) = match e.severity {
                        ReminderSeverity::Reminder => {
                            m.reminders += 1;
                            (MemberFigure::Reminders, "reminded")
                        }
                        ReminderSeverity::Criticism => {
                            m.criticisms += 1;
                            (MemberFigure::Criticisms, "criticised")
                        }
                    };
                    let date = meeting_dates[&e.meeting_id];
                    tally.counted(Slot::Member(&e.member_id, figure), id, fact, 1, || {
                        format!("{said} at meeting {} on {date}: {}", e.meeting_id, e.reason)
                    });
                }
            }
            Event::MemberReminded(e) if orphan(&e.meeting_id) && members.contains_key(&e.member_id) => {
                let figure = match e.severity {
                    ReminderSeverity::Reminder => MemberFigure::Reminders,
                    ReminderSeverity::Criticism => MemberFigure::Criticisms,
                };
                tally.passed_over(Slot::Member(&e.member_id, figure), id, fact, || not_in_force(&e.meeting_id));
            }
            Event::MeetingScored(e) if in_meeting(&e.meeting_id) => {
                let slot = Slot::Meeting(&e.meeting_id, MeetingFigure::Score);
                let Some(rubric) = rules.meeting_score(e.rubric.name.as_str(), e.rubric.version) else {
                    tally.passed_over(slot, id, fact, || {
                        format!("scored on {}@{}, a rubric this server does not know", e.rubric.name, e.rubric.version)
                    });
                    continue;
                };
                let parts: Vec<(String, u32)> = e.parts.iter().map(|p| (p.part.clone(), p.points)).collect();
                match rubric.check(&parts) {
                    Ok(total) => {
                        let band = rubric.band(&parts).id.clone();
                        let newer = latest_score.get(&e.meeting_id).is_none_or(|(p, _, _)| fact.position > *p);
                        if newer {
                            latest_score.insert(e.meeting_id.clone(), (fact.position, total, band));
                        }
                        if T::LISTENING {
                            scores.push((&e.meeting_id, fact.position, id, fact, total));
                        }
                    }
                    Err(error) => tally.passed_over(slot, id, fact, || {
                        format!("does not fit the rubric {}@{}: {error}", e.rubric.name, e.rubric.version)
                    }),
                }
            }
            Event::StudyPointsEarned(e) if e.date <= year_end => {
                if let Some(m) = members.get_mut(&e.member_id) {
                    let points = u64::from(e.points);
                    let what = || format!("+{} points on {}", e.points, e.date);
                    m.points_cumulative += points;
                    tally.counted(Slot::Member(&e.member_id, MemberFigure::PointsCumulative), id, fact, points, what);
                    if in_year(e.date) {
                        m.points_year += points;
                        points_by_member_month.entry(e.member_id.clone()).or_insert([0; 12])
                            [usize::from(e.date.month() - 1)] += points;
                        tally.counted(Slot::Member(&e.member_id, MemberFigure::PointsYear), id, fact, points, what);
                        let month = MemberFigure::PointsByMonth(e.date.month());
                        tally.counted(Slot::Member(&e.member_id, month), id, fact, points, what);
                    }
                }
            }
            Event::TaskAssigned(e) if in_year(e.due) => {
                tasks.insert(e.task_id.clone(), (e.member_id.clone(), e.due, id, fact));
            }
            Event::TaskCompleted(e) => {
                done.insert(e.task_id.clone(), (e.date, id, fact));
            }
            _ => {}
        }
    }
    for (meeting, speakers) in &spoke {
        if let Some(line) = meetings.get_mut(meeting) {
            line.speakers = speakers.len() as u32;
        }
    }
    for ((meeting, member), mut records) in speaking {
        // A member speaking counts once per meeting: the first record of it.
        records.sort_by_key(|(position, ..)| *position);
        let date = meeting_dates[meeting];
        let listed = members.contains_key(member);
        let first = records[0].0;
        for (position, id, fact) in records {
            let slots =
                [Slot::Meeting(meeting, MeetingFigure::Speakers), Slot::Member(member, MemberFigure::TimesSpoke)];
            for slot in slots.into_iter().take(if listed { 2 } else { 1 }) {
                if position == first {
                    tally.counted(slot, id, fact, 1, || format!("{member} spoke at meeting {meeting} on {date}"));
                } else {
                    tally.passed_over(slot, id, fact, || {
                        format!("{member} spoke at meeting {meeting}: counted once, at position {first}")
                    });
                }
            }
        }
    }
    for (meeting, position, id, fact, total) in scores {
        let slot = Slot::Meeting(meeting, MeetingFigure::Score);
        match latest_score.get(meeting) {
            Some((latest, _, band)) if *latest == position => {
                tally.counted(slot, id, fact, u64::from(total), || format!("scored {total} ({band})"))
            }
            _ => tally.passed_over(slot, id, fact, || {
                format!("scored {total}; a later score of the meeting is the one counted")
            }),
        }
    }
    let mut bands: BTreeMap<String, u32> = BTreeMap::new();
    for (meeting, (_, total, band)) in latest_score {
        if let Some(line) = meetings.get_mut(&meeting) {
            line.score = Some(total);
            *bands.entry(band.clone()).or_default() += 1;
            line.band = Some(band);
        }
    }
    for (task, (member, due, assigned_id, assigned)) in &tasks {
        if let Some(m) = members.get_mut(member) {
            m.tasks_assigned += 1;
            let slot = |figure| Slot::Member(member, figure);
            tally.counted(slot(MemberFigure::TasksAssigned), assigned_id, assigned, 1, || {
                format!("task {task}, due {due}")
            });
            match done.get(task) {
                Some((d, id, fact)) if d <= due => {
                    m.tasks_done += 1;
                    m.tasks_done_on_time += 1;
                    let what = || format!("task {task} done on {d}, due {due}");
                    tally.counted(slot(MemberFigure::TasksDone), id, fact, 1, what);
                    tally.counted(slot(MemberFigure::TasksDoneOnTime), id, fact, 1, what);
                    tally.passed_over(slot(MemberFigure::TasksLate), id, fact, || format!("{}: on time", what()));
                }
                Some((d, id, fact)) => {
                    m.tasks_done += 1;
                    m.tasks_late += 1;
                    let what = || format!("task {task} done on {d}, after its due date {due}");
                    tally.counted(slot(MemberFigure::TasksDone), id, fact, 1, what);
                    tally.passed_over(slot(MemberFigure::TasksDoneOnTime), id, fact, what);
                    tally.counted(slot(MemberFigure::TasksLate), id, fact, 1, what);
                }
                None => {
                    m.tasks_late += 1;
                    let what = || format!("task {task}, due {due}, not done by the end of {year}");
                    tally.passed_over(slot(MemberFigure::TasksDone), assigned_id, assigned, what);
                    tally.passed_over(slot(MemberFigure::TasksDoneOnTime), assigned_id, assigned, what);
                    tally.counted(slot(MemberFigure::TasksLate), assigned_id, assigned, 1, what);
                }
            }
        }
    }

    let (rules_name, meeting_rules) = match meeting_rules(state, rules, cell, year) {
        Some((n, r)) => (n, Some(r)),
        None => (String::new(), None),
    };
    let mut excused_runs: BTreeMap<Id, u32> = BTreeMap::new();
    for HeldFact { held: e, .. } in &meeting_events {
        let line = meetings.get_mut(&e.meeting_id).expect("every meeting of the year has a line");
        let mut longest = 0;
        for a in &e.attendance {
            let run = excused_runs.entry(a.member_id.clone()).or_default();
            *run = if a.status == AttendanceStatus::Excused { *run + 1 } else { 0 };
            longest = longest.max(*run);
        }
        if let Some(rules) = meeting_rules {
            let combined = meeting_events.iter().any(|other| other.held.date == e.date && other.held.kind != e.kind);
            let facts = crate::rules::MeetingFacts {
                kind: e.kind,
                duration_minutes: e.duration_minutes,
                combined_with_other_kind_same_day: combined,
                expected: line.expected,
                present: line.present,
                excused: line.excused,
                unexcused: line.unexcused,
                speakers: line.speakers,
                committee_prepared: e.committee_prepared,
                documents_posted_days_before: e
                    .documents_posted_on
                    .map(|p| e.date.days_since_epoch() - p.days_since_epoch()),
                longest_excused_run: longest,
            };
            line.quality = rules.judge(&facts).quality;
        }
    }

    let from_month = if node.since.year() == year { node.since.month() } else { 1 };
    let cadence = meeting_rules.map(|r| r.cadence(&regular_by_month, &thematic_by_quarter, from_month, 12));
    if let (true, Some(r)) = (T::LISTENING, meeting_rules) {
        tally_cadence(tally, r, &meeting_events, from_month);
    }

    let mut member_months = 0;
    let mut member_months_ok = 0;
    let mut members_compliant = 0;
    let mut members_at_end = 0;
    let mut members_criticised = 0;
    for (id, m) in members.iter_mut() {
        m.points_by_month = points_by_member_month.get(id).copied().unwrap_or([0; 12]);
        for month in 1..=12u8 {
            if !active.get(id).is_some_and(|a| a[usize::from(month - 1)]) {
                continue;
            }
            member_months += 1;
            if m.points_by_month[usize::from(month - 1)] >= u64::from(minimum) {
                member_months_ok += 1;
            } else {
                m.months_under_minimum.push(month);
            }
        }
        m.months_with_unexcused_absence = unexcused_months.get(id).map_or(0, |s| s.len() as u32);
        m.removal_flag = meeting_rules.is_some_and(|r| r.proposed_for_removal(m.months_with_unexcused_absence));
        if m.member_at_year_end {
            members_at_end += 1;
            if m.months_under_minimum.is_empty() {
                members_compliant += 1;
            }
        }
        if m.criticisms > 0 {
            members_criticised += 1;
        }
    }
    let lines: Vec<MeetingLine> = {
        let mut v: Vec<_> = meetings.into_values().collect();
        v.sort_by(|a, b| (&a.date, &a.meeting_id).cmp(&(&b.date, &b.meeting_id)));
        v
    };
    let attendance_expected = lines.iter().map(|l| l.expected).sum::<u32>();
    let attendance_present = lines.iter().map(|l| l.present).sum::<u32>();
    let speakers: u32 = lines.iter().map(|l| l.speakers).sum();
    let programme_lines = programmes
        .iter()
        .filter_map(|p| state.programme(p).map(|launched| (p, launched)))
        .map(|(p, programme)| programme_line(state, cell, p, programme.launched, year, tally))
        .collect();
    Ok(CellStanding {
        cell_id: cell.to_string(),
        name: node.name.clone(),
        parent_id: node.parent.as_ref().map(Id::to_string).unwrap_or_default(),
        year,
        meeting_rules: rules_name,
        members: members_at_end,
        regular_by_month,
        thematic_by_quarter,
        cadence: cadence.unwrap_or_default(),
        attendance_expected,
        attendance_present,
        attendance_permille: permille(attendance_present.into(), attendance_expected.into()),
        speakers_per_meeting_x10: if lines.is_empty() { 0 } else { speakers * 10 / lines.len() as u32 },
        meetings: lines,
        bands,
        member_months,
        member_months_meeting_minimum: member_months_ok,
        points_compliance_permille: permille(members_compliant, members_at_end.into()),
        tasks_assigned: members.values().map(|m| m.tasks_assigned).sum(),
        tasks_late: members.values().map(|m| m.tasks_late).sum(),
        members_criticised,
        programmes: programme_lines,
        member_standings: members.into_values().collect(),
    })
}

/// A fact with its position and event id.
type FactAt<'a> = (u64, &'a EventId, &'a Fact);

/// A meeting of the year in force, with its event id.
#[derive(Clone, Copy)]
struct HeldFact<'a> {
    id: &'a EventId,
    fact: &'a Fact,
    held: &'a MeetingHeld,
}

fn not_in_force(meeting: &Id) -> String {
    format!("its meeting {meeting} is not in force (never recorded, or retracted)")
}

/// What one line of a meeting's attendance list adds to its member's figures.
fn tally_attendance<T: Tally>(
    tally: &mut T,
    id: &EventId,
    fact: &Fact,
    held: &MeetingHeld,
    a: &Attendance,
    first_unexcused_in_month: bool,
) {
    let member = &a.member_id;
    let at = format!("meeting {} on {}", held.meeting_id, held.date);
    let said = match a.status {
        AttendanceStatus::Present => format!("present at {at}"),
        AttendanceStatus::Excused => format!("excused from {at}: {}", a.reason),
        AttendanceStatus::Unexcused => format!("absent without a valid reason from {at}"),
    };
    tally.counted(Slot::Member(member, MemberFigure::MeetingsExpected), id, fact, 1, || said.clone());
    for (figure, status) in [
        (MemberFigure::MeetingsPresent, AttendanceStatus::Present),
        (MemberFigure::Excused, AttendanceStatus::Excused),
        (MemberFigure::Unexcused, AttendanceStatus::Unexcused),
    ] {
        if a.status == status {
            tally.counted(Slot::Member(member, figure), id, fact, 1, || said.clone());
        } else {
            tally.passed_over(Slot::Member(member, figure), id, fact, || said.clone());
        }
    }
    if a.status == AttendanceStatus::Unexcused {
        let slot = Slot::Member(member, MemberFigure::MonthsWithUnexcusedAbsence);
        let month = held.date.period();
        if first_unexcused_in_month {
            tally.counted(slot, id, fact, 1, || format!("{said}: the first in {month}"));
        } else {
            tally.passed_over(slot, id, fact, || format!("{said}: {month} is already counted"));
        }
    }
}

/// What a meeting adds to its own line.
fn tally_meeting_line<T: Tally>(tally: &mut T, id: &EventId, fact: &Fact, held: &MeetingHeld, line: &MeetingLine) {
    let meeting = &held.meeting_id;
    let names = |status: AttendanceStatus| {
        let names: Vec<&str> =
            held.attendance.iter().filter(|a| a.status == status).map(|a| a.member_id.as_str()).collect();
        if names.is_empty() {
            String::new()
        } else {
            format!(": {}", names.join(", "))
        }
    };
    tally.counted(Slot::MeetingLine(meeting), id, fact, 1, || {
        format!("{} meeting {meeting} on {}", held.kind.name(), held.date)
    });
    tally.counted(Slot::Meeting(meeting, MeetingFigure::Present), id, fact, line.present.into(), || {
        format!("{} present", line.present)
    });
    tally.counted(Slot::Meeting(meeting, MeetingFigure::Expected), id, fact, line.expected.into(), || {
        format!("{} on the attendance list", line.expected)
    });
    tally.counted(Slot::Meeting(meeting, MeetingFigure::Excused), id, fact, line.excused.into(), || {
        format!("{} excused{}", line.excused, names(AttendanceStatus::Excused))
    });
    tally.counted(Slot::Meeting(meeting, MeetingFigure::Unexcused), id, fact, line.unexcused.into(), || {
        format!("{} absent without a valid reason{}", line.unexcused, names(AttendanceStatus::Unexcused))
    });
}

/// Which meetings the cadence counts as held ([`MeetingRules::cadence`], meeting by meeting):
/// at most the required number of regular meetings a month, from the month the cell was
/// registered; every thematic meeting of a quarter wholly after it.
fn tally_cadence<T: Tally>(tally: &mut T, rules: &MeetingRules, meetings: &[HeldFact<'_>], from_month: u8) {
    let per_month = rules.regular_per_month();
    let mut held = [0u32; 12];
    for &HeldFact { id, fact, held: e } in meetings {
        let (month, quarter) = (e.date.month(), e.date.period().quarter());
        match e.kind {
            MeetingKind::Regular if month < from_month => tally.passed_over(Slot::RegularHeld, id, fact, || {
                format!("regular meeting {} on {}, before the cell was registered", e.meeting_id, e.date)
            }),
            MeetingKind::Regular => {
                held[usize::from(month - 1)] += 1;
                if held[usize::from(month - 1)] <= per_month {
                    tally.counted(Slot::RegularHeld, id, fact, 1, || {
                        format!("regular meeting {} on {}", e.meeting_id, e.date)
                    });
                } else {
                    tally.passed_over(Slot::RegularHeld, id, fact, || {
                        format!(
                            "regular meeting {} on {}: {} already has the {per_month} the rules ask for",
                            e.meeting_id,
                            e.date,
                            e.date.period()
                        )
                    });
                }
            }
            MeetingKind::Thematic if quarter * 3 - 2 < from_month => {
                tally.passed_over(Slot::ThematicHeld, id, fact, || {
                    format!(
                        "thematic meeting {} on {}: quarter {quarter} began before the cell was registered",
                        e.meeting_id, e.date
                    )
                })
            }
            MeetingKind::Thematic => tally.counted(Slot::ThematicHeld, id, fact, 1, || {
                format!("thematic meeting {} on {}", e.meeting_id, e.date)
            }),
            MeetingKind::Extraordinary => {}
        }
    }
}

fn programme_line<T: Tally>(
    state: &State,
    cell: &Id,
    id: &Id,
    launched: &chibo_domain::event::ProgrammeLaunched,
    year: u16,
    tally: &mut T,
) -> ProgrammeLine {
    let key = (id.clone(), cell.clone());
    let status = match state.index().certifications.get(&key).and_then(|s| s.last()) {
        Some((_, _, _, true)) => "certified",
        Some((_, _, _, false)) => "revoked",
        None if state.index().selections.contains_key(&key) => "selected",
        None => "registered",
    };
    let mut by_month = [None; 12];
    // The score that filled each month, and every score looked at, for the tally.
    let mut chosen: [Option<&EventId>; 12] = [None; 12];
    let mut looked_at: Vec<(u8, &EventId, &Fact, u32, ScoredBy)> = Vec::new();
    let index = state.index().cells.get(cell);
    if let Some(index) = index {
        for ((p, period, by), ids) in &index.indicator_scores {
            if p != id || period.year() != year {
                continue;
            }
            let Some(event_id) = ids.first() else { continue };
            let Some(fact) = state.cell_fact(cell, event_id) else { continue };
            let Event::IndicatorsScored(s) = &fact.event else { continue };
            let total = s.scores.iter().map(|s| s.points).sum::<u32>();
            let month = usize::from(period.month() - 1);
            let slot = &mut by_month[month];
            // The committee's score for a month wins over the cell's own.
            if slot.is_none() || *by == ScoredBy::Committee {
                *slot = Some(total);
                chosen[month] = Some(event_id);
            }
            if T::LISTENING {
                looked_at.push((period.month(), event_id, fact, total, *by));
                for other in ids.iter().skip(1) {
                    if let Some(other_fact) = state.cell_fact(cell, other) {
                        tally.passed_over(Slot::IndicatorInMonth(id, period.month()), other, other_fact, || {
                            format!(
                                "another score of {period} by the {by} (position {}) is the one counted",
                                fact.position
                            )
                        });
                    }
                }
            }
        }
    }
    for (month, event_id, fact, total, by) in looked_at {
        let slot = Slot::IndicatorInMonth(id, month);
        if chosen[usize::from(month - 1)] == Some(event_id) {
            tally.counted(slot, event_id, fact, total.into(), || format!("{total} points, scored by the {by}"));
        } else {
            tally.passed_over(slot, event_id, fact, || {
                format!("{total} points, scored by the {by}; the committee's score of the month is the one counted")
            });
        }
    }
    let latest = state.latest_indicator_total(cell, id);
    if let (true, Some(index)) = (T::LISTENING, index) {
        tally_latest_indicator(tally, state, cell, id, index, latest);
    }
    ProgrammeLine {
        programme_id: id.to_string(),
        status: status.to_owned(),
        indicator_by_month: by_month,
        latest_score: latest.map(|(_, total, _)| total),
        threshold: launched.certification_threshold,
    }
}

/// Which score is a programme's `latest_score` ([`State::latest_indicator_total`]), and why
/// the others are not.
fn tally_latest_indicator<T: Tally>(
    tally: &mut T,
    state: &State,
    cell: &Id,
    programme: &Id,
    index: &crate::state::CellIndex,
    latest: Option<(chibo_domain::Period, u32, EventId)>,
) {
    let slot = Slot::LatestIndicator(programme);
    let counted_by = latest.and_then(|(_, _, id)| match state.cell_fact(cell, &id).map(|f| &f.event) {
        Some(Event::IndicatorsScored(s)) => Some(s.scored_by),
        _ => None,
    });
    for ((p, period, by), ids) in &index.indicator_scores {
        if p != programme {
            continue;
        }
        for event_id in ids {
            let Some(fact) = state.cell_fact(cell, event_id) else { continue };
            let Event::IndicatorsScored(s) = &fact.event else { continue };
            let total = s.scores.iter().map(|s| s.points).sum::<u32>();
            match latest {
                Some((_, _, counted)) if counted == *event_id => {
                    tally.counted(slot, event_id, fact, total.into(), || {
                        format!("{total} points for {period}, scored by the {by}")
                    })
                }
                Some((latest, _, _)) => tally.passed_over(slot, event_id, fact, || {
                    let why = match counted_by {
                        Some(counted_by) if *period == latest => {
                            format!("the score of {latest} by the {counted_by} is the one counted")
                        }
                        _ => format!("{latest} is the latest month scored"),
                    };
                    format!("{total} points for {period}, scored by the {by}; {why}")
                }),
                None => {}
            }
        }
    }
}

/// The cell whose standing holds `member`'s year: the one they belong to at the end of it, or
/// else the first (by id) whose records name them.
pub fn member_cell(state: &State, member: &Id, year: u16) -> Result<Id, StandingsError> {
    let cells =
        state.index().member_cells.get(member).map(|s| s.iter().map(|(c, _)| c.clone()).collect::<BTreeSet<_>>());
    let cells = cells.ok_or_else(|| StandingsError::NotFound(format!("no member {member} is recorded")))?;
    let year_end = Date::last_of_year(year).ok_or_else(|| StandingsError::NotFound(format!("year {year}")))?;
    let cell_id = cells
        .iter()
        .find(|c| state.is_member(c, member, Some(year_end)))
        .or_else(|| cells.iter().next())
        .cloned()
        .expect("a recorded member has a cell");
    Ok(cell_id)
}

/// One member's year: their standing in the cell they belong to at the end of it (or left last).
pub fn member(state: &State, rules: &RuleBook, member: &Id, year: u16) -> Result<MemberStanding, StandingsError> {
    let cell_id = member_cell(state, member, year)?;
    let standing = cell(state, rules, &cell_id, year)?;
    standing
        .member_standings
        .into_iter()
        .find(|m| m.member_id == member.as_str())
        .ok_or_else(|| StandingsError::NotFound(format!("no member {member} in cell-{cell_id}")))
}

/// Every cell of `org`'s subtree (`org` itself if it is a cell), by id.
pub fn cells_below(state: &State, org: &Id) -> Vec<Id> {
    let mut cells: Vec<Id> = state
        .index()
        .subtree(org)
        .into_iter()
        .filter(|id| state.index().org(id).is_some_and(|n| n.level == chibo_domain::event::OrgLevel::Cell))
        .collect();
    cells.sort();
    cells
}

/// A committee's year, its subtree rolled up, with leaderboards of `top` lines.
pub fn committee(
    state: &State,
    rules: &RuleBook,
    org: &Id,
    year: u16,
    top: usize,
) -> Result<CommitteeStanding, StandingsError> {
    let node = state
        .index()
        .org(org)
        .ok_or_else(|| StandingsError::NotFound(format!("no organization {org} is registered")))?;
    let mut out = CommitteeStanding {
        org_id: org.to_string(),
        name: node.name.clone(),
        year,
        cells: 0,
        members: 0,
        cells_every_meeting_held: 0,
        attendance_expected: 0,
        attendance_present: 0,
        attendance_permille: 0,
        points_compliance_permille: 0,
        programme_status: BTreeMap::new(),
        cell_leaderboard: Vec::new(),
        member_leaderboard: Vec::new(),
    };
    let (mut months, mut months_ok) = (0u64, 0u64);
    let mut cell_rank = Vec::new();
    let mut member_rank = Vec::new();
    for id in cells_below(state, org) {
        let c = cell(state, rules, &id, year)?;
        out.cells += 1;
        out.members += c.members;
        out.cells_every_meeting_held += u32::from(c.cadence.every_meeting_held);
        out.attendance_expected += c.attendance_expected;
        out.attendance_present += c.attendance_present;
        months += u64::from(c.member_months);
        months_ok += u64::from(c.member_months_meeting_minimum);
        for p in &c.programmes {
            *out.programme_status.entry(p.status.clone()).or_default() += 1;
        }
        let score = c.programmes.iter().filter_map(|p| p.latest_score).max().unwrap_or(0);
        cell_rank.push((score, c.attendance_permille, c.cell_id.clone(), c.name.clone()));
        for m in c.member_standings.iter().filter(|m| m.member_at_year_end) {
            member_rank.push((m.points_year, m.member_id.clone(), m.name.clone(), c.cell_id.clone()));
        }
    }
    out.attendance_permille = permille(out.attendance_present.into(), out.attendance_expected.into());
    out.points_compliance_permille = permille(months_ok, months);
    cell_rank.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)).then(a.2.cmp(&b.2)));
    member_rank.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    out.cell_leaderboard = cell_rank
        .into_iter()
        .take(top)
        .enumerate()
        .map(|(i, (score, _, id, name))| LeaderLine {
            rank: i as u32 + 1,
            id: id.clone(),
            name,
            cell_id: id,
            value: u64::from(score),
        })
        .collect();
    out.member_leaderboard = member_rank
        .into_iter()
        .take(top)
        .enumerate()
        .map(|(i, (value, id, name, cell_id))| LeaderLine { rank: i as u32 + 1, id, name, cell_id, value })
        .collect();
    Ok(out)
}
