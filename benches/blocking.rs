//! gpm and tokio side by side on blocking work inside tasks.
//!
//! Four workloads, each one criterion group with two functions, `gpm` and
//! `tokio`, run with the same number of workers (2 Ps, 2 worker threads):
//!
//! - `syscall_noop`: one task makes 10 000 calls that announce a blocking
//!   call around an empty closure: `gpm::syscall` against
//!   `tokio::task::block_in_place`. This is the fixed cost of the
//!   announcement.
//! - `syscall_1us`: the same with a 1 µs busy-wait inside each call.
//! - `spawn_blocking`: tokio's own `benches/spawn_blocking.rs` workload at
//!   its top concurrency level on two cores: 2 tasks, each running 100
//!   batches of 16 no-op `spawn_blocking` jobs and awaiting every batch
//!   before the next.
//! - `stuck_m_latency`: a task spawns 1 000 tasks and then blocks its thread
//!   for 100 ms *without* announcing it (a plain `std::thread::sleep`). Each
//!   of the 1 000 records how long after its spawn it started. **The figure
//!   criterion reports for this group is not a run time: it is the worst of
//!   those 1 000 start delays**, averaged over the iterations.
//!
//! ```text
//! cargo bench --bench blocking
//! cargo bench --bench blocking -- syscall_noop    # one workload
//! ```
//!
//! In `syscall_noop` and `syscall_1us` the time is taken inside the task,
//! around the calls only: getting into the runtime and back (`block_on`'s
//! thread hand-offs, the same in both runtimes) is not the cost measured.
//!
//! The calls are made from a spawned task in both runtimes: tokio's
//! `block_in_place` only hands the worker off when it runs on a worker
//! thread (inside `block_on` it just runs the closure), and gpm's `block_on`
//! future is polled on the calling thread, beside the Ps. The gpm runtime of a workload is dropped
//! before its tokio runtime is built, so neither one's threads compete with
//! the other's measurement.

use std::hint::black_box;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode};

/// Ps for gpm and worker threads for tokio: the cores of the machine the
/// figures were taken on.
const NUM_WORKERS: usize = 2;
/// Calls per iteration in the `syscall_*` workloads.
const NUM_CALLS: usize = 10_000;
/// Busy time inside each call of `syscall_1us`.
const CALL_DUR: Duration = Duration::from_micros(1);

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

/// Busy-waits (without yielding the thread) for [`CALL_DUR`].
fn spin_1us() {
    let now = Instant::now();
    while now.elapsed() < CALL_DUR {
        std::hint::spin_loop();
    }
}

/// One task makes [`NUM_CALLS`] blocking-call announcements around `call`:
/// `gpm::syscall` on gpm, `block_in_place` on tokio.
fn syscall_workload(c: &mut Criterion, name: &str, call: impl Fn() + Copy + Send + 'static) {
    let mut group = workload(c, name);

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async move {
                    gpm::spawn(async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            for _ in 0..NUM_CALLS {
                                gpm::syscall(call);
                            }
                        }
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                })
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async move {
                    tokio::spawn(async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            for _ in 0..NUM_CALLS {
                                tokio::task::block_in_place(call);
                            }
                        }
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                })
            })
        });
    }

    group.finish();
}

/// [`NUM_CALLS`] empty calls: the cost of the announcement alone.
fn syscall_noop(c: &mut Criterion) {
    syscall_workload(c, "syscall_noop", || black_box(()));
}

/// [`NUM_CALLS`] calls of 1 µs each (at least 10 ms per iteration).
fn syscall_1us(c: &mut Criterion) {
    syscall_workload(c, "syscall_1us", spin_1us);
}

/// tokio's `spawn_blocking` bench at concurrency [`NUM_WORKERS`]: that many
/// tasks, each running `NUM_BATCHES` batches of `BATCH_SIZE` no-op jobs and
/// awaiting a batch before it starts the next. tokio's bench collects a batch
/// in a `JoinSet`; here both runtimes await a `Vec` of handles in order
/// (gpm has no `JoinSet`), so that only the pools differ.
fn spawn_blocking(c: &mut Criterion) {
    /// Batches per task (as tokio).
    const NUM_BATCHES: usize = 100;
    /// Jobs per batch (as tokio).
    const BATCH_SIZE: usize = 16;

    let mut group = workload(c, "spawn_blocking");

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..NUM_WORKERS)
                        .map(|_| {
                            gpm::spawn(async {
                                for _ in 0..NUM_BATCHES {
                                    let batch: Vec<_> =
                                        (0..BATCH_SIZE).map(|_| gpm::spawn_blocking(|| black_box(0))).collect();
                                    for job in batch {
                                        job.await.unwrap();
                                    }
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                });
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..NUM_WORKERS)
                        .map(|_| {
                            tokio::spawn(async {
                                for _ in 0..NUM_BATCHES {
                                    let batch: Vec<_> = (0..BATCH_SIZE)
                                        .map(|_| tokio::task::spawn_blocking(|| black_box(0)))
                                        .collect();
                                    for job in batch {
                                        job.await.unwrap();
                                    }
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                });
            })
        });
    }

    group.finish();
}

