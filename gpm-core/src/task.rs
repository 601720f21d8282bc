//! Starting goroutines and blocking work, and giving the P up: `spawn`
//! (Go's `go`), `spawn_blocking`, `yield_now` (Go's `runtime.Gosched`) and
//! `syscall` (Go's `entersyscall` / `exitsyscall`). Each is the public face
//! of a scheduler operation (see `sched/mod.rs`).

use crate::sched;
use crate::JoinHandle;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Starts a goroutine and returns a handle to await its result.
///
/// Called from a goroutine, the new G goes to the current P's runnext
/// (Go's `newproc`), so it runs soon and near its parent; the G that was in
/// runnext moves to the back of the P's ring.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let handles: Vec<_> = (0..10u64).map(|i| gpm::spawn(async move { i * i })).collect();
/// let mut sum = 0;
/// for h in handles {
///     sum += h.await.unwrap();
/// }
/// assert_eq!(sum, 285);
/// # });
/// ```
///
/// # Panics
/// Outside a gpm runtime: use [`runtime::Runtime::spawn`] or
/// [`runtime::Handle::spawn`] there.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = crate::runtime::Handle::try_current().unwrap_or_else(|| {
        panic!("gpm::spawn called outside a gpm runtime; use Runtime::spawn or Handle::spawn from plain threads")
    });
    handle.shared.spawn(future, Location::caller())
}

/// Runs a blocking closure on a thread of the runtime's blocking pool and
/// returns a handle to await its result.
///
/// For work that would hold its thread for long: file I/O, DNS lookups, a
/// blocking C library, heavy computation. Run on a goroutine, such work
/// would stall its P and every goroutine queued there; a goroutine awaiting
/// the handle instead waits (`join`) like for any goroutine, and other
/// goroutines keep running. Go has no such pool (its blocking system calls
/// hand their P to another thread); this is tokio's, within Go's thread
/// limit.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let job = gpm::spawn_blocking(|| {
///     std::thread::sleep(std::time::Duration::from_millis(10)); // blocks a pool thread, not a P
///     6 * 7
/// });
/// assert_eq!(job.await.unwrap(), 42);
///
/// let job = gpm::spawn_blocking(|| -> u32 { panic!("boom") });
/// assert!(job.await.unwrap_err().is_panic());
/// # });
/// ```
///
/// The pool starts a thread when a job comes and no pool thread is idle, up
/// to [`Builder::max_blocking_threads`](runtime::Builder::max_blocking_threads)
/// (default 512) and within [`Builder::max_threads`](runtime::Builder::max_threads);
/// beyond that, jobs wait in line, first come first served. A thread idle
/// for [`Builder::blocking_keep_alive`](runtime::Builder::blocking_keep_alive)
/// (default 10 s) exits.
///
/// Awaiting the handle gives `Ok` with the closure's result, or a
/// [`JoinError`]:
/// - [`is_panic`](JoinError::is_panic): the closure panicked;
/// - [`is_cancelled`](JoinError::is_cancelled): the runtime shut down, or
///   the handle was [aborted](JoinHandle::abort), before the job started
///   (a running job cannot be stopped; shutdown does not wait for it);
/// - [`is_spawn_failure`](JoinError::is_spawn_failure): no thread could be
///   started for the job and no pool thread was alive to take it (the error
///   names the OS error, or `max_threads`). Such a job never runs; the
///   handle never hangs.
///
/// A job is not a goroutine: [`num_goroutine`](runtime::num_goroutine) and
/// dumps leave it out, though its id ([`JoinHandle::id`]) comes from the
/// same sequence. The closure runs outside the runtime: to start goroutines
/// from it, take a [`Handle`](runtime::Handle) along.
///
/// # Panics
/// Outside a gpm runtime: use [`runtime::Runtime::spawn_blocking`] or
/// [`runtime::Handle::spawn_blocking`] there.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let handle = crate::runtime::Handle::try_current().unwrap_or_else(|| {
        panic!("gpm::spawn_blocking called outside a gpm runtime; use Runtime::spawn_blocking or Handle::spawn_blocking from plain threads")
    });
    sched::spawn_blocking(&handle.shared, f, Location::caller())
}

/// Gives up the P so that other goroutines run: the calling goroutine goes
/// to the tail of the **global** queue, as Go's `runtime.Gosched()` does, and
/// is picked up again by whichever P gets to it.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// for _ in 0..3 {
///     gpm::yield_now().await;
/// }
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Tell the schedule function that this self-wake is a yield.
        sched::request_yield();
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs `f`, a call that may block its thread (a file read, a DNS lookup, a
/// C library call), inline on this goroutine's thread, without stalling the
/// goroutines queued behind it.
///
/// A short call costs a few loads and stores, no atomic read-modify-write. While it runs, the P stays
/// with this thread; if it is still running at sysmon's next look (20 µs
/// to 1 ms apart while goroutines run) and the P has other goroutines to
/// run, sysmon hands the P to another thread. When `f` returns, the goroutine
/// goes on with its P if nobody took it, else with an idle P if there is
/// one, else it yields at its next gpm operation (a channel operation, a
/// timer, I/O: any leaf future) and waits in the global queue for a P, as
/// Go's `exitsyscall` does; the thread then parks as idle. Code between
/// `syscall`'s return and that operation runs without a P.
///
/// Unlike `spawn_blocking`, no thread switch happens for a short call; for
/// a long call that should not occupy this goroutine, `spawn_blocking` is
/// the better tool. Outside a goroutine, `syscall(f)` is just `f()`.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let text = gpm::syscall(|| std::fs::read_to_string("Cargo.toml"));
/// assert!(text.is_ok());
/// # });
/// ```
pub fn syscall<R>(f: impl FnOnce() -> R) -> R {
    sched::syscall(f)
}
