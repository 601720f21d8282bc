//! The netpoller (Go's `netpoll`, `pollDesc`): readiness of sockets, on the
//! `polling` crate.
//!
//! # How it works
//! - Each registered socket gets a [`PollDesc`] (a slot of a slab, named by
//!   its key): for each direction a waker slot and a `ready` flag.
//! - Interest is oneshot: a leaf future whose syscall returned `WouldBlock`
//!   stores its waker and (re-)arms the interest for its direction; an event
//!   disarms it, sets `ready` and takes the waker. `epoll_ctl(MOD)` looks at
//!   the socket's state when it arms, so data that came between the failed
//!   syscall and the arming is not missed.
//! - [`Netpoll::poll`] waits for events (or not, with a zero timeout) and
//!   calls the wakers outside every lock. Who polls (Go's rules): an M in
//!   `find_runnable` before it steals (zero timeout), the M that goes to
//!   sleep (the timer sleeper becomes the poller: it blocks in the poller
//!   until the earliest timer; every way of waking it also calls
//!   [`Netpoll::notify`]), and sysmon when nobody polled for 10 ms.
//! - The `Poller` (an epoll fd and an eventfd) is created on the first
//!   registration: a runtime that never touches the network has none.

use std::io;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

/// One direction of a [`PollDesc`].
#[derive(Default)]
struct Half {
    /// The goroutine waiting for this direction, if any.
    waker: Option<Waker>,
    /// An event came since the last waiter registered.
    ready: bool,
}

#[derive(Default)]
struct DescState {
    read: Half,
    write: Half,
    /// Deregistered: no more arming.
    closed: bool,
}

/// A registered socket's readiness (Go's `pollDesc`).
pub(crate) struct PollDesc {
    key: usize,
    state: Mutex<DescState>,
}

/// Which way an operation goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl PollDesc {
    fn lock(&self) -> MutexGuard<'_, DescState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DescState {
    fn half(&mut self, dir: Direction) -> &mut Half {
        match dir {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }

    fn interest(&self, key: usize) -> polling::Event {
        polling::Event::new(key, self.read.waker.is_some(), self.write.waker.is_some())
    }
}

#[derive(Default)]
struct Slab {
    descs: Vec<Option<Arc<PollDesc>>>,
    free: Vec<usize>,
}

/// A runtime's netpoller.
pub(crate) struct Netpoll {
    poller: OnceLock<polling::Poller>,
    slab: Mutex<Slab>,
    /// Sources registered.
    registered: AtomicUsize,
    /// Waker slots filled (goroutines waiting for I/O): possible progress
    /// for deadlock detection.
    waiting: AtomicUsize,
    /// An M is blocked in the poller (Go's `sched.lastpoll == 0`).
    blocked: AtomicBool,
    /// When the poller was last polled, nanoseconds since `start`.
    last_poll: AtomicU64,
    events: Mutex<polling::Events>,
    start: Instant,
}

impl Netpoll {
    pub(crate) fn new(start: Instant) -> Netpoll {
        Netpoll {
            poller: OnceLock::new(),
            slab: Mutex::new(Slab::default()),
            registered: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            blocked: AtomicBool::new(false),
            last_poll: AtomicU64::new(0),
            events: Mutex::new(polling::Events::new()),
            start,
        }
    }

    fn poller(&self) -> io::Result<&polling::Poller> {
        if let Some(p) = self.poller.get() {
            return Ok(p);
        }
        let p = polling::Poller::new()?;
        Ok(self.poller.get_or_init(|| p))
    }

    /// Sources registered now.
    pub(crate) fn registered(&self) -> usize {
        self.registered.load(SeqCst)
    }

