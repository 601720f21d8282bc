//! Helpers shared by the web-stack tests (serve_*.rs, client.rs, https.rs,
//! panics.rs).
//!
//! Tests close their connections before their runtime is dropped. (A
//! runtime dropped with an HTTP/2 connection alive used to deadlock: h2
//! wakes a task with its stream lock held, and gpm's shutdown dropped the
//! woken goroutine right there. gpm-core now drops it after the poll; see
//! `tests/runtime/shutdown.rs`.)
#![allow(dead_code, unreachable_pub)]

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on a thread of its own; a hang becomes a failure after `secs`
/// (generous: the machine may be loaded; nothing here sleeps to
/// synchronise).
pub fn watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test hung for {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("test panicked (see above)"),
    }
}

/// A gpm runtime with `procs` Ps and the default panic rule (a detached
/// goroutine's panic exits the process, as in Go).
pub fn runtime(procs: usize) -> gpm::runtime::Runtime {
    gpm::runtime::Builder::new().procs(procs).build().unwrap()
}

/// The names of this process's threads (Linux: `/proc/self/task`).
pub fn thread_names() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// No tokio runtime runs in this process: neither gpm-compat's tokio
/// thread (`gpm-compat-tokio`, cut to 15 characters by Linux) nor a
/// tokio runtime's workers (`tokio-runtime-worker`).
pub fn assert_no_tokio_threads() {
    let names = thread_names();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("gpm-compat-tok") || n.starts_with("tokio-")),
        "a tokio runtime is running: threads {names:?}"
    );
}

/// True when called inside a goroutine of a gpm runtime (what each
/// handler checks).
pub fn on_gpm() -> bool {
    gpm::runtime::Handle::try_current().is_some()
}
