//! Arbitrary text as the rule-set files `chibo serve --rules DIR` loads: `RuleBook::with_files`
//! (what `RuleBook::load` does with the files it read), then every rule set that loaded, put to
//! work on facts drawn from the same input.
//!
//! The input is one file, or two split at the first NUL byte (a second file may clash with the
//! first or be its companion), so the shipped rule sets are seeds as they are.
//!
//! What must hold: a refusal names a file given (the shipped files are not the operator's to
//! fix); a rule set that loads is the same, digest included, whatever the layout of its JSON; a
//! programme launches a `ProgrammeLaunched` the domain accepts (the loader promises it); a
//! meeting score at every part's maximum totals 100 and is in the top band; a classification
//! scores each subject the sum of its components. A book that loads then gives the standings
//! and evaluations of a recorded year (`chibo_fuzz::recorded::busy_log`) without a panic: a
//! file named like a shipped rule set replaces it there too.
#![no_main]

use std::sync::OnceLock;

use chibo_domain::event::{MeetingKind, ProgrammeLaunched};
use chibo_domain::{Date, Id};
use chibo_projections::rules::{
    CellYear, ClassificationRules, Marking, MeetingFacts, MeetingRules, MemberYear, ProgrammeTemplate, Rubric,
    RuleBook, RuleSet, RuleSetBody,
};
use chibo_projections::{evaluation, standings, State};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 2] = ["fuzz-1.json", "fuzz-2.json"];

fuzz_target!(|data: &[u8]| {
    let texts: Vec<String> = match data.iter().position(|&b| b == 0) {
        Some(nul) => vec![&data[..nul], &data[nul + 1..]],
        None => vec![data],
    }
    .into_iter()
    .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    .collect();
    let files: Vec<(&str, &str)> = FILES.iter().copied().zip(texts.iter().map(String::as_str)).collect();
    let book = match RuleBook::with_files(files.iter().copied()) {
        Ok(book) => book,
        Err(e) => {
            let message = e.to_string();
            assert!(FILES.iter().any(|file| message.contains(file)), "a refusal names a file given: {message}");
            return;
        }
    };
    let mut u = Unstructured::new(data);
    for (i, (_, text)) in files.iter().enumerate() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else { continue };
        let (Some(name), Some(version)) = (value["name"].as_str(), value["version"].as_u64()) else { continue };
        let Some(set) = u32::try_from(version).ok().and_then(|v| book.get(name, v)) else { continue };
        same_whatever_the_layout(set, &files, i, &value);
        let _ = put_to_work(set, &mut u);
    }
    reports(&book);
});

/// The standings and evaluations of a recorded year under the rules loaded, which replace the
/// shipped rule sets of the same name and version (those the cell's programme names among
/// them): computed without a panic.
fn reports(book: &RuleBook) {
    static STATE: OnceLock<State> = OnceLock::new();
    let state = STATE.get_or_init(|| chibo_fuzz::recorded::busy_log().state);
    let province = Id::parse("org", "ca-mau").expect("an id");
    let _ = standings::committee(state, book, &province, 2026, 5);
    let classifications = book.iter().filter(|set| matches!(set.body, RuleSetBody::Classification(_)));
    for set in classifications {
        let _ = evaluation::evaluate(state, book, &province, 2026, &set.name, set.version);
    }
}

/// The rule set of `files[i]`, read from `value` laid out another way, is the same rule set.
fn same_whatever_the_layout(set: &RuleSet, files: &[(&str, &str)], i: usize, value: &serde_json::Value) {
    let pretty = serde_json::to_string_pretty(value).expect("a JSON value writes");
    let mut relaid = files.to_vec();
    relaid[i].1 = &pretty;
    let book = RuleBook::with_files(relaid).expect("the same rules, laid out otherwise");
    assert_eq!(book.get(&set.name, set.version), Some(set));
}

fn put_to_work(set: &RuleSet, u: &mut Unstructured<'_>) -> Result<()> {
    match &set.body {
        RuleSetBody::Meetings(rules) => meetings(rules, u),
        RuleSetBody::MeetingScore(rubric) => meeting_score(rubric, u),
        RuleSetBody::Programme(template) => programme(template, u),
        RuleSetBody::Classification(rules) => classification(rules, u),
    }
}

/// A count the log could give for one cell in a year.
fn count(u: &mut Unstructured<'_>) -> Result<u32> {
    u.int_in_range(0..=5_000)
}

fn meetings(rules: &MeetingRules, u: &mut Unstructured<'_>) -> Result<()> {
    let (present, excused, unexcused) = (count(u)?, count(u)?, count(u)?);
    let facts = MeetingFacts {
        kind: *u.choose(MeetingKind::ALL)?,
        duration_minutes: u.int_in_range(0..=24 * 60)?,
        combined_with_other_kind_same_day: u.arbitrary()?,
        expected: present + excused + unexcused,
        present,
        excused,
        unexcused,
        speakers: u.int_in_range(0..=present)?,
        committee_prepared: u.arbitrary()?,
        documents_posted_days_before: u.arbitrary::<Option<u16>>()?.map(i64::from),
        longest_excused_run: u.int_in_range(0..=12)?,
    };
    let _ = rules.judge(&facts);
    let mut regular = [0u32; 12];
    for month in &mut regular {
        *month = u.int_in_range(0..=31)?;
    }
    let mut thematic = [0u32; 4];
    for quarter in &mut thematic {
        *quarter = u.int_in_range(0..=92)?;
    }
    let cadence = rules.cadence(&regular, &thematic, u.arbitrary()?, u.arbitrary()?);
    assert!(cadence.regular_held <= cadence.regular_expected);
    assert_eq!(cadence.every_meeting_held, cadence.months_missing.is_empty() && cadence.quarters_missing.is_empty());
    let _ = rules.proposed_for_removal(u.int_in_range(0..=12)?);
    Ok(())
}

