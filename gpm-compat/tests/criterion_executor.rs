//! criterion's `AsyncExecutor` for gpm (feature `criterion`), driven
//! through the trait without running a benchmark.
#![cfg(feature = "criterion")]

use criterion::async_executor::AsyncExecutor;
use gpm::runtime::Builder;
use gpm_compat::GpmExecutor;
use std::sync::mpsc;
use std::time::Duration;

fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("test hung (or panicked) for 30 s")
}

/// What criterion's `AsyncBencher` needs: any `A: AsyncExecutor`.
fn run_through_trait<A: AsyncExecutor>(executor: A) -> u64 {
    executor.block_on(async {
        let handles: Vec<_> = (0..50u64).map(|i| gpm::spawn(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    })
}

#[test]
fn block_on_through_the_trait() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            let rt = Builder::new().procs(procs).build().unwrap();
            assert_eq!(run_through_trait(GpmExecutor::new(&rt)), 49 * 50 / 2);
            // By reference, and repeatedly (criterion calls it once per batch).
            let executor = GpmExecutor::new(&rt);
            for _ in 0..3 {
                assert_eq!(run_through_trait(&executor), 49 * 50 / 2);
            }
        });
    }
}

#[test]
fn block_on_runs_the_future_as_a_goroutine() {
    watchdog(|| {
        let rt = Builder::new().procs(2).build().unwrap();
        let executor = GpmExecutor::new(&rt);
        let inside = AsyncExecutor::block_on(&executor, async {
            gpm::time::sleep(Duration::from_millis(1)).await;
            gpm::runtime::Handle::try_current().is_some()
        });
        assert!(inside);
    });
}
