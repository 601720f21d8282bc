//! Deadlines on sockets (Go's `SetDeadline`, `SetReadDeadline`,
//! `SetWriteDeadline`).
//!
//! # How it works (Go's `pollDesc` deadlines, `runtime_pollSetDeadline`)
//! - Each direction of a socket (read: reads, receives and accepts; write:
//!   writes and sends) has a deadline: an `Instant`, or none. Setting it
//!   arms one timer on the runtime's timers (the interface's `add_timer`)
//!   whose waker is this direction, not a goroutine: when it fires it marks
//!   the direction expired and wakes every goroutine waiting in it. A new
//!   deadline cancels the old timer (`cancel_timer`).
//! - A goroutine about to wait for the socket while a deadline is set
//!   checks it and leaves its waker here too, beside the netpoller's;
//!   setting, clearing or reaching a deadline wakes them all, and each
//!   looks again: a deadline reached (or in the past) fails the operation
//!   with [`io::ErrorKind::TimedOut`], as Go's fail with
//!   `os.ErrDeadlineExceeded`.
//! - Without a deadline a waiter leaves its waker with the netpoller only,
//!   and does not touch this state at all: the socket (`Registered`) keeps
//!   a bit per direction saying whether a deadline is set. Setting one
//!   where there was none also kicks the socket's netpoller entry in that
//!   direction, as an edge would (Go's `netpollunblock` in
//!   `poll_runtime_pollSetDeadline`): its waiters wake and look again, and
//!   an operation caught between its try and its wait sees the edge count
//!   move and retries. The setter stores the bit before the kick, and the
//!   waiter reads the edge count before the bit, so a waiter either sees
//!   the bit (and lists itself here) or is reached by the kick. Moving a
//!   deadline that was set needs no kick (every waiter saw the bit and is
//!   listed, or lists itself under this lock after the move), nor does
//!   clearing one (a waiter that is not woken just waits for I/O), so a
//!   server that moves its deadline on every request does not pay for a
//!   spurious edge each time.
//! - An operation also checks at its start: once a deadline has passed,
//!   every operation in that direction fails at once, even if the socket
//!   is ready (Go's rule), until the deadline is moved or cleared.
//! - Cost without deadlines: a load of the socket's bits per operation
//!   and per wait, on a cache line the operation uses anyway. (Before,
//!   every wait took this lock to leave a clone of its waker and every
//!   operation that waited took it again to remove it: 1% of a hyper
//!   server's CPU under wrk, `perf record` on `benches/wrk/server.rs`.)

use crate::sched::{Direction, Shared, TimerKey};
use std::io;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::Relaxed, Ordering::Release};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Wake, Waker};
use std::time::Instant;

/// One direction's deadline.
#[derive(Default)]
struct DirState {
    /// The deadline, if any.
    deadline: Option<Instant>,
    /// The timer armed for it (until it fires or is cancelled).
    timer: Option<TimerKey>,
    /// The timer fired: the deadline has passed.
    expired: bool,
    /// Bumped by every `set`: a timer armed for an older deadline that
    /// fires late does nothing.
    generation: u64,
    /// The goroutines waiting in this direction.
    waiters: Vec<Waker>,
}

#[derive(Default)]
struct Dir {
    /// `state.waiters.len()`, readable without the lock.
    waiting: AtomicUsize,
    state: Mutex<DirState>,
}

