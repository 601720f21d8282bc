//! M: an OS thread running the scheduler loop (Go's `mstart`, `schedule`,
//! `findRunnable`, `stealWork`, `stopm`).
//!
//! An M needs a P to run Gs. Worker Ms are threads the runtime starts when
//! a P has work and no M (`startm`); they park on the idle list when there is
//! nothing to do and are reused. A `block_on` caller is no worker: it polls
//! its own main future and nothing else, or, for a `Send` main, waits
//! while goroutine 1 runs on the Ms (see `block_on.rs`). Either way no
//! goroutine can hold main hostage by blocking main's thread.
//!
//! # Where an M looks for work (Go's `findRunnable`)
//! 1. every 61st schedtick, one G from the global queue (fairness);
//! 2. the P's runnext, then its ring;
//! 3. a batch from the global queue;
//! 4. stealing, if this M may spin: 4 rounds over all Ps in random order,
//!    half of a victim's ring; in the last round a victim's runnext;
//! 5. otherwise release the P (recheck the global queue under the idle
//!    lock), stop spinning, recheck every queue, and sleep.

use super::current::MContext;
use super::g::G;
use super::p::PLocal;
use super::park::{Parker, Wakeup};
use super::shared::Shared;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every this many schedticks the global queue is checked first (Go's 61: a
/// prime, so it does not fall into step with program patterns).
pub(crate) const GLOBAL_CHECK_INTERVAL: u64 = 61;

/// Rounds of stealing over all Ps before giving up (Go's `stealTries`).
const STEAL_ROUNDS: usize = 4;

/// How long a thief waits before taking a running victim's runnext: the
/// victim is usually about to run it itself (Go: `usleep(3)`).
const RUNNEXT_STEAL_PAUSE: Duration = Duration::from_micros(3);

/// What `find_runnable` found.
enum Found {
    /// A G; `true` if it came from runnext (it inherits the time slice).
    G(G, bool),
    /// Nothing: the P has been released; the M should sleep.
    Nothing,
}

/// Entry point of a worker thread started by `startm` with P `p`.
pub(crate) fn worker_main(shared: Arc<Shared>, p: PLocal, spinning: bool) {
    let cx = MContext::new(shared, Arc::new(Parker::new()));
    cx.enter(|| {
        acquire(&cx, p, spinning);
        loop {
            if cx.shared.is_shutdown() {
                break;
            }
            if !cx.has_p() && !stop_m(&cx) {
                break;
            }
            schedule_once(&cx);
        }
        release_on_exit(&cx);
        // Gs woken here after shutdown, kept until the poll was over.
        super::shutdown::drop_deferred();
    });
    cx.shared.threads.fetch_sub(1, SeqCst);
}

/// Takes P `p` (Go's `acquirep`), spinning if `startm` said so.
pub(super) fn acquire(cx: &MContext, p: PLocal, spinning: bool) {
    cx.shared.acquisitions.fetch_add(1, SeqCst);
    cx.shared.sysmon_alarm.wake_if_deep();
    cx.info.p.store(p.id as i64, Relaxed);
    cx.info.spinning.store(spinning, Relaxed);
    // A new owner starts a new time slice.
    cx.shared.ps[p.id].preempt.store(false, Relaxed);
    let previous = cx.p.borrow_mut().replace(p);
    assert!(previous.is_none(), "an M acquired a second P");
    if spinning {
        super::exectrace::spinning(true);
        cx.spinning.set(true);
    }
}

/// One turn of Go's `schedule`: find a G and run it.
fn schedule_once(cx: &MContext) {
    match find_runnable(cx) {
        Found::G(g, inherit) => {
            if cx.spinning.get() {
                reset_spinning(cx);
            }
            if !inherit {
                let shared = &cx.shared;
                let mut slot = cx.p.borrow_mut();
                let p = slot.as_mut().expect("found a G without a P");
                p.tick(&shared.ps[p.id]);
            }
            cx.yield_requested.set(false);
            // Whatever the poll parks on records itself (`wait::park`).
            cx.wait_reason.set(0);
            cx.budget.set(super::preempt::BUDGET);
            cx.slice_grace.set(g.metadata().take_slice_ended());
            cx.slice_yielded.set(false);
            if super::metrics::sampling() && cx.shared.histograms.on {
                poll_timed(cx, g);
            } else {
                cx.poll_holding_p(|| g.run());
            }
        }
        Found::Nothing => {}
    }
}

/// A poll, timed for the P's poll-time histogram (`metrics.rs`).
#[cold]
#[inline(never)]
fn poll_timed(cx: &MContext, g: G) {
    let p = cx.p_id();
    let start = Instant::now();
    cx.poll_holding_p(|| g.run());
    if let Some(p) = p {
        cx.shared.histograms.polls[p].add(start.elapsed().as_nanos() as u64);
    }
}

/// Go's `resetspinning`: this M found work and stops spinning; if it was the
/// last spinner, start another so that more work is found (chained wakeups).
fn reset_spinning(cx: &MContext) {
    super::exectrace::spinning(false);
    cx.spinning.set(false);
    cx.info.spinning.store(false, Relaxed);
    cx.shared.idle.nmspinning.fetch_sub(1, SeqCst);
    cx.shared.wakep();
}

fn find_runnable(cx: &MContext) -> Found {
    let shared = &*cx.shared;
    let procs = shared.procs();
    'top: loop {
        if shared.is_shutdown() {
            return Found::Nothing;
        }
        // Due timers first (Go's `checkTimers`): with the P held, the
        // goroutines they wake go to this P.
        shared.timers.check();
        // Fairness for I/O (tokio's `event_interval`): with every P busy
        // nobody blocks in the poller, and a P whose queue never empties
        // would leave sockets to sysmon's 10 ms look. Every 61st tick a
        // non-blocking poll, with the P's borrow released: the goroutines
        // it readies go to this P's ring, in event order.
        let netpoll = &shared.netpoll;
        if netpoll.waiting() > 0
            && !netpoll.is_blocked()
            && cx
                .p
                .borrow()
                .as_ref()
                .is_some_and(|p| p.schedtick.is_multiple_of(GLOBAL_CHECK_INTERVAL))
        {
            poll_network(cx);
        }
        if flush_yielded(cx) {
            shared.wakep();
        }
        {
            let mut slot = cx.p.borrow_mut();
            let p = slot.as_mut().expect("find_runnable without a P");
            let ps = &shared.ps[p.id];
            // Fairness: now and then the global queue goes first.
            if p.schedtick.is_multiple_of(GLOBAL_CHECK_INTERVAL) && (!p.yielded.is_empty() || !shared.global.is_empty())
            {
                let g = shared.global.pop_after(&mut p.yielded);
                p.publish_yielded(ps);
                if let Some(g) = g {
                    return Found::G(g, false);
                }
            }
            if let Some((g, inherit)) = p.get(ps) {
                return Found::G(g, inherit);
            }
            if !p.yielded.is_empty() && shared.global.is_empty() {
                // Nothing waits in the global queue: behind everything there
                // is right here. The yielded Gs come back in order without
                // a trip through the lock (and to another P's cache).
                if let Some(g) = p.take_yielded(ps) {
                    return Found::G(g, false);
                }
            }
            let state = &mut **p;
            let g = shared.global.pop_batch(procs, &mut state.yielded, &mut state.ring);
            p.publish_yielded(ps);
            if let Some(g) = g {
                return Found::G(g, false);
            }
        }
        // Go's non-blocking `netpoll(0)` before stealing, with the P's
        // borrow released: the goroutines it readies go to this P's ring,
        // in event order.
        if netpoll.waiting() > 0 && !netpoll.is_blocked() && poll_network(cx) > 0 {
            continue 'top;
        }
        {
            let mut slot = cx.p.borrow_mut();
            let p = slot.as_mut().expect("find_runnable without a P");
            if cx.spinning.get() || shared.idle.may_spin(procs) {
                if !cx.spinning.replace(true) {
                    super::exectrace::spinning(true);
                    shared.idle.become_spinning();
                    cx.info.spinning.store(true, Relaxed);
                }
                if let Some(g) = steal_work(cx, p) {
                    return Found::G(g, false);
                }
            }
        }
        // Nothing anywhere: give the P back, and look once more.
        let p = cx.p.borrow_mut().take().expect("find_runnable without a P");
        let mut spinning = cx.spinning.get();
        let again = shared.idle.release_p(
            &shared.ps,
            p,
            &mut spinning,
            || !shared.global.is_empty(),
            || !shared.global.is_empty() || shared.ps.iter().any(|p| !p.idle.load(SeqCst) && p.has_work()),
        );
        if cx.spinning.replace(spinning) && !spinning {
            super::exectrace::spinning(false);
        }
        cx.info.spinning.store(spinning, Relaxed);
        match again {
            Some(p) => {
                *cx.p.borrow_mut() = Some(p);
                continue 'top;
            }
            None => return Found::Nothing,
        }
    }
}

