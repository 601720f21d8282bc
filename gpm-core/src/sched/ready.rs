//! Readying Gs: the schedule function every G is built with (Go's `ready`:
//! `runqput` + `wakep`), injecting Gs from outside any P (`injectglist`),
//! the netpoller's batches, and spawning (`newproc`).

use super::current;
use super::g::{GInfo, G};
use super::join::{JoinError, JoinHandle};
use super::p::{PLocal, Put};
use super::shared::{Count, Shared};
use super::shutdown::drop_at_shutdown;
use async_task::ScheduleInfo;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

impl Shared {
    // ----- readying Gs ---------------------------------------------------

    /// Makes a G runnable from outside any P (Go's `injectglist`): the global
    /// queue, then `wakep`.
    pub(crate) fn inject(&self, g: G) {
        if self.is_shutdown() {
            // The runtime is gone: dropping the runnable drops the future.
            drop_at_shutdown(g);
            return;
        }
        g.metadata().make_runnable();
        self.global.push(g);
        self.wakep();
    }

    /// Makes `gs` runnable from outside any P, as one batch (Go's
    /// `injectglist` without a P): one lock of the global queue, then an M
    /// started for each G on an idle P, as far as there are idle Ps, except
    /// for `own` of them, which the calling M runs itself (it has just taken
    /// a P for them). With no M started and none running them, `wakep`
    /// leaves `needspinning` for the next M that would sleep.
    pub(crate) fn inject_batch(&self, gs: Vec<G>, own: usize) {
        if gs.is_empty() {
            return;
        }
        if self.is_shutdown() {
            gs.into_iter().for_each(drop_at_shutdown);
            return;
        }
        let n = gs.len();
        self.global
            .push_all(gs.into_iter().inspect(|g| g.metadata().make_runnable()));
        let wanted = n.saturating_sub(own);
        if wanted == 1 && own == 0 {
            self.wakep();
            return;
        }
        let mut started = 0;
        while started < wanted {
            let Some(p) = self.idle.lock().take_p(&self.ps) else {
                break;
            };
            self.start_m(p, false);
            started += 1;
        }
        if started == 0 && own == 0 {
            self.wakep();
        }
    }

    /// Polls the network from a thread without a P (the poller M, sysmon)
    /// and returns the goroutines it readied, not yet runnable: the caller
    /// injects them ([`Shared::inject_batch`]).
    pub(crate) fn collect_network(&self, timeout: Option<std::time::Duration>) -> Vec<G> {
        let me: *const Shared = self;
        let outer = BATCH.with(|b| {
            b.replace(Some(Batch {
                shared: me,
                gs: Vec::new(),
            }))
        });
        self.netpoll.poll(timeout);
        let batch = BATCH.with(|b| b.replace(outer));
        batch.map(|b| b.gs).unwrap_or_default()
    }

    /// Polls the network from a thread without a P and injects the
    /// goroutines it readied as one batch.
    pub(crate) fn poll_network(&self, timeout: Option<std::time::Duration>) {
        let gs = self.collect_network(timeout);
        self.inject_batch(gs, 0);
    }

    // ----- spawning ------------------------------------------------------

    /// Go's `newproc`: creates a G for `future` and makes it runnable. From
    /// a G of this runtime it goes to the current P's runnext; from anywhere
    /// else to the global queue.
    pub(crate) fn spawn<F>(self: &Arc<Shared>, future: F, location: &'static Location<'static>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        JoinHandle::new(self.spawn_as(future, GInfo::new(self.clone(), self.next_goid(), location, false)))
    }

    /// [`Shared::spawn`] of a detached G (`go!`): nobody awaits it, and its
    /// panic follows the `UnhandledPanic` rule.
    pub(crate) fn go<F>(self: &Arc<Shared>, future: F, location: &'static Location<'static>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_as(future, GInfo::new(self.clone(), self.next_goid(), location, true))
            .detach();
    }

