//! The scheduler: Go's G, M and P, the run queues, sysmon, the timer heaps,
//! the netpoller and the blocking pool. Everything else in the crate (the
//! runtime's handles, channels, sync, time, context, net, coop) is built on
//! the interface at the bottom of this file and reaches no further in.
//!
//! # The parts
//!
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | **goroutines** | | |
//! | `g.rs` | `g`, `_Grunnable`... | a G: an `async_task` task whose metadata (`GInfo`, 24 bytes) holds its id, state and spawn site; the future wrapper that catches panics, and finds its `GInfo` through the thread-local `G` sets |
//! | `site.rs` | | spawn sites (`Location`s) interned to 16-bit ids, for `GInfo` |
//! | `join.rs` | | `JoinHandle` and `JoinError`: a G's result |
//! | `wait.rs` | `gopark`, `waitReason` | why a G waits, set by the leaf future that returns `Pending` |
//! | `registry.rs` | `allgs` | every G that has waited (its waker, 16 bytes), for shutdown, `abort` and dumps |
//! | `clock.rs` | `waitsince` | a coarse clock for how long a G has waited |
//! | **threads and processors** | | |
//! | `m.rs` | `m`, `schedule`, `findRunnable`, `stopm` | an M: a worker thread's loop, where it looks for work, how it sleeps |
//! | `block_on.rs` | `m0`, `main` | `block_on`'s main: polled on its own thread (Go's `LockOSThread`), or goroutine 1 |
//! | `current.rs` | `getg().m` | the M running on this thread, and its P |
//! | `p.rs` | `p`, `runqput`, `runqget` | a P: runnext, its ring, schedtick, per-P counters and timers' slot |
//! | `ring.rs` | `runq`, `runqsteal` | the 256-slot lock-free ring: owner (`Local`) and thief (`Steal`) halves |
//! | `global.rs` | `sched.runq`, `globrunqget` | the global run queue |
//! | `idle.rs` | `pidle`, `midle`, `nmspinning` | idle Ps and Ms, spinning Ms, the no-lost-wakeup protocol |
//! | `park.rs` | `notesleep`, `notewakeup` | where an M sleeps, and what wakes it |
//! | `hold.rs` | `_Psyscall`, `retake` | where a P waits while its M polls a G, so that sysmon can take it |
//! | **the scheduler's state and operations** | | |
//! | `shared.rs` | `sched`, `allp` | one runtime's shared state, its counters and `stats()` |
//! | `ready.rs` | `ready`, `newproc`, `injectglist` | the schedule function of every G; spawning; injecting from outside a P |
//! | `handoff.rs` | `wakep`, `startm`, `newm`, `handoffp` | starting Ms and handing Ps over |
//! | `shake.rs` | (race mode's `randomizeScheduler`) | `GPM_SHAKE=<seed>`: the random choices of a shaken scheduler, replayable from the seed |
//! | `shutdown.rs` | `fatalpanic` | shutdown (drop every G, without recursing) and `UnhandledPanic` |
//! | `preempt.rs` | `preemptone`, `Gosched` | the per-poll budget, the end-of-slice flag, yield requests |
//! | `syscall.rs` | `entersyscall`, `exitsyscall` | a blocking call inline, with the P up for grabs |
//! | `sysmon.rs` | `sysmon`, `retake` | the monitor thread: time slices, retakes, overdue timers, checkdead, schedtrace |
//! | `checkdead.rs` | `checkdead` | "all goroutines are asleep - deadlock!" |
//! | `bubble.rs` | `synctestBubble` | a `synctest` bubble: when its virtual clock moves, `wait`, its deadlocks |
//! | **waiting on the world** | | |
//! | `timers.rs` | `p.timers`, `checkTimers` | a timer heap per P, fired by the Ms; the M that sleeps until the next one |
//! | `netpoll.rs` | `netpoll`, `pollDesc` | socket readiness on `mio` (edge-triggered); the poller M |
//! | `blocking.rs` | | the `spawn_blocking` pool: threads without Ps, capped, with a keep-alive |
//! | `sudog.rs` | `sudog`, `acquireSudog` | a G's entry in a channel's wait queue: in the send or receive future, or pooled per M for `select!` |
//! | **seeing it work** | | |
//! | `stats.rs` | | `Stats`, the snapshot `runtime::stats()` returns |
//! | `trace.rs` | `schedtrace` | `GPM_DEBUG=schedtrace` and the SIGQUIT dump |
//! | `dump.rs` | `tracebackothers` | the goroutine dump: every G, its state and where it started |
//! | `exectrace/` | `runtime/trace` | the execution trace: per-M event buffers, written as Perfetto / Chrome JSON |
//! | `metrics.rs` | `runtime/metrics` | `Metrics`: Go's metric names, the latency and poll-time histograms |
//! | `loom.rs`, `loom_tests.rs` | | the sync primitives the models swap for loom's; the models |
//!
//! # The path of a G
//!
//! 1. **Spawn** (`ready.rs`, Go's `newproc`). `Shared::spawn` builds the
//!    task with `GInfo` (its id and spawn site) and schedules it once: on an
//!    M of this runtime it goes to the current P's runnext (the G there
//!    moves to the ring's tail; a full ring spills half and the new G to the
//!    global queue, `p.rs` / `ring.rs`); anywhere else to the global queue
//!    (`global.rs`). A spawn calls `wakep` (`handoff.rs`): if a P is idle
//!    and no M spins, an M is started or woken (`idle.rs`, `park.rs`).
//! 2. **Found** (`m.rs`, Go's `findRunnable`). An M with a P takes runnext,
//!    then its ring, the global queue every 61st tick and when the ring is
//!    empty, then the netpoller's ready Gs, then steals half of another P's
//!    ring (`ring.rs`, in a random order). With nothing found it spins a
//!    while, gives its P back and sleeps (`idle.rs` has the protocol that
//!    loses no wakeup).
//! 3. **Polled** (`m.rs`, `hold.rs`, `preempt.rs`). The M parks its P in a
//!    hold for the length of the poll, with a budget of 128 leaf operations.
//!    sysmon (`sysmon.rs`) flags a P whose Gs have run 10 ms; the G's next
//!    leaf operation sees the flag (or the spent budget) and yields. A poll
//!    stuck in a `syscall` (`syscall.rs`) or a long loop has its P taken
//!    from the hold and handed to another M (`handoff.rs`).
//! 4. **Waits** (`wait.rs`, `registry.rs`). A leaf future that returns
//!    `Pending` names its wait reason (`park`) and leaves a waker: in a
//!    channel's queue (a sudog, `sudog.rs`), a timer heap (`timers.rs`), the
//!    netpoller (`netpoll.rs`), or a sync primitive's queue. The G is listed
//!    in the registry the first time it waits.
//! 5. **Readied** (`ready.rs`, Go's `ready`). The waker calls the schedule
//!    function: on an M of the runtime with a P, the readied G goes to
//!    runnext (a G that woke itself to the ring's tail, a yield to the
//!    global queue); from elsewhere (a timer fired by sysmon, a plain
//!    thread, the poller M) to the global queue, in batches.
//! 6. **Exits** (`g.rs`, `join.rs`). The G's future returns (or panics: the
//!    panic is caught, and `JoinHandle` or the `UnhandledPanic` rule gets
//!    it, `shutdown.rs`); the task drops its future and wakes the
//!    `JoinHandle`. At shutdown every queued and parked G is dropped.
//!
//! # The interface
//!
//! The `pub(crate)` items re-exported below are all the rest of the crate
//! uses. The modules are private; `Shared`'s fields are private to this
//! folder, and its `pub(crate)` methods are the operations a handle may
//! ask for.

