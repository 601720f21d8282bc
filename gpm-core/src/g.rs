//! G: one goroutine, held as an `async_task` task.
//!
//! A G is an [`async_task::Runnable`] whose metadata is a [`GInfo`]: its
//! goroutine id, where it was started, its state, and the runtime it belongs
//! to. The future inside is wrapped in a [`GFuture`], which catches panics,
//! honours `JoinHandle::abort`, counts the G in and out, and lists it in the
//! runtime's [`Registry`](crate::registry::Registry) once it first parks.
//!
//! # States (Go's `_Grunnable`, `_Grunning`, `_Gwaiting`)
//! - [`GState::Runnable`]: in a run queue (runnext, a ring, the global queue).
//!   Set when the G is spawned and whenever the schedule function takes it.
//! - [`GState::Running`]: an M is polling it. Set by the G's own poll.
//! - [`GState::Waiting`]: its last poll returned `Pending` and nobody has woken
//!   it since. Set by the G's own poll.
//!
//! The state is informational (dumps, deadlock checks): correctness rests on
//! `async_task`'s own state machine, so these are relaxed stores.

use crate::registry::UNLISTED;
use crate::sched::Shared;
use crate::JoinError;
use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU8,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::Arc;
use std::task::{Context, Poll};

/// A runnable G: what the run queues hold.
pub(crate) type G = async_task::Runnable<GInfo>;

/// The goroutine id of the first `block_on` future (Go's `main`).
pub(crate) const MAIN_GOID: u64 = 1;

/// What a G is doing; see the module docs for when each is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum GState {
    Runnable = 0,
    Running = 1,
    Waiting = 2,
}

/// The metadata of a G, stored in its task's header.
pub(crate) struct GInfo {
    /// The runtime this G runs on; its schedule function reads it from here
    /// so that the schedule closure itself takes no space.
    pub(crate) shared: Arc<Shared>,
    /// Goroutine id: 1 for main, then counting up per runtime.
    pub(crate) goid: u64,
    /// Where `spawn` / `go!` was called.
    pub(crate) location: &'static Location<'static>,
    /// Its slot in the registry, or `UNLISTED` until it first parks.
    pub(crate) registry_key: AtomicU32,
    /// A [`GState`] as `u8`.
    state: AtomicU8,
    /// Set by `JoinHandle::abort`: the next poll drops the future.
    aborted: AtomicBool,
    /// Started with `go!`: nobody can observe its panic, so a panic is fatal.
    pub(crate) detached: bool,
}

impl GInfo {
    pub(crate) fn new(shared: Arc<Shared>, goid: u64, location: &'static Location<'static>, detached: bool) -> GInfo {
        GInfo {
            shared,
            goid,
            location,
            registry_key: AtomicU32::new(UNLISTED),
            state: AtomicU8::new(GState::Runnable as u8),
            aborted: AtomicBool::new(false),
            detached,
        }
    }

    pub(crate) fn set_state(&self, state: GState) {
        self.state.store(state as u8, Relaxed);
    }

    #[allow(dead_code)] // read by dumps and tests
    pub(crate) fn state(&self) -> GState {
        match self.state.load(Relaxed) {
            0 => GState::Runnable,
            1 => GState::Running,
            _ => GState::Waiting,
        }
    }

    /// Asks the G to stop at its next poll. Returns false if already asked.
    pub(crate) fn abort(&self) -> bool {
        // SeqCst: pairs with the G listing itself and then reading the flag.
        !self.aborted.swap(true, SeqCst)
    }
}

pin_project_lite::pin_project! {
    /// The future of a G: the user's future plus gpm's bookkeeping.
    pub(crate) struct GFuture<F> {
        // Points at this task's own `GInfo`, which lives in the same
        // allocation's header and so outlives the future.
        info: *const GInfo,
        #[pin]
        future: F,
    }

    impl<F> PinnedDrop for GFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            // SAFETY: `info` points into this task's header (see `GFuture::new`),
            // which is freed only after the future has been dropped.
            let info = unsafe { &*this.info };
            info.shared.registry.remove(info);
            info.shared.count_g(false);
        }
    }
}

// SAFETY: `info` is only read, and `GInfo` is `Sync`; the pointer is a
// back-reference into the task that owns this future.
unsafe impl<F: Send> Send for GFuture<F> {}

impl<F: Future> GFuture<F> {
    /// Wraps `future`.
    ///
    /// # Safety
    /// `info` must point at the metadata of the task that will own this
    /// future (async-task's `Builder::spawn` passes it to the closure that
    /// builds the future), so that it stays valid while the future lives.
    pub(crate) unsafe fn new(info: *const GInfo, future: F) -> GFuture<F> {
        GFuture { info, future }
    }
}

impl<F: Future> Future for GFuture<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // SAFETY: see `PinnedDrop` above: the header outlives the future.
        let info = unsafe { &**this.info };
        if info.aborted.load(SeqCst) {
            return Poll::Ready(Err(JoinError::cancelled(info.goid)));
        }
        info.set_state(GState::Running);
        let future = this.future;
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => {
                info.set_state(GState::Waiting);
                if info.registry_key.load(Relaxed) == UNLISTED {
                    // First park: list it, so that shutdown and `abort` can
                    // reach it while it waits.
                    info.shared.registry.insert(info, cx.waker().clone());
                    if info.aborted.load(SeqCst) {
                        // `abort` looked before we were listed: wake ourselves.
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Err(payload) => {
                let payload = if info.detached {
                    info.shared.unhandled_panic(info, payload)
                } else {
                    payload
                };
                Poll::Ready(Err(JoinError::panic(info.goid, payload)))
            }
        }
    }
}

/// The text of a panic payload, as `panic!` formatted it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}
