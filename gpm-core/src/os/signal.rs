//! Incoming signals on channels (Go's `os/signal`): [`notify`] relays
//! signals to a gpm channel, [`stop`] and [`reset`] undo it.
//!
//! ```
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! use gpm::signal::{self, SIGUSR1};
//!
//! // Go: c := make(chan os.Signal, 1); signal.Notify(c, syscall.SIGUSR1)
//! let c = gpm::chan(1);
//! signal::notify(&c, &[SIGUSR1]).unwrap();
//! signal_hook::low_level::raise(SIGUSR1).unwrap(); // as if `kill -USR1`
//! assert_eq!(c.recv().await, Some(SIGUSR1));
//! signal::stop(&c);
//! # });
//! ```
//!
//! # Go's rules
//! - Delivery never blocks: a signal for a full channel is dropped, as in
//!   Go. Give the channel a buffer (one is enough to learn that a signal
//!   came; more to count them). The OS merges a signal that arrives while
//!   the same one is still pending, so a burst may be delivered once.
//! - Once a signal is asked for, its default action (for `SIGINT` and
//!   `SIGTERM`: ending the process) no longer happens while a channel
//!   wants it. After [`stop`] or [`reset`] leaves it with no channel, it
//!   does again (emulated: the handler stays installed, and ends the
//!   process as the default would). A channel that is dropped counts as
//!   stopped.
//! - `SIGQUIT` stays gpm's: its goroutine dump (and exit status 2) happens
//!   whether or not a channel also gets it.
//! - `SIGKILL`, `SIGSTOP` and the fault signals `SIGSEGV`, `SIGILL` and
//!   `SIGFPE` cannot be caught: `notify` returns an error.
//!
//! # Where the work runs, and why
//! The handler is `signal-hook`'s: async-signal-safe, it only writes a byte
//! to a self-pipe. One thread (`gpm-signal`, started by the first `notify`,
//! for the whole process) reads that pipe with `signal-hook`'s iterator and
//! makes the non-blocking sends. A thread rather than the netpoller because
//! signals belong to the process and a gpm program may have several
//! runtimes (or none left), and it costs nothing while no signal comes: it
//! sleeps in `read`. One side effect: gpm's deadlock detection only speaks
//! when the process has no threads but the runtime's own, so it stays
//! silent once `notify` has been called (rightly: a signal may still come
//! and wake a goroutine).

use crate::chan::{Chan, WeakChan};
use std::io;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// A signal number (Go's `os.Signal`); the constants below are
/// `signal-hook`'s (`libc`'s).
pub type Signal = std::ffi::c_int;

pub use signal_hook::consts::signal::{
    SIGALRM, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP, SIGUSR1, SIGUSR2, SIGWINCH,
};

/// Go's `os.Interrupt` (Ctrl-C): `SIGINT`.
pub const INTERRUPT: Signal = SIGINT;

/// One channel's wish for one signal.
struct Sub {
    signal: Signal,
    chan: WeakChan<Signal>,
}

struct Dispatch {
    /// Adds signals to the iterator's set.
    handle: signal_hook::iterator::Handle,
    subs: Mutex<Vec<Sub>>,
}

