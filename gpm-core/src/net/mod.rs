//! Networking on the netpoller: [`TcpListener`] and [`TcpStream`].
//!
//! Sockets are std's, set non-blocking and registered with the runtime's
//! netpoller. An operation tries its syscall first; when the socket is not
//! ready the goroutine waits (shown as `IO wait` in dumps) until the
//! netpoller sees it ready. Every operation spends cooperative budget.
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

mod tcp;

pub use tcp::{TcpListener, TcpStream};

use crate::netpoll::{Direction, Netpoll, PollDesc};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A socket registered with a runtime's netpoller; deregistered on drop,
/// before the socket closes.
pub(crate) struct Registered<T: AsRawFd> {
    io: T,
    desc: Arc<PollDesc>,
    netpoll: Arc<Netpoll>,
}

fn no_runtime() -> io::Error {
    io::Error::other("gpm::net used outside a gpm runtime")
}

impl<T: AsRawFd> Registered<T> {
    /// Registers `io` (already non-blocking) with the current runtime.
    pub(crate) fn new(io: T) -> io::Result<Registered<T>> {
        let handle = crate::runtime::Handle::try_current().ok_or_else(no_runtime)?;
        let netpoll = handle.shared.netpoll.clone();
        // `Drop` deregisters `io` before it closes, and `io` is never
        // handed out by value.
        let desc = netpoll.register(io.as_raw_fd())?;
        Ok(Registered { io, desc, netpoll })
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
        loop {
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.netpoll.wait_for(&self.desc, dir, cx.waker()) {
                        Ok(true) => {
                            crate::wait::park(crate::wait::WaitReason::IoWait);
                            return Poll::Pending;
                        }
                        Ok(false) => continue,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return Poll::Ready(r),
            }
        }
    }
}

impl<T: AsRawFd> Drop for Registered<T> {
    fn drop(&mut self) {
        self.netpoll.deregister(self.io.as_raw_fd(), &self.desc);
    }
}
