//! The rules every submission must pass against what is already recorded (the domain issue's
//! "validation against current state"), checked before anything is appended.
//!
//! [`check_submission`] checks a whole submission — one event, or a batch for one stream — in
//! order: each event is checked against the state as the events before it in the batch would
//! leave it, by applying them tentatively and taking them back afterwards, so the state is
//! unchanged whatever the outcome.
//!
//! A refusal names the field, as a path from the event's oneof field
//! (`meeting_held.attendance[2].member_id`), or `stream`, and says why. Its [`RejectionKind`]
//! says which gRPC status it is: `INVALID_ARGUMENT` when the value is wrong whatever is recorded
//! (a date in the future), `ALREADY_EXISTS` when an id is already recorded, and
//! `FAILED_PRECONDITION` when the value conflicts with what is recorded.

use std::collections::{BTreeSet, HashMap};

use chibo_domain::event::{AttendanceStatus, EventCorrected, EventRetracted, MeetingHeld, OrgLevel, StreamHome};
use chibo_domain::{Date, Event, EventId, EventType, Id, InvalidField, StreamName, Timestamp};

use crate::record::Recorded;
use crate::rules::RuleBook;
use crate::state::{Membership, OrgNode, Role, State};

/// Settings of the rules that are the deployment's, not a rule set's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most study points one member may earn in one day.
    pub daily_study_points_cap: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self { daily_study_points_cap: 200 }
    }
}

/// What the rules are checked with: the rule sets, the limits, and today's date.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The rule sets this server knows.
    pub rules: &'a RuleBook,
    /// The deployment's limits.
    pub limits: &'a Limits,
    /// Today in Vietnam: nothing may be dated after it.
    pub today: Date,
}

/// Which gRPC status a refusal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Wrong whatever is recorded: `INVALID_ARGUMENT`.
    Invalid,
    /// An id that is already recorded: `ALREADY_EXISTS`.
    AlreadyExists,
    /// In conflict with what is recorded: `FAILED_PRECONDITION`.
    Precondition,
}

/// A submission refused by a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// Which status it is.
    pub kind: RejectionKind,
    /// The field and the reason.
    pub error: InvalidField,
}

/// One event of a submission.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Its event id.
    pub event_id: EventId,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// What happened.
    pub event: &'a Event,
}

type Checked = Result<(), Rejection>;

fn reject(kind: RejectionKind, field: impl Into<String>, reason: impl Into<String>) -> Rejection {
    Rejection { kind, error: InvalidField::new(field, reason) }
}
fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
    reject(RejectionKind::Invalid, field, reason)
}
fn exists(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
    reject(RejectionKind::AlreadyExists, field, reason)
}
fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
    reject(RejectionKind::Precondition, field, reason)
}

/// Checks the events of one submission to `stream`, in order. On a refusal, returns the index
/// of the refused event with the reason. `state` is exactly as it was when this returns.
pub fn check_submission(
    state: &mut State,
    cx: &Context<'_>,
    stream: &StreamName,
    events: &[Candidate<'_>],
) -> Result<(), (usize, Rejection)> {
    let heads: Vec<_> = events.iter().map(|c| (c.event_id, c.occurred_at)).collect();
    let mut held: Vec<_> = events.iter().map(|c| Some(c.event.clone())).collect();
    check_held(state, cx, stream, &heads, &mut held)
}

/// [`check_submission`], for events the caller hands over while they are checked: the event
/// `events[i]`, with the id and time `heads[i]`. Each event but the last is applied
/// tentatively, for the next ones to be checked against, which moves it into the state; it is
/// moved back when that apply is undone. (A copy of every event was about a tenth of the check
/// of a batch.) Every slot holds its event again when this returns; a slot that is empty on
/// entry is an event refused as missing.
pub fn check_held(
    state: &mut State,
    cx: &Context<'_>,
    stream: &StreamName,
    heads: &[(EventId, Timestamp)],
    events: &mut [Option<Event>],
) -> Result<(), (usize, Rejection)> {
    if let Some((i, j)) = repeated_id(heads.iter().map(|(id, _)| id)) {
        let reason =
            format!("{} is also the id of event {j} of this submission; each event has its own id", heads[i].0);
        return Err((i, invalid("event_id", reason)));
    }
    let last = heads.len().min(events.len()).saturating_sub(1);
    let mut undos = Vec::with_capacity(last);
    let mut outcome = Ok(());
    for (i, &(event_id, occurred_at)) in heads.iter().enumerate() {
        let Some(event) = events.get(i).and_then(Option::as_ref) else {
            outcome = Err((i, invalid("event", "missing")));
            break;
        };
        let candidate = Candidate { event_id, occurred_at, event };
        if let Err(e) = check_one(state, cx, stream, &candidate) {
            outcome = Err((i, e));
            break;
        }
        if i < last {
            // A correction or a retraction is not kept whole by the state: it is copied.
            let event = match event {
                Event::EventCorrected(_) | Event::EventRetracted(_) => event.clone(),
                _ => events[i].take().expect("the event was just read"),
            };
            undos.push((i, state.apply_tentatively(tentative(state, stream, event_id, occurred_at, event))));
        }
    }
    while let Some((i, undo)) = undos.pop() {
        let event = state.take_back(undo);
        if events[i].is_none() {
            events[i] = event;
        }
    }
    outcome
}

/// The first of `ids` that an earlier one repeats, and that earlier one: `(i, j)`. In one pass,
/// as a batch of hundreds compared with every event before it was not.
fn repeated_id<'a>(ids: impl ExactSizeIterator<Item = &'a EventId>) -> Option<(usize, usize)> {
    if ids.len() < 2 {
        return None;
    }
    let mut seen = HashMap::with_capacity(ids.len());
    ids.enumerate().find_map(|(i, id)| seen.insert(*id, i).map(|j| (i, j)))
}

