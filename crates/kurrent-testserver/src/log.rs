//! The in-memory transaction log: every event in `$all` order, an index per stream, and the
//! rules KurrentDB applies to an append (expected revision, idempotent event ids).
//!
//! Positions imitate a real node's: an event's position is the byte offset of its record in
//! the log, so positions grow with the size of what was written, are never contiguous, and
//! the first event is not at 0 (a fresh node writes an epoch record first). Commit and prepare
//! positions are equal, as for every event a KurrentDB append writes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{SystemTime, UNIX_EPOCH},
};

use prost::bytes::Bytes;
use tokio::sync::watch;
use uuid::Uuid;

/// Bytes a record takes in the log besides its variable parts (a LogV2 prepare record's
/// fixed fields, length prefix and suffix).
const RECORD_OVERHEAD: u64 = 94;

/// The size of the epoch record a fresh node writes at position 0.
const EPOCH_RECORD_SIZE: u64 = 128;

/// KurrentDB's default `MaxAppendSize`: the most one append may carry, counted as the server
/// counts it ([`Proposed::size_on_disk`]).
pub const MAX_APPEND_SIZE: usize = 1024 * 1024;

/// The stream and type of the system event a fresh node writes after its first epoch record.
pub const EPOCH_INFORMATION: &str = "$epoch-information";

/// One event as stored.
#[derive(Debug)]
pub struct Record {
    /// Commit and prepare position in `$all`.
    pub position: u64,
    pub stream: Arc<str>,
    pub revision: u64,
    pub id: Uuid,
    pub event_type: String,
    /// The server keeps only whether the content type was `application/json`.
    pub is_json: bool,
    /// .NET ticks (100 ns) since the Unix epoch, as the `created` metadata carries them.
    pub created: i64,
    pub data: Bytes,
    pub custom_metadata: Bytes,
}

impl Record {
    /// Whether reads and subscriptions of `$all` leave this event out, as KurrentDB's default
    /// `$all` filter does: system streams are shown except the epoch information and the
    /// checkpoints and parked messages of persistent subscriptions to `$all`.
    pub fn hidden_from_all(&self) -> bool {
        let stream = &*self.stream;
        stream == EPOCH_INFORMATION
            || (stream.starts_with("$persistentsubscription-$all::")
                && (stream.ends_with("-checkpoint") || stream.ends_with("-parked")))
    }
}

/// An event as an append proposes it.
#[derive(Debug)]
pub struct Proposed {
    pub id: Uuid,
    pub event_type: String,
    pub is_json: bool,
    pub data: Bytes,
    pub custom_metadata: Bytes,
}

impl Proposed {
    /// What KurrentDB counts against its append size limits: data, metadata and the event
    /// type in UTF-16.
    pub fn size_on_disk(&self) -> usize {
        self.data.len() + self.custom_metadata.len() + self.event_type.encode_utf16().count() * 2
    }
}

/// An append's expected revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Any,
    NoStream,
    StreamExists,
    Exact(u64),
}

/// What an append did.
#[derive(Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Written, or found already written (idempotent): the stream's revision after the events
    /// (`None`: the stream does not exist) and the position of the last event (`None` when the
    /// append carried none).
    Success { revision: Option<u64>, position: Option<u64> },
    /// Refused: the stream's current revision (`None`: no stream).
    WrongExpectedVersion { current: Option<u64> },
}

/// Where a read of `$all` starts.
#[derive(Clone, Copy, Debug)]
pub enum AllFrom {
    Start,
    End,
    Position(u64),
}

/// A position that is neither the start nor the end of the log nor the start of a record.
#[derive(Debug)]
pub struct InvalidPosition;

/// The log.
#[derive(Debug)]
pub struct Log {
    records: Vec<Arc<Record>>,
    /// Per stream, the indexes of its events in `records`, by revision.
    streams: HashMap<Arc<str>, Vec<usize>>,
    /// The latest record written with each event id.
    ids: HashMap<Uuid, usize>,
    /// The position the next record will be written at (the writer checkpoint).
    end: u64,
}

