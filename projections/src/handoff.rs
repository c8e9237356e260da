//! Events handed from the server that appends them to the live engine, so that the engine
//! need not decode their payloads again.
//!
//! The server decodes each submitted event from its request, checks it, encodes its payload
//! and appends it. Once the store has committed it, the live engine read the same payload back
//! from the log and decoded it a second time: about a twentieth of the server's CPU under a
//! batched load (docs/BENCHMARKS.md, nineteenth round). Now the server offers the events it
//! decoded as it appends them, each under its event id with its payload's digest, and the
//! engine takes an event from here in place of decoding its payload when the envelope it reads
//! from the log names that event id, that digest and the event's type.
//!
//! That is the same event the payload decodes to:
//! - the digest is of the payload and its random salt, so the same digest means the log holds
//!   the payload the server encoded from the event;
//! - for the types taken here, decoding the encoding of an event gives the event back. That is
//!   checked for each of them by `chibo_proto`'s tests on random events
//!   (`every_valid_event_comes_back_from_its_encoding`). Events of other types are not taken,
//!   and are decoded from the log as before.
//!
//! So the state stays a function of the log alone (DESIGN.md invariant 6); this only skips
//! work. The offer comes before the append, so that the engine never reads an event before
//! it is offered. An append that fails withdraws its offer; what no append withdrew nor the
//! engine took (a server stopped mid-append) is dropped once the handoff is full and the
//! engine has applied [`HELD`] more events since it was offered. At most [`HELD`] events are
//! held at once; offers past that are refused, and the engine decodes those events as before.

use std::collections::HashMap;
use std::sync::Mutex;

use chibo_domain::{Event, EventId, EventType};

/// The most events held at once: many batches of the largest size.
pub const HELD: usize = 65_536;

/// Whether an event of `event_type` is taken: the types whose round trip through their
/// encoding is checked, and most of a province's events (study points 78 % of the demo's,
/// members speaking 12 %).
pub fn takes(event_type: EventType) -> bool {
    matches!(event_type, EventType::StudyPointsEarned | EventType::MemberSpoke)
}

/// The events offered and not yet taken or withdrawn, by event id.
#[derive(Debug, Default)]
pub struct Handoff {
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// The engine has applied this many events.
    applied: u64,
    /// Each event with its payload's digest, and how many events the engine had applied when
    /// it was offered.
    events: HashMap<EventId, Offered>,
    /// How many events the engine took from here, for the tests and the figures.
    taken: u64,
}

#[derive(Debug)]
struct Offered {
    payload_digest: [u8; 32],
    event: Event,
    at: u64,
}

