//! Appending: seal against the stream's head as KurrentDB has it, append expecting exactly that
//! head, and hand out receipts once the follower of `$all` has given the events their positions.
//!
//! One attempt:
//!
//! 1. The stream's head (last revision and hash, what the new events chain from): the one this
//!    store's own last append to it left, or else read from KurrentDB, and then waited for until
//!    the follower has indexed it. Either way the index now holds the stream up to that head.
//! 2. Idempotency, before the expected revision: the first event's id recorded in this stream,
//!    with this batch exactly as recorded, returns the original receipts; an id recorded for
//!    anything else is a conflict.
//! 3. The caller's expected revision, against that head (a remembered head that does not admit
//!    it is forgotten, and the attempt starts over with one read from KurrentDB).
//! 4. Seal each event (revision, previous hash, record time) and append to KurrentDB with the
//!    exact revision of that head (or no stream). KurrentDB's check is the one that counts
//!    between servers: if another append got in first, it refuses, and the attempt starts over
//!    from 1 with the new head, so that a stream appended to from several servers stays one
//!    chain. (Under `Exact` or `NoStream`, starting over ends in step 3's refusal, or in step
//!    2's original receipts if it was this very batch that got in.)
//! 5. Once KurrentDB acknowledged, wait for the follower to index the events, and answer with
//!    their positions. If what the follower indexed under these ids is not what this attempt
//!    sealed, KurrentDB had taken the append for a retry of one already written (the same ids
//!    at the same place) and wrote nothing: start over, and step 2 answers.
//!
//! So a retry is recognised wherever its original went: an original this store acknowledged
//! was indexed before its receipt left; one in this stream at or before the head is indexed by
//! step 1; one after it makes KurrentDB refuse or deduplicate step 4. What step 2 can miss is an
//! id reused in *another* stream through another server in the moment before this server's
//! follower reads it; then both are recorded, and the log names the first.

use std::time::{SystemTime, UNIX_EPOCH};

use chibo_domain::{EventId, StreamName, Timestamp};
use chibo_integrity::{genesis, Envelope, Hash};
use chibo_store::{AppendError, ExpectedRevision, NewEvent, ReadError, Receipt, StoredEvent, MAX_EVENTS_PER_APPEND};

use crate::{layout, EsdbStore};

/// How many times an append starts over because its stream moved before it gave up.
const MAX_ATTEMPTS: u32 = 32;

/// The last event of a stream, as the next one chains from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    revision: u64,
    hash: Hash,
    recorded_at: Timestamp,
    /// Its `$all` position, when read from KurrentDB.
    all_position: Option<eventstore::Position>,
}

/// The heads this store's own appends left, so that the next append to a stream need not read
/// it first. Only a guess: KurrentDB refuses an append sealed against a head that is no longer
/// the stream's, and then the head is read.
#[derive(Default)]
pub(crate) struct Heads {
    heads: std::sync::Mutex<std::collections::HashMap<String, Head>>,
}

impl Heads {
    fn get(&self, stream: &str) -> Option<Head> {
        self.heads.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(stream).copied()
    }

    fn remember(&self, stream: &str, head: Head) {
        let mut heads = self.heads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = heads.entry(stream.to_owned()).or_insert(head);
        if known.revision < head.revision {
            *known = head;
        }
    }

    fn forget(&self, stream: &str) {
        self.heads.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(stream);
    }
}

