//! `after`: a timer that sends the time once on a channel (Go's
//! `time.After`), and what every timer channel shares with it.
//!
//! # Timer channels (Go 1.23)
//! As in Go 1.23, a timer's channel reads as unbuffered (`len` and `cap`
//! are 0) and no value is received from it that a `stop` or `reset` (of a
//! [`Ticker`](super::Ticker)) made stale. Go gets there by running the timer
//! from the receive itself; we keep one hidden slot and empty it:
//! - The timer's waker sends into the slot (Go's `sendTime`), so a value
//!   waits for a receiver that comes late; a tick that finds the slot
//!   full is dropped, as Go drops ticks for a slow receiver.
//! - The value is the time the timer was due, not the time it ran (Go's
//!   `Now().Add(-delay)`): a late firing does not move it.
//! - `stop` and `reset` empty the slot under the ticker's lock, and the
//!   waker sends under that lock only if its generation is still the
//!   ticker's (Go's `timerchandrain` and `seq`). So once either returns, no
//!   value from before it can be received.
//! - The timer holds its channel weakly: once every receiver is gone, it
//!   sends nothing and (a ticker) stops (Go collects an unreferenced
//!   timer).

use super::Instant;
use crate::chan::{timer_chan, Receiver, WeakChan};
use crate::runtime::Handle;
use crate::sched::Shared;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

/// A channel that receives the time once, `d` from now (Go's
/// `time.After`). Made for `select!`:
///
/// ```
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let never = gpm::chan::<u32>(0);
/// gpm::select! {
///     recv(never) -> _ => unreachable!(),
///     recv(gpm::time::after(Duration::from_millis(5))) -> at => assert!(at.is_some()),
/// }
/// # });
/// ```
///
/// As in Go 1.23, the channel is a timer channel: its `len` and `cap` read
/// 0, and the value is the time the timer was due (a receiver that comes
/// late still gets it, with that time):
///
/// ```
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let start = gpm::time::Instant::now();
/// let fired = gpm::time::after(Duration::from_millis(1));
/// gpm::time::sleep(Duration::from_millis(20)).await;
/// assert_eq!((fired.len(), fired.cap()), (0, 0));
/// let at = fired.recv().await.unwrap();
/// assert!(at >= start + Duration::from_millis(1));
/// # });
/// ```
///
/// Dropping every receiver makes the timer send nothing; its entry leaves
/// the runtime's timers when it is due.
///
/// # Panics
/// Outside a gpm runtime.
pub fn after(d: Duration) -> Receiver<Instant> {
    let ch = timer_chan();
    let shared = current_shared("after");
    let deadline = super::deadline_after(d);
    let fire = Arc::new(SendTime {
        ch: ch.downgrade(),
        due: deadline,
    });
    shared.add_timer(deadline.into_std(), &Waker::from(fire));
    ch.receiver()
}

/// The waker of an `after` timer: sends the time it was due, if anyone
/// can still receive it.
struct SendTime {
    /// The channel, held weakly (see the module docs).
    ch: WeakChan<Instant>,
    /// When the timer was due: the value sent.
    due: Instant,
}

impl Wake for SendTime {
    fn wake(self: Arc<Self>) {
        if let Some(ch) = self.ch.upgrade() {
            // The slot is empty: this timer sends once, and nothing else
            // sends on its channel.
            let _ = ch.try_send(self.due);
        }
    }
}

/// The runtime of the calling goroutine or thread.
pub(super) fn current_shared(what: &str) -> Arc<Shared> {
    match Handle::try_current() {
        Some(h) => h.shared,
        None => panic!("gpm::time::{what} called outside a gpm runtime"),
    }
}
