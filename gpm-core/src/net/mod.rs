//! Networking on the netpoller.
//!
//! - TCP: [`TcpListener`] (`bind`, `accept`) and [`TcpStream`] (`connect`,
//!   `connect_timeout`, futures-io `AsyncRead` / `AsyncWrite`, `shutdown`).
//! - UDP: [`UdpSocket`] (`send_to` / `recv_from` / `peek_from`, and
//!   `send` / `recv` / `peek` once connected).
//! - Unix domain sockets (on Unix): [`UnixListener`], [`UnixStream`]
//!   (`connect`, `pair`, futures-io `AsyncRead` / `AsyncWrite`) and
//!   [`UnixDatagram`].
//! - Halves of a stream ([`Duplex`]: `TcpStream`, `UnixStream`):
//!   `into_split` gives [`OwnedReadHalf`] and [`OwnedWriteHalf`] for two
//!   goroutines (dropping the write half shuts down the write direction,
//!   as in tokio; [`ReuniteError`] if `reunite` gets halves of different
//!   streams); `split` borrows [`ReadHalf`] and [`WriteHalf`].
//!   `&TcpStream` and `&UnixStream` are readers and writers too.
//! - Deadlines (Go's `SetDeadline`, `SetReadDeadline`,
//!   `SetWriteDeadline`): every socket has `set_deadline` (listeners: for
//!   accepts), streams and datagram sockets also `set_read_deadline` and
//!   `set_write_deadline`, halves the deadline of their direction. A
//!   deadline is an absolute [`std::time::Instant`] (`None` clears it); an
//!   operation that would wait past it fails with
//!   [`io::ErrorKind::TimedOut`] (Go's `os.ErrDeadlineExceeded`), and
//!   setting one wakes the operations waiting so that it applies to them.
//!   One timer per deadline set, on the runtime's timers (`deadline.rs`).
//!
//! Sockets are std's, set non-blocking and registered with the runtime's
//! netpoller. An operation tries its syscall first; when the socket is not
//! ready the goroutine waits (shown as `IO wait` in dumps) until the
//! netpoller sees it ready. Every operation spends cooperative budget.
//! Connecting is non-blocking too: the goroutine waits for the socket to
//! be writable, then reads the outcome. Names are resolved with
//! [`crate::syscall`] (a DNS lookup may block its thread, not the P).
//! Creating a socket needs a gpm runtime (an `io::Error` otherwise).
//! Errors are `io::Error`s: a peer that resets or vanishes never panics.
//!
//! ```
//! use futures::{AsyncReadExt, AsyncWriteExt};
//! use gpm::net::{TcpListener, TcpStream};
//!
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server = gpm::spawn(async move {
//!     let (mut stream, _) = listener.accept().await.unwrap();
//!     let mut buf = [0; 5];
//!     stream.read_exact(&mut buf).await.unwrap();
//!     stream.write_all(&buf).await.unwrap();
//! });
//! let mut client = TcpStream::connect(addr).await.unwrap();
//! client.write_all(b"hello").await.unwrap();
//! let mut buf = [0; 5];
//! client.read_exact(&mut buf).await.unwrap();
//! assert_eq!(&buf, b"hello");
//! server.await.unwrap();
//! # });
//! ```

mod deadline;
mod split;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use split::{Duplex, OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use crate::sched::{Direction, Netpoll, PollDesc, Shared};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Acquire, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

/// futures-io's `AsyncRead` and `AsyncWrite` for a shared reference to a
/// stream type, from its `poll_*_ref` methods and `shutdown`, and for the
/// type itself through the reference
/// (`close` shuts down the write direction; `flush` does nothing: writes
/// go straight to the socket).
macro_rules! stream_io {
    ($ty:ty) => {
        impl futures_io::AsyncRead for &$ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_read_ref(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for &$ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_ref(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.poll_write_vectored_ref(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }

        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut &*self).poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut &*self).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut &*self).poll_flush(cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut &*self).poll_close(cx)
            }
        }
    };
}
use stream_io;

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

/// True if a non-blocking `connect` returned "started, not finished yet"
/// (`EINPROGRESS` on Unix, `WSAEWOULDBLOCK` on Windows). On Unix, `EAGAIN`
/// is a failure (no local port left; a Unix socket's backlog is full).
fn connect_in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    return e.raw_os_error() == Some(libc::EINPROGRESS);
    #[cfg(not(unix))]
    return e.kind() == io::ErrorKind::WouldBlock;
}

/// A socket registered with a runtime's netpoller; deregistered on drop,
/// before the socket closes.
pub(crate) struct Registered<T: AsRawFd> {
    /// The socket.
    io: T,
    /// Its readiness in the netpoller.
    desc: Arc<PollDesc>,
    /// The runtime: its netpoller, and its timers for deadlines.
    shared: Arc<Shared>,
    /// The read and write deadlines.
    deadlines: Arc<deadline::Deadlines>,
    /// Per direction: 1 + the edge count read before a short stream
    /// transfer (fewer bytes than asked: the socket was drained, or its
    /// send buffer filled), 0 if none. While no edge has come since, the
    /// next transfer would only say `WouldBlock`, so it waits without
    /// trying (tokio clears readiness the same way).
    drained: [AtomicU64; 2],
    /// Bit `1 << dir`: a deadline is set in direction `dir`. Without one,
    /// operations never touch `deadlines` (see `deadline.rs`).
    has_deadline: AtomicU8,
}

