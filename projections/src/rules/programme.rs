//! Model-cell programme templates (`kind: "programme"`, e.g. `thaibinh-kieumau`): the criteria
//! framework a committee launches a programme with, the score that earns certification, the
//! monthly study-point minimum, how often cells assess themselves, the targets the committee
//! reports against, and the companion rule sets the programme applies.

use chibo_domain::event::{
    CriteriaFramework, CriteriaFrameworkFields, Criterion, CriterionFields, Indicator, IndicatorFields,
    ProgrammeLaunchedFields, RuleSetRef, RuleSetRefFields,
};
use chibo_domain::text::limit;
use chibo_domain::{Id, InvalidField};

use super::document::{Node, Object, Parsed, Problem};

/// The points every programme framework is scored on.
const FULL_SCORE: u32 = 100;

/// A model-cell programme, ready to be launched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeTemplate {
    criteria: Vec<TemplateCriterion>,
    framework: CriteriaFramework,
    marking: Marking,
    self_assessment: AssessmentCadence,
    certification_threshold: u32,
    monthly_study_points_minimum: u32,
    targets: Vec<Target>,
    itself: RuleSetRef,
    /// (kind, rule set), in the order meetings, meeting_score, classification.
    companions: Vec<(&'static str, RuleSetRef)>,
}

/// One criterion of a template's framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateCriterion {
    /// Unique within the framework.
    pub id: String,
    /// In Vietnamese.
    pub name: String,
    /// A hard criterion (tiêu chí cứng): failing it fails the programme whatever the score.
    pub hard: bool,
    /// For a hard criterion, the least points on its indicators that count as meeting it.
    pub pass_points: Option<u32>,
    /// Its indicators.
    pub indicators: Vec<TemplateIndicator>,
}

/// One indicator of a criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateIndicator {
    /// Unique within the whole framework.
    pub id: String,
    /// In Vietnamese.
    pub name: String,
    /// The most points it scores.
    pub max: u32,
}

/// How indicators are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marking {
    /// Any whole number from 0 to the indicator's maximum.
    Points,
    /// Met (the indicator's maximum) or not met (0).
    MetOrNotMet,
}

/// How often a cell assesses itself against the framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssessmentCadence {
    /// Every month (after the monthly meeting).
    Monthly,
    /// Every quarter.
    Quarterly,
    /// Once a year.
    Yearly,
}

/// A target a committee reports against, as a share of its cells or members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// E.g. `cells-completed-well`.
    pub id: String,
    /// What is counted, in words.
    pub text: String,
    /// At least or strictly above the percentage.
    pub comparison: TargetComparison,
    /// The percentage.
    pub percent: u32,
}

/// How a share is compared with a target's percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetComparison {
    /// `≥`.
    AtLeast,
    /// `>`.
    Above,
}

impl Target {
    /// Whether `count` of `of` meets the target (exactly, on integers). Nothing counted of
    /// nothing meets no target.
    pub fn met(&self, count: u64, of: u64) -> bool {
        if of == 0 {
            return false;
        }
        let share = u128::from(count) * 100;
        let bar = u128::from(self.percent) * u128::from(of);
        match self.comparison {
            TargetComparison::AtLeast => share >= bar,
            TargetComparison::Above => share > bar,
        }
    }
}

/// How a cell's indicator scores stand against the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeVerdict {
    /// The total of the indicator points, out of 100.
    pub total: u32,
    /// The hard criteria not met, by id, in framework order.
    pub hard_failed: Vec<String>,
    /// The total reaches the certification threshold and no hard criterion failed.
    pub certifiable: bool,
}

const COMPANION_KINDS: [&str; 3] = ["meetings", "meeting_score", "classification"];

fn rule_set_ref(mut o: Object<'_>) -> Parsed<RuleSetRef> {
    let name = o.id("name")?;
    let version_field = o.field("version");
    let version = o.u32("version")?;
    o.finish()?;
    RuleSetRef::new(RuleSetRefFields { name, version }).map_err(|e| Problem::new(version_field, e.reason))
}

