//! The plan replayed against the rules the server enforces on every submission (and a few the
//! demo sets itself): parents before children, members in one cell at a time, attendance that
//! lists exactly the cell's members, one regular meeting a month, study points within the daily
//! limit, indicator scores within the framework, decisions in the launching committee's stream.

use std::collections::{BTreeMap, BTreeSet};

use chibo_domain::{
    event::{AttendanceStatus, MeetingKind, MembershipChange, OrgLevel, ProgrammeLaunched, ScoredBy, Submission},
    Date, Event, EventId, Timestamp,
};

use super::{build, calendar::Day, plan::MAX_BATCH, Plan, Settings};

const YEAR: i32 = 2025;

fn settings(seed: u64, cells: usize) -> Settings {
    Settings { seed, cells, year: YEAR }
}

fn day(date: &Date) -> Day {
    Day::ymd(i32::from(date.year()), u32::from(date.month()), u32::from(date.day()))
}

/// The day in Vietnam of an instant.
fn vietnam_day(t: &Timestamp) -> Day {
    let days = (t.seconds() + 7 * 3600).div_euclid(86_400) as i32;
    Day::ymd(1970, 1, 1).plus(days)
}

#[derive(Default)]
struct Membership {
    from: Option<Day>,
    until: Option<Day>,
}

impl Membership {
    fn active_on(&self, d: Day) -> bool {
        self.from.is_some_and(|f| f <= d) && self.until.is_none_or(|u| d < u)
    }
}

struct Meeting {
    present: BTreeSet<String>,
}

#[derive(Default)]
struct CellState {
    registered_on: Option<Day>,
    parent: String,
    members: BTreeMap<String, Membership>,
    meetings: BTreeMap<String, Meeting>,
    regular_months: BTreeSet<u32>,
    /// Thematic meetings held, by quarter.
    thematic_quarters: BTreeMap<u32, u32>,
    meeting_days: BTreeSet<Day>,
    resolutions: BTreeSet<String>,
    tasks: BTreeMap<String, (String, bool)>,
    points: BTreeMap<(String, Day), (u32, u32)>,
    /// Days on which a member joined or left: nothing of theirs may fall on them.
    boundaries: BTreeSet<(String, Day)>,
}

struct ProgrammeState {
    committee: String,
    launched: ProgrammeLaunched,
}

/// (programme, cell).
type Enrolled = (String, String);
/// (criterion, met) at an inspection.
type Checks = Vec<(String, bool)>;
/// Points per indicator.
type Points = BTreeMap<String, u32>;

#[derive(Default)]
struct World {
    /// org id → (level, parent, registration day).
    orgs: BTreeMap<String, (OrgLevel, Option<String>, Day)>,
    cells: BTreeMap<String, CellState>,
    /// member → the cell they are active in, if any.
    active_in: BTreeMap<String, String>,
    /// member → the cell that recorded their transfer out, and to where.
    transferred_out: BTreeMap<String, (String, String)>,
    programmes: BTreeMap<String, ProgrammeState>,
    registrations: BTreeSet<(String, String)>,
    selections: BTreeSet<(String, String)>,
    inspections: BTreeMap<Enrolled, (Day, Checks)>,
    totals: BTreeMap<(String, String), Vec<u32>>,
    /// (programme, cell) → each month's points per indicator.
    scores: BTreeMap<Enrolled, Vec<(u32, Points)>>,
    scored: BTreeSet<(String, String, String)>,
    certified: Vec<(String, String, u32)>,
    last_instant: BTreeMap<String, Timestamp>,
    ids: BTreeSet<EventId>,
    today: Day,
}

impl World {
    fn ancestors(&self, org: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = self.orgs.get(org).and_then(|o| o.1.clone());
        while let Some(id) = at {
            at = self.orgs[&id].1.clone();
            out.push(id);
        }
        out
    }

