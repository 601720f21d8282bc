//! chained_spawn's workload (tokio's `rt_multi_threaded`: each task spawns
//! the next, depth 1 000, and the last one signals a std channel that the
//! `block_on` thread waits on) as a plain program, on gpm or on tokio, for
//! profilers and for a breakdown of where a chain's time goes.
//!
//! ```text
//! cargo build --release --example profile_chained_spawn
//! target/release/examples/profile_chained_spawn gpm      # or tokio
//! PROCS=1 ITERS=110 valgrind --tool=callgrind target/release/examples/profile_chained_spawn gpm
//! ```
//!
//! `PROCS` (default 2) is the Ps or tokio workers, `ITERS` (default 2 000)
//! the chains; the first 10 are not timed. It prints the chains' min,
//! median and max, and the median of each of a chain's three phases:
//!
//! - from the spawn on the `block_on` thread to the first link's start
//!   (handing the chain to a worker, which may be asleep);
//! - the chain itself (1 000 spawns, polls and exits on the workers);
//! - from the last link's signal to the `block_on` thread's return from
//!   its wait (waking that thread).
//!
//! Go's version of the benchmark (`benches/go/rt_test.go`) has main wait
//! on a Go channel, and pays no thread wakeup in either hand-over.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, OnceLock};
use std::time::Instant;

const DEPTH: usize = 1_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// When the first link started and when the last one signalled, in
/// nanoseconds since [`epoch`].
static FIRST: AtomicU64 = AtomicU64::new(0);
static LAST: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn stamp() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// Link `n` of a chain: the first stamps its start, the last stamps and
/// signals, the others spawn the next one with `spawn`.
fn link(done: mpsc::SyncSender<()>, n: usize, spawn: fn(mpsc::SyncSender<()>, usize)) {
    if n == DEPTH {
        FIRST.store(stamp(), Relaxed);
    }
    if n == 0 {
        LAST.store(stamp(), Relaxed);
        done.send(()).unwrap();
    } else {
        spawn(done, n - 1);
    }
}

fn gpm_link(done: mpsc::SyncSender<()>, n: usize) {
    gpm::spawn(async move { link(done, n, gpm_link) });
}

fn tokio_link(done: mpsc::SyncSender<()>, n: usize) {
    tokio::spawn(async move { link(done, n, tokio_link) });
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "gpm".into());
    let (procs, iters) = (env("PROCS", 2), env("ITERS", 2_000).max(11));
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    // One chain: its spawn on the calling thread, then the wait.
    let run: Box<dyn Fn()> = match which.as_str() {
        "gpm" => {
            let rt = gpm::runtime::Builder::new().procs(procs).build().unwrap();
            Box::new(move || {
                let done = done_tx.clone();
                rt.block_on(async {
                    gpm_link(done, DEPTH);
                    done_rx.recv().unwrap();
                })
            })
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(procs)
                .build()
                .unwrap();
            Box::new(move || {
                let done = done_tx.clone();
                rt.block_on(async {
                    tokio_link(done, DEPTH);
                    done_rx.recv().unwrap();
                })
            })
        }
        other => {
            eprintln!("usage: profile_chained_spawn gpm|tokio (not {other:?})");
            std::process::exit(2);
        }
    };
    let mut times = Vec::new();
    let mut phases: [Vec<f64>; 3] = Default::default();
    for round in 0..iters {
        let t0 = stamp();
        run();
        let t3 = stamp();
        let (t1, t2) = (FIRST.load(Relaxed), LAST.load(Relaxed));
        if round >= 10 {
            times.push(t3.saturating_sub(t0) as f64 / 1e3);
            phases[0].push(t1.saturating_sub(t0) as f64 / 1e3);
            phases[1].push(t2.saturating_sub(t1) as f64 / 1e3);
            phases[2].push(t3.saturating_sub(t2) as f64 / 1e3);
        }
    }
    let n = times.len();
    let mid = median(&mut times);
    println!(
        "{which} chained_spawn: {n} chains timed, min {:.1} median {mid:.1} max {:.1} µs",
        times[0],
        times[n - 1]
    );
    println!(
        "  medians: spawn to first link {:.1} µs, the chain {:.1} µs, last link to the caller {:.1} µs",
        median(&mut phases[0]),
        median(&mut phases[1]),
        median(&mut phases[2])
    );
}
