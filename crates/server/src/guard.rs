//! The rules against current state, between a checked submission and the store (DESIGN.md
//! invariant 4: validated before appended).
//!
//! A submission is checked against the state as of every commit that happened before it was
//! received (the state is first brought up to the store's committed position, so a client reads
//! its own writes), then appended with the stream's revision the check saw as the expected
//! revision. If another append to the same stream landed in between, the store refuses with a
//! wrong expected revision and the check runs again against the newer state; a client that
//! asked for a specific revision gets that refusal instead. So two submissions to one stream
//! are never both checked against the same past.

use std::sync::Arc;
use std::time::Duration;

use chibo_domain::StreamName;
use chibo_projections::access::{authorize, Action};
use chibo_projections::engine::Shared;
use chibo_projections::rules::RuleBook;
use chibo_projections::validate::{check_held, Context, Limits, Rejection, RejectionKind};
use chibo_projections::State;
use chibo_store::{AppendError, EventStore, ExpectedRevision, Receipt};
use tonic::Status;

use crate::auth::Caller;
use crate::submission::{Checked, Fields};

/// How many times a submission is checked again after losing a race for its stream.
const MAX_ATTEMPTS: usize = 16;

/// How long a submission waits for the state to catch up with the log.
const CATCH_UP: Duration = Duration::from_secs(30);

/// What the rules are checked against: the state the log folds into, the rule sets, the limits.
pub struct Domain {
    /// The state, kept up to date by the projection engine.
    pub state: Arc<Shared<State>>,
    /// The rule sets this server knows.
    pub rules: Arc<RuleBook>,
    /// The deployment's limits.
    pub limits: Limits,
}

impl Domain {
    /// Waits until the state covers every event committed so far.
    pub async fn caught_up(&self, store: &dyn EventStore) -> Result<u64, Status> {
        self.caught_up_to(committed(store)).await
    }

    /// Waits until the state covers the first `committed` events of the log.
    async fn caught_up_to(&self, committed: u64) -> Result<u64, Status> {
        self.state.wait_for(committed, CATCH_UP).await.map_err(|failure| match failure {
            Some(e) => Status::internal(format!("the server cannot read its log: {e}")),
            None => Status::unavailable("the server's state is still catching up with the log; retry shortly"),
        })?;
        Ok(committed)
    }

