//! G: one goroutine, held as an `async_task` task.
//!
//! A [`G`] is an [`async_task::Runnable`] whose metadata is a [`GInfo`]: its
//! goroutine id, where it was started, its state, and the runtime it belongs
//! to. The future inside is wrapped in a [`GFuture`], which catches panics,
//! honours `JoinHandle::abort`, counts the G in and out, and lists it in the
//! runtime's [`Registry`](super::registry::Registry) once it first parks.
//!
//! # Bytes (see "Bytes per parked goroutine" in BENCHMARKS.md)
//! A parked G is its task allocation plus a 16-byte registry slot. The
//! task is async-task's 32-byte header, the 24-byte `GInfo`, and the user's
//! future: `GFuture` adds no byte to it. It has no pointer back to its
//! `GInfo`: async-task polls or drops a task's future only inside
//! `Runnable::run` and `Runnable`'s drop (a `Waker` or the `Task` handle
//! reschedules instead), and [`G`], the only owner of a G's `Runnable`,
//! names the G in a thread-local ([`Entered`]) around both. Its "dropped"
//! mark is a flag of `GInfo`. `GInfo` keeps the spawn site as a 16-bit id
//! (`site.rs`) beside a 48-bit goroutine id.
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
use super::p::IntoRaw;
use super::registry::UNLISTED;
use super::shared::{Count, Shared};
use super::site;
use super::wait::WaitReason;
use async_task::ScheduleInfo;
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::atomic::{
    AtomicBool, AtomicU16, AtomicU32, AtomicU8,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::Arc;
use std::task::{Context, Poll};

/// A runnable G: what the run queues hold. The only owner of a G's
/// `async_task::Runnable`: running or dropping it names the G in
/// [`CURRENT`], where its [`GFuture`] finds its `GInfo`.
pub(crate) struct G(ManuallyDrop<async_task::Runnable<GInfo>>);

/// The task of a goroutine: what `JoinHandle` holds.
pub(crate) type Task<T> = async_task::Task<Result<T, JoinError>, GInfo>;

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
/// `GInfo::flags`: the user's future has been dropped (set by the G's own
/// poll or drop, see `drop_future`).
const DROPPED: u8 = 16;
/// `GInfo::flags`: `since` holds the time it became runnable (a metrics
/// stamp, see `metrics.rs`), for its next poll to measure its wait.
const STAMPED: u8 = 32;

/// Bits of `GInfo::id` that hold the goroutine id; the 16 above them hold
/// the spawn site's id (`site.rs`). Goroutine ids wrap after 2^48 (281
/// trillion: nine years at a million spawns a second).
const GOID_BITS: u32 = 48;
const GOID_MASK: u64 = (1 << GOID_BITS) - 1;

/// The metadata of a G, stored in its task's header: 24 bytes.
pub(crate) struct GInfo {
    /// The runtime this G runs on; its schedule function reads it from here
    /// so that the schedule closure itself takes no space.
    pub(crate) shared: Arc<Shared>,
    /// The goroutine id (1 for main, then counting up per runtime) in the
    /// low `GOID_BITS`, the id of its spawn site above them.
    id: u64,
    /// Its slot in the registry, or `UNLISTED` until it first parks.
    pub(crate) registry_key: AtomicU32,
    /// When it last started waiting: seconds since the runtime started,
    /// modulo 2^16 (kept small so that `GInfo` stays in 24 bytes).
    since: AtomicU16,
    /// A [`GState`] as `u8`.
    state: AtomicU8,
    /// `ABORTED` (set by `JoinHandle::abort`: the next poll drops the
    /// future), `DETACHED` (set at spawn: a panic is fatal), `MAIN`,
    /// `SLICE_ENDED` and `DROPPED`.
    flags: AtomicU8,
}

// The budget of "Bytes per parked goroutine" (BENCHMARKS.md): async-task's
// 32-byte header plus this must leave a 48-byte future in glibc's 112-byte
// chunk.
const _: () = assert!(std::mem::size_of::<GInfo>() == 24);

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
            id: (goid & GOID_MASK) | u64::from(site::intern(location)) << GOID_BITS,
            registry_key: AtomicU32::new(UNLISTED),
            since: AtomicU16::new(0),
            state: AtomicU8::new(GState::Runnable.to_u8()),
            flags: AtomicU8::new(flags),
        }
    }

    /// Goroutine id: 1 for main, then counting up per runtime (modulo
    /// 2^48).
    pub(crate) fn goid(&self) -> u64 {
        self.id & GOID_MASK
    }

    /// The id of its spawn site (`site.rs`), for the execution trace.
    pub(crate) fn site_id(&self) -> u16 {
        (self.id >> GOID_BITS) as u16
    }

    /// Where `spawn` / `go!` was called.
    pub(crate) fn location(&self) -> &'static Location<'static> {
        site::location((self.id >> GOID_BITS) as u16)
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
        if super::metrics::sampling() {
            self.stamp_runnable();
        }
    }

    /// Notes when the G became runnable, in `since` (unused until it
    /// waits again), for `/sched/latencies:seconds`.
    #[cold]
    #[inline(never)]
    fn stamp_runnable(&self) {
        if !self.shared.histograms.on {
            return;
        }
        self.since.store(super::metrics::stamp(), Relaxed);
        self.flags.fetch_or(STAMPED, Relaxed);
    }

    /// The poll starts: adds the time since [`GInfo::stamp_runnable`] to
    /// the latency histogram.
    #[cold]
    #[inline(never)]
    fn sample_latency(&self) {
        if !self.shared.histograms.on {
            return;
        }
        if self.flags.fetch_and(!STAMPED, Relaxed) & STAMPED != 0 {
            let waited = super::metrics::since_stamp(self.since.load(Relaxed));
            self.shared.histograms.latencies.add(waited);
        }
    }

    /// Marks the G running; if it was waiting on a foreign future, counts
    /// that wait as over.
    fn start_poll(&self) {
        if self.state() == GState::Waiting(WaitReason::Foreign) {
            self.shared.count(Count::ForeignResumed);
        }
        if super::metrics::sampling() {
            self.sample_latency();
        }
        // The M cleared its wait reason before this poll (`m.rs`).
        self.set_state(GState::Running);
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
        // The `block_on` loop cleared its wait reason before this poll.
        self.state.store(GState::Running.to_u8(), Relaxed);
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

thread_local! {
    /// The G whose task this thread is running or dropping, set by [`G`]
    /// (through [`Entered`]) around `Runnable::run` and `Runnable`'s drop:
    /// how a [`GFuture`] finds its `GInfo`. Null outside them.
    static CURRENT: Cell<*const GInfo> = const { Cell::new(ptr::null()) };
}

/// The goroutine id of the G this thread is running, if any (the execution
/// trace's "who readied whom").
pub(crate) fn current_goid() -> Option<u64> {
    let info = CURRENT.get();
    // SAFETY: `CURRENT` names, while non-null, the `GInfo` of the task this
    // thread is running or dropping (see `own_info`), which lives at least
    // until `Entered` names another.
    unsafe { info.as_ref() }.map(GInfo::goid)
}

/// Names a G in [`CURRENT`] until dropped, then names again the one it
/// replaced (a G dropped inside another G's poll, at shutdown, nests).
struct Entered {
    previous: *const GInfo,
}

impl Entered {
    fn new(info: *const GInfo) -> Entered {
        Entered {
            previous: CURRENT.replace(info),
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

impl G {
    /// Builds a G around `future`, with `info` as its metadata and
    /// `schedule` (which takes no space) as its schedule function. The G
    /// is not scheduled yet.
    pub(crate) fn spawn<F, S>(future: F, info: GInfo, schedule: S) -> (G, Task<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Fn(G, ScheduleInfo) + Send + Sync + 'static,
    {
        const { assert!(std::mem::size_of::<S>() == 0, "a G's schedule function takes no space") };
        let (runnable, task) = async_task::Builder::new().metadata(info).spawn(
            |_: &GInfo| GFuture {
                future: ManuallyDrop::new(future),
            },
            // Every `Runnable` of the task is wrapped the moment async-task
            // gives it out: here, and in the schedule function.
            async_task::WithInfo(move |runnable, info| schedule(G::new(runnable), info)),
        );
        (G::new(runnable), task)
    }

    fn new(runnable: async_task::Runnable<GInfo>) -> G {
        G(ManuallyDrop::new(runnable))
    }

    pub(crate) fn metadata(&self) -> &GInfo {
        self.0.metadata()
    }

    /// Takes the `Runnable` out, for a method that consumes it.
    fn into_runnable(self) -> async_task::Runnable<GInfo> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used again, and being `ManuallyDrop` its
        // drop (which would take the runnable a second time) never runs.
        unsafe { ManuallyDrop::take(&mut this.0) }
    }

    /// Polls the G once (`Runnable::run`), named in [`CURRENT`].
    pub(crate) fn run(self) -> bool {
        let runnable = self.into_runnable();
        let _entered = Entered::new(runnable.metadata());
        runnable.run()
    }

    /// Hands the G to its schedule function (`Runnable::schedule`).
    pub(crate) fn schedule(self) {
        self.into_runnable().schedule();
    }
}

impl Drop for G {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once, and nothing touches `self.0` after it.
        let runnable = unsafe { ManuallyDrop::take(&mut self.0) };
        // Dropping a `Runnable` that has not completed drops its future.
        let _entered = Entered::new(runnable.metadata());
        drop(runnable);
    }
}

impl IntoRaw for G {
    fn into_raw(self) -> NonNull<()> {
        self.into_runnable().into_raw()
    }

    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: the caller passes a pointer from `G::into_raw`, once.
        G::new(unsafe { async_task::Runnable::from_raw(ptr) })
    }
}

pin_project_lite::pin_project! {
    /// The future of a G: the user's future plus gpm's bookkeeping, none
    /// of it in this type (it is as big as the user's future): its `GInfo`
    /// is the one named in [`CURRENT`] whenever it is polled or dropped.
    ///
    /// The user's future is dropped by gpm, inside `catch_unwind`, never by
    /// async-task (which aborts the process when a future's destructor
    /// panics): in `poll` as soon as it is done or aborted, so that a
    /// panicking destructor becomes the `JoinError` (as tokio does), else
    /// in this type's own drop (shutdown, a dropped `Runnable`), where the
    /// panic goes to the runtime's `UnhandledPanic` rule.
    struct GFuture<F> {
        #[pin]
        future: ManuallyDrop<F>,
    }

    impl<F> PinnedDrop for GFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let info = own_info();
            let this = this.project();
            info.shared.registry.remove(info);
            if info.state() == GState::Waiting(WaitReason::Foreign) {
                info.shared.count(Count::ForeignResumed);
            }
            info.shared.count(Count::Exited);
            if let Err(payload) = drop_future(this.future, info) {
                // Nobody can see this panic but the runtime's rule.
                drop(info.shared.unhandled_panic(info, payload));
            }
        }
    }
}

