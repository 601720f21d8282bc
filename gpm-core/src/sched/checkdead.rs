//! Deadlock detection (Go's `checkdead`): "all goroutines are asleep".
//!
//! Go checks under its scheduler lock when the last M goes idle. gpm's
//! sysmon checks instead, and only believes what it sees twice: a deadlock
//! is reported when two looks, one sysmon tick or more apart, both find
//!
//! - a main goroutine in progress (its future not done), waiting on a gpm
//!   primitive, and no main being set up;
//! - every goroutine alive listed as waiting on a gpm primitive (none is
//!   on its way into a run queue, or running without a P);
//! - every P idle, no M spinning, and every run queue empty;
//! - no P acquired in between (so no goroutine ran in between);
//! - no timer armed or being fired (a timer counts until the goroutine it
//!   wakes is in a run queue), no blocking job or syscall in flight, no goroutine
//!   waiting for a socket (the peer may be another process);
//! - no goroutine waiting on a future gpm did not write (its waker may be
//!   called from anywhere);
//! - no thread in the process but the runtime's own (a plain thread may
//!   hold a channel, or a waker, and use it later). Where the threads of
//!   the process cannot be counted (not Linux), gpm stays silent.
//!
//! Then nothing can ever run again: gpm prints Go's message and the
//! goroutine list on stderr and exits with status 2. When in doubt it stays
//! silent; `Builder::deadlock_detection(false)` turns it off.

use super::g::GState;
use super::shared::Shared;
use super::wait::WaitReason;
use std::sync::atomic::Ordering::SeqCst;

/// What sysmon saw at its last look.
#[derive(Default)]
pub(crate) struct CheckDead {
    /// P acquisitions at the last look that found everything asleep.
    asleep_at: Option<u64>,
}

impl CheckDead {
    /// One look; exits the process on a deadlock seen twice.
    pub(crate) fn look(&mut self, shared: &Shared) {
        if !shared.config.deadlock_detection {
            return;
        }
        let acquisitions = shared.acquisitions.load(SeqCst);
        if !all_asleep(shared, false) {
            self.asleep_at = None;
            return;
        }
        match self.asleep_at {
            Some(before) if before == acquisitions && shared.acquisitions.load(SeqCst) == acquisitions => {
                if only_runtime_threads(shared) && all_asleep(shared, false) {
                    die(shared);
                }
            }
            _ => self.asleep_at = Some(acquisitions),
        }
    }
}

/// Everything but the thread count and the second look.
///
/// For a bubble (`durable`, see `bubble.rs`) the same look asks whether
/// every goroutine is durably blocked: an armed timer is no progress (the
/// bubble's clock moves only when this holds), a timer being fired is.
pub(super) fn all_asleep(shared: &Shared, durable: bool) -> bool {
    let procs = shared.procs();
    if shared.is_shutdown() || shared.mains.load(SeqCst) == 0 {
        return false;
    }
    if shared.idle.npidle.load(SeqCst) != procs || shared.idle.nmspinning.load(SeqCst) != 0 {
        return false;
    }
    if !shared.global.is_empty() || shared.ps.iter().any(|p| p.has_work()) {
        return false;
    }
    let timers = if durable {
        shared.timers.firing()
    } else {
        shared.timers.armed()
    };
    if timers != 0 || shared.foreign_waits() != 0 || shared.blocking_in_flight() != 0 || shared.netpoll.waiting() != 0 {
        return false;
    }
    if shared.mains_starting.load(SeqCst) != 0 {
        return false;
    }
    let mains = shared.main_gs.lock().unwrap_or_else(|e| e.into_inner());
    // A `Send` main is a goroutine like the others: with every P idle and
    // nothing queued it waits too, and a wait on a foreign future is
    // counted above. Mains polled on their own threads are checked here.
    let waiting = |state| matches!(state, GState::Waiting(reason) if reason != WaitReason::Foreign && (!durable || reason.is_durable()));
    if !mains.iter().all(|g| waiting(g.state())) {
        return false;
    }
    let own_thread_mains = mains.len();
    drop(mains);
    // Every goroutine alive has parked (is listed) and waits now. The
    // queues and the Ps say nothing about a goroutine on its way into a run
    // queue (spawned from a thread without a P: counted, not yet queued) or
    // running without a P (after its syscall lost the P, until its next
    // leaf operation): a thread stalled there by the OS for two looks read
    // as a deadlock under load.
    let mut listed = 0;
    let mut all_waiting = true;
    shared.registry.for_each(|info| {
        listed += 1;
        all_waiting &= waiting(info.state());
    });
    all_waiting && shared.goroutines() <= listed + own_thread_mains
}

/// True if every thread of this process belongs to this runtime.
fn only_runtime_threads(shared: &Shared) -> bool {
    let Some(threads) = process_threads() else {
        return false;
    };
    threads == shared.own_threads()
}

#[cfg(target_os = "linux")]
fn process_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(Iterator::count)
}

#[cfg(not(target_os = "linux"))]
fn process_threads() -> Option<usize> {
    None
}

fn die(shared: &Shared) -> ! {
    let dump = shared.dump();
    eprintln!("fatal error: all goroutines are asleep - deadlock!\n\n{dump}");
    std::process::exit(2)
}
