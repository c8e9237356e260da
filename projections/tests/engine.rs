//! The projection engine over the real embedded store (SQLite on disk): a restart resumes from
//! the snapshot written at shutdown and ends where a rebuild from zero ends; a snapshot that is
//! damaged, or that names an event this log does not hold, is not trusted.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chibo_domain::event::{
    MemberJoined, MemberJoinedFields, MembershipChange, OrgLevel, StudyPointsEarned, StudyPointsEarnedFields,
};
use chibo_domain::{Date, Event, EventId, StreamName, Timestamp};
use chibo_projections::engine::{self, Projection, Shared, SnapshotPolicy, Snapshots};
use chibo_projections::State;
use chibo_store::{EventStore, ExpectedRevision, NewEvent};
use chibo_store_sqlite::{Options, SqliteStore};
use tokio::sync::oneshot;

mod common;
use common::{id, org};

const WAIT: Duration = Duration::from_secs(30);

fn open(dir: &Path) -> Arc<dyn EventStore> {
    Arc::new(SqliteStore::open(&dir.join("log"), Options::default()).unwrap())
}

/// `event` as the server would append it, as the event `n`: its payload encoded, a fresh salt
/// (so two logs of the same events still differ in every hash).
fn new_event(n: u8, event: &Event) -> NewEvent {
    let kind = event.event_type();
    NewEvent::new(
        EventId::from_bytes([n; 16]),
        kind.name(),
        kind.schema_version(),
        Timestamp::new("occurred_at", 1_767_600_000, 0).unwrap(),
        "test",
        chibo_proto::convert::encode_payload(event),
        rand::random(),
    )
}

/// Appends `event` to `stream` as the server would (see [`new_event`]).
async fn append(store: &dyn EventStore, stream: &str, n: u8, event: impl Into<Event>) {
    let new = new_event(n, &event.into());
    store.append(&StreamName::parse("stream", stream).unwrap(), ExpectedRevision::Any, vec![new]).await.unwrap();
}

/// `member` admitted on `date`.
fn joined(member: &str, date: &str) -> MemberJoined {
    MemberJoined::new(MemberJoinedFields {
        member_id: id(member),
        name: member.to_owned(),
        date: Date::parse("date", date).unwrap(),
        how: MembershipChange::Admitted,
        transfer_cell_id: None,
    })
    .unwrap()
}

/// A province, a cell, two members, and `days` days of study points for each, from `first`.
async fn record(store: &dyn EventStore, first_day: u8, days: u8) {
    if first_day == 0 {
        append(store, "org-p", 1, org("p", None, OrgLevel::Province)).await;
        append(store, "cell-c", 2, org("c", Some("p"), OrgLevel::Cell)).await;
        for (n, member) in [(3, "an"), (4, "binh")] {
            append(store, "cell-c", n, joined(member, "2025-01-02")).await;
        }
    }
    for day in first_day..first_day + days {
        for (k, member) in ["an", "binh"].into_iter().enumerate() {
            let points = StudyPointsEarned::new(StudyPointsEarnedFields {
                member_id: id(member),
                points: 10 + u32::from(day),
                date: Date::parse("date", "2026-01-01").unwrap().plus_days(i64::from(day)).unwrap(),
                activity: "Học tập nghị quyết".into(),
                source_ref: Default::default(),
            })
            .unwrap();
            append(store, "cell-c", 10 + 2 * day + k as u8, points).await;
        }
    }
}

/// Runs the engine over `store` until it covers `log_size`, then shuts it down (which writes
/// the last snapshot); returns the state's canonical bytes.
async fn run_to(store: Arc<dyn EventStore>, snapshots: &Snapshots, log_size: u64) -> Vec<u8> {
    let (stop, stopped) = oneshot::channel::<()>();
    let policy = SnapshotPolicy { every_events: 1_000_000, every: Duration::from_secs(3600), spacing: 9 };
    let (shared, task) =
        engine::start::<State, _>(store, Some(snapshots.clone()), policy, async { drop(stopped.await) }).await;
    shared.wait_for(log_size, WAIT).await.unwrap();
    let bytes = shared.read().to_bytes();
    stop.send(()).unwrap();
    task.await.unwrap();
    bytes
}