mod block_on;
mod blocking;
mod bubble;
mod checkdead;
mod clock;
mod current;
mod dump;
mod exectrace;
mod g;
mod global;
mod handoff;
mod hold;
mod idle;
mod join;
mod loom;
mod m;
mod metrics;
mod netpoll;
mod p;
mod park;
mod preempt;
mod ready;
mod registry;
mod ring;
mod shake;
mod shared;
mod shutdown;
mod site;
mod stats;
/// Channel waiters: the channels (`crate::chan`) queue, complete and pool
/// these.
pub(crate) mod sudog;
mod syscall;
mod sysmon;
mod timers;
mod trace;
mod wait;

#[cfg(all(test, loom))]
mod loom_tests;

// ----- the interface ---------------------------------------------------------

// A runtime: built by `runtime::Builder`, held by `Handle`s, timers and
// contexts; its methods spawn, report, shut down, and arm timers.
pub(crate) use shared::{Config, Shared};
// The public types that the scheduler defines (re-exported by the crate's
// root and `runtime`).
pub use join::{JoinError, JoinHandle};
pub use metrics::{Histogram, Metrics, Sample, Value as MetricValue};
pub use shutdown::UnhandledPanic;
pub use stats::Stats;
// Where the caller runs.
pub(crate) use current::{current_shared, in_runtime, now};
// What a leaf future does before it returns `Pending` (Go's `gopark`).
pub(crate) use wait::{park, WaitReason};
// Cooperation: the budget (`coop`), `yield_now`, `syscall`.
pub(crate) use preempt::{proceed, request_yield, set_budget, BUDGET, UNCONSTRAINED};
pub(crate) use syscall::syscall;
// Timers and sockets.
pub(crate) use netpoll::{Direction, Netpoll, PollDesc};
pub(crate) use timers::TimerKey;
// `synctest`: a bubble, and Go's messages for its deadlocks.
pub(crate) use bubble::{check_bubble, current_bubble, DEADLOCK, DEADLOCK_AFTER_ROOT};
// `GPM_SHAKE`: the seed, `select!`'s shuffle, the seed printed on a panic.
pub(crate) use shake::{from_env as shake_from_env, shuffle, ReportOnPanic};
// Running a main future, and blocking jobs.
pub(crate) use block_on::{run_main, run_main_g};
pub(crate) use blocking::{
    spawn as spawn_blocking, DEFAULT_KEEP_ALIVE as DEFAULT_BLOCKING_KEEP_ALIVE,
    DEFAULT_MAX_THREADS as DEFAULT_MAX_BLOCKING_THREADS,
};
// `runtime::trace`: the execution tracer.
pub(crate) use exectrace::{
    begin_region as trace_begin_region, begin_task as trace_begin_task, end_region as trace_end_region,
    end_task as trace_end_task, on as trace_on, start as trace_start, stop as trace_stop,
};
// `Builder::build`: `GPM_DEBUG` and the SIGQUIT dump.
pub(crate) use trace::{install_sigquit, Debug};
