//! The index derived from the facts in force: what the rules and the standings look up.
//!
//! Every entry is added and removed by [`Index::toggle`] alone, from the fact and its event id,
//! so taking a fact out leaves the index exactly as if it had never been in. Entries that could
//! collide (two meetings recorded with one id before a rule forbade it) are sets of event ids,
//! never overwritten values.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chibo_domain::event::{CredentialIssued, MeetingKind, OrgLevel, ScoredBy};
use chibo_domain::{Date, Event, EventId, Id, Period, StreamName};

use super::Fact;

/// A set of entries under each key; a key is present only while its set is not empty.
pub type Sets<K, V> = BTreeMap<K, BTreeSet<V>>;

/// An inspection as indexed: its date, its position in the log, the committee stream that
/// recorded it and its event id.
pub type InspectionEntry = (Date, u64, StreamName, EventId);

/// What a member's join or departure in a cell's records changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MembershipChange {
    /// A `MemberJoined`.
    Joined,
    /// A `MemberLeft`.
    Left,
}

/// An organization of the tree, as its registration in force says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNode {
    /// Its stream: `cell-{id}` for a cell, `org-{id}` otherwise.
    pub stream: StreamName,
    /// The registration's event id.
    pub event_id: EventId,
    /// The parent committee; `None` for a root.
    pub parent: Option<Id>,
    /// Its level.
    pub level: OrgLevel,
    /// Its name.
    pub name: String,
    /// The day it was registered (Vietnam time): it exists from then on.
    pub since: Date,
}

/// What the facts of one cell's stream index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellIndex {
    /// Per member: their joins and departures, by (date, revision), each with what it changed,
    /// so that a member's standing is read here without looking their facts up.
    pub membership: Sets<Id, (Date, u64, EventId, MembershipChange)>,
    /// Meetings by meeting id.
    pub meetings: Sets<Id, EventId>,
    /// Regular meetings by month.
    pub regular_by_month: Sets<Period, EventId>,
    /// Resolutions by id.
    pub resolutions: Sets<Id, EventId>,
    /// Tasks by id.
    pub tasks: Sets<Id, EventId>,
    /// Task completions by task id.
    pub completions: Sets<Id, EventId>,
    /// Study points per member, per day. By member first: a cell has a few dozen members and
    /// hundreds of days each, and a lookup then compares the member's id a few times instead
    /// of at every level of one tree of them all.
    pub points_by_day: BTreeMap<Id, BTreeMap<Date, u64>>,
    /// Registrations by programme.
    pub registrations: Sets<Id, EventId>,
    /// Indicator scores by (programme, month, scorer).
    pub indicator_scores: Sets<(Id, Period, ScoredBy), EventId>,
    /// Meeting scores by (meeting, scorer).
    pub meeting_scores: Sets<(Id, Id), EventId>,
}

impl CellIndex {
    /// Whether no fact of the cell is indexed. Each set is asked whether it is empty: comparing
    /// with a `CellIndex::default()` built and dropped for the purpose was a sixteenth of a
    /// rebuild's apply (docs/BENCHMARKS.md, sixteenth round).
    fn is_empty(&self) -> bool {
        // Taken apart, so that a field added is a field asked about.
        let Self {
            membership,
            meetings,
            regular_by_month,
            resolutions,
            tasks,
            completions,
            points_by_day,
            registrations,
            indicator_scores,
            meeting_scores,
        } = self;
        membership.is_empty()
            && meetings.is_empty()
            && regular_by_month.is_empty()
            && resolutions.is_empty()
            && tasks.is_empty()
            && completions.is_empty()
            && points_by_day.is_empty()
            && registrations.is_empty()
            && indicator_scores.is_empty()
            && meeting_scores.is_empty()
    }
}

