//! The projection engine: a catch-up subscriber over the global order per projection, each
//! keeping its checkpoint (the log size it covers) inside its state, and snapshots so a restart
//! does not replay everything.
//!
//! - **Start**: load the projection's snapshot if there is one, and keep it only if the store
//!   still holds, at the snapshot's last position, the event whose hash the snapshot names;
//!   otherwise start from zero (a snapshot of another log, or of a log that lost its tail, is
//!   never trusted).
//! - **Catch up**: replay what the log holds beyond the snapshot (all of it, without one) as a
//!   [`rebuild`] does, pages decoded several at a time, each page applied under the write lock.
//! - **Run**: subscribe after the last position applied, decode each event, apply it under the
//!   write lock, publish the new log size. A failed read is retried from the last position
//!   applied, so nothing is missed or applied twice.
//! - **Snapshot**: every so many events or seconds, and at shutdown: the state frozen under its
//!   read lock ([`Projection::freeze`]), then encoded and written to a temporary file on a
//!   blocking thread while the subscriber goes on applying, fsynced, and renamed over the old
//!   one. One snapshot is written at a time.
//! - **Rebuild**: [`rebuild`] replays the whole log into a fresh state.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use chibo_integrity::{EnvelopeRef, RawEvent};
use chibo_store::{EventStore, PageSink, Pages, ReadError, StoredEvent};
use futures::stream::FuturesOrdered;
use futures::StreamExt;
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::handoff::Handoff;
use crate::record::Recorded;
use crate::snapshot::{decode_event, length_delimited, DecodeError};
use crate::state::{Frozen, State};

/// A state the engine can keep: a pure fold over the log with a canonical encoding.
pub trait Projection: Send + Sync + Sized + 'static {
    /// The projection's name: its snapshot is `{name}.snapshot`.
    const NAME: &'static str;
    /// The state before the first event.
    fn empty() -> Self;
    /// Applies the next event of the global order.
    fn apply_event(&mut self, event: &Recorded);
    /// Applies the next event of the global order, which the caller gives up.
    fn apply_owned(&mut self, event: Recorded) {
        self.apply_event(&event);
    }
    /// How many events the state covers: its checkpoint.
    fn covered(&self) -> u64;
    /// The hash of the last event applied.
    fn last_event_hash(&self) -> Option<[u8; 32]>;
    /// What the canonical encoding covers, as it is now, taken cheaply: a snapshot freezes the
    /// state under its lock and encodes it after the lock is released, while events go on
    /// being applied.
    type Frozen: Send + 'static;
    /// Freezes the state: see [`Projection::Frozen`].
    fn freeze(&self) -> Self::Frozen;
    /// Writes the canonical encoding of a frozen state to `out`.
    fn write_frozen(frozen: &Self::Frozen, out: &mut dyn Write) -> std::io::Result<()>;
    /// The canonical encoding.
    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        Self::write_frozen(&self.freeze(), &mut bytes).expect("writing to a vector does not fail");
        bytes
    }
    /// Reads the canonical encoding.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError>;
}

impl Projection for State {
    const NAME: &'static str = "state";
    fn empty() -> Self {
        State::new()
    }
    fn apply_event(&mut self, event: &Recorded) {
        // The undo is for tentative applies; the engine's applies are for good.
        drop(self.apply(event));
    }
    fn apply_owned(&mut self, event: Recorded) {
        State::apply_owned(self, event);
    }
    fn covered(&self) -> u64 {
        self.log_size()
    }
    fn last_event_hash(&self) -> Option<[u8; 32]> {
        self.last_hash()
    }
    type Frozen = Frozen;
    fn freeze(&self) -> Frozen {
        State::freeze(self)
    }
    fn write_frozen(frozen: &Frozen, out: &mut dyn Write) -> std::io::Result<()> {
        frozen.write_to(out)
    }
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        State::decode(bytes)
    }
}

/// Why the engine could not go on.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// An event of the log could not be read at all (not even its envelope).
    #[error("the event at position {position} cannot be read: {reason}")]
    Unreadable {
        /// Its position.
        position: u64,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(String),
}

