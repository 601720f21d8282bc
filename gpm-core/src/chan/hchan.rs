//! The channel itself (Go's `hchan`): a lock, a ring of `cap` values, the
//! queues of waiting senders and receivers, and `closed`.
//!
//! Everything here runs with the channel's lock held and never calls user
//! code: values are moved, never dropped, and wakers are handed back to the
//! caller to wake after unlocking (waking runs the scheduler).
//!
//! # Invariants (under the lock)
//! - Receivers wait only while the buffer is empty: a non-empty `recvq`
//!   means an empty `buf`.
//! - Senders wait only while the buffer is full: a non-empty `sendq` means
//!   `buf.len() >= cap`.
//! - A closed channel has no waiters.
//!
//! # Values handed back
//! A receive (or select) that was handed a value but is dropped before it
//! returns it gives the value back with [`State::put_back`]: to the next
//! waiting receiver if there is one, else to the *front* of the buffer, so
//! the next receive takes it first. The buffer may then hold more than `cap`
//! values for a while; senders wait until it is below `cap` again. (Values
//! handed back by several dropped receives at once come back in the order
//! they were dropped, which need not be the order they were sent.)

use super::lock::{ChanGuard, ChanLock};
use super::waitq::WaitQueue;
use super::CloseError;
use crate::sched::sudog::{self, Sudog};
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::task::Waker;

/// A channel of `T` with room for `cap` values.
pub(crate) struct Hchan<T> {
    /// Guards `state` (one uncontended lock per operation).
    lock: ChanLock,
    /// The buffer, the wait queues and `closed`; only touched under `lock`.
    state: UnsafeCell<State<T>>,
    /// The buffer's capacity; 0 for a rendezvous channel.
    cap: usize,
    /// A timer's channel (Go 1.23's `isChan` timers): its one slot is the
    /// timer's, so `len` and `cap` read 0, as Go's do.
    timer: bool,
    /// The `synctest` bubble the channel was made in (0: none). Sends,
    /// receives, selects and closes from outside it panic, as Go's do.
    bubble: u32,
}

// SAFETY: the state is only touched under the lock; values of `T` move
// between threads through it, hence `T: Send`.
unsafe impl<T: Send> Send for Hchan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Hchan<T> {}

/// What the lock protects.
pub(crate) struct State<T> {
    /// Buffered values, oldest first (Go's `buf`, `sendx`, `recvx`).
    buf: VecDeque<T>,
    /// Waiting receivers (Go's `recvq`).
    recvq: WaitQueue,
    /// Waiting senders (Go's `sendq`).
    sendq: WaitQueue,
    /// Set once by `close`.
    closed: bool,
    /// The buffer's capacity (a copy of `Hchan::cap`, next to the data).
    cap: usize,
}

/// How a send or receive attempt under the lock went.
#[must_use]
pub(crate) enum Attempt {
    /// Done. A send took the value out of its slot; a receive put one in.
    /// The waker (of the waiter that took part) is to be woken after
    /// unlocking.
    Done(Option<Waker>),
    /// The channel is closed: a send's value is still in its slot; a
    /// receive's slot stays empty.
    Closed,
    /// The operation would have to wait.
    Blocked,
}

impl<T> Hchan<T> {
    pub(crate) fn new(cap: usize) -> Hchan<T> {
        Hchan {
            lock: ChanLock::new(),
            state: UnsafeCell::new(State {
                buf: VecDeque::with_capacity(cap),
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
                closed: false,
                cap,
            }),
            cap,
            timer: false,
            bubble: crate::sched::current_bubble(),
        }
    }

