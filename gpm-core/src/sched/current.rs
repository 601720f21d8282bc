//! The M running on this thread, if any (Go's `getg().m`).
//!
//! Every M, worker thread or `block_on` caller, keeps an [`MContext`] on its
//! stack and points a thread-local at it while it runs the scheduler. The
//! schedule function, `spawn` and `yield_now` use it to reach the current P
//! without locks.

use super::p::PLocal;
use super::park::Parker;
use super::shared::Shared;
use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// One M's own state.
pub(crate) struct MContext {
    /// The runtime this M belongs to.
    pub(crate) shared: Arc<Shared>,
    /// This M's id: unique in the process, never 0 (see `hold.rs`).
    pub(crate) id: u64,
    /// The P this M holds, if any, outside polls. During a poll it waits in
    /// its `Hold` instead (see [`MContext::with_p`]).
    pub(crate) p: RefCell<Option<PLocal>>,
    /// The P whose hold has this M's P during a poll (maybe taken since):
    /// `&shared.ps[id]` and `id`, looked up once per poll for every wake,
    /// budget check and syscall of the poll ([`MContext::set_polling`]).
    polling: Cell<Option<(ptr::NonNull<super::p::P>, usize)>>,
    /// The current poll began with a P and has lost it (sysmon handed it
    /// to another M): the G yields at its next leaf operation, so that no
    /// more than GOMAXPROCS threads run goroutine code (see `coop`).
    pub(crate) lost_p: Cell<bool>,
    /// True while this M counts in `nmspinning`.
    pub(crate) spinning: Cell<bool>,
    /// State of this M's random number generator (steal order, runnext
    /// skips under shake), never 0.
    rng: Cell<u64>,
    /// Leaf operations left in the current poll (see `coop`).
    pub(crate) budget: Cell<u16>,
    /// The current poll's first leaf operation goes on even if the P's
    /// time slice is over (the G's last poll yielded for it).
    pub(crate) slice_grace: Cell<bool>,
    /// A leaf operation of the current poll yielded because the time
    /// slice was over.
    pub(crate) slice_yielded: Cell<bool>,
    /// Set by `yield_now` during a poll; the schedule function then sends the
    /// G to the global queue (Go's `Gosched`).
    pub(crate) yield_requested: Cell<bool>,
    /// The [`WaitReason`](super::wait::WaitReason) a leaf future gave
    /// during the current poll (as `u8`; 0 = none).
    pub(crate) wait_reason: Cell<u8>,
    /// This M's free sudogs (Go keeps them per P, `p.sudogcache`; here the
    /// M keeps them, so that a poll neither carries a P's cache in and out
    /// of the hold nor loses it when sysmon takes the P).
    pub(crate) sudogs: RefCell<super::sudog::SudogCache>,
    /// True while `spawn` schedules a new G: `schedule` then calls `wakep`
    /// even for a G put in an empty runnext (Go's `newproc`).
    pub(crate) spawning: Cell<bool>,
    /// True while this M polls the network holding its P: the goroutines
    /// it readies go to the ring's tail in the order their events came
    /// (Go's `injectglist` after `netpoll`), not to runnext.
    pub(crate) netpolling: Cell<bool>,
    /// The G being polled, if it woke itself during its poll (a yield, a
    /// budget's end): async-task schedules it as the poll returns, with no
    /// goroutine code left to run before the P leaves its hold, so it
    /// waits here and is queued once the P is back (see `leave_hold`),
    /// without taking the hold's word for it.
    pub(crate) self_woken: Cell<Option<super::g::G>>,
    /// What schedtrace shows of this M (listed in `Shared::ms`).
    pub(crate) info: Arc<super::trace::MInfo>,
    /// Where this M sleeps.
    pub(crate) parker: Arc<Parker>,
}

impl Drop for MContext {
    fn drop(&mut self) {
        self.shared
            .ms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|m| !Arc::ptr_eq(m, &self.info));
    }
}

thread_local! {
    static CURRENT: Cell<*const MContext> = const { Cell::new(ptr::null()) };
}

