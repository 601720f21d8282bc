//! loom models of the lock-free parts: the ring (shrunk to 4 slots), the
//! runnext slot, the parker, and the spinning / parking protocol.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p gpm-core --lib --release loom`
//! (`.ci/run` runs them on every submission).

use super::idle::Idle;
use super::loom::{Arc, AtomicUsize};
use super::p::{self, IntoRaw, RunNext};
use super::park::{Parker, Wakeup};
use super::ring::{self, Overflow, CAPACITY};
use loom::thread;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::SeqCst;

/// A heap value that travels as a raw pointer, like a `Runnable`.
struct Item(Box<u32>);

impl IntoRaw for Item {
    fn into_raw(self) -> NonNull<()> {
        NonNull::from(Box::leak(self.0)).cast()
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        // SAFETY: `ptr` came from `into_raw` above, which leaked a `Box<u32>`.
        Item(unsafe { Box::from_raw(ptr.as_ptr().cast::<u32>()) })
    }
}

/// Counts what the ring spills.
#[derive(Default)]
struct Spill(loom::sync::Mutex<Vec<u32>>);

impl Overflow<u32> for Spill {
    fn push_batch(&self, batch: Vec<u32>) {
        self.0.lock().unwrap().extend(batch);
    }
}

/// A thief's turn: one steal into a fresh ring, then everything it got.
fn steal_once(stealer: &ring::Steal<u32>) -> Vec<u32> {
    let (mut mine, _) = ring::new::<u32>();
    let mut got = Vec::new();
    if let Some(v) = stealer.steal_into(&mut mine) {
        got.push(v);
    }
    while let Some(v) = mine.pop() {
        got.push(v);
    }
    got
}

fn sum(values: &[u32]) -> u32 {
    values.iter().sum()
}

#[test]
fn loom_push_pop_steal() {
    loom::model(|| {
        let (mut local, stealer) = ring::new::<u32>();
        let spill = Spill::default();
        let thief = thread::spawn(move || steal_once(&stealer));
        let mut got = Vec::new();
        for v in 1..=3 {
            local.push_back(v, &spill);
        }
        if let Some(v) = local.pop() {
            got.push(v);
        }
        let stolen = thief.join().unwrap();
        while let Some(v) = local.pop() {
            got.push(v);
        }
        got.extend(stolen);
        got.sort_unstable();
        assert_eq!(got, vec![1, 2, 3], "each value exactly once");
        assert!(spill.0.lock().unwrap().is_empty());
    });
}

/// The global queue's batch (`push_back_many`) against a thief: it writes
/// only free slots (a slot being stolen counts as taken), publishes them all
/// at once, and what did not fit stays with the caller.
#[test]
fn loom_batch_push_under_concurrent_steal() {
    loom::model(|| {
        let (mut local, stealer) = ring::new::<u32>();
        let spill = Spill::default();
        local.push_back(1, &spill);
        local.push_back(2, &spill);
        let thief = thread::spawn(move || steal_once(&stealer));
        let n = CAPACITY as u32 + 2;
        let mut rest = 3..=n;
        let pushed = local.push_back_many(&mut rest);
        assert!(pushed <= CAPACITY - 1, "pushed {pushed} into a ring with 2 values");
        let stolen = thief.join().unwrap();
        let mut got: Vec<u32> = std::iter::from_fn(|| local.pop()).collect();
        got.extend(stolen);
        got.extend(rest);
        got.sort_unstable();
        assert_eq!(got, (1..=n).collect::<Vec<_>>(), "each value exactly once");
        assert!(spill.0.lock().unwrap().is_empty());
    });
}

