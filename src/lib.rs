//! # gpm: Go's GPM scheduler for Rust futures
//!
//! gpm runs any `Future + Send + 'static` as a *goroutine* (a G) on a fixed
//! set of *processors* (Ps, GOMAXPROCS of them) driven by OS threads (Ms),
//! with Go's scheduling rules: a `runnext` slot and a 256-slot local run queue
//! per P, a global queue, work stealing by halves, and spinning Ms limited to
//! half the busy Ps.
//!
//! ```
//! #[gpm::main]
//! async fn main() {
//!     let (tx, rx) = std::sync::mpsc::channel();
//!     for i in 0..10u64 {
//!         let tx = tx.clone();
//!         gpm::go!(async move { tx.send(i * i).unwrap() });
//!     }
//!     drop(tx);
//!     let handle = gpm::spawn(async { 6 * 7 });
//!     assert_eq!(handle.await.unwrap(), 42);
//!     gpm::yield_now().await;
//! #   let total: u64 = rx.iter().sum();
//! #   assert_eq!(total, 285);
//! }
//! ```
//!
//! | Go | gpm |
//! | --- | --- |
//! | `func main()` | `#[gpm::main] async fn main()` |
//! | `go f(x)` | `gpm::go!(f(x))` |
//! | `runtime.Gosched()` | `gpm::yield_now().await` |
//! | `runtime.GOMAXPROCS(0)` | `gpm::runtime::gomaxprocs()` |
//! | `runtime.NumGoroutine()` | `gpm::runtime::num_goroutine()` |
//! | a blocking call in a goroutine | `gpm::syscall(f)` (inline) or `gpm::spawn_blocking(f).await` |
//! | `ch := make(chan T, n)` | `let ch = gpm::chan::<T>(n);` |
//! | `ch <- v`, `v, ok := <-ch`, `close(ch)` | `ch.send(v).await`, `ch.recv().await`, `ch.close()` |
//! | `select { case v := <-ch: ... }` | `gpm::select! { recv(ch) -> v => ... }` |
//! | `time.Sleep(d)`, `time.After(d)`, `time.NewTicker(d)` | `gpm::time::sleep(d).await`, `gpm::time::after(d)`, `gpm::time::Ticker::new(d)` |
//! | `sync.Mutex`, `sync.WaitGroup`, ... | `gpm::sync::Mutex`, `gpm::sync::WaitGroup`, ... |
//! | `context.WithCancel(ctx)` | `gpm::context::with_cancel(&ctx)` |
//! | `synctest.Test(t, f)`, `synctest.Wait()` | `#[gpm::test(synctest)]` or `gpm::synctest::test(fut)`, `gpm::synctest::wait().await` |

#![warn(missing_docs)]

pub use gpm_core::chan as channel;
pub use gpm_core::chan::{chan, Chan};
pub use gpm_core::{
    context, coop, net, spawn, spawn_blocking, sync, synctest, syscall, time, yield_now, JoinError, JoinHandle,
    YieldNow,
};
pub use gpm_core::{fs, io, process, signal};
pub use gpm_macros::{main, select, test};

pub mod runtime {
    //! The runtime: building it, entering it, and looking inside it.
    //!
    //! See [`Builder`] for the knobs (`procs`, `max_threads`, ...) and
    //! [`stats`] for what the scheduler has done so far.
    pub use gpm_core::runtime::*;
}

/// Starts a detached goroutine: Go's `go f(x)`.
///
/// `go!(future)` starts the future as a new G; `go! { statements }` wraps the
/// statements in an `async move` block first. The G is detached: nobody joins
/// it. A panic inside it prints `panic: <message>` and the goroutine's spawn
/// location, then exits the process with status 2, as Go does (see
/// [`runtime::Builder::unhandled_panic`] to change that, or
/// `#[gpm::main(unhandled_panic = "ignore")]`).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let (tx, rx) = std::sync::mpsc::channel();
/// gpm::go!(async move { tx.send("hello").unwrap() });
/// # gpm::yield_now().await;
/// # assert_eq!(rx.recv().unwrap(), "hello");
/// # });
/// ```
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let (tx, rx) = std::sync::mpsc::channel();
/// gpm::go! {
///     let answer = 6 * 7;
///     tx.send(answer).unwrap();
/// }
/// # assert_eq!(rx.recv().unwrap(), 42);
/// # });
/// ```
#[macro_export]
macro_rules! go {
    ($future:expr) => {
        $crate::__private::go($future)
    };
    ($($body:tt)*) => {
        $crate::__private::go(async move { $($body)* })
    };
}

#[doc(hidden)]
pub mod __private {
    //! Support for gpm's macros; not a public API.
    /// `select!`'s engine.
    pub use gpm_core::chan::select;
    pub use gpm_core::runtime::__private::{go, LocalMain, Main, SendMain, UnhandledPanic};
}

/// The README's examples, compiled and run as doctests so that they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
