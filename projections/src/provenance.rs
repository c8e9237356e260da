//! Provenance: the events one figure of a standing was computed from, so an inspector can
//! answer "why is this 92?".
//!
//! A figure is named as in the standing's JSON document ([`Question`]). Its provenance lists, in
//! log order:
//!
//! - every fact in force that the standing's computation looked at for the figure, with what it
//!   added (`+20 points on 2026-03-05`, `present at meeting …`) or why it added nothing
//!   (excused, already counted, a later score is the one counted). The computation reports this
//!   itself as it runs (`standings::tallied`), so the list and the figure come from one
//!   computation and cannot drift apart; [`Provenance::recompute`] gets the figure back from
//!   the list.
//! - every event of the stream that is not in force but concerned the figure: an original a
//!   correction replaced, a correction a later one replaced, a retracted event and the
//!   retraction itself, a correction that changed nothing.
//!
//! The second half needs what the state does not keep — the content of retracted and replaced
//! events — so it is read from the cell's stream: the caller reads that stream from the store
//! and passes it in, and [`explain`] stays a pure function of the state and those events. The
//! state holds nothing for provenance, so it costs no memory between questions.

use std::collections::{BTreeMap, BTreeSet};

use chibo_domain::event::{MeetingKind, OrgLevel, ReminderSeverity};
use chibo_domain::{Date, Event, EventId, Id, InvalidField, StreamName, Timestamp};
use serde::Serialize;

use crate::record::Recorded;
use crate::rules::RuleBook;
use crate::standings::{self, CellStanding, MeetingFigure, MemberFigure, Slot, StandingsError, Tally};
use crate::state::{Fact, State};

/// A figure of a cell's standing that provenance can explain, named as in its JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellFigure {
    /// `regular_by_month` of one month (1 to 12).
    RegularByMonth(u8),
    /// `thematic_by_quarter` of one quarter (1 to 4).
    ThematicByQuarter(u8),
    /// `regular_held`: regular meetings counted toward the meeting rules.
    RegularHeld,
    /// `thematic_held`.
    ThematicHeld,
    /// `attendance_expected`.
    AttendanceExpected,
    /// `attendance_present`.
    AttendancePresent,
    /// `attendance_permille`.
    AttendancePermille,
    /// `speakers_per_meeting_x10`.
    SpeakersPerMeetingX10,
    /// `tasks_assigned`.
    TasksAssigned,
    /// `tasks_late`.
    TasksLate,
    /// A figure of one meeting's line, `meetings.{figure}`.
    Meeting(Id, MeetingFigure),
    /// `programmes.indicator_by_month` of a programme (`None`: the cell's only one) and a month.
    IndicatorByMonth(Option<Id>, u8),
    /// `programmes.latest_score` of a programme (`None`: the cell's only one).
    LatestScore(Option<Id>),
}

/// A figure to explain: whose, which year, which figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// A figure of a member's standing (in the cell [`standings::member`] reports them in).
    Member {
        /// The member.
        member: Id,
        /// The year.
        year: u16,
        /// The figure.
        figure: MemberFigure,
    },
    /// A figure of a cell's standing.
    Cell {
        /// The cell.
        cell: Id,
        /// The year.
        year: u16,
        /// The figure.
        figure: CellFigure,
    },
}

/// What a figure may need besides its name, as asked: each figure takes exactly the ones it
/// needs, and a selector it does not take is refused rather than ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selectors {
    /// The month (1 to 12): `points_by_month`, `regular_by_month`,
    /// `programmes.indicator_by_month`.
    pub month: Option<u32>,
    /// The quarter (1 to 4): `thematic_by_quarter`.
    pub quarter: Option<u32>,
    /// The meeting: `meetings.*`.
    pub meeting: Option<Id>,
    /// The programme: `programmes.*` (may be left out when the cell has one).
    pub programme: Option<Id>,
}

/// The names of a member's figures, as [`Question::member`] takes them.
pub const MEMBER_FIGURES: [&str; 16] = [
    "points_by_month",
    "points_year",
    "points_cumulative",
    "meetings_expected",
    "meetings_present",
    "excused",
    "unexcused",
    "months_with_unexcused_absence",
    "times_spoke",
    "commendations",
    "reminders",
    "criticisms",
    "tasks_assigned",
    "tasks_done",
    "tasks_done_on_time",
    "tasks_late",
];

/// The names of a cell's figures, as [`Question::cell`] takes them.
pub const CELL_FIGURES: [&str; 18] = [
    "regular_by_month",
    "thematic_by_quarter",
    "regular_held",
    "thematic_held",
    "attendance_expected",
    "attendance_present",
    "attendance_permille",
    "speakers_per_meeting_x10",
    "tasks_assigned",
    "tasks_late",
    "meetings.expected",
    "meetings.present",
    "meetings.excused",
    "meetings.unexcused",
    "meetings.speakers",
    "meetings.score",
    "programmes.indicator_by_month",
    "programmes.latest_score",
];

/// The selectors still to be taken by the figure being read.
struct Asked<'a> {
    figure: &'a str,
    selectors: Selectors,
}

impl Asked<'_> {
    fn month(&mut self) -> Result<u8, InvalidField> {
        match self.selectors.month.take() {
            Some(m @ 1..=12) => Ok(m as u8),
            Some(m) => Err(InvalidField::new("month", format!("{m} is not a month (1 to 12)"))),
            None => Err(InvalidField::new("month", format!("is missing; {} is a figure of one month", self.figure))),
        }
    }

    fn quarter(&mut self) -> Result<u8, InvalidField> {
        match self.selectors.quarter.take() {
            Some(q @ 1..=4) => Ok(q as u8),
            Some(q) => Err(InvalidField::new("quarter", format!("{q} is not a quarter (1 to 4)"))),
            None => {
                Err(InvalidField::new("quarter", format!("is missing; {} is a figure of one quarter", self.figure)))
            }
        }
    }

    fn meeting(&mut self) -> Result<Id, InvalidField> {
        self.selectors.meeting.take().ok_or_else(|| {
            InvalidField::new("meeting_id", format!("is missing; {} is a figure of one meeting", self.figure))
        })
    }

    fn programme(&mut self) -> Option<Id> {
        self.selectors.programme.take()
    }

    /// Refuses the selectors the figure did not take.
    fn done(self) -> Result<(), InvalidField> {
        let Selectors { month, quarter, meeting, programme } = self.selectors;
        let unused = [
            ("month", month.is_some()),
            ("quarter", quarter.is_some()),
            ("meeting_id", meeting.is_some()),
            ("programme_id", programme.is_some()),
        ];
        match unused.into_iter().find(|(_, given)| *given) {
            Some((field, _)) => Err(InvalidField::new(field, format!("{} takes no {field}", self.figure))),
            None => Ok(()),
        }
    }
}

