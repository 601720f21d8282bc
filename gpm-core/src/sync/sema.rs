//! The queue of waiting goroutines behind every `sync` primitive (Go's
//! `sema.go`: `semaRoot`, `sudog`, `readyWithTime`, hand-off).
//!
//! Each primitive keeps one [`WaitQueue`] under a `std` mutex, next to an
//! atomic state word for its lock-free fast paths. A waiting future owns a
//! *slot* ([`Key`]) from the moment it first waits until it returns `Ready`
//! or is dropped. While the slot is linked it is in the FIFO; a releaser
//! unlinks the front slot and marks it [`Status::Woken`] (go and try
//! again) or [`Status::Granted`] (the lock or permits are already yours:
//! Go's `handoff`), then wakes its waker after dropping the lock. The slot
//! stays allocated until its owner looks at it, so a dropped future can
//! always tell what it had been given and pass it on.
//!
//! Go hashes a primitive's address into a global table of 251 queues to
//! keep `sync.Mutex` at 8 bytes. gpm keeps the queue in the primitive:
//! no hash lookup, no contention between unrelated primitives, at the cost
//! of a few words per primitive. The key that Go's table gives a waiter
//! is here the slot index.
//!
//! Slots live in a `Vec` (a slab) with a free list, linked into a
//! doubly-linked list by index: push at either end, pop at the front and
//! remove from the middle are O(1), and no `unsafe` is needed.

use std::task::Waker;

/// No slot: the end of a list.
const NIL: u32 = u32::MAX;

/// Keep at most this many free slots' memory once the queue drains (a burst
/// of 10 000 waiters should not pin its memory for ever).
const RETAINED_SLOTS: usize = 64;

/// A waiter's slot, owned by its waiting future.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key(u32);

/// Where a waiter stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Linked into the queue, waiting its turn.
    Queued,
    /// Out of the queue but not yet served (an `RwLock`'s pending writer,
    /// which waits for the readers to leave).
    Aside,
    /// Taken out of the queue and woken to try again (Go's normal-mode
    /// `Mutex` wake-up); it competes with newcomers.
    Woken,
    /// Taken out of the queue and handed what it waited for.
    Granted,
}

/// One slot.
#[derive(Debug)]
struct Slot<T> {
    /// The waiter's waker (taken when the waiter is woken).
    waker: Option<Waker>,
    /// Where the waiter stands; `None` while the slot is free.
    status: Option<Status>,
    /// What the primitive keeps per waiter (weight, start time, kind).
    data: T,
    /// Previous slot in the queue (`NIL` at the head or when unlinked).
    prev: u32,
    /// Next slot in the queue, or in the free list while free.
    next: u32,
}

/// A FIFO of waiters with per-waiter data `T`; see the module docs.
#[derive(Debug)]
pub(crate) struct WaitQueue<T> {
    /// The slab.
    slots: Vec<Slot<T>>,
    /// First free slot (`NIL` if none).
    free: u32,
    /// First and last linked slots (`NIL` when empty).
    head: u32,
    tail: u32,
    /// Linked slots.
    len: usize,
    /// Allocated slots (linked or not).
    allocated: usize,
}

impl<T> WaitQueue<T> {
    pub(crate) const fn new() -> WaitQueue<T> {
        WaitQueue {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
            allocated: 0,
        }
    }

    /// Number of waiters in the queue (not counting unlinked slots).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Allocates a slot for a new waiter and links it at the back.
    pub(crate) fn push_back(&mut self, waker: &Waker, data: T) -> Key {
        let key = self.alloc(waker, data);
        self.link_back(key);
        key
    }

    /// Allocates a slot that is not linked (status [`Status::Aside`]).
    pub(crate) fn push_aside(&mut self, waker: &Waker, data: T) -> Key {
        let key = self.alloc(waker, data);
        self.slot_mut(key).status = Some(Status::Aside);
        key
    }

    /// Links an unlinked slot back in at the front (Go's `queueLifo`: a
    /// woken waiter that lost the race keeps its place at the head).
    pub(crate) fn requeue_front(&mut self, key: Key, waker: &Waker) {
        debug_assert_ne!(self.status(key), Status::Queued);
        self.set_waker(key, waker);
        let old_head = self.head;
        {
            let slot = self.slot_mut(key);
            slot.status = Some(Status::Queued);
            slot.prev = NIL;
            slot.next = old_head;
        }
        if old_head == NIL {
            self.tail = key.0;
        } else {
            self.slots[old_head as usize].prev = key.0;
        }
        self.head = key.0;
        self.len += 1;
    }

    /// The first waiter, if any.
    pub(crate) fn front(&self) -> Option<Key> {
        (self.head != NIL).then_some(Key(self.head))
    }

    /// Unlinks the first waiter and gives it `status`; returns its key and
    /// waker (to wake once the primitive's lock is dropped).
    pub(crate) fn pop_front(&mut self, status: Status) -> Option<(Key, Option<Waker>)> {
        let key = self.unlink_front(status)?;
        Some((key, self.slot_mut(key).waker.take()))
    }

    /// Unlinks the first waiter and gives it `status`, keeping its waker
    /// (to set it aside: it is not woken yet).
    pub(crate) fn unlink_front(&mut self, status: Status) -> Option<Key> {
        let key = self.front()?;
        self.unlink(key);
        self.slot_mut(key).status = Some(status);
        Some(key)
    }

