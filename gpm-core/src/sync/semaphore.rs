//! `Semaphore`: Go's `golang.org/x/sync/semaphore.Weighted`.
//!
//! A fixed number of permits; a request takes `n` of them at once. Waiters
//! are served strictly in order: a request that does not fit blocks the
//! ones behind it even if they would fit, so a big request is never
//! starved by a stream of small ones. A request bigger than the whole
//! semaphore waits for ever without blocking anyone (Go's rule).
//!
//! State (one `AtomicUsize`): the available permits above a `WAITERS` bit.
//! Without waiters, acquire and release are a compare-and-swap; with
//! waiters, both go through the queue's lock, where releases are handed to
//! the waiters at the front that fit.

use super::sema::{Key, Status, WaitQueue};
use super::{block_on, lock_queue};
use crate::sched::{park, WaitReason};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::task::{ready, Context, Poll, Waker};

/// Somebody is queued (set and cleared with the queue's lock held).
const WAITERS: usize = 1;
/// Available permits are `state >> PERMITS_SHIFT`.
const PERMITS_SHIFT: u32 = 1;

/// Go's message.
const OVER_RELEASED: &str = "semaphore: released more than held";

/// A weighted semaphore for goroutines: Go's `semaphore.Weighted`.
///
/// ```
/// use gpm::sync::{Semaphore, WaitGroup};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// // At most 3 workers at a time.
/// let sem = Arc::new(Semaphore::new(3));
/// let (busy, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
/// let wg = WaitGroup::new();
/// for _ in 0..20 {
///     let (sem, busy, peak) = (sem.clone(), busy.clone(), peak.clone());
///     wg.go(async move {
///         sem.acquire(1).await;
///         let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
///         peak.fetch_max(now, Ordering::SeqCst);
///         gpm::yield_now().await;
///         busy.fetch_sub(1, Ordering::SeqCst);
///         sem.release(1);
///     });
/// }
/// wg.wait().await;
/// assert!(peak.load(Ordering::SeqCst) <= 3);
/// # });
/// ```
///
/// Permits are not tied to the goroutine that acquired them: any goroutine
/// may [`release`](Semaphore::release) them, as in Go.
pub struct Semaphore {
    /// Total permits.
    size: usize,
    /// Available permits and `WAITERS`.
    state: AtomicUsize,
    /// Waiters, each with the number of permits it asks for.
    queue: std::sync::Mutex<WaitQueue<usize>>,
}

impl Semaphore {
    /// A semaphore with `size` permits, all available. `const`, so it can
    /// be a `static`.
    ///
    /// ```
    /// static CONNECTIONS: gpm::sync::Semaphore = gpm::sync::Semaphore::new(10);
    /// assert!(CONNECTIONS.try_acquire(10));
    /// CONNECTIONS.release(10);
    /// ```
    ///
    /// # Panics
    /// If `size` is more than `usize::MAX / 2`.
    pub const fn new(size: usize) -> Semaphore {
        assert!(size <= usize::MAX >> PERMITS_SHIFT, "semaphore: size too large");
        Semaphore {
            size,
            state: AtomicUsize::new(size << PERMITS_SHIFT),
            queue: std::sync::Mutex::new(WaitQueue::new()),
        }
    }