fn unknown(figure: &str, known: &[&str], whose: &str) -> InvalidField {
    let reason = if figure.is_empty() {
        format!("is missing; a {whose}'s figures are {}", known.join(", "))
    } else {
        format!("{figure:?} is not a figure of a {whose}'s standing; they are {}", known.join(", "))
    };
    InvalidField::new("figure", reason)
}

impl Question {
    /// The member figure named `figure`, with the selectors it needs. The error names the field
    /// at fault: `figure` (unknown), or a selector (missing, out of range, or not taken).
    pub fn member(member: Id, year: u16, figure: &str, selectors: Selectors) -> Result<Self, InvalidField> {
        let mut asked = Asked { figure, selectors };
        let figure = match figure {
            "points_by_month" => MemberFigure::PointsByMonth(asked.month()?),
            "points_year" => MemberFigure::PointsYear,
            "points_cumulative" => MemberFigure::PointsCumulative,
            "meetings_expected" => MemberFigure::MeetingsExpected,
            "meetings_present" => MemberFigure::MeetingsPresent,
            "excused" => MemberFigure::Excused,
            "unexcused" => MemberFigure::Unexcused,
            "months_with_unexcused_absence" => MemberFigure::MonthsWithUnexcusedAbsence,
            "times_spoke" => MemberFigure::TimesSpoke,
            "commendations" => MemberFigure::Commendations,
            "reminders" => MemberFigure::Reminders,
            "criticisms" => MemberFigure::Criticisms,
            "tasks_assigned" => MemberFigure::TasksAssigned,
            "tasks_done" => MemberFigure::TasksDone,
            "tasks_done_on_time" => MemberFigure::TasksDoneOnTime,
            "tasks_late" => MemberFigure::TasksLate,
            other => return Err(unknown(other, &MEMBER_FIGURES, "member")),
        };
        asked.done()?;
        Ok(Self::Member { member, year, figure })
    }

    /// The cell figure named `figure`, with the selectors it needs; errors as
    /// [`Question::member`].
    pub fn cell(cell: Id, year: u16, figure: &str, selectors: Selectors) -> Result<Self, InvalidField> {
        let mut asked = Asked { figure, selectors };
        let meeting = |asked: &mut Asked<'_>, f| Ok::<_, InvalidField>(CellFigure::Meeting(asked.meeting()?, f));
        let figure = match figure {
            "regular_by_month" => CellFigure::RegularByMonth(asked.month()?),
            "thematic_by_quarter" => CellFigure::ThematicByQuarter(asked.quarter()?),
            "regular_held" => CellFigure::RegularHeld,
            "thematic_held" => CellFigure::ThematicHeld,
            "attendance_expected" => CellFigure::AttendanceExpected,
            "attendance_present" => CellFigure::AttendancePresent,
            "attendance_permille" => CellFigure::AttendancePermille,
            "speakers_per_meeting_x10" => CellFigure::SpeakersPerMeetingX10,
            "tasks_assigned" => CellFigure::TasksAssigned,
            "tasks_late" => CellFigure::TasksLate,
            "meetings.expected" => meeting(&mut asked, MeetingFigure::Expected)?,
            "meetings.present" => meeting(&mut asked, MeetingFigure::Present)?,
            "meetings.excused" => meeting(&mut asked, MeetingFigure::Excused)?,
            "meetings.unexcused" => meeting(&mut asked, MeetingFigure::Unexcused)?,
            "meetings.speakers" => meeting(&mut asked, MeetingFigure::Speakers)?,
            "meetings.score" => meeting(&mut asked, MeetingFigure::Score)?,
            "programmes.indicator_by_month" => {
                let programme = asked.programme();
                CellFigure::IndicatorByMonth(programme, asked.month()?)
            }
            "programmes.latest_score" => CellFigure::LatestScore(asked.programme()),
            other => return Err(unknown(other, &CELL_FIGURES, "cell")),
        };
        asked.done()?;
        Ok(Self::Cell { cell, year, figure })
    }

    /// The year asked about.
    pub fn year(&self) -> u16 {
        match self {
            Self::Member { year, .. } | Self::Cell { year, .. } => *year,
        }
    }

    /// The figure's name, as in the standing's JSON document.
    pub fn figure_name(&self) -> &'static str {
        match self {
            Self::Member { figure, .. } => member_figure_name(*figure),
            Self::Cell { figure, .. } => cell_figure_name(figure),
        }
    }
}

fn member_figure_name(figure: MemberFigure) -> &'static str {
    let i = match figure {
        MemberFigure::PointsByMonth(_) => 0,
        MemberFigure::PointsYear => 1,
        MemberFigure::PointsCumulative => 2,
        MemberFigure::MeetingsExpected => 3,
        MemberFigure::MeetingsPresent => 4,
        MemberFigure::Excused => 5,
        MemberFigure::Unexcused => 6,
        MemberFigure::MonthsWithUnexcusedAbsence => 7,
        MemberFigure::TimesSpoke => 8,
        MemberFigure::Commendations => 9,
        MemberFigure::Reminders => 10,
        MemberFigure::Criticisms => 11,
        MemberFigure::TasksAssigned => 12,
        MemberFigure::TasksDone => 13,
        MemberFigure::TasksDoneOnTime => 14,
        MemberFigure::TasksLate => 15,
    };
    MEMBER_FIGURES[i]
}

fn cell_figure_name(figure: &CellFigure) -> &'static str {
    let i = match figure {
        CellFigure::RegularByMonth(_) => 0,
        CellFigure::ThematicByQuarter(_) => 1,
        CellFigure::RegularHeld => 2,
        CellFigure::ThematicHeld => 3,
        CellFigure::AttendanceExpected => 4,
        CellFigure::AttendancePresent => 5,
        CellFigure::AttendancePermille => 6,
        CellFigure::SpeakersPerMeetingX10 => 7,
        CellFigure::TasksAssigned => 8,
        CellFigure::TasksLate => 9,
        CellFigure::Meeting(_, MeetingFigure::Expected) => 10,
        CellFigure::Meeting(_, MeetingFigure::Present) => 11,
        CellFigure::Meeting(_, MeetingFigure::Excused) => 12,
        CellFigure::Meeting(_, MeetingFigure::Unexcused) => 13,
        CellFigure::Meeting(_, MeetingFigure::Speakers) => 14,
        CellFigure::Meeting(_, MeetingFigure::Score) => 15,
        CellFigure::IndicatorByMonth(..) => 16,
        CellFigure::LatestScore(_) => 17,
    };
    CELL_FIGURES[i]
}