/// The event as it would be recorded next, for a tentative apply.
fn tentative(state: &State, stream: &StreamName, event_id: EventId, occurred_at: Timestamp, event: Event) -> Recorded {
    Recorded {
        position: state.log_size(),
        stream: stream.clone(),
        revision: state.stream(stream).map_or(0, |s| s.next_revision),
        event_id,
        occurred_at,
        recorded_at: occurred_at,
        hash: [0; 32],
        event: Some(event),
    }
}

fn check_one(state: &mut State, cx: &Context<'_>, stream: &StreamName, candidate: &Candidate<'_>) -> Checked {
    if state.stream(stream).is_some_and(|s| s.holds(&candidate.event_id)) {
        return Err(exists(
            "event_id",
            format!("{} is already recorded in {stream} or earlier in this submission", candidate.event_id),
        ));
    }
    match candidate.event {
        Event::EventCorrected(c) => check_correction(state, cx, stream, candidate, c),
        Event::EventRetracted(r) => check_retraction(state, stream, r),
        event => Rules { state, cx, stream }.check(event, candidate.occurred_at),
    }
}

/// The facts a correction or retraction may name: an original of the same stream, in force.
fn target_in_force(state: &State, stream: &StreamName, field: &str, target: &EventId) -> Result<EventType, Rejection> {
    let entry = state.stream(stream).and_then(|s| s.id(target));
    let Some(entry) = entry else {
        return Err(conflict(field, format!("no event {target} is recorded in {stream}")));
    };
    match entry.role {
        Role::Original => entry.event_type.ok_or_else(|| conflict(field, "names an event this server cannot read")),
        Role::Retracted { by } => Err(conflict(field, format!("event {target} was retracted by {by}"))),
        Role::Correction { target: original } | Role::Retraction { target: original } => Err(conflict(
            field,
            format!("event {target} is itself a correction or retraction; name the original event {original}"),
        )),
        Role::Unreadable => Err(conflict(field, format!("event {target} is of a type this server cannot read"))),
    }
}

fn check_correction(
    state: &mut State,
    cx: &Context<'_>,
    stream: &StreamName,
    candidate: &Candidate<'_>,
    correction: &EventCorrected,
) -> Checked {
    let target = correction.target_event_id;
    let target_type = target_in_force(state, stream, "event_corrected.target_event_id", &target)?;
    let replacement = &*correction.replacement;
    let at = |e: Rejection| Rejection { error: e.error.within("event_corrected.replacement"), ..e };
    if replacement.event_type() != target_type {
        return Err(at(invalid(
            "",
            format!("is a {}, but the corrected event is a {target_type}", replacement.event_type()),
        )));
    }
    if matches!(target_type.home(), StreamHome::Checkpoints | StreamHome::TargetStream) {
        return Err(conflict("event_corrected.target_event_id", format!("a {target_type} cannot be corrected")));
    }
    let original = state.fact(stream, &target).map(|f| f.event.clone()).expect("the target is in force");
    same_identity(&original, replacement).map_err(at)?;
    // The replacement must pass the rules as if it stood in place of the original.
    let retraction = EventRetracted::new(chibo_domain::event::EventRetractedFields {
        target_event_id: target,
        reason: "correction check".into(),
    })
    .expect("a retraction with a reason is well formed");
    let retraction = Event::EventRetracted(retraction);
    let undo = state.apply_tentatively(tentative(state, stream, candidate.event_id, candidate.occurred_at, retraction));
    let outcome = Rules { state, cx, stream }.check(replacement, candidate.occurred_at).map_err(at);
    state.undo(undo);
    outcome
}

/// A correction may fix what an event says, not which thing it is about.
fn same_identity(original: &Event, replacement: &Event) -> Checked {
    let same = |field: &str, a: &Id, b: &Id| {
        if a == b {
            Ok(())
        } else {
            Err(invalid(
                format!("{}.{field}", replacement.event_type().field_name()),
                format!("is {b}, but the corrected event's is {a}; a correction cannot change which thing an event is about"),
            ))
        }
    };
    match (original, replacement) {
        (Event::OrganizationRegistered(a), Event::OrganizationRegistered(b)) => {
            same("org_id", &a.org_id, &b.org_id)?;
            if a.level != b.level {
                return Err(invalid(
                    "organization_registered.level",
                    format!("is {}, but the corrected event's is {}; a level cannot be corrected", b.level, a.level),
                ));
            }
            Ok(())
        }
        (Event::MemberJoined(a), Event::MemberJoined(b)) => same("member_id", &a.member_id, &b.member_id),
        (Event::MemberLeft(a), Event::MemberLeft(b)) => same("member_id", &a.member_id, &b.member_id),
        (Event::ProgrammeLaunched(a), Event::ProgrammeLaunched(b)) => {
            same("programme_id", &a.programme_id, &b.programme_id)
        }
        (Event::MeetingHeld(a), Event::MeetingHeld(b)) => same("meeting_id", &a.meeting_id, &b.meeting_id),
        (Event::ResolutionAdopted(a), Event::ResolutionAdopted(b)) => {
            same("resolution_id", &a.resolution_id, &b.resolution_id)
        }
        (Event::TaskAssigned(a), Event::TaskAssigned(b)) => same("task_id", &a.task_id, &b.task_id),
        (Event::InspectionConducted(a), Event::InspectionConducted(b)) => {
            same("inspection_id", &a.inspection_id, &b.inspection_id)
        }
        (Event::SigningKeyRegistered(a), Event::SigningKeyRegistered(b)) => same("key_id", &a.key_id, &b.key_id),
        _ => Ok(()),
    }
}

