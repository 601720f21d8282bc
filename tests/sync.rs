//! `gpm::sync`: Go's `sync` package for goroutines.
//!
//! Behaviour under load runs on 1, 2 and 4 Ps with a watchdog: a hang (a
//! lost wake-up, a lock nobody will ever hand on) fails after 30 s with a
//! goroutine dump instead of hanging the suite. The state machines (Go's
//! starvation mode, the `RwLock`'s turns, FIFO permits, what a dropped
//! waiter passes on) are checked step by step by polling futures by hand,
//! where every step is deterministic.

use futures::future::{select, Either};
use gpm::runtime::{Builder, UnhandledPanic};
use gpm::sync::{Mutex, Once, OnceCell, RwLock, Semaphore, WaitGroup};
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);
const PROCS: [usize; 3] = [1, 2, 4];

/// Runs `body` as the main goroutine of a new runtime with `procs` Ps, on
/// its own thread; a panic in any goroutine fails the test, and so does
/// taking longer than [`DEADLINE`] (with a goroutine dump).
fn run<Fut>(procs: usize, body: impl FnOnce() -> Fut + Send + 'static)
where
    Fut: Future<Output = ()>,
{
    let rt = Builder::new()
        .procs(procs)
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        rt.block_on(body());
        drop(rt);
        let _ = tx.send(());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(()) => thread.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("hung for {DEADLINE:?} on {procs} P(s); goroutines:\n{}", handle.dump())
        }
    }
}

/// A waker that remembers whether it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// A future polled by hand, outside any runtime, with its own [`Flag`].
struct Manual<F: Future> {
    future: Pin<Box<F>>,
    flag: Arc<Flag>,
    waker: Waker,
}

impl<F: Future> Manual<F> {
    fn new(future: F) -> Manual<F> {
        let flag = Arc::new(Flag::default());
        Manual {
            future: Box::pin(future),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    fn poll(&mut self) -> Poll<F::Output> {
        self.future.as_mut().poll(&mut Context::from_waker(&self.waker))
    }

    /// Polls, expecting `Pending`.
    #[track_caller]
    fn pending(&mut self) {
        assert!(self.poll().is_pending(), "expected the future to wait");
    }

    /// Polls, expecting `Ready`.
    #[track_caller]
    fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }

    /// True if woken since the last call.
    fn woken(&self) -> bool {
        self.flag.0.swap(false, SeqCst)
    }
}

/// The text of a panic payload.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Waits for `future` for one round at most: it is polled, the goroutine
/// yields once, and then it is dropped in whatever state it is in (queued,
/// woken, or just handed what it waited for) unless it is done. `first`
/// decides whether the yield or the future is polled first.
async fn or_give_up<F: Future + Unpin>(future: F, first: bool) -> Option<F::Output> {
    if first {
        match select(future, gpm::yield_now()).await {
            Either::Left((output, _)) => Some(output),
            Either::Right(_) => None,
        }
    } else {
        match select(gpm::yield_now(), future).await {
            Either::Left(_) => None,
            Either::Right((output, _)) => Some(output),
        }
    }
}

/// A small deterministic random sequence (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<gpm::sync::MutexGuard<'static, u8>>();
    send_sync::<gpm::sync::LockFuture<'static, u8>>();
    send_sync::<RwLock<u8>>();
    send_sync::<gpm::sync::RwLockReadGuard<'static, u8>>();
    send_sync::<gpm::sync::RwLockWriteGuard<'static, u8>>();
    send_sync::<gpm::sync::ReadFuture<'static, u8>>();
    send_sync::<gpm::sync::WriteFuture<'static, u8>>();
    send_sync::<WaitGroup>();
    send_sync::<gpm::sync::WaitFuture<'static>>();
    send_sync::<Once>();
    send_sync::<OnceCell<String>>();
    send_sync::<Semaphore>();
    send_sync::<gpm::sync::AcquireFuture<'static>>();
    let once = Once::new();
    send(&once.call_once(|| {}));
    send(&once.call_once_async(|| async {}));
    let cell = OnceCell::<u8>::new();
    send(&cell.get_or_init(|| 1));
}

// ---------------------------------------------------------------- WaitGroup

