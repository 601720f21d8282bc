//! The engine behind `gpm::select!` (Go's `selectgo`).
//!
//! The macro evaluates every case's channel (and send value) once, builds
//! one *arm* per case ([`RecvArm`], [`SendArm`]: the channel, if any, and
//! the value slot), and awaits a [`Select`] over them, which returns the
//! number of the case that fired (or `N` for `default`). The macro then
//! takes that arm's output and runs the case's body in a plain `match`, so
//! `break`, `continue`, `return` and `?` in bodies act as in any `match`.
//!
//! # Go's algorithm
//! 1. Order the cases at random (the *poll order*, for fairness) and by
//!    channel address (the *lock order*); a case without a channel (Go's
//!    nil channel) takes no part.
//! 2. Lock every channel, in lock order, each once.
//! 3. In poll order, look for a case that can go now; do it, unlock, done.
//! 4. Otherwise, with a `default` case: unlock and take it.
//! 5. Otherwise queue one sudog per case, in poll order, all sharing this
//!    select's `Waiter` (see `sched/sudog.rs`), unlock, and wait. Cases on one
//!    channel thus join its queue in random order, and the counterpart
//!    that comes next takes any of them with equal chance (in source
//!    order, the first case would always win). Go gets the same from a
//!    lock order built out of the poll order.
//! 6. The first operation on any of the channels to claim the waiter (a
//!    CAS on its word, Go's `selectDone`) completes that case; the others
//!    skip the waiter's sudogs. Once woken, take the other sudogs out of
//!    their queues (one lock at a time; no order is needed).
//!
//! The arms, `Select` and `forever` are public for `gpm::select!` only
//! (through `gpm::__private`); they are not an API. [`RecvCase`] and
//! [`SendCase`] are, re-exported as `gpm::channel::{RecvCase, SendCase}`.

use super::error::SendError;
use super::hchan::{Attempt, Hchan, RawChan};
use super::lock::ChanGuard;
use super::{Chan, Receiver, Sender};
use crate::sched::sudog::{self, Sudog, WaitState, Waiter};
use crate::sched::{park, WaitReason};
use std::cell::{Cell, UnsafeCell};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::{PhantomData, PhantomPinned};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{ready, Context, Poll};

/// Anything a `select!` case can receive from: [`Chan`], [`Receiver`],
/// references to them, and `Option`s of those (`None` is Go's nil channel:
/// the case never fires).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<u8>(1);
/// ch.send(1).await.unwrap();
/// let off: Option<&gpm::Chan<u8>> = None;
/// gpm::select! {
///     recv(off) -> _ => unreachable!("a nil channel never fires"),
///     recv(ch.receiver()) -> v => assert_eq!(v, Some(1)),
/// }
/// # });
/// ```
pub trait RecvCase {
    /// What the channel carries.
    type Item;
    /// The channel to receive from; `None` never fires.
    fn recv_chan(&self) -> Option<&Chan<Self::Item>>;
}

/// Anything a `select!` case can send to: [`Chan`], [`Sender`], references
/// to them, and `Option`s of those (`None` never fires).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<u8>(1);
/// gpm::select! {
///     send(ch.sender(), 7) -> res => assert!(res.is_ok()),
/// }
/// assert_eq!(ch.recv().await, Some(7));
/// # });
/// ```
pub trait SendCase {
    /// What the channel carries.
    type Item;
    /// The channel to send to; `None` never fires.
    fn send_chan(&self) -> Option<&Chan<Self::Item>>;
}

impl<T> RecvCase for Chan<T> {
    type Item = T;
    fn recv_chan(&self) -> Option<&Chan<T>> {
        Some(self)
    }
}

impl<T> RecvCase for Receiver<T> {
    type Item = T;
    fn recv_chan(&self) -> Option<&Chan<T>> {
        Some(&self.chan)
    }
}

impl<T> SendCase for Chan<T> {
    type Item = T;
    fn send_chan(&self) -> Option<&Chan<T>> {
        Some(self)
    }
}

impl<T> SendCase for Sender<T> {
    type Item = T;
    fn send_chan(&self) -> Option<&Chan<T>> {
        Some(&self.chan)
    }
}

macro_rules! forward_cases {
    ($($ty:ty),*) => {$(
        impl<C: RecvCase + ?Sized> RecvCase for $ty {
            type Item = C::Item;
            fn recv_chan(&self) -> Option<&Chan<C::Item>> {
                (**self).recv_chan()
            }
        }
        impl<C: SendCase + ?Sized> SendCase for $ty {
            type Item = C::Item;
            fn send_chan(&self) -> Option<&Chan<C::Item>> {
                (**self).send_chan()
            }
        }
    )*};
}

