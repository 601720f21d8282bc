//! # gpm-core: Go's GPM scheduler for Rust futures
//!
//! The runtime behind the `gpm` crate. Most users want `gpm` itself; this
//! crate holds the machinery, one idea per file:
//!
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | [`g`](crate::g) | `g` | a goroutine: an `async_task` task with an id, state and spawn site |
//! | `m.rs` | `m`, `schedule`, `findRunnable` | an OS thread running the scheduler loop; `block_on`'s main G |
//! | `p.rs` | `p`, `runqput`, `runqget` | a processor: runnext + ring + schedtick |
//! | [`ring`] | `runq`, `runqsteal` | the 256-slot lock-free ring (owner / thief halves) |
//! | `global.rs` | `sched.runq`, `globrunqget` | the global run queue |
//! | `idle.rs` | `pidle`, `midle`, `nmspinning` | idle Ps and Ms, spinning, the no-lost-wakeup protocol |
//! | `park.rs` | `notesleep` | where an M sleeps |
//! | `sched.rs` | `sched`, `wakep`, `startm`, `handoffp`, `newproc` | shared state and the operations on it |
//! | `registry.rs` | `allgs` | every live G, for shutdown and `num_goroutine` |
//! | [`runtime`] | | `Builder`, `Runtime`, `Handle`, `stats()` |
//!
//! The rules and numbers are Go's (see DESIGN.md in the project): a G
//! readied by a running G goes to runnext; a full ring moves 128 + 1 Gs to
//! the global queue; thieves take half, rounded up, in 4 random-order
//! rounds, touching runnext only in the last; every 61st schedtick the
//! global queue goes first; at most half the busy Ps' Ms spin.

#![warn(clippy::undocumented_unsafe_blocks)]

mod context;
#[doc(hidden)]
pub mod g;
mod global;
mod idle;
mod join;
mod loom;
mod m;
mod p;
mod park;
mod registry;
#[doc(hidden)]
pub mod ring;
pub mod runtime;
mod sched;
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