fn check_retraction(state: &State, stream: &StreamName, retraction: &EventRetracted) -> Checked {
    let field = "event_retracted.target_event_id";
    let target = retraction.target_event_id;
    let target_type = target_in_force(state, stream, field, &target)?;
    let fact = state.fact(stream, &target).expect("the target is in force");
    match &fact.event {
        Event::OrganizationRegistered(_) => {
            Err(conflict(field, "an organization cannot be retracted; correct its registration instead"))
        }
        Event::ProgrammeLaunched(p) => {
            // The first such cell by id: the cells are not kept in id order.
            let registered = (state.index().cells.iter())
                .filter(|(_, c)| c.registrations.contains_key(&p.programme_id))
                .map(|(c, _)| c)
                .min();
            match registered {
                Some(cell) => Err(conflict(
                    field,
                    format!("programme {} has registrations (cell-{cell}); it cannot be retracted", p.programme_id),
                )),
                None => Ok(()),
            }
        }
        Event::CheckpointSigned(_) => Err(conflict(field, format!("a {target_type} cannot be retracted"))),
        _ => Ok(()),
    }
}

/// The rules of each event type, against one state.
struct Rules<'s, 'c> {
    state: &'s State,
    cx: &'s Context<'c>,
    stream: &'s StreamName,
}

impl Rules<'_, '_> {
    fn check(&self, event: &Event, occurred_at: Timestamp) -> Checked {
        // The event's field name is spelled out only for an error: most events pass.
        let kind = || event.event_type().field_name();
        let at = |e: Rejection| match e.error.field.as_str() {
            // Fields of the submission, not of the event.
            "stream" | "event_id" | "occurred_at" => e,
            _ => Rejection { error: e.error.within(kind()), ..e },
        };
        match event {
            Event::OrganizationRegistered(e) => self.organization(e, occurred_at).map_err(at),
            Event::CheckpointSigned(_) => Err(invalid("stream", "$checkpoints is written by the server only")),
            Event::CredentialIssued(_) | Event::CredentialRevoked(_) => Err(invalid(
                "stream",
                "$credentials is written by the server only: an admin issues and revokes credentials with chibo keys",
            )),
            Event::EventCorrected(_) | Event::EventRetracted(_) => {
                Err(invalid(format!("{}.replacement", kind()), "a correction cannot carry a correction or retraction"))
            }
            event => match self.stream {
                StreamName::Cell(cell) => {
                    self.registered_cell(cell)?;
                    self.cell_event(cell, event).map_err(at)
                }
                StreamName::Org(org) => {
                    self.registered_committee(org)?;
                    self.org_event(org, event).map_err(at)
                }
                StreamName::Checkpoints => Err(invalid("stream", "$checkpoints is written by the server only")),
                StreamName::Credentials => Err(invalid("stream", "$credentials is written by the server only")),
            },
        }
    }

    fn registered_cell(&self, cell: &Id) -> Result<&OrgNode, Rejection> {
        match self.state.index().org(cell) {
            Some(node) if node.level == OrgLevel::Cell => Ok(node),
            _ => Err(conflict(
                "stream",
                format!("cell-{cell} is not a registered cell; record its OrganizationRegistered first"),
            )),
        }
    }

    fn registered_committee(&self, org: &Id) -> Result<&OrgNode, Rejection> {
        match self.state.index().org(org) {
            Some(node) if node.level != OrgLevel::Cell => Ok(node),
            _ => Err(conflict(
                "stream",
                format!("org-{org} is not a registered committee; record its OrganizationRegistered first"),
            )),
        }
    }

