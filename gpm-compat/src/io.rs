//! [`HyperIo`]: futures-io streams (gpm's TCP stream and the like) as
//! hyper 1.x's `rt::Read` / `rt::Write`, and back.
//!
//! ## How reads stay safe
//!
//! hyper hands a read a [`ReadBufCursor`] over memory that may be
//! uninitialized, while futures-io's `poll_read` wants a `&mut [u8]`.
//! Lending hyper's memory takes `unsafe` (or zeroing the whole unfilled
//! part on every read, since hyper builds a fresh `ReadBuf` each time and
//! so forgets what was zeroed before). Instead the stream reads into a
//! scratch buffer that belongs to the thread, zeroed once as it grows, and
//! the bytes read are copied into hyper's buffer with the safe
//! [`ReadBufCursor::put_slice`]. That copy is of the bytes actually read
//! (an HTTP request is often a few hundred), which costs less than zeroing
//! hyper's 8 KiB or more each time; the buffer is only borrowed for the
//! duration of one `poll_read`, so no connection carries one while idle.

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::{ReadBuf, ReadBufCursor};
use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The most one read asks of the stream: the size the per-thread scratch
/// buffer grows to. 64 KiB is a loopback TCP read's usual best and four
/// times hyper's first read buffer; hyper asks for less most of the time.
const SCRATCH_MAX: usize = 64 * 1024;

thread_local! {
    /// Where reads land before they are copied into hyper's buffer. Grows
    /// (zero-filled) to the largest read asked on this thread, up to
    /// [`SCRATCH_MAX`]; its length is how much of it is initialized.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

pin_project_lite::pin_project! {
    /// A futures-io stream as hyper's IO, so hyper's HTTP/1 and HTTP/2
    /// connections run over gpm's [`TcpStream`](gpm_core::net::TcpStream)
    /// (or any `AsyncRead + AsyncWrite`), the way hyper-util's `TokioIo`
    /// does for tokio's streams.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use gpm::net::{TcpListener, TcpStream};
    /// use gpm_compat::{GpmTimer, HyperIo};
    /// use http_body_util::{BodyExt, Full};
    /// use hyper::{service::service_fn, Request, Response};
    ///
    /// # gpm::runtime::Runtime::new()?.block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// gpm::spawn(async move {
    ///     let (stream, _) = listener.accept().await.unwrap();
    ///     let hello = service_fn(|_req: Request<hyper::body::Incoming>| async {
    ///         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hello"))))
    ///     });
    ///     hyper::server::conn::http1::Builder::new()
    ///         .timer(GpmTimer::new())
    ///         .serve_connection(HyperIo::new(stream), hello)
    ///         .await
    ///         .unwrap();
    /// });
    ///
    /// let stream = TcpStream::connect(addr).await?;
    /// let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
    ///     .await
    ///     .unwrap();
    /// gpm::spawn(conn);
    /// let request = Request::get("/").header("host", "localhost").body(http_body_util::Empty::<Bytes>::new())?;
    /// let response = sender.send_request(request).await.unwrap();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// It works both ways: wrapping a hyper IO type (such as
    /// `hyper::upgrade::Upgraded`) it is a futures-io `AsyncRead` /
    /// `AsyncWrite`, for code written against futures' IO traits.
    ///
    /// Writes, flushes and vectored writes are passed through; hyper's
    /// shutdown is futures-io's `poll_close` (for a gpm `TcpStream`: shut
    /// down the write half, so the peer reads end of file).
    #[derive(Debug)]
    pub struct HyperIo<T> {
        #[pin]
        inner: T,
        // What `is_write_vectored` tells hyper (see `vectored_writes`).
        vectored: bool,
    }
}

impl<T> HyperIo<T> {
    /// Wraps `inner`. It reports vectored writes as supported (see
    /// [`vectored_writes`](HyperIo::vectored_writes)).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new()?.block_on(async {
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = gpm::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let io = gpm_compat::HyperIo::new(stream);
    /// assert!(hyper::rt::Write::is_write_vectored(&io));
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo { inner, vectored: true }
    }

    /// Sets what [`is_write_vectored`](hyper::rt::Write::is_write_vectored)
    /// reports to hyper, `true` by default.
    ///
    /// futures-io has no way to ask a stream whether its
    /// `poll_write_vectored` is real (gpm's TCP stream's is one `writev`) or
    /// the default that writes only the first buffer. For a stream with the
    /// default, pass `false`: hyper then copies a response's head and body
    /// into one buffer and writes that, instead of one write per buffer.
    /// Either way every byte is written.
    ///
    /// ```
    /// use hyper::rt::Write;
    ///
    /// // A `Vec<u8>` in futures' `Cursor` writes one buffer at a time.
    /// let io = gpm_compat::HyperIo::new(futures::io::Cursor::new(Vec::new())).vectored_writes(false);
    /// assert!(!io.is_write_vectored());
    /// ```
    #[must_use]
    pub fn vectored_writes(mut self, vectored: bool) -> HyperIo<T> {
        self.vectored = vectored;
        self
    }

    /// The wrapped stream.
    ///
    /// ```
    /// let io = gpm_compat::HyperIo::new(futures::io::Cursor::new(vec![1, 2]));
    /// assert_eq!(io.inner().get_ref(), &[1, 2]);
    /// ```
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    ///
    /// ```
    /// let mut io = gpm_compat::HyperIo::new(futures::io::Cursor::new(vec![1, 2]));
    /// io.inner_mut().get_mut().push(3);
    /// assert_eq!(io.inner().get_ref(), &[1, 2, 3]);
    /// ```
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped stream, pinned (for a stream that is not `Unpin`).
    ///
    /// ```
    /// let mut io = Box::pin(gpm_compat::HyperIo::new(futures::io::Cursor::new(vec![1])));
    /// assert_eq!(io.as_mut().inner_pin_mut().get_ref(), &[1]);
    /// ```
    pub fn inner_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// Unwraps the stream, for example to take a gpm `TcpStream` back after
    /// hyper's connection gave up the IO (`Connection::into_parts`).
    ///
    /// ```
    /// let io = gpm_compat::HyperIo::new(futures::io::Cursor::new(vec![7]));
    /// assert_eq!(io.into_inner().into_inner(), vec![7]);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> From<T> for HyperIo<T> {
    fn from(inner: T) -> HyperIo<T> {
        HyperIo::new(inner)
    }
}

