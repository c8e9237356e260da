//! The calls chibo makes to KurrentDB, through the `eventstore` client.
//!
//! Each call runs in a task of its own: the client unwraps some fields of the server's messages
//! and would panic on a malformed one, and a panic in a task of ours ends that task only, as a
//! [`Failure::Panicked`] to report, not the caller. Reads are retried for a few seconds when the
//! failure is one a reconnect cures (the client reconnects on the next call); appends are not,
//! since an append that failed on the way may have been written.

use std::{future::Future, time::Duration};

use eventstore::{
    AppendToStreamOptions, Client, EventData, ExpectedRevision, Position, ReadAllOptions, ReadStreamOptions,
    RecordedEvent, StreamMetadata, StreamPosition, WriteResult,
};

use tonic::Code;

use crate::layout::Namespace;

/// How often a read is tried before its failure is reported.
const READ_ATTEMPTS: u32 = 8;
/// The first wait between two tries; it doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Why a call to KurrentDB failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The client reported an error.
    Kurrent(eventstore::Error),
    /// The client panicked (on a message it could not read).
    Panicked(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kurrent(eventstore::Error::AccessDenied) => f.write_str(
                "KurrentDB denied access: the connection string's user must be allowed to read $all and \
                 to read and write the log's streams",
            ),
            Self::Kurrent(e) => write!(f, "KurrentDB: {e}"),
            Self::Panicked(why) => write!(f, "the KurrentDB client failed on a message from the server: {why}"),
        }
    }
}

impl Failure {
    /// Whether trying again, once the client has reconnected, may succeed.
    pub fn is_transient(&self) -> bool {
        use eventstore::Error as E;
        match self {
            Self::Kurrent(e) => match e {
                E::ServerError(_)
                | E::ConnectionClosed
                | E::GrpcConnectionError(_)
                | E::DeadlineExceeded
                | E::NotLeaderException(_) => true,
                E::Grpc { code, .. } => {
                    matches!(code, Code::Unavailable | Code::Cancelled | Code::Aborted | Code::Unknown)
                }
                _ => false,
            },
            Self::Panicked(_) => false,
        }
    }

    /// Whether the append was refused because the stream is not at the expected revision.
    pub fn is_wrong_expected_version(&self) -> bool {
        matches!(self, Self::Kurrent(eventstore::Error::WrongExpectedVersion { .. }))
    }

    /// Whether the call failed before anything was sent (no node could be reached).
    pub fn is_before_sending(&self) -> bool {
        matches!(self, Self::Kurrent(eventstore::Error::GrpcConnectionError(_)))
    }

    /// Whether KurrentDB refused the request's content (an append over `MaxAppendSize`).
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Self::Kurrent(eventstore::Error::Grpc { code: Code::InvalidArgument, .. }))
    }
}

