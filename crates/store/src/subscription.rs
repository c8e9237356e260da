//! The catch-up subscription: pages of the global order read with `read_all_into`, and the
//! committed-position watch.
//!
//! It always reads from the store by position, from the last position it delivered, and waits
//! on the watch only when it has read everything committed when its last read began: so the
//! switch from catching up to live cannot skip or repeat an event, whatever commits while it
//! runs, and a commit costs each live subscriber one read, not a second one that finds nothing.
//! [`Pages`] is that reading, into a [`PageSink`]; [`catch_up`] is it with each event copied.

use std::any::Any;
use std::sync::Arc;

use futures::future;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;

use crate::{EventStore, PageSink, RawEvent, ReadError, StoredEvent};

/// How many events a subscription reads from the store at a time.
const PAGE: usize = 512;

/// A page of events copied out of the store, up to the first one that is not a stored event's
/// shape.
#[derive(Default)]
struct Copies {
    events: Vec<StoredEvent>,
    malformed: Option<ReadError>,
}

impl PageSink for Copies {
    fn event(&mut self, event: RawEvent<'_>) {
        if self.malformed.is_none() {
            match StoredEvent::try_from(event) {
                Ok(event) => self.events.push(event),
                Err(e) => self.malformed = Some(e),
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// Every event after `after` (exclusive), then every event committed later, in order. The
/// stream ends after an error, or once the store has closed.
pub fn catch_up<S: EventStore + ?Sized>(
    store: Arc<S>,
    after: Option<u64>,
) -> BoxStream<'static, Result<StoredEvent, ReadError>> {
    let events = Pages::new(store, after).into_stream(PAGE, Copies::default).flat_map(|page| {
        let (events, failed) = match page {
            Ok(Copies { events, malformed }) => (events, malformed),
            Err(e) => (Vec::new(), Some(e)),
        };
        stream::iter(events.into_iter().map(Ok).chain(failed.map(Err)))
    });
    // Nothing after an error: the events read after it would not follow the last one given.
    let mut failed = false;
    events
        .take_while(move |event| {
            let go_on = !failed;
            failed = event.is_err();
            future::ready(go_on)
        })
        .boxed()
}

/// The subscription read a page at a time into a [`PageSink`]
/// ([`EventStore::read_all_into`]): for a follower that takes from each event only what it
/// keeps, where the store holds its bytes, instead of a copy of the whole event.
pub struct Pages<S: ?Sized = dyn EventStore> {
    store: Arc<S>,
    committed: watch::Receiver<Option<u64>>,
    /// The position the next event read must have.
    next: u64,
    /// Whether the next read must wait for a commit first.
    wait: bool,
}

/// A sink that hands on the events that follow one another from `next` on, and notes the
/// first one out of place.
struct InOrder<K> {
    sink: K,
    next: u64,
    skipped: Option<u64>,
}

impl<K: PageSink> PageSink for InOrder<K> {
    fn event(&mut self, event: RawEvent<'_>) {
        if self.skipped.is_some() {
            return;
        }
        if event.position == self.next {
            self.sink.event(event);
            self.next += 1;
        } else {
            self.skipped = Some(event.position);
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl<S: EventStore + ?Sized> Pages<S> {
    /// Every event after `after` (exclusive), then every event committed later.
    pub fn new(store: Arc<S>, after: Option<u64>) -> Self {
        let committed = store.committed();
        Self { store, committed, next: after.map_or(0, |p| p + 1), wait: false }
    }

    /// Hands the next events, at least one and at most `max`, to `sink`, and gives it back,
    /// waiting for them to be committed: it waits for the next commit only once it has read
    /// every event committed when its last read began. `None` once the
    /// store has closed. An event out of place (a gap in the global order) is an error once
    /// the events before it have been handed over; so is a failed read. After an error, a next
    /// call reads from the same event again.
    ///
    /// Dropping the future before it is ready loses nothing but the work done: the next call
    /// reads the same events again. To wait for pages among other things, take them from
    /// [`Pages::into_stream`], which keeps a read under way from one wait to the next.
    pub async fn next_into<K: PageSink>(&mut self, max: usize, mut sink: K) -> Option<Result<K, ReadError>> {
        loop {
            if self.wait {
                self.committed.changed().await.ok()?;
                self.wait = false;
            }
            // Marked as seen before the read, so that a commit landing during the read wakes
            // the wait above instead of being missed.
            let seen = *self.committed.borrow_and_update();
            let first = self.next;
            let ordered = Box::new(InOrder { sink, next: first, skipped: None });
            let read = match self.store.read_all_into(first.checked_sub(1), max.max(1), ordered).await {
                Ok(read) => read,
                Err(e) => return Some(Err(e)),
            };
            let Ok(read) = read.into_any().downcast::<InOrder<K>>() else {
                let reason = "the store's read gave back another sink than it was given";
                return Some(Err(ReadError::Unavailable(reason.into())));
            };
            let InOrder { sink: read_into, next, skipped } = *read;
            match skipped {
                // The events before the gap first; the next call finds the gap at once.
                Some(_) if next > first => {
                    self.next = next;
                    return Some(Ok(read_into));
                }
                Some(position) => {
                    let reason = format!("the global order skips from {next} to {position}");
                    return Some(Err(ReadError::Corrupt { position, reason }));
                }
                None => self.next = next,
            }
            // Nothing more can be read before the next commit once the events read reach what
            // was committed when the read began, or there were none: then wait, rather than
            // read again only to find nothing.
            self.wait = next == first || next.checked_sub(1) >= seen;
            if next > first {
                return Some(Ok(read_into));
            }
            sink = read_into;
        }
    }

    /// The pages [`Pages::next_into`] reads, each into a sink from `sink`, as a stream, which
    /// ends after an error or once the store has closed.
    pub fn into_stream<K: PageSink>(
        self,
        max: usize,
        sink: impl FnMut() -> K + Send + 'static,
    ) -> BoxStream<'static, Result<K, ReadError>> {
        stream::unfold((self, sink, false), move |(mut pages, mut sink, failed)| async move {
            if failed {
                return None;
            }
            let read = pages.next_into(max, sink()).await?;
            let failed = read.is_err();
            Some((read, (pages, sink, failed)))
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use chibo_domain::StreamName;

    use super::*;
    use crate::{AppendError, ExpectedRevision, Lease, NewEvent, Receipt};

    /// A store whose log skips position 2: what a damaged store reads back.
    struct Skipping {
        events: Vec<StoredEvent>,
        committed: watch::Sender<Option<u64>>,
    }

    impl Skipping {
        fn new() -> Arc<Self> {
            let event = |position| StoredEvent {
                position,
                stream: "cell-a".into(),
                revision: position,
                envelope: vec![1],
                payload: vec![2],
                salt: [3; 16],
                hash: [4; 32],
            };
            let events = [0, 1, 3, 4].map(event).to_vec();
            Arc::new(Self { events, committed: watch::Sender::new(Some(4)) })
        }
    }

    #[async_trait]
    impl EventStore for Skipping {
        async fn append(
            &self,
            _: &StreamName,
            _: ExpectedRevision,
            _: Vec<NewEvent>,
        ) -> Result<Vec<Receipt>, AppendError> {
            Err(AppendError::Unavailable("read only".into()))
        }
        async fn read_stream(&self, _: &StreamName, _: u64, _: usize) -> Result<Vec<StoredEvent>, ReadError> {
            Ok(Vec::new())
        }
        async fn read_all(&self, after: Option<u64>, max_count: usize) -> Result<Vec<StoredEvent>, ReadError> {
            let later = self.events.iter().filter(|e| after.is_none_or(|a| e.position > a));
            Ok(later.take(max_count).cloned().collect())
        }
        fn committed(&self) -> watch::Receiver<Option<u64>> {
            self.committed.subscribe()
        }
        async fn lease(&self, _: &str, holder: &str, _: std::time::Duration) -> Result<Lease, ReadError> {
            Ok(Lease::HeldBy { holder: holder.into() })
        }
    }

    #[tokio::test]
    async fn a_gap_in_the_global_order_is_an_error_and_ends_the_subscription() {
        let store = Skipping::new();
        let read: Vec<_> = catch_up(store.clone(), None).collect().await;
        let positions: Vec<_> = read.iter().map(|e| e.as_ref().map(|e| e.position)).collect();
        assert_eq!(positions.len(), 3, "{read:?}");
        assert_eq!(positions[..2], [Ok(0), Ok(1)]);
        assert!(
            matches!(&read[2], Err(ReadError::Corrupt { position: 3, reason }) if reason.contains("skips from 2 to 3")),
            "{read:?}"
        );

        // Read a page at a time, the events before the gap come first; then the gap is an
        // error, and the next call reads from the same place again.
        let mut pages = Pages::new(store, None);
        let first = pages.next_into(10, Copies::default()).await.unwrap().unwrap();
        assert_eq!(first.events.iter().map(|e| e.position).collect::<Vec<_>>(), [0, 1]);
        for _ in 0..2 {
            let again = pages.next_into(10, Copies::default()).await.unwrap();
            assert!(matches!(again, Err(ReadError::Corrupt { position: 3, .. })));
        }
    }
}
