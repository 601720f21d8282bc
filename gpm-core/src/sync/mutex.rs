//! `Mutex`: Go's `sync.Mutex` (`internal/sync/mutex.go`), with its two modes.
//!
//! **Normal mode.** Waiters queue FIFO, but a woken waiter does not own the
//! lock: it competes with goroutines that are just arriving (and that are
//! already running, so they usually win: *barging* keeps throughput high).
//! A woken waiter that loses goes back to the **front** of the queue.
//!
//! **Starvation mode.** A waiter that loses after waiting more than 1 ms
//! switches the mutex to starvation mode. Unlock then hands the lock
//! straight to the first waiter (it owns the lock when it wakes), and
//! newcomers neither take the lock nor spin: they queue at the tail. The
//! mutex goes back to normal mode when the waiter that was handed the lock
//! is the last one, or waited less than 1 ms.
//!
//! State bits (one `AtomicU32`): `LOCKED` may be taken and released by a
//! compare-and-swap anywhere; `WOKEN`, `STARVING` and `WAITERS` change only
//! with the queue's lock held. Go counts waiters in the state word; gpm
//! keeps a `WAITERS` bit instead and the count in the queue.
//!
//! Unlike Go's, the lock does not spin before it queues (a goroutine that
//! waits costs one park, and its P has other work), and the handed-off
//! lock keeps `LOCKED` set (Go clears it and lets the waiter set it, which
//! needs `STARVING` to mean "locked" meanwhile).

