//! Projection rebuild from the embedded store: the whole log replayed into a fresh `State`
//! (`engine::rebuild`, what a server does with no usable snapshot), then the same reads alone
//! and the reads with decoding, to show where the time goes; the state's heap per member; and
//! its snapshot encoded and read back.

use std::any::Any;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
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
    figure::print("state.snapshot_bytes", snapshot as f64, "B", "its canonical encoding (the snapshot file)");
    figure::millis("snapshot.encode_ms", encoding, "the state encoded, as a snapshot is written");
    figure::millis("snapshot.decode_ms", reading_back, "the encoding read back into a state, as a start reads it");
    Ok(())
}
