//! The load generator: the demo province's events sent to a running `chibo serve` over gRPC
//! by N clients at once, each on its own connection, one `Submit` per event (unary) or one
//! `SubmitBatch` per `--batch` events (batched). An event counts when the server has
//! acknowledged it, which it does only once the commit holding it is fsynced.
//!
//! Every request is encoded before the clock starts, as the peers' rows are made before
//! theirs: the loader shares the server's two cores, and during the run it only sends.

use std::{collections::HashMap, sync::Arc, time::Instant};

use anyhow::{bail, Context};
use chibo::Bearer;
use chibo_proto::{
    codec::EncodedCodec,
    v1::{self as pb, keys_client::KeysClient, ledger_client::LedgerClient},
};
use futures::future::BoxFuture;
use prost::{bytes::Bytes, Message};
use tonic::{
    client::Grpc,
    codegen::http::uri::PathAndQuery,
    service::interceptor::InterceptedService,
    transport::{Channel, Endpoint},
};

use crate::{
    cli::{LoadArgs, Mode},
    figure,
    latency::Latencies,
    schedule::{self, Sender},
    workload::Workload,
};

type Service = InterceptedService<Channel, Bearer>;
type Ledger = LedgerClient<Service>;

/// One call of the load: a run of one writer's events, encoded as the request that carries
/// them (a `SubmitRequest` of one event, or a `SubmitBatchRequest`).
struct Call {
    admin: bool,
    request: Bytes,
}

/// Every request of the workload as the calls that send it, by the id of its first event
/// (event ids are unique in the workload).
type Calls = HashMap<String, Vec<Call>>;

fn by_admin(submission: &pb::EventSubmission) -> bool {
    matches!(submission.event.as_ref().and_then(|e| e.kind.as_ref()), Some(pb::event::Kind::OrganizationRegistered(_)))
}

/// Encodes every request of `workload` for `mode`. A request never mixes writers: a run of
/// the admin's events, then the committee's.
fn encode(workload: &Workload, mode: Mode) -> Calls {
    let mut calls = Calls::with_capacity(workload.requests);
    for (stream, request) in workload.requests() {
        let Some(first) = request.first() else { continue };
        let mut encoded = Vec::new();
        let mut rest = request;
        while let Some(head) = rest.first() {
            let admin = by_admin(head);
            let end = rest.iter().position(|s| by_admin(s) != admin).unwrap_or(rest.len());
            let (run, next) = rest.split_at(end);
            match mode {
                Mode::Unary => encoded.extend(run.iter().map(|event| {
                    let request = pb::SubmitRequest {
                        stream: stream.to_owned(),
                        expected_revision: None,
                        event: Some(event.clone()),
                    };
                    Call { admin, request: request.encode_to_vec().into() }
                })),
                Mode::Batched => {
                    let request = pb::SubmitBatchRequest {
                        stream: stream.to_owned(),
                        expected_revision: None,
                        events: run.to_vec(),
                    };
                    encoded.push(Call { admin, request: request.encode_to_vec().into() });
                }
            }
            rest = next;
        }
        calls.insert(first.event_id.clone(), encoded);
    }
    calls
}

/// One client: a connection of its own, calling as the admin for the tree's registrations and
/// as the committee for the rest, as `chibo demo` does.
struct Client {
    admin: Grpc<Service>,
    committee: Grpc<Service>,
    calls: Arc<Calls>,
    mode: Mode,
    latencies: Latencies,
    duplicates: usize,
}

fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("the server refused: {:?}: {}", status.code(), status.message())
}

impl Client {
    async fn send_calls(&mut self, request: &[pb::EventSubmission]) -> anyhow::Result<()> {
        let first = request.first().context("an empty request")?;
        let calls = self.calls.clone();
        let calls = calls.get(&first.event_id).context("a request with no calls made for it")?;
        for call in calls {
            let client = if call.admin { &mut self.admin } else { &mut self.committee };
            client.ready().await.map_err(|e| anyhow::anyhow!("the connection failed: {e}"))?;
            let request = tonic::Request::new(call.request.clone());
            let started = Instant::now();
            let duplicates = match self.mode {
                Mode::Unary => {
                    let path = PathAndQuery::from_static("/chibo.v1.Ledger/Submit");
                    let codec = EncodedCodec::<pb::SubmitResponse>::default();
                    let response = client.unary(request, path, codec).await.map_err(refused)?.into_inner();
                    usize::from(response.receipt.is_some_and(|r| r.duplicate))
                }
                Mode::Batched => {
                    let path = PathAndQuery::from_static("/chibo.v1.Ledger/SubmitBatch");
                    let codec = EncodedCodec::<pb::SubmitBatchResponse>::default();
                    let response = client.unary(request, path, codec).await.map_err(refused)?.into_inner();
                    response.receipts.iter().filter(|r| r.duplicate).count()
                }
            };
            self.latencies.record(started.elapsed());
            self.duplicates += duplicates;
        }
        Ok(())
    }
}

impl Sender for Client {
    fn send<'a>(
        &'a mut self,
        _stream: &'a str,
        request: &'a [pb::EventSubmission],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.send_calls(request))
    }
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(addr.to_owned()).with_context(|| format!("--addr {addr}: not a URL"))?;
    endpoint.connect().await.with_context(|| format!("cannot connect to {addr}"))
}

