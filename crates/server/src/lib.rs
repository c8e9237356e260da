//! chibo's server: the `chibo.v1` gRPC services (Ledger, Standings, Evaluation, Audit) over any
//! [`EventStore`], with
//! `grpc.health.v1`, server reflection, Prometheus metrics on a separate HTTP port, and the
//! inspection dashboard ([`web`]) on another.
//!
//! gRPC is served over TLS when the listeners come with a [`tls::ServerTls`] (and, with a client
//! CA, verifies client certificates: [`tls::client_certificate`] names the one a request came
//! with), else in plaintext; which addresses may go without TLS is the caller's decision
//! ([`is_loopback`]).
//!
//! [`run`] takes bound listeners and a shutdown future, so `main` stays thin and tests start
//! the server on port 0 and stop it when they like. On shutdown the server stops accepting,
//! ends live subscriptions, lets in-flight requests finish (each append is either committed
//! and acknowledged, or not started) and returns once they have.
#![deny(missing_docs)]

mod audit;
pub mod auth;
mod export;
mod guard;
mod keys;
mod ledger;
pub mod limits;
pub mod metrics;
mod reports;
mod submission;
pub mod tls;
pub mod web;

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc};

use chibo_proto::{
    codec::MAX_MESSAGE_BYTES,
    v1::{
        audit_server::AuditServer, evaluation_server::EvaluationServer, keys_server::KeysServer,
        ledger_server::LedgerServer, standings_server::StandingsServer,
    },
};
use chibo_store::EventStore;
use futures::TryStreamExt as _;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tonic::service::interceptor::InterceptedService;

pub use audit::AuditService;
pub use guard::Domain;
pub use keys::{first_admin, BootstrapError, KeysService, FIRST_ADMIN};
pub use ledger::LedgerService;
pub use limits::{Idle, Limiter, Limits};
pub use metrics::Metrics;
pub use reports::ReportService;
pub use submission::{check_request, AppendRequest, CheckedRequest, Fields, MAX_CLOCK_SKEW};

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The gRPC transport failed.
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The metrics endpoint failed.
    #[error("the metrics endpoint failed: {0}")]
    Metrics(std::io::Error),
    /// The web dashboard failed.
    #[error("the web dashboard failed: {0}")]
    Web(std::io::Error),
    /// Reflection could not load the schema.
    #[error("server reflection could not load the schema: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// The server's sockets, already bound (port 0 is fine).
pub struct Listeners {
    /// Where gRPC is served.
    pub grpc: TcpListener,
    /// TLS for `grpc`; plaintext (HTTP/2 without TLS) if `None`.
    pub grpc_tls: Option<tls::ServerTls>,
    /// Where `/metrics` is served over HTTP, if anywhere.
    pub metrics: Option<TcpListener>,
    /// Where the inspection dashboard is served over HTTP, if anywhere.
    pub web: Option<TcpListener>,
}

/// Serves until `shutdown` resolves, then drains and returns; with the default [`Limits`].
pub async fn run(
    listeners: Listeners,
    store: Arc<dyn EventStore>,
    domain: Arc<Domain>,
    metrics: Arc<Metrics>,
    audit: AuditService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    run_with(Limits::default(), listeners, store, domain, metrics, audit, shutdown).await
}

