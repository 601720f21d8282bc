//! gpm's channels beside tokio's `mpsc` under the same workloads.
//!
//! Four workloads, each one criterion group with two functions, `gpm` and
//! `tokio`, on 2 Ps / 2 worker threads:
//!
//! - `chan_ping_pong`: two spawned tasks bounce a `u64` over two channels,
//!   100 000 round trips per iteration; `block_on` only awaits the end.
//!   gpm: two unbuffered `gpm::chan::<u64>(0)`; tokio: two
//!   `mpsc::channel(1)` (tokio has no rendezvous channel; capacity 1 is its
//!   smallest).
//! - `chan_ping_pong_main`: the same, with one side being the `block_on`
//!   future itself.
//! - `sync_mpsc`: tokio's `benches/sync_mpsc.rs` workload
//!   `contention/bounded`: a channel of capacity 1 000 000, 5 spawned
//!   producers sending 1 000 values each, the `block_on` future receiving
//!   all 5 000. gpm: `gpm::chan::<usize>(1_000_000)`.
//! - `select_4way`: one spawned task runs 100 000 selects over 4 channels,
//!   fed by 4 spawned producers sending 25 000 values each. gpm:
//!   `gpm::select!` over 4 unbuffered channels; tokio: `tokio::select!`
//!   over 4 `mpsc::channel(1)` receivers.
//!
//! ```text
//! cargo bench --bench chan
//! cargo bench --bench chan -- select_4way    # one workload
//! ```
//!
//! The Go versions are in `benches/go/chan_test.go` (`BENCH=Chan
//! benches/go/run.sh 2`).
//!
//! Where main takes part (`chan_ping_pong_main`, `sync_mpsc`), gpm's `gpm`
//! function runs it with `block_on_send`, as `#[gpm::main]` does for a
//! `Send` body: main is goroutine 1, on the Ps, so a hand-off between it
//! and a spawned goroutine can stay on one P. `gpm_block_on` runs it with
//! `block_on` (any future, polled alone on the calling thread), which is
//! built like tokio's `block_on`: that thread is not a worker, so every
//! message between it and a task crosses threads (and wakes one).
//! `chan_ping_pong` is the same exchange with both sides on the workers.
//!
//! The gpm runtime of a workload is dropped before its tokio runtime is
//! built, so neither one's threads compete with the other's measurement.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode};
use tokio::sync::mpsc;

/// Ps for gpm and worker threads for tokio: the cores of the machine the
/// figures were taken on.
const NUM_WORKERS: usize = 2;
/// Round trips per iteration of the ping-pong workloads.
const ROUND_TRIPS: u64 = 100_000;

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
/// the measurement time for the samples.
fn workload<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// gpm's echoing side of a ping-pong: answers every `v` on `ping` with
/// `v + 1` on `pong` until `ping` is closed.
async fn gpm_ponger(ping: gpm::Chan<u64>, pong: gpm::Chan<u64>) {
    while let Some(v) = ping.recv().await {
        pong.send(v + 1).await.unwrap();
    }
}

/// gpm's driving side: [`ROUND_TRIPS`] round trips, then closes `ping`.
async fn gpm_pinger(ping: gpm::Chan<u64>, pong: gpm::Chan<u64>) {
    let mut v = 0;
    for _ in 0..ROUND_TRIPS {
        ping.send(v).await.unwrap();
        v = pong.recv().await.unwrap();
    }
    assert_eq!(v, ROUND_TRIPS);
    ping.close().unwrap();
}

/// tokio's echoing side: runs until every `ping` sender is dropped.
async fn tokio_ponger(mut ping: mpsc::Receiver<u64>, pong: mpsc::Sender<u64>) {
    while let Some(v) = ping.recv().await {
        pong.send(v + 1).await.unwrap();
    }
}

/// tokio's driving side: [`ROUND_TRIPS`] round trips, then drops `ping`.
async fn tokio_pinger(ping: mpsc::Sender<u64>, mut pong: mpsc::Receiver<u64>) {
    let mut v = 0;
    for _ in 0..ROUND_TRIPS {
        ping.send(v).await.unwrap();
        v = pong.recv().await.unwrap();
    }
    assert_eq!(v, ROUND_TRIPS);
}

/// Both sides spawned; `block_on` awaits them.
fn chan_ping_pong(c: &mut Criterion) {
    let mut group = workload(c, "chan_ping_pong");

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (ping, pong) = (gpm::chan::<u64>(0), gpm::chan::<u64>(0));
                    let ponger = gpm::spawn(gpm_ponger(ping.clone(), pong.clone()));
                    let pinger = gpm::spawn(gpm_pinger(ping, pong));
                    pinger.await.unwrap();
                    ponger.await.unwrap();
                });
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (ping_tx, ping_rx) = mpsc::channel::<u64>(1);
                    let (pong_tx, pong_rx) = mpsc::channel::<u64>(1);
                    let ponger = tokio::spawn(tokio_ponger(ping_rx, pong_tx));
                    let pinger = tokio::spawn(tokio_pinger(ping_tx, pong_rx));
                    pinger.await.unwrap();
                    ponger.await.unwrap();
                });
            })
        });
    }

    group.finish();
}

