//! The runtime: [`Builder`], [`Runtime`], [`Handle`], and what the scheduler
//! tells about itself ([`gomaxprocs`], [`num_goroutine`], [`stats`]).

mod builder;
mod cgroup;
mod procs;
pub mod trace;

pub use crate::sched::{Histogram, MetricValue, Metrics, Sample, Stats, UnhandledPanic};
pub use builder::{Builder, DEFAULT_MAX_THREADS};
pub use procs::MAX_PROCS;

use crate::sched::Shared;
use crate::JoinHandle;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::Arc;

/// A gpm runtime: GOMAXPROCS Ps, the Ms that run them, and every goroutine.
///
/// Dropping it shuts it down: Ms finish the poll they are in and exit, and
/// every goroutine left, queued or parked, is dropped.
///
/// ```
/// let rt = gpm::runtime::Runtime::new()?;
/// let answer = rt.block_on(async {
///     let h = gpm::spawn(async { 40 + 2 });
///     h.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
}

/// A cheap, clonable reference to a runtime, for spawning from anywhere.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder::new`]).
    ///
    /// # Errors
    /// As [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Runtime {
        Runtime {
            handle: Handle { shared },
        }
    }

    /// Runs `future` on the calling thread until it is done: Go's `main`
    /// with `runtime.LockOSThread()`.
    ///
    /// The future need not be `Send` nor `'static`. The calling thread polls
    /// it and nothing else, so no goroutine can hold it hostage by blocking
    /// the thread (a long `gpm::syscall`, a CPU loop): its timers fire and
    /// it runs on time whatever the goroutines do. For each poll it borrows
    /// an idle P if one is free, so what it spawns or readies is queued on
    /// that P, and hands the P to a worker thread afterwards; with none free
    /// it polls beside the GOMAXPROCS Ps (as tokio's `block_on` does) and
    /// what it readies goes through the global queue. That is its cost: the
    /// goroutines always run on other threads, so a hand-off between this
    /// future and a goroutine (a channel ping-pong) crosses threads and
    /// wakes one.
    /// [`Runtime::block_on_send`] has none of it, for a `Send + 'static`
    /// future; `#[gpm::main]` and `#[gpm::test]` pick it when they can.
    ///
    /// The first `block_on` future of a runtime is goroutine 1, as Go's
    /// `main`.
    ///
    /// # Panics
    /// When called from inside a goroutine (it would block an M); when a
    /// goroutine started with `go!` panics under
    /// [`UnhandledPanic::ShutdownRuntime`]; and when `future` panics.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Runs `future` as goroutine 1, an ordinary goroutine, and waits on
    /// the calling thread for its output: Go's `main`.
    ///
    /// Any worker thread may run it; it holds a P while it runs, is stolen,
    /// handed over and preempted like any goroutine, and a goroutine that
    /// blocks a thread never holds it hostage. Goroutines it spawns or
    /// readies go to its P, so a ping-pong with it stays on one P, as
    /// between two goroutines. The calling thread runs nothing meanwhile.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let answer = rt.block_on_send(async {
    ///     let ch = gpm::chan::<u32>(0);
    ///     let tx = ch.clone();
    ///     gpm::go!(async move { tx.send(42).await.unwrap() });
    ///     ch.recv().await
    /// });
    /// assert_eq!(answer, Some(42));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// As [`Runtime::block_on`]; a panic of `future` is resumed on the
    /// calling thread.
    #[track_caller]
    pub fn block_on_send<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.block_on_send(future)
    }

    /// Starts a goroutine; see [`crate::spawn`]. Works from any thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the runtime's blocking pool; see
    /// [`crate::spawn_blocking`]. Works from any thread.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let job = rt.spawn_blocking(|| 6 * 7);
    /// assert_eq!(rt.block_on(job).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// A snapshot of what the scheduler has done; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.handle.stats()
    }

    /// The runtime's metrics; see [`metrics`].
    pub fn metrics(&self) -> Metrics {
        self.handle.metrics()
    }

    /// The goroutine listing; see [`dump`].
    pub fn dump(&self) -> String {
        self.handle.dump()
    }
}

