//! # gpm-core: Go's GPM scheduler for Rust futures
//!
//! The runtime behind the `gpm` crate. Most users want `gpm` itself; this
//! crate holds the machinery, one idea per file:
//!
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | `g.rs` | `g` | a goroutine: an `async_task` task with an id, state and spawn site |
//! | `m.rs` | `m`, `schedule`, `findRunnable` | an OS thread running the scheduler loop; `block_on`'s main G (on its own thread, or as goroutine 1) |
//! | `p.rs` | `p`, `runqput`, `runqget` | a processor: runnext + ring + schedtick |
//! | `ring.rs` | `runq`, `runqsteal` | the 256-slot lock-free ring (owner / thief halves) |
//! | `global.rs` | `sched.runq`, `globrunqget` | the global run queue |
//! | `idle.rs` | `pidle`, `midle`, `nmspinning` | idle Ps and Ms, spinning, the no-lost-wakeup protocol |
//! | `park.rs` | `notesleep` | where an M sleeps |
//! | `sched.rs` | `sched`, `wakep`, `startm`, `handoffp`, `newproc` | shared state and the operations on it |
//! | `current.rs` | `getg().m` | the M running on this thread, and its P (held, or in its hold during a poll) |
//! | `hold.rs` | `_Psyscall`, `retake` | where a P waits while its M polls a G, so sysmon can take it from a stuck M |
//! | `sysmon.rs` | `sysmon`, `retake` | flags Ps running one time slice too long; retakes Ps from stuck polls and syscalls; runs checkdead and schedtrace |
//! | `syscall.rs` | `entersyscall`, `exitsyscall` | `gpm::syscall`: a blocking call inline, with the P up for grabs |
//! | `blocking.rs` | | the `spawn_blocking` pool: threads without Ps, capped, with a keep-alive |
//! | `netpoll.rs` | `netpoll`, `pollDesc` | socket readiness on `mio` (edge-triggered); the poller M, the non-blocking polls |
//! | [`net`] | `net` | TCP, UDP and Unix sockets on the netpoller, with futures-io traits and stream halves |
//! | `timers.rs` | `p.timers`, `checkTimers` | a timer heap per P, fired by the Ms; the M that sleeps until the next one |
//! | [`time`] | `time` | `sleep`, `timeout`, `after`, `Ticker` |
//! | [`coop`] | | the per-poll budget that leaf operations spend; where a flagged G yields |
//! | `wait.rs`, `clock.rs` | `waitReason`, `waitsince` | why and since when a G waits |
//! | `registry.rs` | `allgs` | every parked G, for shutdown, `abort` and dumps |
//! | `checkdead.rs` | `checkdead` | "all goroutines are asleep - deadlock!" |
//! | `trace.rs` | `schedtrace` | `GPM_DEBUG=schedtrace`, the SIGQUIT dump |
//! | [`chan`] | `hchan`, `sudog`, `selectgo` | channels and `select!` |
//! | [`sync`] | `sync`, `sema.go` | Mutex (with starvation mode), RwLock, WaitGroup, Once, Semaphore |
//! | [`context`] | `context` | cancellation trees, deadlines |
//! | [`runtime`] | | `Builder`, `Runtime`, `Handle`, `stats()`, `dump()` |
//!
//! The rules and numbers are Go's (see DESIGN.md in the project): a G
//! readied by a running G goes to runnext; a full ring moves 128 + 1 Gs to
//! the global queue; thieves take half, rounded up, in 4 random-order
//! rounds, touching runnext only in the last; every 61st schedtick the
//! global queue goes first; at most half the busy Ps' Ms spin.
//!
//! # Where gpm departs from Go, and why
//! - **The ring claims before it copies.** Go's thief copies half a ring
//!   and then CASes the head; in Rust that reads slots the owner may be
//!   writing. gpm uses tokio's two-index head (`steal`, `real`): a thief
//!   claims, copies, then releases, and the owner treats claimed slots as
//!   full.
//! - **The runnext pause spins.** A thief waits ~3 µs before taking a
//!   running victim's runnext, spinning (a 3 µs sleep takes ~60 µs on
//!   Linux), and takes it only if it still holds the G it saw (Go's CAS).
//! - **`yield_now` batches its trip to the global queue.** Go's `Gosched`
//!   takes the queue's lock for every yield. With the queue empty, gpm
//!   puts the G at its P's ring tail (the same place in the order, no
//!   lock); otherwise in a list on its P, appended to the queue in order
//!   when the P next looks at it, or before its M's next poll once a P is
//!   idle or an M spins. The list's length is published on the P: sysmon
//!   hands the P over if its thread blocks with Gs in it, and `stats()`
//!   counts them. (A lock per yield made `yield_many` 2.8x slower.)
//! - **A non-`Send` main is alone on its thread.** Go's main is an
//!   ordinary goroutine; so is a `Send` main here (`block_on_send`, which
//!   `#[gpm::main]` picks when it can). A `block_on` future need not be
//!   `Send`, so it cannot move: its thread polls it and nothing else (Go's
//!   `LockOSThread` rule), so that no goroutine can block the thread main
//!   needs. It borrows an idle P for each poll when one is free, and never
//!   waits for one.
//! - **Gs are listed when they first park.** Go keeps every G in `allgs`;
//!   gpm lists a G (for shutdown and `abort`) the first time it waits, since
//!   until then it is in a run queue or running. Listing every G at spawn
//!   cost a third of a spawn-heavy benchmark.
//! - **A wake into an empty runnext does not `wakep`.** Go calls `wakep`
//!   on every `ready`; in a ping-pong that is a futex wake per message for
//!   an M that finds nothing to steal. gpm skips it when the readied G went
//!   into an empty runnext (the readying G usually parks next, and this M
//!   runs it), and sysmon calls `wakep` when the same poll is still running
//!   at its next look, so a G readied by a poll that then blocks its thread
//!   is stolen within a tick or two. A spawn always calls `wakep`, as Go's
//!   `newproc` does.
//! - **A thief takes runnext only from a victim stuck in one poll.** Go
//!   takes it if the same G is there after the 3 µs pause; in a ping-pong
//!   the same G is back there a few hops later (an ABA), and the thief
//!   splits a pair that was doing fine on one P. gpm also checks that the
//!   victim started no poll during the pause.
//! - **A P is up for grabs during every poll, not only in syscalls.** Go
//!   preempts a goroutine that runs too long with a signal; a poll cannot
//!   be interrupted, so gpm does the next best thing: the M parks its P in
//!   a hold for the length of each poll (one store before, one CAS after),
//!   and sysmon hands the P to another M when a poll has lasted a time
//!   slice (10 ms) with work queued behind it (goroutines, or timers
//!   overdue). The stuck poll goes on without a P until its next leaf
//!   operation, where it yields; the goroutines behind it run elsewhere.
//!   What it cannot do is stop the stuck poll: a CPU loop keeps its thread
//!   busy until it reaches a leaf operation or returns.
//! - **sysmon fires overdue timers.** Go's sysmon starts an M for timers
//!   nobody fires and preempts by signal the goroutine whose P it needs;
//!   gpm's fires timers overdue by a millisecond itself (a main on its own
//!   thread needs no P to run), and the goroutines they wake are work for
//!   which a stuck P is handed over.
//! - **Deadlock detection counts threads.** Go knows every thread that
//!   could wake a goroutine; gpm cannot see a plain thread holding a
//!   channel. sysmon reports "all goroutines are asleep" only when two
//!   looks agree, every goroutine waits on a gpm primitive, no timer,
//!   blocking job or stuck poll is pending, and the process has no thread
//!   but the runtime's own (`/proc/self/task`; elsewhere it stays silent).
//! - **Timers keep a rising queue beside the heap.** Timers set with the
//!   same timeout arrive in deadline order; they are appended to a queue in
//!   O(1) instead of sifted into the heap (whose parent nodes are cache
//!   misses when a million timers wait).

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod chan;
pub mod context;
pub mod coop;
mod join;
pub mod net;
pub mod runtime;
mod sched;
pub mod sync;
mod syscall;
pub mod time;
mod yield_now;

pub use join::{JoinError, JoinHandle};
pub use syscall::syscall;
pub use yield_now::{yield_now, YieldNow};

use std::future::Future;
use std::panic::Location;

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
    let handle = runtime::Handle::try_current().unwrap_or_else(|| {
        panic!("gpm::spawn called outside a gpm runtime; use Runtime::spawn or Handle::spawn from plain threads")
    });
    JoinHandle::new(handle.shared.spawn(future, Location::caller(), false))
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
    let handle = runtime::Handle::try_current().unwrap_or_else(|| {
        panic!("gpm::spawn_blocking called outside a gpm runtime; use Runtime::spawn_blocking or Handle::spawn_blocking from plain threads")
    });
    sched::blocking::spawn(&handle.shared, f, Location::caller())
}
