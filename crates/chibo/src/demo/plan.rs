//! From generated events to what goes over the wire: each event gets its instant and a
//! seeded event id, passes the domain's shape and stream rules, and lands in a batch of one
//! stream. The batches are sent one at a time in the plan's order, so the log's global order
//! is the same on every run; the order keeps every dependency between streams:
//!
//! 1. the tree, top-down: each committee's registration (and, for the committees that run one,
//!    its programme for the year) in one batch, after its parent; then every cell's
//!    registration, so that a transfer can name any cell;
//! 2. cells: each cell's record book (members, programme registration, the year) in one batch, cut where a member arrives by transfer so that the part from the
//!    arrival on goes after the other cell's part that records the departure;
//! 3. the committees' decisions: selections, inspections and certifications, after every
//!    registration and monthly score they rest on.
//!
//! Few large batches rather than many small ones: each request costs a round trip and a
//! commit, and a cell's year is about a thousand events.

use std::collections::BTreeMap;

use anyhow::Context;
use chibo_domain::{
    event::{MembershipChange, Submission},
    Event, EventId, StreamName,
};
use chibo_proto::v1 as pb;
use rand::{rngs::StdRng, RngCore};

use super::calendar::Day;

/// The most events sent in one `SubmitBatch`.
pub const MAX_BATCH: usize = 2000;

/// Where a stream's events go in the order of submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// An organization's registration, and a committee's programme, by depth in the tree
    /// (0: the province; the cells deepest).
    Tree(u8),
    /// A cell's record book.
    Cell,
    /// A committee's decisions about its cells.
    Decisions,
}

/// Events of one stream, sent in one `SubmitBatch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub stream: String,
    pub events: Vec<pb::EventSubmission>,
    /// What the batch waits for: every batch of an earlier wave, and the earlier batches of its
    /// own stream. Batches of one wave in different streams do not depend on each other, so a
    /// client with several connections may send them at once (`chibo-bench load` does); the
    /// plan's order never goes back to an earlier wave.
    pub wave: u32,
}

/// Everything `chibo demo` submits, in order, and what it adds up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub batches: Vec<Batch>,
    pub committees: usize,
    pub cells: usize,
    pub members: usize,
}

impl Plan {
    pub fn events(&self) -> usize {
        self.batches.iter().map(|b| b.events.len()).sum()
    }
}

/// An event with its day and time of day (Vietnam time).
struct Timed {
    day: Day,
    time: (u32, u32),
    event: Event,
}

/// Collects the generated events by stream.
#[derive(Default)]
pub struct Recorder {
    streams: BTreeMap<(Part, String), Vec<Timed>>,
}

impl Recorder {
    /// An organization's registration or a committee's programme; `depth` is its depth in
    /// the tree.
    pub fn registration(&mut self, depth: u8, stream: &str, day: Day, time: (u32, u32), event: impl Into<Event>) {
        self.push(Part::Tree(depth), stream, day, time, event.into());
    }

    /// An event of a cell's record book.
    pub fn cell(&mut self, stream: &str, day: Day, time: (u32, u32), event: impl Into<Event>) {
        self.push(Part::Cell, stream, day, time, event.into());
    }

    /// A committee's decision about one of its cells.
    pub fn decision(&mut self, stream: &str, day: Day, time: (u32, u32), event: impl Into<Event>) {
        self.push(Part::Decisions, stream, day, time, event.into());
    }

    fn push(&mut self, part: Part, stream: &str, day: Day, time: (u32, u32), event: Event) {
        self.streams.entry((part, stream.to_owned())).or_default().push(Timed { day, time, event });
    }

