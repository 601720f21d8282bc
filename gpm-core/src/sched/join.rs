//! `JoinHandle`: the result of a G started with [`spawn`](crate::spawn), or
//! of a job started with [`spawn_blocking`](crate::spawn_blocking).

use super::g::{panic_message, GInfo, Task};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

/// An owned permission to await a goroutine's result.
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the goroutine
/// panicked or was aborted. Dropping it detaches the goroutine, which keeps
/// running (unlike Go, a panic in it is then silently kept in the dropped
/// handle's place: start the goroutine with `go!` to make panics fatal).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let handle = gpm::spawn(async { 1 + 1 });
/// assert_eq!(handle.await.unwrap(), 2);
///
/// let handle = gpm::spawn(async { panic!("boom") });
/// let err = handle.await.unwrap_err();
/// assert!(err.is_panic());
/// # });
/// ```
pub struct JoinHandle<T> {
    task: Option<async_task::FallibleTask<Result<T, JoinError>, GInfo>>,
    /// The G's metadata; kept alive by `task`'s reference to the G.
    info: NonNull<GInfo>,
    /// Set when `poll` has returned `Ready` (`FusedFuture::is_terminated`).
    done: bool,
}

// SAFETY: `info` is only read and `GInfo` is `Sync`; the task handle is
// `Send`/`Sync` when `T: Send`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above: `&JoinHandle` only reads `GInfo` and calls `&self`
// methods of the task handle.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: Task<T>) -> JoinHandle<T> {
        let info = NonNull::from(task.metadata());
        JoinHandle {
            task: Some(task.fallible()),
            info,
            done: false,
        }
    }

    fn info(&self) -> &GInfo {
        // SAFETY: `self.task` holds a reference to the G, which keeps its
        // header (holding the `GInfo`) alive as long as `self` exists.
        unsafe { self.info.as_ref() }
    }

    /// The goroutine id (the `N` in dumps' `goroutine N`); for a
    /// [`spawn_blocking`](crate::spawn_blocking) job, its id, from the same
    /// sequence.
    pub fn id(&self) -> u64 {
        self.info().goid()
    }

    /// True once the goroutine has finished: returned, panicked, or been
    /// aborted. Awaiting the handle will not block then.
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Asks the goroutine to stop: the next time it is scheduled its future
    /// is dropped instead of polled, and awaiting this handle gives a
    /// [`JoinError`] for which [`JoinError::is_cancelled`] is true.
    ///
    /// A goroutine that has already finished keeps its result. Go has no
    /// such call (nobody can kill a goroutine from outside); it is here for
    /// tokio users. Prefer telling a goroutine to stop over a channel.
    pub fn abort(&self) {
        let info = self.info();
        if info.abort() {
            if let Some(waker) = info.shared.registry.waker_of(info) {
                waker.wake();
            }
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(super::preempt::proceed(cx));
        let goid = self.id();
        let task = self.task.as_mut().expect("JoinHandle polled after it returned Ready");
        match Pin::new(task).poll(cx) {
            Poll::Pending => {
                super::wait::park(super::wait::WaitReason::Join);
                Poll::Pending
            }
            Poll::Ready(result) => {
                self.done = true;
                // `None`: the runtime shut down and dropped the G.
                Poll::Ready(result.unwrap_or_else(|| Err(JoinError::cancelled(goid))))
            }
        }
    }
}

