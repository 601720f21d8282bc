//! The netpoller (Go's `netpoll`, `pollDesc`): readiness of sockets, on
//! `mio` (epoll, kqueue).
//!
//! # How it works
//! - Each registered socket gets a [`PollDesc`] (a slot of a slab, named by
//!   its key): for each direction the wakers of its waiters and a count of
//!   the edges seen.
//! - Interest is edge-triggered, as in Go: a socket is registered once for
//!   both directions, and an operation that returned `WouldBlock` only
//!   stores its waker; no system call arms anything. An edge counts itself
//!   and takes the direction's wakers. An operation reads the count before
//!   its syscall; if it has moved by the time the waiter takes the desc's
//!   lock, an edge came in between and it retries at once instead of
//!   sleeping (tokio's readiness tick). A count, not a flag: an edge taken
//!   by a waiter that will not retry (its future was dropped) still tells
//!   a new waiter to retry, and a woken waiter's own edge does not make it
//!   retry twice.
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
    AtomicBool, AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
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
    /// Edges seen per direction (read, write): written under `state`'s
    /// lock, read before an operation without it.
    edges: [AtomicU64; 2],
    /// Per direction (bit 1 read, bit 2 write): the peer closed it or the
    /// socket has an error; the next operation ends at once (EOF, the
    /// error), whatever a short transfer suggested.
    hung_up: AtomicU8,
}

/// Which way an operation goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Read = 0,
    Write = 1,
}

impl PollDesc {
    fn lock(&self) -> MutexGuard<'_, DescState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The edges seen in direction `dir` so far: read it before trying an
    /// operation, and pass it to [`Netpoll::wait_for`] if the operation
    /// would block.
    pub(crate) fn edges(&self, dir: Direction) -> u64 {
        self.edges[dir as usize].load(Acquire)
    }

    /// An edge in direction `dir`, with `st` (this desc's state) locked:
    /// counts it and moves the direction's wakers to `wakers`.
    fn edge(&self, st: &mut DescState, dir: Direction, wakers: &mut Vec<Waker>) {
        self.edges[dir as usize].fetch_add(1, Release);
        wakers.append(&mut st.half(dir).wakers);
    }