impl Handoff {
    /// A handoff for an engine whose state covers the first `covered` events.
    pub fn after(covered: u64) -> Self {
        Self { held: Mutex::new(Held { applied: covered, ..Held::default() }) }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Offers the events about to be appended, each with its event id and its payload's
    /// digest: each event held is taken out of its `Option`. Events of a type not [`takes`],
    /// and what does not fit in [`HELD`], are left where they are.
    pub fn offer<'a>(&self, events: impl IntoIterator<Item = (EventId, [u8; 32], &'a mut Option<Event>)>) {
        let mut held = self.held();
        let at = held.applied;
        for (event_id, payload_digest, slot) in events {
            if !slot.as_ref().is_some_and(|event| takes(event.event_type())) {
                continue;
            }
            if held.events.len() >= HELD {
                // Full: what the engine has gone far past will never be taken.
                let stale = at.saturating_sub(HELD as u64);
                held.events.retain(|_, offered| offered.at >= stale);
                if held.events.len() >= HELD {
                    return;
                }
            }
            if let Some(event) = slot.take() {
                held.events.insert(event_id, Offered { payload_digest, event, at });
            }
        }
    }

    /// Takes back what was offered for `event_ids` and not taken: their append failed.
    pub fn withdraw<'a>(&self, event_ids: impl IntoIterator<Item = &'a EventId>) -> HashMap<EventId, Event> {
        let mut held = self.held();
        event_ids.into_iter().filter_map(|id| held.events.remove(id).map(|offered| (*id, offered.event))).collect()
    }

    /// The event offered as `event_id` of type `event_type`, if it was offered with
    /// `payload_digest`; it is no longer held either way.
    pub fn take(&self, event_id: &EventId, payload_digest: &[u8; 32], event_type: &str) -> Option<Event> {
        let mut held = self.held();
        let offered = held.events.remove(event_id)?;
        if offered.payload_digest != *payload_digest || offered.event.event_type().name() != event_type {
            return None;
        }
        held.taken += 1;
        Some(offered.event)
    }

    /// The engine has applied the first `covered` events.
    pub fn applied(&self, covered: u64) {
        let mut held = self.held();
        held.applied = held.applied.max(covered);
    }

    /// How many events the engine took from here.
    pub fn taken(&self) -> u64 {
        self.held().taken
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.held().events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use chibo_domain::event::{
        MemberSpoke, MemberSpokeFields, OrgLevel, OrganizationRegistered, OrganizationRegisteredFields,
    };
    use chibo_domain::Id;

    use super::*;

    fn spoke(n: u32) -> Event {
        MemberSpoke::new(MemberSpokeFields {
            meeting_id: Id::parse("meeting_id", "hop-2026-03").unwrap(),
            member_id: Id::parse("member_id", &format!("m-{n}")).unwrap(),
            summary: format!("ý kiến {n}"),
        })
        .unwrap()
        .into()
    }

    fn registered() -> Event {
        OrganizationRegistered::new(OrganizationRegisteredFields {
            org_id: Id::parse("org_id", "tinh").unwrap(),
            parent_id: None,
            level: OrgLevel::Province,
            name: "Tỉnh".into(),
            cell_type: String::new(),
        })
        .unwrap()
        .into()
    }

    fn id(n: u8) -> EventId {
        EventId::from_bytes([n; 16])
    }

    /// Offers `events` as the events `ids`, each with the digest `[id; 32]`.
    fn offer<const N: usize>(handoff: &Handoff, ids: [u8; N], events: &mut [Option<Event>; N]) {
        handoff.offer(ids.into_iter().zip(events.iter_mut()).map(|(n, slot)| (id(n), [n; 32], slot)));
    }

    #[test]
    fn an_event_is_taken_once_and_only_with_the_digest_and_type_it_was_offered_with() {
        let handoff = Handoff::default();
        let mut events = [Some(spoke(3)), Some(spoke(4)), Some(registered())];
        offer(&handoff, [3, 4, 5], &mut events);
        assert_eq!(handoff.len(), 2, "a registration is not a type taken");
        assert_eq!(events, [None, None, Some(registered())], "what is not held is left to the caller");
        assert_eq!(handoff.take(&id(3), &[3; 32], "MemberSpoke"), Some(spoke(3)));
        assert_eq!(handoff.take(&id(3), &[3; 32], "MemberSpoke"), None, "taken once");
        assert_eq!(handoff.take(&id(4), &[9; 32], "MemberSpoke"), None, "another digest: another payload");
        assert_eq!(handoff.take(&id(4), &[4; 32], "MemberSpoke"), None, "and it is no longer held");
        offer(&handoff, [6], &mut [Some(spoke(6))]);
        assert_eq!(handoff.take(&id(6), &[6; 32], "StudyPointsEarned"), None, "another type");
        assert_eq!(handoff.take(&id(5), &[5; 32], "OrganizationRegistered"), None);
        assert_eq!((handoff.taken(), handoff.is_empty()), (1, true));
    }

    #[test]
    fn a_failed_append_takes_back_what_it_offered() {
        let handoff = Handoff::default();
        offer(&handoff, [0, 1, 2, 3], &mut [0, 1, 2, 3].map(|n| Some(spoke(n))));
        assert_eq!(handoff.take(&id(1), &[1; 32], "MemberSpoke"), Some(spoke(1)));
        let back = handoff.withdraw(&[id(0), id(1), id(2)]);
        assert_eq!(back.len(), 2);
        assert_eq!((back.get(&id(0)), back.get(&id(2))), (Some(&spoke(0)), Some(&spoke(2))));
        assert_eq!(handoff.len(), 1);
        assert_eq!(handoff.take(&id(3), &[3; 32], "MemberSpoke"), Some(spoke(3)));
    }

    #[test]
    fn a_full_handoff_drops_what_the_engine_went_far_past_and_refuses_the_rest() {
        let handoff = Handoff::default();
        let key = |n: usize| EventId::from_bytes((n as u128 + 1).to_be_bytes());
        let mut many: Vec<Option<Event>> = (0..HELD).map(|_| Some(spoke(1))).collect();
        handoff.offer(many.iter_mut().enumerate().map(|(n, slot)| (key(n), [0; 32], slot)));
        assert_eq!(handoff.len(), HELD);
        let mut one = Some(spoke(1));
        handoff.offer([(key(HELD), [0; 32], &mut one)]);
        assert_eq!((handoff.len(), one.is_some()), (HELD, true), "full, and nothing is stale yet: refused");
        handoff.applied(HELD as u64 + 10);
        handoff.offer([(key(HELD), [0; 32], &mut one)]);
        assert_eq!(handoff.len(), 1, "what was offered before the engine applied HELD more events went");
        assert_eq!(handoff.take(&key(HELD), &[0; 32], "MemberSpoke"), Some(spoke(1)));
    }
}
