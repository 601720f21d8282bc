//! `block_on`: the main G. Go's main is goroutine 1 on `m0`; here a
//! `block_on` caller runs main in one of two ways, and no goroutine can hold
//! it hostage by blocking the thread main needs:
//! - [`run_main`], any future (Go's main with `LockOSThread`): the calling
//!   thread polls it and nothing else, borrowing an idle P for each poll
//!   when one is free;
//! - [`run_main_g`], a `Send + 'static` future: it becomes goroutine 1, an
//!   ordinary G that the Ms run; the calling thread waits for its result.

use super::current::MContext;
use super::g::MainG;
use super::m::acquire;
use super::park::{Parker, Wakeup};
use super::shared::Shared;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// The waker of a main G polled on its own thread: sets `woken` and wakes
/// that thread if it sleeps.
struct MainWaker {
    woken: AtomicBool,
    parker: Arc<Parker>,
    main_g: Arc<MainG>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, SeqCst) {
            self.main_g.woken();
            // Woken during its own poll (on its own thread), the flag is
            // enough: the loop looks at it before it sleeps.
            let on_own_thread = super::current::with_current(|cx| {
                cx.is_some_and(|cx| std::ptr::eq(Arc::as_ptr(&cx.parker), Arc::as_ptr(&self.parker)))
            });
            if !on_own_thread {
                self.parker.notify();
            }
        }
    }
}

/// Counts a main goroutine in `Shared::mains` (deadlock detection looks
/// for one) until dropped, and the calling thread in `Shared::callers`
/// (its threads) and its parker in `main_parkers` (woken for a panic or
/// shutdown) while it waits.
struct Caller {
    shared: Arc<Shared>,
    parker: Arc<Parker>,
}

impl Caller {
    fn new(shared: &Arc<Shared>) -> Caller {
        let parker = Arc::new(Parker::new());
        shared
            .main_parkers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(parker.clone());
        shared.callers.fetch_add(1, SeqCst);
        Caller {
            shared: shared.clone(),
            parker,
        }
    }

    /// Panics if a detached goroutine's panic is to be raised here
    /// (`UnhandledPanic::ShutdownRuntime`) or the runtime shut down.
    fn check(&self) {
        let shared = &self.shared;
        if shared.panicked.load(Acquire) {
            let message = shared.panic.lock().unwrap_or_else(|e| e.into_inner()).clone();
            panic!("{}", message.unwrap_or_else(|| "a goroutine panicked".into()));
        }
        if shared.is_shutdown() {
            panic!("gpm runtime shut down while block_on was running");
        }
    }

    /// Sleeps until notified.
    fn sleep(&self) {
        match self.parker.park() {
            Wakeup::Notified | Wakeup::Shutdown => {}
            // Nobody hands a caller a P; should one arrive, pass it on.
            Wakeup::Handoff(p, _) => self.shared.hand_off_p(p),
        }
    }
}

impl Drop for Caller {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.callers.fetch_sub(1, SeqCst);
        shared
            .main_parkers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| !Arc::ptr_eq(p, &self.parker));
    }
}

/// The test aid `Builder::stall_main_start`: the caller sleeps while it
/// sets up its main, as a thread the OS leaves unscheduled would.
fn stall_main_start(shared: &Shared) {
    if let Some(stall) = shared.config.main_start_stall {
        std::thread::sleep(stall);
    }
}

/// Decrements `Shared::mains` when dropped: a main goroutine is over.
struct MainOver(Arc<Shared>);

impl Drop for MainOver {
    fn drop(&mut self) {
        self.0.mains.fetch_sub(1, SeqCst);
    }
}

