//! The single writer: one thread owns the write connection and applies appends in groups.
//!
//! Group commit: the thread takes every append waiting in its queue (up to a cap), applies them
//! all in one transaction, commits once (one fsync of the WAL under `synchronous=FULL`) and only
//! then replies to each caller. While it commits, new appends queue up and form the next group,
//! so the fsync cost is shared by everyone waiting and throughput grows with concurrency.
//!
//! Each append in a group is checked (duplicates, expected revision) against the state the
//! group has built so far, so a refusal affects only that append. If the commit itself fails,
//! nobody in the group gets a receipt and the writer refuses further work: after a failed
//! fsync the file's state is unknown, and a restart re-reads it from disk.
//!
//! The writer never copies the WAL back into the database itself: [`Backfill`] does, beside it.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use chibo_domain::{EventId, Timestamp};
use chibo_integrity::{genesis, Envelope, Hash};
use chibo_store::{AppendError, CommitObserver, ExpectedRevision, NewEvent, Receipt, MAX_EVENTS_PER_APPEND};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot, watch};

use crate::backfill::Backfill;

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
        committed: watch::Sender<Option<u64>>,
        observer: Option<Arc<dyn CommitObserver>>,
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
        Ok(Self {
            conn,
            backfill,
            next_position,
            last_recorded,
            heads: HashMap::new(),
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
        let mut staged = Staged { heads: HashMap::new(), next_position: self.next_position };
        let mut outcomes = Vec::with_capacity(group.len());

        // Written at once first; if an append of several events is refused past its first
        // event, the group is rolled back and written again with a savepoint per append.
        let mut result = self.write_group(group, Savepoints::Off, recorded_at, &mut staged, &mut outcomes);
        if matches!(result, Ok(Written::Again)) {
            (staged, outcomes) = (Staged { heads: HashMap::new(), next_position: self.next_position }, Vec::new());
            result = self.write_group(group, Savepoints::On, recorded_at, &mut staged, &mut outcomes);
        }
        let result = result.and_then(|written| match written {
            Written::Done => Ok(()),
            Written::Again => Err("an append was refused past its first event inside a savepoint".to_owned()),
        });

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
        savepoints: Savepoints,
        recorded_at: Timestamp,
        staged: &mut Staged,
        outcomes: &mut Vec<Result<Vec<Receipt>, AppendError>>,
    ) -> Result<Written, String> {
        // Dropped uncommitted, the transaction rolls back.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        for request in group {
            match apply(&tx, &self.heads, staged, request, recorded_at, savepoints)? {
                Applied::Answered(outcome) => outcomes.push(outcome),
                Applied::WriteAgain => return Ok(Written::Again),
            }
        }
        if staged.next_position > self.next_position {
            tx.commit().map_err(|e| {
                let reason = format!("a commit of the embedded store failed ({e}); restart chibo to recover");
                self.poisoned = Some(reason.clone());
                reason
            })?;
        }
        Ok(Written::Done)
    }
}

/// Whether each append of several events runs in a savepoint of its own. Off, a refused insert
/// past an append's first event leaves the events before it written: the group must be written
/// again. On, each statement SQLite changes pages with keeps their old content in a statement
/// journal, the price of rolling one append back alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoints {
    Off,
    On,
}

/// How a group's transaction ended.
enum Written {
    Done,
    /// Without savepoints, an append was refused with some of its events written.
    Again,
}

/// What became of one append in the group's transaction.
enum Applied {
    Answered(Result<Vec<Receipt>, AppendError>),
    /// See [`Written::Again`].
    WriteAgain,
}

/// What an insert of an append came to.
enum Inserted {
    Receipts(Vec<Receipt>),
    /// An id is already recorded; nothing of the append stays written.
    Refused,
    /// An id past the first is already recorded, and without a savepoint the events before it
    /// stay written.
    Partly,
}

/// What a group has written so far, on top of the committed state.
struct Staged {
    heads: HashMap<String, Head>,
    next_position: u64,
}