    fn apply(&mut self, stream: &str, submission: Submission) {
        let Submission { event_id, occurred_at, event } = submission;
        let what = format!("{stream}: {} {event_id}", event.event_type());
        assert!(self.ids.insert(event_id), "{what}: the event id is used twice");
        let on = vietnam_day(&occurred_at);
        assert!(on <= self.today, "{what}: occurred_at is in the future");
        if let Some(last) = self.last_instant.insert(stream.to_owned(), occurred_at) {
            assert!(last <= occurred_at, "{what}: the stream goes back in time");
        }
        let check_date = |date: &Date| {
            assert!(day(date) <= self.today, "{what}: {date} is in the future");
            day(date)
        };
        if let Some(cell) = stream.strip_prefix("cell-") {
            if !matches!(event, Event::OrganizationRegistered(_)) {
                let state = self.cells.get(cell).unwrap_or_else(|| panic!("{what}: the cell is not registered"));
                assert!(on >= state.registered_on.unwrap(), "{what}: before the cell was registered");
            }
        }
        match event {
            Event::OrganizationRegistered(e) => {
                let id = e.org_id.to_string();
                let parent = e.parent_id.as_ref().map(ToString::to_string);
                if let Some(parent) = &parent {
                    let (level, ..) =
                        self.orgs.get(parent).unwrap_or_else(|| panic!("{what}: parent {parent} unknown"));
                    let fits = match e.level {
                        OrgLevel::Cell => matches!(level, OrgLevel::Grassroots | OrgLevel::District | OrgLevel::Bloc),
                        OrgLevel::Grassroots => matches!(level, OrgLevel::District | OrgLevel::Bloc),
                        OrgLevel::Bloc | OrgLevel::District => *level == OrgLevel::Province,
                        OrgLevel::Province => false,
                    };
                    assert!(fits, "{what}: a {} under a {level}", e.level);
                }
                assert!(self.orgs.insert(id.clone(), (e.level, parent.clone(), on)).is_none(), "{what}: twice");
                if e.level == OrgLevel::Cell {
                    let state = CellState { registered_on: Some(on), parent: parent.unwrap(), ..Default::default() };
                    self.cells.insert(id, state);
                }
            }
            Event::MemberJoined(e) => {
                let cell = &stream[5..];
                let member = e.member_id.to_string();
                let d = check_date(&e.date);
                assert!(d >= self.cells[cell].registered_on.unwrap(), "{what}: joined before the cell existed");
                assert!(!self.active_in.contains_key(&member), "{what}: {member} is active in another cell");
                if e.how == MembershipChange::TransferredIn {
                    let (from, to) = self.transferred_out.remove(&member).expect("the transfer out came first");
                    assert_eq!((from.as_str(), to.as_str()), (e.transfer_cell_id.as_ref().unwrap().as_str(), cell));
                }
                self.active_in.insert(member.clone(), cell.to_owned());
                let state = self.cells.get_mut(cell).unwrap();
                assert!(!state.members.contains_key(&member), "{what}: joined the same cell twice");
                state.members.insert(member.clone(), Membership { from: Some(d), until: None });
                state.boundaries.insert((member, d));
            }
            Event::MemberLeft(e) => {
                let cell = &stream[5..];
                let member = e.member_id.to_string();
                let d = check_date(&e.date);
                assert_eq!(self.active_in.remove(&member).as_deref(), Some(cell), "{what}: not a member here");
                if e.how == MembershipChange::TransferredOut {
                    let to = e.transfer_cell_id.as_ref().unwrap().to_string();
                    self.transferred_out.insert(member.clone(), (cell.to_owned(), to));
                }
                let state = self.cells.get_mut(cell).unwrap();
                state.members.get_mut(&member).unwrap().until = Some(d);
                state.boundaries.insert((member, d));
            }
            Event::MemberRoleAssigned(e) => {
                let state = &self.cells[&stream[5..]];
                assert!(state.members[e.member_id.as_str()].active_on(day(&e.date)), "{what}: not a member then");
            }
            Event::ProgrammeLaunched(e) => {
                let committee = stream.strip_prefix("org-").unwrap().to_owned();
                let id = e.programme_id.to_string();
                assert!(self.programmes.insert(id, ProgrammeState { committee, launched: e }).is_none());
            }
            Event::CellRegistered(e) => {
                let cell = &stream[5..];
                let programme = &self.programmes[e.programme_id.as_str()];
                assert!(self.ancestors(cell).contains(&programme.committee), "{what}: not under the launcher");
                assert!(self.registrations.insert((e.programme_id.to_string(), cell.to_owned())), "{what}: twice");
            }
            Event::CellSelected(e) => {
                let key = self.decision(stream, e.programme_id.as_str(), e.cell_id.as_str(), &what);
                assert!(self.registrations.contains(&key), "{what}: not registered");
                assert!(self.selections.insert(key), "{what}: selected twice");
            }
            Event::InspectionConducted(e) => {
                let programme = e.programme_id.as_ref().expect("inspections name the programme").to_string();
                let key = self.decision(stream, &programme, e.cell_id.as_str(), &what);
                let framework = &self.programmes[&programme].launched.framework;
                let checks: Vec<(String, bool)> =
                    e.criteria.iter().map(|c| (c.criterion_id.to_string(), c.met)).collect();
                let criteria: Vec<String> = framework.criteria.iter().map(|c| c.criterion_id.to_string()).collect();
                assert_eq!(
                    checks.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
                    criteria,
                    "{what}: every criterion"
                );
                self.inspections.insert(key, (day(&e.date), checks));
            }
            Event::CellCertified(e) => {
                let key = self.decision(stream, e.programme_id.as_str(), e.cell_id.as_str(), &what);
                assert!(self.selections.contains(&key), "{what}: not selected");
                let programme = &self.programmes[&key.0].launched;
                let (_, checks) = self.inspections.get(&key).unwrap_or_else(|| panic!("{what}: not inspected"));
                for (criterion, (_, met)) in programme.framework.criteria.iter().zip(checks) {
                    assert!(!criterion.hard || *met, "{what}: a hard criterion was not met");
                }
                let totals = &self.totals[&key];
                assert!(e.score >= programme.certification_threshold, "{what}: below the threshold");
                assert_eq!(Some(&e.score), totals.last(), "{what}: the score is the latest monthly total");
                assert!(totals.iter().any(|t| *t >= programme.certification_threshold));
                self.certified.push((key.0, key.1, e.score));
            }
            Event::MeetingHeld(e) => {
                let cell = &stream[5..];
                let d = check_date(&e.date);
                assert!(e.duration_minutes >= 90, "{what}: too short");
                assert!(e.documents_posted_on.is_some_and(|p| day(&p) < d), "{what}: documents not posted before");
                let state = self.cells.get_mut(cell).unwrap();
                let listed: BTreeSet<String> = e.attendance.iter().map(|a| a.member_id.to_string()).collect();
                assert_eq!(listed.len(), e.attendance.len(), "{what}: a member listed twice");
                let active: BTreeSet<String> =
                    state.members.iter().filter(|(_, m)| m.active_on(d)).map(|(id, _)| id.clone()).collect();
                assert_eq!(listed, active, "{what}: attendance is every member of the cell that day");
                assert!((8..=40).contains(&active.len()), "{what}: {} members", active.len());
                for member in &listed {
                    assert!(
                        !state.boundaries.contains(&(member.clone(), d)),
                        "{what}: {member} joins or leaves that day"
                    );
                }
                let present = e
                    .attendance
                    .iter()
                    .filter(|a| a.status == AttendanceStatus::Present)
                    .map(|a| a.member_id.to_string())
                    .collect();
                match e.kind {
                    MeetingKind::Regular => {
                        assert!(state.regular_months.insert(d.month()), "{what}: a second regular meeting in the month")
                    }
                    MeetingKind::Thematic => {
                        assert!(d.month() % 3 != 0, "{what}: a thematic meeting in a quarter's last month");
                        *state.thematic_quarters.entry(d.month().div_ceil(3)).or_default() += 1;
                    }
                    MeetingKind::Extraordinary => {}
                }
                assert!(state.meeting_days.insert(d), "{what}: two meetings on one day");
                let fresh = state.meetings.insert(e.meeting_id.to_string(), Meeting { present }).is_none();
                assert!(fresh, "{what}: the meeting id is used twice");
            }
            Event::MemberSpoke(e) => self.present(stream, e.meeting_id.as_str(), e.member_id.as_str(), &what),
            Event::MemberCommended(e) => self.present(stream, e.meeting_id.as_str(), e.member_id.as_str(), &what),
            Event::MemberReminded(e) => self.present(stream, e.meeting_id.as_str(), e.member_id.as_str(), &what),
            Event::ResolutionAdopted(e) => {
                let state = self.cells.get_mut(&stream[5..]).unwrap();
                assert!(state.meetings.contains_key(e.meeting_id.as_str()), "{what}: no such meeting");
                assert!(state.resolutions.insert(e.resolution_id.to_string()), "{what}: resolution id twice");
            }
            Event::TaskAssigned(e) => {
                let state = self.cells.get_mut(&stream[5..]).unwrap();
                assert!(e.resolution_id.as_ref().is_some_and(|r| state.resolutions.contains(r.as_str())));
                let fresh = state.tasks.insert(e.task_id.to_string(), (e.member_id.to_string(), false)).is_none();
                assert!(fresh, "{what}: task id twice");
            }
            Event::TaskCompleted(e) => {
                check_date(&e.date);
                let state = self.cells.get_mut(&stream[5..]).unwrap();
                let task = state.tasks.get_mut(e.task_id.as_str()).unwrap_or_else(|| panic!("{what}: no such task"));
                assert_eq!(task.0, e.member_id.as_str(), "{what}: not by its assignee");
                assert!(!task.1, "{what}: completed twice");
                task.1 = true;
            }
            Event::MeetingScored(e) => {
                let cell = &stream[5..];
                let state = &self.cells[cell];
                assert!(state.meetings.contains_key(e.meeting_id.as_str()), "{what}: no such meeting");
                assert_eq!((e.rubric.name.as_str(), e.rubric.version), super::year::RUBRIC);
                let parts: Vec<(&str, u32)> = e.parts.iter().map(|p| (p.part.as_str(), p.points)).collect();
                assert_eq!(parts.len(), 4, "{what}");
                for ((part, points), (name, max)) in parts.iter().zip(super::year::RUBRIC_PARTS) {
                    assert!(*part == name && *points <= max, "{what}: {part} {points}");
                }
                let scorer = e.scorer.to_string();
                let member = state.members.get(&scorer).is_some_and(|m| m.active_on(on));
                assert!(member || self.ancestors(cell).contains(&scorer), "{what}: scorer {scorer}");
            }
            Event::StudyPointsEarned(e) => {
                let d = check_date(&e.date);
                let member = e.member_id.to_string();
                let state = self.cells.get_mut(&stream[5..]).unwrap();
                assert!((1..=60).contains(&e.points), "{what}: {} points", e.points);
                assert!(state.members.get(&member).is_some_and(|m| m.active_on(d)), "{what}: not a member that day");
                assert!(!state.boundaries.contains(&(member.clone(), d)), "{what}: on a day {member} joins or leaves");
                let (total, count) = state.points.entry((member, d)).or_default();
                *total += e.points;
                *count += 1;
                assert!(*total <= 200 && *count == 1, "{what}: {count} sessions, {total} points in a day");
            }
            Event::IndicatorsScored(e) => {
                let cell = &stream[5..];
                let programme = e.programme_id.to_string();
                let key = (programme.clone(), cell.to_owned());
                assert!(self.registrations.contains(&key), "{what}: not registered in the programme");
                let launched = &self.programmes[&programme].launched;
                assert_eq!(i32::from(e.period.year()), i32::from(launched.year), "{what}: period outside the year");
                assert_eq!(e.scored_by, ScoredBy::Cell);
                let maxima: BTreeMap<String, u32> =
                    launched.framework.indicators().map(|i| (i.indicator_id.to_string(), i.max_points)).collect();
                assert_eq!(e.scores.len(), maxima.len(), "{what}: every indicator");
                for s in &e.scores {
                    assert!(s.points <= maxima[s.indicator_id.as_str()], "{what}: {} over its maximum", s.indicator_id);
                }
                let fresh = self.scored.insert((programme, cell.to_owned(), e.period.to_string()));
                assert!(fresh, "{what}: scored twice for the month");
                self.totals.entry(key.clone()).or_default().push(e.scores.iter().map(|s| s.points).sum());
                let points = e.scores.iter().map(|s| (s.indicator_id.to_string(), s.points)).collect();
                self.scores.entry(key).or_default().push((u32::from(e.period.month()), points));
            }
            Event::CandidateTrained(e) => {
                check_date(&e.date);
            }
            other => panic!("{what}: the demo does not write {}", other.event_type()),
        }
    }