/// `block_on` for any future, `Send` or not (Go's main with
/// `LockOSThread`): the calling thread polls `future` and nothing else, so
/// that no goroutine can hold main hostage by blocking the thread main is
/// tied to. For each poll it takes an idle P if there is one (what it
/// spawns and readies then goes to that P, as from any goroutine) and hands
/// it on after (Go's `handoffp` when a locked M's goroutine blocks); with
/// none idle it polls without one, beside the Ps (as tokio's `block_on`
/// does), and what it readies goes to the global queue. It never waits for
/// a P.
pub(crate) fn run_main<F: Future>(
    shared: Arc<Shared>,
    future: F,
    location: &'static std::panic::Location<'static>,
) -> F::Output {
    let caller = Caller::new(&shared);
    stall_main_start(&shared);
    let main_g = Arc::new(MainG::new(shared.main_goid(), location));
    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        parker: caller.parker.clone(),
        main_g: main_g.clone(),
    });
    let waker = Waker::from(main.clone());
    let mut task_cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    let cx = MContext::new(shared.clone(), caller.parker.clone());

    shared
        .main_gs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(main_g.clone());
    struct Unlist<'a>(&'a Shared, &'a Arc<MainG>);
    impl Drop for Unlist<'_> {
        fn drop(&mut self) {
            self.0
                .main_gs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|g| !Arc::ptr_eq(g, self.1));
        }
    }
    let _unlist = Unlist(&shared, &main_g);
    // Counted as a main only once listed (and uncounted before it is
    // unlisted: `_over` drops first): deadlock detection must never see a
    // main under way that it cannot find.
    shared.mains.fetch_add(1, SeqCst);
    let _over = MainOver(shared.clone());

    cx.enter(|| loop {
        caller.check();
        if main.woken.swap(false, SeqCst) {
            cx.yield_requested.set(false);
            // Whatever the poll parks on records itself (`wait::park`).
            cx.wait_reason.set(0);
            cx.budget.set(super::preempt::BUDGET);
            cx.slice_grace.set(main_g.take_slice_ended());
            cx.slice_yielded.set(false);
            main_g.start_poll();
            let polled = {
                let _p = MainP::take(&cx);
                super::exectrace::main_start(&main_g);
                cx.poll_holding_p(|| Pin::as_mut(&mut future).poll(&mut task_cx))
            };
            if shared.is_shutdown() {
                // Gs woken during the poll after shutdown (kept until now).
                super::shutdown::drop_deferred();
            }
            if let Poll::Ready(output) = polled {
                super::exectrace::main_stop(&main_g);
                return output;
            }
            main_g.parked(shared.clock.seconds());
            super::exectrace::main_stop(&main_g);
            if main.woken.load(SeqCst) {
                main_g.woken();
            }
            continue;
        }
        caller.sleep();
    })
}

/// An idle P held by a `block_on` thread for one poll of its main, handed
/// on when dropped (also if the poll unwinds).
struct MainP<'a>(&'a MContext);

impl MainP<'_> {
    fn take(cx: &MContext) -> MainP<'_> {
        let shared = &cx.shared;
        if shared.idle.npidle.load(SeqCst) > 0 {
            let p = shared.idle.lock().take_p(&shared.ps);
            if let Some(p) = p {
                acquire(cx, p, false);
            }
        }
        MainP(cx)
    }
}

impl Drop for MainP<'_> {
    fn drop(&mut self) {
        let p = self.0.p.borrow_mut().take();
        if let Some(p) = p {
            self.0.info.p.store(-1, Relaxed);
            self.0.shared.give_back_p(p);
        }
    }
}

/// `block_on` for a `Send + 'static` future (Go's main, without
/// `LockOSThread`): `future` becomes goroutine 1, an ordinary goroutine
/// that any M runs, with a P, and that is stolen, handed over and preempted
/// like any other; the calling thread only waits for its result.
pub(crate) fn run_main_g<F>(
    shared: Arc<Shared>,
    future: F,
    location: &'static std::panic::Location<'static>,
) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let caller = Caller::new(&shared);
    // From here until goroutine 1 is queued, deadlock detection cannot see
    // it (it is counted in `mains` before it exists, so that its future can
    // uncount it): `mains_starting` says that a main is on its way.
    shared.mains_starting.fetch_add(1, SeqCst);
    shared.mains.fetch_add(1, SeqCst);
    let over = MainOver(shared.clone());
    stall_main_start(&shared);
    let goid = shared.main_goid();
    let mut task = shared.spawn_with_goid(
        async move {
            // Dropped with the future, before the result reaches the caller:
            // deadlock detection never sees a finished main as waiting.
            let _over = over;
            future.await
        },
        location,
        goid,
    );
    shared.mains_starting.fetch_sub(1, SeqCst);
    let waker = Waker::from(Arc::new(CallerWaker(caller.parker.clone())));
    let mut task_cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(result) = Pin::new(&mut task).poll(&mut task_cx) {
            return match result {
                Ok(output) => output,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("gpm: the main goroutine did not finish: {e}"),
            };
        }
        caller.check();
        caller.sleep();
    }
}

/// Wakes a thread waiting in [`run_main_g`].
struct CallerWaker(Arc<Parker>);

impl Wake for CallerWaker {
    fn wake(self: Arc<Self>) {
        self.0.notify();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify();
    }
}
