//! The readers-writer protocol behind `RwLock` (Go's `sync/rwmutex.go`):
//! the state word, the two queues, and who hands the lock to whom.
//!
//! Go's rule for fairness: a writer that is waiting blocks new readers, so
//! a stream of readers cannot starve it; when a writer unlocks, every reader
//! that queued during its turn is admitted before the next writer, so
//! writers cannot starve readers either. Turns alternate: a writer, the
//! readers that came meanwhile, the next writer, ...
//!
//! The writer that holds the writer role (Go's `w` mutex) is either
//! *active* or *pending*: pending while the readers admitted before it
//! finish (Go's `readerWait`). The last of them hands it the lock. Other
//! writers queue FIFO behind it (Go's `w` is a `Mutex`, whose newcomers may
//! barge; here writers take turns in order).
//!
//! State (one `AtomicUsize`): the reader count in the high bits, `WRITER`
//! while a writer is active or pending (new readers queue), `WAITERS` while
//! someone is queued. `WRITER` and `WAITERS` change only with the queue's
//! lock held; readers come and go by compare-and-swap while `WRITER` is
//! clear, and leave by `fetch_sub` at any time.

use crate::sched::{park, WaitReason};
use crate::sync::lock_queue;
use crate::sync::sema::{Key, Status, WaitQueue};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::task::{ready, Context, Poll, Waker};

/// A writer is active or pending: new readers queue.
const WRITER: usize = 1;
/// Readers or writers are queued.
const WAITERS: usize = 2;
/// One reader, in the count above the flags.
const READER: usize = 4;

fn readers(state: usize) -> usize {
    state / READER
}

/// The waiters of one lock.
struct Queues {
    /// Readers waiting for the writers' turn to end (Go's `readerSem`).
    readers: WaitQueue<()>,
    /// Writers waiting for the writer role (Go's `w`).
    writers: WaitQueue<()>,
    /// The pending writer: it holds the writer role and waits for the
    /// readers to leave (Go's `writerSem`). Its slot is in `writers`, aside.
    pending: Option<Key>,
}

/// The lock without the data: Go's `sync.RWMutex` itself.
pub(super) struct RawRwLock {
    /// Reader count, `WRITER`, `WAITERS`.
    state: AtomicUsize,
    queues: std::sync::Mutex<Queues>,
}

impl RawRwLock {
    pub(super) const fn new() -> RawRwLock {
        RawRwLock {
            state: AtomicUsize::new(0),
            queues: std::sync::Mutex::new(Queues {
                readers: WaitQueue::new(),
                writers: WaitQueue::new(),
                pending: None,
            }),
        }
    }

