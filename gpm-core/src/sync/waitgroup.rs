//! `WaitGroup`: Go's `sync.WaitGroup` (`sync/waitgroup.go`).
//!
//! State (one `AtomicU64`): the counter above a `WAITERS` bit. The counter
//! changes by compare-and-swap; the change that brings it to zero while
//! `WAITERS` is set is made with the queue's lock held and, in the same
//! step, clears `WAITERS` and releases every waiter. So the waiters of one
//! "generation" are exactly those that queued before the counter reached
//! zero, and the group can be reused at once (Go panics on some reuse
//! races; here they are well defined).

use super::sema::{Key, Status, WaitQueue};
use super::{block_on, lock_queue};
use crate::sched::{park, WaitReason};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

/// Somebody waits (set and cleared with the queue's lock held).
const WAITERS: u64 = 1;
/// The counter is `state >> COUNT_SHIFT`.
const COUNT_SHIFT: u32 = 1;

/// Go's words, so that Go users recognise the bug.
const NEGATIVE: &str = "sync: negative WaitGroup counter";

/// What the handles share.
struct Inner {
    /// Counter and `WAITERS`.
    state: AtomicU64,
    /// Goroutines waiting for the counter to reach zero.
    queue: std::sync::Mutex<WaitQueue<()>>,
}

/// Waits for a collection of goroutines to finish: Go's `sync.WaitGroup`.
///
/// [`add`](WaitGroup::add) the number of goroutines to wait for, have each
/// call [`done`](WaitGroup::done) when it finishes, and
/// [`wait`](WaitGroup::wait) until all have. Or let
/// [`go`](WaitGroup::go) do the counting (Go 1.25's `wg.Go`).
///
/// A `WaitGroup` is a handle: clones share one counter (as Go code shares a
/// `*sync.WaitGroup`), so each goroutine can own one.
///
/// ```
/// use gpm::sync::WaitGroup;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let wg = WaitGroup::new();
/// let hits = Arc::new(AtomicUsize::new(0));
/// for _ in 0..8 {
///     wg.add(1);
///     let (wg, hits) = (wg.clone(), hits.clone());
///     gpm::go!(async move {
///         hits.fetch_add(1, Ordering::Relaxed);
///         wg.done();
///     });
/// }
/// wg.wait().await;
/// assert_eq!(hits.load(Ordering::Relaxed), 8);
/// # });
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

impl WaitGroup {
    /// A group with a counter of zero.
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(Inner {
                state: AtomicU64::new(0),
                queue: std::sync::Mutex::new(WaitQueue::new()),
            }),
        }
    }

    /// Adds `delta` (which may be negative) to the counter (Go's `Add`).
    /// When the counter reaches zero, every goroutine blocked in
    /// [`wait`](WaitGroup::wait) is released.
    ///
    /// As in Go, call `add` with a positive delta before starting the
    /// goroutine (or whatever else) to wait for, not inside it.
    ///
    /// ```
    /// let wg = gpm::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.add(-2);
    /// wg.wait_blocking(); // the counter is zero: returns at once
    /// ```
    ///
    /// # Panics
    /// With Go's message `sync: negative WaitGroup counter` if the counter
    /// would go below zero (it is left unchanged).
    #[track_caller]
    pub fn add(&self, delta: isize) {
        let inner = &*self.inner;
        let mut s = inner.state.load(Relaxed);
        loop {
            let count = counted(s, delta);
            if count == 0 && s & WAITERS != 0 {
                break;
            }
            // Release (in AcqRel): the work before `done` happens before
            // `wait` returns; Acquire: as the last RMW, it may be the one
            // that passes those on to waiters (slow path).
            match inner
                .state
                .compare_exchange_weak(s, (count << COUNT_SHIFT) | (s & WAITERS), AcqRel, Relaxed)
            {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
        // The counter reaches zero and somebody waits: release them all in
        // the same step.
        let mut queue = lock_queue(&inner.queue);
        let mut s = inner.state.load(Relaxed);
        let released = loop {
            let count = counted(s, delta);
            let new = if count == 0 {
                0
            } else {
                (count << COUNT_SHIFT) | (s & WAITERS)
            };
            match inner.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => break count == 0 && s & WAITERS != 0,
                Err(now) => s = now,
            }
        };
        let mut wakers = Vec::new();
        if released {
            wakers.reserve(queue.len());
            while let Some((_, waker)) = queue.pop_front(Status::Granted) {
                wakers.extend(waker);
            }
        }
        drop(queue);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Subtracts one from the counter (Go's `Done`).
    ///
    /// ```
    /// let wg = gpm::sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// wg.wait_blocking();
    /// ```
    ///
    /// # Panics
    /// With `sync: negative WaitGroup counter` if the counter is zero.
    #[track_caller]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Waits until the counter is zero (Go's `Wait`); at once if it is.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let wg = gpm::sync::WaitGroup::new();
    /// wg.add(1);
    /// let worker = wg.clone();
    /// gpm::go!(async move { worker.done() });
    /// wg.wait().await;
    /// # });
    /// ```
    pub fn wait(&self) -> WaitFuture<'_> {
        WaitFuture {
            group: self,
            key: None,
            done: false,
        }
    }

    /// [`wait`](WaitGroup::wait) on a plain thread, parking it.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new().unwrap();
    /// let wg = gpm::sync::WaitGroup::new();
    /// for _ in 0..4 {
    ///     wg.add(1);
    ///     let wg = wg.clone();
    ///     drop(rt.spawn(async move { wg.done() }));
    /// }
    /// wg.wait_blocking();
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine: use [`wait`](WaitGroup::wait) there.
    #[track_caller]
    pub fn wait_blocking(&self) {
        block_on("WaitGroup::wait_blocking", self.wait());
    }

    /// Starts `future` as a goroutine counted by this group: `add(1)` now,
    /// `done()` when it finishes (Go 1.25's `wg.Go(f)`). `done` also runs
    /// if the goroutine panics or is dropped.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    ///
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let wg = gpm::sync::WaitGroup::new();
    /// let sum = Arc::new(AtomicU32::new(0));
    /// for i in 1..=4 {
    ///     let sum = sum.clone();
    ///     wg.go(async move {
    ///         sum.fetch_add(i, Ordering::Relaxed);
    ///     });
    /// }
    /// wg.wait().await;
    /// assert_eq!(sum.load(Ordering::Relaxed), 10);
    /// # });
    /// ```
    ///
    /// # Panics
    /// Outside a gpm runtime.
    #[track_caller]
    pub fn go<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        /// Calls `done` when the goroutine's future is dropped, however.
        struct DoneOnDrop(WaitGroup);
        impl Drop for DoneOnDrop {
            fn drop(&mut self) {
                self.0.done();
            }
        }
        let handle = crate::runtime::Handle::current();
        self.add(1);
        let done = DoneOnDrop(self.clone());
        handle.go(async move {
            let _done = done;
            future.await;
        });
    }

    fn count(&self) -> u64 {
        self.inner.state.load(Relaxed) >> COUNT_SHIFT
    }
}