impl Dir {
    fn lock(&self) -> MutexGuard<'_, DirState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A socket's deadlines, both directions.
#[derive(Default)]
pub(crate) struct Deadlines {
    dirs: [Dir; 2],
}

/// The waker of a deadline's timer.
struct Expire {
    deadlines: Arc<Deadlines>,
    dir: Direction,
    generation: u64,
}

impl Wake for Expire {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let dir = &self.deadlines.dirs[self.dir as usize];
        let waiters = {
            let mut st = dir.lock();
            if st.generation != self.generation {
                return;
            }
            st.expired = true;
            st.timer = None;
            dir.waiting.store(0, Relaxed);
            std::mem::take(&mut st.waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "i/o deadline exceeded")
}

impl DirState {
    fn is_expired(&self) -> bool {
        self.expired || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Deadlines {
    /// Sets (or clears, with `None`) the deadline of direction `dir`, and
    /// wakes the goroutines waiting in it so that they look again. Bit
    /// `1 << dir` of `bits` (the socket's) says whether one is set; it is
    /// stored under this direction's lock, so that concurrent `set`s leave
    /// it agreeing with the last one. Returns true if the bit was clear
    /// before: goroutines may be waiting that did not list themselves
    /// here, and the caller must reach them (see the module docs).
    pub(crate) fn set(
        self: &Arc<Self>,
        shared: &Shared,
        dir: Direction,
        deadline: Option<Instant>,
        bits: &AtomicU8,
    ) -> bool {
        let d = &self.dirs[dir as usize];
        let newly_set;
        let (old_timer, waiters) = {
            let mut st = d.lock();
            st.generation = st.generation.wrapping_add(1);
            st.deadline = deadline;
            st.expired = false;
            let old_timer = st.timer.take();
            if let Some(at) = deadline {
                if Instant::now() >= at {
                    st.expired = true;
                } else {
                    let waker = Waker::from(Arc::new(Expire {
                        deadlines: self.clone(),
                        dir,
                        generation: st.generation,
                    }));
                    st.timer = Some(shared.add_timer(at, &waker));
                }
            }
            let bit = 1 << dir as u8;
            let before = if deadline.is_some() {
                bits.fetch_or(bit, Release)
            } else {
                bits.fetch_and(!bit, Release)
            };
            newly_set = deadline.is_some() && before & bit == 0;
            d.waiting.store(0, Relaxed);
            (old_timer, std::mem::take(&mut st.waiters))
        };
        if let Some(key) = old_timer {
            shared.cancel_timer(key);
        }
        waiters.into_iter().for_each(Waker::wake);
        newly_set
    }

    /// At the start of an operation in direction `dir`, while the socket
    /// says a deadline is set: `Err(TimedOut)` if it has passed.
    pub(crate) fn check(&self, dir: Direction) -> io::Result<()> {
        let d = &self.dirs[dir as usize];
        if d.lock().is_expired() {
            return Err(timed_out());
        }
        Ok(())
    }

    /// Before an operation in direction `dir` waits: `Ready(Err(TimedOut))`
    /// if its deadline has passed, else leaves `waker` to be woken when a
    /// deadline is set or reached, and returns `Pending`.
    ///
    /// Called only while the socket says a deadline is set (see
    /// `Registered::wait`). If it was cleared meanwhile, the waiter is not
    /// listed (nobody is listed while there is no deadline): it waits for
    /// I/O only, and a deadline set later kicks the netpoller.
    pub(crate) fn before_wait(&self, dir: Direction, waker: &Waker) -> Poll<io::Error> {
        let d = &self.dirs[dir as usize];
        let mut st = d.lock();
        if st.is_expired() {
            return Poll::Ready(timed_out());
        }
        if st.deadline.is_none() {
            return Poll::Pending;
        }
        if !st.waiters.iter().any(|w| w.will_wake(waker)) {
            st.waiters.push(waker.clone());
            d.waiting.store(st.waiters.len(), Relaxed);
        }
        Poll::Pending
    }

    /// After an operation in direction `dir` ended: takes back the waker
    /// it may have left.
    pub(crate) fn done(&self, dir: Direction, waker: &Waker) {
        let d = &self.dirs[dir as usize];
        if d.waiting.load(Relaxed) == 0 {
            return;
        }
        let removed = {
            let mut st = d.lock();
            let i = st.waiters.iter().position(|w| w.will_wake(waker));
            let removed = i.map(|i| st.waiters.swap_remove(i));
            d.waiting.store(st.waiters.len(), Relaxed);
            removed
        };
        drop(removed);
    }

    /// Cancels the timers (the socket is being dropped).
    pub(crate) fn clear(&self, shared: &Shared) {
        for d in &self.dirs {
            let (timer, waiters) = {
                let mut st = d.lock();
                (st.timer.take(), std::mem::take(&mut st.waiters))
            };
            if let Some(key) = timer {
                shared.cancel_timer(key);
            }
            drop(waiters);
        }
    }
}

/// The deadline methods of a socket type whose `io` field is a
/// `Registered`: `stream` gives `set_deadline`, `set_read_deadline` and
/// `set_write_deadline`; `listener` gives `set_deadline` (for accepts).
/// `$setup` makes `s` in the examples; `$read` and `$write` are an
/// operation on it in each direction. (Not formatted: rustfmt re-indents
/// the `concat!` in the doc attributes further on every run.)
#[rustfmt::skip]
macro_rules! deadline_methods {
    (stream, setup: $setup:literal, read: $read:literal, write: $write:literal) => {
        /// Sets the deadline of reads and writes alike (Go's
        /// `SetDeadline`): an absolute time, or `None` for none. An
        /// operation that would wait past it fails with
        /// [`std::io::ErrorKind::TimedOut`] (Go's `os.ErrDeadlineExceeded`);
        /// once it has passed, every operation fails at once until the
        /// deadline is moved or cleared. Setting it wakes operations that
        /// wait, so that the new deadline applies to them (a deadline in
        /// the past fails them at once). It is not a timeout per call: to
        /// give each read 5 s, set the deadline before each one.
        ///
        /// The deadline is kept by the socket: halves made by `split` and
        /// `into_split` share it.
        ///
        #[doc = concat!(
            "```\nuse std::time::{Duration, Instant};\n\n",
            "# gpm::runtime::Runtime::new().unwrap().block_on(async {\n",
            $setup,
            "\ns.set_deadline(Some(Instant::now() + Duration::from_millis(5)));\n",
            "// Nothing arrives: the wait ends at the deadline.\n",
            "let err = ", $read, ".unwrap_err();\n",
            "assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);\n",
            "s.set_deadline(None); // no deadline any more\n",
            "# });\n```"
        )]
        pub fn set_deadline(&self, deadline: Option<std::time::Instant>) {
            self.io.set_deadlines(deadline)
        }

        /// Sets the deadline of reads (receives) only (Go's
        /// `SetReadDeadline`); see [`set_deadline`](Self::set_deadline).
        ///
        #[doc = concat!(
            "```\nuse std::time::{Duration, Instant};\n\n",
            "# gpm::runtime::Runtime::new().unwrap().block_on(async {\n",
            $setup,
            "\ns.set_read_deadline(Some(Instant::now() + Duration::from_millis(5)));\n",
            "let err = ", $read, ".unwrap_err();\n",
            "assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);\n",
            "// Writes have no deadline.\n",
            $write, ".unwrap();\n",
            "# });\n```"
        )]
        pub fn set_read_deadline(&self, deadline: Option<std::time::Instant>) {
            self.io.set_deadline(crate::sched::Direction::Read, deadline)
        }

