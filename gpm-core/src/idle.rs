//! Idle Ps, idle Ms and spinning Ms (Go's `sched.pidle`, `sched.midle`,
//! `sched.nmspinning`, `sched.npidle`, `sched.needspinning`).
//!
//! The lists sit behind one mutex (Go's `sched.lock`); the counters are
//! atomics so that the hot paths (`wakep`, "may I spin?") read them without
//! the lock.
//!
//! # The no-lost-wakeup protocol (Go's "worker thread parking/unparking")
//! - A submitter makes a G runnable, then (after a SeqCst fence) reads
//!   `nmspinning` and `npidle` in `wakep`: if nobody spins and a P is idle,
//!   it starts a spinning M.
//! - A spinning M that finds nothing releases its P, then decrements
//!   `nmspinning` (SeqCst) and only then rechecks every queue; if it finds
//!   work it takes a P back and spins again.
//!
//! Either the submitter sees the spinner, or the spinner sees the work.

use crate::loom::{AtomicBool, AtomicUsize, Mutex, MutexGuard};
use std::sync::Arc;
use crate::p::{PLocal, P};
use crate::park::Parker;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

pub(crate) struct Idle {
    lists: Mutex<Lists>,
    /// Number of Ps in the idle list.
    pub(crate) npidle: AtomicUsize,
    /// Number of Ms that hold a P and are looking for work.
    pub(crate) nmspinning: AtomicUsize,
    /// Set when `wakep` wanted a spinning M but found no idle P: the next M
    /// about to give up its P looks around once more instead.
    pub(crate) needspinning: AtomicBool,
    /// Length of `Lists::p_waiters`, readable without the lock.
    pub(crate) p_waiters: AtomicUsize,
}

pub(crate) struct Lists {
    /// Ps no M holds.
    ps: Vec<PLocal>,
    /// Ms asleep without a P, waiting for `startm`.
    ms: Vec<Arc<Parker>>,
    /// `block_on` Ms whose main G is runnable but who have no P; a P that
    /// becomes free goes to them first.
    p_waiters: VecDeque<Arc<Parker>>,
}

impl Idle {
    /// All Ps start idle.
    pub(crate) fn new(ps: Vec<PLocal>) -> Idle {
        let n = ps.len();
        Idle {
            lists: Mutex::new(Lists { ps, ms: Vec::new(), p_waiters: VecDeque::new() }),
            npidle: AtomicUsize::new(n),
            nmspinning: AtomicUsize::new(0),
            needspinning: AtomicBool::new(false),
            p_waiters: AtomicUsize::new(0),
        }
    }

    pub(crate) fn lock(&self) -> IdleGuard<'_> {
        IdleGuard { idle: self, lists: self.lists.lock().unwrap_or_else(|e| e.into_inner()) }
    }

    /// True if an M that is not spinning may start spinning
    /// (Go: `2 * nmspinning < gomaxprocs - npidle`).
    pub(crate) fn may_spin(&self, procs: usize) -> bool {
        let busy = procs.saturating_sub(self.npidle.load(SeqCst));
        2 * self.nmspinning.load(SeqCst) < busy
    }
}

/// The idle lists, locked (Go: holding `sched.lock`).
pub(crate) struct IdleGuard<'a> {
    idle: &'a Idle,
    lists: MutexGuard<'a, Lists>,
}

impl IdleGuard<'_> {
    /// Go's `pidleget`.
    pub(crate) fn take_p(&mut self, ps: &[P]) -> Option<PLocal> {
        let p = self.lists.ps.pop()?;
        ps[p.id].idle.store(false, SeqCst);
        self.idle.npidle.fetch_sub(1, SeqCst);
        Some(p)
    }

    /// Go's `pidleput`, except that a `block_on` M waiting for a P gets it
    /// directly.
    pub(crate) fn put_p(&mut self, ps: &[P], p: PLocal) {
        if let Some(waiter) = self.lists.p_waiters.pop_front() {
            self.idle.p_waiters.fetch_sub(1, Relaxed);
            waiter.hand(p, false);
            return;
        }
        ps[p.id].idle.store(true, SeqCst);
        self.lists.ps.push(p);
        self.idle.npidle.fetch_add(1, SeqCst);
    }

    /// Go's `mget`: an idle M, if any.
    pub(crate) fn take_m(&mut self) -> Option<Arc<Parker>> {
        self.lists.ms.pop()
    }

    /// Go's `mput`: the calling M goes to sleep on `parker` next.
    pub(crate) fn put_m(&mut self, parker: Arc<Parker>) {
        self.lists.ms.push(parker);
    }

    pub(crate) fn idle_ms(&self) -> usize {
        self.lists.ms.len()
    }

    /// Queues a `block_on` M for the next free P.
    pub(crate) fn wait_for_p(&mut self, parker: Arc<Parker>) {
        self.lists.p_waiters.push_back(parker);
        self.idle.p_waiters.fetch_add(1, Relaxed);
    }

    /// The first `block_on` M waiting for a P, if any.
    pub(crate) fn take_p_waiter(&mut self) -> Option<Arc<Parker>> {
        let waiter = self.lists.p_waiters.pop_front()?;
        self.idle.p_waiters.fetch_sub(1, Relaxed);
        Some(waiter)
    }

    /// Forgets `parker` as a P waiter (its M is leaving).
    pub(crate) fn cancel_wait_for_p(&mut self, parker: &Arc<Parker>) {
        let before = self.lists.p_waiters.len();
        self.lists.p_waiters.retain(|w| !Arc::ptr_eq(w, parker));
        let removed = before - self.lists.p_waiters.len();
        self.idle.p_waiters.fetch_sub(removed, Relaxed);
    }

    /// Every parked M and P waiter (for shutdown).
    pub(crate) fn all_parkers(&mut self) -> Vec<Arc<Parker>> {
        let mut all: Vec<_> = self.lists.ms.drain(..).collect();
        all.extend(self.lists.p_waiters.drain(..));
        self.idle.p_waiters.store(0, Relaxed);
        all
    }

    /// Takes every idle P (shutdown).
    pub(crate) fn drain_ps(&mut self) -> Vec<PLocal> {
        self.idle.npidle.store(0, SeqCst);
        self.lists.ps.drain(..).collect()
    }
}
