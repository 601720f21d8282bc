//! `RwLock`: Go's `sync.RWMutex` (`sync/rwmutex.go`): the lock that holds
//! its data, its futures and guards. The protocol (turns, hand-offs, the
//! state word) is in `raw.rs`.

mod raw;

use super::block_on;
use super::sema::Key;
use raw::RawRwLock;
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

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
        ReadFuture {
            lock: self,
            key: None,
            done: false,
        }
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
        WriteFuture {
            lock: self,
            key: None,
            done: false,
        }
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
    /// Set when `poll` has returned the guard (`FusedFuture`).
    done: bool,
}

impl<'a, T: ?Sized> Future for ReadFuture<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockReadGuard<'a, T>> {
        let this = self.get_mut();
        ready!(this.lock.raw.poll_read(&mut this.key, cx));
        this.done = true;
        Poll::Ready(RwLockReadGuard {
            lock: this.lock,
            _marker: PhantomData,
        })
    }
}

/// True once the future has completed, so `futures::select!` takes it as
/// it is (no `.fuse()`) and skips it after its branch ran.
///
/// ```
/// use futures::future::FusedFuture;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let l = gpm::sync::RwLock::new(1);
/// let mut read = l.read();
/// futures::select! { g = read => assert_eq!(*g, 1) }
/// assert!(read.is_terminated());
/// # });
/// ```
impl<T: ?Sized> futures_core::FusedFuture for ReadFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
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
    /// Set when `poll` has returned the guard (`FusedFuture`).
    done: bool,
}

impl<'a, T: ?Sized> Future for WriteFuture<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockWriteGuard<'a, T>> {
        let this = self.get_mut();
        ready!(this.lock.raw.poll_write(&mut this.key, cx));
        this.done = true;
        Poll::Ready(RwLockWriteGuard {
            lock: this.lock,
            _marker: PhantomData,
        })
    }
}

/// True once the future has completed, so `futures::select!` takes it as
/// it is (no `.fuse()`) and skips it after its branch ran.
///
/// ```
/// use futures::future::FusedFuture;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let l = gpm::sync::RwLock::new(1);
/// let mut write = l.write();
/// futures::select! { mut g = write => *g += 1 }
/// assert!(write.is_terminated());
/// assert_eq!(*l.read().await, 2);
/// # });
/// ```
impl<T: ?Sized> futures_core::FusedFuture for WriteFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
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
