//! Go's `src/time/sleep_test.go`, ported: its two ticker stress tests on 1,
//! 2 and 4 Ps (from the "Go's time tests" section of what was
//! `tests/time.rs`; the tests from `tick_test.go` are in `time_tick.rs`).

// ----- Go's time tests ----------------------------------------------------
//
// Ported from `src/time/tick_test.go` and `src/time/sleep_test.go` (Go
// 1.23+), in our own code. Go's `Sleep(sched)` retries become receives
// with a bound, which only turns a missing tick into a failure. The sleeps
// left let time pass (for ticks to fall due, or before a check that
// nothing happened); none is what orders two goroutines.

use crate::common::{next_tick, rt, SHAPES};
use gpm::time::Ticker;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Duration;

/// [TestTickerStress](https://github.com/golang/go/blob/master/src/time/sleep_test.go):
/// 100 ticks of a 1 ns ticker, while another goroutine sleeps 1 ns in a loop.
#[test]
fn go_test_ticker_stress() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let sleeper = {
                let stop = stop.clone();
                gpm::spawn(async move {
                    while !stop.load(SeqCst) {
                        gpm::time::sleep(Duration::from_nanos(1)).await;
                    }
                })
            };
            let ticker = Ticker::new(Duration::from_nanos(1));
            let ticks = ticker.receiver();
            for _ in 0..100 {
                next_tick(&ticks, "stress").await;
            }
            ticker.stop();
            stop.store(true, SeqCst);
            sleeper.await.unwrap();
        });
    }
}

/// [TestTickerConcurrentStress](https://github.com/golang/go/blob/master/src/time/sleep_test.go):
/// ten goroutines take 100 ticks each from one 1 ns ticker.
#[test]
fn go_test_ticker_concurrent_stress() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let ticker = Ticker::new(Duration::from_nanos(1));
            let readers: Vec<_> = (0..10)
                .map(|_| {
                    let ticks = ticker.receiver();
                    gpm::spawn(async move {
                        for _ in 0..100 {
                            next_tick(&ticks, "concurrent stress").await;
                        }
                    })
                })
                .collect();
            for r in readers {
                r.await.unwrap();
            }
            ticker.stop();
        });
    }
}
