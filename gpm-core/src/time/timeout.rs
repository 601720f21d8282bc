//! `timeout`: a future with a deadline (Go's `select` with `time.After`).

use super::sleep::{sleep_until, Sleep};
use super::Instant;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The error of a [`timeout`] whose time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future` for at most `duration`: `Err(Elapsed)` if it is not done
/// by then (the future is dropped).
///
/// The inner future is polled before the deadline is looked at, and once
/// more when the deadline has passed, with gpm's channel operations giving
/// up instead of waiting. So with a gpm channel send or receive inside,
/// the answer is exact: `Err(Elapsed)` means the value was not sent (it is
/// dropped with the future) or not received (a value already handed to the
/// receive goes back to the channel); a send that went through is `Ok`.
/// A future that is not gpm's gets no such last word: it may have done its
/// work just before it was dropped.
///
/// ```
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let quick = gpm::time::timeout(Duration::from_secs(10), async { 7 }).await;
/// assert_eq!(quick, Ok(7));
/// let never = gpm::time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
/// assert!(never.is_err());
/// # });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(super::deadline_after(duration)),
        done: false,
    }
}

/// Like [`timeout`], with a deadline.
pub fn timeout_at<F: Future>(deadline: impl Into<Instant>, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
        done: false,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        #[pin]
        sleep: Sleep,
        // Set when `poll` has returned `Ready` (`FusedFuture`).
        done: bool,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Unwraps the future.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(v) = this.future.as_mut().poll(cx) {
            *this.done = true;
            return Poll::Ready(Ok(v));
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => {
                *this.done = true;
                // One last poll in which gpm's channel operations give up
                // instead of waiting: one that completed meanwhile is
                // reported, and none can complete after `Elapsed`.
                if let Poll::Ready(v) = crate::chan::giving_up(|| this.future.poll(cx)) {
                    return Poll::Ready(Ok(v));
                }
                Poll::Ready(Err(Elapsed(())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// True once the timeout has given its answer (`Ok` or `Err(Elapsed)`),
/// whatever the inner future is, so `futures::select!` takes a `Timeout`
/// as it is (pinned, as any `!Unpin` future in `select!`).
///
/// ```
/// use futures::future::FusedFuture;
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let mut t = std::pin::pin!(gpm::time::timeout(Duration::from_secs(10), async { 1 }));
/// let v = futures::select! { r = t => r.unwrap() };
/// assert_eq!(v, 1);
/// assert!(t.is_terminated());
/// # });
/// ```
impl<F: Future> futures_core::FusedFuture for Timeout<F> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}
