//! futures-io over a blocking reader or writer (stdin, stdout, stderr, a
//! file): each transfer runs as a [`crate::spawn_blocking`] job, as tokio's
//! `io::Blocking` does.
//!
//! - **Reads** ask the pool to read up to [`MAX_BUF`] bytes into the
//!   adapter's buffer; the goroutine waits for the job (it can be
//!   cancelled meanwhile: the job goes on, and its bytes wait in the buffer
//!   for the next read).
//! - **Writes** copy up to [`MAX_BUF`] bytes into the buffer, start a job
//!   that writes them all, and report them written at once (write-behind);
//!   the next operation waits for the job and reports its error, if any.
//!   `flush` (and `close`) waits for the job, then flushes the inner writer
//!   on the pool.
//! - Bytes read ahead and not consumed are given back with
//!   [`Inner::unread`] before a write (a file seeks back).

use crate::JoinHandle;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The most bytes one job moves.
pub(crate) const MAX_BUF: usize = 64 * 1024;

/// What the adapter drives: the blocking operations, each run on the pool.
pub(crate) trait Inner: Send + 'static {
    /// As `Read::read` (unsupported by default).
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "not readable"))
    }
    /// As `Write::write_all` (unsupported by default).
    fn write_all(&mut self, _buf: &[u8]) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "not writable"))
    }
    /// As `Write::flush`.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Gives back `n` bytes read ahead (a file seeks back by `n`).
    fn unread(&mut self, _n: usize) -> io::Result<()> {
        Ok(())
    }
}

/// The adapter's buffer: bytes read ahead (`data[pos..]`), or bytes to
/// write.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    fn unread(&self) -> usize {
        self.data.len() - self.pos
    }
}

/// What a job did.
enum Done {
    Read(io::Result<()>),
    Write(io::Result<()>),
    Flush(io::Result<()>),
    /// A `with` job's result.
    With(io::Result<Box<dyn Any + Send>>),
}

type Job<T> = JoinHandle<(T, Buf, Done)>;

enum State<T> {
    /// The inner reader/writer and the buffer are here.
    Idle(Option<(T, Buf)>),
    /// A job has them.
    Busy(Job<T>),
}

/// futures-io's `AsyncRead` / `AsyncWrite` over an [`Inner`] on the
/// blocking pool.
pub(crate) struct Blocking<T> {
    state: State<T>,
    /// A write since the last flush of the inner writer.
    need_flush: bool,
}

fn lost() -> io::Error {
    io::Error::other("a blocking i/o job panicked or was cancelled; the handle is unusable")
}

impl<T: Inner> Blocking<T> {
    pub(crate) fn new(inner: T) -> Blocking<T> {
        Blocking {
            state: State::Idle(Some((inner, Buf::default()))),
            need_flush: false,
        }
    }

    /// Waits for the job in flight, if any; returns what it did.
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<Option<Done>> {
        let State::Busy(job) = &mut self.state else {
            return Poll::Ready(None);
        };
        match std::task::ready!(Pin::new(job).poll(cx)) {
            Ok((inner, buf, done)) => {
                self.state = State::Idle(Some((inner, buf)));
                Poll::Ready(Some(done))
            }
            Err(_) => {
                self.state = State::Idle(None);
                Poll::Ready(None)
            }
        }
    }

    /// The inner value and buffer, once no job runs.
    fn idle(&mut self) -> io::Result<(T, Buf)> {
        match &mut self.state {
            State::Idle(slot) => slot.take().ok_or_else(lost),
            State::Busy(_) => unreachable!("idle() while a job runs"),
        }
    }

    fn start(&mut self, inner: T, buf: Buf, job: impl FnOnce(&mut T, &mut Buf) -> Done + Send + 'static) {
        self.state = State::Busy(crate::spawn_blocking(move || {
            let (mut inner, mut buf) = (inner, buf);
            let done = job(&mut inner, &mut buf);
            (inner, buf, done)
        }));
    }

