//! The state the log folds into: every stream's effective events, and the indexes the rules,
//! the standings and the evaluations look things up in.
//!
//! The state keeps, per stream, the **effective** version of each event, keyed by its event id:
//! an original until it is corrected, then the correction's replacement (under the original's
//! id, at the original's place), and nothing once it is retracted. Everything else — the
//! organization tree, who is a member of which cell on which date, meetings by id, points per
//! member per day, selections, certifications — is an [`Index`] derived from those facts. Each
//! fact enters the index through one function, [`Index::toggle`], that adds it or takes it out
//! symmetrically, so a correction is "take the old fact out, put the new one in", and a
//! tentative apply can be undone exactly (that is how a batch is validated event by event).
//!
//! `apply` is total: an event that breaks today's rules (recorded before a rule existed, or by
//! a newer build) is kept as recorded, never refused, so the state is always a function of the
//! log prefix alone (DESIGN.md invariant 6).

mod index;
mod query;
mod slots;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chibo_domain::{Event, EventId, EventType, StreamName, Timestamp};

pub use index::{CellIndex, Index, MembershipChange, OrgNode};
pub use query::{Membership, Programme};

use self::slots::Slots;
use crate::record::Recorded;

/// One event in force: an original, or the replacement a correction put in its place. Which
/// correction, if any, its stream's book says ([`StreamBook::corrected_by`]): few facts are
/// corrected, and a field of every fact for it was a fifth of the fact (docs/BENCHMARKS.md,
/// twenty-second round).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The global position of the original event.
    pub position: u64,
    /// The revision of the original event in its stream.
    pub revision: u64,
    /// When the original event happened, as asserted.
    pub occurred_at: Timestamp,
    /// What is in force: the original, or the latest correction's replacement.
    pub event: Event,
}

/// What an event id of a stream stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An event in force (perhaps corrected: see its [`Fact`]).
    Original,
    /// An original withdrawn by the retraction `by`.
    Retracted {
        /// The retraction.
        by: EventId,
    },
    /// A correction of `target`.
    Correction {
        /// The corrected event.
        target: EventId,
    },
    /// A retraction of `target`.
    Retraction {
        /// The retracted event.
        target: EventId,
    },
    /// An event whose payload this build cannot read.
    Unreadable,
}

/// An event id of a stream: where it is and what it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdEntry {
    /// The event's revision.
    pub revision: u64,
    /// The event's type, if readable.
    pub event_type: Option<EventType>,
    /// What it stands for.
    pub role: Role,
}

/// One stream: its length, its facts in force, and every other event id it holds.
///
/// An event id in force is [`Role::Original`], and its entry is read from its fact; only the
/// other ids (retracted originals, corrections, retractions, unreadable events) have entries of
/// their own. Every event of the log is in one of the two maps, never both, so the state keeps
/// one key per event.
///
/// The facts are kept side by side in the order they came into force, and the map of ids in
/// force says where each is. Before, each fact was a box of its own, the map's value: one
/// allocation an event, which was most of what the applying thread of a rebuild did
/// (docs/BENCHMARKS.md, twenty-second round). A fact withdrawn leaves its place empty, so that
/// no other moves; an undo of the last fact that came in takes its place back.
#[derive(Debug, Clone, Default)]
pub struct StreamBook {
    /// The revision the next event will get (the stream's length).
    pub next_revision: u64,
    /// The facts in force, by the original event's id: their places in `slots`. A place rather
    /// than the fact: event ids are random, so a new id goes into the middle of a tree node,
    /// and the node moves the entries after it along (docs/BENCHMARKS.md, tenth round).
    in_force: BTreeMap<EventId, usize>,
    /// The facts, by place; `None` where a fact was withdrawn.
    slots: Slots,
    /// The latest correction of each corrected fact in force, by the fact's id.
    corrections: BTreeMap<EventId, EventId>,
    /// Every event id of the stream that is not in force, with what it stands for.
    others: BTreeMap<EventId, IdEntry>,
}

