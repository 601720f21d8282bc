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
//! Dropping a `Sleep` marks its entry cancelled (one CAS); the heap drops
//! cancelled entries when they reach its top, empties itself when every
//! entry is cancelled, and rebuilds itself once more than half of it is
//! cancelled (Go rebuilds at a quarter; popping them one by one from a big
//! heap costs more than the rebuild). A million timers added and cancelled
//! cost O(log n) (O(1) for deadlines in rising order) and O(1) each.
//!
//! Times are nanoseconds since the runtime started ([`Clock`]'s start).
//!
//! # A bubble's clock
//! The timers of a bubble's runtime (`synctest`, see `bubble.rs`) read a
//! virtual clock instead of the real one: [`Timers::now`] is the time the
//! bubble's watcher last moved it to, no M sleeps for a timer (nothing is
//! due until the watcher says so), and the watcher fires the timers it
//! jumps to. Every other runtime pays one predictable branch in `now`.
//!
//! [`Clock`]: super::clock::Clock

use super::park::Parker;
use crossbeam_utils::CachePadded;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{
    AtomicU64, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

/// "No time": the earliest time of an empty heap, the deadline of no sleeper.
pub(crate) const NEVER: u64 = u64::MAX;

/// Names one timer: its heap, its slot there, and the slot's generation
/// when it was set (a slot is reused once its timer fires or is
/// cancelled, with the next generation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    shard: u32,
    index: u32,
    gen: u32,
}

/// A slot of a heap's slab: the goroutine to wake, while armed.
#[derive(Default)]
struct SlabSlot {
    /// Bumped each time the slot is freed.
    gen: u32,
    /// `Some` while the timer is armed.
    waker: Option<Waker>,
}

/// A heap entry: ordered by time, then by insertion (equal times fire in
/// the order they were added). Stale once its slot's generation moved on
/// (the timer was cancelled): dropped when it reaches the top, or by a
/// rebuild.
struct Slot {
    when: u64,
    seq: u64,
    index: u32,
    gen: u32,
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

/// One P's timers: a min-heap of deadlines over a slab of wakers (no
/// allocation per timer once the vectors have grown).
#[derive(Default)]
struct Heap {
    heap: BinaryHeap<Reverse<Slot>>,
    /// Timers added in rising order of deadline (the usual case: the same
    /// timeout set again and again), kept in a queue instead: appending is
    /// O(1) and touches no far-away heap node. A timer earlier than the
    /// queue's back goes to `heap`.
    run: std::collections::VecDeque<Slot>,
    slab: Vec<SlabSlot>,
    free: Vec<u32>,
    /// Stale entries in `heap` (cancelled timers).
    stale: usize,
    next_seq: u64,
}

impl Heap {
    fn is_live(slab: &[SlabSlot], s: &Slot) -> bool {
        let slot = &slab[s.index as usize];
        slot.gen == s.gen && slot.waker.is_some()
    }

    /// Frees slot `index`: its timer fired or was cancelled.
    fn free_slot(&mut self, index: u32) -> Option<Waker> {
        let slot = &mut self.slab[index as usize];
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(index);
        slot.waker.take()
    }

    fn top(&self) -> u64 {
        let heap = self.heap.peek().map_or(NEVER, |Reverse(s)| s.when);
        let run = self.run.front().map_or(NEVER, |s| s.when);
        heap.min(run)
    }

    fn len(&self) -> usize {
        self.heap.len() + self.run.len()
    }

    fn push(&mut self, slot: Slot) {
        if self.run.back().is_none_or(|back| back.when <= slot.when) {
            self.run.push_back(slot);
        } else {
            self.heap.push(Reverse(slot));
        }
    }

    /// Takes the earliest entry if it is due at `now`.
    fn pop_due(&mut self, now: u64) -> Option<Slot> {
        let heap = self.heap.peek().map(|Reverse(s)| (s.when, s.seq));
        let run = self.run.front().map(|s| (s.when, s.seq));
        match (heap, run) {
            (Some(h), Some(r)) if r < h => (r.0 <= now).then(|| self.run.pop_front()).flatten(),
            (Some(h), _) => (h.0 <= now).then(|| self.heap.pop().map(|Reverse(s)| s)).flatten(),
            (None, Some(r)) => (r.0 <= now).then(|| self.run.pop_front()).flatten(),
            (None, None) => None,
        }
    }

    fn clear(&mut self) {
        self.heap.clear();
        self.run.clear();
        self.stale = 0;
    }

    /// Drops the stale entries (rebuilds the heap).
    fn compact(&mut self) {
        let Heap { heap, run, slab, .. } = self;
        heap.retain(|Reverse(s)| Heap::is_live(slab, s));
        run.retain(|s| Heap::is_live(slab, s));
        self.stale = 0;
    }
}

/// One P's timers and their earliest deadline.
struct Shard {
    heap: Mutex<Heap>,
    /// Timers armed in this heap; written only under the heap's lock (a
    /// load and a store, no read-modify-write), read without it.
    armed: AtomicUsize,
    /// The time at the top of the heap (maybe a cancelled entry's: an early
    /// look is harmless), `NEVER` if empty. Read without the lock.
    earliest: AtomicU64,
}

impl Shard {
    /// Under the heap's lock only.
    fn add_armed(&self, n: usize) {
        self.armed.store(self.armed.load(Relaxed) + n, SeqCst);
    }

