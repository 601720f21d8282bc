//! What a panicking goroutine does: Go's crash for `go!`, a `JoinError` for
//! `spawn`, and the `Builder::unhandled_panic` choices.

use gpm::runtime::{Builder, UnhandledPanic};
use std::process::Command;

/// Runs this test binary again, only `test`, with `GPM_CHILD` set.
fn run_child(test: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("GPM_CHILD", "1")
        .output()
        .unwrap()
}

fn is_child() -> bool {
    std::env::var_os("GPM_CHILD").is_some()
}

#[test]
fn detached_panic_exits_with_status_2_like_go() {
    if is_child() {
        let rt = Builder::new().procs(2).build().unwrap();
        rt.block_on(async {
            gpm::go!(async { panic!("boom in a goroutine") });
            std::future::pending::<()>().await
        });
        unreachable!("the process exits first");
    }
    let out = run_child("detached_panic_exits_with_status_2_like_go");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("panic: boom in a goroutine\n\ngoroutine 2 [running]:\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tests/panics.rs:"),
        "the spawn location is named: {stderr}"
    );
}

#[test]
fn ignored_detached_panic_lets_the_program_go_on() {
    let rt = Builder::new()
        .procs(2)
        .unhandled_panic(UnhandledPanic::Ignore)
        .build()
        .unwrap();
    let answer = rt.block_on(async {
        gpm::go!(async { panic!("ignored") });
        // Still alive: goroutines keep running.
        gpm::spawn(async { 42 }).await.unwrap()
    });
    assert_eq!(answer, 42);
}

#[test]
fn shutdown_runtime_mode_panics_block_on() {
    let rt = Builder::new()
        .procs(1)
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            gpm::go!(async { panic!("fails the test") });
            std::future::pending::<()>().await
        })
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("fails the test"), "{msg}");
    assert!(msg.contains("goroutine 2"), "{msg}");
}

#[test]
fn panic_in_main_propagates_out_of_block_on() {
    let rt = Builder::new().procs(2).build().unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main panicked") })
    }))
    .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"main panicked"));
    // The runtime is still usable: the P went back.
    assert_eq!(rt.block_on(async { gpm::spawn(async { 1 }).await.unwrap() }), 1);
}

#[test]
fn exceeding_max_threads_is_a_clear_fatal_error() {
    if is_child() {
        // Two Ps but room for one thread: the second M cannot be started.
        let rt = Builder::new().procs(2).max_threads(1).build().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..2 {
            let tx = tx.clone();
            // From outside: every G needs a worker thread; the first blocks
            // it, so the second P needs another M.
            drop(rt.spawn(async move {
                tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_secs(60));
            }));
        }
        rx.recv().unwrap();
        rx.recv().unwrap();
        unreachable!("the runtime cannot run two blocked goroutines on one thread");
    }
    let out = run_child("exceeding_max_threads_is_a_clear_fatal_error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("fatal error: thread exhaustion"), "{stderr}");
    assert!(stderr.contains("max_threads = 1"), "{stderr}");
}
