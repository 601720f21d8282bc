//! `RwLock`: Go's `sync.RWMutex` (`sync/rwmutex.go`).
//!
//! Go's rule for fairness: a writer that is waiting blocks new readers, so
//! a stream of readers cannot starve it; when a writer unlocks, every reader
//! that queued during its turn is admitted before the next writer, so
//! writers cannot starve readers either. Turns alternate: a writer, the
//! readers that came meanwhile, the next writer, ...
//!
//! The writer that holds the writer role (Go's `w` mutex) is either
//! *active* or *pending*: pending while the readers admitted before it
//! finish (Go's `readerWait`). The last of them hands it the lock. Other
//! writers queue FIFO behind it (Go's `w` is a `Mutex`, whose newcomers may
//! barge; here writers take turns in order).
//!
//! State (one `AtomicUsize`): the reader count in the high bits, `WRITER`
//! while a writer is active or pending (new readers queue), `WAITERS` while
//! someone is queued. `WRITER` and `WAITERS` change only with the queue's
//! lock held; readers come and go by compare-and-swap while `WRITER` is
//! clear, and leave by `fetch_sub` at any time.

use super::sema::{Key, Status, WaitQueue};
use super::{block_on, lock_queue};
use crate::sched::{park, WaitReason};
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::task::{ready, Context, Poll, Waker};

/// A writer is active or pending: new readers queue.
const WRITER: usize = 1;
/// Readers or writers are queued.
const WAITERS: usize = 2;
/// One reader, in the count above the flags.
const READER: usize = 4;

fn readers(state: usize) -> usize {
    state / READER
}

/// The waiters of one lock.
struct Queues {
    /// Readers waiting for the writers' turn to end (Go's `readerSem`).
    readers: WaitQueue<()>,
    /// Writers waiting for the writer role (Go's `w`).
    writers: WaitQueue<()>,
    /// The pending writer: it holds the writer role and waits for the
    /// readers to leave (Go's `writerSem`). Its slot is in `writers`, aside.
    pending: Option<Key>,
}

/// The lock without the data: Go's `sync.RWMutex` itself.
struct RawRwLock {
    /// Reader count, `WRITER`, `WAITERS`.
    state: AtomicUsize,
    queues: std::sync::Mutex<Queues>,
}

impl RawRwLock {
    const fn new() -> RawRwLock {
        RawRwLock {
            state: AtomicUsize::new(0),
            queues: std::sync::Mutex::new(Queues {
                readers: WaitQueue::new(),
                writers: WaitQueue::new(),
                pending: None,
            }),
        }
    }

