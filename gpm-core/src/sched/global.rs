//! The global run queue (Go's `sched.runq`): an unbounded FIFO shared by all Ps.
//!
//! Gs arrive here from outside the runtime (std threads, other runtimes),
//! from `yield_now`, and in batches of 129 when a P's ring overflows.
//!
//! `yield_now` (Go's `Gosched`) puts a G at this queue's tail. Go takes the
//! lock for every yield. gpm keeps a P's yielded Gs in a short list on the
//! P and appends them, in order, the next time that P looks at this queue
//! (every 61st tick, or when its ring is empty), under the same lock as the
//! batch it takes; or before its M's next poll, if by then a P is idle or
//! an M spins (somebody could run them now, `m::flush_yielded`). Nobody could have
//! taken them from here before that point without also taking everything
//! queued ahead of them, and the lock is taken once per batch instead of
//! once per yield (yield_many: 2.8x slower with a lock per yield, issue
//! 10). The list's length is published on the P, so that sysmon hands the
//! P over if its thread blocks with Gs in it (see `sysmon.rs`). When this
//! queue is empty, a yielded G goes to its P's ring instead, the same place
//! in the order (`ready.rs`), and the P takes its yielded Gs straight back
//! into its ring (`m.rs`). A mutex
//! around a `VecDeque` makes both ends batch operations under one lock, which
//! `crossbeam_queue::SegQueue` cannot do; `len` mirrors the length so that
//! the scheduler can look without locking.

use super::g::G;
use super::ring::{self, Overflow};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// Most Gs one `pop_batch` moves into a P's ring (Go: half the ring).
pub(crate) const MAX_BATCH: usize = ring::CAPACITY / 2;

#[derive(Default)]
pub(crate) struct GlobalQueue {
    queue: Mutex<VecDeque<G>>,
    /// Mirror of `queue.len()`, written under the lock, read without it.
    len: AtomicUsize,
}

impl GlobalQueue {
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<G>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, g: G) {
        let mut q = self.lock();
        q.push_back(g);
        self.len.store(q.len(), Relaxed);
    }

    /// Appends `gs` in order, under one lock.
    pub(crate) fn push_all(&self, gs: impl IntoIterator<Item = G>) {
        let mut q = self.lock();
        q.extend(gs);
        self.len.store(q.len(), Relaxed);
    }

    /// Appends `yielded` (a P's Gs that called `yield_now`, in order), then
    /// takes one G from the head: the every-61-ticks check.
    pub(crate) fn pop_after(&self, yielded: &mut Vec<G>) -> Option<G> {
        if yielded.is_empty() && self.is_empty() {
            return None;
        }
        let mut q = self.lock();
        q.extend(yielded.drain(..));
        let g = q.pop_front();
        self.len.store(q.len(), Relaxed);
        g
    }

    /// Go's `globrunqget`, after appending `yielded` as [`Self::pop_after`]
    /// does: takes `min(len / procs + 1, MAX_BATCH, room)` Gs, returns the
    /// first and pushes the rest into `local`. One lock for both.
    pub(crate) fn pop_batch(&self, procs: usize, yielded: &mut Vec<G>, local: &mut ring::Local<G>) -> Option<G> {
        if yielded.is_empty() && self.is_empty() {
            return None;
        }
        let mut q = self.lock();
        q.extend(yielded.drain(..));
        let len = q.len();
        let room = local.free_slots();
        let n = (len / procs + 1).min(len).min(MAX_BATCH).min(room.max(1));
        // `n` is 0 if another P emptied the queue since the look above.
        let first = q.pop_front();
        let rest = n.saturating_sub(1);
        // All fit: `room` was checked and only we push to `local` (and a
        // G that did not fit would stay in the queue, not be lost).
        let moved = local.push_back_many(std::iter::from_fn(|| q.pop_front()).take(rest));
        debug_assert_eq!(moved, rest);
        self.len.store(q.len(), Relaxed);
        first
    }

    /// Removes everything (shutdown).
    pub(crate) fn drain(&self) -> Vec<G> {
        let mut q = self.lock();
        self.len.store(0, Relaxed);
        q.drain(..).collect()
    }
}

impl Overflow<G> for GlobalQueue {
    fn push_batch(&self, batch: Vec<G>) {
        let mut q = self.lock();
        q.extend(batch);
        self.len.store(q.len(), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The emptiness look is made without the lock: by the time the lock is
    /// taken, another P may have emptied the queue.
    #[test]
    fn a_batch_from_a_queue_emptied_since_the_look_is_nothing() {
        let global = GlobalQueue::default();
        // What the look saw: one G (since taken by another P).
        global.len.store(1, Relaxed);
        let (mut local, _) = ring::new::<G>();
        assert!(global.pop_batch(2, &mut Vec::new(), &mut local).is_none());
        assert_eq!((global.len(), local.len()), (0, 0));
    }
}
