//! The process's standard input, output and error as futures-io types (Go's
//! `os.Stdin`, `os.Stdout`, `os.Stderr`).
//!
//! Go's `bufio.Scanner(os.Stdin)` is futures' `BufReader` and its `lines`:
//!
//! ```no_run
//! use futures::{AsyncBufReadExt, AsyncWriteExt, StreamExt};
//!
//! #[gpm::main]
//! async fn main() -> std::io::Result<()> {
//!     let mut lines = futures::io::BufReader::new(gpm::io::stdin()).lines();
//!     let mut out = gpm::io::stdout();
//!     while let Some(line) = lines.next().await {
//!         out.write_all(line?.to_uppercase().as_bytes()).await?;
//!         out.write_all(b"\n").await?;
//!     }
//!     out.flush().await
//! }
//! ```
//!
//! # Where the work runs, and why
//! - **[`Stdin`] reads on the blocking pool** ([`crate::spawn_blocking`],
//!   as tokio does): each read is a job that reads up to 64 KiB, and the
//!   goroutine waits for it without holding its thread. A read of stdin may
//!   wait forever (a terminal nobody types into), so it must not hold an M,
//!   and the goroutine must stay cancellable (`select!`, `timeout`): a
//!   cancelled read goes on in the pool, and its bytes wait in the `Stdin`
//!   for the next read. Not the netpoller: stdin may be a regular file,
//!   which epoll refuses, and a terminal or pipe would have to be switched
//!   to `O_NONBLOCK`, a flag on the open file that the parent shell and
//!   every other process sharing it would see too (why tokio does not do
//!   it either). The price: a thread hop per read (reads are up to 64 KiB,
//!   so a line reader makes few), and a pool thread that stays in a read
//!   until input comes (at shutdown it is left to finish on its own).
//! - **[`Stdout`] and [`Stderr`] write inline, as [`crate::syscall`]s**
//!   (Go's `os.Stdout.Write` is a blocking `write` in `entersyscall`): no
//!   thread hop, writes in order, errors at once. A write that blocks (a
//!   full pipe to a slow reader) blocks its goroutine's thread, and the P
//!   moves to another thread as for any syscall. They go through std's
//!   handles: stdout is line-buffered by std (`flush` to push out a partial
//!   line), stderr is not buffered.
//!
//! Keep one [`Stdin`] (wrapped in one `BufReader`): each handle keeps its
//! own bytes read ahead.

use super::blocking::{Blocking, Inner};
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

impl Inner for io::Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Read::read(self, buf)
    }
}

/// The standard input (Go's `os.Stdin`), with futures-io's `AsyncRead`;
/// reads run on the blocking pool (see [the module](self)).
///
/// ```no_run
/// use futures::AsyncReadExt;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut input = String::new();
/// gpm::io::stdin().read_to_string(&mut input).await.unwrap();
/// # });
/// ```
pub struct Stdin {
    inner: Blocking<io::Stdin>,
}

/// The standard input. Its reads need a gpm runtime (they run on its
/// blocking pool).
///
/// ```no_run
/// use futures::AsyncBufReadExt;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut line = String::new();
/// futures::io::BufReader::new(gpm::io::stdin()).read_line(&mut line).await.unwrap();
/// # });
/// ```
pub fn stdin() -> Stdin {
    Stdin {
        inner: Blocking::new(io::stdin()),
    }
}

impl futures_io::AsyncRead for Stdin {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_read(cx, buf)
    }
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stdin { .. }")
    }
}

/// The standard output (Go's `os.Stdout`), with futures-io's `AsyncWrite`:
/// each write is an inline [`crate::syscall`] on std's (line-buffered)
/// stdout.
///
/// ```
/// use futures::AsyncWriteExt;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut out = gpm::io::stdout();
/// out.write_all(b"hello from a goroutine\n").await.unwrap();
/// out.flush().await.unwrap();
/// # });
/// ```
#[derive(Debug)]
pub struct Stdout {
    _private: (),
}

/// The standard output.
///
/// ```
/// use futures::AsyncWriteExt;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// gpm::io::stdout().write_all(b"hi\n").await.unwrap();
/// # });
/// ```
pub fn stdout() -> Stdout {
    Stdout { _private: () }
}

/// The standard error (Go's `os.Stderr`), with futures-io's `AsyncWrite`:
/// each write is an inline [`crate::syscall`] on std's (unbuffered)
/// stderr.
///
/// ```
/// use futures::AsyncWriteExt;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// gpm::io::stderr().write_all(b"warning: nothing to do\n").await.unwrap();
/// # });
/// ```
#[derive(Debug)]
pub struct Stderr {
    _private: (),
}

/// The standard error.
///
/// ```
/// use futures::AsyncWriteExt;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// gpm::io::stderr().write_all(b"oops\n").await.unwrap();
/// # });
/// ```
pub fn stderr() -> Stderr {
    Stderr { _private: () }
}

/// futures-io's `AsyncWrite` for a std stream, each call a syscall.
macro_rules! inline_writer {
    ($ty:ty, $std:path) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                std::task::ready!(crate::coop::proceed(cx));
                Poll::Ready(crate::syscall(|| $std().write(buf)))
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                std::task::ready!(crate::coop::proceed(cx));
                Poll::Ready(crate::syscall(|| $std().write_vectored(bufs)))
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(crate::syscall(|| $std().flush()))
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_flush(cx)
            }
        }
    };
}

inline_writer!(Stdout, io::stdout);
inline_writer!(Stderr, io::stderr);
