//! Timers: a min-heap per P, fired by the Ms (Go's `p.timers`, `checkTimers`).
//!
//! # How timers fire
//! - A timer goes into the heap of the P its goroutine runs on (a mutex per
//!   heap, uncontended unless another M is firing that P's timers).
//! - Every M looks at the heaps at the top of `find_runnable`, and fires the
//!   timers that are due with its P held: the woken goroutines go to that P,
//!   as Go's `checkTimers` readies them.
//! - When an M goes to sleep and timers are pending, one sleeping M (the
//!   *sleeper*, Go's M blocked in `netpoll(delay)`) sleeps only until the
//!   earliest timer. When it wakes on time it fires the due timers without a
//!   P: their goroutines go to the global queue and `wakep` starts an M.
//! - Adding a timer earlier than the sleeper's deadline notifies the
//!   sleeper, which sleeps again with the new deadline (Go's
//!   `wakeNetPoller`). The adder stores its heap's new earliest time and
//!   then reads the sleeper's deadline; the sleeper stores its deadline and
//!   then reads every heap's earliest time (both `SeqCst`): one of them sees
//!   the other.
//!
//! # Cancelling
//! Dropping a `Sleep` marks its entry cancelled (one atomic swap); the heap
//! drops cancelled entries when they reach its top, and rebuilds itself
//! once more than a quarter of it is cancelled (Go's `adjustTimers` rule),
//! so a million timers added and cancelled cost O(log n) and O(1) each.
//!
//! Times are nanoseconds since the runtime started ([`Clock`]'s start).
//!
//! [`Clock`]: crate::clock::Clock

use crate::park::Parker;
use crossbeam_utils::CachePadded;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{
    AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, SeqCst},
};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

/// "No time": the earliest time of an empty heap, the deadline of no sleeper.
pub(crate) const NEVER: u64 = u64::MAX;

/// `Entry::state`: in a heap, not yet due.
const ARMED: u8 = 0;
/// `Entry::state`: fired; the waker has been called.
const FIRED: u8 = 1;
/// `Entry::state`: cancelled (its `Sleep` was dropped or reset).
const CANCELLED: u8 = 2;

/// One timer, shared by its `Sleep` and the heap it waits in.
pub(crate) struct Entry {
    /// The heap it waits in.
    shard: usize,
    /// `ARMED`, `FIRED` or `CANCELLED`; only ever leaves `ARMED`, once.
    state: AtomicU8,
    /// The goroutine to wake.
    waker: Mutex<Option<Waker>>,
}

impl Entry {
    /// True once the timer has fired.
    pub(crate) fn fired(&self) -> bool {
        self.state.load(Acquire) == FIRED
    }

    /// Replaces the waker to call when the timer fires.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

/// A heap entry: ordered by time, then by insertion (equal times fire in
/// the order they were added).
struct Slot {
    when: u64,
    seq: u64,
    entry: Arc<Entry>,
}

impl PartialEq for Slot {
    fn eq(&self, other: &Slot) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Slot {}
impl PartialOrd for Slot {
    fn partial_cmp(&self, other: &Slot) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Slot {
    fn cmp(&self, other: &Slot) -> Ordering {
        (self.when, self.seq).cmp(&(other.when, other.seq))
    }
}

#[derive(Default)]
struct Heap {
    heap: BinaryHeap<Reverse<Slot>>,
    /// Entries in `heap` that are cancelled.
    cancelled: usize,
    next_seq: u64,
}

/// One P's timers.
struct Shard {
    heap: Mutex<Heap>,
    /// The time at the top of the heap (maybe a cancelled entry's: an early
    /// look is harmless), `NEVER` if empty. Read without the lock.
    earliest: AtomicU64,
}

/// The M sleeping until the earliest timer.
#[derive(Default)]
struct Sleeper {
    parker: Option<Arc<Parker>>,
}

/// Every timer of a runtime.
pub(crate) struct Timers {
    shards: Box<[CachePadded<Shard>]>,
    /// Timers armed (added and not yet fired or cancelled).
    armed: AtomicUsize,
    /// The sleeper's deadline, `NEVER` if no M sleeps for timers.
    sleeper_until: AtomicU64,
    sleeper: Mutex<Sleeper>,
    /// Time zero.
    start: Instant,
}

impl Timers {
    pub(crate) fn new(procs: usize, start: Instant) -> Timers {
        Timers {
            shards: (0..procs)
                .map(|_| {
                    CachePadded::new(Shard {
                        heap: Mutex::new(Heap::default()),
                        earliest: AtomicU64::new(NEVER),
                    })
                })
                .collect(),
            armed: AtomicUsize::new(0),
            sleeper_until: AtomicU64::new(NEVER),
            sleeper: Mutex::new(Sleeper::default()),
            start,
        }
    }