    /// A timer's channel: one slot, for the value of a timer that fired
    /// before anyone received (see `time/after.rs`).
    pub(crate) fn new_timer() -> Hchan<T> {
        let mut chan = Hchan::new(1);
        chan.timer = true;
        chan
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// True for a timer's channel.
    pub(crate) fn is_timer(&self) -> bool {
        self.timer
    }

    /// Panics if the channel belongs to a `synctest` bubble and the caller
    /// does not (Go's "send on synctest channel from outside bubble"); `op`
    /// is Go's word for the operation. One predictable branch outside
    /// bubbles.
    #[inline]
    pub(crate) fn check_bubble(&self, op: &str) {
        if self.bubble != 0 {
            crate::sched::check_bubble(self.bubble, op);
        }
    }

    /// Takes the lock.
    pub(crate) fn lock(&self) -> Locked<'_, T> {
        Locked {
            _guard: self.lock.lock(),
            chan: self,
        }
    }

    /// The state, for a caller that holds the lock.
    ///
    /// # Safety
    /// The caller holds `self.lock` and has no other reference to the state.
    #[allow(clippy::mut_from_ref)]
    unsafe fn state(&self) -> &mut State<T> {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.state.get() }
    }

    /// Closes the channel: wakes every waiter (Go's `closechan`).
    pub(crate) fn close(&self) -> Result<(), CloseError> {
        self.check_bubble("close of");
        let mut locked = self.lock();
        let wakers = locked.close()?;
        drop(locked);
        for waker in wakers {
            waker.wake();
        }
        Ok(())
    }
}

impl<T> Drop for Hchan<T> {
    fn drop(&mut self) {
        // Every waiting future borrows the channel (or holds a handle), and
        // takes its sudog out before it goes.
        let state = self.state.get_mut();
        debug_assert!(state.recvq.is_empty() && state.sendq.is_empty());
    }
}

/// The channel, locked.
pub(crate) struct Locked<'a, T> {
    _guard: ChanGuard<'a>,
    chan: &'a Hchan<T>,
}

impl<T> std::ops::Deref for Locked<'_, T> {
    type Target = State<T>;
    fn deref(&self) -> &State<T> {
        // SAFETY: we hold the lock; `&self` keeps the reference unique to us.
        unsafe { self.chan.state() }
    }
}

impl<T> std::ops::DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        // SAFETY: we hold the lock; `&mut self` makes the reference unique.
        unsafe { self.chan.state() }
    }
}

/// Takes the value out of a waiting sender's slot.
///
/// # Safety
/// `sg` is a sender's sudog of a `Hchan<T>` that the caller just dequeued
/// (and claimed) under the lock.
unsafe fn take_from<T>(sg: NonNull<Sudog>) -> T {
    // SAFETY: a sender's `elem` is its `Option<T>` slot, holding its value
    // until a receiver takes it; the claim makes us the one that does.
    unsafe { (*(sg.as_ref().elem as *mut Option<T>)).take() }.expect("a waiting sender without a value")
}

/// Puts `value` in a waiting receiver's slot.
///
/// # Safety
/// As [`take_from`], for a receiver's sudog.
unsafe fn give_to<T>(sg: NonNull<Sudog>, value: T) {
    // SAFETY: a receiver's `elem` is its empty `Option<T>` slot.
    unsafe { *(sg.as_ref().elem as *mut Option<T>) = Some(value) };
}

impl<T> State<T> {
    /// Go's `chansend` under the lock: hand the value to a waiting
    /// receiver, else buffer it, else report `Blocked`. The value is taken
    /// out of `slot` only if the send happens.
    pub(crate) fn try_send(&mut self, slot: &mut Option<T>) -> Attempt {
        if self.closed {
            return Attempt::Closed;
        }
        if let Some(sg) = self.recvq.dequeue() {
            let value = slot.take().expect("a send without a value");
            // SAFETY: a receiver we just dequeued and claimed, under the lock.
            return Attempt::Done(unsafe {
                give_to(sg, value);
                sudog::complete(sg)
            });
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(slot.take().expect("a send without a value"));
            return Attempt::Done(None);
        }
        Attempt::Blocked
    }

