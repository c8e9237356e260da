//! Inspections, member development and year-end classification: what a committee finds and
//! decides about its cells and their members.

use crate::error::{InvalidField, Result};
use crate::id::Id;
use crate::text::limit;
use crate::time::Date;

use super::{at_most, required_text, unique, year, RuleSetRef};

named_enum! {
    /// What an inspection concluded.
    pub enum InspectionConclusion {
        /// The cell passed.
        Passed = "passed",
        /// The cell passed with things to improve.
        NeedsImprovement = "needs_improvement",
        /// The cell failed.
        Failed = "failed",
    }
}

named_enum! {
    /// The year-end classification of a member or an organization, best first.
    pub enum ClassificationLevel {
        /// Hoàn thành xuất sắc nhiệm vụ.
        Excellent = "excellent",
        /// Hoàn thành tốt nhiệm vụ.
        Good = "good",
        /// Hoàn thành nhiệm vụ.
        Completed = "completed",
        /// Không hoàn thành nhiệm vụ.
        NotCompleted = "not_completed",
    }
}

/// Whether an inspected cell met one criterion of its programme, in an
/// [`InspectionConducted`]. Any value is a valid shape; whether the criterion exists is state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionCheck {
    /// The criterion, in the inspected programme's framework.
    pub criterion_id: Id,
    /// Whether the cell met it.
    pub met: bool,
}

/// The fields of an [`InspectionConducted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionConductedFields {
    /// The inspection.
    pub inspection_id: Id,
    /// The cell inspected.
    pub cell_id: Id,
    /// The day of the inspection.
    pub date: Date,
    /// What the inspectors found.
    pub findings: String,
    /// What they concluded.
    pub conclusion: InspectionConclusion,
    /// The programme inspected against; `None` for a general inspection.
    pub programme_id: Option<Id>,
    /// The outcome per criterion checked, each criterion once; empty for a general
    /// inspection.
    pub criteria: Vec<CriterionCheck>,
}

checked! {
    /// A committee inspected a cell. Recorded in the committee's stream.
    pub struct InspectionConducted(InspectionConductedFields);
}

impl InspectionConductedFields {
    fn check(&self) -> Result<()> {
        let Self { inspection_id: _, cell_id: _, date: _, findings, conclusion: _, programme_id, criteria } = self;
        required_text("findings", findings, limit::PARAGRAPH)?;
        if programme_id.is_none() && !criteria.is_empty() {
            return Err(InvalidField::new(
                "criteria",
                "is set, but criteria belong to a programme and programme_id is empty",
            ));
        }
        at_most("criteria", criteria.len(), super::limit::CRITERIA)?;
        unique("criteria", "criterion_id", criteria.iter().map(|c| &c.criterion_id))
    }
}

/// The fields of a [`CandidateTrained`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateTrainedFields {
    /// The candidate (an elite mass, quần chúng ưu tú), not yet a member.
    pub candidate_id: Id,
    /// The candidate's full name.
    pub name: String,
    /// The course completed.
    pub course: String,
    /// The day it was completed.
    pub date: Date,
}

checked! {
    /// A candidate for membership completed a course. Recorded in the cell's stream.
    pub struct CandidateTrained(CandidateTrainedFields);
}

impl CandidateTrainedFields {
    fn check(&self) -> Result<()> {
        let Self { candidate_id: _, name, course, date: _ } = self;
        required_text("name", name, limit::NAME)?;
        required_text("course", course, limit::NAME)
    }
}

/// The fields of a [`MemberClassified`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberClassifiedFields {
    /// The year classified.
    pub year: u16,
    /// The member's cell.
    pub cell_id: Id,
    /// The member.
    pub member_id: Id,
    /// The classification.
    pub level: ClassificationLevel,
    /// The rule set and version the evaluation applied.
    pub rule_set: RuleSetRef,
    /// SHA-256 digest of the evaluation report the decision cites.
    pub evaluation_digest: [u8; 32],
}

checked! {
    /// A member was classified for a year. Recorded in the committee's stream.
    pub struct MemberClassified(MemberClassifiedFields);
}

impl MemberClassifiedFields {
    fn check(&self) -> Result<()> {
        let Self { year: classified_year, cell_id: _, member_id: _, level: _, rule_set: _, evaluation_digest: _ } =
            self;
        year("year", *classified_year)
    }
}

/// The fields of a [`CellClassified`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellClassifiedFields {
    /// The year classified.
    pub year: u16,
    /// The cell.
    pub cell_id: Id,
    /// The classification.
    pub level: ClassificationLevel,
    /// The rule set and version the evaluation applied.
    pub rule_set: RuleSetRef,
    /// SHA-256 digest of the evaluation report the decision cites.
    pub evaluation_digest: [u8; 32],
}

