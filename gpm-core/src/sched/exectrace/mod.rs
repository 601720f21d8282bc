//! The execution tracer (Go's `runtime/trace`): scheduler events recorded
//! per M, written as Chrome / Perfetto trace-event JSON.
//!
//! # The parts
//!
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | `mod.rs` | `traceEnabled`, `traceEvent` | the hooks the scheduler calls: one relaxed load when off |
//! | `event.rs` | `tracev2.EventType` | the fixed-size event and its codes |
//! | `buffer.rs` | `traceBuf`, `trace.full` | per-thread buffers, generations, collection at stop |
//! | `json.rs` | `go tool trace` | the trace-event JSON: P and M tracks, slices, flows |
//! | `control.rs` | `trace.Start`, `trace.Stop` | starting, stopping, `GPM_TRACE`, user regions and tasks |
//!
//! # Cost when off
//!
//! Each hook below is an `#[inline(always)]` function that loads one
//! global `AtomicBool` ([`ON`], relaxed) and calls its `#[cold]`,
//! `#[inline(never)]` recorder only when it is set. The arguments a hook
//! takes are values its caller already has, so that nothing is computed
//! for a trace that is not recording.
//!
//! # Cost when on
//!
//! A recorder reads the clock (`Instant::now`, a vDSO call), looks up the
//! thread's buffer and P, and writes 40 bytes; no lock but once per 1024
//! events (see `buffer.rs`). BENCHMARKS.md has the measured cost.

mod buffer;
mod control;
mod event;
mod json;

pub(crate) use control::{begin_region, begin_task, end_region, end_task, start, start_from_env, stop};
use event::{Event, Kind, Source, Stop, SyscallExit};

use super::current;
use super::g::{GInfo, GState, MainG};
use super::wait::WaitReason;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

/// True while a trace records. Set by `start`, cleared by `stop`.
pub(super) static ON: AtomicBool = AtomicBool::new(false);

/// The instant event times count from (set once per process).
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Is a trace recording? One relaxed load: a hook that sees it late records
/// an event more or less, which is all a trace's edges are.
#[inline(always)]
pub(crate) fn on() -> bool {
    ON.load(Relaxed)
}

/// Nanoseconds since [`EPOCH`].
fn now() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Records an event of this thread, with `p` or, for `None`, the P this
/// thread's M holds or polls with.
fn record(kind: Kind, p: Option<usize>, a: u64, b: u64, c: u64) {
    let p = p.or_else(|| current::with_current(|m| m.and_then(|m| m.p_id())));
    buffer::push(Event {
        ts: now(),
        kind,
        p: p.map_or(-1, |p| p as i32),
        a,
        b,
        c,
    });
}

// ----- the hooks ---------------------------------------------------------
//
// Each pairs an inline check with a cold recorder, named alike.

/// A G's poll begins (`GFuture::poll`).
#[inline(always)]
pub(crate) fn go_start(info: &GInfo) {
    if on() {
        go_start_cold(info);
    }
}

#[cold]
#[inline(never)]
fn go_start_cold(info: &GInfo) {
    record(Kind::GoStart, None, info.goid(), u64::from(info.site_id()), 0);
}

/// A G's poll returned `Ready` (or panicked, or was aborted).
#[inline(always)]
pub(crate) fn go_finish(info: &GInfo) {
    if on() {
        go_stop_cold(info, Stop::Finished, WaitReason::Foreign);
    }
}

/// A G's poll returned `Pending`: it yielded (at its slice's end if
/// `slice_ended`), or waits for `reason`.
#[inline(always)]
pub(crate) fn go_pending(info: &GInfo, yielded: bool, slice_ended: bool, reason: WaitReason) {
    if on() {
        let stop = match (slice_ended, yielded) {
            (true, _) => Stop::Preempted,
            (false, true) => Stop::Yielded,
            (false, false) => Stop::Blocked,
        };
        go_stop_cold(info, stop, reason);
    }
}

#[cold]
#[inline(never)]
fn go_stop_cold(info: &GInfo, stop: Stop, reason: WaitReason) {
    record(Kind::GoStop, None, info.goid(), stop as u64, reason as u64);
}

/// A poll of a `block_on` future (a main G polled on its caller's thread)
/// begins.
#[inline(always)]
pub(crate) fn main_start(main: &MainG) {
    if on() {
        main_start_cold(main);
    }
}

#[cold]
#[inline(never)]
fn main_start_cold(main: &MainG) {
    record(
        Kind::GoStart,
        None,
        main.goid,
        u64::from(super::site::intern(main.location)),
        0,
    );
}

/// That poll ended: `Running` still if it finished, else `Waiting`.
#[inline(always)]
pub(crate) fn main_stop(main: &MainG) {
    if on() {
        main_stop_cold(main);
    }
}

