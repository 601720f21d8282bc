//! [`Instant`]: a point in time by the clock of the runtime that reads it
//! (tokio's `time::Instant`; Go's `time.Time` for measuring).

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A point in time, read from the clock of the runtime the caller runs on.
///
/// Everywhere but inside a [`synctest`](crate::synctest) bubble this is
/// the real monotonic clock: `Instant::now()` is `std::time::Instant::now()`,
/// one thread-local load more. Inside a bubble it reads the bubble's
/// virtual clock, so code that measures time with `gpm::time::Instant`
/// (timeouts, retries, rate limits) runs in virtual time there without
/// any change. It converts to and from `std::time::Instant`
/// ([`from_std`](Instant::from_std), [`into_std`](Instant::into_std),
/// `From`), which always reads the real clock.
///
/// ```
/// use std::time::Duration;
///
/// gpm::synctest::test(async {
///     let start = gpm::time::Instant::now();
///     gpm::time::sleep(Duration::from_secs(30)).await; // returns at once
///     assert_eq!(start.elapsed(), Duration::from_secs(30));
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// The time now, by the current runtime's clock (a bubble's is virtual;
    /// off a runtime, the real clock's).
    pub fn now() -> Instant {
        Instant(crate::sched::now())
    }

    /// The same point in time as `std`, as gpm's type.
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant(std)
    }

    /// The same point in time, as `std`'s type.
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// The time from `earlier` to this one; zero if `earlier` is later
    /// (the same as [`saturating_duration_since`](Instant::saturating_duration_since),
    /// as std's has been since Rust 1.60).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// The time from `earlier` to this one, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// The time from `earlier` to this one; zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The time since this one, by the current runtime's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + d`, or `None` if that does not fit.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` if that does not fit.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// The time from `earlier` to `self`; zero if `earlier` is later (as
    /// `std::time::Instant`'s `-` does).
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