    fn not_future(&self, field: &str, date: Date) -> Checked {
        if date > self.cx.today {
            return Err(invalid(field, format!("{date} is in the future (today is {} in Vietnam)", self.cx.today)));
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // The organization tree

    fn organization(&self, e: &chibo_domain::event::OrganizationRegistered, occurred_at: Timestamp) -> Checked {
        if let Some(node) = self.state.index().org(&e.org_id) {
            return Err(exists(
                "org_id",
                format!("{} is already registered ({}, event {})", e.org_id, node.stream, node.event_id),
            ));
        }
        let Some(parent_id) = &e.parent_id else { return Ok(()) };
        let Some(parent) = self.state.index().org(parent_id) else {
            return Err(conflict(
                "parent_id",
                format!("{parent_id} is not a registered organization; register it first"),
            ));
        };
        if rank(parent.level) >= rank(e.level) {
            return Err(conflict(
                "parent_id",
                format!("{parent_id} is a {}, which cannot be the parent of a {}", parent.level, e.level),
            ));
        }
        let since = occurred_at.date_in_vietnam();
        if since < parent.since {
            return Err(conflict(
                "occurred_at",
                format!("{since} is before the parent {parent_id} was registered ({})", parent.since),
            ));
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // A cell's record book

    fn cell_event(&self, cell: &Id, event: &Event) -> Checked {
        let state = self.state;
        match event {
            Event::MemberJoined(e) => {
                self.not_future("date", e.date)?;
                match state.membership(cell, &e.member_id, None) {
                    Some(Membership::Active { since }) => {
                        return Err(conflict(
                            "member_id",
                            format!("{} is already a member of cell-{cell} (since {since})", e.member_id),
                        ))
                    }
                    Some(Membership::Left { on }) if e.date < on => {
                        return Err(conflict(
                            "date",
                            format!("{} is before {}'s departure from cell-{cell} on {on}", e.date, e.member_id),
                        ))
                    }
                    _ => {}
                }
                if let Some(other) = state.active_elsewhere(&e.member_id, cell) {
                    return Err(conflict(
                        "member_id",
                        format!(
                            "{} is a member of cell-{other}; record their MemberLeft (transferred_out) there first",
                            e.member_id
                        ),
                    ));
                }
                // One cell at a time: a join dated before the last departure from another cell
                // would make the two memberships overlap.
                if let Some((other, on)) = state.last_left_elsewhere(&e.member_id, cell).filter(|(_, on)| e.date < *on)
                {
                    return Err(conflict(
                        "date",
                        format!(
                            "{} is before {}'s departure from cell-{other} on {on}; a member belongs to one cell at a time",
                            e.date, e.member_id
                        ),
                    ));
                }
                if let Some(from) = &e.transfer_cell_id {
                    self.known_cell("transfer_cell_id", from)?;
                }
                Ok(())
            }
            Event::MemberLeft(e) => {
                self.not_future("date", e.date)?;
                match state.membership(cell, &e.member_id, None) {
                    Some(Membership::Active { since }) if e.date < since => Err(conflict(
                        "date",
                        format!("{} is before {} joined cell-{cell} on {since}", e.date, e.member_id),
                    )),
                    Some(Membership::Active { .. }) => match &e.transfer_cell_id {
                        Some(to) => self.known_cell("transfer_cell_id", to),
                        None => Ok(()),
                    },
                    _ => Err(self.not_a_member("member_id", cell, &e.member_id, None)),
                }
            }
            Event::MemberRoleAssigned(e) => {
                self.not_future("date", e.date)?;
                self.member_on("member_id", cell, &e.member_id, Some(e.date))
            }
            Event::CellRegistered(e) => {
                self.not_future("date", e.date)?;
                let programme = self.programme("programme_id", &e.programme_id)?;
                let committee = programme.committee().expect("a programme is launched in an org stream");
                if !state.index().is_above(committee, cell) {
                    return Err(conflict(
                        "programme_id",
                        format!("{} is run by org-{committee}, which is not above cell-{cell}", e.programme_id),
                    ));
                }
                if state.is_registered(cell, &e.programme_id) {
                    return Err(exists(
                        "programme_id",
                        format!("cell-{cell} is already registered for {}", e.programme_id),
                    ));
                }
                Ok(())
            }
            Event::MeetingHeld(e) => self.meeting(cell, e),
            Event::MemberSpoke(e) => self.present(cell, &e.meeting_id, &e.member_id),
            Event::MemberCommended(e) => self.present(cell, &e.meeting_id, &e.member_id),
            Event::MemberReminded(e) => self.present(cell, &e.meeting_id, &e.member_id),
            Event::ResolutionAdopted(e) => {
                self.meeting_of(cell, &e.meeting_id)?;
                if let Some(ids) = state.index().cells.get(cell).and_then(|c| c.resolutions.get(&e.resolution_id)) {
                    return Err(exists("resolution_id", already(&e.resolution_id, cell, ids)));
                }
                Ok(())
            }
            Event::TaskAssigned(e) => {
                let index = state.index().cells.get(cell);
                if let Some(ids) = index.and_then(|c| c.tasks.get(&e.task_id)) {
                    return Err(exists("task_id", already(&e.task_id, cell, ids)));
                }
                if let Some(resolution) = &e.resolution_id {
                    if !index.is_some_and(|c| c.resolutions.contains_key(resolution)) {
                        return Err(conflict("resolution_id", format!("no resolution {resolution} in cell-{cell}")));
                    }
                }
                self.member_on("member_id", cell, &e.member_id, None)
            }
            Event::TaskCompleted(e) => {
                self.not_future("date", e.date)?;
                let index = state.index().cells.get(cell);
                let task = index
                    .and_then(|c| c.tasks.get(&e.task_id))
                    .and_then(|ids| ids.first())
                    .and_then(|id| state.cell_fact(cell, id))
                    .and_then(|f| match &f.event {
                        Event::TaskAssigned(t) => Some(t),
                        _ => None,
                    });
                let Some(task) = task else {
                    return Err(conflict("task_id", format!("no task {} in cell-{cell}", e.task_id)));
                };
                if task.member_id != e.member_id {
                    return Err(conflict(
                        "member_id",
                        format!("task {} is assigned to {}, not {}", e.task_id, task.member_id, e.member_id),
                    ));
                }
                if let Some(ids) = index.and_then(|c| c.completions.get(&e.task_id)) {
                    return Err(exists(
                        "task_id",
                        format!("task {} is already completed (event {})", e.task_id, first(ids)),
                    ));
                }
                Ok(())
            }
            Event::MeetingScored(e) => {
                self.meeting_of(cell, &e.meeting_id)?;
                let Some(rubric) = self.cx.rules.meeting_score(e.rubric.name.as_str(), e.rubric.version) else {
                    return Err(conflict(
                        "rubric",
                        format!("no meeting-scoring rule set {} version {} is known", e.rubric.name, e.rubric.version),
                    ));
                };
                let parts: Vec<(String, u32)> = e.parts.iter().map(|p| (p.part.clone(), p.points)).collect();
                rubric.check(&parts).map_err(|error| Rejection { kind: RejectionKind::Invalid, error })?;
                let member = state.members_ever(cell).any(|m| *m == e.scorer);
                if !member && !state.index().is_above(&e.scorer, cell) {
                    return Err(conflict(
                        "scorer",
                        format!("{} is neither a member of cell-{cell} nor a committee above it", e.scorer),
                    ));
                }
                let key = (e.meeting_id.clone(), e.scorer.clone());
                if let Some(ids) = state.index().cells.get(cell).and_then(|c| c.meeting_scores.get(&key)) {
                    return Err(exists(
                        "meeting_id",
                        format!(
                            "{} of cell-{cell} is already scored by {} (event {}); correct that event instead",
                            e.meeting_id,
                            e.scorer,
                            first(ids)
                        ),
                    ));
                }
                Ok(())
            }
            Event::StudyPointsEarned(e) => {
                self.not_future("date", e.date)?;
                self.member_on("member_id", cell, &e.member_id, Some(e.date))?;
                let cap = self.cx.limits.daily_study_points_cap;
                let earned = state
                    .index()
                    .cells
                    .get(cell)
                    .and_then(|c| c.points_by_day.get(&e.member_id)?.get(&e.date))
                    .copied()
                    .unwrap_or(0);
                if earned + u64::from(e.points) > u64::from(cap) {
                    return Err(conflict(
                        "points",
                        format!(
                            "{} already has {earned} points on {}; {} more would pass the daily cap of {cap}",
                            e.member_id, e.date, e.points
                        ),
                    ));
                }
                Ok(())
            }
            Event::IndicatorsScored(e) => {
                let programme = self.programme("programme_id", &e.programme_id)?;
                if !state.is_registered(cell, &e.programme_id) {
                    return Err(conflict(
                        "programme_id",
                        format!("cell-{cell} has not registered for {}", e.programme_id),
                    ));
                }
                if e.period > self.cx.today.period() {
                    return Err(invalid("period", format!("{} is in the future", e.period)));
                }
                if e.period.year() != programme.launched.year {
                    return Err(conflict(
                        "period",
                        format!("{} is outside {}'s year {}", e.period, e.programme_id, programme.launched.year),
                    ));
                }
                let indicators: Vec<_> = programme
                    .launched
                    .framework
                    .criteria
                    .iter()
                    .flat_map(|c| c.indicators.iter())
                    .map(|i| (&i.indicator_id, i.max_points))
                    .collect();
                for (i, score) in e.scores.iter().enumerate() {
                    let Some((_, max)) = indicators.iter().find(|(id, _)| **id == score.indicator_id) else {
                        return Err(conflict(
                            format!("scores[{i}].indicator_id"),
                            format!("{} is not an indicator of {}'s framework", score.indicator_id, e.programme_id),
                        ));
                    };
                    if score.points > *max {
                        return Err(conflict(
                            format!("scores[{i}].points"),
                            format!("{} is above indicator {}'s maximum of {max}", score.points, score.indicator_id),
                        ));
                    }
                }
                let key = (e.programme_id.clone(), e.period, e.scored_by);
                if let Some(ids) = state.index().cells.get(cell).and_then(|c| c.indicator_scores.get(&key)) {
                    return Err(exists(
                        "period",
                        format!(
                            "{} of cell-{cell} is already scored by the {} for {} (event {}); correct that event instead",
                            e.period,
                            e.scored_by,
                            e.programme_id,
                            first(ids)
                        ),
                    ));
                }
                Ok(())
            }
            Event::CandidateTrained(e) => self.not_future("date", e.date),
            other => Err(invalid("stream", format!("a {} is not recorded in a cell's stream", other.event_type()))),
        }
    }

    fn meeting(&self, cell: &Id, e: &MeetingHeld) -> Checked {
        let state = self.state;
        if let Some(ids) = state.index().cells.get(cell).and_then(|c| c.meetings.get(&e.meeting_id)) {
            return Err(exists("meeting_id", already(&e.meeting_id, cell, ids)));
        }
        self.not_future("date", e.date)?;
        let node = self.registered_cell(cell)?;
        if e.date < node.since {
            return Err(conflict("date", format!("{} is before cell-{cell} was registered ({})", e.date, node.since)));
        }
        if let Some(posted) = e.documents_posted_on {
            if posted > e.date {
                return Err(invalid("documents_posted_on", format!("{posted} is after the meeting ({})", e.date)));
            }
        }
        if e.kind == chibo_domain::event::MeetingKind::Regular {
            let period = e.date.period();
            if let Some(ids) = state.index().cells.get(cell).and_then(|c| c.regular_by_month.get(&period)) {
                let other = state.cell_fact(cell, &first(ids)).and_then(|f| match &f.event {
                    Event::MeetingHeld(m) => Some(m.meeting_id.to_string()),
                    _ => None,
                });
                return Err(conflict(
                    "kind",
                    format!(
                        "cell-{cell} already held its regular meeting of {period} ({}); a second meeting that month \
                         is declared extraordinary",
                        other.unwrap_or_default()
                    ),
                ));
            }
        }
        let members = state.members_on(cell, e.date);
        let mut listed = BTreeSet::new();
        for (i, a) in e.attendance.iter().enumerate() {
            if !members.contains(&a.member_id) {
                return Err(self.not_a_member(&format!("attendance[{i}].member_id"), cell, &a.member_id, Some(e.date)));
            }
            listed.insert(&a.member_id);
        }
        if let Some(missing) = members.iter().find(|m| !listed.contains(*m)) {
            return Err(conflict(
                "attendance",
                format!("{missing}, a member of cell-{cell} on {}, is missing; list every member once", e.date),
            ));
        }
        for (i, guest) in e.guests.iter().enumerate() {
            if !state.index().is_above(&guest.committee_id, cell) {
                return Err(conflict(
                    format!("guests[{i}].committee_id"),
                    format!("{} is not a committee above cell-{cell}", guest.committee_id),
                ));
            }
        }
        Ok(())
    }

    fn meeting_of<'a>(&'a self, cell: &Id, meeting: &Id) -> Result<&'a MeetingHeld, Rejection> {
        match self.state.meeting(cell, meeting) {
            Some((_, held)) => Ok(held),
            None => Err(conflict("meeting_id", format!("no meeting {meeting} is recorded in cell-{cell}"))),
        }
    }

    /// `member` was present at `meeting`.
    fn present(&self, cell: &Id, meeting: &Id, member: &Id) -> Checked {
        let held = self.meeting_of(cell, meeting)?;
        match held.attendance.iter().find(|a| a.member_id == *member) {
            Some(a) if a.status == AttendanceStatus::Present => Ok(()),
            Some(a) => {
                Err(conflict("member_id", format!("{member} was not present at meeting {meeting} ({})", a.status)))
            }
            None => Err(conflict("member_id", format!("{member} is not on meeting {meeting}'s attendance list"))),
        }
    }

    fn member_on(&self, field: &str, cell: &Id, member: &Id, date: Option<Date>) -> Checked {
        if self.state.is_member(cell, member, date) {
            Ok(())
        } else {
            Err(self.not_a_member(field, cell, member, date))
        }
    }

    fn not_a_member(&self, field: &str, cell: &Id, member: &Id, date: Option<Date>) -> Rejection {
        let on = date.map(|d| format!(" on {d}")).unwrap_or_default();
        conflict(field, format!("{member} is not a member of cell-{cell}{on}"))
    }

    fn known_cell(&self, field: &str, cell: &Id) -> Checked {
        match self.state.index().org(cell) {
            Some(node) if node.level == OrgLevel::Cell => Ok(()),
            _ => Err(conflict(field, format!("{cell} is not a registered cell"))),
        }
    }

    fn programme(&self, field: &str, id: &Id) -> Result<crate::state::Programme<'_>, Rejection> {
        self.state.programme(id).ok_or_else(|| conflict(field, format!("no programme {id} has been launched")))
    }

    // -----------------------------------------------------------------------------------------
    // A committee's decisions

    fn org_event(&self, org: &Id, event: &Event) -> Checked {
        let state = self.state;
        match event {
            Event::ProgrammeLaunched(e) => {
                if let Some(p) = state.programme(&e.programme_id) {
                    return Err(exists(
                        "programme_id",
                        format!("{} was already launched by {} (event {})", e.programme_id, p.stream, p.event_id),
                    ));
                }
                for (i, r) in e.rule_sets.iter().enumerate() {
                    if self.cx.rules.get(r.name.as_str(), r.version).is_none() {
                        return Err(conflict(
                            format!("rule_sets[{i}]"),
                            format!("no rule set {} version {} is known to this server", r.name, r.version),
                        ));
                    }
                }
                Ok(())
            }
            Event::CellSelected(e) => {
                self.not_future("date", e.date)?;
                self.programme_decision(org, &e.programme_id, &e.cell_id)?;
                if !state.is_registered(&e.cell_id, &e.programme_id) {
                    return Err(conflict(
                        "cell_id",
                        format!(
                            "cell-{} has not registered for {}; selection needs a registration",
                            e.cell_id, e.programme_id
                        ),
                    ));
                }
                if let Some(ids) = state.index().selections.get(&(e.programme_id.clone(), e.cell_id.clone())) {
                    let (_, id) = ids.first().expect("index sets are never empty");
                    return Err(exists(
                        "cell_id",
                        format!("cell-{} is already selected for {} (event {id})", e.cell_id, e.programme_id),
                    ));
                }
                Ok(())
            }
            Event::CellCertified(e) => {
                self.not_future("date", e.date)?;
                let programme = self.programme_decision(org, &e.programme_id, &e.cell_id)?;
                self.certifiable(&programme, &e.cell_id, e.score)
            }
            Event::CertificationRevoked(e) => {
                self.not_future("date", e.date)?;
                self.programme_decision(org, &e.programme_id, &e.cell_id)?;
                if !state.is_certified(&e.programme_id, &e.cell_id) {
                    return Err(conflict(
                        "cell_id",
                        format!("cell-{} holds no certification in {} to revoke", e.cell_id, e.programme_id),
                    ));
                }
                Ok(())
            }
            Event::InspectionConducted(e) => {
                self.not_future("date", e.date)?;
                let key = (self.stream.clone(), e.inspection_id.clone());
                if let Some(ids) = state.index().inspection_ids.get(&key) {
                    return Err(exists(
                        "inspection_id",
                        format!("{} is already recorded in {} (event {})", e.inspection_id, self.stream, first(ids)),
                    ));
                }
                self.cell_below("cell_id", org, &e.cell_id)?;
                let Some(programme_id) = &e.programme_id else { return Ok(()) };
                let programme = self.programme("programme_id", programme_id)?;
                if !state.is_registered(&e.cell_id, programme_id) {
                    return Err(conflict(
                        "programme_id",
                        format!("cell-{} has not registered for {programme_id}", e.cell_id),
                    ));
                }
                let criteria = &programme.launched.framework.criteria;
                for (i, check) in e.criteria.iter().enumerate() {
                    if !criteria.iter().any(|c| c.criterion_id == check.criterion_id) {
                        return Err(conflict(
                            format!("criteria[{i}].criterion_id"),
                            format!("{} is not a criterion of {programme_id}'s framework", check.criterion_id),
                        ));
                    }
                }
                for hard in criteria.iter().filter(|c| c.hard) {
                    if !e.criteria.iter().any(|c| c.criterion_id == hard.criterion_id) {
                        return Err(conflict(
                            "criteria",
                            format!("the hard criterion {} of {programme_id} is not checked", hard.criterion_id),
                        ));
                    }
                }
                Ok(())
            }
            Event::MemberClassified(e) => {
                self.cell_below("cell_id", org, &e.cell_id)?;
                self.classification_rules(&e.rule_set.name, e.rule_set.version, e.year)?;
                let (first_day, last_day) = year_bounds(e.year)?;
                let member_in_year = state.is_member(&e.cell_id, &e.member_id, Some(last_day))
                    || state
                        .index()
                        .cells
                        .get(&e.cell_id)
                        .and_then(|c| c.membership.get(&e.member_id))
                        .is_some_and(|changes| changes.iter().any(|(d, ..)| *d >= first_day && *d <= last_day));
                if !member_in_year {
                    return Err(conflict(
                        "member_id",
                        format!("{} was not a member of cell-{} in {}", e.member_id, e.cell_id, e.year),
                    ));
                }
                if let Some(ids) = state.index().member_classified.get(&(e.year, e.member_id.clone())) {
                    let (s, id) = ids.first().expect("index sets are never empty");
                    return Err(exists(
                        "member_id",
                        format!(
                            "{} is already classified for {} ({s}, event {id}); correct that event instead",
                            e.member_id, e.year
                        ),
                    ));
                }
                Ok(())
            }
            Event::CellClassified(e) => {
                self.cell_below("cell_id", org, &e.cell_id)?;
                self.classification_rules(&e.rule_set.name, e.rule_set.version, e.year)?;
                if let Some(ids) = state.index().cell_classified.get(&(e.year, e.cell_id.clone())) {
                    let (s, id) = ids.first().expect("index sets are never empty");
                    return Err(exists(
                        "cell_id",
                        format!(
                            "cell-{} is already classified for {} ({s}, event {id}); correct that event instead",
                            e.cell_id, e.year
                        ),
                    ));
                }
                Ok(())
            }
            Event::SigningKeyRegistered(e) => {
                if state.index().keys.contains_key(&(self.stream.clone(), e.key_id.clone())) {
                    return Err(exists("key_id", format!("{} is already registered in {}", e.key_id, self.stream)));
                }
                Ok(())
            }
            Event::SigningKeyRevoked(e) => {
                let live = state
                    .index()
                    .keys
                    .get(&(self.stream.clone(), e.key_id.clone()))
                    .and_then(|k| k.last())
                    .is_some_and(|(_, _, registered)| *registered);
                if !live {
                    return Err(conflict("key_id", format!("no key {} in force in {}", e.key_id, self.stream)));
                }
                Ok(())
            }
            other => {
                Err(invalid("stream", format!("a {} is not recorded in a committee's stream", other.event_type())))
            }
        }
    }

    /// A decision about `cell` in `programme`, recorded by `org`: the programme is `org`'s, and
    /// the cell is below it.
    fn programme_decision(
        &self,
        org: &Id,
        programme_id: &Id,
        cell: &Id,
    ) -> Result<crate::state::Programme<'_>, Rejection> {
        let programme = self.programme("programme_id", programme_id)?;
        if programme.stream != self.stream {
            return Err(conflict(
                "programme_id",
                format!("{programme_id} is run by {}; its decisions are recorded there", programme.stream),
            ));
        }
        self.cell_below("cell_id", org, cell)?;
        Ok(programme)
    }

