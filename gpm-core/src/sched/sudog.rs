//! Sudogs: goroutines waiting on channels (Go's `sudog`, `acquireSudog`,
//! `releaseSudog`).
//!
//! A [`Sudog`] is one entry in a channel's wait queue: one per (waiting
//! operation, channel). It is type-erased, as Go's is: `elem` points at the
//! waiting future's value slot (an `Option<T>` for the channel's `T`), which
//! lives inside the pinned future; `waiter` points at the future's
//! [`Waiter`], which holds the waker and the word that says whether (and by
//! which case) the operation completed. A `select!` has one `Waiter` shared
//! by the sudogs of all its cases (Go's `g.selectDone`).
//!
//! A plain send or receive has exactly one sudog, which lives in its pinned
//! future next to its `Waiter` (`chan/ops.rs`). A `select!` takes one per
//! case from a pool, never freed while the program runs: each M keeps up
//! to [`CACHE_CAP`] in its [`SudogCache`], refilled from and spilled to a
//! central list by halves, as Go does with its per-P caches. Threads
//! without an M use the central list directly.
//!
//! # Who touches what
//! - A sudog's fields are written by its owner before it is enqueued and
//!   read by the owner after it has been dequeued; while it is in a queue,
//!   only holders of that channel's lock touch it.
//! - The waiter's `waker` is written by the owner while it holds the locks
//!   of every channel it is queued on and the state is `WAITING`; it is
//!   taken by the one operation that claimed the waiter (under its
//!   channel's lock).
//! - The completing operation's last access to a sudog and its waiter is
//!   the release store of `DONE`: from then on the owner may reuse both.

use std::cell::UnsafeCell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{
    AtomicU32,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::Mutex;
use std::task::Waker;

/// Sudogs an M keeps for itself (Go's `p.sudogcache`, 128 entries).
pub(crate) const CACHE_CAP: usize = 128;

/// One waiting operation's entry in one channel's wait queue.
pub(crate) struct Sudog {
    /// The next sudog in the queue (toward the tail).
    pub(crate) next: *mut Sudog,
    /// The previous sudog in the queue (toward the head).
    pub(crate) prev: *mut Sudog,
    /// True while the sudog is in a wait queue.
    pub(crate) linked: bool,
    /// The waiting operation's value slot: `*mut Option<T>` for the
    /// channel's `T`. A receiver's slot is `None` until a sender fills it; a
    /// sender's holds its value until a receiver takes it.
    pub(crate) elem: *mut (),
    /// The waiter this sudog belongs to.
    pub(crate) waiter: *const Waiter,
    /// The select case this sudog stands for (0 for a plain operation).
    pub(crate) case: u32,
    /// True for a select's sudog: its waiter has other sudogs that may be
    /// completed on other channels, so completing it takes a CAS.
    pub(crate) is_select: bool,
}

impl Sudog {
    /// A sudog in no queue, pointing nowhere.
    pub(crate) const fn blank() -> Sudog {
        Sudog {
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            linked: false,
            elem: ptr::null_mut(),
            waiter: ptr::null(),
            case: 0,
            is_select: false,
        }
    }
}

/// `Waiter::state`: nobody has completed the operation yet.
pub(crate) const WAITING: u32 = 0;
/// `Waiter::state` bit: an operation claimed this waiter (a select case won
/// the CAS) and is moving the value, under its channel's lock; the low bits
/// are the case.
const CLAIMED: u32 = 1 << 31;
/// `Waiter::state` bit: the operation completed (a value moved, or the
/// channel was closed); the low bits are the case. Stored with `Release`
/// after everything else.
const DONE: u32 = 1 << 30;
/// The case number bits of `Waiter::state`.
const CASE_MASK: u32 = DONE - 1;

/// What a waiting operation (a send, a receive, or a whole select) waits
/// with: its waker and its completion word (Go's `g.selectDone` plus
/// `g.param`). It lives inside the pinned future.
pub(crate) struct Waiter {
    /// `WAITING`, `CLAIMED | case` or `DONE | case`.
    state: AtomicU32,
    /// Whom to wake; see the module docs for who may touch it.
    waker: UnsafeCell<Option<Waker>>,
}

/// Where a waiter stands, as its owner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitState {
    /// Still waiting.
    Waiting,
    /// Case `n` is being completed right now under its channel's lock.
    Claimed(usize),
    /// Case `n` completed.
    Done(usize),
}

