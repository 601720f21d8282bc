//! Sending and receiving: the futures of `send(v).await` and `recv().await`
//! (Go's `chansend` and `chanrecv` with `block = true`).
//!
//! The waiting part of each is a pinned "wait" ([`RecvWait`], [`SendWait`])
//! that owns the value slot, the [`Waiter`] and the sudog it queues while
//! parked. A plain operation has exactly one sudog, so it lives in the wait
//! itself, as the waiter does, instead of coming from the M's sudog cache
//! (Go's `acquireSudog`, which `select!` still uses for its many cases):
//! that saved about 100 instructions a parked operation (BENCHMARKS.md).
//! It does not hold the channel, so the same code serves the borrowing
//! futures and the `Stream` / `Sink` adapters, which keep one boxed wait
//! for their whole life. Its owner must pass the same channel to every
//! call while an operation is under way, and call `cancel` before dropping
//! it.
//!
//! Each operation spends one unit of the coop budget, in the poll that
//! starts it (a poll that finds it completed does not spend another).
//!
//! # A receive that is dropped loses nothing
//! A receive can be handed a value (a sender filled its slot) and then be
//! dropped before it returns it. `cancel` then gives the value back to the
//! channel (see `hchan.rs`: to the next waiting receiver, else to the front
//! of the buffer). A send that is dropped while waiting takes its sudog out
//! of the queue; its value drops with it: the send did not happen.

use super::error::SendError;
use super::hchan::{Attempt, Hchan};
use crate::sched::sudog::{Sudog, WaitState, Waiter};
use crate::sched::{park, WaitReason};
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll};

thread_local! {
    /// Set during [`giving_up`].
    static GIVING_UP: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, the last poll of a future whose deadline has passed (see
/// `time::Timeout`), with channel sends and receives giving up instead of
/// waiting: one still waiting leaves its channel's queue, under the
/// channel's lock, and returns `Pending`; one that completed returns
/// `Ready`; one not yet started does not start. After this poll nothing
/// can complete them, so "timed out" means "not done": no send reported as
/// timed out is received later (issue 11).
pub(crate) fn giving_up<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GIVING_UP.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GIVING_UP.with(|g| g.replace(true)));
    f()
}

fn is_giving_up() -> bool {
    GIVING_UP.with(Cell::get)
}

/// A plain operation's one sudog, inside its pinned wait, and whether the
/// operation is parked on it.
struct OwnSudog {
    node: UnsafeCell<Sudog>,
    /// True from the queueing until the wait sees the operation completed
    /// or takes the sudog back out (a completer may have dequeued it
    /// already).
    parked: Cell<bool>,
}

impl OwnSudog {
    fn new() -> OwnSudog {
        OwnSudog {
            node: UnsafeCell::new(Sudog::blank()),
            parked: Cell::new(false),
        }
    }

    fn ptr(&self) -> NonNull<Sudog> {
        // SAFETY: from `UnsafeCell::get` on a reference: not null.
        unsafe { NonNull::new_unchecked(self.node.get()) }
    }

    /// The sudog, while the operation is parked on it.
    fn parked(&self) -> Option<NonNull<Sudog>> {
        self.parked.get().then(|| self.ptr())
    }

    /// Fills the sudog in for an operation about to be queued (the wait is
    /// idle).
    fn fill(&self, elem: *mut (), waiter: &Waiter) -> NonNull<Sudog> {
        let sg = self.ptr().as_ptr();
        // SAFETY: the wait is idle (its sudog in no queue), so nobody else
        // refers to the node.
        unsafe {
            debug_assert!(!(*sg).linked);
            (*sg).elem = elem;
            (*sg).waiter = waiter;
            (*sg).case = 0;
            (*sg).is_select = false;
        }
        self.ptr()
    }

    /// Ends the parking (`cancel`): the sudog, if the operation was parked
    /// on it, for the caller to take out of its channel's queue.
    fn take(&self) -> Option<NonNull<Sudog>> {
        let sg = self.parked();
        self.parked.set(false);
        sg
    }
}

/// A wait's sudog is out of every queue: the wait is idle again.
fn forget_sudog(sudog: &OwnSudog, waiter: &Waiter) {
    sudog.parked.set(false);
    // SAFETY: queued nowhere now, so no completer reads the waker.
    drop(unsafe { waiter.take_waker() });
}

