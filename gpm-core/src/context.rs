//! Go's `context`: cancellation (and deadlines) that flow from a parent to
//! its children. This is how a goroutine is told to stop: as in Go, nobody
//! can kill a goroutine from outside; it watches `ctx.done()` and returns.
//!
//! ```
//! use std::time::Duration;
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! let (ctx, cancel) = gpm::context::with_cancel(&gpm::context::background());
//! let worker = gpm::spawn({
//!     let ctx = ctx.clone();
//!     async move {
//!         let mut rounds = 0u64;
//!         loop {
//!             gpm::select! {
//!                 recv(ctx.done()) -> _ => return (rounds, ctx.err()),
//!                 default => rounds += 1,
//!             }
//!             gpm::yield_now().await;
//!         }
//!     }
//! });
//! gpm::time::sleep(Duration::from_millis(2)).await;
//! cancel.cancel();
//! let (rounds, err) = worker.await.unwrap();
//! assert!(rounds > 0);
//! assert_eq!(err, Some(gpm::context::Error::Canceled));
//! # });
//! ```
//!
//! | Go | gpm |
//! | --- | --- |
//! | `context.Background()` | `gpm::context::background()` |
//! | `ctx, cancel := context.WithCancel(parent)` | `let (ctx, cancel) = gpm::context::with_cancel(&parent);` |
//! | `context.WithTimeout(parent, d)` | `gpm::context::with_timeout(&parent, d)` |
//! | `context.WithDeadline(parent, t)` | `gpm::context::with_deadline(&parent, t)` |
//! | `<-ctx.Done()` | `ctx.done().recv().await` or `recv(ctx.done())` in `select!` |
//! | `ctx.Err()` | `ctx.err()`: `None`, `Some(Error::Canceled)`, `Some(Error::DeadlineExceeded)` |
//! | `ctx.Deadline()` | `ctx.deadline()` |
//!
//! Cancelling a context cancels every context derived from it, and closes
//! their `done()` channels; cancelling a child leaves its parent alone.
//! Dropping a [`CancelFunc`] does not cancel (call [`CancelFunc::cancel`];
//! Go's `go vet` asks for a deferred `cancel()` for the same reason).

use crate::chan::{chan, Chan, Receiver};
use crate::sched::{Shared, TimerKey};
use crate::time::Instant;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Wake, Waker};
use std::time::Duration;

/// Why a context was cancelled (Go's `context.Canceled` and
/// `context.DeadlineExceeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Its (or an ancestor's) `CancelFunc` was called.
    Canceled,
    /// Its (or an ancestor's) deadline passed.
    DeadlineExceeded,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

/// A context: a cancellation signal, maybe a deadline, shared by a tree of
/// goroutines. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    /// Closed when the context is cancelled (never, for `background`).
    done: Chan<()>,
    deadline: Option<Instant>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    err: Option<Error>,
    children: Vec<Weak<Inner>>,
    /// The deadline's timer, and the runtime holding it.
    timer: Option<(Arc<Shared>, TimerKey)>,
}

/// Cancels the context it came with (and its children). Cheap to clone;
/// calling it again does nothing.
#[derive(Clone)]
pub struct CancelFunc {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("deadline", &self.inner.deadline)
            .field("err", &self.err())
            .finish()
    }
}

impl std::fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelFunc").finish_non_exhaustive()
    }
}

/// The root context: never cancelled, no deadline (Go's
/// `context.Background()`).
pub fn background() -> Context {
    Context {
        inner: Arc::new(Inner {
            done: chan(0),
            deadline: None,
            state: Mutex::new(State::default()),
        }),
    }
}

/// A child of `parent` with its own cancel function (Go's
/// `context.WithCancel`).
pub fn with_cancel(parent: &Context) -> (Context, CancelFunc) {
    let child = parent.child(parent.inner.deadline);
    let cancel = CancelFunc {
        inner: child.inner.clone(),
    };
    (child, cancel)
}

