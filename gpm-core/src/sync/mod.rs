//! Go's `sync` package for goroutines: [`Mutex`], [`RwLock`], [`WaitGroup`],
//! [`Once`] and [`OnceCell`], and a weighted [`Semaphore`] (Go's
//! `x/sync/semaphore`).
//!
//! Waiting is asynchronous: a goroutine that waits parks (its future returns
//! `Pending`) and its P runs other goroutines; the goroutine that releases
//! it readies it into its own P's `runnext`, as Go's `semrelease` does.
//! Plain threads use the `*_blocking` variants, which park the thread.
//!
//! ```
//! use gpm::sync::{Mutex, WaitGroup};
//! use std::sync::Arc;
//!
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! let total = Arc::new(Mutex::new(0));
//! let wg = WaitGroup::new();
//! for i in 1..=10 {
//!     let total = total.clone();
//!     wg.go(async move {
//!         *total.lock().await += i;
//!     });
//! }
//! wg.wait().await;
//! assert_eq!(*total.lock().await, 55);
//! # });
//! ```
//!
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | `sema.rs` | `sema.go` (`semaRoot`, `sudog`) | the FIFO of waiting goroutines, with hand-off |
//! | `mutex.rs` | `sync.Mutex` | a lock with Go's normal and starvation modes |
//! | `rwlock/` | `sync.RWMutex` | readers-writer lock; a waiting writer blocks new readers (`mod.rs`: the lock, its futures and guards; `raw.rs`: the turn-taking protocol) |
//! | `waitgroup.rs` | `sync.WaitGroup` | wait for a collection of goroutines |
//! | `once.rs` | `sync.Once`, `sync.OnceValue` | run an initialisation once |
//! | `semaphore.rs` | `x/sync/semaphore.Weighted` | weighted FIFO semaphore |
//!
//! # How the primitives are built
//! Every primitive has an atomic state word for its fast paths (an
//! uncontended lock or unlock is one compare-and-swap, as in Go) and a
//! [`std::sync::Mutex`] around its queue of waiters for the slow paths. A
//! fast path only succeeds while the state says nobody waits; every bit that
//! says somebody waits is set and cleared only with the queue's lock held,
//! by a compare-and-swap that also checks the condition the waiter waits
//! for. So a releaser either sees the waiter (and takes the slow path, which
//! wakes it), or the waiter sees the release (and does not wait): no lost
//! wake-ups.
//!
//! Every waiting future is a leaf operation: it spends one unit of the
//! goroutine's [`coop`](crate::coop) budget per poll, records Go's wait
//! reason (`sync.Mutex.Lock`, `semacquire`, ...) for dumps, and is
//! cancellation safe: dropped while waiting, it leaves the queue, and if it
//! had already been handed the lock or permits, it passes them on.
//!
//! gpm uses `std`'s atomics and mutex here, not the `loom` shim, so that the
//! constructors are `const` (usable in `static`s, like Go's zero values).

mod mutex;
mod once;
mod rwlock;
mod sema;
mod semaphore;
mod waitgroup;

pub use mutex::{LockFuture, Mutex, MutexGuard};
pub use once::{Once, OnceCell};
pub use rwlock::{ReadFuture, RwLock, RwLockReadGuard, RwLockWriteGuard, WriteFuture};
pub use semaphore::{AcquireFuture, Semaphore};
pub use waitgroup::{WaitFuture, WaitGroup};

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

/// Locks a primitive's queue. The queue's invariants hold between
/// statements that can panic, so a poisoned lock is still good.
fn lock_queue<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes the thread that is blocked in [`block_on`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a waiting future to completion on a plain thread, parking the
/// thread between polls (the `*_blocking` variants).
///
/// # Panics
/// On a thread of a gpm runtime: parking it would stall its P and every
/// goroutine queued there.
#[track_caller]
fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    if crate::sched::in_runtime() {
        panic!(
            "gpm::sync: {what} called from inside a goroutine; it would block this M and every \
             goroutine queued on its P. Use the async version with `.await` instead"
        );
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A wake that came before this park makes it return at once
            // (the thread's token); a spurious return just polls again.
            Poll::Pending => std::thread::park(),
        }
    }
}