#[test]
fn loom_overflow_under_concurrent_steal() {
    loom::model(|| {
        let (mut local, stealer) = ring::new::<u32>();
        let spill = Spill::default();
        let thief = thread::spawn(move || steal_once(&stealer));
        // One more than fits: the last push spills (or meets the thief).
        let n = CAPACITY as u32 + 1;
        for v in 1..=n {
            local.push_back(v, &spill);
        }
        let stolen = thief.join().unwrap();
        let mut own = Vec::new();
        while let Some(v) = local.pop() {
            own.push(v);
        }
        let spilled = spill.0.lock().unwrap().clone();
        let total = own.len() + stolen.len() + spilled.len();
        assert_eq!(total, n as usize, "own {own:?} stolen {stolen:?} spilled {spilled:?}");
        assert_eq!(sum(&own) + sum(&stolen) + sum(&spilled), n * (n + 1) / 2);
    });
}

#[test]
fn loom_two_thieves() {
    loom::model(|| {
        let (mut local, stealer) = ring::new::<u32>();
        let spill = Spill::default();
        for v in 1..=3 {
            local.push_back(v, &spill);
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let stealer = stealer.clone();
                thread::spawn(move || steal_once(&stealer))
            })
            .collect();
        let mut got = Vec::new();
        if let Some(v) = local.pop() {
            got.push(v);
        }
        for t in thieves {
            got.extend(t.join().unwrap());
        }
        while let Some(v) = local.pop() {
            got.push(v);
        }
        got.sort_unstable();
        assert_eq!(got, vec![1, 2, 3]);
    });
}

#[test]
fn loom_runnext_steal() {
    loom::model(|| {
        let slot = Arc::new(RunNext::<Item>::new());
        let taken = Arc::new(AtomicUsize::new(0));
        // The owner readies 1 then 2 (which kicks 1 out); a thief takes.
        let thief = {
            let (slot, taken) = (slot.clone(), taken.clone());
            thread::spawn(move || {
                if let Some(Item(v)) = slot.take() {
                    taken.fetch_add(*v as usize, SeqCst);
                }
            })
        };
        let mut sum_owner = 0;
        assert!(slot.put(Item(Box::new(1))).is_none());
        if let Some(Item(v)) = slot.put(Item(Box::new(2))) {
            sum_owner += *v as usize;
        }
        if let Some(Item(v)) = slot.take() {
            sum_owner += *v as usize;
        }
        thief.join().unwrap();
        assert_eq!(sum_owner + taken.load(SeqCst), 3, "each G exactly once");
        assert!(slot.take().is_none());
    });
}

#[test]
fn loom_parker_keeps_a_handoff() {
    loom::model(|| {
        let parker = Arc::new(Parker::new());
        let (_p0_shared, p0) = p::new(0);
        let waker = {
            let parker = parker.clone();
            thread::spawn(move || parker.hand(p0, true))
        };
        match parker.park() {
            Wakeup::Handoff(p, spinning) => {
                assert_eq!(p.id, 0);
                assert!(spinning);
            }
            _ => panic!("woke without the P"),
        }
        waker.join().unwrap();
    });
}

#[test]
fn loom_parker_notify_before_park() {
    loom::model(|| {
        let parker = Arc::new(Parker::new());
        let t = {
            let parker = parker.clone();
            thread::spawn(move || parker.notify())
        };
        assert!(matches!(parker.park(), Wakeup::Notified));
        t.join().unwrap();
    });
}