/// A non-blocking poll of the network by an M holding its P (Go's
/// `netpoll(0)` in `findRunnable`). The goroutines it readies join the
/// tail of the P's ring in the order their events came, as Go's
/// `injectglist` queues them: through runnext, each would jump the queue
/// and push the one before it back, so the sockets that became ready last
/// ran first, and under load the first ones waited a whole queue longer
/// (TCP echo's p99 was 1.3-1.6 ms this way, 0.8-1.2 ms after). Returns
/// how many it readied.
fn poll_network(cx: &MContext) -> usize {
    cx.netpolling.set(true);
    let n = cx.shared.netpoll.poll(Some(Duration::ZERO));
    cx.netpolling.set(false);
    n
}

/// Yielded Gs wait in their P's list only while every P is busy (see
/// `global.rs`). Once a P is idle or an M spins, somebody could run them:
/// they go to the global queue before this M starts a poll that might block
/// its thread. Returns true if it moved any (the caller wakes an M).
fn flush_yielded(cx: &MContext) -> bool {
    let shared = &*cx.shared;
    let mut slot = cx.p.borrow_mut();
    let p = slot.as_mut().expect("find_runnable without a P");
    if p.yielded.is_empty() || (shared.idle.npidle.load(Relaxed) == 0 && shared.idle.nmspinning.load(Relaxed) == 0) {
        return false;
    }
    shared.global.push_all(p.yielded.drain(..));
    p.publish_yielded(&shared.ps[p.id]);
    true
}