/// Starts the engine and reports how much it covers before its subscriber has run: what it
/// loaded. On this single-threaded runtime the spawned subscriber cannot run until the test
/// awaits, so the figure is the snapshot's (or 0 for a rebuild), never a race.
async fn loaded(store: Arc<dyn EventStore>, snapshots: &Snapshots) -> (Arc<Shared<State>>, u64) {
    let policy = SnapshotPolicy::default();
    let (shared, _task) =
        engine::start::<State, _>(store, Some(snapshots.clone()), policy, std::future::pending()).await;
    let covered = shared.read().covered();
    (shared, covered)
}

#[tokio::test(flavor = "current_thread")]
async fn a_restart_resumes_from_the_snapshot_and_ends_where_a_rebuild_does() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(dir.path().join("projections"));
    let store = open(dir.path());
    record(store.as_ref(), 0, 20).await;
    let first = 4 + 40;
    let bytes = run_to(store.clone(), &snapshots, first).await;
    assert_eq!(snapshots.load::<State>().unwrap().to_bytes(), bytes, "shutdown wrote the state it had");

    // More events while the engine is down, then a restart.
    record(store.as_ref(), 20, 15).await;
    let (shared, covered) = loaded(store.clone(), &snapshots).await;
    assert_eq!(covered, first, "the restart resumed from the snapshot, not from zero");
    shared.wait_for(first + 30, WAIT).await.unwrap();
    let resumed = shared.read().to_bytes();
    let rebuilt: State = engine::rebuild(store.as_ref()).await.unwrap();
    assert_eq!(resumed, rebuilt.to_bytes(), "resumed and caught up == rebuilt from zero, byte for byte");
    assert_eq!(rebuilt.covered(), first + 30);
}

/// A rebuild in pages of any size, with several pages decoded at once, applies them in order:
/// at every size asked, the state is the one applying each event in turn gives.
/// A start catches up with what the log holds beyond its snapshot as a replay does: in pages
/// that begin small and grow, several asked for at once, from the snapshot's end; the
/// subscriber then asks for the pages after.
#[tokio::test(flavor = "current_thread")]
async fn a_start_catches_up_from_its_snapshot_in_a_replays_pages() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(dir.path().join("projections"));
    let store = open(dir.path());
    record(store.as_ref(), 0, 20).await;
    let first = 4 + 40;
    run_to(store.clone(), &snapshots, first).await;
    record(store.as_ref(), 20, 15).await;
    // The first page is not answered until three are asked for: however the runtime polls the
    // reads, a replay that asks for three at once has asked for them all by then.
    let watched = Arc::new(Wrapped { gate: Some((first, 3)), ..Wrapped::new(store.clone(), usize::MAX) });
    let (shared, covered) = loaded(watched.clone(), &snapshots).await;
    assert_eq!(covered, first);
    shared.wait_for(first + 30, WAIT).await.unwrap();
    let rebuilt: State = engine::rebuild(store.as_ref()).await.unwrap();
    assert!(shared.read().to_bytes() == rebuilt.to_bytes(), "caught up == rebuilt from zero, byte for byte");

    let asked = watched.asked();
    let catching_up: Vec<_> = asked.iter().filter(|(after, _)| *after >= Some(first - 1)).collect();
    assert_eq!(
        catching_up.first(),
        Some(&&(Some(first - 1), 256)),
        "the first read after the snapshot is a replay's first page: {asked:?}"
    );
    assert_eq!(
        catching_up.get(1..3),
        Some(&[&(Some(first - 1 + 256), 512), &(Some(first - 1 + 768), 1024)][..]),
        "the next two pages were asked for before the first came back: {asked:?}"
    );
    assert!(
        !asked.iter().any(|(after, _)| *after < Some(first - 2)),
        "nothing before the snapshot's last event is read again: {asked:?}"
    );
}

