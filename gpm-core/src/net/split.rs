//! Read and write halves of a stream socket ([`TcpStream`], and
//! `UnixStream` on Unix), like tokio's `into_split` / `split`.
//!
//! - Owned halves ([`OwnedReadHalf`], [`OwnedWriteHalf`]) share the stream
//!   through an `Arc`, so each can move to its own goroutine. Dropping the
//!   write half shuts down the write direction (the peer reads EOF), as in
//!   tokio; [`OwnedWriteHalf::forget`] drops it without doing so, and
//!   [`OwnedReadHalf::reunite`] gives the stream back.
//! - Borrowed halves ([`ReadHalf`], [`WriteHalf`]) are references: dropping
//!   them does nothing.
//!
//! A read and a write on one socket never wait for each other: the
//! netpoller keeps one waiter per direction.

use super::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

mod sealed {
    use std::io;
    use std::task::{Context, Poll};

    /// What the halves need of a stream; implemented here only.
    #[allow(unreachable_pub)] // Sealed: public in name, unnameable outside.
    pub trait Sealed {
        fn poll_read_ref(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
        fn poll_write_ref(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
        fn poll_write_vectored_ref(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>>;
        fn shutdown_write(&self) -> io::Result<()>;
        fn set_read_deadline(&self, deadline: Option<std::time::Instant>);
        fn set_write_deadline(&self, deadline: Option<std::time::Instant>);
    }
}

/// A connected stream socket that splits into read and write halves:
/// [`TcpStream`] and, on Unix, `UnixStream` (sealed: not implementable
/// outside gpm).
///
/// ```
/// fn halves<S: gpm::net::Duplex>(stream: S) -> (gpm::net::OwnedReadHalf<S>, gpm::net::OwnedWriteHalf<S>) {
///     gpm::net::OwnedReadHalf::from_stream(stream)
/// }
/// # let _ = halves::<gpm::net::TcpStream>;
/// ```
pub trait Duplex: sealed::Sealed {}

impl sealed::Sealed for TcpStream {
    fn poll_read_ref(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        TcpStream::poll_read_ref(self, cx, buf)
    }
    fn poll_write_ref(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        TcpStream::poll_write_ref(self, cx, buf)
    }
    fn poll_write_vectored_ref(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        TcpStream::poll_write_vectored_ref(self, cx, bufs)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
    fn set_read_deadline(&self, deadline: Option<std::time::Instant>) {
        TcpStream::set_read_deadline(self, deadline)
    }
    fn set_write_deadline(&self, deadline: Option<std::time::Instant>) {
        TcpStream::set_write_deadline(self, deadline)
    }
}
impl Duplex for TcpStream {}

#[cfg(unix)]
impl sealed::Sealed for super::UnixStream {
    fn poll_read_ref(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        super::UnixStream::poll_read_ref(self, cx, buf)
    }
    fn poll_write_ref(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        super::UnixStream::poll_write_ref(self, cx, buf)
    }
    fn poll_write_vectored_ref(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        super::UnixStream::poll_write_vectored_ref(self, cx, bufs)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
    fn set_read_deadline(&self, deadline: Option<std::time::Instant>) {
        super::UnixStream::set_read_deadline(self, deadline)
    }
    fn set_write_deadline(&self, deadline: Option<std::time::Instant>) {
        super::UnixStream::set_write_deadline(self, deadline)
    }
}
#[cfg(unix)]
impl Duplex for super::UnixStream {}

pub(super) fn into_split<S: Duplex>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Arc::new(stream);
    (
        OwnedReadHalf { stream: stream.clone() },
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        },
    )
}

pub(super) fn split<S: Duplex>(stream: &S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf { stream }, WriteHalf { stream })
}

/// The owned read half of a stream, from `into_split` (see
/// [`TcpStream::into_split`]). Reads with futures-io's [`AsyncRead`];
/// `as_ref()` gives the stream (addresses, options).
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// gpm::spawn(async move { listener.accept().await.unwrap().0.write_all(b"x").await.unwrap() });
/// let (mut reader, _writer) = gpm::net::TcpStream::connect(addr).await.unwrap().into_split();
/// assert_eq!(reader.as_ref().peer_addr().unwrap(), addr);
/// let mut buf = [0; 1];
/// reader.read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"x");
/// # });
/// ```
pub struct OwnedReadHalf<S: Duplex> {
    /// Shared with the write half.
    stream: Arc<S>,
}

/// The owned write half of a stream, from `into_split` (see
/// [`TcpStream::into_split`]). Writes with futures-io's [`AsyncWrite`]
/// (`close` shuts down the write direction; `flush` does nothing: writes go
/// straight to the socket). Dropping it shuts down the write direction
/// unless [`forget`](OwnedWriteHalf::forget) is used.
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = gpm::spawn(async move {
///     let mut text = String::new();
///     listener.accept().await.unwrap().0.read_to_string(&mut text).await.unwrap();
///     text
/// });
/// let (_reader, mut writer) = gpm::net::TcpStream::connect(addr).await.unwrap().into_split();
/// writer.write_all(b"bye").await.unwrap();
/// drop(writer); // the server reads EOF
/// assert_eq!(server.await.unwrap(), "bye");
/// # });
/// ```
pub struct OwnedWriteHalf<S: Duplex> {
    /// Shared with the read half.
    stream: Arc<S>,
    /// Shut down the write direction on drop (cleared by `close`, `forget`
    /// and `reunite`).
    shutdown_on_drop: bool,
}

/// The two halves given back by a failed `reunite`: they came from
/// different streams.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// let (r1, _w1) = gpm::net::TcpStream::connect(addr).await.unwrap().into_split();
/// let (_r2, w2) = gpm::net::TcpStream::connect(addr).await.unwrap().into_split();
/// let gpm::net::ReuniteError(r1, w2) = r1.reunite(w2).unwrap_err();
/// # drop((r1, w2));
/// # });
/// ```
pub struct ReuniteError<S: Duplex>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: Duplex> OwnedReadHalf<S> {
    /// Splits `stream` (the same as its `into_split`; usable in code
    /// generic over [`Duplex`]).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (r, w) = gpm::net::OwnedReadHalf::from_stream(stream);
    /// assert!(r.reunite(w).is_ok());
    /// # });
    /// ```
    pub fn from_stream(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
        into_split(stream)
    }

    /// Sets the stream's read deadline (the same as
    /// `as_ref().set_read_deadline(..)`; see
    /// [`TcpStream::set_deadline`]): reads through this half that would
    /// wait past it fail with [`io::ErrorKind::TimedOut`].
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (mut reader, _writer) = stream.into_split();
    /// reader.set_read_deadline(Some(Instant::now() + Duration::from_millis(5)));
    /// let err = reader.read(&mut [0; 1]).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # });
    /// ```
    pub fn set_read_deadline(&self, deadline: Option<std::time::Instant>) {
        self.stream.set_read_deadline(deadline)
    }

    /// Puts the halves back together, if they came from the same stream;
    /// the write direction stays open.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (r, w) = stream.into_split();
    /// let stream = r.reunite(w).unwrap();
    /// assert!(stream.peer_addr().is_ok());
    /// # });
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        other.forget();
        // The two halves held the only references, and `other` is gone.
        match Arc::try_unwrap(self.stream) {
            Ok(stream) => Ok(stream),
            Err(_) => unreachable!("a stream's halves hold its only references"),
        }
    }
}

impl<S: Duplex> OwnedWriteHalf<S> {
    /// Puts the halves back together, if they came from the same stream
    /// (see [`OwnedReadHalf::reunite`]).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let (r, w) = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap().into_split();
    /// assert!(w.reunite(r).is_ok());
    /// # });
    /// ```
    pub fn reunite(self, other: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        other.reunite(self)
    }

    /// Drops the write half without shutting down the write direction
    /// (the stream closes when the read half is dropped too).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// # let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let (_r, w) = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap().into_split();
    /// w.forget();
    /// # });
    /// ```
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }

    /// Sets the stream's write deadline (the same as
    /// `as_ref().set_write_deadline(..)`; see
    /// [`TcpStream::set_deadline`]): writes through this half that would
    /// wait past it fail with [`io::ErrorKind::TimedOut`].
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (_reader, mut writer) = stream.into_split();
    /// writer.set_write_deadline(Some(Instant::now() - Duration::from_millis(1)));
    /// let err = writer.write(b"x").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # });
    /// ```
    pub fn set_write_deadline(&self, deadline: Option<std::time::Instant>) {
        self.stream.set_write_deadline(deadline)
    }
}

impl<S: Duplex> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may be gone already (ENOTCONN): nothing to report.
            let _ = self.stream.shutdown_write();
        }
    }
}