/// Go's `stealWork`: up to 4 rounds over every other P in random order.
fn steal_work(cx: &MContext, p: &mut PLocal) -> Option<G> {
    let shared = &*cx.shared;
    for round in 0..STEAL_ROUNDS {
        let last_round = round == STEAL_ROUNDS - 1;
        for victim in shared.steal_order(cx.random()) {
            if victim == p.id {
                continue;
            }
            let v = &shared.ps[victim];
            if v.idle.load(Relaxed) {
                continue;
            }
            if let Some(g) = v.stealer.steal_into(&mut p.ring) {
                super::exectrace::steal(p.id, victim, p.ring.len() + 1);
                shared.counters.steals.fetch_add(1, Relaxed);
                shared.counters.stolen.fetch_add(p.ring.len() as u64 + 1, Relaxed);
                return Some(g);
            }
            let seen = v.runnext.peek();
            if last_round && !seen.is_null() && v.stealer.is_empty() {
                // The victim is probably about to run it: give it a moment,
                // then take it only if it is still the same G and the
                // victim has not started another poll meanwhile. (Go
                // compares the G only; in a ping-pong the slot holds the
                // same G again a few hops later, and the thief would split
                // a pair that was doing fine on one P.)
                let polls = v.polls.load(Relaxed);
                pause(RUNNEXT_STEAL_PAUSE);
                if v.polls.load(Relaxed) != polls {
                    continue;
                }
                if let Some(g) = v.runnext.take_if(seen) {
                    super::exectrace::runnext_steal(p.id, victim);
                    shared.counters.runnext_steals.fetch_add(1, Relaxed);
                    return Some(g);
                }
            }
        }
    }
    None
}