    /// Under the heap's lock only.
    fn sub_armed(&self, n: usize) {
        self.armed.store(self.armed.load(Relaxed) - n, SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Heap> {
        self.heap.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The M sleeping until the earliest timer.
#[derive(Default)]
struct Sleeper {
    parker: Option<Arc<Parker>>,
}

/// Every timer of a runtime.
pub(crate) struct Timers {
    shards: Box<[CachePadded<Shard>]>,
    /// The sleeper's deadline, `NEVER` if no M sleeps for timers.
    sleeper_until: AtomicU64,
    sleeper: Mutex<Sleeper>,
    /// `fire_due` calls under way: their timers are no longer armed, but
    /// the goroutines they wake may not be runnable yet. Deadlock detection
    /// counts them as armed.
    firing: AtomicUsize,
    /// Time zero.
    start: Instant,
    /// The runtime is a bubble's: time is `virtual_now`, not the real clock.
    bubble: bool,
    /// A bubble's current time, in nanoseconds since `start` (moved only
    /// by the bubble's watcher, forwards). Unused outside bubbles.
    virtual_now: AtomicU64,
}

impl Timers {
    pub(crate) fn new(procs: usize, start: Instant, bubble: bool) -> Timers {
        Timers {
            shards: (0..procs)
                .map(|_| {
                    CachePadded::new(Shard {
                        heap: Mutex::new(Heap::default()),
                        armed: AtomicUsize::new(0),
                        earliest: AtomicU64::new(NEVER),
                    })
                })
                .collect(),
            sleeper_until: AtomicU64::new(NEVER),
            sleeper: Mutex::new(Sleeper::default()),
            firing: AtomicUsize::new(0),
            start,
            bubble,
            virtual_now: AtomicU64::new(0),
        }
    }

    /// `instant` as nanoseconds since the start (0 if before it).
    pub(crate) fn to_nanos(&self, instant: Instant) -> u64 {
        instant
            .checked_duration_since(self.start)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(NEVER - 1))
    }

    /// The time now: the real clock's, or a bubble's virtual one.
    pub(crate) fn now(&self) -> u64 {
        if self.bubble {
            return self.virtual_now.load(SeqCst);
        }
        self.to_nanos(Instant::now())
    }

    /// True if these timers run on a bubble's virtual clock.
    pub(crate) fn is_virtual(&self) -> bool {
        self.bubble
    }

    /// Moves a bubble's clock forward to `nanos` (never back).
    pub(crate) fn advance_to(&self, nanos: u64) {
        debug_assert!(self.bubble, "only a bubble's clock is moved by hand");
        self.virtual_now.fetch_max(nanos, SeqCst);
    }

    /// Firings under way (their goroutines may not be queued yet).
    pub(crate) fn firing(&self) -> usize {
        self.firing.load(SeqCst)
    }

    /// `nanos` since the start as an `Instant`.
    pub(crate) fn to_instant(&self, nanos: u64) -> Instant {
        self.start + Duration::from_nanos(nanos)
    }

    /// Timers added and not yet fired or cancelled, plus firings whose
    /// wakers have not all run.
    pub(crate) fn armed(&self) -> usize {
        self.firing.load(SeqCst) + self.shards.iter().map(|s| s.armed.load(SeqCst)).sum::<usize>()
    }

    /// Adds a timer due at `deadline`, waking `waker` then, to the heap of
    /// P `p` (any shard if none).
    pub(crate) fn add(&self, deadline: Instant, waker: &Waker, p: Option<usize>) -> TimerKey {
        let when = self.to_nanos(deadline);
        let shard_index = p.unwrap_or(0) % self.shards.len();
        let shard = &self.shards[shard_index];
        let key = {
            let mut heap = shard.lock();
            shard.add_armed(1);
            let index = match heap.free.pop() {
                Some(i) => i,
                None => {
                    heap.slab.push(SlabSlot::default());
                    u32::try_from(heap.slab.len() - 1).expect("more than 4 billion timers on one P")
                }
            };
            let slot = &mut heap.slab[index as usize];
            slot.waker = Some(waker.clone());
            let gen = slot.gen;
            let seq = heap.next_seq;
            heap.next_seq += 1;
            heap.push(Slot { when, seq, index, gen });
            if when < shard.earliest.load(Relaxed) {
                // SeqCst: see the module docs (adder side of the handshake).
                shard.earliest.store(when, SeqCst);
            }
            TimerKey {
                shard: shard_index as u32,
                index,
                gen,
            }
        };
        if when < self.sleeper_until.load(SeqCst) {
            self.notify_sleeper();
        }
        key
    }

    /// While the timer is armed, makes `waker` the one it wakes and returns
    /// false; returns true if it has fired.
    pub(crate) fn update(&self, key: TimerKey, waker: &Waker) -> bool {
        let mut heap = self.shards[key.shard as usize].lock();
        let slot = &mut heap.slab[key.index as usize];
        if slot.gen != key.gen {
            return true;
        }
        match &slot.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => slot.waker = Some(waker.clone()),
        }
        false
    }

    /// Cancels a timer (its `Sleep` was dropped or reset). Returns false if
    /// it had fired already.
    pub(crate) fn cancel(&self, key: TimerKey) -> bool {
        let shard = &self.shards[key.shard as usize];
        let waker = {
            let mut heap = shard.lock();
            if heap.slab[key.index as usize].gen != key.gen {
                return false;
            }
            let waker = heap.free_slot(key.index);
            shard.sub_armed(1);
            heap.stale += 1;
            if heap.stale == heap.len() {
                // Nothing armed is left: drop the lot (no rebuild).
                heap.clear();
                shard.earliest.store(NEVER, SeqCst);
            } else if heap.stale > heap.len() / 2 + 64 {
                // More garbage than timers: rebuild without it (O(n) after
                // n/2 cancels, so O(1) per cancel).
                heap.compact();
                shard.earliest.store(heap.top(), SeqCst);
            }
            waker
        };
        // The waker (which keeps a goroutine's task alive) is dropped
        // outside the lock.
        drop(waker);
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
        self.shards.get(i).map_or(0, |s| s.lock().len())
    }

    /// Fires every timer due at `now`; returns how many. Wakers are called
    /// outside the heap locks.
    pub(crate) fn fire_due(&self, now: u64) -> usize {
        // Counted before any timer is disarmed, uncounted after every waker
        // ran (and so every woken goroutine is queued): `armed` never reads
        // zero in between.
        self.firing.fetch_add(1, SeqCst);
        struct Fired<'a>(&'a AtomicUsize);
        impl Drop for Fired<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, SeqCst);
            }
        }
        let _fired = Fired(&self.firing);
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            if shard.earliest.load(SeqCst) > now {
                continue;
            }
            let mut heap = shard.lock();
            while let Some(slot) = heap.pop_due(now) {
                if Heap::is_live(&heap.slab, &slot) {
                    shard.sub_armed(1);
                    wakers.extend(heap.free_slot(slot.index));
                } else {
                    heap.stale = heap.stale.saturating_sub(1);
                }
            }
            shard.earliest.store(heap.top(), SeqCst);
        }
        let n = wakers.len();
        for w in wakers {
            w.wake();
        }
        n
    }

    /// Fires due timers if any may be due (cheap when none is pending: an
    /// M calls it before every G it runs).
    #[inline]
    pub(crate) fn check(&self) -> usize {
        if self.shards.iter().all(|s| s.armed.load(Relaxed) == 0) {
            return 0;
        }
        self.check_armed()
    }

    /// [`Timers::check`] with some timer armed.
    #[inline(never)]
    fn check_armed(&self) -> usize {
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
        if self.bubble {
            // A bubble's timers are due when its watcher moves the clock,
            // never by the real one: nobody sleeps for them.
            return None;
        }
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

    /// True if some M sleeps until the earliest timer.
    pub(crate) fn has_sleeper(&self) -> bool {
        self.sleeper_until.load(SeqCst) != NEVER
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
            let wakers: Vec<Waker> = {
                let mut heap = shard.lock();
                heap.clear();
                shard.earliest.store(NEVER, SeqCst);
                let live: Vec<u32> = (0..heap.slab.len() as u32)
                    .filter(|&i| heap.slab[i as usize].waker.is_some())
                    .collect();
                let wakers: Vec<Waker> = live.into_iter().filter_map(|i| heap.free_slot(i)).collect();
                shard.sub_armed(wakers.len());
                wakers
            };
            drop(wakers);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    /// A waker that records what `armed()` said while it ran.
    struct Probe {
        timers: Arc<Timers>,
        armed_while_waking: AtomicUsize,
        woken: AtomicBool,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.armed_while_waking.store(self.timers.armed(), SeqCst);
            self.woken.store(true, SeqCst);
        }
    }

    /// Deadlock detection reads `armed()`: a timer must count until the
    /// goroutine it wakes is queued, which its waker does. (It read 0 while
    /// the wakers of fired timers ran, issue 10.)
    #[test]
    fn a_timer_counts_as_armed_until_its_waker_ran() {
        let start = Instant::now();
        let timers = Arc::new(Timers::new(2, start, false));
        let probe = Arc::new(Probe {
            timers: timers.clone(),
            armed_while_waking: AtomicUsize::new(usize::MAX),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(probe.clone());
        timers.add(start, &waker, Some(1));
        assert_eq!(timers.armed(), 1);
        assert_eq!(timers.fire_due(timers.now()), 1);
        assert!(probe.woken.load(SeqCst));
        assert!(
            probe.armed_while_waking.load(SeqCst) > 0,
            "a fired timer read as not armed before its waker ran"
        );
        assert_eq!(timers.armed(), 0, "nothing is armed once the wakers ran");
    }
}
