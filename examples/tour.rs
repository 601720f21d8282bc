//! A tour of gpm: goroutines across the Ps, Go's channels and `select!`,
//! timers, sync and context, a blocking call that does not stall its P,
//! and a goroutine dump; after each part, what the scheduler did (steals,
//! spills to the global queue, threads).
//!
//! Run it with `cargo run --release --example tour` (set `GOMAXPROCS=N` to
//! change the number of Ps, `GPM_DEBUG=schedtrace=100` to watch the
//! scheduler as it goes). `GPM_TRACE=trace.json` records an execution trace
//! to open in <https://ui.perfetto.dev>: each part of the tour is a region
//! there. The whole tour makes about 250 MB of it; `TOUR_TRACE=part.json
//! TOUR_TRACE_PART="fan out, fan in"` records one part alone, named as in
//! `main` below (`fan out, fan in`, `select and timers` and `blocking` make
//! under 100 KB each).

use futures::channel::oneshot;
use gpm::runtime::{gomaxprocs, num_goroutine, stats, Stats};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

#[gpm::main]
async fn main() {
    println!("gpm tour: GOMAXPROCS = {} (main is goroutine 1 on a P)\n", gomaxprocs());

    part("burst", burst()).await;
    part("fan out, fan in", fan_out_fan_in()).await;
    part("ping-pong", ping_pong()).await;
    part("pipeline", pipeline()).await;
    part("select and timers", select_and_timers()).await;
    part("context and sync", context_and_sync()).await;
    part("blocking", blocking()).await;
    part("fairness", fairness()).await;
    part("dump", dump()).await;

    let s = stats();
    println!("== at the end");
    println!("SCHED {s}");
    println!(
        "   {} steals moved {} goroutines, {} runnext steals, {} spills, {} M parks",
        s.steals, s.stolen, s.runnext_steals, s.spills, s.parks
    );
}

/// Runs one part of the tour as a region of the execution trace
/// (`GPM_TRACE`). With `TOUR_TRACE=path` and `TOUR_TRACE_PART=name`, the
/// part called `name` is recorded alone into `path`, between
/// `gpm::runtime::trace::start` and `stop`.
async fn part(name: &'static str, f: impl std::future::Future<Output = ()>) {
    let path =
        std::env::var_os("TOUR_TRACE").filter(|_| std::env::var("TOUR_TRACE_PART").is_ok_and(|part| part == name));
    if let Some(path) = &path {
        let file = std::fs::File::create(path).expect("TOUR_TRACE: cannot create the file");
        gpm::runtime::trace::start(std::io::BufWriter::new(file))
            .expect("TOUR_TRACE: cannot start a trace (is GPM_TRACE set too?)");
    }
    let region = gpm::runtime::trace::Region::new(name);
    f.await;
    drop(region);
    if path.is_some() {
        gpm::runtime::trace::stop().expect("TOUR_TRACE: cannot write the trace");
    }
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

/// Plays `ROUNDS` round trips over two unbuffered channels against an echo
/// goroutine; returns the count.
async fn play() -> u64 {
    let (ping, pong) = (gpm::chan::<u64>(0), gpm::chan::<u64>(0));
    let (ping_rx, pong_tx) = (ping.receiver(), pong.sender());
    let echo = gpm::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            pong_tx.send(v + 1).await.unwrap();
        }
    });
    let mut v = 0;
    for _ in 0..ROUNDS {
        ping.send(v).await.unwrap();
        v = pong.recv().await.unwrap();
    }
    ping.close().unwrap();
    echo.await.unwrap();
    v
}

/// Go's prime sieve: a chain of filter goroutines, one per prime, joined by
/// unbuffered channels.
async fn pipeline() {
    println!("== channels: the prime sieve, a pipeline of 100 goroutines");
    let before = stats();
    let start = Instant::now();
    let numbers = gpm::chan::<u64>(0);
    let gen = numbers.clone();
    gpm::go!(async move {
        for i in 2.. {
            if gen.send(i).await.is_err() {
                return;
            }
        }
    });
    let mut input = numbers;
    let mut primes = Vec::new();
    let mut stages = vec![input.clone()];
    for _ in 0..100 {
        let prime = input.recv().await.unwrap();
        primes.push(prime);
        let output = gpm::chan::<u64>(0);
        let (from, to) = (input.clone(), output.clone());
        gpm::go!(async move {
            while let Some(n) = from.recv().await {
                if n % prime != 0 && to.send(n).await.is_err() {
                    break;
                }
            }
            let _ = to.close();
        });
        stages.push(output.clone());
        input = output;
    }
    for stage in &stages {
        let _ = stage.close(); // ends every stage (dropping handles does not, as in Go)
    }
    println!("   the 100th prime is {}", primes[99]);
    report(&before, start.elapsed());
}

