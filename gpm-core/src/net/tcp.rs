//! TCP on the netpoller.

use super::Registered;
use crate::netpoll::Direction;
use futures_io::{AsyncRead, AsyncWrite};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Resolves `addr` (a DNS lookup may block: it runs as a [`crate::syscall`]).
fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = crate::syscall(|| addr.to_socket_addrs())?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// A TCP socket server, listening for connections.
///
/// ```
/// use gpm::net::TcpListener;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// let client = gpm::spawn(async move { gpm::net::TcpStream::connect(addr).await.unwrap() });
/// let (stream, peer) = listener.accept().await.unwrap();
/// assert_eq!(stream.local_addr().unwrap(), addr);
/// assert_eq!(client.await.unwrap().local_addr().unwrap(), peer);
/// # });
/// ```
pub struct TcpListener {
    io: Registered<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to the first address of `addr` that works (names are resolved
    /// without stalling the P).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("localhost:0").await.unwrap();
    /// assert!(listener.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let addrs = resolve(addr)?;
        let listener = std::net::TcpListener::bind(&addrs[..])?;
        TcpListener::from_std(listener)
    }

    /// Wraps a std listener (set non-blocking here) and registers it with
    /// the current runtime.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let listener = gpm::net::TcpListener::from_std(std_listener).unwrap();
    /// assert!(listener.local_addr().is_ok());
    /// # });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: Registered::new(listener)?,
        })
    }

    /// Waits for a connection; returns it and the peer's address.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// gpm::spawn(async move { gpm::net::TcpStream::connect(addr).await.unwrap() });
    /// let (stream, peer) = listener.accept().await.unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), peer);
    /// # });
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = std::future::poll_fn(|cx| self.poll_accept(cx)).await?;
        Ok((TcpStream::from_std(stream)?, addr))
    }

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(std::net::TcpStream, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |l| l.accept())
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// A TCP connection, with futures-io's [`AsyncRead`] and [`AsyncWrite`]
/// (also implemented for `&TcpStream`, so a reader and a writer goroutine
/// can share one stream through an `Arc`).
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// gpm::spawn(async move {
///     let (mut s, _) = listener.accept().await.unwrap();
///     s.write_all(b"hi").await.unwrap();
/// });
/// let mut stream = gpm::net::TcpStream::connect(addr).await.unwrap();
/// let mut text = String::new();
/// stream.read_to_string(&mut text).await.unwrap();
/// assert_eq!(text, "hi");
/// # });
/// ```
pub struct TcpStream {
    io: Registered<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to the first address of `addr` that accepts. The name is
    /// resolved without stalling the P; the connection is made on the
    /// blocking pool (the goroutine waits for it like for a join).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let port = listener.local_addr().unwrap().port();
    /// let stream = gpm::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    /// assert_eq!(stream.peer_addr().unwrap().port(), port);
    /// # });
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let addrs = resolve(addr)?;
        if crate::runtime::Handle::try_current().is_none() {
            return Err(super::no_runtime());
        }
        let stream = crate::spawn_blocking(move || std::net::TcpStream::connect(&addrs[..]))
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        TcpStream::from_std(stream)
    }

    /// Wraps a std stream (set non-blocking here) and registers it with the
    /// current runtime.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let stream = gpm::net::TcpStream::from_std(std_stream).unwrap();
    /// assert!(stream.peer_addr().is_ok());
    /// # });
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            io: Registered::new(stream)?,
        })
    }

    /// This end's address.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert!(stream.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// stream.set_nodelay(true).unwrap();
    /// assert!(stream.nodelay().unwrap());
    /// # });
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// stream.set_nodelay(false).unwrap();
    /// assert!(!stream.nodelay().unwrap());
    /// # });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// ```
    /// use futures::AsyncReadExt;
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// gpm::spawn(async move {
    ///     let (s, _) = listener.accept().await.unwrap();
    ///     s.shutdown(std::net::Shutdown::Write).unwrap(); // EOF for the client
    /// });
    /// let mut stream = gpm::net::TcpStream::connect(addr).await.unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(stream.read_to_end(&mut buf).await.unwrap(), 0);
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    fn poll_read_ref(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |mut s| s.read(buf))
    }

    fn poll_write_ref(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |mut s| s.write(buf))
    }

    fn poll_write_vectored_ref(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |mut s| s.write_vectored(bufs))
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

impl AsyncRead for &TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_read_ref(cx, buf)
    }
}

impl AsyncWrite for &TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_ref(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_ref(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_read_ref(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_ref(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_ref(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}
