//! The blocking pool: threads without Ps that run
//! [`spawn_blocking`](crate::spawn_blocking) jobs.
//!
//! Go has no such pool: a goroutine in a blocking system call keeps its M
//! and its P moves on to another M (`handoffp`). A closure that blocks for
//! long (file I/O, DNS, a blocking C library, heavy computation) is better
//! off on a thread of its own. This is tokio's pool, bounded by Go's
//! thread limit.
//!
//! # How it works
//! - A **job** is an `async_task` task whose metadata is a [`GInfo`] (so
//!   its handle is the same [`JoinHandle`] as a goroutine's) and whose
//!   future calls the closure once, catching a panic. It is not a goroutine:
//!   it is not counted by `num_goroutine`, nor listed in dumps. Its id comes
//!   from the goroutine id sequence.
//! - **Submitting** wakes an idle pool thread if one is waiting; otherwise
//!   it starts a thread while the pool has fewer than `max_blocking_threads`
//!   and the runtime fewer than `max_threads` (of which the pool leaves
//!   GOMAXPROCS to the scheduler's Ms); otherwise the job waits in a FIFO
//!   queue until a pool thread is done with its job.
//! - An **idle** thread waits `blocking_keep_alive` for a job, then exits.
//! - **Starting a thread may fail** (the OS refuses, or `max_threads` is
//!   reached). If a pool thread is alive, the job waits in the queue for
//!   it; if none is, the job resolves at once to a [`JoinError`] for which
//!   `is_spawn_failure()` is true, carrying the error: the caller never
//!   waits for a thread that does not exist (tokio issue 8406).
//! - **Shutdown** drops the queued jobs (their handles give a cancelled
//!   `JoinError`) and does not wait for running ones: pool threads are
//!   detached; each exits when its job returns. A job submitted after
//!   shutdown is dropped the same way.
//! - `JoinHandle::abort` cancels a job that has not started; a running job
//!   cannot be stopped and keeps its result.
//!
//! Everything is under one mutex, and threads are started under it (as
//! tokio does): deciding "wake, start or queue" and pushing the job are one
//! step, so no job is left in a queue that no thread will look at.

use super::g::GInfo;
use super::join::{JoinError, JoinHandle};
use super::shared::{Config, Shared};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

/// Default cap on pool threads (tokio's `max_blocking_threads`).
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;

/// Default time an idle pool thread waits for a job before exiting
/// (tokio's `thread_keep_alive`).
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A job waiting for or running on a pool thread.
type Job = async_task::Runnable<GInfo>;

/// A runtime's blocking pool.
pub(crate) struct Pool {
    /// The queue and the thread bookkeeping.
    state: Mutex<State>,
    /// Idle pool threads wait here for a job.
    work: Condvar,
    /// `Builder::max_blocking_threads` (at least 1).
    cap: usize,
    /// `Builder::blocking_keep_alive`.
    keep_alive: Duration,
    /// Jobs queued or running. Raised under the lock before a job is queued;
    /// lowered after the job's run returned, that is after its handle woke
    /// whoever awaits it (SeqCst both: whoever sees 0 sees that G runnable).
    in_flight: AtomicUsize,
    /// Pool threads alive, idle or not. Written only under the lock (read
    /// without it for stats).
    threads: AtomicUsize,
    /// Thread starts left to fail on purpose (`Builder::fail_blocking_thread_spawns`).
    injected_failures: AtomicUsize,
}

/// What the pool's mutex guards.
#[derive(Default)]
struct State {
    /// Jobs no thread has taken yet, oldest first.
    queue: VecDeque<Job>,
    /// Threads waiting on `work`.
    idle: usize,
    /// Wake-ups sent to idle threads and not yet taken (at most `idle`): a
    /// submitter wakes an idle thread only if `idle > notified`, so two jobs
    /// never count on the same idle thread.
    notified: usize,
    /// Set once by `shutdown`; no job is queued after it.
    shutdown: bool,
}

/// What submitting a job came to.
enum Admission {
    /// Queued: a thread was woken or started for it, or one will take it
    /// when done with its current job.
    Queue,
    /// No thread can run it: it fails with this error.
    Refuse(io::Error),
    /// The runtime has shut down: the job is dropped.
    Closed,
}

