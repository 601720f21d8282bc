//! `Builder::shake(seed)` (what `GPM_SHAKE=<seed>` sets): every random
//! choice of a shaken scheduler comes from the seed, so on one P the same
//! seed gives the same order of events, and other seeds other orders.

use gpm::runtime::Builder;
use std::sync::{Arc, Mutex};

/// A small program whose order of events depends on the scheduler's
/// random choices: goroutines spawned (runnext, or the ring's tail when
/// shake skips it), readied through channels, yielding, and `select!`s
/// with several cases ready (the case order is random). Returns what
/// happened, in order.
fn events(seed: u64) -> Vec<(u32, u32, u32)> {
    let rt = Builder::new().procs(1).shake(seed).build().unwrap();
    rt.block_on_send(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let chans: Vec<_> = (0..3).map(|_| gpm::chan::<u32>(64)).collect();
        for ch in &chans {
            for i in 0..16 {
                ch.try_send(i).unwrap();
            }
        }
        let wg = gpm::sync::WaitGroup::new();
        for g in 0..6u32 {
            let (log, chans, wg) = (log.clone(), chans.clone(), wg.clone());
            wg.add(1);
            gpm::go!(async move {
                for step in 0..4u32 {
                    let picked = gpm::select! {
                        recv(chans[0]) -> _v => 0,
                        recv(chans[1]) -> _v => 1,
                        recv(chans[2]) -> _v => 2,
                    };
                    log.lock().unwrap().push((g, step, picked));
                    if step % 2 == 0 {
                        gpm::yield_now().await;
                    } else {
                        chans[picked as usize].send(step).await.unwrap();
                    }
                }
                wg.done();
            });
        }
        wg.wait().await;
        let events = log.lock().unwrap().clone();
        events
    })
}

#[test]
fn the_same_seed_replays_the_same_order_on_one_p() {
    for seed in [2u64, 1234, u64::MAX] {
        let first = events(seed);
        assert_eq!(first.len(), 24);
        for _ in 0..3 {
            assert_eq!(events(seed), first, "seed {seed} gave another order");
        }
    }
}

#[test]
fn other_seeds_give_other_orders() {
    let first = events(7);
    let differs = (8..16u64).filter(|&seed| events(seed) != first).count();
    assert!(differs > 0, "eight other seeds all gave seed 7's order: {first:?}");
}

/// Run by `a_panic_prints_the_seed_that_replays_it` in a child process,
/// with `GPM_SHAKE` set: a goroutine panics.
#[test]
#[ignore = "run by a_panic_prints_the_seed_that_replays_it, in a child process"]
fn child_goroutine_panics_under_shake() {
    let rt = Builder::new().procs(1).build().unwrap();
    let res = rt.block_on(rt.spawn(async { panic!("the goroutine's own panic") }));
    assert!(res.is_err());
}

/// A goroutine's panic under `GPM_SHAKE=<seed>` prints the seed, with the
/// command that replays the schedule.
#[test]
fn a_panic_prints_the_seed_that_replays_it() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "shake::child_goroutine_panics_under_shake",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GPM_SHAKE", "4321")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the child failed: {stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child test did not run: {stdout}");
    assert!(
        stderr.contains("gpm: GPM_SHAKE seed 4321 (rerun with GPM_SHAKE=4321)"),
        "no seed line in the child's stderr: {stderr}"
    );
    assert_eq!(
        stderr.matches("GPM_SHAKE seed").count(),
        1,
        "the seed is printed once per runtime: {stderr}"
    );
}