    /// `instant` as nanoseconds since the start (0 if before it).
    pub(crate) fn to_nanos(&self, instant: Instant) -> u64 {
        instant
            .checked_duration_since(self.start)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(NEVER - 1))
    }

    pub(crate) fn now(&self) -> u64 {
        self.to_nanos(Instant::now())
    }

    fn to_instant(&self, nanos: u64) -> Instant {
        self.start + Duration::from_nanos(nanos)
    }

    /// Timers added and not yet fired or cancelled.
    pub(crate) fn armed(&self) -> usize {
        self.armed.load(SeqCst)
    }

    /// Adds a timer due at `deadline`, waking `waker` then, to the heap of
    /// P `p` (any shard if none). Returns its entry.
    pub(crate) fn add(&self, deadline: Instant, waker: &Waker, p: Option<usize>) -> Arc<Entry> {
        let when = self.to_nanos(deadline);
        let shard_index = p.unwrap_or(0) % self.shards.len();
        let entry = Arc::new(Entry {
            shard: shard_index,
            state: AtomicU8::new(ARMED),
            waker: Mutex::new(Some(waker.clone())),
        });
        self.armed.fetch_add(1, SeqCst);
        let shard = &self.shards[shard_index];
        {
            let mut heap = shard.heap.lock().unwrap_or_else(|e| e.into_inner());
            let seq = heap.next_seq;
            heap.next_seq += 1;
            heap.heap.push(Reverse(Slot {
                when,
                seq,
                entry: entry.clone(),
            }));
            if when < shard.earliest.load(Relaxed) {
                // SeqCst: see the module docs (adder side of the handshake).
                shard.earliest.store(when, SeqCst);
            }
        }
        if when < self.sleeper_until.load(SeqCst) {
            self.notify_sleeper();
        }
        entry
    }

    /// Cancels a timer (its `Sleep` was dropped or reset). Returns false if
    /// it had fired already.
    pub(crate) fn cancel(&self, entry: &Entry) -> bool {
        if entry.state.compare_exchange(ARMED, CANCELLED, AcqRel, Acquire).is_err() {
            return false;
        }
        self.armed.fetch_sub(1, SeqCst);
        // Drop the waker now: it keeps the goroutine's task alive.
        entry.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        let shard = &self.shards[entry.shard];
        let mut heap = shard.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.cancelled += 1;
        if heap.cancelled > heap.heap.len() / 4 + 64 {
            heap.heap.retain(|Reverse(s)| s.entry.state.load(Relaxed) == ARMED);
            heap.cancelled = 0;
            let top = heap.heap.peek().map_or(NEVER, |Reverse(s)| s.when);
            shard.earliest.store(top, SeqCst);
        }
        true
    }

    /// The earliest time in any heap (`NEVER` if none).
    pub(crate) fn earliest(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.earliest.load(SeqCst))
            .min()
            .unwrap_or(NEVER)
    }

    /// True if some timer may be due at `now`.
    pub(crate) fn any_due(&self, now: u64) -> bool {
        self.earliest() <= now
    }