    fn cell_below(&self, field: &str, org: &Id, cell: &Id) -> Checked {
        self.known_cell(field, cell)?;
        if !self.state.index().is_above(org, cell) {
            return Err(conflict(field, format!("cell-{cell} is not below org-{org}")));
        }
        Ok(())
    }

    fn certifiable(&self, programme: &crate::state::Programme<'_>, cell: &Id, score: u32) -> Checked {
        let state = self.state;
        let launched = programme.launched;
        let id = &launched.programme_id;
        if !state.index().selections.contains_key(&(id.clone(), cell.clone())) {
            return Err(conflict(
                "cell_id",
                format!("cell-{cell} was not selected for {id}; certification needs a selection"),
            ));
        }
        if state.is_certified(id, cell) {
            return Err(exists("cell_id", format!("cell-{cell} is already certified in {id}")));
        }
        let threshold = launched.certification_threshold;
        if score < threshold {
            return Err(conflict("score", format!("{score} is below {id}'s certification threshold of {threshold}")));
        }
        let best: u64 =
            launched.framework.criteria.iter().flat_map(|c| c.indicators.iter()).map(|i| u64::from(i.max_points)).sum();
        if u64::from(score) > best {
            return Err(conflict("score", format!("{score} is above the {best} points {id}'s framework allows")));
        }
        match state.latest_indicator_total(cell, id) {
            None => return Err(conflict("cell_id", format!("no indicator score of cell-{cell} is recorded in {id}"))),
            Some((period, total, _)) if total < threshold => {
                return Err(conflict(
                    "cell_id",
                    format!("cell-{cell}'s latest recorded score in {id} is {total} ({period}), below the threshold of {threshold}"),
                ))
            }
            Some(_) => {}
        }
        let hard: Vec<_> = launched.framework.criteria.iter().filter(|c| c.hard).collect();
        if hard.is_empty() {
            return Ok(());
        }
        let latest = state
            .index()
            .inspections
            .get(&(Some(id.clone()), cell.clone()))
            .and_then(|s| s.last())
            .and_then(|(_, _, s, eid)| state.fact(s, eid))
            .and_then(|f| match &f.event {
                Event::InspectionConducted(i) => Some(i),
                _ => None,
            });
        let Some(inspection) = latest else {
            return Err(conflict(
                "cell_id",
                format!("no inspection of cell-{cell} in {id} has checked its hard criteria"),
            ));
        };
        for criterion in hard {
            let met = inspection.criteria.iter().any(|c| c.criterion_id == criterion.criterion_id && c.met);
            if !met {
                return Err(conflict(
                    "cell_id",
                    format!(
                        "the hard criterion {} ({}) was not met at the latest inspection {} ({})",
                        criterion.criterion_id, criterion.name, inspection.inspection_id, inspection.date
                    ),
                ));
            }
        }
        Ok(())
    }