    /// Checks `events` against the state, then appends them to `stream`.
    pub async fn append(
        &self,
        store: &dyn EventStore,
        stream: &StreamName,
        expected: ExpectedRevision,
        fields: Fields,
        events: Vec<Checked>,
        caller: &Caller,
    ) -> Result<Vec<Receipt>, AppendOutcome> {
        let (mut new, mut payloads): (Vec<_>, Vec<_>) = events.into_iter().map(|c| (c.new, Some(c.event))).unzip();
        // The first check needs the state to cover what was committed when the request came:
        // everything its sender can have seen acknowledged. Waiting also for what commits in
        // the meantime would hold every append behind the projection of the group before it,
        // and the writer would idle while the state catches up. An append that then loses a
        // race for its stream catches up with everything before it is checked again.
        let mut covered = committed(store);
        for _ in 0..MAX_ATTEMPTS {
            self.caught_up_to(covered).await.map_err(AppendOutcome::Status)?;
            // Every event is in hand: offered to the engine only once checked, and taken back
            // from it before a new attempt.
            if payloads.iter().any(Option::is_none) {
                return Err(AppendOutcome::Status(lost_race(stream)));
            }
            let (at, retry) = {
                let mut state = self.state.write();
                // The caller's credential and rights, against the log as it stands for this very
                // append: a credential revoked since the call was authenticated writes nothing.
                if state.index().credential(&caller.digest).is_none() {
                    return Err(AppendOutcome::Status(Status::unauthenticated(
                        "authorization: the credential was revoked",
                    )));
                }
                for event in payloads.iter().flatten() {
                    authorize(&state, &caller.principal, Action::Append { stream, event })
                        .map_err(|denied| AppendOutcome::Status(Status::permission_denied(denied.0)))?;
                }
                let book = state.stream(stream);
                let head = book.map(|s| s.next_revision).unwrap_or(0);
                let retry = book.is_some_and(|s| s.holds(&new[0].event_id));
                if retry {
                    // The store answers a retry with the original receipts, or refuses a
                    // different submission under a recorded id.
                    (expected, retry)
                } else {
                    let today = crate::submission::now().date_in_vietnam();
                    let cx = Context { rules: &self.rules, limits: &self.limits, today };
                    let heads: Vec<_> = new.iter().map(|n| (n.event_id, n.occurred_at)).collect();
                    check_held(&mut state, &cx, stream, &heads, &mut payloads)
                        .map_err(|(i, rejection)| AppendOutcome::Status(refusal(fields, i, rejection)))?;
                    let at = match expected {
                        ExpectedRevision::Any if head == 0 => ExpectedRevision::NoStream,
                        ExpectedRevision::Any => ExpectedRevision::Exact(head - 1),
                        asked => asked,
                    };
                    (at, retry)
                }
            };
            // The events as this append decoded them, offered before the store can commit them,
            // so that the engine need not decode them again from the log (see `Handoff`). A
            // retry's events are in the log already, as the originals.
            let handoff = self.state.handoff();
            if !retry {
                handoff.offer(new.iter().zip(&mut payloads).map(|(n, event)| (n.event_id, n.payload_digest, event)));
            }
            // Only an append that may be retried keeps a copy of its events: references to
            // their texts and payloads, which `NewEvent` shares.
            let batch = if expected == ExpectedRevision::Any { new.clone() } else { std::mem::take(&mut new) };
            let appended = store.append(stream, at, batch).await;
            match appended {
                Ok(receipts) => {
                    // Events another submission recorded first under these ids: the log holds
                    // theirs, which the engine will not take for these.
                    drop(handoff.withdraw(receipts.iter().filter(|r| r.duplicate).map(|r| &r.event_id)));
                    return Ok(receipts);
                }
                Err(e) => {
                    let mut back = handoff.withdraw(new.iter().map(|n| &n.event_id));
                    if !matches!(e, AppendError::WrongExpectedRevision { .. }) || expected != ExpectedRevision::Any {
                        return Err(AppendOutcome::Store(e));
                    }
                    for (n, event) in new.iter().zip(&mut payloads) {
                        if event.is_none() {
                            *event = back.remove(&n.event_id);
                        }
                    }
                    covered = committed(store);
                }
            }
        }
        Err(AppendOutcome::Status(lost_race(stream)))
    }
}

/// The status for a submission that lost the race for its stream too many times.
fn lost_race(stream: &StreamName) -> Status {
    Status::aborted(format!(
        "stream: {stream} is being written by other clients so fast that this submission lost {MAX_ATTEMPTS} races \
         for it; retry"
    ))
}

/// How many events the store has committed.
fn committed(store: &dyn EventStore) -> u64 {
    store.committed().borrow().map_or(0, |p| p + 1)
}

/// Why an append did not happen.
pub enum AppendOutcome {
    /// Refused before the store: the status says why.
    Status(Status),
    /// Refused by the store.
    Store(AppendError),
}

/// The status for a rule's refusal of the `i`th submission.
fn refusal(fields: Fields, i: usize, rejection: Rejection) -> Status {
    let Rejection { kind, error } = rejection;
    let message = match error.field.as_str() {
        "stream" => error.to_string(),
        "event_id" | "occurred_at" => error.within(fields.item(i)).to_string(),
        _ => error.within("event").within(fields.item(i)).to_string(),
    };
    match kind {
        RejectionKind::Invalid => Status::invalid_argument(message),
        RejectionKind::AlreadyExists => Status::already_exists(message),
        RejectionKind::Precondition => Status::failed_precondition(message),
    }
}
