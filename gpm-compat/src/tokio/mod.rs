//! tokio interop (feature `tokio`): run futures that need a tokio runtime
//! (`tokio::net`, `tokio::time`, `tokio::spawn`, and crates built on them)
//! inside goroutines, and adapt between tokio's and futures' IO traits.
//!
//! ```
//! use gpm_compat::tokio::TokioCompatExt;
//! use std::time::Duration;
//!
//! gpm::runtime::Runtime::new()?.block_on(async {
//!     let answer = gpm::spawn(
//!         async {
//!             // tokio's timers and sockets need tokio's reactor: the
//!             // wrapper provides it while the goroutine polls this future.
//!             tokio::time::sleep(Duration::from_millis(1)).await;
//!             42
//!         }
//!         .tokio_compat(),
//!     );
//!     assert_eq!(answer.await.unwrap(), 42);
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What it costs: one tokio thread, and where `tokio::spawn` runs
//!
//! The first [`Compat`] poll (or [`handle`] call) starts a global tokio
//! runtime with **one** worker thread, named `gpm-compat-tokio` (set
//! `GPM_COMPAT_TOKIO_THREADS=N` before first use for more). It drives
//! tokio's reactor and timers; the wrapped futures still run on gpm's Ms.
//! But **whatever calls `tokio::spawn`** (hyper-util's server and client
//! helpers, tower, many tokio-based crates) starts a tokio task, and tokio
//! tasks run on that one thread, not on goroutines: a server whose
//! connections are `tokio::spawn`ed serves them all from one thread. For
//! HTTP, prefer the native paths, gpm-compat's `serve` and connector,
//! which run connections as goroutines on gpm's netpoller; keep `Compat`
//! for crates that need tokio's reactor and have no other way.
//!
//! So that this is not found out by profiling, the runtime says so once,
//! on stderr, when it starts with its default size:
//!
//! ```text
//! gpm-compat: started a tokio runtime with 1 worker thread ("gpm-compat-tokio") for tokio's
//! IO and timers under `Compat`; tasks started with `tokio::spawn` run on it, not on goroutines.
//! For servers and clients prefer gpm-compat's `serve` and connector, which run on gpm.
//! (Set GPM_COMPAT_TOKIO_THREADS=N to size this runtime; that also silences this notice.)
//! ```
//!
//! # How it works
//!
//! tokio's leaf futures find their reactor and timer wheel through a
//! thread-local "current runtime" handle, which is set on tokio's own
//! threads and nowhere else: polled on one of gpm's Ms they panic with
//! "there is no reactor running, must be called from the context of a Tokio
//! 1.x runtime". [`Compat`] sets that handle around every poll (and around
//! the drop) of the future it wraps, as the `async-compat` crate does. The
//! handle is that of a global tokio runtime started on first use: a
//! multi-threaded runtime with one worker thread (named `gpm-compat-tokio`;
//! set `GPM_COMPAT_TOKIO_THREADS` to a number before first use for more).
//! That thread runs tokio's IO driver and timers, and tasks started with
//! `tokio::spawn`. When a socket becomes ready or a timer fires it calls the
//! goroutine's waker, and gpm's scheduler makes the goroutine runnable again:
//! wakers work across runtimes. The goroutine itself is polled by gpm, on
//! gpm's Ms, with gpm's scheduling. If the thread already has a tokio
//! context (a [`Compat`] nested in another, or a tokio runtime entered by
//! the caller) that one is kept.
//!
//! # What works inside a [`Compat`]
//!
//! - `tokio::net` (TCP, UDP, Unix sockets), `tokio::time` (`sleep`,
//!   `timeout`, `interval`), `tokio::io` utilities, `tokio::sync`, and
//!   crates built on them (the tests run tokio-util's `Framed` codecs and
//!   hyper-util's legacy `Client` with its `HttpConnector`). The tokio
//!   features those need (`net`, `time`, ...) are the ones your crate
//!   enables on tokio: the global runtime starts every driver compiled in.
//! - `tokio::spawn` and `tokio::task::spawn_blocking`: the task runs on the
//!   global tokio runtime's thread(s) (or its blocking pool), *not* as a
//!   goroutine; awaiting its `JoinHandle` from a goroutine works. To start a
//!   goroutine that may use tokio, use [`spawn`].
//! - `tokio::runtime::Handle::current()` returns the global runtime's handle.
//!
//! # What does not
//!
//! - `tokio::task::block_in_place` panics (the goroutine is not on a tokio
//!   worker); use [`gpm::syscall`](gpm_core::syscall) or
//!   [`gpm::spawn_blocking`](gpm_core::spawn_blocking) instead.
//! - `Handle::block_on` / `Runtime::block_on` inside a goroutine would block
//!   the M for the whole wait (await the future instead).
//! - `tokio::task::spawn_local` and `LocalSet` need a `LocalSet` context,
//!   which is not provided.
//! - tokio's cooperative budget is not applied to the wrapped future (gpm's
//!   budget applies to gpm's leaf futures only).
//!
//! # IO adapters
//!
//! The same [`Compat`] adapts IO types both ways:
//!
//! - a futures-io type (gpm's [`TcpStream`](gpm_core::net::TcpStream),
//!   `futures::io::Cursor`, ...) wrapped in [`Compat`] implements tokio's
//!   `AsyncRead` / `AsyncWrite` / `AsyncBufRead`, for tokio-util codecs and
//!   crates that take a tokio IO;
//! - a tokio IO type wrapped in [`Compat`] implements futures-io's
//!   `AsyncRead` / `AsyncWrite` / `AsyncBufRead` (its polls run with the
//!   tokio context set, like the future's).
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use gpm_compat::tokio::TokioCompatExt;
//! use tokio_util::codec::{Framed, LinesCodec};
//!
//! gpm::runtime::Runtime::new()?.block_on(async {
//!     let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     gpm::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         // gpm's stream, seen by tokio-util as a tokio IO.
//!         let mut lines = Framed::new(stream.tokio_compat(), LinesCodec::new());
//!         while let Some(Ok(line)) = lines.next().await {
//!             lines.send(line.to_uppercase()).await.unwrap();
//!         }
//!     });
//!     let stream = gpm::net::TcpStream::connect(addr).await?;
//!     let mut lines = Framed::new(stream.tokio_compat(), LinesCodec::new());
//!     lines.send("hello").await.unwrap();
//!     assert_eq!(lines.next().await.unwrap().unwrap(), "HELLO");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod io;

