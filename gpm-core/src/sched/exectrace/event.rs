//! What the recorder stores: one fixed-size [`Event`] per scheduler action,
//! and the codes its payload words carry.

/// One recorded action: 40 bytes, `Copy`, written into a thread's buffer
/// without allocation. The thread that recorded it (its M) is the buffer's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    /// Nanoseconds since the process's trace epoch (`clock::now`).
    pub(crate) ts: u64,
    /// What happened.
    pub(crate) kind: Kind,
    /// The P the recording M held (or polled with) then; -1 for none.
    pub(crate) p: i32,
    /// First payload word (see [`Kind`] for each kind's meaning).
    pub(crate) a: u64,
    /// Second payload word.
    pub(crate) b: u64,
    /// Third payload word.
    pub(crate) c: u64,
}

/// The kinds of [`Event`], with what `a`, `b` and `c` hold. Go's names (from
/// `internal/trace/tracev2`) in brackets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Padding; never recorded.
    #[default]
    None,
    /// A G's poll begins on this M [`GoStart`]: `a` goid, `b` spawn-site id.
    GoStart,
    /// A G's poll ends [`GoStop`, `GoBlock`, `GoDestroy`]: `a` goid, `b` a
    /// [`Stop`] code, `c` the wait reason (as `u8`) when it blocked.
    GoStop,
    /// A G is readied [`GoUnblock`, `GoCreate`]: `a` its goid, `b` a
    /// [`Source`] code, `c` the goid of the G that readied it (0: no G,
    /// an M's own work: a timer, the netpoller, a foreign thread).
    Wake,
    /// This M stole half of another P's ring [`ProcSteal` of Gs]: `a` the
    /// victim P, `b` the Gs taken.
    Steal,
    /// This M took another P's runnext: `a` the victim P.
    RunnextSteal,
    /// A full ring moved half of itself to the global queue.
    Spill,
    /// `gpm::syscall` begins, the P up for grabs [`GoSyscallBegin`]: `a`
    /// the goid.
    SyscallEnter,
    /// `gpm::syscall` returns [`GoSyscallEnd`]: `a` a [`SyscallExit`] code.
    SyscallExit,
    /// This M handed P `a` to another M (`b` 1 if spinning) [`ProcStart`].
    Handoff,
    /// sysmon took P `a` from a stuck M (`b` 1 if it was in a syscall)
    /// [`ProcSteal`].
    Retake,
    /// sysmon ended P `a`'s time slice (its preempt flag).
    Preempt,
    /// This M goes to sleep (no P, no work).
    Park,
    /// This M woke up.
    Unpark,
    /// This M starts looking for work to steal.
    SpinStart,
    /// This M stops spinning.
    SpinStop,
    /// A blocking-pool job starts on this thread: `a` its id, `b` its
    /// spawn-site id.
    BlockingStart,
    /// The blocking-pool job `a` is over.
    BlockingEnd,
    /// A user region begins: `a` its id, `b` and `c` its name (a `&'static
    /// str`'s pointer and length).
    RegionBegin,
    /// Region `a` ends.
    RegionEnd,
    /// A user task begins: `a` its id, `b` and `c` its name.
    TaskBegin,
    /// Task `a` ends.
    TaskEnd,
}

/// Why a G's poll ended (`Event::b` of [`Kind::GoStop`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Stop {
    /// Its future returned `Ready` (or panicked, or was aborted).
    Finished = 0,
    /// It yielded: `yield_now`, or its budget of leaf operations was spent.
    Yielded = 1,
    /// sysmon ended its time slice (the P's preempt flag).
    Preempted = 2,
    /// It waits (`Event::c` is why).
    Blocked = 3,
}

impl Stop {
    /// The word the viewer shows.
    pub(crate) fn as_str(code: u64) -> &'static str {
        match code {
            0 => "finished",
            1 => "yielded",
            2 => "preempted",
            _ => "blocked",
        }
    }
}

/// Who readied a G (`Event::b` of [`Kind::Wake`]), inferred from what the
/// G waited on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Source {
    /// Its first scheduling, by `spawn` / `go!`.
    Spawn = 0,
    /// A channel operation or `select!`.
    Channel = 1,
    /// A timer (sleep, `after`, ticker, deadline).
    Timer = 2,
    /// The netpoller: its socket became ready.
    Netpoll = 3,
    /// A waker gpm did not create (a foreign future's).
    Foreign = 4,
    /// A `gpm::sync` primitive or a `JoinHandle`.
    Sync = 5,
}

impl Source {
    /// The word the viewer shows.
    pub(crate) fn as_str(code: u64) -> &'static str {
        match code {
            0 => "spawn",
            1 => "channel",
            2 => "timer",
            3 => "netpoll",
            4 => "foreign",
            _ => "sync",
        }
    }
}

/// How `gpm::syscall` returned (`Event::a` of [`Kind::SyscallExit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum SyscallExit {
    /// Its P was still there (the fast path).
    SameP = 0,
    /// sysmon had taken it; the M took an idle P.
    OtherP = 1,
    /// sysmon had taken it and no P was idle: the poll goes on P-less.
    NoP = 2,
}

impl SyscallExit {
    /// The word the viewer shows.
    pub(crate) fn as_str(code: u64) -> &'static str {
        match code {
            0 => "same P",
            1 => "other P",
            _ => "no P",
        }
    }
}

// The size the buffers are planned with.
const _: () = assert!(std::mem::size_of::<Event>() == 40);
