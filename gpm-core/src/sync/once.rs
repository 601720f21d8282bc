//! `Once` and `OnceCell`: Go's `sync.Once` (`sync/once.go`) and, for Rust,
//! a cell initialised once (`sync.OnceValue`).
//!
//! Go's `Once` serialises callers on a mutex: each late caller takes the
//! mutex in turn just to see that the work is done. Here the first caller
//! runs the function and the others wait in a queue that is released all at
//! once when it finishes.
//!
//! A Rust future can be dropped half-way; Go's functions cannot. If the
//! caller running the function is dropped before it finishes, the work is
//! not done: the waiters wake and one of them runs its own function. A
//! panic, as in Go, counts as done for `Once` ("if f panics, Do considers
//! it to have returned"), but not for `OnceCell`, which has no value then.
//!
//! State: `INCOMPLETE`, `RUNNING` (a caller runs the function), `COMPLETE`.
//! Only the last is read without the queue's lock; every change is made
//! with it held.

use super::sema::{Key, Status, WaitQueue};
use super::{block_on, lock_queue};
use crate::sched::{park, WaitReason};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::task::{ready, Context, Poll, Waker};

/// Nobody has run the function (or the one who started was dropped).
const INCOMPLETE: u8 = 0;
/// A caller is running the function.
const RUNNING: u8 = 1;
/// Done: every call returns at once.
const COMPLETE: u8 = 2;

/// Runs a function once, however many goroutines ask: Go's `sync.Once`.
///
/// Callers that arrive while the first one runs the function wait for it to
/// finish, so after any call returns, the function's effects are visible.
///
/// ```
/// use gpm::sync::{Once, WaitGroup};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// static SETUP: Once = Once::new();
/// static RUNS: AtomicU32 = AtomicU32::new(0);
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let wg = WaitGroup::new();
/// for _ in 0..10 {
///     wg.go(async {
///         SETUP.call_once(|| { RUNS.fetch_add(1, Ordering::Relaxed); }).await;
///         assert_eq!(RUNS.load(Ordering::Relaxed), 1);
///     });
/// }
/// wg.wait().await;
/// assert!(SETUP.is_completed());
/// # });
/// ```
pub struct Once {
    /// `INCOMPLETE`, `RUNNING` or `COMPLETE`.
    state: AtomicU8,
    /// Callers waiting for the running one.
    queue: std::sync::Mutex<WaitQueue<()>>,
}

impl Once {
    /// A `Once` that has not run. `const`, so it can be a `static`.
    pub const fn new() -> Once {
        Once {
            state: AtomicU8::new(INCOMPLETE),
            queue: std::sync::Mutex::new(WaitQueue::new()),
        }
    }

    /// Runs `f` if no call has completed yet, else returns at once; callers
    /// that come while `f` runs wait for it (Go's `Do`).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let once = gpm::sync::Once::new();
    /// let mut runs = 0;
    /// once.call_once(|| runs += 1).await;
    /// once.call_once(|| runs += 1).await;
    /// assert_eq!(runs, 1);
    /// # });
    /// ```
    ///
    /// If `f` panics, the `Once` counts as done, as in Go.
    pub async fn call_once<F: FnOnce()>(&self, f: F) {
        if let Started::Run(guard) = self.begin(true).await {
            f();
            guard.complete();
        }
    }

    /// Like [`call_once`](Once::call_once) with an asynchronous function:
    /// the others wait until its future completes. If this call is dropped
    /// before that, the work counts as not done and a waiting caller runs
    /// its own function instead.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let once = gpm::sync::Once::new();
    /// once.call_once_async(|| async {
    ///     gpm::yield_now().await;
    /// }).await;
    /// assert!(once.is_completed());
    /// # });
    /// ```
    pub async fn call_once_async<F, Fut>(&self, f: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        if let Started::Run(guard) = self.begin(true).await {
            f().await;
            guard.complete();
        }
    }