impl Runtime {
    /// Shuts the runtime down, waiting at most `timeout` for its threads.
    ///
    /// Every goroutine left is dropped, as by `drop`. A thread still inside
    /// a poll that has not returned by then (a CPU loop, a blocking call
    /// outside `gpm::syscall`) is left to finish it; it exits on its own
    /// afterwards, and the goroutine it polled is dropped then. tokio's
    /// method of the same name.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = gpm::runtime::Runtime::new()?;
    /// rt.spawn(async { std::thread::sleep(Duration::from_millis(300)) }); // will not return soon
    /// rt.shutdown_timeout(Duration::from_millis(10)); // returns without waiting 300 ms
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(self, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now().checked_add(timeout);
        // No representable deadline: as long as it takes, as `drop`.
        self.handle.shared.shutdown_within(deadline);
    }

    /// Shuts the runtime down without waiting for threads still in a poll:
    /// [`Runtime::shutdown_timeout`] with no time at all.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(std::time::Duration::ZERO);
    }
}

/// Dropping a runtime shuts it down: it stops sysmon, tells every thread to
/// exit, **waits for each thread's current poll to return** (for as long as
/// it takes: see [`Runtime::shutdown_timeout`] to bound it), then drops
/// every goroutine left, queued or parked (a goroutine woken while others
/// are dropped is dropped too, without recursing), and the blocking pool's
/// queued jobs. Jobs already running on the pool are not waited for.
impl Drop for Runtime {
    fn drop(&mut self) {
        self.handle.shared.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.handle.shared.procs())
            .finish()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("procs", &self.shared.procs()).finish()
    }
}

impl Handle {
    /// The runtime of the goroutine (or `block_on`) calling this.
    ///
    /// # Panics
    /// Outside a gpm runtime; see [`Handle::try_current`].
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().expect(
            "there is no gpm runtime here: call this from a goroutine, or start one \
             with #[gpm::main] or Runtime::block_on",
        )
    }

    /// The current runtime, or `None` outside one.
    pub fn try_current() -> Option<Handle> {
        crate::sched::current_shared().map(|shared| Handle { shared })
    }

    /// Starts a goroutine on this runtime from any thread; see [`crate::spawn`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future, Location::caller())
    }

    /// Runs a blocking closure on this runtime's blocking pool, from any
    /// thread; see [`crate::spawn_blocking`].
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let handle = rt.handle().clone();
    /// let job = std::thread::spawn(move || handle.spawn_blocking(|| 6 * 7)).join().unwrap();
    /// assert_eq!(rt.block_on(job).unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::sched::spawn_blocking(&self.shared, f, Location::caller())
    }

    /// Starts a detached goroutine (what `go!` does).
    #[track_caller]
    pub fn go<F>(&self, future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.go(future, Location::caller());
    }

    /// Runs `future` on the calling thread, which runs nothing else; see
    /// [`Runtime::block_on`].
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.block_on_at(future, Location::caller())
    }

    /// [`Handle::block_on`], with main's location given.
    #[track_caller]
    pub(crate) fn block_on_at<F: Future>(&self, future: F, location: &'static Location<'static>) -> F::Output {
        self.check_block_on();
        let _report = crate::sched::ReportOnPanic(&self.shared);
        crate::sched::run_main(self.shared.clone(), future, location)
    }

    /// Runs `future` as goroutine 1 and waits for it; see
    /// [`Runtime::block_on_send`].
    #[track_caller]
    pub fn block_on_send<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.block_on_send_at(future, Location::caller())
    }

    /// [`Handle::block_on_send`], with main's location given.
    #[track_caller]
    pub(crate) fn block_on_send_at<F>(&self, future: F, location: &'static Location<'static>) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.check_block_on();
        let _report = crate::sched::ReportOnPanic(&self.shared);
        crate::sched::run_main_g(self.shared.clone(), future, location)
    }

    #[track_caller]
    fn check_block_on(&self) {
        if crate::sched::in_runtime() {
            panic!(
                "gpm: block_on called from inside a goroutine; it would block this M \
                 and every goroutine queued on its P. Use `.await` instead"
            );
        }
        if self.shared.is_shutdown() {
            panic!("gpm: block_on on a runtime that has shut down");
        }
    }

    /// A snapshot of what the scheduler has done; see [`Stats`].
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The runtime's metrics; see [`metrics`].
    pub fn metrics(&self) -> Metrics {
        self.shared.metrics()
    }

    /// The goroutine listing; see [`dump`].
    pub fn dump(&self) -> String {
        self.shared.dump()
    }

    /// The number of Ps of this runtime.
    pub fn procs(&self) -> usize {
        self.shared.procs()
    }
}