    fn try_read(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        while s & WRITER == 0 {
            let new = s.checked_add(READER).expect("gpm::sync: too many RwLock readers");
            // Acquire: the last writer's writes happen before our reads.
            match self.state.compare_exchange_weak(s, new, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    fn try_write(&self) -> bool {
        self.state.compare_exchange(0, WRITER, Acquire, Relaxed).is_ok()
    }

    fn poll_read(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        ready!(crate::coop::proceed(cx));
        if let Some(k) = *key {
            let mut queues = lock_queue(&self.queues);
            return match queues.readers.status(k) {
                Status::Granted => {
                    // The writer that admitted us counted us in.
                    queues.readers.remove(k);
                    *key = None;
                    Poll::Ready(())
                }
                _ => {
                    queues.readers.set_waker(k, cx.waker());
                    drop(queues);
                    park(WaitReason::SyncRwMutexRLock);
                    Poll::Pending
                }
            };
        }
        if self.try_read() {
            return Poll::Ready(());
        }
        let mut queues = lock_queue(&self.queues);
        // Come in, or announce a waiter while a writer is there, in one step.
        let mut s = self.state.load(Relaxed);
        loop {
            let (new, enter) = if s & WRITER == 0 {
                (s.checked_add(READER).expect("gpm::sync: too many RwLock readers"), true)
            } else {
                (s | WAITERS, false)
            };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) if enter => return Poll::Ready(()),
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        *key = Some(queues.readers.push_back(cx.waker(), ()));
        drop(queues);
        park(WaitReason::SyncRwMutexRLock);
        Poll::Pending
    }

    fn poll_write(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        ready!(crate::coop::proceed(cx));
        if let Some(k) = *key {
            let mut queues = lock_queue(&self.queues);
            return match queues.writers.status(k) {
                Status::Granted => {
                    queues.writers.remove(k);
                    *key = None;
                    Poll::Ready(())
                }
                _ => {
                    queues.writers.set_waker(k, cx.waker());
                    drop(queues);
                    park(WaitReason::SyncRwMutexLock);
                    Poll::Pending
                }
            };
        }
        if self.try_write() {
            return Poll::Ready(());
        }
        let mut queues = lock_queue(&self.queues);
        let mut s = self.state.load(Relaxed);
        loop {
            // Take the writer role if nobody has it (readers may still be
            // in: then we are pending); else queue for it.
            let take = s & WRITER == 0;
            let new = if take { s | WRITER } else { s | WAITERS };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) if take && readers(s) == 0 => return Poll::Ready(()),
                Ok(_) if take => {
                    // The last reader out hands us the lock.
                    let k = queues.writers.push_aside(cx.waker(), ());
                    queues.pending = Some(k);
                    *key = Some(k);
                    break;
                }
                Ok(_) => {
                    *key = Some(queues.writers.push_back(cx.waker(), ()));
                    break;
                }
                Err(now) => s = now,
            }
        }
        drop(queues);
        park(WaitReason::SyncRwMutexLock);
        Poll::Pending
    }

    fn read_unlock(&self) {
        // Release: our reads happen before the next writer's writes.
        let before = self.state.fetch_sub(READER, Release);
        debug_assert!(
            readers(before) > 0,
            "gpm::sync: read_unlock of an RwLock not read-locked"
        );
        if before & WRITER != 0 && readers(before) == 1 {
            // The last reader out: hand the lock to the pending writer.
            let mut queues = lock_queue(&self.queues);
            let waker = match queues.pending {
                Some(k) if readers(self.state.load(Acquire)) == 0 => {
                    queues.pending = None;
                    queues.writers.set_status(k, Status::Granted)
                }
                _ => None,
            };
            drop(queues);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    fn write_unlock(&self) {
        if self.state.compare_exchange(WRITER, 0, Release, Relaxed).is_ok() {
            return;
        }
        let mut queues = lock_queue(&self.queues);
        let wakers = self.pass_writer_role(&mut queues);
        drop(queues);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// With the queues locked, by the holder of the writer role (active, or
    /// pending and giving up): admits every queued reader, then gives the
    /// role to the next writer, which is active at once if no reader is in,
    /// else pending. Returns the wakers to wake.
    fn pass_writer_role(&self, queues: &mut Queues) -> Vec<Waker> {
        let mut wakers = Vec::with_capacity(queues.readers.len() + 1);
        let admitted = queues.readers.len();
        while let Some((_, waker)) = queues.readers.pop_front(Status::Granted) {
            wakers.extend(waker);
        }
        let next = queues.writers.front();
        let more_writers = queues.writers.len() > 1;
        // Readers may leave meanwhile (a pending writer's), so CAS.
        let mut s = self.state.load(Relaxed);
        let active = loop {
            let count = readers(s) + admitted;
            let mut new = count * READER;
            if next.is_some() {
                new |= WRITER;
            }
            if more_writers {
                new |= WAITERS;
            }
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => break count == 0,
                Err(now) => s = now,
            }
        };
        if next.is_some() {
            if active {
                let (_, waker) = queues.writers.pop_front(Status::Granted).expect("front exists");
                wakers.extend(waker);
            } else {
                // Pending: the last reader out wakes it.
                queues.pending = queues.writers.unlink_front(Status::Aside);
            }
        }
        wakers
    }

    fn cancel_read(&self, key: Key) {
        let mut queues = lock_queue(&self.queues);
        match queues.readers.remove(key) {
            Status::Granted => {
                drop(queues);
                self.read_unlock();
            }
            _ => self.clear_waiters_if_none(&queues),
        }
    }

    fn cancel_write(&self, key: Key) {
        let mut queues = lock_queue(&self.queues);
        match queues.writers.remove(key) {
            Status::Granted => {
                drop(queues);
                self.write_unlock();
            }
            Status::Aside => {
                // We held the writer role, waiting for readers: pass it on.
                queues.pending = None;
                let wakers = self.pass_writer_role(&mut queues);
                drop(queues);
                wakers.into_iter().for_each(Waker::wake);
            }
            _ => self.clear_waiters_if_none(&queues),
        }
    }

    fn clear_waiters_if_none(&self, queues: &Queues) {
        if queues.readers.is_empty() && queues.writers.is_empty() {
            self.state.fetch_and(!WAITERS, AcqRel);
        }
    }

    #[cfg(test)]
    fn state(&self) -> usize {
        self.state.load(Relaxed)
    }
}

/// A readers-writer lock for goroutines: Go's `sync.RWMutex`, holding the
/// data it protects.
///
/// Any number of readers, or one writer. A writer that waits blocks new
/// readers (Go's rule), so a steady stream of readers cannot keep it out;
/// when it is done, the readers that queued meanwhile all go in before the
/// next writer.
///
/// ```
/// use gpm::sync::RwLock;
/// use std::sync::Arc;
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let config = Arc::new(RwLock::new(String::from("v1")));
/// let reader = {
///     let config = config.clone();
///     gpm::spawn(async move { config.read().await.len() })
/// };
/// config.write().await.push_str(".1");
/// assert!(reader.await.unwrap() >= 2);
/// assert_eq!(*config.read().await, "v1.1");
/// # });
/// ```
///
/// As in Go, a goroutine that already holds a read lock must not wait for
/// another one: a writer waiting between the two makes it wait for ever.
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: the data moves with the lock.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: writers get `&mut T` one at a time, from any thread (`T: Send`);
// readers share `&T` across threads (`T: Sync`). As `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `value`. `const`, so it can be a
    /// `static`.
    ///
    /// ```
    /// static NAMES: gpm::sync::RwLock<Vec<&str>> = gpm::sync::RwLock::new(Vec::new());
    /// NAMES.try_write().unwrap().push("gopher");
    /// assert_eq!(NAMES.try_read().unwrap().len(), 1);
    /// ```
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            raw: RawRwLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Takes the data out.
    ///
    /// ```
    /// let l = gpm::sync::RwLock::new(3);
    /// assert_eq!(l.into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access (Go's `RLock`); waits while a writer holds
    /// the lock or waits for it.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let l = gpm::sync::RwLock::new(5);
    /// let (a, b) = (l.read().await, l.read().await);
    /// assert_eq!(*a + *b, 10);
    /// # });
    /// ```
    pub fn read(&self) -> ReadFuture<'_, T> {
        ReadFuture { lock: self, key: None }
    }

    /// Waits for exclusive access (Go's `Lock`). From the moment it waits,
    /// new readers wait behind it.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let l = gpm::sync::RwLock::new(5);
    /// *l.write().await += 1;
    /// assert_eq!(*l.read().await, 6);
    /// # });
    /// ```
    pub fn write(&self) -> WriteFuture<'_, T> {
        WriteFuture { lock: self, key: None }
    }

