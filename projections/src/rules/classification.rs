//! Year-end classification (`kind: "classification"`, e.g. `vn-qd366-2025`): a score on 100
//! points from weighted components, four levels with score thresholds and conditions, the
//! rules that force "not completed", who is not classified, and the quota on "excellent".
//!
//! Everything is integer arithmetic. A component's points are `weight × n / d` for its ratio
//! `n / d`, rounded down to a tenth of a point; the score is the sum of the components as
//! shown, so a report adds up. A ratio with nothing to measure (`d = 0`: no meeting expected,
//! no task assigned, no study minimum) counts as fully met. Percentages are compared
//! exactly (`100 · n ≥ p · d`).

use chibo_domain::event::ClassificationLevel;
use chibo_domain::Date;

use super::document::{expected_one_of, percent_tenths, tenths, Object, Parsed, Problem};

/// The points a score is out of.
const FULL_SCORE: u32 = 100;

/// The components of a member's score, in report order.
const MEMBER_COMPONENTS: &[&str] = &["attendance", "study", "tasks", "speaking", "conduct"];
/// The components of a cell's score, in report order.
const CELL_COMPONENTS: &[&str] =
    &["regular_meetings", "thematic_meetings", "attendance", "study", "programme", "tasks"];

/// A classification level, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Hoàn thành xuất sắc nhiệm vụ (HTXSNV).
    Excellent,
    /// Hoàn thành tốt nhiệm vụ (HTTNV).
    Good,
    /// Hoàn thành nhiệm vụ (HTNV).
    Completed,
    /// Không hoàn thành nhiệm vụ (KHTNV).
    NotCompleted,
}

impl Level {
    /// Every level, best first.
    pub const ALL: [Level; 4] = [Level::Excellent, Level::Good, Level::Completed, Level::NotCompleted];

    /// `excellent`, `good`, `completed` or `not-completed`, as in the rule-set files.
    pub fn id(self) -> &'static str {
        match self {
            Self::Excellent => "excellent",
            Self::Good => "good",
            Self::Completed => "completed",
            Self::NotCompleted => "not-completed",
        }
    }

    /// The Vietnamese name.
    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Excellent => "Hoàn thành xuất sắc nhiệm vụ",
            Self::Good => "Hoàn thành tốt nhiệm vụ",
            Self::Completed => "Hoàn thành nhiệm vụ",
            Self::NotCompleted => "Không hoàn thành nhiệm vụ",
        }
    }

    /// The English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Excellent => "completed duties excellently",
            Self::Good => "completed duties well",
            Self::Completed => "completed duties",
            Self::NotCompleted => "did not complete duties",
        }
    }

    /// HTXSNV, HTTNV, HTNV or KHTNV.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Self::Excellent => "HTXSNV",
            Self::Good => "HTTNV",
            Self::Completed => "HTNV",
            Self::NotCompleted => "KHTNV",
        }
    }
}

impl From<Level> for ClassificationLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Excellent => Self::Excellent,
            Level::Good => Self::Good,
            Level::Completed => Self::Completed,
            Level::NotCompleted => Self::NotCompleted,
        }
    }
}

impl From<ClassificationLevel> for Level {
    fn from(level: ClassificationLevel) -> Self {
        match level {
            ClassificationLevel::Excellent => Self::Excellent,
            ClassificationLevel::Good => Self::Good,
            ClassificationLevel::Completed => Self::Completed,
            ClassificationLevel::NotCompleted => Self::NotCompleted,
        }
    }
}

/// A member's year, as counted from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberYear {
    /// The member.
    pub member_id: String,
    /// The cell the member belongs to.
    pub cell_id: String,
    /// The day of admission; `None` when the member joined before records began.
    pub admitted_on: Option<Date>,
    /// Meetings the member was expected at.
    pub meetings_expected: u32,
    /// Meetings attended.
    pub meetings_present: u32,
    /// Meetings missed without a valid reason.
    pub meetings_unexcused: u32,
    /// Months of the year the member was in the cell.
    pub months_active: u32,
    /// Of those, months in which the member earned at least the monthly study minimum.
    pub months_meeting_points_minimum: u32,
    /// Study points earned in the year.
    pub points_total: u64,
    /// Monthly minimum × months active; 0 if there is no minimum.
    pub points_target: u64,
    /// Tasks assigned.
    pub tasks_assigned: u32,
    /// Tasks done by their due date.
    pub tasks_done_on_time: u32,
    /// Tasks done after their due date, or open past it at the end of the year.
    pub tasks_late: u32,
    /// Times the member spoke at a meeting.
    pub times_spoke: u32,
    /// Times commended (biểu dương).
    pub commendations: u32,
    /// Times reminded (nhắc nhở).
    pub reminders: u32,
    /// Times criticised (phê bình).
    pub criticisms: u32,
}

/// A cell's year, as counted from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellYear {
    /// The cell.
    pub cell_id: String,
    /// Regular meetings expected ([`Cadence::regular_expected`](super::Cadence)).
    pub regular_expected: u32,
    /// Regular meetings held, at most the required number per month.
    pub regular_held: u32,
    /// Thematic meetings expected.
    pub thematic_expected: u32,
    /// Thematic meetings held in the expected quarters, every one counted
    /// ([`Cadence::thematic_held`](super::Cadence)): holding more than expected is how a cell
    /// over-fulfils its plan.
    pub thematic_held: u32,
    /// Member-meetings expected: the sum over meetings of the members expected.
    pub attendance_expected: u32,
    /// Member-meetings attended.
    pub attendance_present: u32,
    /// Member-months in the cell.
    pub member_months: u32,
    /// Member-months meeting the study minimum (all of them when there is no minimum).
    pub member_months_meeting_points_minimum: u32,
    /// The latest programme indicator score, on 100; `None` if not in a programme.
    pub indicator_score: Option<u32>,
    /// Tasks assigned to the cell's members.
    pub tasks_assigned: u32,
    /// Of those, done late or open past due at the end of the year.
    pub tasks_late: u32,
    /// Members disciplined in the year, as the rule set's `disciplined_when` counts them.
    pub members_disciplined: u32,
}