/// The waiting half of a receive. Pinned; see the module docs.
pub(crate) struct RecvWait<T> {
    /// The sudog it queues while parked (a sender that completes it
    /// dequeues it); see the module docs.
    sudog: OwnSudog,
    /// Waker and completion word.
    waiter: Waiter,
    /// Where a sender puts the value.
    slot: UnsafeCell<Option<T>>,
    _pin: PhantomPinned,
}

// SAFETY: the raw parts point into this wait or at a sudog it owns; values
// of `T` cross threads through the slot, hence `T: Send`.
unsafe impl<T: Send> Send for RecvWait<T> {}
// SAFETY: no `&self` method is reachable from outside the crate; inside it,
// every access to shared parts goes through the channel's lock or atomics.
unsafe impl<T: Send> Sync for RecvWait<T> {}

impl<T> RecvWait<T> {
    pub(crate) fn new() -> RecvWait<T> {
        RecvWait {
            sudog: OwnSudog::new(),
            waiter: Waiter::new(),
            slot: UnsafeCell::new(None),
            _pin: PhantomPinned,
        }
    }

    /// Polls the receive (starting one if none is under way).
    ///
    /// The wait must be pinned: while parked, its sudog points into it.
    pub(crate) fn poll_recv(&self, chan: &Hchan<T>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(sg) = self.sudog.parked() {
            // The budget was spent by the poll that parked: one unit per
            // operation.
            return self.poll_parked(sg, chan, cx);
        }
        ready!(crate::coop::proceed(cx));
        chan.check_bubble("receive on");
        let mut locked = chan.lock();
        // SAFETY: no sudog of ours is queued, so nobody else touches the slot.
        let slot = unsafe { &mut *self.slot.get() };
        match locked.try_recv(slot) {
            Attempt::Done(waker) => {
                drop(locked);
                if let Some(waker) = waker {
                    waker.wake();
                }
                Poll::Ready(slot.take())
            }
            Attempt::Closed => Poll::Ready(None),
            Attempt::Blocked if is_giving_up() => Poll::Pending,
            Attempt::Blocked => {
                let sg = self.sudog.fill(self.slot.get().cast(), &self.waiter);
                self.waiter.reset();
                // SAFETY: queued nowhere yet, and we hold the lock anyway.
                let old = unsafe { self.waiter.set_waker(cx.waker()) };
                // SAFETY: the sudog and the slot live in (or are owned by)
                // this pinned wait, which takes the sudog out in `cancel`
                // before it goes.
                unsafe { locked.enqueue_recv(sg) };
                drop(locked);
                drop(old);
                self.sudog.parked.set(true);
                park(WaitReason::ChanReceive);
                Poll::Pending
            }
        }
    }

    fn poll_parked(&self, sg: NonNull<Sudog>, chan: &Hchan<T>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let WaitState::Waiting = self.waiter.state() {
            // Polled without being woken (or woken by someone else): keep
            // the waker current. Done under the lock, which any completer
            // holds.
            let mut locked = chan.lock();
            if let WaitState::Waiting = self.waiter.state() {
                if is_giving_up() {
                    // SAFETY: our sudog, queued on this channel's recvq
                    // (unclaimed, under the lock we hold).
                    let removed = unsafe { locked.remove_recv(sg) };
                    debug_assert!(removed, "an unclaimed sudog was not queued");
                    drop(locked);
                    forget_sudog(&self.sudog, &self.waiter);
                    return Poll::Pending;
                }
                // SAFETY: we hold the only lock our sudog is queued under,
                // and nobody has claimed it.
                let old = unsafe { self.waiter.set_waker(cx.waker()) };
                drop(locked);
                drop(old);
                park(WaitReason::ChanReceive);
                return Poll::Pending;
            }
        }
        // Done: the sender (or `close`) dequeued the sudog and is finished
        // with it and with the slot.
        self.sudog.parked.set(false);
        // SAFETY: completed, so nobody else touches the slot.
        Poll::Ready(unsafe { (*self.slot.get()).take() })
    }

