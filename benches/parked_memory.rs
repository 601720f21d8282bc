//! Memory per parked task: gpm's goroutines against tokio's tasks.
//!
//! ```text
//! cargo bench --bench parked_memory
//! ```
//!
//! For each runtime, a child process (this executable run again with
//! `--child <runtime> <tasks>`, so memory the first runtime freed cannot
//! flatter the second) builds a runtime with [`NUM_WORKERS`] workers, spawns
//! [`NUM_TASKS`] tasks that all wait on one [`Gate`], and waits until every
//! one of them has been polled once and parked. The growth of the resident
//! set over that span, divided by the number of tasks, is the cost of one
//! parked task: its allocation, the runtime's bookkeeping and the
//! allocator's overhead. Then the gate opens, every task finishes and the
//! runtime shuts down.
//!
//! The task's code, the gate and the measurement are the same for both
//! runtimes; only the `spawn` call differs. Tasks are spawned in batches of
//! [`BATCH`], each batch parked before the next is spawned, so the figure is
//! the steady cost of a parked task and not the peak length of a run queue.
//!
//! Run without `--bench` (as `cargo test --benches` does) it is a quick
//! smoke run with [`SMOKE_TASKS`] tasks.

use std::future::Future;
use std::pin::Pin;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Ps for gpm and worker threads for tokio: the cores of the machine the
/// figures were taken on.
const NUM_WORKERS: usize = 2;
/// Parked tasks per runtime under `cargo bench`.
const NUM_TASKS: usize = 1_000_000;
/// Parked tasks per runtime in a smoke run (`cargo test --benches`).
const SMOKE_TASKS: usize = 10_000;
/// Tasks spawned before waiting for them to park: small enough that run
/// queues stay short, large enough that the waits cost little.
const BATCH: usize = 10_000;
/// Bytes per page in `/proc/self/statm` (x86-64 and aarch64 Linux defaults).
const PAGE_SIZE: usize = 4096;
/// How long a child waits for its tasks to park or finish before it gives up
/// and reports a hang instead of hanging the benchmark run.
const DEADLINE: Duration = Duration::from_secs(120);
/// First argument of a child process.
const CHILD_FLAG: &str = "--child";
/// The runtimes measured, in order.
const RUNTIMES: [&str; 2] = ["gpm", "tokio"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(CHILD_FLAG) {
        let runtime = args.get(1).expect("--child needs a runtime name");
        let tasks = args
            .get(2)
            .and_then(|n| n.parse().ok())
            .expect("--child needs a task count");
        child(runtime, tasks);
        return ExitCode::SUCCESS;
    }

    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let tasks = if args.iter().any(|arg| arg == "--bench") {
        NUM_TASKS
    } else {
        SMOKE_TASKS
    };
    parent(tasks)
}