/// The `GInfo` of the task whose future this thread polls or drops: the one
/// [`CURRENT`] names. Called by `GFuture`'s poll and drop only, and used
/// no longer than they run.
fn own_info<'a>() -> &'a GInfo {
    let info = CURRENT.get();
    assert!(
        !info.is_null(),
        "a goroutine's future was polled or dropped outside its G"
    );
    // SAFETY: a `GFuture` is built only by `G::spawn`, as the future of a
    // task whose every `Runnable` is owned by a `G` from the moment
    // async-task gives it out. async-task polls or drops a task's future
    // only inside `Runnable::run` and `Runnable`'s drop, which `G` calls
    // with `CURRENT` naming that task's `GInfo` (and names the previous G
    // again after them, so a nested G does not leave its own behind). So
    // `info` is this future's task's metadata, which lives in the task's
    // header and is freed only after the future has been dropped.
    unsafe { &*info }
}

/// Drops the user's future in place, once (the G's `DROPPED` flag),
/// catching a panic of its destructor.
fn drop_future<F>(future: Pin<&mut ManuallyDrop<F>>, info: &GInfo) -> std::thread::Result<()> {
    // Relaxed: only the G's own poll and drop touch the flag, and
    // async-task orders those. A load and a store, not a read-modify-write
    // (one per goroutine, on the spawn-heavy rows): of the other flags, only
    // `ABORTED` is set from other threads, and an `abort` lost to this store
    // had nothing left to stop.
    let flags = info.flags.load(Relaxed);
    if flags & DROPPED != 0 {
        return Ok(());
    }
    info.flags.store(flags | DROPPED, Relaxed);
    // SAFETY: the future is dropped in place (Pin's drop guarantee holds)
    // and only once (`DROPPED`); it is never polled or touched again.
    let future = unsafe { future.get_unchecked_mut() };
    // SAFETY: as above: `future` is valid and dropped exactly once.
    catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(future) }))
}

