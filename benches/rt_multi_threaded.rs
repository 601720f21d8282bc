//! gpm and tokio side by side on tokio's multi-threaded scheduler benchmarks.
//!
//! Each workload is a copy of the one in tokio's `benches/rt_multi_threaded.rs`
//! (same task counts, same channels, same blocking waits), run once on a gpm
//! runtime and once on a tokio multi-thread runtime with the same number of
//! workers. Every workload is one criterion group with two functions, `gpm`
//! and `tokio`, so the report puts them next to each other:
//!
//! ```text
//! cargo bench --bench rt_multi_threaded
//! cargo bench --bench rt_multi_threaded -- ping_pong    # one workload
//! ```
//!
//! Both runtimes' `block_on` threads poll the future and nothing else: the
//! goroutines (tasks) it starts run on the workers. gpm's borrows an idle P
//! for each poll of its future, so what it spawns is queued on that P (and
//! the P goes to a worker after the poll, or is taken by sysmon from a poll
//! that blocks, as in `spawn_many_local`, `ping_pong` and `chained_spawn`,
//! which block in `mpsc::Receiver::recv` inside `block_on`); tokio's
//! `block_on` thread is no worker, and what it spawns goes through the
//! inject queue. (gpm's `block_on` once ran goroutines on the calling
//! thread too; a goroutine that blocked there held main hostage, issue 10.)
//!
//! The gpm runtime of a workload is dropped before its tokio runtime is built,
//! so neither one's threads compete with the other's measurement.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode};

/// Ps for gpm and worker threads for tokio: the cores of the machine the
/// figures were taken on (tokio's own bench uses 4).
const NUM_WORKERS: usize = 2;
/// Tasks spawned per iteration by the `spawn_many_*` workloads (as tokio).
const NUM_SPAWN: usize = 10_000;
/// CPU time a background task burns between two yields in
/// `spawn_many_remote_busy1` (as tokio).
const STALL_DUR: Duration = Duration::from_micros(10);

fn gpm_rt() -> gpm::runtime::Runtime {
    gpm::runtime::Builder::new().procs(NUM_WORKERS).build().unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(NUM_WORKERS)
        .enable_all()
        .build()
        .unwrap()
}

/// The criterion group of one workload, holding its `gpm` and `tokio`
/// functions. Flat sampling (every sample the same number of iterations):
/// an iteration takes milliseconds, and linear sampling would need more than
/// the measurement time for 20 samples.
fn workload<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// Spins (yielding the OS thread) for [`STALL_DUR`], as tokio's `stall`.
fn stall() {
    let now = Instant::now();
    while now.elapsed() < STALL_DUR {
        std::thread::yield_now();
    }
}

/// A task spawns [`NUM_SPAWN`] tasks; the last one to run signals a std
/// channel that the spawning task blocks on.
fn spawn_many_local(c: &mut Criterion) {
    let mut group = workload(c, "spawn_many_local");
    let (tx, rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                rem.store(NUM_SPAWN, Relaxed);

                rt.block_on(async {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();

                        gpm::spawn(async move {
                            if 1 == rem.fetch_sub(1, Relaxed) {
                                tx.send(()).unwrap();
                            }
                        });
                    }

                    rx.recv().unwrap();
                });
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                rem.store(NUM_SPAWN, Relaxed);

                rt.block_on(async {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();

                        tokio::spawn(async move {
                            if 1 == rem.fetch_sub(1, Relaxed) {
                                tx.send(()).unwrap();
                            }
                        });
                    }

                    rx.recv().unwrap();
                });
            })
        });
    }

    group.finish();
}

/// [`NUM_SPAWN`] empty tasks spawned from outside the runtime, then joined
/// one by one from `block_on`; the runtime is otherwise idle.
fn spawn_many_remote_idle(c: &mut Criterion) {
    let mut group = workload(c, "spawn_many_remote_idle");

    {
        let rt = gpm_rt();
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        group.bench_function("gpm", |b| {
            b.iter(|| {
                for _ in 0..NUM_SPAWN {
                    handles.push(rt.spawn(async {}));
                }

                rt.block_on(async {
                    for handle in handles.drain(..) {
                        handle.await.unwrap();
                    }
                });
            })
        });
    }

    {
        let rt = tokio_rt();
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        group.bench_function("tokio", |b| {
            b.iter(|| {
                for _ in 0..NUM_SPAWN {
                    handles.push(rt.spawn(async {}));
                }

                rt.block_on(async {
                    for handle in handles.drain(..) {
                        handle.await.unwrap();
                    }
                });
            })
        });
    }

    group.finish();
}

/// As `spawn_many_remote_idle`, while `2 * NUM_WORKERS` background tasks keep
/// every worker busy burning CPU and yielding. Yielding is a lower
/// notification priority than spawning (tokio's comment); in gpm a yield
/// sends the goroutine to the global queue's tail, as Go's `Gosched`.
fn spawn_many_remote_busy1(c: &mut Criterion) {
    let mut group = workload(c, "spawn_many_remote_busy1");

    {
        let rt = gpm_rt();
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        let flag = Arc::new(AtomicBool::new(true));

        // Spawn some tasks to keep the runtime busy.
        for _ in 0..(2 * NUM_WORKERS) {
            let flag = flag.clone();
            rt.spawn(async move {
                while flag.load(Relaxed) {
                    gpm::yield_now().await;
                    stall();
                }
            });
        }

        group.bench_function("gpm", |b| {
            b.iter(|| {
                for _ in 0..NUM_SPAWN {
                    handles.push(rt.spawn(async {}));
                }

                rt.block_on(async {
                    for handle in handles.drain(..) {
                        handle.await.unwrap();
                    }
                });
            })
        });

        flag.store(false, Relaxed);
    }

    {
        let rt = tokio_rt();
        let mut handles = Vec::with_capacity(NUM_SPAWN);
        let flag = Arc::new(AtomicBool::new(true));

        // Spawn some tasks to keep the runtime busy.
        for _ in 0..(2 * NUM_WORKERS) {
            let flag = flag.clone();
            rt.spawn(async move {
                while flag.load(Relaxed) {
                    tokio::task::yield_now().await;
                    stall();
                }
            });
        }

        group.bench_function("tokio", |b| {
            b.iter(|| {
                for _ in 0..NUM_SPAWN {
                    handles.push(rt.spawn(async {}));
                }

                rt.block_on(async {
                    for handle in handles.drain(..) {
                        handle.await.unwrap();
                    }
                });
            })
        });

        flag.store(false, Relaxed);
    }

    group.finish();
}