impl Log {
    /// A fresh node's log: its epoch record and the `$epoch-information` event after it.
    pub fn new() -> Self {
        let mut log = Log { records: Vec::new(), streams: HashMap::new(), ids: HashMap::new(), end: EPOCH_RECORD_SIZE };
        let epoch_id = Uuid::new_v4();
        let leader = Uuid::new_v4();
        let data =
            format!(r#"{{"epochPosition":0,"epochNumber":0,"epochId":"{epoch_id}","leaderInstanceId":"{leader}"}}"#);
        let outcome = log.append(
            EPOCH_INFORMATION,
            Expected::NoStream,
            vec![Proposed {
                id: Uuid::new_v4(),
                event_type: EPOCH_INFORMATION.to_owned(),
                is_json: true,
                data: Bytes::from(data),
                custom_metadata: Bytes::new(),
            }],
        );
        debug_assert!(matches!(outcome, AppendOutcome::Success { .. }));
        log
    }

    /// How many events the log holds; live subscriptions wait for it to grow.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The position after the last record.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The stream's last revision, `None` if it has no events.
    pub fn last_revision(&self, stream: &str) -> Option<u64> {
        self.streams.get(stream).map(|indexes| indexes.len() as u64 - 1)
    }

    /// Appends `events` to `stream` if `expected` holds, KurrentDB's way: with `Any` or
    /// `StreamExists`, events whose ids the stream already holds (all of them, in that
    /// stream) are not written again and the original write is reported; with an exact
    /// revision (or `NoStream`) behind the stream's end, the same ids at the revisions after
    /// it are likewise an idempotent success. A partial match is a wrong expected version.
    pub fn append(&mut self, stream: &str, expected: Expected, events: Vec<Proposed>) -> AppendOutcome {
        let current = self.last_revision(stream);
        let refused = AppendOutcome::WrongExpectedVersion { current };
        let Some(current_revision) = current else {
            // A stream with no events takes `Any` and `NoStream` only.
            return match expected {
                Expected::Any | Expected::NoStream => self.write(stream, events),
                Expected::StreamExists | Expected::Exact(_) => refused,
            };
        };
        match expected {
            Expected::Any | Expected::StreamExists => {
                let mut found = Vec::with_capacity(events.len());
                for event in &events {
                    match self.ids.get(&event.id).map(|&i| &self.records[i]) {
                        Some(record) if *record.stream == *stream => found.push(record),
                        // The first event is new: the whole append is.
                        _ if found.is_empty() => return self.write(stream, events),
                        // Some events were written before and some not: not idempotent.
                        _ => return refused,
                    }
                }
                match found.last() {
                    None => self.write(stream, events),
                    Some(last) => {
                        AppendOutcome::Success { revision: Some(last.revision), position: Some(last.position) }
                    }
                }
            }
            Expected::NoStream | Expected::Exact(_) => {
                let after = match expected {
                    Expected::Exact(revision) => i128::from(revision),
                    _ => -1,
                };
                let current_revision = i128::from(current_revision);
                if after == current_revision {
                    return self.write(stream, events);
                }
                if after > current_revision || events.is_empty() {
                    return refused;
                }
                // Behind the stream's end: idempotent if the same ids are at the revisions
                // that follow `after`.
                let indexes = &self.streams[stream];
                let mut last = None;
                for (offset, event) in events.iter().enumerate() {
                    let revision = after + 1 + offset as i128;
                    let stored = usize::try_from(revision).ok().and_then(|r| indexes.get(r)).map(|&i| &self.records[i]);
                    match stored {
                        Some(record) if record.id == event.id => last = Some(record),
                        _ => return refused,
                    }
                }
                let last = last.expect("events is not empty");
                AppendOutcome::Success { revision: Some(last.revision), position: Some(last.position) }
            }
        }
    }

    fn write(&mut self, stream: &str, events: Vec<Proposed>) -> AppendOutcome {
        let (stream, current) = match self.streams.get_key_value(stream) {
            Some((name, indexes)) => (name.clone(), Some(indexes.len() as u64 - 1)),
            None => (Arc::<str>::from(stream), None),
        };
        if events.is_empty() {
            return AppendOutcome::Success { revision: current, position: None };
        }
        let created = ticks_since_epoch();
        let mut revision = current.map_or(0, |r| r + 1);
        let mut position = self.end;
        for event in events {
            position = self.end;
            self.end += RECORD_OVERHEAD
                + (stream.len() + event.event_type.len() + event.data.len() + event.custom_metadata.len()) as u64;
            let index = self.records.len();
            self.records.push(Arc::new(Record {
                position,
                stream: stream.clone(),
                revision,
                id: event.id,
                event_type: event.event_type,
                is_json: event.is_json,
                created,
                data: event.data,
                custom_metadata: event.custom_metadata,
            }));
            self.streams.entry(stream.clone()).or_default().push(index);
            self.ids.insert(event.id, index);
            revision += 1;
        }
        AppendOutcome::Success { revision: Some(revision - 1), position: Some(position) }
    }

    /// Up to `max` events of `stream` from revision `from` on (`None` if it has no events).
    pub fn read_stream_forwards(&self, stream: &str, from: u64, max: u64) -> Option<Vec<Arc<Record>>> {
        let indexes = self.streams.get(stream)?;
        let from = usize::try_from(from).unwrap_or(usize::MAX).min(indexes.len());
        Some(self.collect(indexes[from..].iter().copied(), max))
    }

    /// Up to `max` events of `stream` from revision `from` (`None`: its last) down.
    pub fn read_stream_backwards(&self, stream: &str, from: Option<u64>, max: u64) -> Option<Vec<Arc<Record>>> {
        let indexes = self.streams.get(stream)?;
        let to = match from {
            Some(from) => usize::try_from(from).unwrap_or(usize::MAX).saturating_add(1).min(indexes.len()),
            None => indexes.len(),
        };
        Some(self.collect(indexes[..to].iter().rev().copied(), max))
    }

    /// Up to `max` events of `$all` from `from` (inclusive) on, leaving out those
    /// [`Record::hidden_from_all`].
    pub fn read_all_forwards(&self, from: AllFrom, max: u64) -> Result<Vec<Arc<Record>>, InvalidPosition> {
        let start = self.index_at(from)?;
        let visible = (start..self.records.len()).filter(|&i| !self.records[i].hidden_from_all());
        Ok(self.collect(visible, max))
    }

    /// Up to `max` events of `$all` before `from`, the latest first, leaving out those
    /// [`Record::hidden_from_all`].
    pub fn read_all_backwards(&self, from: AllFrom, max: u64) -> Result<Vec<Arc<Record>>, InvalidPosition> {
        let end = self.index_at(from)?;
        let visible = (0..end).rev().filter(|&i| !self.records[i].hidden_from_all());
        Ok(self.collect(visible, max))
    }

    /// The index of the first event after `position` (exclusive), for subscriptions: any
    /// position is accepted, as a subscription skips what lies at or before its checkpoint.
    pub fn index_after(&self, position: u64) -> usize {
        self.records.partition_point(|r| r.position <= position)
    }

    /// The events at indexes `from..` (at most `max` of them), for subscriptions.
    pub fn page_from(&self, from: usize, max: usize) -> Vec<Arc<Record>> {
        let from = from.min(self.records.len());
        let to = from.saturating_add(max).min(self.records.len());
        self.records[from..to].to_vec()
    }

    /// The position of the last event, if any.
    pub fn last_position(&self) -> Option<u64> {
        self.records.last().map(|r| r.position)
    }

    /// Whether `position` is where a read may start: the start of the log, the start of a
    /// record, or the end.
    pub fn is_boundary(&self, position: u64) -> bool {
        let index = self.records.partition_point(|r| r.position < position);
        position == 0 || position == self.end || self.records.get(index).is_some_and(|r| r.position == position)
    }

    /// The index of the event that starts at `from`, or the end: a position inside a record
    /// or past the end of the log is invalid.
    fn index_at(&self, from: AllFrom) -> Result<usize, InvalidPosition> {
        match from {
            AllFrom::Start => Ok(0),
            AllFrom::End => Ok(self.records.len()),
            AllFrom::Position(position) if self.is_boundary(position) => {
                Ok(self.records.partition_point(|r| r.position < position))
            }
            AllFrom::Position(_) => Err(InvalidPosition),
        }
    }

    fn collect(&self, indexes: impl Iterator<Item = usize>, max: u64) -> Vec<Arc<Record>> {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        indexes.take(max).map(|i| self.records[i].clone()).collect()
    }
}

/// The log shared by every connection, and the signal live subscriptions wait on.
#[derive(Debug)]
pub struct SharedLog {
    log: Mutex<Log>,
    /// The number of events in the log, changed after every write.
    len: watch::Sender<usize>,
}

impl SharedLog {
    pub fn new() -> Self {
        let log = Log::new();
        let (len, _) = watch::channel(log.len());
        SharedLog { log: Mutex::new(log), len }
    }

