//! The single writer: one thread owns the write connection and applies appends in groups.
//!
//! Group commit: the thread takes every append waiting in its queue (up to a cap), applies them
//! all in one transaction, commits once (one fsync of the WAL under `synchronous=FULL`) and only
//! then replies to each caller. While it commits, new appends queue up and form the next group,
//! so the fsync cost is shared by everyone waiting and throughput grows with concurrency.
//!
//! Each append in a group is checked (duplicates, expected revision) against the state the
//! group has built so far, before anything of it is written, so a refusal affects only that
//! append and writes nothing. The event ids it is checked against are kept as [`Ids`] says;
//! once enough of them are recent, the writer merges them between two groups. If the commit
//! itself fails, nobody in the group gets a receipt and the writer refuses further work: after
//! a failed fsync the file's state is unknown, and a restart re-reads it from disk.
//!
//! The writer never copies the WAL back into the database itself: [`Backfill`] does, beside it.
//! Once a group is committed, the writer keeps its events in the [`Tail`] for the followers.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use chibo_domain::{EventId, Timestamp};
use chibo_integrity::{genesis, Envelope, Hash, Sealed};
use chibo_store::{AppendError, CommitObserver, ExpectedRevision, NewEvent, Receipt, MAX_EVENTS_PER_APPEND};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{
    backfill::Backfill,
    ids::Ids,
    tail::{Appended, Commit, Tail},
};

/// The most events one group commits.
const MAX_GROUP_EVENTS: usize = 50_000;

pub struct AppendRequest {
    pub stream: String,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<Result<Vec<Receipt>, AppendError>>,
}

#[derive(Debug, Clone, Copy)]
struct Head {
    last_revision: u64,
    hash: Hash,
}

pub struct Writer {
    conn: Connection,
    /// Copies the WAL back into the database after commits, on its own thread.
    backfill: Backfill,
    next_position: u64,
    last_recorded: Timestamp,
    /// Committed heads of the streams written or read since start.
    heads: HashMap<String, Head>,
    /// The event ids of the log.
    ids: Ids,
    /// The last commits' events, for the followers.
    tail: Arc<Tail>,
    committed: watch::Sender<Option<u64>>,
    observer: Option<Arc<dyn CommitObserver>>,
    poisoned: Option<String>,
}

/// A row of the log, as the writer needs it for duplicate checks.
struct Recorded {
    position: u64,
    stream: String,
    revision: u64,
    envelope: Vec<u8>,
    payload: Vec<u8>,
    hash: Vec<u8>,
}

fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_unix_nanos(since.as_nanos() as i128)
        .unwrap_or_else(|| Timestamp::from_unix_nanos(0).expect("the epoch is in range"))
}

fn sql(e: rusqlite::Error) -> String {
    e.to_string()
}