/// 10 000 goroutines, counted with `add`/`done` and with `go`, waited for
/// by main and by other goroutines at the same time.
#[test]
fn waitgroup_waits_for_ten_thousand_goroutines() {
    for procs in PROCS {
        run(procs, || async {
            let wg = WaitGroup::new();
            // Held until every goroutine is started, so that the watchers
            // do not find the counter at zero.
            wg.add(1);
            let finished = Arc::new(AtomicUsize::new(0));
            let watchers = WaitGroup::new();
            for _ in 0..4 {
                let (wg, finished) = (wg.clone(), finished.clone());
                watchers.go(async move {
                    wg.wait().await;
                    assert_eq!(finished.load(SeqCst), 10_000);
                });
            }
            for i in 0..10_000 {
                let finished = finished.clone();
                if i % 2 == 0 {
                    wg.add(1);
                    let wg = wg.clone();
                    gpm::go!(async move {
                        if i % 3 == 0 {
                            gpm::yield_now().await;
                        }
                        finished.fetch_add(1, SeqCst);
                        wg.done();
                    });
                } else {
                    wg.go(async move {
                        finished.fetch_add(1, SeqCst);
                    });
                }
            }
            wg.done();
            wg.wait().await;
            assert_eq!(finished.load(SeqCst), 10_000);
            watchers.wait().await;
        });
    }
}

#[test]
#[should_panic(expected = "sync: negative WaitGroup counter")]
fn waitgroup_negative_counter_panics_with_gos_message() {
    WaitGroup::new().done();
}

#[test]
fn waitgroup_negative_counter_panics_in_a_goroutine_and_leaves_the_counter_alone() {
    run(2, || async {
        let wg = WaitGroup::new();
        wg.add(1);
        let err = {
            let wg = wg.clone();
            gpm::spawn(async move { wg.add(-2) }).await.unwrap_err()
        };
        assert_eq!(panic_text(err.into_panic()), "sync: negative WaitGroup counter");
        let caught = catch_unwind(AssertUnwindSafe(|| wg.add(-5))).unwrap_err();
        assert_eq!(panic_text(caught), "sync: negative WaitGroup counter");
        // Still 1: one `done` releases the waiter.
        let waiter = {
            let wg = wg.clone();
            gpm::spawn(async move { wg.wait().await })
        };
        wg.done();
        waiter.await.unwrap();
    });
}

#[test]
fn waitgroup_wait_with_zero_counter_returns_at_once() {
    let wg = WaitGroup::new();
    assert!(Manual::new(wg.wait()).poll().is_ready());
    wg.add(3);
    wg.add(-3);
    assert!(Manual::new(wg.wait()).poll().is_ready());
    wg.wait_blocking();
    run(1, || async {
        // One P and nothing else to run: must not park.
        WaitGroup::new().wait().await;
    });
}

#[test]
fn waitgroup_is_reusable_and_releases_each_generation() {
    let wg = WaitGroup::new();
    wg.add(1);
    let mut first = Manual::new(wg.wait());
    first.pending();
    wg.done();
    assert!(first.woken());
    // Reused before the first waiter looked again: it still returns.
    wg.add(1);
    let mut second = Manual::new(wg.wait());
    second.pending();
    first.ready();
    second.pending();
    wg.done();
    assert!(second.woken());
    second.ready();

    for procs in PROCS {
        run(procs, || async {
            let wg = WaitGroup::new();
            for round in 0..200 {
                let hits = Arc::new(AtomicUsize::new(0));
                for _ in 0..(round % 7 + 1) {
                    let hits = hits.clone();
                    wg.go(async move {
                        hits.fetch_add(1, SeqCst);
                    });
                }
                wg.wait().await;
                assert_eq!(hits.load(SeqCst), round % 7 + 1);
            }
        });
    }
}

#[test]
fn waitgroup_dropped_waiter_leaves_quietly() {
    let wg = WaitGroup::new();
    wg.add(1);
    let mut a = Manual::new(wg.wait());
    let mut b = Manual::new(wg.wait());
    a.pending();
    b.pending();
    drop(a);
    wg.done();
    assert!(b.woken());
    b.ready();
    // Dropped after being released.
    wg.add(1);
    let mut c = Manual::new(wg.wait());
    c.pending();
    wg.done();
    drop(c);
    wg.add(1);
    let mut d = Manual::new(wg.wait());
    d.pending();
    wg.done();
    d.ready();
}

#[test]
fn waitgroup_wait_blocking_on_threads_while_goroutines_finish() {
    let rt = Builder::new().procs(2).build().unwrap();
    let wg = WaitGroup::new();
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        let (wg, tx) = (wg.clone(), tx.clone());
        std::thread::spawn(move || {
            wg.wait_blocking();
            tx.send(()).unwrap();
        });
    }
    wg.add(100);
    for _ in 0..100 {
        let wg = wg.clone();
        drop(rt.spawn(async move {
            gpm::yield_now().await;
            wg.done();
        }));
    }
    for _ in 0..3 {
        rx.recv_timeout(DEADLINE)
            .expect("a thread in wait_blocking was not released");
    }
}

