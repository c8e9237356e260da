//! Projection rebuild from the embedded store: the whole log replayed into a fresh `State`
//! (`engine::rebuild`, what a server does with no usable snapshot), then the same reads alone
//! and the reads with decoding, to show where the time goes; the state's heap per member, and
//! which of its parts holds it; and its snapshot encoded and read back.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use chibo_domain::EventType;
use chibo_projections::{engine, State};
use chibo_store::{EventStore, PageSink, RawEvent};
use chibo_store_sqlite::{Options, SqliteStore};

use crate::{cli::DataArgs, figure, memory};

/// Opens the embedded store in `data`, which no server may hold.
pub fn open(data: &Path) -> anyhow::Result<SqliteStore> {
    if !data.join(chibo_store_sqlite::schema::DB_FILE).is_file() {
        anyhow::bail!("--data {}: no chibo data there", data.display());
    }
    SqliteStore::open(data, Options::default())
        .with_context(|| format!("--data {}: cannot open it (stop the server on it first)", data.display()))
}

/// Where a state's heap is, each part measured on a copy of it ([`memory::taken_by`]), one book
/// or one fact at a time, so that no two copies are held at once.
#[derive(Debug, Default)]
struct Parts {
    /// The streams' books: the facts in force, their ids and places, and the other ids.
    books: usize,
    /// Of the books, the facts' contents (their events' fields), by type: facts and bytes.
    contents: BTreeMap<EventType, (usize, usize)>,
    /// The index derived from the facts.
    index: usize,
}

impl Parts {
    fn of(state: &State) -> Parts {
        let mut parts = Parts { index: memory::taken_by(|| state.index().clone()), ..Parts::default() };
        for (_, book) in state.streams() {
            parts.books += memory::taken_by(|| book.clone());
            for (_, fact) in book.facts() {
                let bytes = memory::taken_by(|| fact.event.clone());
                let (facts, total) = parts.contents.entry(fact.event.event_type()).or_default();
                *facts += 1;
                *total += bytes;
            }
        }
        parts
    }
}

