//! `JoinHandle`: the result of a G started with [`spawn`](crate::spawn).

use crate::g::{panic_message, GInfo};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
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
}

// SAFETY: `info` is only read and `GInfo` is `Sync`; the task handle is
// `Send`/`Sync` when `T: Send`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above: `&JoinHandle` only reads `GInfo` and calls `&self`
// methods of the task handle.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: async_task::Task<Result<T, JoinError>, GInfo>) -> JoinHandle<T> {
        let info = NonNull::from(task.metadata());
        JoinHandle {
            task: Some(task.fallible()),
            info,
        }
    }

    fn info(&self) -> &GInfo {
        // SAFETY: `self.task` holds a reference to the G, which keeps its
        // header (holding the `GInfo`) alive as long as `self` exists.
        unsafe { self.info.as_ref() }
    }

    /// The goroutine id (the `N` in dumps' `goroutine N`).
    pub fn id(&self) -> u64 {
        self.info().goid
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
        std::task::ready!(crate::coop::proceed(cx));
        let goid = self.id();
        let task = self.task.as_mut().expect("JoinHandle polled after it returned Ready");
        match Pin::new(task).poll(cx) {
            Poll::Pending => {
                crate::wait::park(crate::wait::WaitReason::Join);
                Poll::Pending
            }
            Poll::Ready(result) => {
                // `None`: the runtime shut down and dropped the G.
                Poll::Ready(result.unwrap_or_else(|| Err(JoinError::cancelled(goid))))
            }
        }
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
/// (aborted through its handle, or dropped when its runtime shut down).
pub struct JoinError {
    goid: u64,
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
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
            repr: Repr::Panic(payload),
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

    /// The id of the goroutine this error came from.
    pub fn id(&self) -> u64 {
        self.goid
    }

    /// The panic payload, to re-raise with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is not a panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic on a cancelled goroutine")
    }

    /// The panic payload, or the error back if it was a cancellation.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "goroutine {} was cancelled", self.goid),
            Repr::Panic(p) => write!(f, "goroutine {} panicked: {}", self.goid, panic_message(p.as_ref())),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled(goroutine {})", self.goid),
            Repr::Panic(p) => write!(
                f,
                "JoinError::Panic(goroutine {}, {:?})",
                self.goid,
                panic_message(p.as_ref())
            ),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}