/// 1 000 task pairs, each exchanging a ping and a pong over two oneshot
/// channels. Both runtimes use `tokio::sync::oneshot`, as tokio's bench does
/// (it needs no tokio runtime), so that only the schedulers differ.
fn ping_pong(c: &mut Criterion) {
    const NUM_PINGS: usize = 1_000;

    let mut group = workload(c, "ping_pong");
    let (done_tx, done_rx) = mpsc::sync_channel(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    {
        use tokio::sync::oneshot;

        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();
                let rem = rem.clone();
                rem.store(NUM_PINGS, Relaxed);

                rt.block_on(async {
                    gpm::spawn(async move {
                        for _ in 0..NUM_PINGS {
                            let rem = rem.clone();
                            let done_tx = done_tx.clone();

                            gpm::spawn(async move {
                                let (tx1, rx1) = oneshot::channel();
                                let (tx2, rx2) = oneshot::channel();

                                gpm::spawn(async move {
                                    rx1.await.unwrap();
                                    tx2.send(()).unwrap();
                                });

                                tx1.send(()).unwrap();
                                rx2.await.unwrap();

                                if 1 == rem.fetch_sub(1, Relaxed) {
                                    done_tx.send(()).unwrap();
                                }
                            });
                        }
                    });

                    done_rx.recv().unwrap();
                });
            })
        });
    }

    {
        use tokio::sync::oneshot;

        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();
                let rem = rem.clone();
                rem.store(NUM_PINGS, Relaxed);

                rt.block_on(async {
                    tokio::spawn(async move {
                        for _ in 0..NUM_PINGS {
                            let rem = rem.clone();
                            let done_tx = done_tx.clone();

                            tokio::spawn(async move {
                                let (tx1, rx1) = oneshot::channel();
                                let (tx2, rx2) = oneshot::channel();

                                tokio::spawn(async move {
                                    rx1.await.unwrap();
                                    tx2.send(()).unwrap();
                                });

                                tx1.send(()).unwrap();
                                rx2.await.unwrap();

                                if 1 == rem.fetch_sub(1, Relaxed) {
                                    done_tx.send(()).unwrap();
                                }
                            });
                        }
                    });

                    done_rx.recv().unwrap();
                });
            })
        });
    }

    group.finish();
}

/// 200 tasks spawned from outside, each yielding 1 000 times before it
/// signals a std channel.
fn yield_many(c: &mut Criterion) {
    const NUM_YIELD: usize = 1_000;
    const TASKS: usize = 200;

    let mut group = workload(c, "yield_many");
    let (tx, rx) = mpsc::sync_channel(TASKS);

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                for _ in 0..TASKS {
                    let tx = tx.clone();

                    rt.spawn(async move {
                        for _ in 0..NUM_YIELD {
                            gpm::yield_now().await;
                        }

                        tx.send(()).unwrap();
                    });
                }

                for _ in 0..TASKS {
                    rx.recv().unwrap();
                }
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                for _ in 0..TASKS {
                    let tx = tx.clone();

                    rt.spawn(async move {
                        for _ in 0..NUM_YIELD {
                            tokio::task::yield_now().await;
                        }

                        tx.send(()).unwrap();
                    });
                }

                for _ in 0..TASKS {
                    rx.recv().unwrap();
                }
            })
        });
    }

    group.finish();
}

/// A chain of 1 000 tasks, each spawning the next and exiting.
fn chained_spawn(c: &mut Criterion) {
    const ITER: usize = 1_000;

    fn gpm_iter(done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            gpm::spawn(async move {
                gpm_iter(done_tx, n - 1);
            });
        }
    }

    fn tokio_iter(done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            tokio::spawn(async move {
                tokio_iter(done_tx, n - 1);
            });
        }
    }

    let mut group = workload(c, "chained_spawn");
    let (done_tx, done_rx) = mpsc::sync_channel(1000);

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();

                rt.block_on(async {
                    gpm::spawn(async move {
                        gpm_iter(done_tx, ITER);
                    });

                    done_rx.recv().unwrap();
                });
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                let done_tx = done_tx.clone();

                rt.block_on(async {
                    tokio::spawn(async move {
                        tokio_iter(done_tx, ITER);
                    });

                    done_rx.recv().unwrap();
                });
            })
        });
    }

    group.finish();
}

/// Short runs: six workloads on two runtimes fit in a few minutes on two
/// cores. Command-line flags (`--measurement-time`, `--sample-size`) still
/// override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20)
}

criterion_group!(
    name = rt_multi_scheduler;
    config = config();
    targets = spawn_many_local,
        spawn_many_remote_idle,
        spawn_many_remote_busy1,
        ping_pong,
        yield_many,
        chained_spawn,
);

criterion_main!(rt_multi_scheduler);
