//! A bubble (Go's `synctestBubble`): a runtime whose clock is virtual and
//! moves only when every goroutine in it is durably blocked.
//!
//! `gpm::synctest` runs a test's future (the *root*) on a runtime of its
//! own built with a bubble, so every goroutine of that runtime belongs to
//! the bubble: those the root starts, those they start, and so on. Go
//! marks each G with its bubble; a runtime per bubble gives gpm the same
//! membership for free, and costs the other runtimes nothing but a `None`.
//!
//! # When the clock moves
//! sysmon looks at a bubble's runtime every [`LOOK_EVERY`] (instead of
//! backing off to 10 ms) and asks checkdead's question with durable waits
//! (`checkdead::all_asleep`): every P idle, every run queue empty, no
//! timer being fired, no blocking job, no socket wait, no foreign future,
//! and every goroutine (the root included) waiting for a reason that only
//! another goroutine of the bubble can end (`WaitReason::is_durable`).
//! When two looks a tick apart agree and no P was acquired in between, the
//! bubble is durably blocked, and the watcher does the first of these
//! (Go's `maybeWakeLocked` and `synctestRun`):
//!
//! 1. fires the timers due at the current virtual time, if any;
//! 2. wakes the goroutine in `synctest::wait`, if there is one;
//! 3. moves the clock to the earliest timer and fires it, if there is one
//!    and the root's future is not done ("time stops advancing when the
//!    root goroutine of the bubble exits");
//! 4. wakes the root, if its future is done and no other goroutine is
//!    left (the test passes);
//! 5. otherwise records the deadlock, with the goroutine dump, and wakes
//!    the root, which panics with it.
//!
//! The timers themselves run on the virtual clock (`timers.rs`): `now` is
//! the watcher's time, and no M sleeps for a timer.