    /// Orders each stream's events in time, cuts the cells' streams at arrivals by transfer,
    /// orders the parts, and gives each event its id and instant, checked.
    pub fn finish(self, ids: &mut StdRng) -> anyhow::Result<Vec<Batch>> {
        // Each run: (wave, stream, events). The tree's waves are the depths (a parent is less
        // deep than its children); the cells' come after, one per round of transfers; the
        // decisions last.
        let mut runs: Vec<(u32, String, Vec<Timed>)> = Vec::new();
        let mut cells: Vec<(String, Vec<Timed>)> = Vec::new();
        let mut decisions: Vec<(String, Vec<Timed>)> = Vec::new();
        for ((part, stream), mut events) in self.streams {
            // Stable: events of the same instant keep the order they were generated in.
            events.sort_by_key(|e| (e.day, e.time));
            match part {
                Part::Tree(depth) => runs.push((u32::from(depth), stream, events)),
                Part::Cell => cells.push((stream, events)),
                Part::Decisions => decisions.push((stream, events)),
            }
        }
        let first_cell_wave = runs.iter().map(|(wave, ..)| wave + 1).max().unwrap_or(0);
        runs.extend(
            in_transfer_order(cells)
                .into_iter()
                .map(|(round, stream, events)| (first_cell_wave + round as u32, stream, events)),
        );
        let decision_wave = runs.iter().map(|(wave, ..)| wave + 1).max().unwrap_or(0);
        runs.extend(decisions.into_iter().map(|(stream, events)| (decision_wave, stream, events)));

        let mut batches = Vec::new();
        for (wave, stream, events) in runs {
            let name = StreamName::parse("stream", &stream)?;
            let mut submissions = Vec::with_capacity(events.len());
            for Timed { day, time, event } in events {
                event.check_stream(&name).with_context(|| format!("{} in {stream}", event.event_type()))?;
                let submission = Submission { event_id: event_id(ids), occurred_at: day.at(time), event };
                submissions.push(pb::EventSubmission::from(&submission));
            }
            for chunk in submissions.chunks(MAX_BATCH) {
                batches.push(Batch { stream: stream.clone(), events: chunk.to_vec(), wave });
            }
        }
        Ok(batches)
    }
}

/// The cells' streams cut into parts at each arrival by transfer, in an order where every
/// arrival comes after the part of the other cell that records the departure; each part with
/// its round (a part depends only on parts of earlier rounds and the earlier parts of its
/// stream).
fn in_transfer_order(cells: Vec<(String, Vec<Timed>)>) -> Vec<(usize, String, Vec<Timed>)> {
    // Each part: (stream index, events); its round decides when it goes.
    let mut parts: Vec<(usize, Vec<Timed>)> = Vec::new();
    // (arrival day, part index, member, the cell left).
    let mut arrivals: Vec<(Day, usize, String, String)> = Vec::new();
    // (member, cell left) → (departure day, stream index).
    let mut departures: BTreeMap<(String, String), (Day, usize)> = BTreeMap::new();
    let names: Vec<String> = cells.iter().map(|(stream, _)| stream.clone()).collect();
    for (s, (stream, events)) in cells.into_iter().enumerate() {
        let cell = stream.strip_prefix("cell-").unwrap_or(&stream).to_owned();
        let mut part = Vec::new();
        for timed in events {
            match &timed.event {
                Event::MemberJoined(e) if e.how == MembershipChange::TransferredIn => {
                    if !part.is_empty() {
                        parts.push((s, std::mem::take(&mut part)));
                    }
                    let from = e.transfer_cell_id.as_ref().map(ToString::to_string).unwrap_or_default();
                    arrivals.push((timed.day, parts.len(), e.member_id.to_string(), from));
                }
                Event::MemberLeft(e) if e.how == MembershipChange::TransferredOut => {
                    departures.insert((e.member_id.to_string(), cell.clone()), (timed.day, s));
                }
                _ => {}
            }
            part.push(timed);
        }
        parts.push((s, part));
    }
    // The part of stream `s` that holds `day`: the last part of `s` starting on or before it.
    let part_of = |parts: &[(usize, Vec<Timed>)], s: usize, day: Day| {
        (0..parts.len()).rfind(|&p| parts[p].0 == s && parts[p].1[0].day <= day).unwrap_or(0)
    };
    let mut round = vec![0usize; parts.len()];
    // In order of arrival: a departure is earlier than its arrival, so the round of the part
    // that records it is already settled.
    arrivals.sort_by_key(|(day, ..)| *day);
    for (_, p, member, from) in arrivals {
        let Some(&(left_on, s)) = departures.get(&(member, from)) else { continue };
        let previous = if p > 0 && parts[p - 1].0 == parts[p].0 { round[p - 1] } else { 0 };
        round[p] = previous.max(round[part_of(&parts, s, left_on)] + 1);
    }
    // Later parts of a stream never go before earlier ones.
    for p in 1..parts.len() {
        if parts[p].0 == parts[p - 1].0 {
            round[p] = round[p].max(round[p - 1]);
        }
    }
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&p| (round[p], parts[p].0, p));
    let mut taken: Vec<Option<(usize, Vec<Timed>)>> = parts.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|p| taken[p].take().map(|(s, events)| (round[p], names[s].clone(), events)).unwrap())
        .collect()
}

/// A random (version 4) UUID from the seeded generator.
fn event_id(rng: &mut StdRng) -> EventId {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    EventId::from_bytes(bytes)
}
