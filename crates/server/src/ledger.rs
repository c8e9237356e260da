//! The `chibo.v1.Ledger` service: submissions checked and appended, reads and subscriptions
//! streamed back as the stored bytes.

use std::sync::Arc;
use std::time::Instant;

use chibo_domain::id::CREDENTIALS_STREAM;
use chibo_proto::submit::{ReceiptFields, SubmitBatchReply};
use chibo_proto::v1::{self as pb, ledger_server::Ledger};
use chibo_store::{AppendError, EventStore, ReadError, Receipt, StoredEvent};
use futures::{stream::BoxStream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use chibo_projections::access::Action;

use crate::auth::Caller;
use crate::limits;
use crate::{
    guard::{AppendOutcome, Domain},
    metrics::Metrics,
    submission::{check_request, new_events, now, stream, AppendRequest, CheckedRequest},
};

/// How many events a read fetches from the store at a time.
const READ_PAGE: usize = 512;

/// How long an open subscription waits for the state to take in a credential event.
const REVOCATION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The Ledger service over a store.
pub struct LedgerService {
    store: Arc<dyn EventStore>,
    domain: Arc<Domain>,
    metrics: Arc<Metrics>,
    closing: watch::Receiver<bool>,
}

impl LedgerService {
    /// A service appending to and reading from `store`, checking submissions against
    /// `domain`; live subscriptions end with `UNAVAILABLE` when `closing` turns true.
    pub fn new(
        store: Arc<dyn EventStore>,
        domain: Arc<Domain>,
        metrics: Arc<Metrics>,
        closing: watch::Receiver<bool>,
    ) -> Self {
        Self { store, domain, metrics, closing }
    }

    async fn append(&self, request: AppendRequest, caller: &Caller) -> Result<Vec<Receipt>, Status> {
        let arrived = Instant::now();
        let result = async {
            let CheckedRequest { stream, expected, fields, submissions } = check_request(request, now())?;
            let events = new_events(submissions, caller.actor())?;
            let receipts =
                self.domain.append(self.store.as_ref(), &stream, expected, fields, events, caller).await.map_err(
                    |outcome| match outcome {
                        AppendOutcome::Status(status) => status,
                        AppendOutcome::Store(e) => append_status(e),
                    },
                )?;
            Ok(receipts)
        }
        .await;
        self.metrics.observe_append(&result, arrived.elapsed());
        result
    }
}

/// The receipts of a batch, written into the reply as they are read.
fn reply(receipts: &[Receipt]) -> SubmitBatchReply {
    let mut reply = SubmitBatchReply::with_capacity(receipts.len(), receipts.first().map_or("", |r| &r.stream));
    for r in receipts {
        reply.push(ReceiptFields {
            event_id: &r.event_id,
            stream: &r.stream,
            revision: r.revision,
            position: r.position,
            hash: &r.hash,
            recorded_at: r.recorded_at,
            duplicate: r.duplicate,
        });
    }
    reply
}

pub(crate) fn receipt(r: &Receipt) -> pb::Receipt {
    let Receipt { event_id, stream, revision, position, hash, recorded_at, duplicate } = r;
    pb::Receipt {
        event_id: event_id.to_string(),
        stream: stream.clone(),
        revision: *revision,
        position: *position,
        hash: hash.to_vec(),
        recorded_at: Some(pbjson_types::Timestamp {
            seconds: recorded_at.seconds(),
            nanos: recorded_at.nanos() as i32,
        }),
        duplicate: *duplicate,
    }
}

fn recorded(e: StoredEvent) -> pb::RecordedEvent {
    let StoredEvent { position, stream: _, revision: _, envelope, payload, salt, hash } = e;
    pb::RecordedEvent { position, envelope, payload, salt: salt.to_vec(), hash: hash.to_vec() }
}

/// The gRPC status for a refused append; the message names the field at fault.
fn append_status(e: AppendError) -> Status {
    match e {
        AppendError::WrongExpectedRevision { .. } => Status::failed_precondition(format!("expected_revision: {e}")),
        AppendError::EventIdConflict { .. } => Status::already_exists(e.to_string()),
        AppendError::DuplicateInBatch { .. } | AppendError::BadBatch(_) => Status::invalid_argument(e.to_string()),
        AppendError::Unavailable(_) => Status::unavailable(e.to_string()),
        other => Status::internal(other.to_string()),
    }
}

pub(crate) fn read_status(e: ReadError) -> Status {
    match e {
        ReadError::Corrupt { .. } => Status::data_loss(e.to_string()),
        ReadError::Unavailable(_) => Status::unavailable(e.to_string()),
        other => Status::internal(other.to_string()),
    }
}

type EventStream = BoxStream<'static, Result<pb::RecordedEvent, Status>>;

/// Pages through a store read until `remaining` events were sent or the read is exhausted.
fn paged<F, Fut>(remaining: u64, fetch: F) -> EventStream
where
    F: Fn(Option<StoredEvent>, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<StoredEvent>, ReadError>> + Send + 'static,
{
    let limit = if remaining == 0 { u64::MAX } else { remaining };
    futures::stream::unfold((fetch, None::<StoredEvent>, limit, false), |(fetch, last, left, done)| async move {
        if done || left == 0 {
            return None;
        }
        let want = left.min(READ_PAGE as u64) as usize;
        match fetch(last, want).await {
            Err(e) => Some((vec![Err(read_status(e))], (fetch, None, 0, true))),
            Ok(page) => {
                let finished = page.len() < want;
                let sent = page.len() as u64;
                let last = page.last().cloned();
                let items = page.into_iter().map(|e| Ok(recorded(e))).collect::<Vec<_>>();
                if items.is_empty() {
                    return None;
                }
                Some((items, (fetch, last, left - sent, finished)))
            }
        }
    })
    .flat_map(futures::stream::iter)
    .boxed()
}

#[tonic::async_trait]
impl Ledger for LedgerService {
    async fn submit(&self, request: Request<pb::SubmitRequest>) -> Result<Response<pb::SubmitResponse>, Status> {
        let caller = Caller::of(&request)?;
        let receipts = self.append(AppendRequest::Submit(request.into_inner()), &caller).await?;
        Ok(Response::new(pb::SubmitResponse { receipt: receipts.first().map(receipt) }))
    }

    async fn submit_batch(
        &self,
        request: Request<chibo_proto::submit::SubmitBatchWire>,
    ) -> Result<Response<SubmitBatchReply>, Status> {
        let caller = Caller::of(&request)?;
        let receipts = self.append(AppendRequest::SubmitBatch(request.into_inner()), &caller).await?;
        Ok(Response::new(reply(&receipts)))
    }

    type ReadStreamStream = EventStream;

    async fn read_stream(&self, request: Request<pb::ReadStreamRequest>) -> Result<Response<EventStream>, Status> {
        let caller = Caller::of(&request)?;
        let permit = limits::open_stream(&request)?;
        let pb::ReadStreamRequest { stream: name, from_revision, max_count } = request.into_inner();
        let stream_name = stream("stream", &name)?;
        caller.may(&self.domain, Action::ReadStream(&stream_name))?;
        let store = self.store.clone();
        let events = paged(max_count, move |last, want| {
            let (store, stream_name) = (store.clone(), stream_name.clone());
            let from = last.map_or(from_revision, |e| e.revision + 1);
            async move { store.read_stream(&stream_name, from, want).await }
        });
        Ok(Response::new(permit.hold(events).boxed()))
    }

    type ReadAllStream = EventStream;

    async fn read_all(&self, request: Request<pb::ReadAllRequest>) -> Result<Response<EventStream>, Status> {
        Caller::of(&request)?.may(&self.domain, Action::ReadLog)?;
        let permit = limits::open_stream(&request)?;
        let pb::ReadAllRequest { after_position, max_count } = request.into_inner();
        let store = self.store.clone();
        let events = paged(max_count, move |last, want| {
            let store = store.clone();
            let after = last.map(|e| e.position).or(after_position);
            async move { store.read_all(after, want).await }
        });
        Ok(Response::new(permit.hold(events).boxed()))
    }

    type SubscribeStream = EventStream;

    async fn subscribe(&self, request: Request<pb::SubscribeRequest>) -> Result<Response<EventStream>, Status> {
        let caller = Caller::of(&request)?;
        caller.may(&self.domain, Action::ReadLog)?;
        let permit = limits::open_stream(&request)?;
        let pb::SubscribeRequest { after_position } = request.into_inner();
        let committed = self.store.committed();
        let metrics = self.metrics.clone();
        let subscriber = metrics.subscriber();
        let mut closing = self.closing.clone();
        let ended = async move {
            let _ = closing.wait_for(|c| *c).await;
        };
        let domain = self.domain.clone();
        let events = chibo_store::catch_up(self.store.clone(), after_position)
            .then(move |event| {
                let (domain, caller) = (domain.clone(), caller.clone());
                async move {
                    let event = event.map_err(read_status)?;
                    if event.stream == CREDENTIALS_STREAM {
                        // A revocation takes effect where it stands in the log: the state takes
                        // it in before the caller's credential is checked again.
                        let _ = domain.state.wait_for(event.position + 1, REVOCATION_WAIT).await;
                    }
                    // Revoked while the stream is open: it ends here.
                    caller.still_valid(&domain)?;
                    Ok(event)
                }
            })
            .map(move |event: Result<StoredEvent, Status>| {
                let _keep = &subscriber;
                let event = event?;
                let head = committed.borrow().unwrap_or(0);
                metrics.observe_subscriber_lag(head.saturating_sub(event.position));
                Ok(recorded(event))
            })
            .take_until(ended)
            // A subscription has no end of its own; when it stops (the server is shutting down),
            // the client must learn to resubscribe rather than take it as complete.
            .chain(futures::stream::once(async {
                Err(Status::unavailable(
                    "the server is shutting down; subscribe again after the last position received",
                ))
            }))
            // The first error ends the stream.
            .scan(false, |failed, item| {
                let next = (!*failed).then(|| {
                    *failed = item.is_err();
                    item
                });
                futures::future::ready(next)
            });
        Ok(Response::new(permit.hold(events).boxed()))
    }
}
