//! Dropping a `Compat` where tokio drops it: `tokio::spawn` without a tokio
//! context drops the future it was given while it holds tokio's context
//! cell, and a `Compat` that entered tokio's runtime in its `Drop` then
//! panicked with "already borrowed", hiding tokio's own message. And the
//! notice printed when the compat runtime starts.
#![cfg(feature = "tokio")]

use gpm_compat::tokio::{Compat, TokioCompatExt};
use std::any::Any;
use std::process::Command;

/// What tokio says when it is called outside its runtime.
const TOKIO_MESSAGE: &str = "must be called from the context of a Tokio 1.x runtime";

fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<not a string>".to_owned()
    }
}

/// No gpm runtime at all: a plain thread calls `tokio::spawn`.
#[test]
fn tokio_spawn_without_a_context_reports_tokio_s_message() {
    let payload = std::panic::catch_unwind(|| {
        drop(tokio::spawn(Compat::new(async { 1 })));
    })
    .expect_err("tokio::spawn outside a tokio runtime panics");
    let message = message(payload.as_ref());
    assert!(message.contains(TOKIO_MESSAGE), "the panic was {message:?}");
}

/// Inside a goroutine: the goroutine's `JoinError` carries tokio's message.
#[test]
fn tokio_spawn_in_a_goroutine_reports_tokio_s_message() {
    let rt = gpm::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(rt.spawn(async {
            drop(tokio::spawn(async { 1 }.tokio_compat()));
        }))
        .expect_err("tokio::spawn in a bare goroutine panics");
    assert!(err.is_panic());
    assert!(err.to_string().contains(TOKIO_MESSAGE), "the error was {err}");
}

/// A value whose `Drop` needs a tokio context (as a type that spawns a
/// clean-up task when dropped does).
struct NeedsContext;

impl Drop for NeedsContext {
    fn drop(&mut self) {
        assert!(
            tokio::runtime::Handle::try_current().is_ok(),
            "dropped without a tokio context"
        );
    }
}

/// A `Compat` that has been polled still drops its future with the tokio
/// context set, on a gpm M that has none of its own.
#[test]
fn a_polled_compat_drops_its_future_in_the_tokio_context() {
    let rt = gpm::runtime::Runtime::new().unwrap();
    rt.block_on(rt.spawn(async {
        let needs = NeedsContext;
        let mut fut = std::pin::pin!(async move {
            let _needs = needs;
            std::future::pending::<()>().await;
        }
        .tokio_compat());
        // One poll (Pending), then the drop at the end of this block.
        assert!(futures::poll!(fut.as_mut()).is_pending());
    }))
    .unwrap();
}

/// The notice, printed once per process when the compat runtime starts, is
/// checked in a child process (stderr is the process's).
#[test]
fn the_compat_runtime_announces_itself_once() {
    if std::env::var_os("GPM_COMPAT_NOTICE_CHILD").is_some() {
        // The child: start the runtime, use it twice.
        let rt = gpm::runtime::Runtime::new().unwrap();
        for _ in 0..2 {
            rt.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(1)).await }.tokio_compat());
        }
        return;
    }
    let run = |threads: Option<&str>| {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "the_compat_runtime_announces_itself_once",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GPM_COMPAT_NOTICE_CHILD", "1")
            .env_remove("GPM_COMPAT_TOKIO_THREADS");
        if let Some(threads) = threads {
            child.env("GPM_COMPAT_TOKIO_THREADS", threads);
        }
        let out = child.output().unwrap();
        assert!(out.status.success(), "the child failed: {out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let stderr = run(None);
    assert_eq!(stderr.matches("gpm-compat:").count(), 1, "stderr: {stderr}");
    assert!(stderr.contains("gpm-compat-tokio"), "stderr: {stderr}");
    assert!(stderr.contains("tokio::spawn"), "stderr: {stderr}");
    assert!(stderr.contains("serve"), "stderr: {stderr}");
    // Sizing the runtime on purpose says the user knows: no notice.
    let stderr = run(Some("2"));
    assert!(!stderr.contains("gpm-compat:"), "stderr: {stderr}");
}

/// What the docs and the notice say: a task started with `tokio::spawn`
/// inside a `Compat` runs on the compat runtime's thread, not on a gpm M.
#[test]
fn tokio_spawn_inside_compat_runs_on_the_compat_thread() {
    let rt = gpm::runtime::Runtime::new().unwrap();
    let name = rt.block_on(
        async {
            let task = tokio::spawn(async { std::thread::current().name().map(str::to_owned) });
            task.await.unwrap()
        }
        .tokio_compat(),
    );
    assert_eq!(name.as_deref(), Some("gpm-compat-tokio"));
}