/// The no-lost-wakeup protocol with one P: an M that found nothing gives its
/// P back while a submitter makes a G runnable and calls `wakep`. Either the
/// M sees the work and keeps looking, or the submitter gets the P to start
/// a new M: the work is never left with nobody to run it.
fn spinning_model(m_spinning: bool) {
    loom::model(move || {
        let (p0_shared, p0) = p::new(0);
        let ps: Arc<Vec<p::P>> = Arc::new(vec![p0_shared]);
        let idle = Arc::new(Idle::new(Vec::new()));
        if m_spinning {
            idle.nmspinning.fetch_add(1, SeqCst);
        }
        let work = Arc::new(AtomicUsize::new(0));

        let submitter = {
            let (ps, idle, work) = (ps.clone(), idle.clone(), work.clone());
            thread::spawn(move || {
                work.fetch_add(1, SeqCst);
                idle.wakep_claim(&ps).is_some()
            })
        };

        // The M: it looked (maybe too early) and found nothing.
        let mut spinning = m_spinning;
        let kept = idle.release_p(&ps, p0, &mut spinning, || false, || work.load(SeqCst) > 0);
        let m_looks_again = kept.is_some();
        let started_m = submitter.join().unwrap();
        let m_would_find_it = m_looks_again && work.load(SeqCst) > 0;
        assert!(
            started_m || m_would_find_it || (m_looks_again && !m_spinning),
            "lost wakeup: work queued, P idle, nobody looking"
        );
        if m_looks_again && !started_m {
            // The M kept the P: it must find the work on its next look.
            assert_eq!(work.load(SeqCst), 1);
        }
        // Nobody may be counted as spinning unless they really spin.
        let spinners = usize::from(spinning) + usize::from(started_m);
        assert_eq!(idle.nmspinning.load(SeqCst), spinners);
        drop(kept);
    });
}

#[test]
fn loom_spinning_m_parks_without_losing_work() {
    spinning_model(true);
}

#[test]
fn loom_busy_m_parks_without_losing_work() {
    spinning_model(false);
}

/// Two Ms and a `block_on` main on two Ps, the interleaving that once
/// stranded a G: a spinning M gives its P back; main takes that P, readies a
/// G into it and then blocks its thread; the other M, not spinning, gives
/// its P back too. Someone must still be looking for the G: the spinning
/// M's recheck finds no idle P, so it must leave `needspinning` for the
/// other M, which then spins instead of sleeping.
#[test]
fn loom_work_behind_a_blocked_main_is_not_stranded() {
    loom::model(|| {
        let (pa_shared, pa) = p::new(0);
        let (pb_shared, pb) = p::new(1);
        let ps: Arc<Vec<p::P>> = Arc::new(vec![pa_shared, pb_shared]);
        mark_held(&ps);
        let idle = Arc::new(Idle::new(Vec::new()));
        idle.nmspinning.fetch_add(1, SeqCst); // M x spins
        let work = Arc::new(AtomicUsize::new(0));

        let main = {
            let (ps, idle, work) = (ps.clone(), idle.clone(), work.clone());
            thread::spawn(move || {
                let Some(p) = idle.lock().take_p(&ps) else {
                    return (false, false, None);
                };
                work.fetch_add(1, SeqCst);
                let started = idle.wakep_claim(&ps).is_some();
                // Main now blocks its thread, holding `p`.
                (true, started, Some(p))
            })
        };
        let m_y = {
            let (ps, idle, work) = (ps.clone(), idle.clone(), work.clone());
            thread::spawn(move || {
                let mut spinning = false;
                let again = idle.release_p(&ps, pb, &mut spinning, || false, || work.load(SeqCst) > 0);
                again.is_some()
            })
        };
        let mut spinning = true;
        let x_again = idle.release_p(&ps, pa, &mut spinning, || false, || work.load(SeqCst) > 0);
        let y_again = m_y.join().unwrap();
        let (readied, started, held) = main.join().unwrap();
        if readied {
            assert!(
                started || x_again.is_some() || y_again,
                "a G waits behind a blocked main and no M is looking for it"
            );
        }
        drop((x_again, held));
    });
}

/// Ps start idle in `p::new`; these are held by Ms.
fn mark_held(ps: &[p::P]) {
    for p in ps {
        p.idle.store(false, SeqCst);
    }
}

