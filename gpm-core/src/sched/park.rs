//! Where an M sleeps when it has nothing to run (Go's `notesleep` on `m.park`).
//!
//! Each M owns one [`Parker`]. Others wake it by handing it a P (`startm`),
//! by a plain notification (the main G of a `block_on` was woken), or for
//! shutdown. A hand-off made before the M sleeps is kept, so no wakeup is
//! lost: the state is checked under the mutex before every wait.

use super::loom::{Condvar, Mutex};
use super::p::PLocal;

/// Why a parked M woke up.
pub(crate) enum Wakeup {
    /// It was handed a P; `true` if it should start out spinning.
    Handoff(PLocal, bool),
    /// Somebody wants it to look around (its main G was woken).
    Notified,
    /// The runtime is shutting down.
    Shutdown,
}

/// Wakes an M that sleeps somewhere else than on the condvar (the poller).
pub(crate) type Hook = std::sync::Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct State {
    handoff: Option<(PLocal, bool)>,
    notified: bool,
    shutdown: bool,
    /// Set while the M sleeps in [`Parker::park_with`]: called by every
    /// wakeup, after the condvar's notification.
    hook: Option<Hook>,
}

impl State {
    fn wakeup(&mut self) -> Option<Wakeup> {
        if let Some((p, spinning)) = self.handoff.take() {
            return Some(Wakeup::Handoff(p, spinning));
        }
        if self.shutdown {
            return Some(Wakeup::Shutdown);
        }
        if std::mem::take(&mut self.notified) {
            return Some(Wakeup::Notified);
        }
        None
    }
}

/// One M's parking spot.
#[derive(Default)]
pub(crate) struct Parker {
    state: Mutex<State>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker::default()
    }

    fn lock(&self) -> super::loom::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands P `p` to this M (Go's `mp.nextp = p; notewakeup`).
    pub(crate) fn hand(&self, p: PLocal, spinning: bool) {
        let mut state = self.lock();
        assert!(state.handoff.is_none(), "an M was handed two Ps");
        state.handoff = Some((p, spinning));
        let hook = state.hook.clone();
        drop(state);
        self.condvar.notify_one();
        if let Some(hook) = hook {
            hook();
        }
    }

    /// Wakes the M without a P.
    pub(crate) fn notify(&self) {
        let mut state = self.lock();
        state.notified = true;
        let hook = state.hook.clone();
        drop(state);
        self.condvar.notify_one();
        if let Some(hook) = hook {
            hook();
        }
    }

    /// Tells the M to exit.
    pub(crate) fn shutdown(&self) {
        let mut state = self.lock();
        state.shutdown = true;
        let hook = state.hook.clone();
        drop(state);
        self.condvar.notify_one();
        if let Some(hook) = hook {
            hook();
        }
    }

    /// Takes a P handed over but not yet picked up (an M that is going away).
    pub(crate) fn take_handoff(&self) -> Option<(PLocal, bool)> {
        self.lock().handoff.take()
    }

    /// Sleeps until handed a P, notified, or shut down. A hand-off wins over
    /// a shutdown so that the P is not lost (the caller returns it).
    pub(crate) fn park(&self) -> Wakeup {
        self.park_until(None)
            .expect("a park without a deadline cannot time out")
    }

    /// Sleeps in `wait` (the poller) instead of on the condvar: returns a
    /// wakeup that was pending before or came during `wait`, or `None` if
    /// `wait` returned for its own reasons (a timeout, I/O). Every wakeup
    /// during `wait` calls `hook`, which must make `wait` return; a wakeup
    /// that comes before `wait` starts must make it return at once too (a
    /// poller's `notify` does both).
    pub(crate) fn park_with(&self, hook: &Hook, wait: impl FnOnce()) -> Option<Wakeup> {
        {
            let mut state = self.lock();
            if let Some(wakeup) = state.wakeup() {
                return Some(wakeup);
            }
            state.hook = Some(hook.clone());
        }
        wait();
        let mut state = self.lock();
        state.hook = None;
        state.wakeup()
    }

    /// Like [`park`](Parker::park), but returns `None` once `deadline` has
    /// passed (an M sleeping until the next timer).
    pub(crate) fn park_until(&self, deadline: Option<std::time::Instant>) -> Option<Wakeup> {
        let mut state = self.lock();
        loop {
            if let Some(wakeup) = state.wakeup() {
                return Some(wakeup);
            }
            state = match deadline {
                None => self.condvar.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    wait_timeout(&self.condvar, state, deadline - now)
                }
            };
        }
    }
}

#[cfg(not(loom))]
fn wait_timeout<'a>(
    condvar: &Condvar,
    state: super::loom::MutexGuard<'a, State>,
    d: std::time::Duration,
) -> super::loom::MutexGuard<'a, State> {
    condvar.wait_timeout(state, d).unwrap_or_else(|e| e.into_inner()).0
}

/// loom does not model time: a timed wait is an untimed one there.
#[cfg(loom)]
fn wait_timeout<'a>(
    condvar: &Condvar,
    state: super::loom::MutexGuard<'a, State>,
    _d: std::time::Duration,
) -> super::loom::MutexGuard<'a, State> {
    condvar.wait(state).unwrap_or_else(|e| e.into_inner())
}
