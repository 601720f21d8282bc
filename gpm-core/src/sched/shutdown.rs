//! Shutdown (stop the Ms, then drop every G without recursing) and the
//! rule for a detached goroutine's panic (`UnhandledPanic`).

use super::g::{panic_message, GInfo, G};
use super::shared::Shared;
use std::any::Any;
use std::io::Write;
use std::sync::atomic::Ordering::{Release, SeqCst};
use std::thread;

/// What happens when a goroutine started with `go!` panics (nobody can
/// observe its panic through a `JoinHandle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// Print `panic: <message>`, `goroutine N [running]:` and where the
    /// goroutine was started, then exit the process with status 2 (Go).
    #[default]
    ExitProcess,
    /// Drop the goroutine and carry on.
    Ignore,
    /// Make the runtime's `block_on` panic with the goroutine's message
    /// (what `#[gpm::test]` uses, so one panicking goroutine fails its test).
    ShutdownRuntime,
}

impl Shared {
    // ----- shutdown --------------------------------------------------------

    /// Stops every M, then drops every G: queued ones first, then parked ones
    /// (each is woken, and the schedule function drops it).
    pub(crate) fn shutdown(&self) {
        self.shutdown_within(None);
    }

    /// [`Shared::shutdown`], waiting for the Ms until `deadline` at most
    /// (`None`: as long as they take). An M still in a poll then is left
    /// to finish it and exit on its own; everything else is dropped all the
    /// same (a G being polled is dropped by its M when the poll returns).
    pub(crate) fn shutdown_within(&self, deadline: Option<std::time::Instant>) {
        if self.shutdown.swap(true, SeqCst) {
            return;
        }
        // Waits for `thread` until the deadline; false if it still runs.
        let join = |thread: thread::JoinHandle<()>| -> bool {
            if thread.thread().id() == thread::current().id() {
                // A runtime dropped from one of its own threads cannot wait
                // for itself.
                return true;
            }
            if let Some(deadline) = deadline {
                while !thread.is_finished() {
                    if std::time::Instant::now() >= deadline {
                        return false; // detached: it exits on its own
                    }
                    thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            let _ = thread.join();
            true
        };
        // Queued blocking jobs are dropped; running ones are not waited for.
        self.blocking.shutdown();
        self.sysmon_alarm.stop();
        if let Some(sysmon) = self.sysmon.lock().unwrap_or_else(|e| e.into_inner()).take() {
            join(sysmon);
        }
        for parker in self.idle.lock().all_parkers() {
            parker.shutdown();
        }
        for parker in self.main_parkers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            parker.shutdown();
        }
        // Ms may be started while we join; they see `shutdown`.
        loop {
            let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
            if workers.is_empty() {
                break;
            }
            for worker in workers {
                join(worker);
            }
        }
        self.drain();
        self.finish_trace();
    }

    /// Stops and writes `GPM_TRACE`'s trace if this runtime started it (at
    /// shutdown, and when `#[gpm::main]`'s body returns: its runtime is
    /// never shut down).
    pub(crate) fn finish_trace(&self) {
        if self.owns_trace.swap(false, SeqCst) {
            if let Err(e) = super::exectrace::stop() {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "gpm: GPM_TRACE: {e}");
            }
        }
    }

    /// Drops every queued G, then every parked one.
    fn drain(&self) {
        self.timers.clear();
        // Queued Gs go through `drop_at_shutdown` too: a G whose drop wakes
        // another (with a lock held) must not drop that one inside it.
        for mut p in self.idle.lock().drain_ps() {
            let mut gs = std::mem::take(&mut p.yielded);
            while let Some((g, _)) = p.get(&self.ps[p.id]) {
                gs.push(g);
            }
            gs.into_iter().for_each(drop_at_shutdown);
        }
        for p in self.ps.iter() {
            if let Some(g) = p.take_runnext() {
                drop_at_shutdown(g);
            }
        }
        self.global.drain().into_iter().for_each(drop_at_shutdown);
        // Parked Gs: wake each; `schedule` sees `shutdown` and drops it.
        // Dropping one G's future may wake another: repeat until none is left.
        loop {
            let wakers = self.registry.all_wakers();
            if wakers.is_empty() {
                break;
            }
            let before = self.registry.len();
            for waker in wakers {
                waker.wake();
            }
            self.global.drain().into_iter().for_each(drop_at_shutdown);
            if self.registry.len() >= before {
                // Those left are running on threads we could not join (a
                // runtime dropped from its own G); they go when they finish.
                break;
            }
        }
    }