use super::sema::{Key, Status, WaitQueue};
use super::{block_on, lock_queue};
use crate::sched::{park, WaitReason};
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::task::{ready, Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The mutex is held.
const LOCKED: u32 = 1;
/// A waiter has been woken (normal mode) and has not yet tried again: no
/// need to wake another. Go's `mutexWoken`.
const WOKEN: u32 = 2;
/// Starvation mode: unlock hands the lock to the first waiter. Go's
/// `mutexStarving`. Only set while somebody is queued.
const STARVING: u32 = 4;
/// The queue is not empty.
const WAITERS: u32 = 8;

/// A waiter that waited longer than this switches to starvation mode (Go's
/// `starvationThresholdNs`).
const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// The lock without the data: Go's `sync.Mutex` itself.
pub(crate) struct RawMutex {
    /// `LOCKED | WOKEN | STARVING | WAITERS`.
    state: AtomicU32,
    /// Waiters, each with the time it first queued.
    queue: std::sync::Mutex<WaitQueue<Instant>>,
}

impl RawMutex {
    pub(crate) const fn new() -> RawMutex {
        RawMutex {
            state: AtomicU32::new(0),
            queue: std::sync::Mutex::new(WaitQueue::new()),
        }
    }

    /// Takes the lock if it is free and not reserved for a starving waiter
    /// (Go's `TryLock`).
    pub(crate) fn try_lock(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        while s & (LOCKED | STARVING) == 0 {
            // Acquire: the previous holder's writes happen before ours.
            match self.state.compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    /// One poll of a lock attempt; `key` is the waiter's slot once queued.
    pub(crate) fn poll_lock(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        ready!(crate::coop::proceed(cx));
        let Some(k) = *key else {
            if self.try_lock() {
                return Poll::Ready(());
            }
            let mut queue = lock_queue(&self.queue);
            // Take the lock or announce a waiter, in one step: an unlock
            // either comes before (and we take the lock) or sees WAITERS.
            if self.take_or_announce(0, false) {
                return Poll::Ready(());
            }
            *key = Some(queue.push_back(cx.waker(), Instant::now()));
            drop(queue);
            park(WaitReason::SyncMutexLock);
            return Poll::Pending;
        };
        let mut queue = lock_queue(&self.queue);
        match queue.status(k) {
            Status::Queued => {
                queue.set_waker(k, cx.waker());
                drop(queue);
                park(WaitReason::SyncMutexLock);
                Poll::Pending
            }
            Status::Granted => {
                // Starvation-mode hand-off: the unlocker left LOCKED set for us.
                queue.remove(k);
                *key = None;
                Poll::Ready(())
            }
            Status::Woken => {
                let starving = queue.data(k).elapsed() > STARVATION_THRESHOLD;
                if self.take_or_announce(WOKEN, starving) {
                    queue.remove(k);
                    *key = None;
                    return Poll::Ready(());
                }
                // Lost to a newcomer: back to the front (Go's queueLifo).
                queue.requeue_front(k, cx.waker());
                drop(queue);
                park(WaitReason::SyncMutexLock);
                Poll::Pending
            }
            Status::Aside => unreachable!("mutex waiters are never set aside"),
        }
    }

    /// With the queue locked: clears `clear`, then takes the lock if it is
    /// free and not reserved, else sets `WAITERS` (and `STARVING` if the
    /// caller is `starving`; the lock is held then, as Go requires). Returns
    /// true if the lock was taken.
    fn take_or_announce(&self, clear: u32, starving: bool) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            let free = s & (LOCKED | STARVING) == 0;
            let new = if free {
                (s & !clear) | LOCKED
            } else {
                (s & !clear) | WAITERS | if starving { STARVING } else { 0 }
            };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => return free,
                Err(now) => s = now,
            }
        }
    }

    /// A waiting future was dropped: leave the queue, and pass on whatever
    /// it had been given.
    pub(crate) fn cancel(&self, key: Key) {
        let mut queue = lock_queue(&self.queue);
        match queue.remove(key) {
            Status::Queued => {
                if queue.is_empty() {
                    // Starvation mode needs someone to hand the lock to.
                    self.state.fetch_and(!(WAITERS | STARVING), AcqRel);
                }
            }
            Status::Granted => {
                drop(queue);
                self.unlock();
            }
            Status::Woken => {
                // It was woken to try again: let the next waiter try instead.
                self.state.fetch_and(!WOKEN, AcqRel);
                let waker = self.wake_one(&mut queue);
                drop(queue);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            Status::Aside => unreachable!("mutex waiters are never set aside"),
        }
    }

    /// Releases the lock (Go's `Unlock`).
    pub(crate) fn unlock(&self) {
        let mut s = self.state.load(Relaxed);
        // Fast path: nobody to wake (no waiters, or one is awake already).
        while s & STARVING == 0 && (s & WAITERS == 0 || s & WOKEN != 0) {
            debug_assert!(s & LOCKED != 0, "gpm::sync: unlock of unlocked mutex");
            // Release: our writes happen before the next holder's.
            match self.state.compare_exchange_weak(s, s & !LOCKED, Release, Relaxed) {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
        self.unlock_slow();
    }

    fn unlock_slow(&self) {
        let mut queue = lock_queue(&self.queue);
        let s = self.state.load(Acquire);
        let waker = if s & STARVING != 0 {
            // Hand the lock to the first waiter; LOCKED stays set, and no
            // newcomer can take it meanwhile.
            let (key, waker) = queue
                .pop_front(Status::Granted)
                .expect("gpm::sync: starving mutex without waiters");
            let short_wait = queue.data(key).elapsed() < STARVATION_THRESHOLD;
            let clear = if queue.is_empty() {
                WAITERS | STARVING
            } else if short_wait {
                STARVING
            } else {
                0
            };
            if clear != 0 {
                self.state.fetch_and(!clear, AcqRel);
            }
            waker
        } else {
            self.state.fetch_and(!LOCKED, Release);
            self.wake_one(&mut queue)
        };
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// With the queue locked, in normal mode: wakes the first waiter unless
    /// the lock was taken meanwhile or a waiter is awake already.
    fn wake_one(&self, queue: &mut WaitQueue<Instant>) -> Option<Waker> {
        if queue.is_empty() {
            return None;
        }
        let last = queue.len() == 1;
        self.state
            .fetch_update(AcqRel, Relaxed, |s| {
                (s & (LOCKED | WOKEN | STARVING) == 0).then_some(if last { (s | WOKEN) & !WAITERS } else { s | WOKEN })
            })
            .ok()?;
        queue.pop_front(Status::Woken).and_then(|(_, waker)| waker)
    }

    #[cfg(test)]
    fn state(&self) -> u32 {
        self.state.load(Relaxed)
    }
}

/// A mutual-exclusion lock for goroutines: Go's `sync.Mutex`, holding the
/// data it protects.
///
/// [`lock`](Mutex::lock) waits without blocking the thread: the goroutine
/// parks and its P runs others. The lock is fair in Go's way: normally a
/// goroutine that arrives while the lock is free takes it even if others
/// wait (fast), but a waiter that has waited more than 1 ms puts the mutex
/// in *starvation mode*, where unlock hands the lock to the longest waiter
/// and newcomers queue behind it.
///
/// ```
/// use gpm::sync::Mutex;
/// use std::sync::Arc;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let count = Arc::new(Mutex::new(0));
/// let handles: Vec<_> = (0..100)
///     .map(|_| {
///         let count = count.clone();
///         gpm::spawn(async move {
///             let mut n = count.lock().await;
///             *n += 1;
///         })
///     })
///     .collect();
/// for h in handles {
///     h.await.unwrap();
/// }
/// assert_eq!(*count.lock().await, 100);
/// # });
/// ```
///
/// The guard unlocks when dropped; holding it across `.await` is fine. A
/// goroutine that panics while holding the lock unlocks it (there is no
/// poisoning, as in Go).
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the data moves with the mutex.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: the lock hands `&mut T` to one guard at a time, possibly on
// another thread, so `T: Send` is what it takes (as `std::sync::Mutex`).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`. `const`, so it can be a
    /// `static`.
    ///
    /// ```
    /// static COUNT: gpm::sync::Mutex<u32> = gpm::sync::Mutex::new(0);
    /// *COUNT.try_lock().unwrap() += 1;
    /// assert_eq!(*COUNT.try_lock().unwrap(), 1);
    /// ```
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Takes the data out.
    ///
    /// ```
    /// let m = gpm::sync::Mutex::new(String::from("go"));
    /// assert_eq!(m.into_inner(), "go");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock (Go's `Lock`); the guard unlocks when dropped.
    ///
    /// Dropping the future while it waits gives up its place; if the lock
    /// had been handed to it meanwhile, it passes the lock on.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let m = gpm::sync::Mutex::new(vec![1]);
    /// m.lock().await.push(2);
    /// assert_eq!(*m.lock().await, [1, 2]);
    /// # });
    /// ```
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture {
            mutex: self,
            key: None,
            done: false,
        }
    }

    /// Takes the lock if it is free now (Go's `TryLock`). In starvation
    /// mode the lock is reserved for the waiters, so this fails.
    ///
    /// ```
    /// let m = gpm::sync::Mutex::new(1);
    /// let guard = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(guard);
    /// assert!(m.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard::new(self))
    }

    /// Waits for the lock on a plain thread, parking it (not a goroutine).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(gpm::sync::Mutex::new(0));
    /// let t = {
    ///     let m = m.clone();
    ///     std::thread::spawn(move || *m.lock_blocking() += 1)
    /// };
    /// t.join().unwrap();
    /// assert_eq!(*m.lock_blocking(), 1);
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine (it would block the goroutine's thread and P): use
    /// [`lock`](Mutex::lock) there.
    #[track_caller]
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        block_on("Mutex::lock_blocking", self.lock())
    }

    /// The data, through a unique borrow: no locking needed.
    ///
    /// ```
    /// let mut m = gpm::sync::Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The future of [`Mutex::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Our slot in the queue, once we wait.
    key: Option<Key>,
    /// Set when `poll` has returned the guard (`FusedFuture`).
    done: bool,
}

impl<'a, T: ?Sized> Future for LockFuture<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        ready!(this.mutex.raw.poll_lock(&mut this.key, cx));
        this.done = true;
        Poll::Ready(MutexGuard::new(this.mutex))
    }
}

