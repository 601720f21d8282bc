//! Go's `src/time/tick_test.go`, ported: tickers, `Tick` and `After` on 1,
//! 2 and 4 Ps (from the "Go's time tests" section of what was
//! `tests/time.rs`; the two tests from `sleep_test.go` are in
//! `time_sleep.rs`, gpm's own timer tests in `tests/time.rs`).

// ----- Go's time tests ----------------------------------------------------
//
// Ported from `src/time/tick_test.go` and `src/time/sleep_test.go` (Go
// 1.23+), in our own code. Go's `Sleep(sched)` retries become receives
// with a bound, which only turns a missing tick into a failure. The sleeps
// left let time pass (for ticks to fall due, or before a check that
// nothing happened); none is what orders two goroutines.

use crate::common::{next_tick, no_tick, rt, SHAPES, TICK_BOUND};
use gpm::time::Instant;
use gpm::time::Ticker;
use std::time::Duration;

/// Go's `tickerTimer`: a ticker whose `stop` and `reset` say whether it was
/// running, as a `Timer`'s do.
struct TickerTimer {
    ticker: Ticker,
    stopped: bool,
}

impl TickerTimer {
    fn stop(&mut self) -> bool {
        let pending = !self.stopped;
        self.stopped = true;
        self.ticker.stop();
        pending
    }

    fn reset(&mut self, d: Duration) -> bool {
        let pending = !self.stopped;
        self.stopped = false;
        self.ticker.reset(d);
        pending
    }
}

/// Fails if `done` holds a value.
fn not_done(done: &gpm::Chan<bool>, what: &str) {
    assert!(done.try_recv().is_err(), "{what}: early done");
}

/// Waits for a value on `done` (or its close), within [`TICK_BOUND`].
async fn wait_done(done: &gpm::Chan<bool>, what: &str) {
    if gpm::time::timeout(TICK_BOUND, done.recv()).await.is_err() {
        panic!("{what}: never got done");
    }
}

/// [TestChan/asynctimerchan=0/Ticker](https://github.com/golang/go/blob/master/src/time/tick_test.go)
/// (`testTimerChan` with Go 1.23's synchronous timer channels): stop and
/// reset in and out of the heap, with goroutines blocked on the channel,
/// and "Stop and Reset block old values from being received"
/// ([go.dev/issue/37196](https://go.dev/issue/37196)).
#[test]
fn go_test_chan_ticker() {
    for procs in SHAPES {
        rt(procs).block_on(go_test_chan_ticker_body());
    }
}

async fn go_test_chan_ticker_body() {
    let sched = Duration::from_millis(10);
    let sleep = gpm::time::sleep;
    let mut tim = TickerTimer {
        ticker: Ticker::new(Duration::from_secs(10_000)),
        stopped: false,
    };
    let c = tim.ticker.receiver();

    // Simple stop; timer never in heap.
    tim.stop();
    no_tick(&c, "stop");
    // Modify of a timer not in heap.
    tim.reset(Duration::from_secs(10_000));
    no_tick(&c, "reset");

    // Modify of a timer in heap.
    tim.reset(Duration::from_nanos(1));
    sleep(sched).await;
    assert_eq!((c.len(), c.cap()), (0, 0), "len(C), cap(C)");
    next_tick(&c, "reset(1)").await;

    // Sleep long enough that a second tick must happen; Reset does not
    // let it through.
    sleep(sched).await;
    tim.reset(Duration::from_secs(10_000));
    no_tick(&c, "reset after a second tick");

    // Stop while the timer is in the heap (a goroutine is blocked on <-C).
    tim.reset(Duration::from_secs(10_000));
    let done = gpm::chan::<bool>(0);
    not_done(&done, "before the receiver");
    {
        let (c, done) = (c.clone(), done.clone());
        gpm::go!(async move {
            c.recv().await;
            done.close().unwrap();
        });
    }
    sleep(sched).await;
    not_done(&done, "receiver blocked");
    // Reset far away while in heap.
    tim.reset(Duration::from_secs(20_000));
    sleep(sched).await;
    not_done(&done, "reset far away");
    // Imminent reset while in heap.
    tim.reset(Duration::from_nanos(1));
    wait_done(&done, "imminent reset").await;
    // A ticker: another tick has come in already (they are 1 ns apart).
    next_tick(&c, "the tick after").await;
    tim.stop();
    no_tick(&c, "stop after ticks");

    // Again using select, with two goroutines waiting.
    tim.reset(Duration::from_secs(10_000));
    let done = gpm::chan::<bool>(2);
    let done1 = gpm::chan::<bool>(0);
    let done2 = gpm::chan::<bool>(0);
    let stop = gpm::chan::<bool>(0);
    for mine in [done1.clone(), done2.clone()] {
        let (c, done, stop) = (c.clone(), done.clone(), stop.clone());
        gpm::go!(async move {
            gpm::select! {
                recv(c) -> _ => done.send(true).await.unwrap(),
                recv(stop) -> _ => {}
            }
            mine.close().unwrap();
        });
    }
    sleep(sched).await;
    not_done(&done, "two waiters");
    tim.reset(sched / 2);
    sleep(sched).await;
    wait_done(&done, "a waiter got a tick").await;
    tim.stop();
    stop.close().unwrap();
    wait_done(&done1, "waiter 1").await;
    wait_done(&done2, "waiter 2").await;
    // A ticker may have sent a second waiter a tick too.
    let _ = done.try_recv();
    not_done(&done, "after both waiters");
    no_tick(&c, "after stop with two waiters");

    // enqueueTimerChan while the timer is stopped: nothing arrives.
    let stop = gpm::chan::<bool>(0);
    let done = gpm::chan::<bool>(2);
    for _ in 0..2 {
        let (c, done, stop) = (c.clone(), done.clone(), stop.clone());
        gpm::go!(async move {
            gpm::select! {
                recv(c) -> _ => panic!("unexpected data"),
                recv(stop) -> _ => {}
            }
            done.send(true).await.unwrap();
        });
    }
    sleep(sched).await;
    stop.close().unwrap();
    wait_done(&done, "stopped waiter 1").await;
    wait_done(&done, "stopped waiter 2").await;

    // Stop and Reset block old values from being received.
    tim.reset(Duration::from_nanos(1));
    sleep(Duration::from_millis(10)).await;
    assert!(tim.stop(), "stop of a running ticker reports it pending");
    no_tick(&c, "stop after ticks were due");
    tim.reset(Duration::from_secs(3600));
    no_tick(&c, "reset to an hour");
    assert!(
        tim.reset(Duration::from_nanos(1)),
        "reset of a running ticker reports it pending"
    );
    next_tick(&c, "reset(1)").await;
    sleep(Duration::from_millis(10)).await;
    next_tick(&c, "a ticker keeps ticking").await;
    sleep(Duration::from_millis(10)).await;
    assert!(tim.reset(Duration::from_secs(3600)));
    no_tick(&c, "reset to an hour after due ticks");
}