fn no_runtime() -> io::Error {
    io::Error::other("gpm::net used outside a gpm runtime")
}

impl<T: AsRawFd> Registered<T> {
    /// Registers `io` (already non-blocking) with the current runtime.
    pub(crate) fn new(io: T) -> io::Result<Registered<T>> {
        let handle = crate::runtime::Handle::try_current().ok_or_else(no_runtime)?;
        // `Drop` deregisters `io` before it closes, and `io` is never
        // handed out by value.
        let desc = handle.shared.netpoll().register(io.as_raw_fd())?;
        Ok(Registered {
            io,
            desc,
            shared: handle.shared,
            deadlines: Arc::default(),
            drained: [AtomicU64::new(0), AtomicU64::new(0)],
            has_deadline: AtomicU8::new(0),
        })
    }

    /// Sets (`None`: clears) the deadline of direction `dir`; see
    /// `deadline.rs`.
    pub(crate) fn set_deadline(&self, dir: Direction, deadline: Option<std::time::Instant>) {
        if self.deadlines.set(&self.shared, dir, deadline, &self.has_deadline) {
            // After the bit is stored: waiters that did not list themselves
            // with the deadlines (there was none) look again.
            self.netpoll().kick(&self.desc, dir);
        }
    }

    /// A deadline is set in direction `dir` (read after the edge count).
    fn has_deadline(&self, dir: Direction) -> bool {
        self.has_deadline.load(Acquire) & (1 << dir as u8) != 0
    }

    /// Both deadlines.
    pub(crate) fn set_deadlines(&self, deadline: Option<std::time::Instant>) {
        self.set_deadline(Direction::Read, deadline);
        self.set_deadline(Direction::Write, deadline);
    }

    /// The runtime's netpoller.
    fn netpoll(&self) -> &Netpoll {
        self.shared.netpoll()
    }

    pub(crate) fn get(&self) -> &T {
        &self.io
    }

    /// Runs `op` until it does not return `WouldBlock`; in between, waits
    /// for the socket to be ready in direction `dir`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        std::task::ready!(crate::coop::proceed(cx));
        if self.has_deadline(dir) {
            self.deadlines.check(dir)?;
        }
        let r = loop {
            let seen = self.desc.edges(dir);
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = std::task::ready!(self.wait(cx, dir, seen)) {
                        break Err(e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        self.deadline_done(dir, cx);
        Poll::Ready(r)
    }

    /// [`poll_io`](Registered::poll_io) for a stream transfer of `want`
    /// bytes (a read, a write): after a short transfer, the next one waits
    /// for an edge instead of making a system call that would fail.
    pub(crate) fn poll_stream(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        want: usize,
        op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(crate::coop::proceed(cx));
        if self.has_deadline(dir) {
            self.deadlines.check(dir)?;
        }
        let r = self.poll_stream_inner(cx, dir, want, op);
        if r.is_ready() {
            self.deadline_done(dir, cx);
        }
        r
    }

    /// An operation ended: takes back the waker it may have left with the
    /// deadlines. With no deadline set there is none: clearing one takes
    /// every listed waker, and nobody lists itself while there is none.
    fn deadline_done(&self, dir: Direction, cx: &Context<'_>) {
        if self.has_deadline(dir) {
            self.deadlines.done(dir, cx.waker());
        }
    }

    fn poll_stream_inner(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        want: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let drained = &self.drained[dir as usize];
        loop {
            let seen = self.desc.edges(dir);
            // (Not once the peer closed or the socket broke: a short read
            // may have been followed by the FIN, whose edge came before
            // `seen`; the next read returns 0 at once.)
            if want > 0 && drained.load(Relaxed) == seen.wrapping_add(1) && !self.desc.hung_up(dir) {
                // Ready: an edge came since, so try the transfer.
                std::task::ready!(self.wait(cx, dir, seen))?;
            }
            match op(&self.io) {
                Ok(n) => {
                    if n > 0 && n < want {
                        drained.store(seen.wrapping_add(1), Relaxed);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::task::ready!(self.wait(cx, dir, seen))?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Waits for an edge in direction `dir` after `seen` (the count read
    /// before an operation that would block): `Pending` with the waker
    /// stored, or `Ready(Ok(()))` if one came meanwhile (try again).
    /// Fails with `TimedOut` if the direction's deadline has passed (else
    /// a deadline set or reached meanwhile wakes the goroutine too).
    fn wait(&self, cx: &mut Context<'_>, dir: Direction, seen: u64) -> Poll<io::Result<()>> {
        if self.has_deadline(dir) {
            if let Poll::Ready(e) = self.deadlines.before_wait(dir, cx.waker()) {
                return Poll::Ready(Err(e));
            }
        }
        match self.netpoll().wait_for(&self.desc, dir, seen, cx.waker()) {
            Ok(true) => {
                crate::sched::park(crate::sched::WaitReason::IoWait);
                Poll::Pending
            }
            Ok(false) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl<T: AsRawFd> Drop for Registered<T> {
    fn drop(&mut self) {
        self.deadlines.clear(&self.shared);
        self.netpoll().deregister(self.io.as_raw_fd(), &self.desc);
    }
}
