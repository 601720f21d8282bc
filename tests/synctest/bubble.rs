//! A bubble's clock, `wait`, and its deadlocks.

use crate::{panic_message, shapes};
use gpm::synctest;
use gpm::time::{now, sleep, Duration};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// An hour of sleeps takes no real hour, and reads as exactly an hour.
#[test]
fn sleep_moves_the_clock_exactly() {
    shapes!(procs => async move {
        let start = now();
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(now() - start, Duration::from_secs(3600), "procs {procs}");
        sleep(Duration::from_millis(1)).await;
        assert_eq!(now() - start, Duration::from_millis(3_600_001), "procs {procs}");
    });
}

/// `gpm::time::Instant` reads the bubble's clock: code that measures time
/// with it needs no change to run in virtual time. `std::time::Instant`
/// stays the real clock.
#[test]
fn gpm_instant_reads_the_bubble_clock() {
    shapes!(procs => async move {
        let start = gpm::time::Instant::now();
        let real_start = Instant::now();
        assert_eq!(start, now(), "procs {procs}");
        sleep(Duration::from_secs(30)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(30), "procs {procs}");
        assert_eq!(gpm::time::Instant::now() - start, Duration::from_secs(30), "procs {procs}");
        let deadline = start + Duration::from_secs(45);
        gpm::time::sleep_until(deadline).await;
        assert_eq!(gpm::time::Instant::now(), deadline, "procs {procs}");
        // Generous: the real time a few jumps of the clock took.
        assert!(real_start.elapsed() < Duration::from_secs(20), "procs {procs}");
    });
}

/// Sleepers wake in the order of their deadlines, each at its own time.
#[test]
fn sleepers_wake_in_deadline_order() {
    shapes!(procs => async move {
        let start = now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let wg = gpm::sync::WaitGroup::new();
        for secs in [5u64, 1, 4, 2, 3] {
            let (log, wg) = (log.clone(), wg.clone());
            wg.add(1);
            gpm::go!(async move {
                sleep(Duration::from_secs(secs)).await;
                log.lock().unwrap().push((secs, (now() - start).as_secs()));
                wg.done();
            });
        }
        wg.wait().await;
        let log = log.lock().unwrap().clone();
        assert_eq!(log, [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)], "procs {procs}");
    });
}

/// `wait` returns once every other goroutine is durably blocked: after a
/// goroutine has received and sent on, not before.
#[test]
fn wait_returns_when_the_others_are_blocked() {
    shapes!(procs => async move {
        let steps = Arc::new(AtomicUsize::new(0));
        let (a, b) = (gpm::chan::<u32>(0), gpm::chan::<u32>(0));
        let (a2, b2, s2) = (a.clone(), b.clone(), steps.clone());
        gpm::go!(async move {
            let v = a2.recv().await.unwrap();
            s2.store(1, SeqCst);
            b2.send(v + 1).await.unwrap();
        });
        synctest::wait().await;
        assert_eq!(steps.load(SeqCst), 0, "procs {procs}: the goroutine waits on `a`");
        a.send(1).await.unwrap();
        synctest::wait().await;
        assert_eq!(steps.load(SeqCst), 1, "procs {procs}: the goroutine waits on `b`");
        assert_eq!(b.recv().await, Some(2));
    });
}

/// Everything blocked with no timer: the test panics within a second with
/// Go's message and the bubble's goroutines, their wait reasons and spawn
/// sites.
#[test]
fn deadlock_is_reported_with_the_dump() {
    for procs in [1, 2, 4] {
        let started = Instant::now();
        let message = panic_message(|| {
            synctest::test_with_procs(procs, async {
                let ch = gpm::chan::<u32>(0);
                let (tx, mu) = (ch.clone(), Arc::new(gpm::sync::Mutex::new(())));
                let held = mu.lock().await;
                let mu2 = mu.clone();
                gpm::go!(async move {
                    let _ = mu2.lock().await;
                });
                gpm::go!(async move {
                    let _ = tx.send(1).await;
                });
                let never = gpm::chan::<u32>(0);
                never.recv().await;
                drop((held, ch));
            })
        })
        .expect("a deadlocked bubble panics");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "procs {procs}: took {:?}",
            started.elapsed()
        );
        assert!(message.starts_with(synctest::DEADLOCK), "{message}");
        assert!(
            message.contains("[chan receive]:\nmain at tests/synctest/bubble.rs:"),
            "{message}"
        );
        assert!(
            message.contains("[chan send]:\ncreated at tests/synctest/bubble.rs:"),
            "{message}"
        );
        assert!(
            message.contains("[sync.Mutex.Lock]:\ncreated at tests/synctest/bubble.rs:"),
            "{message}"
        );
    }
}