/// GOMAXPROCS: the number of Ps of the current runtime, or, outside any
/// runtime, the number a new runtime would get (the `GOMAXPROCS`
/// environment variable if valid, else the CPUs this process may use,
/// limited by its cgroup quota as Go 1.25 does: `min(CPUs, max(2,
/// ceil(quota / period)))`).
///
/// The CPUs are this thread's affinity mask (`Cpus_allowed_list` in
/// `/proc/self/status`). The quota is that of the process's own cgroup,
/// found through `/proc/self/cgroup` and `/proc/self/mountinfo`: `cpu.max`
/// under cgroup v2, `cpu.cfs_quota_us` and `cpu.cfs_period_us` under v1
/// (whose `cpu` hierarchy is preferred where both exist), the smallest
/// limit from the cgroup's directory up to its mount point. If the cgroup
/// cannot be found, `/sys/fs/cgroup/cpu.max` or
/// `/sys/fs/cgroup/cpu/cpu.cfs_{quota,period}_us` is read instead. A
/// missing or malformed file means no limit. The default is computed once
/// per process.
///
/// ```
/// let n = gpm::runtime::gomaxprocs();
/// assert!(n >= 1);
/// ```
pub fn gomaxprocs() -> usize {
    Handle::try_current().map_or_else(procs::default_procs, |h| h.procs())
}

/// The number of goroutines alive in the current runtime (Go's
/// `runtime.NumGoroutine`), counting `block_on` futures; 0 outside one.
pub fn num_goroutine() -> usize {
    Handle::try_current().map_or(0, |h| h.shared.stats().goroutines)
}

/// The current runtime's goroutines, as Go prints them in a dump: one
/// paragraph per goroutine, `goroutine N [state]:` (with Go's wait reason,
/// and how long in minutes once a minute has passed) and where it was
/// started. Goroutines are listed from their first wait; the rest are
/// counted in a last line.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let text = gpm::runtime::dump();
/// assert!(text.starts_with("goroutine 1 [running]:"), "{text}");
/// # });
/// ```
///
/// # Panics
/// Outside a gpm runtime (use [`Runtime::dump`] there).
pub fn dump() -> String {
    Handle::current().dump()
}

/// The current runtime's metrics, under Go's `runtime/metrics` names where
/// Go has them (`/sched/goroutines:goroutines`, `/sched/gomaxprocs:threads`,
/// `/sched/latencies:seconds`); see [`Metrics`] for the list.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let m = gpm::runtime::metrics();
/// assert_eq!(m.uint64("/sched/gomaxprocs:threads"), Some(gpm::runtime::gomaxprocs() as u64));
/// assert!(m.uint64("/sched/goroutines:goroutines").unwrap() >= 1);
/// # });
/// ```
///
/// # Panics
/// Outside a gpm runtime (use [`Runtime::metrics`] there).
pub fn metrics() -> Metrics {
    Handle::current().metrics()
}

/// A snapshot of the current runtime's scheduler; see [`Stats`].
///
/// # Panics
/// Outside a gpm runtime (use [`Runtime::stats`] there).
pub fn stats() -> Stats {
    Handle::current().stats()
}

#[doc(hidden)]
pub mod __private {
    //! Entry points for gpm's macros; not a public API.
    //!
    //! `#[gpm::main]` and `#[gpm::test]` wrap the body in a [`Main`] and
    //! call `run_main` / `run_test` on a reference to it. Method lookup
    //! takes [`SendMain`]'s when the body's future is `Send + 'static` with
    //! a `Send` output (main becomes an ordinary goroutine,
    //! `Runtime::block_on_send`), and [`LocalMain`]'s, one auto-ref
    //! further, otherwise (`Runtime::block_on`). The body is an `async fn`
    //! of its own, so that its future's type is known when the method is
    //! chosen.
    pub use super::UnhandledPanic;
    use super::{Builder, Handle};
    use std::cell::Cell;
    use std::future::Future;
    use std::panic::Location;

    /// `go!`: a detached goroutine on the current runtime.
    #[track_caller]
    pub fn go<F>(future: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Handle::current().go(future);
    }

