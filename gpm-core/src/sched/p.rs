//! P: a processor, the right to run Gs (Go's `p`).
//!
//! There are exactly GOMAXPROCS Ps. Each has a `runnext` slot and a
//! 256-slot [ring](super::ring). A P is split in two, so that ownership is in
//! the types:
//! - [`P`] is the shared half, in the scheduler's array: `runnext` (an
//!   atomic slot that thieves may empty), the thieves' end of the ring, and
//!   counters that sysmon and `stats()` read.
//! - [`PLocal`] is the owned half: the ring's owner end and the P's random
//!   state. Exactly one exists per P; it moves from M to M (`acquirep` /
//!   `releasep`) and sits in the idle list while no M holds it.
//!
//! # Rules (Go's `runqput` / `runqget`)
//! - A G readied by the running G goes to `runnext`; the G it kicks out goes
//!   to the ring's tail. Other Gs go to the tail.
//! - A full ring moves 128 Gs plus the new one to the global queue at once.
//! - `runnext` is taken first and inherits the time slice (no `schedtick`
//!   bump), so a ping-pong pair shares one slice.

use super::g::G;
use super::global::GlobalQueue;
use super::loom::{AtomicBool, AtomicPtr};
use super::ring::{self, Local, Steal};
use crossbeam_utils::CachePadded;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::{
    AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, SeqCst},
};

/// The shared half of a P. Aligned to a cache-line pair so that the owner's
/// writes (schedtick, counters) do not slow down the neighbouring P's.
#[repr(align(128))]
pub(crate) struct P {
    /// One G to run next.
    pub(crate) runnext: RunNext<G>,
    /// The thieves' end of the ring.
    pub(crate) stealer: Steal<G>,
    /// Gs started from this P's ring or the global queue (not runnext).
    /// Written only by the owner; read by sysmon and `stats()`.
    pub(crate) schedtick: AtomicU64,
    /// Set by sysmon when this P ran one time slice without taking a G from
    /// its ring or the global queue; cleared when it does.
    pub(crate) preempt: std::sync::atomic::AtomicBool,
    /// True while the P is in the idle list (thieves skip idle Ps).
    pub(crate) idle: AtomicBool,
    // The fields below are written by the owner on every spawn or poll;
    // each has a cache line of its own, away from the fields thieves read
    // (runnext, the ring's head, idle), so that a thief's look does not
    // turn every spawn or poll into a cache miss.
    /// Events counted while this P was held, by
    /// [`Count`](super::shared::Count).
    pub(crate) counts: CachePadded<[AtomicU64; super::shared::COUNTS]>,
    /// The owned half while its M polls a goroutine (see `hold.rs`).
    pub(crate) hold: CachePadded<super::hold::Hold>,
    /// Polls started with this P (owner-written; sysmon spots a poll that
    /// lasts too long by this not moving).
    pub(crate) polls: CachePadded<AtomicU64>,
    /// The id of the M in `gpm::syscall` with this P, or 0.
    pub(crate) syscall_m: AtomicU64,
    /// Syscalls entered with this P (Go's `syscalltick`; owner-written).
    pub(crate) syscall_tick: AtomicU64,
    /// The length of the owner's list of yielded Gs (owner-written): work
    /// that sysmon sees, so that it hands the P over when its thread blocks.
    pub(crate) yielded: AtomicUsize,
}

/// The owned half of a P; see the module docs. It lives in a box of its
/// own and moves as one pointer: an M parks it in its P's hold and takes it
/// back around every poll (`hold.rs`), and a profile of `yield_many` put
/// 15% of its samples in the function that takes the P back, nearly half
/// of them on copying the whole struct.
pub(crate) struct PLocal(Box<PLocalState>);

impl std::ops::Deref for PLocal {
    type Target = PLocalState;
    fn deref(&self) -> &PLocalState {
        &self.0
    }
}

impl std::ops::DerefMut for PLocal {
    fn deref_mut(&mut self) -> &mut PLocalState {
        &mut self.0
    }
}

/// What a [`PLocal`] holds.
pub(crate) struct PLocalState {
    /// Index in the scheduler's array.
    pub(crate) id: usize,
    /// The ring's owner end.
    pub(crate) ring: Local<G>,
    /// Mirror of `P::schedtick`, so the owner never reads the atomic.
    pub(crate) schedtick: u64,
    /// Gs that called `yield_now` on this P while every P was busy, in
    /// order: the global queue's tail, appended there when this P next
    /// looks at it (see `global.rs`). Its length is published in
    /// `P::yielded` ([`PLocal::publish_yielded`]).
    pub(crate) yielded: Vec<G>,
}