/// A child of `parent` cancelled `timeout` from now at the latest (Go's
/// `context.WithTimeout`).
///
/// # Panics
/// Outside a gpm runtime (the deadline needs its timers).
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelFunc) {
    with_deadline(parent, crate::time::deadline_after(timeout))
}

/// A child of `parent` cancelled at `deadline` at the latest (Go's
/// `context.WithDeadline`). A parent's earlier deadline wins.
///
/// ```
/// use std::time::Duration;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let bg = gpm::context::background();
/// let (ctx, _cancel) = gpm::context::with_timeout(&bg, Duration::from_millis(5));
/// ctx.done().recv().await; // closed when the deadline passes
/// assert_eq!(ctx.err(), Some(gpm::context::Error::DeadlineExceeded));
/// # });
/// ```
///
/// # Panics
/// Outside a gpm runtime (the deadline needs its timers).
pub fn with_deadline(parent: &Context, deadline: impl Into<Instant>) -> (Context, CancelFunc) {
    let deadline = deadline.into();
    let deadline = parent.inner.deadline.map_or(deadline, |d| d.min(deadline));
    let child = parent.child(Some(deadline));
    if child.err().is_none() {
        let shared = match crate::runtime::Handle::try_current() {
            Some(h) => h.shared,
            None => panic!("gpm::context::with_deadline called outside a gpm runtime"),
        };
        let waker = Waker::from(Arc::new(DeadlineWake(Arc::downgrade(&child.inner))));
        let key = shared.add_timer(deadline.into_std(), &waker);
        child.inner.state.lock().unwrap_or_else(|e| e.into_inner()).timer = Some((shared, key));
    }
    let cancel = CancelFunc {
        inner: child.inner.clone(),
    };
    (child, cancel)
}

/// A deadline's timer: cancels the context with `DeadlineExceeded`.
struct DeadlineWake(Weak<Inner>);

impl Wake for DeadlineWake {
    fn wake(self: Arc<Self>) {
        if let Some(inner) = self.0.upgrade() {
            cancel(&inner, Error::DeadlineExceeded);
        }
    }
}

impl Context {
    fn child(&self, deadline: Option<Instant>) -> Context {
        let child = Context {
            inner: Arc::new(Inner {
                done: chan(0),
                deadline,
                state: Mutex::new(State::default()),
            }),
        };
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.err {
            Some(err) => {
                drop(state);
                cancel(&child.inner, err);
            }
            None => {
                state.children.retain(|c| c.strong_count() > 0);
                state.children.push(Arc::downgrade(&child.inner));
            }
        }
        child
    }

    /// A channel closed when this context is cancelled (Go's `Done()`): its
    /// receive returns `None` then. `background()`'s never closes.
    pub fn done(&self) -> Receiver<()> {
        self.inner.done.receiver()
    }

    /// `None` while the context is live, else why it was cancelled (Go's
    /// `Err()`).
    pub fn err(&self) -> Option<Error> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner()).err
    }

    /// The deadline, if it (or an ancestor) has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    /// Waits until the context is cancelled; returns why.
    pub async fn cancelled(&self) -> Error {
        let _ = self.inner.done.recv().await;
        self.err().unwrap_or(Error::Canceled)
    }
}

impl CancelFunc {
    /// Cancels the context and every context derived from it, with
    /// `Error::Canceled` (unless already cancelled).
    pub fn cancel(&self) {
        cancel(&self.inner, Error::Canceled);
    }
}

/// Cancels `inner` and its descendants with `err`, if not yet cancelled.
fn cancel(inner: &Arc<Inner>, err: Error) {
    let (children, timer) = {
        let mut state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.err.is_some() {
            return;
        }
        state.err = Some(err);
        (std::mem::take(&mut state.children), state.timer.take())
    };
    let _ = inner.done.close();
    if let Some((shared, key)) = timer {
        shared.cancel_timer(key);
    }
    for child in children {
        if let Some(child) = child.upgrade() {
            cancel(&child, err);
        }
    }
}
