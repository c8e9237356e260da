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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chibo_domain::{Event, EventId, EventType, StreamName, Timestamp};

pub use index::{CellIndex, Index, MembershipChange, OrgNode};
pub use query::{Membership, Programme};

use crate::record::Recorded;

/// One event in force: an original, or the replacement a correction put in its place.
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
    /// The latest correction, if the original was corrected.
    pub corrected_by: Option<EventId>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamBook {
    /// The revision the next event will get (the stream's length).
    pub next_revision: u64,
    /// The facts in force, by the original event's id. Each is boxed: event ids are random,
    /// so a new fact goes into the middle of a tree node, and the node moves the entries after
    /// it along. Unboxed, that moving was about a tenth of a rebuild's time (docs/BENCHMARKS.md,
    /// tenth round); boxed, it moves pointers, and a node's spare room holds pointers too.
    pub facts: BTreeMap<EventId, Box<Fact>>,
    /// Every event id of the stream that is not in force, with what it stands for.
    others: BTreeMap<EventId, IdEntry>,
}

impl StreamBook {
    /// What the event `id` of this stream stands for, if the stream holds it.
    pub fn id(&self, id: &EventId) -> Option<IdEntry> {
        match self.facts.get(id) {
            Some(fact) => Some(fact.entry()),
            None => self.others.get(id).copied(),
        }
    }

    /// Whether the stream holds the event `id`.
    pub fn holds(&self, id: &EventId) -> bool {
        self.facts.contains_key(id) || self.others.contains_key(id)
    }

    /// Every event id of the stream with what it stands for, in id order.
    pub fn ids(&self) -> impl Iterator<Item = (EventId, IdEntry)> + '_ {
        let mut facts = self.facts.iter().map(|(id, fact)| (*id, fact.entry())).peekable();
        let mut others = self.others.iter().map(|(id, entry)| (*id, *entry)).peekable();
        std::iter::from_fn(move || match (facts.peek(), others.peek()) {
            (Some((f, _)), Some((o, _))) if o < f => others.next(),
            (Some(_), _) => facts.next(),
            (None, _) => others.next(),
        })
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
    /// `target`'s fact was replaced; `old` was in force before.
    Replaced { target: EventId, old: Box<Fact> },
    /// `target`'s fact was withdrawn.
    Removed { target: EventId, old: Box<Fact> },
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
        self.streams.get(stream)?.facts.get(event_id).map(|fact| &**fact)
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
                    let replaceable = book
                        .facts
                        .get(&target)
                        .is_some_and(|old| old.event.event_type() == correction.replacement.event_type());
                    if replaceable {
                        let old = book.facts.get(&target).cloned().expect("checked above");
                        let new = Box::new(Fact {
                            event: (*correction.replacement).clone(),
                            corrected_by: Some(*event_id),
                            ..(*old).clone()
                        });
                        self.index.toggle(stream, &target, &old, false);
                        self.index.toggle(stream, &target, &new, true);
                        book.facts.insert(target, new);
                        Change::Replaced { target, old }
                    } else {
                        Change::Recorded
                    }
                }
                Event::EventRetracted(retraction) => {
                    let target = retraction.target_event_id;
                    book.others.insert(*event_id, entry(Role::Retraction { target }));
                    match book.facts.remove(&target) {
                        Some(old) => {
                            self.index.toggle(stream, &target, &old, false);
                            book.others
                                .insert(target, IdEntry { role: Role::Retracted { by: *event_id }, ..old.entry() });
                            Change::Removed { target, old }
                        }
                        None => Change::Recorded,
                    }
                }
                _ => {
                    let fact = Fact {
                        position: *position,
                        revision: *revision,
                        occurred_at,
                        event: event.into_owned(),
                        corrected_by: None,
                    };
                    self.index.toggle(stream, event_id, &fact, true);
                    book.facts.insert(*event_id, Box::new(fact));
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
                if let Some(fact) = book.facts.remove(&event_id) {
                    self.index.toggle(&stream, &event_id, &fact, false);
                    taken = Some(fact.event);
                }
            }
            Change::Replaced { target, old } => {
                if let Some(new) = book.facts.remove(&target) {
                    self.index.toggle(&stream, &target, &new, false);
                }
                self.index.toggle(&stream, &target, &old, true);
                book.facts.insert(target, old);
            }
            Change::Removed { target, old } => {
                self.index.toggle(&stream, &target, &old, true);
                book.others.remove(&target);
                book.facts.insert(target, old);
            }
        }
        book.next_revision = next_revision;
        if book.facts.is_empty() && book.others.is_empty() {
            self.streams.remove(&stream);
        }
        self.log_size = log_size;
        self.last_hash = last_hash;
        taken
    }

    /// Rebuilds a state from its parts (a snapshot): the index is derived again from the facts.
    pub(crate) fn from_parts(
        log_size: u64,
        last_hash: Option<[u8; 32]>,
        streams: BTreeMap<StreamName, StreamBook>,
    ) -> Self {
        let mut index = Index::default();
        let mut unreadable = 0;
        for (stream, book) in &streams {
            for (id, fact) in &book.facts {
                index.toggle(stream, id, fact, true);
            }
            unreadable += book.others.values().filter(|e| e.role == Role::Unreadable).count() as u64;
        }
        let streams = streams.into_iter().map(|(name, book)| (name, Arc::new(book))).collect();
        Self { log_size, last_hash, unreadable, streams, index }
    }

    /// A stream's book from a snapshot's id entries and facts, or why they do not make one:
    /// every fact has an original's entry and every original's entry a fact.
    pub(crate) fn book_from_parts(
        next_revision: u64,
        entries: impl IntoIterator<Item = (EventId, IdEntry)>,
        facts: BTreeMap<EventId, Box<Fact>>,
    ) -> Result<StreamBook, String> {
        let mut book = StreamBook { next_revision, facts, others: BTreeMap::new() };
        let mut originals = 0;
        for (id, entry) in entries {
            let in_force = book.facts.get(&id).map(|fact| fact.entry());
            match (entry.role, in_force) {
                (Role::Original, Some(fact)) if fact == entry => originals += 1,
                (Role::Original, _) => return Err(format!("the original {id} has no fact of its revision and type")),
                (_, Some(_)) => return Err(format!("{id} is in force and also {:?}", entry.role)),
                (_, None) => {
                    book.others.insert(id, entry);
                }
            }
        }
        if originals != book.facts.len() {
            return Err("a fact has no id entry".into());
        }
        Ok(book)
    }
}