/// When to write a snapshot: after `every_events` events or after `every`, and in either case
/// only once the log has grown by a quarter since the last snapshot, and once the engine has
/// gone `spacing` times as long as the last snapshot took without taking one.
///
/// A snapshot encodes the whole state, so its cost grows with the log; taken at a fixed count of
/// events, its share of the ingest cost would grow with the log too (at 10^7 events the state
/// takes seconds of a core to encode, beside the appends). Waiting for the log to grow by a
/// quarter keeps that share constant, and a restart
/// still replays no more than a fifth of the log (plus `every_events`) when the log grows
/// slowly. Under a sustained load the spacing bounds the share: snapshots then take at most
/// one part in `spacing + 1` of the time, and a restart replays what came in meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotPolicy {
    /// After this many events applied since the last snapshot.
    pub every_events: u64,
    /// After this long, if any event was applied since the last snapshot.
    pub every: Duration,
    /// How many times as long as the last snapshot took (to encode and write) to go without one.
    pub spacing: u32,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        Self { every_events: 100_000, every: Duration::from_secs(60), spacing: 9 }
    }
}

impl SnapshotPolicy {
    /// Whether a snapshot is due, the last having covered `saved` events, taken `took` to
    /// write and been written `elapsed` ago, and the state now covering `covered`.
    pub fn due(&self, saved: u64, covered: u64, elapsed: Duration, took: Duration) -> bool {
        let since = covered.saturating_sub(saved);
        since > 0
            && since >= saved / 4
            && elapsed >= took.saturating_mul(self.spacing)
            && (since >= self.every_events || elapsed >= self.every)
    }
}

/// A projection shared between its engine and its readers.
pub struct Shared<P> {
    state: RwLock<P>,
    covered: watch::Sender<u64>,
    failure: watch::Sender<Option<EngineError>>,
    handoff: Arc<Handoff>,
}

impl<P: Projection> Shared<P> {
    /// A shared projection holding `state`.
    pub fn new(state: P) -> Arc<Self> {
        let covered = state.covered();
        Arc::new(Self {
            state: RwLock::new(state),
            covered: watch::Sender::new(covered),
            failure: watch::Sender::new(None),
            handoff: Arc::new(Handoff::after(covered)),
        })
    }

    /// Where the server offers the events it appended, as it decoded them, so that the engine
    /// need not decode them again (see [`Handoff`]).
    pub fn handoff(&self) -> &Handoff {
        &self.handoff
    }

    /// Reads the state. Hold the guard briefly: the engine waits for it to apply events.
    pub fn read(&self) -> RwLockReadGuard<'_, P> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the state (the engine, and tentative applies that undo themselves).
    pub fn write(&self) -> RwLockWriteGuard<'_, P> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many events the state covers now.
    pub fn covered(&self) -> u64 {
        *self.covered.borrow()
    }

    /// Why the engine stopped, if it did.
    pub fn failure(&self) -> Option<EngineError> {
        self.failure.borrow().clone()
    }

