//! Annual evaluation by replay: a year of an organization's records, through a classification
//! rule set, into a canonical report with a digest anyone can recompute.
//!
//! The report is JSON with a fixed field order and sorted entries, encoded once; its digest is
//! `SHA-256("chibo:evaluation:v1\0" || report_bytes)`. It names the rule set (name, version and
//! the digest of its file) and the log size it covers: the same log prefix and the same rule set
//! give the same bytes, on any machine (every figure is an integer).
//!
//! Members are classified within their cell (the quota applies per cell); cells are classified
//! together over the evaluated subtree. A member is evaluated by the cell they belong to at the
//! end of the year.

use serde::Serialize;
use sha2::{Digest, Sha256};

use chibo_domain::{Date, Id};

use crate::rules::{CellYear, Classified, MemberYear, RuleBook};
use crate::standings::{self, CellStanding, MemberStanding};
use crate::state::State;

/// The domain tag of the report digest.
pub const DIGEST_TAG: &[u8] = b"chibo:evaluation:v1\0";

/// An evaluation, ready to hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The canonical report.
    pub report: Vec<u8>,
    /// `SHA-256(DIGEST_TAG || report)`.
    pub digest: [u8; 32],
    /// The log size the report covers.
    pub log_size: u64,
}

/// Why an evaluation cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    /// The organization is not registered.
    #[error("org_id: no organization {0} is registered")]
    UnknownOrg(String),
    /// The rule set is unknown, or not a classification rule set.
    #[error("rule_set: no classification rule set {0} is known")]
    UnknownRuleSet(String),
    /// The year is outside the years chibo records.
    #[error("year: {0} is outside the years chibo records")]
    BadYear(u16),
    /// The log holds events this build cannot read: the report would be silently incomplete.
    #[error("the log holds {0} events this server cannot read; an evaluation over them would be incomplete")]
    Unreadable(u64),
}

#[derive(Serialize)]
struct Report<'a> {
    format: &'static str,
    org_id: &'a str,
    org_name: &'a str,
    year: u16,
    rule_set: RuleSetLine<'a>,
    log_size: u64,
    cells: Vec<Line<CellInputs>>,
    members: Vec<Line<MemberInputs>>,
    summary: Summary,
}

#[derive(Serialize)]
struct RuleSetLine<'a> {
    name: &'a str,
    version: u32,
    sha256: String,
}

#[derive(Serialize)]
struct Line<I> {
    id: String,
    cell_id: String,
    inputs: I,
    score_permille: u32,
    level: Option<&'static str>,
    components: Vec<(String, u32)>,
    reasons: Vec<String>,
}

#[derive(Serialize, Default)]
struct Summary {
    members: Counts,
    cells: Counts,
}

#[derive(Serialize, Default)]
struct Counts {
    excellent: u32,
    good: u32,
    completed: u32,
    not_completed: u32,
    not_classified: u32,
}

impl Counts {
    fn add(&mut self, level: Option<&'static str>) {
        match level {
            Some("excellent") => self.excellent += 1,
            Some("good") => self.good += 1,
            Some("completed") => self.completed += 1,
            Some(_) => self.not_completed += 1,
            None => self.not_classified += 1,
        }
    }
}

#[derive(Serialize)]
struct MemberInputs {
    admitted_on: Option<String>,
    meetings_expected: u32,
    meetings_present: u32,
    meetings_unexcused: u32,
    months_active: u32,
    months_meeting_points_minimum: u32,
    points_total: u64,
    points_target: u64,
    tasks_assigned: u32,
    tasks_done_on_time: u32,
    tasks_late: u32,
    times_spoke: u32,
    commendations: u32,
    reminders: u32,
    criticisms: u32,
}

#[derive(Serialize)]
struct CellInputs {
    regular_expected: u32,
    regular_held: u32,
    thematic_expected: u32,
    thematic_held: u32,
    attendance_expected: u32,
    attendance_present: u32,
    member_months: u32,
    member_months_meeting_points_minimum: u32,
    indicator_score: Option<u32>,
    tasks_assigned: u32,
    tasks_late: u32,
    members_disciplined: u32,
}

fn member_year(m: &MemberStanding) -> MemberYear {
    MemberYear {
        member_id: m.member_id.clone(),
        cell_id: m.cell_id.clone(),
        admitted_on: m.admitted_on.as_deref().and_then(|d| Date::parse("admitted_on", d).ok()),
        meetings_expected: m.meetings_expected,
        meetings_present: m.meetings_present,
        meetings_unexcused: m.unexcused,
        months_active: m.months_active,
        months_meeting_points_minimum: m.months_active - m.months_under_minimum.len() as u32,
        points_total: m.points_year,
        points_target: u64::from(m.monthly_minimum) * u64::from(m.months_active),
        tasks_assigned: m.tasks_assigned,
        tasks_done_on_time: m.tasks_done_on_time,
        tasks_late: m.tasks_late,
        times_spoke: m.times_spoke,
        commendations: m.commendations,
        reminders: m.reminders,
        criticisms: m.criticisms,
    }
}