    /// Go's `chanrecv` under the lock: take the buffer's head (and move the
    /// first waiting sender's value into the freed slot), else take a
    /// waiting sender's value, else report `Closed` or `Blocked`. The value
    /// goes into `slot`, which must be empty.
    pub(crate) fn try_recv(&mut self, slot: &mut Option<T>) -> Attempt {
        debug_assert!(slot.is_none());
        if let Some(value) = self.buf.pop_front() {
            *slot = Some(value);
            let mut waker = None;
            if self.buf.len() < self.cap {
                if let Some(sg) = self.sendq.dequeue() {
                    // SAFETY: a sender we just dequeued and claimed.
                    let pulled = unsafe { take_from::<T>(sg) };
                    self.buf.push_back(pulled);
                    // SAFETY: as above.
                    waker = unsafe { sudog::complete(sg) };
                }
            }
            return Attempt::Done(waker);
        }
        if let Some(sg) = self.sendq.dequeue() {
            // SAFETY: a sender we just dequeued and claimed.
            return Attempt::Done(unsafe {
                *slot = Some(take_from::<T>(sg));
                sudog::complete(sg)
            });
        }
        if self.closed {
            Attempt::Closed
        } else {
            Attempt::Blocked
        }
    }

    /// Queues a waiting receiver.
    ///
    /// # Safety
    /// As [`WaitQueue::push_back`]; `sg.elem` is an empty `Option<T>` slot
    /// that outlives the wait.
    pub(crate) unsafe fn enqueue_recv(&mut self, sg: NonNull<Sudog>) {
        // SAFETY: the caller's contract.
        unsafe { self.recvq.push_back(sg) }
    }

    /// Queues a waiting sender.
    ///
    /// # Safety
    /// As [`WaitQueue::push_back`]; `sg.elem` is an `Option<T>` slot holding
    /// the value, that outlives the wait.
    pub(crate) unsafe fn enqueue_send(&mut self, sg: NonNull<Sudog>) {
        // SAFETY: the caller's contract.
        unsafe { self.sendq.push_back(sg) }
    }

    /// Takes a receiver's sudog out of the queue if it is still there.
    ///
    /// # Safety
    /// `sg` is alive, and queued on this channel's `recvq` if linked.
    pub(crate) unsafe fn remove_recv(&mut self, sg: NonNull<Sudog>) -> bool {
        // SAFETY: the caller's contract.
        unsafe { self.recvq.remove(sg) }
    }

    /// Takes a sender's sudog out of the queue if it is still there.
    ///
    /// # Safety
    /// `sg` is alive, and queued on this channel's `sendq` if linked.
    pub(crate) unsafe fn remove_send(&mut self, sg: NonNull<Sudog>) -> bool {
        // SAFETY: the caller's contract.
        unsafe { self.sendq.remove(sg) }
    }

    /// Gives back a value that a dropped receive had been handed: to the
    /// next waiting receiver, else to the front of the buffer (see the
    /// module docs).
    pub(crate) fn put_back(&mut self, value: T) -> Option<Waker> {
        if let Some(sg) = self.recvq.dequeue() {
            // SAFETY: a receiver we just dequeued and claimed.
            return unsafe {
                give_to(sg, value);
                sudog::complete(sg)
            };
        }
        self.buf.push_front(value);
        None
    }

    /// Go's `closechan` under the lock: marks the channel closed and
    /// completes every waiter; returns their wakers.
    fn close(&mut self) -> Result<Vec<Waker>, CloseError> {
        if self.closed {
            return Err(CloseError(()));
        }
        self.closed = true;
        let mut wakers = Vec::new();
        // Receivers get nothing (their slots stay empty); senders keep their
        // values, which their futures return in `SendError`.
        while let Some(sg) = self.recvq.dequeue() {
            // SAFETY: dequeued and claimed under the lock.
            wakers.extend(unsafe { sudog::complete(sg) });
        }
        while let Some(sg) = self.sendq.dequeue() {
            // SAFETY: as above.
            wakers.extend(unsafe { sudog::complete(sg) });
        }
        Ok(wakers)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Values in the buffer (may briefly exceed `cap`, see the module docs).
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }
}

