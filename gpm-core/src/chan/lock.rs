//! The channel lock (Go's `hchan.lock`): a test-and-test-and-set spin lock
//! that backs off to yielding the thread, as crossbeam-channel's
//! zero-capacity channel does.
//!
//! Why not `std::sync::Mutex`: its unlock must be a read-modify-write (to
//! see whether a thread sleeps on it), ours is a plain release store, and a
//! ping-pong takes the lock twice per message. The sections it guards are a
//! few moves and pointer updates that never block, so a waiter spins
//! briefly and, if the holder was descheduled, yields its thread until the
//! holder runs again (Go's runtime lock spins too before it sleeps).

use crossbeam_utils::Backoff;
use std::sync::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, Release},
};

/// A channel's lock.
pub(crate) struct ChanLock {
    locked: AtomicBool,
}

/// Proof that the lock is held; unlocks on drop.
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct ChanGuard<'a> {
    lock: &'a ChanLock,
}

impl ChanLock {
    pub(crate) const fn new() -> ChanLock {
        ChanLock {
            locked: AtomicBool::new(false),
        }
    }

    /// Takes the lock. `Acquire`: what the last holder wrote is visible.
    #[inline]
    pub(crate) fn lock(&self) -> ChanGuard<'_> {
        if self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ChanGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let backoff = Backoff::new();
        loop {
            // Wait for it to look free before trying again (no cache-line
            // ping-pong while it is held).
            while self.locked.load(Relaxed) {
                backoff.snooze();
            }
            if self.locked.compare_exchange_weak(false, true, Acquire, Relaxed).is_ok() {
                return;
            }
        }
    }
}

impl Drop for ChanGuard<'_> {
    /// `Release`: what we wrote is visible to the next holder.
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Release);
    }
}
