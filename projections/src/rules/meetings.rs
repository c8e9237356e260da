//! Meeting rules (`kind: "meetings"`, e.g. `vn-meetings-hd42`): how often a cell meets, how
//! long a meeting lasts, how early its documents go out, what makes a "quality" meeting, and
//! when unexcused absences get a member proposed for removal (Party Statute, art. 8).

use chibo_domain::event::MeetingKind;

use super::document::{percent_tenths, tenths, Object, Parsed, Problem};

/// The longest meeting a rule may ask for, in minutes: a day.
const MINUTES_IN_A_DAY: u32 = 24 * 60;

/// The rules for a cell's meetings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRules {
    regular_per_month: u32,
    thematic_per_quarter: u32,
    minimum_minutes: Option<u32>,
    minimum_minutes_combined: Option<u32>,
    documents_days_before: Option<u32>,
    quality: QualityCriteria,
    removal_months: u32,
}

/// What makes a meeting a "quality" meeting (`quality` in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualityCriteria {
    /// Attendance must be strictly above this percentage of the members expected.
    pub attendance_above_percent: u32,
    /// The most members absent without a valid reason.
    pub unexcused_at_most: u32,
    /// The longest run of consecutive excused absences any member may have in the year.
    pub excused_run_at_most: u32,
    /// Whether the cell committee must have met beforehand to prepare.
    pub committee_prepared: bool,
    /// At least this many members spoke, or every member present when fewer were present.
    pub minimum_speakers: u32,
    /// The shortest quality meeting, in minutes.
    pub minimum_minutes: u32,
}

/// What happened at one meeting, as far as the rules look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingFacts {
    /// Regular, thematic or extraordinary.
    pub kind: MeetingKind,
    /// How long it lasted.
    pub duration_minutes: u32,
    /// A thematic and a regular meeting were held together, on the same date.
    pub combined_with_other_kind_same_day: bool,
    /// Members expected: present + excused + unexcused.
    pub expected: u32,
    /// Members present.
    pub present: u32,
    /// Members absent with a valid reason.
    pub excused: u32,
    /// Members absent without one.
    pub unexcused: u32,
    /// Members who spoke.
    pub speakers: u32,
    /// The cell committee met beforehand to prepare.
    pub committee_prepared: bool,
    /// Days between posting the documents and the meeting; `None` if none were posted.
    pub documents_posted_days_before: Option<i64>,
    /// The longest run of consecutive excused absences, this meeting included, of any member in
    /// the year.
    pub longest_excused_run: u32,
}

/// The judgement of one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingVerdict {
    /// Every quality criterion holds, and so do the duration and document rules.
    pub quality: bool,
    /// The meeting lasted as long as the rule set asks (always true without a minimum).
    pub duration_ok: bool,
    /// The documents went out early enough (always true without a rule).
    pub documents_ok: bool,
    /// Each rule the meeting failed, as a short English reason, in a fixed order.
    pub failures: Vec<String>,
}

/// Whether a cell held the meetings a span of the year asks for. The default is "nothing
/// expected, nothing held" (no meeting rule set to judge by).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cadence {
    /// Regular meetings the months in the span ask for.
    pub regular_expected: u32,
    /// Regular meetings held in those months, counting at most the required number per month,
    /// so two meetings in one month never make up for a month without one.
    pub regular_held: u32,
    /// Months (1 to 12) in the span with fewer regular meetings than required.
    pub months_missing: Vec<u8>,
    /// Thematic meetings the quarters wholly inside the span ask for.
    pub thematic_expected: u32,
    /// Thematic meetings held in those quarters, every one counted: more than required is
    /// what a collective's over-fulfilment looks for (`vn-qd366-2025`); `quarters_missing`
    /// says whether each quarter had its own.
    pub thematic_held: u32,
    /// Quarters (1 to 4) wholly inside the span with fewer thematic meetings than required.
    pub quarters_missing: Vec<u8>,
    /// No month and no quarter is missing.
    pub every_meeting_held: bool,
}