/// Two books are equal when they hold the same facts under the same ids, whatever places the
/// facts have (a book read from a snapshot has no empty ones).
impl PartialEq for StreamBook {
    fn eq(&self, other: &Self) -> bool {
        self.next_revision == other.next_revision
            && self.corrections == other.corrections
            && self.others == other.others
            && self.facts().eq(other.facts())
    }
}

impl Eq for StreamBook {}

impl StreamBook {
    /// What the event `id` of this stream stands for, if the stream holds it.
    pub fn id(&self, id: &EventId) -> Option<IdEntry> {
        match self.fact(id) {
            Some(fact) => Some(fact.entry()),
            None => self.others.get(id).copied(),
        }
    }

    /// Whether the stream holds the event `id`.
    pub fn holds(&self, id: &EventId) -> bool {
        self.in_force.contains_key(id) || self.others.contains_key(id)
    }

    /// Every event id of the stream with what it stands for, in id order.
    pub fn ids(&self) -> impl Iterator<Item = (EventId, IdEntry)> + '_ {
        let mut facts = self.facts().map(|(id, fact)| (*id, fact.entry())).peekable();
        let mut others = self.others.iter().map(|(id, entry)| (*id, *entry)).peekable();
        std::iter::from_fn(move || match (facts.peek(), others.peek()) {
            (Some((f, _)), Some((o, _))) if o < f => others.next(),
            (Some(_), _) => facts.next(),
            (None, _) => others.next(),
        })
    }

    /// The fact in force under the event id `id`.
    pub fn fact(&self, id: &EventId) -> Option<&Fact> {
        self.in_force.get(id).map(|&slot| self.slot(slot))
    }

    /// The facts in force, in id order.
    pub fn facts(&self) -> impl Iterator<Item = (&EventId, &Fact)> + '_ {
        self.in_force.iter().map(|(id, &slot)| (id, self.slot(slot)))
    }

    /// How many facts are in force.
    pub fn fact_count(&self) -> usize {
        self.in_force.len()
    }

    /// The latest correction of the fact in force under `id`, if it was corrected.
    pub fn corrected_by(&self, id: &EventId) -> Option<EventId> {
        self.corrections.get(id).copied()
    }

    /// The fact at `slot`, which the map of ids in force names.
    fn slot(&self, slot: usize) -> &Fact {
        self.slots.get(slot).and_then(Option::as_ref).expect("an id in force names a place that holds its fact")
    }

    /// The fact at `slot`, to change.
    fn slot_mut(&mut self, slot: usize) -> &mut Fact {
        self.slots.get_mut(slot).and_then(Option::as_mut).expect("an id in force names a place that holds its fact")
    }

    /// Puts `fact` in force under `id`, in a new place after the others.
    fn push(&mut self, id: EventId, fact: Fact) {
        let slot = self.slots.push(fact);
        self.in_force.insert(id, slot);
    }

    /// Takes back the last [`StreamBook::push`], of `id`: its fact.
    fn pop(&mut self, id: &EventId) -> Option<Fact> {
        let slot = self.in_force.remove(id)?;
        debug_assert_eq!(slot + 1, self.slots.len(), "only the last fact that came in is taken back");
        self.slots.pop()
    }

    /// Withdraws the fact in force under `id`, leaving its place empty: the fact, its place and
    /// its latest correction.
    fn withdraw(&mut self, id: &EventId) -> Option<(Fact, usize, Option<EventId>)> {
        let slot = self.in_force.remove(id)?;
        let fact = self.slots.get_mut(slot).and_then(Option::take);
        let fact = fact.expect("an id in force names a place that holds its fact");
        Some((fact, slot, self.corrections.remove(id)))
    }

    /// Takes back a [`StreamBook::withdraw`].
    fn restore(&mut self, id: EventId, fact: Fact, slot: usize, corrected_by: Option<EventId>) {
        *self.slots.get_mut(slot).expect("a withdrawn fact's place stays") = Some(fact);
        self.in_force.insert(id, slot);
        if let Some(correction) = corrected_by {
            self.corrections.insert(id, correction);
        }
    }

    /// Puts `event` in force under `id` in place of its fact, corrected by `correction`: the
    /// event and the correction it replaced.
    fn replace(&mut self, id: EventId, event: Event, correction: Option<EventId>) -> (Event, Option<EventId>) {
        let slot = self.in_force[&id];
        let old = std::mem::replace(&mut self.slot_mut(slot).event, event);
        let old_correction = match correction {
            Some(c) => self.corrections.insert(id, c),
            None => self.corrections.remove(&id),
        };
        (old, old_correction)
    }

    /// Whether the book holds nothing.
    fn is_empty(&self) -> bool {
        self.in_force.is_empty() && self.others.is_empty()
    }
}

