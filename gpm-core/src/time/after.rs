//! `after`, `tick` and `Ticker`: timers that send on a channel (Go's
//! `time.After`, `time.Tick`, `time.NewTicker`).
//!
//! As in Go, no goroutine waits behind them: the timer's waker sends the
//! time on a channel with room for one value (`sendTime`). A ticker whose
//! receiver is slow drops ticks rather than queueing them.

use crate::chan::{chan, Chan, Receiver};
use crate::runtime::Handle;
use crate::sched::Shared;
use crate::timers::TimerKey;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

/// A channel that receives the time once, after `d` (Go's `time.After`).
/// Made for `select!`:
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
/// # Panics
/// Outside a gpm runtime.
pub fn after(d: Duration) -> Receiver<Instant> {
    let ch = chan(1);
    let shared = current_shared("after");
    let fire = Arc::new(SendTime { ch: ch.clone() });
    let deadline = super::deadline_after(d);
    let p = crate::current::with_current(|m| m.and_then(|m| m.p_id()));
    shared.timers.add(deadline, &Waker::from(fire), p);
    ch.receiver()
}

/// The waker of an `after` timer: sends the time, if there is room.
struct SendTime {
    ch: Chan<Instant>,
}

impl Wake for SendTime {
    fn wake(self: Arc<Self>) {
        let _ = self.ch.try_send(Instant::now());
    }
}

fn current_shared(what: &str) -> Arc<Shared> {
    match Handle::try_current() {
        Some(h) => h.shared,
        None => panic!("gpm::time::{what} called outside a gpm runtime"),
    }
}

/// A channel that receives the time every `period` (Go's `time.Tick`): a
/// [`Ticker`] nobody stops.
///
/// # Panics
/// Outside a gpm runtime, or if `period` is zero.
pub fn tick(period: Duration) -> Receiver<Instant> {
    Ticker::new(period).receiver()
}

/// Sends the time on a channel every period (Go's `time.Ticker`), until
/// stopped or dropped. A slow receiver misses ticks instead of queueing
/// them (the channel has room for one).
///
/// ```
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ticker = gpm::time::Ticker::new(Duration::from_millis(2));
/// let ticks = ticker.receiver();
/// for _ in 0..3 {
///     ticks.recv().await.unwrap();
/// }
/// ticker.stop();
/// # });
/// ```
pub struct Ticker {
    state: Arc<TickState>,
    rx: Receiver<Instant>,
}

struct TickState {
    shared: Arc<Shared>,
    ch: Chan<Instant>,
    inner: Mutex<TickInner>,
}

struct TickInner {
    period: Duration,
    next: Instant,
    timer: Option<TimerKey>,
    stopped: bool,
}

impl Ticker {
    /// A ticker with period `period`; the first tick comes one period from now.
    ///
    /// # Panics
    /// Outside a gpm runtime, or if `period` is zero (Go panics too).
    pub fn new(period: Duration) -> Ticker {
        assert!(period > Duration::ZERO, "gpm::time::Ticker: non-positive interval");
        let ch = chan(1);
        let state = Arc::new(TickState {
            shared: current_shared("Ticker::new"),
            ch: ch.clone(),
            inner: Mutex::new(TickInner {
                period,
                next: super::deadline_after(period),
                timer: None,
                stopped: false,
            }),
        });
        arm(&state, &mut state.inner.lock().unwrap_or_else(|e| e.into_inner()));
        Ticker {
            state,
            rx: ch.receiver(),
        }
    }

    /// The channel the ticks arrive on.
    pub fn receiver(&self) -> Receiver<Instant> {
        self.rx.clone()
    }

    /// Stops the ticker: no more ticks are sent (one already sent may still
    /// be in the channel).
    pub fn stop(&self) {
        let mut inner = self.state.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.stopped = true;
        if let Some(key) = inner.timer.take() {
            self.state.shared.timers.cancel(key);
        }
    }

    /// Restarts the ticker with a new period; the next tick comes one new
    /// period from now (Go's `Ticker.Reset`).
    ///
    /// # Panics
    /// If `period` is zero.
    pub fn reset(&self, period: Duration) {
        assert!(period > Duration::ZERO, "gpm::time::Ticker: non-positive interval");
        let mut inner = self.state.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = inner.timer.take() {
            self.state.shared.timers.cancel(key);
        }
        inner.stopped = false;
        inner.period = period;
        inner.next = super::deadline_after(period);
        arm(&self.state, &mut inner);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticker").finish_non_exhaustive()
    }
}

/// Sets the timer for the next tick.
fn arm(state: &Arc<TickState>, inner: &mut TickInner) {
    let waker = Waker::from(Arc::new(TickWake(Arc::downgrade(state))));
    let p = crate::current::with_current(|m| m.and_then(|m| m.p_id()));
    inner.timer = Some(state.shared.timers.add(inner.next, &waker, p));
}

/// The waker of a ticker's timer: sends a tick and sets the next timer.
/// Holds the ticker weakly, so a dropped ticker's last timer does nothing.
struct TickWake(std::sync::Weak<TickState>);

impl Wake for TickWake {
    fn wake(self: Arc<Self>) {
        let Some(state) = self.0.upgrade() else {
            return;
        };
        let mut inner = state.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.stopped {
            return;
        }
        let now = Instant::now();
        let _ = state.ch.try_send(now);
        // The next tick is one period after the last one due, skipping
        // the ones already missed (as Go's ticker does).
        let period = inner.period;
        while inner.next <= now {
            inner.next += period;
        }
        arm(&state, &mut inner);
    }
}
