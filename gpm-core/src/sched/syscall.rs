//! The mechanism of `gpm::syscall`: a blocking call inline, with the P up
//! for grabs (Go's `entersyscall` / `exitsyscall`).

use super::current::{self, MContext};
use super::p::P;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// Runs `f` with the P up for grabs (`crate::syscall`'s mechanism): marks
/// the P as in a syscall, runs `f`, and takes the P back, or another, or
/// none (then the goroutine yields at its next leaf operation).
pub(crate) fn syscall<R>(f: impl FnOnce() -> R) -> R {
    current::with_current(move |m| {
        let Some((m, p)) = m.and_then(|m| Some((m, enter(m)?))) else {
            return f();
        };
        // The P found on the way in goes to the way out: `exit` does not
        // walk from the M to the runtime to the P again.
        struct Exit<'a>(&'a MContext, &'a P);
        impl Drop for Exit<'_> {
            #[inline]
            fn drop(&mut self) {
                exit(self.0, self.1);
            }
        }
        let _exit = Exit(m, p);
        f()
    })
}

/// Go's `entersyscall`: marks the P as in a syscall (sysmon may take it).
/// Returns the P, or `None` if this M polls without one.
#[inline]
fn enter(m: &MContext) -> Option<&P> {
    let p = m.polled()?;
    if !p.hold.is_held_by(m.id) {
        return None;
    }
    // Owner-written counters: a load and a store.
    p.syscall_tick
        .store(p.syscall_tick.load(Relaxed).wrapping_add(1), Relaxed);
    p.syscall_m.store(m.id, Relaxed);
    super::exectrace::syscall_enter();
    Some(p)
}

/// Go's `exitsyscall`: back on the same P if nobody took it (a load and a
/// store); else [`exit_without_p`].
#[inline]
fn exit(m: &MContext, p: &P) {
    if p.hold.is_held_by(m.id) {
        // Still ours. (If sysmon takes the P right now, it clears the flag
        // itself; at worst this store clears the new owner's flag, which
        // only delays a retake of its syscall to the 10 ms rule.)
        p.syscall_m.store(0, Relaxed);
        super::exectrace::syscall_exit(true, false);
        return;
    }
    exit_without_p(m);
}

/// The P found on the way in is no longer this M's: sysmon took it (or a
/// nested call moved this M to another P). Go's `exitsyscall` from the top,
/// with the P this M polls with now: still ours, or an idle P if there is
/// one, or the poll goes on P-less.
#[cold]
#[inline(never)]
fn exit_without_p(m: &MContext) {
    let Some(p) = m.polled() else {
        return;
    };
    if p.hold.is_held_by(m.id) {
        p.syscall_m.store(0, Relaxed);
        super::exectrace::syscall_exit(true, false);
        return;
    }
    m.set_polling(None);
    m.shared.lost_p();
    let shared = &m.shared;
    let Some(idle) = shared.idle.lock().take_p(&shared.ps) else {
        // No P to go on with: the goroutine yields at its next leaf
        // operation (Go's `exitsyscall` parks it until a P is free).
        m.lost_p.set(true);
        super::exectrace::syscall_exit(false, false);
        return;
    };
    super::exectrace::syscall_exit(false, true);
    shared.acquisitions.fetch_add(1, SeqCst);
    let next = &shared.ps[idle.id];
    next.preempt.store(false, Relaxed);
    next.polls.store(next.polls.load(Relaxed).wrapping_add(1), Relaxed);
    m.set_polling(Some(idle.id));
    next.hold.enter(m.id, idle);
}