    pub(super) fn try_read(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        while s & WRITER == 0 {
            let new = s.checked_add(READER).expect("gpm::sync: too many RwLock readers");
            // Acquire: the last writer's writes happen before our reads.
            match self.state.compare_exchange_weak(s, new, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        false
    }

    pub(super) fn try_write(&self) -> bool {
        self.state.compare_exchange(0, WRITER, Acquire, Relaxed).is_ok()
    }

    pub(super) fn poll_read(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        ready!(crate::coop::proceed(cx));
        if let Some(k) = *key {
            let mut queues = lock_queue(&self.queues);
            return match queues.readers.status(k) {
                Status::Granted => {
                    // The writer that admitted us counted us in.
                    queues.readers.remove(k);
                    *key = None;
                    Poll::Ready(())
                }
                _ => {
                    queues.readers.set_waker(k, cx.waker());
                    drop(queues);
                    park(WaitReason::SyncRwMutexRLock);
                    Poll::Pending
                }
            };
        }
        if self.try_read() {
            return Poll::Ready(());
        }
        let mut queues = lock_queue(&self.queues);
        // Come in, or announce a waiter while a writer is there, in one step.
        let mut s = self.state.load(Relaxed);
        loop {
            let (new, enter) = if s & WRITER == 0 {
                (s.checked_add(READER).expect("gpm::sync: too many RwLock readers"), true)
            } else {
                (s | WAITERS, false)
            };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) if enter => return Poll::Ready(()),
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        *key = Some(queues.readers.push_back(cx.waker(), ()));
        drop(queues);
        park(WaitReason::SyncRwMutexRLock);
        Poll::Pending
    }

    pub(super) fn poll_write(&self, key: &mut Option<Key>, cx: &mut Context<'_>) -> Poll<()> {
        ready!(crate::coop::proceed(cx));
        if let Some(k) = *key {
            let mut queues = lock_queue(&self.queues);
            return match queues.writers.status(k) {
                Status::Granted => {
                    queues.writers.remove(k);
                    *key = None;
                    Poll::Ready(())
                }
                _ => {
                    queues.writers.set_waker(k, cx.waker());
                    drop(queues);
                    park(WaitReason::SyncRwMutexLock);
                    Poll::Pending
                }
            };
        }
        if self.try_write() {
            return Poll::Ready(());
        }
        let mut queues = lock_queue(&self.queues);
        let mut s = self.state.load(Relaxed);
        loop {
            // Take the writer role if nobody has it (readers may still be
            // in: then we are pending); else queue for it.
            let take = s & WRITER == 0;
            let new = if take { s | WRITER } else { s | WAITERS };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) if take && readers(s) == 0 => return Poll::Ready(()),
                Ok(_) if take => {
                    // The last reader out hands us the lock.
                    let k = queues.writers.push_aside(cx.waker(), ());
                    queues.pending = Some(k);
                    *key = Some(k);
                    break;
                }
                Ok(_) => {
                    *key = Some(queues.writers.push_back(cx.waker(), ()));
                    break;
                }
                Err(now) => s = now,
            }
        }
        drop(queues);
        park(WaitReason::SyncRwMutexLock);
        Poll::Pending
    }