    /// Checks that a committee decision about `cell` is in the stream of the committee that
    /// launched `programme`, an ancestor of the cell; the (programme, cell) key.
    fn decision(&self, stream: &str, programme: &str, cell: &str, what: &str) -> (String, String) {
        let committee = &self.programmes[programme].committee;
        assert_eq!(stream, format!("org-{committee}"), "{what}: not in the launcher's stream");
        assert!(self.ancestors(cell).contains(committee), "{what}: the launcher is not above the cell");
        (programme.to_owned(), cell.to_owned())
    }

    fn present(&self, stream: &str, meeting: &str, member: &str, what: &str) {
        let meeting = &self.cells[&stream[5..]].meetings.get(meeting).unwrap_or_else(|| panic!("{what}: no meeting"));
        assert!(meeting.present.contains(member), "{what}: {member} was not present");
    }
}

/// Replays `plan` in its order.
fn replay(plan: &Plan) -> World {
    let mut world = World { today: Day::today_in_vietnam(), ..Default::default() };
    for batch in &plan.batches {
        assert!(!batch.events.is_empty() && batch.events.len() <= MAX_BATCH);
        for event in &batch.events {
            world.apply(&batch.stream, Submission::try_from(event.clone()).expect("every event is valid"));
        }
    }
    world
}