fn member_inputs(y: &MemberYear) -> MemberInputs {
    MemberInputs {
        admitted_on: y.admitted_on.map(|d| d.to_string()),
        meetings_expected: y.meetings_expected,
        meetings_present: y.meetings_present,
        meetings_unexcused: y.meetings_unexcused,
        months_active: y.months_active,
        months_meeting_points_minimum: y.months_meeting_points_minimum,
        points_total: y.points_total,
        points_target: y.points_target,
        tasks_assigned: y.tasks_assigned,
        tasks_done_on_time: y.tasks_done_on_time,
        tasks_late: y.tasks_late,
        times_spoke: y.times_spoke,
        commendations: y.commendations,
        reminders: y.reminders,
        criticisms: y.criticisms,
    }
}

fn cell_year(c: &CellStanding) -> CellYear {
    CellYear {
        cell_id: c.cell_id.clone(),
        regular_expected: c.cadence.regular_expected,
        regular_held: c.cadence.regular_held,
        thematic_expected: c.cadence.thematic_expected,
        thematic_held: c.cadence.thematic_held,
        attendance_expected: c.attendance_expected,
        attendance_present: c.attendance_present,
        member_months: c.member_months,
        member_months_meeting_points_minimum: c.member_months_meeting_minimum,
        indicator_score: c.programmes.iter().filter_map(|p| p.latest_score).max(),
        tasks_assigned: c.tasks_assigned,
        tasks_late: c.tasks_late,
        members_disciplined: c.members_criticised,
    }
}

fn cell_inputs(y: &CellYear) -> CellInputs {
    CellInputs {
        regular_expected: y.regular_expected,
        regular_held: y.regular_held,
        thematic_expected: y.thematic_expected,
        thematic_held: y.thematic_held,
        attendance_expected: y.attendance_expected,
        attendance_present: y.attendance_present,
        member_months: y.member_months,
        member_months_meeting_points_minimum: y.member_months_meeting_points_minimum,
        indicator_score: y.indicator_score,
        tasks_assigned: y.tasks_assigned,
        tasks_late: y.tasks_late,
        members_disciplined: y.members_disciplined,
    }
}

fn line<I>(classified: Classified, cell_id: &str, inputs: I) -> Line<I> {
    let Classified { id, score_permille, level, reasons, components } = classified;
    Line { id, cell_id: cell_id.to_owned(), inputs, score_permille, level: level.map(|l| l.id()), components, reasons }
}

/// Evaluates `org`'s `year` with the classification rule set `name`@`version`.
pub fn evaluate(
    state: &State,
    rules: &RuleBook,
    org: &Id,
    year: u16,
    name: &str,
    version: u32,
) -> Result<Evaluation, EvaluationError> {
    if state.unreadable() > 0 {
        return Err(EvaluationError::Unreadable(state.unreadable()));
    }
    let node = state.index().org(org).ok_or_else(|| EvaluationError::UnknownOrg(org.to_string()))?;
    let set =
        rules.get(name, version).ok_or_else(|| EvaluationError::UnknownRuleSet(format!("{name} version {version}")))?;
    let classification = rules
        .classification(name, version)
        .ok_or_else(|| EvaluationError::UnknownRuleSet(format!("{name} version {version}")))?;
    Date::last_of_year(year).ok_or(EvaluationError::BadYear(year))?;

    let mut cells = Vec::new();
    let mut members = Vec::new();
    let mut summary = Summary::default();
    let mut cell_years = Vec::new();
    for cell in standings::cells_below(state, org) {
        let standing =
            standings::cell(state, rules, &cell, year).map_err(|_| EvaluationError::UnknownOrg(cell.to_string()))?;
        let years: Vec<MemberYear> =
            standing.member_standings.iter().filter(|m| m.member_at_year_end).map(member_year).collect();
        for (classified, y) in classification.classify_members(year, &years).into_iter().zip(&years) {
            let l = line(classified, &standing.cell_id, member_inputs(y));
            summary.members.add(l.level);
            members.push(l);
        }
        cell_years.push(cell_year(&standing));
    }
    for (classified, y) in classification.classify_cells(year, &cell_years).into_iter().zip(&cell_years) {
        let l = line(classified, &y.cell_id, cell_inputs(y));
        summary.cells.add(l.level);
        cells.push(l);
    }
    let report = Report {
        format: "chibo-evaluation-v1",
        org_id: org.as_str(),
        org_name: &node.name,
        year,
        rule_set: RuleSetLine { name, version, sha256: hex(set.digest()) },
        log_size: state.log_size(),
        cells,
        members,
        summary,
    };
    let bytes = serde_json::to_vec(&report).expect("a report of plain values always encodes");
    let digest = digest(&bytes);
    Ok(Evaluation { report: bytes, digest, log_size: state.log_size() })
}

/// The digest of report bytes: `SHA-256(DIGEST_TAG || report)`.
pub fn digest(report: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DIGEST_TAG);
    h.update(report);
    h.finalize().into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
