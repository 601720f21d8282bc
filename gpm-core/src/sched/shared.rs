//! The scheduler's shared state (Go's `sched` and `allp`) and the operations
//! every M uses on it: readying a G (`runqput` + `wakep`), starting Ms
//! (`startm`), handing Ps over (`handoffp`), spawning (`newproc`), shutdown.

use crate::runtime::{Stats, UnhandledPanic};
use crate::sched::current;
use crate::sched::g::{panic_message, GFuture, GInfo, G, MAIN_GOID};
use crate::sched::global::GlobalQueue;
use crate::sched::idle::Idle;
use crate::sched::m;
use crate::sched::p::{self, PLocal, Put, P};
use crate::sched::park::Parker;
use crate::sched::registry::Registry;
use crate::JoinError;
use async_task::ScheduleInfo;
use crossbeam_utils::CachePadded;
use std::any::Any;
use std::future::Future;
use std::io::Write;
use std::panic::Location;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};
use std::sync::{Arc, Mutex, Weak};
use std::thread;

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
    /// `GPM_DEBUG` (schedtrace).
    pub(crate) debug: crate::sched::trace::Debug,
    /// `GPM_SHAKE=1` in the environment: randomise where readied Gs go (a
    /// test aid, as Go's race detector randomises its scheduler).
    pub(crate) shake: bool,
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
    me: Weak<Shared>,
    /// The shared halves of the Ps (Go's `allp`), a cache line each.
    pub(crate) ps: Box<[P]>,
    /// The global run queue.
    pub(crate) global: GlobalQueue,
    /// Idle Ps and Ms, spinning count.
    pub(crate) idle: Idle,
    /// Every live G.
    pub(crate) registry: Registry,
    pub(crate) config: Config,
    pub(crate) counters: Counters,
    /// Steal orders: numbers coprime to GOMAXPROCS (Go's `randomOrder`).
    coprimes: Box<[usize]>,
    /// Next goroutine id.
    next_goid: AtomicU64,
    /// Threads alive that the runtime started: worker Ms and blocking-pool
    /// threads (`block_on` callers and sysmon are not counted). Checked
    /// against `max_threads` by whoever adds one.
    pub(crate) threads: AtomicUsize,
    /// The `spawn_blocking` pool.
    pub(crate) blocking: crate::sched::blocking::Pool,
    /// Main goroutines under way (one per `block_on`), until their future
    /// is done: deadlock detection needs one waiting.
    pub(crate) mains: AtomicUsize,
    /// Threads in `block_on` (they belong to the runtime while there).
    pub(crate) callers: AtomicUsize,
    /// [`Count`]s made where no P of this runtime was at hand (the per-P
    /// counts are in `P`).
    counts_outside: [AtomicU64; COUNTS],
    /// A coarse clock for G wait times.
    pub(crate) clock: crate::sched::clock::Clock,
    /// Every timer (a heap per P).
    pub(crate) timers: crate::sched::timers::Timers,
    /// The netpoller.
    pub(crate) netpoll: Arc<crate::sched::netpoll::Netpoll>,
    /// Notifies the netpoller: the hook of a parker whose M sleeps in it.
    pub(crate) netpoll_hook: crate::sched::park::Hook,
    /// Times an M acquired a P (deadlock detection: nothing ran meanwhile).
    pub(crate) acquisitions: AtomicU64,
    /// Every M alive (schedtrace's detail lines).
    pub(crate) ms: Mutex<Vec<Arc<crate::sched::trace::MInfo>>>,
    /// schedtrace and the SIGQUIT dump, printed by sysmon.
    pub(crate) tracer: crate::sched::trace::Tracer,
    /// Ms still in a poll whose P sysmon took (see `hold.rs`).
    pub(crate) retaken: AtomicUsize,
    /// Set once by `Runtime`'s drop.
    shutdown: AtomicBool,
    /// M thread starts left to fail on purpose (a hidden test aid).
    m_spawn_failures: AtomicUsize,
    /// An M could not be started (reported once).
    m_spawn_failed: AtomicBool,
    /// Worker threads to join at shutdown.
    workers: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Wakes sysmon for shutdown.
    pub(crate) sysmon_alarm: crate::sched::sysmon::Alarm,
    /// The sysmon thread, joined at shutdown.
    sysmon: Mutex<Option<thread::JoinHandle<()>>>,
    /// A detached G's panic under `UnhandledPanic::ShutdownRuntime`, waiting
    /// for `block_on` to re-raise it.
    pub(crate) panic: Mutex<Option<String>>,
    pub(crate) panicked: AtomicBool,
    /// Parkers of `block_on` Ms, to wake them for a panic or shutdown.
    pub(crate) main_parkers: Mutex<Vec<Arc<Parker>>>,
    /// The main Gs of the `block_on` calls under way (dumps, deadlock checks).
    pub(crate) main_gs: Mutex<Vec<Arc<crate::sched::g::MainG>>>,
    /// Goroutine 1 has been given to a `block_on` future.
    main_goid_taken: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        let procs = config.procs;
        let (ps, locals): (Vec<P>, Vec<PLocal>) = (0..procs).map(p::new).unzip();
        // Pop order of the idle list is LIFO: reverse so that P0 goes first.
        let locals: Vec<PLocal> = locals.into_iter().rev().collect();
        let coprimes = (1..=procs).filter(|&i| gcd(i, procs) == 1).collect();
        let clock = crate::sched::clock::Clock::new();
        let timers = crate::sched::timers::Timers::new(procs, clock.start());
        let netpoll = Arc::new(crate::sched::netpoll::Netpoll::new(clock.start()));
        let netpoll_hook: crate::sched::park::Hook = {
            let netpoll = netpoll.clone();
            Arc::new(move || netpoll.notify())
        };
        let blocking = crate::sched::blocking::Pool::new(&config);
        let tracer = crate::sched::trace::Tracer::new(config.debug);
        let m_spawn_failures = config.m_spawn_failures;
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
            sysmon_alarm: crate::sched::sysmon::Alarm::default(),
            sysmon: Mutex::new(None),
            panic: Mutex::new(None),
            panicked: AtomicBool::new(false),
            main_parkers: Mutex::new(Vec::new()),
            main_gs: Mutex::new(Vec::new()),
            main_goid_taken: AtomicBool::new(false),
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

    // ----- readying Gs ---------------------------------------------------

    /// Makes a G runnable from outside any P (Go's `injectglist`): the global
    /// queue, then `wakep`.
    pub(crate) fn inject(&self, g: G) {
        if self.is_shutdown() {
            // The runtime is gone: dropping the runnable drops the future.
            drop_at_shutdown(g);
            return;
        }
        g.metadata().make_runnable();
        self.global.push(g);
        self.wakep();
    }

    /// Makes `gs` runnable from outside any P, as one batch (Go's
    /// `injectglist` without a P): one lock of the global queue, then an M
    /// started for each G on an idle P, as far as there are idle Ps, except
    /// for `own` of them, which the calling M runs itself (it has just taken
    /// a P for them). With no M started and none running them, `wakep`
    /// leaves `needspinning` for the next M that would sleep.
    pub(crate) fn inject_batch(&self, gs: Vec<G>, own: usize) {
        if gs.is_empty() {
            return;
        }
        if self.is_shutdown() {
            gs.into_iter().for_each(drop_at_shutdown);
            return;
        }
        let n = gs.len();
        self.global
            .push_all(gs.into_iter().inspect(|g| g.metadata().make_runnable()));
        let wanted = n.saturating_sub(own);
        if wanted == 1 && own == 0 {
            self.wakep();
            return;
        }
        let mut started = 0;
        while started < wanted {
            let Some(p) = self.idle.lock().take_p(&self.ps) else {
                break;
            };
            self.start_m(p, false);
            started += 1;
        }
        if started == 0 && own == 0 {
            self.wakep();
        }
    }

    /// Polls the network from a thread without a P (the poller M, sysmon)
    /// and returns the goroutines it readied, not yet runnable: the caller
    /// injects them ([`Shared::inject_batch`]).
    pub(crate) fn collect_network(&self, timeout: Option<std::time::Duration>) -> Vec<G> {
        let me: *const Shared = self;
        let outer = BATCH.with(|b| {
            b.replace(Some(Batch {
                shared: me,
                gs: Vec::new(),
            }))
        });
        self.netpoll.poll(timeout);
        let batch = BATCH.with(|b| b.replace(outer));
        batch.map(|b| b.gs).unwrap_or_default()
    }

    /// Polls the network from a thread without a P and injects the
    /// goroutines it readied as one batch.
    pub(crate) fn poll_network(&self, timeout: Option<std::time::Duration>) {
        let gs = self.collect_network(timeout);
        self.inject_batch(gs, 0);
    }

    /// Go's `wakep`: if a P is idle and nobody is spinning, start a spinning
    /// M to look for the work just submitted.
    pub(crate) fn wakep(&self) {
        if let Some(p) = self.idle.wakep_claim(&self.ps) {
            self.start_m(p, true);
        }
    }

    /// Go's `startm`: gives P `p` to an idle M, or to a new one.
    pub(crate) fn start_m(&self, p: PLocal, spinning: bool) {
        let mut lists = self.idle.lock();
        if let Some(m) = lists.take_m() {
            // Handed under the idle lock, so a departing M cannot miss it.
            m.hand(p, spinning);
            return;
        }
        drop(lists);
        self.new_m(p, spinning);
    }

    /// Starts a new worker thread holding `p` (Go's `newm`).
    fn new_m(&self, p: PLocal, spinning: bool) {
        let threads = self.threads.fetch_add(1, SeqCst) + 1;
        if threads > self.config.max_threads {
            fatal(&format!(
                "thread exhaustion: the runtime needs more than max_threads = {} threads \
                 (raise it with Builder::max_threads)",
                self.config.max_threads
            ));
        }
        let shared = self.self_arc();
        let mut builder = thread::Builder::new().name(self.config.thread_name.clone());
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        // The P travels to the new thread in a slot it can be taken back
        // from if the thread does not start.
        let slot = Arc::new(Mutex::new(Some(p)));
        let handed = slot.clone();
        let spawned = if self
            .m_spawn_failures
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            Err(std::io::Error::other("injected failure to start an M (test aid)"))
        } else {
            builder.spawn(move || {
                // Only a failed start takes the P back, and then this never runs.
                let p = handed.lock().unwrap_or_else(|e| e.into_inner()).take();
                m::worker_main(shared, p.expect("a started M's P was taken back"), spinning);
            })
        };
        match spawned {
            Ok(handle) => self.workers.lock().unwrap_or_else(|e| e.into_inner()).push(handle),
            Err(e) => {
                // The OS refused (a pid or thread limit, memory): Go dies
                // here. gpm degrades instead: the P goes back to the idle
                // list, and the Ms that run carry its work when they can
                // (sysmon and the next `wakep` try again). The blocking pool
                // may have used up the room; its threads leave when idle.
                self.threads.fetch_sub(1, SeqCst);
                if spinning {
                    self.idle.nmspinning.fetch_sub(1, SeqCst);
                }
                if !self.m_spawn_failed.swap(true, Relaxed) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "gpm: failed to start a thread for a P ({e}; {} threads running); \
                         its goroutines wait for a running thread (this is reported once)",
                        threads - 1
                    );
                }
                let p = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(mut p) = p {
                    // An idle P must hold no work (thieves skip idle Ps):
                    // what is queued on it goes to the global queue, where
                    // running Ms and sysmon's retries find it.
                    let mut gs = std::mem::take(&mut p.yielded);
                    while let Some((g, _)) = p.get(&self.ps[p.id]) {
                        gs.push(g);
                    }
                    p.publish_yielded(&self.ps[p.id]);
                    self.global.push_all(gs);
                    self.idle.lock().put_p(&self.ps, p);
                }
            }
        }
    }

    /// Go's `handoffp`: the calling M gives up `p` (it is about to block or
    /// leave, or sysmon took the P from it). The P gets an M at once if it
    /// has work (queued Gs, due timers), if nobody at all is looking for
    /// work, or if sockets wait and nobody polls them; otherwise it goes
    /// idle, and an M is woken to sleep until the earliest timer if none
    /// does (Go's `wakeNetPoller(when)`).
    pub(crate) fn hand_off_p(&self, p: PLocal) {
        if self.is_shutdown() {
            self.idle.lock().put_p(&self.ps, p);
            return;
        }
        if self.has_work_for(&p) {
            self.start_m(p, false);
            return;
        }
        // The last running P, sockets waiting and no M in the poller: with
        // every P idle nobody would poll them. This P's M will (it finds
        // nothing, releases the P and blocks in the poller). Go's rule.
        if self.netpoll.waiting() > 0 && !self.netpoll.is_blocked() && self.idle.npidle.load(SeqCst) + 1 == self.procs()
        {
            self.start_m(p, false);
            return;
        }
        let idle = &self.idle;
        if idle.nmspinning.load(SeqCst) + idle.npidle.load(SeqCst) == 0
            && idle.nmspinning.compare_exchange(0, 1, SeqCst, SeqCst).is_ok()
        {
            idle.needspinning.store(false, SeqCst);
            self.start_m(p, true);
            return;
        }
        self.put_idle_p(p);
    }

    /// A `block_on` thread gives back the P it held for one poll of its
    /// main: an M takes it if it has work, else it goes idle. (Not
    /// `hand_off_p`: the thread is not about to block, and an idle P is
    /// enough for whoever submits work next.)
    pub(crate) fn give_back_p(&self, p: PLocal) {
        if !self.is_shutdown() && self.has_work_for(&p) {
            self.start_m(p, false);
        } else {
            self.put_idle_p(p);
        }
    }

    /// Work for P `p`: Gs queued on it or in the global queue, due timers.
    fn has_work_for(&self, p: &PLocal) -> bool {
        let timers = &self.timers;
        self.ps[p.id].has_work()
            || !p.yielded.is_empty()
            || !self.global.is_empty()
            || (timers.armed() > 0 && timers.any_due(timers.now()))
    }

    /// Puts `p` on the idle list (unless the global queue got work), and
    /// makes sure an M will fire the timers (Go's `wakeNetPoller(when)`).
    fn put_idle_p(&self, p: PLocal) {
        let mut lists = self.idle.lock();
        if !self.is_shutdown() && !self.global.is_empty() {
            drop(lists);
            self.start_m(p, false);
            return;
        }
        lists.put_p(&self.ps, p);
        drop(lists);
        let timers = &self.timers;
        if !self.is_shutdown() && timers.armed() > 0 && !timers.has_sleeper() {
            // Somebody must fire the timers: a spinning M on the P just
            // released finds nothing and sleeps until the earliest one.
            self.wakep();
        }
    }

    /// The `Arc` that owns this `Shared` (every `Shared` lives in one).
    fn self_arc(&self) -> Arc<Shared> {
        self.me
            .upgrade()
            .expect("gpm runtime state used after its runtime was dropped")
    }

    // ----- spawning ------------------------------------------------------

    /// Go's `newproc`: creates a G for `future` and makes it runnable. From
    /// a G of this runtime it goes to the current P's runnext; from anywhere
    /// else to the global queue.
    pub(crate) fn spawn<F>(
        self: &Arc<Shared>,
        future: F,
        location: &'static Location<'static>,
        detached: bool,
    ) -> async_task::Task<Result<F::Output, JoinError>, GInfo>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_as(future, GInfo::new(self.clone(), self.next_goid(), location, detached))
    }

    /// [`Shared::spawn`] of goroutine 1: a `Send` main (`block_on_send`).
    pub(crate) fn spawn_with_goid<F>(
        self: &Arc<Shared>,
        future: F,
        location: &'static Location<'static>,
        goid: u64,
    ) -> async_task::Task<Result<F::Output, JoinError>, GInfo>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_as(future, GInfo::main(self.clone(), goid, location))
    }

    fn spawn_as<F>(self: &Arc<Shared>, future: F, info: GInfo) -> async_task::Task<Result<F::Output, JoinError>, GInfo>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (g, task) = async_task::Builder::new().metadata(info).spawn(
            // SAFETY: `info` is the metadata of the task being built, which
            // outlives its future.
            |info: &GInfo| unsafe { GFuture::new(info, future) },
            async_task::WithInfo(schedule),
        );
        self.count(Count::Spawned);
        // Go's `newproc` always calls `wakep`: a new G is new work, and the
        // spawner often goes on running (or blocks its thread, as tokio's
        // benchmarks do inside `block_on`), so another M should look.
        // `schedule` calls it once, even for a G put in an empty runnext
        // (which it skips for a wake, where the waker usually parks next).
        let previous = current::with_current(|cx| cx.map(|cx| cx.spawning.replace(true)));
        g.schedule();
        if let Some(previous) = previous {
            current::with_current(|cx| cx.map(|cx| cx.spawning.set(previous)));
        }
        task
    }

    /// Counts one event on the current P's counters when there is one
    /// (only its owner writes them), else on shared atomics.
    pub(crate) fn count(&self, which: Count) {
        let on_p = current::with_current(|cx| {
            let cx = cx.filter(|cx| std::ptr::eq(Arc::as_ptr(&cx.shared), self))?;
            let id = cx.p_id()?;
            // An RMW: during a poll, sysmon may have handed this P to
            // another M, which counts on it too.
            self.ps[id].counts[which as usize].fetch_add(1, Relaxed);
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
            .spawn(move || crate::sched::sysmon::run(shared))?;
        *self.sysmon.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(())
    }

    // ----- shutdown --------------------------------------------------------

    /// Stops every M, then drops every G: queued ones first, then parked ones
    /// (each is woken, and the schedule function drops it).
    pub(crate) fn shutdown(&self) {
        self.shutdown_within(None);
    }

    /// [`Shared::shutdown`], waiting for the Ms until `deadline` at most
    /// (`None`: as long as they take). An M still in a poll then is left
    /// to finish it and exit on its own; everything else is dropped all the
    /// same (a G being polled is dropped by its M when the poll returns).
    pub(crate) fn shutdown_within(&self, deadline: Option<std::time::Instant>) {
        if self.shutdown.swap(true, SeqCst) {
            return;
        }
        // Waits for `thread` until the deadline; false if it still runs.
        let join = |thread: thread::JoinHandle<()>| -> bool {
            if thread.thread().id() == thread::current().id() {
                // A runtime dropped from one of its own threads cannot wait
                // for itself.
                return true;
            }
            if let Some(deadline) = deadline {
                while !thread.is_finished() {
                    if std::time::Instant::now() >= deadline {
                        return false; // detached: it exits on its own
                    }
                    thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            let _ = thread.join();
            true
        };
        // Queued blocking jobs are dropped; running ones are not waited for.
        self.blocking.shutdown();
        self.sysmon_alarm.stop();
        if let Some(sysmon) = self.sysmon.lock().unwrap_or_else(|e| e.into_inner()).take() {
            join(sysmon);
        }
        for parker in self.idle.lock().all_parkers() {
            parker.shutdown();
        }
        for parker in self.main_parkers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            parker.shutdown();
        }
        // Ms may be started while we join; they see `shutdown`.
        loop {
            let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
            if workers.is_empty() {
                break;
            }
            for worker in workers {
                join(worker);
            }
        }
        self.drain();
    }

    /// Drops every queued G, then every parked one.
    fn drain(&self) {
        self.timers.clear();
        let idle_ps = self.idle.lock().drain_ps();
        drop(idle_ps); // a ring drops what it holds
        for p in self.ps.iter() {
            drop(p.take_runnext());
        }
        drop(self.global.drain());
        // Parked Gs: wake each; `schedule` sees `shutdown` and drops it.
        // Dropping one G's future may wake another: repeat until none is left.
        loop {
            let wakers = self.registry.all_wakers();
            if wakers.is_empty() {
                break;
            }
            let before = self.registry.len();
            for waker in wakers {
                waker.wake();
            }
            drop(self.global.drain());
            if self.registry.len() >= before {
                // Those left are running on threads we could not join (a
                // runtime dropped from its own G); they go when they finish.
                break;
            }
        }
    }

    // ----- panics -----------------------------------------------------------

    /// A detached G panicked. Returns the payload if the runtime carries on.
    pub(crate) fn unhandled_panic(&self, info: &GInfo, payload: Box<dyn Any + Send>) -> Box<dyn Any + Send> {
        let message = panic_message(payload.as_ref()).to_owned();
        match self.config.unhandled_panic {
            UnhandledPanic::Ignore => payload,
            UnhandledPanic::ExitProcess => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "panic: {message}\n\ngoroutine {} [running]:\n{}\n",
                    info.goid, info.location
                );
                let _ = err.flush();
                let _ = std::io::stdout().flush();
                std::process::exit(2);
            }
            UnhandledPanic::ShutdownRuntime => {
                let text = format!(
                    "goroutine {} (started at {}) panicked: {message}",
                    info.goid, info.location
                );
                let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    *slot = Some(text);
                }
                drop(slot);
                self.panicked.store(true, Release);
                for parker in self.main_parkers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    parker.notify();
                }
                payload
            }
        }
    }

    // ----- stats ------------------------------------------------------------

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