impl Fact {
    /// The entry of the event id this fact is in force under.
    fn entry(&self) -> IdEntry {
        IdEntry { revision: self.revision, event_type: Some(self.event.event_type()), role: Role::Original }
    }
}

/// The whole state: every stream's facts, and the derived index.
///
/// The books are found by hashing the stream's name (foldhash, seeded per process): every event
/// applied looks its stream up, and in a tree of a province's two thousand streams that took a
/// score of comparisons of names (docs/BENCHMARKS.md, twentieth round). Whatever lists the
/// streams sorts them by name.
///
/// Each stream's book is shared, copied on its first change while shared
/// ([`Arc::make_mut`]): [`State::freeze`] takes what a snapshot encodes without copying the
/// facts, and the snapshot is encoded while the state goes on changing.
#[derive(Debug, Clone, Default)]
pub struct State {
    log_size: u64,
    last_hash: Option<[u8; 32]>,
    unreadable: u64,
    streams: HashMap<StreamName, Arc<StreamBook>, foldhash::fast::RandomState>,
    index: Index,
}

/// What a snapshot of a [`State`] encodes, as it was when [`State::freeze`] took it: the
/// state's later changes copy the books they change rather than change these.
#[derive(Debug, Clone)]
pub struct Frozen {
    pub(crate) log_size: u64,
    pub(crate) last_hash: Option<[u8; 32]>,
    /// The streams, by name.
    pub(crate) streams: Vec<(StreamName, Arc<StreamBook>)>,
}

/// How to take back one [`State::apply`]: see [`State::undo`].
#[derive(Debug)]
#[must_use = "an undo that is dropped cannot be taken back"]
pub struct Undo {
    stream: StreamName,
    event_id: EventId,
    log_size: u64,
    last_hash: Option<[u8; 32]>,
    next_revision: u64,
    change: Change,
}

/// What one apply changed, and what the state was before it: an [`Undo`] but for the event's
/// stream and id, which the caller gives as it can (a copy, or the event's own).
struct Folded {
    log_size: u64,
    last_hash: Option<[u8; 32]>,
    next_revision: u64,
    change: Change,
}

impl Folded {
    fn undo(self, stream: StreamName, event_id: EventId) -> Undo {
        let Folded { log_size, last_hash, next_revision, change } = self;
        Undo { stream, event_id, log_size, last_hash, next_revision, change }
    }
}

#[derive(Debug)]
enum Change {
    /// Nothing but the id entry (an unreadable event, or a correction of nothing).
    Recorded,
    /// A new fact under the event's own id.
    Inserted,
    /// `target`'s event was replaced; `old` was in force before, corrected by `corrected_by`.
    Replaced { target: EventId, old: Event, corrected_by: Option<EventId> },
    /// `target`'s fact was withdrawn from `slot`; it was corrected by `corrected_by`.
    Removed { target: EventId, old: Box<Fact>, slot: usize, corrected_by: Option<EventId> },
}

