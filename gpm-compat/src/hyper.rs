//! hyper 1.x glue (feature `hyper`): [`GpmExecutor`] as hyper's
//! `rt::Executor`, and [`GpmTimer`] / [`GpmSleep`] as its `rt::Timer` /
//! `rt::Sleep`.
//!
//! ```
//! use hyper::rt::{Executor, Timer};
//! use gpm_compat::{GpmExecutor, GpmTimer};
//! use std::time::{Duration, Instant};
//!
//! let rt = gpm::runtime::Runtime::new()?;
//! let (tx, rx) = futures::channel::oneshot::channel();
//! // hyper starts its HTTP/2 stream tasks this way.
//! GpmExecutor::new(&rt).execute(async move { tx.send(42).unwrap() });
//! assert_eq!(rt.block_on(rx), Ok(42));
//!
//! // hyper's timeouts and keep-alive pings sleep this way.
//! rt.block_on(async {
//!     let start = Instant::now();
//!     GpmTimer::new().sleep(Duration::from_millis(2)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(2));
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! With hyper's `server` / `client` features these plug in as
//! `http2::Builder::new(GpmExecutor::current())` and `.timer(GpmTimer::new())`;
//! the IO side is [`HyperIo`](crate::HyperIo) over gpm's `TcpStream`.

use crate::GpmExecutor;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Starts each future hyper hands over as a goroutine
/// ([`Handle::spawn`](gpm_core::runtime::Handle::spawn)) whose
/// `JoinHandle` is dropped at once.
///
/// A panic in one (an HTTP/2 handler that panics inside its stream task, a
/// client connection task) ends that goroutine only: the panic is kept in
/// the dropped handle, as tokio does for `tokio::spawn`, and the panic hook
/// prints it. A detached goroutine (`go`, [`Handle::go`](gpm_core::runtime::Handle::go))
/// would instead meet the runtime's
/// [`UnhandledPanic`](gpm_core::runtime::UnhandledPanic) rule, which by
/// default exits the process (status 2) as Go does: one bad request would
/// stop the whole server. hyper never awaits these tasks (it learns their
/// outcome through its own channels), so nothing is lost by dropping the
/// handle.
impl<F> ::hyper::rt::Executor<F> for GpmExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(self.handle().spawn(future));
    }
}

/// hyper's `rt::Timer` on gpm's timers.
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::{Duration, Instant};
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     let timer = gpm_compat::GpmTimer::new();
///     let mut sleep = timer.sleep(Duration::from_secs(3600));
///     // hyper moves a pending timeout this way, without a new allocation.
///     timer.reset(&mut sleep, Instant::now() + Duration::from_millis(1));
///     sleep.await;
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Its sleeps may be made anywhere but must be polled inside a goroutine of
/// a gpm runtime (they join the timers of the runtime that first polls
/// them). hyper polls them from the connection futures, which run as
/// goroutines.
#[derive(Clone, Copy, Debug, Default)]
pub struct GpmTimer {
    /// No state: the timers belong to the runtime that polls the sleep.
    _private: (),
}

impl GpmTimer {
    /// A timer on gpm's clock.
    ///
    /// ```
    /// let timer = gpm_compat::GpmTimer::new();
    /// let _ = timer;
    /// ```
    pub fn new() -> GpmTimer {
        GpmTimer { _private: () }
    }
}

impl ::hyper::rt::Timer for GpmTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(GpmSleep::new(gpm_core::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(GpmSleep::new(gpm_core::time::sleep_until(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<GpmSleep>() {
            Some(ours) => ours.reset(new_deadline),
            // Somebody else's sleep: replace it, as hyper's default does.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// hyper's `rt::Sleep`: a [`gpm_core::time::Sleep`] (it is `Send`, `Sync`
/// and `Unpin`, which hyper's trait and boxing need).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     let start = Instant::now();
///     gpm_compat::GpmSleep::new(gpm::time::sleep(Duration::from_millis(2))).await;
///     assert!(start.elapsed() >= Duration::from_millis(2));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct GpmSleep {
    /// gpm's sleep, which parks the goroutine with wait reason `sleep`.
    inner: gpm_core::time::Sleep,
}

impl GpmSleep {
    /// Wraps one of gpm's sleeps.
    ///
    /// ```
    /// let sleep = gpm_compat::GpmSleep::new(gpm::time::sleep(std::time::Duration::ZERO));
    /// gpm::runtime::Runtime::new()?.block_on(sleep);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: gpm_core::time::Sleep) -> GpmSleep {
        GpmSleep { inner }
    }

    /// When it completes.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline().into_std()
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }

    /// Moves the deadline, even after it has passed (see
    /// [`gpm_core::time::Sleep::reset`]).
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        Pin::new(&mut self.get_mut().inner).reset(deadline);
    }

    /// The wrapped sleep.
    pub fn into_inner(self) -> gpm_core::time::Sleep {
        self.inner
    }
}

impl Future for GpmSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // gpm's Sleep spends the coop budget and records the wait reason.
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

impl ::hyper::rt::Sleep for GpmSleep {}

impl From<gpm_core::time::Sleep> for GpmSleep {
    fn from(inner: gpm_core::time::Sleep) -> GpmSleep {
        GpmSleep::new(inner)
    }
}

/// hyper's bounds, checked at compile time.
const _: () = {
    const fn send_sync_unpin<T: Send + Sync + Unpin + 'static>() {}
    send_sync_unpin::<GpmSleep>();
    send_sync_unpin::<GpmTimer>();
    send_sync_unpin::<GpmExecutor>();
};
