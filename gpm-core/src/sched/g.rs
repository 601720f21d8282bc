//! G: one goroutine, held as an `async_task` task.
//!
//! A G is an [`async_task::Runnable`] whose metadata is a [`GInfo`]: its
//! goroutine id, where it was started, its state, and the runtime it belongs
//! to. The future inside is wrapped in a [`GFuture`], which catches panics,
//! honours `JoinHandle::abort`, counts the G in and out, and lists it in the
//! runtime's [`Registry`](super::registry::Registry) once it first parks.
//!
//! # States (Go's `_Grunnable`, `_Grunning`, `_Gwaiting`)
//! - [`GState::Runnable`]: in a run queue (runnext, a ring, the global queue).
//!   Set when the G is spawned and whenever the schedule function takes it.
//! - [`GState::Running`]: an M is polling it. Set by the G's own poll.
//! - [`GState::Waiting`]: its last poll returned `Pending` and nobody has woken
//!   it since. Set by the G's own poll, with the [`WaitReason`] its leaf
//!   future gave (see `wait.rs`) and the time (whole seconds since the
//!   runtime started, modulo 2^16: dumps print minutes, as Go does).
//!
//! The state is informational (dumps, deadlock checks): correctness rests on
//! `async_task`'s own state machine, so these are relaxed stores. A G that
//! waits on a future gpm did not write (`WaitReason::Foreign`) is counted,
//! on its P, while it waits: deadlock detection must not fire then.

use super::join::JoinError;
use super::registry::UNLISTED;
use super::shared::{Count, Shared};
use super::wait::WaitReason;
use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{
    AtomicBool, AtomicU16, AtomicU32, AtomicU8,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::Arc;
use std::task::{Context, Poll};

/// A runnable G: what the run queues hold.
pub(crate) type G = async_task::Runnable<GInfo>;

/// The goroutine id of the first `block_on` future (Go's `main`).
pub(crate) const MAIN_GOID: u64 = 1;

/// What a G is doing; see the module docs for when each is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GState {
    Runnable,
    Running,
    Waiting(WaitReason),
}

impl GState {
    fn to_u8(self) -> u8 {
        match self {
            GState::Runnable => 0,
            GState::Running => 1,
            GState::Waiting(reason) => 2 + reason as u8,
        }
    }

    fn from_u8(v: u8) -> GState {
        match v {
            0 => GState::Runnable,
            1 => GState::Running,
            v => GState::Waiting(WaitReason::from_u8(v - 2)),
        }
    }
}

/// `GInfo::flags`: `JoinHandle::abort` asked the G to stop.
const ABORTED: u8 = 1;
/// `GInfo::flags`: started with `go!`; nobody can observe its panic.
const DETACHED: u8 = 2;
/// `GInfo::flags`: a main goroutine (`block_on_send`); dumps say "main at".
const MAIN: u8 = 8;
/// `GInfo::flags`: its last poll yielded at the end of its time slice, so
/// the next poll's first leaf operation goes on (see `coop::proceed`).
const SLICE_ENDED: u8 = 4;

/// The metadata of a G, stored in its task's header.
pub(crate) struct GInfo {
    /// The runtime this G runs on; its schedule function reads it from here
    /// so that the schedule closure itself takes no space.
    pub(crate) shared: Arc<Shared>,
    /// Goroutine id: 1 for main, then counting up per runtime.
    pub(crate) goid: u64,
    /// Where `spawn` / `go!` was called.
    pub(crate) location: &'static Location<'static>,
    /// Its slot in the registry, or `UNLISTED` until it first parks.
    pub(crate) registry_key: AtomicU32,
    /// When it last started waiting: seconds since the runtime started,
    /// modulo 2^16 (kept small so the task header stays in 64 bytes).
    since: AtomicU16,
    /// A [`GState`] as `u8`.
    state: AtomicU8,
    /// `ABORTED` (set by `JoinHandle::abort`: the next poll drops the
    /// future), `DETACHED` (set at spawn: a panic is fatal) and
    /// `SLICE_ENDED`.
    flags: AtomicU8,
}

impl GInfo {
    pub(crate) fn new(shared: Arc<Shared>, goid: u64, location: &'static Location<'static>, detached: bool) -> GInfo {
        Self::with_flags(shared, goid, location, if detached { DETACHED } else { 0 })
    }

    /// A main goroutine's metadata (`block_on_send`).
    pub(crate) fn main(shared: Arc<Shared>, goid: u64, location: &'static Location<'static>) -> GInfo {
        Self::with_flags(shared, goid, location, MAIN)
    }

    fn with_flags(shared: Arc<Shared>, goid: u64, location: &'static Location<'static>, flags: u8) -> GInfo {
        GInfo {
            shared,
            goid,
            location,
            registry_key: AtomicU32::new(UNLISTED),
            since: AtomicU16::new(0),
            state: AtomicU8::new(GState::Runnable.to_u8()),
            flags: AtomicU8::new(flags),
        }
    }

