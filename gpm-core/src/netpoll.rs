//! The netpoller (Go's `netpoll`, `pollDesc`): readiness of sockets, on
//! `mio` (epoll, kqueue).
//!
//! # How it works
//! - Each registered socket gets a [`PollDesc`] (a slot of a slab, named by
//!   its key): for each direction the wakers of its waiters and a `ready`
//!   flag.
//! - Interest is edge-triggered, as in Go: a socket is registered once for
//!   both directions, and an operation that returned `WouldBlock` only
//!   stores its waker; no system call arms anything. An edge takes the
//!   direction's wakers, or, with nobody waiting, sets its `ready` flag. A
//!   waiter that finds `ready` set (an edge came between its failed syscall
//!   and the desc's lock) retries at once instead of sleeping.
//! - [`Netpoll::poll`] waits for events (or not, with a zero timeout) and
//!   calls the wakers outside every lock. Who polls (Go's rules): an M in
//!   `find_runnable` before it steals (zero timeout), the M that goes to
//!   sleep (the timer sleeper becomes the poller: it blocks in the poller
//!   until the earliest timer; every way of waking it also calls
//!   [`Netpoll::notify`]), and sysmon when nobody polled for 10 ms.
//! - A poll is one `epoll_wait` (mio's wakeup eventfd is edge-triggered
//!   too). The `polling` crate was measured first: its epoll backend spends
//!   five system calls on every wait (a timerfd and two re-arms), which an
//!   echo server pays on every round trip. The price of mio is the timeout's
//!   resolution: a millisecond, as in Go, so a timer under 1 ms that the
//!   poller M sleeps for can fire late by up to 1 ms (without sockets the
//!   sleeper waits on a condvar, to the nanosecond).
//! - The poller (an epoll fd and an eventfd) is created on the first
//!   registration: a runtime that never touches the network has none.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

/// The token of mio's wakeup eventfd (slab keys never get this high).
const WAKER: mio::Token = mio::Token(usize::MAX);

/// One direction of a [`PollDesc`].
#[derive(Default)]
struct Half {
    /// The goroutines waiting for this direction: usually one; more when
    /// goroutines share a socket (two receivers on one UDP socket, readers
    /// of one `&TcpStream`). An edge wakes them all, and those that find
    /// nothing wait again (Go serialises them on the fd's mutex instead).
    wakers: Vec<Waker>,
    /// An edge came while nobody waited.
    ready: bool,
}

#[derive(Default)]
struct DescState {
    read: Half,
    write: Half,
    /// Deregistered: no more waiting.
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
}

#[derive(Default)]
struct Slab {
    descs: Vec<Option<Arc<PollDesc>>>,
    free: Vec<usize>,
}

/// The OS poller: the registry is shared, the poll itself is one thread's
/// at a time.
struct Poller {
    registry: mio::Registry,
    waker: mio::Waker,
    poll: Mutex<(mio::Poll, mio::Events)>,
}