    /// A `#[gpm::main]` or `#[gpm::test]` body and its options.
    pub struct Main<F> {
        options: Options,
        future: Cell<Option<F>>,
    }

    /// The attribute's options: `procs = N`, `unhandled_panic = "..."`.
    #[derive(Clone, Copy)]
    struct Options {
        procs: Option<usize>,
        unhandled_panic: Option<UnhandledPanic>,
    }

    impl<F> Main<F> {
        pub fn new(procs: Option<usize>, unhandled_panic: Option<UnhandledPanic>, future: F) -> Main<F> {
            Main {
                options: Options { procs, unhandled_panic },
                future: Cell::new(Some(future)),
            }
        }

        fn take(&self) -> F {
            self.future.take().expect("a gpm main body ran twice")
        }
    }

    impl<F: Future> Main<F> {
        /// Runs `#[gpm::test(synctest)]`'s body in a `synctest` bubble.
        #[track_caller]
        pub fn run_synctest(&self) -> F::Output {
            let mut builder = crate::synctest::Builder::new();
            if let Some(n) = self.options.procs {
                builder = builder.procs(n);
            }
            builder.test(self.take())
        }
    }

    /// The runtime of a `#[gpm::main]` / `#[gpm::test]`: `builder` (the
    /// macro's defaults) with the attribute's options.
    #[track_caller]
    fn build(mut builder: Builder, options: Options) -> super::Runtime {
        if let Some(n) = options.procs {
            builder = builder.procs(n);
        }
        if let Some(what) = options.unhandled_panic {
            builder = builder.unhandled_panic(what);
        }
        builder.build().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `#[gpm::main]`'s body with `run`, on a runtime with the
    /// builder's defaults (`UnhandledPanic::ExitProcess` unless set). After
    /// it the process may exit while other goroutines run (Go's rule), so
    /// the runtime is not shut down (which would wait for running
    /// goroutines).
    #[track_caller]
    fn main_with<T>(options: Options, run: impl FnOnce(&Handle, &'static Location<'static>) -> T) -> T {
        let rt = build(Builder::new(), options);
        let output = run(rt.handle(), Location::caller());
        rt.handle().shared.finish_trace();
        std::mem::forget(rt);
        output
    }

    /// Runs `#[gpm::test]`'s body with `run`: a panic in any goroutine
    /// fails the test (`UnhandledPanic::ShutdownRuntime`, unless the
    /// attribute sets another). A goroutine may panic after the body's last
    /// poll: the runtime is shut down (which waits for running goroutines)
    /// and looked at once more.
    #[track_caller]
    fn test_with<T>(options: Options, run: impl FnOnce(&Handle, &'static Location<'static>) -> T) -> T {
        let rt = build(Builder::new().unhandled_panic(UnhandledPanic::ShutdownRuntime), options);
        let output = run(rt.handle(), Location::caller());
        let shared = rt.handle().shared.clone();
        drop(rt);
        let message = shared.take_panic();
        if let Some(message) = message {
            panic!("{message}");
        }
        output
    }

    /// A body whose future is `Send + 'static`: main is goroutine 1.
    pub trait SendMain {
        type Output;
        fn run_main(&self) -> Self::Output;
        fn run_test(&self) -> Self::Output;
    }

    impl<F> SendMain for Main<F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        type Output = F::Output;

        #[track_caller]
        fn run_main(&self) -> F::Output {
            main_with(self.options, |rt, at| rt.block_on_send_at(self.take(), at))
        }

        #[track_caller]
        fn run_test(&self) -> F::Output {
            test_with(self.options, |rt, at| rt.block_on_send_at(self.take(), at))
        }
    }

    /// Any other body: polled on the calling thread (`block_on`).
    pub trait LocalMain {
        type Output;
        fn run_main(&self) -> Self::Output;
        fn run_test(&self) -> Self::Output;
    }

    impl<F: Future> LocalMain for &Main<F> {
        type Output = F::Output;

        #[track_caller]
        fn run_main(&self) -> F::Output {
            main_with(self.options, |rt, at| rt.block_on_at(self.take(), at))
        }

        #[track_caller]
        fn run_test(&self) -> F::Output {
            test_with(self.options, |rt, at| rt.block_on_at(self.take(), at))
        }
    }
}