/// Creates P number `id`, as its shared and owned halves.
pub(crate) fn new(id: usize) -> (P, PLocal) {
    let (local, stealer) = ring::new();
    let p = P {
        runnext: RunNext::new(),
        stealer,
        schedtick: AtomicU64::new(0),
        preempt: std::sync::atomic::AtomicBool::new(false),
        idle: AtomicBool::new(true),
        counts: CachePadded::new(Default::default()),
        hold: CachePadded::new(super::hold::Hold::new()),
        polls: CachePadded::new(AtomicU64::new(0)),
        syscall_m: AtomicU64::new(0),
        syscall_tick: AtomicU64::new(0),
        yielded: AtomicUsize::new(0),
    };
    (
        p,
        PLocal(Box::new(PLocalState {
            id,
            ring: local,
            schedtick: 0,
            yielded: Vec::new(),
        })),
    )
}

/// A value that can travel as one raw pointer (a `Runnable`).
pub(crate) trait IntoRaw {
    fn into_raw(self) -> NonNull<()>;
    /// # Safety
    /// `ptr` must come from `into_raw` of the same type, and be used once.
    unsafe fn from_raw(ptr: NonNull<()>) -> Self;
}

impl<M> IntoRaw for async_task::Runnable<M> {
    fn into_raw(self) -> NonNull<()> {
        async_task::Runnable::into_raw(self)
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller's contract.
        unsafe { async_task::Runnable::from_raw(ptr) }
    }
}

/// The runnext slot: one value, put by the owner, taken by the owner or a
/// thief. Both take with `swap`, so exactly one of them gets it. An M
/// polling with the P in its hold may also [`fill`](RunNext::fill) the
/// slot when it is empty, without taking the P out of the hold.
pub(crate) struct RunNext<T: IntoRaw> {
    ptr: AtomicPtr<()>,
    _marker: PhantomData<T>,
}

impl<T: IntoRaw> RunNext<T> {
    pub(crate) fn new() -> RunNext<T> {
        RunNext {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _marker: PhantomData,
        }
    }

    /// Puts `value` in the slot and returns what it kicked out, if anything.
    pub(crate) fn put(&self, value: T) -> Option<T> {
        // AcqRel: whoever takes the pointer out must see what was published
        // with it, and we must see what the kicked-out one published.
        let old = self.ptr.swap(value.into_raw().as_ptr(), AcqRel);
        // SAFETY: non-null values in the slot come from `into_raw` and the
        // swap made us their only owner.
        NonNull::new(old).map(|old| unsafe { T::from_raw(old) })
    }

    /// Puts `value` in the slot if it is empty: `Ok` with the value's
    /// address (for [`RunNext::take_if`]), or `Err(value)` if the slot was
    /// occupied.
    ///
    /// SeqCst, as the load in [`RunNext::is_occupied`]: an M that fills the
    /// slot during its poll then checks that its P is still in its hold
    /// (`Hold::is_held_by`), and sysmon, after taking the P from the hold
    /// (`Hold::retake`), checks the slot for work. In one total order of
    /// those four operations, at least one of the two checks sees the
    /// other's write, so the value is never left on a P nobody runs. (In
    /// C++20's model, which Rust's atomics follow: each check reads a value
    /// the other's write came after, which puts the check before that write
    /// in the total order of SeqCst operations; both checks missing would
    /// make that order a cycle. loom does not model SeqCst loads
    /// (tokio-rs/loom#180), so under loom a SeqCst fence after the write
    /// stands for that order, in the model of `loom_tests.rs`.)
    pub(crate) fn fill(&self, value: T) -> Result<*mut (), T> {
        let raw = value.into_raw().as_ptr();
        match self.ptr.compare_exchange(ptr::null_mut(), raw, SeqCst, Relaxed) {
            Ok(_) => {
                #[cfg(loom)]
                super::loom::fence(SeqCst);
                Ok(raw)
            }
            // SAFETY: `raw` came from `into_raw` just above and was not
            // published: it is still ours.
            Err(_) => Err(unsafe { T::from_raw(NonNull::new_unchecked(raw)) }),
        }
    }

    /// Takes the value, if any (owner or thief).
    pub(crate) fn take(&self) -> Option<T> {
        if self.ptr.load(Acquire).is_null() {
            return None;
        }
        let old = self.ptr.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `put`.
        NonNull::new(old).map(|old| unsafe { T::from_raw(old) })
    }

    /// A thief's take: only if the slot still holds the value it saw
    /// (`seen`, from [`RunNext::peek`]) after pausing. If the owner ran that
    /// one and readied another meanwhile, the thief leaves the new one alone.
    pub(crate) fn take_if(&self, seen: *mut ()) -> Option<T> {
        if seen.is_null() {
            return None;
        }
        self.ptr.compare_exchange(seen, ptr::null_mut(), AcqRel, Acquire).ok()?;
        // SAFETY: as in `put`: the CAS made us the only owner of `seen`.
        NonNull::new(seen).map(|seen| unsafe { T::from_raw(seen) })
    }

    /// The value's address, to compare later with [`RunNext::take_if`].
    pub(crate) fn peek(&self) -> *mut () {
        self.ptr.load(Acquire)
    }