/// The root returns while a goroutine is still blocked: Go's other
/// deadlock.
#[test]
fn goroutines_left_after_the_root_are_a_deadlock() {
    let message = panic_message(|| {
        synctest::test(async {
            let ch = gpm::chan::<u32>(0);
            gpm::go!(async move {
                ch.recv().await;
            });
        })
    })
    .expect("goroutines left blocked fail the test");
    assert!(message.starts_with(synctest::DEADLOCK_AFTER_ROOT), "{message}");
    assert!(
        message.contains("[chan receive]:\ncreated at tests/synctest/bubble.rs:"),
        "{message}"
    );
    assert!(
        message.contains("[synctest.Run]:\nmain at tests/synctest/bubble.rs:"),
        "{message}"
    );
}

/// `test` waits for the goroutines still running when the root returns
/// (they pass a token down a chain of channels, then exit).
#[test]
fn test_waits_for_the_bubbles_goroutines() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    synctest::test(async move {
        let first = gpm::chan::<u32>(1);
        let mut prev = first.clone();
        for _ in 0..10 {
            let next = gpm::chan::<u32>(1);
            let (rx, tx, d) = (prev.clone(), next.clone(), d.clone());
            gpm::go!(async move {
                let token = rx.recv().await.unwrap();
                gpm::yield_now().await;
                d.fetch_add(1, SeqCst);
                tx.send(token + 1).await.unwrap();
            });
            prev = next;
        }
        first.send(0).await.unwrap();
    });
    assert_eq!(done.load(SeqCst), 10);
}

/// A deliberately deadlocked `#[gpm::test(synctest)]`.
#[gpm::test(synctest)]
#[should_panic(expected = "deadlock: all goroutines in bubble are blocked")]
async fn deadlocked_test_attribute_fails() {
    let ch = gpm::chan::<()>(0);
    ch.recv().await;
}

/// `#[gpm::test(synctest, procs = 2)]`: a bubble with 2 Ps.
#[gpm::test(synctest, procs = 2)]
async fn test_attribute_with_procs() {
    assert_eq!(gpm::runtime::gomaxprocs(), 2);
    let start = now();
    gpm::time::after(Duration::from_secs(60)).recv().await;
    assert_eq!(now() - start, Duration::from_secs(60));
}

/// `wait` outside a bubble panics with a clear message.
#[test]
fn wait_outside_a_bubble_panics() {
    let rt = gpm::runtime::Runtime::new().unwrap();
    let message = panic_message(|| rt.block_on(synctest::wait()));
    assert_eq!(message.as_deref(), Some("gpm::synctest::wait called outside a bubble"));
}

/// A channel made in a bubble is the bubble's: sends, receives, selects
/// and closes from outside it panic with Go's messages; inside, timers
/// fired by the bubble's watcher send on their channels as usual.
#[test]
fn a_bubbles_channel_used_from_outside_panics() {
    let (ch, ticks) = synctest::test(async {
        let ticks = gpm::time::after(Duration::from_secs(5));
        assert!(ticks.recv().await.is_some(), "the watcher's timer sends inside");
        (gpm::chan::<u32>(1), ticks)
    });
    let send = panic_message(|| {
        let _ = ch.try_send(1);
    });
    assert_eq!(send.as_deref(), Some("send on synctest channel from outside bubble"));
    let close = panic_message(|| {
        let _ = ch.close();
    });
    assert_eq!(close.as_deref(), Some("close of synctest channel from outside bubble"));
    let rt = gpm::runtime::Runtime::new().unwrap();
    let recv = panic_message(|| {
        rt.block_on(async { ticks.recv().await });
    });
    assert_eq!(recv.as_deref(), Some("receive on synctest channel from outside bubble"));
    let select = panic_message(|| {
        rt.block_on(async {
            gpm::select! {
                recv(ch) -> _v => {},
                default => {},
            }
        });
    });
    assert_eq!(
        select.as_deref(),
        Some("select on synctest channel from outside bubble")
    );
    // A channel made outside any bubble is anyone's.
    let plain = gpm::chan::<u32>(1);
    synctest::test(async {
        plain.send(7).await.unwrap();
    });
    assert_eq!(plain.try_recv(), Ok(7));
}
