//! Go's `src/runtime/proc_test.go`, ported: `TestPreemptionAfterSyscall`
//! on 1, 2 and 4 Ps (from what was `tests/guarantees.rs`; gpm's own
//! guarantees under blocking are in `tests/runtime/guarantees.rs`).

use gpm::runtime::Runtime;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rt(procs: usize) -> Runtime {
    gpm::runtime::Builder::new().procs(procs).build().unwrap()
}

// ----- Go's tests, ported --------------------------------------------------------

/// Go's `TestPreemptionAfterSyscall`
/// (<https://github.com/golang/go/blob/master/src/runtime/proc_test.go>):
/// 8 goroutines loop over short syscalls (here a spin inside
/// `gpm::syscall`) until main tells them to stop; main must get to run.
/// Each loop is one endless poll, so only a P taken from a syscall lets
/// main (and the goroutines not yet started) run. Go: 5 s at most per
/// iteration; Go 1.27.3 passes it in 1.1 s.
fn preemption_after_syscall(run: fn(&Runtime, Duration) -> Duration) {
    for procs in [1, 2, 4] {
        let rt = rt(procs);
        for micros in [10, 100, 1000] {
            let took = run(&rt, Duration::from_micros(micros));
            assert!(
                took < Duration::from_secs(5),
                "procs={procs}, {micros} µs syscalls: main took {took:?} to stop the loops"
            );
        }
    }
}

async fn syscall_loops(syscall: Duration) -> Duration {
    const GOROUTINES: usize = 8;
    let c = gpm::chan::<bool>(GOROUTINES);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    for _ in 0..GOROUTINES {
        let (c, stop) = (c.clone(), stop.clone());
        gpm::go!(async move {
            c.send(true).await.unwrap();
            while !stop.load(SeqCst) {
                gpm::syscall(|| {
                    let start = Instant::now();
                    while start.elapsed() < syscall {
                        std::hint::spin_loop();
                    }
                });
            }
            c.send(true).await.unwrap();
        });
    }
    for _ in 0..GOROUTINES {
        c.recv().await;
    }
    stop.store(true, SeqCst);
    for _ in 0..GOROUTINES {
        c.recv().await;
    }
    start.elapsed()
}

#[test]
fn go_preemption_after_syscall_block_on() {
    preemption_after_syscall(|rt, d| rt.block_on(syscall_loops(d)));
}

#[test]
fn go_preemption_after_syscall_block_on_send() {
    preemption_after_syscall(|rt, d| rt.block_on_send(syscall_loops(d)));
}
