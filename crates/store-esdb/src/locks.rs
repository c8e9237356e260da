//! What one server's appends wait for among themselves.
//!
//! KurrentDB decides between servers (every append names the exact revision it sealed against).
//! Inside one server, appends to one stream take turns, so that they queue instead of failing
//! against each other and retrying; and an event id is in at most one append at a time, so that
//! two appends carrying it cannot both find it unrecorded and both write it (KurrentDB keeps
//! event ids unique per stream only).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError, Weak},
};

use chibo_domain::EventId;
use tokio::sync::{Notify, OwnedMutexGuard};

/// One lock per stream, made when first needed and forgotten when nobody holds or waits for it.
#[derive(Default)]
pub struct StreamLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

/// How many streams' locks are kept before the unused ones are swept.
const SWEEP_AT: usize = 1024;

impl StreamLocks {
    /// Waits for `stream`'s turn.
    pub async fn lock(&self, stream: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            if locks.len() >= SWEEP_AT {
                locks.retain(|_, lock| lock.strong_count() > 0);
            }
            match locks.get(stream).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(stream.to_owned(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

/// The event ids of the appends in progress.
#[derive(Default)]
pub struct IdsInFlight {
    ids: Mutex<HashSet<EventId>>,
    released: Notify,
}

impl IdsInFlight {
    /// Waits until none of `ids` is in another append, then holds them until the guard drops.
    pub async fn hold(&self, ids: &[EventId]) -> HeldIds<'_> {
        loop {
            // Registered before the check, so a release between the two is not missed.
            let released = self.released.notified();
            {
                let mut held = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
                if !ids.iter().any(|id| held.contains(id)) {
                    held.extend(ids.iter().copied());
                    return HeldIds { in_flight: self, ids: ids.to_vec() };
                }
            }
            released.await;
        }
    }
}

/// Event ids held by one append.
pub struct HeldIds<'a> {
    in_flight: &'a IdsInFlight,
    ids: Vec<EventId>,
}

impl Drop for HeldIds<'_> {
    fn drop(&mut self) {
        let mut held = self.in_flight.ids.lock().unwrap_or_else(PoisonError::into_inner);
        for id in &self.ids {
            held.remove(id);
        }
        drop(held);
        self.in_flight.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id(n: u8) -> EventId {
        EventId::from_bytes([n; 16])
    }

    #[tokio::test]
    async fn an_id_is_in_one_append_at_a_time() {
        let in_flight = Arc::new(IdsInFlight::default());
        let first = in_flight.hold(&[id(1), id(2)]).await;
        let _other = in_flight.hold(&[id(3)]).await;
        let second = {
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                let _held = in_flight.hold(&[id(2), id(4)]).await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!second.is_finished(), "id 2 is held");
        drop(first);
        tokio::time::timeout(Duration::from_secs(10), second).await.unwrap().unwrap();
        assert_eq!(in_flight.ids.lock().unwrap().len(), 1, "only id 3 is still held");
    }

    #[tokio::test]
    async fn one_stream_s_appends_take_turns_and_unused_locks_are_forgotten() {
        let locks = Arc::new(StreamLocks::default());
        let a = locks.lock("a").await;
        let _b = locks.lock("b").await;
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _a = locks.lock("a").await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(a);
        tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap();
        for i in 0..SWEEP_AT {
            drop(locks.lock(&i.to_string()).await);
        }
        let kept = locks.locks.lock().unwrap().len();
        assert!(kept < 10, "swept down to the held lock and the few made since: {kept}");
        assert!(locks.locks.lock().unwrap().contains_key("b"), "a held lock is kept");
    }
}