    /// Goroutines waiting for a socket now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(SeqCst)
    }

    /// True if an M is blocked in the poller.
    pub(crate) fn is_blocked(&self) -> bool {
        self.blocked.load(SeqCst)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Time since the last poll (zero while an M is blocked in the poller).
    pub(crate) fn since_last_poll(&self) -> Duration {
        if self.is_blocked() {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.now().saturating_sub(self.last_poll.load(Relaxed)))
    }

    /// Registers `source` (no interest yet).
    ///
    /// # Safety
    /// `source` must be [`deregister`](Netpoll::deregister)ed before it is
    /// closed (polling's `Poller::add` contract).
    pub(crate) unsafe fn register(&self, source: impl polling::AsRawSource) -> io::Result<Arc<PollDesc>> {
        let poller = self.poller()?;
        let desc = {
            let mut slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
            let key = match slab.free.pop() {
                Some(k) => k,
                None => {
                    slab.descs.push(None);
                    slab.descs.len() - 1
                }
            };
            let desc = Arc::new(PollDesc {
                key,
                state: Mutex::new(DescState::default()),
            });
            slab.descs[key] = Some(desc.clone());
            desc
        };
        // SAFETY: the caller deregisters `source` before closing it.
        if let Err(e) = unsafe { poller.add(source, polling::Event::none(desc.key)) } {
            self.free_key(desc.key);
            return Err(e);
        }
        self.registered.fetch_add(1, SeqCst);
        Ok(desc)
    }

    fn free_key(&self, key: usize) {
        let mut slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
        slab.descs[key] = None;
        slab.free.push(key);
    }

    /// Removes `source` from the poller; its waiters are dropped unwoken
    /// (their future owns the socket, so nobody waits any more).
    pub(crate) fn deregister(&self, source: impl polling::AsSource, desc: &PollDesc) {
        let wakers = {
            let mut st = desc.lock();
            st.closed = true;
            let w = [st.read.waker.take(), st.write.waker.take()];
            let n = w.iter().flatten().count();
            self.waiting.fetch_sub(n, SeqCst);
            w
        };
        if let Some(poller) = self.poller.get() {
            let _ = poller.delete(source);
        }
        self.free_key(desc.key);
        self.registered.fetch_sub(1, SeqCst);
        drop(wakers);
    }

    /// After an operation in direction `dir` returned `WouldBlock`: stores
    /// `waker` and arms the interest. Returns `Ok(false)` if an event came
    /// meanwhile (retry the operation now), `Ok(true)` if the caller should
    /// return `Pending`.
    pub(crate) fn wait_for(
        &self,
        source: impl polling::AsSource,
        desc: &PollDesc,
        dir: Direction,
        waker: &Waker,
    ) -> io::Result<bool> {
        let mut st = desc.lock();
        if st.closed {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "socket deregistered"));
        }
        let half = st.half(dir);
        if std::mem::take(&mut half.ready) {
            return Ok(false);
        }
        match &mut half.waker {
            Some(w) => {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
            }
            slot @ None => {
                *slot = Some(waker.clone());
                self.waiting.fetch_add(1, SeqCst);
            }
        }
        let interest = st.interest(desc.key);
        // Armed under the desc's lock, so arms are not reordered.
        if let Err(e) = self.poller()?.modify(source, interest) {
            if st.half(dir).waker.take().is_some() {
                self.waiting.fetch_sub(1, SeqCst);
            }
            return Err(e);
        }
        Ok(true)
    }

    /// Wakes whatever waits in the poller (an M blocked in [`poll`]).
    ///
    /// [`poll`]: Netpoll::poll
    pub(crate) fn notify(&self) {
        if let Some(p) = self.poller.get() {
            let _ = p.notify();
        }
    }

    /// Marks this M as the one blocked in the poller; false if another is.
    pub(crate) fn try_block(&self) -> bool {
        !self.blocked.swap(true, SeqCst)
    }

    /// The M blocked in the poller left it.
    pub(crate) fn unblock(&self) {
        self.blocked.store(false, SeqCst);
    }

    /// Waits up to `timeout` (`None`: until an event or a
    /// [`notify`](Netpoll::notify)) and wakes the goroutines whose sockets
    /// are ready; returns how many. Without a poller, returns 0 at once.
    /// If another thread is waiting in the poller, returns 0 at once.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> usize {
        let Some(poller) = self.poller.get() else {
            return 0;
        };
        let Ok(mut events) = self.events.try_lock() else {
            return 0;
        };
        events.clear();
        let r = poller.wait(&mut events, timeout);
        self.last_poll.store(self.now(), Relaxed);
        if r.is_err() {
            return 0;
        }
        let mut wakers = Vec::new();
        {
            let slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
            for ev in events.iter() {
                let Some(Some(desc)) = slab.descs.get(ev.key) else {
                    continue;
                };
                let mut st = desc.lock();
                if st.closed {
                    continue;
                }
                if ev.readable {
                    st.read.ready = true;
                    wakers.extend(st.read.waker.take());
                }
                if ev.writable {
                    st.write.ready = true;
                    wakers.extend(st.write.waker.take());
                }
                // Oneshot: the event disarmed the source, so a waiter for
                // the other direction would be stranded; wake it too (it
                // retries its syscall and arms again).
                let other = if ev.readable { &mut st.write } else { &mut st.read };
                wakers.extend(other.waker.take());
            }
        }
        drop(events);
        self.waiting.fetch_sub(wakers.len(), SeqCst);
        let n = wakers.len();
        for w in wakers {
            w.wake();
        }
        n
    }
}
