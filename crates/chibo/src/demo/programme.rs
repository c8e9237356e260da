//! The year's model-cell programmes: the bloc's "chi bộ kiểu mẫu" and Quỳnh Phụ's "5 contents",
//! launched from the shipped rule sets; which cells register and are selected, how their
//! monthly self-assessment moves through the year, and how inspection and certification end.

use anyhow::Context;
use chibo_domain::{
    event::{InspectionConclusion, ProgrammeLaunchedFields},
    Id,
};
use chibo_projections::rules::RuleBook;
use rand::{rngs::StdRng, Rng};

use super::{calendar::Day, tree};

/// A programme a committee runs for the year.
#[derive(Debug, Clone)]
pub struct Programme {
    /// The committee that launched it.
    pub committee: usize,
    pub launched: ProgrammeLaunchedFields,
    pub launched_on: Day,
    /// The suffix of the committee's decision numbers: `QĐ/ĐUK` for the bloc, `QĐ/HU` for a
    /// district.
    pub decisions: &'static str,
    /// For each criterion of the framework, in order: the least points on its indicators that
    /// meet it, for a hard criterion.
    pub pass_points: Vec<Option<u32>>,
}

impl Programme {
    pub fn threshold(&self) -> u32 {
        self.launched.certification_threshold
    }

    pub fn best_total(&self) -> u32 {
        self.launched.framework.total_max_points() as u32
    }
}

/// How a registered cell's self-assessed total moves through the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Course {
    /// From well below the threshold to above it (Chi bộ 3: from 76 to over 90).
    Rising,
    /// At or above the threshold all year.
    Steady,
    /// Below the threshold all year.
    Middling,
}

/// One cell's part in a programme.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub programme: usize,
    pub cell: usize,
    pub registered_on: Day,
    /// The self-assessed total of each month, January first.
    pub totals: [u32; 12],
    pub selected_on: Option<Day>,
    pub inspection: Option<Inspection>,
    pub certified_on: Option<Day>,
}

#[derive(Debug, Clone)]
pub struct Inspection {
    pub day: Day,
    /// Each criterion of the framework and whether the cell met it.
    pub checks: Vec<(Id, bool)>,
    pub conclusion: InspectionConclusion,
}

impl Inspection {
    pub fn hard_failed(&self, programme: &Programme) -> bool {
        programme.launched.framework.criteria.iter().zip(&self.checks).any(|(c, (_, met))| c.hard && !met)
    }
}

/// The launched programmes whose committee is in the tree: (rule set, launching committee,
/// name, decision suffix).
const PROGRAMMES: &[(&str, &str, &str, &str)] = &[
    ("thaibinh-kieumau", tree::BLOC, "Xây dựng chi bộ kiểu mẫu", "QĐ/ĐUK"),
    ("quynhphu-5-contents", tree::QUYNH_PHU, "Xây dựng chi bộ kiểu mẫu theo 5 nội dung", "QĐ/HU"),
];

/// The cells the seed articles name, which always take part and succeed, so that even a
/// small province shows a certification: Chi bộ 3 of the Children's Hospital rises from 76
/// to over 90 (seed 001), thôn A Sào is one of Quỳnh Phụ's selected cells.
const SHOWCASE: &[(&str, Course)] = &[("bv-nhi-chi-bo-3", Course::Rising), ("an-thai-a-sao", Course::Steady)];

/// The programmes, launched in early December of the year before, from the default rule book.
pub fn launch(rng: &mut StdRng, tree: &tree::Tree, year: i32) -> anyhow::Result<Vec<Programme>> {
    let book = RuleBook::defaults();
    let mut out = Vec::new();
    for &(rule_set, committee, name, decisions) in PROGRAMMES {
        let Some(committee) = tree.committee(committee) else { continue };
        let template =
            book.programme(rule_set, 1).with_context(|| format!("the rule book has no programme {rule_set} v1"))?;
        let programme_id = Id::parse("programme_id", &format!("{rule_set}-{year}"))?;
        let launched = template.launch(programme_id, year as u16, format!("{name} năm {year}"));
        let pass_points = launched
            .framework
            .criteria
            .iter()
            .map(|c| template.framework().iter().find(|t| t.id == c.criterion_id.as_str()).and_then(|t| t.pass_points))
            .collect();
        out.push(Programme {
            committee,
            launched,
            launched_on: Day::ymd(year - 1, 12, rng.gen_range(1..=5)),
            decisions,
            pass_points,
        });
    }
    Ok(out)
}