/// Reads from `io` into `scratch` (grown to `want` bytes if shorter), then
/// copies what was read into `buf`.
fn read_via<T: AsyncRead + ?Sized>(
    io: Pin<&mut T>,
    cx: &mut Context<'_>,
    buf: &mut ReadBufCursor<'_>,
    scratch: &mut Vec<u8>,
    want: usize,
) -> Poll<io::Result<()>> {
    if scratch.len() < want {
        // Zeroes only the new part: what is there was initialized before.
        scratch.resize(want, 0);
    }
    let n = ready!(io.poll_read(cx, &mut scratch[..want]))?;
    match scratch.get(..n) {
        Some(read) if n <= want => {
            buf.put_slice(read);
            Poll::Ready(Ok(()))
        }
        _ => Poll::Ready(Err(io::Error::other(format!(
            "poll_read reported {n} bytes read into a buffer of {want}"
        )))),
    }
}

/// hyper reads from the futures-io stream (see the module notes on how the
/// bytes reach hyper's buffer without `unsafe`).
impl<T: AsyncRead> hyper::rt::Read for HyperIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, mut buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        let want = buf.remaining().min(SCRATCH_MAX);
        let mut io = self.project().inner;
        if want == 0 {
            // Nothing fits: like a zero-length read, done at once.
            return Poll::Ready(Ok(()));
        }
        let shared = SCRATCH.try_with(|cell| {
            let mut scratch = cell.try_borrow_mut().ok()?;
            Some(read_via(io.as_mut(), cx, &mut buf, &mut scratch, want))
        });
        match shared {
            Ok(Some(poll)) => poll,
            // Re-entered on this thread (a stream that reads through another
            // HyperIo) or the thread is exiting: a buffer of its own.
            _ => read_via(io, cx, &mut buf, &mut Vec::new(), want),
        }
    }
}

/// hyper writes to the futures-io stream; shutdown is `poll_close`.
impl<T: AsyncWrite> hyper::rt::Write for HyperIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }
}

/// The other way: a hyper IO type (an upgraded connection, say) read through
/// futures-io. hyper's `ReadBuf::new` takes the initialized `&mut [u8]`, so
/// this needs no copy.
impl<T: hyper::rt::Read> AsyncRead for HyperIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

/// The other way: a hyper IO type written through futures-io; `poll_close`
/// is hyper's `poll_shutdown`.
impl<T: hyper::rt::Write> AsyncWrite for HyperIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// hyper's connections need `Send + Unpin` IO for `Send` futures.
const _: () = {
    const fn send_sync_unpin<T: Send + Sync + Unpin>() {}
    send_sync_unpin::<HyperIo<gpm_core::net::TcpStream>>();
};
