//! A catch-up subscription built from `read_all` and the committed-position watch.
//!
//! It always reads from the store by position, from the last position it delivered, and waits
//! on the watch only when it has read everything committed when its last read began: so the
//! switch from catching up to live cannot skip or repeat an event, whatever commits while it
//! runs, and a commit costs each live subscriber one read, not a second one that finds nothing.

use std::any::Any;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;

use crate::{EventStore, PageSink, RawEvent, ReadError, StoredEvent};

/// How many events a subscription reads from the store at a time.
const PAGE: usize = 512;

/// Where a subscription is.
struct Reading<S: ?Sized> {
    store: Arc<S>,
    committed: watch::Receiver<Option<u64>>,
    /// The last position delivered.
    last: Option<u64>,
    /// Read, not yet delivered.
    page: std::vec::IntoIter<StoredEvent>,
    /// Whether the next read must wait for a commit first.
    wait: bool,
    failed: bool,
}

/// Every event after `after` (exclusive), then every event committed later, in order.
pub fn catch_up<S: EventStore + ?Sized>(
    store: Arc<S>,
    after: Option<u64>,
) -> BoxStream<'static, Result<StoredEvent, ReadError>> {
    let committed = store.committed();
    let state = Reading { store, committed, last: after, page: Vec::new().into_iter(), wait: false, failed: false };
    stream::unfold(state, |mut r| async move {
        if r.failed {
            return None;
        }
        loop {
            if let Some(event) = r.page.next() {
                let expected = r.last.map_or(0, |p| p + 1);
                if event.position != expected {
                    let err = ReadError::Corrupt {
                        position: event.position,
                        reason: format!("the global order skips from {expected} to {}", event.position),
                    };
                    r.failed = true;
                    return Some((Err(err), r));
                }
                r.last = Some(event.position);
                return Some((Ok(event), r));
            }
            if r.wait && r.committed.changed().await.is_err() {
                return None; // the store closed
            }
            // Mark the watch as seen before reading, so a commit that lands during the read
            // wakes the wait above instead of being missed.
            let seen = *r.committed.borrow_and_update();
            match r.store.read_all(r.last, PAGE).await {
                Err(e) => {
                    r.failed = true;
                    return Some((Err(e), r));
                }
                Ok(events) => {
                    // Nothing more can be read before the next commit once the events read
                    // reach what was committed when the read began, or there were none: then
                    // wait, rather than read again only to find nothing.
                    r.wait = events.last().is_none_or(|e| Some(e.position) >= seen);
                    r.page = events.into_iter();
                }
            }
        }
    })
    .boxed()
}

/// The same subscription, read a page at a time into a [`PageSink`]
/// ([`EventStore::read_all_into`]): for a follower that takes from each event only what it
/// keeps, where the store holds its bytes, instead of a copy of the whole event. It reads and
/// waits as [`catch_up`] does.
pub struct Pages {
    store: Arc<dyn EventStore>,
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

impl Pages {
    /// Every event after `after` (exclusive), then every event committed later.
    pub fn new(store: Arc<dyn EventStore>, after: Option<u64>) -> Self {
        let committed = store.committed();
        Self { store, committed, next: after.map_or(0, |p| p + 1), wait: false }
    }

    /// Hands the next events, at least one and at most `max`, to `sink`, and gives it back,
    /// waiting for them to be committed: as [`catch_up`] does, it waits for the next commit
    /// only once it has read every event committed when its last read began. `None` once the
    /// store has closed. An event out of place (a gap in the global order) is an error, as is a
    /// failed read; the sink is dropped, and a next call reads from the same event again.
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
            // Marked as seen before the read, as `catch_up` does.
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
            if let Some(position) = skipped {
                let reason = format!("the global order skips from {next} to {position}");
                return Some(Err(ReadError::Corrupt { position, reason }));
            }
            self.next = next;
            // As in `catch_up`: nothing read, or everything committed when the read began.
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
