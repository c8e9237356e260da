//! A catch-up subscription built from `read_all` and the committed-position watch.
//!
//! It always reads from the store by position, from the last position it delivered, and waits
//! on the watch only when it has read everything committed when its last read began: so the
//! switch from catching up to live cannot skip or repeat an event, whatever commits while it
//! runs, and a commit costs each live subscriber one read, not a second one that finds nothing.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::watch;

use crate::{EventStore, ReadError, StoredEvent};

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
