//! DESIGN.md invariant 6 as a property: for random valid event sequences, the state built
//! incrementally — with restarts from snapshots in between, and with tentative applies undone —
//! equals the state rebuilt from zero, byte for byte, and so do the standings computed from it.

use chibo_domain::event::*;
use chibo_domain::{Date, Event, EventId, Id, StreamName, Timestamp};
use chibo_projections::rules::RuleBook;
use chibo_projections::standings;
use chibo_projections::validate::{check_submission, Candidate, Context, Limits};
use chibo_projections::{Recorded, State};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod common;
use common::{id, org};

fn date(s: &str) -> Date {
    Date::parse("date", s).unwrap()
}

/// Noon in Vietnam on `d`.
fn at(d: Date) -> Timestamp {
    Timestamp::new("t", d.days_since_epoch() * 86_400 + 5 * 3600, 0).unwrap()
}

struct Log {
    events: Vec<Recorded>,
    state: State,
    rules: RuleBook,
}

impl Log {
    /// Submits `event` to `stream` if the rules accept it; returns whether they did.
    fn offer(&mut self, rng: &mut StdRng, stream: &StreamName, event: Event, on: Date) -> bool {
        let event_id = EventId::from_bytes(rng.gen::<[u8; 16]>());
        let limits = Limits::default();
        let cx = Context { rules: &self.rules, limits: &limits, today: date("2026-11-22") };
        let candidate = Candidate { event_id, occurred_at: at(on), event: &event };
        if check_submission(&mut self.state, &cx, stream, &[candidate]).is_err() {
            return false;
        }
        let recorded = Recorded {
            position: self.events.len() as u64,
            stream: stream.clone(),
            revision: self.state.stream(stream).map_or(0, |s| s.next_revision),
            event_id,
            occurred_at: at(on),
            recorded_at: at(on),
            hash: rng.gen(),
            event: Some(event),
        };
        drop(self.state.apply(&recorded));
        self.events.push(recorded);
        true
    }
}