impl Writer {
    /// Loads what the writer must know of the log: the next position and the last record time.
    pub fn new(
        conn: Connection,
        backfill: Backfill,
        tail: Arc<Tail>,
        committed: watch::Sender<Option<u64>>,
        observer: Option<Arc<dyn CommitObserver>>,
        merge_ids_at_least: usize,
    ) -> Result<Self, String> {
        let last: Option<(i64, Vec<u8>)> = conn
            .query_row("SELECT position, envelope FROM events ORDER BY position DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(sql)?;
        let (next_position, last_recorded) = match last {
            None => (0, Timestamp::from_unix_nanos(0).expect("the epoch is in range")),
            Some((position, envelope)) => {
                let recorded = Envelope::decode(&envelope)
                    .map_err(|e| format!("the last event (position {position}) is unreadable: {e}"))?
                    .recorded_at;
                (position as u64 + 1, recorded)
            }
        };
        committed.send_replace(next_position.checked_sub(1));
        let ids = Ids::load(&conn, merge_ids_at_least)?;
        Ok(Self {
            conn,
            backfill,
            next_position,
            last_recorded,
            heads: HashMap::new(),
            ids,
            tail,
            committed,
            observer,
            poisoned: None,
        })
    }

    /// Serves the queue until every sender is gone.
    pub fn run(mut self, mut queue: mpsc::Receiver<AppendRequest>) {
        let mut group = Vec::new();
        while let Some(first) = queue.blocking_recv() {
            let mut events = first.events.len();
            group.push(first);
            while events < MAX_GROUP_EVENTS {
                match queue.try_recv() {
                    Ok(next) => {
                        events += next.events.len();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(&mut group);
            // Between two groups, with every reply sent.
            self.merge_ids_if_due();
            self.backfill.restart_if_long(&self.conn);
        }
        tracing::debug!("embedded store writer stopped");
    }

    fn commit_group(&mut self, group: &mut Vec<AppendRequest>) {
        if let Some(reason) = &self.poisoned {
            for request in group.drain(..) {
                let _ = request.reply.send(Err(AppendError::Unavailable(reason.clone())));
            }
            return;
        }
        let started = Instant::now();
        let recorded_at = now().max(self.last_recorded);
        let mut staged = Staged {
            heads: HashMap::new(),
            ids: HashMap::new(),
            sealed: Vec::new(),
            next_position: self.next_position,
        };
        let mut outcomes = Vec::with_capacity(group.len());
        let result = self.write_group(group, recorded_at, &mut staged, &mut outcomes);

        if let Err(reason) = result {
            tracing::error!(%reason, "embedded store write failed");
            for request in group.drain(..) {
                let _ = request.reply.send(Err(AppendError::Unavailable(reason.clone())));
            }
            return;
        }

        let appended = staged.next_position - self.next_position;
        if appended > 0 {
            self.heads.extend(staged.heads);
            self.ids.committed(staged.ids);
            match Commit::new(written(group, &outcomes, staged.sealed)) {
                Some(commit) => self.tail.push(commit),
                None => {
                    // Every page is read from SQLite until the tail starts again.
                    tracing::error!("a commit's events do not follow one another; the tail is not kept");
                    self.tail.clear();
                }
            }
            self.next_position = staged.next_position;
            self.last_recorded = recorded_at;
            self.committed.send_replace(Some(self.next_position - 1));
            self.backfill.committed();
            if let Some(observer) = &self.observer {
                observer.committed(group.len(), appended as usize, started.elapsed());
            }
        }
        for (request, outcome) in group.drain(..).zip(outcomes) {
            let _ = request.reply.send(outcome);
        }
    }

    /// Writes `group` in one transaction and commits it if anything was appended; each append's
    /// answer in `outcomes`.
    fn write_group(
        &mut self,
        group: &[AppendRequest],
        recorded_at: Timestamp,
        staged: &mut Staged,
        outcomes: &mut Vec<Result<Vec<Receipt>, AppendError>>,
    ) -> Result<(), String> {
        // Dropped uncommitted, the transaction rolls back.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let committed = Committed { heads: &self.heads, ids: &self.ids };
        for request in group {
            outcomes.push(apply(&tx, &committed, staged, request, recorded_at)?);
        }
        if staged.next_position > self.next_position {
            tx.commit().map_err(|e| {
                let reason = format!("a commit of the embedded store failed ({e}); restart chibo to recover");
                self.poisoned = Some(reason.clone());
                reason
            })?;
        }
        Ok(())
    }

    /// Merges the recent event ids into their table if they are due. A failure leaves the
    /// writer refusing further work, as a failed commit does.
    fn merge_ids_if_due(&mut self) {
        if self.poisoned.is_some() {
            return;
        }
        let started = Instant::now();
        let recent = self.ids.recent();
        match self.ids.merge_if_due(&self.conn, self.next_position) {
            Ok(false) => {}
            Ok(true) => {
                tracing::debug!(ids = recent, elapsed = ?started.elapsed(), "merged the recent event ids");
                self.backfill.committed();
            }
            Err(reason) => {
                tracing::error!(%reason, "embedded store write failed");
                self.poisoned = Some(format!("{reason}; restart chibo to recover"));
            }
        }
    }
}

/// What the log held before the group: the streams' heads and the event ids.
struct Committed<'a> {
    heads: &'a HashMap<String, Head>,
    ids: &'a Ids,
}

/// What a group has written so far, on top of the committed state.
struct Staged {
    heads: HashMap<String, Head>,
    /// The event ids the group has written, with their positions.
    ids: HashMap<EventId, u64>,
    /// The envelope and hash of each event the group has written, in position order.
    sealed: Vec<Sealed>,
    next_position: u64,
}

/// The appends of a committed group that wrote events, each with its events taken from its
/// request and its share of `sealed` (every event the group wrote, in position order).
fn written(
    group: &mut [AppendRequest],
    outcomes: &[Result<Vec<Receipt>, AppendError>],
    sealed: Vec<Sealed>,
) -> Vec<Appended> {
    let mut sealed = sealed.into_iter();
    let mut appended = Vec::new();
    for (request, outcome) in group.iter_mut().zip(outcomes) {
        let Ok(receipts) = outcome else { continue };
        let Some(first) = receipts.first().filter(|r| !r.duplicate) else { continue };
        let events = std::mem::take(&mut request.events);
        appended.push(Appended {
            stream: std::mem::take(&mut request.stream),
            position: first.position,
            revision: first.revision,
            sealed: sealed.by_ref().take(events.len()).collect(),
            events,
        });
    }
    appended
}

impl Staged {
    /// The row of the event `id` names, if the log holds one or the group has written one.
    fn find(&self, tx: &Connection, committed: &Committed<'_>, id: &EventId) -> Result<Option<Recorded>, String> {
        let position = match self.ids.get(id) {
            Some(position) => Some(*position),
            None => committed.ids.position(tx, id)?,
        };
        position.map(|position| at_position(tx, position)).transpose()
    }
}

/// Applies one append inside the group's transaction. The error is a storage failure that
/// aborts the whole group; an answer refusing the append was given having written nothing.
fn apply(
    tx: &Connection,
    committed: &Committed<'_>,
    staged: &mut Staged,
    request: &AppendRequest,
    recorded_at: Timestamp,
) -> Result<Result<Vec<Receipt>, AppendError>, String> {
    let AppendRequest { stream, expected, events, .. } = request;
    if events.is_empty() {
        return Ok(Err(AppendError::BadBatch("an append needs at least one event".into())));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Ok(Err(AppendError::BadBatch(format!(
            "{} events exceeds the limit of {MAX_EVENTS_PER_APPEND} per append",
            events.len()
        ))));
    }
    let mut ids = HashSet::with_capacity(events.len());
    if let Some(e) = events.iter().find(|e| !ids.insert(e.event_id)) {
        return Ok(Err(AppendError::DuplicateInBatch { event_id: e.event_id }));
    }

    // Idempotency first: a retry of an append that landed gets its original receipts, whatever
    // revision it expects.
    if let Some(first) = staged.find(tx, committed, &events[0].event_id)? {
        if first.stream == *stream {
            if let Some(receipts) = original_receipts(tx, &first, events)? {
                return Ok(Ok(receipts));
            }
        }
        return Ok(Err(conflict(events[0].event_id, &first)));
    }
    for event in &events[1..] {
        if let Some(recorded) = staged.find(tx, committed, &event.event_id)? {
            return Ok(Err(conflict(event.event_id, &recorded)));
        }
    }

    let head = match staged.heads.get(stream).or_else(|| committed.heads.get(stream)) {
        Some(head) => Some(*head),
        None => load_head(tx, stream)?,
    };
    let last = head.map(|h| h.last_revision);
    if !expected.admits(last) {
        return Ok(Err(AppendError::WrongExpectedRevision {
            stream: stream.clone(),
            expected: *expected,
            actual: last,
        }));
    }
    insert(tx, staged, request, head, recorded_at).map(Ok)
}

/// Inserts every event of an append after `head`, its ids checked to be new.
fn insert(
    tx: &Connection,
    staged: &mut Staged,
    request: &AppendRequest,
    head: Option<Head>,
    recorded_at: Timestamp,
) -> Result<Vec<Receipt>, String> {
    let AppendRequest { stream, events, .. } = request;
    let mut prev_hash = head.map_or_else(|| genesis(stream), |h| h.hash);
    let mut revision = head.map_or(0, |h| h.last_revision + 1);
    let mut position = staged.next_position;
    let mut receipts = Vec::with_capacity(events.len());
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (position, stream, revision, event_id, envelope, payload, salt, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(sql)?;
    for event in events {
        let sealed = event.seal(stream, revision, recorded_at, &prev_hash);
        insert
            .execute(params![
                position as i64,
                stream,
                revision as i64,
                &event.event_id.as_bytes()[..],
                sealed.envelope,
                &event.payload[..],
                &event.salt[..],
                &sealed.hash[..],
            ])
            .map_err(sql)?;
        staged.ids.insert(event.event_id, position);
        receipts.push(Receipt {
            event_id: event.event_id,
            stream: stream.clone(),
            revision,
            position,
            hash: sealed.hash,
            recorded_at,
            duplicate: false,
        });
        position += 1;
        prev_hash = sealed.hash;
        revision += 1;
        staged.sealed.push(sealed);
    }
    staged.next_position = position;
    staged.heads.insert(stream.clone(), Head { last_revision: revision - 1, hash: prev_hash });
    Ok(receipts)
}

fn conflict(event_id: EventId, recorded: &Recorded) -> AppendError {
    AppendError::EventIdConflict { event_id, stream: recorded.stream.clone(), revision: recorded.revision }
}

const RECORDED_COLUMNS: &str = "position, stream, revision, envelope, payload, hash";

fn recorded(row: &rusqlite::Row<'_>) -> rusqlite::Result<Recorded> {
    Ok(Recorded {
        position: row.get::<_, i64>(0)? as u64,
        stream: row.get(1)?,
        revision: row.get::<_, i64>(2)? as u64,
        envelope: row.get(3)?,
        payload: row.get(4)?,
        hash: row.get(5)?,
    })
}

fn at_position(tx: &Connection, position: u64) -> Result<Recorded, String> {
    tx.prepare_cached(&format!("SELECT {RECORDED_COLUMNS} FROM events WHERE position = ?1"))
        .and_then(|mut s| s.query_row([position as i64], recorded))
        .map_err(|e| format!("reading the event at position {position}, which an event id names: {e}"))
}

fn load_head(tx: &Connection, stream: &str) -> Result<Option<Head>, String> {
    let row: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT revision, hash FROM events WHERE stream = ?1 ORDER BY revision DESC LIMIT 1")
        .and_then(|mut s| s.query_row([stream], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(sql)?;
    row.map(|(revision, hash)| {
        let hash =
            hash.try_into().map_err(|_| format!("the head of {stream} (revision {revision}) has a malformed hash"))?;
        Ok(Head { last_revision: revision as u64, hash })
    })
    .transpose()
}

/// If `events` is exactly what was recorded from `first` on, the original receipts.
fn original_receipts(tx: &Connection, first: &Recorded, events: &[NewEvent]) -> Result<Option<Vec<Receipt>>, String> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {RECORDED_COLUMNS} FROM events WHERE stream = ?1 AND revision >= ?2 ORDER BY revision LIMIT ?3"
        ))
        .map_err(sql)?;
    let rows = stmt
        .query_map(params![first.stream, first.revision as i64, events.len() as i64], recorded)
        .map_err(sql)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    if rows.len() != events.len() {
        return Ok(None);
    }
    let mut receipts = Vec::with_capacity(rows.len());
    for (row, event) in rows.iter().zip(events) {
        let Ok(envelope) = Envelope::decode(&row.envelope) else { return Ok(None) };
        let same = event.is_recorded_as(&envelope, &row.payload);
        let Ok(hash) = <Hash>::try_from(row.hash.as_slice()) else { return Ok(None) };
        if !same {
            return Ok(None);
        }
        receipts.push(Receipt {
            event_id: event.event_id,
            stream: row.stream.clone(),
            revision: row.revision,
            position: row.position,
            hash,
            recorded_at: envelope.recorded_at,
            duplicate: true,
        });
    }
    Ok(Some(receipts))
}