/// True once the handle has given its result, so `futures::select!` takes
/// a `JoinHandle` as it is (no `.fuse()`), and skips it after its branch ran.
///
/// ```
/// use futures::future::FusedFuture;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut h = gpm::spawn(async { 7 });
/// assert!(!h.is_terminated());
/// let v = futures::select! { r = h => r.unwrap() };
/// assert_eq!(v, 7);
/// assert!(h.is_terminated());
/// # });
/// ```
impl<T> futures_core::FusedFuture for JoinHandle<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a goroutine gave no result: it panicked, or it was cancelled
/// (aborted through its handle, or dropped when its runtime shut down); or
/// why a [`spawn_blocking`](crate::spawn_blocking) job did not run: no
/// thread could be started for it ([`JoinError::is_spawn_failure`]).
///
/// A `JoinError` is `Send + Sync + 'static`, as tokio's is, so `?` turns it
/// into a `Box<dyn Error + Send + Sync>` (or an `anyhow::Error`):
///
/// ```
/// use std::error::Error;
///
/// async fn answer() -> Result<u32, Box<dyn Error + Send + Sync>> {
///     let h = gpm::spawn(async { 42 });
///     Ok(h.await?)
/// }
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(answer().await.unwrap(), 42);
/// # });
/// ```
pub struct JoinError {
    goid: u64,
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// The payload is `Send` but not `Sync`; the `Mutex` makes the error
    /// `Sync`. It is locked only by `Display` / `Debug` (to read the
    /// message) and taken apart by value in `try_into_panic`.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
    /// A blocking job never ran: starting a pool thread failed and none was
    /// there to run it.
    SpawnFailure(std::io::Error),
}

impl JoinError {
    pub(crate) fn cancelled(goid: u64) -> JoinError {
        JoinError {
            goid,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(goid: u64, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            goid,
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    pub(crate) fn spawn_failed(goid: u64, error: std::io::Error) -> JoinError {
        JoinError {
            goid,
            repr: Repr::SpawnFailure(error),
        }
    }

    /// True if the goroutine was aborted or dropped at shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the goroutine panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// True if a [`spawn_blocking`](crate::spawn_blocking) job never ran
    /// because no thread could run it: the OS refused to start one (see
    /// [`JoinError::spawn_failure`] for its error), or `max_threads` was
    /// reached, and no blocking-pool thread was alive to take the job.
    ///
    /// ```
    /// // A runtime whose every thread slot is kept for its one P.
    /// let rt = gpm::runtime::Builder::new().procs(1).max_threads(1).build()?;
    /// let err = rt.block_on(async { gpm::spawn_blocking(|| 1).await.unwrap_err() });
    /// assert!(err.is_spawn_failure());
    /// assert!(err.to_string().contains("max_threads"), "{err}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_spawn_failure(&self) -> bool {
        matches!(self.repr, Repr::SpawnFailure(_))
    }

    /// The error that kept a blocking job from running, if that is what
    /// this is (see [`JoinError::is_spawn_failure`]): the OS error from
    /// starting a thread, or an `Other` error naming `max_threads`.
    pub fn spawn_failure(&self) -> Option<&std::io::Error> {
        match &self.repr {
            Repr::SpawnFailure(e) => Some(e),
            _ => None,
        }
    }

    /// The id of the goroutine (or blocking job) this error came from.
    pub fn id(&self) -> u64 {
        self.goid
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is not a panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic on an error that is not a panic")
    }

    /// The panic payload, or the error back if it was not a panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(PoisonError::into_inner)),
            repr => Err(JoinError { goid: self.goid, repr }),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "goroutine {} was cancelled", self.goid),
            Repr::Panic(p) => {
                let payload = p.lock().unwrap_or_else(PoisonError::into_inner);
                write!(
                    f,
                    "goroutine {} panicked: {}",
                    self.goid,
                    panic_message(payload.as_ref())
                )
            }
            Repr::SpawnFailure(e) => write!(
                f,
                "blocking job {} did not run: no thread could be started for it: {e}",
                self.goid
            ),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled(goroutine {})", self.goid),
            Repr::Panic(p) => {
                let payload = p.lock().unwrap_or_else(PoisonError::into_inner);
                write!(
                    f,
                    "JoinError::Panic(goroutine {}, {:?})",
                    self.goid,
                    panic_message(payload.as_ref())
                )
            }
            Repr::SpawnFailure(e) => write!(f, "JoinError::SpawnFailure(job {}, {e:?})", self.goid),
        }
    }
}

impl std::error::Error for JoinError {}

// `?` into `Box<dyn Error + Send + Sync>` and anyhow need all three.
const _: fn() = || {
    fn assert_send_sync_static<T: Send + Sync + 'static>() {}
    assert_send_sync_static::<JoinError>();
};

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        let kind = e
            .spawn_failure()
            .map_or(std::io::ErrorKind::Other, std::io::Error::kind);
        std::io::Error::new(kind, e.to_string())
    }
}