/// The classification of one member or cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The member or cell.
    pub id: String,
    /// The score × 10, e.g. 874 for 87.4: the sum of `components`.
    pub score_permille: u32,
    /// `None`: not classified this year.
    pub level: Option<Level>,
    /// Why this level and not the one above (empty for excellent); why not classified; a
    /// demotion by the quota says so.
    pub reasons: Vec<String>,
    /// Each component's points × 10, in the rule set's component order.
    pub components: Vec<(String, u32)>,
}

/// What counts as being disciplined in the year. The catalogue has no discipline event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DisciplinedWhen {
    /// Criticised (phê bình) at least once: the closest recorded event.
    Criticised,
    /// Never: the rule set does not look at discipline.
    Never,
}

/// Conditions a level asks besides its score threshold. A level also asks the conditions of
/// every level below it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct LevelConditions {
    every_task_on_time: bool,
    tasks_late_at_most_percent: Option<u32>,
    /// Member: study points at least this percentage of the target. Cell: thematic meetings
    /// held at least this percentage of those expected.
    over_fulfilment_percent: Option<u32>,
    /// Cells only.
    no_disciplined_member: bool,
}

/// What makes a member or cell "not completed" whatever its score.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct NotCompletedWhen {
    disciplined: bool,
    /// A component under this percentage of its points is "poor".
    component_below_percent: Option<u32>,
    /// Fewer than this percentage of the components reach `target_met_at_percent`.
    targets_met_below_percent: Option<u32>,
    target_met_at_percent: u32,
}