/// A channel as a select sees it: its element type erased (Go's selectgo
/// works on `*hchan` and `unsafe.Pointer` slots the same way).
///
/// # Safety
/// Implementors treat `elem` as a pointer to an `Option<T>` of their own
/// element type; callers guarantee that it is one.
pub(crate) unsafe trait RawChan {
    /// The lock, to take several in address order.
    fn raw_lock(&self) -> ChanGuard<'_>;

    /// [`Hchan::check_bubble`].
    fn raw_check_bubble(&self, op: &str);

    /// The channel's address, which orders the locks.
    fn addr(&self) -> usize;

    /// [`State::try_recv`] into `*elem`.
    ///
    /// # Safety
    /// The lock is held; `elem` is an empty `*mut Option<T>` we may write.
    unsafe fn raw_try_recv(&self, elem: *mut ()) -> Attempt;

    /// [`State::try_send`] from `*elem`.
    ///
    /// # Safety
    /// The lock is held; `elem` is a full `*mut Option<T>` we may take from.
    unsafe fn raw_try_send(&self, elem: *mut ()) -> Attempt;

    /// Queues `sg` as a receiver (`send == false`) or a sender.
    ///
    /// # Safety
    /// The lock is held; as [`State::enqueue_recv`] / [`State::enqueue_send`].
    unsafe fn raw_enqueue(&self, sg: NonNull<Sudog>, send: bool);

    /// Takes `sg` out of its queue if it is still there.
    ///
    /// # Safety
    /// The lock is held; as [`State::remove_recv`] / [`State::remove_send`].
    unsafe fn raw_remove(&self, sg: NonNull<Sudog>, send: bool) -> bool;

    /// [`State::put_back`] of the value in `*elem`, if any.
    ///
    /// # Safety
    /// The lock is held; `elem` is a `*mut Option<T>` we may take from.
    unsafe fn raw_put_back(&self, elem: *mut ()) -> Option<Waker>;
}

// SAFETY: every method casts `elem` to `*mut Option<T>`, as the trait says.
unsafe impl<T> RawChan for Hchan<T> {
    fn raw_lock(&self) -> ChanGuard<'_> {
        self.lock.lock()
    }

    fn raw_check_bubble(&self, op: &str) {
        self.check_bubble(op);
    }

    fn addr(&self) -> usize {
        self as *const Hchan<T> as usize
    }

    unsafe fn raw_try_recv(&self, elem: *mut ()) -> Attempt {
        // SAFETY: the caller's contract.
        unsafe { self.state().try_recv(&mut *(elem as *mut Option<T>)) }
    }

    unsafe fn raw_try_send(&self, elem: *mut ()) -> Attempt {
        // SAFETY: the caller's contract.
        unsafe { self.state().try_send(&mut *(elem as *mut Option<T>)) }
    }

    unsafe fn raw_enqueue(&self, sg: NonNull<Sudog>, send: bool) {
        // SAFETY: the caller's contract.
        unsafe {
            if send {
                self.state().enqueue_send(sg)
            } else {
                self.state().enqueue_recv(sg)
            }
        }
    }

    unsafe fn raw_remove(&self, sg: NonNull<Sudog>, send: bool) -> bool {
        // SAFETY: the caller's contract.
        unsafe {
            if send {
                self.state().remove_send(sg)
            } else {
                self.state().remove_recv(sg)
            }
        }
    }

    unsafe fn raw_put_back(&self, elem: *mut ()) -> Option<Waker> {
        // SAFETY: the caller's contract.
        unsafe {
            let value = (*(elem as *mut Option<T>)).take()?;
            self.state().put_back(value)
        }
    }
}
