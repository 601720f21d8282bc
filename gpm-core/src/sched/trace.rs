//! Observability from sysmon: `GPM_DEBUG=schedtrace=MS[,scheddetail=1]`
//! (Go's `GODEBUG=schedtrace`) and the SIGQUIT goroutine dump.
//!
//! Both are printed by sysmon, a normal thread: the SIGQUIT handler only
//! sets a flag (`signal-hook`), which sysmon looks at on every tick.

use super::g::GState;
use super::shared::Shared;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// What `GPM_DEBUG` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Debug {
    /// Print the SCHED line this often.
    pub(crate) schedtrace: Option<Duration>,
    /// Add a line per P, M and G.
    pub(crate) scheddetail: bool,
}

impl Debug {
    /// Reads `GPM_DEBUG` (comma-separated `key=value`); unknown keys and
    /// bad values are reported once on stderr and ignored, as Go does.
    pub(crate) fn from_env() -> Debug {
        static PARSED: OnceLock<Debug> = OnceLock::new();
        *PARSED.get_or_init(|| {
            let Ok(value) = std::env::var("GPM_DEBUG") else {
                return Debug::default();
            };
            let (debug, errors) = Debug::parse(&value);
            for e in errors {
                eprintln!("gpm: GPM_DEBUG: {e}");
            }
            debug
        })
    }

    /// Parses a `GPM_DEBUG` value; returns what it understood and what not.
    pub(crate) fn parse(value: &str) -> (Debug, Vec<String>) {
        let mut debug = Debug::default();
        let mut errors = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((key, val)) = item.split_once('=') else {
                errors.push(format!("{item:?} is not key=value; ignored"));
                continue;
            };
            match (key, val.parse::<u64>()) {
                ("schedtrace", Ok(ms)) if ms > 0 => debug.schedtrace = Some(Duration::from_millis(ms)),
                ("schedtrace", Ok(_)) => {}
                ("scheddetail", Ok(n)) => debug.scheddetail = n != 0,
                ("schedtrace" | "scheddetail", Err(_)) => {
                    errors.push(format!("{key}={val:?} is not a number; ignored"));
                }
                _ => errors.push(format!(
                    "unknown setting {key:?}; ignored (gpm knows schedtrace, scheddetail)"
                )),
            }
        }
        (debug, errors)
    }
}

/// One M, as schedtrace's detail lines show it.
pub(crate) struct MInfo {
    pub(crate) id: u64,
    /// The P it holds, or -1.
    pub(crate) p: AtomicI64,
    pub(crate) spinning: AtomicBool,
    /// Parked (sleeping in its parker).
    pub(crate) blocked: AtomicBool,
}

impl MInfo {
    pub(crate) fn new(id: u64) -> MInfo {
        MInfo {
            id,
            p: AtomicI64::new(-1),
            spinning: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
        }
    }
}

/// The SCHED line (and details) for sysmon to print.
///
/// `threads=` counts as Go's `mcount()` does (every M the runtime has): the
/// worker Ms and blocking-pool threads, plus sysmon and each `block_on`
/// caller (Go counts sysmon's M and m0, the thread that runs main).
/// [`Stats::threads`](crate::runtime::Stats::threads) leaves the last two
/// out.
pub(crate) fn sched_line(shared: &Shared, detail: bool) -> String {
    let elapsed = shared.clock.tick();
    let mut stats = shared.stats();
    // Read after the idle count in `stats()`: an M joins `threads` before it
    // can be idle, so the line never shows more idle threads than threads.
    stats.threads = shared.own_threads();
    let mut out = format!("SCHED {}ms: {stats}\n", elapsed.as_millis());
    if !detail {
        return out;
    }
    let ms = shared.ms.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (i, p) in shared.ps.iter().enumerate() {
        let status = if p.idle.load(Relaxed) {
            0
        } else if p.syscall_m.load(Relaxed) != 0 {
            2
        } else {
            1
        };
        let m = ms
            .iter()
            .find(|m| m.p.load(Relaxed) == i as i64)
            .map_or(-1, |m| m.id as i64);
        let _ = writeln!(
            out,
            "  P{i}: status={status} schedtick={} syscalltick={} m={m} runqsize={} runnext={} timerslen={}",
            p.schedtick.load(Relaxed),
            p.syscall_tick.load(Relaxed),
            p.stealer.len(),
            u8::from(p.has_runnext()),
            shared.timers.len_of(i),
        );
    }
    for m in &ms {
        let _ = writeln!(
            out,
            "  M{}: p={} spinning={} blocked={}",
            m.id,
            m.p.load(Relaxed),
            m.spinning.load(Relaxed),
            m.blocked.load(Relaxed),
        );
    }
    for g in shared.main_gs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "  G{}: status={}", g.goid, status(g.state()));
    }
    shared.registry.for_each(|info| {
        let _ = writeln!(out, "  G{}: status={}", info.goid(), status(info.state()));
    });
    out
}