/// The rules for members or for cells.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SubjectRules {
    /// (component, weight), weights > 0, in catalogue order, summing to 100.
    weights: Vec<(&'static str, u32)>,
    /// Cells only: the weights for a cell in no programme.
    weights_outside_programme: Option<Vec<(&'static str, u32)>>,
    /// Excellent, good, completed.
    conditions: [LevelConditions; 3],
    not_completed_when: NotCompletedWhen,
    /// Members only.
    speaking_target: u32,
    /// Members only.
    conduct_step_percent: u32,
}

/// The rules of a year-end classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationRules {
    /// Score thresholds on 100 for excellent, good, completed.
    thresholds: [u32; 3],
    quota_percent: Option<u32>,
    unclassified_within_months: Option<u32>,
    disciplined_when: DisciplinedWhen,
    member: SubjectRules,
    cell: SubjectRules,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Subject {
    Member,
    Cell,
}

fn parse_weights(
    o: &mut Object<'_>,
    key: &'static str,
    catalogue: &[&'static str],
    what: &str,
) -> Parsed<Vec<(&'static str, u32)>> {
    let mut w = o.object(key)?;
    let path = w.path().to_owned();
    let mut weights = vec![0u32; catalogue.len()];
    for (name, node) in w.entries() {
        let Some(index) = catalogue.iter().position(|c| *c == name) else {
            return Err(node.problem(format!(
                "is not a component of {what}; expected {}",
                expected_one_of(catalogue.iter().copied())
            )));
        };
        let weight = node.u32()?;
        if weight > FULL_SCORE {
            return Err(node.problem(format!("is {weight}; a weight is at most {FULL_SCORE}")));
        }
        weights[index] = weight;
    }
    w.finish()?;
    let sum: u32 = weights.iter().sum();
    if sum != FULL_SCORE {
        return Err(Problem::new(path, format!("the weights sum to {sum}; they must sum to {FULL_SCORE}")));
    }
    Ok(catalogue.iter().copied().zip(weights).filter(|(_, w)| *w > 0).collect())
}

fn parse_conditions(o: &mut Object<'_>, key: &'static str, subject: Subject) -> Parsed<LevelConditions> {
    let Some(mut c) = o.optional_object(key)? else { return Ok(LevelConditions::default()) };
    let every_task_on_time = c.bool_or("every_task_on_time", false)?;
    let tasks_late_at_most_percent = c.optional_u32("tasks_late_at_most_percent")?;
    if tasks_late_at_most_percent.is_some_and(|p| p > 100) {
        return Err(Problem::new(c.field("tasks_late_at_most_percent"), "is above 100"));
    }
    let over_fulfilment_percent = c.optional_u32("over_fulfilment_percent")?;
    if let Some(p) = over_fulfilment_percent {
        if !(100..=1000).contains(&p) {
            return Err(Problem::new(
                c.field("over_fulfilment_percent"),
                format!("is {p}; expected 100 (the target itself) to 1000"),
            ));
        }
    }
    let no_disciplined_member =
        if subject == Subject::Cell { c.bool_or("no_disciplined_member", false)? } else { false };
    c.finish()?;
    Ok(LevelConditions {
        every_task_on_time,
        tasks_late_at_most_percent,
        over_fulfilment_percent,
        no_disciplined_member,
    })
}

fn parse_not_completed(o: &mut Object<'_>) -> Parsed<NotCompletedWhen> {
    let Some(mut n) = o.optional_object("not_completed_when")? else { return Ok(NotCompletedWhen::default()) };
    let disciplined = n.bool_or("disciplined", false)?;
    let component_below_percent = n.optional_u32("component_below_percent")?;
    let targets_met_below_percent = n.optional_u32("targets_met_below_percent")?;
    let target_met_at_percent = n.optional_u32("target_met_at_percent")?;
    for (key, value) in [
        ("component_below_percent", component_below_percent),
        ("targets_met_below_percent", targets_met_below_percent),
        ("target_met_at_percent", target_met_at_percent),
    ] {
        if value.is_some_and(|p| p > 100) {
            return Err(Problem::new(n.field(key), "is above 100"));
        }
    }
    let target_met_at_percent = match (targets_met_below_percent, target_met_at_percent) {
        (Some(_), None) => {
            return Err(Problem::new(
                n.field("target_met_at_percent"),
                "is missing; targets_met_below_percent needs to know when a target is met",
            ))
        }
        (None, Some(_)) => {
            return Err(Problem::new(n.field("target_met_at_percent"), "is set without targets_met_below_percent"))
        }
        (_, value) => value.unwrap_or(100),
    };
    n.finish()?;
    Ok(NotCompletedWhen { disciplined, component_below_percent, targets_met_below_percent, target_met_at_percent })
}

fn parse_subject(top: &mut Object<'_>, key: &'static str, subject: Subject) -> Parsed<SubjectRules> {
    let mut o = top.object(key)?;
    let (catalogue, what) = match subject {
        Subject::Member => (MEMBER_COMPONENTS, "a member's score"),
        Subject::Cell => (CELL_COMPONENTS, "a cell's score"),
    };
    let weights = parse_weights(&mut o, "weights", catalogue, what)?;
    let mut weights_outside_programme = None;
    let (mut speaking_target, mut conduct_step_percent) = (0, 0);
    match subject {
        Subject::Cell => {
            let uses_programme = weights.iter().any(|(c, _)| *c == "programme");
            if uses_programme {
                let outside = parse_weights(&mut o, "weights_outside_programme", catalogue, what)?;
                if outside.iter().any(|(c, _)| *c == "programme") {
                    return Err(Problem::new(
                        o.field("weights_outside_programme.programme"),
                        "must be 0: these weights are for a cell in no programme",
                    ));
                }
                weights_outside_programme = Some(outside);
            } else if o.optional("weights_outside_programme").is_some() {
                return Err(Problem::new(
                    o.field("weights_outside_programme"),
                    "is set, but weights.programme is 0, so the same weights serve every cell",
                ));
            }
        }
        Subject::Member => {
            speaking_target = o.u32("speaking_target")?;
            conduct_step_percent = o.u32("conduct_step_percent")?;
            if conduct_step_percent > 100 {
                return Err(Problem::new(o.field("conduct_step_percent"), "is above 100"));
            }
        }
    }
    let conditions = [
        parse_conditions(&mut o, "excellent", subject)?,
        parse_conditions(&mut o, "good", subject)?,
        parse_conditions(&mut o, "completed", subject)?,
    ];
    let not_completed_when = parse_not_completed(&mut o)?;
    o.finish()?;
    Ok(SubjectRules {
        weights,
        weights_outside_programme,
        conditions,
        not_completed_when,
        speaking_target,
        conduct_step_percent,
    })
}

/// What one member or cell brings to classification, in the terms the rules use.
struct Facts {
    id: String,
    /// (component, weight, n, d).
    ratios: Vec<(&'static str, u32, u64, u64)>,
    /// Why the subject is not classified, if it is not.
    unclassified: Option<String>,
    tasks_assigned: u32,
    tasks_late: u32,
    /// (achieved, target, what) for over-fulfilment.
    over: (u64, u64, &'static str),
    /// Times the member was disciplined, or members of the cell disciplined.
    disciplined: u32,
}

fn with_ratio(component: &'static str, weight: u32, (n, d): (u64, u64)) -> (&'static str, u32, u64, u64) {
    (component, weight, n, d)
}

/// `n / d` reaches `percent`; nothing to measure reaches everything.
fn reaches(n: u64, d: u64, percent: u32) -> bool {
    d == 0 || u128::from(n) * 100 >= u128::from(percent) * u128::from(d)
}

impl ClassificationRules {
    pub(super) fn parse(top: &mut Object<'_>) -> Parsed<Self> {
        let mut levels = top.object("levels")?;
        let mut thresholds = [0u32; 3];
        let keys = ["excellent", "good", "completed"];
        for (i, key) in keys.into_iter().enumerate() {
            let value = levels.u32(key)?;
            if value > FULL_SCORE {
                return Err(Problem::new(levels.field(key), format!("is {value}; a score is at most {FULL_SCORE}")));
            }
            if i > 0 && value >= thresholds[i - 1] {
                return Err(Problem::new(
                    levels.field(key),
                    format!("is {value}; must be below levels.{} ({})", keys[i - 1], thresholds[i - 1]),
                ));
            }
            thresholds[i] = value;
        }
        levels.finish()?;

        let quota_percent = match top.optional_object("quota")? {
            None => None,
            Some(mut q) => {
                let p = q.u32("excellent_percent_of_good")?;
                if p > 100 {
                    return Err(Problem::new(q.field("excellent_percent_of_good"), format!("is {p}; at most 100")));
                }
                q.finish()?;
                Some(p)
            }
        };
        let unclassified_within_months = top.optional_u32("unclassified_admitted_within_months")?;
        if let Some(m) = unclassified_within_months {
            if !(1..=12).contains(&m) {
                return Err(Problem::new(
                    top.field("unclassified_admitted_within_months"),
                    format!("is {m}; expected 1 to 12 months"),
                ));
            }
        }
        let disciplined_when = match top.choice("disciplined_when", &["criticised", "never"])? {
            "criticised" => DisciplinedWhen::Criticised,
            _ => DisciplinedWhen::Never,
        };
        let member = parse_subject(top, "member", Subject::Member)?;
        let cell = parse_subject(top, "cell", Subject::Cell)?;
        Ok(Self { thresholds, quota_percent, unclassified_within_months, disciplined_when, member, cell })
    }

    /// The least score (on 100) for `level`; 0 for not completed.
    pub fn threshold(&self, level: Level) -> u32 {
        match level {
            Level::Excellent => self.thresholds[0],
            Level::Good => self.thresholds[1],
            Level::Completed => self.thresholds[2],
            Level::NotCompleted => 0,
        }
    }

    /// The most rated excellent, as a percentage of those rated good; `None` for no quota.
    pub fn quota_percent(&self) -> Option<u32> {
        self.quota_percent
    }

    /// Members admitted within this many months of the end of the year are not classified;
    /// `None` when every member is.
    pub fn unclassified_admitted_within_months(&self) -> Option<u32> {
        self.unclassified_within_months
    }

    /// Classifies the members of one cell for `year`, in the order given. The quota, if any,
    /// applies over the whole slice.
    pub fn classify_members(&self, year: u16, members: &[MemberYear]) -> Vec<Classified> {
        let facts = members.iter().map(|m| self.member_facts(year, m)).collect();
        self.classify(&self.member, facts)
    }

    /// Classifies cells for `year`, in the order given. The quota, if any, applies over the
    /// whole slice. (No cell rule depends on the year itself; it is taken for symmetry with
    /// members and for rules to come.)
    pub fn classify_cells(&self, _year: u16, cells: &[CellYear]) -> Vec<Classified> {
        let facts = cells.iter().map(|c| self.cell_facts(c)).collect();
        self.classify(&self.cell, facts)
    }

    fn disciplined(&self, count: u32) -> u32 {
        match self.disciplined_when {
            DisciplinedWhen::Criticised => count,
            DisciplinedWhen::Never => 0,
        }
    }

    fn member_facts(&self, year: u16, m: &MemberYear) -> Facts {
        let rules = &self.member;
        let speaking_d = u64::from(rules.speaking_target.min(m.meetings_expected));
        let reminded = u64::from(rules.conduct_step_percent).saturating_mul(u64::from(m.reminders)).min(100);
        let study = if m.points_target == 0 {
            (0, 0)
        } else {
            (u64::from(m.months_meeting_points_minimum.min(m.months_active)), u64::from(m.months_active))
        };
        let ratio = |component: &str| -> (u64, u64) {
            match component {
                "attendance" => {
                    (u64::from(m.meetings_present.min(m.meetings_expected)), u64::from(m.meetings_expected))
                }
                "study" => study,
                "tasks" => (u64::from(m.tasks_assigned.saturating_sub(m.tasks_late)), u64::from(m.tasks_assigned)),
                "speaking" => (u64::from(m.times_spoke).min(speaking_d), speaking_d),
                _ => (100 - reminded, 100),
            }
        };
        let unclassified = self.unclassified_within_months.and_then(|months| {
            let admitted = m.admitted_on?;
            // Admitted on the first day of month 13 − months, the member has `months` whole
            // calendar months in the cell by the end of the year (1 July for 6: July to
            // December); any later day is fewer.
            let cutoff = (year, 13 - months as u8, 1u8);
            ((admitted.year(), admitted.month(), admitted.day()) > cutoff).then(|| {
                format!("admitted {admitted}, less than {months} months before the end of {year}: not classified")
            })
        });
        Facts {
            id: m.member_id.clone(),
            ratios: rules.weights.iter().map(|&(c, w)| with_ratio(c, w, ratio(c))).collect(),
            unclassified,
            tasks_assigned: m.tasks_assigned,
            tasks_late: m.tasks_late,
            over: (m.points_total, m.points_target, "study points"),
            disciplined: self.disciplined(m.criticisms),
        }
    }

    fn cell_facts(&self, c: &CellYear) -> Facts {
        let rules = &self.cell;
        let weights = match (c.indicator_score, &rules.weights_outside_programme) {
            (None, Some(outside)) => outside,
            _ => &rules.weights,
        };
        let ratio = |component: &str| -> (u64, u64) {
            let capped = |n: u32, d: u32| (u64::from(n.min(d)), u64::from(d));
            match component {
                "regular_meetings" => capped(c.regular_held, c.regular_expected),
                "thematic_meetings" => capped(c.thematic_held, c.thematic_expected),
                "attendance" => capped(c.attendance_present, c.attendance_expected),
                "study" => capped(c.member_months_meeting_points_minimum, c.member_months),
                "programme" => (u64::from(c.indicator_score.unwrap_or(0).min(FULL_SCORE)), u64::from(FULL_SCORE)),
                _ => (u64::from(c.tasks_assigned.saturating_sub(c.tasks_late)), u64::from(c.tasks_assigned)),
            }
        };
        Facts {
            id: c.cell_id.clone(),
            ratios: weights.iter().map(|&(c, w)| with_ratio(c, w, ratio(c))).collect(),
            unclassified: None,
            tasks_assigned: c.tasks_assigned,
            tasks_late: c.tasks_late,
            over: (c.thematic_held.into(), c.thematic_expected.into(), "thematic meetings held"),
            disciplined: self.disciplined(c.members_disciplined),
        }
    }

    /// Why `f` with `score` (permille) does not reach `level`: its threshold and the
    /// conditions of it and every level below it.
    fn failures(&self, rules: &SubjectRules, level: usize, score: u32, f: &Facts) -> Vec<String> {
        let name = Level::ALL[level].id();
        let mut out = Vec::new();
        let threshold = self.thresholds[level];
        if score < threshold * 10 {
            out.push(format!("score {} is below {threshold}, the least for {name}", tenths(score.into())));
        }
        let conditions = &rules.conditions[level..];
        if conditions.iter().any(|c| c.every_task_on_time) && f.tasks_late > 0 {
            out.push(format!("{} task(s) late; {name} needs every task on time", f.tasks_late));
        }
        if let Some(p) = conditions.iter().filter_map(|c| c.tasks_late_at_most_percent).min() {
            let (late, all) = (u64::from(f.tasks_late), u64::from(f.tasks_assigned));
            if all > 0 && late * 100 > u64::from(p) * all {
                out.push(format!(
                    "{late} of {all} tasks late ({} %); {name} allows at most {p} %",
                    tenths(percent_tenths(late, all))
                ));
            }
        }
        if let Some(p) = conditions.iter().filter_map(|c| c.over_fulfilment_percent).max() {
            let (have, target, what) = f.over;
            if target == 0 {
                out.push(format!("no target for {what} to over-fulfil; {name} needs {p} % of one"));
            } else if !reaches(have, target, p) {
                out.push(format!(
                    "{what} {have} are {} % of the target {target}; {name} needs {p} %",
                    tenths(percent_tenths(have, target))
                ));
            }
        }
        if conditions.iter().any(|c| c.no_disciplined_member) && f.disciplined > 0 {
            out.push(format!("{} member(s) disciplined (criticised) this year; {name} needs none", f.disciplined));
        }
        out
    }

    /// What forces "not completed" whatever the score.
    fn not_completed_triggers(&self, rules: &SubjectRules, f: &Facts) -> Vec<String> {
        let when = &rules.not_completed_when;
        let mut out = Vec::new();
        if when.disciplined && f.disciplined > 0 {
            out.push(format!("disciplined this year (criticised {} time(s))", f.disciplined));
        }
        if let Some(p) = when.component_below_percent {
            for &(component, _, n, d) in &f.ratios {
                if !reaches(n, d, p) {
                    out.push(format!("{component} at {} % is poor (below {p} %)", tenths(percent_tenths(n, d))));
                }
            }
        }
        if let Some(p) = when.targets_met_below_percent {
            let all = f.ratios.len() as u64;
            let met = f.ratios.iter().filter(|&&(_, _, n, d)| reaches(n, d, when.target_met_at_percent)).count() as u64;
            if met * 100 < u64::from(p) * all {
                out.push(format!(
                    "{met} of {all} targets met (at {} % or more); under {p} %",
                    when.target_met_at_percent
                ));
            }
        }
        out
    }

    fn classify(&self, rules: &SubjectRules, facts: Vec<Facts>) -> Vec<Classified> {
        let mut out: Vec<Classified> = facts
            .iter()
            .map(|f| {
                let components: Vec<(String, u32)> = f
                    .ratios
                    .iter()
                    .map(|&(c, w, n, d)| {
                        let full = u128::from(w) * 10;
                        // Nothing to measure (d = 0) is fully met.
                        let points = (full * u128::from(n)).checked_div(u128::from(d)).unwrap_or(full);
                        (c.to_owned(), points as u32)
                    })
                    .collect();
                let score: u32 = components.iter().map(|(_, p)| p).sum();
                let (level, reasons) = match &f.unclassified {
                    Some(why) => (None, vec![why.clone()]),
                    None => {
                        let (level, mut reasons) = self.level(rules, score, f);
                        let triggers = self.not_completed_triggers(rules, f);
                        if triggers.is_empty() {
                            (Some(level), reasons)
                        } else if level == Level::NotCompleted {
                            reasons.extend(triggers);
                            (Some(level), reasons)
                        } else {
                            (Some(Level::NotCompleted), triggers)
                        }
                    }
                };
                Classified { id: f.id.clone(), score_permille: score, level, reasons, components }
            })
            .collect();
        if let Some(percent) = self.quota_percent {
            apply_quota(&mut out, percent);
        }
        out
    }

    /// The best level whose threshold and conditions hold, with why the one above does not.
    fn level(&self, rules: &SubjectRules, score: u32, f: &Facts) -> (Level, Vec<String>) {
        let mut above = Vec::new();
        for (i, level) in Level::ALL[..3].iter().enumerate() {
            let failures = self.failures(rules, i, score, f);
            if failures.is_empty() {
                return (*level, above);
            }
            above = failures;
        }
        (Level::NotCompleted, above)
    }
}

/// Keeps at most `percent` % as many excellent as good, counted after demotion: with E
/// candidates and G rated good, k is the largest k ≤ E with 100·k ≤ percent·(G + E − k). The
/// highest scores are kept, ties going to the lower id; the others become good.
fn apply_quota(out: &mut [Classified], percent: u32) {
    let mut candidates: Vec<usize> = (0..out.len()).filter(|&i| out[i].level == Some(Level::Excellent)).collect();
    let good = out.iter().filter(|c| c.level == Some(Level::Good)).count() as u64;
    let e = candidates.len() as u64;
    let k = (0..=e).rev().find(|&k| 100 * k <= u64::from(percent) * (good + e - k)).unwrap_or(0);
    candidates
        .sort_by(|&a, &b| out[b].score_permille.cmp(&out[a].score_permille).then_with(|| out[a].id.cmp(&out[b].id)));
    for &i in &candidates[k as usize..] {
        out[i].level = Some(Level::Good);
        out[i].reasons = vec![format!(
            "demoted by the quota: at most {percent} % as many rated excellent as rated good; \
             {k} of {e} excellent candidates kept (the highest scores), {} rated good",
            good + e - k
        )];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleBook;

    fn qd124() -> ClassificationRules {
        RuleBook::defaults().classification("vn-qd124-2023", 1).unwrap().clone()
    }

    fn qd366() -> ClassificationRules {
        RuleBook::defaults().classification("vn-qd366-2025", 1).unwrap().clone()
    }

    fn date(s: &str) -> Date {
        Date::parse("date", s).unwrap()
    }

    /// A member with full marks on every component: 12 of 12 meetings, study minimum met
    /// every month (240 points of 240), 5 of 5 tasks on time, spoke 6 times, no reminder.
    fn perfect(id: &str) -> MemberYear {
        MemberYear {
            member_id: id.into(),
            cell_id: "chi-bo-3".into(),
            admitted_on: None,
            meetings_expected: 12,
            meetings_present: 12,
            meetings_unexcused: 0,
            months_active: 12,
            months_meeting_points_minimum: 12,
            points_total: 240,
            points_target: 240,
            tasks_assigned: 5,
            tasks_done_on_time: 5,
            tasks_late: 0,
            times_spoke: 6,
            commendations: 1,
            reminders: 0,
            criticisms: 0,
        }
    }

    /// A member rated good under both shipped rule sets (weights attendance 30, study 20,
    /// tasks 30, speaking 10, conduct 10): the study minimum met in 6 of 12 months gives
    /// 20 × 6/12 = 10.0 of study's 20, one reminder takes 25 % of conduct's 10 (7.5 left):
    /// 30 + 10 + 30 + 10 + 7.5 = 87.5.
    fn good_member(id: &str) -> MemberYear {
        MemberYear { months_meeting_points_minimum: 6, reminders: 1, ..perfect(id) }
    }

    #[test]
    fn levels_and_their_names() {
        assert_eq!(Level::ALL.map(Level::id), ["excellent", "good", "completed", "not-completed"]);
        assert_eq!(Level::ALL.map(Level::abbreviation), ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]);
        assert_eq!(Level::Good.name_vi(), "Hoàn thành tốt nhiệm vụ");
        for level in Level::ALL {
            assert_eq!(Level::from(ClassificationLevel::from(level)), level);
        }
        assert_eq!(ClassificationLevel::from(Level::NotCompleted), ClassificationLevel::NotCompleted);
        let r = qd366();
        assert_eq!(Level::ALL.map(|l| r.threshold(l)), [90, 70, 50, 0]);
        assert_eq!((r.quota_percent(), qd124().quota_percent()), (None, Some(20)));
    }

    #[test]
    fn member_components_add_up_to_the_score() {
        let r = qd124();
        let out = r.classify_members(2025, &[perfect("a"), good_member("b")]);
        assert_eq!(out[0].score_permille, 1000);
        assert_eq!(
            out[1].components,
            vec![
                ("attendance".to_owned(), 300),
                ("study".to_owned(), 100),
                ("tasks".to_owned(), 300),
                ("speaking".to_owned(), 100),
                ("conduct".to_owned(), 75),
            ]
        );
        assert_eq!(out[1].score_permille, 875);
        assert_eq!(out[1].level, Some(Level::Good));
        assert_eq!(out[1].reasons, vec!["score 87.5 is below 90, the least for excellent"]);
    }

    #[test]
    fn qd124_quota_counts_good_after_demotion() {
        let r = qd124();
        // 10 members: 6 excellent candidates (e1..e6, all 100.0) and 4 rated good (87.5).
        // k = the largest k ≤ 6 with 100·k ≤ 20·(4 + 6 − k): k = 2 fails (200 > 160), k = 1
        // holds (100 ≤ 180). The scores tie, so the lowest id, e1, stays excellent; the other
        // five become good (9 rated good in all).
        let mut members: Vec<MemberYear> = ["e4", "e2", "e6", "e1", "e5", "e3"].iter().map(|id| perfect(id)).collect();
        members.extend(["g1", "g2", "g3", "g4"].iter().map(|id| good_member(id)));
        let out = r.classify_members(2025, &members);
        let levels: Vec<(&str, Option<Level>)> = out.iter().map(|c| (c.id.as_str(), c.level)).collect();
        assert_eq!(
            levels,
            vec![
                ("e4", Some(Level::Good)),
                ("e2", Some(Level::Good)),
                ("e6", Some(Level::Good)),
                ("e1", Some(Level::Excellent)),
                ("e5", Some(Level::Good)),
                ("e3", Some(Level::Good)),
                ("g1", Some(Level::Good)),
                ("g2", Some(Level::Good)),
                ("g3", Some(Level::Good)),
                ("g4", Some(Level::Good)),
            ]
        );
        assert_eq!(
            out[0].reasons,
            vec![
                "demoted by the quota: at most 20 % as many rated excellent as rated good; \
                 1 of 6 excellent candidates kept (the highest scores), 9 rated good"
            ]
        );
        assert!(out[3].reasons.is_empty());
    }

    #[test]
    fn qd124_quota_keeps_the_highest_scores_at_the_20_percent_cut_off() {
        let r = qd124();
        // 2 candidates, 9 good: k = 2 fails (200 > 20·9 = 180), k = 1 holds (100 ≤ 20·10).
        // The higher score is kept: "z" at 100.0 beats "a" at 97.5 (1 reminder: conduct 7.5
        // of 10), whatever the ids.
        let mut members = vec![MemberYear { reminders: 1, ..perfect("a") }, perfect("z")];
        members.extend((0..9).map(|i| good_member(&format!("g{i}"))));
        let out = r.classify_members(2025, &members);
        assert_eq!((out[0].score_permille, out[0].level), (975, Some(Level::Good)));
        assert_eq!((out[1].score_permille, out[1].level), (1000, Some(Level::Excellent)));
        // Exactly at the quota: 1 candidate, 5 good → 100·1 ≤ 20·5 = 100: kept.
        let mut members = vec![perfect("x")];
        members.extend((0..5).map(|i| good_member(&format!("g{i}"))));
        assert_eq!(r.classify_members(2025, &members)[0].level, Some(Level::Excellent));
        // 1 candidate, 4 good → k = 1 fails (100 > 20·4 = 80), k = 0: demoted.
        let out = r.classify_members(2025, &members[..5]);
        assert_eq!(out[0].level, Some(Level::Good));
        // A lone member cannot be excellent under a quota relative to "good".
        assert_eq!(r.classify_members(2025, &[perfect("x")])[0].level, Some(Level::Good));
    }

    #[test]
    fn qd124_does_not_classify_members_admitted_in_the_last_six_months() {
        let r = qd124();
        // Admitted 1 July 2025: July to December are six whole months → classified.
        // Admitted 2 July 2025: less than six months → not classified.
        let july1 = MemberYear { admitted_on: Some(date("2025-07-01")), ..good_member("a") };
        let july2 = MemberYear { admitted_on: Some(date("2025-07-02")), ..good_member("b") };
        let earlier = MemberYear { admitted_on: Some(date("2024-12-31")), ..good_member("c") };
        let out = r.classify_members(2025, &[july1, july2, earlier]);
        assert_eq!(out[0].level, Some(Level::Good));
        assert_eq!(out[1].level, None);
        assert_eq!(
            out[1].reasons,
            vec!["admitted 2025-07-02, less than 6 months before the end of 2025: not classified"]
        );
        assert_eq!(out[1].score_permille, 875, "the score is still reported");
        assert_eq!(out[2].level, Some(Level::Good));
        // qd366 names no such rule: the same member is classified.
        let late = MemberYear { admitted_on: Some(date("2025-12-01")), ..good_member("d") };
        assert_eq!(qd366().classify_members(2025, &[late])[0].level, Some(Level::Good));
    }

    #[test]
    fn qd124_not_completed_when_poor_disciplined_or_most_targets_missed() {
        let r = qd124();
        // Criticised once: disciplined → not completed whatever the score (100.0).
        let criticised = MemberYear { criticisms: 1, ..perfect("a") };
        // Attended 5 of 12 meetings: attendance 30 × 5/12 = 12.5 points, total 82.5 (good by
        // score), but 41.6 % is poor (< 50 %): not completed.
        let absent = MemberYear { meetings_present: 5, ..perfect("b") };
        // Targets (met at 90 %): attendance 10/12 = 83.3 % no, study 8/12 no, tasks 4/5 = 80 %
        // no, speaking 4/4 yes, conduct yes → 2 of 5 = 40 % < 50 %: not completed, though no
        // component is below 50 %. Score (permille): 250 + 133 (20 × 8/12 = 13.33, rounded
        // down) + 240 + 100 + 100 = 823.
        let slack =
            MemberYear { meetings_present: 10, months_meeting_points_minimum: 8, tasks_late: 1, ..perfect("c") };
        let out = r.classify_members(2025, &[criticised, absent, slack]);
        assert_eq!(out[0].level, Some(Level::NotCompleted));
        assert_eq!(out[0].reasons, vec!["disciplined this year (criticised 1 time(s))"]);
        assert_eq!((out[1].score_permille, out[1].level), (825, Some(Level::NotCompleted)));
        assert_eq!(out[1].reasons, vec!["attendance at 41.6 % is poor (below 50 %)"]);
        assert_eq!((out[2].score_permille, out[2].level), (823, Some(Level::NotCompleted)));
        assert_eq!(out[2].reasons, vec!["2 of 5 targets met (at 90 % or more); under 50 %"]);
    }

    #[test]
    fn qd366_member_excellence_needs_tasks_on_time_and_130_percent_of_the_study_target() {
        let r = qd366();
        // 100.0, every task on time, 312 of 240 points = 130.0 %: excellent.
        let star = MemberYear { points_total: 312, ..perfect("a") };
        // Same, 311 points = 129.5 %: good, and says why.
        let near = MemberYear { points_total: 311, ..perfect("b") };
        // 98.0 (1 late task of 5: tasks 4/5 × 30 = 24.0) with 400 points: a late task rules
        // out excellent and good → completed.
        let late = MemberYear { points_total: 400, tasks_late: 1, ..perfect("c") };
        // No study minimum (target 0): over-fulfilment cannot be shown → good.
        let no_target = MemberYear { points_target: 0, points_total: 0, ..perfect("d") };
        // Attendance 0/12 (0), study 6/12 (10.0), tasks 5/5 (30.0), never spoke (0), two
        // reminders (conduct 5.0): 45.0 < 50 → not completed.
        let weak = MemberYear {
            meetings_present: 0,
            months_meeting_points_minimum: 6,
            times_spoke: 0,
            reminders: 2,
            ..perfect("e")
        };
        let out = r.classify_members(2025, &[star, near, late, no_target, weak]);
        let got: Vec<(u32, Option<Level>)> = out.iter().map(|c| (c.score_permille, c.level)).collect();
        assert_eq!(
            got,
            vec![
                (1000, Some(Level::Excellent)),
                (1000, Some(Level::Good)),
                (940, Some(Level::Completed)),
                (1000, Some(Level::Good)),
                (450, Some(Level::NotCompleted)),
            ]
        );
        assert_eq!(out[1].reasons, vec!["study points 311 are 129.5 % of the target 240; excellent needs 130 %"]);
        assert_eq!(out[2].reasons, vec!["1 task(s) late; good needs every task on time"]);
        assert_eq!(out[3].reasons, vec!["no target for study points to over-fulfil; excellent needs 130 % of one"]);
        assert_eq!(out[4].reasons, vec!["score 45.0 is below 50, the least for completed"]);
    }

    fn cell(id: &str) -> CellYear {
        // Every meeting held and attended, study minimum met in every member-month, no task
        // late, programme score 95, 6 thematic meetings for 4 expected.
        CellYear {
            cell_id: id.into(),
            regular_expected: 12,
            regular_held: 12,
            thematic_expected: 4,
            thematic_held: 4,
            attendance_expected: 240,
            attendance_present: 240,
            member_months: 240,
            member_months_meeting_points_minimum: 240,
            indicator_score: Some(95),
            tasks_assigned: 20,
            tasks_late: 0,
            members_disciplined: 0,
        }
    }

    #[test]
    fn qd366_cells() {
        let r = qd366();
        // Weights in a programme: regular 20, thematic 10, attendance 15, study 15, programme
        // 20, tasks 20. Programme 95/100 × 20 = 19.0 → 990. Thematic 6 held of 4 expected
        // = 150 % ≥ 130 %: excellent.
        let star = CellYear { thematic_held: 6, ..cell("a") };
        // 5 of 4 = 125 %: not over-fulfilled → good.
        let five = CellYear { thematic_held: 5, ..cell("b") };
        // A disciplined member rules out excellent for the collective.
        let disciplined = CellYear { members_disciplined: 1, ..star.clone() };
        // 4 of 20 tasks late = 20 %: at most completed (not every task on time) but allowed
        // (≤ 20 %). Tasks 16/20 × 20 = 16.0 → 950.
        let some_late = CellYear { tasks_late: 4, ..star.clone() };
        // 5 of 20 = 25 % late: not completed, though the score is 94.0.
        let many_late = CellYear { tasks_late: 5, ..star.clone() };
        // Outside any programme the other weights apply: regular 25, thematic 15,
        // attendance 20, study 15, tasks 25; 11 of 12 regular meetings → 25 × 11/12 = 22.9
        // (rounded down) → 229 + 150 + 200 + 150 + 250 = 979.
        let outside = CellYear { indicator_score: None, regular_held: 11, ..star.clone() };
        let out = r.classify_cells(2025, &[star, five, disciplined, some_late, many_late, outside]);
        let got: Vec<(u32, Option<Level>)> = out.iter().map(|c| (c.score_permille, c.level)).collect();
        assert_eq!(
            got,
            vec![
                (990, Some(Level::Excellent)),
                (990, Some(Level::Good)),
                (990, Some(Level::Good)),
                (950, Some(Level::Completed)),
                (940, Some(Level::NotCompleted)),
                (979, Some(Level::Excellent)),
            ]
        );
        assert_eq!(out[1].reasons, vec!["thematic meetings held 5 are 125.0 % of the target 4; excellent needs 130 %"]);
        assert_eq!(out[2].reasons, vec!["1 member(s) disciplined (criticised) this year; excellent needs none"]);
        assert_eq!(out[3].reasons, vec!["4 task(s) late; good needs every task on time"]);
        assert_eq!(out[4].reasons, vec!["5 of 20 tasks late (25.0 %); completed allows at most 20 %"]);
        assert_eq!(
            out[5].components.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
            ["regular_meetings", "thematic_meetings", "attendance", "study", "tasks"]
        );
    }

    #[test]
    fn qd124_cells_share_the_quota() {
        let r = qd124();
        // 3 excellent candidates (100.0) and 7 good: 6 of 12 regular meetings (20 × 6/12 =
        // 10.0 of 20) and programme score 75 (15.0 of 20) → 85.0.
        let best = CellYear { indicator_score: Some(100), thematic_held: 4, ..cell("x") };
        let good = CellYear { regular_held: 6, indicator_score: Some(75), ..cell("g") };
        let mut cells = vec![
            CellYear { cell_id: "c3".into(), ..best.clone() },
            CellYear { cell_id: "c1".into(), ..best.clone() },
            CellYear { cell_id: "c2".into(), ..best.clone() },
        ];
        cells.extend((0..7).map(|i| CellYear { cell_id: format!("g{i}"), ..good.clone() }));
        let out = r.classify_cells(2025, &cells);
        assert_eq!(out[3].score_permille, 850);
        assert_eq!(out[3].level, Some(Level::Good));
        // E = 3, G = 7: k = 1 (100 ≤ 20·9 = 180; 200 > 20·8 = 160). All three score 100.0:
        // the lowest id, c1, is kept.
        let levels: Vec<_> = out[..3].iter().map(|c| (c.id.as_str(), c.level)).collect();
        assert_eq!(levels, vec![("c3", Some(Level::Good)), ("c1", Some(Level::Excellent)), ("c2", Some(Level::Good))]);
    }
}