impl<F: Future> Future for GFuture<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let info = own_info();
        let mut this = self.project();
        info.start_poll();
        super::exectrace::go_start(info);
        if info.flags.load(Relaxed) & DROPPED != 0 {
            // Done already (not reachable: a finished task is not polled).
            super::exectrace::go_finish(info);
            return Poll::Ready(Err(JoinError::cancelled(info.goid())));
        }
        if info.aborted() {
            super::exectrace::go_finish(info);
            return Poll::Ready(match drop_future(this.future, info) {
                Ok(()) => Err(JoinError::cancelled(info.goid())),
                Err(payload) => Err(JoinError::panic(info.goid(), payload)),
            });
        }
        // SAFETY: `ManuallyDrop` is a transparent wrapper and the future is
        // pinned through it (structural pinning); it has not been dropped.
        let future = unsafe { this.future.as_mut().map_unchecked_mut(|f| &mut **f) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(output)) => {
                super::exectrace::go_finish(info);
                Poll::Ready(match drop_future(this.future, info) {
                    Ok(()) => Ok(output),
                    Err(payload) => {
                        drop(output);
                        Err(panic_of(info, payload))
                    }
                })
            }
            Ok(Poll::Pending) => {
                let end = super::preempt::end_pending_poll();
                super::exectrace::go_pending(info, end.yielded, end.slice_ended, end.reason);
                if end.slice_ended {
                    info.flags.fetch_or(SLICE_ENDED, Relaxed);
                }
                if end.yielded {
                    // Go's `Gosched`: runnable at once, never waiting (and
                    // not counted as a wait on a foreign future).
                    info.set_state(GState::Runnable);
                } else {
                    if end.reason == WaitReason::Foreign {
                        info.shared.count(Count::ForeignParked);
                    }
                    info.since.store(info.shared.clock.seconds(), Relaxed);
                    info.set_state(GState::Waiting(end.reason));
                }
                if info.registry_key.load(Relaxed) == UNLISTED {
                    // First park: list it, so that shutdown and `abort` can
                    // reach it while it waits. `cx`'s waker is async-task's
                    // waker of this task (the registry checks).
                    info.shared.registry.insert(info, cx.waker().clone());
                    if info.aborted() {
                        // `abort` looked before we were listed: wake ourselves.
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Err(payload) => {
                super::exectrace::go_finish(info);
                // The poll's panic is the one reported; one from the
                // destructor after it is dropped.
                drop(drop_future(this.future, info));
                Poll::Ready(Err(panic_of(info, payload)))
            }
        }
    }
}

