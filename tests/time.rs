//! Timers: `sleep`, `sleep_until`, `timeout`, on 1, 2 and 4 Ps.
//!
//! Bounds are generous where time is the point: these run on a loaded
//! 2-core machine. Nothing here uses a sleep to synchronise.

use gpm::runtime::{Builder, Runtime};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rt(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

const SHAPES: [usize; 3] = [1, 2, 4];

#[test]
fn sleep_waits_at_least_its_duration() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            for ms in [0u64, 1, 5, 20] {
                let start = Instant::now();
                gpm::time::sleep(Duration::from_millis(ms)).await;
                let took = start.elapsed();
                assert!(took >= Duration::from_millis(ms), "slept {took:?} for {ms} ms");
                assert!(took < Duration::from_millis(ms) + Duration::from_secs(5), "{took:?}");
            }
        });
    }
}

#[test]
fn sleep_in_goroutines_while_main_waits() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let done = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..1000u64)
                .map(|i| {
                    let done = done.clone();
                    gpm::spawn(async move {
                        let d = Duration::from_micros(100 * (i % 50));
                        let start = Instant::now();
                        gpm::time::sleep(d).await;
                        assert!(start.elapsed() >= d);
                        done.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(done.load(SeqCst), 1000);
        });
    }
}

#[test]
fn timers_fire_in_deadline_order() {
    rt(1).block_on(async {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let base = Instant::now() + Duration::from_millis(20);
        let handles: Vec<_> = [5u64, 1, 4, 2, 3]
            .into_iter()
            .map(|k| {
                let order = order.clone();
                gpm::spawn(async move {
                    gpm::time::sleep_until(base + Duration::from_millis(k * 15)).await;
                    order.lock().unwrap().push(k);
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![1, 2, 3, 4, 5]);
    });
}

#[test]
fn timeout_elapses_and_passes_through() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let fast = gpm::time::timeout(Duration::from_secs(30), async { 5 }).await;
            assert_eq!(fast, Ok(5));
            let start = Instant::now();
            let slow = gpm::time::timeout(Duration::from_millis(10), std::future::pending::<()>()).await;
            assert!(slow.is_err());
            assert!(start.elapsed() >= Duration::from_millis(10));
            assert_eq!(slow.unwrap_err().to_string(), "deadline has elapsed");
        });
    }
}

#[test]
fn cancelled_timers_do_not_fire_or_leak() {
    let rt = rt(2);
    rt.block_on(async {
        // 100 000 timers armed and dropped unfired.
        for _ in 0..100_000 {
            let sleep = gpm::time::sleep(Duration::from_secs(3600));
            let mut sleep = std::pin::pin!(sleep);
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
        }
        // The runtime still sleeps correctly afterwards.
        gpm::time::sleep(Duration::from_millis(2)).await;
    });
    assert_eq!(rt.stats().goroutines, 0);
}

#[test]
fn reset_moves_the_deadline() {
    rt(1).block_on(async {
        let mut sleep = std::pin::pin!(gpm::time::sleep(Duration::from_secs(3600)));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        sleep.as_mut().reset(Instant::now() + Duration::from_millis(3));
        let start = Instant::now();
        sleep.await;
        assert!(start.elapsed() < Duration::from_secs(30));
    });
}

/// A sleeping goroutine wakes even when every other goroutine keeps its
/// M busy with short polls (timers are checked as Ms look for work).
#[test]
fn sleeper_wakes_while_others_spin() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let spinners: Vec<_> = (0..procs * 2)
                .map(|_| {
                    let stop = stop.clone();
                    gpm::spawn(async move {
                        while !stop.load(SeqCst) {
                            gpm::yield_now().await;
                        }
                    })
                })
                .collect();
            let start = Instant::now();
            gpm::time::sleep(Duration::from_millis(5)).await;
            let took = start.elapsed();
            stop.store(true, SeqCst);
            for s in spinners {
                s.await.unwrap();
            }
            assert!(took >= Duration::from_millis(5));
            assert!(took < Duration::from_secs(10), "{took:?}");
        });
    }
}

/// A timer started from a goroutine while every M sleeps with no timer
/// wakes its goroutine (the adding M becomes the timer sleeper).
#[test]
fn timer_added_while_others_idle() {
    for procs in SHAPES {
        let rt = rt(procs);
        let (tx, rx) = std::sync::mpsc::channel();
        rt.spawn(async move {
            gpm::time::sleep(Duration::from_millis(3)).await;
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the sleeping goroutine never woke");
    }
}

#[test]
#[should_panic(expected = "outside a gpm runtime")]
fn sleep_outside_a_runtime_panics() {
    futures::executor::block_on(gpm::time::sleep(Duration::from_millis(1)));
}

#[test]
fn after_fires_once_in_select() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let never = gpm::chan::<u32>(0);
            let start = Instant::now();
            let fired = gpm::time::after(Duration::from_millis(5));
            gpm::select! {
                recv(never) -> _ => unreachable!("nobody sends"),
                recv(fired) -> at => {
                    let at = at.expect("after sends the time");
                    assert!(at.duration_since(start) >= Duration::from_millis(5));
                }
            }
            // Only once: nothing more arrives.
            assert!(fired.try_recv().is_err());
        });
    }
}

#[test]
fn ticker_ticks_until_stopped() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let ticker = gpm::time::Ticker::new(Duration::from_millis(2));
            let ticks = ticker.receiver();
            let start = Instant::now();
            for _ in 0..5 {
                ticks.recv().await.unwrap();
            }
            assert!(start.elapsed() >= Duration::from_millis(10));
            ticker.stop();
            let _ = ticks.try_recv(); // one tick may already wait in the channel
                                      // No more ticks: a 30 ms timeout elapses first.
            let more = gpm::time::timeout(Duration::from_millis(30), ticks.recv()).await;
            assert!(more.is_err(), "a stopped ticker ticked");
        });
    }
}

#[test]
fn ticker_reset_and_slow_receivers_drop_ticks() {
    rt(2).block_on(async {
        let ticker = gpm::time::Ticker::new(Duration::from_secs(3600));
        ticker.reset(Duration::from_millis(1));
        let ticks = ticker.receiver();
        ticks.recv().await.unwrap();
        // A receiver that sleeps through many periods finds one tick waiting
        // (the channel holds one), not a backlog.
        gpm::time::sleep(Duration::from_millis(20)).await;
        assert!(ticks.try_recv().is_ok());
        assert!(ticks.len() <= 1);
    });
}

#[test]
#[should_panic(expected = "non-positive interval")]
fn zero_ticker_panics_like_go() {
    rt(1).block_on(async {
        let _ = gpm::time::Ticker::new(Duration::ZERO);
    });
}
