//! Cooperative budget: how gpm cuts a goroutine's turn without interrupting
//! a poll (Go preempts with signals; a stackless runtime cannot).
//!
//! Each poll of a goroutine starts with a budget of [`BUDGET`] leaf
//! operations. gpm's own leaf futures (`JoinHandle`, and the channels,
//! timers and I/O to come) call [`proceed`] before doing work: it spends one
//! unit, and when none is left, or when sysmon has flagged the P for running
//! the same goroutines for a whole time slice (10 ms), it wakes the
//! goroutine and returns `Pending`. The goroutine then yields as with
//! `yield_now` (Go sends a preempted goroutine to the global queue too), and
//! the rest of the P's queue gets its turn.
//!
//! A poll that never reaches a leaf operation (a CPU loop, a blocking call)
//! cannot be cut this way.
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//!
//! /// A library future that does a little work per poll and plays fair.
//! struct Chunks(u32);
//!
//! impl Future for Chunks {
//!     type Output = ();
//!     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
//!         while self.0 > 0 {
//!             std::task::ready!(gpm::coop::proceed(cx));
//!             self.0 -= 1;
//!         }
//!         Poll::Ready(())
//!     }
//! }
//!
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! Chunks(1_000).await; // yields its P every 128 chunks
//! # });
//! ```

use crate::sched;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Leaf operations one poll of a goroutine may do before it yields (tokio's
/// number; Go has none, it preempts by time only).
pub const BUDGET: u16 = sched::BUDGET;

/// Spends one unit of the current goroutine's budget.
///
/// Returns `Ready(())` to go on, or `Pending` (after waking the task) when
/// the budget is spent, the goroutine's time slice is over, or its thread
/// lost its P during this poll (sysmon handed it on); then return
/// `Pending` from your `poll` too, without doing the operation. Outside a
/// gpm goroutine it always returns `Ready`.
#[inline]
pub fn proceed(cx: &mut Context<'_>) -> Poll<()> {
    sched::proceed(cx)
}

/// Runs `future` with no budget: its leaf operations never make it yield
/// (sysmon's time slice still applies to the goroutine afterwards).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let answer = gpm::coop::unconstrained(async { 42 }).await;
/// assert_eq!(answer, 42);
/// # });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

pin_project_lite::pin_project! {
    /// The future of [`unconstrained`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Unconstrained<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let saved = sched::set_budget(sched::UNCONSTRAINED);
        let output = this.future.poll(cx);
        if let Some(saved) = saved {
            sched::set_budget(saved);
        }
        output
    }
}
