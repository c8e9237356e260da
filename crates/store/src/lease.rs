//! Leases: a role that one server at a time plays among the servers sharing a store, such as
//! signing checkpoints.
//!
//! A lease is held for a time-to-live measured on the holder's own monotonic clock, from just
//! *before* it asked for the lease; whoever would take it over waits a whole time-to-live (and a
//! margin for clock rates) on *its* monotonic clock from when it first saw the holder's last
//! claim, which it can only see after that claim was written. So a holder's lease has run out
//! before anyone else can hold it, and no wall clock is trusted. A lease only keeps a role to
//! one holder *at a time*: whatever the role writes must still be fenced by the store (an
//! append at an exact expected revision), since a holder paused past its time-to-live does not
//! know it.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Who holds a lease, as [`crate::EventStore::lease`] left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The caller holds the lease until `until`, on this process's monotonic clock, unless it
    /// renews it before then.
    Held {
        /// When the lease runs out for the caller.
        until: Instant,
    },
    /// Someone else holds it, or held it too recently to be taken over yet.
    HeldBy {
        /// Who.
        holder: String,
    },
}

impl Lease {
    /// Whether the caller holds the lease at least `margin` longer.
    pub fn is_held_for(&self, margin: Duration) -> bool {
        matches!(self, Self::Held { until } if Instant::now() + margin < *until)
    }
}

/// The leases of a store that only one process can open (the embedded store): they are kept in
/// memory, since every server that could hold one is in this process.
#[derive(Debug, Default)]
pub struct LocalLeases {
    held: Mutex<HashMap<String, (String, Instant)>>,
}

impl LocalLeases {
    /// Takes or renews `name` for `holder` for `ttl`, unless another holder's lease is running.
    pub fn lease(&self, name: &str, holder: &str, ttl: Duration) -> Lease {
        let asked = Instant::now();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        match held.get(name) {
            Some((other, until)) if other != holder && asked < *until => Lease::HeldBy { holder: other.clone() },
            _ => {
                let until = asked + ttl;
                held.insert(name.to_owned(), (holder.to_owned(), until));
                Lease::Held { until }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_until_its_lease_runs_out() {
        let leases = LocalLeases::default();
        let ttl = Duration::from_millis(50);
        assert!(leases.lease("signer", "a", ttl).is_held_for(Duration::ZERO));
        assert_eq!(leases.lease("signer", "b", ttl), Lease::HeldBy { holder: "a".into() });
        assert!(leases.lease("other-role", "b", ttl).is_held_for(Duration::ZERO), "leases are per name");
        let Lease::Held { until } = leases.lease("signer", "a", ttl) else { panic!("the holder renews") };
        std::thread::sleep(until.saturating_duration_since(Instant::now()) + Duration::from_millis(1));
        let Lease::Held { until: b_until } = leases.lease("signer", "b", ttl) else { panic!("a's lease ran out") };
        assert!(b_until > until);
        assert_eq!(leases.lease("signer", "a", ttl), Lease::HeldBy { holder: "b".into() });
    }
}