    /// Where the waiter stands.
    pub(crate) fn status(&self, key: Key) -> Status {
        self.slot(key)
            .status
            .expect("gpm::sync: a waiter's slot was freed under it")
    }

    /// Changes an unlinked waiter's status; returns its waker.
    pub(crate) fn set_status(&mut self, key: Key, status: Status) -> Option<Waker> {
        debug_assert_ne!(self.status(key), Status::Queued);
        let slot = self.slot_mut(key);
        slot.status = Some(status);
        slot.waker.take()
    }

    /// The waiter's data.
    pub(crate) fn data(&self, key: Key) -> &T {
        &self.slot(key).data
    }

    /// Stores the waker of the waiter's latest poll.
    pub(crate) fn set_waker(&mut self, key: Key, waker: &Waker) {
        let slot = self.slot_mut(key);
        match &mut slot.waker {
            Some(w) if w.will_wake(waker) => {}
            w => *w = Some(waker.clone()),
        }
    }

    /// Frees the waiter's slot (unlinking it if queued); returns the status
    /// it had, so that the owner can pass on whatever it was given.
    pub(crate) fn remove(&mut self, key: Key) -> Status {
        let status = self.status(key);
        if status == Status::Queued {
            self.unlink(key);
        }
        let free = self.free;
        let slot = self.slot_mut(key);
        slot.status = None;
        slot.waker = None;
        slot.next = free;
        self.free = key.0;
        self.allocated -= 1;
        if self.allocated == 0 && self.slots.len() > RETAINED_SLOTS {
            self.slots = Vec::new();
            self.free = NIL;
        }
        status
    }

    /// Iterates over the queued waiters' keys, front to back.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Key> + '_ {
        let mut at = self.head;
        std::iter::from_fn(move || {
            (at != NIL).then(|| {
                let key = Key(at);
                at = self.slots[at as usize].next;
                key
            })
        })
    }

    fn alloc(&mut self, waker: &Waker, data: T) -> Key {
        self.allocated += 1;
        let slot = Slot {
            waker: Some(waker.clone()),
            status: Some(Status::Queued),
            data,
            prev: NIL,
            next: NIL,
        };
        if self.free != NIL {
            let index = self.free;
            self.free = self.slots[index as usize].next;
            self.slots[index as usize] = slot;
            Key(index)
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("gpm::sync: more than 2^32 - 1 waiters on one primitive");
            self.slots.push(slot);
            Key(index)
        }
    }

    fn link_back(&mut self, key: Key) {
        let old_tail = self.tail;
        {
            let slot = self.slot_mut(key);
            slot.status = Some(Status::Queued);
            slot.prev = old_tail;
            slot.next = NIL;
        }
        if old_tail == NIL {
            self.head = key.0;
        } else {
            self.slots[old_tail as usize].next = key.0;
        }
        self.tail = key.0;
        self.len += 1;
    }

    fn unlink(&mut self, key: Key) {
        let (prev, next) = {
            let slot = self.slot(key);
            (slot.prev, slot.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let slot = self.slot_mut(key);
        slot.prev = NIL;
        slot.next = NIL;
        self.len -= 1;
    }

    fn slot(&self, key: Key) -> &Slot<T> {
        &self.slots[key.0 as usize]
    }

    fn slot_mut(&mut self, key: Key) -> &mut Slot<T> {
        &mut self.slots[key.0 as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(q: &WaitQueue<u32>) -> Vec<u32> {
        q.iter().map(|k| *q.data(k)).collect()
    }

    #[test]
    fn fifo_with_removal_from_the_middle_and_requeue_at_the_front() {
        let waker = Waker::noop();
        let mut q = WaitQueue::new();
        let keys: Vec<Key> = (0..5).map(|i| q.push_back(waker, i)).collect();
        assert_eq!(order(&q), [0, 1, 2, 3, 4]);
        assert_eq!(q.remove(keys[2]), Status::Queued);
        assert_eq!(order(&q), [0, 1, 3, 4]);
        let (first, _) = q.pop_front(Status::Woken).unwrap();
        assert_eq!(first, keys[0]);
        assert_eq!(q.status(first), Status::Woken);
        assert_eq!(order(&q), [1, 3, 4]);
        q.requeue_front(first, waker);
        assert_eq!(order(&q), [0, 1, 3, 4]);
        assert_eq!(q.remove(keys[4]), Status::Queued);
        let again = q.push_back(waker, 9);
        assert_eq!(again, keys[4], "free slots are reused");
        assert_eq!(order(&q), [0, 1, 3, 9]);
        assert_eq!(q.len(), 4);
        while let Some((key, _)) = q.pop_front(Status::Granted) {
            assert_eq!(q.remove(key), Status::Granted);
        }
        assert!(q.is_empty());
        assert_eq!(q.allocated, 0);
    }

    #[test]
    fn memory_is_given_back_once_a_burst_drains() {
        let waker = Waker::noop();
        let mut q = WaitQueue::new();
        let keys: Vec<Key> = (0..1000).map(|i| q.push_back(waker, i)).collect();
        for key in keys {
            q.remove(key);
        }
        assert_eq!(q.slots.capacity(), 0);
        let key = q.push_back(waker, 7);
        assert_eq!(order(&q), [7]);
        q.remove(key);
    }
}
