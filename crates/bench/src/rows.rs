//! The rows the embedded store writes for a workload, made in-process: each submission
//! checked and encoded as the server does (`chibo_proto::convert`), with a fresh salt, sealed
//! after its stream's previous event by `NewEvent::seal` (the store's own code), one record
//! time per transaction. The peers insert exactly these.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use chibo_domain::{event::Submission, Timestamp};
use chibo_integrity::{genesis, Hash, Salt};
use chibo_proto::{convert, v1 as pb};
use chibo_store::NewEvent;

use crate::workload::Workload;

/// One row of the embedded store's `events` table.
#[derive(Debug, Clone)]
pub struct Row {
    pub position: u64,
    pub stream: String,
    pub revision: u64,
    pub event_id: [u8; 16],
    pub envelope: Vec<u8>,
    pub payload: Vec<u8>,
    pub salt: Salt,
    pub hash: Hash,
}

/// The actors the server would record: the admin registers the organizations, the committee
/// credential writes the rest (as `load` does).
fn actor(submission: &pb::EventSubmission) -> &'static str {
    match submission.event.as_ref().and_then(|e| e.kind.as_ref()) {
        Some(pb::event::Kind::OrganizationRegistered(_)) => "admin",
        _ => "chibo-bench",
    }
}

fn now() -> anyhow::Result<Timestamp> {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?;
    Timestamp::from_unix_nanos(since.as_nanos() as i128).context("the clock is past the year 9999")
}

/// Every request of `workload` as the transaction of rows it becomes, in the plan's order.
pub fn transactions(workload: &Workload) -> anyhow::Result<Vec<Vec<Row>>> {
    let mut heads: HashMap<String, (u64, Hash)> = HashMap::new();
    let mut position = 0u64;
    let mut transactions = Vec::with_capacity(workload.requests);
    for (stream, request) in workload.requests() {
        let recorded_at = now()?;
        let mut rows = Vec::with_capacity(request.len());
        for submission in request {
            let checked = Submission::try_from(submission.clone())
                .map_err(|e| anyhow::anyhow!("the demo's event {} in {stream}: {e}", submission.event_id))?;
            let Submission { event_id, occurred_at, event } = checked;
            let event_type = event.event_type();
            let mut salt = [0u8; 16];
            getrandom::getrandom(&mut salt).context("no randomness for a salt")?;
            let new = NewEvent::new(
                event_id,
                event_type.name(),
                event_type.schema_version(),
                occurred_at,
                actor(submission),
                convert::encode_payload(&event),
                salt,
            );
            let (revision, prev) = match heads.get(stream) {
                Some(&(last, hash)) => (last + 1, hash),
                None => (0, genesis(stream)),
            };
            let sealed = new.seal(stream, revision, recorded_at, &prev);
            heads.insert(stream.to_owned(), (revision, sealed.hash));
            rows.push(Row {
                position,
                stream: stream.to_owned(),
                revision,
                event_id: *event_id.as_bytes(),
                envelope: sealed.envelope,
                payload: new.payload.into(),
                salt,
                hash: sealed.hash,
            });
            position += 1;
        }
        transactions.push(rows);
    }
    Ok(transactions)
}
