//! Prometheus metrics, served as text on `/metrics` of their own HTTP port: appends by outcome
//! and their latency, events appended, commit (fsync) latency and group sizes, subscribers and
//! their lag.

use std::{
    future::Future,
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};

use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};
use chibo_store::Receipt;
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use tokio::net::TcpListener;
use tonic::Status;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

/// The server's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    appends: Family<Outcome, Counter>,
    events: Counter,
    duplicates: Counter,
    append_seconds: Histogram,
    commit_seconds: Histogram,
    commit_events: Histogram,
    commit_appends: Histogram,
    subscribers: Gauge<i64, std::sync::atomic::AtomicI64>,
    subscriber_lag: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn exponential(start: f64, factor: f64, count: u16) -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(start, factor, count)
}

impl Metrics {
    /// Fresh metrics, registered under the `chibo_` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chibo");
        let appends = Family::<Outcome, Counter>::default();
        registry.register(
            "appends",
            "Append requests (Submit, SubmitBatch) by outcome (a gRPC code, or duplicate)",
            appends.clone(),
        );
        let events = Counter::<u64, AtomicU64>::default();
        registry.register("events_appended", "Events made durable", events.clone());
        let duplicates = Counter::<u64, AtomicU64>::default();
        registry.register(
            "duplicate_events",
            "Resubmitted events answered with their original receipt",
            duplicates.clone(),
        );
        let append_seconds = Histogram::new(exponential(0.0001, 2.0, 16));
        registry.register(
            "append_duration_seconds",
            "Time from an append request's arrival at the Ledger service to its answer: its checks, \
             the wait for the state to cover the log, and its commit",
            append_seconds.clone(),
        );
        let commit_seconds = Histogram::new(exponential(0.0001, 2.0, 16));
        registry.register(
            "commit_duration_seconds",
            "Time to make one commit group durable, fsync included",
            commit_seconds.clone(),
        );
        let commit_events = Histogram::new(exponential(1.0, 4.0, 10));
        registry.register("commit_events", "Events per commit group", commit_events.clone());
        let commit_appends = Histogram::new(exponential(1.0, 2.0, 12));
        registry.register("commit_appends", "Append requests per commit group", commit_appends.clone());
        let subscribers = Gauge::default();
        registry.register("subscribers", "Open Subscribe streams", subscribers.clone());
        let subscriber_lag = Histogram::new(exponential(1.0, 4.0, 10));
        registry.register(
            "subscriber_lag_events",
            "Events committed but not yet delivered, seen at each delivery",
            subscriber_lag.clone(),
        );
        Self {
            registry,
            appends,
            events,
            duplicates,
            append_seconds,
            commit_seconds,
            commit_events,
            commit_appends,
            subscribers,
            subscriber_lag,
        }
    }

    /// Counts an append request by its outcome, answered `elapsed` after it arrived.
    pub fn observe_append(&self, result: &Result<Vec<Receipt>, Status>, elapsed: Duration) {
        let outcome = match result {
            Ok(receipts) if receipts.iter().any(|r| r.duplicate) => {
                self.duplicates.inc_by(receipts.len() as u64);
                "duplicate".to_owned()
            }
            Ok(_) => "ok".to_owned(),
            Err(status) => format!("{:?}", status.code()),
        };
        self.appends.get_or_create(&Outcome { outcome }).inc();
        self.append_seconds.observe(elapsed.as_secs_f64());
    }

    /// Marks a subscriber open until the guard drops.
    pub fn subscriber(self: &Arc<Self>) -> SubscriberGuard {
        self.subscribers.inc();
        SubscriberGuard(self.clone())
    }

    /// Records how far behind the head a delivered event was.
    pub fn observe_subscriber_lag(&self, events: u64) {
        self.subscriber_lag.observe(events as f64);
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl chibo_store::CommitObserver for Metrics {
    fn committed(&self, appends: usize, events: usize, duration: Duration) {
        self.events.inc_by(events as u64);
        self.commit_seconds.observe(duration.as_secs_f64());
        self.commit_events.observe(events as f64);
        self.commit_appends.observe(appends as f64);
    }
}

/// Keeps the subscriber gauge up while a subscription is open.
pub struct SubscriberGuard(Arc<Metrics>);

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.subscribers.dec();
    }
}

async fn metrics_page(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.render())
}

/// Serves `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics_page)).with_state(metrics);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