fn indicator(node: &Node<'_>, seen: &[(String, String)]) -> Parsed<TemplateIndicator> {
    let mut o = node.object()?;
    let id = o.id("id")?.as_str().to_owned();
    if let Some((_, first)) = seen.iter().find(|(other, _)| *other == id) {
        return Err(Problem::new(o.field("id"), format!("{id:?} is listed twice (first at {first})")));
    }
    let name = o.text("name", limit::NAME)?;
    let max = o.u32("max")?;
    if max == 0 {
        return Err(Problem::new(o.field("max"), "is 0; an indicator is worth at least 1 point"));
    }
    o.finish()?;
    Ok(TemplateIndicator { id, name, max })
}

impl ProgrammeTemplate {
    pub(super) fn parse(top: &mut Object<'_>, itself: RuleSetRef) -> Parsed<Self> {
        let criteria_field = top.field("criteria");
        let nodes = top.list("criteria")?;
        if nodes.is_empty() {
            return Err(Problem::new(&criteria_field, "is empty; a framework has at least one criterion"));
        }
        let mut criteria: Vec<TemplateCriterion> = Vec::new();
        // Indicator ids are unique across the framework: scores name an indicator alone.
        let mut indicator_ids: Vec<(String, String)> = Vec::new();
        for node in &nodes {
            let mut o = node.object()?;
            let id = o.id("id")?.as_str().to_owned();
            if let Some(first) = criteria.iter().position(|c| c.id == id) {
                return Err(Problem::new(
                    o.field("id"),
                    format!("{id:?} is listed twice (first at criteria[{first}])"),
                ));
            }
            let name = o.text("name", limit::NAME)?;
            let hard = o.bool_or("hard", false)?;
            let pass_points = o.optional_u32("pass_points")?;
            let indicator_nodes = o.list("indicators")?;
            if indicator_nodes.is_empty() {
                return Err(Problem::new(
                    o.field("indicators"),
                    "is empty; a criterion is scored through at least one indicator",
                ));
            }
            let mut indicators = Vec::new();
            for node in &indicator_nodes {
                let ind = indicator(node, &indicator_ids)?;
                indicator_ids.push((ind.id.clone(), format!("{}.id", node.path())));
                indicators.push(ind);
            }
            let criterion_max: u32 = indicators.iter().map(|i| i.max).fold(0, u32::saturating_add);
            match (hard, pass_points) {
                (true, None) => {
                    return Err(Problem::new(o.field("pass_points"), "is missing; a hard criterion needs a pass mark"))
                }
                (false, Some(_)) => {
                    return Err(Problem::new(
                        o.field("pass_points"),
                        "is set, but only a hard criterion has a pass mark",
                    ))
                }
                (true, Some(pass)) if pass == 0 || pass > criterion_max => {
                    return Err(Problem::new(
                        o.field("pass_points"),
                        format!("is {pass}; expected 1 to the criterion's {criterion_max} points"),
                    ))
                }
                _ => {}
            }
            o.finish()?;
            criteria.push(TemplateCriterion { id, name, hard, pass_points, indicators });
        }
        if indicator_ids.len() > chibo_domain::event::limit::INDICATORS {
            return Err(Problem::new(
                &criteria_field,
                format!(
                    "has {} indicators; the limit is {}",
                    indicator_ids.len(),
                    chibo_domain::event::limit::INDICATORS
                ),
            ));
        }
        let total: u64 = criteria.iter().flat_map(|c| &c.indicators).map(|i| u64::from(i.max)).sum();
        if total != u64::from(FULL_SCORE) {
            return Err(Problem::new(
                &criteria_field,
                format!("the indicators are worth {total} points in all; a framework is scored on {FULL_SCORE}"),
            ));
        }
        let framework = domain_framework(&criteria).map_err(|e| Problem::new(&criteria_field, e.to_string()))?;

        let marking = match top.choice("marking", &["points", "met_or_not_met"])? {
            "points" => Marking::Points,
            _ => Marking::MetOrNotMet,
        };
        let self_assessment = match top.choice("self_assessment", &["monthly", "quarterly", "yearly"])? {
            "monthly" => AssessmentCadence::Monthly,
            "quarterly" => AssessmentCadence::Quarterly,
            _ => AssessmentCadence::Yearly,
        };
        let certification_threshold = top.u32("certification_threshold")?;
        if certification_threshold == 0 || certification_threshold > FULL_SCORE {
            return Err(Problem::new(
                top.field("certification_threshold"),
                format!("is {certification_threshold}; expected 1 to {FULL_SCORE}"),
            ));
        }
        let monthly_study_points_minimum = top.u32("monthly_study_points_minimum")?;

        let mut targets: Vec<Target> = Vec::new();
        for node in top.list_or_empty("targets")? {
            let mut o = node.object()?;
            let id = o.id("id")?.as_str().to_owned();
            if let Some(first) = targets.iter().position(|t| t.id == id) {
                return Err(Problem::new(o.field("id"), format!("{id:?} is listed twice (first at targets[{first}])")));
            }
            let text = o.text("text", limit::PARAGRAPH)?;
            let (comparison, percent) = match (o.optional_u32("at_least_percent")?, o.optional_u32("above_percent")?) {
                (Some(p), None) => (TargetComparison::AtLeast, p),
                (None, Some(p)) => (TargetComparison::Above, p),
                _ => return Err(Problem::new(o.path(), "needs exactly one of at_least_percent and above_percent")),
            };
            if percent > 100 {
                return Err(Problem::new(o.path(), format!("has a percentage of {percent}; a share is at most 100 %")));
            }
            o.finish()?;
            targets.push(Target { id, text, comparison, percent });
        }

        let mut companions = Vec::new();
        if let Some(mut o) = top.optional_object("companions")? {
            for kind in COMPANION_KINDS {
                if let Some(node) = o.optional(kind) {
                    let reference = rule_set_ref(node.object()?)?;
                    if reference.name == itself.name
                        || companions.iter().any(|(_, r): &(_, RuleSetRef)| r.name == reference.name)
                    {
                        return Err(node.problem(format!("names {} a second time", reference.name)));
                    }
                    companions.push((kind, reference));
                }
            }
            o.finish()?;
        }

        Ok(Self {
            criteria,
            framework,
            marking,
            self_assessment,
            certification_threshold,
            monthly_study_points_minimum,
            targets,
            itself,
            companions,
        })
    }