/// How a figure follows from the amounts of the events counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The sum of the amounts.
    Sum,
    /// The amount of the one event counted; no value when none is.
    Single,
    /// The sum of the amounts × `scale` ÷ the sum of the `out_of`s, rounded down (0 when
    /// nothing is out of anything): a rate such as `attendance_permille`.
    Ratio,
}

/// The provenance of one figure: its value, and the events it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The member, for a member's figure.
    pub member_id: Option<String>,
    /// The cell whose standing holds the figure.
    pub cell_id: String,
    /// The year.
    pub year: u16,
    /// The figure, named as in the standing's JSON document.
    pub figure: String,
    /// The month, for a figure of one month.
    pub month: Option<u8>,
    /// The quarter, for a figure of one quarter.
    pub quarter: Option<u8>,
    /// The meeting, for a meeting's figure.
    pub meeting_id: Option<String>,
    /// The programme, for a programme's figure.
    pub programme_id: Option<String>,
    /// The figure as the standing shows it (`None`: a score not given).
    pub value: Option<u64>,
    /// How `value` follows from the events counted.
    pub rule: Rule,
    /// For [`Rule::Ratio`], what the sum is multiplied by (1000 for per mille); 1 otherwise.
    pub scale: u64,
    /// The sum of the amounts of the events counted.
    pub counted: u64,
    /// The sum of their `out_of`s (for a ratio).
    pub out_of: u64,
    /// The events looked at, counted or not, in log order.
    pub events: Vec<Source>,
}

/// One event a figure was computed from, or looked at and not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Its global position.
    pub position: u64,
    /// Its stream.
    pub stream: String,
    /// Its revision in the stream.
    pub revision: u64,
    /// Its event id.
    pub event_id: String,
    /// Its type (`EventCorrected` for a correction, whose replacement is what counts).
    pub event_type: String,
    /// When it happened, as asserted (RFC 3339, UTC).
    pub occurred_at: String,
    /// Whether the figure counts it.
    pub counted: bool,
    /// What it adds to the figure (0 when not counted).
    pub amount: u64,
    /// What it adds to the figure's base, for a ratio (0 otherwise).
    pub out_of: u64,
    /// What it adds, for people (`+20 points on 2026-03-05`); empty when not counted.
    pub contribution: String,
    /// Why it adds nothing, for people (`retracted by the event at position 17`); empty when
    /// counted.
    pub reason: String,
}

impl Provenance {
    /// The figure computed again from the events counted, by [`Provenance::rule`]: equal to
    /// [`Provenance::value`] whenever the list explains the figure.
    pub fn recompute(&self) -> Option<u64> {
        let counted: Vec<&Source> = self.events.iter().filter(|e| e.counted).collect();
        let amount: u64 = counted.iter().map(|e| e.amount).sum();
        let out_of: u64 = counted.iter().map(|e| e.out_of).sum();
        match self.rule {
            Rule::Sum => Some(amount),
            Rule::Single => match counted.as_slice() {
                [one] => Some(one.amount),
                _ => None,
            },
            Rule::Ratio => Some((amount * self.scale).checked_div(out_of).unwrap_or(0)),
        }
    }
}

/// Why a figure cannot be explained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    /// The member, cell, meeting or programme asked about is not recorded; the field names
    /// which.
    #[error("{0}")]
    NotFound(InvalidField),
    /// The question is incomplete for this cell (a programme to choose among several).
    #[error("{0}")]
    Invalid(InvalidField),
    /// The events passed in are not the stream as the state holds it (read before the state
    /// moved on): read the stream again.
    #[error("the {read} events of {stream} read do not match the {covered} the state holds")]
    Stale {
        /// The stream.
        stream: String,
        /// How many events were passed in.
        read: usize,
        /// How many the state holds.
        covered: u64,
    },
}

/// The stream whose events [`explain`] needs for `question`: the cell's, or the member's cell's.
pub fn stream_of(state: &State, question: &Question) -> Result<StreamName, ProvenanceError> {
    Ok(StreamName::Cell(cell_of(state, question)?))
}

fn cell_of(state: &State, question: &Question) -> Result<Id, ProvenanceError> {
    let not_found = |field: &str, e: StandingsError| ProvenanceError::NotFound(InvalidField::new(field, e.to_string()));
    match question {
        Question::Member { member, year, .. } => {
            standings::member_cell(state, member, *year).map_err(|e| not_found("member_id", e))
        }
        Question::Cell { cell, .. } => match state.index().org(cell) {
            Some(node) if node.level == OrgLevel::Cell => Ok(cell.clone()),
            Some(_) => Err(ProvenanceError::NotFound(InvalidField::new(
                "cell_id",
                format!("{cell} is a committee, not a cell; a committee's standing rolls its cells up"),
            ))),
            None => {
                Err(ProvenanceError::NotFound(InvalidField::new("cell_id", format!("no cell {cell} is registered"))))
            }
        },
    }
}

