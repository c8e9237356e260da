//! Reading: events come from KurrentDB, their chibo positions from the follower's index.
//!
//! A reader sees an event once this server's follower has indexed it (that is what
//! `committed()` reports), so reads, receipts and subscriptions agree on every position: a
//! stream read stops at the first event not indexed yet, and `read_all` reads no further than
//! the index.

use chibo_domain::StreamName;
use chibo_store::{ReadError, StoredEvent};
use eventstore::RecordedEvent;

use crate::{
    follower::{Index, Lookup},
    layout::{self, Recorded},
    EsdbStore,
};

impl EsdbStore {
    /// [`chibo_store::EventStore::read_stream`].
    pub(crate) async fn read_stream_events(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<StoredEvent>, ReadError> {
        let kurrent_stream = self.namespace.stream(stream);
        let events = self
            .kurrent
            .read_stream(&kurrent_stream, from_revision, max_count)
            .await
            .map_err(|e| ReadError::Unavailable(format!("reading {stream}: {e}")))?;
        let index = self.follower.index();
        let mut stored = Vec::with_capacity(events.len());
        for event in &events {
            let position = match chibo_position(&index, event) {
                Some(Ok(position)) => position,
                Some(Err(reason)) => return Err(ReadError::Unavailable(reason)),
                None => break, // not indexed yet: not committed as this server knows the log
            };
            stored.push(self.stored_event(position, event)?);
        }
        Ok(stored)
    }

    /// [`chibo_store::EventStore::read_all`].
    pub(crate) async fn read_all_events(
        &self,
        after: Option<u64>,
        max_count: usize,
    ) -> Result<Vec<StoredEvent>, ReadError> {
        let (start, from, wanted) = {
            let index = self.follower.index();
            let Some(tip) = index.tip() else { return Ok(Vec::new()) };
            let start = match after {
                None => 0,
                Some(after) if after < tip => after + 1,
                Some(_) => return Ok(Vec::new()),
            };
            let wanted = usize::try_from(tip - start + 1).unwrap_or(usize::MAX).min(max_count);
            match index.all_position(start) {
                Some(from) => (start, from, wanted),
                None => return Ok(Vec::new()),
            }
        };
        if wanted == 0 {
            return Ok(Vec::new());
        }
        let events = self
            .kurrent
            .read_all(&self.namespace, from, wanted)
            .await
            .map_err(|e| ReadError::Unavailable(format!("reading $all: {e}")))?;
        let index = self.follower.index();
        let mut stored = Vec::with_capacity(events.len());
        for (event, position) in events.iter().zip(start..) {
            if index.all_position(position) != Some(event.position) {
                return Err(ReadError::Unavailable(format!(
                    "$all has {} revision {} at {}, where this server's follower of $all found the event at \
                     position {position}: the log changed under it (was one of its streams deleted, truncated or \
                     scavenged?)",
                    event.stream_id, event.revision, event.position
                )));
            }
            stored.push(self.stored_event(position, event)?);
        }
        if stored.len() < wanted {
            return Err(ReadError::Unavailable(format!(
                "$all ended before position {}, which this server's follower of $all has indexed: the log changed \
                 under it (was one of its streams deleted, truncated or scavenged?)",
                start + stored.len() as u64
            )));
        }
        Ok(stored)
    }

    /// The event at chibo position `position`, if it is indexed.
    pub(crate) async fn read_at(&self, position: u64) -> Result<Option<StoredEvent>, ReadError> {
        Ok(self.read_all_events(position.checked_sub(1), 1).await?.pop())
    }

    fn stored_event(&self, position: u64, event: &RecordedEvent) -> Result<StoredEvent, ReadError> {
        layout::stored_event(
            &self.namespace,
            Recorded {
                position,
                kurrent_stream: &event.stream_id,
                revision: event.revision,
                data: &event.data,
                metadata: &event.custom_metadata,
            },
        )
        .map_err(|reason| ReadError::Corrupt { position, reason })
    }
}

/// The chibo position of an event read from its stream: by its `$all` position, or else by its
/// id (should a stream read report positions differently from `$all`). `None`: not indexed yet.
fn chibo_position(index: &Index, event: &RecordedEvent) -> Option<Result<u64, String>> {
    let lookup = index.lookup(event.position);
    if let Lookup::At(position) = lookup {
        return Some(Ok(position));
    }
    if let Some(position) = index.position_of(&layout::event_id(&event.id)) {
        return Some(Ok(position));
    }
    match lookup {
        Lookup::NotYet | Lookup::At(_) => None,
        Lookup::Absent => Some(Err(format!(
            "{} revision {} is at {} in $all, where this server's follower of $all found no event of the log",
            event.stream_id, event.revision, event.position
        ))),
    }
}