    /// True once an event said direction `dir` is closed or broken.
    pub(crate) fn hung_up(&self, dir: Direction) -> bool {
        self.hung_up.load(Acquire) & (1 << dir as u8) != 0
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
                edges: [AtomicU64::new(0), AtomicU64::new(0)],
                hung_up: AtomicU8::new(0),
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

    /// After an operation in direction `dir` returned `WouldBlock`, with
    /// `seen` the [`PollDesc::edges`] read before it: stores `waker`.
    /// Returns `Ok(false)` if an edge came since `seen` (retry the operation
    /// now), `Ok(true)` if the caller should return `Pending`.
    pub(crate) fn wait_for(&self, desc: &PollDesc, dir: Direction, seen: u64, waker: &Waker) -> io::Result<bool> {
        let mut st = desc.lock();
        if st.closed {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "socket deregistered"));
        }
        // Under the lock, which every edge count is written under.
        if desc.edges[dir as usize].load(Relaxed) != seen {
            return Ok(false);
        }
        let half = st.half(dir);
        if !half.wakers.iter().any(|w| w.will_wake(waker)) {
            half.wakers.push(waker.clone());
            self.waiting.fetch_add(1, SeqCst);
        }
        Ok(true)
    }

    /// Moves direction `dir` of `desc` as an edge would, without I/O: its
    /// waiters wake and look again, and an operation between its try and
    /// its wait retries. Used when a deadline is set on a socket that had
    /// none (`net/deadline.rs`); Go's `netpollunblock` there.
    pub(crate) fn kick(&self, desc: &PollDesc, dir: Direction) {
        let mut wakers = Vec::new();
        desc.edge(&mut desc.lock(), dir, &mut wakers);
        self.wake_all(wakers);
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
                let hung_up = u8::from(ev.is_read_closed() || broken) | u8::from(ev.is_write_closed() || broken) << 1;
                if hung_up != 0 {
                    // Before the counts move: a waiter that sees a new
                    // count sees this too.
                    desc.hung_up.fetch_or(hung_up, Release);
                }
                if ev.is_readable() || ev.is_read_closed() || broken {
                    desc.edge(&mut st, Direction::Read, &mut wakers);
                }
                if ev.is_writable() || ev.is_write_closed() || broken {
                    desc.edge(&mut st, Direction::Write, &mut wakers);
                }
            }
        }
        drop(guard);
        self.wake_all(wakers)
    }

    /// Wakes goroutines taken from descs by [`PollDesc::edge`] and returns
    /// how many. Wake first, then uncount: a goroutine readied here is
    /// counted as waiting for I/O until it is marked runnable (deadlock
    /// detection must never see it as neither).
    fn wake_all(&self, wakers: Vec<Waker>) -> usize {
        let n = wakers.len();
        for w in wakers {
            w.wake();
        }
        self.waiting.fetch_sub(n, SeqCst);
        n
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::AtomicUsize;

    /// Counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// Polls until at least one waker was woken (the edge has been seen).
    fn poll_until_woken(netpoll: &Netpoll) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while netpoll.poll(Some(Duration::from_millis(100))) == 0 {
            assert!(Instant::now() < deadline, "no edge within 30 s");
        }
    }

    /// A waiter whose read failed just before an edge, and who reaches the
    /// desc's lock after it, must retry, even when the edge's wake went to
    /// another waiter that will not retry (a dropped future's waker).
    #[test]
    #[cfg_attr(miri, ignore = "sockets: Miri cannot set them non-blocking")]
    fn an_edge_taken_by_a_stale_waiter_still_makes_a_late_waiter_retry() {
        let netpoll = Netpoll::new(Instant::now());
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let desc = netpoll.register(b.as_raw_fd()).unwrap();
        // Registration reports the socket writable; let that edge pass.
        let _ = netpoll.poll(Some(Duration::ZERO));

        // A waiter whose future is gone: its waker stays until an edge.
        let stale = Arc::new(Count::default());
        let seen = desc.edges(Direction::Read);
        assert!(netpoll
            .wait_for(&desc, Direction::Read, seen, &Waker::from(stale.clone()))
            .unwrap());

        // The late waiter reads the count, tries its read: nothing yet.
        let late = Arc::new(Count::default());
        let seen = desc.edges(Direction::Read);
        assert_eq!((&b).read(&mut [0; 8]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        // Data arrives and the edge is polled before the late waiter
        // stores its waker: the edge wakes the stale waiter only.
        a.write_all(b"x").unwrap();
        poll_until_woken(&netpoll);
        assert_eq!(stale.0.load(SeqCst), 1);

        // The late waiter must be told to retry, not to sleep.
        assert!(
            !netpoll
                .wait_for(&desc, Direction::Read, seen, &Waker::from(late.clone()))
                .unwrap(),
            "the late waiter would sleep with data waiting"
        );
        assert_eq!((&b).read(&mut [0; 8]).unwrap(), 1);
        netpoll.deregister(b.as_raw_fd(), &desc);
    }

    /// A waiter woken by an edge retries its read once: the edge it was
    /// woken for does not also make its next wait retry.
    #[test]
    #[cfg_attr(miri, ignore = "sockets: Miri cannot set them non-blocking")]
    fn a_woken_waiter_does_not_retry_twice() {
        let netpoll = Netpoll::new(Instant::now());
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let desc = netpoll.register(b.as_raw_fd()).unwrap();
        let _ = netpoll.poll(Some(Duration::ZERO));

        let w = Arc::new(Count::default());
        let seen = desc.edges(Direction::Read);
        assert!(netpoll
            .wait_for(&desc, Direction::Read, seen, &Waker::from(w.clone()))
            .unwrap());
        a.write_all(b"x").unwrap();
        poll_until_woken(&netpoll);
        assert_eq!(w.0.load(SeqCst), 1);
        // Woken: it reads the count, reads the data, and later blocks.
        let seen = desc.edges(Direction::Read);
        assert_eq!((&b).read(&mut [0; 8]).unwrap(), 1);
        assert_eq!((&b).read(&mut [0; 8]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert!(netpoll
            .wait_for(&desc, Direction::Read, seen, &Waker::from(w.clone()))
            .unwrap());
        netpoll.deregister(b.as_raw_fd(), &desc);
    }
}
