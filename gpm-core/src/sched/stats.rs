//! `Stats`: a snapshot of the scheduler, for tests, `tour`, and schedtrace.

use std::fmt;

/// What the scheduler is doing and has done. Counters are cumulative since
/// the runtime started; queue lengths are a snapshot (they may be stale by
/// the time you read them).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Number of Ps (GOMAXPROCS).
    pub procs: usize,
    /// Goroutines queued on each P: its ring, and those that yielded while
    /// every P was busy and wait in its list for the global queue (runnext
    /// not included, as in Go's SCHED line).
    pub local_queues: Vec<usize>,
    /// Whether each P's runnext slot holds a goroutine.
    pub runnext: Vec<bool>,
    /// Goroutines each P started from its ring or the global queue.
    pub schedticks: Vec<u64>,
    /// Length of the global queue.
    pub global_queue: usize,
    /// Threads the runtime started that are alive: worker Ms and
    /// blocking-pool threads (Go counts Ms blocked in system calls too);
    /// sysmon and `block_on` callers are not counted here. schedtrace's
    /// `threads=` adds them, as Go's `mcount()` counts sysmon's M and m0.
    pub threads: usize,
    /// Of those, blocking-pool threads (running or idle).
    pub blocking_threads: usize,
    /// Ms asleep on the idle list.
    pub idle_threads: usize,
    /// Ms looking for work.
    pub spinning_threads: usize,
    /// Ps no M holds.
    pub idle_procs: usize,
    /// Goroutines alive, `block_on` futures included.
    pub goroutines: usize,
    /// Successful steals of half a ring.
    pub steals: u64,
    /// Goroutines moved by those steals.
    pub stolen: u64,
    /// Steals of another P's runnext.
    pub runnext_steals: u64,
    /// Times a full ring moved 129 goroutines to the global queue.
    pub spills: u64,
    /// Times an M went to sleep for lack of work.
    pub parks: u64,
    /// Ps sysmon took from an M stuck in a poll or a `gpm::syscall`.
    pub retakes: u64,
    /// True if an M should start spinning when one stops (Go's
    /// `sched.needspinning`).
    pub need_spinning: bool,
    /// Timers armed (sleeps, `after`, tickers, context deadlines) and not
    /// yet fired or cancelled.
    pub timers: usize,
    /// Sockets registered with the netpoller.
    pub net_sources: usize,
    /// Goroutines waiting for a socket to be ready (`IO wait`).
    pub io_waiting: usize,
}

impl fmt::Display for Stats {
    /// Go's SCHED line (`GODEBUG=schedtrace`), without the time stamp.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
        let queues: Vec<u64> = self.local_queues.iter().map(|&n| n as u64).collect();
        write!(
            f,
            "gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} idlethreads={} runqueue={} [ {} ] schedticks=[ {} ]",
            self.procs,
            self.idle_procs,
            self.threads,
            self.spinning_threads,
            u8::from(self.need_spinning),
            self.idle_threads,
            self.global_queue,
            list(&queues),
            list(&self.schedticks),
        )
    }
}