/// `select!` with a timeout, a ticker, and `default`.
async fn select_and_timers() {
    println!("== select!: a worker's results, a ticker, a deadline");
    let results = gpm::chan::<u64>(4);
    let tx = results.clone();
    gpm::go!(async move {
        for i in 0..5 {
            gpm::time::sleep(Duration::from_millis(3)).await;
            tx.send(i * i).await.unwrap();
        }
    });
    let ticker = gpm::time::Ticker::new(Duration::from_millis(5));
    let deadline = gpm::time::after(Duration::from_millis(40));
    let (mut got, mut ticks) = (Vec::new(), 0);
    loop {
        gpm::select! {
            recv(results) -> v => got.push(v.unwrap()),
            recv(ticker.receiver()) -> _ => ticks += 1,
            recv(deadline) -> _ => break,
        }
    }
    ticker.stop();
    gpm::select! {
        recv(results) -> v => println!("   one more: {v:?}"),
        default => println!("   nothing left waiting (default never blocks)"),
    }
    println!("   results {got:?}, {ticks} ticks before the 40 ms deadline\n");
}

/// A WaitGroup of workers that stop when their context is cancelled.
async fn context_and_sync() {
    println!("== context + sync: 8 workers count under a Mutex until cancelled");
    let (ctx, cancel) = gpm::context::with_cancel(&gpm::context::background());
    let wg = gpm::sync::WaitGroup::new();
    let count = Arc::new(gpm::sync::Mutex::new(0u64));
    for _ in 0..8 {
        let (ctx, count) = (ctx.clone(), count.clone());
        wg.go(async move {
            loop {
                gpm::select! {
                    recv(ctx.done()) -> _ => return,
                    default => *count.lock().await += 1,
                }
                gpm::yield_now().await;
            }
        });
    }
    gpm::time::sleep(Duration::from_millis(10)).await;
    cancel.cancel();
    wg.wait().await;
    println!(
        "   {} increments, stopped by {:?}\n",
        *count.lock().await,
        ctx.err().unwrap()
    );
}

/// `gpm::syscall` keeps the P's other goroutines running while a call
/// blocks; `spawn_blocking` moves the call to the blocking pool.
async fn blocking() {
    println!("== blocking: a 50 ms call in gpm::syscall, while 100 goroutines run");
    let before = stats();
    let start = Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let blocker = {
        let done = done.clone();
        gpm::spawn(async move {
            for _ in 0..100 {
                let done = done.clone();
                gpm::go!(async move {
                    done.fetch_add(1, Ordering::Relaxed);
                });
            }
            gpm::syscall(|| std::thread::sleep(Duration::from_millis(50)));
            done.load(Ordering::Relaxed)
        })
    };
    let finished_meanwhile = blocker.await.unwrap();
    let pooled = gpm::spawn_blocking(|| std::thread::sleep(Duration::from_millis(5)));
    pooled.await.unwrap();
    println!("   {finished_meanwhile} of 100 goroutines finished while it blocked");
    report(&before, start.elapsed());
}

/// What `gpm::runtime::dump()` (and Ctrl-\) shows: each goroutine and why it waits.
async fn dump() {
    println!("== dump: goroutines waiting on a channel, a lock and a timer");
    let never = gpm::chan::<u32>(0);
    let lock = Arc::new(gpm::sync::Mutex::new(()));
    let held = lock.lock().await;
    let rx = never.clone();
    let a = gpm::spawn(async move { rx.recv().await });
    let l2 = lock.clone();
    let b = gpm::spawn(async move { drop(l2.lock().await) });
    let c = gpm::spawn(gpm::time::sleep(Duration::from_secs(60)));
    while !gpm::runtime::dump().contains("[sleep]") {
        gpm::yield_now().await;
    }
    for line in gpm::runtime::dump().lines() {
        println!("   {line}");
    }
    never.close().unwrap();
    drop(held);
    c.abort();
    let _ = (a.await, b.await, c.await);
    println!();
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
