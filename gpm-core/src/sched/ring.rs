//! The P's local run queue: a fixed ring of 256 slots, single producer,
//! many consumers (Go's `runq`, `runqput`, `runqget`, `runqsteal`).
//!
//! The owner of the P pushes at the tail and pops at the head; idle Ms steal
//! half of it from the head. Ownership is in the types: [`Local`] (exactly one,
//! moved with the P from M to M) may push and pop, [`Steal`] (shared) may only
//! steal.
//!
//! # Protocol
//! `tail` is written only by the owner (release store, publishing the slot it
//! just filled). `head` packs two 32-bit indices, `steal` (high half) and
//! `real` (low half). `real` is where the next pop or steal starts. While a
//! thief copies slots out, `steal` stays behind at the start of the claimed
//! range, so the owner treats those slots as occupied and never overwrites a
//! slot that is still being read: the owner's free-space test is
//! `tail - steal < CAPACITY`. Only one thief at a time can be mid-steal
//! (`steal != real` makes others back off). Every index is a wrapping `u32`;
//! a slot is `index & MASK`.
//!
//! Go copies first and claims after; in Rust that would read a slot the owner
//! may be writing, so the claim comes first (tokio's two-index scheme).

use super::loom::{unsync_load_u32, Arc, AtomicU32, AtomicU64, UnsafeCell};
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};

/// Slots in a P's ring: Go's `runq` length. Shrunk to 4 under loom so that
/// the models reach "full" and "wrap around" in a few steps.
#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
/// Slots in a P's ring (loom: 4, so models reach the edge cases quickly).
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;

const MASK: usize = CAPACITY - 1;

/// How many Gs a full ring moves to the global queue, besides the new one
/// (Go's `runqputslow`: half the ring).
pub(crate) const SPILL: usize = CAPACITY / 2;

/// Where a full ring sends its spill: the global queue in the scheduler.
pub(crate) trait Overflow<T> {
    /// Takes a batch of `SPILL + 1` items in FIFO order, all at once.
    fn push_batch(&self, batch: Vec<T>);
}

struct Inner<T> {
    /// `steal` index in the high 32 bits, `real` head in the low 32 bits.
    head: AtomicU64,
    /// Next slot the owner writes. Written only by the owner.
    tail: AtomicU32,
    /// The slots. A slot in `[steal, tail)` holds an initialised value.
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the ring hands each `T` to exactly one thread (claims are made with
// CAS on `head`), so sharing the ring only needs `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; all shared access goes through the atomics' protocol.
unsafe impl<T: Send> Sync for Inner<T> {}

/// The owner's half of a ring: push and pop. Exactly one exists per ring.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
}

/// The thieves' half of a ring: steal and look. Cheap to clone.
pub(crate) struct Steal<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal {
            inner: self.inner.clone(),
        }
    }
}

/// Creates an empty ring, returning its owner's and its thieves' halves.
pub(crate) fn new<T>() -> (Local<T>, Steal<T>) {
    let buffer = (0..CAPACITY).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (Local { inner: inner.clone() }, Steal { inner })
}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

impl<T> Inner<T> {
    /// Number of values between the real head and the tail (a snapshot).
    fn len(&self) -> usize {
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(real) as usize
    }

    /// Moves the value out of slot `index`.
    ///
    /// # Safety
    /// The caller must have claimed `index` through `head` (so no one else
    /// reads it) and the slot must hold an initialised value.
    unsafe fn take(&self, index: u32) -> T {
        self.buffer[index as usize & MASK].with(|ptr| {
            // SAFETY: the caller's contract: the slot is initialised and ours.
            unsafe { (*ptr).assume_init_read() }
        })
    }

    /// Writes `value` into slot `index`.
    ///
    /// # Safety
    /// Only the owner may call this, for an index in `[tail, steal + CAPACITY)`
    /// (a free slot that no thief is reading).
    unsafe fn put(&self, index: u32, value: T) {
        self.buffer[index as usize & MASK].with_mut(|ptr| {
            // SAFETY: the caller's contract: the slot is free and ours.
            unsafe { (*ptr).write(value) };
        });
    }
}