impl MeetingRules {
    pub(super) fn parse(top: &mut Object<'_>) -> Parsed<Self> {
        let regular_per_month = top.u32("regular_per_month")?;
        if regular_per_month == 0 {
            return Err(Problem::new(top.field("regular_per_month"), "is 0; a cell meets at least once a month"));
        }
        let thematic_per_quarter = top.u32("thematic_per_quarter")?;
        if thematic_per_quarter == 0 {
            return Err(Problem::new(
                top.field("thematic_per_quarter"),
                "is 0; a cell holds at least one thematic meeting a quarter",
            ));
        }
        let minimum_minutes = top.optional_u32("minimum_minutes")?;
        let minimum_minutes_combined = top.optional_u32("minimum_minutes_combined")?;
        for (key, value) in
            [("minimum_minutes", minimum_minutes), ("minimum_minutes_combined", minimum_minutes_combined)]
        {
            if value.is_some_and(|m| m > MINUTES_IN_A_DAY) {
                return Err(Problem::new(top.field(key), format!("is more than a day ({MINUTES_IN_A_DAY} minutes)")));
            }
        }
        if let (Some(single), Some(combined)) = (minimum_minutes, minimum_minutes_combined) {
            if combined < single {
                return Err(Problem::new(
                    top.field("minimum_minutes_combined"),
                    format!("is {combined}; must not be below minimum_minutes ({single})"),
                ));
            }
        }
        let documents_days_before = top.optional_u32("documents_posted_days_before")?;
        if documents_days_before.is_some_and(|d| d > 366) {
            return Err(Problem::new(top.field("documents_posted_days_before"), "is more than a year"));
        }

        let mut q = top.object("quality")?;
        let attendance_above_percent = q.u32("attendance_above_percent")?;
        if attendance_above_percent >= 100 {
            return Err(Problem::new(
                q.field("attendance_above_percent"),
                format!("is {attendance_above_percent}; must be below 100, as attendance is never above 100 %"),
            ));
        }
        let quality = QualityCriteria {
            attendance_above_percent,
            unexcused_at_most: q.u32("unexcused_at_most")?,
            excused_run_at_most: q.u32("excused_run_at_most")?,
            committee_prepared: q.bool_or("committee_prepared", false)?,
            minimum_speakers: q.u32("minimum_speakers")?,
            minimum_minutes: q.u32("minimum_minutes")?,
        };
        if quality.minimum_minutes > MINUTES_IN_A_DAY {
            return Err(Problem::new(
                q.field("minimum_minutes"),
                format!("is more than a day ({MINUTES_IN_A_DAY} minutes)"),
            ));
        }
        q.finish()?;

        let mut removal = top.object("removal")?;
        let removal_months = removal.u32("months_with_unexcused_absence")?;
        if !(1..=12).contains(&removal_months) {
            return Err(Problem::new(
                removal.field("months_with_unexcused_absence"),
                format!("is {removal_months}; expected 1 to 12 months of a year"),
            ));
        }
        removal.finish()?;

        Ok(Self {
            regular_per_month,
            thematic_per_quarter,
            minimum_minutes,
            minimum_minutes_combined,
            documents_days_before,
            quality,
            removal_months,
        })
    }

    /// Regular meetings required per month.
    pub fn regular_per_month(&self) -> u32 {
        self.regular_per_month
    }

    /// Thematic meetings required per quarter.
    pub fn thematic_per_quarter(&self) -> u32 {
        self.thematic_per_quarter
    }

    /// The shortest meeting, in minutes, when held alone; `None` for no minimum.
    pub fn minimum_minutes(&self) -> Option<u32> {
        self.minimum_minutes
    }

    /// The shortest meeting when a thematic and a regular meeting are held together on one
    /// date; `None` when the single minimum applies.
    pub fn minimum_minutes_combined(&self) -> Option<u32> {
        self.minimum_minutes_combined
    }

    /// How many days ahead the documents must be posted; `None` for no rule.
    pub fn documents_posted_days_before(&self) -> Option<u32> {
        self.documents_days_before
    }

    /// The quality-meeting criteria.
    pub fn quality(&self) -> &QualityCriteria {
        &self.quality
    }

    /// Months of a year with an unexcused absence that get a member proposed for removal.
    pub fn removal_months(&self) -> u32 {
        self.removal_months
    }