forward_cases!(&C, &mut C, Box<C>, std::sync::Arc<C>);

impl<C: RecvCase> RecvCase for Option<C> {
    type Item = C::Item;
    fn recv_chan(&self) -> Option<&Chan<C::Item>> {
        self.as_ref()?.recv_chan()
    }
}

impl<C: SendCase> SendCase for Option<C> {
    type Item = C::Item;
    fn send_chan(&self) -> Option<&Chan<C::Item>> {
        self.as_ref()?.send_chan()
    }
}

/// One case of a select, as the engine sees it. Only this module can make
/// one, so only its arms implement [`Arm`].
#[doc(hidden)]
pub struct CaseRef<'a> {
    /// The channel; `None` for a nil case.
    chan: Option<&'a dyn RawChan>,
    /// The arm's `*mut Option<T>` slot.
    elem: *mut (),
    /// A send case (else a receive).
    send: bool,
}

/// A select case's arm (made by `select!`). Not an API.
///
/// Sealed: `Select` trusts `case` to return the same channel and slot on
/// every call (its sudogs point at them), so only gpm's own arms may
/// implement it. (Reachable through the macro's private path, a safe impl
/// that returned another channel each time made `sudog::claim` use freed
/// memory, issue 11.)
#[doc(hidden)]
pub trait Arm: sealed::Sealed {
    /// The arm's channel and slot: the same on every call.
    fn case(&self) -> CaseRef<'_>;
}

mod sealed {
    /// Implemented by gpm's arms only; private, so nobody else can.
    pub trait Sealed {}
    impl<T> Sealed for super::RecvArm<'_, T> {}
    impl<T> Sealed for super::SendArm<'_, T> {}
}

/// A `recv(ch) -> v` case: the channel and the slot a value arrives in.
#[doc(hidden)]
pub struct RecvArm<'a, T> {
    chan: Option<&'a Hchan<T>>,
    slot: UnsafeCell<Option<T>>,
    _pin: PhantomPinned,
}

impl<'a, T> RecvArm<'a, T> {
    /// An arm receiving from `chan` (`None`: never fires).
    pub fn new(chan: Option<&'a Chan<T>>) -> RecvArm<'a, T> {
        RecvArm {
            chan: chan.map(Chan::hchan),
            slot: UnsafeCell::new(None),
            _pin: PhantomPinned,
        }
    }

    /// The case's result once it fired: the value, or `None` (closed).
    pub fn into_output(self) -> Option<T> {
        self.slot.into_inner()
    }
}

impl<T> Arm for RecvArm<'_, T> {
    fn case(&self) -> CaseRef<'_> {
        CaseRef {
            chan: self.chan.map(|c| c as &dyn RawChan),
            elem: self.slot.get().cast(),
            send: false,
        }
    }
}

/// A `send(ch, v) -> res` case: the channel and the value.
#[doc(hidden)]
pub struct SendArm<'a, T> {
    chan: Option<&'a Hchan<T>>,
    slot: UnsafeCell<Option<T>>,
    _pin: PhantomPinned,
}

impl<'a, T> SendArm<'a, T> {
    /// An arm sending `value` to `chan` (`None`: never fires).
    pub fn new(chan: Option<&'a Chan<T>>, value: T) -> SendArm<'a, T> {
        SendArm {
            chan: chan.map(Chan::hchan),
            slot: UnsafeCell::new(Some(value)),
            _pin: PhantomPinned,
        }
    }

    /// The case's result once it fired: `Ok`, or the value back if the
    /// channel was closed.
    pub fn into_output(self) -> Result<(), SendError<T>> {
        match self.slot.into_inner() {
            None => Ok(()),
            Some(value) => Err(SendError(value)),
        }
    }
}

impl<T> Arm for SendArm<'_, T> {
    fn case(&self) -> CaseRef<'_> {
        CaseRef {
            chan: self.chan.map(|c| c as &dyn RawChan),
            elem: self.slot.get().cast(),
            send: true,
        }
    }
}

/// Carries the arms' types, so that a [`Select`] is `Send` exactly when
/// its arms are.
#[doc(hidden)]
pub fn marker<A>(_: &A) -> PhantomData<A> {
    PhantomData
}