impl Pool {
    pub(crate) fn new(config: &Config) -> Pool {
        Pool {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            cap: config.max_blocking_threads.max(1),
            keep_alive: config.blocking_keep_alive,
            in_flight: AtomicUsize::new(0),
            threads: AtomicUsize::new(0),
            injected_failures: AtomicUsize::new(config.blocking_spawn_failures),
        }
    }

    /// Jobs queued or running (for deadlock detection: while one is, a G
    /// awaiting it may yet be woken).
    #[allow(dead_code)] // read by deadlock detection (another change)
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(SeqCst)
    }

    /// Pool threads alive, idle or running a job.
    pub(crate) fn threads(&self) -> usize {
        self.threads.load(Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoning cannot leave `State` half-updated: no user code runs
        // under the lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Finds a thread for one more job: wakes an idle one, or starts one, or
    /// lets the job wait for a busy one. Called under the lock.
    fn admit(&self, state: &mut State, shared: &Arc<Shared>) -> Admission {
        if state.shutdown {
            return Admission::Closed;
        }
        if state.idle > state.notified {
            state.notified += 1;
            self.work.notify_one();
            return Admission::Queue;
        }
        let alive = self.threads.load(Relaxed);
        if alive >= self.cap {
            // `cap >= 1`, so some thread will take it when done.
            return Admission::Queue;
        }
        match self.start_thread(shared) {
            Ok(()) => Admission::Queue,
            Err(e) if alive == 0 => Admission::Refuse(e),
            // A busy pool thread will take it when done.
            Err(_) => Admission::Queue,
        }
    }

    /// Starts one pool thread, counting it against `max_threads`. Called
    /// under the lock.
    fn start_thread(&self, shared: &Arc<Shared>) -> io::Result<()> {
        let config = &shared.config;
        // Leave GOMAXPROCS thread slots to the Ms, which have no pool to wait
        // for: running out of threads is fatal for them (Go's `newm`).
        let pool_limit = config.max_threads.saturating_sub(shared.procs());
        let reserved = self.threads.load(Relaxed) < pool_limit
            && shared
                .threads
                .fetch_update(SeqCst, SeqCst, |n| (n < config.max_threads).then_some(n + 1))
                .is_ok();
        if !reserved {
            return Err(io::Error::other(format!(
                "max_threads = {} reached ({} threads running, {} of them in the blocking pool; \
                 the pool leaves {} to the scheduler; raise it with Builder::max_threads)",
                config.max_threads,
                shared.threads.load(Relaxed),
                self.threads.load(Relaxed),
                shared.procs(),
            )));
        }
        let injected = self
            .injected_failures
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok();
        let started = if injected {
            Err(io::Error::other(
                "injected failure to start a blocking-pool thread (test aid)",
            ))
        } else {
            let mut builder = thread::Builder::new().name(format!("{}-blocking", config.thread_name));
            if let Some(size) = config.stack_size {
                builder = builder.stack_size(size);
            }
            let shared = shared.clone();
            // Detached (the handle is dropped): shutdown does not wait for
            // a running job.
            builder
                .spawn(move || {
                    super::bubble::enter_thread(&shared);
                    thread_main(shared)
                })
                .map(drop)
        };
        match started {
            Ok(()) => {
                self.threads.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(e) => {
                shared.threads.fetch_sub(1, SeqCst);
                Err(e)
            }
        }
    }

    /// Runs one job on this pool thread, or drops it if it was aborted.
    fn run(&self, job: Job) {
        if job.metadata().aborted() {
            // Its handle gives a cancelled JoinError.
            drop(job);
        } else {
            let goid = job.metadata().goid();
            super::exectrace::blocking_start(job.metadata());
            job.run();
            super::exectrace::blocking_end(goid);
        }
        // After the handle woke its awaiter; see `in_flight`.
        self.in_flight.fetch_sub(1, SeqCst);
    }

    /// Waits as an idle thread until it is handed a job, the pool shuts
    /// down, or the keep-alive runs out. Returns whether to go on looking
    /// at the queue (false: exit).
    fn idle_wait<'a>(&'a self, mut state: MutexGuard<'a, State>) -> (MutexGuard<'a, State>, bool) {
        state.idle += 1;
        // `None`: a keep-alive too long to add to now; wait for ever.
        let deadline = Instant::now().checked_add(self.keep_alive);
        let go_on = loop {
            if state.notified > 0 {
                state.notified -= 1;
                break true;
            }
            if state.shutdown {
                break true; // the caller sees it and exits
            }
            match deadline {
                None => state = self.work.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break !state.queue.is_empty();
                    }
                    state = self
                        .work
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        };
        state.idle -= 1;
        (state, go_on)
    }

    /// Drops every queued job (their handles give a cancelled JoinError),
    /// refuses new ones, and wakes idle threads so that they exit. Running
    /// jobs are not waited for.
    pub(crate) fn shutdown(&self) {
        let queued = {
            let mut state = self.lock();
            state.shutdown = true;
            std::mem::take(&mut state.queue)
        };
        self.work.notify_all();
        let dropped = queued.len();
        // Outside the lock: dropping a job drops its closure (user code) and
        // wakes whoever awaits it.
        drop(queued);
        self.in_flight.fetch_sub(dropped, SeqCst);
    }
}

/// A pool thread: runs queued jobs, waits idle for more, exits after the
/// keep-alive or at shutdown.
fn thread_main(shared: Arc<Shared>) {
    let pool = &shared.blocking;
    let mut state = pool.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            pool.run(job);
            state = pool.lock();
            continue;
        }
        if state.shutdown {
            break;
        }
        let (guard, go_on) = pool.idle_wait(state);
        state = guard;
        if !go_on {
            break;
        }
    }
    // Under the lock, with the queue empty: a submitter that still counts
    // this thread will not count on it taking a job.
    pool.threads.fetch_sub(1, Relaxed);
    drop(state);
    shared.threads.fetch_sub(1, SeqCst);
}