    /// Judges one meeting against the rules. Every kind of meeting is judged the same way:
    /// the sources do not exempt extraordinary meetings.
    pub fn judge(&self, m: &MeetingFacts) -> MeetingVerdict {
        let mut failures = Vec::new();

        let (required_minutes, combined) = match (m.combined_with_other_kind_same_day, self.minimum_minutes_combined) {
            (true, Some(combined)) => (Some(combined), true),
            _ => (self.minimum_minutes, false),
        };
        let duration_ok = required_minutes.is_none_or(|min| m.duration_minutes >= min);
        if let (false, Some(min)) = (duration_ok, required_minutes) {
            let when = if combined { " when a thematic and a regular meeting are held together" } else { "" };
            failures.push(format!("lasted {} minutes; at least {min} are required{when}", m.duration_minutes));
        }

        let documents_ok = match (self.documents_days_before, m.documents_posted_days_before) {
            (None, _) => true,
            (Some(days), Some(posted)) => posted >= i64::from(days),
            (Some(_), None) => false,
        };
        if let (false, Some(days)) = (documents_ok, self.documents_days_before) {
            failures.push(match m.documents_posted_days_before {
                None => {
                    format!("no documents were posted before the meeting; at least {days} day(s) ahead is required")
                }
                Some(posted) if posted < 0 => {
                    format!("documents were posted after the meeting; at least {days} day(s) ahead is required")
                }
                Some(posted) => {
                    format!("documents were posted {posted} day(s) before; at least {days} day(s) ahead is required")
                }
            });
        }

        let q = &self.quality;
        if m.expected == 0 {
            failures.push("no member was expected, so attendance cannot be judged".to_owned());
        } else if u64::from(m.present) * 100 <= u64::from(q.attendance_above_percent) * u64::from(m.expected) {
            failures.push(format!(
                "attendance {} of {} ({} %) is not above {} %",
                m.present,
                m.expected,
                tenths(percent_tenths(m.present.into(), m.expected.into())),
                q.attendance_above_percent
            ));
        }
        if m.unexcused > q.unexcused_at_most {
            failures.push(format!(
                "{} member(s) absent without a valid reason; at most {} allowed",
                m.unexcused, q.unexcused_at_most
            ));
        }
        if m.longest_excused_run > q.excused_run_at_most {
            failures.push(format!(
                "a member has been excused {} times in a row this year; at most {}",
                m.longest_excused_run, q.excused_run_at_most
            ));
        }
        if q.committee_prepared && !m.committee_prepared {
            failures.push("the cell committee did not meet beforehand to prepare".to_owned());
        }
        let speakers_needed = q.minimum_speakers.min(m.present);
        if m.speakers < speakers_needed {
            let all = if speakers_needed < q.minimum_speakers { " (every member present)" } else { "" };
            failures.push(format!("{} member(s) spoke; at least {speakers_needed}{all} must", m.speakers));
        }
        // When the duration rule already failed it explains why the meeting is not a quality one.
        if duration_ok && m.duration_minutes < q.minimum_minutes {
            failures.push(format!(
                "lasted {} minutes; a quality meeting lasts at least {}",
                m.duration_minutes, q.minimum_minutes
            ));
        }

        MeetingVerdict { quality: failures.is_empty(), duration_ok, documents_ok, failures }
    }

    /// Which regular and thematic meetings a cell missed in the months `from_month` to
    /// `through_month` of a year (a cell registered mid-year, a year not over).
    /// `regular_by_month[i]` counts the regular meetings of month i+1, `thematic_by_quarter[q]`
    /// the thematic meetings of quarter q+1. A quarter is expected only when all of it is in the
    /// span. Months outside 1 to 12 are clamped to it; a span that ends before it starts asks
    /// for nothing.
    pub fn cadence(
        &self,
        regular_by_month: &[u32; 12],
        thematic_by_quarter: &[u32; 4],
        from_month: u8,
        through_month: u8,
    ) -> Cadence {
        let from = from_month.clamp(1, 12);
        let through = through_month.clamp(1, 12);
        let mut cadence = Cadence::default();
        for month in from..=through {
            let held = regular_by_month[usize::from(month - 1)];
            cadence.regular_expected += self.regular_per_month;
            cadence.regular_held += held.min(self.regular_per_month);
            if held < self.regular_per_month {
                cadence.months_missing.push(month);
            }
        }
        for quarter in 1..=4u8 {
            let (first, last) = (quarter * 3 - 2, quarter * 3);
            if first < from || last > through {
                continue;
            }
            let held = thematic_by_quarter[usize::from(quarter - 1)];
            cadence.thematic_expected += self.thematic_per_quarter;
            cadence.thematic_held += held;
            if held < self.thematic_per_quarter {
                cadence.quarters_missing.push(quarter);
            }
        }
        cadence.every_meeting_held = cadence.months_missing.is_empty() && cadence.quarters_missing.is_empty();
        cadence
    }