    /// Runs `read` on the log as it is now.
    pub fn read<R>(&self, read: impl FnOnce(&Log) -> R) -> R {
        read(&self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// [`Log::append`], then wakes the live subscriptions.
    pub fn append(&self, stream: &str, expected: Expected, events: Vec<Proposed>) -> AppendOutcome {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = log.append(stream, expected, events);
        // Under the lock, so that the length seen never goes back.
        self.len.send_replace(log.len());
        outcome
    }

    /// A receiver that sees the log grow.
    pub fn watch(&self) -> watch::Receiver<usize> {
        self.len.subscribe()
    }
}

fn ticks_since_epoch() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos() / 100).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: Uuid) -> Proposed {
        Proposed {
            id,
            event_type: "Tested".into(),
            is_json: false,
            data: Bytes::from_static(b"data"),
            custom_metadata: Bytes::new(),
        }
    }

    #[test]
    fn a_fresh_log_shows_an_empty_all_whose_first_event_is_not_at_zero() {
        let mut log = Log::new();
        assert!(log.read_all_forwards(AllFrom::Start, u64::MAX).unwrap().is_empty());
        assert_eq!(log.len(), 1, "the hidden $epoch-information event");
        log.append("s", Expected::Any, vec![event(Uuid::new_v4())]);
        let all = log.read_all_forwards(AllFrom::Start, u64::MAX).unwrap();
        assert_eq!(all.len(), 1);
        assert!(all[0].position > EPOCH_RECORD_SIZE);
    }

