//! A 30-second retry loop with exponential back-off, tested in virtual
//! time: it takes milliseconds of real time, and its events come in the
//! same order as when it runs in real time (checked against a run of the
//! same code in real time, scaled down a hundredfold).

use gpm::context::{self, Context};
use gpm::synctest;
use gpm::time::{now, sleep, Duration};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the client saw, in order: an attempt's number and result, or
/// giving up.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Attempt { n: u32, ok: bool },
    GaveUp,
    ServerUp,
}

/// The code under test: retries `attempt` with back-off starting at
/// `first` and doubling, until it succeeds or `ctx` is done. Returns the
/// times of the attempts (relative to the start).
async fn retry(
    ctx: &Context,
    first: Duration,
    mut attempt: impl FnMut(u32) -> bool,
    log: &Mutex<Vec<Event>>,
) -> Vec<Duration> {
    let start = now();
    let mut times = Vec::new();
    let mut backoff = first;
    for n in 0.. {
        times.push(now() - start);
        let ok = attempt(n);
        log.lock().unwrap().push(Event::Attempt { n, ok });
        if ok {
            return times;
        }
        gpm::select! {
            recv(ctx.done()) -> _closed => {
                log.lock().unwrap().push(Event::GaveUp);
                return times;
            },
            recv(gpm::time::after(backoff)) -> _at => {},
        }
        backoff *= 2;
    }
    unreachable!()
}

/// A server that comes up after `up_after` units; the client retries for
/// `deadline` units at most, backing off from a tenth of a unit. Returns
/// the events and the attempts' times.
async fn scenario(unit: Duration, up_after: u32, deadline: u32) -> (Vec<Event>, Vec<Duration>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let up = Arc::new(AtomicBool::new(false));
    let (u, l) = (up.clone(), log.clone());
    gpm::go!(async move {
        sleep(unit * up_after).await;
        u.store(true, SeqCst);
        l.lock().unwrap().push(Event::ServerUp);
    });
    let (ctx, cancel) = context::with_timeout(&context::background(), unit * deadline);
    let times = retry(&ctx, unit / 10, |_| up.load(SeqCst), &log).await;
    cancel.cancel();
    let events = log.lock().unwrap().clone();
    (events, times)
}

/// True if a real-time run kept to its schedule closely enough for its
/// order to be the one planned: timers are only ever late, and under load
/// the lateness of the back-off sleeps adds up. The attempt before the
/// server is up (at 12.7 units) must come before it (20), the one after
/// (25.5) before the deadline (30), each with a unit to spare.
fn kept_to_schedule(times: &[Duration], unit: Duration) -> bool {
    times.len() == 9 && times[7] + unit < unit * 20 && times[8] + unit < unit * 30 && times[8] > unit * 21
}

/// Attempts at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3, 12.7 and 25.5 units; the
/// server is up at 20, within the 30-unit deadline.
fn expected_success() -> Vec<Event> {
    let mut events: Vec<Event> = (0..8).map(|n| Event::Attempt { n, ok: false }).collect();
    events.push(Event::ServerUp);
    events.push(Event::Attempt { n: 8, ok: true });
    events
}

#[test]
fn a_30_second_retry_loop_takes_milliseconds() {
    for procs in [1, 2, 4] {
        let real = Instant::now();
        let (events, times) = synctest::test_with_procs(procs, scenario(Duration::from_secs(1), 20, 30));
        let took = real.elapsed();
        assert_eq!(events, expected_success(), "procs {procs}");
        let want: Vec<Duration> = [0, 100, 300, 700, 1500, 3100, 6300, 12700, 25500]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(times, want, "procs {procs}: attempts at their exact times");
        // Real time: a few looks of sysmon per timer (about 0.1 ms each);
        // the bound is generous for a loaded machine.
        assert!(
            took < Duration::from_secs(2),
            "procs {procs}: took {took:?} of real time"
        );
    }
}

#[test]
fn giving_up_at_the_deadline() {
    for procs in [1, 2, 4] {
        // The server is up only after the 30-second deadline.
        let (events, times) = synctest::test_with_procs(procs, async {
            let out = scenario(Duration::from_secs(1), 40, 30).await;
            // Let the server's goroutine finish (time moves on: the root
            // sleeps past it).
            sleep(Duration::from_secs(60)).await;
            out
        });
        let mut want: Vec<Event> = (0..9).map(|n| Event::Attempt { n, ok: false }).collect();
        want.push(Event::GaveUp);
        assert_eq!(events, want, "procs {procs}");
        assert_eq!(times.last(), Some(&Duration::from_millis(25500)), "procs {procs}");
    }
}

/// The same scenario in real time, a hundredth of the size (the server
/// is up at 200 ms, between the attempts at 127 ms and 255 ms): the same
/// events in the same order as in virtual time. A run that a loaded
/// machine made late by more than its margins (see `kept_to_schedule`) is
/// not a fair comparison: it is run again with a longer unit.
#[test]
fn the_same_order_as_in_real_time() {
    let (virtual_events, _) = synctest::test(scenario(Duration::from_secs(1), 20, 30));
    assert_eq!(virtual_events, expected_success());
    let rt = gpm::runtime::Builder::new().procs(2).build().unwrap();
    let mut late = Vec::new();
    for unit in [10, 40, 160].map(Duration::from_millis) {
        let (events, times) = rt.block_on(scenario(unit, 20, 30));
        if kept_to_schedule(&times, unit) {
            assert_eq!(
                events, virtual_events,
                "real time, unit {unit:?}, attempts at {times:?}"
            );
            return;
        }
        late.push((unit, times));
    }
    panic!("every real-time run was too late to compare (machine overloaded?): {late:?}");
}
