//! The global run queue (Go's `sched.runq`): an unbounded FIFO shared by all Ps.
//!
//! Gs arrive here from outside the runtime (std threads, other runtimes),
//! from `yield_now`, and in batches of 129 when a P's ring overflows.
//!
//! `yield_now` (Go's `Gosched`) puts a G at this queue's tail, but only
//! while the queue holds something: when it is empty, the tail of the
//! yielding P's ring is the same place in the order and costs no lock
//! (`sched.rs`). Either way the G stays where thieves and sysmon see it.
//! (gpm once kept yielded Gs in a list private to their P, appended here in
//! batches; a G in it waited behind any poll that blocked its P's thread,
//! issue 10.) A mutex around a `VecDeque` makes both ends batch operations
//! under one lock, which `crossbeam_queue::SegQueue` cannot do; `len`
//! mirrors the length so that the scheduler can look without locking.

use crate::g::G;
use crate::ring::{self, Overflow};
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

    /// Takes one G from the head: the every-61-ticks check.
    pub(crate) fn pop(&self) -> Option<G> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.lock();
        let g = q.pop_front();
        self.len.store(q.len(), Relaxed);
        g
    }

    /// Go's `globrunqget`: takes `min(len / procs + 1, MAX_BATCH, room)`
    /// Gs, returns the first and pushes the rest into `local`.
    pub(crate) fn pop_batch(&self, procs: usize, local: &mut ring::Local<G>) -> Option<G> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.lock();
        let len = q.len();
        let room = local.free_slots();
        let n = (len / procs + 1).min(len).min(MAX_BATCH).min(room.max(1));
        let first = q.pop_front();
        for _ in 1..n {
            let g = q.pop_front().expect("len checked under the lock");
            // Cannot spill: `room` was checked and only we push to `local`.
            local.push_back(g, self_as_overflow_unreachable());
        }
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

/// The overflow target for pushes that have room by construction.
fn self_as_overflow_unreachable() -> &'static Unreachable {
    &Unreachable
}

struct Unreachable;

impl Overflow<G> for Unreachable {
    fn push_batch(&self, _: Vec<G>) {
        unreachable!("a global-queue batch overflowed the ring it was sized for");
    }
}
