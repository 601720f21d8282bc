//! What a panicking goroutine does: Go's crash for `go!`, a `JoinError` for
//! `spawn`, and the `Builder::unhandled_panic` choices.

use gpm::runtime::{Builder, UnhandledPanic};
use std::process::Command;

/// Runs this test binary again, only `test`, with `GPM_CHILD` set.
fn run_child(test: &str) -> std::process::Output {
    let name = crate::test_name(module_path!(), test);
    Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
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
        stderr.contains("tests/runtime/panics.rs:"),
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
        // Room for one thread: when the first goroutine blocks it, sysmon
        // hands the P over for the second, and that M cannot be started.
        let rt = Builder::new().procs(1).max_threads(1).build().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..2 {
            let tx = tx.clone();
            // From outside: every G needs a worker thread; the first blocks
            // it, so the second needs another M.
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

// ----- panics in a goroutine's destructor (issue 11) --------------------------------

/// Panics when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// A future that is ready at once and panics when dropped afterwards (its
/// field is there to be dropped).
struct ReadyThenPanic(#[allow(dead_code)] PanicOnDrop);

impl std::future::Future for ReadyThenPanic {
    type Output = u32;
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<u32> {
        std::task::Poll::Ready(5)
    }
}

/// Aborting a goroutine whose future panics in `Drop` gives that panic as
/// the `JoinError` (tokio's rule); it used to abort the process
/// ("panic in a function that cannot unwind").
#[test]
fn abort_of_a_goroutine_panicking_in_drop_is_a_join_error() {
    for procs in [1, 2, 4] {
        let rt = Builder::new().procs(procs).build().unwrap();
        rt.block_on(async {
            let started = gpm::chan::<()>(0);
            let tx = started.clone();
            let h = gpm::spawn(async move {
                let _guard = PanicOnDrop("boom in drop");
                tx.send(()).await.unwrap();
                std::future::pending::<()>().await;
            });
            // The guard exists once the goroutine has sent.
            started.recv().await;
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_panic(), "{err:?}");
            let payload = err.into_panic();
            assert_eq!(
                payload.downcast_ref::<String>().map(String::as_str),
                Some("boom in drop")
            );
        });
    }
}

/// A future that finished and then panics in `Drop`: its `JoinHandle` gets
/// the panic instead of the output.
#[test]
fn a_finished_future_panicking_in_drop_is_a_join_error() {
    let rt = Builder::new().procs(2).build().unwrap();
    rt.block_on(async {
        let err = gpm::spawn(ReadyThenPanic(PanicOnDrop("dropped after done")))
            .await
            .unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        // The runtime goes on.
        assert_eq!(gpm::spawn(async { 7 }).await.unwrap(), 7);
    });
}

/// Dropping a runtime while a goroutine whose future panics in `Drop` is
/// parked: the panic follows `UnhandledPanic` (here: ignored) and the
/// process goes on; by default it is reported as Go's crash (status 2).
#[test]
fn shutdown_with_a_goroutine_panicking_in_drop() {
    if is_child() {
        let ignore = std::env::var_os("GPM_IGNORE").is_some();
        let mut builder = Builder::new().procs(2);
        if ignore {
            builder = builder.unhandled_panic(UnhandledPanic::Ignore);
        }
        let rt = builder.build().unwrap();
        rt.block_on(async {
            let started = gpm::chan::<()>(0);
            let tx = started.clone();
            gpm::go!(async move {
                let _guard = PanicOnDrop("boom at shutdown");
                tx.send(()).await.unwrap();
                std::future::pending::<()>().await;
            });
            started.recv().await;
        });
        drop(rt);
        eprintln!("survived the shutdown");
        return;
    }
    let name = crate::test_name(module_path!(), "shutdown_with_a_goroutine_panicking_in_drop");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name.as_str(), "--exact", "--nocapture"])
        .env("GPM_CHILD", "1")
        .env("GPM_IGNORE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ignored: {:?} {stderr}", out.status);
    assert!(stderr.contains("survived the shutdown"), "{stderr}");

    let out = run_child("shutdown_with_a_goroutine_panicking_in_drop");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "default: {stderr}");
    assert!(stderr.contains("panic: boom at shutdown"), "{stderr}");
}
