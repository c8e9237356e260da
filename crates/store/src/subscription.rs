//! A catch-up subscription built from `read_all` and the committed-position watch.
//!
//! It always reads from the store by position, from the last position it delivered, and waits
//! on the watch only when it has read everything: so the switch from catching up to live cannot
//! skip or repeat an event, whatever commits while it runs.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use crate::{EventStore, ReadError, StoredEvent};

/// How many events a subscription reads from the store at a time.
const PAGE: usize = 512;

/// Every event after `after` (exclusive), then every event committed later, in order.
pub fn catch_up<S: EventStore + ?Sized>(
    store: Arc<S>,
    after: Option<u64>,
) -> BoxStream<'static, Result<StoredEvent, ReadError>> {
    let committed = store.committed();
    let state = (store, committed, after, Vec::<StoredEvent>::new().into_iter(), false);
    stream::unfold(state, |(store, mut committed, mut last, mut page, failed)| async move {
        if failed {
            return None;
        }
        loop {
            if let Some(event) = page.next() {
                let expected = last.map_or(0, |p| p + 1);
                if event.position != expected {
                    let err = ReadError::Corrupt {
                        position: event.position,
                        reason: format!("the global order skips from {expected} to {}", event.position),
                    };
                    return Some((Err(err), (store, committed, last, page, true)));
                }
                last = Some(event.position);
                return Some((Ok(event), (store, committed, last, page, false)));
            }
            // Mark the watch as seen before reading, so a commit that lands during the read
            // wakes the wait below instead of being missed.
            committed.borrow_and_update();
            match store.read_all(last, PAGE).await {
                Err(e) => return Some((Err(e), (store, committed, last, page, true))),
                Ok(events) if !events.is_empty() => page = events.into_iter(),
                Ok(_) => {
                    if committed.changed().await.is_err() {
                        return None; // the store closed
                    }
                }
            }
        }
    })
    .boxed()
}