#[test]
fn a_province_keeps_every_rule() {
    let plan = build(&settings(11, 60)).unwrap();
    let world = replay(&plan);
    assert_eq!(world.cells.len(), 60);
    let mut keen = 0;
    for (id, cell) in &world.cells {
        assert_eq!(cell.regular_months, (1..=12).collect(), "{id}: one regular meeting each month");
        let thematic: u32 = cell.thematic_quarters.values().sum();
        assert_eq!(cell.meetings.len(), 12 + thematic as usize, "{id}: regular and thematic meetings only");
        assert!(
            cell.thematic_quarters.keys().eq(&[1, 2, 3, 4]) && cell.thematic_quarters.values().all(|&n| n <= 2),
            "{id}: one or two thematic meetings each quarter: {:?}",
            cell.thematic_quarters
        );
        keen += usize::from(thematic >= 6);
        assert!(world.orgs.contains_key(&cell.parent));
    }
    assert!((10..=35).contains(&keen), "about one cell in three holds six thematic meetings or more: {keen} of 60");
    assert!(world.transferred_out.is_empty(), "every transfer out arrives somewhere");
    assert!(!world.certified.is_empty());
}

#[test]
fn a_cell_that_fails_a_hard_criterion_at_inspection_scores_it_below_its_pass_mark_from_then_on() {
    let book = chibo_projections::rules::RuleBook::defaults();
    let mut failures = 0;
    for seed in 1..=3 {
        let world = replay(&build(&settings(seed, 60)).unwrap());
        for ((programme, cell), (inspected, checks)) in &world.inspections {
            let template = book.programme(programme.trim_end_matches(&format!("-{YEAR}")), 1).unwrap();
            for criterion in template.framework() {
                let Some(pass) = criterion.pass_points else { continue };
                let met = checks.iter().find(|(id, _)| *id == criterion.id).unwrap().1;
                for (month, points) in &world.scores[&(programme.clone(), cell.clone())] {
                    let got: u32 = criterion.indicators.iter().map(|i| points[&i.id]).sum();
                    if !met && *month >= inspected.month() {
                        assert!(got < pass, "{cell}: {got} points on {} in month {month}", criterion.id);
                    }
                    if met && *month == 12 {
                        assert!(got >= pass, "{cell}: met {} at inspection, {got} points in December", criterion.id);
                    }
                }
                failures += usize::from(!met);
            }
        }
    }
    assert!(failures > 0, "some selected cell fails a hard criterion");
}

