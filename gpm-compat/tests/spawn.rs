//! `futures::task::Spawn` for gpm: `GpmSpawner`.

use futures::channel::oneshot;
use futures::task::{Spawn, SpawnExt};
use gpm::runtime::{Builder, Runtime};
use gpm_compat::GpmSpawner;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it takes more than 30 s
/// (turns a hang into a failure; never used to synchronise).
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

#[test]
fn spawn_from_outside_the_runtime() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            let rt = runtime(procs);
            let spawner = GpmSpawner::new(rt.handle().clone());
            let (tx, rx) = oneshot::channel();
            spawner
                .spawn(async move {
                    let inner = gpm::spawn(async { 40 + 2 }).await.unwrap();
                    tx.send(inner).unwrap();
                })
                .unwrap();
            assert_eq!(rt.block_on(rx), Ok(42), "procs = {procs}");
        });
    }
}

#[test]
fn spawn_from_inside_a_goroutine() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            let rt = runtime(procs);
            let sum = rt.block_on(async {
                let spawner = GpmSpawner::current();
                let receivers: Vec<_> = (0..100u64)
                    .map(|i| {
                        let (tx, rx) = oneshot::channel();
                        spawner.spawn(async move { tx.send(i).unwrap() }).unwrap();
                        rx
                    })
                    .collect();
                let mut sum = 0;
                for rx in receivers {
                    sum += rx.await.unwrap();
                }
                sum
            });
            assert_eq!(sum, 99 * 100 / 2, "procs = {procs}");
        });
    }
}

#[test]
fn spawn_from_another_thread() {
    watchdog(|| {
        let rt = runtime(2);
        let spawner = GpmSpawner::from(rt.handle().clone());
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || spawner.spawn(async move { tx.send("sent").unwrap() }))
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(rt.block_on(rx), Ok("sent"));
    });
}

#[test]
fn spawn_with_handle_gives_the_output() {
    for procs in [1, 2, 4] {
        watchdog(move || {
            let rt = runtime(procs);
            let spawner = GpmSpawner::new(rt.handle().clone());
            let handle = spawner.spawn_with_handle(async { 6 * 7 }).unwrap();
            assert_eq!(rt.block_on(handle), 42, "procs = {procs}");
        });
    }
}

#[test]
fn the_spawned_future_runs_as_a_goroutine() {
    watchdog(|| {
        let rt = runtime(2);
        let spawner = GpmSpawner::new(rt.handle().clone());
        let (tx, rx) = oneshot::channel();
        spawner
            .spawn(async move {
                // Only a goroutine has a current runtime.
                let here = gpm::runtime::Handle::try_current().is_some();
                tx.send(here).unwrap();
            })
            .unwrap();
        assert_eq!(rt.block_on(rx), Ok(true));
    });
}

#[test]
fn status_is_ok() {
    let rt = runtime(1);
    let spawner = GpmSpawner::new(rt.handle().clone());
    assert!(spawner.status().is_ok());
}
