//! Go's synctest tests and examples, ported: each names its original.
//! Every test runs on 1, 2 and 4 Ps, a bubble each (`shapes!`).
//!
//! - `src/internal/synctest/synctest_test.go`:
//!   <https://github.com/golang/go/blob/master/src/internal/synctest/synctest_test.go>
//! - the examples in `src/testing/synctest/synctest.go` (its package docs):
//!   <https://github.com/golang/go/blob/master/src/testing/synctest/synctest.go>

use crate::{panic_message, shapes};
use gpm::context;
use gpm::synctest;
use gpm::time::{after, now, sleep, Duration};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// `TestTime` in the package docs: a goroutine's 1 s sleep ends before
/// the root's 2 s one, and each reads exactly its own duration.
#[test]
fn package_doc_time() {
    shapes!(procs => async move {
        let start = now();
        let logged = Arc::new(Mutex::new(Vec::new()));
        let log = logged.clone();
        gpm::go!(async move {
            sleep(Duration::from_secs(1)).await;
            log.lock().unwrap().push(now() - start); // always 1 s
        });
        sleep(Duration::from_secs(2)).await; // the goroutine runs before this returns
        logged.lock().unwrap().push(now() - start); // always 2 s
        assert_eq!(
            *logged.lock().unwrap(),
            [Duration::from_secs(1), Duration::from_secs(2)],
            "procs {procs}"
        );
    });
}

/// `TestWait` in the package docs: `Wait` returns after the goroutine
/// has finished.
#[test]
fn package_doc_wait() {
    shapes!(procs => async move {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        gpm::go!(async move { d.store(true, SeqCst) });
        synctest::wait().await;
        assert!(done.load(SeqCst), "procs {procs}");
    });
}

/// The `Context.WithTimeout` example: not cancelled a nanosecond before
/// the timeout, cancelled with `DeadlineExceeded` at it.
#[test]
fn package_doc_context_with_timeout() {
    shapes!(procs => async move {
        const TIMEOUT: Duration = Duration::from_secs(5);
        let (ctx, cancel) = context::with_timeout(&context::background(), TIMEOUT);
        sleep(TIMEOUT - Duration::from_nanos(1)).await;
        synctest::wait().await;
        assert_eq!(ctx.err(), None, "procs {procs}: before the timeout");
        sleep(Duration::from_nanos(1)).await;
        synctest::wait().await;
        assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded), "procs {procs}: after the timeout");
        cancel.cancel();
    });
}

/// `TestNow`: the clock reads the bubble's start until something
/// sleeps, in the root and in a new goroutine alike.
#[test]
fn now_starts_still() {
    shapes!(procs => async move {
        let start = now();
        let ok = Arc::new(AtomicBool::new(false));
        let o = ok.clone();
        gpm::go!(async move { o.store(now() == start, SeqCst) });
        synctest::wait().await;
        assert!(ok.load(SeqCst), "procs {procs}: a new goroutine sees the same clock");
        sleep(Duration::from_secs(1)).await;
        assert_eq!(now(), start + Duration::from_secs(1), "procs {procs}");
    });
}

/// `TestRunEmpty`, `TestSimpleWait`, `TestGoroutineWait`.
#[test]
fn empty_bubbles_and_waits() {
    shapes!(procs => async move {
        let _ = procs;
    });
    shapes!(procs => async move {
        let _ = procs;
        synctest::wait().await;
    });
    shapes!(procs => async move {
        let _ = procs;
        gpm::go!(async {});
        synctest::wait().await;
    });
}

/// `TestWait`: a chain of 100 goroutines, each starting the next and
/// handing it a count; `Wait` returns once the last has seen 0.
#[test]
fn wait_for_a_chain_of_goroutines() {
    fn link(ch: gpm::Chan<u32>, done: Arc<AtomicBool>) {
        gpm::go!(async move {
            let count = ch.recv().await.unwrap();
            if count == 0 {
                done.store(true, SeqCst);
            } else {
                link(ch.clone(), done);
                ch.send(count - 1).await.unwrap();
            }
        });
    }
    shapes!(procs => async move {
        let (ch, done) = (gpm::chan::<u32>(0), Arc::new(AtomicBool::new(false)));
        link(ch.clone(), done.clone());
        ch.send(100).await.unwrap();
        synctest::wait().await;
        assert!(done.load(SeqCst), "procs {procs}");
    });
}

/// `TestTimerReadBeforeDeadline`, `TestTimerReadAfterDeadline`: a timer's
/// channel receives the time it was due, read before or after it.
#[test]
fn timer_channel_reads() {
    shapes!(procs => async move {
        let start = now();
        let at = after(Duration::from_secs(5)).recv().await.unwrap();
        assert_eq!(now() - start, Duration::from_secs(5), "procs {procs}");
        assert_eq!(at, start + Duration::from_secs(5), "procs {procs}");

        let due = now() + Duration::from_secs(1);
        let timer = after(Duration::from_secs(1));
        sleep(Duration::from_secs(2)).await;
        assert_eq!(timer.recv().await, Some(due), "procs {procs}");
    });
}

