//! `sleep` and `sleep_until` (Go's `time.Sleep`).

use super::Instant;
use crate::sched::{self, Shared, TimerKey, WaitReason};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Waits until `duration` has passed (Go's `time.Sleep`).
///
/// The goroutine parks with wait reason `sleep`; its M runs other
/// goroutines meanwhile. A zero duration completes at once (after spending
/// one unit of the cooperative budget).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let start = std::time::Instant::now();
/// gpm::time::sleep(std::time::Duration::from_millis(2)).await;
/// assert!(start.elapsed() >= std::time::Duration::from_millis(2));
/// # });
/// ```
///
/// # Panics
/// When polled outside a gpm runtime.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(super::deadline_after(duration))
}

/// Waits until `deadline`.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let deadline = gpm::time::Instant::now() + std::time::Duration::from_millis(2);
/// gpm::time::sleep_until(deadline).await;
/// assert!(gpm::time::Instant::now() >= deadline);
/// # });
/// ```
pub fn sleep_until(deadline: impl Into<Instant>) -> Sleep {
    Sleep::new(deadline.into())
}

/// The future of [`sleep`] and [`sleep_until`]. It joins its runtime's
/// timers when first polled, and leaves them when dropped.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Instant,
    /// Its timer, once polled, and the runtime that holds it.
    timer: Option<(Arc<Shared>, TimerKey)>,
    /// Set once the timer has fired.
    fired: bool,
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish()
    }
}

impl Sleep {
    fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            timer: None,
            fired: false,
        }
    }

    /// When it completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.fired || super::now() >= self.deadline
    }

    /// Moves the deadline (Go's `Timer.Reset`), even after it has passed.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::time::Duration;
    /// let mut sleep = std::pin::pin!(gpm::time::sleep(Duration::from_secs(3600)));
    /// sleep.as_mut().reset(gpm::time::Instant::now() + Duration::from_millis(1));
    /// sleep.await;
    /// # });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: impl Into<Instant>) {
        let this = self.get_mut();
        this.cancel();
        this.fired = false;
        this.deadline = deadline.into();
    }

    fn cancel(&mut self) {
        if let Some((shared, key)) = self.timer.take() {
            shared.cancel_timer(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        std::task::ready!(crate::coop::proceed(cx));
        let this = self.get_mut();
        if this.fired {
            return Poll::Ready(());
        }
        if let Some((shared, key)) = &this.timer {
            if shared.update_timer(*key, cx.waker()) {
                this.fired = true;
                this.timer = None;
                return Poll::Ready(());
            }
            sched::park(WaitReason::Sleep);
            return Poll::Pending;
        }
        let Some(shared) = sched::current_shared() else {
            panic!("gpm::time::sleep polled outside a gpm runtime; await it inside a goroutine or block_on");
        };
        // Already past by sysmon's coarse clock: done, without reading the
        // clock (a deadline just past is caught by the timers).
        if shared.is_past_coarse(this.deadline.into_std()) {
            this.fired = true;
            return Poll::Ready(());
        }
        let key = shared.add_timer(this.deadline.into_std(), cx.waker());
        this.timer = Some((shared, key));
        sched::park(WaitReason::Sleep);
        Poll::Pending
    }
}

/// True once the sleep has completed (until [`Sleep::reset`] moves the
/// deadline again), so `futures::select!` takes a `Sleep` as it is and
/// skips it after its branch ran.
///
/// ```
/// use futures::future::FusedFuture;
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut sleep = gpm::time::sleep(Duration::from_millis(1));
/// let never = gpm::chan::<()>(0);
/// let mut recv = std::pin::pin!(never.recv());
/// futures::select! {
///     () = sleep => {}
///     _ = recv => unreachable!(),
/// }
/// assert!(sleep.is_terminated());
/// # });
/// ```
impl futures_core::FusedFuture for Sleep {
    fn is_terminated(&self) -> bool {
        self.fired
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