/// A shutdown while the start is catching up stops it where it is: the engine ends, and its
/// last snapshot covers what was applied.
#[tokio::test(flavor = "current_thread")]
async fn a_shutdown_while_catching_up_stops_the_engine_and_saves_what_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(dir.path().join("projections"));
    let store = open(dir.path());
    record(store.as_ref(), 0, 10).await;
    let stalled = Arc::new(Wrapped { stall: 12, ..Wrapped::new(store, 3) });
    let (stop, stopped) = oneshot::channel::<()>();
    let policy = SnapshotPolicy::default();
    let (shared, task) =
        engine::start::<State, _>(stalled.clone(), Some(snapshots.clone()), policy, async { drop(stopped.await) })
            .await;
    shared.wait_for(12, WAIT).await.unwrap();
    assert_eq!(shared.covered(), 12, "the reads from position 12 never answer");
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, task).await.expect("the engine stopped").expect("without a panic");
    assert_eq!(snapshots.load::<State>().map(|s| s.covered()), Some(12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_decoding_pages_at_once_applies_them_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    record(store.as_ref(), 0, 12).await;
    let log = store.read_all(None, usize::MAX).await.unwrap();
    assert_eq!(log.len(), 4 + 24);
    let mut one_by_one = State::empty();
    let mut prefixes = vec![one_by_one.to_bytes()];
    for event in &log {
        one_by_one.apply_owned(engine::recorded(event).unwrap());
        prefixes.push(one_by_one.to_bytes());
    }
    for page in [1, 2, 3, 5, 4096, u64::MAX] {
        for size in [0, 1, 4, 17, 28, 29, u64::MAX] {
            let state: State = engine::rebuild_prefix_in_pages(store.as_ref(), size, page).await.unwrap();
            let expected = &prefixes[size.min(28) as usize];
            assert!(state.to_bytes() == *expected, "pages of {page}, {size} events: not the state of that prefix");
        }
    }
}

/// A store over another that reads at most `most` events at a time, whatever it is asked for
/// (as a backend with pages of its own may), and hands them over copied (the trait's default).
/// It records each read of the log it is asked for, and never answers one from `stall` on.
/// With a `gate` of (`from`, `n`), it answers no read from position `from` on until `n` such
/// reads have been asked for: what a replay that asks for `n` pages at once does.
struct Wrapped {
    inner: Arc<dyn EventStore>,
    most: usize,
    stall: u64,
    gate: Option<(u64, usize)>,
    asked: std::sync::Mutex<Vec<(Option<u64>, usize)>>,
}

impl Wrapped {
    fn new(inner: Arc<dyn EventStore>, most: usize) -> Self {
        Self { inner, most, stall: u64::MAX, gate: None, asked: Default::default() }
    }

    /// The reads of the log asked for so far: after which position, how many events.
    fn asked(&self) -> Vec<(Option<u64>, usize)> {
        self.asked.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl EventStore for Wrapped {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<Vec<chibo_store::Receipt>, chibo_store::AppendError> {
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<chibo_store::StoredEvent>, chibo_store::ReadError> {
        self.inner.read_stream(stream, from_revision, max_count.min(self.most)).await
    }

    async fn read_all(
        &self,
        after: Option<u64>,
        max_count: usize,
    ) -> Result<Vec<chibo_store::StoredEvent>, chibo_store::ReadError> {
        self.asked.lock().unwrap().push((after, max_count));
        let from = after.map_or(0, |a| a + 1);
        if let Some((gate, n)) = self.gate.filter(|(gate, _)| from >= *gate) {
            let past_gate = || self.asked().iter().filter(|(a, _)| a.map_or(0, |a| a + 1) >= gate).count();
            while past_gate() < n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        if from >= self.stall {
            std::future::pending::<()>().await;
        }
        self.inner.read_all(after, max_count.min(self.most)).await
    }

    fn committed(&self) -> tokio::sync::watch::Receiver<Option<u64>> {
        self.inner.committed()
    }

    async fn lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<chibo_store::Lease, chibo_store::ReadError> {
        self.inner.lease(name, holder, ttl).await
    }
}

/// A page that comes back shorter than asked for is not taken for the end of the log: the
/// rebuild reads on after its last event, and ends in the state the whole log gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_over_a_store_of_shorter_pages_reads_the_whole_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    record(store.as_ref(), 0, 12).await;
    let whole: State = engine::rebuild(store.as_ref()).await.unwrap();
    assert_eq!(whole.covered(), 28);
    let short = Wrapped::new(store, 3);
    for page in [2, 3, 5, 4096] {
        for size in [7, u64::MAX] {
            let state: State = engine::rebuild_prefix_in_pages(&short, size, page).await.unwrap();
            let expected: State = engine::rebuild_prefix(short.inner.as_ref(), size).await.unwrap();
            assert_eq!(state.covered(), size.min(28), "pages of {page}, {size} events");
            assert!(state.to_bytes() == expected.to_bytes(), "pages of {page}, {size} events");
        }
    }
    assert!(engine::rebuild::<State>(&short).await.unwrap().to_bytes() == whole.to_bytes());
}

/// A log with a position missing is damaged: the rebuild refuses it where the live engine
/// does, naming the position after the gap, rather than fold it into a state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_refuses_a_log_that_skips_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    record(store.as_ref(), 0, 5).await;
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("log").join(chibo_store_sqlite::schema::DB_FILE)).unwrap();
    conn.execute_batch("DROP TRIGGER events_no_delete; DELETE FROM events WHERE position = 6").unwrap();
    drop(conn);
    let store = open(dir.path());
    for page in [1, 4, 4096] {
        let before: State = engine::rebuild_prefix_in_pages(store.as_ref(), 6, page).await.unwrap();
        assert_eq!(before.covered(), 6, "the prefix before the gap replays");
        let err = engine::rebuild_prefix_in_pages::<State>(store.as_ref(), u64::MAX, page).await.unwrap_err();
        assert!(
            matches!(&err, engine::EngineError::Unreadable { position: 7, reason } if reason.contains("skips from 6 to 7")),
            "pages of {page}: {err}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_damaged_snapshot_or_one_of_another_log_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(dir.path().join("projections"));
    let store = open(dir.path());
    record(store.as_ref(), 0, 5).await;
    run_to(store.clone(), &snapshots, 14).await;
    let rebuilt: State = engine::rebuild(store.as_ref()).await.unwrap();

    // A snapshot from another log of the same size: the hash it names is not this log's.
    let other = tempfile::tempdir().unwrap();
    let other_store = open(other.path());
    let other_snapshots = Snapshots::new(other.path().join("projections"));
    record(other_store.as_ref(), 0, 5).await;
    run_to(other_store, &other_snapshots, 14).await;
    std::fs::copy(other.path().join("projections/state.snapshot"), dir.path().join("projections/state.snapshot"))
        .unwrap();
    assert!(snapshots.load::<State>().is_some(), "the copied snapshot reads");
    let (shared, covered) = loaded(store.clone(), &snapshots).await;
    assert_eq!(covered, 0, "a snapshot naming another log's last event is rebuilt from zero");
    shared.wait_for(14, WAIT).await.unwrap();
    assert_eq!(shared.read().to_bytes(), rebuilt.to_bytes());

    // A flipped byte: the body no longer matches its digest.
    let path = dir.path().join("projections/state.snapshot");
    run_to(store.clone(), &snapshots, 14).await;
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert!(snapshots.load::<State>().is_none(), "a damaged snapshot is not loaded");
    let (shared, covered) = loaded(store.clone(), &snapshots).await;
    assert_eq!(covered, 0);
    shared.wait_for(14, WAIT).await.unwrap();
    assert_eq!(shared.read().to_bytes(), rebuilt.to_bytes());

    // A body that reads as a state, under a digest that is not its own: the body is read while
    // it is hashed, and the state it gives is dropped.
    run_to(store, &snapshots, 14).await;
    let mut file = {
        use prost::Message;
        SnapshotFile::decode(std::fs::read(&path).unwrap().as_slice()).unwrap()
    };
    assert!(State::decode(&file.body).is_ok(), "the body reads");
    file.body_sha256[0] ^= 1;
    std::fs::write(&path, prost::Message::encode_to_vec(&file)).unwrap();
    assert!(snapshots.load::<State>().is_none(), "a body whose digest is not the head's is not loaded");
}

/// A snapshot file as one protobuf message: what files written before the body was written
/// apart hold, and what the files written now must still be.
#[derive(Clone, PartialEq, prost::Message)]
struct SnapshotFile {
    #[prost(string, tag = "1")]
    projection: String,
    #[prost(uint64, tag = "2")]
    covered: u64,
    #[prost(bytes = "vec", tag = "3")]
    body_sha256: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    body: Vec<u8>,
}

#[tokio::test(flavor = "current_thread")]
async fn a_snapshot_file_is_one_protobuf_message_both_ways() {
    use prost::Message;
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(dir.path().join("projections"));
    let store = open(dir.path());
    record(store.as_ref(), 0, 3).await;
    let bytes = run_to(store.clone(), &snapshots, 10).await;
    let path = dir.path().join("projections/state.snapshot");

    let file = SnapshotFile::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
    assert_eq!((file.projection.as_str(), file.covered), ("state", 10));
    assert_eq!(file.body, bytes);
    assert_eq!(file.body_sha256, Sha256::digest(&bytes).to_vec());

    // A file written whole by prost, its fields in another order, reads the same.
    let mut reordered = Vec::new();
    prost::encoding::bytes::encode(4, &file.body, &mut reordered);
    prost::encoding::string::encode(1, &file.projection, &mut reordered);
    prost::encoding::uint64::encode(2, &file.covered, &mut reordered);
    prost::encoding::bytes::encode(3, &file.body_sha256, &mut reordered);
    std::fs::write(&path, reordered).unwrap();
    assert_eq!(snapshots.load::<State>().unwrap().to_bytes(), bytes);
}

#[test]
fn a_snapshot_waits_for_the_log_to_grow_by_a_quarter() {
    let policy = SnapshotPolicy { every_events: 100, every: Duration::from_secs(60), spacing: 9 };
    let (soon, late) = (Duration::from_secs(1), Duration::from_secs(61));
    let due = |saved, covered, elapsed| policy.due(saved, covered, elapsed, Duration::ZERO);
    // A small log: by count or by time.
    assert!(!due(0, 0, late), "nothing applied");
    assert!(!due(0, 99, soon));
    assert!(due(0, 100, soon));
    assert!(due(0, 1, late));
    // A large one: only once it has grown by a quarter, however long it has been.
    assert!(!due(1_000, 1_100, soon), "100 events, but not a quarter of 1,000");
    assert!(!due(1_000, 1_249, late));
    assert!(due(1_000, 1_250, soon));
    assert!(due(1_000, 1_250, late));
}

#[test]
fn a_snapshot_waits_spacing_times_as_long_as_the_last_took() {
    let policy = SnapshotPolicy { every_events: 100, every: Duration::from_secs(60), spacing: 9 };
    let took = Duration::from_millis(500);
    // The log has grown enough, by count and by a quarter: only the time since the last counts.
    assert!(!policy.due(1_000, 2_000, Duration::from_millis(4_499), took));
    assert!(policy.due(1_000, 2_000, Duration::from_millis(4_500), took));
    // The spacing alone never makes a snapshot due.
    assert!(!policy.due(1_000, 1_249, Duration::from_secs(3_600), took), "not a quarter");
    assert!(!policy.due(1_000, 1_000, Duration::from_secs(3_600), took), "nothing applied");
    // Without a spacing, a snapshot may follow the last at once.
    let eager = SnapshotPolicy { spacing: 0, ..policy };
    assert!(eager.due(1_000, 2_000, Duration::ZERO, took));
}

/// The state, under another name, whose snapshot encoding waits at [`GATE`] until the test
/// opens it.
struct Gated(State);

/// Whether a snapshot is being encoded, and whether the test has let it finish.
struct Gate {
    state: std::sync::Mutex<(bool, bool)>,
    changed: std::sync::Condvar,
}

static GATE: Gate = Gate { state: std::sync::Mutex::new((false, false)), changed: std::sync::Condvar::new() };

impl Gate {
    /// Waits until `ready` holds of (encoding, open), or `timeout` passes; returns whether it
    /// held.
    fn wait(&self, timeout: Duration, ready: impl Fn(&(bool, bool)) -> bool) -> bool {
        let guard = self.state.lock().unwrap();
        let (guard, _) = self.changed.wait_timeout_while(guard, timeout, |s| !ready(s)).unwrap();
        ready(&guard)
    }

    fn set(&self, change: impl FnOnce(&mut (bool, bool))) {
        change(&mut self.state.lock().unwrap());
        self.changed.notify_all();
    }
}

impl Projection for Gated {
    const NAME: &'static str = "gated";
    type Frozen = <State as Projection>::Frozen;
    fn empty() -> Self {
        Gated(State::new())
    }
    fn apply_event(&mut self, event: &chibo_projections::Recorded) {
        self.0.apply_event(event);
    }
    fn covered(&self) -> u64 {
        self.0.covered()
    }
    fn last_event_hash(&self) -> Option<[u8; 32]> {
        self.0.last_event_hash()
    }
    fn freeze(&self) -> Self::Frozen {
        self.0.freeze()
    }
    fn write_frozen(frozen: &Self::Frozen, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        GATE.set(|s| s.0 = true);
        // Longer than the test waits for the lock, so that a lock held here fails the test.
        GATE.wait(2 * WAIT, |s| s.1);
        frozen.write_to(out)
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, chibo_projections::snapshot::DecodeError> {
        State::decode(bytes).map(Gated)
    }
}

/// A snapshot freezes the state and encodes it after the state's lock is released: while one
/// is being encoded, events go on being applied and the lock can be taken for writing, and the
/// snapshot written is the state as it was when frozen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_applied_while_a_snapshot_is_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let snapshots = Snapshots::new(dir.path().join("projections"));
    let store = open(dir.path());
    record(store.as_ref(), 0, 2).await;
    let frozen_at = 4 + 4;
    let policy = SnapshotPolicy { every_events: 1, every: Duration::from_secs(3600), spacing: 0 };
    let (shared, _task) =
        engine::start::<Gated, _>(store.clone(), Some(snapshots.clone()), policy, std::future::pending()).await;
    assert!(tokio::task::spawn_blocking(|| GATE.wait(WAIT, |s| s.0)).await.unwrap(), "no snapshot was taken");
    // The log was read in one chunk, applied before the snapshot was due.
    assert_eq!(shared.covered(), frozen_at);

    // The snapshot is still being encoded: the lock is free, and a new event is applied. (One
    // event, so that no second snapshot is due: the log has not grown by a quarter.)
    let writer = shared.clone();
    let (took, took_it) = std::sync::mpsc::channel();
    std::thread::spawn(move || took.send(writer.write().covered()).unwrap());
    let took_it = took_it.recv_timeout(WAIT);
    append(store.as_ref(), "cell-c", 99, joined("chi", "2026-02-01")).await;
    let applied = shared.wait_for(frozen_at + 1, WAIT).await;
    GATE.set(|s| s.1 = true);
    assert!(took_it.is_ok(), "the state's lock was held while the snapshot was encoded");
    applied.expect("events were not applied while the snapshot was encoded");

    // What was written is the state when it was frozen.
    let deadline = std::time::Instant::now() + WAIT;
    let written = loop {
        if let Some(Gated(state)) = snapshots.load::<Gated>() {
            break state;
        }
        assert!(std::time::Instant::now() < deadline, "the snapshot was not written");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let then: State = engine::rebuild_prefix(store.as_ref(), frozen_at).await.unwrap();
    assert_eq!(written.encode(), then.encode(), "the snapshot is the state it froze, not the state after");
    assert_eq!(shared.covered(), frozen_at + 1);
}

/// The live engine takes the events the server offers as it appends them in place of decoding
/// their payloads, but only where the log's envelope names the offered event id, payload digest
/// and type: an event offered with another digest is not applied, and the state is the log's
/// either way.
#[tokio::test(flavor = "current_thread")]
async fn the_engine_takes_offered_events_only_where_the_log_names_their_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    record(store.as_ref(), 0, 0).await;
    let points = |member: &str, points: u32| -> Event {
        StudyPointsEarned::new(StudyPointsEarnedFields {
            member_id: id(member),
            points,
            date: Date::parse("date", "2026-01-05").unwrap(),
            activity: "Học tập nghị quyết".into(),
            source_ref: Default::default(),
        })
        .unwrap()
        .into()
    };
    // Started first, as a server's engine is; on this single-threaded runtime its subscriber
    // runs only when the test awaits.
    let policy = SnapshotPolicy::default();
    let (shared, _task) = engine::start::<State, _>(store.clone(), None, policy, std::future::pending()).await;
    let stream = StreamName::parse("stream", "cell-c").unwrap();
    for n in 0..12u8 {
        let event = points(["an", "binh"][usize::from(n % 2)], 1 + u32::from(n));
        let new = new_event(100 + n, &event);
        // The last two are offered with another digest, and another event: they must not count.
        let (digest, mut offered) =
            if n >= 10 { ([7; 32], Some(points("an", 999))) } else { (new.payload_digest, Some(event)) };
        shared.handoff().offer([(new.event_id, digest, &mut offered)]);
        assert!(offered.is_none(), "held");
        store.append(&stream, ExpectedRevision::Any, vec![new]).await.unwrap();
    }
    shared.wait_for(4 + 12, WAIT).await.unwrap();
    let live = shared.read().to_bytes();
    let rebuilt: State = engine::rebuild(store.as_ref()).await.unwrap();
    assert!(live == rebuilt.to_bytes(), "the live state is not the log's");
    assert_eq!(shared.handoff().taken(), 10, "the ten offered with their payloads' digests were taken");
    assert!(shared.handoff().is_empty(), "what the engine read is no longer held");
}
