//! Starting Ms and handing Ps over: Go's `wakep`, `startm`, `newm` and
//! `handoffp`, and where a P goes when its M lets it go.

use super::m;
use super::p::PLocal;
use super::shared::{fatal, Shared};
use std::io::Write;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;

impl Shared {
    /// Go's `wakep`: if a P is idle and nobody is spinning, start a spinning
    /// M to look for the work just submitted.
    pub(crate) fn wakep(&self) {
        if let Some(p) = self.idle.wakep_claim(&self.ps) {
            self.start_m(p, true);
        }
    }

    /// Go's `startm`: gives P `p` to an idle M, or to a new one.
    pub(crate) fn start_m(&self, p: PLocal, spinning: bool) {
        super::exectrace::handoff(p.id, spinning);
        let mut lists = self.idle.lock();
        if let Some(m) = lists.take_m() {
            // Handed under the idle lock, so a departing M cannot miss it.
            m.hand(p, spinning);
            return;
        }
        drop(lists);
        self.new_m(p, spinning);
    }

    /// Starts a new worker thread holding `p` (Go's `newm`).
    fn new_m(&self, p: PLocal, spinning: bool) {
        let threads = self.threads.fetch_add(1, SeqCst) + 1;
        if threads > self.config.max_threads {
            fatal(&format!(
                "thread exhaustion: the runtime needs more than max_threads = {} threads \
                 (raise it with Builder::max_threads)",
                self.config.max_threads
            ));
        }
        let shared = self.self_arc();
        let mut builder = thread::Builder::new().name(self.config.thread_name.clone());
        if let Some(size) = self.config.stack_size {
            builder = builder.stack_size(size);
        }
        // The P travels to the new thread in a slot it can be taken back
        // from if the thread does not start.
        let slot = Arc::new(Mutex::new(Some(p)));
        let handed = slot.clone();
        let spawned = if self
            .m_spawn_failures
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            Err(std::io::Error::other("injected failure to start an M (test aid)"))
        } else {
            builder.spawn(move || {
                // Only a failed start takes the P back, and then this never runs.
                let p = handed.lock().unwrap_or_else(|e| e.into_inner()).take();
                m::worker_main(shared, p.expect("a started M's P was taken back"), spinning);
            })
        };
        match spawned {
            Ok(handle) => self.workers.lock().unwrap_or_else(|e| e.into_inner()).push(handle),
            Err(e) => {
                // The OS refused (a pid or thread limit, memory): Go dies
                // here. gpm degrades instead: the P goes back to the idle
                // list, and the Ms that run carry its work when they can
                // (sysmon and the next `wakep` try again). The blocking pool
                // may have used up the room; its threads leave when idle.
                self.threads.fetch_sub(1, SeqCst);
                if spinning {
                    self.idle.nmspinning.fetch_sub(1, SeqCst);
                }
                if !self.m_spawn_failed.swap(true, Relaxed) {
                    let _ = writeln!(
                        std::io::stderr(),
                        "gpm: failed to start a thread for a P ({e}; {} threads running); \
                         its goroutines wait for a running thread (this is reported once)",
                        threads - 1
                    );
                }
                let p = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(mut p) = p {
                    // An idle P must hold no work (thieves skip idle Ps):
                    // what is queued on it goes to the global queue, where
                    // running Ms and sysmon's retries find it.
                    let mut gs = std::mem::take(&mut p.yielded);
                    while let Some((g, _)) = p.get(&self.ps[p.id]) {
                        gs.push(g);
                    }
                    p.publish_yielded(&self.ps[p.id]);
                    self.global.push_all(gs);
                    self.idle.lock().put_p(&self.ps, p);
                }
            }
        }
    }

    /// Go's `handoffp`: the calling M gives up `p` (it is about to block or
    /// leave, or sysmon took the P from it). The P gets an M at once if it
    /// has work (queued Gs, due timers), if nobody at all is looking for
    /// work, or if sockets wait and nobody polls them; otherwise it goes
    /// idle, and an M is woken to sleep until the earliest timer if none
    /// does (Go's `wakeNetPoller(when)`).
    pub(crate) fn hand_off_p(&self, p: PLocal) {
        if self.is_shutdown() {
            self.idle.lock().put_p(&self.ps, p);
            return;
        }
        if self.has_work_for(&p) {
            self.start_m(p, false);
            return;
        }
        // The last running P, sockets waiting and no M in the poller: with
        // every P idle nobody would poll them. This P's M will (it finds
        // nothing, releases the P and blocks in the poller). Go's rule.
        if self.netpoll.waiting() > 0 && !self.netpoll.is_blocked() && self.idle.npidle.load(SeqCst) + 1 == self.procs()
        {
            self.start_m(p, false);
            return;
        }
        let idle = &self.idle;
        if idle.nmspinning.load(SeqCst) + idle.npidle.load(SeqCst) == 0
            && idle.nmspinning.compare_exchange(0, 1, SeqCst, SeqCst).is_ok()
        {
            idle.needspinning.store(false, SeqCst);
            self.start_m(p, true);
            return;
        }
        self.put_idle_p(p);
    }

    /// A `block_on` thread gives back the P it held for one poll of its
    /// main: an M takes it if it has work, else it goes idle. (Not
    /// `hand_off_p`: the thread is not about to block, and an idle P is
    /// enough for whoever submits work next.)
    pub(crate) fn give_back_p(&self, p: PLocal) {
        if !self.is_shutdown() && self.has_work_for(&p) {
            self.start_m(p, false);
        } else {
            self.put_idle_p(p);
        }
    }

    /// Work for P `p`: Gs queued on it or in the global queue, due timers.
    fn has_work_for(&self, p: &PLocal) -> bool {
        let timers = &self.timers;
        self.ps[p.id].has_work()
            || !p.yielded.is_empty()
            || !self.global.is_empty()
            || (timers.armed() > 0 && timers.any_due(timers.now()))
    }

    /// Puts `p` on the idle list (unless the global queue got work), and
    /// makes sure an M will fire the timers (Go's `wakeNetPoller(when)`).
    fn put_idle_p(&self, p: PLocal) {
        let mut lists = self.idle.lock();
        if !self.is_shutdown() && !self.global.is_empty() {
            drop(lists);
            self.start_m(p, false);
            return;
        }
        lists.put_p(&self.ps, p);
        drop(lists);
        let timers = &self.timers;
        if !self.is_shutdown() && timers.armed() > 0 && !timers.has_sleeper() {
            // Somebody must fire the timers: a spinning M on the P just
            // released finds nothing and sleeps until the earliest one.
            self.wakep();
        }
    }
}