impl<S: Duplex> AsRef<S> for OwnedReadHalf<S> {
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: Duplex> AsRef<S> for OwnedWriteHalf<S> {
    fn as_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: Duplex> AsyncRead for OwnedReadHalf<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_read_ref(cx, buf)
    }
}

impl<S: Duplex> AsyncWrite for OwnedWriteHalf<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_write_ref(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_vectored_ref(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = self.stream.shutdown_write();
        if r.is_ok() {
            self.shutdown_on_drop = false;
        }
        Poll::Ready(r)
    }
}

/// The borrowed read half of a stream, from `split` (see
/// [`TcpStream::split`]). Dropping it does nothing.
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// gpm::spawn(async move {
///     let (s, _) = listener.accept().await.unwrap();
///     let (mut r, mut w) = s.split();
///     futures::io::copy(&mut r, &mut w).await.unwrap();
/// });
/// let mut client = gpm::net::TcpStream::connect(addr).await.unwrap();
/// client.write_all(b"ok").await.unwrap();
/// let mut buf = [0; 2];
/// client.read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"ok");
/// # });
/// ```
pub struct ReadHalf<'a, S: Duplex> {
    /// The whole stream.
    stream: &'a S,
}

/// The borrowed write half of a stream, from `split` (see
/// [`TcpStream::split`]). `close` shuts down the write direction; dropping
/// it does nothing.
///
/// ```
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = gpm::spawn(async move {
///     let mut text = String::new();
///     listener.accept().await.unwrap().0.read_to_string(&mut text).await.unwrap();
///     text
/// });
/// let stream = gpm::net::TcpStream::connect(addr).await.unwrap();
/// let (_r, mut w) = stream.split();
/// w.write_all(b"done").await.unwrap();
/// w.close().await.unwrap();
/// assert_eq!(server.await.unwrap(), "done");
/// # });
/// ```
pub struct WriteHalf<'a, S: Duplex> {
    /// The whole stream.
    stream: &'a S,
}

impl<S: Duplex> ReadHalf<'_, S> {
    /// Sets the stream's read deadline (the same as
    /// `as_ref().set_read_deadline(..)`; see
    /// [`TcpStream::set_deadline`]): reads through this half that would
    /// wait past it fail with [`io::ErrorKind::TimedOut`].
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (mut reader, _writer) = gpm::net::TcpStream::split(&stream);
    /// reader.set_read_deadline(Some(Instant::now() + Duration::from_millis(5)));
    /// let err = reader.read(&mut [0; 1]).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # });
    /// ```
    pub fn set_read_deadline(&self, deadline: Option<std::time::Instant>) {
        self.stream.set_read_deadline(deadline)
    }
}

