//! sysmon: one thread per runtime, holding no P, that watches the Ps (Go's
//! `sysmon`).
//!
//! For now it does one of sysmon's jobs: a P whose `schedtick` has not
//! moved for a whole time slice (10 ms) while it holds a P gets its
//! `preempt` flag set, and the running goroutine's next leaf operation
//! yields (see [`coop`](crate::coop)). `schedtick` counts only goroutines
//! taken from the ring or the global queue, so a pair that keeps handing
//! runnext back and forth shares one slice and is cut too.
//!
//! It sleeps 20 µs between looks while it has something to watch: it just
//! acted (a retake, a `wakep`), or a `gpm::syscall` already running at its
//! last look holds up queued goroutines. After 50
//! looks with nothing to watch it backs off, doubling its sleep up to 1 ms
//! while goroutines run (their polls come and go faster than it looks), and
//! up to 10 ms once every P has been idle for 10 looks in a row (then the
//! first P to get busy wakes it). Go backs off the same way after 50 looks
//! without a retake, to 10 ms; a sysmon that woke every 20 µs for good
//! cost a busy program a few percent of a core in wakeups.

use super::shared::Shared;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Go's time slice (`forcePreemptNS`).
pub(crate) const TIME_SLICE: Duration = Duration::from_millis(10);
/// sysmon's shortest sleep (Go: 20 µs).
const MIN_DELAY: Duration = Duration::from_micros(20);
/// sysmon's longest sleep when every P is idle (Go: 10 ms).
const MAX_DELAY: Duration = Duration::from_millis(10);
/// sysmon's longest sleep while goroutines run but none needs watching.
const BUSY_MAX_DELAY: Duration = Duration::from_millis(1);
/// Idle looks before sysmon starts backing off (Go: 50).
const IDLE_ROUNDS: u32 = 50;
/// Looks in a row that found every P idle before sysmon sleeps longer
/// than [`BUSY_MAX_DELAY`]. From such a sleep the first P to get busy
/// wakes it (`Alarm::wake_if_deep`); a server under load has every P idle
/// for an instant many times a second, and going deep at each of them
/// cost a wakeup of sysmon per burst of work (16% of its wakeups under
/// wrk). A program that is really idle goes deep 10 ms later.
const DEEP_AFTER: u32 = 10;

/// Lets `Shared::shutdown` wake sysmon from its sleep.
#[derive(Default)]
pub(crate) struct Alarm {
    stop: Mutex<bool>,
    condvar: Condvar,
    /// Set while sysmon sleeps longer than a millisecond (it backed off
    /// because every P was idle): the first P to get busy wakes it, so its
    /// looks at stuck polls start at once (Go's `sysmonwait`).
    pub(crate) deep: std::sync::atomic::AtomicBool,
}

impl Alarm {
    /// Wakes sysmon from a long sleep (a P just got busy).
    pub(crate) fn wake_if_deep(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.deep.load(Relaxed) && self.deep.swap(false, Relaxed) {
            let _guard = self.stop.lock().unwrap_or_else(|e| e.into_inner());
            self.condvar.notify_all();
        }
    }

    pub(crate) fn stop(&self) {
        *self.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.condvar.notify_all();
    }

    /// Sleeps for `d`; false once stopped.
    fn sleep(&self, d: Duration) -> bool {
        let stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        if *stop {
            return false;
        }
        let (stop, _) = self.condvar.wait_timeout(stop, d).unwrap_or_else(|e| e.into_inner());
        !*stop
    }
}

/// What sysmon last saw of one P.
#[derive(Clone, Copy)]
struct Seen {
    schedtick: u64,
    since: Instant,
    /// `P::polls` and when it last moved.
    polls: u64,
    poll_since: Instant,
    /// `P::syscall_tick` and when it last moved.
    syscall_tick: u64,
    syscall_since: Instant,
}

