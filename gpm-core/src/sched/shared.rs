//! The scheduler's shared state (Go's `sched` and `allp`): one per runtime,
//! in an `Arc` that every M, G and handle holds. The operations on it live
//! beside it: readying and spawning Gs in `ready.rs`, starting Ms and
//! handing Ps over in `handoff.rs`, shutdown and unhandled panics in
//! `shutdown.rs`.

use super::current;
use super::g::MAIN_GOID;
use super::global::GlobalQueue;
use super::idle::Idle;
use super::netpoll::Netpoll;
use super::p::{self, PLocal, P};
use super::park::Parker;
use super::registry::Registry;
use super::shutdown::UnhandledPanic;
use super::stats::Stats;
use super::timers::TimerKey;
use crossbeam_utils::CachePadded;
use std::io::Write;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::thread;
use std::time::Instant;

/// What the `Builder` decided.
pub(crate) struct Config {
    pub(crate) procs: usize,
    pub(crate) max_threads: usize,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) unhandled_panic: UnhandledPanic,
    /// Report "all goroutines are asleep" and exit (see `checkdead.rs`).
    pub(crate) deadlock_detection: bool,
    /// Cap on blocking-pool threads (`Builder::max_blocking_threads`).
    pub(crate) max_blocking_threads: usize,
    /// How long an idle pool thread lives (`Builder::blocking_keep_alive`).
    pub(crate) blocking_keep_alive: std::time::Duration,
    /// Pool thread starts to fail on purpose (a hidden test aid).
    pub(crate) blocking_spawn_failures: usize,
    /// M thread starts to fail on purpose (a hidden test aid).
    pub(crate) m_spawn_failures: usize,
    /// How long a `block_on` caller stalls while it sets up its main (a
    /// hidden test aid: a thread the OS does not schedule).
    pub(crate) main_start_stall: Option<std::time::Duration>,
    /// `GPM_DEBUG` (schedtrace).
    pub(crate) debug: super::trace::Debug,
    /// `GPM_SHAKE=<seed>` or `Builder::shake`: randomise where readied Gs
    /// go, every random choice drawn from this seed (a test aid, as Go's
    /// race detector randomises its scheduler; see `shake.rs`).
    pub(crate) shake: Option<u64>,
    /// Sample the histograms of `metrics()` (`Builder::metrics_histograms`).
    pub(crate) metrics_histograms: bool,
    /// The runtime is a `synctest` bubble's: a virtual clock, and sysmon
    /// watches for the bubble being durably blocked (see `bubble.rs`).
    pub(crate) bubble: bool,
}

/// Event counters for `stats()` (relaxed; approximate under concurrency).
#[derive(Default)]
pub(crate) struct Counters {
    /// Successful steals of a ring's half.
    pub(crate) steals: CachePadded<AtomicU64>,
    /// Gs moved by those steals.
    pub(crate) stolen: AtomicU64,
    /// Steals of a victim's runnext.
    pub(crate) runnext_steals: AtomicU64,
    /// Ps sysmon took from an M stuck in a poll or a syscall.
    pub(crate) retakes: AtomicU64,
    /// Times a full ring spilled to the global queue.
    pub(crate) spills: CachePadded<AtomicU64>,
    /// Times an M went to sleep.
    pub(crate) parks: CachePadded<AtomicU64>,
}

/// One runtime's scheduler.
/// Events counted per P (see `Shared::count`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Count {
    /// Gs spawned.
    Spawned,
    /// Gs dropped.
    Exited,
    /// Polls that returned `Pending` waiting on a foreign future.
    ForeignParked,
    /// Such waits that ended (the G was woken or dropped).
    ForeignResumed,
}

/// How many kinds of [`Count`] there are.
pub(crate) const COUNTS: usize = 4;