impl Dispatch {
    fn subs(&self) -> MutexGuard<'_, Vec<Sub>> {
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

static DISPATCH: OnceLock<Result<Dispatch, String>> = OnceLock::new();

/// The process's dispatcher, started on first use.
fn dispatch() -> io::Result<&'static Dispatch> {
    let d = DISPATCH.get_or_init(|| {
        let mut signals = signal_hook::iterator::Signals::new::<[Signal; 0], Signal>([]).map_err(|e| e.to_string())?;
        let handle = signals.handle();
        std::thread::Builder::new()
            .name("gpm-signal".into())
            .spawn(move || {
                for signal in signals.forever() {
                    deliver(signal);
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Dispatch {
            handle,
            subs: Mutex::new(Vec::new()),
        })
    });
    d.as_ref()
        .map_err(|e| io::Error::other(format!("gpm::signal: cannot start: {e}")))
}

/// On the dispatcher thread: sends `signal` to every channel that wants it,
/// without waiting; with none, does what the signal's default would.
fn deliver(signal: Signal) {
    let Some(Ok(d)) = DISPATCH.get() else { return };
    let mut wanted = false;
    {
        let mut subs = d.subs();
        subs.retain(|sub| {
            let Some(chan) = sub.chan.upgrade() else {
                return false; // dropped: as if stopped
            };
            if sub.signal == signal {
                wanted = true;
                // Full or closed: dropped, as Go's non-blocking send does.
                let _ = chan.try_send(signal);
            }
            true
        });
    }
    if !wanted && signal != SIGQUIT {
        // Stopped or reset: the default action (gpm's own handler deals
        // with SIGQUIT).
        let _ = signal_hook::low_level::emulate_default_handler(signal);
    }
}

/// Relays `signals` to `chan` (Go's `signal.Notify(c, sig...)`): each
/// arrival is sent without waiting, and dropped if `chan` is full. Asking
/// twice for the same signal on the same channel changes nothing; several
/// channels may ask for one signal (each gets it). The relay holds only a
/// weak handle: dropping every handle of `chan` stops it.
///
/// Errors: an empty list (Go's "all signals" is not supported), or a
/// signal that cannot be caught (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGILL`,
/// `SIGFPE`), or not a signal.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// use gpm::signal::{self, SIGUSR2};
///
/// let c = gpm::chan(4);
/// signal::notify(&c, &[SIGUSR2]).unwrap();
/// signal_hook::low_level::raise(SIGUSR2).unwrap();
/// assert_eq!(c.recv().await, Some(SIGUSR2));
/// assert!(signal::notify(&c, &[signal_hook::consts::SIGKILL]).is_err());
/// signal::stop(&c);
/// # });
/// ```
pub fn notify(chan: &Chan<Signal>, signals: &[Signal]) -> io::Result<()> {
    if signals.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "gpm::signal::notify needs at least one signal",
        ));
    }
    if let Some(s) = signals.iter().find(|s| signal_hook::consts::FORBIDDEN.contains(s)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("gpm::signal::notify: signal {s} cannot be caught"),
        ));
    }
    let d = dispatch()?;
    for &signal in signals {
        d.handle.add_signal(signal)?;
    }
    let mut subs = d.subs();
    for &signal in signals {
        let known = subs
            .iter()
            .any(|s| s.signal == signal && s.chan.upgrade().is_some_and(|c| c == *chan));
        if !known {
            subs.push(Sub {
                signal,
                chan: chan.downgrade(),
            });
        }
    }
    Ok(())
}

/// Stops relaying signals to `chan` (Go's `signal.Stop`): once it returns,
/// `chan` gets no more signals. A signal no other channel wants gets its
/// default action back.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let c = gpm::chan(1);
/// gpm::signal::notify(&c, &[gpm::signal::SIGWINCH]).unwrap();
/// gpm::signal::stop(&c);
/// # });
/// ```
pub fn stop(chan: &Chan<Signal>) {
    if let Some(Ok(d)) = DISPATCH.get() {
        d.subs().retain(|s| s.chan.upgrade().is_some_and(|c| c != *chan));
    }
}

/// Stops relaying `signals` to every channel (Go's `signal.Reset`; an
/// empty list: every signal); they get their default action back.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let c = gpm::chan(1);
/// gpm::signal::notify(&c, &[gpm::signal::SIGWINCH]).unwrap();
/// gpm::signal::reset(&[gpm::signal::SIGWINCH]);
/// # });
/// ```
pub fn reset(signals: &[Signal]) {
    if let Some(Ok(d)) = DISPATCH.get() {
        d.subs().retain(|s| !signals.is_empty() && !signals.contains(&s.signal));
    }
}