/// sysmon's loop; returns when the runtime shuts down.
/// sysmon polls the network when nobody has for this long (Go's 10 ms).
const NETPOLL_INTERVAL: Duration = Duration::from_millis(10);

pub(crate) fn run(shared: Arc<Shared>) {
    let start = Instant::now();
    let mut seen = vec![
        Seen {
            schedtick: 0,
            since: start,
            polls: 0,
            poll_since: start,
            syscall_tick: 0,
            syscall_since: start,
        };
        shared.procs()
    ];
    let mut checkdead = super::checkdead::CheckDead::default();
    let mut bubble_watch = super::bubble::Watch::default();
    // The bubble's timers fire here: what they send is the bubble's own.
    super::bubble::enter_thread(&shared);
    let bubble = shared.bubble().is_some();
    let mut delay = MIN_DELAY;
    let mut idle_rounds = 0;
    let mut all_idle_looks = 0;
    loop {
        let deep = delay > Duration::from_millis(1);
        shared
            .sysmon_alarm
            .deep
            .store(deep, std::sync::atomic::Ordering::Relaxed);
        if !shared.sysmon_alarm.sleep(delay) {
            break;
        }
        shared
            .sysmon_alarm
            .deep
            .store(false, std::sync::atomic::Ordering::Relaxed);
        shared.clock.tick();
        let now = Instant::now();
        // Timers overdue by a millisecond: nobody fired them (every M busy
        // in a long poll or a syscall, none sleeping for them). Fire them
        // here: a main polled on its own thread needs no P, and the
        // goroutines they wake go to the global queue, which is work that
        // `retake` hands a stuck P over for. Go's sysmon starts an M
        // instead, and preempts by signal the goroutine whose P it needs.
        let timers = &shared.timers;
        let overdue = timers.armed() > 0 && timers.any_due(timers.now().saturating_sub(1_000_000));
        if overdue {
            timers.check();
            shared.wakep();
        }
        // Goroutines queued with a P idle and nobody looking: only when an
        // M could not be started (the OS refused a thread); try again.
        if !shared.global.is_empty()
            && shared.idle.npidle.load(std::sync::atomic::Ordering::SeqCst) > 0
            && shared.idle.nmspinning.load(std::sync::atomic::Ordering::SeqCst) == 0
        {
            shared.wakep();
        }
        let mut all_idle = true;
        let mut watching = overdue;
        for (id, (p, seen)) in shared.ps.iter().zip(seen.iter_mut()).enumerate() {
            watching |= retake(&shared, p, seen, now);
            let schedtick = p.schedtick.load(std::sync::atomic::Ordering::Relaxed);
            if p.idle.load(std::sync::atomic::Ordering::Relaxed) || schedtick != seen.schedtick {
                seen.schedtick = schedtick;
                seen.since = now;
                all_idle &= p.idle.load(std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            all_idle = false;
            if now.duration_since(seen.since) >= TIME_SLICE {
                p.preempt.store(true, std::sync::atomic::Ordering::Relaxed);
                super::exectrace::preempt(id);
                seen.since = now;
            }
        }
        // Nobody polled the network for 10 ms (every M busy): poll here;
        // the goroutines readied go to the global queue as one batch.
        let netpoll = &shared.netpoll;
        if netpoll.waiting() > 0 && netpoll.since_last_poll() >= NETPOLL_INTERVAL {
            shared.poll_network(Some(Duration::ZERO));
        }
        shared.tracer.look(&shared);
        if bubble {
            // A bubble's clock waits on these looks: never back off.
            bubble_watch.look(&shared);
            delay = super::bubble::LOOK_EVERY;
            continue;
        }
        if all_idle {
            checkdead.look(&shared);
            all_idle_looks += 1;
        } else {
            all_idle_looks = 0;
        }
        if watching {
            idle_rounds = 0;
            delay = MIN_DELAY;
        } else {
            idle_rounds += 1;
            if idle_rounds > IDLE_ROUNDS {
                let max = if all_idle_looks >= DEEP_AFTER {
                    MAX_DELAY
                } else {
                    BUSY_MAX_DELAY
                };
                delay = (delay * 2).min(max);
            } else if !all_idle {
                delay = delay.min(BUSY_MAX_DELAY);
            }
            if let Some(every) = shared.tracer.max_sleep() {
                delay = delay.min(every);
            }
        }
    }
}

/// Go's `retake`: takes P `p` from an M whose poll has lasted too long and
/// hands it to another M, so that the goroutines queued on it run (see
/// `hold.rs`). Work is a G in the P's queues or in the global queue.
///
/// - A poll in `gpm::syscall`, seen on an earlier look too, is retaken
///   when there is work, or when no P is idle and no M spins (nobody would
///   pick up new work), or when it has lasted a time slice: Go's rule.
/// - Any other poll is retaken after a time slice (10 ms) if there is
///   work: it cannot be stopped, but what waits behind it can run.
///
/// Returns true if sysmon should keep looking closely: it acted (a retake,
/// a `wakep`), or a `gpm::syscall` is under way.
fn retake(shared: &Shared, p: &super::p::P, seen: &mut Seen, now: Instant) -> bool {
    use std::sync::atomic::Ordering::{Relaxed, SeqCst};
    let syscall_tick = p.syscall_tick.load(Relaxed);
    if syscall_tick != seen.syscall_tick {
        seen.syscall_tick = syscall_tick;
        seen.syscall_since = now;
    }
    let polls = p.polls.load(Relaxed);
    if polls != seen.polls || p.idle.load(Relaxed) {
        seen.polls = polls;
        seen.poll_since = now;
        return false;
    }
    if !p.hold.in_poll() {
        // Between polls, looking for work: nothing to take or to watch.
        return false;
    }
    // The same poll since the last look, with a G in runnext: that G was
    // readied without waking an M (see `schedule`), expecting this poll to
    // end soon. It has not: start a spinning M, which will steal it.
    let stalled_runnext = p.has_runnext();
    if stalled_runnext {
        shared.wakep();
    }
    let has_work = p.has_work() || p.yielded.load(Relaxed) > 0 || !shared.global.is_empty();
    let in_syscall = p.syscall_m.load(Relaxed) != 0;
    let idle = &shared.idle;
    let nobody_looking = in_syscall && idle.npidle.load(SeqCst) + idle.nmspinning.load(SeqCst) == 0;
    let too_long = if in_syscall {
        let lasted = now.duration_since(seen.syscall_since);
        lasted > Duration::ZERO && (has_work || nobody_looking || lasted >= TIME_SLICE)
    } else {
        has_work && now.duration_since(seen.poll_since) >= TIME_SLICE
    };
    if !too_long {
        // Watched closely after a wakep, or when a syscall is to be
        // retaken at the next look. A syscall with nothing waiting, or a
        // long poll, is not: the 10 ms rule catches them, and sysmon looks
        // at least every millisecond while goroutines run; looking every
        // 20 µs at every such call kept sysmon waking thousands of times a
        // second.
        return stalled_runnext || (in_syscall && (has_work || nobody_looking));
    }
    // Counted before the take, so the M that finds its P gone (and
    // uncounts it) never sees the count below zero.
    shared.retaken.fetch_add(1, SeqCst);
    match p.hold.retake() {
        Some((local, m)) => {
            p.syscall_m.store(0, Relaxed);
            if let Some(m) = shared
                .ms
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|i| i.id == m)
            {
                m.p.store(-1, Relaxed);
            }
            shared.counters.retakes.fetch_add(1, Relaxed);
            super::exectrace::retake(local.id, in_syscall);
            seen.poll_since = now;
            shared.hand_off_p(local);
        }
        None => {
            shared.retaken.fetch_sub(1, SeqCst);
        }
    }
    true
}
