//! Goroutine dumps (Go's `runtime.Stack(buf, true)` and the SIGQUIT dump).

use super::g::GState;
use super::shared::Shared;
use std::fmt::Write;
use std::panic::Location;

/// One line of a dump, before sorting.
struct Entry {
    goid: u64,
    state: GState,
    /// Seconds waited so far (meaningful for waiting Gs only).
    waited: u16,
    is_main: bool,
    location: &'static Location<'static>,
}

impl Shared {
    /// The goroutine listing: `goroutine N [state]:` and where the G was
    /// started, one paragraph per G, ordered by id.
    pub(crate) fn dump(&self) -> String {
        self.clock.tick();
        let mut entries = Vec::new();
        for g in self.main_gs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            entries.push(Entry {
                goid: g.goid,
                state: g.state(),
                waited: self.clock.seconds_since(g.since()),
                is_main: true,
                location: g.location,
            });
        }
        let listed_before = entries.len();
        self.registry.for_each(|info| {
            entries.push(Entry {
                goid: info.goid(),
                state: info.state(),
                waited: self.clock.seconds_since(info.since()),
                is_main: info.is_main(),
                location: info.location(),
            });
        });
        let listed = entries.len() - listed_before;
        entries.sort_by_key(|e| e.goid);
        let mut out = String::new();
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let state = match e.state {
                GState::Runnable => "runnable".to_string(),
                GState::Running => "running".to_string(),
                GState::Waiting(reason) if e.waited >= 60 => {
                    format!("{}, {} minutes", reason.as_str(), e.waited / 60)
                }
                GState::Waiting(reason) => reason.as_str().to_string(),
            };
            let _ = writeln!(out, "goroutine {} [{}]:", e.goid, state);
            let what = if e.is_main { "main" } else { "created" };
            let _ = writeln!(out, "{what} at {}", e.location);
        }
        let alive = self.goroutines();
        let unlisted = alive.saturating_sub(listed + listed_before);
        if unlisted > 0 {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "... and {unlisted} goroutine(s) that have not waited yet (runnable or running; gpm lists a \
                 goroutine from its first wait)"
            );
        }
        out
    }
}