/// Which cells register, are selected, and how their year goes.
pub fn enrol(rng: &mut StdRng, tree: &tree::Tree, programmes: &[Programme], year: i32) -> Vec<Enrolment> {
    let mut out = Vec::new();
    let selection_days: Vec<Day> =
        programmes.iter().map(|_| Day::ymd(year, 1, 12).plus(rng.gen_range(0..20))).collect();
    for (c, cell) in tree.cells.iter().enumerate() {
        let ancestors = tree.ancestors(c);
        let Some(p) = programmes.iter().position(|p| ancestors.contains(&p.committee)) else { continue };
        let showcase = SHOWCASE.iter().find(|(id, _)| *id == cell.id).map(|(_, course)| *course);
        let (selected, course) = match showcase {
            Some(course) => (true, course),
            None if rng.gen_bool(0.4) => continue,
            None => {
                let selected = rng.gen_bool(0.35);
                let roll = rng.gen_range(0..100);
                let course = match (selected, roll) {
                    (true, 0..45) | (false, 0..25) => Course::Rising,
                    (true, 45..85) | (false, 25..50) => Course::Steady,
                    _ => Course::Middling,
                };
                (selected, course)
            }
        };
        let programme = &programmes[p];
        let totals = totals(rng, course, programme.threshold(), programme.best_total(), showcase.is_some());
        let selected_on = selected.then_some(selection_days[p]);
        let inspection = selected.then(|| inspect(rng, programme, course, showcase.is_some(), year));
        let certified =
            inspection.as_ref().is_some_and(|i| !i.hard_failed(programme)) && totals[11] >= programme.threshold();
        out.push(Enrolment {
            programme: p,
            cell: c,
            registered_on: Day::ymd(year - 1, 12, rng.gen_range(8..=26)),
            totals,
            selected_on,
            inspection,
            certified_on: certified.then(|| Day::ymd(year, 12, 29)),
        });
    }
    out
}

/// The monthly totals of a cell on `course`, between 0 and `best`.
fn totals(rng: &mut StdRng, course: Course, threshold: u32, best: u32, showcase: bool) -> [u32; 12] {
    let threshold = threshold.min(best);
    let (start, end) = match course {
        Course::Rising => {
            let start = threshold.saturating_sub(if showcase { 14 } else { rng.gen_range(10..=18) });
            (start, (threshold + rng.gen_range(1..=4)).min(best))
        }
        Course::Steady => {
            let end = (threshold + rng.gen_range(0..=5)).min(best);
            (end.saturating_sub(rng.gen_range(0..=3)), end)
        }
        Course::Middling => {
            let end = threshold.saturating_sub(rng.gen_range(5..=18));
            (end.saturating_sub(rng.gen_range(0..=4)), end)
        }
    };
    let mut out = [0; 12];
    for (m, total) in out.iter_mut().enumerate() {
        let trend = i64::from(start) + (i64::from(end) - i64::from(start)) * m as i64 / 11;
        let noise = if m == 0 || m == 11 { 0 } else { rng.gen_range(-1..=1) };
        *total = (trend + noise).clamp(0, i64::from(best)) as u32;
    }
    out
}

/// The committee's inspection in the fourth quarter, checking every criterion.
fn inspect(rng: &mut StdRng, programme: &Programme, course: Course, showcase: bool, year: i32) -> Inspection {
    let criteria = &programme.launched.framework.criteria;
    let soft = criteria.iter().filter(|c| !c.hard).count();
    // A middling cell falls short on one soft criterion; one selected cell in five has no
    // concrete product to show for a hard criterion.
    let soft_miss = (course == Course::Middling && soft > 0).then(|| rng.gen_range(0..soft));
    let mut seen_soft = 0;
    let checks: Vec<(Id, bool)> = criteria
        .iter()
        .map(|c| {
            let met = if c.hard {
                showcase || !rng.gen_bool(0.2)
            } else {
                seen_soft += 1;
                soft_miss != Some(seen_soft - 1)
            };
            (c.criterion_id.clone(), met)
        })
        .collect();
    let hard_failed = criteria.iter().zip(&checks).any(|(c, (_, met))| c.hard && !met);
    let conclusion = if hard_failed {
        InspectionConclusion::Failed
    } else if checks.iter().all(|(_, met)| *met) {
        InspectionConclusion::Passed
    } else {
        InspectionConclusion::NeedsImprovement
    };
    Inspection { day: Day::ymd(year, 10, 15).plus(rng.gen_range(0..58)), checks, conclusion }
}

/// The most points each indicator can score in `month` (1 to 12): its maximum, except that
/// once the inspection has found a hard criterion unmet, the cell's own assessment of that
/// criterion stays below its pass mark.
pub fn caps(programme: &Programme, enrolment: &Enrolment, month: u32) -> Vec<u32> {
    let failed_since = enrolment.inspection.as_ref().map(|i| (i.day.month(), &i.checks));
    let mut out = Vec::new();
    for (c, criterion) in programme.launched.framework.criteria.iter().enumerate() {
        let pass = programme.pass_points.get(c).copied().flatten();
        let failed = match (failed_since, pass) {
            (Some((since, checks)), Some(pass)) if month >= since && !checks[c].1 => Some(pass),
            _ => None,
        };
        let best: u32 = criterion.indicators.iter().map(|i| i.max_points).sum();
        for indicator in &criterion.indicators {
            out.push(match failed {
                Some(pass) => indicator.max_points * pass.saturating_sub(1) / best.max(1),
                None => indicator.max_points,
            });
        }
    }
    out
}

/// At most `total` points spread over indicators that can score at most `caps`: every
/// indicator gets at most its cap and the points add up to `total` or, if that is more, to
/// the sum of the caps. The points lost fall on the indicators in proportion to their weight.
pub fn spread(rng: &mut StdRng, total: u32, caps: &[u32]) -> Vec<u32> {
    let mut points = caps.to_vec();
    let best: u32 = caps.iter().sum();
    let mut missing = best.saturating_sub(total);
    while missing > 0 {
        let left: u32 = points.iter().sum();
        let mut pick = rng.gen_range(0..left);
        let i = points
            .iter()
            .position(|&p| {
                if pick < p {
                    true
                } else {
                    pick -= p;
                    false
                }
            })
            .expect("a point below the sum falls in some indicator");
        points[i] -= 1;
        missing -= 1;
    }
    points
}