impl State {
    /// An empty state: the log before its first event.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many events have been applied: the log size this state covers.
    pub fn log_size(&self) -> u64 {
        self.log_size
    }

    /// The position of the last event applied, `None` before the first.
    pub fn last_position(&self) -> Option<u64> {
        self.log_size.checked_sub(1)
    }

    /// The hash of the last event applied.
    pub fn last_hash(&self) -> Option<[u8; 32]> {
        self.last_hash
    }

    /// How many applied events this build could not read.
    pub fn unreadable(&self) -> u64 {
        self.unreadable
    }

    /// The derived index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// A stream, if it holds any event.
    pub fn stream(&self, stream: &StreamName) -> Option<&StreamBook> {
        self.streams.get(stream).map(|book| &**book)
    }

    /// Every stream, by name.
    pub fn streams(&self) -> impl Iterator<Item = (&StreamName, &StreamBook)> {
        self.by_name().into_iter().map(|(name, book)| (name, &**book))
    }

    /// What a snapshot encodes, shared with the state rather than copied: a list of the
    /// streams' names, not of their facts.
    pub fn freeze(&self) -> Frozen {
        let streams = self.by_name().into_iter().map(|(name, book)| (name.clone(), book.clone())).collect();
        Frozen { log_size: self.log_size, last_hash: self.last_hash, streams }
    }

    /// The streams' books, sorted by name: the map's order is the hasher's.
    fn by_name(&self) -> Vec<(&StreamName, &Arc<StreamBook>)> {
        let mut streams: Vec<_> = self.streams.iter().collect();
        streams.sort_unstable_by(|a, b| a.0.cmp(b.0));
        streams
    }

    /// The fact in force for `event_id` of `stream`.
    pub fn fact(&self, stream: &StreamName, event_id: &EventId) -> Option<&Fact> {
        self.streams.get(stream)?.fact(event_id)
    }

    /// Applies the next event of the log. Events must come in global order; each is kept as
    /// recorded (see the module doc).
    pub fn apply(&mut self, recorded: &Recorded) -> Undo {
        self.fold(recorded, recorded.event.as_ref().map(Cow::Borrowed)).undo(recorded.stream.clone(), recorded.event_id)
    }

    /// Applies the next event of the log for good, like [`State::apply`] with its undo dropped,
    /// keeping the event itself rather than a copy: what a replay of the log does.
    pub fn apply_owned(&mut self, mut recorded: Recorded) {
        let event = recorded.event.take().map(Cow::Owned);
        drop(self.fold(&recorded, event));
    }

    /// [`State::apply`] for an event made to be applied and undone (a batch's check): the event
    /// and its stream's name are kept, by the state and the undo, rather than copied.
    pub fn apply_tentatively(&mut self, mut recorded: Recorded) -> Undo {
        let event = recorded.event.take().map(Cow::Owned);
        self.fold(&recorded, event).undo(recorded.stream, recorded.event_id)
    }