/// Applies one append inside the group's transaction. The error is a storage failure that
/// aborts the whole group; an answer refusing the append was given having written nothing.
fn apply(
    tx: &Connection,
    committed: &HashMap<String, Head>,
    staged: &mut Staged,
    request: &AppendRequest,
    recorded_at: Timestamp,
    savepoints: Savepoints,
) -> Result<Applied, String> {
    let AppendRequest { stream, expected, events, .. } = request;
    if events.is_empty() {
        return Ok(Applied::Answered(Err(AppendError::BadBatch("an append needs at least one event".into()))));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Ok(Applied::Answered(Err(AppendError::BadBatch(format!(
            "{} events exceeds the limit of {MAX_EVENTS_PER_APPEND} per append",
            events.len()
        )))));
    }
    let mut ids = HashSet::with_capacity(events.len());
    if let Some(e) = events.iter().find(|e| !ids.insert(e.event_id)) {
        return Ok(Applied::Answered(Err(AppendError::DuplicateInBatch { event_id: e.event_id })));
    }

    let head = match staged.heads.get(stream).or_else(|| committed.get(stream)) {
        Some(head) => Some(*head),
        None => load_head(tx, stream)?,
    };
    let last = head.map(|h| h.last_revision);

    // The common case, a new append at the expected revision, is inserted straight away: the
    // unique index on event ids is the duplicate check, instead of a look-up of every id before
    // its insert. If an id is already there, nothing of this append stays written (or the
    // group is written again), and it is answered below.
    if expected.admits(last) {
        match insert(tx, staged, request, head, recorded_at, savepoints)? {
            Inserted::Receipts(receipts) => return Ok(Applied::Answered(Ok(receipts))),
            Inserted::Refused => {}
            Inserted::Partly => return Ok(Applied::WriteAgain),
        }
    }

    // Idempotency first: a retry of an append that landed gets its original receipts.
    if let Some(first) = find_by_id(tx, &events[0].event_id)? {
        if first.stream == *stream {
            if let Some(receipts) = original_receipts(tx, &first, events)? {
                return Ok(Applied::Answered(Ok(receipts)));
            }
        }
        return Ok(Applied::Answered(Err(conflict(events[0].event_id, &first))));
    }
    for event in &events[1..] {
        if let Some(recorded) = find_by_id(tx, &event.event_id)? {
            return Ok(Applied::Answered(Err(conflict(event.event_id, &recorded))));
        }
    }
    if !expected.admits(last) {
        return Ok(Applied::Answered(Err(AppendError::WrongExpectedRevision {
            stream: stream.clone(),
            expected: *expected,
            actual: last,
        })));
    }
    Err(format!("the unique index refused an append to {stream}, yet none of its event ids is recorded"))
}

/// Inserts every event of an append after `head`. An append of several events runs in a
/// savepoint if `savepoints` says so, so that a refused insert takes back the ones before it;
/// one event's insert is all or nothing on its own.
fn insert(
    tx: &Connection,
    staged: &mut Staged,
    request: &AppendRequest,
    head: Option<Head>,
    recorded_at: Timestamp,
    savepoints: Savepoints,
) -> Result<Inserted, String> {
    let AppendRequest { stream, events, .. } = request;
    let run = |statement: &str| tx.prepare_cached(statement).and_then(|mut s| s.execute([])).map_err(sql);
    let guarded = savepoints == Savepoints::On && events.len() > 1;
    if guarded {
        run("SAVEPOINT append")?;
    }
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
        let inserted = insert.execute(params![
            position as i64,
            stream,
            revision as i64,
            &event.event_id.as_bytes()[..],
            sealed.envelope,
            event.payload,
            &event.salt[..],
            &sealed.hash[..],
        ]);
        match inserted {
            Ok(_) => {}
            Err(e) if is_duplicate(&e) => {
                if guarded {
                    run("ROLLBACK TO append")?;
                    run("RELEASE append")?;
                } else if !receipts.is_empty() {
                    return Ok(Inserted::Partly);
                }
                return Ok(Inserted::Refused);
            }
            Err(e) => return Err(sql(e)),
        }
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
    }
    if guarded {
        run("RELEASE append")?;
    }
    staged.next_position = position;
    staged.heads.insert(stream.clone(), Head { last_revision: revision - 1, hash: prev_hash });
    Ok(Inserted::Receipts(receipts))
}

/// True for an insert a unique index refused: an event id (or stream revision) already there.
fn is_duplicate(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
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

fn find_by_id(tx: &Connection, id: &EventId) -> Result<Option<Recorded>, String> {
    tx.prepare_cached(&format!("SELECT {RECORDED_COLUMNS} FROM events WHERE event_id = ?1"))
        .and_then(|mut s| s.query_row([&id.as_bytes()[..]], recorded).optional())
        .map_err(sql)
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