    /// Shared access if no writer holds or waits for the lock now (Go's
    /// `TryRLock`).
    ///
    /// ```
    /// let l = gpm::sync::RwLock::new(1);
    /// let r = l.try_read().unwrap();
    /// assert!(l.try_write().is_none());
    /// assert!(l.try_read().is_some());
    /// drop(r);
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw.try_read().then(|| RwLockReadGuard {
            lock: self,
            _marker: PhantomData,
        })
    }

    /// Exclusive access if the lock is free now (Go's `TryLock`).
    ///
    /// ```
    /// let l = gpm::sync::RwLock::new(1);
    /// let w = l.try_write().unwrap();
    /// assert!(l.try_read().is_none());
    /// drop(w);
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw.try_write().then(|| RwLockWriteGuard {
            lock: self,
            _marker: PhantomData,
        })
    }

    /// [`read`](RwLock::read) on a plain thread, parking it.
    ///
    /// ```
    /// let l = gpm::sync::RwLock::new(1);
    /// assert_eq!(*l.read_blocking(), 1);
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine: use [`read`](RwLock::read) there.
    #[track_caller]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        block_on("RwLock::read_blocking", self.read())
    }

    /// [`write`](RwLock::write) on a plain thread, parking it.
    ///
    /// ```
    /// let l = gpm::sync::RwLock::new(1);
    /// *l.write_blocking() = 2;
    /// assert_eq!(*l.read_blocking(), 2);
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine: use [`write`](RwLock::write) there.
    #[track_caller]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        block_on("RwLock::write_blocking", self.write())
    }

    /// The data, through a unique borrow: no locking needed.
    ///
    /// ```
    /// let mut l = gpm::sync::RwLock::new(1);
    /// *l.get_mut() = 7;
    /// assert_eq!(l.into_inner(), 7);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The future of [`RwLock::read`].
#[must_use = "futures do nothing unless awaited"]
pub struct ReadFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    key: Option<Key>,
}