    /// What [`State::apply`] does, with `event` in place of `recorded.event`; returns what an
    /// undo needs besides the event's stream and id.
    fn fold(&mut self, recorded: &Recorded, event: Option<Cow<'_, Event>>) -> Folded {
        let (log_size, last_hash) = (self.log_size, self.last_hash);
        let Recorded { position, stream, revision, event_id, hash, .. } = recorded;
        let occurred_at = recorded.occurred_at;
        // A stream's name is copied once, when it first appears; its book, when a frozen state
        // shares it.
        let book = Arc::make_mut(match self.streams.get_mut(stream) {
            Some(book) => book,
            None => self.streams.entry(stream.clone()).or_default(),
        });
        let next_revision = book.next_revision;
        self.log_size = position + 1;
        self.last_hash = Some(*hash);
        book.next_revision = revision + 1;
        let event_type = event.as_deref().map(Event::event_type);
        let entry = |role| IdEntry { revision: *revision, event_type, role };

        let change = match event {
            None => {
                self.unreadable += 1;
                book.others.insert(*event_id, entry(Role::Unreadable));
                Change::Recorded
            }
            Some(event) => match &*event {
                Event::EventCorrected(correction) => {
                    let target = correction.target_event_id;
                    book.others.insert(*event_id, entry(Role::Correction { target }));
                    let replacement = &correction.replacement;
                    let replaceable =
                        book.fact(&target).is_some_and(|old| old.event.event_type() == replacement.event_type());
                    if replaceable {
                        let (old, corrected_by) = replace_indexed(
                            &mut self.index,
                            stream,
                            book,
                            target,
                            (**replacement).clone(),
                            Some(*event_id),
                        );
                        Change::Replaced { target, old, corrected_by }
                    } else {
                        Change::Recorded
                    }
                }
                Event::EventRetracted(retraction) => {
                    let target = retraction.target_event_id;
                    book.others.insert(*event_id, entry(Role::Retraction { target }));
                    match book.withdraw(&target) {
                        Some((old, slot, corrected_by)) => {
                            self.index.toggle(stream, &target, &old, false);
                            book.others
                                .insert(target, IdEntry { role: Role::Retracted { by: *event_id }, ..old.entry() });
                            Change::Removed { target, old: Box::new(old), slot, corrected_by }
                        }
                        None => Change::Recorded,
                    }
                }
                _ => {
                    let fact =
                        Fact { position: *position, revision: *revision, occurred_at, event: event.into_owned() };
                    self.index.toggle(stream, event_id, &fact, true);
                    book.push(*event_id, fact);
                    Change::Inserted
                }
            },
        };
        Folded { log_size, last_hash, next_revision, change }
    }

    /// Takes back the [`State::apply`] that returned `undo`. Undos must be taken in the reverse
    /// order of their applies; the state is then exactly as before them.
    pub fn undo(&mut self, undo: Undo) {
        drop(self.take_back(undo));
    }

    /// [`State::undo`], giving back the event the apply put in force under its own id, if it
    /// did: what [`State::apply_tentatively`] took.
    pub fn take_back(&mut self, undo: Undo) -> Option<Event> {
        let Undo { stream, event_id, log_size, last_hash, next_revision, change } = undo;
        let mut taken = None;
        let book = Arc::make_mut(self.streams.get_mut(&stream).expect("an undo names a stream its apply created"));
        let removed = book.others.remove(&event_id);
        if matches!(removed, Some(IdEntry { role: Role::Unreadable, .. })) {
            self.unreadable -= 1;
        }
        match change {
            Change::Recorded => {}
            Change::Inserted => {
                if let Some(fact) = book.pop(&event_id) {
                    self.index.toggle(&stream, &event_id, &fact, false);
                    taken = Some(fact.event);
                }
            }
            Change::Replaced { target, old, corrected_by } => {
                drop(replace_indexed(&mut self.index, &stream, book, target, old, corrected_by));
            }
            Change::Removed { target, old, slot, corrected_by } => {
                self.index.toggle(&stream, &target, &old, true);
                book.others.remove(&target);
                book.restore(target, *old, slot, corrected_by);
            }
        }
        book.next_revision = next_revision;
        if book.is_empty() {
            self.streams.remove(&stream);
        }
        self.log_size = log_size;
        self.last_hash = last_hash;
        taken
    }