/// The `JoinError` of a goroutine's panic; for a detached goroutine, after
/// the runtime's `UnhandledPanic` rule (nobody can observe it).
fn panic_of(info: &GInfo, payload: Box<dyn Any + Send>) -> JoinError {
    info.shared.report_shake_seed();
    let payload = if info.detached() {
        info.shared.unhandled_panic(info, payload)
    } else {
        payload
    };
    JoinError::panic(info.goid(), payload)
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

#[cfg(test)]
mod tests {
    use crate::runtime::Builder;

    /// The paths that find a `GInfo` without a pointer to it: a G's polls
    /// and drops (`CURRENT`), and its registry entry (the waker): a parked
    /// G is dumped with its id, wait reason and spawn site, one is aborted
    /// through its handle, one finishes, one is dropped at shutdown.
    #[test]
    fn parked_gs_are_dumped_aborted_finished_and_dropped_at_shutdown() {
        let rt = Builder::new().procs(1).deadlock_detection(false).build().unwrap();
        let (ch, other) = (crate::chan::chan::<u32>(0), crate::chan::chan::<u32>(0));
        let (aborted, finished, kept) = rt.block_on(async {
            let (a, b, c) = (other.clone(), ch.clone(), other.clone());
            let aborted = crate::spawn(async move { a.recv().await });
            let finished = crate::spawn(async move { b.recv().await });
            let kept = crate::spawn(async move { c.recv().await });
            (aborted, finished, kept)
        });
        let paragraphs: Vec<String> = [&aborted, &finished, &kept]
            .iter()
            .map(|h| format!("goroutine {} [chan receive]:\ncreated at {}:", h.id(), file!()))
            .collect();
        // The Gs park on the runtime's M, while this thread goes on.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let dump = rt.dump();
            if paragraphs.iter().all(|p| dump.contains(p.as_str())) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{dump}");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        aborted.abort();
        let (aborted, finished) = rt.block_on(async {
            ch.send(7).await.unwrap();
            (aborted.await, finished.await)
        });
        assert!(!kept.is_finished());
        assert!(aborted.unwrap_err().is_cancelled());
        assert_eq!(finished.unwrap(), Some(7));
        drop(rt);
        assert!(crate::runtime::Runtime::new()
            .unwrap()
            .block_on(kept)
            .unwrap_err()
            .is_cancelled());
    }
}
