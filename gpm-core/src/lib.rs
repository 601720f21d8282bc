//! # gpm-core: Go's GPM scheduler for Rust futures
//!
//! The runtime behind the `gpm` crate. Most users want `gpm` itself; this
//! crate holds the machinery, one idea per file:
//!
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | `g.rs` | `g` | a goroutine: an `async_task` task with an id, state and spawn site |
//! | `m.rs` | `m`, `schedule`, `findRunnable` | an OS thread running the scheduler loop; `block_on`'s main G |
//! | `p.rs` | `p`, `runqput`, `runqget` | a processor: runnext + ring + schedtick |
//! | `ring.rs` | `runq`, `runqsteal` | the 256-slot lock-free ring (owner / thief halves) |
//! | `global.rs` | `sched.runq`, `globrunqget` | the global run queue |
//! | `idle.rs` | `pidle`, `midle`, `nmspinning` | idle Ps and Ms, spinning, the no-lost-wakeup protocol |
//! | `park.rs` | `notesleep` | where an M sleeps |
//! | `sched.rs` | `sched`, `wakep`, `startm`, `handoffp`, `newproc` | shared state and the operations on it |
//! | `sysmon.rs` | `sysmon` | the thread that flags Ps running one time slice too long |
//! | [`coop`] | | the per-poll budget that leaf operations spend; where a flagged G yields |
//! | [`chan`] | `hchan`, `sudog`, `selectgo` | channels and `select!` |
//! | `registry.rs` | `allgs` | every parked G, for shutdown and `abort` |
//! | [`runtime`] | | `Builder`, `Runtime`, `Handle`, `stats()` |
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
//! - **`yield_now` batches its trip to the global queue.** A yielded G goes
//!   to a short list on its P, appended to the global queue's tail, in
//!   order, the next time that P looks at the global queue (every 61st tick
//!   or when its ring is empty), under the lock it takes then anyway; and
//!   when the global queue is empty they go straight back behind the P's
//!   ring, which is the same place in the order. The order is Go's; the lock
//!   is taken per batch, not per yield, and yielders keep their P's cache.
//! - **`main` stays on its thread.** A `block_on` future need not be
//!   `Send`, so it is polled by the calling thread, which is an M like any
//!   other while it holds a P. When main yields it cannot go to the global
//!   queue; its M first runs the Gs that were runnable then (at most 61).
//! - **Gs are listed when they first park.** Go keeps every G in `allgs`;
//!   gpm lists a G (for shutdown and `abort`) the first time it waits, since
//!   until then it is in a run queue or running. Listing every G at spawn
//!   cost a third of a spawn-heavy benchmark.
//! - **Wakes from a G always `wakep`**, as Go: skipping it for a G readied
//!   into an empty runnext halves ping-pong costs but strands the G when the
//!   current poll then blocks its thread (tokio's benches do exactly that).
//!   Making that skip safe is sysmon's job (a later issue).

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod chan;
mod clock;
pub mod coop;
mod current;
mod g;
mod global;
mod idle;
mod join;
mod loom;
mod m;
mod p;
mod park;
mod registry;
mod ring;
pub mod runtime;
mod sched;
mod sysmon;
mod wait;
mod yield_now;

#[cfg(all(test, loom))]
mod loom_tests;

pub use join::{JoinError, JoinHandle};
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