    // ----- panics -----------------------------------------------------------

    /// The message of a detached G's panic under
    /// `UnhandledPanic::ShutdownRuntime` that no `block_on` re-raised yet.
    pub(crate) fn take_panic(&self) -> Option<String> {
        self.panic.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// A detached G panicked. Returns the payload if the runtime carries on.
    pub(crate) fn unhandled_panic(&self, info: &GInfo, payload: Box<dyn Any + Send>) -> Box<dyn Any + Send> {
        let message = panic_message(payload.as_ref()).to_owned();
        match self.config.unhandled_panic {
            UnhandledPanic::Ignore => payload,
            UnhandledPanic::ExitProcess => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "panic: {message}\n\ngoroutine {} [running]:\n{}\n",
                    info.goid(),
                    info.location()
                );
                let _ = err.flush();
                let _ = std::io::stdout().flush();
                std::process::exit(2);
            }
            UnhandledPanic::ShutdownRuntime => {
                let text = format!(
                    "goroutine {} (started at {}) panicked: {message}",
                    info.goid(),
                    info.location()
                );
                let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    *slot = Some(text);
                }
                drop(slot);
                self.panicked.store(true, Release);
                for parker in self.main_parkers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    parker.notify();
                }
                payload
            }
        }
    }
}

thread_local! {
    /// Gs woken while this thread drops Gs at shutdown: dropped by the
    /// outermost [`drop_at_shutdown`] of the thread, one after the other.
    static DROPPING: std::cell::RefCell<Option<Vec<G>>> = const { std::cell::RefCell::new(None) };
}

/// Drops `g` after shutdown (its future with it) without recursing.
/// Dropping a future may wake another goroutine (a Mutex waiter passes the
/// lock on), whose schedule function comes back here: inline, each drop
/// would nest in the last, and 10 000 waiters on one lock overflowed a
/// 2 MiB stack. Nested calls queue the G instead, and the outermost call
/// drops the queue in a loop.
pub(super) fn drop_at_shutdown(g: G) {
    let nested = DROPPING.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => match d.as_mut() {
            Some(queue) => {
                queue.push(g);
                None
            }
            None => {
                *d = Some(Vec::new());
                Some(g)
            }
        },
        // Not reachable (the borrow is never held across a drop), but a
        // plain drop is the safe answer.
        Err(_) => Some(g),
    });
    let Some(g) = nested else {
        return;
    };
    // Ends the outermost call even if a destructor unwinds; the Gs still
    // queued then are dropped with the queue.
    struct Outermost;
    impl Drop for Outermost {
        fn drop(&mut self) {
            let rest = DROPPING.with(|d| d.borrow_mut().take());
            drop(rest);
        }
    }
    let _outermost = Outermost;
    let mut next = Some(g);
    while let Some(g) = next {
        drop(g);
        next = DROPPING.with(|d| d.borrow_mut().as_mut().and_then(Vec::pop));
    }
}

thread_local! {
    /// Gs woken on this M after shutdown, while it polled: dropped by
    /// [`drop_deferred`] once the poll is over.
    static DEFERRED: std::cell::RefCell<Vec<G>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Keeps `g`, woken on an M of its runtime after shutdown, for
/// [`drop_deferred`]: the waker's caller may hold a lock that dropping the
/// G's future takes (a G dropped inline there deadlocked its M, and with it
/// the runtime's drop).
pub(super) fn defer_drop(g: G) {
    DEFERRED.with(|d| d.borrow_mut().push(g));
}

/// Drops the Gs this thread deferred (see [`defer_drop`]); an M calls it
/// when its poll is over and it leaves for shutdown.
pub(super) fn drop_deferred() {
    loop {
        let gs = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
        if gs.is_empty() {
            return;
        }
        gs.into_iter().for_each(drop_at_shutdown);
    }
}