/// The hold (see `hold.rs`): an M polls with its P parked in the hold and
/// uses it once mid-poll; sysmon tries to retake it. Exactly one of them
/// ends up with the P, and what the M did to it mid-poll is kept.
#[test]
fn loom_hold_retake_hands_the_p_to_exactly_one() {
    loom::model(|| {
        let (p, local) = p::new(0);
        let p = Arc::new(p);
        const M: u64 = 7;
        p.hold.enter(M, local);
        let sysmon = {
            let p = p.clone();
            thread::spawn(move || {
                p.hold.retake().map(|(l, m)| {
                    assert_eq!(m, M);
                    l.schedtick
                })
            })
        };
        let used = p.hold.with(M, |l| {
            l.schedtick += 1;
        });
        let back = p.hold.leave(M).map(|l| l.schedtick);
        let retaken = sysmon.join().unwrap();
        match (back, retaken) {
            (Some(tick), None) | (None, Some(tick)) => {
                // The mid-poll use happened iff it found the P still there,
                // and then whoever got the P sees it.
                assert_eq!(tick, u64::from(used.is_some()));
            }
            other => panic!("the P went to {other:?}"),
        }
        // Once retaken, the M can no longer use it.
        if retaken.is_some() {
            assert!(p.hold.with(M, |_| ()).is_none());
            assert!(!p.hold.is_held_by(M));
        }
    });
}

/// A wake during a poll fills the empty runnext without taking the P out of
/// its hold (`ready::fill_runnext_during_poll`), while sysmon may retake the
/// P and, seeing no work on it, leave it idle. The G is never stranded
/// there: sysmon sees it in runnext (and would hand the P to an M), or the
/// M sees the P gone and takes the G back (for the global queue), and
/// nobody gets it twice.
#[test]
fn loom_runnext_fill_during_poll_is_never_stranded() {
    loom::model(|| {
        let (p, local) = p::new(0);
        let p = Arc::new(p);
        let runnext = Arc::new(RunNext::<Item>::new());
        const M: u64 = 3;
        p.hold.enter(M, local);
        let sysmon = {
            let (p, runnext) = (p.clone(), runnext.clone());
            thread::spawn(move || {
                // `retake`, then `hand_off_p`'s look for work.
                p.hold.retake().map(|(local, _)| (local, runnext.is_occupied()))
            })
        };
        // The polling M's wake.
        let seen = runnext.fill(Item(Box::new(9))).ok().expect("runnext was empty");
        let taken_back = if p.hold.is_held_by(M) {
            None
        } else {
            runnext.take_if(seen)
        };
        let kept = p.hold.leave(M).is_some();
        let retaken = sysmon.join().unwrap();
        match retaken {
            None => {
                assert!(kept && taken_back.is_none(), "the M kept its P and its runnext");
                assert!(runnext.is_occupied());
            }
            Some((_, sysmon_saw_work)) => {
                assert!(!kept);
                // Stranded would be: the P left idle without the G seen,
                // and the G still in its runnext.
                assert!(
                    sysmon_saw_work || taken_back.is_some(),
                    "the G was stranded on an idle P"
                );
                // Exactly one place holds it.
                assert_ne!(taken_back.is_some(), runnext.is_occupied());
            }
        }
    });
}

/// After sysmon retakes the P and another M polls with it, the first M
/// (returning from its stuck poll) must not get it: no ABA on the word.
#[test]
fn loom_hold_stale_m_cannot_take_the_new_owners_p() {
    loom::model(|| {
        let (p, local) = p::new(0);
        let p = Arc::new(p);
        const OLD: u64 = 1;
        const NEW: u64 = 2;
        p.hold.enter(OLD, local);
        let (local, _) = p.hold.retake().expect("nothing else runs yet");
        let new_owner = {
            let p = p.clone();
            thread::spawn(move || {
                p.hold.enter(NEW, local);
                p.hold.leave(NEW).is_some()
            })
        };
        let old_got = p.hold.leave(OLD).is_some();
        let old_used = p.hold.with(OLD, |_| ()).is_some();
        assert!(!old_got && !old_used);
        assert!(new_owner.join().unwrap(), "the new owner lost its P");
    });
}