    /// The criteria, in the file's order.
    pub fn framework(&self) -> &[TemplateCriterion] {
        &self.criteria
    }

    /// The least total score (of 100) that earns certification.
    pub fn certification_threshold(&self) -> u32 {
        self.certification_threshold
    }

    /// Study points each member should earn per month; 0 for no minimum.
    pub fn monthly_study_points_minimum(&self) -> u32 {
        self.monthly_study_points_minimum
    }

    /// How indicators are marked.
    pub fn marking(&self) -> Marking {
        self.marking
    }

    /// How often cells assess themselves.
    pub fn self_assessment(&self) -> AssessmentCadence {
        self.self_assessment
    }

    /// The targets the committee reports against.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The rule sets the programme applies besides itself, each with the kind it is named
    /// for (`meetings`, `meeting_score`, `classification`).
    pub fn companions(&self) -> impl Iterator<Item = &RuleSetRef> {
        self.companions.iter().map(|(_, r)| r)
    }

    pub(super) fn companions_by_kind(&self) -> impl Iterator<Item = (&'static str, &RuleSetRef)> {
        self.companions.iter().map(|(kind, r)| (*kind, r))
    }

    /// Totals a cell's indicator scores and checks the hard criteria. An indicator without a
    /// score counts 0. Errors name the entry: `scores[i].indicator_id` for an unknown or
    /// repeated indicator, `scores[i].points` for points over the maximum or, under
    /// met-or-not-met marking, neither 0 nor the maximum.
    pub fn assess(&self, scores: &[(String, u32)]) -> Result<ProgrammeVerdict, InvalidField> {
        let indicators: Vec<&TemplateIndicator> = self.criteria.iter().flat_map(|c| &c.indicators).collect();
        let mut points = vec![None; indicators.len()];
        for (i, (id, given)) in scores.iter().enumerate() {
            let Some(index) = indicators.iter().position(|ind| &ind.id == id) else {
                return Err(InvalidField::new(
                    format!("scores[{i}].indicator_id"),
                    format!("{id:?} is not an indicator of this programme"),
                ));
            };
            if let Some((first, _)) = points[index] {
                return Err(InvalidField::new(
                    format!("scores[{i}].indicator_id"),
                    format!("{id:?} is listed twice (first at scores[{first}])"),
                ));
            }
            let max = indicators[index].max;
            let bad = match self.marking {
                Marking::Points => (*given > max).then(|| format!("is {given}; {id} is worth at most {max}")),
                Marking::MetOrNotMet => (*given != 0 && *given != max)
                    .then(|| format!("is {given}; {id} is marked met ({max}) or not met (0)")),
            };
            if let Some(reason) = bad {
                return Err(InvalidField::new(format!("scores[{i}].points"), reason));
            }
            points[index] = Some((i, *given));
        }
        let score_of = |ind: &TemplateIndicator| {
            indicators.iter().position(|i| i.id == ind.id).and_then(|k| points[k]).map_or(0, |(_, p)| p)
        };
        let total = indicators.iter().map(|i| score_of(i)).sum();
        let hard_failed: Vec<String> = self
            .criteria
            .iter()
            .filter(|c| c.hard && c.indicators.iter().map(score_of).sum::<u32>() < c.pass_points.unwrap_or(0))
            .map(|c| c.id.clone())
            .collect();
        let certifiable = total >= self.certification_threshold && hard_failed.is_empty();
        Ok(ProgrammeVerdict { total, hard_failed, certifiable })
    }

