//! Stress for lost wakeups: Ms park and unpark thousands of times while work
//! arrives from every direction. A lost wakeup shows as a goroutine that
//! never runs; each wait has a generous deadline so that it fails instead of
//! hanging.

use gpm::runtime::Builder;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

/// Work from a std thread into an idle runtime, one G at a time: every G
/// must wake a parked M (or find a spinning one).
#[test]
fn wake_an_idle_runtime_ten_thousand_times() {
    for procs in [1, 2, 4] {
        let rt = Builder::new().procs(procs).build().unwrap();
        let (tx, rx) = mpsc::channel();
        for i in 0..10_000 {
            let tx = tx.clone();
            drop(rt.spawn(async move { tx.send(i).unwrap() }));
            assert_eq!(rx.recv_timeout(DEADLINE), Ok(i), "procs = {procs}: lost wakeup at {i}");
        }
    }
}

/// Gs parked on oneshots, woken half from other Gs and half from std
/// threads, in rounds, while the runtime's Ms go idle between rounds.
#[test]
fn park_and_wake_from_everywhere() {
    for procs in [2, 4] {
        let rt = Builder::new().procs(procs).build().unwrap();
        for round in 0..200 {
            const N: usize = 64;
            let done = Arc::new(AtomicUsize::new(0));
            let (finished_tx, finished_rx) = mpsc::channel();
            let mut senders = Vec::new();
            for _ in 0..N {
                let (tx, rx) = futures::channel::oneshot::channel::<()>();
                senders.push(tx);
                let (done, finished_tx) = (done.clone(), finished_tx.clone());
                drop(rt.spawn(async move {
                    rx.await.unwrap();
                    if done.fetch_add(1, SeqCst) + 1 == N {
                        finished_tx.send(()).unwrap();
                    }
                }));
            }
            let from_threads = senders.split_off(N / 2);
            let waker_thread = std::thread::spawn(move || from_threads.into_iter().for_each(|tx| tx.send(()).unwrap()));
            drop(rt.spawn(async move {
                for tx in senders {
                    tx.send(()).unwrap();
                    gpm::yield_now().await;
                }
            }));
            waker_thread.join().unwrap();
            assert_eq!(
                finished_rx.recv_timeout(DEADLINE),
                Ok(()),
                "procs = {procs}, round {round}: {} of {N} woke",
                done.load(SeqCst)
            );
        }
    }
}

/// Shutdown while Ms are going to sleep: an M that lists itself as idle
/// after shutdown woke the idle list would sleep forever, and `drop` would
/// wait for it forever.
#[test]
fn shutdown_races_with_parking_ms() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..300 {
            let rt = Builder::new().procs(4).build().unwrap();
            for _ in 0..8 {
                drop(rt.spawn(async {}));
            }
            drop(rt);
        }
        tx.send(()).unwrap();
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(60)),
        Ok(()),
        "a runtime's drop hung"
    );
}
