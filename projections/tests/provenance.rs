//! Provenance of standings figures: for random valid histories — meetings, speaking,
//! commendations, reminders, scores, study points, tasks, indicator scores, corrections that move
//! events between months, members and meetings, and retractions — every figure a member's or a
//! cell's standing shows is explained by events whose counted contributions add back up to it,
//! each event listed as the log holds it; and on a small history worked out by hand, the list
//! is the one an inspector would write.

use std::collections::BTreeMap;

use chibo_domain::event::*;
use chibo_domain::{Date, Event, EventId, Id, Period, StreamName, Timestamp};
use chibo_projections::provenance::{
    self, Provenance, ProvenanceError, Question, Rule, Selectors, CELL_FIGURES, MEMBER_FIGURES,
};
use chibo_projections::rules::RuleBook;
use chibo_projections::standings;
use chibo_projections::validate::{check_submission, Candidate, Context, Limits};
use chibo_projections::{Recorded, State};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

mod common;
use common::{id, org};

fn date(s: &str) -> Date {
    Date::parse("date", s).unwrap()
}

/// Noon in Vietnam on `d`.
fn at(d: Date) -> Timestamp {
    Timestamp::new("t", d.days_since_epoch() * 86_400 + 5 * 3600, 0).unwrap()
}

/// A log built through the rules, and the state it folds into.
struct Log {
    events: Vec<Recorded>,
    state: State,
    rules: RuleBook,
    ids: StdRng,
    /// Whether events must pass today's rules; without them, the log is one written before a
    /// rule existed (two regular meetings in a month, meetings before the cell's registration),
    /// which the state keeps as recorded.
    checked: bool,
}

impl Log {
    fn new(seed: u64, checked: bool) -> Self {
        let ids = StdRng::seed_from_u64(seed);
        Log { events: Vec::new(), state: State::new(), rules: RuleBook::defaults(), ids, checked }
    }

    /// Records `event` in `stream` if the rules accept it (or are not checked); its event id
    /// if it is recorded.
    fn offer(&mut self, stream: &StreamName, event: Event, on: Date) -> Option<EventId> {
        let event_id = EventId::from_bytes(self.ids.gen::<[u8; 16]>());
        let limits = Limits::default();
        let cx = Context { rules: &self.rules, limits: &limits, today: date("2026-11-22") };
        let candidate = Candidate { event_id, occurred_at: at(on), event: &event };
        if self.checked {
            check_submission(&mut self.state, &cx, stream, &[candidate]).ok()?;
        }
        let recorded = Recorded {
            position: self.events.len() as u64,
            stream: stream.clone(),
            revision: self.state.stream(stream).map_or(0, |s| s.next_revision),
            event_id,
            occurred_at: at(on),
            recorded_at: at(on),
            hash: self.ids.gen(),
            event: Some(event),
        };
        drop(self.state.apply(&recorded));
        self.events.push(recorded);
        Some(event_id)
    }

    /// Records `event`, which the rules must accept.
    fn record(&mut self, stream: &StreamName, event: impl Into<Event>, on: &str) -> EventId {
        let event = event.into();
        let what = format!("{event:?}");
        self.offer(stream, event, date(on)).unwrap_or_else(|| panic!("the rules accept {what}"))
    }

    /// The events of `stream`, in revision order: what the server reads from the store.
    fn stream(&self, stream: &StreamName) -> Vec<Recorded> {
        self.events.iter().filter(|e| &e.stream == stream).cloned().collect()
    }

    fn explain(&self, question: &Question) -> Result<Provenance, ProvenanceError> {
        let stream = provenance::stream_of(&self.state, question)?;
        provenance::explain(&self.state, &self.rules, question, &self.stream(&stream))
    }
}

// Events, as the tests build them.

fn launched(programme: &str, year: u16) -> Event {
    let indicator = |i: &str, max_points| {
        Indicator::new(IndicatorFields { indicator_id: id(i), name: i.into(), max_points }).unwrap()
    };
    let criterion = |c: &str, hard, indicators| {
        Criterion::new(CriterionFields { criterion_id: id(c), name: c.into(), hard, indicators }).unwrap()
    };
    let framework = CriteriaFramework::new(CriteriaFrameworkFields {
        criteria: vec![
            criterion("leads", false, vec![indicator("i1", 40), indicator("i2", 30)]),
            criterion("products", true, vec![indicator("i3", 30)]),
        ],
    })
    .unwrap();
    let rule_set = |name: &str| RuleSetRef::new(RuleSetRefFields { name: id(name), version: 1 }).unwrap();
    ProgrammeLaunched::new(ProgrammeLaunchedFields {
        programme_id: id(programme),
        year,
        name: format!("Chương trình {programme}"),
        framework,
        certification_threshold: 80,
        rule_sets: vec![rule_set("vn-meetings-hd12")],
        monthly_study_points_minimum: 20,
    })
    .unwrap()
    .into()
}

fn registered(programme: &str, on: Date) -> Event {
    CellRegistered::new(CellRegisteredFields { programme_id: id(programme), date: on }).unwrap().into()
}