#[test]
fn blocking_variants_panic_inside_a_goroutine() {
    run(2, || async {
        let wg = WaitGroup::new();
        wg.add(1);
        let err = {
            let wg = wg.clone();
            gpm::spawn(async move { wg.wait_blocking() }).await.unwrap_err()
        };
        let text = panic_text(err.into_panic());
        assert!(
            text.contains("WaitGroup::wait_blocking called from inside a goroutine"),
            "{text}"
        );
        wg.done();
        // In main too, even if it would not wait.
        let m = Mutex::new(0);
        let text = panic_text(catch_unwind(AssertUnwindSafe(|| drop(m.lock_blocking()))).unwrap_err());
        assert!(
            text.contains("Mutex::lock_blocking called from inside a goroutine"),
            "{text}"
        );
        let sem = Semaphore::new(1);
        assert!(catch_unwind(AssertUnwindSafe(|| sem.acquire_blocking(1))).is_err());
        let l = RwLock::new(0);
        assert!(catch_unwind(AssertUnwindSafe(|| drop(l.read_blocking()))).is_err());
        assert!(catch_unwind(AssertUnwindSafe(|| drop(l.write_blocking()))).is_err());
        assert!(catch_unwind(AssertUnwindSafe(|| Once::new().call_once_blocking(|| {}))).is_err());
    });
}

// -------------------------------------------------------------------- Mutex

/// Read-modify-write with a yield in the middle: any overlap loses counts.
#[test]
fn mutex_counter_is_exact_with_many_goroutines() {
    for procs in PROCS {
        run(procs, || async {
            let count = Arc::new(Mutex::new(0u64));
            let wg = WaitGroup::new();
            for g in 0..200u64 {
                let count = count.clone();
                wg.go(async move {
                    for i in 0..200u64 {
                        let mut n = count.lock().await;
                        let seen = *n;
                        if (g + i) % 16 == 0 {
                            gpm::yield_now().await;
                        }
                        *n = seen + 1;
                    }
                });
            }
            wg.wait().await;
            assert_eq!(*count.lock().await, 200 * 200);
        });
    }
}

/// Step by step: dropped waiters, queued, woken and handed the lock.
#[test]
fn mutex_dropped_waiter_passes_the_lock_on() {
    let m = Mutex::new(0);
    // Queued, then dropped: the lock is simply free afterwards.
    let guard = m.try_lock().unwrap();
    let mut a = Manual::new(m.lock());
    a.pending();
    drop(a);
    drop(guard);
    drop(m.try_lock().unwrap());

    // Woken (normal mode), then dropped: the next waiter is woken instead.
    let guard = m.try_lock().unwrap();
    let (mut a, mut b) = (Manual::new(m.lock()), Manual::new(m.lock()));
    a.pending();
    b.pending();
    drop(guard);
    assert!(a.woken());
    assert!(!b.woken());
    drop(a);
    assert!(b.woken());
    drop(b.ready());

    // Handed the lock (starvation mode), then dropped: handed to the next.
    let guard = m.try_lock().unwrap();
    let mut a = Manual::new(m.lock());
    a.pending();
    std::thread::sleep(Duration::from_millis(5));
    drop(guard);
    assert!(a.woken());
    let barger = m.try_lock().expect("normal mode lets a newcomer take the lock");
    a.pending(); // waited over 1 ms and lost: starvation mode
    let mut b = Manual::new(m.lock());
    b.pending();
    drop(barger);
    assert!(a.woken());
    assert!(m.try_lock().is_none(), "the lock was handed to a");
    drop(a);
    assert!(b.woken());
    assert!(m.try_lock().is_none(), "the lock was handed on to b");
    *b.ready() += 1;
    assert_eq!(*m.try_lock().unwrap(), 1);
}

/// Goroutines give up waiting at random moments (queued, woken, or just
/// handed the lock) while others lock and unlock: nothing is lost, nobody
/// hangs, and the lock ends free.
#[test]
fn mutex_cancelled_lock_futures_never_lose_the_lock() {
    for procs in PROCS {
        run(procs, || async {
            let m = Arc::new(Mutex::new(0u64));
            let taken = Arc::new(AtomicU64::new(0));
            let wg = WaitGroup::new();
            for g in 0..64u64 {
                let (m, taken) = (m.clone(), taken.clone());
                wg.go(async move {
                    let mut rng = Rng(g + 1);
                    // A few wait for good; most give up after one round,
                    // so that the waiters at the front of the queue, the
                    // ones that are woken or handed the lock, often do.
                    let patient = g % 8 == 0;
                    for _ in 0..200 {
                        let guard = if patient {
                            Some(m.lock().await)
                        } else {
                            or_give_up(m.lock(), rng.below(2) == 0).await
                        };
                        if let Some(mut guard) = guard {
                            taken.fetch_add(1, SeqCst);
                            let seen = *guard;
                            if rng.below(4) == 0 {
                                gpm::yield_now().await;
                            }
                            *guard = seen + 1;
                        }
                    }
                });
            }
            wg.wait().await;
            let total = *m.try_lock().expect("the lock ends free");
            assert_eq!(total, taken.load(SeqCst));
        });
    }
}