#[cold]
#[inline(never)]
fn main_stop_cold(main: &MainG) {
    let (stop, reason) = match main.state() {
        GState::Waiting(reason) => (Stop::Blocked, reason),
        _ => (Stop::Finished, WaitReason::Foreign),
    };
    record(Kind::GoStop, None, main.goid, stop as u64, reason as u64);
}

/// The schedule function took a G (`ready.rs`), before it marks it
/// runnable: what it waited on says who woke it.
///
/// A G woken while its poll runs is scheduled by async-task when the poll
/// returns, on its own thread: the waker is no longer known, and such a
/// wake (a yield, or a wake from another thread that came before the poll
/// was over) is not recorded; the poll's end (`yielded`, `blocked`) and
/// the next poll right after it tell the story.
#[inline(always)]
pub(crate) fn wake(info: &GInfo, woken_while_running: bool) {
    if on() && !woken_while_running {
        wake_cold(info);
    }
}

#[cold]
#[inline(never)]
fn wake_cold(info: &GInfo) {
    let source = match info.state() {
        GState::Waiting(reason) => match reason {
            WaitReason::ChanSend | WaitReason::ChanReceive | WaitReason::Select | WaitReason::SelectNoCases => {
                Source::Channel
            }
            WaitReason::Sleep => Source::Timer,
            WaitReason::IoWait => Source::Netpoll,
            WaitReason::Foreign => Source::Foreign,
            _ => Source::Sync,
        },
        // Never run yet: its spawn.
        GState::Runnable | GState::Running => Source::Spawn,
    };
    let waker = super::g::current_goid().unwrap_or(0);
    record(Kind::Wake, None, info.goid(), source as u64, waker);
}

/// This M stole `taken` Gs from P `victim`'s ring, for P `p`.
#[inline(always)]
pub(crate) fn steal(p: usize, victim: usize, taken: usize) {
    if on() {
        plain(Kind::Steal, Some(p), victim as u64, taken as u64);
    }
}

/// This M took P `victim`'s runnext, for P `p`.
#[inline(always)]
pub(crate) fn runnext_steal(p: usize, victim: usize) {
    if on() {
        plain(Kind::RunnextSteal, Some(p), victim as u64, 0);
    }
}

/// A ring of P `p` spilled half of itself to the global queue.
#[inline(always)]
pub(crate) fn spill(p: usize) {
    if on() {
        plain(Kind::Spill, Some(p), 0, 0);
    }
}

/// `gpm::syscall` begins with the P up for grabs.
#[inline(always)]
pub(crate) fn syscall_enter() {
    if on() {
        plain(Kind::SyscallEnter, None, super::g::current_goid().unwrap_or(0), 0);
    }
}

/// `gpm::syscall` returned; `kept` its P, or `other` took an idle one.
#[inline(always)]
pub(crate) fn syscall_exit(kept: bool, other: bool) {
    if on() {
        let code = match (kept, other) {
            (true, _) => SyscallExit::SameP,
            (false, true) => SyscallExit::OtherP,
            (false, false) => SyscallExit::NoP,
        };
        plain(Kind::SyscallExit, None, code as u64, 0);
    }
}

/// This thread hands P `p` to an M (`start_m`).
#[inline(always)]
pub(crate) fn handoff(p: usize, spinning: bool) {
    if on() {
        plain(Kind::Handoff, Some(p), p as u64, u64::from(spinning));
    }
}

/// sysmon took P `p` from its M.
#[inline(always)]
pub(crate) fn retake(p: usize, in_syscall: bool) {
    if on() {
        plain(Kind::Retake, Some(p), p as u64, u64::from(in_syscall));
    }
}

/// sysmon ended P `p`'s time slice.
#[inline(always)]
pub(crate) fn preempt(p: usize) {
    if on() {
        plain(Kind::Preempt, Some(p), p as u64, 0);
    }
}

/// This M goes to sleep.
#[inline(always)]
pub(crate) fn park() {
    if on() {
        plain(Kind::Park, None, 0, 0);
    }
}

/// This M woke up.
#[inline(always)]
pub(crate) fn unpark() {
    if on() {
        plain(Kind::Unpark, None, 0, 0);
    }
}

/// This M starts (`true`) or stops spinning.
#[inline(always)]
pub(crate) fn spinning(now: bool) {
    if on() {
        plain(if now { Kind::SpinStart } else { Kind::SpinStop }, None, 0, 0);
    }
}

/// A blocking-pool job starts (`info` is its metadata).
#[inline(always)]
pub(crate) fn blocking_start(info: &GInfo) {
    if on() {
        plain(Kind::BlockingStart, None, info.goid(), u64::from(info.site_id()));
    }
}

/// The blocking-pool job `goid` is over.
#[inline(always)]
pub(crate) fn blocking_end(goid: u64) {
    if on() {
        plain(Kind::BlockingEnd, None, goid, 0);
    }
}

#[cold]
#[inline(never)]
fn plain(kind: Kind, p: Option<usize>, a: u64, b: u64) {
    record(kind, p, a, b, 0);
}