/// The echoing side spawned, the driving side is the `block_on` future.
fn chan_ping_pong_main(c: &mut Criterion) {
    let mut group = workload(c, "chan_ping_pong_main");
    // tokio's iterations take about half a second here: every round trip
    // crosses between the `block_on` thread and a worker.
    group.sample_size(10);

    {
        // What `#[gpm::main]` does with a `Send` body: main is goroutine 1.
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                rt.block_on_send(async {
                    let (ping, pong) = (gpm::chan::<u64>(0), gpm::chan::<u64>(0));
                    let ponger = gpm::spawn(gpm_ponger(ping.clone(), pong.clone()));
                    gpm_pinger(ping, pong).await;
                    ponger.await.unwrap();
                });
            })
        });
        // A main that need not be `Send`, alone on the calling thread, as
        // tokio's: every message crosses threads.
        group.bench_function("gpm_block_on", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (ping, pong) = (gpm::chan::<u64>(0), gpm::chan::<u64>(0));
                    let ponger = gpm::spawn(gpm_ponger(ping.clone(), pong.clone()));
                    gpm_pinger(ping, pong).await;
                    ponger.await.unwrap();
                });
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (ping_tx, ping_rx) = mpsc::channel::<u64>(1);
                    let (pong_tx, pong_rx) = mpsc::channel::<u64>(1);
                    let ponger = tokio::spawn(tokio_ponger(ping_rx, pong_tx));
                    tokio_pinger(ping_tx, pong_rx).await;
                    ponger.await.unwrap();
                });
            })
        });
    }

    group.finish();
}

/// tokio's `sync_mpsc` `contention/bounded`: 5 spawned producers send 1 000
/// values each into one channel of capacity 1 000 000 (it never fills, so
/// no sender waits); the `block_on` future receives all 5 000. As in
/// tokio's bench, the producers are not joined: the iteration ends with the
/// last receive.
fn sync_mpsc(c: &mut Criterion) {
    const CAP: usize = 1_000_000;
    const PRODUCERS: usize = 5;
    const SENDS: usize = 1_000;

    let mut group = workload(c, "sync_mpsc");

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                rt.block_on_send(async {
                    let ch = gpm::chan::<usize>(CAP);

                    for _ in 0..PRODUCERS {
                        let tx = ch.clone();
                        gpm::spawn(async move {
                            for i in 0..SENDS {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }

                    for _ in 0..PRODUCERS * SENDS {
                        let _ = ch.recv().await;
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
                    let (tx, mut rx) = mpsc::channel::<usize>(CAP);

                    for _ in 0..PRODUCERS {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for i in 0..SENDS {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }

                    for _ in 0..PRODUCERS * SENDS {
                        let _ = rx.recv().await;
                    }
                });
            })
        });
    }

    group.finish();
}

/// One spawned receiver runs `SELECTS` selects over 4 channels; 4 spawned
/// producers send `SELECTS / 4` values each, one per channel. Every select
/// takes one value, so the receiver's selects end exactly when the last
/// value is taken.
fn select_4way(c: &mut Criterion) {
    const SELECTS: u64 = 100_000;
    const PER_PRODUCER: u64 = SELECTS / 4;
    /// The sum of all values sent: each producer sends `0..PER_PRODUCER`.
    const SUM: u64 = 4 * (PER_PRODUCER * (PER_PRODUCER - 1) / 2);

    let mut group = workload(c, "select_4way");

    {
        let rt = gpm_rt();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let chans: [gpm::Chan<u64>; 4] = std::array::from_fn(|_| gpm::chan(0));
                    for ch in &chans {
                        let tx = ch.clone();
                        gpm::spawn(async move {
                            for i in 0..PER_PRODUCER {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }

                    let receiver = gpm::spawn(async move {
                        let [c0, c1, c2, c3] = chans;
                        let mut sum = 0;
                        for _ in 0..SELECTS {
                            sum += gpm::select! {
                                recv(c0) -> v => v.unwrap(),
                                recv(c1) -> v => v.unwrap(),
                                recv(c2) -> v => v.unwrap(),
                                recv(c3) -> v => v.unwrap(),
                            };
                        }
                        sum
                    });
                    assert_eq!(receiver.await.unwrap(), SUM);
                });
            })
        });
    }

    {
        let rt = tokio_rt();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut receivers = Vec::with_capacity(4);
                    for _ in 0..4 {
                        let (tx, rx) = mpsc::channel::<u64>(1);
                        receivers.push(rx);
                        tokio::spawn(async move {
                            for i in 0..PER_PRODUCER {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }

                    let receiver = tokio::spawn(async move {
                        let [mut r0, mut r1, mut r2, mut r3]: [mpsc::Receiver<u64>; 4] = receivers.try_into().unwrap();
                        let mut sum = 0;
                        for _ in 0..SELECTS {
                            // A channel whose producer is done and drained
                            // yields `None`, which disables its branch for
                            // this select; another one still has a value.
                            sum += tokio::select! {
                                Some(v) = r0.recv() => v,
                                Some(v) = r1.recv() => v,
                                Some(v) = r2.recv() => v,
                                Some(v) = r3.recv() => v,
                            };
                        }
                        sum
                    });
                    assert_eq!(receiver.await.unwrap(), SUM);
                });
            })
        });
    }

    group.finish();
}

/// Short runs: four workloads on two runtimes in about two minutes on two
/// cores. Command-line flags (`--measurement-time`, `--sample-size`) still
/// override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20)
}

criterion_group!(
    name = chan;
    config = config();
    targets = chan_ping_pong,
        chan_ping_pong_main,
        sync_mpsc,
        select_4way,
);

criterion_main!(chan);
