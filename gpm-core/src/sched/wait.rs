//! Why a goroutine waits (Go's `waitReason`), for dumps and deadlock checks.
//!
//! A gpm leaf future that is about to return `Pending` calls [`park`] with
//! its reason. The G's poll picks the reason up when the whole poll returns
//! `Pending` and stores it, with the time, in the G's metadata. A poll that
//! returns `Pending` without any reason is waiting on a future gpm did not
//! write ([`WaitReason::Foreign`]): its waker may be called from anywhere,
//! so deadlock detection treats such a G as possible progress.
//!
//! ```ignore
//! // Inside a leaf future's poll, just before `return Poll::Pending`:
//! super::wait::park(WaitReason::ChanReceive);
//! ```

use super::current;

/// Why a G waits; the names are Go's (`runtime/runtime2.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum WaitReason {
    /// Waiting on a future gpm did not write (its waker may come from anywhere).
    Foreign = 0,
    /// A channel send (`ch <- v`).
    ChanSend,
    /// A channel receive (`<-ch`).
    ChanReceive,
    /// A `select!` with cases.
    Select,
    /// `select! {}`: waits forever.
    SelectNoCases,
    /// `time::sleep` and timers.
    Sleep,
    /// The netpoller.
    IoWait,
    /// A semaphore or `sync::Mutex`-style wait (Go: `semacquire`).
    Semacquire,
    /// `sync::Mutex::lock` (Go: `sync.Mutex.Lock`).
    SyncMutexLock,
    /// `sync::RwLock::read` (Go: `sync.RWMutex.RLock`).
    SyncRwMutexRLock,
    /// `sync::RwLock::write` (Go: `sync.RWMutex.Lock`).
    SyncRwMutexLock,
    /// `sync::WaitGroup::wait` (Go: `sync.WaitGroup.Wait`).
    WaitGroup,
    /// `sync::Once` waiting for another caller (Go: `sync.Once`... `semacquire`).
    Once,
    /// Awaiting a `JoinHandle` (gpm's own; Go has no join).
    Join,
    /// `gpm::syscall` in progress.
    Syscall,
    /// `synctest::wait`: until every other goroutine of the bubble is
    /// durably blocked (Go: `synctest.Wait`).
    SynctestWait,
    /// A bubble's root whose future is done, waiting for the bubble's other
    /// goroutines to exit (Go: `synctest.Run`).
    SynctestRun,
}

impl WaitReason {
    /// Go's words for it, as dumps print them.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WaitReason::Foreign => "waiting",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::IoWait => "IO wait",
            WaitReason::Semacquire => "semacquire",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRwMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncRwMutexLock => "sync.RWMutex.Lock",
            WaitReason::WaitGroup => "sync.WaitGroup.Wait",
            WaitReason::Once => "sync.Once.Do",
            WaitReason::Join => "join",
            WaitReason::Syscall => "syscall",
            WaitReason::SynctestWait => "synctest.Wait",
            WaitReason::SynctestRun => "synctest.Run",
        }
    }

    pub(crate) fn from_u8(v: u8) -> WaitReason {
        const ALL: [WaitReason; 17] = [
            WaitReason::Foreign,
            WaitReason::ChanSend,
            WaitReason::ChanReceive,
            WaitReason::Select,
            WaitReason::SelectNoCases,
            WaitReason::Sleep,
            WaitReason::IoWait,
            WaitReason::Semacquire,
            WaitReason::SyncMutexLock,
            WaitReason::SyncRwMutexRLock,
            WaitReason::SyncRwMutexLock,
            WaitReason::WaitGroup,
            WaitReason::Once,
            WaitReason::Join,
            WaitReason::Syscall,
            WaitReason::SynctestWait,
            WaitReason::SynctestRun,
        ];
        ALL.get(v as usize).copied().unwrap_or(WaitReason::Foreign)
    }
}

impl WaitReason {
    /// True if only another goroutine can end this wait (Go's
    /// `isIdleInSynctest`): a bubble's clock may move while its goroutines
    /// wait so. A foreign future, the netpoller and a syscall can be ended
    /// from outside; every gpm primitive (channels, timers, sync, join)
    /// only from inside.
    pub(crate) fn is_durable(self) -> bool {
        !matches!(self, WaitReason::Foreign | WaitReason::IoWait | WaitReason::Syscall)
    }
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Records why the current goroutine is about to wait. Call it from a leaf
/// future right before it returns `Pending` (the last call in a poll wins).
/// Outside a gpm goroutine it does nothing.
pub(crate) fn park(reason: WaitReason) {
    current::with_current(|m| {
        if let Some(m) = m {
            m.wait_reason.set(reason as u8);
        }
    });
}

/// Takes the reason recorded during the poll that just returned `Pending`
/// (`Foreign` if none), and clears it for the next poll.
pub(crate) fn take() -> WaitReason {
    current::with_current(|m| m.map_or(WaitReason::Foreign, |m| WaitReason::from_u8(m.wait_reason.replace(0))))
}
