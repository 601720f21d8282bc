//! What dropping a runtime does with the goroutines left (issue 11): every
//! one is dropped, on whatever thread drops the runtime, with a stack of
//! any size: dropping a waiter that wakes the next waiter must not recurse.

use gpm::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

/// Counts drops of the futures it is part of.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Builds a runtime on a thread with a 256 KiB stack, parks `n` goroutines
/// on each of a Mutex, an RwLock (writers behind a held read lock) and a
/// channel, then drops the runtime on that same thread. Returns how many
/// of the goroutines' futures were dropped.
fn park_and_drop(procs: usize, n: usize) -> usize {
    std::thread::Builder::new()
        .name("dropper".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let rt: Runtime = Builder::new().procs(procs).build().unwrap();
            let drops = Arc::new(AtomicUsize::new(0));
            let d = drops.clone();
            rt.block_on_send(async move {
                let mutex = Arc::new(gpm::sync::Mutex::new(()));
                let rwlock = Arc::new(gpm::sync::RwLock::new(()));
                let chan = gpm::chan::<u8>(0);
                // A holder keeps the Mutex and a read lock for good.
                let holding = gpm::chan::<()>(0);
                {
                    let (mutex, rwlock, holding) = (mutex.clone(), rwlock.clone(), holding.clone());
                    gpm::go!(async move {
                        let _m = mutex.lock().await;
                        let _r = rwlock.read().await;
                        holding.send(()).await.unwrap();
                        std::future::pending::<()>().await;
                    });
                }
                holding.recv().await;
                let wg = gpm::sync::WaitGroup::new();
                for i in 0..3 * n {
                    let (mutex, rwlock, chan, d, wg) =
                        (mutex.clone(), rwlock.clone(), chan.clone(), d.clone(), wg.clone());
                    wg.add(1);
                    gpm::go!(async move {
                        let _dropped = Dropped(d);
                        wg.done();
                        match i % 3 {
                            0 => drop(mutex.lock().await),
                            1 => drop(rwlock.write().await),
                            _ => drop(chan.recv().await),
                        }
                    });
                }
                wg.wait().await;
            });
            drop(rt);
            drops.load(SeqCst)
        })
        .unwrap()
        .join()
        .expect("the thread dropping the runtime died (stack overflow?)")
}

#[test]
fn shutdown_drops_every_waiter_without_recursing() {
    for procs in [1, 2, 4] {
        let n = 100_000;
        assert_eq!(park_and_drop(procs, n), 3 * n, "procs={procs}");
    }
}

/// The figure: 1 000 000 goroutines on one 256 KiB stack.
#[test]
fn shutdown_of_a_million_waiters_on_a_small_stack() {
    let n = 1_000_000 / 3 + 1;
    assert_eq!(park_and_drop(2, n), 3 * n);
}

/// A goroutine whose poll does not return for 3 s (not in `gpm::syscall`):
/// `shutdown_timeout` returns after its timeout, `shutdown_background` at
/// once, and the goroutines left are dropped all the same.
#[test]
fn shutdown_timeout_does_not_wait_for_a_stuck_poll() {
    use std::time::{Duration, Instant};
    for background in [false, true] {
        let rt: Runtime = Builder::new().procs(2).build().unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        rt.block_on(async move {
            let started = gpm::chan::<()>(0);
            let tx = started.clone();
            gpm::go!(async move {
                tx.send(()).await.unwrap();
                std::thread::sleep(Duration::from_secs(3));
            });
            started.recv().await;
            // A parked goroutine too, to be dropped by the shutdown.
            let never = gpm::chan::<()>(0);
            let stuck = never.clone();
            gpm::go!(async move {
                let _dropped = Dropped(d);
                stuck.recv().await; // nobody sends
            });
            // Parked for sure before the shutdown (not still on its way
            // there on an M that a loaded machine has not scheduled).
            while !gpm::runtime::dump().contains("[chan receive]") {
                gpm::yield_now().await;
            }
            drop(never); // the goroutine holds a handle: nothing closes
        });
        let start = Instant::now();
        if background {
            rt.shutdown_background();
        } else {
            rt.shutdown_timeout(Duration::from_millis(100));
        }
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "background={background}: shutdown took {took:?}"
        );
        // The parked goroutine is dropped by the shutdown, or, if the M
        // that parked it was still returning from that poll (the dump lists
        // a goroutine from inside its last poll, and a loaded machine may
        // not run that M for a while), by that M when the poll returns, as
        // the docs say. Either way it is dropped, and soon.
        let deadline = Instant::now() + Duration::from_secs(10);
        while drops.load(SeqCst) == 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(drops.load(SeqCst), 1, "the parked goroutine was dropped");
    }
}

/// A goroutine woken after shutdown by a waker called with a lock held,
/// whose drop takes that lock, is dropped after the waking poll, not inside
/// the waker. (h2 wakes a stream's task with the stream lock held: dropped
/// inline, the goroutine deadlocked its M, and the runtime's drop with it.)
#[test]
fn a_goroutine_woken_after_shutdown_is_not_dropped_inside_its_waker() {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    struct TakesLock(Arc<Mutex<()>>, Arc<AtomicUsize>);
    impl Drop for TakesLock {
        fn drop(&mut self) {
            let _held = self.0.lock().unwrap();
            self.1.fetch_add(1, SeqCst);
        }
    }

    for procs in [1, 2, 4] {
        let rt: Runtime = Builder::new().procs(procs).build().unwrap();
        let lock = Arc::new(Mutex::new(()));
        let dropped = Arc::new(AtomicUsize::new(0));
        // B waits on a future gpm did not write; its drop takes the lock.
        let (wake_b, b_waits) = futures::channel::oneshot::channel::<()>();
        let guard = TakesLock(lock.clone(), dropped.clone());
        let b = rt.spawn(async move {
            let _guard = guard;
            let _ = b_waits.await;
        });
        let listed = format!("goroutine {} [", b.id());
        while !rt.dump().contains(&listed) {
            std::thread::yield_now();
        }
        // A blocks its M until the shutdown has begun, then wakes B with
        // the lock held.
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let a_lock = lock.clone();
        rt.spawn(async move {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            let _held = a_lock.lock().unwrap();
            let _ = wake_b.send(());
        });
        started_rx.recv().unwrap();
        // Tells A to go on once the runtime says it has shut down.
        let handle = rt.handle().clone();
        let watcher = std::thread::spawn(move || {
            while std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.block_on(async {}))).is_ok() {
                std::thread::yield_now();
            }
            go_tx.send(()).unwrap();
        });
        let start = Instant::now();
        rt.shutdown_timeout(Duration::from_secs(10));
        watcher.join().unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "procs={procs}: the shutdown waited for an M that deadlocked"
        );
        assert_eq!(dropped.load(SeqCst), 1, "procs={procs}: B was dropped once");
    }
}