/// Go's starvation mode, step by step: a waiter that waited over 1 ms and
/// lost to a newcomer is handed the lock at the next unlock; newcomers queue
/// at the tail (FIFO); the mode ends with the last waiter.
#[test]
fn mutex_starvation_mode_hands_off_in_order_and_ends() {
    let m = Mutex::new(());
    let guard = m.try_lock().unwrap();
    let mut a = Manual::new(m.lock());
    a.pending();
    std::thread::sleep(Duration::from_millis(5));
    drop(guard);
    assert!(a.woken());
    let barger = m.try_lock().expect("normal mode: newcomers barge");
    a.pending();
    let (mut b, mut c) = (Manual::new(m.lock()), Manual::new(m.lock()));
    b.pending();
    c.pending();
    drop(barger);
    // Handed to a, though a has not run yet: nobody can take it.
    assert!(a.woken());
    assert!(m.try_lock().is_none());
    let guard_a = a.ready();
    drop(guard_a);
    // Then to b, whichever mode: b is first in line (woken or handed).
    assert!(b.woken());
    assert!(!c.woken());
    c.pending();
    let guard_b = b.ready();
    drop(guard_b);
    assert!(c.woken());
    drop(c.ready());
    // c was the last waiter: normal mode. A new waiter is woken, not handed
    // the lock, and a newcomer may barge again.
    let guard = m.try_lock().unwrap();
    let mut d = Manual::new(m.lock());
    d.pending();
    drop(guard);
    assert!(d.woken());
    let barger = m.try_lock().expect("normal mode again after the last waiter");
    d.pending();
    drop(barger);
    drop(d.ready());
}

/// A goroutine that loops lock / yield / unlock cannot keep a waiter out.
/// On one P, without starvation mode, it would win every time, for ever:
/// its unlock wakes the waiter into runnext, it takes the lock again at
/// once, and the waiter runs only to find it taken. In starvation mode,
/// after 1 ms, unlock hands the lock to the waiter instead.
#[test]
fn mutex_starvation_mode_lets_a_waiter_past_a_looping_holder() {
    for procs in PROCS {
        run(procs, || async {
            let m = Arc::new(Mutex::new(()));
            let got_in = Arc::new(AtomicBool::new(false));
            let rounds = Arc::new(AtomicU64::new(0));
            let looper = {
                let (m, got_in, rounds) = (m.clone(), got_in.clone(), rounds.clone());
                gpm::spawn(async move {
                    while !got_in.load(SeqCst) {
                        // `try_lock` barges whenever normal mode allows it.
                        let guard = m.try_lock();
                        gpm::yield_now().await;
                        drop(guard);
                        rounds.fetch_add(1, SeqCst);
                    }
                })
            };
            // The waiter comes while the looper loops.
            while rounds.load(SeqCst) < 10 {
                gpm::yield_now().await;
            }
            let waiter = {
                let (m, got_in) = (m.clone(), got_in.clone());
                gpm::spawn(async move {
                    let _guard = m.lock().await;
                    got_in.store(true, SeqCst);
                })
            };
            waiter.await.unwrap();
            looper.await.unwrap();
        });
    }
}

#[test]
fn mutex_lock_spends_the_coop_budget() {
    // In a goroutine, on the only P (`block_on`'s own future holds none).
    run(1, || async {
        gpm::spawn(async {
            let flag = Arc::new(AtomicBool::new(false));
            {
                let flag = flag.clone();
                gpm::go!(async move { flag.store(true, SeqCst) });
            }
            let m = Mutex::new(0);
            let mut locks = 0;
            while !flag.load(SeqCst) {
                *m.lock().await += 1;
                locks += 1;
                assert!(locks < 10_000, "uncontended locks never yielded the P");
            }
        })
        .await
        .unwrap();
    });
}

#[test]
fn mutex_shared_by_goroutines_and_threads() {
    for procs in PROCS {
        run(procs, || async {
            let m = Arc::new(Mutex::new(0u64));
            let wg = WaitGroup::new();
            for _ in 0..2 {
                wg.add(1);
                let (m, wg) = (m.clone(), wg.clone());
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        *m.lock_blocking() += 1;
                    }
                    wg.done();
                });
            }
            for _ in 0..8 {
                let m = m.clone();
                wg.go(async move {
                    for i in 0..500 {
                        let mut n = m.lock().await;
                        let seen = *n;
                        if i % 8 == 0 {
                            gpm::yield_now().await;
                        }
                        *n = seen + 1;
                    }
                });
            }
            wg.wait().await;
            assert_eq!(*m.lock().await, 10 * 500);
        });
    }
}

// ------------------------------------------------------------------- RwLock