pub(crate) struct Shared {
    /// The `Arc` this lives in, for starting Ms from `&self`.
    pub(super) me: Weak<Shared>,
    /// The shared halves of the Ps (Go's `allp`), a cache line each.
    pub(super) ps: Box<[P]>,
    /// The global run queue.
    pub(super) global: GlobalQueue,
    /// Idle Ps and Ms, spinning count.
    pub(super) idle: Idle,
    /// Every live G.
    pub(super) registry: Registry,
    pub(super) config: Config,
    pub(super) counters: Counters,
    /// Steal orders: numbers coprime to GOMAXPROCS (Go's `randomOrder`).
    pub(super) coprimes: Box<[usize]>,
    /// Next goroutine id.
    pub(super) next_goid: AtomicU64,
    /// Threads alive that the runtime started: worker Ms and blocking-pool
    /// threads (`block_on` callers and sysmon are not counted). Checked
    /// against `max_threads` by whoever adds one.
    pub(super) threads: AtomicUsize,
    /// The `spawn_blocking` pool.
    pub(super) blocking: super::blocking::Pool,
    /// Main goroutines under way (one per `block_on`), until their future
    /// is done: deadlock detection needs one waiting.
    pub(super) mains: AtomicUsize,
    /// `block_on_send` calls between counting their main in `mains` and
    /// queueing it as goroutine 1 (deadlock detection: progress).
    pub(super) mains_starting: AtomicUsize,
    /// Threads in `block_on` (they belong to the runtime while there).
    pub(super) callers: AtomicUsize,
    /// [`Count`]s made where no P of this runtime was at hand (the per-P
    /// counts are in `P`).
    pub(super) counts_outside: [AtomicU64; COUNTS],
    /// A coarse clock for G wait times.
    pub(super) clock: super::clock::Clock,
    /// Every timer (a heap per P).
    pub(super) timers: super::timers::Timers,
    /// The netpoller.
    pub(super) netpoll: Arc<super::netpoll::Netpoll>,
    /// Notifies the netpoller: the hook of a parker whose M sleeps in it.
    pub(super) netpoll_hook: super::park::Hook,
    /// Times an M acquired a P (deadlock detection: nothing ran meanwhile).
    pub(super) acquisitions: AtomicU64,
    /// Every M alive (schedtrace's detail lines).
    pub(super) ms: Mutex<Vec<Arc<super::trace::MInfo>>>,
    /// schedtrace and the SIGQUIT dump, printed by sysmon.
    pub(super) tracer: super::trace::Tracer,
    /// Ms still in a poll whose P sysmon took (see `hold.rs`).
    pub(super) retaken: AtomicUsize,
    /// Set once by `Runtime`'s drop.
    pub(super) shutdown: AtomicBool,
    /// M thread starts left to fail on purpose (a hidden test aid).
    pub(super) m_spawn_failures: AtomicUsize,
    /// An M could not be started (reported once).
    pub(super) m_spawn_failed: AtomicBool,
    /// Worker threads to join at shutdown.
    pub(super) workers: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Wakes sysmon for shutdown.
    pub(super) sysmon_alarm: super::sysmon::Alarm,
    /// The sysmon thread, joined at shutdown.
    pub(super) sysmon: Mutex<Option<thread::JoinHandle<()>>>,
    /// A detached G's panic under `UnhandledPanic::ShutdownRuntime`, waiting
    /// for `block_on` to re-raise it.
    pub(super) panic: Mutex<Option<String>>,
    pub(super) panicked: AtomicBool,
    /// Parkers of `block_on` Ms, to wake them for a panic or shutdown.
    pub(super) main_parkers: Mutex<Vec<Arc<Parker>>>,
    /// The main Gs of the `block_on` calls under way (dumps, deadlock checks).
    pub(super) main_gs: Mutex<Vec<Arc<super::g::MainG>>>,
    /// Goroutine 1 has been given to a `block_on` future.
    pub(super) main_goid_taken: AtomicBool,
    /// This runtime started the `GPM_TRACE` trace and stops it at
    /// shutdown.
    pub(super) owns_trace: AtomicBool,
    /// The histograms of `metrics()`.
    pub(super) histograms: super::metrics::Histograms,
    /// The bubble this runtime runs, if it is a `synctest` one.
    pub(super) bubble: Option<super::bubble::Bubble>,
    /// Ms made so far: the next one's number, from which its random
    /// stream is derived under shake (`shake.rs`).
    pub(super) ms_made: AtomicU64,
    /// The shake seed has been printed (once per runtime).
    pub(super) shake_reported: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        let procs = config.procs;
        let (ps, locals): (Vec<P>, Vec<PLocal>) = (0..procs).map(p::new).unzip();
        // Pop order of the idle list is LIFO: reverse so that P0 goes first.
        let locals: Vec<PLocal> = locals.into_iter().rev().collect();
        let coprimes = (1..=procs).filter(|&i| gcd(i, procs) == 1).collect();
        let clock = super::clock::Clock::new();
        let timers = super::timers::Timers::new(procs, clock.start(), config.bubble);
        let bubble = config.bubble.then(super::bubble::Bubble::default);
        let netpoll = Arc::new(super::netpoll::Netpoll::new(clock.start()));
        let netpoll_hook: super::park::Hook = {
            let netpoll = netpoll.clone();
            Arc::new(move || netpoll.notify())
        };
        let blocking = super::blocking::Pool::new(&config);
        let tracer = super::trace::Tracer::new(config.debug);
        let m_spawn_failures = config.m_spawn_failures;
        let histograms = super::metrics::Histograms::new(config.metrics_histograms, procs);
        Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            ps: ps.into_boxed_slice(),
            global: GlobalQueue::default(),
            idle: Idle::new(locals),
            registry: Registry::new(procs),
            config,
            counters: Counters::default(),
            coprimes,
            next_goid: AtomicU64::new(MAIN_GOID + 1),
            threads: AtomicUsize::new(0),
            blocking,
            mains: AtomicUsize::new(0),
            mains_starting: AtomicUsize::new(0),
            callers: AtomicUsize::new(0),
            counts_outside: Default::default(),
            clock,
            timers,
            netpoll,
            netpoll_hook,
            acquisitions: AtomicU64::new(0),
            retaken: AtomicUsize::new(0),
            ms: Mutex::new(Vec::new()),
            tracer,
            shutdown: AtomicBool::new(false),
            m_spawn_failures: AtomicUsize::new(m_spawn_failures),
            m_spawn_failed: AtomicBool::new(false),
            workers: Mutex::new(Vec::new()),
            sysmon_alarm: super::sysmon::Alarm::default(),
            sysmon: Mutex::new(None),
            panic: Mutex::new(None),
            panicked: AtomicBool::new(false),
            main_parkers: Mutex::new(Vec::new()),
            main_gs: Mutex::new(Vec::new()),
            main_goid_taken: AtomicBool::new(false),
            owns_trace: AtomicBool::new(super::exectrace::start_from_env()),
            histograms,
            bubble,
            ms_made: AtomicU64::new(0),
            shake_reported: AtomicBool::new(false),
        })
    }

    pub(crate) fn procs(&self) -> usize {
        self.ps.len()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// A goroutine id for a `block_on` future: 1 for the first (Go's
    /// `main`), then the next free one.
    pub(crate) fn main_goid(&self) -> u64 {
        if self.main_goid_taken.swap(true, Relaxed) {
            self.next_goid()
        } else {
            MAIN_GOID
        }
    }

    pub(crate) fn next_goid(&self) -> u64 {
        self.next_goid.fetch_add(1, Relaxed)
    }

    /// Visits every P index once, in a random order (Go's `stealOrder`):
    /// start anywhere, step by a number coprime to the count.
    pub(crate) fn steal_order(&self, random: u32) -> impl Iterator<Item = usize> + '_ {
        let n = self.procs();
        let random = random as usize;
        let step = self.coprimes[(random / n) % self.coprimes.len()];
        let start = random % n;
        (0..n).map(move |i| (start + i * step) % n)
    }

    /// The `Arc` that owns this `Shared` (every `Shared` lives in one).
    pub(super) fn self_arc(&self) -> Arc<Shared> {
        self.me
            .upgrade()
            .expect("gpm runtime state used after its runtime was dropped")
    }

    // ----- timers and sockets (for `time`, `context` and `net`) ------------

    /// Arms a timer that wakes `waker` at `deadline`: on the current P's heap
    /// when called on an M (Go adds a timer to the current P's heap), else
    /// on a heap picked by the timers.
    pub(crate) fn add_timer(&self, deadline: Instant, waker: &Waker) -> TimerKey {
        let p = current::with_current(|m| m.and_then(|m| m.p_id()));
        self.timers.add(deadline, waker, p)
    }

    /// Gives the timer `key` a new waker; true if it has already fired.
    pub(crate) fn update_timer(&self, key: TimerKey, waker: &Waker) -> bool {
        self.timers.update(key, waker)
    }

    /// Disarms the timer `key`; true if it had not fired.
    pub(crate) fn cancel_timer(&self, key: TimerKey) -> bool {
        self.timers.cancel(key)
    }

    /// Timers armed, and firings under way.
    #[cfg(test)]
    pub(crate) fn armed_timers(&self) -> usize {
        self.timers.armed()
    }

    /// The bubble this runtime runs, if it is a `synctest` one.
    pub(crate) fn bubble(&self) -> Option<&super::bubble::Bubble> {
        self.bubble.as_ref()
    }

    /// The time now by this runtime's clock: a bubble's virtual time, or
    /// the real clock's.
    pub(crate) fn now(&self) -> Instant {
        if self.timers.is_virtual() {
            self.timers.to_instant(self.timers.now())
        } else {
            Instant::now()
        }
    }

    /// True if `deadline` has passed by sysmon's coarse clock (no clock
    /// read; a deadline just past is left to the timers), or by a
    /// bubble's clock.
    pub(crate) fn is_past_coarse(&self, deadline: Instant) -> bool {
        if self.timers.is_virtual() {
            return self.timers.to_nanos(deadline) <= self.timers.now();
        }
        let coarse_now = self.clock.millis().saturating_mul(1_000_000);
        self.timers.to_nanos(deadline) <= coarse_now
    }

    /// The netpoller, where sockets register.
    pub(crate) fn netpoll(&self) -> &Arc<Netpoll> {
        &self.netpoll
    }

    /// Counts one event on the current P's counters when there is one
    /// (only its owner writes them), else on shared atomics.
    pub(crate) fn count(&self, which: Count) {
        let on_p = current::with_current(|cx| {
            let cx = cx.filter(|cx| std::ptr::eq(Arc::as_ptr(&cx.shared), self))?;
            let p = cx.current_p()?;
            // An RMW: during a poll, sysmon may have handed this P to
            // another M, which counts on it too.
            p.counts[which as usize].fetch_add(1, Relaxed);
            Some(())
        });
        if on_p.is_none() {
            self.counts_outside[which as usize].fetch_add(1, Relaxed);
        }
    }

    /// The sum of one counter over the Ps and the shared atomics.
    pub(crate) fn total(&self, which: Count) -> u64 {
        let i = which as usize;
        self.ps.iter().map(|p| p.counts[i].load(Relaxed)).sum::<u64>() + self.counts_outside[i].load(Relaxed)
    }

    /// Gs alive (spawned and not yet dropped), plus the mains that
    /// `block_on` polls on their own threads.
    pub(crate) fn goroutines(&self) -> usize {
        let alive = self.total(Count::Spawned).saturating_sub(self.total(Count::Exited));
        alive as usize + self.main_gs.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Goroutines alive that are not `block_on` mains.
    pub(crate) fn goroutines_besides_mains(&self) -> usize {
        self.total(Count::Spawned).saturating_sub(self.total(Count::Exited)) as usize
    }

    /// Gs waiting on a future gpm did not write (possible progress).
    pub(crate) fn foreign_waits(&self) -> u64 {
        self.total(Count::ForeignParked)
            .saturating_sub(self.total(Count::ForeignResumed))
    }

    /// Blocking-pool jobs, and polls whose P sysmon took, under way
    /// (possible progress).
    pub(crate) fn blocking_in_flight(&self) -> usize {
        self.retaken.load(SeqCst) + self.blocking.in_flight()
    }

    /// An M found its P taken by sysmon when its poll (or syscall) ended.
    pub(crate) fn lost_p(&self) {
        self.retaken.fetch_sub(1, SeqCst);
    }

    /// Threads this runtime owns: its Ms, sysmon, and the threads in
    /// `block_on`.
    pub(crate) fn own_threads(&self) -> usize {
        self.threads.load(SeqCst) + 1 + self.callers.load(SeqCst)
    }

    /// Starts the sysmon thread.
    pub(crate) fn start_sysmon(self: &Arc<Shared>) -> std::io::Result<()> {
        let shared = self.clone();
        let handle = thread::Builder::new()
            .name(format!("{}-sysmon", self.config.thread_name))
            .spawn(move || super::sysmon::run(shared))?;
        *self.sysmon.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(())
    }

    // ----- stats ------------------------------------------------------------

    /// `runtime::metrics()`: Go's metric names over `stats()` and the
    /// histograms.
    pub(crate) fn metrics(&self) -> super::metrics::Metrics {
        super::metrics::collect(&self.stats(), &self.histograms)
    }

    pub(crate) fn stats(&self) -> Stats {
        let lists = self.idle.lock();
        let idle_threads = lists.idle_ms();
        drop(lists);
        Stats {
            procs: self.procs(),
            local_queues: self
                .ps
                .iter()
                .map(|p| p.stealer.len() + p.yielded.load(Relaxed))
                .collect(),
            runnext: self.ps.iter().map(P::has_runnext).collect(),
            schedticks: self.ps.iter().map(|p| p.schedtick.load(Relaxed)).collect(),
            global_queue: self.global.len(),
            threads: self.threads.load(Relaxed),
            blocking_threads: self.blocking.threads(),
            idle_threads,
            spinning_threads: self.idle.nmspinning.load(Relaxed),
            need_spinning: self.idle.needspinning.load(Relaxed),
            timers: self.timers.armed(),
            net_sources: self.netpoll.registered(),
            io_waiting: self.netpoll.waiting(),
            idle_procs: self.idle.npidle.load(Relaxed),
            goroutines: self.goroutines(),
            steals: self.counters.steals.load(Relaxed),
            stolen: self.counters.stolen.load(Relaxed),
            runnext_steals: self.counters.runnext_steals.load(Relaxed),
            spills: self.counters.spills.load(Relaxed),
            parks: self.counters.parks.load(Relaxed),
            retakes: self.counters.retakes.load(Relaxed),
        }
    }
}

/// Prints a Go-style fatal error and exits with status 2.
pub(crate) fn fatal(message: &str) -> ! {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "fatal error: {message}");
    let _ = err.flush();
    std::process::exit(2);
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
