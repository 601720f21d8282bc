//! chan_ping_pong's workload (benches/chan.rs: two goroutines bounce a `u64`
//! over two unbuffered channels) as a plain program, for profilers:
//! `valgrind --tool=callgrind` counts instructions, which do not move with
//! the machine's load as times do.
//!
//! ```text
//! cargo build --release --example profile_chan_ping_pong
//! PROCS=1 ITERS=3 valgrind --tool=callgrind target/release/examples/profile_chan_ping_pong
//! target/release/examples/profile_chan_ping_pong     # times: min / median / max of the rounds
//! ```
//!
//! `PROCS` (default 2) is the Ps, `ITERS` (default 30) the rounds of
//! `ROUND_TRIPS` round trips; the first 3 rounds are not timed (at least
//! one is).

use std::time::Instant;

const ROUND_TRIPS: u64 = 100_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let (procs, iters) = (env("PROCS", 2), env("ITERS", 30));
    let rt = gpm::runtime::Builder::new().procs(procs).build().unwrap();
    let mut times = Vec::new();
    for round in 0..iters {
        let start = Instant::now();
        rt.block_on(async {
            let (ping, pong) = (gpm::chan::<u64>(0), gpm::chan::<u64>(0));
            let ponger = {
                let (ping, pong) = (ping.clone(), pong.clone());
                gpm::spawn(async move {
                    while let Some(v) = ping.recv().await {
                        pong.send(v + 1).await.unwrap();
                    }
                })
            };
            let pinger = gpm::spawn(async move {
                let mut v = 0;
                for _ in 0..ROUND_TRIPS {
                    ping.send(v).await.unwrap();
                    v = pong.recv().await.unwrap();
                }
                assert_eq!(v, ROUND_TRIPS);
                ping.close().unwrap();
            });
            pinger.await.unwrap();
            ponger.await.unwrap();
        });
        if round >= 3.min(iters - 1) {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "gpm chan_ping_pong: {} rounds timed, min {:.2} median {:.2} max {:.2} ms",
        times.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