    /// [`Shared::spawn`] of goroutine 1: a `Send` main (`block_on_send`).
    pub(crate) fn spawn_with_goid<F>(
        self: &Arc<Shared>,
        future: F,
        location: &'static Location<'static>,
        goid: u64,
    ) -> async_task::Task<Result<F::Output, JoinError>, GInfo>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_as(future, GInfo::main(self.clone(), goid, location))
    }

    fn spawn_as<F>(self: &Arc<Shared>, future: F, info: GInfo) -> async_task::Task<Result<F::Output, JoinError>, GInfo>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (g, task) = G::spawn(future, info, schedule);
        self.count(Count::Spawned);
        // Go's `newproc` always calls `wakep`: a new G is new work, and the
        // spawner often goes on running (or blocks its thread, as tokio's
        // benchmarks do inside `block_on`), so another M should look.
        // `schedule` calls it once, even for a G put in an empty runnext
        // (which it skips for a wake, where the waker usually parks next).
        let previous = current::with_current(|cx| cx.map(|cx| cx.spawning.replace(true)));
        g.schedule();
        if let Some(previous) = previous {
            current::with_current(|cx| cx.map(|cx| cx.spawning.set(previous)));
        }
        task
    }
}

/// Goroutines readied during a [`Shared::poll_network`] on this thread,
/// injected together when it ends.
struct Batch {
    shared: *const Shared,
    gs: Vec<G>,
}

thread_local! {
    static BATCH: std::cell::RefCell<Option<Batch>> = const { std::cell::RefCell::new(None) };
}

/// Adds `g` to this thread's batch if one is open for `g`'s runtime; gives
/// it back otherwise.
fn batch(g: G) -> Option<G> {
    BATCH.with(|b| {
        let Ok(mut b) = b.try_borrow_mut() else {
            return Some(g);
        };
        match b.as_mut() {
            Some(batch) if std::ptr::eq(batch.shared, Arc::as_ptr(&g.metadata().shared)) => {
                // Runnable from now on, though queued only when the batch
                // ends: deadlock detection must not see it still waiting.
                g.metadata().make_runnable();
                batch.gs.push(g);
                None
            }
            _ => Some(g),
        }
    })
}

/// The schedule function of every G: called when a G is woken (and once at
/// spawn). Go's `ready` / `runqput(next)` + `wakep`.
///
/// - On an M of the G's runtime that holds a P: a G woken while it was
///   running (it woke itself) goes to the ring's tail, or to the global
///   queue if it called `yield_now`; any other G goes to runnext.
/// - Anywhere else (a std thread, another runtime, an M without a P): the
///   global queue.
fn schedule(g: G, info: ScheduleInfo) {
    super::exectrace::wake(g.metadata(), info.woken_while_running);
    let done = current::with_current(|cx| {
        let Some(cx) = cx.filter(|cx| std::ptr::eq(Arc::as_ptr(&cx.shared), Arc::as_ptr(&g.metadata().shared))) else {
            return Some(g);
        };
        let shared = &*cx.shared;
        if shared.is_shutdown() {
            // Not dropped here: whoever calls a waker may hold a lock that
            // the G's drop needs (h2 wakes a stream's task with the stream
            // lock held). This thread drops it after its poll.
            super::shutdown::defer_drop(g);
            return None;
        }
        if info.woken_while_running && cx.polled().is_some() {
            // The G this M is polling, scheduled as its poll returns: it
            // is queued when the P leaves its hold, a moment from now.
            // `yield_requested` stays set for `requeue_self_woken`.
            match cx.self_woken.take() {
                None => {
                    g.metadata().make_runnable();
                    cx.self_woken.set(Some(g));
                    return None;
                }
                // Not expected (one G per poll): queue it the usual way.
                earlier => cx.self_woken.set(earlier),
            }
        }
        let g = match fill_runnext_during_poll(cx, g, &info) {
            Ok(()) => {
                // As for `Put::RunNext` below.
                if cx.spawning.get() {
                    shared.wakep();
                }
                return None;
            }
            Err(g) => g,
        };
        let mut g = Some(g);
        let put = cx.with_p(|p| {
            let g = g.take().expect("schedule ran twice");
            put_local(cx, p, g, &info)
        });
        if g.is_some() {
            // No P here (or it is in use further up this stack).
            return g;
        }
        // A G that went into an empty runnext is nothing new for other Ms:
        // this M runs it as soon as the current poll returns. Waking an M
        // for it (Go's `wakep` on every `ready`) costs a futex wake per
        // message in a ping-pong, and the woken M finds nothing to steal.
        // If the poll does not return soon (it blocks its thread), sysmon
        // calls `wakep` within a tick or two, and that M steals runnext.
        if !matches!(put, Some(Put::RunNext | Put::Yielded)) || cx.spawning.get() {
            shared.wakep();
        }
        None
    });
    if let Some(g) = done.and_then(batch) {
        let shared = g.metadata().shared.clone();
        shared.inject(g);
    }
}