/// The future of a `select!` over `N` cases: the number of the case that
/// fired, or `N` for `default`. `M` carries the arms' types (see
/// [`marker`]).
#[doc(hidden)]
#[must_use = "futures do nothing unless awaited"]
pub struct Select<'a, const N: usize, M> {
    arms: [&'a (dyn Arm + 'a); N],
    has_default: bool,
    /// The sudog queued for each case while parked.
    sudogs: [Cell<Option<NonNull<Sudog>>>; N],
    /// True from queueing the sudogs until they are all back.
    parked: Cell<bool>,
    /// Shared by the sudogs of every case.
    waiter: Waiter,
    _marker: PhantomData<M>,
    _pin: PhantomPinned,
}

// SAFETY: the raw parts point into this future or at sudogs it owns; the
// arms (and the values they move) are `Send` when `M` is.
unsafe impl<const N: usize, M: Send> Send for Select<'_, N, M> {}
// SAFETY: no `&self` method does anything outside `poll` and `drop`.
unsafe impl<const N: usize, M: Sync> Sync for Select<'_, N, M> {}

impl<'a, const N: usize, M> Select<'a, N, M> {
    /// A select over `arms`; `has_default` makes it never wait.
    pub fn new(arms: [&'a (dyn Arm + 'a); N], _marker: M, has_default: bool) -> Select<'a, N, M> {
        Select {
            arms,
            has_default,
            sudogs: std::array::from_fn(|_| Cell::new(None)),
            parked: Cell::new(false),
            waiter: Waiter::new(),
            _marker: PhantomData,
            _pin: PhantomPinned,
        }
    }

    fn cases(&self) -> [CaseRef<'a>; N] {
        std::array::from_fn(|i| self.arms[i].case())
    }

    /// The first poll: Go's `selectgo` up to the park.
    fn poll_first(&self, cx: &mut Context<'_>) -> Poll<usize> {
        let cases = self.cases();
        let (order, n) = lock_order(&cases);
        for &i in &order[..n] {
            if let Some(chan) = cases[i].chan {
                chan.raw_check_bubble("select on");
            }
        }
        let mut polled = order;
        crate::sched::shuffle(&mut polled[..n]);
        let guards = lock_all(&cases, &order[..n]);
        for &i in &polled[..n] {
            let case = &cases[i];
            let chan = case.chan.expect("active cases have a channel");
            // SAFETY: we hold the channel's lock; the arm's slot is an
            // `Option<T>` of that channel's `T` (the arm built both), full
            // for a send, empty for a receive, and no sudog points at it.
            let attempt = unsafe {
                if case.send {
                    chan.raw_try_send(case.elem)
                } else {
                    chan.raw_try_recv(case.elem)
                }
            };
            match attempt {
                Attempt::Done(waker) => {
                    drop(guards);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    return Poll::Ready(i);
                }
                Attempt::Closed => return Poll::Ready(i),
                Attempt::Blocked => {}
            }
        }
        if self.has_default {
            return Poll::Ready(N);
        }
        // Wait on every channel at once.
        self.waiter.reset();
        // SAFETY: we hold every lock and queued nothing yet.
        let old = unsafe { self.waiter.set_waker(cx.waker()) };
        // Queued in poll order, not lock order: cases on one channel join
        // its queue in random order, so the counterpart that comes next
        // takes any of them with equal chance (every lock is held, so the
        // order across channels does not matter).
        for &i in &polled[..n] {
            let case = &cases[i];
            let sg = sudog::acquire();
            // SAFETY: a fresh sudog is ours until queued.
            unsafe {
                let s = &mut *sg.as_ptr();
                s.elem = case.elem;
                s.waiter = &self.waiter;
                s.case = i as u32;
                s.is_select = true;
            }
            // SAFETY: lock held; the sudog, the slot and the waiter live in
            // (or are owned by) this pinned future, whose `drop` takes the
            // sudog out first.
            unsafe { case.chan.expect("active").raw_enqueue(sg, case.send) };
            self.sudogs[i].set(Some(sg));
        }
        self.parked.set(true);
        drop(guards);
        drop(old);
        park(WaitReason::Select);
        Poll::Pending
    }

    /// A poll after parking: done, or keep waiting.
    fn poll_parked(&self, cx: &mut Context<'_>) -> Poll<usize> {
        let cases = self.cases();
        loop {
            match self.waiter.state() {
                WaitState::Done(k) => return Poll::Ready(self.finish(&cases, k)),
                WaitState::Claimed(k) => {
                    // Being completed under that channel's lock right now:
                    // once we get the lock, it is done.
                    drop(cases[k].chan.expect("a claimed case has a channel").raw_lock());
                }
                WaitState::Waiting => {
                    // Polled without being woken: keep the waker current,
                    // under every lock (any completer holds one of them).
                    let (order, n) = lock_order(&cases);
                    let guards = lock_all(&cases, &order[..n]);
                    if self.waiter.state() == WaitState::Waiting {
                        // SAFETY: every lock held, unclaimed.
                        let old = unsafe { self.waiter.set_waker(cx.waker()) };
                        drop(guards);
                        drop(old);
                        park(WaitReason::Select);
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    /// Case `fired` completed: take the other sudogs out of their queues
    /// (a rival may have skipped some already) and return them all.
    fn finish(&self, cases: &[CaseRef<'a>; N], fired: usize) -> usize {
        for (i, case) in cases.iter().enumerate() {
            let Some(sg) = self.sudogs[i].take() else {
                continue;
            };
            if i != fired {
                let chan = case.chan.expect("a queued case has a channel");
                let guard = chan.raw_lock();
                // SAFETY: our sudog, queued (if still linked) on this
                // channel's queue for its direction; lock held.
                unsafe { chan.raw_remove(sg, case.send) };
                drop(guard);
            }
            // SAFETY: out of every queue now, and nobody refers to it.
            unsafe { sudog::release(sg) };
        }
        self.parked.set(false);
        fired
    }
}

impl<const N: usize, M> Future for Select<'_, N, M> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.into_ref().get_ref();
        if this.parked.get() {
            // The budget was spent by the poll that parked.
            return this.poll_parked(cx);
        }
        ready!(crate::coop::proceed(cx));
        this.poll_first(cx)
    }
}

impl<const N: usize, M> Drop for Select<'_, N, M> {
    fn drop(&mut self) {
        if !self.parked.get() {
            return;
        }
        let cases = self.cases();
        for (i, case) in cases.iter().enumerate() {
            if let Some(sg) = self.sudogs[i].get() {
                let chan = case.chan.expect("a queued case has a channel");
                let guard = chan.raw_lock();
                // SAFETY: as in `finish`.
                unsafe { chan.raw_remove(sg, case.send) };
                drop(guard);
            }
        }
        // Every sudog is out and every channel's lock has been taken since:
        // whichever case was completing has finished.
        if let WaitState::Done(k) = self.waiter.state() {
            let case = &cases[k];
            if !case.send {
                // Handed a value we will never return: give it back.
                let chan = case.chan.expect("a fired case has a channel");
                let guard = chan.raw_lock();
                // SAFETY: lock held; the slot is the arm's `Option<T>`, and
                // nobody else touches it now.
                let waker = unsafe { chan.raw_put_back(case.elem) };
                drop(guard);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
        for cell in &self.sudogs {
            if let Some(sg) = cell.take() {
                // SAFETY: out of every queue.
                unsafe { sudog::release(sg) };
            }
        }
        // SAFETY: queued nowhere now.
        drop(unsafe { self.waiter.take_waker() });
        self.parked.set(false);
    }
}

impl<const N: usize, M> fmt::Debug for Select<'_, N, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select").field("cases", &N).finish_non_exhaustive()
    }
}

/// The active cases (with a channel) sorted by channel address, and how
/// many there are (the rest of the array is unused).
fn lock_order<const N: usize>(cases: &[CaseRef<'_>; N]) -> ([usize; N], usize) {
    let mut order = [0; N];
    let mut n = 0;
    for (i, case) in cases.iter().enumerate() {
        if case.chan.is_some() {
            order[n] = i;
            n += 1;
        }
    }
    order[..n].sort_unstable_by_key(|&i| cases[i].chan.map_or(0, |c| c.addr()));
    (order, n)
}

/// Locks the channels of `order` (sorted by address), each once.
fn lock_all<'c, const N: usize>(cases: &[CaseRef<'c>; N], order: &[usize]) -> [Option<ChanGuard<'c>>; N] {
    let mut guards = std::array::from_fn(|_| None);
    let mut last = 0;
    for (slot, &i) in order.iter().enumerate() {
        let chan = cases[i].chan.expect("active cases have a channel");
        if chan.addr() != last {
            last = chan.addr();
            guards[slot] = Some(chan.raw_lock());
        }
    }
    guards
}

/// `select! {}`: waits forever (Go's `select {}`, `select (no cases)`).
#[doc(hidden)]
pub fn forever() -> Forever {
    Forever(())
}

/// The future of `select! {}`: never ready.
#[doc(hidden)]
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Forever(());

impl Future for Forever {
    type Output = Infallible;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Infallible> {
        park(WaitReason::SelectNoCases);
        Poll::Pending
    }
}