    /// Waits until the state covers at least `log_size` events, for at most `timeout`. Returns
    /// the engine's failure, or `None` on timeout, when it cannot.
    pub async fn wait_for(&self, log_size: u64, timeout: Duration) -> Result<(), Option<EngineError>> {
        let mut covered = self.covered.subscribe();
        let mut failure = self.failure.subscribe();
        let wait = async {
            loop {
                if *covered.borrow_and_update() >= log_size {
                    return Ok(());
                }
                if let Some(e) = failure.borrow_and_update().clone() {
                    return Err(Some(e));
                }
                tokio::select! {
                    changed = covered.changed() => if changed.is_err() { return Err(None) },
                    changed = failure.changed() => if changed.is_err() { return Err(None) },
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.unwrap_or(Err(None))
    }

    /// Applies `events` in order under the write lock, and publishes the new coverage. Those the
    /// state covers already are skipped (a resubscription may repeat what was applied); the
    /// first one after a gap stops it, the log being damaged.
    fn fold(&self, events: Vec<Recorded>) -> Result<(), EngineError> {
        let (folded, covered) = {
            let mut state = self.write();
            let covered = state.covered();
            let fresh = events.into_iter().skip_while(|r| r.position < covered);
            (fold_into(&mut *state, fresh), state.covered())
        };
        self.publish(covered);
        folded
    }

    fn publish(&self, covered: u64) {
        self.handoff.applied(covered);
        self.covered.send_replace(covered);
    }
}

/// Reads a stored event as the projections see it. An unknown or unreadable payload becomes an
/// event without content (see [`Recorded::event`]); an unreadable envelope is an error.
pub fn recorded(stored: &StoredEvent) -> Result<Recorded, EngineError> {
    recorded_raw(stored.as_raw())
}

/// [`recorded`], from the event's bytes where the store holds them (see
/// [`EventStore::read_all_into`]).
pub fn recorded_raw(raw: RawEvent<'_>) -> Result<Recorded, EngineError> {
    recorded_from(raw, None)
}

/// [`recorded_raw`], taking the event from `handoff` where it holds the one this envelope
/// names, rather than decoding the payload.
fn recorded_from(raw: RawEvent<'_>, handoff: Option<&Handoff>) -> Result<Recorded, EngineError> {
    let unreadable = |reason: String| EngineError::Unreadable { position: raw.position, reason };
    let hash = <[u8; 32]>::try_from(raw.hash)
        .map_err(|_| unreadable(format!("its hash is {} bytes; expected 32", raw.hash.len())))?;
    let envelope = EnvelopeRef::decode(raw.envelope).map_err(|e| unreadable(e.to_string()))?;
    let handed = handoff.and_then(|h| h.take(&envelope.event_id, &envelope.payload_digest, &envelope.event_type));
    let event = handed.or_else(|| decode_event(&envelope.event_type, raw.payload).ok());
    Ok(Recorded {
        position: raw.position,
        stream: envelope.stream_name(),
        revision: envelope.revision,
        event_id: envelope.event_id,
        occurred_at: envelope.occurred_at,
        recorded_at: envelope.recorded_at,
        hash,
        event,
    })
}

/// A page of a replay, decoded as the store hands its events over ([`EventStore::read_all_into`]):
/// the events, up to the first one that does not decode.
struct Decoded {
    events: Vec<Recorded>,
    unreadable: Option<EngineError>,
    /// The live engine's: where the events the server appended wait.
    handoff: Option<Arc<Handoff>>,
}

impl Decoded {
    fn with_room(events: usize) -> Self {
        Self { events: Vec::with_capacity(events), unreadable: None, handoff: None }
    }
}

impl PageSink for Decoded {
    fn event(&mut self, event: RawEvent<'_>) {
        if self.unreadable.is_none() {
            match recorded_from(event, self.handoff.as_deref()) {
                Ok(event) => self.events.push(event),
                Err(e) => self.unreadable = Some(e),
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// Replays the whole log of `store` into a fresh `P`.
pub async fn rebuild<P: Projection>(store: &dyn EventStore) -> Result<P, EngineError> {
    rebuild_prefix(store, u64::MAX).await
}

/// Events read and decoded at a time by a replay.
const PAGE: u64 = 4096;
/// The most events the live engine reads and applies at a time.
const LIVE_PAGE: usize = 4096;
/// Pages a replay reads and decodes at once, each on a blocking thread of its own, besides the
/// one the state is applying.
const DECODING: usize = 3;
/// The first page of a replay is this part of a page (see [`page_sizes`]).
const FIRST_PAGE_PART: u64 = 16;

/// Replays the first `log_size` events of `store` (fewer if the log is shorter) into a fresh
/// `P`: the state as it was when the log had that size.
pub async fn rebuild_prefix<P: Projection>(store: &dyn EventStore, log_size: u64) -> Result<P, EngineError> {
    rebuild_prefix_in_pages(store, log_size, PAGE).await
}

/// [`rebuild_prefix`], reading `page` events at a time (at least one): see [`replay`].
pub async fn rebuild_prefix_in_pages<P: Projection>(
    store: &dyn EventStore,
    log_size: u64,
    page: u64,
) -> Result<P, EngineError> {
    Ok(replay(Fresh(P::empty()), store, log_size, page).await?.0)
}

/// What a replay applies its decoded pages to, in order, on its applying thread.
trait Fold: Send + 'static {
    /// How many events are applied: the replay reads on from there.
    fn covered(&self) -> u64;
    /// Applies `page`, whose events follow those applied, one position after another.
    fn fold(&mut self, page: Vec<Recorded>) -> Result<(), EngineError>;
    /// Where events the server appended wait, decoded, for the pages to take.
    fn handoff(&self) -> Option<Arc<Handoff>> {
        None
    }
}

/// Applies `events` to `state` in order; the first event out of place (a damaged log) stops
/// it, as the live engine stops.
fn fold_into<P: Projection>(state: &mut P, events: impl IntoIterator<Item = Recorded>) -> Result<(), EngineError> {
    for event in events {
        if event.position != state.covered() {
            return Err(skipped(state.covered(), event.position));
        }
        state.apply_owned(event);
    }
    Ok(())
}

/// A state of a replay's own, which nobody else sees until the replay is done.
struct Fresh<P>(P);

impl<P: Projection> Fold for Fresh<P> {
    fn covered(&self) -> u64 {
        self.0.covered()
    }

    fn fold(&mut self, page: Vec<Recorded>) -> Result<(), EngineError> {
        fold_into(&mut self.0, page)
    }
}

/// The engine's shared state, caught up a page at a time as the live engine applies its pages
/// ([`Shared::fold`]).
struct Live<P>(Arc<Shared<P>>);

impl<P: Projection> Fold for Live<P> {
    fn covered(&self) -> u64 {
        self.0.covered()
    }

    fn fold(&mut self, page: Vec<Recorded>) -> Result<(), EngineError> {
        self.0.fold(page)
    }

    fn handoff(&self) -> Option<Arc<Handoff>> {
        Some(self.0.handoff.clone())
    }
}

/// Replays the log of `store` onto `state`, from the first event it does not cover, up to a
/// log of `log_size` events (fewer if the log is shorter), reading `page` events at a time.
///
/// Two stages run at once: pages are read and decoded, up to [`DECODING`] at a time, each on a
/// blocking thread, as the store hands their events over in place; and `state` applies the
/// decoded pages, in order, on another blocking thread. Meanwhile the process's heaps grow in
/// bulk ([`crate::heap::Bulk`]): what a replay applies stays.
async fn replay<F: Fold>(state: F, store: &dyn EventStore, log_size: u64, page: u64) -> Result<F, EngineError> {
    let _bulk = crate::heap::Bulk::begin();
    let (from, handoff) = (state.covered(), state.handoff());
    let (to_apply, mut decoded) = tokio::sync::mpsc::channel::<Vec<Recorded>>(1);
    let applying = tokio::task::spawn_blocking(move || {
        let mut state = state;
        while let Some(page) = decoded.blocking_recv() {
            state.fold(page)?;
        }
        Ok(state)
    });
    let read = read_and_decode(store, from, log_size, page.max(1), handoff, &to_apply).await;
    drop(to_apply);
    // The state stopping first is why the reading stopped, if it did.
    let state = finished(applying.await, "applying")??;
    read.map(|()| state)
}

/// The first stage of [`replay`]: every page from position `from` read and decoded (taking
/// what `handoff` holds), sent in order.
///
/// The log's positions have no gaps, so the page after one that ends at position `p` starts at
/// `p + 1`, and the next pages are asked for before the one in hand is read. A page shorter
/// than asked for may be the end of the log: the pages asked for after it are dropped, and
/// reading goes on after its last event until a page comes back empty.
async fn read_and_decode(
    store: &dyn EventStore,
    from: u64,
    log_size: u64,
    page: u64,
    handoff: Option<Arc<Handoff>>,
    to_apply: &tokio::sync::mpsc::Sender<Vec<Recorded>>,
) -> Result<(), EngineError> {
    // Where the next page asked for starts.
    let mut asked = from;
    let mut reading = FuturesOrdered::new();
    let mut sizes = page_sizes(page);
    loop {
        while reading.len() < DECODING && asked < log_size {
            let size = sizes.next().unwrap_or(page);
            let want = usize::try_from(log_size.saturating_sub(asked).min(size)).unwrap_or(usize::MAX);
            let sink = Box::new(Decoded { handoff: handoff.clone(), ..Decoded::with_room(want.min(PAGE as usize)) });
            let read = store.read_all_into(asked.checked_sub(1), want, sink);
            reading.push_back(async move { (want, read.await) });
            asked = asked.saturating_add(want as u64);
        }
        let Some((want, read)) = reading.next().await else { break };
        let Ok(decoded) = read.map_err(store_error)?.into_any().downcast::<Decoded>() else {
            return Err(EngineError::Store("the store gave back another sink than the replay's".into()));
        };
        let Decoded { events, unreadable, .. } = *decoded;
        if let Some(e) = unreadable {
            return Err(e);
        }
        // Every event handed was decoded: the page is as long as the store read it.
        let short = events.len() < want;
        let Some(last) = events.last().map(|e| e.position) else { break };
        // The state stops taking pages only at a skipped position or a panic, which the
        // caller reports first.
        if to_apply.send(events).await.is_err() {
            return Err(EngineError::Store("applying the log stopped".into()));
        }
        if short {
            reading.clear();
            asked = last.saturating_add(1);
        }
    }
    Ok(())
}

/// The sizes of a replay's pages, in events, for pages of `page`: the first a sixteenth of it,
/// each next twice the last, up to `page`. The state applies nothing before the first page is
/// decoded, and the first pages are decoded at once: smaller ones let it begin sooner, which a
/// short log feels most (docs/BENCHMARKS.md, twenty-first round).
fn page_sizes(page: u64) -> impl Iterator<Item = u64> {
    let first = (page / FIRST_PAGE_PART).max(1);
    std::iter::successors(Some(first), move |&size| Some(size.saturating_mul(2).min(page)))
}

fn store_error(e: ReadError) -> EngineError {
    EngineError::Store(e.to_string())
}

/// What a replay's blocking task `doing` the log returned; its panic goes on in this task.
fn finished<T>(joined: Result<T, tokio::task::JoinError>, doing: &str) -> Result<T, EngineError> {
    match joined {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(EngineError::Store(format!("{doing} the log was cancelled: {e}"))),
    }
}

/// A log whose next event, at `position`, is not at `covered`, the next one expected: damaged.
fn skipped(covered: u64, position: u64) -> EngineError {
    EngineError::Unreadable { position, reason: format!("the log skips from {covered} to {position}") }
}

/// Where a projection's snapshots live.
#[derive(Debug, Clone)]
pub struct Snapshots {
    dir: PathBuf,
}

/// A snapshot file's fields but its body. The file is this message followed by the body under
/// tag [`BODY`]: the protobuf message with all its fields, written without copying the body.
///
/// The body is written first, as it is encoded, after [`HEAD_ROOM`] bytes left for the head;
/// then the head, which needs the body's digest and length, is written into that room, and
/// `padding` fills what it leaves. A reader of the file reads one protobuf message, whatever
/// the order of its fields.
#[derive(Clone, PartialEq, prost::Message)]
struct SnapshotHead {
    #[prost(string, tag = "1")]
    projection: String,
    #[prost(uint64, tag = "2")]
    covered: u64,
    #[prost(bytes = "vec", tag = "3")]
    body_sha256: Vec<u8>,
    /// Zeros, as many as the head leaves of its room (tag [`PADDING`]).
    #[prost(bytes = "vec", tag = "5")]
    padding: Vec<u8>,
}

/// The tag of a snapshot file's body.
const BODY: u32 = 4;

/// The tag of a snapshot file's padding.
const PADDING: u32 = 5;

/// The bytes a snapshot file's head takes, its body's key and length included.
const HEAD_ROOM: usize = 256;

/// The first [`HEAD_ROOM`] bytes of a snapshot file: the head, padded, then the body's key and
/// length. An error if the head does not fit (a projection's name of more than about 150
/// bytes).
fn head_bytes(projection: &str, covered: u64, body_sha256: [u8; 32], body_len: u64) -> std::io::Result<Vec<u8>> {
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
    let head =
        SnapshotHead { projection: projection.to_owned(), covered, body_sha256: body_sha256.to_vec(), padding: vec![] };
    let mut out = head.encode_to_vec();
    let body_key = key_len(BODY) + encoded_len_varint(body_len);
    // The padding field: its key, its length, and that many zeros.
    let room = HEAD_ROOM.checked_sub(out.len() + body_key + key_len(PADDING));
    let zeros = room.and_then(|room| (0..room).rev().find(|n| encoded_len_varint(*n as u64) + n == room));
    let Some(zeros) = zeros else {
        return Err(std::io::Error::other(format!("a snapshot head for {projection} does not fit {HEAD_ROOM} bytes")));
    };
    encode_key(PADDING, WireType::LengthDelimited, &mut out);
    encode_varint(zeros as u64, &mut out);
    out.resize(out.len() + zeros, 0);
    encode_key(BODY, WireType::LengthDelimited, &mut out);
    encode_varint(body_len, &mut out);
    debug_assert_eq!(out.len(), HEAD_ROOM);
    Ok(out)
}

/// What a snapshot's body is written through: its digest and length taken on the way.
struct Digesting<W> {
    out: W,
    sha256: Sha256,
    len: u64,
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.out.write(bytes)?;
        self.sha256.update(&bytes[..written]);
        self.len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Snapshots {
    /// Snapshots in `dir` (created owner-only on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.snapshot"))
    }

    /// Loads `P`'s snapshot, if there is a readable one. A damaged file is reported and ignored.
    pub fn load<P: Projection>(&self) -> Option<P> {
        let path = self.path(P::NAME);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the snapshot; rebuilding from the log");
                return None;
            }
        };
        let damaged = || {
            tracing::warn!(path = %path.display(), "the snapshot is damaged; rebuilding from the log");
            None
        };
        let (head, body) = match (SnapshotHead::decode(bytes.as_slice()), length_delimited(&bytes, BODY).as_deref()) {
            (Ok(head), Ok(&[body])) if head.projection == P::NAME => (head, body),
            _ => return damaged(),
        };
        // The body is hashed while it is read: a state read from a body whose digest is not the
        // head's is dropped unused. Reading any bytes returns a state or an error.
        let (digest, state) = std::thread::scope(|scope| {
            let digest = scope.spawn(|| Sha256::digest(body));
            let state = P::from_bytes(body);
            (digest.join(), state)
        });
        match digest {
            Ok(digest) if digest[..] == head.body_sha256 => {}
            Ok(_) => return damaged(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        match state {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the snapshot cannot be read; rebuilding from the log");
                None
            }
        }
    }

    /// Writes `P`'s snapshot of `frozen`, which covers `covered` events, durably: encoded into
    /// a temporary file as it goes (never whole in memory), fsynced, renamed over the old one.
    pub fn save<P: Projection>(&self, covered: u64, frozen: &P::Frozen) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom};
        create_private_dir(&self.dir)?;
        let path = self.path(P::NAME);
        let tmp = self.dir.join(format!("{}.snapshot.tmp", P::NAME));
        {
            let mut file = private_file(&tmp)?;
            file.seek(SeekFrom::Start(HEAD_ROOM as u64))?;
            let out = std::io::BufWriter::with_capacity(1 << 20, file);
            let mut body = Digesting { out, sha256: Sha256::new(), len: 0 };
            P::write_frozen(frozen, &mut body)?;
            let Digesting { out, sha256, len } = body;
            let mut file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
            let head = head_bytes(P::NAME, covered, sha256.finalize().into(), len)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&head)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()
    }

    /// Removes `P`'s snapshot, so the next start rebuilds it from the log.
    pub fn remove<P: Projection>(&self) -> std::io::Result<bool> {
        match std::fs::remove_file(self.path(P::NAME)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Whether `state` is a state of `store`'s log: the store holds, at its last position, the
/// event it names.
async fn belongs_to<P: Projection>(state: &P, store: &dyn EventStore) -> bool {
    let covered = state.covered();
    if covered == 0 {
        return true;
    }
    let after = covered.checked_sub(2);
    match store.read_all(after, 1).await {
        Ok(events) => {
            events.first().is_some_and(|e| e.position == covered - 1 && Some(e.hash) == state.last_event_hash())
        }
        Err(_) => false,
    }
}

/// Starts projection `P` over `store`: loads its snapshot (if it belongs to this log) and spawns
/// the subscriber, which runs until `shutdown` resolves and then writes a last snapshot.
pub async fn start<P, F>(
    store: Arc<dyn EventStore>,
    snapshots: Option<Snapshots>,
    policy: SnapshotPolicy,
    shutdown: F,
) -> (Arc<Shared<P>>, tokio::task::JoinHandle<()>)
where
    P: Projection,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut state = None;
    if let Some(snapshots) = snapshots.clone() {
        // Read on a blocking thread, as a replay is: it takes the cores for a while.
        let loaded = tokio::task::spawn_blocking(move || snapshots.load::<P>()).await;
        if let Some(loaded) = finished(loaded, "reading the snapshot of").unwrap_or(None) {
            if belongs_to(&loaded, store.as_ref()).await {
                tracing::info!(projection = P::NAME, covered = loaded.covered(), "resuming from the snapshot");
                state = Some(loaded);
            } else {
                tracing::warn!(
                    projection = P::NAME,
                    covered = loaded.covered(),
                    "the snapshot does not match this log; rebuilding from the log"
                );
            }
        }
    }
    let shared = Shared::new(state.unwrap_or_else(P::empty));
    let task = tokio::spawn(run(store, shared.clone(), snapshots, policy, shutdown));
    (shared, task)
}

async fn run<P, F>(
    store: Arc<dyn EventStore>,
    shared: Arc<Shared<P>>,
    snapshots: Option<Snapshots>,
    policy: SnapshotPolicy,
    shutdown: F,
) where
    P: Projection,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::pin!(shutdown);
    let mut saved = Saved { covered: shared.covered(), at: Instant::now(), took: Duration::ZERO };
    // The snapshot being encoded and written, if one is: at most one at a time.
    let mut saving: Option<Saving> = None;
    let mut ticker = tokio::time::interval(policy.every.max(Duration::from_millis(10)));
    // What the log holds beyond the snapshot (all of it, without one) is caught up as a replay
    // reads it, several pages decoded at once; the subscriber then goes on from wherever that
    // stopped, and reports the log's damage itself if that is why.
    let from = shared.covered();
    let stopping = tokio::select! {
        () = &mut shutdown => true,
        caught_up = replay(Live(shared.clone()), store.as_ref(), u64::MAX, PAGE) => {
            match caught_up {
                Ok(_) => tracing::info!(projection = P::NAME, from, covered = shared.covered(), "caught up with the log"),
                Err(e) => tracing::warn!(
                    projection = P::NAME,
                    covered = shared.covered(),
                    error = %e,
                    "catching up with the log in pages stopped; the subscriber goes on from there"
                ),
            }
            false
        }
    };
    'subscribe: loop {
        // Stopped while catching up: the last snapshot is all that is left to do.
        if stopping {
            break;
        }
        let after = shared.covered().checked_sub(1);
        // Each page decoded as the store hands its events over, where it holds their bytes.
        let handoff = shared.handoff.clone();
        let mut pages = Pages::new(store.clone(), after)
            .into_stream(LIVE_PAGE, move || Decoded { handoff: Some(handoff.clone()), ..Decoded::with_room(64) });
        loop {
            tokio::select! {
                () = &mut shutdown => break 'subscribe,
                done = async { saving.as_mut().expect("polled only while saving").await }, if saving.is_some() => {
                    saving = None;
                    saved = done.ok().flatten().unwrap_or(saved);
                }
                // Wakes the loop, for a snapshot due by time.
                _ = ticker.tick() => {}
                page = pages.next() => {
                    let Some(page) = page else {
                        // The store closed: nothing more will come.
                        break 'subscribe;
                    };
                    if let Err(e) = apply_page(&shared, page) {
                        match e {
                            ChunkError::Read(e) => {
                                tracing::warn!(projection = P::NAME, error = %e, "reading the log failed; retrying");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                                continue 'subscribe;
                            }
                            ChunkError::Engine(e) => {
                                tracing::error!(projection = P::NAME, error = %e, "the projection stopped");
                                shared.failure.send_replace(Some(e));
                                break 'subscribe;
                            }
                        }
                    }
                }
            }
            if saving.is_none() && policy.due(saved.covered, shared.covered(), saved.at.elapsed(), saved.took) {
                saving = snapshot(&shared, snapshots.as_ref());
            }
        }
    }
    if let Some(done) = saving {
        saved = done.await.ok().flatten().unwrap_or(saved);
    }
    if shared.covered() > saved.covered && shared.failure().is_none() {
        if let Some(last) = snapshot(&shared, snapshots.as_ref()) {
            let _ = last.await;
        }
    }
}

enum ChunkError {
    Read(ReadError),
    Engine(EngineError),
}

/// Applies what could be read and decoded of `page`, in order, and publishes the new coverage.
fn apply_page<P: Projection>(shared: &Shared<P>, page: Result<Decoded, ReadError>) -> Result<(), ChunkError> {
    let Decoded { events, unreadable, .. } = page.map_err(ChunkError::Read)?;
    shared.fold(events).map_err(ChunkError::Engine)?;
    unreadable.map_or(Ok(()), |e| Err(ChunkError::Engine(e)))
}

/// The last snapshot written: how many events it covers, when it was written, how long it took.
#[derive(Debug, Clone, Copy)]
struct Saved {
    covered: u64,
    at: Instant,
    took: Duration,
}

/// A snapshot being encoded and written: it gives its [`Saved`] once written.
type Saving = tokio::task::JoinHandle<Option<Saved>>;

/// Freezes `shared` now, under its read lock, and encodes and writes it after, on a blocking
/// thread: events are applied, and submissions checked, while the snapshot is encoded and
/// written. `None` when there is nowhere to write it.
fn snapshot<P: Projection>(shared: &Shared<P>, snapshots: Option<&Snapshots>) -> Option<Saving> {
    let snapshots = snapshots?.clone();
    let started = Instant::now();
    let (covered, frozen) = {
        let state = shared.read();
        (state.covered(), state.freeze())
    };
    Some(tokio::task::spawn_blocking(move || match snapshots.save::<P>(covered, &frozen) {
        Ok(()) => {
            let took = started.elapsed();
            tracing::debug!(projection = P::NAME, covered, ?took, "snapshot written");
            Some(Saved { covered, at: Instant::now(), took })
        }
        Err(e) => {
            tracing::warn!(projection = P::NAME, error = %e, "cannot write the snapshot");
            None
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replay's pages grow from a sixteenth of a page to a page, and stay there; a page of
    /// fewer than sixteen events begins at one.
    #[test]
    fn a_replays_pages_double_from_a_sixteenth_to_a_whole_page() {
        let sizes = |page| page_sizes(page).take(8).collect::<Vec<_>>();
        assert_eq!(sizes(4096), [256, 512, 1024, 2048, 4096, 4096, 4096, 4096]);
        assert_eq!(sizes(100), [6, 12, 24, 48, 96, 100, 100, 100]);
        assert_eq!(sizes(5), [1, 2, 4, 5, 5, 5, 5, 5]);
        assert_eq!(sizes(1), [1; 8]);
        assert_eq!(sizes(u64::MAX)[5..], [u64::MAX; 3]);
    }

    #[test]
    fn a_snapshot_head_fills_its_room_exactly_and_reads_back() {
        let long = "p".repeat(120);
        for name in ["state", long.as_str()] {
            for len in [0u64, 1, 126, 127, 128, 300, 16_383, 16_384, 1 << 40] {
                let head = head_bytes(name, 1_234_567, [7; 32], len).unwrap();
                assert_eq!(head.len(), HEAD_ROOM, "{name}, body of {len}");
                if len > 300 {
                    continue;
                }
                let mut file = head;
                file.extend((0..len).map(|i| i as u8));
                let read = SnapshotHead::decode(file.as_slice()).unwrap();
                assert_eq!((read.projection.as_str(), read.covered, read.body_sha256), (name, 1_234_567, vec![7; 32]));
                let body = length_delimited(&file, BODY).unwrap();
                assert_eq!(body, [&file[HEAD_ROOM..]], "{name}, body of {len}");
            }
        }
        let err = head_bytes(&"p".repeat(300), 1, [0; 32], 10).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }
}