    fn classification_rules(&self, name: &Id, version: u32, year: u16) -> Checked {
        if self.cx.rules.classification(name.as_str(), version).is_none() {
            return Err(conflict("rule_set", format!("no classification rule set {name} version {version} is known")));
        }
        if year > self.cx.today.year() {
            return Err(invalid("year", format!("{year} has not begun")));
        }
        Ok(())
    }
}

fn year_bounds(year: u16) -> Result<(Date, Date), Rejection> {
    match (Date::first_of_year(year), Date::last_of_year(year)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(invalid("year", format!("{year} is outside the years chibo records"))),
    }
}

/// The rank of a level in the tree: a parent's rank is below its child's.
fn rank(level: OrgLevel) -> u8 {
    match level {
        OrgLevel::Province => 0,
        OrgLevel::Bloc | OrgLevel::District => 1,
        OrgLevel::Grassroots => 2,
        OrgLevel::Cell => 3,
    }
}

fn first(ids: &BTreeSet<EventId>) -> EventId {
    *ids.first().expect("index sets are never empty")
}

fn already(id: &Id, cell: &Id, ids: &BTreeSet<EventId>) -> String {
    format!("{id} is already recorded in cell-{cell} (event {})", first(ids))
}

#[cfg(test)]
mod tests {
    use chibo_domain::event::{OrganizationRegistered, OrganizationRegisteredFields};