    #[test]
    fn an_exact_revision_behind_the_end_with_the_same_ids_is_idempotent() {
        let mut log = Log::new();
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let first = log.append("s", Expected::NoStream, vec![event(a), event(b)]);
        log.append("s", Expected::Exact(1), vec![event(c)]);
        assert_eq!(log.append("s", Expected::NoStream, vec![event(a), event(b)]), first);
        assert_eq!(
            log.append("s", Expected::NoStream, vec![event(a), event(c)]),
            AppendOutcome::WrongExpectedVersion { current: Some(2) }
        );
        // Past the stream's end: not all of them were written.
        assert_eq!(
            log.append("s", Expected::Exact(1), vec![event(c), event(a)]),
            AppendOutcome::WrongExpectedVersion { current: Some(2) }
        );
        assert_eq!(log.last_revision("s"), Some(2));
    }

    #[test]
    fn positions_inside_a_record_are_invalid() {
        let mut log = Log::new();
        log.append("s", Expected::Any, vec![event(Uuid::new_v4())]);
        let all = log.read_all_forwards(AllFrom::Start, 10).unwrap();
        let inside = all[0].position + 1;
        assert!(log.read_all_forwards(AllFrom::Position(inside), 10).is_err());
        assert!(log.read_all_forwards(AllFrom::Position(log.end()), 10).unwrap().is_empty());
    }
}
