//! `Ticker` and `tick`: a timer that sends the time on a channel every
//! period (Go's `time.NewTicker` and `time.Tick`).
//!
//! The channel is a timer channel (see `after.rs`): `len` and `cap` read 0,
//! and once `stop` or `reset` returns, no tick from before it is received.
//!
//! # States
//! A ticker's state is its lock's [`TickInner`]:
//! - **running**: `timer` is the armed timer of the next tick, due at
//!   `next`; its waker carries the current `generation`.
//! - **stopped**: `timer` is `None` (after `stop`, or once every receiver
//!   is gone).
//!
//! `stop` and `reset` bump `generation`, cancel the timer and empty the
//! channel's slot, all under the lock. A waker that was already taken out
//! of the timer heap when they did (its timer had fired) then finds an
//! older generation and does nothing. The waker of the current generation
//! sends the tick and arms the next one, under the lock too.
//!
//! # Catching up
//! A tick that fires late (its M was blocked, say) sets the next one on
//! the period grid, at the first multiple of the period after now, in one
//! step: Go's `when += period * (1 + (now-when)/period)`. The ticks missed
//! meanwhile are dropped, as Go drops them.

use super::after::current_shared;
use super::Instant;
use crate::chan::{timer_chan, Receiver, WeakChan};
use crate::sched::Shared;
use crate::sched::TimerKey;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Wake, Waker};
use std::time::Duration;

/// A channel that receives the time every `period` (Go's `time.Tick`). The
/// ticker lives as long as its receiver: once every clone of it is
/// dropped, the ticker stops at its next tick.
///
/// ```
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ticks = gpm::time::tick(Duration::from_millis(2));
/// for _ in 0..3 {
///     ticks.recv().await.unwrap();
/// }
/// # });
/// ```
///
/// As Go's `Tick` returns a nil channel for a non-positive duration, a zero
/// `period` gives a receiver on which nothing ever arrives.
///
/// # Panics
/// Outside a gpm runtime.
pub fn tick(period: Duration) -> Receiver<Instant> {
    if period.is_zero() {
        return timer_chan().receiver();
    }
    start(period, "tick").1
}

/// Sends the time on a channel every period (Go's `time.Ticker`), until
/// stopped or dropped. A slow receiver misses ticks instead of queueing
/// them.
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
///
/// Its channel follows Go 1.23: `len` and `cap` read 0, and after `stop`
/// or `reset` returns, no tick from before it is received, even one that
/// was due while nobody received:
///
/// ```
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ticker = gpm::time::Ticker::new(Duration::from_millis(1));
/// let ticks = ticker.receiver();
/// gpm::time::sleep(Duration::from_millis(10)).await; // ticks were due
/// assert_eq!((ticks.len(), ticks.cap()), (0, 0));
/// ticker.stop();
/// assert!(ticks.try_recv().is_err()); // none is left
/// # });
/// ```
///
/// Unlike Go's, a `Ticker` stops when dropped, whoever still holds its
/// receiver; [`tick`] makes one that lives as long as its receiver.
pub struct Ticker {
    /// Shared with the waker of the armed timer.
    state: Arc<TickState>,
    /// The channel (kept alive by the ticker: its timer holds it weakly).
    rx: Receiver<Instant>,
}

// A Ticker moves to other goroutines and is shared between them, as Go's is.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Ticker>();
};

/// What the ticker and its timer's waker share.
struct TickState {
    /// The runtime whose timers it uses (weakly: an armed timer's waker
    /// holds this state, and the runtime holds the waker).
    shared: Weak<Shared>,
    /// The channel, held weakly (see `after.rs`).
    ch: WeakChan<Instant>,
    /// The ticker's state; the waker sends under it.
    inner: Mutex<TickInner>,
}

/// The ticker's state (see the module docs).
struct TickInner {
    /// The time between ticks.
    period: Duration,
    /// When the next tick is due.
    next: Instant,
    /// The armed timer of the next tick; `None` once stopped.
    timer: Option<TimerKey>,
    /// Bumped by `stop` and `reset`; a waker of an older one does nothing
    /// (Go's timer `seq`).
    generation: u64,
}

/// Starts a ticker: its state and its channel's receiver.
fn start(period: Duration, what: &str) -> (Arc<TickState>, Receiver<Instant>) {
    assert!(!period.is_zero(), "gpm::time::{what}: non-positive interval");
    let ch = timer_chan();
    let shared = current_shared(what);
    let state = Arc::new(TickState {
        shared: Arc::downgrade(&shared),
        ch: ch.downgrade(),
        inner: Mutex::new(TickInner {
            period,
            next: super::deadline_after(period),
            timer: None,
            generation: 0,
        }),
    });
    state.arm(&shared, &mut state.lock());
    (state, ch.receiver())
}

