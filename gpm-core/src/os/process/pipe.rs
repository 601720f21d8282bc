//! The pipes between gpm and a child: its stdin, stdout and stderr, gpm's
//! own ends of them, non-blocking and registered on the netpoller.

use crate::net::Registered;
use crate::sched::Direction;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A pipe to or from a child, on the netpoller.
pub(super) struct Pipe {
    io: Registered<std::fs::File>,
}

impl Pipe {
    pub(super) fn new(fd: OwnedFd) -> io::Result<Pipe> {
        set_nonblocking(&fd)?;
        Ok(Pipe {
            io: Registered::new(std::fs::File::from(fd))?,
        })
    }

    pub(super) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_stream(cx, Direction::Read, buf.len(), |mut f| f.read(buf))
    }

    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream(cx, Direction::Write, buf.len(), |mut f| f.write(buf))
    }
}

/// Sets `O_NONBLOCK` on a pipe gpm created (its own end only).
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: `raw` is a valid open fd (borrowed from `fd` for the call);
    // F_GETFL takes no pointer.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; F_SETFL takes an int.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The writer to a child's stdin (futures-io `AsyncWrite`, on the
/// netpoller). `close` (or dropping it) closes the pipe: the child reads
/// EOF.
///
/// ```
/// use futures::AsyncWriteExt;
/// use gpm::process::{Command, Stdio};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut child = Command::new("wc").arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
/// let mut stdin = child.stdin.take().unwrap();
/// stdin.write_all(b"12345").await.unwrap();
/// stdin.close().await.unwrap();
/// let out = child.wait_with_output().await.unwrap();
/// assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), "5");
/// # });
/// ```
pub struct ChildStdin {
    /// `None` once closed.
    pub(super) pipe: Option<Pipe>,
}

/// The reader of a child's stdout (futures-io `AsyncRead`, on the
/// netpoller).
///
/// ```
/// use futures::AsyncReadExt;
/// use gpm::process::{Command, Stdio};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut child = Command::new("echo").arg("out").stdout(Stdio::piped()).spawn().unwrap();
/// let mut text = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut text).await.unwrap();
/// assert_eq!(text, "out\n");
/// child.wait().await.unwrap();
/// # });
/// ```
pub struct ChildStdout {
    pub(super) pipe: Pipe,
}

/// The reader of a child's stderr (futures-io `AsyncRead`, on the
/// netpoller).
///
/// ```
/// use futures::AsyncReadExt;
/// use gpm::process::{Command, Stdio};
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut child = Command::new("sh").args(["-c", "echo err >&2"]).stderr(Stdio::piped()).spawn().unwrap();
/// let mut text = String::new();
/// child.stderr.take().unwrap().read_to_string(&mut text).await.unwrap();
/// assert_eq!(text, "err\n");
/// child.wait().await.unwrap();
/// # });
/// ```
pub struct ChildStderr {
    pub(super) pipe: Pipe,
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &self.pipe {
            Some(p) => p.poll_write(cx, buf),
            None => Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pipe = None;
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncRead for ChildStdout {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.pipe.poll_read(cx, buf)
    }
}

impl futures_io::AsyncRead for ChildStderr {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.pipe.poll_read(cx, buf)
    }
}

macro_rules! debug_pipe {
    ($($ty:ident),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($ty), " { .. }"))
            }
        }
    )*};
}
debug_pipe!(ChildStdin, ChildStdout, ChildStderr);
