//! Leases among the servers sharing a log ([`chibo_store::Lease`]), kept in KurrentDB.
//!
//! The lease called `L` of the log `N` is the stream `N:L` (outside the log: no log's stream
//! has a `:` before its `/`). Each event of it is a claim, `{"holder": …, "ttl_ms": …}`, of type
//! `chibo-lease`, appended at the exact revision of the claim before it, so that of two servers
//! claiming at once one wins. A holder renews by claiming again; another server takes over only
//! after it has seen the same last claim for that claim's whole time-to-live (and a margin), on
//! its own monotonic clock. The stream keeps its last few claims only (`$maxCount`): it is not
//! part of the log, and grows by one claim every few seconds.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use chibo_store::{Lease, ReadError};
use eventstore::{EventData, ExpectedRevision};

use crate::EsdbStore;

/// The event type of a claim.
const CLAIM_TYPE: &str = "chibo-lease";

/// How many claims the lease stream keeps.
const KEPT_CLAIMS: u64 = 16;

/// What a claim says.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claim {
    holder: String,
    ttl_ms: u64,
}

/// The last claim seen of each lease, and since when (this process's clock).
#[derive(Debug, Default)]
pub struct Leases {
    seen: Mutex<HashMap<String, (u64, Instant)>>,
}

impl Leases {
    /// Since when the claim at `revision` of lease `name` has been its last, as far as this
    /// process knows.
    fn seen_since(&self, name: &str, revision: u64) -> Instant {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match seen.get(name) {
            Some(&(seen_revision, since)) if seen_revision == revision => since,
            _ => {
                let now = Instant::now();
                seen.insert(name.to_owned(), (revision, now));
                now
            }
        }
    }
}

/// Clocks of two machines do not run at exactly one rate: a taker waits this much longer than
/// the holder's time-to-live (an eighth of it, and at least this floor).
fn margin(ttl: Duration) -> Duration {
    (ttl / 8).max(Duration::from_millis(50))
}

fn unavailable(e: impl std::fmt::Display) -> ReadError {
    ReadError::Unavailable(e.to_string())
}

impl EsdbStore {
    /// The stream of lease `name`.
    fn lease_stream(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace.name())
    }

    pub(crate) async fn take_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<Lease, ReadError> {
        let stream = self.lease_stream(name);
        let head = self.kurrent.head(&stream).await.map_err(unavailable)?;
        let expected = match &head {
            None => ExpectedRevision::NoStream,
            Some(event) => ExpectedRevision::Exact(event.revision),
        };
        if let Some(event) = &head {
            // A claim that cannot be read is taken for one by nobody known, for our own ttl.
            let claim = serde_json::from_slice::<Claim>(&event.data).unwrap_or_else(|_| Claim {
                holder: format!("an unreadable claim at {stream} revision {}", event.revision),
                ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            });
            if claim.holder != holder {
                let claimed_for = Duration::from_millis(claim.ttl_ms);
                let since = self.leases.seen_since(name, event.revision);
                if since.elapsed() < claimed_for + margin(claimed_for) {
                    return Ok(Lease::HeldBy { holder: claim.holder });
                }
            }
        }
        let claim = Claim { holder: holder.to_owned(), ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX) };
        let data = EventData::json(CLAIM_TYPE, &claim).map_err(unavailable)?;
        // The lease runs from before the claim is sent: whoever sees it, sees it later.
        let asked = Instant::now();
        match self.kurrent.append(&stream, expected, vec![data]).await {
            Ok(_) => {
                if head.is_none() {
                    self.keep_few_claims(&stream).await;
                }
                Ok(Lease::Held { until: asked + ttl })
            }
            Err(e) if e.is_wrong_expected_version() => {
                // Renewed or taken by another server in between: it holds it.
                let head = self.kurrent.head(&stream).await.map_err(unavailable)?;
                let holder = head
                    .and_then(|event| serde_json::from_slice::<Claim>(&event.data).ok())
                    .map_or_else(|| "another server".to_owned(), |claim| claim.holder);
                Ok(Lease::HeldBy { holder })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Sets the lease stream's `$maxCount`, once, when it is created; a failure is only logged
    /// (the stream then keeps every claim).
    async fn keep_few_claims(&self, stream: &str) {
        if let Err(e) = self.kurrent.keep_last(stream, KEPT_CLAIMS).await {
            tracing::warn!(error = %e, "cannot limit the lease stream's length");
        }
    }
}
