//! Timers, gpm beside tokio: a million timers armed and cancelled.
//!
//! ```text
//! cargo bench --bench timers
//! ```
//!
//! Each iteration, inside one task / goroutine, creates 1 000 000 sleeps of
//! an hour, polls each once (both runtimes register a timer on the first
//! poll), keeps them all pending at once, then drops them all (cancelling
//! every timer). Same code shape on both sides: a boxed, pinned future per
//! timer and a no-op waker. 2 workers / Ps, as in the other benches.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

const TIMERS: usize = 1_000_000;
const WORKERS: usize = 2;

fn arm_and_cancel<F: Future>(make: impl Fn() -> F) {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut timers: Vec<Pin<Box<F>>> = Vec::with_capacity(TIMERS);
    for _ in 0..TIMERS {
        let mut t = Box::pin(make());
        assert!(t.as_mut().poll(&mut cx).is_pending());
        timers.push(t);
    }
    drop(timers);
}

fn million_timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("timers_1m_arm_cancel");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    {
        let rt = gpm::runtime::Builder::new().procs(WORKERS).build().unwrap();
        group.bench_function("gpm", |b| {
            b.iter(|| {
                rt.block_on(rt.spawn(async {
                    gpm::coop::unconstrained(async {
                        arm_and_cancel(|| gpm::time::sleep(Duration::from_secs(3600)));
                    })
                    .await
                }))
                .unwrap()
            })
        });
    }
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap();
        group.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(rt.spawn(async {
                    tokio::task::unconstrained(async {
                        arm_and_cancel(|| tokio::time::sleep(Duration::from_secs(3600)));
                    })
                    .await
                }))
                .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, million_timers);
criterion_main!(benches);
