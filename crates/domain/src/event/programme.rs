//! Model-cell programmes: a committee launches a programme with its criteria framework, cells
//! register, the committee selects, certifies, and may revoke.

use std::collections::HashMap;

use crate::error::{InvalidField, Result};
use crate::id::Id;
use crate::text::limit;
use crate::time::Date;

use super::{at_most, one_to, required_text, unique, year};

/// The fields of an [`Indicator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorFields {
    /// Unique within the whole framework, so a score names its indicator alone.
    pub indicator_id: Id,
    /// What it measures.
    pub name: String,
    /// The most points it can score; at least 1.
    pub max_points: u32,
}

checked! {
    /// One scored indicator of a [`Criterion`].
    pub struct Indicator(IndicatorFields);
}

impl IndicatorFields {
    fn check(&self) -> Result<()> {
        let Self { indicator_id: _, name, max_points } = self;
        required_text("name", name, limit::NAME)?;
        if *max_points == 0 {
            return Err(InvalidField::new("max_points", "is 0; an indicator is worth at least 1 point"));
        }
        Ok(())
    }
}

/// The fields of a [`Criterion`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionFields {
    /// Unique within the framework.
    pub criterion_id: Id,
    /// What it asks of a cell.
    pub name: String,
    /// A hard criterion (tiêu chí cứng): failing it fails the programme whatever the score.
    pub hard: bool,
    /// Its indicators: at least one.
    pub indicators: Vec<Indicator>,
}

checked! {
    /// One criterion of a [`CriteriaFramework`], with its indicators.
    pub struct Criterion(CriterionFields);
}

impl CriterionFields {
    fn check(&self) -> Result<()> {
        let Self { criterion_id: _, name, hard: _, indicators } = self;
        required_text("name", name, limit::NAME)?;
        one_to(
            "indicators",
            indicators.len(),
            super::limit::INDICATORS,
            "a criterion is scored through at least one indicator",
        )?;
        unique("indicators", "indicator_id", indicators.iter().map(|i| &i.indicator_id))
    }
}

/// The fields of a [`CriteriaFramework`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriteriaFrameworkFields {
    /// The criteria: at least one.
    pub criteria: Vec<Criterion>,
}

checked! {
    /// A criteria framework (khung tiêu chí): what a programme scores cells on.
    pub struct CriteriaFramework(CriteriaFrameworkFields);
}