    /// Timers in P `i`'s heap (cancelled ones included until cleaned up).
    pub(crate) fn len_of(&self, i: usize) -> usize {
        self.shards
            .get(i)
            .map_or(0, |s| s.heap.lock().unwrap_or_else(|e| e.into_inner()).heap.len())
    }

    /// Fires every timer due at `now`; returns how many. Wakers are called
    /// outside the heap locks.
    pub(crate) fn fire_due(&self, now: u64) -> usize {
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            if shard.earliest.load(SeqCst) > now {
                continue;
            }
            let mut heap = shard.heap.lock().unwrap_or_else(|e| e.into_inner());
            while let Some(Reverse(top)) = heap.heap.peek() {
                if top.when > now {
                    break;
                }
                let Some(Reverse(slot)) = heap.heap.pop() else { break };
                match slot.entry.state.compare_exchange(ARMED, FIRED, AcqRel, Acquire) {
                    Ok(_) => {
                        self.armed.fetch_sub(1, SeqCst);
                        if let Some(w) = slot.entry.waker.lock().unwrap_or_else(|e| e.into_inner()).take() {
                            wakers.push(w);
                        }
                    }
                    Err(_) => heap.cancelled = heap.cancelled.saturating_sub(1),
                }
            }
            let top = heap.heap.peek().map_or(NEVER, |Reverse(s)| s.when);
            shard.earliest.store(top, SeqCst);
        }
        let n = wakers.len();
        for w in wakers {
            w.wake();
        }
        n
    }

    /// Fires due timers if any may be due (cheap when none is pending).
    pub(crate) fn check(&self) -> usize {
        if self.armed.load(Relaxed) == 0 {
            return 0;
        }
        let now = self.now();
        if self.any_due(now) {
            self.fire_due(now)
        } else {
            0
        }
    }

    // ----- the sleeper ---------------------------------------------------------

    /// Called by an M about to sleep: if timers are pending and no other M
    /// sleeps for them, this M becomes the sleeper and gets the deadline to
    /// sleep until; else `None` (sleep until woken).
    pub(crate) fn sleep_deadline(&self, parker: &Arc<Parker>) -> Option<Instant> {
        let mut sleeper = self.sleeper.lock().unwrap_or_else(|e| e.into_inner());
        match &sleeper.parker {
            Some(other) if !Arc::ptr_eq(other, parker) => return None,
            _ => {}
        }
        loop {
            let earliest = self.earliest();
            if earliest == NEVER {
                sleeper.parker = None;
                self.sleeper_until.store(NEVER, SeqCst);
                return None;
            }
            sleeper.parker = Some(parker.clone());
            // SeqCst: see the module docs (sleeper side of the handshake).
            self.sleeper_until.store(earliest, SeqCst);
            if self.earliest() >= earliest {
                return Some(self.to_instant(earliest));
            }
        }
    }

    /// The M woke (or is leaving): it no longer sleeps for timers.
    pub(crate) fn resign(&self, parker: &Arc<Parker>) {
        let mut sleeper = self.sleeper.lock().unwrap_or_else(|e| e.into_inner());
        if sleeper.parker.as_ref().is_some_and(|p| Arc::ptr_eq(p, parker)) {
            sleeper.parker = None;
            self.sleeper_until.store(NEVER, SeqCst);
        }
    }

    fn notify_sleeper(&self) {
        let sleeper = self.sleeper.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(parker) = &sleeper.parker {
            parker.notify();
        }
    }

    /// Drops every timer (shutdown): their wakers keep goroutines alive.
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            let slots: Vec<_> =
                std::mem::take(&mut shard.heap.lock().unwrap_or_else(|e| e.into_inner()).heap).into_vec();
            shard.earliest.store(NEVER, SeqCst);
            for Reverse(slot) in slots {
                if slot
                    .entry
                    .state
                    .compare_exchange(ARMED, CANCELLED, AcqRel, Acquire)
                    .is_ok()
                {
                    self.armed.fetch_sub(1, SeqCst);
                }
                slot.entry.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
            }
        }
    }
}