thread_local! {
    /// Gs woken while this thread drops Gs at shutdown: dropped by the
    /// outermost [`drop_at_shutdown`] of the thread, one after the other.
    static DROPPING: std::cell::RefCell<Option<Vec<G>>> = const { std::cell::RefCell::new(None) };
}

/// Drops `g` after shutdown (its future with it) without recursing.
/// Dropping a future may wake another goroutine (a Mutex waiter passes the
/// lock on), whose schedule function comes back here: inline, each drop
/// would nest in the last, and 10 000 waiters on one lock overflowed a
/// 2 MiB stack. Nested calls queue the G instead, and the outermost call
/// drops the queue in a loop.
fn drop_at_shutdown(g: G) {
    let nested = DROPPING.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => match d.as_mut() {
            Some(queue) => {
                queue.push(g);
                None
            }
            None => {
                *d = Some(Vec::new());
                Some(g)
            }
        },
        // Not reachable (the borrow is never held across a drop), but a
        // plain drop is the safe answer.
        Err(_) => Some(g),
    });
    let Some(g) = nested else {
        return;
    };
    // Ends the outermost call even if a destructor unwinds; the Gs still
    // queued then are dropped with the queue.
    struct Outermost;
    impl Drop for Outermost {
        fn drop(&mut self) {
            let rest = DROPPING.with(|d| d.borrow_mut().take());
            drop(rest);
        }
    }
    let _outermost = Outermost;
    let mut next = Some(g);
    while let Some(g) = next {
        drop(g);
        next = DROPPING.with(|d| d.borrow_mut().as_mut().and_then(Vec::pop));
    }
}