impl Default for WaitGroup {
    fn default() -> WaitGroup {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup").field("count", &self.count()).finish()
    }
}

/// The counter after adding `delta` to the one in `state`.
#[track_caller]
fn counted(state: u64, delta: isize) -> u64 {
    let count = i128::from(state >> COUNT_SHIFT) + delta as i128;
    if count < 0 {
        panic!("{NEGATIVE}");
    }
    u64::try_from(count)
        .ok()
        .filter(|&c| c <= u64::MAX >> COUNT_SHIFT)
        .expect("sync: WaitGroup counter overflows")
}

/// The future of [`WaitGroup::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitFuture<'a> {
    group: &'a WaitGroup,
    key: Option<Key>,
    /// Set when `poll` has returned `Ready` (`FusedFuture`).
    done: bool,
}

impl Future for WaitFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let result = this.poll_wait(cx);
        this.done |= result.is_ready();
        result
    }
}

/// True once the future has completed, so `futures::select!` takes it as
/// it is (no `.fuse()`) and skips it after its branch ran.
///
/// ```
/// use futures::future::FusedFuture;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let wg = gpm::sync::WaitGroup::new();
/// wg.go(async {});
/// let mut wait = wg.wait();
/// futures::select! { () = wait => {} }
/// assert!(wait.is_terminated());
/// # });
/// ```
impl futures_core::FusedFuture for WaitFuture<'_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl WaitFuture<'_> {
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        ready!(crate::coop::proceed(cx));
        let this = self;
        let inner = &*this.group.inner;
        if let Some(k) = this.key {
            let mut queue = lock_queue(&inner.queue);
            if queue.status(k) == Status::Granted {
                queue.remove(k);
                this.key = None;
                return Poll::Ready(());
            }
            queue.set_waker(k, cx.waker());
            drop(queue);
            park(WaitReason::WaitGroup);
            return Poll::Pending;
        }
        // Acquire: the goroutines' work happens before we return.
        if inner.state.load(Acquire) >> COUNT_SHIFT == 0 {
            return Poll::Ready(());
        }
        let mut queue = lock_queue(&inner.queue);
        let mut s = inner.state.load(Relaxed);
        loop {
            if s >> COUNT_SHIFT == 0 {
                std::sync::atomic::fence(Acquire);
                return Poll::Ready(());
            }
            match inner.state.compare_exchange_weak(s, s | WAITERS, AcqRel, Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        this.key = Some(queue.push_back(cx.waker(), ()));
        drop(queue);
        park(WaitReason::WaitGroup);
        Poll::Pending
    }
}

impl Drop for WaitFuture<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let inner = &*self.group.inner;
            let mut queue = lock_queue(&inner.queue);
            // Released or not, there is nothing to pass on.
            queue.remove(key);
            if queue.is_empty() {
                inner.state.fetch_and(!WAITERS, AcqRel);
            }
        }
    }
}

impl fmt::Debug for WaitFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