/// Go's G status number, with the wait reason: `4(chan receive)`.
fn status(state: GState) -> String {
    match state {
        GState::Runnable => "1()".into(),
        GState::Running => "2()".into(),
        GState::Waiting(reason) => format!("4({reason})"),
    }
}

/// sysmon's per-tick look: prints the SCHED line when due, and the dump on
/// SIGQUIT.
pub(crate) struct Tracer {
    debug: Debug,
    next_ms: AtomicU64,
}

impl Tracer {
    pub(crate) fn new(debug: Debug) -> Tracer {
        Tracer {
            debug,
            next_ms: AtomicU64::new(0),
        }
    }

    /// The longest sysmon may sleep for schedtrace to be on time.
    pub(crate) fn max_sleep(&self) -> Option<Duration> {
        self.debug.schedtrace
    }

    pub(crate) fn look(&self, shared: &Shared) {
        if let Some(every) = self.debug.schedtrace {
            let now = shared.clock.tick().as_millis() as u64;
            if now >= self.next_ms.load(Relaxed) {
                self.next_ms.store(now + every.as_millis() as u64, Relaxed);
                let line = sched_line(shared, self.debug.scheddetail);
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
        if sigquit_flag().is_some_and(|flag| flag.swap(false, SeqCst)) {
            let dump = shared.dump();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "SIGQUIT: quit\n\n{dump}");
            let _ = err.flush();
            std::process::exit(2);
        }
    }
}

/// The flag the SIGQUIT handler sets, once installed.
fn sigquit_flag() -> Option<&'static Arc<AtomicBool>> {
    SIGQUIT.get().and_then(Option::as_ref)
}

static SIGQUIT: OnceLock<Option<Arc<AtomicBool>>> = OnceLock::new();

/// Installs the SIGQUIT handler (once per process): Ctrl-\ then prints the
/// goroutine dump and exits with status 2, as Go does.
pub(crate) fn install_sigquit() {
    SIGQUIT.get_or_init(|| {
        // Miri runs no signal handlers: skipped there, so that whole
        // programs run under it.
        #[cfg(all(unix, not(miri)))]
        {
            let flag = Arc::new(AtomicBool::new(false));
            match signal_hook::flag::register(signal_hook::consts::SIGQUIT, flag.clone()) {
                Ok(_) => Some(flag),
                Err(e) => {
                    eprintln!("gpm: could not install the SIGQUIT handler: {e}");
                    None
                }
            }
        }
        #[cfg(any(not(unix), miri))]
        {
            None
        }
    });
}

#[cfg(test)]
mod tests {
    use super::Debug;
    use std::time::Duration;

    #[test]
    fn gpm_debug_parses_like_godebug() {
        let (d, errors) = Debug::parse("schedtrace=1000,scheddetail=1");
        assert_eq!(d.schedtrace, Some(Duration::from_secs(1)));
        assert!(d.scheddetail);
        assert!(errors.is_empty());
        let (d, errors) = Debug::parse("schedtrace=abc,gctrace=1,nonsense");
        assert_eq!(d, Debug::default());
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(Debug::parse("schedtrace=0").0.schedtrace, None);
    }
}
