//! hyper 1.x glue (feature `hyper`): the executor runs futures on gpm, the
//! timer sleeps at least as asked and `reset` moves the deadline. hyper's
//! traits are called directly; no network.
#![cfg(feature = "hyper")]

use futures::channel::oneshot;
use gpm::runtime::{Builder, Runtime};
use gpm_compat::{GpmExecutor, GpmSleep, GpmTimer};
use hyper::rt::{Executor, Sleep, Timer};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("test hung (or panicked) for 30 s")
}

fn runtime(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

/// Takes any hyper executor, as hyper's builders do.
fn execute_with<E: Executor<F>, F>(executor: &E, future: F) {
    executor.execute(future);
}

#[test]
fn executor_runs_a_future_on_gpm() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            let rt = runtime(procs);
            let (tx, rx) = oneshot::channel();
            execute_with(&GpmExecutor::new(&rt), async move {
                let on_gpm = gpm::runtime::Handle::try_current().is_some();
                tx.send(on_gpm).unwrap();
            });
            assert_eq!(rt.block_on(rx), Ok(true), "procs = {procs}");
        });
    }
}

#[test]
fn executor_from_inside_a_goroutine() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            let rt = runtime(procs);
            let total = rt.block_on(async {
                // As hyper's HTTP/2 connection does for each stream.
                let executor = GpmExecutor::current();
                let receivers: Vec<_> = (0..64u32)
                    .map(|i| {
                        let (tx, rx) = oneshot::channel();
                        execute_with(&executor, async move {
                            gpm::yield_now().await;
                            tx.send(i).unwrap();
                        });
                        rx
                    })
                    .collect();
                let mut total = 0;
                for rx in receivers {
                    total += rx.await.unwrap();
                }
                total
            });
            assert_eq!(total, 63 * 64 / 2, "procs = {procs}");
        });
    }
}

#[test]
fn timer_sleeps_at_least_the_duration() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            runtime(procs).block_on(async {
                let timer = GpmTimer::new();
                for ms in [0, 1, 5, 20] {
                    let asked = Duration::from_millis(ms);
                    let start = Instant::now();
                    timer.sleep(asked).await;
                    assert!(start.elapsed() >= asked, "slept less than {asked:?}");
                }
            });
        });
    }
}

#[test]
fn timer_sleep_until_waits_for_the_deadline() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            runtime(procs).block_on(async {
                let timer = GpmTimer::new();
                let deadline = timer.now() + Duration::from_millis(10);
                timer.sleep_until(deadline).await;
                assert!(Instant::now() >= deadline);
                // A deadline already past completes at once.
                timer.sleep_until(Instant::now() - Duration::from_secs(1)).await;
            });
        });
    }
}

#[test]
fn reset_moves_a_far_deadline_nearer() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            runtime(procs).block_on(async {
                let timer = GpmTimer::new();
                let mut sleep = timer.sleep(Duration::from_secs(3600));
                // Poll once so its timer is registered, then move it.
                assert!(futures::poll!(sleep.as_mut()).is_pending());
                let deadline = Instant::now() + Duration::from_millis(5);
                timer.reset(&mut sleep, deadline);
                // Still ours: reset moved it in place rather than replacing it.
                assert!(sleep.as_mut().downcast_mut_pin::<GpmSleep>().is_some());
                sleep.await;
                assert!(Instant::now() >= deadline);
            });
        });
    }
}

#[test]
fn reset_moves_a_near_deadline_later() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            runtime(procs).block_on(async {
                let timer = GpmTimer::new();
                let mut sleep = timer.sleep(Duration::from_millis(1));
                assert!(futures::poll!(sleep.as_mut()).is_pending());
                let deadline = Instant::now() + Duration::from_millis(30);
                timer.reset(&mut sleep, deadline);
                sleep.await;
                assert!(Instant::now() >= deadline, "the old deadline fired");
            });
        });
    }
}

#[test]
fn reset_after_firing_rearms() {
    watchdog(|| {
        runtime(2).block_on(async {
            let timer = GpmTimer::new();
            let mut sleep = timer.sleep(Duration::from_millis(1));
            sleep.as_mut().await;
            let deadline = Instant::now() + Duration::from_millis(10);
            timer.reset(&mut sleep, deadline);
            assert!(futures::poll!(sleep.as_mut()).is_pending());
            sleep.await;
            assert!(Instant::now() >= deadline);
        });
    });
}

/// A sleep from some other runtime: `reset` must replace it.
struct Foreign;

impl Future for Foreign {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Sleep for Foreign {}

#[test]
fn reset_replaces_a_foreign_sleep() {
    watchdog(|| {
        runtime(1).block_on(async {
            let timer = GpmTimer::new();
            let mut sleep: Pin<Box<dyn Sleep>> = Box::pin(Foreign);
            let deadline = Instant::now() + Duration::from_millis(2);
            timer.reset(&mut sleep, deadline);
            assert!(sleep.as_mut().downcast_mut_pin::<GpmSleep>().is_some());
            sleep.await;
            assert!(Instant::now() >= deadline);
        });
    });
}

#[test]
fn a_dropped_sleep_leaves_the_timers() {
    watchdog(|| {
        let rt = runtime(1);
        rt.block_on(async {
            let timer = GpmTimer::new();
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            assert!(futures::poll!(sleep.as_mut()).is_pending());
            drop(sleep);
        });
        assert_eq!(rt.stats().timers, 0);
    });
}

#[test]
fn sleep_is_send_sync_and_unpin() {
    fn check<T: Send + Sync + Unpin + 'static>() {}
    check::<GpmSleep>();
    check::<GpmTimer>();
    check::<GpmExecutor>();
}