    /// True if the slot holds a value (a snapshot). SeqCst: see
    /// [`RunNext::fill`].
    pub(crate) fn is_occupied(&self) -> bool {
        !self.ptr.load(SeqCst).is_null()
    }
}

impl<T: IntoRaw> Drop for RunNext<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl P {
    /// Puts `g` in runnext and returns the G it kicked out, if any.
    pub(crate) fn put_runnext(&self, g: G) -> Option<G> {
        self.runnext.put(g)
    }

    /// Puts `g` in runnext if it is empty (see [`RunNext::fill`]).
    pub(crate) fn fill_runnext(&self, g: G) -> Result<*mut (), G> {
        self.runnext.fill(g)
    }

    /// Takes the G at `seen` back out of runnext, unless someone took it.
    pub(crate) fn take_runnext_if(&self, seen: *mut ()) -> Option<G> {
        self.runnext.take_if(seen)
    }

    /// Takes the G in runnext, if any (owner or thief).
    pub(crate) fn take_runnext(&self) -> Option<G> {
        self.runnext.take()
    }

    /// True if runnext holds a G (a snapshot).
    pub(crate) fn has_runnext(&self) -> bool {
        self.runnext.is_occupied()
    }

    /// True if this P looks like it has Gs to run (a snapshot).
    pub(crate) fn has_work(&self) -> bool {
        !self.stealer.is_empty() || self.has_runnext()
    }
}

/// Where [`PLocal::put`] left the new G.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Put {
    /// In runnext, which was empty: nothing new for other Ms to steal.
    RunNext,
    /// In the ring (itself, or the G it kicked out of runnext).
    Queued,
    /// The ring was full: 128 + 1 Gs went to the global queue.
    Spilled,
    /// In the P's list of yielded Gs (`ready::queue_yielded`), which no
    /// other M can take: waking one would find nothing. They go to the
    /// global queue, and an M is woken, before this M's next poll if a P
    /// is idle by then (`m::flush_yielded`).
    Yielded,
}

impl PLocal {
    /// Go's `runqput`: `next` puts `g` in runnext (its old occupant goes to
    /// the ring's tail).
    ///
    /// The caller then calls `wakep`, as Go does after every `runqput`, even
    /// for [`Put::RunNext`]: if the current poll blocks its thread, a
    /// spinning M must be there to steal runnext. (Skipping that wake halves
    /// a ping-pong round trip, 966 -> 488 ns in `examples/tour.rs`, but it
    /// strands the G when the poll blocks: tokio's `spawn_many_local` bench
    /// hung that way. It waits for sysmon, which can wake an M for a P
    /// whose runnext has not moved for a tick.)
    pub(crate) fn put(&mut self, shared: &P, g: G, next: bool, global: &GlobalQueue) -> Put {
        let g = if next {
            match shared.put_runnext(g) {
                Some(kicked) => kicked,
                None => return Put::RunNext,
            }
        } else {
            g
        };
        if self.ring.push_back(g, global) {
            Put::Spilled
        } else {
            Put::Queued
        }
    }

    /// Go's `runqget`: runnext first, then the ring's head. The flag is true
    /// when the G came from runnext (it inherits the time slice).
    pub(crate) fn get(&mut self, shared: &P) -> Option<(G, bool)> {
        if let Some(g) = shared.take_runnext() {
            return Some((g, true));
        }
        self.ring.pop().map(|g| (g, false))
    }

    /// Moves the yielded Gs, in order, into the empty ring and returns the
    /// first. Those that do not fit stay yielded.
    pub(crate) fn take_yielded(&mut self, shared: &P) -> Option<G> {
        let this = &mut *self.0;
        let room = this.ring.free_slots();
        let n = this.yielded.len().min(room + 1);
        let mut batch = this.yielded.drain(..n);
        let first = batch.next();
        for g in batch {
            // Cannot spill: at most `room` pushes.
            this.ring.push_back(g, &NoOverflow);
        }
        self.publish_yielded(shared);
        first
    }

    /// Publishes the length of the yielded list for sysmon (a store: only
    /// the owner writes it).
    pub(crate) fn publish_yielded(&self, shared: &P) {
        if shared.yielded.load(Relaxed) != self.yielded.len() {
            shared.yielded.store(self.yielded.len(), Relaxed);
        }
    }

    /// Counts a G started from the ring or the global queue.
    pub(crate) fn tick(&mut self, shared: &P) {
        self.schedtick += 1;
        shared.schedtick.store(self.schedtick, Relaxed);
        // A new time slice starts.
        if shared.preempt.load(Relaxed) {
            shared.preempt.store(false, Relaxed);
        }
    }
}

/// The overflow target of pushes that have room by construction.
struct NoOverflow;

impl ring::Overflow<G> for NoOverflow {
    fn push_batch(&self, _: Vec<G>) {
        unreachable!("a push sized to the ring's free slots overflowed");
    }
}
