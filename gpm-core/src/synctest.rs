//! Tests in virtual time that report their own deadlocks (Go's
//! `testing/synctest`).
//!
//! [`test`] runs a future in a *bubble*: a runtime of its own whose clock
//! is virtual. Every goroutine the future starts (`go!`, `spawn`), and
//! every goroutine those start, belongs to the bubble. Time in a bubble
//! starts at the instant the bubble is made and moves only when every
//! goroutine of the bubble is *durably blocked*; then it jumps straight
//! to the next timer. So a test of a 30-second retry loop takes
//! milliseconds, and its events happen in the order they would in real
//! time.
//!
//! ```
//! use std::time::Duration;
//!
//! gpm::synctest::test(async {
//!     let start = gpm::time::now();
//!     let ch = gpm::chan::<Duration>(1);
//!     let tx = ch.clone();
//!     gpm::go!(async move {
//!         gpm::time::sleep(Duration::from_secs(1)).await;
//!         tx.send(gpm::time::now() - start).await.unwrap(); // always 1 s
//!     });
//!     gpm::time::sleep(Duration::from_secs(2)).await; // the goroutine runs first
//!     assert_eq!(ch.try_recv(), Ok(Duration::from_secs(1)));
//!     assert_eq!(gpm::time::now() - start, Duration::from_secs(2));
//! });
//! ```
//!
//! # Durably blocked
//! A goroutine is durably blocked when only another goroutine of its
//! bubble can wake it: it waits on a channel, a `select!`, a timer
//! (`sleep`, `after`, `Ticker`, `timeout`, a context's deadline), a
//! `gpm::sync` primitive (`Mutex`, `RwLock`, `WaitGroup`, `Once`,
//! `Semaphore`), a `JoinHandle`, or [`wait`]. Waiting on a socket, in a
//! `gpm::syscall` or `spawn_blocking` job, or on a future gpm did not
//! write (its waker may be called from anywhere) is not durable, and the
//! clock does not move meanwhile. (Go counts `sync.Mutex` as not durable:
//! a Go mutex may be unlocked from outside the bubble. A gpm primitive
//! used by a bubble's goroutines belongs to the bubble's runtime, so gpm
//! counts it as durable.)
//!
//! When every goroutine of the bubble is durably blocked:
//! - [`wait`] returns, if a goroutine is in it;
//! - otherwise the clock moves to the next timer, if there is one and the
//!   root future (the one given to [`test`]) is not done;
//! - otherwise it is a deadlock, and [`test`] panics with Go's message,
//!   `deadlock: all goroutines in bubble are blocked` (or `deadlock: main
//!   bubble goroutine has exited but blocked goroutines remain` once the
//!   root is done), followed by the bubble's goroutine dump: each
//!   goroutine's wait reason and where it was started. This works under
//!   `cargo test`, whose threads keep gpm's process-wide deadlock
//!   detection silent.
//!
//! [`test`] returns once the root future is done and every other
//! goroutine of the bubble has exited.
//!
//! # Time
//! [`gpm::time::Instant::now()`](crate::time::Instant::now) (and
//! [`gpm::time::now()`](crate::time::now), `elapsed`) read the bubble's
//! clock inside a bubble, as tokio's `time::Instant` reads its paused
//! clock; `std::time::Instant::now()` is always the real clock. Everything
//! in `gpm::time` and `gpm::context` uses the bubble's clock inside a
//! bubble. Socket deadlines (`set_read_deadline`) take `std`'s `Instant`
//! and stay on the real clock, as I/O waits are not durable.
//!
//! # Go, tokio and gpm
//! | Go | tokio | gpm |
//! | --- | --- | --- |
//! | `synctest.Test(t, func(t *testing.T) { ... })` | `#[tokio::test(start_paused = true)]` | `#[gpm::test(synctest)]`, [`test`] |
//! | `synctest.Wait()` | (none) | [`wait`]`().await` |
//! | time advances when all goroutines are durably blocked | auto-advance when the runtime is idle | as Go |
//! | (none: time is not moved by hand) | `tokio::time::advance(d)` | sleep in the test: `sleep(d).await` |
//! | deadlock: panics with the goroutine list | hangs | as Go |
//!
//! # Differences from Go
//! - A bubble is a runtime of its own: a goroutine cannot leave its bubble
//!   or join one, and `spawn` on another runtime's `Handle` is outside.
//! - The clock starts at the bubble's creation, not at midnight UTC
//!   2000-01-01 (an `Instant` has no calendar).
//! - sysmon decides that a bubble is durably blocked (two looks, 50 µs
//!   apart, that agree), so each move of the clock costs about 0.1 ms of
//!   real time.

use crate::runtime::Runtime;
use crate::sched::{self, Shared, WaitReason};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Runs `future` in a new bubble on a runtime of its own with the default
/// number of Ps (Go's `synctest.Test`), and returns its output once every
/// goroutine of the bubble has exited.
///
/// ```
/// use std::time::Duration;
///
/// let waited = gpm::synctest::test(async {
///     let start = gpm::time::now();
///     let res = gpm::time::timeout(Duration::from_secs(30), gpm::chan::<()>(0).recv()).await;
///     assert!(res.is_err());
///     gpm::time::now() - start
/// });
/// assert_eq!(waited, Duration::from_secs(30));
/// ```
///
/// # Panics
/// When the bubble deadlocks (see the [module docs](self)), when `future`
/// or a goroutine of the bubble panics, and when called inside a
/// goroutine.
#[track_caller]
pub fn test<F: Future>(future: F) -> F::Output {
    Builder::new().test(future)
}