fn joined(member: &Id, on: Date) -> Event {
    MemberJoined::new(MemberJoinedFields {
        member_id: member.clone(),
        name: format!("Đồng chí {member}"),
        date: on,
        how: MembershipChange::Admitted,
        transfer_cell_id: None,
    })
    .unwrap()
    .into()
}

fn left(member: &Id, on: Date) -> Event {
    MemberLeft::new(MemberLeftFields {
        member_id: member.clone(),
        date: on,
        how: MembershipChange::Removed,
        transfer_cell_id: None,
        reason: "xóa tên".into(),
    })
    .unwrap()
    .into()
}

fn attendance(member: &Id, status: AttendanceStatus) -> Attendance {
    let reason = if status == AttendanceStatus::Excused { "ốm" } else { "" };
    Attendance::new(AttendanceFields { member_id: member.clone(), status, reason: reason.into() }).unwrap()
}

fn held(meeting: &str, kind: MeetingKind, on: Date, attendance: Vec<Attendance>) -> Option<Event> {
    MeetingHeld::new(MeetingHeldFields {
        meeting_id: id(meeting),
        kind,
        date: on,
        duration_minutes: 120,
        topic: "Sinh hoạt chi bộ".into(),
        minutes: String::new(),
        attendance,
        guests: Vec::new(),
        check_in_source: CheckInSource::App,
        documents_posted_on: on.plus_days(-1),
        committee_prepared: true,
    })
    .ok()
    .map(Event::from)
}

fn spoke(meeting: &Id, member: &Id) -> Event {
    MemberSpoke::new(MemberSpokeFields {
        meeting_id: meeting.clone(),
        member_id: member.clone(),
        summary: "Phát biểu".into(),
    })
    .unwrap()
    .into()
}

fn commended(meeting: &Id, member: &Id) -> Event {
    MemberCommended::new(MemberCommendedFields {
        meeting_id: meeting.clone(),
        member_id: member.clone(),
        reason: "Gương mẫu".into(),
    })
    .unwrap()
    .into()
}

fn reminded(meeting: &Id, member: &Id, severity: ReminderSeverity) -> Event {
    MemberReminded::new(MemberRemindedFields {
        meeting_id: meeting.clone(),
        member_id: member.clone(),
        reason: "Nhắc nhở".into(),
        severity,
    })
    .unwrap()
    .into()
}

fn points(member: &Id, points: u32, on: Date) -> Event {
    StudyPointsEarned::new(StudyPointsEarnedFields {
        member_id: member.clone(),
        points,
        date: on,
        activity: "Nghị quyết".into(),
        source_ref: Default::default(),
    })
    .unwrap()
    .into()
}

fn task(task: &str, member: &Id, due: Date) -> Event {
    TaskAssigned::new(TaskAssignedFields {
        task_id: id(task),
        resolution_id: None,
        member_id: member.clone(),
        description: "Nhiệm vụ".into(),
        due,
    })
    .unwrap()
    .into()
}

fn task_done(task: &Id, member: &Id, on: Date) -> Event {
    TaskCompleted::new(TaskCompletedFields {
        task_id: task.clone(),
        member_id: member.clone(),
        date: on,
        outcome: "Hoàn thành".into(),
    })
    .unwrap()
    .into()
}

/// A score on `phutho-meeting-score` v1 (parts of 15, 20, 45 and 20 points).
fn scored(meeting: &Id, parts: [u32; 4], scorer: &Id) -> Event {
    let names = ["preparation", "attendance", "running", "closing"];
    let parts = names
        .iter()
        .zip(parts)
        .map(|(part, points)| ScorePart::new(ScorePartFields { part: (*part).into(), points }).unwrap())
        .collect();
    MeetingScored::new(MeetingScoredFields {
        meeting_id: meeting.clone(),
        rubric: RuleSetRef::new(RuleSetRefFields { name: id("phutho-meeting-score"), version: 1 }).unwrap(),
        parts,
        scorer: scorer.clone(),
    })
    .unwrap()
    .into()
}

fn indicators(programme: &str, period: &str, scores: [u32; 3], by: ScoredBy) -> Event {
    let scores = ["i1", "i2", "i3"]
        .iter()
        .zip(scores)
        .map(|(i, points)| IndicatorScore { indicator_id: id(i), points })
        .collect();
    IndicatorsScored::new(IndicatorsScoredFields {
        programme_id: id(programme),
        period: Period::parse("period", period).unwrap(),
        scores,
        scored_by: by,
    })
    .unwrap()
    .into()
}

fn corrected(target: EventId, replacement: Event) -> Event {
    EventCorrected::new(EventCorrectedFields {
        target_event_id: target,
        reason: "sửa sai sót".into(),
        replacement: Box::new(replacement),
    })
    .unwrap()
    .into()
}

fn retracted(target: EventId) -> Event {
    EventRetracted::new(EventRetractedFields { target_event_id: target, reason: "ghi nhầm".into() }).unwrap().into()
}

// ---------------------------------------------------------------------------------------------
// Random histories

const CELLS: [&str; 2] = ["c1", "c2"];
const PROGRAMME: &str = "kieu-mau";