/// [TestTicker](https://github.com/golang/go/blob/master/src/time/tick_test.go):
/// 5 ticks of 20 ms, a reset to 40 ms, 5 more; then stopped, it stays
/// quiet. Go's upper bound is 30% over; ours is 3x (a loaded machine).
#[test]
fn go_test_ticker() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            let (count, delta) = (10u32, Duration::from_millis(20));
            let ticker = Ticker::new(delta);
            let ticks = ticker.receiver();
            let t0 = Instant::now();
            for _ in 0..count / 2 {
                next_tick(&ticks, "first half").await;
            }
            ticker.reset(delta * 2);
            for _ in 0..count - count / 2 {
                next_tick(&ticks, "second half").await;
            }
            ticker.stop();
            let dt = t0.elapsed();
            let target = 3 * delta * (count / 2);
            let slop = target * 3 / 10;
            assert!(
                dt >= target - slop && dt <= target * 3,
                "procs {procs}: took {dt:?}, want {target:?}"
            );
            // The ticker stopped.
            gpm::time::sleep(2 * delta).await;
            no_tick(&ticks, "Ticker did not shut down");
        });
    }
}

/// [TestTeardown](https://github.com/golang/go/blob/master/src/time/tick_test.go):
/// making, reading and stopping tickers does not deadlock.
#[test]
fn go_test_teardown() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            for _ in 0..3 {
                let ticker = Ticker::new(Duration::from_millis(20));
                next_tick(&ticker.receiver(), "teardown").await;
                ticker.stop();
            }
        });
    }
}

/// [TestTickerResetLtZeroDuration](https://github.com/golang/go/blob/master/src/time/tick_test.go):
/// `reset` to a zero period panics, as Go's does for a non-positive one.
#[test]
#[should_panic(expected = "non-positive interval")]
fn go_test_ticker_reset_zero_panics() {
    rt(1).block_on(async {
        Ticker::new(Duration::from_secs(1)).reset(Duration::ZERO);
    });
}

/// [TestTick](https://github.com/golang/go/blob/master/src/time/tick_test.go):
/// Go's `Tick` of a non-positive duration is a nil channel; ours of zero is
/// a receiver on which nothing ever arrives (not a panic).
#[test]
fn go_test_tick_zero_never_ticks() {
    rt(1).block_on(async {
        let ticks = gpm::time::tick(Duration::ZERO);
        let got = gpm::time::timeout(Duration::from_millis(20), ticks.recv()).await;
        assert!(got.is_err(), "tick(0) ticked");
        no_tick(&ticks, "tick(0)");
    });
}

/// [TestAfterTimes](https://github.com/golang/go/blob/master/src/time/tick_test.go):
/// `after(10ms)` read 500 ms later gives a time near start + 10 ms (when it
/// was due), not the time of the read. Go retries 10 times against
/// scheduling delays; so do we.
#[test]
fn go_test_after_times() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            for attempt in 0..10 {
                let start = Instant::now();
                let c = gpm::time::after(Duration::from_millis(10));
                gpm::time::sleep(Duration::from_millis(500)).await;
                let dt = next_tick(&c, "after").await - start;
                if dt < Duration::from_millis(400) {
                    return;
                }
                eprintln!("procs {procs}, attempt {attempt}: after(10ms) time is +{dt:?}, want < 400ms");
            }
            panic!("procs {procs}: after's time is the time of the read");
        });
    }
}

/// [TestTickTimes](https://github.com/golang/go/blob/master/src/time/tick_test.go):
/// as [`go_test_after_times`], for `tick(10ms)`.
#[test]
fn go_test_tick_times() {
    for procs in SHAPES {
        rt(procs).block_on(async {
            for attempt in 0..10 {
                let start = Instant::now();
                let c = gpm::time::tick(Duration::from_millis(10));
                gpm::time::sleep(Duration::from_millis(500)).await;
                let dt = next_tick(&c, "tick").await - start;
                if dt < Duration::from_millis(400) {
                    return;
                }
                eprintln!("procs {procs}, attempt {attempt}: tick(10ms) time is +{dt:?}, want < 400ms");
            }
            panic!("procs {procs}: tick's time is the time of the read");
        });
    }
}