impl<T> Local<T> {
    /// Number of values in the ring (excluding any being stolen right now).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when a push now would spill to the global queue.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_full(&self) -> bool {
        self.free_slots() == 0
    }

    /// How many pushes fit before the ring spills (slots being stolen right
    /// now count as taken).
    pub(crate) fn free_slots(&self) -> usize {
        let (steal, _) = unpack(self.inner.head.load(Acquire));
        let tail = unsync_load_u32(&self.inner.tail);
        CAPACITY.saturating_sub(tail.wrapping_sub(steal) as usize)
    }

    /// Pushes `value` at the tail (Go's `runqput` without `next`).
    ///
    /// When the ring is full, `SPILL` values from the head plus `value` go to
    /// `overflow` in one batch (Go's `runqputslow`). If a thief is mid-steal
    /// the ring cannot give up half, so `value` alone goes to `overflow`.
    /// Returns true when something was spilled.
    pub(crate) fn push_back(&mut self, mut value: T, overflow: &impl Overflow<T>) -> bool {
        let tail = loop {
            let head = self.inner.head.load(Acquire);
            let (steal, real) = unpack(head);
            // Only this thread writes `tail`.
            let tail = unsync_load_u32(&self.inner.tail);
            if (tail.wrapping_sub(steal) as usize) < CAPACITY {
                break tail;
            } else if steal != real {
                // A thief is taking values out right now: the ring will have
                // room in a moment, but this value should not wait for it.
                overflow.push_batch(vec![value]);
                return true;
            } else {
                match self.spill(value, real, tail, overflow) {
                    Ok(()) => return true,
                    // A thief or nobody moved head: look again.
                    Err(v) => value = v,
                }
            }
        };
        // SAFETY: `tail - steal < CAPACITY`, so slot `tail` is free, and only
        // the owner (us, `&mut self`) writes slots.
        unsafe { self.inner.put(tail, value) };
        // Release: a thief that acquires the new tail sees the slot's value.
        self.inner.tail.store(tail.wrapping_add(1), Release);
        false
    }

    /// Pushes the values of `values` at the tail, in order, and publishes
    /// them with one store of `tail` (the global queue's batch; Go's
    /// `globrunqget` puts them one at a time). Returns how many were pushed:
    /// all of them, up to the free slots (thieves only make room).
    pub(crate) fn push_back_many(&mut self, values: impl IntoIterator<Item = T>) -> usize {
        let room = self.free_slots();
        // Only this thread writes `tail`.
        let tail = unsync_load_u32(&self.inner.tail);
        let mut n = 0u32;
        for value in values.into_iter().take(room) {
            // SAFETY: fewer than `room` slots are filled past `tail` and
            // `room` counts slots being stolen as taken, so slot `tail + n`
            // is free; only the owner (us, `&mut self`) writes slots.
            unsafe { self.inner.put(tail.wrapping_add(n), value) };
            n += 1;
        }
        // Release: a thief that acquires the new tail sees every slot.
        self.inner.tail.store(tail.wrapping_add(n), Release);
        n as usize
    }

    /// Moves the oldest `SPILL` values and `value` to `overflow`.
    fn spill(&mut self, value: T, head: u32, tail: u32, overflow: &impl Overflow<T>) -> Result<(), T> {
        debug_assert_eq!(
            tail.wrapping_sub(head) as usize,
            CAPACITY,
            "spill of a ring that is not full"
        );
        let prev = pack(head, head);
        let next_head = head.wrapping_add(SPILL as u32);
        // Claim the first half for ourselves. Release is not needed for the
        // slots (we are the writer); AcqRel orders us after competing thieves.
        if self
            .inner
            .head
            .compare_exchange(prev, pack(next_head, next_head), AcqRel, Acquire)
            .is_err()
        {
            return Err(value);
        }
        let mut batch = Vec::with_capacity(SPILL + 1);
        for i in 0..SPILL as u32 {
            // SAFETY: the CAS above claimed `[head, head + SPILL)`; these
            // slots were initialised (the ring was full) and no thief can
            // claim them any more.
            batch.push(unsafe { self.inner.take(head.wrapping_add(i)) });
        }
        batch.push(value);
        overflow.push_batch(batch);
        Ok(())
    }

    /// Pops the value at the head (the oldest), if any.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let mut head = self.inner.head.load(Acquire);
        let index = loop {
            let (steal, real) = unpack(head);
            let tail = unsync_load_u32(&self.inner.tail);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // With no steal in progress both halves move together; otherwise
            // only `real` moves and the thief will catch `steal` up.
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match self.inner.head.compare_exchange(head, next, AcqRel, Acquire) {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS claimed `index`; it is below `tail`, so initialised.
        Some(unsafe { self.inner.take(index) })
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        // Values left in the ring are dropped with it. Only the owner drops,
        // and thieves hold `Steal` clones, which never touch the values
        // without claiming them first; drain so each value is dropped once.
        while self.pop().is_some() {}
    }
}