/// Goroutines readied during a [`Shared::poll_network`] on this thread,
/// injected together when it ends.
struct Batch {
    shared: *const Shared,
    gs: Vec<G>,
}

thread_local! {
    static BATCH: std::cell::RefCell<Option<Batch>> = const { std::cell::RefCell::new(None) };
}

/// Adds `g` to this thread's batch if one is open for `g`'s runtime; gives
/// it back otherwise.
fn batch(g: G) -> Option<G> {
    BATCH.with(|b| {
        let Ok(mut b) = b.try_borrow_mut() else {
            return Some(g);
        };
        match b.as_mut() {
            Some(batch) if std::ptr::eq(batch.shared, Arc::as_ptr(&g.metadata().shared)) => {
                batch.gs.push(g);
                None
            }
            _ => Some(g),
        }
    })
}

/// The schedule function of every G: called when a G is woken (and once at
/// spawn). Go's `ready` / `runqput(next)` + `wakep`.
///
/// - On an M of the G's runtime that holds a P: a G woken while it was
///   running (it woke itself) goes to the ring's tail, or to the global
///   queue if it called `yield_now`; any other G goes to runnext.
/// - Anywhere else (a std thread, another runtime, an M without a P): the
///   global queue.
fn schedule(g: G, info: ScheduleInfo) {
    let done = current::with_current(|cx| {
        let Some(cx) = cx.filter(|cx| std::ptr::eq(Arc::as_ptr(&cx.shared), Arc::as_ptr(&g.metadata().shared))) else {
            return Some(g);
        };
        let shared = &*cx.shared;
        if shared.is_shutdown() {
            return Some(g);
        }
        let mut g = Some(g);
        let put = cx.with_p(|p| {
            let g = g.take().expect("schedule ran twice");
            put_local(cx, p, g, &info)
        });
        if g.is_some() {
            // No P here (or it is in use further up this stack).
            return g;
        }
        // A G that went into an empty runnext is nothing new for other Ms:
        // this M runs it as soon as the current poll returns. Waking an M
        // for it (Go's `wakep` on every `ready`) costs a futex wake per
        // message in a ping-pong, and the woken M finds nothing to steal.
        // If the poll does not return soon (it blocks its thread), sysmon
        // calls `wakep` within a tick or two, and that M steals runnext.
        if put != Some(Put::RunNext) || cx.spawning.get() {
            shared.wakep();
        }
        None
    });
    if let Some(g) = done.and_then(batch) {
        let shared = g.metadata().shared.clone();
        shared.inject(g);
    }
}