/// What the tasks of one `stuck_m_latency` iteration share.
struct Probe {
    /// The worst start delay seen so far, in nanoseconds.
    worst: AtomicU64,
    /// Tasks (the queued ones and the blocker) not finished yet.
    remaining: AtomicUsize,
    /// Signalled by the last task to finish.
    done: mpsc::SyncSender<()>,
}

impl Probe {
    /// Called by a queued task when it starts: `spawned` is when it was
    /// spawned.
    fn started(&self, spawned: Instant) {
        let delay = u64::try_from(spawned.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.worst.fetch_max(delay, Relaxed);
    }

    /// Called by every task, queued or blocker, when it is done.
    fn finished(&self) {
        if self.remaining.fetch_sub(1, Relaxed) == 1 {
            self.done.send(()).unwrap();
        }
    }
}

/// A task spawns `NUM_QUEUED` tasks (into its own worker's queues) and then
/// blocks its thread for `BLOCK_FOR` in a plain `std::thread::sleep`, not
/// wrapped in `gpm::syscall` / `block_in_place`. Each queued task records
/// how long after its spawn it started.
///
/// The measured "time" of an iteration is the **worst start delay** among
/// the `NUM_QUEUED` tasks (via `iter_custom`), not the iteration's run
/// time, which is at least `BLOCK_FOR`. A runtime whose other worker takes
/// every queued task promptly scores microseconds; one that leaves a task
/// behind the blocked thread scores about `BLOCK_FOR`.
///
/// The blocker is spawned from outside the runtime and the bench thread
/// waits on a std channel, so both runtimes have their two workers free.
fn stuck_m_latency(c: &mut Criterion) {
    /// Tasks queued behind the blocked one.
    const NUM_QUEUED: usize = 1_000;
    /// How long the blocker holds its thread.
    const BLOCK_FOR: Duration = Duration::from_millis(100);

    /// Runs `iters` iterations; returns the sum of their worst start delays.
    /// `spawn_blocker` starts the blocking task from outside the runtime.
    fn run(iters: u64, mut spawn_blocker: impl FnMut(Arc<Probe>)) -> Duration {
        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let probe = Arc::new(Probe {
                worst: AtomicU64::new(0),
                remaining: AtomicUsize::new(NUM_QUEUED + 1),
                done: done_tx.clone(),
            });
            spawn_blocker(probe.clone());
            done_rx.recv().unwrap();
            total += Duration::from_nanos(probe.worst.load(Relaxed));
        }
        total
    }

    let mut group = workload(c, "stuck_m_latency");
    // Each iteration takes at least BLOCK_FOR.
    group.sample_size(10);

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter_custom(|iters| {
                run(iters, |probe| {
                    rt.spawn(async move {
                        for _ in 0..NUM_QUEUED {
                            let probe = probe.clone();
                            let spawned = Instant::now();
                            gpm::spawn(async move {
                                probe.started(spawned);
                                probe.finished();
                            });
                        }
                        std::thread::sleep(BLOCK_FOR);
                        probe.finished();
                    });
                })
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                run(iters, |probe| {
                    rt.spawn(async move {
                        for _ in 0..NUM_QUEUED {
                            let probe = probe.clone();
                            let spawned = Instant::now();
                            tokio::spawn(async move {
                                probe.started(spawned);
                                probe.finished();
                            });
                        }
                        std::thread::sleep(BLOCK_FOR);
                        probe.finished();
                    });
                })
            })
        });
    }

    group.finish();
}

/// Short runs, as `rt_multi_threaded`. Command-line flags
/// (`--measurement-time`, `--sample-size`) still override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20)
}

criterion_group!(
    name = blocking;
    config = config();
    targets = syscall_noop,
        syscall_1us,
        spawn_blocking,
        stuck_m_latency,
);

criterion_main!(blocking);