impl EsdbStore {
    /// [`chibo_store::EventStore::append`].
    pub(crate) async fn append_events(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<Vec<Receipt>, AppendError> {
        check_batch(&events)?;
        let ids: Vec<EventId> = events.iter().map(|e| e.event_id).collect();
        let _held = self.ids_in_flight.hold(&ids).await;
        let name = stream.to_string();
        let kurrent_stream = self.namespace.stream(stream);

        for _ in 0..MAX_ATTEMPTS {
            // Appends under `Any` take turns per stream rather than fail against each other and
            // start over; the others are refused on a conflict anyway, so they need no turn.
            let turn = match expected {
                ExpectedRevision::Any => Some(self.stream_locks.lock(&kurrent_stream).await),
                ExpectedRevision::NoStream | ExpectedRevision::Exact(_) => None,
            };
            let remembered = self.heads.get(&kurrent_stream);
            let head = match remembered {
                Some(head) => Some(head),
                None => {
                    let head = self.head(&name, &kurrent_stream).await?;
                    if let Some(at) = head.and_then(|h| h.all_position) {
                        self.follower
                            .wait_until_read(at, Some(self.options.follow_timeout))
                            .await
                            .map_err(AppendError::Unavailable)?;
                    }
                    head
                }
            };
            if let Some(receipts) = self.recorded(stream, &events).await? {
                return Ok(receipts);
            }
            let last = head.map(|h| h.revision);
            if !expected.admits(last) {
                if remembered.is_some() {
                    // A remembered head is a guess: refuse only on what KurrentDB says.
                    self.heads.forget(&kurrent_stream);
                    continue;
                }
                return Err(AppendError::WrongExpectedRevision { stream: name, expected, actual: last });
            }

            let recorded_at = self.record_time(head.map(|h| h.recorded_at));
            let first_revision = last.map_or(0, |r| r + 1);
            let mut prev_hash = head.map_or_else(|| genesis(&name), |h| h.hash);
            let mut sealed = Vec::with_capacity(events.len());
            for (event, revision) in events.iter().zip(first_revision..) {
                let s = event.seal(&name, revision, recorded_at, &prev_hash);
                prev_hash = s.hash;
                sealed.push(s);
            }
            let Some(awaited) = self.follower.await_events(&ids) else {
                if let Some(reason) = self.follower.stopped() {
                    return Err(AppendError::Unavailable(reason));
                }
                continue; // indexed since step 1: written by another server; step 2 answers
            };
            let data = events.iter().zip(&sealed).map(|(e, s)| layout::event_data(e, s)).collect();
            let kurrent_expected =
                last.map_or(eventstore::ExpectedRevision::NoStream, eventstore::ExpectedRevision::Exact);
            let started = std::time::Instant::now();
            match self.kurrent.append(&kurrent_stream, kurrent_expected, data).await {
                Ok(_) => {
                    if let Some(observer) = &self.options.observer {
                        observer.committed(1, events.len(), started.elapsed());
                    }
                }
                Err(e) if e.is_wrong_expected_version() => {
                    self.heads.forget(&kurrent_stream);
                    continue;
                }
                Err(e) if e.is_before_sending() => {
                    tracing::debug!(error = %e, "no KurrentDB node to append to; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) if e.is_invalid_argument() => {
                    return Err(AppendError::BadBatch(format!(
                        "KurrentDB refused the batch for {name}: {e} (is it over the cluster's MaxAppendSize?)"
                    )))
                }
                Err(e) => {
                    return Err(AppendError::Unavailable(format!(
                        "appending to {name}: {e}; the events may or may not be recorded: retry with the same event ids"
                    )))
                }
            }
            // KurrentDB has it. The turn is kept until the follower shows that what KurrentDB has
            // is what was sealed here: then the next append to the stream chains from it
            // without reading it.
            self.heads.forget(&kurrent_stream);
            let indexed = awaited.indexed(self.options.follow_timeout).await.map_err(|reason| {
                AppendError::Unavailable(format!(
                    "KurrentDB acknowledged the append to {name}, but {reason}: retry with the same event ids for \
                     the receipts"
                ))
            })?;
            if indexed.iter().zip(&sealed).any(|(i, s)| i.hash != Some(s.hash)) {
                continue; // not ours: KurrentDB deduplicated; step 2 answers
            }
            let revision = first_revision + sealed.len() as u64 - 1;
            self.heads.remember(&kurrent_stream, Head { revision, hash: prev_hash, recorded_at, all_position: None });
            drop(turn);
            return Ok(events
                .iter()
                .zip(sealed)
                .zip(indexed)
                .zip(first_revision..)
                .map(|(((event, sealed), indexed), revision)| Receipt {
                    event_id: event.event_id,
                    stream: name.clone(),
                    revision,
                    position: indexed.position,
                    hash: sealed.hash,
                    recorded_at,
                    duplicate: false,
                })
                .collect());
        }
        Err(AppendError::Unavailable(format!(
            "{name} changed under this append {MAX_ATTEMPTS} times in a row; try again"
        )))
    }

    /// The stream's last event, if any.
    async fn head(&self, name: &str, kurrent_stream: &str) -> Result<Option<Head>, AppendError> {
        let event = self
            .kurrent
            .head(kurrent_stream)
            .await
            .map_err(|e| AppendError::Unavailable(format!("reading the head of {name}: {e}")))?;
        let Some(event) = event else { return Ok(None) };
        let unusable = |reason: String| {
            AppendError::Unavailable(format!(
                "the last event of {name} (revision {}) cannot be chained from: {reason}",
                event.revision
            ))
        };
        let metadata = layout::metadata(&event.custom_metadata).map_err(unusable)?;
        let envelope = Envelope::decode(metadata.envelope).map_err(|e| unusable(e.to_string()))?;
        Ok(Some(Head {
            revision: event.revision,
            hash: metadata.hash,
            recorded_at: envelope.recorded_at,
            all_position: Some(event.position),
        }))
    }

    /// If the batch's first event is recorded in `stream` and the batch is exactly what was
    /// recorded from there on, the original receipts; a conflict if any of its ids is recorded
    /// for anything else; `None` if none is recorded.
    async fn recorded(&self, stream: &StreamName, events: &[NewEvent]) -> Result<Option<Vec<Receipt>>, AppendError> {
        let recorded: Vec<(EventId, u64)> = {
            let index = self.follower.index();
            events.iter().filter_map(|e| index.position_of(&e.event_id).map(|p| (e.event_id, p))).collect()
        };
        let Some(&(id, position)) = recorded.first() else { return Ok(None) };
        let at =
            self.read_at(position).await.map_err(read_failure)?.ok_or_else(|| {
                AppendError::Unavailable(format!("event {id} is indexed at {position}, but not there"))
            })?;
        if id == events[0].event_id && at.stream == stream.to_string() {
            if let Some(receipts) = self.original_receipts(stream, &at, events).await? {
                return Ok(Some(receipts));
            }
        }
        Err(AppendError::EventIdConflict { event_id: id, stream: at.stream, revision: at.revision })
    }

    /// The receipts of `events` if they are what `stream` holds from `first` on.
    async fn original_receipts(
        &self,
        stream: &StreamName,
        first: &StoredEvent,
        events: &[NewEvent],
    ) -> Result<Option<Vec<Receipt>>, AppendError> {
        let rows = self.read_stream_events(stream, first.revision, events.len()).await.map_err(read_failure)?;
        if rows.len() != events.len() {
            return Ok(None);
        }
        let mut receipts = Vec::with_capacity(rows.len());
        for (row, event) in rows.into_iter().zip(events) {
            let Ok(envelope) = Envelope::decode(&row.envelope) else { return Ok(None) };
            let same = event.is_recorded_as(&envelope, &row.payload);
            if !same {
                return Ok(None);
            }
            receipts.push(Receipt {
                event_id: event.event_id,
                stream: row.stream,
                revision: row.revision,
                position: row.position,
                hash: row.hash,
                recorded_at: envelope.recorded_at,
                duplicate: true,
            });
        }
        Ok(Some(receipts))
    }

    /// The record time of the next append: now, but never earlier than the last one this store
    /// assigned, the stream's last, or the latest the follower has seen in the log.
    fn record_time(&self, stream_last: Option<Timestamp>) -> Timestamp {
        let seen = self.follower.index().last_recorded_at();
        let mut last = self.last_recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = now().max(*last).max(stream_last.unwrap_or(*last)).max(seen.unwrap_or(*last));
        *last = at;
        at
    }
}

fn now() -> Timestamp {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_unix_nanos(since.as_nanos() as i128).unwrap_or_else(epoch)
}

/// The earliest record time.
pub(crate) fn epoch() -> Timestamp {
    Timestamp::from_unix_nanos(0).expect("the epoch is in range")
}

fn read_failure(e: ReadError) -> AppendError {
    AppendError::Unavailable(format!("looking up what is recorded: {e}"))
}

/// Refuses an empty, oversized or self-duplicating batch, as every backend does.
fn check_batch(events: &[NewEvent]) -> Result<(), AppendError> {
    if events.is_empty() {
        return Err(AppendError::BadBatch("an append needs at least one event".into()));
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(AppendError::BadBatch(format!(
            "{} events exceeds the limit of {MAX_EVENTS_PER_APPEND} per append",
            events.len()
        )));
    }
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    if let Some(e) = events.iter().find(|e| !ids.insert(e.event_id)) {
        return Err(AppendError::DuplicateInBatch { event_id: e.event_id });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chibo_store_contract::new_event;

    use super::*;

    #[test]
    fn bad_batches_are_named() {
        assert!(matches!(check_batch(&[]), Err(AppendError::BadBatch(m)) if m.contains("at least one")));
        let e = new_event("twice");
        assert_eq!(
            check_batch(&[new_event("ok"), e.clone(), e.clone()]),
            Err(AppendError::DuplicateInBatch { event_id: e.event_id })
        );
        let too_many: Vec<_> = (0..=MAX_EVENTS_PER_APPEND).map(|i| new_event(&i.to_string())).collect();
        assert!(matches!(check_batch(&too_many), Err(AppendError::BadBatch(m)) if m.contains("10001 events")));
        assert_eq!(check_batch(&[new_event("one")]), Ok(()));
    }
}
