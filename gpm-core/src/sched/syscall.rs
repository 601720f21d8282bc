//! The mechanism of `gpm::syscall`: a blocking call inline, with the P up
//! for grabs (Go's `entersyscall` / `exitsyscall`).

use super::current::{self, MContext};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// Runs `f` with the P up for grabs (`crate::syscall`'s mechanism): marks
/// the P as in a syscall, runs `f`, and takes the P back, or another, or
/// none (then the goroutine yields at its next leaf operation).
pub(crate) fn syscall<R>(f: impl FnOnce() -> R) -> R {
    current::with_current(move |m| {
        let Some(m) = m.filter(|m| enter(m)) else {
            return f();
        };
        struct Exit<'a>(&'a MContext);
        impl Drop for Exit<'_> {
            fn drop(&mut self) {
                exit(self.0);
            }
        }
        let _exit = Exit(m);
        f()
    })
}

/// Go's `entersyscall`: marks the P as in a syscall (sysmon may take it).
fn enter(m: &MContext) -> bool {
    let Some(id) = m.polling.get() else {
        return false;
    };
    let p = &m.shared.ps[id];
    if !p.hold.is_held_by(m.id) {
        return false;
    }
    // Owner-written counters: a load and a store.
    p.syscall_tick
        .store(p.syscall_tick.load(Relaxed).wrapping_add(1), Relaxed);
    p.syscall_m.store(m.id, Relaxed);
    true
}

/// Go's `exitsyscall`: back on the same P if nobody took it (two loads and
/// a CAS); else an idle P if there is one; else the poll goes on P-less.
fn exit(m: &MContext) {
    let Some(id) = m.polling.get() else {
        return;
    };
    let p = &m.shared.ps[id];
    if p.hold.is_held_by(m.id) {
        // Still ours. (If sysmon takes the P right now, it clears the flag
        // itself; at worst this store clears the new owner's flag, which
        // only delays a retake of its syscall to the 10 ms rule.)
        p.syscall_m.store(0, Relaxed);
        return;
    }
    // sysmon took the P: this M is P-less now.
    m.polling.set(None);
    m.shared.lost_p();
    let shared = &m.shared;
    let Some(idle) = shared.idle.lock().take_p(&shared.ps) else {
        // No P to go on with: the goroutine yields at its next leaf
        // operation (Go's `exitsyscall` parks it until a P is free).
        m.lost_p.set(true);
        return;
    };
    shared.acquisitions.fetch_add(1, SeqCst);
    let next = &shared.ps[idle.id];
    next.preempt.store(false, Relaxed);
    next.polls.store(next.polls.load(Relaxed).wrapping_add(1), Relaxed);
    m.polling.set(Some(idle.id));
    next.hold.enter(m.id, idle);
}