    /// Whether a member with an unexcused absence in `months_with_unexcused_absence` different
    /// months of a year is proposed for removal from the rolls.
    pub fn proposed_for_removal(&self, months_with_unexcused_absence: u32) -> bool {
        months_with_unexcused_absence >= self.removal_months
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleBook;

    fn hd42() -> MeetingRules {
        RuleBook::defaults().meetings("vn-meetings-hd42", 1).unwrap().clone()
    }

    fn hd12() -> MeetingRules {
        RuleBook::defaults().meetings("vn-meetings-hd12", 1).unwrap().clone()
    }

    /// A good regular meeting of a 20-member cell.
    fn good_meeting() -> MeetingFacts {
        MeetingFacts {
            kind: MeetingKind::Regular,
            duration_minutes: 95,
            combined_with_other_kind_same_day: false,
            expected: 20,
            present: 18,
            excused: 2,
            unexcused: 0,
            speakers: 9,
            committee_prepared: true,
            documents_posted_days_before: Some(2),
            longest_excused_run: 1,
        }
    }

    #[test]
    fn the_shipped_parameters() {
        let r = hd42();
        assert_eq!((r.regular_per_month(), r.thematic_per_quarter()), (1, 1));
        assert_eq!((r.minimum_minutes(), r.minimum_minutes_combined()), (Some(90), Some(120)));
        assert_eq!(r.documents_posted_days_before(), Some(1));
        let old = hd12();
        assert_eq!(
            (old.minimum_minutes(), old.minimum_minutes_combined(), old.documents_posted_days_before()),
            (None, None, None)
        );
        assert_eq!(old.quality(), r.quality());
        assert_eq!(
            r.quality(),
            &QualityCriteria {
                attendance_above_percent: 85,
                unexcused_at_most: 0,
                excused_run_at_most: 3,
                committee_prepared: true,
                minimum_speakers: 8,
                minimum_minutes: 90,
            }
        );
    }

    #[test]
    fn attendance_must_be_strictly_above_85_percent() {
        let r = hd42();
        // 18 of 20 = 90 %: a quality meeting.
        assert_eq!(
            r.judge(&good_meeting()),
            MeetingVerdict { quality: true, duration_ok: true, documents_ok: true, failures: vec![] }
        );
        // 43 of 50 = 86 % > 85 %: still quality.
        let m86 = MeetingFacts { expected: 50, present: 43, excused: 7, ..good_meeting() };
        assert!(r.judge(&m86).quality);
        // 17 of 20 = exactly 85 %: not above 85 %, so not a quality meeting.
        let m85 = MeetingFacts { present: 17, excused: 3, ..good_meeting() };
        let verdict = r.judge(&m85);
        assert!(!verdict.quality);
        assert_eq!(verdict.failures, vec!["attendance 17 of 20 (85.0 %) is not above 85 %".to_owned()]);
    }

    #[test]
    fn hd42_asks_120_minutes_for_a_combined_meeting_and_documents_a_day_ahead() {
        let r = hd42();
        // 100 minutes is enough alone (≥ 90) but not with a thematic meeting the same day (< 120).
        let alone = MeetingFacts { duration_minutes: 100, ..good_meeting() };
        assert!(r.judge(&alone).duration_ok);
        let combined = MeetingFacts { combined_with_other_kind_same_day: true, ..alone.clone() };
        let verdict = r.judge(&combined);
        assert_eq!((verdict.quality, verdict.duration_ok, verdict.documents_ok), (false, false, true));
        assert_eq!(
            verdict.failures,
            vec![
                "lasted 100 minutes; at least 120 are required when a thematic and a regular meeting are held together"
            ]
        );
        assert!(r.judge(&MeetingFacts { duration_minutes: 120, ..combined }).quality);

        // Documents posted the same day (0 days before) or not at all fail HD 42's one-day rule.
        let same_day = r.judge(&MeetingFacts { documents_posted_days_before: Some(0), ..good_meeting() });
        assert_eq!((same_day.documents_ok, same_day.quality), (false, false));
        assert_eq!(
            same_day.failures,
            vec!["documents were posted 0 day(s) before; at least 1 day(s) ahead is required"]
        );
        assert!(!r.judge(&MeetingFacts { documents_posted_days_before: None, ..good_meeting() }).documents_ok);
        assert_eq!(
            r.judge(&MeetingFacts { documents_posted_days_before: Some(-1), ..good_meeting() }).failures,
            vec!["documents were posted after the meeting; at least 1 day(s) ahead is required"]
        );
        assert!(r.judge(&MeetingFacts { documents_posted_days_before: Some(1), ..good_meeting() }).documents_ok);
    }

    #[test]
    fn hd12_has_no_duration_or_document_rule_but_its_quality_meeting_lasts_90_minutes() {
        let r = hd12();
        let short = MeetingFacts { duration_minutes: 60, documents_posted_days_before: None, ..good_meeting() };
        let verdict = r.judge(&short);
        assert_eq!((verdict.duration_ok, verdict.documents_ok, verdict.quality), (true, true, false));
        assert_eq!(verdict.failures, vec!["lasted 60 minutes; a quality meeting lasts at least 90"]);
    }

    #[test]
    fn every_quality_criterion_is_reported() {
        let r = hd12();
        // 20 expected, 16 present (80 %), 1 unexcused, a member excused a 4th time in a row,
        // no committee meeting, 5 speakers of the 8 needed.
        let poor = MeetingFacts {
            present: 16,
            excused: 3,
            unexcused: 1,
            speakers: 5,
            committee_prepared: false,
            longest_excused_run: 4,
            ..good_meeting()
        };
        assert_eq!(
            r.judge(&poor).failures,
            vec![
                "attendance 16 of 20 (80.0 %) is not above 85 %",
                "1 member(s) absent without a valid reason; at most 0 allowed",
                "a member has been excused 4 times in a row this year; at most 3",
                "the cell committee did not meet beforehand to prepare",
                "5 member(s) spoke; at least 8 must",
            ]
        );
        // A meeting nobody was expected at cannot show attendance above 85 %.
        let empty = MeetingFacts { expected: 0, present: 0, excused: 0, speakers: 0, ..good_meeting() };
        assert_eq!(r.judge(&empty).failures, vec!["no member was expected, so attendance cannot be judged"]);
        // Excused 3 times in a row is still allowed.
        assert!(r.judge(&MeetingFacts { longest_excused_run: 3, ..good_meeting() }).quality);
    }

    #[test]
    fn a_small_cell_needs_every_member_present_to_speak() {
        let r = hd42();
        // 7 members, all present: 8 speakers are impossible, so all 7 must speak.
        let small = MeetingFacts { expected: 7, present: 7, excused: 0, speakers: 7, ..good_meeting() };
        assert!(r.judge(&small).quality);
        let quiet = MeetingFacts { speakers: 6, ..small };
        assert_eq!(r.judge(&quiet).failures, vec!["6 member(s) spoke; at least 7 (every member present) must"]);
    }

    #[test]
    fn cadence_with_a_missing_month_and_a_mid_year_start() {
        let r = hd42();
        // Registered in April (from 4), year over (through 12): months 4..=12 expected = 9
        // meetings. July has none, March's meeting is before the span and does not count,
        // August's second meeting does not make up for July: held = 8, missing = [7].
        let regular = [1, 1, 1, 1, 1, 1, 0, 2, 1, 1, 1, 1];
        // Quarters 2, 3 and 4 lie wholly in April..December; quarter 1 does not. Quarter 3 had
        // no thematic meeting, quarter 4 two: held = 1 + 0 + 2 = 3 of 3 expected, quarter 3
        // missing all the same.
        let thematic = [1, 1, 0, 2];
        assert_eq!(
            r.cadence(&regular, &thematic, 4, 12),
            Cadence {
                regular_expected: 9,
                regular_held: 8,
                months_missing: vec![7],
                thematic_expected: 3,
                thematic_held: 3,
                quarters_missing: vec![3],
                every_meeting_held: false,
            }
        );
        // Registered in February, year running through May: months 2..=5 (4 meetings), no
        // quarter wholly inside (Q1 starts in January, Q2 ends in June).
        let c = r.cadence(&regular, &[0; 4], 2, 5);
        assert_eq!((c.regular_expected, c.regular_held, c.thematic_expected), (4, 4, 0));
        assert!(c.every_meeting_held);
        // A span that ends before it starts asks for nothing.
        assert_eq!(r.cadence(&[0; 12], &[0; 4], 9, 3).regular_expected, 0);
    }

    #[test]
    fn removal_is_proposed_at_three_months() {
        let r = hd12();
        assert!(!r.proposed_for_removal(2));
        assert!(r.proposed_for_removal(3));
        assert!(r.proposed_for_removal(4));
        assert!(hd42().proposed_for_removal(3));
    }
}