#[test]
fn the_year_has_comings_and_goings() {
    let plan = build(&settings(11, 60)).unwrap();
    let mut hows = BTreeSet::new();
    for batch in &plan.batches {
        for event in &batch.events {
            match Submission::try_from(event.clone()).unwrap().event {
                Event::MemberJoined(e) if e.date.year() as i32 == YEAR => {
                    hows.insert(e.how.name());
                }
                Event::MemberLeft(e) => {
                    hows.insert(e.how.name());
                }
                _ => {}
            }
        }
    }
    let all = ["admitted", "deceased", "removed", "transferred_in", "transferred_out"];
    assert_eq!(hows, all.into_iter().collect());
}

#[test]
fn the_showcase_cells_are_certified_and_chi_bo_3_rises_from_76() {
    let plan = build(&settings(7, 6)).unwrap();
    let world = replay(&plan);
    let certified: BTreeSet<&str> = world.certified.iter().map(|(_, cell, _)| cell.as_str()).collect();
    assert!(certified.contains("bv-nhi-chi-bo-3") && certified.contains("an-thai-a-sao"), "{certified:?}");
    let (programme, totals) =
        world.totals.iter().find(|((_, cell), _)| cell == "bv-nhi-chi-bo-3").map(|((p, _), t)| (p, t)).unwrap();
    let threshold = world.programmes[programme].launched.certification_threshold;
    assert_eq!(totals.len(), 12);
    assert_eq!(totals[0], threshold.saturating_sub(14), "Chi bộ 3 starts 14 points short (76 of 90)");
    assert!(totals[11] > threshold, "and ends over the threshold: {totals:?}");
}