/// Eight readers hold the lock at once: each waits, lock held, until all
/// eight are in (which would never happen if readers excluded each other).
#[test]
fn rwlock_readers_hold_it_together() {
    for procs in PROCS {
        run(procs, || async {
            let l = Arc::new(RwLock::new(7));
            let (inside, all_in) = (WaitGroup::new(), WaitGroup::new());
            inside.add(8);
            all_in.add(1);
            let readers = WaitGroup::new();
            for _ in 0..8 {
                let (l, inside, all_in) = (l.clone(), inside.clone(), all_in.clone());
                readers.go(async move {
                    let guard = l.read().await;
                    inside.done();
                    all_in.wait().await;
                    assert_eq!(*guard, 7);
                });
            }
            inside.wait().await;
            assert!(l.try_write().is_none());
            assert!(l.try_read().is_some());
            all_in.done();
            readers.wait().await;
            *l.write().await += 1;
        });
    }
}

#[test]
fn rwlock_writer_is_exclusive() {
    for procs in PROCS {
        run(procs, || async {
            let l = Arc::new(RwLock::new(0u64));
            let readers_in = Arc::new(AtomicUsize::new(0));
            let writer_in = Arc::new(AtomicBool::new(false));
            let wg = WaitGroup::new();
            for g in 0..48u64 {
                let (l, readers_in, writer_in) = (l.clone(), readers_in.clone(), writer_in.clone());
                wg.go(async move {
                    for i in 0..100u64 {
                        if g % 6 == 0 {
                            let mut data = l.write().await;
                            assert!(!writer_in.swap(true, SeqCst), "two writers");
                            assert_eq!(readers_in.load(SeqCst), 0, "a reader with a writer");
                            let seen = *data;
                            if i % 4 == 0 {
                                gpm::yield_now().await;
                            }
                            *data = seen + 1;
                            writer_in.store(false, SeqCst);
                        } else {
                            let data = l.read().await;
                            readers_in.fetch_add(1, SeqCst);
                            assert!(!writer_in.load(SeqCst), "a writer with a reader");
                            let seen = *data;
                            if i % 4 == 0 {
                                gpm::yield_now().await;
                            }
                            assert_eq!(*data, seen);
                            readers_in.fetch_sub(1, SeqCst);
                        }
                    }
                });
            }
            wg.wait().await;
            assert_eq!(*l.read().await, 8 * 100);
        });
    }
}

/// Readers that overlap (each holds the lock across a yield) never let the
/// reader count drop to zero; a writer still gets in, because from the
/// moment it waits, new readers wait behind it (Go's rule).
#[test]
fn rwlock_writer_is_not_starved_by_a_stream_of_readers() {
    for procs in PROCS {
        run(procs, || async {
            let l = Arc::new(RwLock::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let reads = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            for _ in 0..4 {
                let (l, stop, reads) = (l.clone(), stop.clone(), reads.clone());
                wg.go(async move {
                    while !stop.load(SeqCst) {
                        let guard = l.read().await;
                        reads.fetch_add(1, SeqCst);
                        gpm::yield_now().await;
                        drop(guard);
                    }
                });
            }
            while reads.load(SeqCst) < 100 {
                gpm::yield_now().await;
            }
            *l.write().await += 1;
            stop.store(true, SeqCst);
            wg.wait().await;
            assert_eq!(*l.read().await, 1);
        });
    }
}

/// Step by step: a waiting writer blocks new readers; the readers that
/// queue during a writer's turn all go in before the next writer.
#[test]
fn rwlock_turns_alternate_between_writers_and_readers() {
    let l = RwLock::new(0);
    let r1 = l.try_read().unwrap();
    let mut w = Manual::new(l.write());
    w.pending();
    assert!(l.try_read().is_none(), "a waiting writer blocks new readers");
    let mut r2 = Manual::new(l.read());
    r2.pending();
    drop(r1);
    assert!(w.woken());
    let mut guard = w.ready();
    *guard += 1;
    let mut w2 = Manual::new(l.write());
    w2.pending();
    let mut r3 = Manual::new(l.read());
    r3.pending();
    drop(guard);
    // r2 and r3 (which came after w2) go in together; w2 waits for them.
    assert!(r2.woken() && r3.woken());
    assert!(!w2.woken());
    let (g2, g3) = (r2.ready(), r3.ready());
    assert_eq!(*g2 + *g3, 2);
    w2.pending();
    drop(g2);
    assert!(!w2.woken());
    drop(g3);
    assert!(w2.woken());
    *w2.ready() += 1;
    assert_eq!(*l.try_read().unwrap(), 2);
}

#[test]
fn rwlock_dropped_waiters_pass_on_what_they_hold() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w1 = Manual::new(l.write());
    w1.pending();
    let mut w2 = Manual::new(l.write());
    w2.pending();
    let mut r2 = Manual::new(l.read());
    r2.pending();
    // w1 held the writer role while waiting for `r`: dropping it lets the
    // reader that queued behind it in, and makes w2 the waiting writer.
    drop(w1);
    assert!(r2.woken());
    let g2 = r2.ready();
    assert!(l.try_read().is_none(), "w2 waits now and blocks new readers");
    drop(r);
    drop(g2);
    assert!(w2.woken());
    // w2 was handed the lock: dropping it unlocks.
    drop(w2);
    drop(l.try_write().expect("free again"));
    // A reader let in by a writer and dropped before it looked.
    let w = l.try_write().unwrap();
    let mut r3 = Manual::new(l.read());
    r3.pending();
    let mut w3 = Manual::new(l.write());
    w3.pending();
    drop(w);
    assert!(r3.woken());
    drop(r3);
    assert!(w3.woken(), "the dropped reader was the last one in");
    drop(w3.ready());
}