        /// Sets the deadline of writes (sends) only (Go's
        /// `SetWriteDeadline`); see [`set_deadline`](Self::set_deadline).
        ///
        #[doc = concat!(
            "```\nuse std::time::Instant;\n\n",
            "# gpm::runtime::Runtime::new().unwrap().block_on(async {\n",
            $setup,
            "\ns.set_write_deadline(Some(Instant::now())); // already passed\n",
            "let err = ", $write, ".unwrap_err();\n",
            "assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);\n",
            "s.set_write_deadline(None);\n",
            $write, ".unwrap();\n",
            "# });\n```"
        )]
        pub fn set_write_deadline(&self, deadline: Option<std::time::Instant>) {
            self.io.set_deadline(crate::sched::Direction::Write, deadline)
        }
    };
    (listener, setup: $setup:literal, cleanup: $cleanup:literal) => {
        /// Sets the deadline of accepts (Go's `TCPListener.SetDeadline`):
        /// an absolute time, or `None` for none. An accept that would wait
        /// past it fails with [`std::io::ErrorKind::TimedOut`] (Go's
        /// `os.ErrDeadlineExceeded`); once it has passed, every accept
        /// fails at once until the deadline is moved or cleared. Setting it
        /// wakes a waiting accept, so that the new deadline applies.
        ///
        #[doc = concat!(
            "```\nuse std::time::{Duration, Instant};\n\n",
            "# gpm::runtime::Runtime::new().unwrap().block_on(async {\n",
            $setup,
            "\ns.set_deadline(Some(Instant::now() + Duration::from_millis(5)));\n",
            "// Nobody connects: the wait ends at the deadline.\n",
            "let err = s.accept().await.unwrap_err();\n",
            "assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);\n",
            "s.set_deadline(None);\n",
            "# });\n",
            $cleanup,
            "\n```"
        )]
        pub fn set_deadline(&self, deadline: Option<std::time::Instant>) {
            self.io.set_deadline(crate::sched::Direction::Read, deadline)
        }
    };
}
pub(super) use deadline_methods;