use super::checkdead::all_asleep;
use super::shared::Shared;
use super::timers::NEVER;
use std::cell::Cell;
use std::sync::atomic::{
    AtomicU32,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::Mutex;
use std::task::Waker;
use std::time::Duration;

/// How often sysmon looks at a bubble: two looks decide, so a bubble's
/// clock moves at most about every two of these, in real time.
pub(crate) const LOOK_EVERY: Duration = Duration::from_micros(50);

/// Go's message when every goroutine of a bubble is durably blocked and
/// no timer can wake one.
pub(crate) const DEADLOCK: &str = "deadlock: all goroutines in bubble are blocked";
/// Go's message when the root's function returned while goroutines of
/// its bubble are still blocked.
pub(crate) const DEADLOCK_AFTER_ROOT: &str = "deadlock: main bubble goroutine has exited but blocked goroutines remain";

/// One bubble's state beside its runtime's (`Shared::bubble`).
pub(crate) struct Bubble {
    /// This bubble's id: what its channels remember (never 0).
    pub(crate) id: u32,
    /// Everything the root, `wait` and the watcher share.
    state: Mutex<State>,
}

impl Default for Bubble {
    fn default() -> Bubble {
        static NEXT_ID: AtomicU32 = AtomicU32::new(1);
        let mut id = NEXT_ID.fetch_add(1, Relaxed);
        if id == 0 {
            // Wrapped after 4 billion bubbles: 0 means "no bubble".
            id = NEXT_ID.fetch_add(1, Relaxed);
        }
        Bubble {
            id,
            state: Mutex::default(),
        }
    }
}

thread_local! {
    /// The bubble this thread is in (0: none): set while an M of a
    /// bubble's runtime runs the scheduler (`MContext::enter`), and for
    /// good on the runtime's other threads (sysmon, which fires the
    /// bubble's timers, and the blocking pool). One plain load to read,
    /// for the channels' and the clock's checks.
    static THREAD_BUBBLE: Cell<u32> = const { Cell::new(0) };
}

/// Marks this thread (sysmon or a blocking-pool thread of `shared`) as
/// inside `shared`'s bubble, if it has one.
pub(crate) fn enter_thread(shared: &Shared) {
    if let Some(bubble) = shared.bubble() {
        THREAD_BUBBLE.set(bubble.id);
    }
}

/// Makes `id` this thread's bubble; returns the one it replaces (an M
/// entering and leaving its runtime's scheduler).
pub(crate) fn swap_thread_bubble(id: u32) -> u32 {
    THREAD_BUBBLE.replace(id)
}

/// The bubble the caller is in (0: none).
#[inline]
pub(crate) fn current_bubble() -> u32 {
    THREAD_BUBBLE.get()
}

/// Panics unless the caller is in bubble `id` (the bubble of a channel
/// that `op` is about to use).
#[cold]
#[inline(never)]
pub(crate) fn check_bubble(id: u32, op: &str) {
    if current_bubble() != id {
        panic!("{op} synctest channel from outside bubble");
    }
}

/// The part of a bubble behind its lock.
#[derive(Default)]
struct State {
    /// The root's waker, as of its last poll: the watcher wakes it to
    /// finish the test or to fail it.
    root: Option<Waker>,
    /// The root's future is done: the clock stops, and the bubble ends when
    /// its last goroutine exits.
    root_exited: bool,
    /// A goroutine is in `synctest::wait` (Go's `bubble.waiting`).
    waiting: bool,
    /// Its waker, until the watcher takes it.
    waiter: Option<Waker>,
    /// The watcher released the goroutine in `wait`.
    released: bool,
    /// The bubble deadlocked: Go's message and the goroutine dump. The
    /// root panics with it at its next poll.
    failure: Option<String>,
}

impl Bubble {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the root's waker (each poll of the root).
    pub(crate) fn set_root(&self, waker: &Waker) {
        let mut state = self.lock();
        match &state.root {
            Some(w) if w.will_wake(waker) => {}
            _ => state.root = Some(waker.clone()),
        }
    }

    /// The root's future is done.
    pub(crate) fn root_exited(&self) {
        self.lock().root_exited = true;
    }

    /// The deadlock the watcher found, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }

    /// `synctest::wait`'s first poll: the goroutine waits until the
    /// watcher releases it.
    ///
    /// # Panics
    /// When another goroutine of the bubble is in `wait` (as Go's).
    pub(crate) fn begin_wait(&self, waker: &Waker) {
        let mut state = self.lock();
        if state.waiting {
            drop(state);
            panic!("gpm::synctest::wait: wait already in progress (called from two goroutines of one bubble)");
        }
        state.waiting = true;
        state.released = false;
        state.waiter = Some(waker.clone());
    }

    /// `synctest::wait`'s later polls: true (and the wait is over) once
    /// the watcher released it; else `waker` is the one to wake.
    pub(crate) fn poll_wait(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        if state.released {
            state.released = false;
            state.waiting = false;
            return true;
        }
        state.waiter = Some(waker.clone());
        false
    }

    /// A `wait` dropped before it returned.
    pub(crate) fn cancel_wait(&self) {
        let mut state = self.lock();
        state.waiting = false;
        state.released = false;
        state.waiter = None;
    }
}

/// sysmon's watch over a bubble (used instead of checkdead's).
#[derive(Default)]
pub(crate) struct Watch {
    /// P acquisitions at the last look that found the bubble durably
    /// blocked.
    blocked_at: Option<u64>,
}

impl Watch {
    /// One look; acts (see the module docs) when two agree.
    pub(crate) fn look(&mut self, shared: &Shared) {
        let Some(bubble) = shared.bubble() else {
            return;
        };
        let acquisitions = shared.acquisitions.load(SeqCst);
        if !all_asleep(shared, true) {
            self.blocked_at = None;
            return;
        }
        match self.blocked_at {
            Some(before)
                if before == acquisitions
                    && shared.acquisitions.load(SeqCst) == acquisitions
                    && all_asleep(shared, true) =>
            {
                self.blocked_at = None;
                act(shared, bubble);
            }
            _ => self.blocked_at = Some(acquisitions),
        }
    }
}

/// The bubble is durably blocked: wake what Go would.
fn act(shared: &Shared, bubble: &Bubble) {
    let timers = &shared.timers;
    let now = timers.now();
    if timers.armed() > 0 && timers.any_due(now) {
        timers.fire_due(now);
        shared.wakep();
        return;
    }
    let mut state = bubble.lock();
    if let Some(waiter) = state.waiter.take() {
        state.released = true;
        drop(state);
        waiter.wake();
        return;
    }
    if !state.root_exited && timers.armed() > 0 {
        let next = timers.earliest();
        if next != NEVER {
            drop(state);
            timers.advance_to(next);
            timers.fire_due(next);
            shared.wakep();
            return;
        }
    }
    let root_exited = state.root_exited;
    drop(state);
    if !(root_exited && shared.goroutines_besides_mains() == 0) {
        let reason = if root_exited { DEADLOCK_AFTER_ROOT } else { DEADLOCK };
        let failure = format!("{reason}\n\n{}", shared.dump());
        bubble.lock().failure.get_or_insert(failure);
    }
    let root = bubble.lock().root.clone();
    if let Some(root) = root {
        root.wake();
    }
}
