//! Unix domain sockets on the netpoller.

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, Registered, WriteHalf};
use crate::sched::Direction;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{self as std_unix, SocketAddr};
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix domain socket server, listening for connections on a path.
///
/// The socket file is not removed when the listener is dropped (as with
/// std): remove it yourself.
///
/// ```
/// # let path = std::env::temp_dir().join(format!("gpm-doc-listener-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = gpm::net::UnixListener::bind(&path).unwrap();
/// let client = gpm::spawn({
///     let path = path.clone();
///     async move { gpm::net::UnixStream::connect(&path).await.unwrap() }
/// });
/// let (stream, _peer) = listener.accept().await.unwrap();
/// assert_eq!(stream.local_addr().unwrap().as_pathname(), Some(path.as_path()));
/// client.await.unwrap();
/// # });
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: Registered<std_unix::UnixListener>,
}

impl UnixListener {
    super::deadline::deadline_methods!(
        listener,
        setup: "let path = std::env::temp_dir().join(format!(\"gpm-doc-deadline-{}.sock\", std::process::id()));
let _ = std::fs::remove_file(&path);
let s = gpm::net::UnixListener::bind(&path).unwrap();",
        cleanup: "# std::fs::remove_file(std::env::temp_dir().join(format!(\"gpm-doc-deadline-{}.sock\", std::process::id()))).unwrap();"
    );

    /// Creates the socket file `path` and listens on it (fails if the file
    /// exists). Binding does not block, so this is not `async`; it needs a
    /// runtime all the same.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-bind-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::UnixListener::bind(&path).unwrap();
    /// assert!(path.exists());
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(std_unix::UnixListener::bind(path)?)
    }

    /// Wraps a std listener (set non-blocking here) and registers it with
    /// the current runtime.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-lfromstd-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// let listener = gpm::net::UnixListener::from_std(std_listener).unwrap();
    /// assert!(listener.local_addr().is_ok());
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(listener: std_unix::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: Registered::new(listener)?,
        })
    }

    /// Waits for a connection; returns it and the peer's address (usually
    /// unnamed: clients rarely bind).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-accept-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::UnixListener::bind(&path).unwrap();
    /// let p = path.clone();
    /// gpm::spawn(async move { gpm::net::UnixStream::connect(p).await.unwrap() });
    /// let (_stream, peer) = listener.accept().await.unwrap();
    /// assert!(peer.is_unnamed());
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |l| l.accept())).await?;
        Ok((UnixStream::from_std(stream)?, addr))
    }

    /// The address this listener is bound to.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-laddr-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::UnixListener::bind(&path).unwrap();
    /// assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// A Unix domain stream connection, with futures-io's `AsyncRead` and
/// `AsyncWrite` (also implemented for `&UnixStream`); splits into halves
/// like [`TcpStream`](super::TcpStream).
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut b) = gpm::net::UnixStream::pair().unwrap();
/// a.write_all(b"hi").await.unwrap();
/// a.close().await.unwrap();
/// let mut text = String::new();
/// b.read_to_string(&mut text).await.unwrap();
/// assert_eq!(text, "hi");
/// # });
/// ```
pub struct UnixStream {
    io: Registered<std_unix::UnixStream>,
}

/// The outcome of a non-blocking connect, once the socket is writable (or
/// `WouldBlock` if it is still in progress).
fn connected(s: &std_unix::UnixStream) -> io::Result<()> {
    if let Some(e) = s.take_error()? {
        return Err(e);
    }
    match s.peer_addr() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::ErrorKind::WouldBlock.into()),
        Err(e) => Err(e),
    }
}

impl UnixStream {
    super::deadline::deadline_methods!(
        stream,
        setup: "let (s, _peer) = gpm::net::UnixStream::pair().unwrap();",
        read: "futures::AsyncReadExt::read(&mut &s, &mut [0; 1]).await",
        write: "futures::AsyncWriteExt::write(&mut &s, b\"x\").await"
    );