impl Waiter {
    pub(crate) const fn new() -> Waiter {
        Waiter {
            state: AtomicU32::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Where the waiter stands. `Acquire`: on `Done`, the value the
    /// completing operation moved into (or out of) the slot is visible.
    pub(crate) fn state(&self) -> WaitState {
        let s = self.state.load(Acquire);
        if s & DONE != 0 {
            WaitState::Done((s & CASE_MASK) as usize)
        } else if s & CLAIMED != 0 {
            WaitState::Claimed((s & CASE_MASK) as usize)
        } else {
            WaitState::Waiting
        }
    }

    /// Makes the waiter ready for a new wait. Only while it is queued
    /// nowhere (the last completer's final access was the `DONE` store,
    /// which the owner has seen).
    pub(crate) fn reset(&self) {
        self.state.store(WAITING, Relaxed);
    }

    /// Stores `waker`, returning the old one (to drop outside any lock).
    ///
    /// # Safety
    /// The caller owns the waiter and holds the lock of every channel it is
    /// queued on (or it is queued nowhere), and the state is `WAITING`.
    pub(crate) unsafe fn set_waker(&self, waker: &Waker) -> Option<Waker> {
        // SAFETY: the caller's contract: no completer can take it now.
        let slot = unsafe { &mut *self.waker.get() };
        match slot {
            Some(old) if old.will_wake(waker) => None,
            _ => slot.replace(waker.clone()),
        }
    }

    /// Takes the waker back, to drop it.
    ///
    /// # Safety
    /// The waiter is queued nowhere (its operation is over or cancelled).
    pub(crate) unsafe fn take_waker(&self) -> Option<Waker> {
        // SAFETY: the caller's contract: no completer can reach it.
        unsafe { (*self.waker.get()).take() }
    }
}

/// Claims the waiter of `sg` for the calling operation (Go's
/// `selectDone.CompareAndSwap(0, 1)` in `waitq.dequeue`). A plain
/// operation's waiter has no rival and is always claimed.
///
/// # Safety
/// `sg` was just taken out of a wait queue whose lock the caller holds.
pub(crate) unsafe fn claim(sg: NonNull<Sudog>) -> bool {
    // SAFETY: the caller's contract: the queue's lock keeps `sg` and its
    // waiter alive and owned by us.
    let sg = unsafe { sg.as_ref() };
    if !sg.is_select {
        return true;
    }
    // SAFETY: as above.
    let waiter = unsafe { &*sg.waiter };
    // AcqRel: the winner then writes the slot; a loser needs nothing.
    waiter
        .state
        .compare_exchange(WAITING, CLAIMED | sg.case, AcqRel, Relaxed)
        .is_ok()
}

/// Completes a claimed waiter: takes its waker and publishes `DONE`. The
/// value must already be in (or out of) its slot. After this the caller
/// must not touch `sg` or its waiter again.
///
/// # Safety
/// The caller claimed `sg` (see [`claim`]) and still holds the lock of the
/// channel it was queued on.
#[must_use = "wake the waker once the channel's lock is released"]
pub(crate) unsafe fn complete(sg: NonNull<Sudog>) -> Option<Waker> {
    // SAFETY: the caller's contract: `sg` and its waiter are alive until
    // the store below.
    let (waiter, case) = unsafe {
        let sg = sg.as_ref();
        (&*sg.waiter, sg.case)
    };
    // SAFETY: we claimed the waiter, so its owner leaves the waker alone
    // (it would need our lock and a `WAITING` state to touch it).
    let waker = unsafe { (*waiter.waker.get()).take() };
    // Release: the slot's new contents are visible to an owner that sees it.
    waiter.state.store(DONE | case, Release);
    waker
}

/// A sudog pointer that may move between threads (sudogs are plain data).
#[derive(Clone, Copy)]
struct SudogPtr(NonNull<Sudog>);

// SAFETY: a sudog in a cache is owned by that cache alone; it holds no
// thread-bound data.
unsafe impl Send for SudogPtr {}

/// An M's sudog cache (Go's `p.sudogcache`, kept by the M instead: see
/// `MContext::sudogs`). Channel operations reach it through the current M,
/// without touching the P's hold. Dropped with its M: the sudogs go to the
/// central list.
#[derive(Default)]
pub(crate) struct SudogCache {
    free: Vec<SudogPtr>,
}

impl SudogCache {
    pub(crate) fn new() -> SudogCache {
        SudogCache {
            free: Vec::with_capacity(CACHE_CAP),
        }
    }

    #[inline]
    fn acquire(&mut self) -> NonNull<Sudog> {
        if self.free.is_empty() {
            // Refill half from the central list (Go's `acquireSudog`).
            let mut central = lock_central();
            let n = central.len().min(CACHE_CAP / 2);
            let from = central.len() - n;
            self.free.extend(central.drain(from..));
        }
        match self.free.pop() {
            Some(sg) => sg.0,
            None => allocate(),
        }
    }

    #[inline]
    fn release(&mut self, sg: NonNull<Sudog>) {
        if self.free.len() == CACHE_CAP {
            // Spill half to the central list (Go's `releaseSudog`).
            let from = CACHE_CAP / 2;
            lock_central().extend(self.free.drain(from..));
        }
        self.free.push(SudogPtr(sg));
    }
}

impl Drop for SudogCache {
    fn drop(&mut self) {
        // Give them to the central list: other Ps (and runtimes) reuse them.
        lock_central().append(&mut self.free);
    }
}

/// Sudogs no P holds (Go's `sched.sudogcache`): process-wide.
static CENTRAL: Mutex<Vec<SudogPtr>> = Mutex::new(Vec::new());

fn lock_central() -> std::sync::MutexGuard<'static, Vec<SudogPtr>> {
    CENTRAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn allocate() -> NonNull<Sudog> {
    NonNull::from(Box::leak(Box::new(Sudog::blank())))
}

/// Go's `acquireSudog`: a sudog from the current M's cache, else from the
/// central list, else a new one. It is in no queue; the caller sets
/// `elem`, `waiter`, `case` and `is_select`.
#[inline]
pub(crate) fn acquire() -> NonNull<Sudog> {
    // The M's own cache (`MContext::sudogs`), on an M.
    let from_p = super::current::with_current(|m| Some(m?.sudogs.try_borrow_mut().ok()?.acquire()));
    from_p.unwrap_or_else(|| lock_central().pop().map_or_else(allocate, |sg| sg.0))
}

/// Go's `releaseSudog`: back to the current M's cache, else to the central
/// list.
///
/// # Safety
/// `sg` came from [`acquire`], is in no queue, and nobody else refers to it.
#[inline]
pub(crate) unsafe fn release(sg: NonNull<Sudog>) {
    // SAFETY: the caller's contract: we own it. Its other fields are set
    // anew by whoever acquires it next.
    debug_assert!(unsafe { !(*sg.as_ptr()).linked });
    let kept = super::current::with_current(|m| {
        m?.sudogs.try_borrow_mut().ok()?.release(sg);
        Some(())
    });
    if kept.is_none() {
        lock_central().push(SudogPtr(sg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_refills_and_spills_by_halves() {
        let mut cache = SudogCache::new();
        for _ in 0..CACHE_CAP + 1 {
            cache.release(allocate());
        }
        // The 129th release found the cache full and moved half of it to
        // the central list first.
        assert_eq!(cache.free.len(), CACHE_CAP / 2 + 1);
        let mut cache = SudogCache::new();
        let sg = cache.acquire();
        // An empty cache takes up to half a cache from the central list.
        assert!(cache.free.len() <= CACHE_CAP / 2);
        cache.release(sg);
    }

    #[test]
    fn waiter_states() {
        let waiter = Waiter::new();
        assert_eq!(waiter.state(), WaitState::Waiting);
        let sg = allocate();
        // SAFETY: a fresh sudog, ours alone.
        unsafe {
            (*sg.as_ptr()).waiter = &waiter;
            (*sg.as_ptr()).case = 3;
            (*sg.as_ptr()).is_select = true;
            assert!(claim(sg));
            assert_eq!(waiter.state(), WaitState::Claimed(3));
            // A rival case loses.
            assert!(!claim(sg));
            assert!(complete(sg).is_none());
            assert_eq!(waiter.state(), WaitState::Done(3));
            drop(Box::from_raw(sg.as_ptr()));
        }
        waiter.reset();
        assert_eq!(waiter.state(), WaitState::Waiting);
    }
}