/// Explains `question`'s figure from `state` and `events`, every event of the stream
/// [`stream_of`] names, in revision order from 0, as the store holds it (events past what the
/// state covers are left out).
pub fn explain(
    state: &State,
    rules: &RuleBook,
    question: &Question,
    events: &[Recorded],
) -> Result<Provenance, ProvenanceError> {
    in_range(question)?;
    let cell = cell_of(state, question)?;
    let year = question.year();
    let target = match question {
        Question::Member { member, figure, .. } => Target::Member(member.clone(), *figure),
        Question::Cell { figure, .. } => Target::Cell(resolve_programme(state, &cell, figure)?),
    };
    let stream = StreamName::Cell(cell.clone());
    let covered = state.stream(&stream).map_or(0, |book| book.next_revision);
    let stale = || ProvenanceError::Stale { stream: stream.to_string(), read: events.len(), covered };
    let events = events
        .get(..usize::try_from(covered).unwrap_or(usize::MAX))
        .filter(|prefix| prefix.iter().enumerate().all(|(i, e)| e.revision == i as u64 && e.stream == stream))
        .ok_or_else(stale)?;

    let mut listener = Listener { target: &target, lines: BTreeMap::new() };
    let standing = standings::tallied(state, rules, &cell, year, &mut listener)
        .map_err(|e| ProvenanceError::NotFound(InvalidField::new("cell_id", e.to_string())))?;
    let value = target.value(&standing, &cell, year)?;
    let (rule, scale) = target.rule();

    let history = History::of(events);
    let cx = Context { state, cell: &cell, year, figure: question.figure_name() };
    let mut sources = Vec::new();
    let looked_at: BTreeSet<EventId> = listener.lines.keys().copied().collect();
    for (id, line) in listener.lines {
        let story = history.stories.get(&id).filter(|s| s.retraction.is_none()).ok_or_else(stale)?;
        story.in_force(line, &mut sources);
    }
    for (id, story) in &history.stories {
        if looked_at.contains(id) {
            continue;
        }
        let concerned: Vec<bool> = story.versions.iter().map(|(_, e)| target.concerns(e, &cx)).collect();
        if !concerned.contains(&true) {
            continue;
        }
        match story.retraction {
            Some(retraction) => story.retracted(retraction, &mut sources),
            // A fact in force that the standing did not look at, though an earlier version
            // concerned the figure: a correction took it out.
            None if concerned.last() == Some(&false) => story.corrected_out(&cx, &mut sources),
            None => {}
        }
    }
    for (correction, replacement) in &history.idle {
        if target.concerns(replacement, &cx) {
            let reason = format!("{}: changed nothing, as its target was not in force", describe(replacement));
            sources.push(source(correction, None, reason));
        }
    }
    sources.sort_by_key(|s| s.position);

    let counted = sources.iter().filter(|s| s.counted);
    let (counted, out_of) = counted.fold((0, 0), |(a, o), s| (a + s.amount, o + s.out_of));
    let (month, quarter, meeting_id, programme_id) = target.selectors();
    Ok(Provenance {
        member_id: match question {
            Question::Member { member, .. } => Some(member.to_string()),
            Question::Cell { .. } => None,
        },
        cell_id: cell.to_string(),
        year,
        figure: question.figure_name().to_owned(),
        month,
        quarter,
        meeting_id,
        programme_id,
        value,
        rule,
        scale,
        counted,
        out_of,
        events: sources,
    })
}

/// Refuses a month or quarter out of range in a question built without [`Question::member`] or
/// [`Question::cell`], which check them.
fn in_range(question: &Question) -> Result<(), ProvenanceError> {
    let (month, quarter) = match question {
        Question::Member { figure: MemberFigure::PointsByMonth(m), .. } => (Some(*m), None),
        Question::Cell { figure: CellFigure::RegularByMonth(m) | CellFigure::IndicatorByMonth(_, m), .. } => {
            (Some(*m), None)
        }
        Question::Cell { figure: CellFigure::ThematicByQuarter(q), .. } => (None, Some(*q)),
        _ => (None, None),
    };
    if let Some(m) = month.filter(|m| !(1..=12).contains(m)) {
        return Err(ProvenanceError::Invalid(InvalidField::new("month", format!("{m} is not a month (1 to 12)"))));
    }
    if let Some(q) = quarter.filter(|q| !(1..=4).contains(q)) {
        return Err(ProvenanceError::Invalid(InvalidField::new("quarter", format!("{q} is not a quarter (1 to 4)"))));
    }
    Ok(())
}

/// The programme a programme figure is about: the one named, or the cell's only one.
fn resolve_programme(state: &State, cell: &Id, figure: &CellFigure) -> Result<CellFigure, ProvenanceError> {
    let named = match figure {
        CellFigure::IndicatorByMonth(p, _) | CellFigure::LatestScore(p) => p,
        other => return Ok(other.clone()),
    };
    let programmes: Vec<Id> =
        standings::programmes_of(state, cell).into_iter().filter(|p| state.programme(p).is_some()).collect();
    let programme = match (named, programmes.as_slice()) {
        (Some(p), _) if programmes.contains(p) => p.clone(),
        (Some(p), _) => {
            return Err(ProvenanceError::NotFound(InvalidField::new(
                "programme_id",
                format!("cell-{cell} is not registered in a programme {p}"),
            )))
        }
        (None, [only]) => only.clone(),
        (None, []) => {
            return Err(ProvenanceError::NotFound(InvalidField::new(
                "programme_id",
                format!("cell-{cell} is registered in no programme"),
            )))
        }
        (None, several) => {
            let names: Vec<String> = several.iter().map(Id::to_string).collect();
            return Err(ProvenanceError::Invalid(InvalidField::new(
                "programme_id",
                format!("is missing; cell-{cell} is registered in {}: {}", several.len(), names.join(", ")),
            )));
        }
    };
    Ok(match figure {
        CellFigure::IndicatorByMonth(_, month) => CellFigure::IndicatorByMonth(Some(programme), *month),
        _ => CellFigure::LatestScore(Some(programme)),
    })
}

/// The figure as the listener matches it: a cell figure's programme is resolved.
enum Target {
    Member(Id, MemberFigure),
    Cell(CellFigure),
}

/// Whether a tallied amount goes to the figure itself or to the base of a ratio.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Value,
    Base,
}