    pub(crate) fn set_state(&self, state: GState) {
        self.state.store(state.to_u8(), Relaxed);
    }

    pub(crate) fn state(&self) -> GState {
        GState::from_u8(self.state.load(Relaxed))
    }

    /// When it started waiting, in seconds since the runtime started
    /// (modulo 2^16).
    pub(crate) fn since(&self) -> u16 {
        self.since.load(Relaxed)
    }

    /// A main goroutine (`block_on_send`).
    pub(crate) fn is_main(&self) -> bool {
        self.flags.load(Relaxed) & MAIN != 0
    }

    /// Started with `go!`: nobody can observe its panic, so a panic is fatal.
    pub(crate) fn detached(&self) -> bool {
        self.flags.load(Relaxed) & DETACHED != 0
    }

    pub(crate) fn aborted(&self) -> bool {
        // SeqCst: pairs with `abort`, see there.
        self.flags.load(SeqCst) & ABORTED != 0
    }

    /// Takes the `SLICE_ENDED` mark (the M about to poll the G; only the
    /// G's own polls touch it).
    pub(crate) fn take_slice_ended(&self) -> bool {
        self.flags.load(Relaxed) & SLICE_ENDED != 0 && self.flags.fetch_and(!SLICE_ENDED, Relaxed) & SLICE_ENDED != 0
    }

    /// Asks the G to stop at its next poll. Returns false if already asked.
    pub(crate) fn abort(&self) -> bool {
        // SeqCst: pairs with the G listing itself and then reading the flag.
        self.flags.fetch_or(ABORTED, SeqCst) & ABORTED == 0
    }

    /// Marks the G runnable (the schedule function took it); if it was
    /// waiting on a foreign future, counts that wait as over.
    pub(crate) fn make_runnable(&self) {
        // A load and a store: async-task never runs the schedule function
        // while the G's poll runs (a wake during the poll is applied after
        // it), and only one schedule of a G runs at a time.
        let was = self.state.load(Relaxed);
        self.state.store(GState::Runnable.to_u8(), Relaxed);
        if was == GState::Waiting(WaitReason::Foreign).to_u8() {
            self.shared.count(Count::ForeignResumed);
        }
    }

    /// Marks the G running; if it was waiting on a foreign future, counts
    /// that wait as over.
    fn start_poll(&self) {
        if self.state() == GState::Waiting(WaitReason::Foreign) {
            self.shared.count(Count::ForeignResumed);
        }
        self.set_state(GState::Running);
        super::wait::clear();
    }
}

/// A `block_on` future (a main G): not a task, but listed for dumps and
/// deadlock checks like one.
pub(crate) struct MainG {
    /// 1 for the first `block_on` of a runtime (Go's `main`), then counting
    /// up with the other Gs.
    pub(crate) goid: u64,
    /// Where `block_on` was called.
    pub(crate) location: &'static Location<'static>,
    /// As [`GInfo::since`].
    since: AtomicU16,
    /// A [`GState`] as `u8`.
    state: AtomicU8,
    /// As `GInfo`'s `SLICE_ENDED` mark.
    slice_ended: AtomicBool,
}

impl MainG {
    pub(crate) fn new(goid: u64, location: &'static Location<'static>) -> MainG {
        MainG {
            goid,
            location,
            since: AtomicU16::new(0),
            state: AtomicU8::new(GState::Runnable.to_u8()),
            slice_ended: AtomicBool::new(false),
        }
    }

    pub(crate) fn state(&self) -> GState {
        GState::from_u8(self.state.load(Relaxed))
    }

    pub(crate) fn since(&self) -> u16 {
        self.since.load(Relaxed)
    }

    /// Before a poll.
    pub(crate) fn start_poll(&self) {
        self.state.store(GState::Running.to_u8(), Relaxed);
        super::wait::clear();
    }

    /// As [`GInfo::take_slice_ended`].
    pub(crate) fn take_slice_ended(&self) -> bool {
        self.slice_ended.swap(false, Relaxed)
    }

    /// After a poll that returned `Pending`.
    pub(crate) fn parked(&self, seconds: u16) {
        self.slice_ended.store(super::preempt::end_poll(), Relaxed);
        let reason = super::wait::take();
        self.since.store(seconds, Relaxed);
        // SeqCst: deadlock detection reads it after seeing every P idle.
        self.state.store(GState::Waiting(reason).to_u8(), SeqCst);
    }

    /// When woken.
    pub(crate) fn woken(&self) {
        self.state.store(GState::Runnable.to_u8(), SeqCst);
    }
}