impl CriteriaFrameworkFields {
    fn check(&self) -> Result<()> {
        let Self { criteria } = self;
        one_to("criteria", criteria.len(), super::limit::CRITERIA, "a framework has at least one criterion")?;
        unique("criteria", "criterion_id", criteria.iter().map(|c| &c.criterion_id))?;
        // Scores name an indicator without its criterion, so indicator ids are unique across
        // the framework, not only within a criterion.
        let mut seen: HashMap<&Id, (usize, usize)> = HashMap::new();
        for (c, criterion) in criteria.iter().enumerate() {
            for (i, indicator) in criterion.indicators.iter().enumerate() {
                if let Some((fc, fi)) = seen.insert(&indicator.indicator_id, (c, i)) {
                    return Err(InvalidField::new(
                        format!("criteria[{c}].indicators[{i}].indicator_id"),
                        format!(
                            "\"{}\" is listed twice (first at criteria[{fc}].indicators[{fi}])",
                            indicator.indicator_id
                        ),
                    ));
                }
                if seen.len() > super::limit::INDICATORS {
                    return Err(InvalidField::new(
                        format!("criteria[{c}].indicators"),
                        format!(
                            "brings the framework over {} indicators, the limit over all criteria",
                            super::limit::INDICATORS
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl CriteriaFramework {
    /// Every indicator, criterion by criterion.
    pub fn indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.criteria.iter().flat_map(|c| c.indicators.iter())
    }

    /// The sum of every indicator's `max_points`: the best total score.
    pub fn total_max_points(&self) -> u64 {
        self.indicators().map(|i| u64::from(i.max_points)).sum()
    }
}

/// The fields of a [`RuleSetRef`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSetRefFields {
    /// The rule set's name, e.g. `vn-qd366-2025` (RULES.md).
    pub name: Id,
    /// Its version, from 1.
    pub version: u32,
}

checked! {
    /// A named, versioned rule set, e.g. `vn-qd366-2025` version 1.
    pub struct RuleSetRef(RuleSetRefFields);
}

impl RuleSetRefFields {
    fn check(&self) -> Result<()> {
        let Self { name: _, version } = self;
        if *version == 0 {
            return Err(InvalidField::new("version", "is 0; rule set versions start at 1"));
        }
        Ok(())
    }
}

/// The fields of a [`ProgrammeLaunched`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeLaunchedFields {
    /// The programme.
    pub programme_id: Id,
    /// The year it runs.
    pub year: u16,
    /// E.g. "Chi bộ 4 tốt".
    pub name: String,
    /// What cells are scored on.
    pub framework: CriteriaFramework,
    /// The least total indicator score that earns certification; at most the framework's
    /// [`CriteriaFramework::total_max_points`].
    pub certification_threshold: u32,
    /// The rule sets the programme applies, at most one version of each.
    pub rule_sets: Vec<RuleSetRef>,
    /// Study points each member should earn per month; 0 for no minimum.
    pub monthly_study_points_minimum: u32,
}

checked! {
    /// A committee launches a model-cell programme for a year. Recorded in the committee's
    /// stream.
    pub struct ProgrammeLaunched(ProgrammeLaunchedFields);
}

impl ProgrammeLaunchedFields {
    fn check(&self) -> Result<()> {
        let Self {
            programme_id: _,
            year: programme_year,
            name,
            framework,
            certification_threshold,
            rule_sets,
            monthly_study_points_minimum: _,
        } = self;
        year("year", *programme_year)?;
        required_text("name", name, limit::NAME)?;
        let best = framework.total_max_points();
        if u64::from(*certification_threshold) > best {
            return Err(InvalidField::new(
                "certification_threshold",
                format!(
                    "is {certification_threshold}, but the framework's indicators are worth \
                     {best} points in all"
                ),
            ));
        }
        at_most("rule_sets", rule_sets.len(), super::limit::RULE_SETS)?;
        unique("rule_sets", "name", rule_sets.iter().map(|r| &r.name))
    }
}

/// The fields of a [`CellRegistered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellRegisteredFields {
    /// The programme registered for.
    pub programme_id: Id,
    /// The day of registration.
    pub date: Date,
}

checked! {
    /// A cell registers (đăng ký) for a programme. Recorded in the cell's stream.
    pub struct CellRegistered(CellRegisteredFields);
}

impl CellRegisteredFields {
    fn check(&self) -> Result<()> {
        // Every field's type already holds only valid values.
        Ok(())
    }
}

/// The fields of a [`CellSelected`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellSelectedFields {
    /// The programme.
    pub programme_id: Id,
    /// The cell selected.
    pub cell_id: Id,
    /// The number of the committee's decision.
    pub decision_number: String,
    /// The day of the decision.
    pub date: Date,
}

checked! {
    /// A committee selects (lựa chọn) a registered cell. Recorded in the committee's stream.
    pub struct CellSelected(CellSelectedFields);
}

impl CellSelectedFields {
    fn check(&self) -> Result<()> {
        let Self { programme_id: _, cell_id: _, decision_number, date: _ } = self;
        required_text("decision_number", decision_number, limit::LABEL)
    }
}

/// The fields of a [`CellCertified`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCertifiedFields {
    /// The programme.
    pub programme_id: Id,
    /// The cell certified.
    pub cell_id: Id,
    /// The number of the committee's decision.
    pub decision_number: String,
    /// The day of the decision.
    pub date: Date,
    /// The total indicator score the decision is based on.
    pub score: u32,
}

checked! {
    /// A committee certifies (công nhận) a cell as a model. Recorded in the committee's stream.
    pub struct CellCertified(CellCertifiedFields);
}

impl CellCertifiedFields {
    fn check(&self) -> Result<()> {
        let Self { programme_id: _, cell_id: _, decision_number, date: _, score: _ } = self;
        required_text("decision_number", decision_number, limit::LABEL)
    }
}

/// The fields of a [`CertificationRevoked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationRevokedFields {
    /// The programme.
    pub programme_id: Id,
    /// The cell whose certification is revoked.
    pub cell_id: Id,
    /// The number of the committee's decision.
    pub decision_number: String,
    /// The day of the decision.
    pub date: Date,
    /// Why.
    pub reason: String,
}

checked! {
    /// A committee revokes a cell's certification. Recorded in the committee's stream.
    pub struct CertificationRevoked(CertificationRevokedFields);
}

impl CertificationRevokedFields {
    fn check(&self) -> Result<()> {
        let Self { programme_id: _, cell_id: _, decision_number, date: _, reason } = self;
        required_text("decision_number", decision_number, limit::LABEL)?;
        required_text("reason", reason, limit::PARAGRAPH)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::tests::{date, err, id, pair};

    pub(crate) fn indicator(indicator_id: &str, max_points: u32) -> Indicator {
        Indicator::new(IndicatorFields {
            indicator_id: id(indicator_id),
            name: format!("Chỉ số {indicator_id}"),
            max_points,
        })
        .unwrap()
    }

    fn criterion(criterion_id: &str, indicators: Vec<Indicator>) -> CriterionFields {
        CriterionFields {
            criterion_id: id(criterion_id),
            name: format!("Tiêu chí {criterion_id}"),
            hard: false,
            indicators,
        }
    }

    fn framework() -> CriteriaFramework {
        let first = criterion("leads", vec![indicator("i1", 20), indicator("i2", 30)]);
        let second = CriterionFields { hard: true, ..criterion("products", vec![indicator("i3", 50)]) };
        CriteriaFramework::new(CriteriaFrameworkFields {
            criteria: vec![Criterion::new(first).unwrap(), Criterion::new(second).unwrap()],
        })
        .unwrap()
    }

    pub(crate) fn rule_set(name: &str, version: u32) -> RuleSetRef {
        RuleSetRef::new(RuleSetRefFields { name: id(name), version }).unwrap()
    }

    fn launched() -> ProgrammeLaunchedFields {
        ProgrammeLaunchedFields {
            programme_id: id("kieu-mau-2026"),
            year: 2026,
            name: "Chi bộ kiểu mẫu 2026".into(),
            framework: framework(),
            certification_threshold: 90,
            rule_sets: vec![rule_set("vn-qd366-2025", 1), rule_set("phutho-meeting-score", 2)],
            monthly_study_points_minimum: 20,
        }
    }

    pub(crate) fn programme_launched() -> ProgrammeLaunched {
        ProgrammeLaunched::new(launched()).unwrap()
    }

    pub(crate) fn cell_registered() -> CellRegistered {
        CellRegistered::new(CellRegisteredFields { programme_id: id("kieu-mau-2026"), date: date("2026-01-15") })
            .unwrap()
    }

    fn selected() -> CellSelectedFields {
        CellSelectedFields {
            programme_id: id("kieu-mau-2026"),
            cell_id: id("tan-hoa"),
            decision_number: "123-QĐ/HU".into(),
            date: date("2026-02-01"),
        }
    }

    pub(crate) fn cell_selected() -> CellSelected {
        CellSelected::new(selected()).unwrap()
    }

    pub(crate) fn cell_certified() -> CellCertified {
        CellCertified::new(CellCertifiedFields {
            programme_id: id("kieu-mau-2026"),
            cell_id: id("tan-hoa"),
            decision_number: "456-QĐ/HU".into(),
            date: date("2026-12-20"),
            score: 93,
        })
        .unwrap()
    }

    fn revoked() -> CertificationRevokedFields {
        CertificationRevokedFields {
            programme_id: id("kieu-mau-2026"),
            cell_id: id("tan-hoa"),
            decision_number: "789-QĐ/HU".into(),
            date: date("2027-03-01"),
            reason: "vi phạm kỷ luật".into(),
        }
    }

    pub(crate) fn certification_revoked() -> CertificationRevoked {
        CertificationRevoked::new(revoked()).unwrap()
    }

    #[test]
    fn indicators_and_criteria_have_their_own_rules() {
        let zero = IndicatorFields { indicator_id: id("i"), name: "x".into(), max_points: 0 };
        assert_eq!(
            err(Indicator::new(zero.clone())),
            pair("max_points", "is 0; an indicator is worth at least 1 point")
        );
        let unnamed = IndicatorFields { name: String::new(), max_points: 1, ..zero };
        assert_eq!(err(Indicator::new(unnamed)), pair("name", "is empty"));

        assert_eq!(
            err(Criterion::new(criterion("c", vec![]))),
            pair("indicators", "is empty; a criterion is scored through at least one indicator")
        );
        let twice = criterion("c", vec![indicator("a", 1), indicator("b", 1), indicator("a", 1)]);
        assert_eq!(
            err(Criterion::new(twice)),
            pair("indicators[2].indicator_id", "\"a\" is listed twice (first at indicators[0])")
        );
        let many = criterion("c", (0..201).map(|i| indicator(&format!("i{i}"), 1)).collect());
        assert_eq!(err(Criterion::new(many)), pair("indicators", "has 201 entries; the limit is 200"));
        let unnamed = CriterionFields { name: String::new(), ..criterion("c", vec![indicator("a", 1)]) };
        assert_eq!(err(Criterion::new(unnamed)).0, "name");
    }

    #[test]
    fn a_framework_has_unique_criteria_and_indicators() {
        assert_eq!(framework().total_max_points(), 100);
        assert_eq!(framework().indicators().count(), 3);
        let framework_of = |criteria: Vec<CriterionFields>| {
            CriteriaFramework::new(CriteriaFrameworkFields {
                criteria: criteria.into_iter().map(|c| Criterion::new(c).unwrap()).collect(),
            })
        };
        assert_eq!(err(framework_of(vec![])), pair("criteria", "is empty; a framework has at least one criterion"));
        let same_criterion = vec![criterion("c", vec![indicator("a", 1)]), criterion("c", vec![indicator("b", 1)])];
        assert_eq!(
            err(framework_of(same_criterion)),
            pair("criteria[1].criterion_id", "\"c\" is listed twice (first at criteria[0])")
        );
        let same_indicator = vec![
            criterion("c1", vec![indicator("a", 1), indicator("b", 1)]),
            criterion("c2", vec![indicator("z", 1), indicator("b", 1)]),
        ];
        assert_eq!(
            err(framework_of(same_indicator)),
            pair(
                "criteria[1].indicators[1].indicator_id",
                "\"b\" is listed twice (first at criteria[0].indicators[1])"
            )
        );
        let crowded = (0..3)
            .map(|c| {
                let indicators = (0..70).map(|i| indicator(&format!("c{c}-i{i}"), 1)).collect();
                criterion(&format!("c{c}"), indicators)
            })
            .collect();
        assert_eq!(
            err(framework_of(crowded)),
            pair("criteria[2].indicators", "brings the framework over 200 indicators, the limit over all criteria")
        );
        let too_many = (0..201).map(|c| criterion(&format!("c{c}"), vec![indicator(&format!("i{c}"), 1)])).collect();
        assert_eq!(err(framework_of(too_many)), pair("criteria", "has 201 entries; the limit is 200"));
    }

    #[test]
    fn rule_set_versions_start_at_one() {
        assert_eq!(rule_set("vn-qd366-2025", 1).version, 1);
        assert_eq!(
            err(RuleSetRef::new(RuleSetRefFields { name: id("x"), version: 0 })),
            pair("version", "is 0; rule set versions start at 1")
        );
    }

    #[test]
    fn a_programme_can_be_certified_against() {
        assert_eq!(programme_launched().framework.criteria.len(), 2);
        let at_best = ProgrammeLaunchedFields { certification_threshold: 100, ..launched() };
        assert!(ProgrammeLaunched::new(at_best).is_ok());
        let beyond = ProgrammeLaunchedFields { certification_threshold: 101, ..launched() };
        assert_eq!(
            err(ProgrammeLaunched::new(beyond)),
            pair("certification_threshold", "is 101, but the framework's indicators are worth 100 points in all")
        );
        for bad in [0, 1899, 10000] {
            let when = ProgrammeLaunchedFields { year: bad, ..launched() };
            assert_eq!(
                err(ProgrammeLaunched::new(when)),
                pair("year", &format!("is {bad}; years run from 1900 to 9999"))
            );
        }
        assert!(ProgrammeLaunched::new(ProgrammeLaunchedFields { year: 9999, ..launched() }).is_ok());
        let unnamed = ProgrammeLaunchedFields { name: String::new(), ..launched() };
        assert_eq!(err(ProgrammeLaunched::new(unnamed)), pair("name", "is empty"));
        let twice = ProgrammeLaunchedFields { rule_sets: vec![rule_set("a", 1), rule_set("a", 2)], ..launched() };
        assert_eq!(
            err(ProgrammeLaunched::new(twice)),
            pair("rule_sets[1].name", "\"a\" is listed twice (first at rule_sets[0])")
        );
        let many = ProgrammeLaunchedFields {
            rule_sets: (0..51).map(|i| rule_set(&format!("r{i}"), 1)).collect(),
            ..launched()
        };
        assert_eq!(err(ProgrammeLaunched::new(many)), pair("rule_sets", "has 51 entries; the limit is 50"));
    }

    #[test]
    fn decisions_carry_a_number() {
        assert_eq!(cell_registered().programme_id.as_str(), "kieu-mau-2026");
        assert_eq!(cell_selected().decision_number, "123-QĐ/HU");
        assert_eq!(cell_certified().score, 93);
        let unnumbered = CellSelectedFields { decision_number: String::new(), ..selected() };
        assert_eq!(err(CellSelected::new(unnumbered)), pair("decision_number", "is empty"));
        let mut certified = cell_certified().into_fields();
        certified.decision_number = "x".repeat(129);
        assert_eq!(err(CellCertified::new(certified)).0, "decision_number");
        assert_eq!(certification_revoked().reason, "vi phạm kỷ luật");
        let unexplained = CertificationRevokedFields { reason: "\n".into(), ..revoked() };
        assert_eq!(err(CertificationRevoked::new(unexplained)), pair("reason", "is empty"));
        let unnumbered = CertificationRevokedFields { decision_number: String::new(), ..revoked() };
        assert_eq!(err(CertificationRevoked::new(unnumbered)).0, "decision_number");
    }
}
