//! What one principal, and one connection, may take of the server: a request rate, a number of
//! open streams, and time on an idle connection. Over a limit a call is refused with
//! `RESOURCE_EXHAUSTED` whose message names the limit, and nothing else happens.
//!
//! The sizes of what a request carries are limited where it is read: messages by the codec
//! (`chibo_proto::codec::MAX_MESSAGE_BYTES`), events per append by the store
//! (`chibo_store::MAX_EVENTS_PER_APPEND`), and every string by the domain's own checks.

use std::collections::HashMap;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::Connected;
use tonic::{Request, Status};

use crate::auth::Caller;

/// The limits a server enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second one principal may make, on average; 0 for no limit.
    pub requests_per_second: u32,
    /// How many requests one principal may make at once above that rate.
    pub burst: u32,
    /// Streams (reads, subscriptions, trails, exports) one principal may have open at once; 0
    /// for no limit.
    pub streams_per_principal: u32,
    /// How long a connection may go without a byte either way before it is closed; `None`: for
    /// ever. A client that means to wait longer (a quiet subscription) sends HTTP/2 keepalive
    /// pings.
    pub idle_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            requests_per_second: 1_000,
            burst: 2_000,
            streams_per_principal: 32,
            idle_timeout: Some(Duration::from_secs(300)),
        }
    }
}

/// One principal's token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The limits, and what each principal is using of them. One per server, shared by its
/// services through the request's extensions.
pub struct Limiter {
    limits: Limits,
    buckets: Mutex<HashMap<[u8; 32], Bucket>>,
    streams: Mutex<HashMap<[u8; 32], u32>>,
}

impl Limiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: Limits) -> Arc<Limiter> {
        Arc::new(Limiter { limits, buckets: Mutex::default(), streams: Mutex::default() })
    }

    /// The limits it enforces.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Counts one request of `caller` against its rate: refused with `RESOURCE_EXHAUSTED` when
    /// its bucket is empty.
    pub fn admit(&self, caller: &Caller) -> Result<(), Status> {
        let Limits { requests_per_second: rate, burst, .. } = self.limits;
        if rate == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let capacity = f64::from(burst.max(1));
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.entry(caller.digest).or_insert(Bucket { tokens: capacity, at: now });
        let refill = now.duration_since(bucket.at).as_secs_f64() * f64::from(rate);
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / f64::from(rate));
            return Err(Status::resource_exhausted(format!(
                "rate limit: {} {:?} made more than {rate} requests per second (bursts of {burst} allowed); \
                 retry in {} ms",
                caller.principal.role,
                caller.principal.name,
                wait.as_millis().max(1)
            )));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Opens one stream for `caller`, refused with `RESOURCE_EXHAUSTED` when it has as many open
    /// as it may; the stream counts until the permit is dropped.
    pub fn open_stream(self: &Arc<Self>, caller: &Caller) -> Result<StreamPermit, Status> {
        let limit = self.limits.streams_per_principal;
        let mut streams = lock(&self.streams);
        let open = streams.entry(caller.digest).or_insert(0);
        if limit != 0 && *open >= limit {
            return Err(Status::resource_exhausted(format!(
                "stream limit: {} {:?} already has {open} streams open, the most one principal may; \
                 close one first",
                caller.principal.role, caller.principal.name
            )));
        }
        *open += 1;
        Ok(StreamPermit { limiter: self.clone(), digest: caller.digest })
    }
}

/// The map behind `mutex`: a panic elsewhere while holding it leaves counts that are still
/// counts, so a poisoned lock is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One open stream of a principal; the count goes down when it is dropped.
pub struct StreamPermit {
    limiter: Arc<Limiter>,
    digest: [u8; 32],
}

impl StreamPermit {
    /// `stream`, holding this permit until it ends or is dropped.
    pub fn hold<S: Stream + Send + 'static>(self, stream: S) -> impl Stream<Item = S::Item> + Send + 'static {
        futures::StreamExt::map(stream, move |item| {
            let _held = &self;
            item
        })
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = lock(&self.limiter.streams);
        if let Some(open) = streams.get_mut(&self.digest) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.digest);
            }
        }
    }
}

/// A stream permit for the caller of `request` (authenticated, and carrying the server's
/// [`Limiter`], as every chibo service's requests do).
pub fn open_stream<T>(request: &Request<T>) -> Result<StreamPermit, Status> {
    let caller = Caller::of(request)?;
    let limiter = request
        .extensions()
        .get::<Arc<Limiter>>()
        .ok_or_else(|| Status::internal("the request reached a service without the server's limits"))?;
    limiter.open_stream(&caller)
}