use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

/// Environment variable read once, when the global tokio runtime starts: its
/// number of worker threads.
const THREADS_VAR: &str = "GPM_COMPAT_TOKIO_THREADS";

/// One worker is enough to run tokio's drivers (the reactor and the timer
/// wheel); the futures themselves run on gpm's Ms.
const DEFAULT_THREADS: usize = 1;

/// The global tokio runtime, started on first use and never shut down.
static RUNTIME: OnceLock<::tokio::runtime::Runtime> = OnceLock::new();

fn runtime() -> &'static ::tokio::runtime::Runtime {
    RUNTIME.get_or_init(|| {
        let threads = match std::env::var(THREADS_VAR) {
            Err(_) => {
                notice();
                DEFAULT_THREADS
            }
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    eprintln!(
                        "gpm-compat: {THREADS_VAR}={v:?} is not a positive number of threads; \
                         using {DEFAULT_THREADS}"
                    );
                    DEFAULT_THREADS
                }
            },
        };
        ::tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("gpm-compat-tokio")
            .enable_all()
            .build()
            .expect("gpm-compat: cannot start the tokio runtime")
    })
}

/// Says once, on stderr, when the global runtime starts with its default
/// size, what it is and what runs on it: a server that hands its work to
/// `tokio::spawn` runs on this one thread, not on the goroutines, and
/// nothing else would tell its author (the program works, slowly). A
/// counter in `stats()` would be seen only by someone who already
/// suspects it. Setting [`THREADS_VAR`] sizes the runtime on purpose, and
/// silences the notice.
fn notice() {
    eprintln!(
        "gpm-compat: started a tokio runtime with {DEFAULT_THREADS} worker thread \
         (\"gpm-compat-tokio\") for tokio's IO and timers under `Compat`; \
         tasks started with `tokio::spawn` run on it, not on goroutines. \
         For servers and clients prefer gpm-compat's `serve` and connector, which run on gpm. \
         (Set {THREADS_VAR}=N to size this runtime; that also silences this notice.)"
    );
}

/// The handle of the global tokio runtime that [`Compat`] provides (started
/// on first use).
///
/// ```
/// // Start a task on tokio's runtime from anywhere, e.g. a plain thread.
/// let handle = gpm_compat::tokio::handle();
/// let task = handle.spawn(async { tokio::time::sleep(std::time::Duration::from_millis(1)).await; 7 });
/// assert_eq!(handle.block_on(task).unwrap(), 7);
/// ```
pub fn handle() -> &'static ::tokio::runtime::Handle {
    runtime().handle()
}

/// Runs `f` with a tokio runtime context: the thread's own if it has one,
/// else the global runtime's.
fn with_tokio<R>(f: impl FnOnce() -> R) -> R {
    if ::tokio::runtime::Handle::try_current().is_ok() {
        f()
    } else {
        let _guard = runtime().enter();
        f()
    }
}