impl MContext {
    pub(crate) fn new(shared: Arc<Shared>, parker: Arc<Parker>) -> MContext {
        static SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let seed = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed);
        // Under shake, the stream comes from the runtime's seed and this
        // M's number in it (`shake.rs`), so that a seed replays.
        let number = shared.ms_made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = match shared.shake_seed() {
            Some(shake) => super::shake::m_stream(shake, number),
            None => seed | 1,
        };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let info = Arc::new(super::trace::MInfo::new(id));
        shared.ms.lock().unwrap_or_else(|e| e.into_inner()).push(info.clone());
        MContext {
            shared,
            id,
            info,
            p: RefCell::new(None),
            polling: Cell::new(None),
            lost_p: Cell::new(false),
            spawning: Cell::new(false),
            netpolling: Cell::new(false),
            self_woken: Cell::new(None),
            sudogs: RefCell::new(super::sudog::SudogCache::new()),
            spinning: Cell::new(false),
            rng: Cell::new(seed),
            budget: Cell::new(super::preempt::BUDGET),
            slice_grace: Cell::new(false),
            slice_yielded: Cell::new(false),
            yield_requested: Cell::new(false),
            wait_reason: Cell::new(0),
            parker,
        }
    }

    /// A fast pseudo-random number (xorshift64*); for steal order only.
    pub(crate) fn random(&self) -> u32 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    pub(crate) fn has_p(&self) -> bool {
        self.p.borrow().is_some()
    }

    /// Runs `f` with this M's P: the one it holds, or, during a poll, the
    /// one in its hold if sysmon has not taken it. `None` if there is no P,
    /// or if it is in use further up the stack.
    pub(crate) fn with_p<R>(&self, f: impl FnOnce(&mut PLocal) -> R) -> Option<R> {
        match self.p.try_borrow_mut() {
            Ok(mut slot) => {
                if let Some(p) = slot.as_mut() {
                    return Some(f(p));
                }
            }
            Err(_) => return None,
        }
        self.polled()?.hold.with(self.id, f)
    }

    /// Records P `id` as the one this M polls with (`None`: none).
    pub(crate) fn set_polling(&self, id: Option<usize>) {
        self.polling
            .set(id.map(|id| (ptr::NonNull::from(&self.shared.ps[id]), id)));
    }

    /// The P this M polls with, if any (its hold has this M's P, unless
    /// sysmon took it since).
    #[inline]
    pub(crate) fn polled(&self) -> Option<&super::p::P> {
        // SAFETY: a pointer into `self.shared.ps`, which this context's
        // `Arc` keeps alive and which never moves or shrinks.
        self.polling.get().map(|(p, _)| unsafe { p.as_ref() })
    }

    /// The id of this M's P, or of the P it polls with (which sysmon may
    /// have taken since: a hint, for counters and flags).
    pub(crate) fn p_id(&self) -> Option<usize> {
        let polling = || self.polling.get().map(|(_, id)| id);
        match self.p.try_borrow() {
            Ok(slot) => slot.as_ref().map(|p| p.id).or_else(polling),
            Err(_) => polling(),
        }
    }

    /// This M's P as [`MContext::p_id`] names it, shared half.
    pub(crate) fn current_p(&self) -> Option<&super::p::P> {
        self.polled().or_else(|| self.p_id().map(|id| &self.shared.ps[id]))
    }

    /// Runs `poll` (one poll of a G) with this M's P parked in its hold,
    /// where sysmon can take it if the poll lasts too long; takes it back
    /// after, if it is still there.
    pub(crate) fn poll_holding_p<R>(&self, poll: impl FnOnce() -> R) -> R {
        let Some(p) = self.p.borrow_mut().take() else {
            return poll();
        };
        self.set_polling(Some(p.id));
        let ps = self.polled().expect("just set");
        // Only the owner writes it: a load and a store.
        ps.polls.store(ps.polls.load(Relaxed).wrapping_add(1), Relaxed);
        self.lost_p.set(false);
        ps.hold.enter(self.id, p);
        struct Leave<'a>(&'a MContext);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.leave_hold();
            }
        }
        let _leave = Leave(self);
        poll()
    }

    /// The poll is over: take the P back from its hold, or find it gone.
    fn leave_hold(&self) {
        let Some(ps) = self.polled() else {
            return;
        };
        let held = ps.hold.leave(self.id);
        self.set_polling(None);
        match held {
            Some(mut p) => {
                if let Some(g) = self.self_woken.take() {
                    super::ready::requeue_self_woken(self, &mut p, g);
                }
                let empty = self.p.borrow_mut().replace(p);
                debug_assert!(empty.is_none(), "an M took a P back while holding another");
                // `None`: forgetting it skips a call to its drop glue on
                // every poll.
                std::mem::forget(empty);
            }
            None => {
                self.info.p.store(-1, Relaxed);
                self.shared.lost_p();
                if let Some(g) = self.self_woken.take() {
                    self.yield_requested.set(false);
                    self.shared.inject(g);
                }
            }
        }
    }

    /// True if the current poll began with P `ps` (the one `polling`
    /// names) and sysmon has taken it since (and `gpm::syscall` found no
    /// idle one to go on with); sticky until the next poll. One load of the
    /// hold's word, on a line this M wrote at the poll's start.
    pub(crate) fn has_lost_p(&self, ps: &super::p::P) -> bool {
        if self.lost_p.get() {
            return true;
        }
        let lost = !ps.hold.is_held_by(self.id);
        if lost {
            self.lost_p.set(true);
        }
        lost
    }

    /// Runs `f` with this context installed as the thread's current M.
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Reset(*const MContext, u32);
        impl Drop for Reset {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(self.0));
                super::bubble::swap_thread_bubble(self.1);
            }
        }
        let prev = CURRENT.with(|c| c.replace(self));
        let prev_bubble = super::bubble::swap_thread_bubble(self.shared.bubble().map_or(0, |b| b.id));
        let _reset = Reset(prev, prev_bubble);
        if self.shared.shake_seed().is_some() {
            // `select!`'s order on this thread comes from this M's stream.
            super::shake::seed_thread(self.rng.get());
        }
        f()
    }
}

/// Runs `f` with the current M's context, if this thread is an M.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&MContext>) -> R) -> R {
    let ptr = CURRENT.with(Cell::get);
    // SAFETY: `CURRENT` is only non-null inside `MContext::enter`, whose
    // `&self` outlives the call; it is reset when `enter` returns or unwinds.
    f(unsafe { ptr.as_ref() })
}

/// The time by the clock of the runtime this thread runs (a bubble's is
/// virtual), or the real clock's off a runtime.
pub(crate) fn now() -> std::time::Instant {
    // Outside bubbles, one thread-local load and the real clock.
    if super::bubble::current_bubble() == 0 {
        return std::time::Instant::now();
    }
    with_current(|m| m.map_or_else(std::time::Instant::now, |m| m.shared.now()))
}

/// True if this thread is running a gpm scheduler loop (a G may be running).
pub(crate) fn in_runtime() -> bool {
    CURRENT.with(|c| !c.get().is_null())
}

/// The runtime of the M on this thread, if this thread is an M.
pub(crate) fn current_shared() -> Option<Arc<Shared>> {
    with_current(|m| m.map(|m| m.shared.clone()))
}