    /// Waits for `n` permits (Go's `Acquire`). Requests are served in
    /// order. Dropping the future while it waits gives up its place; if the
    /// permits had been handed to it meanwhile, it releases them.
    ///
    /// A request for more than the semaphore's size never completes (and
    /// does not block others), as in Go.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let sem = gpm::sync::Semaphore::new(4);
    /// sem.acquire(3).await;
    /// assert!(!sem.try_acquire(2));
    /// sem.release(3);
    /// # });
    /// ```
    pub fn acquire(&self, n: usize) -> AcquireFuture<'_> {
        AcquireFuture {
            sem: self,
            n,
            key: None,
            done: false,
        }
    }

    /// Takes `n` permits if they are available now and nobody waits (Go's
    /// `TryAcquire`).
    ///
    /// ```
    /// let sem = gpm::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire(2));
    /// assert!(!sem.try_acquire(1));
    /// sem.release(2);
    /// ```
    pub fn try_acquire(&self, n: usize) -> bool {
        let mut s = self.state.load(Relaxed);
        while s & WAITERS == 0 && s >> PERMITS_SHIFT >= n {
            // Acquire: pairs with the releaser's Release.
            match self
                .state
                .compare_exchange_weak(s, s - (n << PERMITS_SHIFT), Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    /// Gives back `n` permits (Go's `Release`), serving waiters in order.
    ///
    /// ```
    /// let sem = gpm::sync::Semaphore::new(1);
    /// assert!(sem.try_acquire(1));
    /// sem.release(1);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    ///
    /// # Panics
    /// With Go's message `semaphore: released more than held` if that would
    /// make more permits available than the semaphore's size.
    #[track_caller]
    pub fn release(&self, n: usize) {
        let mut s = self.state.load(Relaxed);
        while s & WAITERS == 0 {
            let available = (s >> PERMITS_SHIFT).checked_add(n).filter(|&a| a <= self.size);
            let Some(available) = available else {
                panic!("{OVER_RELEASED}");
            };
            match self
                .state
                .compare_exchange_weak(s, available << PERMITS_SHIFT, Release, Relaxed)
            {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
        let mut queue = lock_queue(&self.queue);
        let wakers = self.settle(&mut queue, n);
        drop(queue);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// [`acquire`](Semaphore::acquire) on a plain thread, parking it.
    ///
    /// ```
    /// let sem = gpm::sync::Semaphore::new(1);
    /// sem.acquire_blocking(1);
    /// sem.release(1);
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine: use [`acquire`](Semaphore::acquire) there.
    #[track_caller]
    pub fn acquire_blocking(&self, n: usize) {
        block_on("Semaphore::acquire_blocking", self.acquire(n));
    }

    /// Permits available now (a snapshot; Go has no such call).
    ///
    /// ```
    /// let sem = gpm::sync::Semaphore::new(5);
    /// assert!(sem.try_acquire(2));
    /// assert_eq!(sem.available_permits(), 3);
    /// # sem.release(2);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.state.load(Relaxed) >> PERMITS_SHIFT
    }

    /// The total number of permits.
    ///
    /// ```
    /// assert_eq!(gpm::sync::Semaphore::new(5).size(), 5);
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// With the queue locked: adds `released` permits and hands permits to
    /// the waiters at the front that fit (Go's `notifyWaiters`), keeping
    /// `WAITERS` in step. Returns their wakers.
    #[track_caller]
    fn settle(&self, queue: &mut WaitQueue<usize>, released: usize) -> Vec<Waker> {
        let mut s = self.state.load(Relaxed);
        let granted = loop {
            let available = (s >> PERMITS_SHIFT).checked_add(released).filter(|&a| a <= self.size);
            let Some(mut available) = available else {
                panic!("{OVER_RELEASED}");
            };
            let mut granted = 0;
            for key in queue.iter() {
                let n = *queue.data(key);
                if n > available {
                    break;
                }
                available -= n;
                granted += 1;
            }
            let waiters = if queue.len() > granted { WAITERS } else { 0 };
            match self
                .state
                .compare_exchange_weak(s, (available << PERMITS_SHIFT) | waiters, AcqRel, Relaxed)
            {
                Ok(_) => break granted,
                Err(now) => s = now,
            }
        };
        (0..granted)
            .filter_map(|_| queue.pop_front(Status::Granted).and_then(|(_, waker)| waker))
            .collect()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("size", &self.size)
            .field("available", &self.available_permits())
            .finish()
    }
}

/// The future of [`Semaphore::acquire`].
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireFuture<'a> {
    sem: &'a Semaphore,
    n: usize,
    key: Option<Key>,
    /// Set when `poll` has returned `Ready` (`FusedFuture`).
    done: bool,
}

impl Future for AcquireFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let result = this.poll_acquire(cx);
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
/// let sem = gpm::sync::Semaphore::new(2);
/// let mut acquire = sem.acquire(2);
/// futures::select! { () = acquire => {} }
/// assert!(acquire.is_terminated());
/// assert_eq!(sem.available_permits(), 0);
/// # });
/// ```
impl futures_core::FusedFuture for AcquireFuture<'_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl AcquireFuture<'_> {
    fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        ready!(crate::coop::proceed(cx));
        let this = self;
        let sem = this.sem;
        if let Some(k) = this.key {
            let mut queue = lock_queue(&sem.queue);
            if queue.status(k) == Status::Granted {
                queue.remove(k);
                this.key = None;
                return Poll::Ready(());
            }
            queue.set_waker(k, cx.waker());
            drop(queue);
            park(WaitReason::Semacquire);
            return Poll::Pending;
        }
        if this.n > sem.size {
            // Can never be served; waiting in line would block everyone.
            park(WaitReason::Semacquire);
            return Poll::Pending;
        }
        if sem.try_acquire(this.n) {
            return Poll::Ready(());
        }
        let mut queue = lock_queue(&sem.queue);
        // Take the permits, or announce a waiter, in one step.
        let mut s = sem.state.load(Relaxed);
        loop {
            let take = s & WAITERS == 0 && s >> PERMITS_SHIFT >= this.n;
            let new = if take {
                s - (this.n << PERMITS_SHIFT)
            } else {
                s | WAITERS
            };
            match sem.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) if take => return Poll::Ready(()),
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        this.key = Some(queue.push_back(cx.waker(), this.n));
        drop(queue);
        park(WaitReason::Semacquire);
        Poll::Pending
    }
}

impl Drop for AcquireFuture<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let sem = self.sem;
        let mut queue = lock_queue(&sem.queue);
        if queue.remove(key) == Status::Granted {
            drop(queue);
            sem.release(self.n);
        } else {
            // If it was at the front, those behind it may fit now.
            let wakers = sem.settle(&mut queue, 0);
            drop(queue);
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

impl fmt::Debug for AcquireFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireFuture")
            .field("n", &self.n)
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
