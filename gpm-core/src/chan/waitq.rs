//! A channel's queue of waiting senders or receivers (Go's `waitq`): an
//! intrusive doubly linked list of [`Sudog`]s, FIFO.
//!
//! Every method is called with the channel's lock held; the queue is part
//! of the state that lock protects.

use crate::sched::sudog::{self, Sudog};
use std::ptr::{self, NonNull};

/// A FIFO of sudogs.
pub(crate) struct WaitQueue {
    /// The longest waiter, or null.
    first: *mut Sudog,
    /// The newest waiter, or null.
    last: *mut Sudog,
}

impl WaitQueue {
    pub(crate) const fn new() -> WaitQueue {
        WaitQueue {
            first: ptr::null_mut(),
            last: ptr::null_mut(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_null()
    }

    /// Appends `sg` (Go's `enqueue`).
    ///
    /// # Safety
    /// `sg` is alive, in no queue, and stays alive until it is taken out of
    /// this one (by [`WaitQueue::dequeue`] or [`WaitQueue::remove`]).
    pub(crate) unsafe fn push_back(&mut self, sg: NonNull<Sudog>) {
        let p = sg.as_ptr();
        // SAFETY: the caller's contract; `last` is alive while in the queue.
        unsafe {
            debug_assert!(!(*p).linked, "a sudog enqueued twice");
            (*p).next = ptr::null_mut();
            (*p).prev = self.last;
            (*p).linked = true;
            if self.last.is_null() {
                self.first = p;
            } else {
                (*self.last).next = p;
            }
        }
        self.last = p;
    }

    /// Takes the first sudog out, whoever owns it.
    fn pop_front(&mut self) -> Option<NonNull<Sudog>> {
        let p = NonNull::new(self.first)?;
        // SAFETY: sudogs in the queue are alive (`push_back`'s contract).
        unsafe { self.unlink(p) };
        Some(p)
    }

    /// Go's `dequeue`: takes out the first sudog whose waiter this call
    /// claims; sudogs of selects that another case already won are dropped
    /// from the queue on the way (their owners see them unlinked).
    pub(crate) fn dequeue(&mut self) -> Option<NonNull<Sudog>> {
        while let Some(sg) = self.pop_front() {
            // SAFETY: it was in our queue, whose lock our caller holds.
            if unsafe { sudog::claim(sg) } {
                return Some(sg);
            }
        }
        None
    }

    /// Takes `sg` out if it is still in the queue (Go's `dequeueSudoG`).
    /// Returns false if somebody dequeued it already.
    ///
    /// # Safety
    /// `sg` is alive and, if linked, linked in this queue.
    pub(crate) unsafe fn remove(&mut self, sg: NonNull<Sudog>) -> bool {
        // SAFETY: the caller's contract.
        if !unsafe { (*sg.as_ptr()).linked } {
            return false;
        }
        // SAFETY: as above: it is in this queue.
        unsafe { self.unlink(sg) };
        true
    }

    /// # Safety
    /// `sg` is in this queue.
    unsafe fn unlink(&mut self, sg: NonNull<Sudog>) {
        let p = sg.as_ptr();
        // SAFETY: the caller's contract; its neighbours are in the queue too.
        unsafe {
            let (prev, next) = ((*p).prev, (*p).next);
            if prev.is_null() {
                self.first = next;
            } else {
                (*prev).next = next;
            }
            if next.is_null() {
                self.last = prev;
            } else {
                (*next).prev = prev;
            }
            (*p).next = ptr::null_mut();
            (*p).prev = ptr::null_mut();
            (*p).linked = false;
        }
    }
}