#[test]
fn attendance_lists_every_active_member_once_and_points_stay_under_the_daily_limit() {
    // The replay asserts both for every meeting and every point; this names the invariants on
    // a second seed, and checks speakers where a cell is big enough.
    let plan = build(&settings(3, 20)).unwrap();
    replay(&plan);
    let mut speakers: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut sizes: BTreeMap<(String, String), usize> = BTreeMap::new();
    for batch in &plan.batches {
        for event in &batch.events {
            match Submission::try_from(event.clone()).unwrap().event {
                Event::MeetingHeld(e) => {
                    let present = e.attendance.iter().filter(|a| a.status == AttendanceStatus::Present).count();
                    sizes.insert((batch.stream.clone(), e.meeting_id.to_string()), present);
                }
                Event::MemberSpoke(e) => {
                    *speakers.entry((batch.stream.clone(), e.meeting_id.to_string())).or_default() += 1;
                }
                _ => {}
            }
        }
    }
    for (meeting, present) in sizes {
        let spoke = speakers.get(&meeting).copied().unwrap_or(0);
        if present >= 12 {
            assert!((7..=10).contains(&spoke), "{meeting:?}: {spoke} of {present} spoke");
        } else {
            assert!(spoke >= 2.min(present), "{meeting:?}: {spoke} of {present} spoke");
        }
    }
}

/// Batches of one wave in different streams do not depend on each other: with each wave's
/// streams replayed in reverse order (each stream's own batches still in order), the plan keeps
/// every rule. `chibo-bench load` sends them at once.
#[test]
fn the_streams_of_a_wave_can_go_in_any_order() {
    let plan = build(&settings(11, 60)).unwrap();
    assert!(plan.batches.windows(2).all(|w| w[0].wave <= w[1].wave), "the plan never goes back a wave");
    let mut reordered = Vec::with_capacity(plan.batches.len());
    let mut rest = plan.batches.as_slice();
    while let Some(first) = rest.first() {
        let end = rest.iter().position(|b| b.wave != first.wave).unwrap_or(rest.len());
        let (wave, next) = rest.split_at(end);
        let mut streams: Vec<&str> = Vec::new();
        for batch in wave {
            if !streams.contains(&batch.stream.as_str()) {
                streams.push(&batch.stream);
            }
        }
        for stream in streams.iter().rev() {
            reordered.extend(wave.iter().filter(|b| b.stream == *stream).cloned());
        }
        rest = next;
    }
    assert!(plan.batches.iter().map(|b| b.wave).max() > Some(5), "transfers make several waves of cells");
    let world = replay(&Plan { batches: reordered, ..plan.clone() });
    assert!(world.transferred_out.is_empty(), "every transfer out arrives somewhere");
}

#[test]
fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
    let a = build(&settings(7, 6)).unwrap();
    assert_eq!(a, build(&settings(7, 6)).unwrap());
    let b = build(&settings(8, 6)).unwrap();
    let first_ids = |p: &Plan| p.batches[0].events[0].event_id.clone();
    assert_ne!(first_ids(&a), first_ids(&b));
    assert_ne!(a.batches, b.batches);
    let other_year = build(&Settings { year: YEAR - 1, ..settings(7, 6) }).unwrap();
    assert_ne!(first_ids(&a), first_ids(&other_year), "another year gives other event ids");
}
