// Its own binary: `short_syscalls_start_no_threads` counts the threads its runtime starts; other tests' runtimes in the same binary load the cores.
//! sysmon takes the P from an M stuck in a poll or in `gpm::syscall`, so
//! the goroutines queued behind it still run (issue 4).
//!
//! Time is the point here, so the bounds are generous: a stuck poll lasts
//! seconds, and the queued goroutines need a few time slices at most.

use gpm::runtime::Builder;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// procs = 1: a goroutine spawns 1 000 small ones and then blocks its
/// thread for 2 s without `gpm::syscall`. Only a hand-off of the P lets the
/// 1 000 run before it returns.
#[test]
fn goroutines_behind_a_stuck_poll_run() {
    let rt = Builder::new().procs(1).build().unwrap();
    rt.block_on(async {
        let done = Arc::new(AtomicUsize::new(0));
        let done2 = done.clone();
        let blocker = gpm::spawn(async move {
            for _ in 0..1000 {
                let done = done2.clone();
                gpm::go!(async move {
                    done.fetch_add(1, SeqCst);
                });
            }
            std::thread::sleep(Duration::from_secs(2)); // not wrapped: stuck
            done2.load(SeqCst)
        });
        let seen_when_unstuck = blocker.await.unwrap();
        assert_eq!(seen_when_unstuck, 1000, "goroutines waited behind a stuck poll");
        assert_eq!(done.load(SeqCst), 1000);
    });
    assert!(rt.stats().retakes >= 1);
}

/// procs = 1: while one goroutine is in a 500 ms `gpm::syscall`, the
/// others keep running.
#[test]
fn syscall_hands_off_the_p() {
    let rt = Builder::new().procs(1).build().unwrap();
    rt.block_on(async {
        let done = Arc::new(AtomicUsize::new(0));
        let done2 = done.clone();
        let caller = gpm::spawn(async move {
            for _ in 0..100 {
                let done = done2.clone();
                gpm::go!(async move {
                    gpm::yield_now().await;
                    done.fetch_add(1, SeqCst);
                });
            }
            gpm::syscall(|| std::thread::sleep(Duration::from_millis(500)));
            done2.load(SeqCst)
        });
        assert_eq!(caller.await.unwrap(), 100, "goroutines waited behind a syscall");
    });
}

/// A short `gpm::syscall` costs no thread switch: a million of them start
/// no thread unless sysmon took the P from one.
///
/// On a loaded machine the OS may stop the thread inside one of the calls
/// long enough for sysmon to see the same call on two looks; taking the P
/// then is Go's rule (no P is idle to pick up work), and it starts at most
/// the thread that takes the P. So the test counts threads against
/// retakes: on a quiet machine both stay at zero, and in no case does a
/// short call start a thread by itself.
#[test]
fn short_syscalls_start_no_threads() {
    let rt = Builder::new().procs(1).build().unwrap();
    rt.block_on(async {
        let before = gpm::runtime::stats();
        let mut sum = 0u64;
        for i in 0..1_000_000u64 {
            sum += gpm::syscall(|| i & 1);
            if i % 1000 == 0 {
                gpm::yield_now().await;
            }
        }
        assert_eq!(sum, 500_000);
        let after = gpm::runtime::stats();
        let retakes = after.retakes - before.retakes;
        let started = after.threads - before.threads;
        assert!(
            started as u64 <= retakes,
            "a short syscall started a thread: {started} threads started, {retakes} retakes"
        );
        assert!(
            retakes < 1000,
            "sysmon took the P from {retakes} of a million short syscalls"
        );
    });
}

/// procs = 2: a goroutine readies another (into its runnext) and then
/// blocks its thread: the other P runs the readied one (tokio issue 4941).
#[test]
fn runnext_behind_a_stuck_poll_is_stolen() {
    let rt = Builder::new().procs(2).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let start = Instant::now();
        gpm::spawn(async move {
            gpm::go!(async move {
                tx.send(Instant::now()).unwrap();
            });
            std::thread::sleep(Duration::from_secs(2));
        });
        let ran_at = gpm::syscall(|| rx.recv_timeout(Duration::from_secs(30))).expect("never ran");
        assert!(ran_at.duration_since(start) < Duration::from_millis(1500));
    });
}

/// After a syscall whose P was taken, the goroutine goes on and finishes
/// correctly, and its work is not lost.
#[test]
fn goroutine_continues_after_losing_its_p() {
    for procs in [1, 2] {
        let rt = Builder::new().procs(procs).build().unwrap();
        rt.block_on(async {
            let handles: Vec<_> = (0..8u64)
                .map(|i| {
                    gpm::spawn(async move {
                        gpm::syscall(|| std::thread::sleep(Duration::from_millis(30)));
                        let inner = gpm::spawn(async move { i * 2 });
                        gpm::yield_now().await;
                        inner.await.unwrap() + 1
                    })
                })
                .collect();
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            assert_eq!(total, (0..8u64).map(|i| i * 2 + 1).sum::<u64>());
        });
    }
}

/// A `gpm::syscall` inside another, the inner one long enough for sysmon
/// to take the P (beside a goroutine that blocks a thread 200 ms): the
/// inner call's way out takes a P again, and the outer call's way out must
/// go on from the P the M holds then, not from the one it started with.
/// The goroutine finishes, and afterwards every P is idle again: none is
/// left behind in a hold that no M will come back to.
#[test]
fn nested_syscalls_lose_no_p() {
    for procs in [1, 2, 4] {
        let rt = Builder::new().procs(procs).build().unwrap();
        for round in 0..6 {
            let got = rt.block_on(rt.spawn(async move {
                gpm::go!(async { std::thread::sleep(Duration::from_millis(200)) });
                gpm::syscall(|| {
                    gpm::syscall(|| std::thread::sleep(Duration::from_millis(50)));
                    round
                })
            }));
            assert_eq!(got.unwrap(), round);
            let deadline = Instant::now() + Duration::from_secs(30);
            while rt.stats().idle_procs != procs {
                assert!(
                    Instant::now() < deadline,
                    "procs = {procs}: a P stayed busy after nested syscalls: {:?}",
                    rt.stats()
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
