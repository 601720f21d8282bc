//! A coarse clock for wait times: sysmon ticks it, Gs read it with one load.
//!
//! Gs record when they start waiting on every park; reading `Instant::now`
//! there would cost a clock read per park for a number that dumps print in
//! minutes. sysmon, which wakes at least every 10 ms, stores the time
//! instead.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Milliseconds since the runtime started, as of sysmon's last look.
pub(crate) struct Clock {
    start: Instant,
    millis: AtomicU64,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            start: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    /// When the runtime started.
    pub(crate) fn start(&self) -> Instant {
        self.start
    }

    /// Brings the clock up to date (sysmon, and dumps before they read it).
    pub(crate) fn tick(&self) -> Duration {
        let now = self.start.elapsed();
        self.millis.store(now.as_millis() as u64, Relaxed);
        now
    }

    /// Milliseconds since start, as of the last tick.
    pub(crate) fn millis(&self) -> u64 {
        self.millis.load(Relaxed)
    }

    /// Whole seconds since start, as of the last tick, modulo 2^16 (what a G
    /// stores when it parks).
    pub(crate) fn seconds(&self) -> u16 {
        (self.millis() / 1000) as u16
    }

    /// Whole seconds since `since` (a value of `seconds()`), as of the last tick.
    pub(crate) fn seconds_since(&self, since: u16) -> u16 {
        self.seconds().wrapping_sub(since)
    }
}