    /// A stream's book from a snapshot's id entries and facts (each with its latest
    /// correction), or why they do not make one: every fact has an original's entry and every
    /// original's entry a fact, and a fact's correction is a correction of it.
    pub(crate) fn book_from_parts(
        next_revision: u64,
        entries: impl IntoIterator<Item = (EventId, IdEntry)>,
        facts: BTreeMap<EventId, (Fact, Option<EventId>)>,
    ) -> Result<StreamBook, String> {
        let mut book = StreamBook { next_revision, ..StreamBook::default() };
        for (id, (fact, corrected_by)) in facts {
            book.push(id, fact);
            if let Some(correction) = corrected_by {
                book.corrections.insert(id, correction);
            }
        }
        let mut originals = 0;
        for (id, entry) in entries {
            let in_force = book.fact(&id).map(|fact| fact.entry());
            match (entry.role, in_force) {
                (Role::Original, Some(fact)) if fact == entry => originals += 1,
                (Role::Original, _) => return Err(format!("the original {id} has no fact of its revision and type")),
                (_, Some(_)) => return Err(format!("{id} is in force and also {:?}", entry.role)),
                (_, None) => {
                    book.others.insert(id, entry);
                }
            }
        }
        if originals != book.fact_count() {
            return Err("a fact has no id entry".into());
        }
        for (target, correction) in &book.corrections {
            if book.others.get(correction).map(|e| e.role) != Some(Role::Correction { target: *target }) {
                return Err(format!("{target} is corrected by {correction}, which is not a correction of it"));
            }
        }
        Ok(book)
    }
}

/// A state read back a stream at a time (a snapshot's): each stream's facts enter the index as
/// the stream comes, so that the index is derived while later streams are still being read.
#[derive(Debug, Default)]
pub(crate) struct Assembly {
    unreadable: u64,
    streams: HashMap<StreamName, Arc<StreamBook>, foldhash::fast::RandomState>,
    index: Index,
}

impl Assembly {
    /// Adds the stream `name`, which the assembly does not hold yet, with its book.
    pub(crate) fn add(&mut self, name: StreamName, book: StreamBook) {
        for (id, fact) in book.facts() {
            self.index.toggle(&name, id, fact, true);
        }
        self.unreadable += book.others.values().filter(|e| e.role == Role::Unreadable).count() as u64;
        self.streams.insert(name, Arc::new(book));
    }

    /// The state of the streams added, which covers a log of `log_size` events whose last
    /// event's hash is `last_hash`.
    pub(crate) fn finish(self, log_size: u64, last_hash: Option<[u8; 32]>) -> State {
        let Self { unreadable, streams, index } = self;
        State { log_size, last_hash, unreadable, streams, index }
    }
}

/// [`StreamBook::replace`] of the fact in force under `target`, which the index takes out
/// before and puts back in after: what a correction and its undo do.
fn replace_indexed(
    index: &mut Index,
    stream: &StreamName,
    book: &mut StreamBook,
    target: EventId,
    event: Event,
    correction: Option<EventId>,
) -> (Event, Option<EventId>) {
    index.toggle(stream, &target, book.fact(&target).expect("a fact replaced is in force"), false);
    let replaced = book.replace(target, event, correction);
    index.toggle(stream, &target, book.fact(&target).expect("a fact replaced stays in force"), true);
    replaced
}

#[cfg(test)]
mod tests {
    use chibo_domain::event::{
        EventCorrected, EventCorrectedFields, EventRetracted, EventRetractedFields, OrgLevel, OrganizationRegistered,
        OrganizationRegisteredFields,
    };
    use chibo_domain::Id;

    use super::*;

    /// A registration of the province `org` named `name`.
    fn registered(org: &str, name: &str) -> Event {
        OrganizationRegistered::new(OrganizationRegisteredFields {
            org_id: Id::parse("id", org).unwrap(),
            parent_id: None,
            level: OrgLevel::Province,
            name: name.to_owned(),
            cell_type: String::new(),
        })
        .unwrap()
        .into()
    }

    fn id(n: u8) -> EventId {
        EventId::from_bytes([n; 16])
    }

    fn stream() -> StreamName {
        StreamName::parse("stream", "org-a").unwrap()
    }