    /// The `ProgrammeLaunched` a committee records to run this template: its framework,
    /// threshold and study minimum, and as `rule_sets` this template followed by its
    /// companions. `year` and `name` are checked by `ProgrammeLaunched::new`.
    pub fn launch(&self, programme_id: Id, year: u16, name: String) -> ProgrammeLaunchedFields {
        ProgrammeLaunchedFields {
            programme_id,
            year,
            name,
            framework: self.framework.clone(),
            certification_threshold: self.certification_threshold,
            rule_sets: std::iter::once(&self.itself).chain(self.companions()).cloned().collect(),
            monthly_study_points_minimum: self.monthly_study_points_minimum,
        }
    }
}

/// The framework as the domain checks it; built when the file is read, so launching cannot
/// fail on it.
fn domain_framework(criteria: &[TemplateCriterion]) -> Result<CriteriaFramework, InvalidField> {
    let criteria = criteria
        .iter()
        .enumerate()
        .map(|(c, criterion)| {
            let indicators = criterion
                .indicators
                .iter()
                .enumerate()
                .map(|(i, ind)| {
                    Indicator::new(IndicatorFields {
                        indicator_id: Id::parse("indicator_id", &ind.id)?,
                        name: ind.name.clone(),
                        max_points: ind.max,
                    })
                    .map_err(|e| e.within(format!("indicators[{i}]")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Criterion::new(CriterionFields {
                criterion_id: Id::parse("criterion_id", &criterion.id)?,
                name: criterion.name.clone(),
                hard: criterion.hard,
                indicators,
            })
            .map_err(|e| e.within(format!("[{c}]")))
        })
        .collect::<Result<Vec<_>, InvalidField>>()?;
    CriteriaFramework::new(CriteriaFrameworkFields { criteria })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleBook;
    use chibo_domain::event::ProgrammeLaunched;

    fn template(name: &str) -> ProgrammeTemplate {
        RuleBook::defaults().programme(name, 1).unwrap().clone()
    }

    fn scores(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
        pairs.iter().map(|(id, p)| (id.to_string(), *p)).collect()
    }

    #[test]
    fn every_template_launches() {
        for name in ["camau-4tot", "thaibinh-kieumau", "quynhphu-5-contents"] {
            let t = template(name);
            let fields = t.launch(Id::parse("id", "mau-2026").unwrap(), 2026, format!("{name} 2026"));
            let launched = ProgrammeLaunched::new(fields).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(launched.framework.total_max_points(), 100, "{name}");
            assert_eq!(launched.certification_threshold, t.certification_threshold());
            assert_eq!(launched.monthly_study_points_minimum, 20);
            let sets: Vec<String> = launched.rule_sets.iter().map(|r| format!("{}@{}", r.name, r.version)).collect();
            let mut expected = vec![format!("{name}@1"), "vn-meetings-hd42@1".to_owned()];
            if name != "camau-4tot" {
                expected.push("phutho-meeting-score@1".to_owned());
            }
            expected.push("vn-qd366-2025@1".to_owned());
            assert_eq!(sets, expected, "{name}");
        }
    }

    #[test]
    fn camau_marks_four_criteria_met_or_not_and_certifies_all_four() {
        let t = template("camau-4tot");
        assert_eq!(t.marking(), Marking::MetOrNotMet);
        assert_eq!(t.self_assessment(), AssessmentCadence::Monthly);
        let ids: Vec<_> = t.framework().iter().map(|c| (c.indicators.len(), c.indicators[0].max)).collect();
        assert_eq!(ids, [(1, 25); 4]);
        let ind: Vec<String> = t.framework().iter().map(|c| c.indicators[0].id.clone()).collect();
        // All four met: 4 × 25 = 100 ≥ 100, certifiable.
        let all = t.assess(&ind.iter().map(|i| (i.clone(), 25)).collect::<Vec<_>>()).unwrap();
        assert_eq!(all, ProgrammeVerdict { total: 100, hard_failed: vec![], certifiable: true });
        // Three met: 75 < 100.
        let three = t.assess(&ind.iter().take(3).map(|i| (i.clone(), 25)).collect::<Vec<_>>()).unwrap();
        assert_eq!(three, ProgrammeVerdict { total: 75, hard_failed: vec![], certifiable: false });
        // Half marks do not exist under met / not met.
        let half = t.assess(&[(ind[0].clone(), 12)]).unwrap_err();
        assert_eq!(half.field, "scores[0].points");
        assert_eq!(half.reason, format!("is 12; {} is marked met (25) or not met (0)", ind[0]));
        // NQ 21 targets: > 90 % of organizations completed well. 9 of 10 is not above 90 %.
        let target = &t.targets()[0];
        assert_eq!((target.comparison, target.percent), (TargetComparison::Above, 90));
        assert!(!target.met(9, 10));
        assert!(target.met(91, 100));
    }

    #[test]
    fn thaibinh_has_17_indicators_on_100_points() {
        let t = template("thaibinh-kieumau");
        assert_eq!(t.framework().len(), 5);
        let indicators: Vec<&TemplateIndicator> = t.framework().iter().flat_map(|c| &c.indicators).collect();
        assert_eq!(indicators.len(), 17);
        assert_eq!(indicators.iter().map(|i| i.max).sum::<u32>(), 100);
        assert_eq!(t.certification_threshold(), 90);
        // Chi bộ 3 at the start: every indicator at its maximum except 24 points lost → 76.
        let mut lost = 24;
        let start: Vec<(String, u32)> = indicators
            .iter()
            .map(|i| {
                let off = lost.min(i.max);
                lost -= off;
                (i.id.clone(), i.max - off)
            })
            .collect();
        assert_eq!(t.assess(&start).unwrap(), ProgrammeVerdict { total: 76, hard_failed: vec![], certifiable: false });
        // Later: 9 points lost → 91 ≥ 90, certifiable.
        let mut lost = 9;
        let later: Vec<(String, u32)> = indicators
            .iter()
            .map(|i| {
                let off = lost.min(i.max);
                lost -= off;
                (i.id.clone(), i.max - off)
            })
            .collect();
        assert!(t.assess(&later).unwrap().certifiable);
        // 2025 targets: ≥ 90 % of cells completed well (9 of 10 meets it exactly); > 20 %
        // model (2 of 10 = 20 % does not, 3 of 10 does).
        let [well, model] = [&t.targets()[0], &t.targets()[1]];
        assert_eq!(
            (well.id.as_str(), well.comparison, well.percent),
            ("cells-completed-well", TargetComparison::AtLeast, 90)
        );
        assert!(well.met(9, 10) && !well.met(8, 10));
        assert_eq!((model.id.as_str(), model.comparison, model.percent), ("cells-model", TargetComparison::Above, 20));
        assert!(!model.met(2, 10) && model.met(3, 10));
        assert!(!model.met(0, 0));
    }

    #[test]
    fn quynhphu_fails_a_cell_without_concrete_products_whatever_its_score() {
        let t = template("quynhphu-5-contents");
        let hard: Vec<_> = t.framework().iter().filter(|c| c.hard).map(|c| (c.id.as_str(), c.pass_points)).collect();
        assert_eq!(hard, [("san-pham-cu-the", Some(10))]);
        let ids: Vec<String> = t.framework().iter().map(|c| c.indicators[0].id.clone()).collect();
        let with = |products: u32| -> Vec<(String, u32)> {
            ids.iter().map(|id| (id.clone(), if id == "san-pham-cu-the" { products } else { 20 })).collect()
        };
        // 4 × 20 + 9 = 89 and products 9 < 10: hard criterion failed and under 90.
        assert_eq!(
            t.assess(&with(9)).unwrap(),
            ProgrammeVerdict { total: 89, hard_failed: vec!["san-pham-cu-the".into()], certifiable: false }
        );
        // 4 × 20 + 10 = 90 ≥ 90 with products at the pass mark: certifiable.
        assert_eq!(
            t.assess(&with(10)).unwrap(),
            ProgrammeVerdict { total: 90, hard_failed: vec![], certifiable: true }
        );
        // Products missing altogether: 80, failed.
        let without: Vec<_> = with(0).into_iter().filter(|(id, _)| id != "san-pham-cu-the").collect();
        assert_eq!(t.assess(&without).unwrap().hard_failed, vec!["san-pham-cu-the".to_owned()]);
        // A higher bar elsewhere does not save a cell that fails the hard criterion: with the
        // threshold at 80, 4 × 20 + 5 = 85 still fails.
        let lenient = ProgrammeTemplate { certification_threshold: 80, ..t.clone() };
        assert_eq!(
            lenient.assess(&with(5)).unwrap(),
            ProgrammeVerdict { total: 85, hard_failed: vec!["san-pham-cu-the".into()], certifiable: false }
        );
        let e = t.assess(&scores(&[("chat-luong-sinh-hoat", 21)])).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("scores[0].points", "is 21; chat-luong-sinh-hoat is worth at most 20")
        );
        let e = t.assess(&scores(&[("khac", 1)])).unwrap_err();
        assert_eq!(e.field, "scores[0].indicator_id");
        let e = t.assess(&scores(&[("chat-luong-sinh-hoat", 1), ("chat-luong-sinh-hoat", 2)])).unwrap_err();
        assert_eq!(e.reason, "\"chat-luong-sinh-hoat\" is listed twice (first at scores[0])");
    }
}
