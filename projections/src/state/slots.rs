//! The facts of one stream, side by side, in chunks of a few dozen: a place for each fact that
//! came into force, and an empty place where one was withdrawn.
//!
//! One vector of them all would double as it grew: its spare room, about a third of what it
//! holds, and its copies as it moved. Chunks of [`CHUNK`] facts leave at most one chunk's spare
//! room and never move a fact once placed. The first chunk grows as a vector does, up to
//! [`CHUNK`], so that a stream of a few events keeps a few places.

use super::Fact;

/// Facts in a chunk: 32 facts of 48 bytes, 1.5 KiB.
const CHUNK: usize = 32;

/// The places of a stream's facts, in the order they came in.
#[derive(Debug, Clone, Default)]
pub(super) struct Slots {
    chunks: Vec<Vec<Option<Fact>>>,
    len: usize,
}

impl Slots {
    /// How many places there are, empty ones included.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The place `slot`.
    pub(super) fn get(&self, slot: usize) -> Option<&Option<Fact>> {
        self.chunks.get(slot / CHUNK)?.get(slot % CHUNK)
    }

    /// The place `slot`, to change.
    pub(super) fn get_mut(&mut self, slot: usize) -> Option<&mut Option<Fact>> {
        self.chunks.get_mut(slot / CHUNK)?.get_mut(slot % CHUNK)
    }

    /// Puts `fact` in a new place after the others; its place.
    pub(super) fn push(&mut self, fact: Fact) -> usize {
        let slot = self.len;
        if slot.is_multiple_of(CHUNK) {
            let first = if slot == 0 { 4 } else { CHUNK };
            self.chunks.push(Vec::with_capacity(first));
        }
        let last = self.chunks.last_mut().expect("a chunk has room for the new place");
        if last.len() == last.capacity() {
            // The first chunk doubles up to a whole one; the others are whole from the start.
            last.reserve_exact(last.len().clamp(1, CHUNK - last.len()));
        }
        last.push(Some(fact));
        self.len += 1;
        slot
    }

    /// Takes the last place away: what it held.
    pub(super) fn pop(&mut self) -> Option<Fact> {
        let last = self.chunks.last_mut()?;
        let fact = last.pop().flatten();
        if last.is_empty() {
            self.chunks.pop();
        }
        self.len -= 1;
        fact
    }
}

#[cfg(test)]
mod tests {
    use chibo_domain::event::{OrgLevel, OrganizationRegistered, OrganizationRegisteredFields};
    use chibo_domain::{Id, Timestamp};

    use super::*;

    fn fact(position: u64) -> Fact {
        let fields = OrganizationRegisteredFields {
            org_id: Id::parse("id", "a").unwrap(),
            parent_id: None,
            level: OrgLevel::Province,
            name: "Tỉnh".into(),
            cell_type: String::new(),
        };
        Fact {
            position,
            revision: position,
            occurred_at: Timestamp::new("t", 1_700_000_000, 0).unwrap(),
            event: OrganizationRegistered::new(fields).unwrap().into(),
        }
    }

    #[test]
    fn places_are_kept_in_chunks_that_never_outgrow_a_chunk() {
        let mut slots = Slots::default();
        for n in 0..(3 * CHUNK as u64 + 5) {
            assert_eq!(slots.push(fact(n)), n as usize);
        }
        assert_eq!(slots.len(), 3 * CHUNK + 5);
        assert_eq!(slots.chunks.len(), 4);
        assert!(slots.chunks.iter().all(|c| c.capacity() <= CHUNK), "no chunk grew past {CHUNK}");
        for n in 0..slots.len() {
            assert_eq!(slots.get(n).unwrap().as_ref().unwrap().position, n as u64);
        }
        assert!(slots.get(slots.len()).is_none());

        *slots.get_mut(40).unwrap() = None;
        assert_eq!(slots.get(40), Some(&None), "an emptied place stays");
        assert_eq!(slots.get(41).unwrap().as_ref().unwrap().position, 41);

        for n in (0..slots.len()).rev() {
            let popped = slots.pop();
            assert_eq!(popped.map(|f| f.position), (n != 40).then_some(n as u64));
        }
        assert_eq!((slots.len(), slots.chunks.len()), (0, 0), "popped back to nothing");
    }

    #[test]
    fn a_short_stream_keeps_a_few_places() {
        let mut slots = Slots::default();
        slots.push(fact(0));
        assert_eq!(slots.chunks[0].capacity(), 4);
        for n in 1..5 {
            slots.push(fact(n));
        }
        assert_eq!(slots.chunks[0].capacity(), 8, "the first chunk doubles");
        let mut cloned = slots.clone();
        for n in 5..CHUNK as u64 {
            cloned.push(fact(n));
        }
        assert_eq!(cloned.chunks.len(), 1);
        assert!(cloned.chunks[0].capacity() <= CHUNK, "a clone's first chunk grows up to a chunk too");
    }
}
