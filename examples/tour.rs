//! A tour of gpm's scheduler: start many goroutines across the Ps and print
//! what the scheduler did (steals, spills to the global queue, threads).
//!
//! Run it with `cargo run --release --example tour` (set `GOMAXPROCS=N` to
//! change the number of Ps).

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use gpm::runtime::{gomaxprocs, num_goroutine, stats, Stats};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[gpm::main]
async fn main() {
    println!("gpm tour: GOMAXPROCS = {} (main is goroutine 1 on a P)\n", gomaxprocs());

    burst().await;
    fan_out_fan_in().await;
    ping_pong().await;
    fairness().await;

    let s = stats();
    println!("== at the end");
    println!("SCHED {s}");
    println!(
        "   {} steals moved {} goroutines, {} runnext steals, {} spills, {} M parks",
        s.steals, s.stolen, s.runnext_steals, s.spills, s.parks
    );
}

/// Prints what changed in the scheduler's counters since `before`.
fn report(before: &Stats, elapsed: std::time::Duration) {
    let after = stats();
    println!(
        "   took {:.2?}; steals +{} ({} goroutines moved), spills to global +{}, M parks +{}, threads {}",
        elapsed,
        after.steals - before.steals,
        after.stolen - before.stolen,
        after.spills - before.spills,
        after.parks - before.parks,
        after.threads,
    );
    println!("   SCHED {after}\n");
}

/// 100 000 detached goroutines from main: the P's 256-slot ring overflows
/// into the global queue (128 + 1 at a time) and idle Ps steal half rings.
async fn burst() {
    const N: u64 = 100_000;
    println!("== go! x {N}: spawn a burst from main");
    let before = stats();
    let start = Instant::now();
    let sum = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = oneshot::channel();
    let done_tx = Arc::new(std::sync::Mutex::new(Some(done_tx)));
    let left = Arc::new(AtomicU64::new(N));
    for i in 0..N {
        let (sum, left, done_tx) = (sum.clone(), left.clone(), done_tx.clone());
        gpm::go!(async move {
            sum.fetch_add(i, Ordering::Relaxed);
            if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                done_tx.lock().unwrap().take().unwrap().send(()).unwrap();
            }
        });
    }
    println!("   right after spawning: {} goroutines alive", num_goroutine());
    done_rx.await.unwrap();
    assert_eq!(sum.load(Ordering::Relaxed), N * (N - 1) / 2);
    report(&before, start.elapsed());
}

/// `spawn` + `JoinHandle`: split a computation over the Ps and collect it.
async fn fan_out_fan_in() {
    println!("== spawn + JoinHandle: fan out 64 CPU-bound goroutines, fan in");
    let before = stats();
    let start = Instant::now();
    let handles: Vec<_> = (0..64u64)
        .map(|chunk| {
            gpm::spawn(async move {
                let mut acc = 0u64;
                for x in chunk * 200_000..(chunk + 1) * 200_000 {
                    acc = acc.wrapping_add(x.wrapping_mul(x) % 7);
                }
                acc
            })
        })
        .collect();
    let mut total = 0u64;
    for h in handles {
        total = total.wrapping_add(h.await.unwrap());
    }
    println!("   result {total}");
    report(&before, start.elapsed());
}

const ROUNDS: u64 = 100_000;

/// Plays `ROUNDS` round trips against an echo goroutine; returns the count.
async fn play() -> u64 {
    let (mut ping_tx, mut ping_rx) = mpsc::channel::<u64>(0);
    let (mut pong_tx, mut pong_rx) = mpsc::channel::<u64>(0);
    let echo = gpm::spawn(async move {
        while let Some(v) = ping_rx.next().await {
            pong_tx.send(v + 1).await.unwrap();
        }
    });
    let mut v = 0;
    for _ in 0..ROUNDS {
        ping_tx.send(v).await.unwrap();
        v = pong_rx.next().await.unwrap();
    }
    drop(ping_tx);
    echo.await.unwrap();
    v
}

/// Two goroutines bouncing a value: each wake puts the other in runnext, so
/// the pair stays on one P and shares its time slice. Then the same between
/// main (goroutine 1, on the main thread) and a goroutine: main is a G on a
/// P like any other, so it costs about the same.
async fn ping_pong() {
    for (who, on_main) in [("two goroutines", false), ("main and a goroutine", true)] {
        println!("== ping-pong: {ROUNDS} round trips between {who}");
        let before = stats();
        let start = Instant::now();
        let rounds = if on_main {
            play().await
        } else {
            gpm::spawn(play()).await.unwrap()
        };
        assert_eq!(rounds, ROUNDS);
        let elapsed = start.elapsed();
        println!("   {:.0} ns per round trip", elapsed.as_nanos() as f64 / ROUNDS as f64);
        report(&before, elapsed);
    }
}

/// `yield_now` (Go's Gosched) sends a goroutine to the global queue, so
/// busy goroutines take turns.
async fn fairness() {
    println!("== yield_now: 8 goroutines x 10 000 yields take turns");
    let before = stats();
    let start = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            gpm::spawn(async {
                for _ in 0..10_000 {
                    gpm::yield_now().await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    report(&before, start.elapsed());
}