    /// [`call_once`](Once::call_once) on a plain thread, parking it while
    /// another caller runs the function.
    ///
    /// ```
    /// let once = gpm::sync::Once::new();
    /// once.call_once_blocking(|| println!("once"));
    /// assert!(once.is_completed());
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine: use [`call_once`](Once::call_once) there.
    #[track_caller]
    pub fn call_once_blocking<F: FnOnce()>(&self, f: F) {
        block_on("Once::call_once_blocking", self.call_once(f));
    }

    /// True once a call has completed.
    ///
    /// ```
    /// let once = gpm::sync::Once::new();
    /// assert!(!once.is_completed());
    /// once.call_once_blocking(|| {});
    /// assert!(once.is_completed());
    /// ```
    pub fn is_completed(&self) -> bool {
        self.state.load(Acquire) == COMPLETE
    }

    /// Waits until the work is done (`Done`) or this caller should do it
    /// (`Run`).
    fn begin(&self, complete_on_panic: bool) -> Begin<'_> {
        Begin {
            once: self,
            key: None,
            complete_on_panic,
        }
    }

    /// Becomes the runner if nobody has started; never waits.
    fn try_begin(&self, complete_on_panic: bool) -> Option<RunGuard<'_>> {
        let _queue = lock_queue(&self.queue);
        (self.state.load(Relaxed) == INCOMPLETE).then(|| {
            self.state.store(RUNNING, Relaxed);
            RunGuard {
                once: self,
                complete_on_panic,
            }
        })
    }

    /// Ends a run: `COMPLETE` or back to `INCOMPLETE`; wakes every waiter
    /// to look again.
    fn finish(&self, state: u8) {
        let mut queue = lock_queue(&self.queue);
        // Release: the function's effects happen before `is_completed`.
        self.state.store(state, Release);
        let mut wakers = Vec::with_capacity(queue.len());
        while let Some((_, waker)) = queue.pop_front(Status::Granted) {
            wakers.extend(waker);
        }
        drop(queue);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Default for Once {
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").field("completed", &self.is_completed()).finish()
    }
}

/// What [`Begin`] found.
enum Started<'a> {
    /// The work is done.
    Done,
    /// This caller does it.
    Run(RunGuard<'a>),
}

/// The runner's duty: `complete` when the work is done; dropped without
/// that, the work counts as not done (unless panicking and
/// `complete_on_panic`).
struct RunGuard<'a> {
    once: &'a Once,
    complete_on_panic: bool,
}

impl RunGuard<'_> {
    fn complete(self) {
        self.once.finish(COMPLETE);
        std::mem::forget(self);
    }
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        let done = self.complete_on_panic && std::thread::panicking();
        self.once.finish(if done { COMPLETE } else { INCOMPLETE });
    }
}

/// The leaf future behind every `Once` call.
struct Begin<'a> {
    once: &'a Once,
    key: Option<Key>,
    complete_on_panic: bool,
}

impl<'a> Future for Begin<'a> {
    type Output = Started<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Started<'a>> {
        ready!(crate::coop::proceed(cx));
        let this = self.get_mut();
        let once = this.once;
        if once.state.load(Acquire) == COMPLETE {
            if let Some(k) = this.key.take() {
                lock_queue(&once.queue).remove(k);
            }
            return Poll::Ready(Started::Done);
        }
        let mut queue = lock_queue(&once.queue);
        if let Some(k) = this.key {
            if queue.status(k) == Status::Queued {
                queue.set_waker(k, cx.waker());
                drop(queue);
                park(WaitReason::Once);
                return Poll::Pending;
            }
            // Woken: the runner finished or gave up; look again.
            queue.remove(k);
            this.key = None;
        }
        match once.state.load(Acquire) {
            COMPLETE => Poll::Ready(Started::Done),
            INCOMPLETE => {
                once.state.store(RUNNING, Relaxed);
                Poll::Ready(Started::Run(RunGuard {
                    once,
                    complete_on_panic: this.complete_on_panic,
                }))
            }
            _ => {
                this.key = Some(queue.push_back(cx.waker(), ()));
                drop(queue);
                park(WaitReason::Once);
                Poll::Pending
            }
        }
    }
}