/// Everything derived from the facts in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// Registrations in force per organization id, by position: the first one counts (a
    /// second could only come from a log written before the rules).
    registrations: Sets<Id, (u64, EventId)>,
    /// The organization each registration in force describes.
    nodes: BTreeMap<EventId, OrgNode>,
    /// Registrations naming each parent: (child, registration).
    children: Sets<Id, (Id, EventId)>,
    /// Each cell's own index, by cell id, found by hashing it (foldhash, seeded per process):
    /// every event of a cell's stream looks its cell up (docs/BENCHMARKS.md, twentieth round).
    /// Not in id order.
    pub cells: HashMap<Id, CellIndex, foldhash::fast::RandomState>,
    /// Programmes: the committee stream that launched each, and the launch's event id.
    pub programmes: Sets<Id, (StreamName, EventId)>,
    /// Per member, the cells whose records name them as joining or leaving.
    pub member_cells: Sets<Id, (Id, EventId)>,
    /// Selections by (programme, cell), with the committee stream.
    pub selections: Sets<(Id, Id), (StreamName, EventId)>,
    /// Certifications (`true`) and revocations (`false`) by (programme, cell), in log order.
    pub certifications: Sets<(Id, Id), (u64, StreamName, EventId, bool)>,
    /// Inspections by (programme or none, cell), by (date, position).
    pub inspections: Sets<(Option<Id>, Id), InspectionEntry>,
    /// Inspection ids per committee stream.
    pub inspection_ids: Sets<(StreamName, Id), EventId>,
    /// Member classifications by (year, member).
    pub member_classified: Sets<(u16, Id), (StreamName, EventId)>,
    /// Cell classifications by (year, cell).
    pub cell_classified: Sets<(u16, Id), (StreamName, EventId)>,
    /// Signing keys by (committee stream, key id): registered (`true`) or revoked (`false`).
    pub keys: Sets<(StreamName, Id), (u64, EventId, bool)>,
    /// Credentials issued, by credential id.
    pub credentials: BTreeMap<Id, CredentialIssued>,
    /// Credential ids by digest (of a token's secret, or of a certificate).
    pub credential_digests: BTreeMap<Vec<u8>, Id>,
    /// Credentials revoked, by credential id: the revocation's event id.
    pub revoked: BTreeMap<Id, EventId>,
}

/// Adds `value` to the set under `key`, or removes it (dropping the set when it empties).
fn toggle_in<K: Ord, V: Ord>(map: &mut Sets<K, V>, key: K, value: V, on: bool) {
    if on {
        map.entry(key).or_default().insert(value);
    } else if let Some(set) = map.get_mut(&key) {
        set.remove(&value);
        if set.is_empty() {
            map.remove(&key);
        }
    }
}

impl Index {
    /// The organization `id`, as its registration in force says.
    pub fn org(&self, id: &Id) -> Option<&OrgNode> {
        let (_, first) = self.registrations.get(id)?.first()?;
        self.nodes.get(first)
    }

    /// Every registered organization, by id.
    pub fn orgs(&self) -> impl Iterator<Item = (&Id, &OrgNode)> {
        self.registrations.keys().filter_map(|id| Some((id, self.org(id)?)))
    }

