//! Starting and stopping a trace (Go's `trace.Start` / `trace.Stop`),
//! `GPM_TRACE`, and the user's regions and tasks (Go's `trace.WithRegion`,
//! `trace.NewTask`).

use super::event::Kind;
use super::{buffer, json, now, record, ON};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Mutex;

/// The running trace: where it goes, and when it started.
struct Running {
    /// Where `stop` writes the JSON.
    out: Box<dyn Write + Send>,
    /// `now()` at `start`.
    started: u64,
}

/// The running trace, if any. Taken by `start` and `stop` only.
static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

/// Ids of regions and tasks (0: none, the trace was off).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Starts recording into `out` (written at [`stop`]). An error if a trace
/// is already recording.
pub(crate) fn start(out: Box<dyn Write + Send>) -> io::Result<()> {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    if running.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "gpm: an execution trace is already recording (stop it first)",
        ));
    }
    buffer::begin();
    *running = Some(Running { out, started: now() });
    // SeqCst: after the generation is set, before any hook sees it on.
    ON.store(true, SeqCst);
    Ok(())
}

/// Stops recording and writes the trace. An error if none was recording,
/// or if writing failed.
pub(crate) fn stop() -> io::Result<()> {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut trace) = running.take() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "gpm: no execution trace is recording",
        ));
    };
    ON.store(false, SeqCst);
    let ended = now();
    let collected = buffer::collect();
    drop(running);
    json::write(&collected, trace.started, ended, &mut trace.out)?;
    trace.out.flush()
}

/// `GPM_TRACE=path` at a runtime's build: starts a trace into `path` if
/// none records. Returns true if it did (the runtime then stops it when
/// it shuts down). A bad path is reported once on stderr and ignored.
pub(crate) fn start_from_env() -> bool {
    let Some(path) = std::env::var_os("GPM_TRACE").filter(|p| !p.is_empty()) else {
        return false;
    };
    if super::on() {
        return false;
    }
    match std::fs::File::create(&path) {
        Ok(file) => start(Box::new(io::BufWriter::new(file))).is_ok(),
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "gpm: GPM_TRACE={}: {e}; not tracing",
                path.to_string_lossy()
            );
            false
        }
    }
}

/// Records the start of a region named `name` on this thread; its id, to
/// end it with, or 0 if no trace records.
pub(crate) fn begin_region(name: &'static str) -> u64 {
    begin(Kind::RegionBegin, name)
}

/// Records the end of the region `id` (0: nothing).
pub(crate) fn end_region(id: u64) {
    end(Kind::RegionEnd, id);
}

/// As [`begin_region`], for a task.
pub(crate) fn begin_task(name: &'static str) -> u64 {
    begin(Kind::TaskBegin, name)
}

/// As [`end_region`], for a task.
pub(crate) fn end_task(id: u64) {
    end(Kind::TaskEnd, id);
}

#[inline(always)]
fn begin(kind: Kind, name: &'static str) -> u64 {
    if !super::on() {
        return 0;
    }
    begin_cold(kind, name)
}

#[cold]
#[inline(never)]
fn begin_cold(kind: Kind, name: &'static str) -> u64 {
    let id = NEXT_ID.fetch_add(1, Relaxed);
    record(kind, None, id, name.as_ptr() as u64, name.len() as u64);
    id
}

#[inline(always)]
fn end(kind: Kind, id: u64) {
    if id != 0 && super::on() {
        end_cold(kind, id);
    }
}

#[cold]
#[inline(never)]
fn end_cold(kind: Kind, id: u64) {
    record(kind, None, id, 0, 0);
}