/// Counts the events a page hands over, each seen by `each`.
struct Visit<F: FnMut(RawEvent<'_>) + Send + 'static> {
    each: F,
    handed: u64,
}

impl<F: FnMut(RawEvent<'_>) + Send + 'static> PageSink for Visit<F> {
    fn event(&mut self, event: RawEvent<'_>) {
        self.handed += 1;
        (self.each)(event);
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// Reads the whole log in the engine's pages, one after the other, as a replay does (each
/// event handed over in place), calling `each` on every event; returns how many.
async fn read_all<F: FnMut(RawEvent<'_>) + Send + Clone + 'static>(
    store: &SqliteStore,
    each: F,
) -> anyhow::Result<u64> {
    let mut count = 0u64;
    loop {
        let sink = Box::new(Visit { each: each.clone(), handed: 0 });
        let page = store.read_all_into(count.checked_sub(1), 4096, sink).await.context("reading the log")?;
        let handed = page.into_any().downcast::<Visit<F>>().map_or(0, |visit| visit.handed);
        if handed == 0 {
            break;
        }
        count += handed;
    }
    Ok(count)
}

pub async fn run(args: DataArgs) -> anyhow::Result<()> {
    let store = open(&args.data)?;
    let before = memory::live();
    let cpu_before = figure::own_cpu();
    let started = Instant::now();
    let state: State = engine::rebuild(&store).await.context("the rebuild failed")?;
    let elapsed = started.elapsed();
    let cpu = figure::own_cpu().zip(cpu_before).map(|(after, before)| after - before);
    let events = state.log_size();

    let started = Instant::now();
    read_all(&store, |e| {
        std::hint::black_box(e);
    })
    .await?;
    let reading = started.elapsed();
    let started = Instant::now();
    read_all(&store, |e| {
        std::hint::black_box(engine::recorded_raw(e).is_ok());
    })
    .await?;
    let decoding = started.elapsed();
    // Measured with the store still open: what it allocated when it opened (its event ids'
    // filter and recent ids) is in `before`, and must not be taken off the state's share.
    let state_bytes = memory::live().saturating_sub(before);
    drop(store);
    let members = state.index().member_cells.len();
    // What a server's snapshot costs: encoding the state, and reading it back as a start does
    // (on every core, the index derived again).
    let started = Instant::now();
    let encoded = state.encode();
    let encoding = started.elapsed();
    let started = Instant::now();
    let read_back = State::decode(&encoded).context("the state's encoding does not read back")?;
    let reading_back = started.elapsed();
    anyhow::ensure!(read_back.log_size() == events, "the state's encoding reads back as another log size");
    drop(read_back);
    let snapshot = encoded.len();

    figure::rate(
        "rebuild.events_per_s",
        events,
        elapsed,
        "events/s",
        "engine::rebuild from the embedded store (target ≥ 1,000,000)",
    );
    figure::millis("rebuild.wall_ms", elapsed, &format!("{events} events"));
    if let Some(cpu) = cpu {
        // Two cores give a rebuild of 10^6 events a second only under 2 µs of CPU an event.
        figure::print(
            "rebuild.cpu_us_per_event",
            cpu * 1e6 / events.max(1) as f64,
            "µs",
            "the process's CPU time during the rebuild, every thread, per event",
        );
    }
    // Where the time goes: the same reads alone, then the reads with decoding.
    figure::rate(
        "rebuild.read_events_per_s",
        events,
        reading,
        "events/s",
        "reading the rows alone (pages of 4,096, in place, one at a time)",
    );
    figure::rate(
        "rebuild.decode_events_per_s",
        events,
        decoding,
        "events/s",
        "reading and decoding, not applying (one thread)",
    );
    figure::print("state.members", members as f64, "members", "in the rebuilt state");
    figure::print("state.heap_bytes", state_bytes as f64, "B", "the state's heap after the rebuild");
    figure::print(
        "state.heap_bytes_per_member",
        state_bytes as f64 / members.max(1) as f64,
        "B",
        "the whole state's heap / members (target ≤ 1,024)",
    );
    figure::print(
        "state.heap_bytes_per_event",
        state_bytes as f64 / events.max(1) as f64,
        "B",
        "the state's heap / events",
    );
    let parts = Parts::of(&state);
    let per_member = |bytes: usize| bytes as f64 / members.max(1) as f64;
    figure::print(
        "state.books_bytes_per_member",
        per_member(parts.books),
        "B",
        "of which the streams' books: the facts in force, their ids and places, the other ids",
    );
    figure::print(
        "state.contents_bytes_per_member",
        per_member(parts.contents.values().map(|&(_, bytes)| bytes).sum()),
        "B",
        "of which, in the books, the facts' contents (their events' fields)",
    );
    for (event_type, (facts, bytes)) in &parts.contents {
        figure::print(
            &format!("state.contents.{}", event_type.name()),
            per_member(*bytes),
            "B",
            &format!("per member, the contents of this type's facts (there are {facts})"),
        );
    }
    figure::print("state.index_bytes_per_member", per_member(parts.index), "B", "of which the index");
    figure::print("state.snapshot_bytes", snapshot as f64, "B", "its canonical encoding (the snapshot file)");
    figure::millis("snapshot.encode_ms", encoding, "the state encoded, as a snapshot is written");
    figure::millis("snapshot.decode_ms", reading_back, "the encoding read back into a state, as a start reads it");
    Ok(())
}

#[cfg(test)]
mod tests {
    use chibo_domain::event::{StudyPointsEarned, StudyPointsEarnedFields};
    use chibo_domain::{Date, Event, EventId, Id, StreamName, Timestamp};
    use chibo_projections::Recorded;

    use super::*;

    /// A study-points event at `position` of the stream `cell-c`, of a member of its own whose id
    /// is longer than 23 bytes, so kept on the heap: the event's own allocation.
    fn points(position: u8) -> Recorded {
        let member = format!("member-with-a-long-id-{position:010}");
        let fields = StudyPointsEarnedFields {
            member_id: Id::parse("member_id", &member).unwrap(),
            points: 2,
            date: Date::parse("date", "2026-03-14").unwrap(),
            activity: "Nghị quyết 57".into(),
            source_ref: Default::default(),
        };
        Recorded {
            position: u64::from(position),
            stream: StreamName::parse("stream", "cell-c").unwrap(),
            revision: u64::from(position),
            event_id: EventId::from_bytes([position; 16]),
            occurred_at: Timestamp::new("occurred_at", 1_773_446_400, 0).unwrap(),
            recorded_at: Timestamp::new("recorded_at", 1_773_446_400, 0).unwrap(),
            hash: [position; 32],
            event: Some(Event::StudyPointsEarned(StudyPointsEarned::new(fields).unwrap())),
        }
    }

    #[test]
    fn the_parts_are_each_facts_contents_inside_its_book_and_the_index_beside() {
        let mut state = State::default();
        let empty = Parts::of(&state);
        assert_eq!(empty.books + empty.index, 0);
        let one = {
            let mut state = State::default();
            state.apply_owned(points(0));
            Parts::of(&state)
        };
        for position in 0..3 {
            state.apply_owned(points(position));
        }
        let three = Parts::of(&state);
        let (facts, contents) = three.contents[&EventType::StudyPointsEarned];
        assert_eq!(facts, 3);
        assert_eq!(contents, 3 * one.contents[&EventType::StudyPointsEarned].1);
        assert!(contents >= 3 * 32, "three facts' contents took {contents} bytes");
        assert!(three.books > contents, "the books ({}) hold the contents ({contents})", three.books);
        assert!(three.index > one.index, "the index grew from {} to {}", one.index, three.index);
        assert_eq!(three.contents.len(), 1, "{:?}", three.contents);
    }
}