/// A runtime's netpoller.
pub(crate) struct Netpoll {
    poller: OnceLock<Poller>,
    slab: Mutex<Slab>,
    /// Sources registered.
    registered: AtomicUsize,
    /// Wakers stored (goroutines waiting for I/O): possible progress
    /// for deadlock detection.
    waiting: AtomicUsize,
    /// An M is blocked in the poller (Go's `sched.lastpoll == 0`).
    blocked: AtomicBool,
    /// When the poller was last polled, nanoseconds since `start`.
    last_poll: AtomicU64,
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
            start,
        }
    }

    fn poller(&self) -> io::Result<&Poller> {
        if let Some(p) = self.poller.get() {
            return Ok(p);
        }
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(&registry, WAKER)?;
        let p = Poller {
            registry,
            waker,
            poll: Mutex::new((poll, mio::Events::with_capacity(1024))),
        };
        // A racing first registration may have won: its poller is kept,
        // this one is dropped unused.
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

    /// Registers the socket `fd` for edges in both directions. It must be
    /// [`deregister`](Netpoll::deregister)ed before it is closed (or the
    /// kernel could report a reused fd under its key).
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<Arc<PollDesc>> {
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
        let interest = mio::Interest::READABLE | mio::Interest::WRITABLE;
        if let Err(e) = poller
            .registry
            .register(&mut mio::unix::SourceFd(&fd), mio::Token(desc.key), interest)
        {
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

    /// Removes the socket `fd` from the poller; its waiters are dropped
    /// unwoken (their future owns the socket, so nobody waits any more).
    pub(crate) fn deregister(&self, fd: RawFd, desc: &PollDesc) {
        let wakers = {
            let mut st = desc.lock();
            st.closed = true;
            let mut w = std::mem::take(&mut st.read.wakers);
            w.append(&mut st.write.wakers);
            self.waiting.fetch_sub(w.len(), SeqCst);
            w
        };
        if let Some(poller) = self.poller.get() {
            let _ = poller.registry.deregister(&mut mio::unix::SourceFd(&fd));
        }
        self.free_key(desc.key);
        self.registered.fetch_sub(1, SeqCst);
        drop(wakers);
    }

    /// After an operation in direction `dir` returned `WouldBlock`: stores
    /// `waker`. Returns `Ok(false)` if an edge came meanwhile (retry the
    /// operation now), `Ok(true)` if the caller should return `Pending`.
    pub(crate) fn wait_for(&self, desc: &PollDesc, dir: Direction, waker: &Waker) -> io::Result<bool> {
        let mut st = desc.lock();
        if st.closed {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "socket deregistered"));
        }
        let half = st.half(dir);
        if std::mem::take(&mut half.ready) {
            return Ok(false);
        }
        if !half.wakers.iter().any(|w| w.will_wake(waker)) {
            half.wakers.push(waker.clone());
            self.waiting.fetch_add(1, SeqCst);
        }
        Ok(true)
    }

    /// Wakes whatever waits in the poller (an M blocked in [`poll`]).
    ///
    /// [`poll`]: Netpoll::poll
    pub(crate) fn notify(&self) {
        if let Some(p) = self.poller.get() {
            let _ = p.waker.wake();
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
    /// If another thread is in the poller, returns 0 at once.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> usize {
        let Some(poller) = self.poller.get() else {
            return 0;
        };
        let Ok(mut guard) = poller.poll.try_lock() else {
            return 0;
        };
        let (poll, events) = &mut *guard;
        let r = poll.poll(events, timeout);
        self.last_poll.store(self.now(), Relaxed);
        if r.is_err() {
            return 0;
        }
        let mut wakers = Vec::new();
        {
            let slab = self.slab.lock().unwrap_or_else(|e| e.into_inner());
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let Some(Some(desc)) = slab.descs.get(ev.token().0) else {
                    continue;
                };
                let mut st = desc.lock();
                if st.closed {
                    continue;
                }
                // A hang-up or an error makes both directions "ready": the
                // next syscall reports it.
                let broken = ev.is_error();
                if ev.is_readable() || ev.is_read_closed() || broken {
                    fire(&mut st.read, &mut wakers);
                }
                if ev.is_writable() || ev.is_write_closed() || broken {
                    fire(&mut st.write, &mut wakers);
                }
            }
        }
        drop(guard);
        self.waiting.fetch_sub(wakers.len(), SeqCst);
        let n = wakers.len();
        for w in wakers {
            w.wake();
        }
        n
    }
}

/// An edge in one direction: the waiters' wakers, or `ready` for the next
/// one (a woken waiter retries its syscall anyway, so `ready` stays clear
/// and it does not retry twice).
fn fire(half: &mut Half, wakers: &mut Vec<Waker>) {
    if half.wakers.is_empty() {
        half.ready = true;
    } else {
        wakers.append(&mut half.wakers);
    }
}