impl Ticker {
    /// A ticker with period `period`; the first tick comes one period from now.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let ticker = gpm::time::Ticker::new(std::time::Duration::from_millis(1));
    /// ticker.receiver().recv().await.unwrap();
    /// # });
    /// ```
    ///
    /// # Panics
    /// Outside a gpm runtime, or if `period` is zero (Go panics too).
    pub fn new(period: Duration) -> Ticker {
        let (state, rx) = start(period, "Ticker::new");
        Ticker { state, rx }
    }

    /// The channel the ticks arrive on (Go's `Ticker.C`).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let ticker = gpm::time::Ticker::new(std::time::Duration::from_millis(1));
    /// let at = ticker.receiver().recv().await.unwrap();
    /// assert!(at <= gpm::time::Instant::now());
    /// # });
    /// ```
    pub fn receiver(&self) -> Receiver<Instant> {
        self.rx.clone()
    }

    /// Stops the ticker (Go's `Ticker.Stop`): once this returns, no tick is
    /// received, not even one that was due before.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let ticker = gpm::time::Ticker::new(std::time::Duration::from_millis(1));
    /// gpm::time::sleep(std::time::Duration::from_millis(5)).await;
    /// ticker.stop();
    /// assert!(ticker.receiver().try_recv().is_err());
    /// # });
    /// ```
    pub fn stop(&self) {
        let mut inner = self.state.lock();
        self.state.disarm(&mut inner);
    }

    /// Restarts the ticker with a new period (Go's `Ticker.Reset`): the
    /// next tick comes one new period from now, and once this returns no
    /// tick from before it is received.
    ///
    /// ```
    /// use std::time::Duration;
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let ticker = gpm::time::Ticker::new(Duration::from_secs(3600));
    /// ticker.reset(Duration::from_millis(1));
    /// ticker.receiver().recv().await.unwrap();
    /// # });
    /// ```
    ///
    /// # Panics
    /// If `period` is zero (Go panics too).
    pub fn reset(&self, period: Duration) {
        assert!(!period.is_zero(), "gpm::time::Ticker::reset: non-positive interval");
        let mut inner = self.state.lock();
        self.state.disarm(&mut inner);
        inner.period = period;
        inner.next = super::deadline_after(period);
        if let Some(shared) = self.state.shared.upgrade() {
            self.state.arm(&shared, &mut inner);
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.state.lock();
        f.debug_struct("Ticker")
            .field("period", &inner.period)
            .field("running", &inner.timer.is_some())
            .finish_non_exhaustive()
    }
}

impl TickState {
    fn lock(&self) -> MutexGuard<'_, TickInner> {
        // Nothing panics under this lock but a timer heap's own asserts;
        // the state stays consistent either way.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms the timer of the tick due at `inner.next`, for the current
    /// generation.
    fn arm(self: &Arc<Self>, shared: &Shared, inner: &mut TickInner) {
        let waker = Waker::from(Arc::new(TickWake {
            state: self.clone(),
            generation: inner.generation,
        }));
        inner.timer = Some(shared.add_timer(inner.next.into_std(), &waker));
    }

    /// Stops the ticks of the current generation: a new generation, the
    /// timer cancelled, the channel's slot emptied (Go's `timerchandrain`).
    fn disarm(&self, inner: &mut TickInner) {
        inner.generation += 1;
        if let Some(key) = inner.timer.take() {
            if let Some(shared) = self.shared.upgrade() {
                // False if it has fired: its waker then finds an old
                // generation.
                shared.cancel_timer(key);
            }
        }
        if let Some(ch) = self.ch.upgrade() {
            // Only our waker sends, under the lock we hold: this ends.
            while ch.try_recv().is_ok() {}
        }
    }
}

/// The waker of a ticker's timer: sends the tick and arms the next one.
/// It holds the ticker's state (a [`tick`] has nothing else that does).
struct TickWake {
    state: Arc<TickState>,
    /// The ticker's generation when this timer was armed.
    generation: u64,
}

impl Wake for TickWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let state = &self.state;
        let mut inner = state.lock();
        if inner.generation != self.generation {
            return; // stopped or reset since this timer was armed
        }
        inner.timer = None;
        let Some(ch) = state.ch.upgrade() else {
            return; // every receiver is gone: the ticker ends
        };
        let due = inner.next;
        // Full: the receiver is behind; the tick is dropped.
        let _ = ch.try_send(due);
        let shared = state.shared.upgrade();
        // The runtime's clock: a bubble's is virtual (the firing thread
        // may be sysmon, on no runtime's M).
        let now = shared
            .as_ref()
            .map_or_else(Instant::now, |s| Instant::from_std(s.now()));
        inner.next = next_due(due, now, inner.period);
        if let Some(shared) = shared {
            state.arm(&shared, &mut inner);
        }
    }
}