/// A random history of two cells under one province: members come and go, meetings, points,
/// tasks, corrections and retractions, every event checked by the rules before it is kept.
fn random_log(seed: u64, steps: usize) -> Log {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut log = Log { events: Vec::new(), state: State::new(), rules: RuleBook::defaults() };
    let start = date("2025-01-01");
    let province = StreamName::Org(id("p"));
    assert!(log.offer(&mut rng, &province, org("p", None, OrgLevel::Province), start));
    let cells = ["c1", "c2"];
    for c in cells {
        assert!(log.offer(&mut rng, &StreamName::Cell(id(c)), org(c, Some("p"), OrgLevel::Cell), start));
    }
    let members: Vec<Id> = (0..8).map(|i| id(&format!("m{i}"))).collect();
    let mut day = 0i64;
    let mut accepted = 0;
    for step in 0..steps {
        day += rng.gen_range(0..3);
        let today = start.plus_days(day.min(600)).unwrap();
        let cell = id(cells[rng.gen_range(0..cells.len())]);
        let stream = StreamName::Cell(cell.clone());
        let member = members[rng.gen_range(0..members.len())].clone();
        let event: Event = match rng.gen_range(0..10) {
            0 | 1 => MemberJoined::new(MemberJoinedFields {
                member_id: member,
                name: "Đảng viên".into(),
                date: today,
                how: MembershipChange::Admitted,
                transfer_cell_id: None,
            })
            .unwrap()
            .into(),
            2 => MemberLeft::new(MemberLeftFields {
                member_id: member,
                date: today,
                how: MembershipChange::Removed,
                transfer_cell_id: None,
                reason: "chuyển sinh hoạt".into(),
            })
            .unwrap()
            .into(),
            3 => {
                let attendance = log
                    .state
                    .members_on(&cell, today)
                    .into_iter()
                    .map(|m| {
                        let status = match rng.gen_range(0..6) {
                            0 => AttendanceStatus::Excused,
                            1 => AttendanceStatus::Unexcused,
                            _ => AttendanceStatus::Present,
                        };
                        Attendance::new(AttendanceFields { member_id: m.clone(), status, reason: "ốm".into() }).unwrap()
                    })
                    .collect();
                let kind = if rng.gen_bool(0.7) { MeetingKind::Regular } else { MeetingKind::Thematic };
                match MeetingHeld::new(MeetingHeldFields {
                    meeting_id: id(&format!("h{step}")),
                    kind,
                    date: today,
                    duration_minutes: 120,
                    topic: "Sinh hoạt chi bộ".into(),
                    minutes: String::new(),
                    attendance,
                    guests: Vec::new(),
                    check_in_source: CheckInSource::App,
                    documents_posted_on: today.plus_days(-1),
                    committee_prepared: true,
                }) {
                    Ok(m) => m.into(),
                    Err(_) => continue,
                }
            }
            4 => {
                let meeting = log.state.index().cells.get(&cell).and_then(|c| c.meetings.keys().last().cloned());
                let Some(meeting_id) = meeting else { continue };
                MemberSpoke::new(MemberSpokeFields { meeting_id, member_id: member, summary: "Phát biểu".into() })
                    .unwrap()
                    .into()
            }
            5 | 6 => StudyPointsEarned::new(StudyPointsEarnedFields {
                member_id: member,
                points: rng.gen_range(1..120),
                date: today,
                activity: "Nghị quyết".into(),
                source_ref: Default::default(),
            })
            .unwrap()
            .into(),
            7 => TaskAssigned::new(TaskAssignedFields {
                task_id: id(&format!("t{step}")),
                resolution_id: None,
                member_id: member,
                description: "Nhiệm vụ".into(),
                due: today.plus_days(rng.gen_range(0..40)).unwrap(),
            })
            .unwrap()
            .into(),
            8 => {
                // Correct a random fact of the stream with a plausible replacement.
                let Some(book) = log.state.stream(&stream) else { continue };
                let facts: Vec<_> = book.facts().map(|(k, f)| (*k, f.event.clone())).collect();
                if facts.is_empty() {
                    continue;
                }
                let (target, original) = facts[rng.gen_range(0..facts.len())].clone();
                let replacement = match original {
                    Event::StudyPointsEarned(p) => {
                        let mut f = p.into_fields();
                        f.points = rng.gen_range(1..50);
                        Event::from(StudyPointsEarned::new(f).unwrap())
                    }
                    Event::MemberJoined(j) => {
                        let mut f = j.into_fields();
                        f.name = "Tên đã sửa".into();
                        Event::from(MemberJoined::new(f).unwrap())
                    }
                    Event::TaskAssigned(t) => {
                        let mut f = t.into_fields();
                        f.due = f.due.plus_days(3).unwrap();
                        Event::from(TaskAssigned::new(f).unwrap())
                    }
                    _ => continue,
                };
                EventCorrected::new(EventCorrectedFields {
                    target_event_id: target,
                    reason: "sửa sai sót".into(),
                    replacement: Box::new(replacement),
                })
                .unwrap()
                .into()
            }
            _ => {
                let Some(book) = log.state.stream(&stream) else { continue };
                let targets: Vec<EventId> = book.facts().map(|(id, _)| *id).collect();
                if targets.is_empty() {
                    continue;
                }
                EventRetracted::new(EventRetractedFields {
                    target_event_id: targets[rng.gen_range(0..targets.len())],
                    reason: "ghi nhầm".into(),
                })
                .unwrap()
                .into()
            }
        };
        accepted += usize::from(log.offer(&mut rng, &stream, event, today));
    }
    assert!(accepted > steps / 4, "the generator should mostly produce valid events ({accepted} of {steps})");
    log
}

fn standings_json(state: &State, rules: &RuleBook) -> String {
    let c1 = standings::cell(state, rules, &id("c1"), 2025).unwrap();
    let p = standings::committee(state, rules, &id("p"), 2025, 10).unwrap();
    format!("{}\n{}", serde_json::to_string(&c1).unwrap(), serde_json::to_string(&p).unwrap())
}

#[test]
fn incremental_with_restarts_equals_rebuilt_from_zero() {
    for seed in 0..24 {
        let log = random_log(seed, 400);
        let mut rng = StdRng::seed_from_u64(seed ^ 0xfeed);

        // From zero, in one go.
        let mut rebuilt = State::new();
        for e in &log.events {
            drop(rebuilt.apply(e));
        }

        // Incrementally, restarting from a snapshot now and then, and applying a few events
        // tentatively and undoing them before applying them for good.
        let mut incremental = State::new();
        for (i, e) in log.events.iter().enumerate() {
            if rng.gen_bool(0.05) {
                incremental = State::decode(&incremental.encode()).expect("a snapshot reads back");
            }
            if rng.gen_bool(0.1) {
                let (before, index_before) = (incremental.encode(), incremental.index().clone());
                // By reference (a copy of each event kept) or by value (the check of a batch).
                let owned = rng.gen_bool(0.5);
                let undos: Vec<_> = log.events[i..(i + 3).min(log.events.len())]
                    .iter()
                    .map(|e| if owned { incremental.apply_tentatively(e.clone()) } else { incremental.apply(e) })
                    .collect();
                for undo in undos.into_iter().rev() {
                    incremental.undo(undo);
                }
                assert_eq!(incremental.encode(), before, "seed {seed}: undo at {i} left a trace");
                assert_eq!(incremental.index(), &index_before, "seed {seed}: undo at {i} left a trace in the index");
            }
            drop(incremental.apply(e));
        }

        assert_eq!(incremental.encode(), rebuilt.encode(), "seed {seed}: the encodings differ");
        assert_eq!(incremental.index(), rebuilt.index(), "seed {seed}: the indexes differ");
        assert_eq!(incremental.index(), log.state.index(), "seed {seed}: the validating state differs");
        let restored = State::decode(&rebuilt.encode()).unwrap();
        assert_eq!(restored.index(), rebuilt.index(), "seed {seed}: a decoded index differs");
        assert_eq!(standings_json(&incremental, &log.rules), standings_json(&rebuilt, &log.rules), "seed {seed}");
    }
}