/// Two years of two cells under one province that runs a programme for the year: members come
/// and go; meetings, speaking, commendations, reminders, scores, points, tasks, indicator
/// scores; corrections that move points between months and members, speaking between meetings,
/// attendance between present and absent; and retractions. The second cell is registered in
/// March. With `checked`, every event passes the rules; without, anything generated is kept.
fn random_log(seed: u64, steps: usize, checked: bool) -> Log {
    let mut log = Log::new(seed, checked);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let start = date("2025-01-01");
    let province = StreamName::Org(id("p"));
    log.record(&province, org("p", None, OrgLevel::Province), "2025-01-01");
    log.record(&province, launched(PROGRAMME, 2025), "2025-01-01");
    let since = [start, date("2025-03-15")];
    for (c, since) in CELLS.iter().zip(since) {
        let stream = StreamName::Cell(id(c));
        log.record(&stream, org(c, Some("p"), OrgLevel::Cell), &since.to_string());
        log.record(&stream, registered(PROGRAMME, since), &since.to_string());
    }
    let members: Vec<Id> = (0..8).map(|i| id(&format!("m{i}"))).collect();
    for (i, m) in members.iter().enumerate() {
        log.offer(&StreamName::Cell(id(CELLS[i % 2])), joined(m, since[i % 2]), since[i % 2]);
    }
    let mut day = 0i64;
    for step in 0..steps {
        day += rng.gen_range(0..3);
        let today = start.plus_days(day.min(640)).unwrap();
        let cell = id(CELLS[rng.gen_range(0..CELLS.len())]);
        let stream = StreamName::Cell(cell.clone());
        let member = members[rng.gen_range(0..members.len())].clone();
        let meetings: Vec<Id> =
            log.state.index().cells.get(&cell).map(|c| c.meetings.keys().cloned().collect()).unwrap_or_default();
        let meeting = (!meetings.is_empty()).then(|| meetings[rng.gen_range(0..meetings.len())].clone());
        let event: Event = match rng.gen_range(0..20) {
            0 => joined(&member, today),
            1 => left(&member, today),
            2..=4 => {
                let status = |rng: &mut StdRng| match rng.gen_range(0..6) {
                    0 => AttendanceStatus::Excused,
                    1 => AttendanceStatus::Unexcused,
                    _ => AttendanceStatus::Present,
                };
                let list = log.state.members_on(&cell, today).iter().map(|m| attendance(m, status(&mut rng))).collect();
                let kind = match rng.gen_range(0..10) {
                    0 => MeetingKind::Extraordinary,
                    1..=3 => MeetingKind::Thematic,
                    _ => MeetingKind::Regular,
                };
                let Some(event) = held(&format!("h{step}"), kind, today, list) else { continue };
                event
            }
            5 | 6 => match &meeting {
                Some(meeting) => spoke(meeting, &member),
                None => continue,
            },
            7 => match &meeting {
                Some(meeting) => commended(meeting, &member),
                None => continue,
            },
            8 => match &meeting {
                Some(meeting) => {
                    let severity =
                        if rng.gen_bool(0.5) { ReminderSeverity::Reminder } else { ReminderSeverity::Criticism };
                    reminded(meeting, &member, severity)
                }
                None => continue,
            },
            9 => match &meeting {
                Some(meeting) => {
                    let parts = [rng.gen_range(5..=15), rng.gen_range(5..=20), rng.gen_range(20..=45), 18];
                    let scorer = if rng.gen_bool(0.5) { member.clone() } else { id("p") };
                    scored(meeting, parts, &scorer)
                }
                None => continue,
            },
            10 | 11 => points(&member, rng.gen_range(1..120), today),
            12 => task(&format!("t{step}"), &member, today.plus_days(rng.gen_range(0..60)).unwrap()),
            13 => {
                let tasks: Vec<(Id, Id)> = log
                    .state
                    .stream(&stream)
                    .map(|b| {
                        b.facts()
                            .filter_map(|(_, f)| match &f.event {
                                Event::TaskAssigned(t) => Some((t.task_id.clone(), t.member_id.clone())),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if tasks.is_empty() {
                    continue;
                }
                let (t, m) = &tasks[rng.gen_range(0..tasks.len())];
                task_done(t, m, today)
            }
            14 => {
                let month = rng.gen_range(1..=12);
                let by = if rng.gen_bool(0.5) { ScoredBy::Cell } else { ScoredBy::Committee };
                let scores = [rng.gen_range(0..=40), rng.gen_range(0..=30), rng.gen_range(0..=30)];
                indicators(PROGRAMME, &format!("2025-{month:02}"), scores, by)
            }
            15..=17 => {
                let Some(book) = log.state.stream(&stream) else { continue };
                let facts: Vec<_> = book.facts().map(|(k, f)| (*k, f.event.clone())).collect();
                let (target, original) = facts[rng.gen_range(0..facts.len())].clone();
                let Some(replacement) = changed(&mut rng, original, &members, &meetings) else { continue };
                corrected(target, replacement)
            }
            _ => {
                let Some(book) = log.state.stream(&stream) else { continue };
                // A cell's registration is never retracted (the rules refuse it).
                let targets: Vec<EventId> = book
                    .facts()
                    .filter(|(_, f)| !matches!(f.event, Event::OrganizationRegistered(_)))
                    .map(|(id, _)| *id)
                    .collect();
                if targets.is_empty() {
                    continue;
                }
                retracted(targets[rng.gen_range(0..targets.len())])
            }
        };
        log.offer(&stream, event, today);
    }
    log
}

/// A plausible replacement for `original`: other points, on another day or for another member;
/// speaking at another meeting; attendance changed; another due date, severity, score.
fn changed(rng: &mut StdRng, original: Event, members: &[Id], meetings: &[Id]) -> Option<Event> {
    Some(match original {
        Event::StudyPointsEarned(p) => {
            let mut f = p.into_fields();
            match rng.gen_range(0..3) {
                0 => f.points = rng.gen_range(1..80),
                1 => f.date = f.date.plus_days(rng.gen_range(-20..20))?,
                _ => f.member_id = members[rng.gen_range(0..members.len())].clone(),
            }
            StudyPointsEarned::new(f).ok()?.into()
        }
        Event::MeetingHeld(m) => {
            let mut f = m.into_fields();
            let attendance = std::mem::take(&mut f.attendance);
            f.attendance = attendance
                .into_iter()
                .map(|a| {
                    let mut a = a.into_fields();
                    if rng.gen_bool(0.3) {
                        a.status = match a.status {
                            AttendanceStatus::Present => AttendanceStatus::Unexcused,
                            _ => AttendanceStatus::Present,
                        };
                        a.reason = String::new();
                    }
                    Attendance::new(a).unwrap()
                })
                .collect();
            MeetingHeld::new(f).ok()?.into()
        }
        Event::MemberSpoke(s) if !meetings.is_empty() => {
            let mut f = s.into_fields();
            f.meeting_id = meetings[rng.gen_range(0..meetings.len())].clone();
            MemberSpoke::new(f).ok()?.into()
        }
        Event::MemberReminded(r) => {
            let mut f = r.into_fields();
            f.severity = match f.severity {
                ReminderSeverity::Reminder => ReminderSeverity::Criticism,
                ReminderSeverity::Criticism => ReminderSeverity::Reminder,
            };
            MemberReminded::new(f).ok()?.into()
        }
        Event::TaskAssigned(t) => {
            let mut f = t.into_fields();
            f.due = f.due.plus_days(rng.gen_range(-30..30))?;
            TaskAssigned::new(f).ok()?.into()
        }
        Event::MeetingScored(s) => {
            let meeting = s.meeting_id.clone();
            let scorer = s.scorer.clone();
            scored(&meeting, [15, rng.gen_range(0..=20), rng.gen_range(0..=45), 20], &scorer)
        }
        Event::IndicatorsScored(s) => {
            let f = s.into_fields();
            indicators(PROGRAMME, &f.period.to_string(), [rng.gen_range(0..=40), 30, 30], f.scored_by)
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// What every provenance must satisfy

/// The figure `name` of a standing's JSON document, at `index` for a figure by month or quarter
/// (`None` in the document is `None` here).
fn figure_in(doc: &Value, name: &str, index: Option<usize>) -> Option<u64> {
    let name = name.rsplit('.').next().unwrap();
    let v = match index {
        Some(i) => &doc[name][i],
        None => &doc[name],
    };
    assert!(v.is_u64() || v.is_null(), "{name} is a figure: {v}");
    v.as_u64()
}

/// What was learnt from checking many provenances: enough to show the checks met every case.
#[derive(Default, Debug)]
struct Seen {
    figures: usize,
    counted: usize,
    counted_corrections: usize,
    replaced: usize,
    retracted: usize,
    corrected_out: usize,
    passed_over: usize,
    names: BTreeMap<String, usize>,
    /// Per figure, how many times it was more than 0.
    above_zero: BTreeMap<String, usize>,
    /// The ends of the reasons given for not counting.
    reasons: std::collections::BTreeSet<String>,
}

/// Checks one provenance against the log, the state and the standing's document `doc`.
fn check(log: &Log, question: &Question, p: &Provenance, doc: &Value, index: Option<usize>, seen: &mut Seen) {
    let what = format!("{question:?}");
    assert_eq!(p.value, figure_in(doc, &p.figure, index), "{what}: the value is the standing's");
    assert_eq!(p.recompute(), p.value, "{what}: the counted events add up to the figure: {p:#?}");
    let mut positions = std::collections::BTreeSet::new();
    for s in &p.events {
        let e = &log.events[s.position as usize];
        assert_eq!(
            (s.stream.as_str(), s.revision, s.event_id.as_str()),
            (e.stream.to_string().as_str(), e.revision, e.event_id.to_string().as_str()),
            "{what}: a source is the event at its position"
        );
        assert_eq!(s.event_type, e.event.as_ref().unwrap().event_type().name(), "{what}");
        assert!(positions.insert(s.position), "{what}: position {} is listed once", s.position);
        assert_eq!(s.counted, s.reason.is_empty(), "{what}: a reason exactly when not counted: {s:?}");
        assert_eq!(s.counted, !s.contribution.is_empty(), "{what}: {s:?}");
        if s.counted {
            seen.counted += 1;
            // Only what is in force counts: an original not corrected, or the latest correction.
            let book = log.state.stream(&e.stream).unwrap();
            let in_force = match e.event.as_ref().unwrap() {
                Event::EventCorrected(c) => book.corrected_by(&c.target_event_id) == Some(e.event_id),
                _ => book.fact(&e.event_id).is_some() && book.corrected_by(&e.event_id).is_none(),
            };
            assert!(in_force, "{what}: a counted event is in force: {s:?}");
            seen.counted_corrections += usize::from(s.event_type == "EventCorrected");
        } else {
            assert_eq!((s.amount, s.out_of), (0, 0), "{what}");
            seen.replaced += usize::from(s.reason.contains("replaced by the correction at position"));
            seen.retracted += usize::from(s.reason.contains("retracted by the event at position"));
            seen.corrected_out += usize::from(s.reason.contains("as corrected, it no longer counts"));
            seen.passed_over += 1;
            if seen.reasons.len() < 100_000 {
                seen.reasons.insert(s.reason.clone());
            }
        }
    }
    assert!(p.events.windows(2).all(|w| w[0].position < w[1].position), "{what}: in log order");
    if p.rule == Rule::Sum {
        assert_eq!(Some(p.counted), p.value, "{what}");
    }
    seen.figures += 1;
    *seen.names.entry(p.figure.clone()).or_default() += 1;
    *seen.above_zero.entry(p.figure.clone()).or_default() += usize::from(p.value.unwrap_or(0) > 0);
}

/// Every figure of every member's and cell's standing in `year`.
fn check_every_figure(log: &Log, year: u16, seen: &mut Seen) {
    let (state, rules) = (&log.state, &log.rules);
    let ask = |question: Question| log.explain(&question).map(|p| (question, p));
    for cell in CELLS.map(id) {
        let standing = standings::cell(state, rules, &cell, year).unwrap();
        let doc = serde_json::to_value(&standing).unwrap();
        for name in CELL_FIGURES {
            let mut selectors: Vec<(Selectors, Option<usize>, &Value)> = Vec::new();
            let with = |month: Option<u32>, quarter: Option<u32>, meeting: Option<Id>, programme: Option<Id>| {
                Selectors { month, quarter, meeting, programme }
            };
            match name {
                "regular_by_month" => {
                    selectors.extend((1..=12).map(|m| (with(Some(m), None, None, None), Some(m as usize - 1), &doc)))
                }
                "thematic_by_quarter" => {
                    selectors.extend((1..=4).map(|q| (with(None, Some(q), None, None), Some(q as usize - 1), &doc)))
                }
                _ if name.starts_with("meetings.") => {
                    for line in doc["meetings"].as_array().unwrap() {
                        let meeting = id(line["meeting_id"].as_str().unwrap());
                        selectors.push((with(None, None, Some(meeting), None), None, line));
                    }
                }
                _ if name.starts_with("programmes.") => {
                    let lines = doc["programmes"].as_array().unwrap();
                    if lines.is_empty() {
                        // A retracted registration: no programme to ask about.
                        let s = with(Some(1), None, None, None);
                        let question = Question::cell(cell.clone(), year, name, s.clone());
                        let question =
                            question.or_else(|_| Question::cell(cell.clone(), year, name, Selectors::default()));
                        let refused = log.explain(&question.unwrap()).unwrap_err();
                        assert!(
                            matches!(&refused, ProvenanceError::NotFound(f) if f.field == "programme_id"),
                            "{refused}"
                        );
                    }
                    for line in lines {
                        let programme = Some(id(line["programme_id"].as_str().unwrap()));
                        if name == "programmes.latest_score" {
                            selectors.push((with(None, None, None, programme), None, line));
                        } else {
                            selectors.extend(
                                (1..=12).map(|m| {
                                    (with(Some(m), None, None, programme.clone()), Some(m as usize - 1), line)
                                }),
                            );
                        }
                    }
                }
                _ => selectors.push((with(None, None, None, None), None, &doc)),
            }
            for (s, index, doc) in selectors {
                let question = Question::cell(cell.clone(), year, name, s).unwrap();
                let (question, p) = ask(question).unwrap_or_else(|e| panic!("{name} of {cell}: {e}"));
                check(log, &question, &p, doc, index, seen);
            }
        }
    }
    for member in (0..8).map(|i| id(&format!("m{i}"))) {
        let Ok(standing) = standings::member(state, rules, &member, year) else { continue };
        let doc = serde_json::to_value(&standing).unwrap();
        for name in MEMBER_FIGURES {
            let months: Vec<Option<u32>> =
                if name == "points_by_month" { (1..=12).map(Some).collect() } else { vec![None] };
            for month in months {
                let question =
                    Question::member(member.clone(), year, name, Selectors { month, ..Selectors::default() });
                let (question, p) = ask(question.unwrap()).unwrap_or_else(|e| panic!("{name} of {member}: {e}"));
                check(log, &question, &p, &doc, month.map(|m| m as usize - 1), seen);
            }
        }
    }
}

#[test]
fn every_figure_of_random_histories_adds_up_from_its_events() {
    let mut seen = Seen::default();
    for seed in 0..8 {
        let log = random_log(seed, 700, true);
        for year in [2025, 2026] {
            check_every_figure(&log, year, &mut seen);
        }
    }
    seen.check();
}

#[test]
fn every_figure_of_histories_recorded_before_the_rules_adds_up_too() {
    // What today's rules refuse still counts as the standing counts it: a second regular
    // meeting in a month, a meeting before the cell was registered, speaking twice.
    let mut seen = Seen::default();
    for seed in 100..104 {
        let log = random_log(seed, 600, false);
        for year in [2025, 2026] {
            check_every_figure(&log, year, &mut seen);
        }
    }
    seen.check();
    for reason in ["already has the 1 the rules ask for", "before the cell was registered", "counted once, at position"]
    {
        let n = seen.reasons.iter().filter(|r| r.contains(reason)).count();
        assert!(n > 0, "no {reason:?} among {} reasons", seen.reasons.len());
    }
}

impl Seen {
    fn check(&self) {
        let seen = self;
        // The histories met every case the checks are about, and every figure above 0.
        assert_eq!(seen.names.len(), MEMBER_FIGURES.len() + CELL_FIGURES.len() - 2, "{:?}", seen.names.keys());
        for (figure, n) in &seen.above_zero {
            assert!(*n > 0, "{figure} is never above 0: {seen:?}");
        }
        for (what, n) in [
            ("counted", seen.counted),
            ("counted corrections", seen.counted_corrections),
            ("replaced", seen.replaced),
            ("retracted", seen.retracted),
            ("corrected out", seen.corrected_out),
            ("passed over", seen.passed_over),
        ] {
            assert!(n > 20, "{what}: only {n} in {seen:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// By hand

/// Cell `a` under province `p`, members an and binh since 2025-01-01, and in 2025:
///
/// - an's points: 20 on 5 March; 30 on 10 March, corrected to 25; 50 on 12 March, retracted;
///   40 on 1 April, corrected to 20 March; 10 on 28 March, corrected to 2 April;
/// - the regular meeting sh-03 on 15 March: an present, binh excused; an's speaking at it is
///   recorded twice; scored 90 by an, then 100 by the province committee;
/// - the regular meeting sh-04 on 15 April: an present, binh present, corrected to both absent
///   without a reason.
struct ByHand {
    log: Log,
    /// Each event of the cell by name, with its position.
    at: BTreeMap<&'static str, u64>,
}

fn by_hand() -> ByHand {
    let mut log = Log::new(1, true);
    let mut at = BTreeMap::new();
    let (p, a) = (StreamName::Org(id("p")), StreamName::Cell(id("a")));
    let (an, binh) = (id("an"), id("binh"));
    let d = date;
    log.record(&p, org("p", None, OrgLevel::Province), "2025-01-01");
    log.record(&a, org("a", Some("p"), OrgLevel::Cell), "2025-01-01");
    log.record(&a, joined(&an, d("2025-01-01")), "2025-01-01");
    log.record(&a, joined(&binh, d("2025-01-01")), "2025-01-01");
    let mut note = |log: &mut Log, name, event: Event, on: &str| {
        let position = log.events.len() as u64;
        let id = log.record(&a, event, on);
        at.insert(name, position);
        id
    };
    note(&mut log, "20", points(&an, 20, d("2025-03-05")), "2025-03-05");
    let thirty = note(&mut log, "30", points(&an, 30, d("2025-03-10")), "2025-03-10");
    let fifty = note(&mut log, "50", points(&an, 50, d("2025-03-12")), "2025-03-12");
    note(&mut log, "50 retracted", retracted(fifty), "2025-03-13");
    note(&mut log, "30 → 25", corrected(thirty, points(&an, 25, d("2025-03-10"))), "2025-03-14");
    let forty = note(&mut log, "40 in April", points(&an, 40, d("2025-04-01")), "2025-04-01");
    note(&mut log, "40 → March", corrected(forty, points(&an, 40, d("2025-03-20"))), "2025-04-02");
    let ten = note(&mut log, "10 in March", points(&an, 10, d("2025-03-28")), "2025-03-28");
    note(&mut log, "10 → April", corrected(ten, points(&an, 10, d("2025-04-02"))), "2025-04-03");

    let present = |m: &Id| attendance(m, AttendanceStatus::Present);
    let march = held(
        "sh-03",
        MeetingKind::Regular,
        d("2025-03-15"),
        vec![present(&an), attendance(&binh, AttendanceStatus::Excused)],
    );
    note(&mut log, "sh-03", march.unwrap(), "2025-03-15");
    note(&mut log, "an spoke", spoke(&id("sh-03"), &an), "2025-03-15");
    note(&mut log, "an spoke again", spoke(&id("sh-03"), &an), "2025-03-15");
    note(&mut log, "scored 90", scored(&id("sh-03"), [14, 18, 40, 18], &an), "2025-03-16");
    note(&mut log, "scored 100", scored(&id("sh-03"), [15, 20, 45, 20], &id("p")), "2025-03-17");
    let april = held("sh-04", MeetingKind::Regular, d("2025-04-15"), vec![present(&an), present(&binh)]);
    let april_id = note(&mut log, "sh-04", april.unwrap(), "2025-04-15");
    let absent = |m: &Id| attendance(m, AttendanceStatus::Unexcused);
    let both_absent = held("sh-04", MeetingKind::Regular, d("2025-04-15"), vec![absent(&an), absent(&binh)]);
    note(&mut log, "sh-04 corrected", corrected(april_id, both_absent.unwrap()), "2025-04-16");
    ByHand { log, at }
}

impl ByHand {
    /// The provenance of `figure` of `who` (a member, or the cell `a`) in 2025.
    fn ask(&self, who: &str, figure: &str, selectors: Selectors) -> Provenance {
        let question = if who == "a" {
            Question::cell(id("a"), 2025, figure, selectors)
        } else {
            Question::member(id(who), 2025, figure, selectors)
        };
        self.log.explain(&question.unwrap()).unwrap()
    }

    /// The sources as (name of the event, counted, amount, out_of), in order.
    fn listed(&self, p: &Provenance) -> Vec<(&'static str, bool, u64, u64)> {
        let names: BTreeMap<u64, &'static str> = self.at.iter().map(|(name, at)| (*at, *name)).collect();
        p.events.iter().map(|s| (names[&s.position], s.counted, s.amount, s.out_of)).collect()
    }

    /// The reason given for not counting the event `name`.
    fn reason<'p>(&self, p: &'p Provenance, name: &str) -> &'p str {
        let at = self.at[name];
        &p.events.iter().find(|s| s.position == at).unwrap_or_else(|| panic!("{name} is listed")).reason
    }
}

fn month(m: u32) -> Selectors {
    Selectors { month: Some(m), ..Selectors::default() }
}

#[test]
fn an_s_points_in_march_by_hand() {
    let h = by_hand();
    let p = h.ask("an", "points_by_month", month(3));
    // 20 + 25 (the correction of 30) + 40 (moved from April) = 85.
    assert_eq!((p.value, p.recompute(), p.rule), (Some(85), Some(85), Rule::Sum));
    assert_eq!(
        h.listed(&p),
        [
            ("20", true, 20, 0),
            ("30", false, 0, 0),
            ("50", false, 0, 0),
            ("50 retracted", false, 0, 0),
            ("30 → 25", true, 25, 0),
            ("40 in April", false, 0, 0),
            ("40 → March", true, 40, 0),
            ("10 in March", false, 0, 0),
            ("10 → April", false, 0, 0),
        ]
    );
    let at = |name| h.at[name];
    assert_eq!(
        h.reason(&p, "30"),
        format!("30 points for an on 2025-03-10: replaced by the correction at position {}", at("30 → 25"))
    );
    assert_eq!(
        h.reason(&p, "50"),
        format!("50 points for an on 2025-03-12: retracted by the event at position {}", at("50 retracted"))
    );
    assert_eq!(h.reason(&p, "50 retracted"), format!("withdraws the event at position {}: ghi nhầm", at("50")));
    assert_eq!(
        h.reason(&p, "10 → April"),
        "10 points for an on 2025-04-02: as corrected, it no longer counts toward points_by_month"
    );
    let correction = p.events.iter().find(|s| s.position == at("30 → 25")).unwrap();
    assert_eq!(correction.event_type, "EventCorrected");
    assert_eq!(
        correction.contribution,
        format!("+25 points on 2025-03-10; as corrected by this event (the original is at position {})", at("30"))
    );
    let first = &p.events[0];
    let recorded = &h.log.events[at("20") as usize];
    assert_eq!(
        (first.stream.as_str(), first.revision, first.event_id.clone(), first.event_type.as_str()),
        ("cell-a", recorded.revision, recorded.event_id.to_string(), "StudyPointsEarned")
    );
    assert_eq!(first.occurred_at, "2025-03-05T05:00:00Z");
    assert_eq!((p.member_id.as_deref(), p.cell_id.as_str(), p.month), (Some("an"), "a", Some(3)));

    // April: the 10 moved in counts; the 40 moved out is listed with why.
    let p = h.ask("an", "points_by_month", month(4));
    assert_eq!(p.value, Some(10));
    assert_eq!(
        h.listed(&p),
        [
            ("40 in April", false, 0, 0),
            ("40 → March", false, 0, 0),
            ("10 in March", false, 0, 0),
            ("10 → April", true, 10, 0)
        ]
    );
    // The year: everything in force.
    let p = h.ask("an", "points_year", Selectors::default());
    assert_eq!((p.value, p.recompute()), (Some(95), Some(95)));
}

#[test]
fn meetings_scores_and_attendance_by_hand() {
    let h = by_hand();
    // binh: excused in March, absent in April once corrected; never present.
    let p = h.ask("binh", "meetings_present", Selectors::default());
    assert_eq!((p.value, p.recompute()), (Some(0), Some(0)));
    assert_eq!(h.listed(&p), [("sh-03", false, 0, 0), ("sh-04", false, 0, 0), ("sh-04 corrected", false, 0, 0)]);
    assert_eq!(h.reason(&p, "sh-03"), "excused from meeting sh-03 on 2025-03-15: ốm");
    assert!(h.reason(&p, "sh-04").starts_with("regular meeting sh-04 on 2025-04-15: replaced by the correction"));
    assert!(h.reason(&p, "sh-04 corrected").starts_with("absent without a valid reason from meeting sh-04"));
    let p = h.ask("binh", "unexcused", Selectors::default());
    assert_eq!(h.listed(&p), [("sh-03", false, 0, 0), ("sh-04", false, 0, 0), ("sh-04 corrected", true, 1, 0)]);

    // an spoke once at sh-03, though it was recorded twice.
    let p = h.ask("an", "times_spoke", Selectors::default());
    assert_eq!(p.value, Some(1));
    assert_eq!(h.listed(&p), [("an spoke", true, 1, 0), ("an spoke again", false, 0, 0)]);
    assert_eq!(
        h.reason(&p, "an spoke again"),
        format!("an spoke at meeting sh-03: counted once, at position {}", h.at["an spoke"])
    );

    // The cell's attendance: 1 of 2 in March, 0 of 2 in April as corrected: 250 ‰.
    let p = h.ask("a", "attendance_permille", Selectors::default());
    assert_eq!((p.value, p.recompute(), p.rule, p.scale), (Some(250), Some(250), Rule::Ratio, 1000));
    assert_eq!(h.listed(&p), [("sh-03", true, 1, 2), ("sh-04", false, 0, 0), ("sh-04 corrected", true, 0, 2)]);
    assert_eq!(h.ask("a", "attendance_present", Selectors::default()).value, Some(1));

    // sh-03's score is the later one, the committee's 100.
    let meeting = Selectors { meeting: Some(id("sh-03")), ..Selectors::default() };
    let p = h.ask("a", "meetings.score", meeting.clone());
    assert_eq!((p.value, p.recompute(), p.rule), (Some(100), Some(100), Rule::Single));
    assert_eq!(h.listed(&p), [("scored 90", false, 0, 0), ("scored 100", true, 100, 0)]);
    assert_eq!(p.events[1].contribution, "scored 100 (tot)");
    let p = h.ask("a", "meetings.speakers", meeting);
    assert_eq!(h.listed(&p), [("an spoke", true, 1, 0), ("an spoke again", false, 0, 0)]);

    // What is not there is named.
    let unknown = Selectors { meeting: Some(id("sh-99")), ..Selectors::default() };
    let question = Question::cell(id("a"), 2025, "meetings.score", unknown).unwrap();
    let refused = h.log.explain(&question).unwrap_err();
    assert!(matches!(&refused, ProvenanceError::NotFound(f) if f.field == "meeting_id"), "{refused}");
    let question = Question::member(id("nobody"), 2025, "points_year", Selectors::default()).unwrap();
    let refused = h.log.explain(&question).unwrap_err();
    assert!(matches!(&refused, ProvenanceError::NotFound(f) if f.field == "member_id"), "{refused}");
    let question = Question::cell(id("p"), 2025, "regular_held", Selectors::default()).unwrap();
    let refused = h.log.explain(&question).unwrap_err();
    assert!(matches!(&refused, ProvenanceError::NotFound(f) if f.field == "cell_id"), "{refused}");
    let question = Question::cell(id("a"), 2025, "programmes.latest_score", Selectors::default()).unwrap();
    let refused = h.log.explain(&question).unwrap_err();
    assert!(matches!(&refused, ProvenanceError::NotFound(f) if f.field == "programme_id"), "{refused}");
}

#[test]
fn a_question_built_by_hand_with_no_such_month_is_refused() {
    let h = by_hand();
    let question = Question::Member { member: id("an"), year: 2025, figure: standings::MemberFigure::PointsByMonth(0) };
    let refused = h.log.explain(&question).unwrap_err();
    assert!(matches!(&refused, ProvenanceError::Invalid(f) if f.field == "month"), "{refused}");
    let figure = provenance::CellFigure::ThematicByQuarter(5);
    let refused = h.log.explain(&Question::Cell { cell: id("a"), year: 2025, figure }).unwrap_err();
    assert!(matches!(&refused, ProvenanceError::Invalid(f) if f.field == "quarter"), "{refused}");
}

#[test]
fn events_read_before_the_state_moved_on_are_refused() {
    let h = by_hand();
    let question = Question::member(id("an"), 2025, "points_year", Selectors::default()).unwrap();
    let stream = StreamName::Cell(id("a"));
    let mut events = h.log.stream(&stream);
    events.pop();
    let refused = provenance::explain(&h.log.state, &h.log.rules, &question, &events).unwrap_err();
    assert!(matches!(refused, ProvenanceError::Stale { .. }), "{refused}");
    // Another stream's events are not this one's.
    let other = h.log.stream(&StreamName::Org(id("p")));
    let refused = provenance::explain(&h.log.state, &h.log.rules, &question, &other).unwrap_err();
    assert!(matches!(refused, ProvenanceError::Stale { .. }), "{refused}");
    // Events recorded after the state was taken are left out.
    let mut later = h.log.stream(&stream);
    let mut extra = later.last().unwrap().clone();
    extra.revision += 1;
    extra.position += 1;
    later.push(extra);
    let p = provenance::explain(&h.log.state, &h.log.rules, &question, &later).unwrap();
    assert_eq!(p.value, Some(95));
}