/// [`run`] with the given limits.
pub async fn run_with(
    limits: Limits,
    listeners: Listeners,
    store: Arc<dyn EventStore>,
    domain: Arc<Domain>,
    metrics: Arc<Metrics>,
    audit: AuditService,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (closing_tx, closing) = watch::channel(false);
    let grpc_addr = listeners.grpc.local_addr().ok();

    let (mut health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<LedgerServer<LedgerService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(chibo_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    let reflection_v1 = reflection.build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(chibo_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let ledger = LedgerServer::new(LedgerService::new(store.clone(), domain.clone(), metrics.clone(), closing.clone()))
        // The codec refuses messages over MAX_MESSAGE_BYTES with RESOURCE_EXHAUSTED; tonic's own
        // limit sits above it so that the codec's clearer answer is the one clients see.
        .max_decoding_message_size(MAX_MESSAGE_BYTES * 2)
        .max_encoding_message_size(MAX_MESSAGE_BYTES * 2);

    let reports = ReportService::new(store.clone(), domain.clone());
    let standings = StandingsServer::new(reports.clone());
    let evaluation = EvaluationServer::new(ReportService::new(store.clone(), domain.clone()));
    health.set_serving::<StandingsServer<ReportService>>().await;
    health.set_serving::<EvaluationServer<ReportService>>().await;
    let audit_for_web = audit.clone();
    let audit = AuditServer::new(audit);
    health.set_serving::<AuditServer<AuditService>>().await;
    let keys = KeysServer::new(KeysService::new(store, domain.clone()));
    health.set_serving::<KeysServer<KeysService>>().await;
    // Every chibo service learns its caller first, and counts the call against the caller's
    // rate; health and reflection need neither.
    let limiter = Limiter::new(limits);
    let authenticating = |_: ()| {
        let (domain, limiter) = (domain.clone(), limiter.clone());
        move |request| {
            let mut request = auth::authenticate(&domain, request)?;
            let caller = request.extensions().get::<auth::Caller>();
            limiter.admit(caller.ok_or_else(|| tonic::Status::internal("authenticated without a caller"))?)?;
            request.extensions_mut().insert(limiter.clone());
            Ok(request)
        }
    };
    let ledger = InterceptedService::new(ledger, authenticating(()));
    let standings = InterceptedService::new(standings, authenticating(()));
    let evaluation = InterceptedService::new(evaluation, authenticating(()));
    let audit = InterceptedService::new(audit, authenticating(()));
    let keys = InterceptedService::new(keys, authenticating(()));

    // The dashboard asks the same services, with the same limiter, as gRPC callers do.
    let web_task = listeners.web.map(|listener| {
        let mut closing = closing.clone();
        let web = web::Web {
            reports: reports.clone(),
            audit: audit_for_web,
            domain: domain.clone(),
            limiter: limiter.clone(),
            sessions: Default::default(),
            secure: false,
        };
        tokio::spawn(web::serve(listener, web, async move {
            let _ = closing.wait_for(|c| *c).await;
        }))
    });
    let metrics_task = listeners.metrics.map(|listener| {
        let mut closing = closing.clone();
        tokio::spawn(metrics::serve(listener, metrics.clone(), async move {
            let _ = closing.wait_for(|c| *c).await;
        }))
    });

    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        let _ = closing_tx.send(true);
    };
    tracing::info!(addr = ?grpc_addr, tls = listeners.grpc_tls.is_some(), "serving gRPC");
    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(ledger)
        .add_service(standings)
        .add_service(evaluation)
        .add_service(audit)
        .add_service(keys);
    let idle = limits.idle_timeout;
    let served = match listeners.grpc_tls {
        Some(tls) => {
            let incoming = tls::incoming(listeners.grpc, tls).map_ok(move |c| Idle::new(c, idle));
            router.serve_with_incoming_shutdown(incoming, signal).await
        }
        None => {
            let incoming = plaintext(listeners.grpc).map_ok(move |c| Idle::new(c, idle));
            router.serve_with_incoming_shutdown(incoming, signal).await
        }
    };
    if let Some(task) = metrics_task {
        match task.await {
            Ok(result) => result.map_err(ServeError::Metrics)?,
            Err(e) => tracing::warn!("the metrics task ended abnormally: {e}"),
        }
    }
    if let Some(task) = web_task {
        match task.await {
            Ok(result) => result.map_err(ServeError::Web)?,
            Err(e) => tracing::warn!("the web dashboard task ended abnormally: {e}"),
        }
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// The connections accepted on `listener`, served without TLS.
fn plaintext(listener: TcpListener) -> impl futures::Stream<Item = Result<TcpStream, Infallible>> {
    futures::stream::unfold(listener, |listener| async move {
        let stream = accept(&listener).await;
        Some((Ok(stream), listener))
    })
}

/// The next connection on `listener`, with Nagle's algorithm off: a reply (a receipt, a small
/// standing) goes out at once instead of waiting for the client's delayed ACK, which costs
/// ~40 ms per request.
///
/// A failed accept is never returned: at an error from its incoming stream that it does not
/// count as passing (out of file descriptors, for one), tonic stops accepting for good and its
/// serve returns as if shut down. A connection that failed before it was accepted is skipped;
/// any other failure is logged and retried a second later, as the condition may pass.
async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    // Slower replies, not a refused connection.
                    tracing::debug!("cannot turn off Nagle's algorithm on a connection: {e}");
                }
                return stream;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                tracing::error!("cannot accept connections: {e}; retrying in a second");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// True for addresses only this machine can reach.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