/// The common wake during a poll (a channel or a lock handing over to a
/// parked G): runnext is empty, so `g` goes there with one CAS, without
/// taking the P out of its hold for a moment (a CAS and a store on the
/// hold's word, then a swap of runnext). `Err(g)` when this is not that
/// case: the caller queues `g` the usual way.
///
/// If sysmon took the P from the hold before the CAS, it may have left the
/// P idle without seeing `g`: then `g` is taken back out (unless somebody
/// already runs it) and goes to the global queue. The check and sysmon's
/// are ordered by `RunNext::fill`'s rule, so one of them sees the other.
fn fill_runnext_during_poll(cx: &super::current::MContext, g: G, info: &ScheduleInfo) -> Result<(), G> {
    let shared = &*cx.shared;
    let Some(ps) = cx.polled() else {
        return Err(g);
    };
    // The cases `queue_local` does not send to runnext.
    if info.woken_while_running || cx.netpolling.get() || shared.config.shake.is_some() {
        return Err(g);
    }
    if ps.has_runnext() {
        return Err(g);
    }
    // Runnable before anyone can take it.
    g.metadata().make_runnable();
    let seen = ps.fill_runnext(g)?;
    if !ps.hold.is_held_by(cx.id) {
        if let Some(g) = ps.take_runnext_if(seen) {
            shared.inject(g);
        }
    }
    Ok(())
}

/// The local half of `schedule`: puts `g` on P `p` of the current M.
fn put_local(cx: &super::current::MContext, p: &mut PLocal, g: G, info: &ScheduleInfo) -> Put {
    g.metadata().make_runnable();
    queue_local(cx, p, g, info.woken_while_running)
}

/// Queues the runnable `g` on P `p` of the current M. A G woken while it
/// was running (it woke itself) goes to the ring's tail, or where Go's
/// `Gosched` puts it if it yielded; so does a G readied by this M's poll
/// of the network (`MContext::netpolling`); any other G goes to runnext.
fn queue_local(cx: &super::current::MContext, p: &mut PLocal, g: G, woken_while_running: bool) -> Put {
    let shared = &*cx.shared;
    if woken_while_running && cx.yield_requested.replace(false) {
        return queue_yielded(shared, p, g);
    }
    // Under `GPM_SHAKE`, skip runnext at random (from the seed's stream,
    // `shake.rs`): code that relies on a readied G running next (it may
    // not: thieves take runnext too) fails the test suite instead of
    // production.
    let shaken = shared.config.shake.is_some() && cx.random() & 1 == 0;
    let next = !(woken_while_running || shaken || cx.netpolling.get());
    let put = p.put(&shared.ps[p.id], g, next, &shared.global);
    if put == Put::Spilled {
        shared.counters.spills.fetch_add(1, Relaxed);
        super::exectrace::spill(p.id);
    }
    put
}

/// The P is back from its hold after a poll whose G woke itself
/// (`MContext::self_woken`, already runnable): queues the G on it as
/// `schedule` would have during the poll, and wakes an M as it would.
pub(super) fn requeue_self_woken(cx: &super::current::MContext, p: &mut PLocal, g: G) {
    let put = queue_local(cx, p, g, true);
    debug_assert!(put != Put::RunNext);
    if put != Put::Yielded {
        cx.shared.wakep();
    }
}

/// Go's `Gosched` for `g`, on P `p`: the global queue's tail (see
/// `global.rs`). With that queue empty, the tail of this P's ring is the
/// same place in the order, and no lock. Otherwise this P's list stands
/// for the tail until it next looks at the queue, or until its M, before
/// its next poll, sees a P idle or an M spinning (`m::flush_yielded`).
fn queue_yielded(shared: &Shared, p: &mut PLocal, g: G) -> Put {
    if p.yielded.is_empty() && shared.global.is_empty() {
        if p.ring.push_back(g, &shared.global) {
            shared.counters.spills.fetch_add(1, Relaxed);
            super::exectrace::spill(p.id);
        }
        Put::Queued
    } else {
        p.yielded.push(g);
        p.publish_yielded(&shared.ps[p.id]);
        Put::Yielded
    }
}