/// Runs one child per runtime, prints each child's line and the ratio.
fn parent(tasks: usize) -> ExitCode {
    let exe = std::env::current_exe().expect("cannot find the current executable");
    let mut bytes_per_task = Vec::new();
    for runtime in RUNTIMES {
        let output = Command::new(&exe)
            .args([CHILD_FLAG, runtime, &tasks.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("cannot run a child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        print!("{stdout}");
        if !output.status.success() {
            eprintln!("{runtime}: child process failed: {}", output.status);
            return ExitCode::FAILURE;
        }
        // The child's line reads `<runtime>: <bytes> bytes per parked task ...`.
        let bytes: f64 = stdout
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("child printed no figure");
        bytes_per_task.push(bytes);
    }
    println!("ratio gpm/tokio: {:.2}", bytes_per_task[0] / bytes_per_task[1]);
    ExitCode::SUCCESS
}

/// Measures one runtime and prints one line on stdout.
fn child(runtime: &str, tasks: usize) {
    match runtime {
        "gpm" => {
            let rt = gpm::runtime::Builder::new().procs(NUM_WORKERS).build().unwrap();
            measure(runtime, tasks, |gate| drop(rt.spawn(parked_task(gate))));
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(NUM_WORKERS)
                .build()
                .unwrap();
            measure(runtime, tasks, |gate| drop(rt.spawn(parked_task(gate))));
        }
        other => panic!("unknown runtime {other:?}; expected one of {RUNTIMES:?}"),
    }
}

/// Spawns `tasks` parked tasks with `spawn`, reports the resident set growth
/// per task, then releases them and waits until all have finished.
fn measure(runtime: &str, tasks: usize, mut spawn: impl FnMut(Arc<Gate>)) {
    let gate = Arc::new(Gate::new(tasks));

    let before = resident_bytes();
    let start = Instant::now();
    let mut spawned = 0;
    while spawned < tasks {
        let batch = BATCH.min(tasks - spawned);
        for _ in 0..batch {
            spawn(gate.clone());
        }
        spawned += batch;
        wait_for(&gate.parked, spawned, "parked");
    }
    let elapsed = start.elapsed();
    let after = resident_bytes();

    let per_task = after.saturating_sub(before) as f64 / tasks as f64;
    println!(
        "{runtime}: {per_task:.0} bytes per parked task \
         ({tasks} tasks, RSS {:.1} MiB -> {:.1} MiB, spawned and parked in {} ms)",
        before as f64 / (1024.0 * 1024.0),
        after as f64 / (1024.0 * 1024.0),
        elapsed.as_millis(),
    );

    gate.open();
    wait_for(&gate.finished, tasks, "finished");
}

/// The task every runtime runs: park on the gate, then count itself out.
async fn parked_task(gate: Arc<Gate>) {
    Wait {
        gate: &gate,
        slot: None,
    }
    .await;
    gate.finished.fetch_add(1, Ordering::Release);
}

/// One event that many tasks wait on.
struct Gate {
    /// Whether the gate is open, and the wakers of the tasks waiting on it.
    state: Mutex<GateState>,
    /// Tasks that have registered their waker: polled once and parked.
    parked: AtomicUsize,
    /// Tasks that went through the open gate and returned.
    finished: AtomicUsize,
}

/// The part of a [`Gate`] behind its lock.
struct GateState {
    /// Set once by [`Gate::open`]; waits complete from then on.
    open: bool,
    /// One slot per waiting task, in the order they first polled.
    wakers: Vec<Waker>,
}

impl Gate {
    /// A closed gate with room for `tasks` wakers, already resident so the
    /// waker list is counted before the measurement and not in it.
    fn new(tasks: usize) -> Self {
        let mut wakers = Vec::with_capacity(tasks);
        wakers.resize(tasks, Waker::noop().clone());
        wakers.clear();
        Gate {
            state: Mutex::new(GateState { open: false, wakers }),
            parked: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
        }
    }

    /// Opens the gate and wakes every waiting task.
    fn open(&self) {
        let wakers = {
            let mut state = self.state.lock().unwrap();
            state.open = true;
            std::mem::take(&mut state.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Waits until its [`Gate`] is open.
struct Wait<'a> {
    /// The gate waited on.
    gate: &'a Gate,
    /// Where this task's waker sits in the gate's list, once registered.
    slot: Option<usize>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.gate.state.lock().unwrap();
        if state.open {
            return Poll::Ready(());
        }
        match self.slot {
            Some(slot) => state.wakers[slot].clone_from(cx.waker()),
            None => {
                self.slot = Some(state.wakers.len());
                state.wakers.push(cx.waker().clone());
                drop(state);
                // Relaxed: the counter is only a progress report; the waker
                // itself is published by the lock.
                self.gate.parked.fetch_add(1, Ordering::Relaxed);
            }
        }
        Poll::Pending
    }
}

/// Polls `counter` until it reaches `target`; panics after [`DEADLINE`].
fn wait_for(counter: &AtomicUsize, target: usize, what: &str) {
    let start = Instant::now();
    loop {
        let now = counter.load(Ordering::Acquire);
        if now >= target {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "only {now} of {target} tasks {what} after {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// The resident set size of this process, from `/proc/self/statm`.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("cannot read /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("malformed /proc/self/statm");
    pages * PAGE_SIZE
}
