//! yield_many's workload (tokio's `rt_multi_threaded`: 200 tasks x 1 000
//! yields) as a plain program, on gpm or on tokio, for profilers: criterion
//! adds its own work, and `valgrind --tool=callgrind` counts instructions,
//! which do not move with the machine's load as times do.
//!
//! ```text
//! cargo build --release --example profile_yield_many
//! PROCS=1 ITERS=12 valgrind --tool=callgrind target/release/examples/profile_yield_many gpm
//! PROCS=1 ITERS=12 valgrind --tool=callgrind target/release/examples/profile_yield_many tokio
//! target/release/examples/profile_yield_many gpm      # times: min / median / max of the rounds
//! ```
//!
//! `PROCS` (default 2) is the Ps or tokio workers, `ITERS` (default 60) the
//! rounds; the first 10 rounds are not timed (at least one is).

use std::sync::mpsc;
use std::time::Instant;

const TASKS: usize = 200;
const YIELDS: usize = 1_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "gpm".into());
    let (procs, iters) = (env("PROCS", 2), env("ITERS", 60));
    let (tx, rx) = mpsc::sync_channel(TASKS);
    let spawn: Box<dyn Fn(mpsc::SyncSender<()>)> = match which.as_str() {
        "gpm" => {
            let rt = gpm::runtime::Builder::new().procs(procs).build().unwrap();
            Box::new(move |tx| {
                rt.spawn(async move {
                    for _ in 0..YIELDS {
                        gpm::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            })
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(procs)
                .build()
                .unwrap();
            Box::new(move |tx| {
                rt.spawn(async move {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            })
        }
        other => {
            eprintln!("usage: profile_yield_many gpm|tokio (not {other:?})");
            std::process::exit(2);
        }
    };
    let mut times = Vec::new();
    for round in 0..iters {
        let start = Instant::now();
        for _ in 0..TASKS {
            spawn(tx.clone());
        }
        for _ in 0..TASKS {
            rx.recv().unwrap();
        }
        if round >= 10.min(iters - 1) {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{which}: {} rounds timed, min {:.2} median {:.2} max {:.2} ms",
        times.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
