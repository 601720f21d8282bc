//! The `*_blocking` calls: a channel operation from a plain thread, which
//! parks the thread (never spins) until the operation completes.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes a thread parked in [`block_on`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// This thread's waker, made once.
    static WAKER: Waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
}

/// Runs a channel operation's future to completion on this thread.
///
/// # Panics
/// On a thread of a gpm runtime (inside a goroutine, or `block_on`), where
/// parking the thread would stall its P: `what` names the call, `instead`
/// the `.await` to use.
pub(crate) fn block_on<F: Future>(what: &str, instead: &str, future: F) -> F::Output {
    if crate::sched::in_runtime() {
        panic!(
            "gpm: `{what}` called from inside a goroutine (a thread of a gpm runtime), \
             where it would block the thread and its P; use `{instead}` instead"
        );
    }
    let mut future = pin!(future);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            // A stale unpark only makes us poll once more.
            thread::park();
        }
    })
}
