//! Where a P's owned half waits while its M polls a goroutine, and how
//! sysmon takes it from an M stuck in that poll (Go's `_Psyscall` and
//! `retake`, applied to every poll).
//!
//! A poll cannot be interrupted, and one that blocks its thread (a CPU
//! loop, a blocking call, `gpm::syscall`) would keep every goroutine queued
//! on its P waiting. So an M never holds its P's [`PLocal`] across a poll:
//! it parks it here, marked with its own M id, and takes it back after.
//! Meanwhile sysmon may take it (when the poll has lasted too long and the
//! P has work) and hand it to another M. The ownership word decides who
//! has the P, with no ABA: M ids are never reused.
//!
//! # The word
//! - `0`: nobody is in a poll with this P (the cell is empty, or its owner
//!   holds it).
//! - `m << 1 | IN_POLL`: M `m` is polling a goroutine; the P waits in the
//!   cell and may be taken by `m` (after or during the poll) or sysmon.
//! - `m << 1`: M `m` is using the P for a moment during its poll (readying
//!   a goroutine); sysmon must wait.
//!
//! Whoever moves the word out of `IN_POLL` by CAS owns the cell's contents.

use super::loom::{AtomicU64, UnsafeCell};
use super::p::PLocal;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};

const IN_POLL: u64 = 1;

/// One P's hold.
pub(crate) struct Hold {
    word: AtomicU64,
    cell: UnsafeCell<Option<PLocal>>,
}

// SAFETY: the cell is only touched by the thread that owns it per the word
// protocol above (a CAS or the owner's own store before publishing).
unsafe impl Sync for Hold {}
// SAFETY: `PLocal` is `Send`; the hold only moves it between threads.
unsafe impl Send for Hold {}

impl Hold {
    pub(crate) fn new() -> Hold {
        Hold {
            word: AtomicU64::new(0),
            cell: UnsafeCell::new(None),
        }
    }

    /// M `m` (a nonzero id) starts a poll: the P waits here meanwhile.
    pub(crate) fn enter(&self, m: u64, p: PLocal) {
        debug_assert!(m != 0);
        debug_assert_eq!(self.word.load(Relaxed) & IN_POLL, 0, "a P entered twice");
        // SAFETY: the word is not `IN_POLL`, so no other thread reads or
        // writes the cell: sysmon only touches it after a CAS from `IN_POLL`.
        self.cell.with_mut(|cell| unsafe { *cell = Some(p) });
        // Release: whoever CASes the word next sees the P written above.
        self.word.store(m << 1 | IN_POLL, Release);
    }

    /// M `m`'s poll returned: its P back, or `None` if sysmon took it.
    pub(crate) fn leave(&self, m: u64) -> Option<PLocal> {
        // Acquire: see the P as whoever last published it left it.
        self.word.compare_exchange(m << 1 | IN_POLL, 0, AcqRel, Relaxed).ok()?;
        // SAFETY: the CAS out of `IN_POLL` made us the cell's only user.
        let p = self.cell.with_mut(|cell| unsafe { (*cell).take() });
        Some(p.expect("a held P was missing from its hold"))
    }

    /// During M `m`'s poll: runs `f` on the P if it is still `m`'s. Returns
    /// `None` (without running `f`) if sysmon took it, or if the P is
    /// already in use further up this thread's stack.
    pub(crate) fn with<R>(&self, m: u64, f: impl FnOnce(&mut PLocal) -> R) -> Option<R> {
        self.word
            .compare_exchange(m << 1 | IN_POLL, m << 1, Acquire, Relaxed)
            .ok()?;
        // Put the word back even if `f` unwinds, or the P would be lost.
        struct Restore<'a>(&'a AtomicU64, u64);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                // Release: publish what `f` did to the P.
                self.0.store(self.1 << 1 | IN_POLL, Release);
            }
        }
        let _restore = Restore(&self.word, m);
        self.cell.with_mut(|cell| {
            // SAFETY: the CAS out of `IN_POLL` made us the cell's only user
            // until `_restore` puts `IN_POLL` back.
            let p = unsafe { (*cell).as_mut() }.expect("a held P was missing from its hold");
            Some(f(p))
        })
    }

    /// True if some M is in a poll with this P (a snapshot, for sysmon).
    pub(crate) fn in_poll(&self) -> bool {
        self.word.load(Relaxed) != 0
    }

    /// True if M `m` is in a poll and still owns the P. SeqCst, as the
    /// CAS in [`Hold::retake`]: see `RunNext::fill`.
    #[inline]
    pub(crate) fn is_held_by(&self, m: u64) -> bool {
        self.word.load(SeqCst) == m << 1 | IN_POLL
    }

    /// sysmon: takes the P from the M polling with it, if any; returns it
    /// with that M's id.
    pub(crate) fn retake(&self) -> Option<(PLocal, u64)> {
        let word = self.word.load(Relaxed);
        if word & IN_POLL == 0 {
            return None;
        }
        // SeqCst: see `RunNext::fill` (a G put in runnext by the polling M
        // is either seen by whoever looks at the P next, or taken back).
        self.word.compare_exchange(word, 0, SeqCst, Relaxed).ok()?;
        // loom's stand-in for the SeqCst order (see `RunNext::fill`).
        #[cfg(loom)]
        super::loom::fence(SeqCst);
        // SAFETY: the CAS out of `IN_POLL` made us the cell's only user.
        let p = self.cell.with_mut(|cell| unsafe { (*cell).take() });
        Some((p.expect("a held P was missing from its hold"), word >> 1))
    }
}