impl Target {
    /// What `slot` is to this figure, if anything.
    fn part(&self, slot: Slot<'_>) -> Option<Part> {
        use MeetingFigure as M;
        let value = |yes: bool| yes.then_some(Part::Value);
        match (self, slot) {
            (Self::Member(member, figure), Slot::Member(m, f)) => value(member == m && *figure == f),
            (Self::Member(..), _) => None,
            (Self::Cell(figure), slot) => match (figure, slot) {
                (CellFigure::RegularByMonth(month), Slot::RegularInMonth(m)) => value(*month == m),
                (CellFigure::ThematicByQuarter(quarter), Slot::ThematicInQuarter(q)) => value(*quarter == q),
                (CellFigure::RegularHeld, Slot::RegularHeld) => Some(Part::Value),
                (CellFigure::ThematicHeld, Slot::ThematicHeld) => Some(Part::Value),
                (CellFigure::AttendanceExpected, Slot::Meeting(_, M::Expected)) => Some(Part::Value),
                (CellFigure::AttendancePresent, Slot::Meeting(_, M::Present)) => Some(Part::Value),
                (CellFigure::AttendancePermille, Slot::Meeting(_, M::Present)) => Some(Part::Value),
                (CellFigure::AttendancePermille, Slot::Meeting(_, M::Expected)) => Some(Part::Base),
                (CellFigure::SpeakersPerMeetingX10, Slot::Meeting(_, M::Speakers)) => Some(Part::Value),
                (CellFigure::SpeakersPerMeetingX10, Slot::MeetingLine(_)) => Some(Part::Base),
                (CellFigure::TasksAssigned, Slot::Member(_, MemberFigure::TasksAssigned)) => Some(Part::Value),
                (CellFigure::TasksLate, Slot::Member(_, MemberFigure::TasksLate)) => Some(Part::Value),
                (CellFigure::Meeting(meeting, figure), Slot::Meeting(m, f)) => value(meeting == m && *figure == f),
                (CellFigure::IndicatorByMonth(Some(p), month), Slot::IndicatorInMonth(sp, m)) => {
                    value(p == sp && *month == m)
                }
                (CellFigure::LatestScore(Some(p)), Slot::LatestIndicator(sp)) => value(p == sp),
                _ => None,
            },
        }
    }

    /// How the figure follows from its events, and the ratio's scale.
    fn rule(&self) -> (Rule, u64) {
        match self {
            Self::Cell(CellFigure::AttendancePermille) => (Rule::Ratio, 1000),
            Self::Cell(CellFigure::SpeakersPerMeetingX10) => (Rule::Ratio, 10),
            Self::Cell(
                CellFigure::Meeting(_, MeetingFigure::Score)
                | CellFigure::IndicatorByMonth(..)
                | CellFigure::LatestScore(_),
            ) => (Rule::Single, 1),
            _ => (Rule::Sum, 1),
        }
    }

    /// The figure in `standing`.
    fn value(&self, standing: &CellStanding, cell: &Id, year: u16) -> Result<Option<u64>, ProvenanceError> {
        let month = |m: u8| usize::from(m - 1);
        match self {
            Self::Member(member, figure) => {
                let m = standing.member_standings.iter().find(|m| m.member_id == member.as_str()).ok_or_else(|| {
                    ProvenanceError::NotFound(InvalidField::new(
                        "member_id",
                        format!("no member {member} in cell-{cell}"),
                    ))
                })?;
                let n = |v: u32| Some(u64::from(v));
                Ok(match figure {
                    MemberFigure::PointsByMonth(mo) => Some(m.points_by_month[month(*mo)]),
                    MemberFigure::PointsYear => Some(m.points_year),
                    MemberFigure::PointsCumulative => Some(m.points_cumulative),
                    MemberFigure::MeetingsExpected => n(m.meetings_expected),
                    MemberFigure::MeetingsPresent => n(m.meetings_present),
                    MemberFigure::Excused => n(m.excused),
                    MemberFigure::Unexcused => n(m.unexcused),
                    MemberFigure::MonthsWithUnexcusedAbsence => n(m.months_with_unexcused_absence),
                    MemberFigure::TimesSpoke => n(m.times_spoke),
                    MemberFigure::Commendations => n(m.commendations),
                    MemberFigure::Reminders => n(m.reminders),
                    MemberFigure::Criticisms => n(m.criticisms),
                    MemberFigure::TasksAssigned => n(m.tasks_assigned),
                    MemberFigure::TasksDone => n(m.tasks_done),
                    MemberFigure::TasksDoneOnTime => n(m.tasks_done_on_time),
                    MemberFigure::TasksLate => n(m.tasks_late),
                })
            }
            Self::Cell(figure) => {
                let n = |v: u32| Ok(Some(u64::from(v)));
                match figure {
                    CellFigure::RegularByMonth(m) => n(standing.regular_by_month[month(*m)]),
                    CellFigure::ThematicByQuarter(q) => n(standing.thematic_by_quarter[usize::from(q - 1)]),
                    CellFigure::RegularHeld => n(standing.cadence.regular_held),
                    CellFigure::ThematicHeld => n(standing.cadence.thematic_held),
                    CellFigure::AttendanceExpected => n(standing.attendance_expected),
                    CellFigure::AttendancePresent => n(standing.attendance_present),
                    CellFigure::AttendancePermille => n(standing.attendance_permille),
                    CellFigure::SpeakersPerMeetingX10 => n(standing.speakers_per_meeting_x10),
                    CellFigure::TasksAssigned => n(standing.tasks_assigned),
                    CellFigure::TasksLate => n(standing.tasks_late),
                    CellFigure::Meeting(meeting, figure) => {
                        let line =
                            standing.meetings.iter().find(|l| l.meeting_id == meeting.as_str()).ok_or_else(|| {
                                ProvenanceError::NotFound(InvalidField::new(
                                    "meeting_id",
                                    format!("cell-{cell} has no meeting {meeting} in force in {year}"),
                                ))
                            })?;
                        match figure {
                            MeetingFigure::Expected => n(line.expected),
                            MeetingFigure::Present => n(line.present),
                            MeetingFigure::Excused => n(line.excused),
                            MeetingFigure::Unexcused => n(line.unexcused),
                            MeetingFigure::Speakers => n(line.speakers),
                            MeetingFigure::Score => Ok(line.score.map(u64::from)),
                        }
                    }
                    CellFigure::IndicatorByMonth(p, m) => {
                        Ok(programme_line(standing, p)?.indicator_by_month[month(*m)].map(u64::from))
                    }
                    CellFigure::LatestScore(p) => Ok(programme_line(standing, p)?.latest_score.map(u64::from)),
                }
            }
        }
    }

    /// The figure's selectors as reported: month, quarter, meeting, programme.
    fn selectors(&self) -> (Option<u8>, Option<u8>, Option<String>, Option<String>) {
        match self {
            Self::Member(_, MemberFigure::PointsByMonth(m)) => (Some(*m), None, None, None),
            Self::Member(..) => (None, None, None, None),
            Self::Cell(figure) => match figure {
                CellFigure::RegularByMonth(m) => (Some(*m), None, None, None),
                CellFigure::ThematicByQuarter(q) => (None, Some(*q), None, None),
                CellFigure::Meeting(meeting, _) => (None, None, Some(meeting.to_string()), None),
                CellFigure::IndicatorByMonth(p, m) => (Some(*m), None, None, p.as_ref().map(Id::to_string)),
                CellFigure::LatestScore(p) => (None, None, None, p.as_ref().map(Id::to_string)),
                _ => (None, None, None, None),
            },
        }
    }

