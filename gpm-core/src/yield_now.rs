//! `yield_now`: Go's `runtime.Gosched`.

use crate::sched::current;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives up the P so that other goroutines run: the calling goroutine goes
/// to the tail of the **global** queue, as Go's `runtime.Gosched()` does, and
/// is picked up again by whichever P gets to it.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// for _ in 0..3 {
///     gpm::yield_now().await;
/// }
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Tell the schedule function that this self-wake is a yield.
        current::with_current(|m| {
            if let Some(m) = m {
                m.yield_requested.set(true);
            }
        });
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
