//! The load generator: the demo province's events sent to a running `chibo serve` over gRPC
//! by N clients at once, each on its own connection, one `Submit` per event (unary) or one
//! `SubmitBatch` per `--batch` events (batched). An event counts when the server has
//! acknowledged it, which it does only once the commit holding it is fsynced.

use std::{sync::Arc, time::Instant};

use anyhow::{bail, Context};
use chibo::Bearer;
use chibo_proto::v1::{self as pb, keys_client::KeysClient, ledger_client::LedgerClient};
use futures::future::BoxFuture;
use tonic::{
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

type Ledger = LedgerClient<InterceptedService<Channel, Bearer>>;

/// One client: a connection of its own, calling as the admin for the tree's registrations and
/// as the committee for the rest, as `chibo demo` does.
struct Client {
    admin: Ledger,
    committee: Ledger,
    mode: Mode,
    latencies: Latencies,
    duplicates: usize,
}

fn by_admin(submission: &pb::EventSubmission) -> bool {
    matches!(submission.event.as_ref().and_then(|e| e.kind.as_ref()), Some(pb::event::Kind::OrganizationRegistered(_)))
}

fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("the server refused: {:?}: {}", status.code(), status.message())
}

impl Client {
    async fn send_runs(&mut self, stream: &str, request: &[pb::EventSubmission]) -> anyhow::Result<()> {
        // A request never mixes writers: a run of the admin's events, then the committee's.
        let mut rest = request;
        while let Some(first) = rest.first() {
            let admin = by_admin(first);
            let end = rest.iter().position(|s| by_admin(s) != admin).unwrap_or(rest.len());
            let (run, next) = rest.split_at(end);
            let client = if admin { &mut self.admin } else { &mut self.committee };
            match self.mode {
                Mode::Unary => {
                    for event in run {
                        let request = pb::SubmitRequest {
                            stream: stream.to_owned(),
                            expected_revision: None,
                            event: Some(event.clone()),
                        };
                        let started = Instant::now();
                        let response = client.submit(request).await.map_err(refused)?.into_inner();
                        self.latencies.record(started.elapsed());
                        self.duplicates += usize::from(response.receipt.is_some_and(|r| r.duplicate));
                    }
                }
                Mode::Batched => {
                    let request = pb::SubmitBatchRequest {
                        stream: stream.to_owned(),
                        expected_revision: None,
                        events: run.to_vec(),
                    };
                    let started = Instant::now();
                    let response = client.submit_batch(request).await.map_err(refused)?.into_inner();
                    self.latencies.record(started.elapsed());
                    self.duplicates += response.receipts.iter().filter(|r| r.duplicate).count();
                }
            }
            rest = next;
        }
        Ok(())
    }
}

impl Sender for Client {
    fn send<'a>(
        &'a mut self,
        stream: &'a str,
        request: &'a [pb::EventSubmission],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.send_runs(stream, request))
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
    let mut senders = Vec::with_capacity(clients);
    for _ in 0..clients {
        let channel = connect(&addr).await?;
        senders.push(Client {
            admin: LedgerClient::with_interceptor(channel.clone(), admin.clone()),
            committee: LedgerClient::with_interceptor(channel, committee.clone()),
            mode,
            latencies: Latencies::default(),
            duplicates: 0,
        });
    }

    let (senders, elapsed) = schedule::run(workload.clone(), senders).await?;
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
    let widest = workload.waves.iter().map(Vec::len).max().unwrap_or(0);
    figure::print(
        &format!("load.{name}.widest_wave"),
        widest as f64,
        "streams",
        "the most clients busy at once (one stream each)",
    );
    Ok(())
}
