//! A stand-in for a KurrentDB (EventStoreDB) node, for testing chibo's KurrentDB backend
//! without a real server: it keeps its log in memory and speaks KurrentDB's own gRPC
//! protocol — compiled at build time from the definitions the `eventstore` client package
//! ships — so the backend is tested through the real `eventstore` client, unchanged.
//!
//! ```no_run
//! # async fn example() {
//! use chibo_kurrent_testserver::KurrentTestServer;
//!
//! let server = KurrentTestServer::start().await;
//! let settings = server.connection_string().parse::<eventstore::ClientSettings>().unwrap();
//! let client = eventstore::Client::new(settings).unwrap();
//! // … append, read, subscribe through `client` …
//! server.kill_connections(); // every open connection drops; new ones are accepted
//! server.stop().await;
//! # }
//! ```
//!
//! # What it implements
//!
//! The calls the `eventstore` 4.0.0 client makes for a single-node `esdb://…?tls=false`
//! connection, with KurrentDB's semantics:
//!
//! - `ServerFeatures.GetSupportedMethods` (version [`SERVER_VERSION`]; batch append is not
//!   announced, so the client never uses it) and `Gossip.Read` (one node, the leader).
//! - `Streams.Append`: expected revision any / no stream / stream exists / exact, refused
//!   with the response that the client turns into `Error::WrongExpectedVersion`; idempotent
//!   event ids (KurrentDB's rules: with `Any` or `StreamExists`, events whose ids the stream
//!   holds are not written again and the original write is reported; with an exact revision
//!   behind the stream's end, the same ids at the revisions after it likewise; a partial
//!   match is a wrong expected version; with the expected revision equal to the stream's, the
//!   events are written even if their ids were used before); the `type` and `content-type`
//!   metadata required; KurrentDB's default 1 MiB limit on an append.
//! - `Streams.Read` of a stream (forwards or backwards, from a revision, start or end, with a
//!   count; "stream not found") and of `$all` (forwards from a position, inclusive, or
//!   backwards before it).
//! - `Streams.Read` as a subscription to a stream or to `$all`, from the start, the end or
//!   after a revision / position (exclusive): a confirmation, the events already written,
//!   `CaughtUp`, then new events as they are written; on `$all` also with a filter (stream
//!   name or event type, prefixes or regular expression) and its checkpoints.
//!
//! Delete, tombstone, batch append, persistent subscriptions, projections and users are not
//! implemented (`UNIMPLEMENTED`, which the client reports as `UnsupportedFeature`).
//!
//! # What a backend sees, as on a real node
//!
//! - An event's position is the byte offset of its record in the log: positions grow with
//!   what is written, are not contiguous, and the first event is not at 0. Commit and prepare
//!   positions are equal. A read of `$all` from a position that is no event's start is
//!   refused (a subscription: `INVALID_ARGUMENT`, "Trying to read from an invalid position.").
//! - The log starts, as a fresh node's does, with an `$epoch-information` event, which reads
//!   and subscriptions of `$all` do not show (KurrentDB's default `$all` filter); other
//!   streams whose names start with `$` are shown.
//! - What a read returns of an event's metadata is what KurrentDB keeps: `type`, `created`
//!   (.NET ticks since the Unix epoch) and `content-type` (`application/json` if the event
//!   was appended as JSON, `application/octet-stream` otherwise); any other key of the
//!   appended metadata map is not kept. Data, custom metadata and the event id come back
//!   byte for byte.
#![deny(missing_docs)]

mod connections;
mod log;
mod node;
mod streams;
mod subscription;
mod wire;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Server;

use crate::{
    connections::Connections,
    log::SharedLog,
    node::Node,
    wire::event_store::client::{
        gossip::gossip_server::GossipServer, server_features::server_features_server::ServerFeaturesServer,
        streams::streams_server::StreamsServer,
    },
};

pub use node::SERVER_VERSION;

/// KurrentDB's largest log record (16 MiB less its overhead), the largest message its Streams
/// service takes.
const MAX_LOG_RECORD_SIZE: usize = 16 * 1024 * 1024 - 10_000;

/// How long [`KurrentTestServer::stop`] waits for the server's connections to close.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running test server: one in-memory KurrentDB node on a loopback port, in plaintext.
///
/// Any number of clients may connect to it at once; they share its log. Dropping it stops it
/// too, without waiting.
#[derive(Debug)]
pub struct KurrentTestServer {
    address: SocketAddr,
    connections: Arc<Connections>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl KurrentTestServer {
    /// Starts a node with an empty log on `127.0.0.1`, on a port the system chooses.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn start() -> KurrentTestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the test server binds a loopback port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let log = Arc::new(SharedLog::new());
        let node = Node { address, instance_id: uuid::Uuid::new_v4() };
        let connections = Arc::new(Connections::default());
        let incoming = connections.clone().accept(listener);
        let (shutdown, stopped) = oneshot::channel::<()>();
        // KurrentDB takes messages up to its largest log record on the Streams service.
        let streams = StreamsServer::new(streams::Streams::new(log)).max_decoding_message_size(MAX_LOG_RECORD_SIZE);
        let router = Server::builder()
            .add_service(streams)
            .add_service(ServerFeaturesServer::new(node.clone()))
            .add_service(GossipServer::new(node));
        let server = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            if let Err(error) = router.serve_with_incoming_shutdown(incoming, stopped).await {
                tracing::error!(%error, "the KurrentDB test server stopped");
            }
        });
        KurrentTestServer { address, connections, shutdown: Some(shutdown), server: Some(server) }
    }

    /// The address the node listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The connection string for the `eventstore` client: `esdb://127.0.0.1:PORT?tls=false`.
    pub fn connection_string(&self) -> String {
        format!("esdb://{}?tls=false", self.address)
    }

    /// Drops every open connection at once, with every call in flight on it (appends, reads,
    /// subscriptions), as a crash or a network failure would. The node keeps running and its
    /// log is kept: clients that connect again find it as it was.
    pub fn kill_connections(&self) {
        self.connections.kill_all();
    }

    /// Stops the node: stops listening, drops its connections and waits for them to close.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.connections.kill_all();
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(STOP_GRACE, &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for KurrentTestServer {
    fn drop(&mut self) {
        self.connections.kill_all();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