#[test]
fn corrections_and_retractions_change_the_figures() {
    // A hand-made history, to show the property above is not comparing two empty states.
    let log = random_log(7, 400);
    let corrected =
        log.state.streams().flat_map(|(_, b)| b.facts().filter(|(id, _)| b.corrected_by(id).is_some())).count();
    let retracted = log
        .state
        .streams()
        .flat_map(|(_, b)| b.ids())
        .filter(|(_, e)| matches!(e.role, chibo_projections::state::Role::Retracted { .. }))
        .count();
    assert!(corrected > 0 && retracted > 0, "corrected {corrected}, retracted {retracted}");
    for (_, book) in log.state.streams() {
        let ids: Vec<_> = book.ids().map(|(id, _)| id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "every id once, in id order");
        assert_eq!(ids.len() as u64, book.next_revision, "one id per event of the stream");
        let original = |id| book.id(id).is_some_and(|e| e.role == chibo_projections::state::Role::Original);
        assert!(book.facts().all(|(id, _)| original(id)));
    }
    let c1 = standings::cell(&log.state, &log.rules, &id("c1"), 2025).unwrap();
    assert!(c1.meetings.len() > 3 && c1.member_standings.iter().any(|m| m.points_year > 0));
}

/// A batch checked with its events handed over (as the server checks one) gives every event
/// back, whether it is accepted or refused, and leaves the state as it was.
#[test]
fn a_batch_checked_in_hand_gives_every_event_back_and_the_state_as_it_was() {
    use chibo_projections::validate::check_held;
    let log = random_log(11, 600);
    let mut state = log.state.clone();
    let before = state.encode();
    let on = date("2026-11-01");
    let cell = id("c1");
    let members = state.members_on(&cell, on).into_iter().cloned().collect::<Vec<_>>();
    assert!(!members.is_empty(), "the history leaves members in c1");
    let points = |member: &Id, n: u32| -> Event {
        StudyPointsEarned::new(StudyPointsEarnedFields {
            member_id: member.clone(),
            points: 1 + n % 3,
            date: on,
            activity: "Nghị quyết".into(),
            source_ref: format!("app:{n}").into(),
        })
        .unwrap()
        .into()
    };
    let mut events: Vec<Event> = (0..12).map(|n| points(&members[n as usize % members.len()], n)).collect();
    let limits = Limits::default();
    let cx = Context { rules: &log.rules, limits: &limits, today: date("2026-11-22") };
    let stream = StreamName::Cell(cell);
    let heads: Vec<_> = (0..events.len()).map(|n| (EventId::from_bytes([n as u8 + 1; 16]), at(on))).collect();

    let mut held: Vec<_> = events.iter().cloned().map(Some).collect();
    assert_eq!(check_held(&mut state, &cx, &stream, &heads, &mut held), Ok(()));
    assert_eq!(held, events.iter().cloned().map(Some).collect::<Vec<_>>(), "every event given back, in place");
    assert_eq!(state.encode(), before, "the state as it was");

    // The same batch with a ninth event for no member: refused there, and the same again.
    events[8] = points(&id("nobody"), 8);
    let mut held: Vec<_> = events.iter().cloned().map(Some).collect();
    let refused = check_held(&mut state, &cx, &stream, &heads, &mut held).unwrap_err();
    assert_eq!((refused.0, refused.1.error.field.as_str()), (8, "study_points_earned.member_id"));
    assert_eq!(held, events.into_iter().map(Some).collect::<Vec<_>>(), "every event given back, in place");
    assert_eq!(state.encode(), before, "the state as it was");
}
