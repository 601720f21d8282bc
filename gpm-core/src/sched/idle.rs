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

use super::loom::{fence, AtomicBool, AtomicUsize, Mutex, MutexGuard};
use super::p::{PLocal, P};
use super::park::Parker;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

pub(crate) struct Idle {
    lists: Mutex<Lists>,
    /// Number of Ps in the idle list.
    pub(crate) npidle: AtomicUsize,
    /// Number of Ms that hold a P and are looking for work.
    pub(crate) nmspinning: AtomicUsize,
    /// Set when `wakep` wanted a spinning M but found no idle P: the next M
    /// about to give up its P looks around once more instead.
    pub(crate) needspinning: AtomicBool,
}

pub(crate) struct Lists {
    /// Ps no M holds.
    ps: Vec<PLocal>,
    /// Ms asleep without a P, waiting for `startm`.
    ms: Vec<Arc<Parker>>,
}

impl Idle {
    /// All Ps start idle.
    pub(crate) fn new(ps: Vec<PLocal>) -> Idle {
        let n = ps.len();
        Idle {
            lists: Mutex::new(Lists { ps, ms: Vec::new() }),
            npidle: AtomicUsize::new(n),
            nmspinning: AtomicUsize::new(0),
            needspinning: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> IdleGuard<'_> {
        IdleGuard {
            idle: self,
            lists: self.lists.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// The decision half of Go's `wakep`, called after new work was made
    /// runnable: returns a P for a new spinning M to take, or `None` when
    /// nobody needs to be woken (someone spins already, or every P is busy,
    /// in which case `needspinning` tells the next M releasing a P to look
    /// again). On `Some`, `nmspinning` already counts the M to be started.
    pub(crate) fn wakep_claim(&self, ps: &[P]) -> Option<PLocal> {
        // Submit work -> barrier -> check spinning: pairs with the fence in
        // `release_p` after an M stops spinning.
        fence(SeqCst);
        if self.nmspinning.load(SeqCst) != 0 {
            return None;
        }
        if self.npidle.load(SeqCst) == 0 {
            if self.needspinning.load(SeqCst) {
                return None;
            }
            // Set under the lock, which serialises with an M about to release
            // its P: it checks the flag under the same lock.
            let lists = self.lock();
            if self.npidle.load(SeqCst) == 0 {
                self.needspinning.store(true, SeqCst);
                return None;
            }
            drop(lists);
        }
        if self.nmspinning.compare_exchange(0, 1, SeqCst, SeqCst).is_err() {
            return None;
        }
        let p = self.lock().take_p_for_spinning(ps);
        if p.is_none() {
            self.nmspinning.fetch_sub(1, SeqCst);
        }
        p
    }

    /// The end of Go's `findRunnable` for an M that found nothing: give `p`
    /// back, stop spinning, and look once more.
    ///
    /// `global_has_work` is checked under the idle lock before the P goes;
    /// `any_work` (every queue) after a spinning M has stopped spinning.
    /// Returns `Some(p)` when the M should look again with `p` (then
    /// `spinning` says whether it now spins), `None` when the P is released
    /// and the M should sleep.
    pub(crate) fn release_p(
        &self,
        ps: &[P],
        p: PLocal,
        spinning: &mut bool,
        global_has_work: impl Fn() -> bool,
        any_work: impl Fn() -> bool,
    ) -> Option<PLocal> {
        let mut lists = self.lock();
        if global_has_work() {
            return Some(p);
        }
        if !*spinning && self.needspinning.load(SeqCst) {
            // A `wakep` found every P busy and left this flag for us: become
            // spinning (whatever the spinning limit says) and look again.
            // Go's "delicate dance" in `findRunnable`.
            self.become_spinning();
            *spinning = true;
            return Some(p);
        }
        lists.put_p(ps, p);
        drop(lists);
        if std::mem::take(spinning) {
            // Stop spinning -> barrier -> recheck: pairs with `wakep_claim`.
            self.nmspinning.fetch_sub(1, SeqCst);
            fence(SeqCst);
            if any_work() {
                if let Some(p) = self.lock().take_p_for_spinning(ps) {
                    self.become_spinning();
                    *spinning = true;
                    return Some(p);
                }
            }
        }
        None
    }

    /// Go's `becomeSpinning`: counts one more spinning M; it will look at
    /// every queue, which answers any pending `needspinning`.
    pub(crate) fn become_spinning(&self) {
        self.nmspinning.fetch_add(1, SeqCst);
        self.needspinning.store(false, SeqCst);
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

    /// Go's `pidlegetSpinning`: an idle P for an M that is to spin because
    /// it saw work. With none idle, the work sits on a busy P whose M may be
    /// blocked: set `needspinning`, so that the next M to release its P (it
    /// checks the flag under this lock) spins instead of sleeping.
    pub(crate) fn take_p_for_spinning(&mut self, ps: &[P]) -> Option<PLocal> {
        let p = self.take_p(ps);
        if p.is_none() {
            self.idle.needspinning.store(true, SeqCst);
        }
        p
    }

    /// Go's `pidleput`.
    pub(crate) fn put_p(&mut self, ps: &[P], p: PLocal) {
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

    /// Takes `parker` off the idle-M list; false if it is not there (then
    /// somebody took it to hand it a P, under this lock).
    pub(crate) fn remove_m(&mut self, parker: &Arc<Parker>) -> bool {
        match self.lists.ms.iter().position(|m| Arc::ptr_eq(m, parker)) {
            Some(i) => {
                self.lists.ms.swap_remove(i);
                true
            }
            None => false,
        }
    }

    pub(crate) fn idle_ms(&self) -> usize {
        self.lists.ms.len()
    }

    /// Every parked M (for shutdown).
    pub(crate) fn all_parkers(&mut self) -> Vec<Arc<Parker>> {
        self.lists.ms.drain(..).collect()
    }

    /// Takes every idle P (shutdown).
    pub(crate) fn drain_ps(&mut self) -> Vec<PLocal> {
        self.idle.npidle.store(0, SeqCst);
        self.lists.ps.drain(..).collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_the_busy_ps_spin() {
        let idle = Idle::new(Vec::new());
        // 4 Ps, all busy: up to 2 spinning Ms.
        assert!(idle.may_spin(4));
        idle.nmspinning.store(1, SeqCst);
        assert!(idle.may_spin(4));
        idle.nmspinning.store(2, SeqCst);
        assert!(!idle.may_spin(4));
        // 2 of 4 Ps idle: the 2 busy ones allow 1 spinner.
        idle.npidle.store(2, SeqCst);
        idle.nmspinning.store(0, SeqCst);
        assert!(idle.may_spin(4));
        idle.nmspinning.store(1, SeqCst);
        assert!(!idle.may_spin(4));
        // Every P idle: nobody spins.
        idle.npidle.store(4, SeqCst);
        idle.nmspinning.store(0, SeqCst);
        assert!(!idle.may_spin(4));
    }
}