/// Spins for `d` (a sleep would take tens of microseconds on Linux).
fn pause(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Go's `stopm`: sleep on the idle-M list until handed a P. Returns false
/// at shutdown.
fn stop_m(cx: &MContext) -> bool {
    let shared = &cx.shared;
    let mut lists = shared.idle.lock();
    // Checked under the idle lock: shutdown sets the flag and then takes
    // this lock to wake every listed M, so an M listing itself after that
    // would sleep forever.
    if shared.is_shutdown() {
        return false;
    }
    lists.put_m(cx.parker.clone());
    drop(lists);
    shared.counters.parks.fetch_add(1, Relaxed);
    loop {
        match park(cx) {
            Wakeup::Handoff(p, spinning) => {
                acquire(cx, p, spinning);
                return true;
            }
            Wakeup::Shutdown => return false,
            Wakeup::Notified => continue,
        }
    }
}

/// Sleeps on this M's parker; if timers are pending and no other M sleeps
/// for them, only until the earliest one, which this M then fires without
/// a P (their goroutines go to the global queue, and `wakep` starts an M
/// for them). Returns `Notified` after firing.
fn park(cx: &MContext) -> Wakeup {
    let timers = &cx.shared.timers;
    let deadline = timers.sleep_deadline(&cx.parker);
    cx.info.p.store(-1, Relaxed);
    cx.info.spinning.store(false, Relaxed);
    cx.info.blocked.store(true, Relaxed);
    super::exectrace::park();
    let netpoll = &cx.shared.netpoll;
    // Only while some P is idle: with every P busy, their Ms poll the
    // network themselves when they run out of work (and sysmon every
    // 10 ms), and an M blocked in the poller would only be woken by every
    // edge to hand the goroutines over through the global queue.
    let woke = if netpoll.registered() > 0 && cx.shared.idle.npidle.load(SeqCst) > 0 && netpoll.try_block() {
        // The poller M (Go's M blocked in `netpoll(delay)`): sleeps in the
        // poller until the earliest timer; every wakeup of its parker also
        // notifies the poller. Goroutines readied by I/O go to the global
        // queue as one batch, and this M takes an idle P to run them itself
        // (Go's `findRunnable` after `netpoll`), rather than waking another
        // thread for the first; Ms start for the others.
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let mut readied = Vec::new();
        let woke = cx.parker.park_with(&cx.shared.netpoll_hook, || {
            readied = cx.shared.collect_network(timeout);
        });
        netpoll.unblock();
        if readied.is_empty() {
            woke
        } else {
            let mine = if woke.is_none() { take_idle_p(cx) } else { None };
            cx.shared.inject_batch(readied, usize::from(mine.is_some()));
            if mine.is_some() {
                // This M leaves the poller to run what it found: wake a
                // spinning M for any P still idle, which will become the
                // next poller if it finds nothing (Go's `resetspinning`
                // after `netpoll`).
                cx.shared.wakep();
            }
            woke.or(mine.map(|p| Wakeup::Handoff(p, false)))
        }
    } else {
        cx.parker.park_until(deadline)
    };
    cx.info.blocked.store(false, Relaxed);
    super::exectrace::unpark();
    if deadline.is_some() {
        timers.resign(&cx.parker);
    }
    match woke {
        Some(wakeup) => wakeup,
        None => {
            timers.check();
            Wakeup::Notified
        }
    }
}

/// For an M on the idle list that has goroutines to run: takes it off the
/// list and takes an idle P. `None` if there is no idle P, or if the M is
/// no longer listed (somebody took it to hand it a P: that hand-off is
/// waiting on its parker).
fn take_idle_p(cx: &MContext) -> Option<PLocal> {
    let shared = &cx.shared;
    let mut lists = shared.idle.lock();
    if !lists.remove_m(&cx.parker) {
        return None;
    }
    let p = lists.take_p(&shared.ps);
    if p.is_none() {
        lists.put_m(cx.parker.clone());
    }
    p
}

/// An M leaving (at shutdown) gives back whatever P it holds or was
/// handed, so no P is lost.
fn release_on_exit(cx: &MContext) {
    let shared = &cx.shared;
    if cx.spinning.replace(false) {
        super::exectrace::spinning(false);
        shared.idle.nmspinning.fetch_sub(1, SeqCst);
    }
    let lists = shared.idle.lock();
    // Handed under the idle lock, so nothing more can arrive now.
    let handed = cx.parker.take_handoff().map(|(p, _)| p);
    drop(lists);
    let held = cx.p.borrow_mut().take();
    for p in held.into_iter().chain(handed) {
        shared.hand_off_p(p);
    }
}