    use super::*;

    #[test]
    fn the_first_repeated_id_of_a_submission_is_found_with_the_event_it_repeats() {
        let event: Event = OrganizationRegistered::new(OrganizationRegisteredFields {
            org_id: Id::parse("id", "tinh").unwrap(),
            parent_id: None,
            level: OrgLevel::Province,
            name: "Tỉnh".into(),
            cell_type: String::new(),
        })
        .unwrap()
        .into();
        let occurred_at = Timestamp::new("t", 1_772_323_200, 0).unwrap();
        let repeated = |ids: &[u8]| {
            let ids: Vec<_> = ids.iter().map(|&n| EventId::from_bytes([n; 16])).collect();
            repeated_id(ids.iter())
        };
        assert_eq!(repeated(&[]), None);
        assert_eq!(repeated(&[1]), None);
        assert_eq!(repeated(&[1, 2, 3, 4]), None);
        assert_eq!(repeated(&[1, 1]), Some((1, 0)));
        // The first event that repeats an earlier one, not the first id repeated later.
        assert_eq!(repeated(&[1, 2, 3, 2, 1, 3]), Some((3, 1)));
        let many: Vec<u8> = (0..=255).chain([200]).collect();
        assert_eq!(repeated(&many), Some((256, 200)));
        // Through the check: the repeated event is refused by its index.
        let candidates: Vec<_> =
            [1, 2, 1].map(|n| Candidate { event_id: EventId::from_bytes([n; 16]), occurred_at, event: &event }).into();
        let rules = RuleBook::defaults();
        let cx = Context { rules: &rules, limits: &Limits::default(), today: occurred_at.date_in_vietnam() };
        let stream = StreamName::parse("stream", "org-tinh").unwrap();
        let refused = check_submission(&mut State::new(), &cx, &stream, &candidates).unwrap_err();
        assert_eq!((refused.0, refused.1.error.field.as_str()), (2, "event_id"));
    }
}