impl<'a, T: ?Sized> Future for ReadFuture<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockReadGuard<'a, T>> {
        let this = self.get_mut();
        ready!(this.lock.raw.poll_read(&mut this.key, cx));
        Poll::Ready(RwLockReadGuard {
            lock: this.lock,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for ReadFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.lock.raw.cancel_read(key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for ReadFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// The future of [`RwLock::write`].
#[must_use = "futures do nothing unless awaited"]
pub struct WriteFuture<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    key: Option<Key>,
}

impl<'a, T: ?Sized> Future for WriteFuture<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockWriteGuard<'a, T>> {
        let this = self.get_mut();
        ready!(this.lock.raw.poll_write(&mut this.key, cx));
        Poll::Ready(RwLockWriteGuard {
            lock: this.lock,
            _marker: PhantomData,
        })
    }
}

impl<T: ?Sized> Drop for WriteFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.lock.raw.cancel_write(key);
        }
    }
}

impl<T: ?Sized> fmt::Debug for WriteFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteFuture")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// Shared access to an [`RwLock`]'s data; unlocks when dropped.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let l = gpm::sync::RwLock::new(vec![1, 2]);
/// let guard = l.read().await;
/// assert_eq!(guard.len(), 2);
/// # });
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `&T`'s auto traits.
    _marker: PhantomData<&'a T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds a read lock: no writer has access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.read_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s data; unlocks when dropped.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let l = gpm::sync::RwLock::new(vec![1, 2]);
/// l.write().await.push(3);
/// assert_eq!(*l.read().await, [1, 2, 3]);
/// # });
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// `&mut T`'s auto traits.
    _marker: PhantomData<&'a mut T>,
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the write lock: nobody else has access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the write lock, and `&mut self` makes this
        // the only access through it.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.write_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    //! The turn-taking, step by step, by polling by hand.
    use super::*;

    fn read(l: &RawRwLock, key: &mut Option<Key>) -> Poll<()> {
        l.poll_read(key, &mut Context::from_waker(Waker::noop()))
    }

    fn write(l: &RawRwLock, key: &mut Option<Key>) -> Poll<()> {
        l.poll_write(key, &mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn pending_writer_blocks_new_readers_and_the_last_reader_hands_over() {
        let l = RawRwLock::new();
        assert!(l.try_read());
        assert!(l.try_read());
        let mut w = None;
        assert!(write(&l, &mut w).is_pending());
        assert_eq!(l.state(), (2 * READER) | WRITER);
        let mut r = None;
        assert!(read(&l, &mut r).is_pending(), "a waiting writer blocks new readers");
        l.read_unlock();
        assert!(write(&l, &mut w).is_pending(), "one reader is still in");
        l.read_unlock();
        assert!(write(&l, &mut w).is_ready(), "the last reader handed over");
        assert!(read(&l, &mut r).is_pending());
        l.write_unlock();
        assert!(read(&l, &mut r).is_ready(), "admitted by the writer");
        assert_eq!(l.state(), READER);
        l.read_unlock();
        assert_eq!(l.state(), 0);
    }

    #[test]
    fn readers_of_a_writers_turn_go_before_the_next_writer() {
        let l = RawRwLock::new();
        assert!(l.try_write());
        let (mut w2, mut r1, mut r2) = (None, None, None);
        assert!(read(&l, &mut r1).is_pending());
        assert!(write(&l, &mut w2).is_pending());
        assert!(read(&l, &mut r2).is_pending());
        l.write_unlock();
        assert!(read(&l, &mut r1).is_ready());
        assert!(read(&l, &mut r2).is_ready(), "queued behind w2, admitted with r1");
        assert!(write(&l, &mut w2).is_pending(), "w2 is pending");
        assert_eq!(l.state(), (2 * READER) | WRITER);
        l.read_unlock();
        l.read_unlock();
        assert!(write(&l, &mut w2).is_ready());
        l.write_unlock();
        assert_eq!(l.state(), 0);
    }

    #[test]
    fn dropped_waiters_pass_on_what_they_hold() {
        let l = RawRwLock::new();
        assert!(l.try_read());
        let (mut w1, mut w2, mut r) = (None, None, None);
        assert!(write(&l, &mut w1).is_pending());
        assert!(write(&l, &mut w2).is_pending());
        assert!(read(&l, &mut r).is_pending());
        // w1 is pending; dropping it admits r and makes w2 pending.
        l.cancel_write(w1.take().unwrap());
        assert!(read(&l, &mut r).is_ready());
        assert_eq!(l.state(), (2 * READER) | WRITER);
        l.read_unlock();
        l.read_unlock();
        // w2 was handed the lock: dropping it unlocks.
        l.cancel_write(w2.take().unwrap());
        assert_eq!(l.state(), 0);
        // A reader admitted and then dropped leaves.
        assert!(l.try_write());
        assert!(read(&l, &mut r).is_pending());
        l.write_unlock();
        assert_eq!(l.state(), READER);
        l.cancel_read(r.take().unwrap());
        assert_eq!(l.state(), 0);
    }
}