    /// Applies `event`, with the id `id(n)`, as the next event of the log and of `org-a`.
    fn apply(state: &mut State, n: u8, event: Event) -> Undo {
        state.apply(&Recorded {
            position: state.log_size(),
            stream: stream(),
            revision: state.stream(&stream()).map_or(0, |b| b.next_revision),
            event_id: id(n),
            occurred_at: Timestamp::new("t", 1_700_000_000 + i64::from(n), 0).unwrap(),
            recorded_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
            hash: [n; 32],
            event: Some(event),
        })
    }

    fn corrected(target: u8, replacement: Event) -> Event {
        let fields = EventCorrectedFields {
            target_event_id: id(target),
            reason: "sửa".into(),
            replacement: Box::new(replacement),
        };
        EventCorrected::new(fields).unwrap().into()
    }

    fn retracted(target: u8) -> Event {
        EventRetracted::new(EventRetractedFields { target_event_id: id(target), reason: "nhầm".into() }).unwrap().into()
    }

    fn book(state: &State) -> StreamBook {
        state.stream(&stream()).unwrap().clone()
    }

    #[test]
    fn a_withdrawn_fact_leaves_its_place_and_undos_put_back_what_was_there() {
        let mut state = State::new();
        for (n, name) in [(1, "một"), (2, "hai"), (3, "ba")] {
            drop(apply(&mut state, n, registered("a", name)));
        }
        let before_correction = (book(&state), state.encode());

        let correction = apply(&mut state, 4, corrected(2, registered("a", "hai đã sửa")));
        let corrected_book = book(&state);
        assert_eq!(corrected_book.corrected_by(&id(2)), Some(id(4)));
        let fact = corrected_book.fact(&id(2)).unwrap();
        assert_eq!((fact.position, fact.revision), (1, 1), "a replacement keeps its original's place");
        assert_eq!(fact.event, registered("a", "hai đã sửa"));
        let before_retraction = (corrected_book, state.encode());

        let retraction = apply(&mut state, 5, retracted(2));
        let retracted_book = book(&state);
        assert_eq!(retracted_book.fact(&id(2)), None);
        assert_eq!(retracted_book.corrected_by(&id(2)), None, "a withdrawn fact's correction goes with it");
        assert_eq!(retracted_book.id(&id(2)).unwrap().role, Role::Retracted { by: id(5) });
        let names: Vec<_> = retracted_book
            .facts()
            .map(|(id, fact)| match &fact.event {
                Event::OrganizationRegistered(r) => (*id, r.name.clone()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, [(id(1), "một".to_owned()), (id(3), "ba".to_owned())], "the others stay where they were");

        // A fact that comes in after the empty place, and goes again.
        let before_later = (book(&state), state.encode());
        let later = apply(&mut state, 6, registered("a", "sáu"));
        assert_eq!(book(&state).fact_count(), 3);
        state.undo(later);
        assert_eq!((book(&state), state.encode()), before_later, "the later fact's undo");

        state.undo(retraction);
        assert_eq!((book(&state), state.encode()), before_retraction, "the retraction's undo");
        state.undo(correction);
        assert_eq!((book(&state), state.encode()), before_correction, "the correction's undo");
        assert_eq!(book(&state).corrected_by(&id(2)), None);
    }

    #[test]
    fn books_are_equal_by_their_facts_whatever_their_places() {
        let mut state = State::new();
        for n in 1..=3 {
            drop(apply(&mut state, n, registered("a", "tên")));
        }
        drop(apply(&mut state, 4, retracted(2)));
        let decoded = State::decode(&state.encode()).unwrap();
        assert_eq!(book(&decoded), book(&state), "read back without the empty place");
        assert_eq!(book(&decoded).slots.len() + 1, book(&state).slots.len());

        drop(apply(&mut state, 5, corrected(3, registered("a", "tên mới"))));
        assert_ne!(book(&decoded), book(&state), "a replacement makes a book differ");
    }
}
