//! The `EventStore` contract suite, written once and run against every backend.
//!
//! A backend's tests call [`contract_tests!`] with an async function that opens a fresh, empty
//! store; the macro expands to one `#[tokio::test]` per clause of the contract, so each runs in
//! parallel and fails on its own:
//!
//! ```text
//! async fn fresh() -> MyFixture { ... }          // MyFixture: chibo_store_contract::Fixture
//! chibo_store_contract::contract_tests!(fresh);
//! ```
#![deny(missing_docs)]

use std::sync::Arc;

use chibo_store::EventStore;

pub mod clauses;
mod events;

pub use events::{event_id, new_event};

/// A fresh store and whatever keeps it alive (a temporary directory, a test server).
pub trait Fixture: Send + 'static {
    /// The store under test.
    fn store(&self) -> Arc<dyn EventStore>;
}

/// Calls the macro `$callback` with `$prefix` followed by the name of every clause of the
/// contract, comma-separated: the one list of clauses, for [`contract_tests!`] and for a suite
/// that runs the clauses its own way (on a real server only when one is named, say).
#[macro_export]
macro_rules! with_clauses {
    ($callback:path; $($prefix:tt)*) => {
        $callback!($($prefix)*
            appended_events_read_back_byte_identical,
            read_stream_pages_by_revision,
            read_all_is_exclusive_and_gapless,
            read_all_into_sees_what_read_all_reads,
            expected_revision_is_enforced,
            concurrent_exact_appends_have_one_winner_per_revision,
            resubmission_returns_the_original_receipt,
            event_ids_are_not_reused,
            bad_batches_are_refused,
            appended_chains_verify,
            record_times_never_go_back,
            subscription_is_exclusive_of_its_start,
            subscriber_sees_a_concurrent_load_exactly_once_in_order,
            pages_follow_the_log_like_a_subscription,
            a_lease_has_one_holder_at_a_time
        );
    };
}

/// Expands to one test per clause of the contract, each on a store from `$fresh().await`.
#[macro_export]
macro_rules! contract_tests {
    ($fresh:path) => {
        $crate::with_clauses!($crate::contract_tests; @each $fresh;);
    };
    (@each $fresh:path; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                let fixture = $fresh().await;
                $crate::clauses::$clause($crate::Fixture::store(&fixture)).await;
            }
        )*
    };
}