fn meeting_score(rubric: &Rubric, u: &mut Unstructured<'_>) -> Result<()> {
    let full: Vec<(String, u32)> = rubric.parts().iter().map(|p| (p.id.clone(), p.max)).collect();
    assert_eq!(rubric.check(&full), Ok(100), "every part at its maximum is the full score");
    assert_eq!(rubric.band(&full), &rubric.bands()[0], "the full score is in the top band");
    let mut parts = Vec::new();
    for part in rubric.parts() {
        parts.push((part.id.clone(), u.int_in_range(0..=part.max)?));
    }
    let total: u32 = parts.iter().map(|(_, p)| p).sum();
    assert_eq!(rubric.check(&parts), Ok(total));
    let band = rubric.band(&parts);
    assert!(band.min <= total);
    let bands: Vec<_> = (0..u.int_in_range(0..=12)?).map(|_| u.choose(rubric.bands())).collect::<Result<_>>()?;
    let year = rubric.year_band(&bands);
    assert!(year.top_band_meetings as usize <= bands.len() && year.below_floor as usize <= bands.len());
    Ok(())
}

fn programme(template: &ProgrammeTemplate, u: &mut Unstructured<'_>) -> Result<()> {
    let id = Id::parse("programme_id", "kieu-mau-2026").expect("an id");
    let launched = template.launch(id, 2026, "Chi bộ kiểu mẫu".to_owned());
    if let Err(e) = ProgrammeLaunched::new(launched) {
        panic!("a programme that loaded cannot launch: {e}");
    }
    let indicators: Vec<_> = template.framework().iter().flat_map(|c| &c.indicators).collect();
    let full: Vec<(String, u32)> = indicators.iter().map(|i| (i.id.clone(), i.max)).collect();
    let verdict = template.assess(&full).expect("every indicator at its maximum is a valid score");
    assert_eq!(verdict.total, indicators.iter().map(|i| i.max).sum::<u32>());
    let mut scores = Vec::new();
    for indicator in indicators {
        if u.arbitrary()? {
            let points = match template.marking() {
                Marking::MetOrNotMet => *u.choose(&[0, indicator.max])?,
                Marking::Points => u.int_in_range(0..=indicator.max)?,
            };
            scores.push((indicator.id.clone(), points));
        }
    }
    let partial = template.assess(&scores).expect("scores within each maximum are valid");
    assert!(partial.total <= verdict.total);
    Ok(())
}

fn classification(rules: &ClassificationRules, u: &mut Unstructured<'_>) -> Result<()> {
    let year = u.int_in_range(2000..=2100)?;
    let mut members = Vec::new();
    for n in 0..u.int_in_range(0..=8)? {
        let (expected, assigned) = (count(u)?, count(u)?);
        let months_active = u.int_in_range(0..=12)?;
        let admitted = Date::parse(
            "admitted_on",
            &format!("{year}-{:02}-{:02}", u.int_in_range(1..=12)?, u.int_in_range(1..=28)?),
        )
        .expect("a date");
        members.push(MemberYear {
            member_id: format!("m{n}"),
            cell_id: "tan-hoa".to_owned(),
            admitted_on: if u.arbitrary()? { Some(admitted) } else { None },
            meetings_expected: expected,
            meetings_present: u.int_in_range(0..=expected)?,
            meetings_unexcused: u.int_in_range(0..=expected)?,
            months_active,
            months_meeting_points_minimum: u.int_in_range(0..=months_active)?,
            points_total: u.int_in_range(0..=200 * 366)?,
            points_target: u.int_in_range(0..=100 * 12)?,
            tasks_assigned: assigned,
            tasks_done_on_time: u.int_in_range(0..=assigned)?,
            tasks_late: u.int_in_range(0..=assigned)?,
            times_spoke: count(u)?,
            commendations: count(u)?,
            reminders: count(u)?,
            criticisms: count(u)?,
        });
    }
    let classified = rules.classify_members(year, &members);
    assert_eq!(classified.len(), members.len());
    let mut cells = Vec::new();
    for n in 0..u.int_in_range(0..=8)? {
        let (regular, thematic, attendance, months, assigned) = (count(u)?, count(u)?, count(u)?, count(u)?, count(u)?);
        cells.push(CellYear {
            cell_id: format!("c{n}"),
            regular_expected: regular,
            regular_held: u.int_in_range(0..=regular)?,
            thematic_expected: thematic,
            thematic_held: count(u)?,
            attendance_expected: attendance,
            attendance_present: u.int_in_range(0..=attendance)?,
            member_months: months,
            member_months_meeting_points_minimum: u.int_in_range(0..=months)?,
            indicator_score: if u.arbitrary()? { Some(u.int_in_range(0..=100)?) } else { None },
            tasks_assigned: assigned,
            tasks_late: u.int_in_range(0..=assigned)?,
            members_disciplined: count(u)?,
        });
    }
    let classified_cells = rules.classify_cells(year, &cells);
    assert_eq!(classified_cells.len(), cells.len());
    for c in classified.iter().chain(&classified_cells) {
        let sum: u32 = c.components.iter().map(|(_, points)| points).sum();
        assert_eq!(c.score_permille, sum, "{}: the score is the sum of its components", c.id);
    }
    Ok(())
}