    /// Whether `event`, as one version of a fact, concerns the figure: the events not in force
    /// are listed when they do. The same subject and period as the standing counts over.
    fn concerns(&self, event: &Event, cx: &Context<'_>) -> bool {
        let year = cx.year;
        let in_year = |d: Date| d.year() == year;
        match self {
            Self::Member(member, figure) => {
                let lists = |e: &chibo_domain::event::MeetingHeld| {
                    in_year(e.date) && e.attendance.iter().any(|a| &a.member_id == member)
                };
                match (figure, event) {
                    (MemberFigure::PointsByMonth(m), Event::StudyPointsEarned(e)) => {
                        &e.member_id == member && in_year(e.date) && e.date.month() == *m
                    }
                    (MemberFigure::PointsYear, Event::StudyPointsEarned(e)) => {
                        &e.member_id == member && in_year(e.date)
                    }
                    (MemberFigure::PointsCumulative, Event::StudyPointsEarned(e)) => {
                        &e.member_id == member && e.date.year() <= year
                    }
                    (
                        MemberFigure::MeetingsExpected
                        | MemberFigure::MeetingsPresent
                        | MemberFigure::Excused
                        | MemberFigure::Unexcused
                        | MemberFigure::MonthsWithUnexcusedAbsence,
                        Event::MeetingHeld(e),
                    ) => lists(e),
                    (MemberFigure::TimesSpoke, Event::MemberSpoke(e)) => {
                        &e.member_id == member && cx.meeting_not_elsewhere(&e.meeting_id)
                    }
                    (MemberFigure::Commendations, Event::MemberCommended(e)) => {
                        &e.member_id == member && cx.meeting_not_elsewhere(&e.meeting_id)
                    }
                    (MemberFigure::Reminders | MemberFigure::Criticisms, Event::MemberReminded(e)) => {
                        let severity = match figure {
                            MemberFigure::Reminders => ReminderSeverity::Reminder,
                            _ => ReminderSeverity::Criticism,
                        };
                        &e.member_id == member && e.severity == severity && cx.meeting_not_elsewhere(&e.meeting_id)
                    }
                    (
                        MemberFigure::TasksAssigned
                        | MemberFigure::TasksDone
                        | MemberFigure::TasksDoneOnTime
                        | MemberFigure::TasksLate,
                        Event::TaskAssigned(e),
                    ) => &e.member_id == member && in_year(e.due),
                    (
                        MemberFigure::TasksDone | MemberFigure::TasksDoneOnTime | MemberFigure::TasksLate,
                        Event::TaskCompleted(e),
                    ) => &e.member_id == member && cx.task_due(&e.task_id).is_some_and(in_year),
                    _ => false,
                }
            }
            Self::Cell(figure) => match (figure, event) {
                (CellFigure::RegularByMonth(m), Event::MeetingHeld(e)) => {
                    e.kind == MeetingKind::Regular && in_year(e.date) && e.date.month() == *m
                }
                (CellFigure::ThematicByQuarter(q), Event::MeetingHeld(e)) => {
                    e.kind == MeetingKind::Thematic && in_year(e.date) && e.date.period().quarter() == *q
                }
                (CellFigure::RegularHeld, Event::MeetingHeld(e)) => e.kind == MeetingKind::Regular && in_year(e.date),
                (CellFigure::ThematicHeld, Event::MeetingHeld(e)) => e.kind == MeetingKind::Thematic && in_year(e.date),
                (
                    CellFigure::AttendanceExpected
                    | CellFigure::AttendancePresent
                    | CellFigure::AttendancePermille
                    | CellFigure::SpeakersPerMeetingX10,
                    Event::MeetingHeld(e),
                ) => in_year(e.date),
                (CellFigure::SpeakersPerMeetingX10, Event::MemberSpoke(e)) => cx.meeting_in_year(&e.meeting_id),
                (CellFigure::TasksAssigned | CellFigure::TasksLate, Event::TaskAssigned(e)) => in_year(e.due),
                (CellFigure::TasksLate, Event::TaskCompleted(e)) => cx.task_due(&e.task_id).is_some_and(in_year),
                (CellFigure::Meeting(meeting, figure), event) => match (figure, event) {
                    (MeetingFigure::Speakers, Event::MemberSpoke(e)) => &e.meeting_id == meeting,
                    (MeetingFigure::Score, Event::MeetingScored(e)) => &e.meeting_id == meeting,
                    (MeetingFigure::Speakers | MeetingFigure::Score, _) => false,
                    (_, Event::MeetingHeld(e)) => &e.meeting_id == meeting,
                    _ => false,
                },
                (CellFigure::IndicatorByMonth(Some(p), m), Event::IndicatorsScored(e)) => {
                    &e.programme_id == p && e.period.year() == year && e.period.month() == *m
                }
                (CellFigure::LatestScore(Some(p)), Event::IndicatorsScored(e)) => &e.programme_id == p,
                _ => false,
            },
        }
    }
}

fn programme_line<'s>(
    standing: &'s CellStanding,
    programme: &Option<Id>,
) -> Result<&'s standings::ProgrammeLine, ProvenanceError> {
    let p = programme.as_ref().map(Id::as_str).unwrap_or_default();
    standing.programmes.iter().find(|l| l.programme_id == p).ok_or_else(|| {
        ProvenanceError::NotFound(InvalidField::new(
            "programme_id",
            format!("cell-{} is not registered in a programme {p}", standing.cell_id),
        ))
    })
}

/// What [`Target::concerns`] looks things up in.
struct Context<'a> {
    state: &'a State,
    cell: &'a Id,
    year: u16,
    figure: &'static str,
}

impl Context<'_> {
    /// Whether `meeting` is in force and of the year.
    fn meeting_in_year(&self, meeting: &Id) -> bool {
        self.state.meeting(self.cell, meeting).is_some_and(|(_, held)| held.date.year() == self.year)
    }

    /// Whether `meeting` is of the year, or not in force at all (the standing then looks at
    /// what refers to it in every year, and counts none of it).
    fn meeting_not_elsewhere(&self, meeting: &Id) -> bool {
        self.state.meeting(self.cell, meeting).is_none_or(|(_, held)| held.date.year() == self.year)
    }

    /// The due date of `task` as assigned in force.
    fn task_due(&self, task: &Id) -> Option<Date> {
        let id = self.state.index().cells.get(self.cell)?.tasks.get(task)?.first()?;
        match &self.state.cell_fact(self.cell, id)?.event {
            Event::TaskAssigned(t) => Some(t.due),
            _ => None,
        }
    }
}