/// True once the future has completed, so `futures::select!` takes it as
/// it is (no `.fuse()`) and skips it after its branch ran.
///
/// ```
/// use futures::future::FusedFuture;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let m = gpm::sync::Mutex::new(1);
/// let mut lock = m.lock();
/// let never = gpm::chan::<()>(0);
/// let mut recv = std::pin::pin!(never.recv());
/// futures::select! {
///     g = lock => assert_eq!(*g, 1),
///     _ = recv => unreachable!(),
/// }
/// assert!(lock.is_terminated());
/// # });
/// ```
impl<T: ?Sized> futures_core::FusedFuture for LockFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T: ?Sized> Drop for LockFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.mutex.raw.cancel(key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// Access to a [`Mutex`]'s data; unlocks when dropped.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let m = gpm::sync::Mutex::new(0);
/// {
///     let mut guard = m.lock().await;
///     *guard += 1;
/// } // unlocked here
/// assert_eq!(*m.lock().await, 1);
/// # });
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// `&mut T`'s auto traits: the guard is `Sync` only if `T` is.
    _marker: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The caller holds the lock.
    fn new(mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            mutex,
            _marker: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so nobody else has access.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and `&mut self` makes this the
        // only access through it.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    //! The state machine, step by step, by polling by hand.
    use super::*;

    fn poll(raw: &RawMutex, key: &mut Option<Key>) -> Poll<()> {
        raw.poll_lock(key, &mut Context::from_waker(Waker::noop()))
    }

    #[test]
    #[cfg_attr(miri, ignore = "times a 1 ms wait, which Miri stretches")]
    fn woken_waiter_that_loses_goes_back_to_the_front() {
        let m = RawMutex::new();
        assert!(m.try_lock());
        let (mut a, mut b) = (None, None);
        assert!(poll(&m, &mut a).is_pending());
        assert!(poll(&m, &mut b).is_pending());
        m.unlock();
        assert_eq!(m.state(), WOKEN | WAITERS, "a is woken, b still queued");
        assert!(m.try_lock(), "normal mode: a newcomer barges");
        assert!(poll(&m, &mut a).is_pending(), "a lost");
        assert_eq!(m.state(), LOCKED | WAITERS, "a did not wait 1 ms: no starvation");
        m.unlock();
        assert!(
            poll(&m, &mut a).is_ready(),
            "a was requeued at the front and woken first"
        );
        m.unlock();
        assert!(poll(&m, &mut b).is_ready());
        m.unlock();
        assert_eq!(m.state(), 0);
    }

    #[test]
    fn starvation_mode_hands_off_and_ends_with_the_last_waiter() {
        let m = RawMutex::new();
        assert!(m.try_lock());
        let mut a = None;
        assert!(poll(&m, &mut a).is_pending());
        std::thread::sleep(2 * STARVATION_THRESHOLD);
        m.unlock();
        assert!(m.try_lock(), "barging");
        assert!(poll(&m, &mut a).is_pending());
        assert_eq!(m.state(), LOCKED | WAITERS | STARVING);
        let mut b = None;
        assert!(poll(&m, &mut b).is_pending(), "newcomers queue");
        m.unlock();
        assert_eq!(m.state() & LOCKED, LOCKED, "handed to a");
        assert_eq!(
            m.state() & STARVING,
            STARVING,
            "a waited long and b waits: still starving"
        );
        assert!(!m.try_lock());
        assert!(poll(&m, &mut a).is_ready());
        m.unlock();
        assert_eq!(m.state(), LOCKED, "handed to b, the last waiter: normal mode again");
        assert!(poll(&m, &mut b).is_ready());
        m.unlock();
        assert_eq!(m.state(), 0);
    }

    #[test]
    fn dropped_waiters_pass_on_what_they_were_given() {
        let m = RawMutex::new();
        assert!(m.try_lock());
        let (mut a, mut b, mut c) = (None, None, None);
        assert!(poll(&m, &mut a).is_pending());
        assert!(poll(&m, &mut b).is_pending());
        assert!(poll(&m, &mut c).is_pending());
        m.unlock();
        // a was woken: dropping it wakes b.
        m.cancel(a.take().unwrap());
        assert_eq!(m.state(), WOKEN | WAITERS);
        // b queued again behind a newcomer, starving.
        assert!(m.try_lock());
        std::thread::sleep(2 * STARVATION_THRESHOLD);
        assert!(poll(&m, &mut b).is_pending());
        assert_eq!(m.state(), LOCKED | WAITERS | STARVING);
        m.unlock();
        // b was handed the lock: dropping it hands it to c.
        m.cancel(b.take().unwrap());
        assert_eq!(m.state(), LOCKED, "c got it and was the last");
        assert!(poll(&m, &mut c).is_ready());
        m.unlock();
        assert_eq!(m.state(), 0);
    }
}