/// The local half of `schedule`: puts `g` on P `p` of the current M.
fn put_local(cx: &crate::sched::current::MContext, p: &mut PLocal, g: G, info: &ScheduleInfo) -> Put {
    let shared = &*cx.shared;
    {
        g.metadata().make_runnable();
        if info.woken_while_running && cx.yield_requested.replace(false) {
            // Go's `Gosched`: the global queue's tail (see `global.rs`). With
            // that queue empty, the tail of this P's ring is the same place
            // in the order, and no lock. Otherwise this P's list stands for
            // the tail until it next looks at the queue, or until its M,
            // before its next poll, sees a P idle or an M spinning
            // (`m::flush_yielded`).
            if p.yielded.is_empty() && shared.global.is_empty() {
                if p.ring.push_back(g, &shared.global) {
                    shared.counters.spills.fetch_add(1, Relaxed);
                }
            } else {
                p.yielded.push(g);
                p.publish_yielded(&shared.ps[p.id]);
            }
            Put::Queued
        } else {
            // Under `GPM_SHAKE=1`, skip runnext at random: code that relies
            // on a readied G running next (it may not: thieves take runnext
            // too) fails the test suite instead of production.
            let shaken = shared.config.shake && cx.random() & 1 == 0;
            let next = !(info.woken_while_running || shaken);
            let put = p.put(&shared.ps[p.id], g, next, &shared.global);
            if put == Put::Spilled {
                shared.counters.spills.fetch_add(1, Relaxed);
            }
            put
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