    pub(super) fn read_unlock(&self) {
        // Release: our reads happen before the next writer's writes.
        let before = self.state.fetch_sub(READER, Release);
        debug_assert!(
            readers(before) > 0,
            "gpm::sync: read_unlock of an RwLock not read-locked"
        );
        if before & WRITER != 0 && readers(before) == 1 {
            // The last reader out: hand the lock to the pending writer.
            let mut queues = lock_queue(&self.queues);
            let waker = match queues.pending {
                Some(k) if readers(self.state.load(Acquire)) == 0 => {
                    queues.pending = None;
                    queues.writers.set_status(k, Status::Granted)
                }
                _ => None,
            };
            drop(queues);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    pub(super) fn write_unlock(&self) {
        if self.state.compare_exchange(WRITER, 0, Release, Relaxed).is_ok() {
            return;
        }
        let mut queues = lock_queue(&self.queues);
        let wakers = self.pass_writer_role(&mut queues);
        drop(queues);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// With the queues locked, by the holder of the writer role (active, or
    /// pending and giving up): admits every queued reader, then gives the
    /// role to the next writer, which is active at once if no reader is in,
    /// else pending. Returns the wakers to wake.
    fn pass_writer_role(&self, queues: &mut Queues) -> Vec<Waker> {
        let mut wakers = Vec::with_capacity(queues.readers.len() + 1);
        let admitted = queues.readers.len();
        while let Some((_, waker)) = queues.readers.pop_front(Status::Granted) {
            wakers.extend(waker);
        }
        let next = queues.writers.front();
        let more_writers = queues.writers.len() > 1;
        // Readers may leave meanwhile (a pending writer's), so CAS.
        let mut s = self.state.load(Relaxed);
        let active = loop {
            let count = readers(s) + admitted;
            let mut new = count * READER;
            if next.is_some() {
                new |= WRITER;
            }
            if more_writers {
                new |= WAITERS;
            }
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => break count == 0,
                Err(now) => s = now,
            }
        };
        if next.is_some() {
            if active {
                let (_, waker) = queues.writers.pop_front(Status::Granted).expect("front exists");
                wakers.extend(waker);
            } else {
                // Pending: the last reader out wakes it.
                queues.pending = queues.writers.unlink_front(Status::Aside);
            }
        }
        wakers
    }

    pub(super) fn cancel_read(&self, key: Key) {
        let mut queues = lock_queue(&self.queues);
        match queues.readers.remove(key) {
            Status::Granted => {
                drop(queues);
                self.read_unlock();
            }
            _ => self.clear_waiters_if_none(&queues),
        }
    }

    pub(super) fn cancel_write(&self, key: Key) {
        let mut queues = lock_queue(&self.queues);
        match queues.writers.remove(key) {
            Status::Granted => {
                drop(queues);
                self.write_unlock();
            }
            Status::Aside => {
                // We held the writer role, waiting for readers: pass it on.
                queues.pending = None;
                let wakers = self.pass_writer_role(&mut queues);
                drop(queues);
                wakers.into_iter().for_each(Waker::wake);
            }
            _ => self.clear_waiters_if_none(&queues),
        }
    }

    fn clear_waiters_if_none(&self, queues: &Queues) {
        if queues.readers.is_empty() && queues.writers.is_empty() {
            self.state.fetch_and(!WAITERS, AcqRel);
        }
    }

    #[cfg(test)]
    fn state(&self) -> usize {
        self.state.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    //! The turn-taking, step by step, by polling by hand.
    use super::*;

    fn read(l: &RawRwLock, key: &mut Option<Key>) -> Poll<()> {
        l.poll_read(key, &mut Context::from_waker(Waker::noop()))
    }

    fn write(l: &RawRwLock, key: &mut Option<Key>) -> Poll<()> {
        l.poll_write(key, &mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn pending_writer_blocks_new_readers_and_the_last_reader_hands_over() {
        let l = RawRwLock::new();
        assert!(l.try_read());
        assert!(l.try_read());
        let mut w = None;
        assert!(write(&l, &mut w).is_pending());
        assert_eq!(l.state(), (2 * READER) | WRITER);
        let mut r = None;
        assert!(read(&l, &mut r).is_pending(), "a waiting writer blocks new readers");
        l.read_unlock();
        assert!(write(&l, &mut w).is_pending(), "one reader is still in");
        l.read_unlock();
        assert!(write(&l, &mut w).is_ready(), "the last reader handed over");
        assert!(read(&l, &mut r).is_pending());
        l.write_unlock();
        assert!(read(&l, &mut r).is_ready(), "admitted by the writer");
        assert_eq!(l.state(), READER);
        l.read_unlock();
        assert_eq!(l.state(), 0);
    }

    #[test]
    fn readers_of_a_writers_turn_go_before_the_next_writer() {
        let l = RawRwLock::new();
        assert!(l.try_write());
        let (mut w2, mut r1, mut r2) = (None, None, None);
        assert!(read(&l, &mut r1).is_pending());
        assert!(write(&l, &mut w2).is_pending());
        assert!(read(&l, &mut r2).is_pending());
        l.write_unlock();
        assert!(read(&l, &mut r1).is_ready());
        assert!(read(&l, &mut r2).is_ready(), "queued behind w2, admitted with r1");
        assert!(write(&l, &mut w2).is_pending(), "w2 is pending");
        assert_eq!(l.state(), (2 * READER) | WRITER);
        l.read_unlock();
        l.read_unlock();
        assert!(write(&l, &mut w2).is_ready());
        l.write_unlock();
        assert_eq!(l.state(), 0);
    }

    #[test]
    fn dropped_waiters_pass_on_what_they_hold() {
        let l = RawRwLock::new();
        assert!(l.try_read());
        let (mut w1, mut w2, mut r) = (None, None, None);
        assert!(write(&l, &mut w1).is_pending());
        assert!(write(&l, &mut w2).is_pending());
        assert!(read(&l, &mut r).is_pending());
        // w1 is pending; dropping it admits r and makes w2 pending.
        l.cancel_write(w1.take().unwrap());
        assert!(read(&l, &mut r).is_ready());
        assert_eq!(l.state(), (2 * READER) | WRITER);
        l.read_unlock();
        l.read_unlock();
        // w2 was handed the lock: dropping it unlocks.
        l.cancel_write(w2.take().unwrap());
        assert_eq!(l.state(), 0);
        // A reader admitted and then dropped leaves.
        assert!(l.try_write());
        assert!(read(&l, &mut r).is_pending());
        l.write_unlock();
        assert_eq!(l.state(), READER);
        l.cancel_read(r.take().unwrap());
        assert_eq!(l.state(), 0);
    }
}