/// When the tick after one due at `due` is due, seen at `now`: the first
/// time on the period grid after `now`, in one step however many periods
/// were missed (Go's `when += period * (1 + (now-when)/period)`).
fn next_due(due: Instant, now: Instant, period: Duration) -> Instant {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let period = period.as_nanos().max(1);
    let behind = now.saturating_duration_since(due).as_nanos();
    // At most `behind + period`, each below 2^94: no overflow in u128.
    let ahead = period * (1 + behind / period);
    let secs = u64::try_from(ahead / NANOS_PER_SEC).unwrap_or(u64::MAX);
    let ahead = Duration::new(secs, (ahead % NANOS_PER_SEC) as u32);
    due.checked_add(ahead)
        .unwrap_or_else(|| super::deadline_after(Duration::MAX))
}

#[cfg(test)]
mod tests {
    use super::next_due;
    use super::Instant;
    use std::time::Duration;

    /// A `tick` whose receivers are all dropped stops at its next tick:
    /// no timer of it stays armed.
    #[test]
    fn a_tick_ends_with_its_receivers() {
        let rt = crate::runtime::Builder::new().procs(1).build().unwrap();
        rt.block_on(async {
            let shared = super::current_shared("test");
            let ticks = super::tick(Duration::from_millis(1));
            let more = ticks.clone();
            ticks.recv().await.unwrap();
            drop(ticks);
            more.recv().await.unwrap(); // a clone keeps it ticking
            drop(more);
            // It stops at its next tick (1 ms on). `armed` also counts a
            // firing whose wakers are still running (the one that woke this
            // sleep may be), so look again for a while before failing.
            let mut armed = usize::MAX;
            for _ in 0..200 {
                crate::time::sleep(Duration::from_millis(5)).await;
                armed = shared.armed_timers();
                if armed == 0 {
                    break;
                }
            }
            assert_eq!(armed, 0, "the tick's timer is still armed");
        });
    }

    /// A dropped `Ticker` leaves no timer armed.
    #[test]
    fn a_dropped_ticker_disarms() {
        let rt = crate::runtime::Builder::new().procs(1).build().unwrap();
        rt.block_on(async {
            let shared = super::current_shared("test");
            let ticker = super::Ticker::new(Duration::from_secs(3600));
            let ticks = ticker.receiver();
            assert_eq!(shared.armed_timers(), 1);
            drop(ticker);
            assert_eq!(shared.armed_timers(), 0);
            assert!(ticks.try_recv().is_err());
        });
    }

    #[test]
    fn next_due_is_one_period_on_when_on_time() {
        let due = Instant::now();
        let period = Duration::from_millis(10);
        assert_eq!(next_due(due, due, period), due + period);
        assert_eq!(next_due(due, due + Duration::from_millis(3), period), due + period);
        // A clock read before `due` (another thread's) changes nothing.
        assert_eq!(
            next_due(due + Duration::from_millis(1), due, period),
            due + Duration::from_millis(11)
        );
    }

    #[test]
    fn next_due_skips_missed_ticks_on_the_grid() {
        let due = Instant::now();
        let period = Duration::from_millis(10);
        // 25 ms late: the ticks at +10 and +20 are missed; the next is +30.
        assert_eq!(
            next_due(due, due + Duration::from_millis(25), period),
            due + Duration::from_millis(30)
        );
        // Exactly on a grid point: the one after it.
        assert_eq!(
            next_due(due, due + Duration::from_millis(20), period),
            due + Duration::from_millis(30)
        );
    }

    /// A 1 ns period an hour behind: 3.6e12 missed ticks, one step (the
    /// old loop stepped through every one).
    #[test]
    fn next_due_catches_up_in_one_step() {
        let due = Instant::now();
        let now = due + Duration::from_secs(3600);
        let start = Instant::now();
        let next = next_due(due, now, Duration::from_nanos(1));
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(next, now + Duration::from_nanos(1));
        let next = next_due(due, now + Duration::from_nanos(7), Duration::from_nanos(100));
        assert_eq!(next, now + Duration::from_nanos(100));
    }

    /// Periods and delays near `Duration::MAX` neither overflow nor panic.
    #[test]
    fn next_due_saturates() {
        let due = Instant::now();
        let next = next_due(due, due + Duration::from_secs(1), Duration::MAX);
        assert!(next > due + Duration::from_secs(60 * 60 * 24 * 365));
    }
}
