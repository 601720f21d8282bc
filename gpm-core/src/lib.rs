//! # gpm-core: Go's GPM scheduler for Rust futures
//!
//! The runtime behind the `gpm` crate. Most users want `gpm` itself; this
//! crate holds the machinery, one idea per file, the engine in one folder
//! and the controls around it:
//!
//! | folder or file | Go's name | what it is |
//! | --- | --- | --- |
//! | `sched/` | `runtime/proc.go` and friends | the scheduler: G, M, P, the run queues, sysmon, the timer heaps, the netpoller, the blocking pool. Its `mod.rs` is the map: each file, the path of a G from spawn to exit, and the interface the rest of the crate uses |
//! | `task.rs` | `go`, `runtime.Gosched`, `entersyscall` | [`spawn`], [`spawn_blocking`], [`yield_now`], [`syscall`]; [`JoinHandle`] and [`JoinError`] come from `sched/join.rs` |
//! | [`runtime`] | `GOMAXPROCS`, `runtime.NumGoroutine` | `Builder`, `Runtime`, `Handle`, `stats()`, `dump()`, GOMAXPROCS from the environment and cgroups |
//! | [`coop`] | (preemption) | the per-poll budget that leaf operations spend; where a flagged G yields |
//! | [`chan`] | `hchan`, `sudog`, `selectgo` | channels and `select!` |
//! | [`sync`] | `sync`, `sema.go` | Mutex (with starvation mode), RwLock, WaitGroup, Once, Semaphore |
//! | [`time`] | `time` | `sleep`, `timeout`, `after`, `Ticker` |
//! | [`context`] | `context` | cancellation trees, deadlines |
//! | [`synctest`] | `testing/synctest` | tests in a bubble: virtual time, `wait`, deadlocks reported with the goroutine dump |
//! | [`net`] | `net` | TCP, UDP and Unix sockets on the netpoller, with futures-io traits, stream halves and deadlines |
//! | `os/` | `os`, `os/exec`, `os/signal` | [`io`] (stdin, stdout, stderr), [`process`] (`Command`), [`signal`] (`notify`), [`fs`] (files); its `mod.rs` says where each one's work runs |
//!
//! The public modules use the scheduler only through the interface that
//! `sched/mod.rs` lists (park with a wait reason, arm a timer, register a
//! socket, spawn, ...); the scheduler imports nothing from them.
//!
//! The rules and numbers are Go's (see DESIGN.md in the project): a G
//! readied by a running G goes to runnext; a full ring moves 128 + 1 Gs to
//! the global queue; thieves take half, rounded up, in 4 random-order
//! rounds, touching runnext only in the last; every 61st schedtick the
//! global queue goes first; at most half the busy Ps' Ms spin.
//!
//! # Where gpm departs from Go, and why
//! - **The ring claims before it copies.** Go's thief copies half a ring
//!   and then CASes the head; in Rust that reads slots the owner may be
//!   writing. gpm uses tokio's two-index head (`steal`, `real`): a thief
//!   claims, copies, then releases, and the owner treats claimed slots as
//!   full.
//! - **The runnext pause spins.** A thief waits ~3 µs before taking a
//!   running victim's runnext, spinning (a 3 µs sleep takes ~60 µs on
//!   Linux), and takes it only if it still holds the G it saw (Go's CAS).
//! - **`yield_now` batches its trip to the global queue.** Go's `Gosched`
//!   takes the queue's lock for every yield. With the queue empty, gpm
//!   puts the G at its P's ring tail (the same place in the order, no
//!   lock); otherwise in a list on its P, appended to the queue in order
//!   when the P next looks at it, or before its M's next poll once a P is
//!   idle or an M spins. The list's length is published on the P: sysmon
//!   hands the P over if its thread blocks with Gs in it, and `stats()`
//!   counts them. (A lock per yield made `yield_many` 2.8x slower.)
//! - **A non-`Send` main is alone on its thread.** Go's main is an
//!   ordinary goroutine; so is a `Send` main here (`block_on_send`, which
//!   `#[gpm::main]` picks when it can). A `block_on` future need not be
//!   `Send`, so it cannot move: its thread polls it and nothing else (Go's
//!   `LockOSThread` rule), so that no goroutine can block the thread main
//!   needs. It borrows an idle P for each poll when one is free, and never
//!   waits for one.
//! - **Gs are listed when they first park.** Go keeps every G in `allgs`;
//!   gpm lists a G (for shutdown and `abort`) the first time it waits, since
//!   until then it is in a run queue or running. Listing every G at spawn
//!   cost a third of a spawn-heavy benchmark.
//! - **A wake into an empty runnext does not `wakep`.** Go calls `wakep`
//!   on every `ready`; in a ping-pong that is a futex wake per message for
//!   an M that finds nothing to steal. gpm skips it when the readied G went
//!   into an empty runnext (the readying G usually parks next, and this M
//!   runs it), and sysmon calls `wakep` when the same poll is still running
//!   at its next look, so a G readied by a poll that then blocks its thread
//!   is stolen within a tick or two. A spawn always calls `wakep`, as Go's
//!   `newproc` does.
//! - **A thief takes runnext only from a victim stuck in one poll.** Go
//!   takes it if the same G is there after the 3 µs pause; in a ping-pong
//!   the same G is back there a few hops later (an ABA), and the thief
//!   splits a pair that was doing fine on one P. gpm also checks that the
//!   victim started no poll during the pause.
//! - **A P is up for grabs during every poll, not only in syscalls.** Go
//!   preempts a goroutine that runs too long with a signal; a poll cannot
//!   be interrupted, so gpm does the next best thing: the M parks its P in
//!   a hold for the length of each poll (one store before, one CAS after),
//!   and sysmon hands the P to another M when a poll has lasted a time
//!   slice (10 ms) with work queued behind it (goroutines, or timers
//!   overdue). The stuck poll goes on without a P until its next leaf
//!   operation, where it yields; the goroutines behind it run elsewhere.
//!   What it cannot do is stop the stuck poll: a CPU loop keeps its thread
//!   busy until it reaches a leaf operation or returns.
//! - **sysmon fires overdue timers.** Go's sysmon starts an M for timers
//!   nobody fires and preempts by signal the goroutine whose P it needs;
//!   gpm's fires timers overdue by a millisecond itself (a main on its own
//!   thread needs no P to run), and the goroutines they wake are work for
//!   which a stuck P is handed over.
//! - **Deadlock detection counts threads.** Go knows every thread that
//!   could wake a goroutine; gpm cannot see a plain thread holding a
//!   channel. sysmon reports "all goroutines are asleep" only when two
//!   looks agree, every goroutine waits on a gpm primitive, no timer,
//!   blocking job or stuck poll is pending, and the process has no thread
//!   but the runtime's own (`/proc/self/task`; elsewhere it stays silent).
//! - **Timers keep a rising queue beside the heap.** Timers set with the
//!   same timeout arrive in deadline order; they are appended to a queue in
//!   O(1) instead of sifted into the heap (whose parent nodes are cache
//!   misses when a million timers wait).

#![warn(clippy::undocumented_unsafe_blocks)]

pub mod chan;
pub mod context;
pub mod coop;
pub mod net;
mod os;
pub mod runtime;
mod sched;
pub mod sync;
pub mod synctest;
mod task;
pub mod time;

pub use os::{fs, process, signal, stdio as io};
pub use sched::{JoinError, JoinHandle};
pub use task::{spawn, spawn_blocking, syscall, yield_now, YieldNow};