pin_project_lite::pin_project! {
    /// The future of a G: the user's future plus gpm's bookkeeping.
    ///
    /// The user's future is dropped by gpm, inside `catch_unwind`, never by
    /// async-task (which aborts the process when a future's destructor
    /// panics): in `poll` as soon as it is done or aborted, so that a
    /// panicking destructor becomes the `JoinError` (as tokio does), else
    /// in this type's own drop (shutdown, a dropped `Runnable`), where the
    /// panic goes to the runtime's `UnhandledPanic` rule.
    pub(crate) struct GFuture<F> {
        // Points at this task's own `GInfo`, which lives in the same
        // allocation's header and so outlives the future.
        info: *const GInfo,
        #[pin]
        future: ManuallyDrop<F>,
        // The user's future has been dropped.
        dropped: bool,
    }

    impl<F> PinnedDrop for GFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // SAFETY: `info` points into this task's header (see `GFuture::new`),
            // which is freed only after the future has been dropped.
            let info = unsafe { &**this.info };
            info.shared.registry.remove(info);
            if info.state() == GState::Waiting(WaitReason::Foreign) {
                info.shared.count(Count::ForeignResumed);
            }
            info.shared.count(Count::Exited);
            if let Err(payload) = drop_future(this.future, this.dropped) {
                // Nobody can see this panic but the runtime's rule.
                drop(info.shared.unhandled_panic(info, payload));
            }
        }
    }
}

/// Drops the user's future in place, once, catching a panic of its
/// destructor.
fn drop_future<F>(future: Pin<&mut ManuallyDrop<F>>, dropped: &mut bool) -> std::thread::Result<()> {
    if std::mem::replace(dropped, true) {
        return Ok(());
    }
    // SAFETY: the future is dropped in place (Pin's drop guarantee holds)
    // and only once (`dropped`); it is never polled or touched again.
    let future = unsafe { future.get_unchecked_mut() };
    // SAFETY: as above: `future` is valid and dropped exactly once.
    catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(future) }))
}

// SAFETY: `info` is only read, and `GInfo` is `Sync`; the pointer is a
// back-reference into the task that owns this future.
unsafe impl<F: Send> Send for GFuture<F> {}

impl<F: Future> GFuture<F> {
    /// Wraps `future`.
    ///
    /// # Safety
    /// `info` must point at the metadata of the task that will own this
    /// future (async-task's `Builder::spawn` passes it to the closure that
    /// builds the future), so that it stays valid while the future lives.
    pub(crate) unsafe fn new(info: *const GInfo, future: F) -> GFuture<F> {
        GFuture {
            info,
            future: ManuallyDrop::new(future),
            dropped: false,
        }
    }
}

impl<F: Future> Future for GFuture<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // SAFETY: see `PinnedDrop` above: the header outlives the future.
        let info = unsafe { &**this.info };
        info.start_poll();
        if *this.dropped {
            // Done already (not reachable: a finished task is not polled).
            return Poll::Ready(Err(JoinError::cancelled(info.goid)));
        }
        if info.aborted() {
            return Poll::Ready(match drop_future(this.future, this.dropped) {
                Ok(()) => Err(JoinError::cancelled(info.goid)),
                Err(payload) => Err(JoinError::panic(info.goid, payload)),
            });
        }
        // SAFETY: `ManuallyDrop` is a transparent wrapper and the future is
        // pinned through it (structural pinning); it has not been dropped.
        let future = unsafe { this.future.as_mut().map_unchecked_mut(|f| &mut **f) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(match drop_future(this.future, this.dropped) {
                Ok(()) => Ok(output),
                Err(payload) => {
                    drop(output);
                    Err(panic_of(info, payload))
                }
            }),
            Ok(Poll::Pending) => {
                if super::preempt::end_poll() {
                    info.flags.fetch_or(SLICE_ENDED, Relaxed);
                }
                let reason = super::wait::take();
                if reason == WaitReason::Foreign {
                    info.shared.count(Count::ForeignParked);
                }
                info.since.store(info.shared.clock.seconds(), Relaxed);
                info.set_state(GState::Waiting(reason));
                if info.registry_key.load(Relaxed) == UNLISTED {
                    // First park: list it, so that shutdown and `abort` can
                    // reach it while it waits.
                    info.shared.registry.insert(info, cx.waker().clone());
                    if info.aborted() {
                        // `abort` looked before we were listed: wake ourselves.
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Err(payload) => {
                // The poll's panic is the one reported; one from the
                // destructor after it is dropped.
                drop(drop_future(this.future, this.dropped));
                Poll::Ready(Err(panic_of(info, payload)))
            }
        }
    }
}

/// The `JoinError` of a goroutine's panic; for a detached goroutine, after
/// the runtime's `UnhandledPanic` rule (nobody can observe it).
fn panic_of(info: &GInfo, payload: Box<dyn Any + Send>) -> JoinError {
    let payload = if info.detached() {
        info.shared.unhandled_panic(info, payload)
    } else {
        payload
    };
    JoinError::panic(info.goid, payload)
}

/// The text of a panic payload, as `panic!` formatted it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}