/// What the standing's computation said about one fact, for the figure asked.
#[derive(Default)]
struct Line {
    counted: bool,
    amount: u64,
    out_of: u64,
    contributions: Vec<String>,
    reasons: Vec<String>,
}

/// Listens to the standing's computation for one figure.
struct Listener<'t> {
    target: &'t Target,
    lines: BTreeMap<EventId, Line>,
}

impl Tally for Listener<'_> {
    const LISTENING: bool = true;

    fn counted(&mut self, slot: Slot<'_>, id: &EventId, _: &Fact, amount: u64, what: impl FnOnce() -> String) {
        let Some(part) = self.target.part(slot) else { return };
        let line = self.lines.entry(*id).or_default();
        line.counted = true;
        match part {
            Part::Value => line.amount += amount,
            Part::Base => line.out_of += amount,
        }
        line.contributions.push(what());
    }

    fn passed_over(&mut self, slot: Slot<'_>, id: &EventId, _: &Fact, why: impl FnOnce() -> String) {
        if self.target.part(slot).is_some() {
            self.lines.entry(*id).or_default().reasons.push(why());
        }
    }
}

/// Every original event of a stream with its versions, replayed as [`State::apply`] does.
struct History<'e> {
    stories: BTreeMap<EventId, Story<'e>>,
    /// Corrections that replaced nothing (their target was not in force), with their
    /// replacement.
    idle: Vec<(&'e Recorded, &'e Event)>,
}

/// One original event: what it said, what each correction made it say, and its retraction.
struct Story<'e> {
    /// The original, then each correction in force, with what it says.
    versions: Vec<(&'e Recorded, &'e Event)>,
    retraction: Option<&'e Recorded>,
}

impl<'e> History<'e> {
    fn of(events: &'e [Recorded]) -> Self {
        let mut stories: BTreeMap<EventId, Story<'e>> = BTreeMap::new();
        let mut idle = Vec::new();
        for recorded in events {
            match &recorded.event {
                None => {}
                Some(Event::EventCorrected(correction)) => {
                    let replacement: &Event = &correction.replacement;
                    let target = stories.get_mut(&correction.target_event_id).filter(|s| {
                        s.retraction.is_none()
                            && s.versions.last().is_some_and(|(_, e)| e.event_type() == replacement.event_type())
                    });
                    match target {
                        Some(story) => story.versions.push((recorded, replacement)),
                        None => idle.push((recorded, replacement)),
                    }
                }
                Some(Event::EventRetracted(retraction)) => {
                    if let Some(story) = stories.get_mut(&retraction.target_event_id) {
                        story.retraction = story.retraction.or(Some(recorded));
                    }
                }
                Some(event) => {
                    stories.insert(recorded.event_id, Story { versions: vec![(recorded, event)], retraction: None });
                }
            }
        }
        Self { stories, idle }
    }
}

impl Story<'_> {
    /// The original's position.
    fn original(&self) -> &Recorded {
        self.versions[0].0
    }

    /// The versions before the last, each replaced by the next.
    fn replaced(&self, out: &mut Vec<Source>) {
        for pair in self.versions.windows(2) {
            let ((recorded, event), (by, _)) = (pair[0], pair[1]);
            let reason = format!("{}: replaced by the correction at position {}", describe(event), by.position);
            out.push(source(recorded, None, reason));
        }
    }

    /// A fact in force the standing looked at: its last version says what it added.
    fn in_force(&self, line: Line, out: &mut Vec<Source>) {
        let (current, _) = *self.versions.last().expect("a story has its original");
        let note = (self.versions.len() > 1)
            .then(|| format!("as corrected by this event (the original is at position {})", self.original().position));
        let Line { counted, amount, out_of, mut contributions, mut reasons } = line;
        if counted {
            contributions.extend(note);
            out.push(source(current, Some((amount, out_of, contributions.join("; "))), String::new()));
        } else {
            reasons.extend(note);
            out.push(source(current, None, reasons.join("; ")));
        }
        self.replaced(out);
    }

    /// A retracted fact, every version, and its retraction.
    fn retracted(&self, retraction: &Recorded, out: &mut Vec<Source>) {
        self.replaced(out);
        let (last, event) = *self.versions.last().expect("a story has its original");
        let reason = format!("{}: retracted by the event at position {}", describe(event), retraction.position);
        out.push(source(last, None, reason));
        let why = match &retraction.event {
            Some(Event::EventRetracted(r)) => format!(": {}", r.reason),
            _ => String::new(),
        };
        let reason = format!("withdraws the event at position {}{why}", self.original().position);
        out.push(source(retraction, None, reason));
    }

    /// A fact in force that a correction took out of the figure.
    fn corrected_out(&self, cx: &Context<'_>, out: &mut Vec<Source>) {
        self.replaced(out);
        let (last, event) = *self.versions.last().expect("a story has its original");
        let reason = format!("{}: as corrected, it no longer counts toward {}", describe(event), cx.figure);
        out.push(source(last, None, reason));
    }
}

/// `recorded` as a source: counted with (amount, out_of, contribution), or not with `reason`.
fn source(recorded: &Recorded, counted: Option<(u64, u64, String)>, reason: String) -> Source {
    let (counted, amount, out_of, contribution) = match counted {
        Some((amount, out_of, contribution)) => (true, amount, out_of, contribution),
        None => (false, 0, 0, String::new()),
    };
    Source {
        position: recorded.position,
        stream: recorded.stream.to_string(),
        revision: recorded.revision,
        event_id: recorded.event_id.to_string(),
        event_type: recorded.event.as_ref().map_or("unreadable", |e| e.event_type().name()).to_owned(),
        occurred_at: rfc3339(&recorded.occurred_at),
        counted,
        amount,
        out_of,
        contribution,
        reason,
    }
}