#[test]
fn rwlock_cancelled_futures_never_lose_the_lock() {
    for procs in PROCS {
        run(procs, || async {
            let l = Arc::new(RwLock::new(0u64));
            let writes = Arc::new(AtomicU64::new(0));
            let wg = WaitGroup::new();
            for g in 0..48u64 {
                let (l, writes) = (l.clone(), writes.clone());
                wg.go(async move {
                    let mut rng = Rng(g + 7);
                    for _ in 0..150 {
                        let how = rng.below(3);
                        if rng.below(3) == 0 {
                            let guard = match how {
                                0 => Some(l.write().await),
                                n => or_give_up(l.write(), n == 1).await,
                            };
                            if let Some(mut guard) = guard {
                                writes.fetch_add(1, SeqCst);
                                let seen = *guard;
                                gpm::yield_now().await;
                                *guard = seen + 1;
                            }
                        } else {
                            let guard = match how {
                                0 => Some(l.read().await),
                                n => or_give_up(l.read(), n == 1).await,
                            };
                            if let Some(guard) = guard {
                                let seen = *guard;
                                gpm::yield_now().await;
                                assert_eq!(*guard, seen);
                            }
                        }
                    }
                });
            }
            wg.wait().await;
            let total = *l.try_write().expect("the lock ends free");
            assert_eq!(total, writes.load(SeqCst));
        });
    }
}

// --------------------------------------------------------------------- Once