/// Timers fire in the order of their deadlines (the package docs'
/// "time advances to the next time that will unblock a goroutine"): a
/// ticker and two sleepers, each event at its exact time.
#[test]
fn timers_fire_in_order() {
    shapes!(procs => async move {
        let start = now();
        let events = Arc::new(Mutex::new(Vec::new()));
        let wg = gpm::sync::WaitGroup::new();
        for (name, secs) in [("slow", 7u64), ("fast", 2)] {
            let (events, wg) = (events.clone(), wg.clone());
            wg.add(1);
            gpm::go!(async move {
                sleep(Duration::from_secs(secs)).await;
                events.lock().unwrap().push((name, (now() - start).as_secs()));
                wg.done();
            });
        }
        let ticker = gpm::time::Ticker::new(Duration::from_secs(3));
        for _ in 0..3 {
            let at = ticker.receiver().recv().await.unwrap();
            events.lock().unwrap().push(("tick", (at - start).as_secs()));
        }
        ticker.stop();
        wg.wait().await;
        assert_eq!(
            *events.lock().unwrap(),
            [("fast", 2), ("tick", 3), ("tick", 6), ("slow", 7), ("tick", 9)],
            "procs {procs}"
        );
    });
}

/// `TestWaitGroupInBubble`: a `WaitGroup` wait ends when a sleeper is done.
#[test]
fn wait_group_in_bubble() {
    shapes!(procs => async move {
        const DELAY: Duration = Duration::from_secs(1);
        let wg = gpm::sync::WaitGroup::new();
        wg.add(1);
        let w = wg.clone();
        gpm::go!(async move {
            sleep(DELAY).await;
            w.done();
        });
        let start = now();
        wg.wait().await;
        assert_eq!(now() - start, DELAY, "procs {procs}");
    });
}

/// `TestDeadlockRoot`: the root in `select {}`.
#[test]
fn deadlock_root() {
    for procs in [1, 2, 4] {
        let message = panic_message(|| {
            synctest::test_with_procs(procs, async {
                gpm::select! {}
            })
        });
        let message = message.expect("a deadlocked root panics");
        assert!(message.starts_with(synctest::DEADLOCK), "procs {procs}: {message}");
        assert!(
            message.contains("[select (no cases)]:\nmain at"),
            "procs {procs}: {message}"
        );
    }
}

/// `TestDeadlockChild`: the root returns, a goroutine is in `select {}`.
#[test]
fn deadlock_child() {
    for procs in [1, 2, 4] {
        let message = panic_message(|| {
            synctest::test_with_procs(procs, async {
                gpm::go!(async {
                    gpm::select! {}
                });
            })
        });
        let message = message.expect("a goroutine left blocked fails the test");
        assert!(
            message.starts_with(synctest::DEADLOCK_AFTER_ROOT),
            "procs {procs}: {message}"
        );
        assert!(
            message.contains("[select (no cases)]:\ncreated at"),
            "procs {procs}: {message}"
        );
    }
}

/// `TestDeadlockTicker`: time stops when the root returns, so a goroutine
/// ranging over a ticker is left blocked, and its tick never comes.
#[test]
fn deadlock_ticker() {
    for procs in [1, 2, 4] {
        let ticked = Arc::new(AtomicUsize::new(0));
        let t = ticked.clone();
        let message = panic_message(move || {
            synctest::test_with_procs(procs, async move {
                gpm::go!(async move {
                    let ticks = gpm::time::tick(Duration::from_secs(1));
                    while ticks.recv().await.is_some() {
                        t.fetch_add(1, SeqCst);
                    }
                });
            })
        });
        let message = message.expect("a goroutine left blocked fails the test");
        assert!(
            message.starts_with(synctest::DEADLOCK_AFTER_ROOT),
            "procs {procs}: {message}"
        );
        assert_eq!(ticked.load(SeqCst), 0, "procs {procs}: the ticker ran");
    }
}

/// `TestChannelMovedOutOfBubble`: a bubble's channel used outside any
/// bubble, or in another bubble, panics.
#[test]
fn channel_moved_out_of_bubble() {
    for (what, op) in [("receive", 0), ("send", 1), ("close", 2)] {
        let use_it = move |ch: gpm::Chan<()>| match op {
            0 => {
                let _ = ch.try_recv();
            }
            1 => {
                let _ = ch.try_send(());
            }
            _ => {
                let _ = ch.close();
            }
        };
        let want = format!(
            "{} synctest channel from outside bubble",
            if op == 2 {
                format!("{what} of")
            } else {
                format!("{what} on")
            }
        );
        let ch = synctest::test(async { gpm::chan::<()>(1) });
        let c = ch.clone();
        assert_eq!(
            panic_message(move || use_it(c)).as_deref(),
            Some(want.as_str()),
            "outside"
        );
        let in_other = panic_message(move || {
            synctest::test(async move { use_it(ch) });
        });
        assert_eq!(in_other.as_deref(), Some(want.as_str()), "in another bubble");
    }
}
