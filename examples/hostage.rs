//! How long a `sleep(10ms)` takes beside a goroutine that blocks its thread
//! for 500 ms, in `gpm::syscall` or in a CPU loop, for main and for another
//! goroutine, on 1, 2 and 4 Ps (issue 10; Go: 10-11 ms in every case).
//!
//! ```text
//! cargo run --release --example hostage
//! ```

use gpm::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BLOCK: Duration = Duration::from_millis(500);

fn block(cpu: bool) {
    if cpu {
        let start = Instant::now();
        while start.elapsed() < BLOCK {
            std::hint::spin_loop();
        }
    } else {
        gpm::syscall(|| std::thread::sleep(BLOCK));
    }
}

/// Starts the blocker and returns once it has started blocking.
async fn start_blocker(cpu: bool) -> gpm::JoinHandle<()> {
    let started = Arc::new(AtomicBool::new(false));
    let flag = started.clone();
    let h = gpm::spawn(async move {
        flag.store(true, SeqCst);
        block(cpu);
    });
    while !started.load(SeqCst) {
        gpm::yield_now().await;
    }
    h
}

async fn timed_sleep() -> Duration {
    let start = Instant::now();
    gpm::time::sleep(Duration::from_millis(10)).await;
    start.elapsed()
}

/// main starts the blocker and sleeps beside it; timed from before the
/// start, since main must not wait for the blocker to run (it yields to it)
/// nor behind it.
async fn main_sleeps(cpu: bool) -> Duration {
    let start = Instant::now();
    let blocker = start_blocker(cpu).await;
    timed_sleep().await;
    let took = start.elapsed();
    blocker.await.unwrap();
    took
}

/// A goroutine armed its timer; then the blocker blocks.
async fn goroutine_sleeps(cpu: bool) -> Duration {
    let armed = Arc::new(AtomicBool::new(false));
    let flag = armed.clone();
    let sleeper = gpm::spawn(async move {
        flag.store(true, SeqCst);
        timed_sleep().await
    });
    while !armed.load(SeqCst) {
        gpm::yield_now().await;
    }
    let blocker = gpm::spawn(async move { block(cpu) });
    let took = sleeper.await.unwrap();
    blocker.await.unwrap();
    took
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    println!("| procs | beside | main (block_on_send) | main (block_on) | goroutine |");
    println!("| ---: | --- | ---: | ---: | ---: |");
    for procs in [1, 2, 4] {
        for cpu in [false, true] {
            let rt: Runtime = Builder::new().procs(procs).build().unwrap();
            let send = rt.block_on_send(main_sleeps(cpu));
            let local = rt.block_on(main_sleeps(cpu));
            let goroutine = rt.block_on_send(goroutine_sleeps(cpu));
            let what = if cpu { "500 ms CPU loop" } else { "500 ms gpm::syscall" };
            println!(
                "| {procs} | {what} | {} | {} | {} |",
                ms(send),
                ms(local),
                ms(goroutine)
            );
        }
    }
}
