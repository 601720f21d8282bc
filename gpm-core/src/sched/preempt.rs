//! Cooperative preemption: the per-poll budget that leaf operations spend,
//! sysmon's end-of-slice flag, and yield requests (what `gpm::coop` and
//! `yield_now` stand on). The schedule function reads the request flags
//! (`ready.rs`); the M resets the budget before each poll (`m.rs`).

use super::current;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};

/// Leaf operations one poll of a goroutine may do before it yields (tokio's
/// number; Go has none, it preempts by time only).
pub(crate) const BUDGET: u16 = 128;

/// Budget of a poll inside `coop::unconstrained`: never runs out.
pub(crate) const UNCONSTRAINED: u16 = u16::MAX;

/// `gpm::coop::proceed`: spends one unit of the current goroutine's
/// budget; `Pending`, after a self-wake that is a yield, when the goroutine
/// must yield (see [`spend_budget`]).
pub(crate) fn proceed(cx: &mut Context<'_>) -> Poll<()> {
    if spend_budget() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Spends one unit of the current goroutine's budget: true to go on; false
/// when the goroutine must yield (the budget is spent, its time slice is
/// over, or its thread lost its P during this poll), and then the yield is
/// requested. Outside a gpm goroutine it is always true.
fn spend_budget() -> bool {
    current::with_current(|m| {
        let Some(m) = m else {
            return true;
        };
        let budget = m.budget.get();
        if budget == UNCONSTRAINED {
            return true;
        }
        // The P whose `preempt` flag ends this G's time slice: the one in
        // the hold while a worker M polls (one lookup serves the lost-P
        // check too), or the one a `block_on` thread borrowed, if any.
        let (lost, p) = match m.polled() {
            Some(ps) => (m.has_lost_p(ps), Some(ps)),
            None => (m.lost_p.get(), m.current_p()),
        };
        if lost {
            // sysmon gave this G's P to another M during this poll: go to
            // the global queue rather than run goroutine code without a P.
            m.yield_requested.set(true);
            return false;
        }
        // The flag ends this G's time slice: clear it as the G yields, so
        // that whatever runs next (maybe this G again, if nothing else is
        // runnable) starts a fresh one. After such a yield, the G's next
        // poll does its first leaf operation whatever the flag says: a poll
        // that spends a slice before its first one (say, zeroing a large
        // buffer first, as futures' `read_to_end` does on every poll) would
        // otherwise yield before doing anything, every time, for good.
        let preempted = (budget < BUDGET || !m.slice_grace.get())
            && p.is_some_and(|p| {
                p.preempt.load(Relaxed) && {
                    p.preempt.store(false, Relaxed);
                    true
                }
            });
        if preempted {
            m.slice_yielded.set(true);
        }
        if budget == 0 || preempted {
            // Yield: this self-wake sends the G behind the others.
            m.yield_requested.set(true);
            return false;
        }
        m.budget.set(budget - 1);
        true
    })
}

/// What a goroutine's poll that returned `Pending` left on its M, read in
/// one look.
pub(crate) struct PendingEnd {
    /// It yielded at the end of its time slice.
    pub(crate) slice_ended: bool,
    /// It yielded (`yield_now`, a spent budget or time slice, a lost P):
    /// it has woken itself and is runnable, not waiting.
    pub(crate) yielded: bool,
    /// What it waits on otherwise.
    pub(crate) reason: super::wait::WaitReason,
}

/// After a G's poll that returned `Pending` (`GFuture`).
pub(crate) fn end_pending_poll() -> PendingEnd {
    current::with_current(|m| match m {
        Some(m) => PendingEnd {
            slice_ended: m.slice_yielded.replace(false),
            // Not taken: the schedule function takes it when the self-wake
            // is applied, as the poll returns.
            yielded: m.yield_requested.get(),
            reason: super::wait::WaitReason::from_u8(m.wait_reason.replace(0)),
        },
        None => PendingEnd {
            slice_ended: false,
            yielded: false,
            reason: super::wait::WaitReason::Foreign,
        },
    })
}

/// After a G's poll: true if it yielded at the end of its time slice.
pub(crate) fn end_poll() -> bool {
    current::with_current(|m| m.is_some_and(|m| m.slice_yielded.replace(false)))
}

/// Sets the current goroutine's budget and returns the one it replaces
/// (`None` outside a goroutine, where nothing is set).
pub(crate) fn set_budget(budget: u16) -> Option<u16> {
    current::with_current(|m| m.map(|m| m.budget.replace(budget)))
}

/// Tells the schedule function that the current goroutine's next self-wake
/// is a yield (`yield_now`): it goes behind the others, to the global queue.
pub(crate) fn request_yield() {
    current::with_current(|m| {
        if let Some(m) = m {
            m.yield_requested.set(true);
        }
    });
}
