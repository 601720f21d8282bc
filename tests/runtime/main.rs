//! The runtime and its scheduler (`gpm::runtime`, `gpm::spawn`, `go!`,
//! `gpm::coop`): what a goroutine program sees of Gs, Ms and Ps.
//!
//! - [`scheduler`]: spawning, joining, waking and shutting down on 1, 2 and
//!   4 Ps (was `tests/scheduler.rs`).
//! - [`rules`]: Go's run-queue rules, deterministic on one P (was
//!   `tests/rules.rs`).
//! - [`preempt`]: the cooperative budget and sysmon's time slice (was
//!   `tests/preempt.rs`).
//! - [`guarantees`]: Go's guarantees under blocking: timers, `main` and
//!   yielded goroutines never wait behind a blocked thread (was
//!   `tests/guarantees.rs`).
//! - [`stress`]: lost wake-ups, Ms parking and unparking (was
//!   `tests/stress.rs`).
//! - [`shutdown`]: what dropping a runtime does with the goroutines left
//!   (was `tests/shutdown.rs`).
//! - [`panics`]: what a panicking goroutine does (was `tests/panics.rs`).
//! - [`limits`]: limits the runtime cannot honour are errors, not aborts
//!   (was `tests/limits.rs`).
//! - [`shake`]: `Builder::shake(seed)` (`GPM_SHAKE=<seed>`) replays a
//!   schedule on one P.
//!
//! [`panics`] and [`limits`] check what ends or marks a whole process (a
//! crash, an environment variable read once, a thread limit) in a child:
//! this binary again, running only the one test (see [`test_name`]).
//!
//! Three parts of the runtime's behaviour have binaries of their own, as
//! they need a process to themselves: deadlock detection
//! (`tests/deadlock.rs`, without libtest's threads, which would keep the
//! detector silent), sysmon's retake (`tests/retake.rs`: a test counts the
//! threads a runtime starts, and other tests' load makes sysmon start some)
//! and schedtrace with the SIGQUIT dump (`tests/trace.rs`: the SCHED lines
//! checked come from a child whose start other tests' load delays). The
//! blocking pool is in `tests/blocking.rs`, Go's
//! `TestPreemptionAfterSyscall` in `tests/golang/runtime_proc.rs`.

mod guarantees;
mod limits;
mod panics;
mod preempt;
mod rules;
mod scheduler;
mod shake;
mod shutdown;
mod stress;

/// The name libtest knows test `test` of module `module` by, for a child
/// run with `--exact`: `module` is that module's `module_path!()`, such
/// as `runtime::panics`, and the name is then `panics::test`.
fn test_name(module: &str, test: &str) -> String {
    let (_crate, path) = module.split_once("::").expect("a module of this test crate");
    format!("{path}::{test}")
}
