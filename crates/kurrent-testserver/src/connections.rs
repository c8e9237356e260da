//! The server's TCP connections, each registered so that [`Connections::kill_all`] can cut
//! them all at once — as a node that crashes or a network that fails would — while the
//! listener goes on accepting new ones.
//!
//! A connection is cut by shutting its socket down in both directions through a duplicate of
//! its descriptor: the client sees the connection end under every call in flight, and the
//! server's side reads end of file, so its handlers and subscriptions stop.

use std::{
    collections::HashMap,
    io,
    net::Shutdown,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    task::{Context, Poll},
};

use futures::{Stream, StreamExt};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The open connections, by number: a duplicate of each one's socket.
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<HashMap<u64, std::net::TcpStream>>,
    next: AtomicU64,
}

impl Connections {
    /// Cuts every open connection.
    pub fn kill_all(&self) {
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(PoisonError::into_inner));
        for socket in open.into_values() {
            // Already closed by the other side: nothing left to cut.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// The connections `listener` accepts, each registered until it is dropped.
    pub fn accept(
        self: Arc<Self>,
        listener: TcpListener,
    ) -> impl Stream<Item = io::Result<TrackedStream>> + Send + 'static {
        TcpListenerStream::new(listener).filter_map(move |accepted| {
            let connections = self.clone();
            async move {
                // A failed accept or registration loses that connection only; the listener
                // goes on.
                let stream = accepted.ok()?;
                connections.register(stream).ok().map(Ok)
            }
        })
    }

    fn register(self: Arc<Self>, stream: TcpStream) -> io::Result<TrackedStream> {
        // As KurrentDB does: small gRPC frames go out at once, not after the peer's delayed ACK
        // (about 40 ms a call on loopback otherwise).
        stream.set_nodelay(true)?;
        let stream = stream.into_std()?;
        let duplicate = stream.try_clone()?;
        let stream = TcpStream::from_std(stream)?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open.lock().unwrap_or_else(PoisonError::into_inner).insert(id, duplicate);
        Ok(TrackedStream { stream, _registration: Registration { id, connections: self } })
    }
}

/// Removes a connection's duplicate socket when the connection is dropped, so that closing it
/// closes the socket.
#[derive(Debug)]
struct Registration {
    id: u64,
    connections: Arc<Connections>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections.open.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.id);
    }
}

/// An accepted connection, registered with [`Connections`].
#[derive(Debug)]
pub struct TrackedStream {
    stream: TcpStream,
    _registration: Registration,
}

impl Connected for TrackedStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