    /// The organizations whose parent is `id`, by id.
    pub fn children<'a>(&'a self, id: &Id) -> impl Iterator<Item = &'a Id> + 'a {
        self.children
            .get(id)
            .into_iter()
            .flatten()
            .filter(|(child, registration)| self.org(child).is_some_and(|n| n.event_id == *registration))
            .map(|(child, _)| child)
    }

    /// `id` and every organization below it, parents before children, siblings by id.
    pub fn subtree(&self, id: &Id) -> Vec<Id> {
        let mut out = vec![id.clone()];
        let mut next = 0;
        while next < out.len() {
            let children: Vec<Id> = self.children(&out[next]).cloned().collect();
            out.extend(children);
            next += 1;
        }
        out
    }

    /// Whether `ancestor` is strictly above `id` in the tree.
    pub fn is_above(&self, ancestor: &Id, id: &Id) -> bool {
        let mut at = self.org(id).and_then(|n| n.parent.clone());
        // The tree has at most as many levels as organizations; the bound guards a cycle that a
        // log written before the rules could hold.
        for _ in 0..=self.registrations.len() {
            match at {
                Some(ref p) if p == ancestor => return true,
                Some(p) => at = self.org(&p).and_then(|n| n.parent.clone()),
                None => return false,
            }
        }
        false
    }

    /// Adds (`on`) or removes the entries of the fact `id` of `stream`.
    pub(super) fn toggle(&mut self, stream: &StreamName, id: &EventId, fact: &Fact, on: bool) {
        let id = *id;
        let at = (fact.revision, id);
        match (&fact.event, stream) {
            (Event::OrganizationRegistered(e), _) => {
                toggle_in(&mut self.registrations, e.org_id.clone(), (fact.position, id), on);
                if let Some(parent) = &e.parent_id {
                    toggle_in(&mut self.children, parent.clone(), (e.org_id.clone(), id), on);
                }
                if on {
                    let node = OrgNode {
                        stream: stream.clone(),
                        event_id: id,
                        parent: e.parent_id.clone(),
                        level: e.level,
                        name: e.name.clone(),
                        since: fact.occurred_at.date_in_vietnam(),
                    };
                    self.nodes.insert(id, node);
                } else {
                    self.nodes.remove(&id);
                }
            }
            (event, StreamName::Cell(cell)) => self.toggle_cell(cell, id, at, event, on),
            (event, StreamName::Org(_)) => self.toggle_org(stream, id, fact.position, event, on),
            (_, StreamName::Checkpoints) => {}
            (event, StreamName::Credentials) => self.toggle_credential(id, event, on),
        }
    }

    fn toggle_credential(&mut self, id: EventId, event: &Event, on: bool) {
        match (event, on) {
            (Event::CredentialIssued(e), true) => {
                self.credential_digests.insert(e.digest.clone(), e.credential_id.clone());
                self.credentials.insert(e.credential_id.clone(), e.clone());
            }
            (Event::CredentialIssued(e), false) => {
                self.credential_digests.remove(&e.digest);
                self.credentials.remove(&e.credential_id);
            }
            (Event::CredentialRevoked(e), true) => {
                self.revoked.insert(e.credential_id.clone(), id);
            }
            (Event::CredentialRevoked(e), false) => {
                self.revoked.remove(&e.credential_id);
            }
            _ => {}
        }
    }

    /// The credential whose digest is `digest`, unless it was revoked.
    pub fn credential(&self, digest: &[u8]) -> Option<&CredentialIssued> {
        let id = self.credential_digests.get(digest)?;
        if self.revoked.contains_key(id) {
            return None;
        }
        self.credentials.get(id)
    }

    fn toggle_cell(&mut self, cell: &Id, id: EventId, (revision, _): (u64, EventId), event: &Event, on: bool) {
        // The cell's id is copied only when the cell first appears: this runs for every event.
        let index = match self.cells.get_mut(cell) {
            Some(index) => index,
            None => self.cells.entry(cell.clone()).or_default(),
        };
        match event {
            Event::MemberJoined(e) => {
                toggle_in(
                    &mut index.membership,
                    e.member_id.clone(),
                    (e.date, revision, id, MembershipChange::Joined),
                    on,
                );
                toggle_in(&mut self.member_cells, e.member_id.clone(), (cell.clone(), id), on);
            }
            Event::MemberLeft(e) => {
                toggle_in(
                    &mut index.membership,
                    e.member_id.clone(),
                    (e.date, revision, id, MembershipChange::Left),
                    on,
                );
                toggle_in(&mut self.member_cells, e.member_id.clone(), (cell.clone(), id), on);
            }
            Event::MeetingHeld(e) => {
                toggle_in(&mut index.meetings, e.meeting_id.clone(), id, on);
                if e.kind == MeetingKind::Regular {
                    toggle_in(&mut index.regular_by_month, e.date.period(), id, on);
                }
            }
            Event::ResolutionAdopted(e) => toggle_in(&mut index.resolutions, e.resolution_id.clone(), id, on),
            Event::TaskAssigned(e) => toggle_in(&mut index.tasks, e.task_id.clone(), id, on),
            Event::TaskCompleted(e) => toggle_in(&mut index.completions, e.task_id.clone(), id, on),
            Event::MeetingScored(e) => {
                toggle_in(&mut index.meeting_scores, (e.meeting_id.clone(), e.scorer.clone()), id, on)
            }
            Event::StudyPointsEarned(e) => {
                let points = u64::from(e.points);
                if on {
                    let days = match index.points_by_day.get_mut(&e.member_id) {
                        Some(days) => days,
                        None => index.points_by_day.entry(e.member_id.clone()).or_default(),
                    };
                    *days.entry(e.date).or_default() += points;
                } else if let Some(days) = index.points_by_day.get_mut(&e.member_id) {
                    if let Some(total) = days.get_mut(&e.date) {
                        *total -= points;
                        if *total == 0 {
                            days.remove(&e.date);
                        }
                    }
                    if days.is_empty() {
                        index.points_by_day.remove(&e.member_id);
                    }
                }
            }
            Event::CellRegistered(e) => toggle_in(&mut index.registrations, e.programme_id.clone(), id, on),
            Event::IndicatorsScored(e) => {
                toggle_in(&mut index.indicator_scores, (e.programme_id.clone(), e.period, e.scored_by), id, on)
            }
            _ => {}
        }
        if index.is_empty() {
            self.cells.remove(cell);
        }
    }

    fn toggle_org(&mut self, stream: &StreamName, id: EventId, position: u64, event: &Event, on: bool) {
        let s = stream.clone();
        match event {
            Event::ProgrammeLaunched(e) => toggle_in(&mut self.programmes, e.programme_id.clone(), (s, id), on),
            Event::CellSelected(e) => {
                toggle_in(&mut self.selections, (e.programme_id.clone(), e.cell_id.clone()), (s, id), on)
            }
            Event::CellCertified(e) => toggle_in(
                &mut self.certifications,
                (e.programme_id.clone(), e.cell_id.clone()),
                (position, s, id, true),
                on,
            ),
            Event::CertificationRevoked(e) => toggle_in(
                &mut self.certifications,
                (e.programme_id.clone(), e.cell_id.clone()),
                (position, s, id, false),
                on,
            ),
            Event::InspectionConducted(e) => {
                toggle_in(
                    &mut self.inspections,
                    (e.programme_id.clone(), e.cell_id.clone()),
                    (e.date, position, s.clone(), id),
                    on,
                );
                toggle_in(&mut self.inspection_ids, (s, e.inspection_id.clone()), id, on);
            }
            Event::MemberClassified(e) => {
                toggle_in(&mut self.member_classified, (e.year, e.member_id.clone()), (s, id), on)
            }
            Event::CellClassified(e) => toggle_in(&mut self.cell_classified, (e.year, e.cell_id.clone()), (s, id), on),
            Event::SigningKeyRegistered(e) => {
                toggle_in(&mut self.keys, (s, e.key_id.clone()), (position, id, true), on)
            }
            Event::SigningKeyRevoked(e) => toggle_in(&mut self.keys, (s, e.key_id.clone()), (position, id, false), on),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use chibo_domain::time::{Date, Period};

    use super::*;

    #[test]
    fn a_cell_index_is_empty_only_while_every_set_is() {
        let id = |s: &str| Id::parse("id", s).unwrap();
        let event = EventId::from_bytes([7; 16]);
        let (date, period) = (Date::parse("date", "2026-03-05").unwrap(), Period::parse("period", "2026-03").unwrap());
        let one = |fill: fn(&mut CellIndex, Id, EventId, Date, Period)| {
            let mut index = CellIndex::default();
            fill(&mut index, id("a"), event, date, period);
            index
        };
        let filled = [
            one(|i, a, e, d, _| drop(i.membership.insert(a, [(d, 0, e, MembershipChange::Joined)].into()))),
            one(|i, a, e, _, _| drop(i.meetings.insert(a, [e].into()))),
            one(|i, _, e, _, p| drop(i.regular_by_month.insert(p, [e].into()))),
            one(|i, a, e, _, _| drop(i.resolutions.insert(a, [e].into()))),
            one(|i, a, e, _, _| drop(i.tasks.insert(a, [e].into()))),
            one(|i, a, e, _, _| drop(i.completions.insert(a, [e].into()))),
            one(|i, a, _, d, _| drop(i.points_by_day.insert(a, [(d, 1)].into()))),
            one(|i, a, e, _, _| drop(i.registrations.insert(a, [e].into()))),
            one(|i, a, e, _, p| drop(i.indicator_scores.insert((a, p, ScoredBy::Cell), [e].into()))),
            one(|i, a, e, _, _| drop(i.meeting_scores.insert((a.clone(), a), [e].into()))),
        ];
        assert!(CellIndex::default().is_empty());
        for (field, index) in filled.iter().enumerate() {
            assert_ne!(index, &CellIndex::default(), "field {field} is filled");
            assert!(!index.is_empty(), "field {field} is filled, and the index is not empty");
        }
    }
}