/// `spawn_blocking` on `shared`'s pool; see [`crate::spawn_blocking`].
pub(crate) fn spawn<F, R>(shared: &Arc<Shared>, f: F, location: &'static Location<'static>) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let goid = shared.next_goid();
    let info = GInfo::new(shared.clone(), goid, location, false);
    let pool = &shared.blocking;
    let mut state = pool.lock();
    let admission = pool.admit(&mut state, shared);
    let (queue, refusal) = match admission {
        Admission::Queue => (true, None),
        Admission::Refuse(e) => (false, Some(e)),
        Admission::Closed => (false, None),
    };
    let refused = refusal.is_some();
    let future = BlockingJob {
        f: Some(f),
        goid,
        refusal,
    };
    // Built under the lock so that the job joins the queue in the same step
    // as the thread was woken or started for it.
    let (job, task) = async_task::Builder::new()
        .metadata(info)
        .spawn(move |_: &GInfo| future, reschedule);
    if queue {
        pool.in_flight.fetch_add(1, SeqCst);
        state.queue.push_back(job);
        drop(state);
    } else {
        drop(state);
        if refused {
            // Resolves the handle to the spawn failure; `f` is not called.
            job.run();
        } else {
            // Shut down: the handle gives a cancelled JoinError.
            drop(job);
        }
    }
    JoinHandle::new(task)
}

/// The schedule function of jobs. Never called: a job's future finishes in
/// its first poll and never wakes itself. Were it called, dropping the job
/// would cancel it rather than lose it silently.
fn reschedule(job: Job) {
    drop(job);
}

/// The future of a job: calls the closure once, catching a panic.
struct BlockingJob<F> {
    /// The closure; taken by the one poll.
    f: Option<F>,
    /// The job's id, for its `JoinError`.
    goid: u64,
    /// Set when no thread could be started for the job: the poll returns
    /// this error instead of calling `f`.
    refusal: Option<io::Error>,
}

// The closure is never pinned: it is moved out and called.
impl<F> Unpin for BlockingJob<F> {}

impl<F, R> Future for BlockingJob<F>
where
    F: FnOnce() -> R,
{
    type Output = Result<R, JoinError>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let f = this.f.take().expect("a blocking job is polled once");
        if let Some(error) = this.refusal.take() {
            drop(f);
            return Poll::Ready(Err(JoinError::spawn_failed(this.goid, error)));
        }
        Poll::Ready(catch_unwind(AssertUnwindSafe(f)).map_err(|payload| JoinError::panic(this.goid, payload)))
    }
}