impl Drop for Begin<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Woken or not, nothing to pass on: `finish` wakes everyone.
            lock_queue(&self.once.queue).remove(key);
        }
    }
}

/// A value initialised once, by the first goroutine that asks: Go's
/// `sync.OnceValue`, shaped like `std::sync::OnceLock`.
///
/// ```
/// use gpm::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::new();
///
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let config = CONFIG
///     .get_or_init_async(|| async {
///         gpm::yield_now().await; // e.g. read a file
///         String::from("debug=1")
///     })
///     .await;
/// assert_eq!(config, "debug=1");
/// assert_eq!(CONFIG.get().map(String::as_str), Some("debug=1"));
/// # });
/// ```
///
/// If the initialising call panics or is dropped, the cell stays empty and
/// a waiting caller runs its own function.
pub struct OnceCell<T> {
    once: Once,
    value: std::sync::OnceLock<T>,
}

impl<T> OnceCell<T> {
    /// An empty cell. `const`, so it can be a `static`.
    pub const fn new() -> OnceCell<T> {
        OnceCell {
            once: Once::new(),
            value: std::sync::OnceLock::new(),
        }
    }

    /// The value, if initialised.
    ///
    /// ```
    /// let cell = gpm::sync::OnceCell::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set(1).unwrap();
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, initialising it with `f` if nobody has; callers that come
    /// while another initialises wait for it.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let cell = gpm::sync::OnceCell::new();
    /// assert_eq!(*cell.get_or_init(|| 1).await, 1);
    /// assert_eq!(*cell.get_or_init(|| 2).await, 1);
    /// # });
    /// ```
    pub async fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        if let Some(value) = self.value.get() {
            return value;
        }
        if let Started::Run(guard) = self.once.begin(false).await {
            self.init(f(), guard);
        }
        self.value.get().expect("a completed OnceCell holds a value")
    }

    /// [`get_or_init`](OnceCell::get_or_init) with an asynchronous function.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let cell = gpm::sync::OnceCell::new();
    /// let v = cell.get_or_init_async(|| async { 6 * 7 }).await;
    /// assert_eq!(*v, 42);
    /// # });
    /// ```
    pub async fn get_or_init_async<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if let Some(value) = self.value.get() {
            return value;
        }
        if let Started::Run(guard) = self.once.begin(false).await {
            let value = f().await;
            self.init(value, guard);
        }
        self.value.get().expect("a completed OnceCell holds a value")
    }

    /// [`get_or_init`](OnceCell::get_or_init) on a plain thread, parking it
    /// while another caller initialises.
    ///
    /// ```
    /// let cell = gpm::sync::OnceCell::new();
    /// assert_eq!(*cell.get_or_init_blocking(|| "go"), "go");
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine: use [`get_or_init`](OnceCell::get_or_init) there.
    #[track_caller]
    pub fn get_or_init_blocking<F: FnOnce() -> T>(&self, f: F) -> &T {
        block_on("OnceCell::get_or_init_blocking", self.get_or_init(f))
    }

    /// Sets the value if the cell is empty and nobody is initialising it;
    /// else gives `value` back.
    ///
    /// ```
    /// let cell = gpm::sync::OnceCell::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(2));
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        match self.once.try_begin(false) {
            Some(guard) => {
                self.init(value, guard);
                Ok(())
            }
            None => Err(value),
        }
    }

    /// The value, if initialised, taking it out.
    ///
    /// ```
    /// let cell = gpm::sync::OnceCell::new();
    /// cell.set(String::from("x")).unwrap();
    /// assert_eq!(cell.into_inner().as_deref(), Some("x"));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    fn init(&self, value: T, guard: RunGuard<'_>) {
        if self.value.set(value).is_err() {
            unreachable!("only the runner sets a OnceCell");
        }
        guard.complete();
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        let cell = OnceCell::new();
        if cell.set(value).is_err() {
            unreachable!("a new cell is empty");
        }
        cell
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceCell").field(&self.get()).finish()
    }
}