checked! {
    /// A cell was classified for a year. Recorded in the committee's stream.
    pub struct CellClassified(CellClassifiedFields);
}

impl CellClassifiedFields {
    fn check(&self) -> Result<()> {
        let Self { year: classified_year, cell_id: _, level: _, rule_set: _, evaluation_digest: _ } = self;
        year("year", *classified_year)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::programme::tests::rule_set;
    use crate::event::tests::{date, err, id, pair};

    fn check(criterion: &str, met: bool) -> CriterionCheck {
        CriterionCheck { criterion_id: id(criterion), met }
    }

    fn conducted() -> InspectionConductedFields {
        InspectionConductedFields {
            inspection_id: id("kt-2026-1"),
            cell_id: id("tan-hoa"),
            date: date("2026-11-10"),
            findings: "Sổ sách đầy đủ".into(),
            conclusion: InspectionConclusion::Passed,
            programme_id: Some(id("kieu-mau-2026")),
            criteria: vec![check("leads", true), check("products", true)],
        }
    }

    pub(crate) fn inspection_conducted() -> InspectionConducted {
        InspectionConducted::new(conducted()).unwrap()
    }

    fn trained() -> CandidateTrainedFields {
        CandidateTrainedFields {
            candidate_id: id("hoang-e"),
            name: "Hoàng Văn E".into(),
            course: "Lớp bồi dưỡng nhận thức về Đảng".into(),
            date: date("2026-05-20"),
        }
    }

    pub(crate) fn candidate_trained() -> CandidateTrained {
        CandidateTrained::new(trained()).unwrap()
    }

    fn member() -> MemberClassifiedFields {
        MemberClassifiedFields {
            year: 2026,
            cell_id: id("tan-hoa"),
            member_id: id("nguyen-van-a"),
            level: ClassificationLevel::Good,
            rule_set: rule_set("vn-qd366-2025", 1),
            evaluation_digest: [7; 32],
        }
    }

    pub(crate) fn member_classified() -> MemberClassified {
        MemberClassified::new(member()).unwrap()
    }

    fn cell() -> CellClassifiedFields {
        CellClassifiedFields {
            year: 2026,
            cell_id: id("tan-hoa"),
            level: ClassificationLevel::Excellent,
            rule_set: rule_set("vn-qd366-2025", 1),
            evaluation_digest: [9; 32],
        }
    }

    pub(crate) fn cell_classified() -> CellClassified {
        CellClassified::new(cell()).unwrap()
    }

    #[test]
    fn an_inspection_reports_findings_and_criteria() {
        assert_eq!(inspection_conducted().criteria.len(), 2);
        let general = InspectionConductedFields { programme_id: None, criteria: vec![], ..conducted() };
        assert!(InspectionConducted::new(general).is_ok());
        let adrift = InspectionConductedFields { programme_id: None, ..conducted() };
        assert_eq!(
            err(InspectionConducted::new(adrift)),
            pair("criteria", "is set, but criteria belong to a programme and programme_id is empty")
        );
        let twice = InspectionConductedFields { criteria: vec![check("a", true), check("a", false)], ..conducted() };
        assert_eq!(
            err(InspectionConducted::new(twice)),
            pair("criteria[1].criterion_id", "\"a\" is listed twice (first at criteria[0])")
        );
        let many = InspectionConductedFields {
            criteria: (0..201).map(|i| check(&format!("c{i}"), true)).collect(),
            ..conducted()
        };
        assert_eq!(err(InspectionConducted::new(many)), pair("criteria", "has 201 entries; the limit is 200"));
        let silent = InspectionConductedFields { findings: String::new(), ..conducted() };
        assert_eq!(err(InspectionConducted::new(silent)), pair("findings", "is empty"));
    }

    #[test]
    fn a_candidate_names_the_course() {
        assert_eq!(candidate_trained().name, "Hoàng Văn E");
        let unnamed = CandidateTrainedFields { name: String::new(), ..trained() };
        assert_eq!(err(CandidateTrained::new(unnamed)), pair("name", "is empty"));
        let courseless = CandidateTrainedFields { course: String::new(), ..trained() };
        assert_eq!(err(CandidateTrained::new(courseless)), pair("course", "is empty"));
    }

    #[test]
    fn classifications_fall_in_a_year() {
        assert_eq!(member_classified().level, ClassificationLevel::Good);
        assert_eq!(cell_classified().evaluation_digest, [9; 32]);
        let ancient = MemberClassifiedFields { year: 1899, ..member() };
        assert_eq!(err(MemberClassified::new(ancient)), pair("year", "is 1899; years run from 1900 to 9999"));
        let future = CellClassifiedFields { year: 10000, ..cell() };
        assert_eq!(err(CellClassified::new(future)), pair("year", "is 10000; years run from 1900 to 9999"));
        assert!(ClassificationLevel::Excellent < ClassificationLevel::NotCompleted);
    }
}
