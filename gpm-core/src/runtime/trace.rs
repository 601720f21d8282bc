//! The execution tracer (Go's `runtime/trace`): a timeline of every P, which
//! goroutine ran when, why it stopped and who woke it, written as Chrome /
//! Perfetto trace-event JSON that <https://ui.perfetto.dev> and
//! `chrome://tracing` open as they are.
//!
//! Record a whole program by setting `GPM_TRACE=trace.json` (the first
//! runtime built starts the trace and writes it when it shuts down), or a
//! part of one with [`start`] and [`stop`]:
//!
//! ```
//! use gpm::runtime::trace;
//! use std::sync::{Arc, Mutex};
//!
//! # struct Shared(Arc<Mutex<Vec<u8>>>);
//! # impl std::io::Write for Shared {
//! #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(b) }
//! #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! # }
//! # let out = Arc::new(Mutex::new(Vec::new()));
//! # let file = Shared(out.clone());
//! // let file = std::fs::File::create("trace.json")?;
//! let rt = gpm::runtime::Runtime::new()?;
//! trace::start(file)?;
//! rt.block_on(async {
//!     let task = trace::Task::new("handle request");
//!     let answer = trace::region("compute", || 6 * 7);
//!     let h = gpm::spawn(async move { answer });
//!     assert_eq!(h.await.unwrap(), 42);
//!     drop(task);
//! });
//! trace::stop()?;
//! # let json = String::from_utf8(out.lock().unwrap().clone()).unwrap();
//! # assert!(json.starts_with("{") && json.contains("\"traceEvents\""), "{json}");
//! # assert!(json.contains("\"compute\""), "{json}");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What it shows
//! - **One track per P** ("Ps"): each poll of a goroutine is a slice named
//!   `g<id> <spawn site>`, whose arguments say how it ended: `finished`,
//!   `yielded`, `preempted` (sysmon ended its 10 ms time slice), or
//!   `blocked` with Go's wait reason (`chan receive`, `sleep`, `IO wait`...).
//!   Steals, spills to the global queue, P hand-offs, and sysmon's retakes
//!   and preemptions are instants on the P's track.
//! - **One track per thread** ("Ms"): when an M was parked or spinning, in
//!   a `gpm::syscall`, or running a `spawn_blocking` job.
//! - **Wake edges**, as flow arrows: from the poll (or the thread) that
//!   readied a goroutine to that goroutine's next poll, labelled with what
//!   woke it (`spawn`, `channel`, `timer`, `netpoll`, `sync`, `foreign`).
//! - **Your regions and tasks** ([`region`], [`Region`], [`Task`]) as async
//!   slices.
//!
//! # Limits
//! - Events are kept in memory (40 bytes each, per thread) until [`stop`]
//!   writes them: a trace is for seconds of a busy program, not hours.
//! - Every gpm runtime of the process records into the same trace; their
//!   Ps share tracks by number.
//! - A wake that reaches a goroutine while its poll is still running (a
//!   yield, or another thread's wake just before the poll returns) has no
//!   arrow: async-task applies it as the poll ends, where the waker is no
//!   longer known. A `block_on` future polled on its caller's thread has
//!   its polls on the trace but no arrows into them.
//! - Events being recorded on other threads at the moment of [`stop`] may
//!   be left out (Go's tracer waits for them with a per-M seqlock; gpm
//!   keeps the hot path to one release store instead).
//!
//! # Cost
//! Off, each place that could record loads one global flag and branches
//! past it (about 11 instructions per goroutine poll in all). On, each
//! event costs a clock read and a 40-byte write into the recording
//! thread's own buffer, with no lock but once per 1024 events: about 200
//! instructions, 50 ns here. The JSON is built at [`stop`]. BENCHMARKS.md
//! has the measurements.

use std::io::{self, Write};

/// Starts recording scheduler events, to be written to `out` as trace-event
/// JSON by [`stop`] (Go's `trace.Start`). Events of every gpm runtime in
/// the process are recorded.
///
/// # Errors
/// `AlreadyExists` if a trace is already recording (`GPM_TRACE`'s, or
/// another `start`'s).
pub fn start<W: Write + Send + 'static>(out: W) -> io::Result<()> {
    crate::sched::trace_start(Box::new(out))
}

/// Stops recording and writes the trace to the writer given to [`start`]
/// (Go's `trace.Stop`). Events being recorded at that moment on other
/// threads may be left out.
///
/// # Errors
/// `NotFound` if no trace is recording; the writer's errors.
pub fn stop() -> io::Result<()> {
    crate::sched::trace_stop()
}

/// True while a trace records (Go's `trace.IsEnabled`).
pub fn is_enabled() -> bool {
    crate::sched::trace_on()
}

/// Runs `f` as a region named `name` (Go's `trace.WithRegion`): a slice in
/// the trace from its start to its end. Costs one load when no trace
/// records.
///
/// ```
/// let n = gpm::runtime::trace::region("sum", || (1..=10).sum::<u32>());
/// assert_eq!(n, 55);
/// ```
pub fn region<R>(name: &'static str, f: impl FnOnce() -> R) -> R {
    let _region = Region::new(name);
    f()
}

/// A region that lasts until dropped (Go's `trace.StartRegion`): hold it
/// across `.await`s to mark a span of an async function.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let region = gpm::runtime::trace::Region::new("wait for a message");
/// gpm::yield_now().await;
/// drop(region);
/// # });
/// ```
#[must_use = "the region ends when this is dropped"]
#[derive(Debug)]
pub struct Region {
    /// The region's id in the trace; 0 if no trace recorded at its start.
    id: u64,
}

impl Region {
    /// Starts a region named `name`.
    pub fn new(name: &'static str) -> Region {
        Region {
            id: crate::sched::trace_begin_region(name),
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        crate::sched::trace_end_region(self.id);
    }
}

/// A task (Go's `trace.NewTask`): a named span of work that may cross
/// goroutines, from its creation until dropped; its slice groups whatever
/// happened meanwhile.
///
/// ```
/// let task = gpm::runtime::trace::Task::new("request");
/// assert!(task.id() == 0 || !gpm::runtime::trace::is_enabled() || task.id() > 0);
/// ```
#[must_use = "the task ends when this is dropped"]
#[derive(Debug)]
pub struct Task {
    /// The task's id in the trace; 0 if no trace recorded at its start.
    id: u64,
}

impl Task {
    /// Starts a task named `name`.
    pub fn new(name: &'static str) -> Task {
        Task {
            id: crate::sched::trace_begin_task(name),
        }
    }

    /// The task's id in the trace (0 if no trace recorded when it began).
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        crate::sched::trace_end_task(self.id);
    }
}