/// A connection closed after `timeout` without a byte read or written: its next read fails
/// with `TimedOut`, which ends it. Without a timeout, the connection as it is.
pub struct Idle<S> {
    inner: S,
    timeout: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl<S> Idle<S> {
    /// `inner`, closed when idle for `timeout` (never, for `None`).
    pub fn new(inner: S, timeout: Option<Duration>) -> Idle<S> {
        Idle { inner, timeout: timeout.map(|t| (t, Box::pin(tokio::time::sleep(t)))) }
    }

    fn active(&mut self) {
        if let Some((timeout, deadline)) = &mut self.timeout {
            // A deadline beyond what the clock holds is no deadline.
            if let Some(at) = Instant::now().checked_add(*timeout) {
                deadline.as_mut().reset(at);
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let Some((timeout, deadline)) = &mut self.timeout else { return Poll::Pending };
                if deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                tracing::debug!(seconds = timeout.as_secs(), "closing an idle connection");
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the connection was idle for {} s", timeout.as_secs()),
                )))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: Connected> Connected for Idle<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use chibo_domain::event::Role;
    use chibo_projections::access::{Principal, Scope};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tonic::Code;

    use super::*;

    fn caller(name: &str) -> Caller {
        let principal = Principal { name: name.into(), role: Role::Recorder, scope: Scope::All };
        Caller { principal, digest: crate::auth::token_digest(name) }
    }

    fn limiter(requests_per_second: u32, burst: u32, streams_per_principal: u32) -> Arc<Limiter> {
        Limiter::new(Limits { requests_per_second, burst, streams_per_principal, idle_timeout: None })
    }

    #[tokio::test(start_paused = true)]
    async fn a_principal_gets_its_burst_then_its_rate_and_no_more() {
        let limiter = limiter(10, 5, 0);
        let (an, binh) = (caller("an"), caller("binh"));
        for i in 0..5 {
            assert!(limiter.admit(&an).is_ok(), "request {i} of the burst");
        }
        let refused = limiter.admit(&an).unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert!(refused.message().starts_with("rate limit: recorder \"an\" made more than 10 requests per second"));
        assert!(refused.message().contains("bursts of 5"), "{}", refused.message());
        // Each principal has its own bucket.
        assert!(limiter.admit(&binh).is_ok());
        // A tenth of a second buys one request at 10 per second, and no more.
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(limiter.admit(&an).is_ok());
        assert!(limiter.admit(&an).is_err());
        // A long pause refills the burst, not beyond it.
        tokio::time::advance(Duration::from_secs(60)).await;
        for i in 0..5 {
            assert!(limiter.admit(&an).is_ok(), "request {i} after the pause");
        }
        assert!(limiter.admit(&an).is_err());
    }

    #[tokio::test]
    async fn a_rate_of_zero_is_no_limit() {
        let limiter = limiter(0, 0, 0);
        for _ in 0..10_000 {
            assert!(limiter.admit(&caller("an")).is_ok());
        }
    }

    #[test]
    fn streams_count_while_open_and_each_principal_has_its_own() {
        let limiter = limiter(0, 0, 2);
        let (an, binh) = (caller("an"), caller("binh"));
        let first = limiter.open_stream(&an).unwrap();
        let _second = limiter.open_stream(&an).unwrap();
        let refused = limiter.open_stream(&an).err().unwrap();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        assert!(
            refused.message().starts_with("stream limit: recorder \"an\" already has 2 streams open"),
            "{}",
            refused.message()
        );
        let _other = limiter.open_stream(&binh).expect("another principal's streams are counted apart");
        drop(first);
        let _third = limiter.open_stream(&an).expect("a closed stream frees its place");
        assert!(limiter.open_stream(&an).is_err());
    }

    #[tokio::test]
    async fn a_stream_holds_its_permit_until_dropped() {
        let limiter = limiter(0, 0, 1);
        let an = caller("an");
        let stream = limiter.open_stream(&an).unwrap().hold(futures::stream::iter([1, 2, 3]));
        assert!(limiter.open_stream(&an).is_err());
        let items: Vec<_> = futures::StreamExt::collect(stream).await;
        assert_eq!(items, [1, 2, 3]);
        assert!(limiter.open_stream(&an).is_ok(), "the stream, consumed and dropped, let go of its permit");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_fails_its_read_and_an_active_one_does_not() {
        let (client, server) = tokio::io::duplex(64);
        let mut server = Idle::new(server, Some(Duration::from_secs(10)));
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let mut buf = [0u8; 8];
        // Bytes every 6 s keep it open past its 10 s.
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(6)).await;
            client_write.write_all(b"ping").await.unwrap();
            let n = server.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
        }
        // So do bytes written the other way: 12 s after the last read, 6 s after a write, a read
        // still waits.
        tokio::time::advance(Duration::from_secs(6)).await;
        server.write_all(b"pong").await.unwrap();
        client_read.read_exact(&mut buf[..4]).await.unwrap();
        tokio::time::advance(Duration::from_secs(6)).await;
        let waiting = tokio::time::timeout(Duration::from_secs(1), server.read(&mut buf)).await;
        assert!(waiting.is_err(), "the read waits for bytes: {waiting:?}");
        // Then 10 s of nothing.
        let e = server.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("idle for 10 s"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_timeout_a_connection_waits_for_ever() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut server = Idle::new(server, None);
        tokio::time::advance(Duration::from_secs(365 * 24 * 3600)).await;
        client.write_all(b"late").await.unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"late");
    }
}