    /// Waits for a job in flight; `Err` if it was a write that failed.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match std::task::ready!(self.poll_job(cx)) {
            Some(Done::Write(Err(e))) | Some(Done::Flush(Err(e))) => Poll::Ready(Err(e)),
            Some(Done::Read(Err(e))) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
        }
    }

    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            let fresh = match std::task::ready!(self.poll_job(cx)) {
                Some(Done::Read(Ok(()))) => true,
                Some(Done::Read(Err(e)) | Done::Write(Err(e)) | Done::Flush(Err(e))) => return Poll::Ready(Err(e)),
                _ => false,
            };
            let (inner, mut buf) = self.idle()?;
            // Bytes in the buffer, or a read just done (0 bytes: the end).
            if fresh || buf.unread() > 0 || out.is_empty() {
                let n = buf.unread().min(out.len());
                out[..n].copy_from_slice(&buf.data[buf.pos..buf.pos + n]);
                buf.pos += n;
                self.state = State::Idle(Some((inner, buf)));
                return Poll::Ready(Ok(n));
            }
            let want = out.len().min(MAX_BUF);
            self.start(inner, buf, move |inner, buf| {
                buf.data.resize(want, 0);
                buf.pos = 0;
                let r = loop {
                    match inner.read(&mut buf.data) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        r => break r,
                    }
                };
                buf.data.truncate(*r.as_ref().unwrap_or(&0));
                Done::Read(r.map(|_| ()))
            });
            // Loop: poll the job (it registers the waker).
        }
    }

    pub(crate) fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        std::task::ready!(self.poll_settle(cx))?;
        let (inner, mut buf) = self.idle()?;
        if data.is_empty() {
            self.state = State::Idle(Some((inner, buf)));
            return Poll::Ready(Ok(0));
        }
        let unread = buf.unread();
        let n = data.len().min(MAX_BUF);
        buf.data.clear();
        buf.pos = 0;
        buf.data.extend_from_slice(&data[..n]);
        self.need_flush = true;
        self.start(inner, buf, move |inner, buf| {
            let r = if unread > 0 { inner.unread(unread) } else { Ok(()) };
            let r = r.and_then(|()| inner.write_all(&buf.data));
            buf.data.clear();
            Done::Write(r)
        });
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let done = std::task::ready!(self.poll_job(cx));
            match done {
                Some(Done::Write(Err(e))) | Some(Done::Flush(Err(e))) => return Poll::Ready(Err(e)),
                Some(Done::Flush(Ok(()))) => self.need_flush = false,
                _ => {}
            }
            if let State::Idle(None) = self.state {
                return Poll::Ready(Err(lost()));
            }
            if !self.need_flush {
                return Poll::Ready(Ok(()));
            }
            let (inner, buf) = self.idle()?;
            self.start(inner, buf, |inner, _| Done::Flush(inner.flush()));
        }
    }

    /// Waits for the job in flight, then runs `f` on the inner value on
    /// the pool (for a file's `sync_all`, `metadata`, ...), after giving
    /// back the bytes read ahead. Cancelled, the job still runs, and the
    /// next operation waits for it.
    pub(crate) async fn with<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut T) -> io::Result<R> + Send + 'static,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await?;
        let (inner, mut buf) = self.idle()?;
        let unread = buf.unread();
        buf.data.clear();
        buf.pos = 0;
        self.start(inner, buf, move |inner, _| {
            let r = if unread > 0 { inner.unread(unread) } else { Ok(()) };
            Done::With(r.and_then(|()| f(inner)).map(|v| Box::new(v) as Box<dyn Any + Send>))
        });
        match std::future::poll_fn(|cx| self.poll_job(cx)).await {
            Some(Done::With(r)) => r.map(|v| *v.downcast::<R>().expect("the job's own type")),
            _ => Err(lost()),
        }
    }
}

use std::any::Any;
use std::future::Future;