/// What an event says, in a few words, for a reason.
fn describe(event: &Event) -> String {
    match event {
        Event::StudyPointsEarned(e) => format!("{} points for {} on {}", e.points, e.member_id, e.date),
        Event::MeetingHeld(e) => format!("{} meeting {} on {}", e.kind.name(), e.meeting_id, e.date),
        Event::MemberSpoke(e) => format!("{} spoke at meeting {}", e.member_id, e.meeting_id),
        Event::MemberCommended(e) => format!("{} commended at meeting {}", e.member_id, e.meeting_id),
        Event::MemberReminded(e) => {
            let said = match e.severity {
                ReminderSeverity::Reminder => "reminded",
                ReminderSeverity::Criticism => "criticised",
            };
            format!("{} {said} at meeting {}", e.member_id, e.meeting_id)
        }
        Event::TaskAssigned(e) => format!("task {} for {}, due {}", e.task_id, e.member_id, e.due),
        Event::TaskCompleted(e) => format!("task {} done by {} on {}", e.task_id, e.member_id, e.date),
        Event::MeetingScored(e) => {
            let total: u64 = e.parts.iter().map(|p| u64::from(p.points)).sum();
            format!("meeting {} scored {total} by {}", e.meeting_id, e.scorer)
        }
        Event::IndicatorsScored(e) => {
            let total: u64 = e.scores.iter().map(|s| u64::from(s.points)).sum();
            format!("{} for {}: {total} points, scored by the {}", e.programme_id, e.period, e.scored_by)
        }
        other => other.event_type().name().to_owned(),
    }
}

/// An instant in RFC 3339, UTC, as the JSON mapping of protobuf writes it.
fn rfc3339(t: &Timestamp) -> String {
    let (days, seconds) = (t.seconds().div_euclid(86_400), t.seconds().rem_euclid(86_400));
    // Every Timestamp is within the years a Date holds.
    let date = Date::from_days_since_epoch(days).map_or_else(String::new, |d| d.to_string());
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let fraction = match t.nanos() {
        0 => String::new(),
        n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
        n => format!(".{n:09}"),
    };
    format!("{date}T{h:02}:{m:02}:{s:02}{fraction}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id::parse("id", s).unwrap()
    }

    #[test]
    fn a_figure_takes_exactly_the_selectors_it_needs() {
        let none = Selectors::default();
        let month = |m| Selectors { month: Some(m), ..Selectors::default() };
        let q = Question::member(id("an"), 2026, "points_by_month", month(3)).unwrap();
        assert_eq!(q, Question::Member { member: id("an"), year: 2026, figure: MemberFigure::PointsByMonth(3) });
        assert_eq!(q.figure_name(), "points_by_month");

        let missing = Question::member(id("an"), 2026, "points_by_month", none.clone()).unwrap_err();
        assert_eq!((missing.field.as_str(), missing.reason.starts_with("is missing")), ("month", true), "{missing}");
        let range = Question::member(id("an"), 2026, "points_by_month", month(13)).unwrap_err();
        assert_eq!(range.to_string(), "month: 13 is not a month (1 to 12)");
        let extra = Question::member(id("an"), 2026, "points_year", month(3)).unwrap_err();
        assert_eq!(extra.to_string(), "month: points_year takes no month");
        let unknown = Question::member(id("an"), 2026, "points", none.clone()).unwrap_err();
        assert_eq!(unknown.field, "figure");
        assert!(unknown.reason.contains("\"points\" is not a figure") && unknown.reason.contains("points_year"));
        let cell_figure = Question::member(id("an"), 2026, "attendance_permille", none.clone()).unwrap_err();
        assert_eq!(cell_figure.field, "figure", "a cell's figure is not a member's");
        assert!(Question::member(id("an"), 2026, "", none.clone()).unwrap_err().reason.starts_with("is missing"));

        let meeting = Question::cell(id("a"), 2026, "meetings.score", none.clone()).unwrap_err();
        assert_eq!(meeting.field, "meeting_id");
        let with = Selectors { meeting: Some(id("sh-1")), ..Selectors::default() };
        let q = Question::cell(id("a"), 2026, "meetings.score", with).unwrap();
        assert_eq!(q.figure_name(), "meetings.score");
        let quarter = Selectors { quarter: Some(0), ..Selectors::default() };
        let bad = Question::cell(id("a"), 2026, "thematic_by_quarter", quarter).unwrap_err();
        assert_eq!(bad.to_string(), "quarter: 0 is not a quarter (1 to 4)");
        let programme = Selectors { programme: Some(id("p")), ..Selectors::default() };
        let q = Question::cell(id("a"), 2026, "programmes.latest_score", programme.clone()).unwrap();
        assert_eq!(q, Question::Cell { cell: id("a"), year: 2026, figure: CellFigure::LatestScore(Some(id("p"))) });
        let extra = Question::cell(id("a"), 2026, "regular_held", programme).unwrap_err();
        assert_eq!(extra.to_string(), "programme_id: regular_held takes no programme_id");

        // Every name parses back to a figure of that name.
        let all = Selectors { month: Some(1), quarter: Some(1), meeting: Some(id("m")), programme: Some(id("p")) };
        for name in MEMBER_FIGURES {
            let q = retry(|s| Question::member(id("an"), 2026, name, s), all.clone());
            assert_eq!(q.unwrap().figure_name(), name);
        }
        for name in CELL_FIGURES {
            let q = retry(|s| Question::cell(id("a"), 2026, name, s), all.clone());
            assert_eq!(q.unwrap().figure_name(), name);
        }
    }

    /// Asks again without each selector refused as not taken, until the question is taken.
    fn retry(
        ask: impl Fn(Selectors) -> Result<Question, InvalidField>,
        mut s: Selectors,
    ) -> Result<Question, InvalidField> {
        for _ in 0..4 {
            match ask(s.clone()) {
                Err(e) if e.reason.contains("takes no") => match e.field.as_str() {
                    "month" => s.month = None,
                    "quarter" => s.quarter = None,
                    "meeting_id" => s.meeting = None,
                    _ => s.programme = None,
                },
                other => return other,
            }
        }
        ask(s)
    }

    #[test]
    fn instants_are_written_as_rfc3339() {
        let t = |s, n| Timestamp::new("t", s, n).unwrap();
        assert_eq!(rfc3339(&t(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(&t(1_772_326_800, 0)), "2026-03-01T01:00:00Z");
        assert_eq!(rfc3339(&t(1_772_326_800, 500_000_000)), "2026-03-01T01:00:00.500Z");
        assert_eq!(rfc3339(&t(-1, 1)), "1969-12-31T23:59:59.000000001Z");
    }
}
