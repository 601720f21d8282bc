//! Time: sleeping, timeouts and tickers for goroutines (Go's `time`).
//!
//! Timers live with the scheduler: each P keeps a heap of the timers its
//! goroutines started, the Ms fire them as they look for work, and an idle
//! M sleeps only until the earliest one (see `sched/timers.rs` in gpm-core). A
//! million pending timers cost O(log n) to add and O(1) to cancel.
//!
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | `sleep.rs` | `time.Sleep` | [`sleep`], [`sleep_until`] |
//! | `timeout.rs` | `select` with `time.After` | [`timeout`], [`timeout_at`] |
//! | `after.rs` | `time.After`, `sendTime` | [`after`], and the rules of timer channels |
//! | `ticker.rs` | `time.Ticker`, `time.Tick` | [`Ticker`], [`tick`] |
//! | `mod.rs` | `time.Now` | [`now`]: the runtime's clock (a bubble's is virtual) |
//!
//! Timer channels follow Go 1.23: `len` and `cap` read 0, and once a
//! ticker's `stop` or `reset` returns, no tick from before it is received.
//!
//! ```
//! use std::time::Duration;
//!
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! let start = gpm::time::Instant::now();
//! gpm::time::sleep(Duration::from_millis(5)).await;
//! assert!(start.elapsed() >= Duration::from_millis(5));
//!
//! let slow = gpm::time::sleep(Duration::from_secs(60));
//! let res = gpm::time::timeout(Duration::from_millis(1), slow).await;
//! assert!(res.is_err());
//! # });
//! ```

mod after;
mod instant;
mod sleep;
mod ticker;
mod timeout;

pub use after::after;
pub use instant::Instant;
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Duration;
pub use ticker::{tick, Ticker};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

/// The time now, by the clock of the runtime the caller runs on (Go's
/// `time.Now()`).
///
/// Inside a [`synctest`](crate::synctest) bubble this is the bubble's
/// virtual clock, which moves only when every goroutine of the bubble is
/// durably blocked; everywhere else it is the real clock. The same as
/// [`Instant::now()`]; `std::time::Instant::now()` always reads the real
/// clock. [`sleep`], [`after`], [`Ticker`], [`timeout`] and
/// `context::with_timeout` use it.
///
/// ```
/// use std::time::Duration;
///
/// gpm::synctest::test(async {
///     let start = gpm::time::now();
///     gpm::time::sleep(Duration::from_secs(3600)).await; // returns at once
///     assert_eq!(gpm::time::now() - start, Duration::from_secs(3600));
/// });
/// ```
pub fn now() -> Instant {
    Instant::now()
}

/// `now + d`, or a far future when that overflows (Go's max duration is
/// about 292 years; ours is "never" in practice).
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}
