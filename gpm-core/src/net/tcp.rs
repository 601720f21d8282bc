//! TCP on the netpoller.

use super::{resolve, OwnedReadHalf, OwnedWriteHalf, ReadHalf, Registered, WriteHalf};
use crate::sched::Direction;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

/// The outcome of a non-blocking connect, once the socket is writable (or
/// `WouldBlock` if it is still in progress).
fn connected(s: &std::net::TcpStream) -> io::Result<()> {
    if let Some(e) = s.take_error()? {
        return Err(e);
    }
    match s.peer_addr() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
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
    super::deadline::deadline_methods!(
        listener,
        setup: "let s = gpm::net::TcpListener::bind(\"127.0.0.1:0\").await.unwrap();",
        cleanup: ""
    );

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
///
/// [`AsyncRead`]: futures_io::AsyncRead
/// [`AsyncWrite`]: futures_io::AsyncWrite
pub struct TcpStream {
    io: Registered<std::net::TcpStream>,
}

impl TcpStream {
    super::deadline::deadline_methods!(
        stream,
        setup: "let listener = gpm::net::TcpListener::bind(\"127.0.0.1:0\").await.unwrap();
    let s = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();",
        read: "futures::AsyncReadExt::read(&mut &s, &mut [0; 1]).await",
        write: "futures::AsyncWriteExt::write(&mut &s, b\"x\").await"
    );

    /// Connects to the addresses of `addr` in turn; returns the first
    /// connection made, or the last address's error. The name is resolved
    /// without stalling the P; each connection attempt is non-blocking: the
    /// goroutine waits in `IO wait` until the socket is writable, then reads
    /// the outcome (`SO_ERROR`).
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
        let mut last = None;
        for addr in resolve(addr)? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        // `resolve` returned at least one address, so `last` is set.
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to")))
    }

    /// Like [`connect`](TcpStream::connect), but fails with
    /// [`io::ErrorKind::TimedOut`] if no connection is made within `timeout`
    /// (name resolution and every address tried included).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// let stream = gpm::net::TcpStream::connect_timeout(addr, Duration::from_secs(10)).await.unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), addr);
    /// # });
    /// ```
    pub async fn connect_timeout(addr: impl ToSocketAddrs, timeout: std::time::Duration) -> io::Result<TcpStream> {
        match crate::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connection timed out")),
        }
    }

    /// One non-blocking connection attempt to `addr`.
    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        socket.set_nonblocking(true)?;
        let stream = TcpStream {
            io: Registered::new(std::net::TcpStream::from(socket))?,
        };
        match socket2::SockRef::from(stream.io.get()).connect(&addr.into()) {
            Ok(()) => return Ok(stream),
            Err(e) if super::connect_in_progress(&e) => {}
            Err(e) => return Err(e),
        }
        std::future::poll_fn(|cx| stream.io.poll_io(cx, Direction::Write, connected)).await?;
        Ok(stream)
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

    /// Splits the stream into a read half and a write half that can move to
    /// different goroutines (they share the stream through an `Arc`).
    /// Dropping the [`OwnedWriteHalf`] shuts down the write direction (the
    /// peer reads EOF); [`OwnedReadHalf::reunite`] puts the halves back
    /// together.
    ///
    /// ```
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// gpm::spawn(async move {
    ///     let (s, _) = listener.accept().await.unwrap();
    ///     let (mut r, mut w) = (&s, &s);
    ///     futures::io::copy(&mut r, &mut w).await.unwrap(); // echo
    /// });
    /// let (mut reader, mut writer) = gpm::net::TcpStream::connect(addr).await.unwrap().into_split();
    /// let w = gpm::spawn(async move {
    ///     writer.write_all(b"echo").await.unwrap();
    ///     // `writer` dropped: the server reads EOF and closes.
    /// });
    /// let mut text = String::new();
    /// reader.read_to_string(&mut text).await.unwrap();
    /// assert_eq!(text, "echo");
    /// w.await.unwrap();
    /// # });
    /// ```
    ///
    /// [`OwnedWriteHalf`]: super::OwnedWriteHalf
    /// [`OwnedReadHalf::reunite`]: super::OwnedReadHalf::reunite
    pub fn into_split(self) -> (OwnedReadHalf<TcpStream>, OwnedWriteHalf<TcpStream>) {
        super::split::into_split(self)
    }

    /// Borrows the stream as a read half and a write half, for a reader and
    /// a writer in one goroutine (`futures::join!`, `select`). Dropping the
    /// halves does nothing to the stream.
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
    /// let stream = gpm::net::TcpStream::connect(addr).await.unwrap();
    /// let (mut r, _w) = stream.split();
    /// let mut buf = [0; 2];
    /// r.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"hi");
    /// # });
    /// ```
    pub fn split(&self) -> (ReadHalf<'_, TcpStream>, WriteHalf<'_, TcpStream>) {
        super::split::split(self)
    }

    pub(super) fn poll_read_ref(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_stream(cx, Direction::Read, buf.len(), |mut s| s.read(buf))
    }

    pub(super) fn poll_write_ref(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream(cx, Direction::Write, buf.len(), |mut s| s.write(buf))
    }

    pub(super) fn poll_write_vectored_ref(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let want = bufs.iter().map(|b| b.len()).sum();
        self.io
            .poll_stream(cx, Direction::Write, want, |mut s| s.write_vectored(bufs))
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

super::stream_io!(TcpStream);