/// Runs `future` in a new bubble with `procs` Ps; see [`test`].
///
/// ```
/// let n = gpm::synctest::test_with_procs(4, async { gpm::runtime::gomaxprocs() });
/// assert_eq!(n, 4);
/// ```
#[track_caller]
pub fn test_with_procs<F: Future>(procs: usize, future: F) -> F::Output {
    Builder::new().procs(procs).test(future)
}

/// Builds a bubble's runtime: how many Ps.
///
/// ```
/// let out = gpm::synctest::Builder::new().procs(2).test(async { 7 });
/// assert_eq!(out, 7);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    /// Ps of the bubble's runtime (`None`: GOMAXPROCS's default).
    procs: Option<usize>,
    /// `shake(seed)`: the runtime's shake seed (`None`: `GPM_SHAKE`'s).
    shake: Option<u64>,
}

impl Builder {
    /// A bubble with the default number of Ps.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Sets the number of Ps (GOMAXPROCS) of the bubble's runtime.
    pub fn procs(mut self, n: usize) -> Builder {
        self.procs = Some(n);
        self
    }

    /// Shakes the bubble's scheduler with `seed`; see
    /// [`runtime::Builder::shake`](crate::runtime::Builder::shake).
    pub fn shake(mut self, seed: u64) -> Builder {
        self.shake = Some(seed);
        self
    }

    /// Runs `future` in a new bubble; see [`test`].
    #[track_caller]
    pub fn test<F: Future>(&self, future: F) -> F::Output {
        let location = Location::caller();
        let mut builder = crate::runtime::Builder::new()
            .bubble()
            .thread_name("gpm-synctest")
            // A goroutine's panic fails the test, as in `#[gpm::test]`.
            .unhandled_panic(crate::runtime::UnhandledPanic::ShutdownRuntime)
            // The bubble's watcher reports its deadlocks.
            .deadlock_detection(false);
        if let Some(procs) = self.procs {
            builder = builder.procs(procs);
        }
        if let Some(seed) = self.shake {
            builder = builder.shake(seed);
        }
        let rt: Runtime = builder
            .build()
            .unwrap_or_else(|e| panic!("gpm::synctest: could not build the bubble's runtime: {e}"));
        let shared = rt.handle().shared.clone();
        let output = rt.handle().block_on_at(
            Root {
                future: Box::pin(future),
                output: None,
                shared: shared.clone(),
            },
            location,
        );
        drop(rt);
        if let Some(message) = shared.take_panic() {
            panic!("{message}");
        }
        output
    }
}

/// The root of a bubble: the test's future, then the wait for the
/// bubble's other goroutines to exit; panics with the bubble's deadlock.
struct Root<F: Future> {
    /// The test's future (boxed: `Root` is then `Unpin`).
    future: Pin<Box<F>>,
    /// The future's output, once done.
    output: Option<F::Output>,
    /// The bubble's runtime.
    shared: Arc<Shared>,
}

// The future is boxed and the output never pinned: `Root` moves freely.
impl<F: Future> Unpin for Root<F> {}

impl<F: Future> Future for Root<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let bubble = this.shared.bubble().expect("a bubble's runtime has a bubble");
        if let Some(failure) = bubble.failure() {
            panic!("{failure}");
        }
        bubble.set_root(cx.waker());
        if this.output.is_none() {
            match this.future.as_mut().poll(cx) {
                Poll::Ready(output) => {
                    this.output = Some(output);
                    bubble.root_exited();
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        if this.shared.goroutines_besides_mains() == 0 {
            return Poll::Ready(this.output.take().expect("the root's output is kept until now"));
        }
        // Go's `synctest.Run` waits for the bubble's goroutines to exit;
        // the watcher wakes it when they have, or fails the test.
        sched::park(WaitReason::SynctestRun);
        Poll::Pending
    }
}

/// Waits until every other goroutine of the current bubble is durably
/// blocked (Go's `synctest.Wait`).
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
/// use std::sync::Arc;
///
/// gpm::synctest::test(async {
///     let done = Arc::new(AtomicBool::new(false));
///     let flag = done.clone();
///     gpm::go!(async move { flag.store(true, SeqCst) });
///     gpm::synctest::wait().await; // the goroutine has run and exited
///     assert!(done.load(SeqCst));
/// });
/// ```
///
/// # Panics
/// When polled outside a bubble, or while another goroutine of the same
/// bubble is in `wait` (as Go's).
pub fn wait() -> Wait {
    Wait { bubble: None }
}

/// The future of [`wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct Wait {
    /// The bubble's runtime, once the wait has begun.
    bubble: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait").field("begun", &self.bubble.is_some()).finish()
    }
}

impl Future for Wait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &this.bubble {
            Some(shared) => {
                let bubble = shared.bubble().expect("a bubble's runtime has a bubble");
                if bubble.poll_wait(cx.waker()) {
                    this.bubble = None;
                    return Poll::Ready(());
                }
            }
            None => {
                let shared = sched::current_shared()
                    .filter(|s| s.bubble().is_some())
                    .unwrap_or_else(|| panic!("gpm::synctest::wait called outside a bubble"));
                shared.bubble().expect("checked above").begin_wait(cx.waker());
                this.bubble = Some(shared);
            }
        }
        sched::park(WaitReason::SynctestWait);
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(shared) = self.bubble.take() {
            if let Some(bubble) = shared.bubble() {
                bubble.cancel_wait();
            }
        }
    }
}

/// Go's message for a bubble whose goroutines are all durably blocked
/// with no timer to wake one; [`test`]'s panic starts with it.
pub const DEADLOCK: &str = sched::DEADLOCK;

/// Go's message for a bubble whose root future is done while other
/// goroutines of it are durably blocked; [`test`]'s panic starts with it.
pub const DEADLOCK_AFTER_ROOT: &str = sched::DEADLOCK_AFTER_ROOT;