/// A committee credential over the whole tree, issued by the admin for this run.
async fn committee_token(channel: Channel, admin: Bearer) -> anyhow::Result<String> {
    let mut keys = KeysClient::with_interceptor(channel, admin);
    let mut suffix = [0u8; 4];
    getrandom::getrandom(&mut suffix).context("no randomness for a credential id")?;
    let id = format!("bench-{}", suffix.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let request = pb::IssueRequest {
        credential_id: id,
        principal: "chibo-bench".to_owned(),
        role: pb::Role::Committee.into(),
        scope_org_id: String::new(),
        member_id: String::new(),
        certificate: Vec::new(),
    };
    let issued = keys.issue(request).await.map_err(|s| refused(s).context("--token must be an admin's"))?;
    Ok(issued.into_inner().token)
}

/// Refuses a server that already holds the workload's first event: the load would be answered
/// with the original receipts, and measure nothing.
async fn check_fresh(client: &mut Ledger, workload: &Workload) -> anyhow::Result<()> {
    let Some((stream, _)) = workload.requests().next() else { bail!("the workload is empty") };
    let request = pb::ReadStreamRequest { stream: stream.to_owned(), from_revision: 0, max_count: 1 };
    let mut events = client.read_stream(request).await.map_err(refused)?.into_inner();
    if events.message().await.map_err(refused)?.is_some() {
        bail!("the server already holds {stream}: start it on a fresh data directory (with --rate-limit 0)");
    }
    Ok(())
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let LoadArgs { addr, token, clients, mode, workload } = args;
    if clients == 0 {
        bail!("--clients: must be at least 1");
    }
    let batch = workload.batch;
    let workload = Arc::new(Workload::build(&workload)?);
    let admin = Bearer::new(Some(&token))?;
    let first = connect(&addr).await?;
    check_fresh(&mut LedgerClient::with_interceptor(first.clone(), admin.clone()), &workload).await?;
    let committee = Bearer::new(Some(&committee_token(first, admin.clone()).await?))?;
    let calls = Arc::new(encode(&workload, mode));
    let mut senders = Vec::with_capacity(clients);
    for _ in 0..clients {
        let channel = connect(&addr).await?;
        senders.push(Client {
            admin: Grpc::new(InterceptedService::new(channel.clone(), admin.clone())),
            committee: Grpc::new(InterceptedService::new(channel, committee.clone())),
            calls: calls.clone(),
            mode,
            latencies: Latencies::default(),
            duplicates: 0,
        });
    }

    let cpu_before = figure::own_cpu();
    let (senders, elapsed) = schedule::run(workload.clone(), senders).await?;
    let cpu = figure::own_cpu().zip(cpu_before).map(|(after, before)| after - before);
    let mut latencies = Latencies::default();
    let mut duplicates = 0;
    for client in senders {
        latencies.extend(client.latencies);
        duplicates += client.duplicates;
    }
    if duplicates > 0 {
        bail!("{duplicates} events were already recorded: the figures would not measure ingest; use a fresh server");
    }

    let (name, per) = match mode {
        Mode::Unary => ("unary", "Submit".to_owned()),
        Mode::Batched => ("batched", format!("SubmitBatch of up to {batch}")),
    };
    let what = format!("{clients} clients, {per}, {} events", workload.events);
    figure::rate(&format!("load.{name}.events_per_s"), workload.events as u64, elapsed, "events/s", &what);
    figure::rate(&format!("load.{name}.requests_per_s"), latencies.len() as u64, elapsed, "requests/s", &what);
    for (label, p) in [("p50", 50.0), ("p99", 99.0), ("p99_9", 99.9)] {
        if let Some(d) = latencies.percentile(p) {
            figure::millis(&format!("load.{name}.{label}_ms"), d, "per request, send to acknowledgement");
        }
    }
    figure::millis(&format!("load.{name}.wall_ms"), elapsed, &what);
    if let Some(in_flight) = latencies.mean_in_flight(elapsed) {
        figure::print(
            &format!("load.{name}.in_flight"),
            in_flight,
            "requests",
            &format!("in flight on average, of {clients} clients (every request's time / the wall time)"),
        );
    }
    if let Some(cpu) = cpu {
        figure::print(&format!("load.{name}.loader_cpu_s"), cpu, "s", "the loader's own CPU time during the run");
    }
    let widest = workload.waves.iter().map(Vec::len).max().unwrap_or(0);
    figure::print(
        &format!("load.{name}.widest_wave"),
        widest as f64,
        "streams",
        "the most clients busy at once (one stream each)",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::WorkloadArgs;

    /// Each request's calls decode to its events, in order, each call of one writer.
    #[test]
    fn every_request_is_encoded_as_calls_that_carry_its_events() {
        // The plan's first events register the tree (the admin's), then the cells' records.
        let workload = Workload::build(&WorkloadArgs { events: 3_000, seed: 7, batch: 100 }).unwrap();
        for mode in [Mode::Batched, Mode::Unary] {
            let calls = encode(&workload, mode);
            assert_eq!(calls.len(), workload.requests);
            let (mut admin, mut committee) = (0, 0);
            for (stream, request) in workload.requests() {
                let mut sent = Vec::new();
                for call in &calls[&request[0].event_id] {
                    let events = match mode {
                        Mode::Batched => {
                            let batch = pb::SubmitBatchRequest::decode(call.request.clone()).unwrap();
                            assert_eq!((batch.stream.as_str(), batch.expected_revision), (stream, None));
                            batch.events
                        }
                        Mode::Unary => {
                            let one = pb::SubmitRequest::decode(call.request.clone()).unwrap();
                            assert_eq!((one.stream.as_str(), one.expected_revision), (stream, None));
                            vec![one.event.unwrap()]
                        }
                    };
                    assert!(events.iter().all(|e| by_admin(e) == call.admin), "one writer per call");
                    *(if call.admin { &mut admin } else { &mut committee }) += events.len();
                    sent.extend(events);
                }
                assert_eq!(sent, request, "{stream}");
            }
            assert!(admin > 0 && committee > 0, "both writers: {admin}, {committee}");
            assert_eq!(admin + committee, 3_000);
        }
    }
}
