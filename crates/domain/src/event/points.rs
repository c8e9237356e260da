//! Points: study points members earn in the app, and a cell's monthly indicator scores against
//! its programme's framework.

use std::sync::Arc;

use crate::error::{InvalidField, Result};
use crate::id::Id;
use crate::text::{limit, Label};
use crate::time::{Date, Period};

use super::{bounded_text, one_to, required_text, unique};

named_enum! {
    /// Who scored a cell's indicators.
    pub enum ScoredBy {
        /// The cell's own monthly self-assessment.
        Cell = "cell",
        /// The higher committee.
        Committee = "committee",
    }
}

/// The points one indicator scored, in an [`IndicatorsScored`]. Any `u32` is a valid shape;
/// whether it is within the indicator's `max_points` depends on the programme, which is state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorScore {
    /// The indicator, unique within its programme's framework.
    pub indicator_id: Id,
    /// The points it scored.
    pub points: u32,
}

/// The fields of a [`StudyPointsEarned`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyPointsEarnedFields {
    /// The member.
    pub member_id: Id,
    /// The points earned; at least 1.
    pub points: u32,
    /// The day they were earned.
    pub date: Date,
    /// The document studied. Shared: a province studies a few dozen documents, and each of its
    /// study-points events names one, so decoding gives the events of one document one copy
    /// of its name (docs/BENCHMARKS.md, sixteenth round).
    pub activity: Arc<str>,
    /// The record's reference in the source system; may be empty.
    pub source_ref: Label,
}

checked! {
    /// A member earned study points in the "Sổ tay đảng viên điện tử" app. Recorded in the
    /// cell's stream.
    pub struct StudyPointsEarned(StudyPointsEarnedFields);
}

impl StudyPointsEarnedFields {
    fn check(&self) -> Result<()> {
        let Self { member_id: _, points, date: _, activity, source_ref } = self;
        if *points == 0 {
            return Err(InvalidField::new("points", "is 0; an activity earns at least 1 point"));
        }
        required_text("activity", activity, limit::PARAGRAPH)?;
        bounded_text("source_ref", source_ref, limit::LABEL)
    }
}

/// The fields of an [`IndicatorsScored`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorsScoredFields {
    /// The programme whose framework the indicators belong to.
    pub programme_id: Id,
    /// The month scored.
    pub period: Period,
    /// The points per indicator, each indicator once.
    pub scores: Vec<IndicatorScore>,
    /// The cell itself or the higher committee.
    pub scored_by: ScoredBy,
}

checked! {
    /// A cell's indicators were scored for a month. Recorded in the cell's stream.
    pub struct IndicatorsScored(IndicatorsScoredFields);
}

impl IndicatorsScoredFields {
    fn check(&self) -> Result<()> {
        let Self { programme_id: _, period: _, scores, scored_by: _ } = self;
        one_to("scores", scores.len(), super::limit::SCORES, "score at least one indicator")?;
        unique("scores", "indicator_id", scores.iter().map(|s| &s.indicator_id))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::tests::{date, err, id, pair};

    fn earned() -> StudyPointsEarnedFields {
        StudyPointsEarnedFields {
            member_id: id("nguyen-van-a"),
            points: 25,
            date: date("2026-03-10"),
            activity: "Nghị quyết Đại hội XIV".into(),
            source_ref: "stdv-8812".into(),
        }
    }

    pub(crate) fn study_points_earned() -> StudyPointsEarned {
        StudyPointsEarned::new(earned()).unwrap()
    }

    fn score(indicator: &str, points: u32) -> IndicatorScore {
        IndicatorScore { indicator_id: id(indicator), points }
    }

    fn scored() -> IndicatorsScoredFields {
        IndicatorsScoredFields {
            programme_id: id("kieu-mau-2026"),
            period: Period::parse("period", "2026-03").unwrap(),
            scores: vec![score("i1", 18), score("i2", 30), score("i3", 0)],
            scored_by: ScoredBy::Cell,
        }
    }

    pub(crate) fn indicators_scored() -> IndicatorsScored {
        IndicatorsScored::new(scored()).unwrap()
    }

    #[test]
    fn study_earns_points() {
        assert_eq!(study_points_earned().points, 25);
        let nothing = StudyPointsEarnedFields { points: 0, ..earned() };
        assert_eq!(err(StudyPointsEarned::new(nothing)), pair("points", "is 0; an activity earns at least 1 point"));
        let unstudied = StudyPointsEarnedFields { activity: "".into(), ..earned() };
        assert_eq!(err(StudyPointsEarned::new(unstudied)), pair("activity", "is empty"));
        let long = StudyPointsEarnedFields { source_ref: "x".repeat(129).into(), ..earned() };
        assert_eq!(err(StudyPointsEarned::new(long)).0, "source_ref");
        assert!(StudyPointsEarned::new(StudyPointsEarnedFields { source_ref: Label::default(), ..earned() }).is_ok());
    }

    #[test]
    fn a_month_scores_each_indicator_once() {
        assert_eq!(indicators_scored().scores.len(), 3);
        let none = IndicatorsScoredFields { scores: vec![], ..scored() };
        assert_eq!(err(IndicatorsScored::new(none)), pair("scores", "is empty; score at least one indicator"));
        let twice = IndicatorsScoredFields { scores: vec![score("a", 1), score("a", 2)], ..scored() };
        assert_eq!(
            err(IndicatorsScored::new(twice)),
            pair("scores[1].indicator_id", "\"a\" is listed twice (first at scores[0])")
        );
        let many =
            IndicatorsScoredFields { scores: (0..201).map(|i| score(&format!("i{i}"), 1)).collect(), ..scored() };
        assert_eq!(err(IndicatorsScored::new(many)), pair("scores", "has 201 entries; the limit is 200"));
    }
}