impl<S: Duplex> WriteHalf<'_, S> {
    /// Sets the stream's write deadline (the same as
    /// `as_ref().set_write_deadline(..)`; see
    /// [`TcpStream::set_deadline`]): writes through this half that would
    /// wait past it fail with [`io::ErrorKind::TimedOut`].
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use futures::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    /// let (_reader, mut writer) = gpm::net::TcpStream::split(&stream);
    /// writer.set_write_deadline(Some(Instant::now() - Duration::from_millis(1)));
    /// let err = writer.write(b"x").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # });
    /// ```
    pub fn set_write_deadline(&self, deadline: Option<std::time::Instant>) {
        self.stream.set_write_deadline(deadline)
    }
}

impl<S: Duplex> AsRef<S> for ReadHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.stream
    }
}

impl<S: Duplex> AsRef<S> for WriteHalf<'_, S> {
    fn as_ref(&self) -> &S {
        self.stream
    }
}

impl<S: Duplex> AsyncRead for ReadHalf<'_, S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_read_ref(cx, buf)
    }
}

impl<S: Duplex> AsyncWrite for WriteHalf<'_, S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_write_ref(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_vectored_ref(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown_write())
    }
}

macro_rules! debug_half {
    ($($name:ident $(<$lt:lifetime>)?),*) => {$(
        impl<S: Duplex + std::fmt::Debug> std::fmt::Debug for $name<$($lt,)? S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&*self.stream).finish()
            }
        }
    )*};
}
debug_half!(OwnedReadHalf, OwnedWriteHalf, ReadHalf<'_>, WriteHalf<'_>);

impl<S: Duplex> std::fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl<S: Duplex> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: Duplex> std::error::Error for ReuniteError<S> {}