/// Runs a call in a task of its own (see the module's docs).
async fn guarded<T: Send + 'static>(
    call: impl Future<Output = eventstore::Result<T>> + Send + 'static,
) -> Result<T, Failure> {
    match tokio::spawn(call).await {
        Ok(result) => result.map_err(Failure::Kurrent),
        Err(e) => Err(Failure::Panicked(panic_message(e))),
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return "the call was cancelled".into();
    }
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Tries a read until it succeeds, fails for good, or has failed [`READ_ATTEMPTS`] times.
async fn retried<T, F, Fut>(mut call: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = eventstore::Result<T>> + Send + 'static,
{
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempt = 1;
    loop {
        match guarded(call()).await {
            Err(e) if e.is_transient() && attempt < READ_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "a KurrentDB read failed; trying again");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY_DELAY);
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// A connection to KurrentDB (cheap to clone: the client is shared).
#[derive(Clone)]
pub struct Kurrent {
    client: Client,
}

impl Kurrent {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The client, for the follower's subscription.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The position of the last event of `$all`, whatever its stream (`None`: `$all` is empty).
    pub async fn last_position(&self) -> Result<Option<Position>, Failure> {
        let client = self.client.clone();
        retried(move || {
            let client = client.clone();
            async move {
                let options = ReadAllOptions::default().position(StreamPosition::End).backwards().max_count(1);
                let mut read = client.read_all(&options).await?;
                Ok(read.next().await?.and_then(|e| e.event).map(|e| e.position))
            }
        })
        .await
    }

    /// Up to `max_count` events of `stream` from `from_revision` on (an absent stream has none).
    pub async fn read_stream(
        &self,
        stream: &str,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, Failure> {
        if max_count == 0 {
            return Ok(Vec::new());
        }
        let options = ReadStreamOptions::default()
            .position(StreamPosition::Position(from_revision))
            .forwards()
            .max_count(max_count);
        self.stream_events(stream, options).await
    }

    /// The last event of `stream`, if it has one.
    pub async fn head(&self, stream: &str) -> Result<Option<RecordedEvent>, Failure> {
        let options = ReadStreamOptions::default().position(StreamPosition::End).backwards().max_count(1);
        Ok(self.stream_events(stream, options).await?.pop())
    }

    async fn stream_events(&self, stream: &str, options: ReadStreamOptions) -> Result<Vec<RecordedEvent>, Failure> {
        let (client, stream) = (self.client.clone(), stream.to_owned());
        retried(move || {
            let (client, stream, options) = (client.clone(), stream.clone(), options.clone());
            async move {
                let mut events = Vec::new();
                let mut read = match client.read_stream(stream, &options).await {
                    Ok(read) => read,
                    Err(eventstore::Error::ResourceNotFound) => return Ok(events),
                    Err(e) => return Err(e),
                };
                loop {
                    match read.next().await {
                        Ok(Some(event)) => events.extend(event.event),
                        Ok(None) => return Ok(events),
                        Err(eventstore::Error::ResourceNotFound) => return Ok(events),
                        Err(e) => return Err(e),
                    }
                }
            }
        })
        .await
    }

    /// The first `wanted` events of `namespace` in `$all` from `from` on (inclusive), skipping
    /// every other stream's.
    pub async fn read_all(
        &self,
        namespace: &Namespace,
        from: Position,
        wanted: usize,
    ) -> Result<Vec<RecordedEvent>, Failure> {
        if wanted == 0 {
            return Ok(Vec::new());
        }
        let (client, namespace) = (self.client.clone(), namespace.clone());
        retried(move || {
            let (client, namespace) = (client.clone(), namespace.clone());
            async move {
                let options = ReadAllOptions::default().position(StreamPosition::Position(from)).forwards();
                let mut read = client.read_all(&options).await?;
                let mut events = Vec::with_capacity(wanted.min(4096));
                while events.len() < wanted {
                    match read.next().await? {
                        Some(event) => events.extend(event.event.filter(|e| namespace.owns(&e.stream_id))),
                        None => break,
                    }
                }
                Ok(events)
            }
        })
        .await
    }

    /// Keeps only the last `count` events of `stream` (its `$maxCount`). Not retried.
    pub async fn keep_last(&self, stream: &str, count: u64) -> Result<WriteResult, Failure> {
        let (client, stream) = (self.client.clone(), stream.to_owned());
        let metadata = StreamMetadata::builder().max_count(count).build();
        guarded(async move {
            client.set_stream_metadata(stream.as_str(), &AppendToStreamOptions::default(), &metadata).await
        })
        .await
    }

    /// Appends `events` to `stream` if it is at `expected`. Not retried (see the module's docs).
    pub async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<EventData>,
    ) -> Result<WriteResult, Failure> {
        let (client, stream) = (self.client.clone(), stream.to_owned());
        let options = AppendToStreamOptions::default().expected_revision(expected);
        guarded(async move { client.append_to_stream(stream, &options, events).await }).await
    }
}