    /// Ends a receive that will not be polled again: takes the sudog out of
    /// the queue, or, if a sender already handed it a value, gives the
    /// value back to the channel.
    pub(crate) fn cancel(&self, chan: &Hchan<T>) {
        let Some(sg) = self.sudog.take() else {
            return;
        };
        let mut locked = chan.lock();
        let mut waker = None;
        // SAFETY: our sudog, queued (if at all) on this channel's recvq.
        if !unsafe { locked.remove_recv(sg) } {
            // Completed (fully: completion happens under the lock we hold).
            // SAFETY: completed, so the slot is ours.
            if let Some(value) = unsafe { (*self.slot.get()).take() } {
                waker = locked.put_back(value);
            }
        }
        drop(locked);
        // SAFETY: queued nowhere now: nobody else touches the waker.
        drop(unsafe { self.waiter.take_waker() });
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The waiting half of a send. Pinned; see the module docs.
pub(crate) struct SendWait<T> {
    /// The sudog it queues while parked; see the module docs.
    sudog: OwnSudog,
    /// Waker and completion word.
    waiter: Waiter,
    /// The value, until a receiver (or the buffer) takes it.
    slot: UnsafeCell<Option<T>>,
    _pin: PhantomPinned,
}

// SAFETY: as for `RecvWait`.
unsafe impl<T: Send> Send for SendWait<T> {}
// SAFETY: as for `RecvWait`.
unsafe impl<T: Send> Sync for SendWait<T> {}

impl<T> SendWait<T> {
    pub(crate) fn new(value: Option<T>) -> SendWait<T> {
        SendWait {
            sudog: OwnSudog::new(),
            waiter: Waiter::new(),
            slot: UnsafeCell::new(value),
            _pin: PhantomPinned,
        }
    }

    /// Puts the next value to send (the wait must be idle).
    pub(crate) fn load(&self, value: T) {
        debug_assert!(self.sudog.parked().is_none());
        // SAFETY: idle: nobody else refers to the slot.
        unsafe { *self.slot.get() = Some(value) };
    }

    /// Polls the send of the loaded value.
    ///
    /// # Panics
    /// If nothing is loaded (a finished send polled again).
    pub(crate) fn poll_send(&self, chan: &Hchan<T>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        if let Some(sg) = self.sudog.parked() {
            // Spent by the poll that parked.
            return self.poll_parked(sg, chan, cx);
        }
        ready!(crate::coop::proceed(cx));
        chan.check_bubble("send on");
        let mut locked = chan.lock();
        // SAFETY: no sudog of ours is queued, so nobody else touches the slot.
        let slot = unsafe { &mut *self.slot.get() };
        assert!(slot.is_some(), "a channel send polled after it completed");
        match locked.try_send(slot) {
            Attempt::Done(waker) => {
                drop(locked);
                if let Some(waker) = waker {
                    waker.wake();
                }
                Poll::Ready(Ok(()))
            }
            Attempt::Closed => {
                drop(locked);
                Poll::Ready(Err(SendError(slot.take().expect("checked above"))))
            }
            Attempt::Blocked if is_giving_up() => Poll::Pending,
            Attempt::Blocked => {
                let sg = self.sudog.fill(self.slot.get().cast(), &self.waiter);
                self.waiter.reset();
                // SAFETY: queued nowhere yet.
                let old = unsafe { self.waiter.set_waker(cx.waker()) };
                // SAFETY: as in `RecvWait::poll_recv`.
                unsafe { locked.enqueue_send(sg) };
                drop(locked);
                drop(old);
                self.sudog.parked.set(true);
                park(WaitReason::ChanSend);
                Poll::Pending
            }
        }
    }

    fn poll_parked(&self, sg: NonNull<Sudog>, chan: &Hchan<T>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        if let WaitState::Waiting = self.waiter.state() {
            let mut locked = chan.lock();
            if let WaitState::Waiting = self.waiter.state() {
                if is_giving_up() {
                    // SAFETY: our sudog, queued on this channel's sendq
                    // (unclaimed, under the lock we hold). The value stays
                    // in the slot: not sent.
                    unsafe { locked.remove_send(sg) };
                    drop(locked);
                    forget_sudog(&self.sudog, &self.waiter);
                    return Poll::Pending;
                }
                // SAFETY: as in `RecvWait::poll_parked`.
                let old = unsafe { self.waiter.set_waker(cx.waker()) };
                drop(locked);
                drop(old);
                park(WaitReason::ChanSend);
                return Poll::Pending;
            }
        }
        // Dequeued and completed: the sudog is ours again.
        self.sudog.parked.set(false);
        // SAFETY: completed: the slot is ours. A value still in it means the
        // channel was closed under us.
        match unsafe { (*self.slot.get()).take() } {
            None => Poll::Ready(Ok(())),
            Some(value) => Poll::Ready(Err(SendError(value))),
        }
    }

    /// Ends a send that will not be polled again: takes the sudog out of
    /// the queue (the value stays in the slot and drops with the wait).
    pub(crate) fn cancel(&self, chan: &Hchan<T>) {
        let Some(sg) = self.sudog.take() else {
            return;
        };
        let mut locked = chan.lock();
        // SAFETY: our sudog, queued (if at all) on this channel's sendq.
        unsafe { locked.remove_send(sg) };
        drop(locked);
        forget_sudog(&self.sudog, &self.waiter);
    }

    /// Takes back a value that was loaded and not sent (after `cancel`).
    pub(crate) fn unload(&self) -> Option<T> {
        debug_assert!(self.sudog.parked().is_none());
        // SAFETY: idle: nobody else refers to the slot.
        unsafe { (*self.slot.get()).take() }
    }
}

/// The future of [`Chan::recv`](super::Chan::recv) and
/// [`Receiver::recv`](super::Receiver::recv): `Some(value)`, or `None` once
/// the channel is closed and drained.
///
/// Dropping it loses nothing: a value it was already handed goes back to
/// the channel.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<u8>(1);
/// ch.send(1).await.unwrap();
/// let recv: gpm::channel::RecvFuture<'_, u8> = ch.recv();
/// assert_eq!(recv.await, Some(1));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct RecvFuture<'a, T> {
    chan: &'a Hchan<T>,
    wait: RecvWait<T>,
    /// Set when `poll` has returned `Ready` (`FusedFuture`).
    done: bool,
}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(chan: &'a Hchan<T>) -> RecvFuture<'a, T> {
        RecvFuture {
            chan,
            wait: RecvWait::new(),
            done: false,
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // SAFETY: nothing is moved out of `this`: the wait is only used
        // through `&`, in place, and `done` is a plain flag.
        let this = unsafe { self.get_unchecked_mut() };
        let result = this.wait.poll_recv(this.chan, cx);
        this.done |= result.is_ready();
        result
    }
}

/// True once the receive has given its value (or `None`), so
/// `futures::select!` takes a pinned `RecvFuture` as it is (no `.fuse()`).
///
/// ```
/// use futures::future::FusedFuture;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let a = gpm::chan::<u8>(1);
/// let b = gpm::chan::<u8>(1);
/// b.send(2).await.unwrap();
/// let mut ra = std::pin::pin!(a.recv());
/// let mut rb = std::pin::pin!(b.recv());
/// let got = futures::select! {
///     v = ra => v,
///     v = rb => v,
/// };
/// assert_eq!(got, Some(2));
/// assert!(rb.is_terminated() && !ra.is_terminated());
/// # });
/// ```
impl<T> futures_core::FusedFuture for RecvFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.wait.cancel(self.chan);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}

/// The future of [`Chan::send`](super::Chan::send) and
/// [`Sender::send`](super::Sender::send): `Ok(())` once the value is in the
/// buffer or in a receiver's hands, `Err(SendError(value))` if the channel
/// is (or gets) closed first.
///
/// Dropping it before it completes cancels the send: the value drops with
/// it. "Before it completes" is decided under the channel's lock when it
/// is dropped: a receiver may take the value between the future's last
/// `Pending` and its drop, and then the send happened although nobody saw
/// `Ok`. To know for sure, cut the send short with
/// [`gpm::time::timeout`](crate::time::timeout) (whose last poll settles
/// it: `Err(Elapsed)` means not sent) or with a `select!` case.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<u8>(1);
/// let send: gpm::channel::SendFuture<'_, u8> = ch.send(1);
/// send.await.unwrap();
/// assert_eq!(ch.len(), 1);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    chan: &'a Hchan<T>,
    wait: SendWait<T>,
    /// Set when `poll` has returned `Ready` (`FusedFuture`).
    done: bool,
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(chan: &'a Hchan<T>, value: T) -> SendFuture<'a, T> {
        SendFuture {
            chan,
            wait: SendWait::new(Some(value)),
            done: false,
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: as in `RecvFuture::poll`: the wait stays in place.
        let this = unsafe { self.get_unchecked_mut() };
        let result = this.wait.poll_send(this.chan, cx);
        this.done |= result.is_ready();
        result
    }
}

/// True once the send has completed (`Ok`, or `Err` on a closed channel),
/// so `futures::select!` takes a pinned `SendFuture` as it is.
///
/// ```
/// use futures::future::FusedFuture;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<u8>(1);
/// let mut send = std::pin::pin!(ch.send(1));
/// futures::select! { r = send => r.unwrap() }
/// assert!(send.is_terminated());
/// assert_eq!(ch.try_recv(), Ok(1));
/// # });
/// ```
impl<T> futures_core::FusedFuture for SendFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        self.wait.cancel(self.chan);
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").finish_non_exhaustive()
    }
}