impl<T> Steal<T> {
    /// Number of values in the ring (a snapshot; it may be stale at once).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when the ring looked empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steals half of this ring, rounded up (Go's `runqgrab`: `n - n/2`),
    /// into `dst` and returns one of the stolen values to run now.
    ///
    /// `dst` must be the thief's own ring. Returns `None` when there was
    /// nothing to take, another thief was mid-steal, or `dst` lacks room.
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        let dst_tail = unsync_load_u32(&dst.inner.tail);
        let (dst_steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) as usize > CAPACITY - CAPACITY / 2 {
            // Not enough room for half of a full ring; the thief has work anyway.
            return None;
        }
        let mut n = self.grab_into(dst, dst_tail);
        if n == 0 {
            return None;
        }
        // Run the last stolen value now; publish the others.
        n -= 1;
        let last = dst_tail.wrapping_add(n);
        // SAFETY: `grab_into` wrote `[dst_tail, dst_tail + n + 1)` in `dst`,
        // which nobody else can see until we publish `tail`.
        let value = unsafe { dst.inner.take(last) };
        if n > 0 {
            // Release: thieves of `dst` that acquire the tail see the slots.
            dst.inner.tail.store(dst_tail.wrapping_add(n), Release);
        }
        Some(value)
    }

    /// Claims half of this ring and moves it into `dst` starting at
    /// `dst_tail`, without publishing it there. Returns how many moved.
    fn grab_into(&self, dst: &mut Local<T>, dst_tail: u32) -> u32 {
        let mut prev = self.inner.head.load(Acquire);
        let (n, next) = loop {
            let (steal, real) = unpack(prev);
            if steal != real {
                // Another thief is mid-steal; Go would retry, but that thief
                // is already taking half, so leave this victim to it.
                return 0;
            }
            // Acquire: pairs with the owner's release store of `tail`, so the
            // slots below it are initialised when we read them.
            let tail = self.inner.tail.load(Acquire);
            let len = tail.wrapping_sub(real);
            if len == 0 || len as usize > CAPACITY {
                // Empty, or a torn snapshot (head moved under us): give up.
                return 0;
            }
            let n = len - len / 2;
            // Move `real` past the claim; `steal` stays, fencing the slots.
            let next = pack(steal, real.wrapping_add(n));
            match self.inner.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break (n, next),
                Err(actual) => prev = actual,
            }
        };
        let (first, _) = unpack(next);
        for i in 0..n {
            // SAFETY: `[first, first + n)` is claimed by our CAS and the owner
            // will not overwrite it while `steal` lags behind. The destination
            // slots are above `dst`'s tail and `dst` is ours (`&mut`).
            unsafe {
                let value = self.inner.take(first.wrapping_add(i));
                dst.inner.put(dst_tail.wrapping_add(i), value);
            }
        }
        // Let the owner reuse the slots: catch `steal` up with `real`, which
        // the owner may have moved meanwhile by popping.
        let mut prev = next;
        loop {
            let (_, real) = unpack(prev);
            match self
                .inner
                .head
                .compare_exchange(prev, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => return n,
                Err(actual) => {
                    let (steal, real) = unpack(actual);
                    debug_assert_ne!(steal, real, "steal finished by someone else");
                    prev = actual;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    #[derive(Default)]
    struct Global(StdMutex<Vec<Vec<u32>>>);

    impl Overflow<u32> for Global {
        fn push_batch(&self, batch: Vec<u32>) {
            self.0.lock().unwrap().push(batch);
        }
    }

    #[test]
    fn fifo_order() {
        let (mut local, _) = new::<u32>();
        let global = Global::default();
        for i in 0..10 {
            assert!(!local.push_back(i, &global));
        }
        let popped: Vec<u32> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(popped, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_batch_push_fills_the_free_slots_in_order_and_leaves_the_rest() {
        let (mut local, steal) = new::<u32>();
        let global = Global::default();
        for i in 0..10 {
            local.push_back(i, &global);
        }
        let mut rest = (10..CAPACITY as u32 + 20).peekable();
        assert_eq!(local.push_back_many(&mut rest), CAPACITY - 10);
        // The values that did not fit are still in the iterator.
        assert_eq!(rest.peek(), Some(&(CAPACITY as u32)));
        assert!(local.is_full());
        // A thief sees the whole batch: it takes half, from the head.
        let (mut thief, _) = new::<u32>();
        assert_eq!(steal.steal_into(&mut thief), Some(CAPACITY as u32 / 2 - 1));
        let mut all: Vec<u32> = std::iter::from_fn(|| thief.pop()).collect();
        all.extend(std::iter::from_fn(|| local.pop()));
        assert_eq!(
            all,
            (0..CAPACITY as u32)
                .filter(|&v| v != CAPACITY as u32 / 2 - 1)
                .collect::<Vec<_>>()
        );
        assert!(global.0.lock().unwrap().is_empty());
    }

    #[test]
    fn full_ring_spills_half_plus_new_in_one_batch() {
        let (mut local, _) = new::<u32>();
        let global = Global::default();
        for i in 0..CAPACITY as u32 {
            assert!(!local.push_back(i, &global));
        }
        assert!(local.is_full());
        assert!(local.push_back(9999, &global));
        let batches = global.0.lock().unwrap();
        assert_eq!(batches.len(), 1, "one batch, one lock");
        let batch = &batches[0];
        assert_eq!(batch.len(), 129);
        assert_eq!(&batch[..128], &(0..128).collect::<Vec<_>>()[..]);
        assert_eq!(batch[128], 9999);
        assert_eq!(local.len(), 128);
        assert_eq!(local.pop(), Some(128));
    }

    #[test]
    fn steal_takes_half_rounded_up_and_returns_the_last() {
        for n in 1..=CAPACITY as u32 {
            let (mut victim, stealer) = new::<u32>();
            let (mut thief, _) = new::<u32>();
            let global = Global::default();
            for i in 0..n {
                victim.push_back(i, &global);
            }
            let taken = n - n / 2;
            let got = stealer.steal_into(&mut thief).expect("something to steal");
            assert_eq!(got, taken - 1, "n = {n}");
            assert_eq!(thief.len() as u32, taken - 1, "n = {n}");
            assert_eq!(victim.len() as u32, n - taken, "n = {n}");
            // The victim keeps the newest, the thief got the oldest in order.
            let stolen: Vec<u32> = std::iter::from_fn(|| thief.pop()).collect();
            assert_eq!(stolen, (0..taken - 1).collect::<Vec<_>>());
            assert_eq!(victim.pop(), Some(taken).filter(|_| taken < n));
        }
    }

    #[test]
    fn steal_from_empty_is_none() {
        let (_victim, stealer) = new::<u32>();
        let (mut thief, _) = new::<u32>();
        assert!(stealer.steal_into(&mut thief).is_none());
    }

    #[test]
    fn wraps_around_many_times() {
        let (mut local, stealer) = new::<u32>();
        let (mut thief, _) = new::<u32>();
        let global = Global::default();
        let mut expected_sum = 0u64;
        let mut sum = 0u64;
        let rounds: u32 = if cfg!(miri) { 30 } else { 1000 };
        for round in 0..rounds {
            for i in 0..100 {
                let v = round * 100 + i;
                expected_sum += u64::from(v);
                local.push_back(v, &global);
            }
            if let Some(v) = stealer.steal_into(&mut thief) {
                sum += u64::from(v);
            }
            while let Some(v) = thief.pop() {
                sum += u64::from(v);
            }
            while let Some(v) = local.pop() {
                sum += u64::from(v);
            }
        }
        assert_eq!(sum, expected_sum);
        assert!(global.0.lock().unwrap().is_empty());
    }

    #[test]
    fn concurrent_steal_loses_and_duplicates_nothing() {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
        let (mut local, stealer) = new::<u32>();
        let global = Global::default();
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let stolen_sum = std::sync::Arc::new(AtomicU64::new(0));
        let stolen_count = std::sync::Arc::new(AtomicU64::new(0));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let stealer = stealer.clone();
                let done = done.clone();
                let (sum, count) = (stolen_sum.clone(), stolen_count.clone());
                std::thread::spawn(move || {
                    let (mut mine, _) = new::<u32>();
                    while !done.load(SeqCst) {
                        if let Some(v) = stealer.steal_into(&mut mine) {
                            sum.fetch_add(u64::from(v), SeqCst);
                            count.fetch_add(1, SeqCst);
                        }
                        while let Some(v) = mine.pop() {
                            sum.fetch_add(u64::from(v), SeqCst);
                            count.fetch_add(1, SeqCst);
                        }
                    }
                })
            })
            .collect();
        // Fewer under Miri, which runs some 1 000 times slower.
        const N: u32 = if cfg!(miri) { 3_000 } else { 200_000 };
        let mut own_sum = 0u64;
        let mut own_count = 0u64;
        for v in 0..N {
            local.push_back(v, &global);
            if v % 3 == 0 {
                if let Some(v) = local.pop() {
                    own_sum += u64::from(v);
                    own_count += 1;
                }
            }
        }
        while let Some(v) = local.pop() {
            own_sum += u64::from(v);
            own_count += 1;
        }
        done.store(true, SeqCst);
        for t in thieves {
            t.join().unwrap();
        }
        let spilled: Vec<u32> = global.0.lock().unwrap().iter().flatten().copied().collect();
        let total_count = own_count + stolen_count.load(SeqCst) + spilled.len() as u64;
        let total_sum = own_sum + stolen_sum.load(SeqCst) + spilled.iter().map(|&v| u64::from(v)).sum::<u64>();
        assert_eq!(total_count, u64::from(N));
        assert_eq!(total_sum, u64::from(N) * u64::from(N - 1) / 2);
    }

    #[test]
    fn drop_drops_every_value_once() {
        let counter = std::sync::Arc::new(());
        let (mut local, stealer) = new::<std::sync::Arc<()>>();
        struct Nowhere;
        impl Overflow<std::sync::Arc<()>> for Nowhere {
            fn push_batch(&self, _: Vec<std::sync::Arc<()>>) {}
        }
        for _ in 0..10 {
            local.push_back(counter.clone(), &Nowhere);
        }
        assert_eq!(std::sync::Arc::strong_count(&counter), 11);
        drop(local);
        drop(stealer);
        assert_eq!(std::sync::Arc::strong_count(&counter), 1);
    }
}