#[test]
fn once_runs_once_and_callers_wait_for_it() {
    for procs in PROCS {
        run(procs, || async {
            let once = Arc::new(Once::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let ready = Arc::new(AtomicBool::new(false));
            let wg = WaitGroup::new();
            for g in 0..100 {
                let (once, runs, ready) = (once.clone(), runs.clone(), ready.clone());
                wg.go(async move {
                    if g % 2 == 0 {
                        let ready = ready.clone();
                        once.call_once_async(|| async move {
                            runs.fetch_add(1, SeqCst);
                            for _ in 0..10 {
                                gpm::yield_now().await;
                            }
                            ready.store(true, SeqCst);
                        })
                        .await;
                    } else {
                        once.call_once(|| {
                            runs.fetch_add(1, SeqCst);
                            ready.store(true, SeqCst);
                        })
                        .await;
                    }
                    assert!(ready.load(SeqCst), "call_once returned before the work was done");
                });
            }
            wg.wait().await;
            assert_eq!(runs.load(SeqCst), 1);
            assert!(once.is_completed());
        });
    }
}

#[test]
fn once_dropped_runner_lets_a_waiter_run() {
    let once = Once::new();
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let mut a = Manual::new(once.call_once_async(|| async move {
        let _ = rx.await;
    }));
    a.pending(); // running its function
    let ran_b = AtomicBool::new(false);
    let mut b = Manual::new(once.call_once(|| ran_b.store(true, SeqCst)));
    b.pending(); // waiting for a
    let mut c = Manual::new(once.call_once(|| unreachable!("b runs it")));
    c.pending();
    drop(a);
    drop(tx);
    assert!(!once.is_completed());
    assert!(b.woken() && c.woken());
    b.ready();
    assert!(ran_b.load(SeqCst));
    c.ready();
    assert!(once.is_completed());
}

#[test]
fn once_counts_a_panic_as_done_like_go() {
    run(2, || async {
        let once = Arc::new(Once::new());
        let err = {
            let once = once.clone();
            gpm::spawn(async move { once.call_once(|| panic!("init failed")).await })
                .await
                .unwrap_err()
        };
        assert_eq!(panic_text(err.into_panic()), "init failed");
        assert!(once.is_completed());
        once.call_once(|| unreachable!("Go: a panic counts as returned")).await;
    });
}

#[test]
fn oncecell_initialises_once_and_retries_after_a_panic() {
    for procs in PROCS {
        run(procs, || async {
            let cell = Arc::new(OnceCell::new());
            let err = {
                let cell = cell.clone();
                gpm::spawn(async move { *cell.get_or_init(|| panic!("no value")).await })
                    .await
                    .unwrap_err()
            };
            assert!(err.is_panic());
            assert_eq!(cell.get(), None);
            let inits = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            for g in 0..50u64 {
                let (cell, inits) = (cell.clone(), inits.clone());
                wg.go(async move {
                    let value = cell
                        .get_or_init_async(|| async move {
                            inits.fetch_add(1, SeqCst);
                            gpm::yield_now().await;
                            g
                        })
                        .await;
                    assert_eq!(Some(value), cell.get());
                });
            }
            wg.wait().await;
            assert_eq!(inits.load(SeqCst), 1);
            assert_eq!(cell.set(99), Err(99));
        });
    }
}

// ---------------------------------------------------------------- Semaphore

/// Step by step: weights, strict FIFO (a small request waits behind a big
/// one even when it would fit), and a request bigger than the semaphore.
#[test]
fn semaphore_weights_and_fifo() {
    let sem = Semaphore::new(10);
    assert!(sem.try_acquire(7));
    let mut big = Manual::new(sem.acquire(6));
    big.pending();
    let mut small = Manual::new(sem.acquire(1));
    small.pending();
    assert!(!sem.try_acquire(1), "3 are free, but someone waits first");
    let mut huge = Manual::new(sem.acquire(11));
    huge.pending(); // never served, blocks nobody
    sem.release(2);
    assert!(
        !big.woken() && !small.woken(),
        "5 free: not enough for the first in line"
    );
    sem.release(2);
    assert!(big.woken() && small.woken(), "7 free: 6 for big, then 1 for small");
    big.ready();
    small.ready();
    assert_eq!(sem.available_permits(), 0);
    sem.release(10);
    let mut all = Manual::new(sem.acquire(10));
    all.ready();
    huge.pending();
    sem.release(10);
    assert_eq!(sem.available_permits(), 10);
}

#[test]
#[should_panic(expected = "semaphore: released more than held")]
fn semaphore_over_release_panics_with_gos_message() {
    let sem = Semaphore::new(2);
    assert!(sem.try_acquire(1));
    sem.release(2);
}

#[test]
fn semaphore_dropped_waiters_pass_on_what_they_hold() {
    let sem = Semaphore::new(3);
    assert!(sem.try_acquire(2));
    let mut big = Manual::new(sem.acquire(3));
    big.pending();
    let mut small = Manual::new(sem.acquire(1));
    small.pending();
    // The big one at the front leaves: the small one behind it fits now.
    drop(big);
    assert!(small.woken());
    small.ready();
    let mut two = Manual::new(sem.acquire(2));
    two.pending();
    sem.release(2);
    assert!(two.woken());
    // Handed 2 permits and dropped before it looked: they come back.
    drop(two);
    assert_eq!(sem.available_permits(), 2);
    sem.release(1);
    assert_eq!(sem.available_permits(), 3);
}

/// Small requests that overlap never leave 4 permits free at once; a
/// request for all 4 still gets them, because the small ones queue behind
/// it.
#[test]
fn semaphore_big_request_is_not_starved() {
    for procs in PROCS {
        run(procs, || async {
            let sem = Arc::new(Semaphore::new(4));
            let stop = Arc::new(AtomicBool::new(false));
            let rounds = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            for _ in 0..4 {
                let (sem, stop, rounds) = (sem.clone(), stop.clone(), rounds.clone());
                wg.go(async move {
                    while !stop.load(SeqCst) {
                        sem.acquire(1).await;
                        rounds.fetch_add(1, SeqCst);
                        gpm::yield_now().await;
                        sem.release(1);
                    }
                });
            }
            while rounds.load(SeqCst) < 100 {
                gpm::yield_now().await;
            }
            sem.acquire(4).await;
            stop.store(true, SeqCst);
            sem.release(4);
            wg.wait().await;
            assert_eq!(sem.available_permits(), 4);
        });
    }
}

#[test]
fn semaphore_limits_concurrency_with_cancellations() {
    for procs in PROCS {
        run(procs, || async {
            let sem = Arc::new(Semaphore::new(5));
            let held = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            for g in 0..40u64 {
                let (sem, held) = (sem.clone(), held.clone());
                wg.go(async move {
                    let mut rng = Rng(g + 3);
                    for _ in 0..100 {
                        let n = rng.below(3) as usize + 1;
                        let got = match rng.below(3) {
                            0 => {
                                sem.acquire(n).await;
                                true
                            }
                            how => or_give_up(sem.acquire(n), how == 1).await.is_some(),
                        };
                        if got {
                            let now = held.fetch_add(n, SeqCst) + n;
                            assert!(now <= 5, "{now} permits out of 5 held");
                            gpm::yield_now().await;
                            held.fetch_sub(n, SeqCst);
                            sem.release(n);
                        }
                    }
                });
            }
            wg.wait().await;
            assert_eq!(sem.available_permits(), 5);
        });
    }
}

// ------------------------------------------------------------------- all

/// Many rounds of hand-offs between goroutines and plain threads: a mutex
/// shared with `lock_blocking` threads, a WaitGroup waited on from both
/// sides, and a semaphore ping-pong across the runtime's edge. A lost
/// wake-up anywhere hangs a round (and the watchdog fails it).
#[test]
fn lost_wakeup_stress() {
    for procs in PROCS {
        run(procs, move || async move {
            for round in 0..20 {
                let m = Arc::new(Mutex::new(0u64));
                let wg = WaitGroup::new();
                let everyone = WaitGroup::new();
                // Threads: lock_blocking, then wait_blocking on the goroutines.
                for _ in 0..2 {
                    everyone.add(1);
                    let (m, wg, everyone) = (m.clone(), wg.clone(), everyone.clone());
                    std::thread::spawn(move || {
                        for _ in 0..200 {
                            *m.lock_blocking() += 1;
                        }
                        wg.wait_blocking();
                        everyone.done();
                    });
                }
                for g in 0..16u64 {
                    let m = m.clone();
                    wg.go(async move {
                        for i in 0..200u64 {
                            let mut n = m.lock().await;
                            let seen = *n;
                            if (g + i) % 32 == 0 {
                                gpm::yield_now().await;
                            }
                            *n = seen + 1;
                        }
                    });
                }
                // Ping-pong: a goroutine and a thread take turns.
                let (ping, pong) = (Arc::new(Semaphore::new(1)), Arc::new(Semaphore::new(1)));
                assert!(ping.try_acquire(1) && pong.try_acquire(1));
                {
                    everyone.add(1);
                    let (ping, pong, everyone) = (ping.clone(), pong.clone(), everyone.clone());
                    std::thread::spawn(move || {
                        for _ in 0..500 {
                            ping.release(1);
                            pong.acquire_blocking(1);
                        }
                        everyone.done();
                    });
                }
                everyone.go(async move {
                    for _ in 0..500 {
                        ping.acquire(1).await;
                        pong.release(1);
                    }
                });
                wg.wait().await;
                everyone.wait().await;
                assert_eq!(*m.lock().await, 16 * 200 + 2 * 200, "round {round}");
            }
        });
    }
}

/// Dumps show Go's wait reasons for goroutines blocked in `sync`.
#[test]
fn waiting_goroutines_show_gos_wait_reasons() {
    run(2, || async {
        let m = Arc::new(Mutex::new(()));
        let (wl, rl) = (Arc::new(RwLock::new(())), Arc::new(RwLock::new(())));
        let wg = WaitGroup::new();
        let sem = Arc::new(Semaphore::new(1));
        let once = Arc::new(Once::new());
        let gate = WaitGroup::new();

        let held_m = m.lock().await;
        let held_w = wl.write().await;
        let held_r = rl.read().await;
        wg.add(1);
        gate.add(1);
        assert!(sem.try_acquire(1));

        let blocked = WaitGroup::new();
        {
            let m = m.clone();
            blocked.go(async move { drop(m.lock().await) });
            let wl = wl.clone();
            blocked.go(async move { drop(wl.read().await) });
            let rl = rl.clone();
            blocked.go(async move { drop(rl.write().await) });
            let wg = wg.clone();
            blocked.go(async move { wg.wait().await });
            let sem = sem.clone();
            blocked.go(async move { sem.acquire(1).await });
            let (once1, gate) = (once.clone(), gate.clone());
            blocked.go(async move { once1.call_once_async(|| async move { gate.wait().await }).await });
        }
        let reasons = [
            "[sync.Mutex.Lock]:",
            "[sync.RWMutex.RLock]:",
            "[sync.RWMutex.Lock]:",
            "[sync.WaitGroup.Wait]:",
            "[semacquire]:",
        ];
        loop {
            let dump = gpm::runtime::dump();
            // Two goroutines wait on a WaitGroup: `wg`'s waiter, and the
            // Once's first caller (on `gate`), which must be inside the
            // Once before the second caller comes.
            if reasons.iter().all(|r| dump.contains(r)) && dump.matches("[sync.WaitGroup.Wait]:").count() == 2 {
                break;
            }
            gpm::yield_now().await;
        }
        // A second caller of the Once waits for the first.
        {
            let once = once.clone();
            blocked.go(async move { once.call_once(|| unreachable!()).await });
        }
        while !gpm::runtime::dump().contains("[sync.Once.Do]:") {
            gpm::yield_now().await;
        }
        drop((held_m, held_w, held_r));
        wg.done();
        gate.done();
        sem.release(1);
        blocked.wait().await;
    });
}
