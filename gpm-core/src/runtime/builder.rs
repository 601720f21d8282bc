//! `Builder`: how many Ps, how many threads at most, what to do with panics,
//! how big the blocking pool may grow.

use super::procs;
use super::Runtime;
use crate::sched::{Config, Shared, UnhandledPanic};
use std::io;
use std::time::Duration;

/// Builds a [`Runtime`].
///
/// ```
/// use gpm::runtime::Builder;
///
/// let rt = Builder::new().procs(2).thread_name("worker").build()?;
/// assert_eq!(rt.block_on(async { gpm::runtime::gomaxprocs() }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    procs: Option<usize>,
    max_threads: usize,
    thread_name: String,
    stack_size: Option<usize>,
    unhandled_panic: UnhandledPanic,
    deadlock_detection: bool,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
    blocking_spawn_failures: usize,
    m_spawn_failures: usize,
    main_start_stall: Option<Duration>,
    metrics_histograms: bool,
    /// A `synctest` bubble's runtime (set by `synctest::Builder` only).
    bubble: bool,
    /// `shake(seed)`: wins over `GPM_SHAKE`.
    shake: Option<u64>,
}

/// Go's default limit on threads (`debug.SetMaxThreads`).
pub const DEFAULT_MAX_THREADS: usize = 10_000;

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with Go's defaults: GOMAXPROCS Ps (see
    /// [`gomaxprocs`](super::gomaxprocs)), at most 10 000 threads.
    pub fn new() -> Builder {
        Builder {
            procs: None,
            max_threads: DEFAULT_MAX_THREADS,
            thread_name: "gpm-m".to_owned(),
            stack_size: None,
            unhandled_panic: UnhandledPanic::default(),
            deadlock_detection: true,
            max_blocking_threads: crate::sched::DEFAULT_MAX_BLOCKING_THREADS,
            blocking_keep_alive: crate::sched::DEFAULT_BLOCKING_KEEP_ALIVE,
            blocking_spawn_failures: 0,
            m_spawn_failures: 0,
            main_start_stall: None,
            metrics_histograms: false,
            bubble: false,
            shake: None,
        }
    }

    /// Shakes the scheduler with `seed` (what `GPM_SHAKE=<seed>` does; this
    /// wins over the variable): a readied goroutine skips runnext half of
    /// the time, and every random choice of the scheduler (steal order,
    /// runnext skips, `select!`'s case order) is drawn from `seed`. On one
    /// P the same seed replays the same order of events. A test aid, as
    /// Go's race detector shakes its scheduler; when a goroutine or a
    /// `block_on` future panics, the seed is printed on stderr as
    /// `gpm: GPM_SHAKE seed N (rerun with GPM_SHAKE=N)`.
    ///
    /// ```
    /// let rt = gpm::runtime::Builder::new().procs(1).shake(1234).build()?;
    /// let n = rt.block_on_send(async {
    ///     let ch = gpm::chan::<u32>(8);
    ///     for i in 0..8 {
    ///         let ch = ch.clone();
    ///         gpm::go!(async move { ch.send(i).await.unwrap() });
    ///     }
    ///     let mut sum = 0;
    ///     for _ in 0..8 {
    ///         sum += ch.recv().await.unwrap();
    ///     }
    ///     sum
    /// });
    /// assert_eq!(n, 28);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shake(mut self, seed: u64) -> Builder {
        self.shake = Some(seed);
        self
    }

    /// Makes the runtime a `synctest` bubble's (virtual clock, durable
    /// blocking watched by sysmon). Only `synctest::Builder` sets it.
    pub(crate) fn bubble(mut self) -> Builder {
        self.bubble = true;
        self
    }

    /// Sets the number of Ps (GOMAXPROCS): how many goroutines may run at
    /// once. This wins over the `GOMAXPROCS` environment variable. Zero is
    /// rejected by [`build`](Builder::build).
    pub fn procs(mut self, n: usize) -> Builder {
        self.procs = Some(n);
        self
    }

    /// Sets the most OS threads the runtime may start (Go's
    /// `debug.SetMaxThreads`, default 10 000). Needing more for an M is a
    /// fatal error that names this limit. Blocking-pool threads count too,
    /// but the pool leaves GOMAXPROCS of them to the Ms; at the limit its
    /// jobs wait for a pool thread, or fail if none is alive (see
    /// [`spawn_blocking`](crate::spawn_blocking)).
    pub fn max_threads(mut self, n: usize) -> Builder {
        self.max_threads = n;
        self
    }

    /// Names the runtime's threads (default `gpm-m`).
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// Sets the stack size of the runtime's threads.
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Chooses what a panic in a detached goroutine does; see [`UnhandledPanic`].
    pub fn unhandled_panic(mut self, what: UnhandledPanic) -> Builder {
        self.unhandled_panic = what;
        self
    }

    /// Samples the histograms of [`metrics`](super::metrics)
    /// (`/sched/latencies:seconds`, the time goroutines wait runnable, and
    /// each P's poll times). Off by default: on, every poll costs three
    /// clock reads and two relaxed adds more; off, a load and a branch.
    ///
    /// ```
    /// let rt = gpm::runtime::Builder::new().metrics_histograms(true).build()?;
    /// rt.block_on(async { gpm::spawn(async {}).await.unwrap() });
    /// let m = rt.metrics();
    /// assert!(m.histogram("/sched/latencies:seconds").unwrap().total() >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics_histograms(mut self, on: bool) -> Builder {
        self.metrics_histograms = on;
        self
    }

    /// Turns Go's deadlock detection on (the default) or off.
    ///
    /// When every goroutine waits on a gpm primitive (a channel, a lock, a
    /// join) and nothing else can wake one (no timer, no blocking job, no
    /// other thread in the process, no future gpm did not write), the
    /// program can never go on: gpm prints `fatal error: all goroutines are
    /// asleep - deadlock!` and the goroutine list on stderr, and exits with
    /// status 2, as Go does. It never fires while in doubt: a process with
    /// threads of its own (a test harness, a thread pool) is never reported.
    pub fn deadlock_detection(mut self, on: bool) -> Builder {
        self.deadlock_detection = on;
        self
    }

    /// Sets the most threads the blocking pool may run at once (default
    /// 512); more [`spawn_blocking`](crate::spawn_blocking) jobs wait in
    /// line, first come first served. Pool threads also count against
    /// [`max_threads`](Builder::max_threads), of which the pool leaves
    /// GOMAXPROCS threads to the scheduler. Zero is rejected by
    /// [`build`](Builder::build).
    ///
    /// ```
    /// let rt = gpm::runtime::Builder::new().max_blocking_threads(4).build()?;
    /// let sum: u64 = rt.block_on(async {
    ///     let jobs: Vec<_> = (0..16u64).map(|i| gpm::spawn_blocking(move || i)).collect();
    ///     let mut sum = 0;
    ///     for job in jobs {
    ///         sum += job.await.unwrap();
    ///     }
    ///     sum
    /// });
    /// assert_eq!(sum, 120);
    /// assert!(rt.stats().blocking_threads <= 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n;
        self
    }

    /// Sets how long an idle blocking-pool thread waits for another job
    /// before it exits (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = gpm::runtime::Builder::new()
    ///     .blocking_keep_alive(Duration::from_millis(100))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Test aid, not part of the API: the next `n` times the blocking pool
    /// starts a thread, the start fails with an injected error, as if
    /// `std::thread::Builder::spawn` had.
    #[doc(hidden)]
    pub fn fail_blocking_thread_spawns(mut self, n: usize) -> Builder {
        self.blocking_spawn_failures = n;
        self
    }

    /// Test aid: the next `n` worker-thread (M) starts fail as if the OS
    /// refused them.
    #[doc(hidden)]
    pub fn fail_m_spawns(mut self, n: usize) -> Builder {
        self.m_spawn_failures = n;
        self
    }

    /// Test aid: a `block_on` caller sleeps for `d` while it sets up its
    /// main, as a thread the OS does not schedule for a while would.
    #[doc(hidden)]
    pub fn stall_main_start(mut self, d: Duration) -> Builder {
        self.main_start_stall = Some(d);
        self
    }

    /// Builds the runtime. No thread starts until there is work.
    ///
    /// # Errors
    /// `InvalidInput` if `procs`, `max_threads` or `max_blocking_threads`
    /// is 0, if `procs` is more than [`MAX_PROCS`](crate::runtime::MAX_PROCS)
    /// (a P costs about 5 KiB up front: its run queue, caches and timer
    /// heap; 10 000 Ps took 47 MB), or if `procs` is more than
    /// `max_threads` (each P needs a thread to run it).
    ///
    /// ```
    /// use gpm::runtime::Builder;
    ///
    /// let err = Builder::new().procs(1 << 30).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// assert!(err.to_string().contains("procs (GOMAXPROCS)"), "{err}");
    /// ```
    pub fn build(&self) -> io::Result<Runtime> {
        let procs = match self.procs {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "gpm: procs (GOMAXPROCS) must be at least 1, got 0",
                ))
            }
            Some(n) => n,
            None => procs::default_procs(),
        };
        if procs > procs::MAX_PROCS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "gpm: procs (GOMAXPROCS) = {procs} is more than gpm supports ({}; each P costs about \
                     5 KiB up front)",
                    procs::MAX_PROCS
                ),
            ));
        }
        if self.max_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "gpm: max_threads must be at least 1, got 0",
            ));
        }
        if procs > self.max_threads {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "gpm: procs (GOMAXPROCS) = {procs} is more than max_threads = {}: every P needs a thread \
                     to run (raise it with Builder::max_threads)",
                    self.max_threads
                ),
            ));
        }
        if self.max_blocking_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "gpm: max_blocking_threads must be at least 1, got 0",
            ));
        }
        let shared = Shared::new(Config {
            procs,
            max_threads: self.max_threads,
            thread_name: self.thread_name.clone(),
            stack_size: self.stack_size,
            unhandled_panic: self.unhandled_panic,
            deadlock_detection: self.deadlock_detection,
            debug: crate::sched::Debug::from_env(),
            max_blocking_threads: self.max_blocking_threads,
            blocking_keep_alive: self.blocking_keep_alive,
            blocking_spawn_failures: self.blocking_spawn_failures,
            m_spawn_failures: self.m_spawn_failures,
            main_start_stall: self.main_start_stall,
            shake: self.shake.or_else(crate::sched::shake_from_env),
            metrics_histograms: self.metrics_histograms,
            bubble: self.bubble,
        });
        crate::sched::install_sigquit();
        shared.start_sysmon()?;
        Ok(Runtime::from_shared(shared))
    }
}