pin_project! {
    /// A future or IO object that runs with a tokio runtime context.
    ///
    /// ```
    /// use gpm_compat::tokio::Compat;
    ///
    /// gpm::runtime::Runtime::new()?.block_on(async {
    ///     let listener = Compat::new(tokio::net::TcpListener::bind("127.0.0.1:0")).await?;
    ///     assert!(listener.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// - As a future (when `T: Future`): every poll of `T` runs with the
    ///   tokio context set (see the [module docs](self)).
    /// - As IO: `Compat<T>` implements tokio's `AsyncRead` / `AsyncWrite` /
    ///   `AsyncBufRead` when `T` implements futures-io's, and futures-io's
    ///   when `T` implements tokio's.
    ///
    /// Dropping a `Compat` that has been polled drops `T` with the tokio
    /// context set too, for values made during a poll whose drop needs it
    /// (a type that spawns a clean-up task, say). One never polled drops
    /// `T` as it is: what it holds was made outside the wrapper (and
    /// `tokio::spawn`, called without a tokio context, drops the future
    /// it was given at a moment when entering tokio's runtime would
    /// panic, hiding tokio's "must be called from the context of a Tokio
    /// 1.x runtime").
    #[derive(Debug)]
    pub struct Compat<T> {
        // `None` only after `into_inner` took it out.
        #[pin]
        inner: Option<T>,
        // Set by the first poll that ran with the tokio context (as a
        // future, or as tokio IO seen as futures-io).
        entered: bool,
    }

    impl<T> PinnedDrop for Compat<T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut inner = this.inner;
            if inner.is_none() {
                return;
            }
            if *this.entered {
                with_tokio(|| inner.set(None));
            } else {
                // Never polled: whatever it holds was made outside the
                // wrapper, and drops as it would without it. This is also
                // where `tokio::spawn` called without a tokio context drops
                // the future it was given, while it holds tokio's context
                // cell: entering the runtime here would panic with "already
                // borrowed" and hide tokio's own message.
                inner.set(None);
            }
        }
    }
}

/// Message for the `Option` that is `None` only once `into_inner` ran, after
/// which no method can be called.
const TAKEN: &str = "gpm-compat: Compat used after into_inner";

impl<T> Compat<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let sleep = gpm_compat::tokio::Compat::new(async {
    ///     tokio::time::sleep(std::time::Duration::from_millis(1)).await
    /// });
    /// gpm::runtime::Runtime::new()?.block_on(sleep);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: T) -> Compat<T> {
        Compat {
            inner: Some(inner),
            entered: false,
        }
    }

    /// The wrapped value.
    ///
    /// ```
    /// let c = gpm_compat::tokio::Compat::new(5);
    /// assert_eq!(*c.get_ref(), 5);
    /// ```
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect(TAKEN)
    }

    /// The wrapped value, mutably.
    ///
    /// ```
    /// let mut c = gpm_compat::tokio::Compat::new(5);
    /// *c.get_mut() += 1;
    /// assert_eq!(c.into_inner(), 6);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect(TAKEN)
    }

    /// The wrapped value, pinned.
    ///
    /// ```
    /// use std::pin::pin;
    /// let mut c = pin!(gpm_compat::tokio::Compat::new(5));
    /// assert_eq!(*c.as_mut().get_pin_mut(), 5);
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner.as_pin_mut().expect(TAKEN)
    }

    /// The wrapped value, pinned, for a poll about to run with the tokio
    /// context: from now on the value is dropped with the context too.
    fn enter_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        let this = self.project();
        *this.entered = true;
        this.inner.as_pin_mut().expect(TAKEN)
    }

    /// Unwraps the value (dropped later without the tokio context).
    ///
    /// ```
    /// let c = gpm_compat::tokio::Compat::new("inner");
    /// assert_eq!(c.into_inner(), "inner");
    /// ```
    pub fn into_inner(mut self) -> T {
        self.inner.take().expect(TAKEN)
    }
}

impl<F: Future> Future for Compat<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.enter_pin_mut();
        with_tokio(|| inner.poll(cx))
    }
}

/// `.tokio_compat()` for anything: wraps it in a [`Compat`].
///
/// ```
/// use gpm_compat::tokio::TokioCompatExt;
///
/// let rt = gpm::runtime::Runtime::new()?;
/// let elapsed = rt.block_on(
///     async {
///         let start = tokio::time::Instant::now();
///         tokio::time::sleep(std::time::Duration::from_millis(2)).await;
///         start.elapsed()
///     }
///     .tokio_compat(),
/// );
/// assert!(elapsed >= std::time::Duration::from_millis(2));
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait TokioCompatExt: Sized {
    /// Wraps `self` in a [`Compat`]: a future that runs with a tokio
    /// context, or an IO object seen through the other ecosystem's traits.
    ///
    /// ```
    /// use gpm_compat::tokio::TokioCompatExt;
    /// let wrapped = futures::io::Cursor::new(vec![1u8, 2, 3]).tokio_compat();
    /// assert_eq!(wrapped.get_ref().get_ref().len(), 3);
    /// ```
    fn tokio_compat(self) -> Compat<Self> {
        Compat::new(self)
    }
}

impl<T> TokioCompatExt for T {}

/// Starts a goroutine that runs `future` with a tokio context
/// (`gpm::spawn(future.tokio_compat())`).
///
/// ```
/// let rt = gpm::runtime::Runtime::new()?;
/// let port = rt.block_on(async {
///     let task = gpm_compat::tokio::spawn(async {
///         let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
///         listener.local_addr().map(|a| a.port())
///     });
///     task.await.unwrap()
/// })?;
/// assert_ne!(port, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Must be called inside a gpm runtime, as [`gpm::spawn`](gpm_core::spawn).
pub fn spawn<F>(future: F) -> gpm_core::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    gpm_core::spawn(Compat::new(future))
}