    /// Connects to the socket at `path`, without blocking the thread (a
    /// listener whose backlog is full makes it fail with `WouldBlock`, as
    /// in tokio).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-connect-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::UnixListener::bind(&path).unwrap();
    /// let stream = gpm::net::UnixStream::connect(&path).await.unwrap();
    /// assert_eq!(stream.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # drop(listener);
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = socket2::SockAddr::unix(path)?;
        let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let stream = UnixStream {
            io: Registered::new(std_unix::UnixStream::from(std::os::fd::OwnedFd::from(socket)))?,
        };
        match socket2::SockRef::from(stream.io.get()).connect(&addr) {
            Ok(()) => return Ok(stream),
            Err(e) if super::connect_in_progress(&e) => {}
            Err(e) => return Err(e),
        }
        std::future::poll_fn(|cx| stream.io.poll_io(cx, Direction::Write, connected)).await?;
        Ok(stream)
    }

    /// A pair of connected, unnamed sockets.
    ///
    /// ```
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (mut a, mut b) = gpm::net::UnixStream::pair().unwrap();
    /// b.write_all(b"x").await.unwrap();
    /// let mut buf = [0; 1];
    /// a.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"x");
    /// # });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std_unix::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a std stream (set non-blocking here) and registers it with the
    /// current runtime.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let stream = gpm::net::UnixStream::from_std(a).unwrap();
    /// assert!(stream.peer_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn from_std(stream: std_unix::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: Registered::new(stream)?,
        })
    }

    /// This end's address (unnamed for a connecting client or a pair).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = gpm::net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = gpm::net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().as_pathname().is_none());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = gpm::net::UnixStream::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// # });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// ```
    /// use futures::AsyncReadExt;
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, mut b) = gpm::net::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(b.read_to_end(&mut buf).await.unwrap(), 0);
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Splits the stream into owned read and write halves (see
    /// [`TcpStream::into_split`](super::TcpStream::into_split)); dropping
    /// the write half shuts down the write direction.
    ///
    /// ```
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, mut b) = gpm::net::UnixStream::pair().unwrap();
    /// let (_reader, mut writer) = a.into_split();
    /// writer.write_all(b"half").await.unwrap();
    /// drop(writer);
    /// let mut text = String::new();
    /// b.read_to_string(&mut text).await.unwrap();
    /// assert_eq!(text, "half");
    /// # });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        super::split::into_split(self)
    }

    /// Borrows the stream as read and write halves (see
    /// [`TcpStream::split`](super::TcpStream::split)).
    ///
    /// ```
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, b) = gpm::net::UnixStream::pair().unwrap();
    /// let (mut r, _) = a.split();
    /// let (_, mut w) = b.split();
    /// w.write_all(b"ab").await.unwrap();
    /// let mut buf = [0; 2];
    /// r.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"ab");
    /// # });
    /// ```
    pub fn split(&self) -> (ReadHalf<'_, UnixStream>, WriteHalf<'_, UnixStream>) {
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

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

super::stream_io!(UnixStream);

/// A Unix domain datagram socket: bound to a path, unbound, or one of a
/// pair; `send_to` / `recv_from` any socket, or `send` / `recv` once
/// connected. All methods take `&self`.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let (a, b) = gpm::net::UnixDatagram::pair().unwrap();
/// a.send(b"one datagram").await.unwrap();
/// let mut buf = [0; 32];
/// let n = b.recv(&mut buf).await.unwrap();
/// assert_eq!(&buf[..n], b"one datagram");
/// # });
/// ```
pub struct UnixDatagram {
    io: Registered<std_unix::UnixDatagram>,
}

impl UnixDatagram {
    super::deadline::deadline_methods!(
        stream,
        setup: "let (s, _peer) = gpm::net::UnixDatagram::pair().unwrap();",
        read: "s.recv(&mut [0; 8]).await",
        write: "s.send(b\"x\").await"
    );

    /// Creates the socket file `path` and binds to it (fails if the file
    /// exists).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-dgram-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UnixDatagram::bind(&path).unwrap();
    /// assert_eq!(socket.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std_unix::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no path (it can send; replies need an address).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UnixDatagram::unbound().unwrap();
    /// assert!(socket.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std_unix::UnixDatagram::unbound()?)
    }

    /// A pair of connected, unnamed sockets.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = gpm::net::UnixDatagram::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std_unix::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a std socket (set non-blocking here) and registers it with the
    /// current runtime.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let std_socket = std::os::unix::net::UnixDatagram::unbound().unwrap();
    /// let socket = gpm::net::UnixDatagram::from_std(std_socket).unwrap();
    /// assert!(socket.local_addr().is_ok());
    /// # });
    /// ```
    pub fn from_std(socket: std_unix::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: Registered::new(socket)?,
        })
    }

    /// Sets the peer: `send` goes to `path`, and only its datagrams are
    /// received.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-dconnect-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = gpm::net::UnixDatagram::bind(&path).unwrap();
    /// let client = gpm::net::UnixDatagram::unbound().unwrap();
    /// client.connect(&path).unwrap();
    /// client.send(b"hi").await.unwrap();
    /// let mut buf = [0; 2];
    /// assert_eq!(server.recv(&mut buf).await.unwrap(), 2);
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get().connect(path)
    }

    /// Sends `buf` as one datagram to the connected peer.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = gpm::net::UnixDatagram::pair().unwrap();
    /// assert_eq!(a.send(b"abc").await.unwrap(), 3);
    /// # });
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Waits for a datagram and copies it into `buf` (the excess of a
    /// longer datagram is discarded); returns its length.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, b) = gpm::net::UnixDatagram::pair().unwrap();
    /// a.send(b"abc").await.unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
    /// # });
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// Sends `buf` as one datagram to the socket at `path`.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-dsendto-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = gpm::net::UnixDatagram::bind(&path).unwrap();
    /// let client = gpm::net::UnixDatagram::unbound().unwrap();
    /// assert_eq!(client.send_to(b"hi", &path).await.unwrap(), 2);
    /// # drop(server);
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Write, |s| s.send_to(buf, path))).await
    }

    /// Waits for a datagram and copies it into `buf`; returns its length
    /// and sender.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("gpm-doc-drecvfrom-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = gpm::net::UnixDatagram::bind(&path).unwrap();
    /// let client = gpm::net::UnixDatagram::unbound().unwrap();
    /// client.send_to(b"hi", &path).await.unwrap();
    /// let mut buf = [0; 8];
    /// let (n, from) = server.recv_from(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// assert!(from.is_unnamed());
    /// # });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))).await
    }

    /// The address this socket is bound to.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = gpm::net::UnixDatagram::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UnixDatagram::unbound().unwrap();
    /// assert!(socket.peer_addr().is_err());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Shuts down reading, writing, or both.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let (a, _b) = gpm::net::UnixDatagram::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert!(a.send(b"x").await.is_err());
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }
}

impl std::fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
