//! Per-thread event buffers (Go's per-M `traceBuf`): no lock on the hot
//! path.
//!
//! Each thread that records gets a [`ThreadBuf`] the first time, listed in
//! [`REGISTRY`]. It appends to its current [`Chunk`] with a plain write of
//! the slot and a release store of the chunk's length: the only writer of
//! a chunk is its thread. A full chunk goes to the registry's list of full
//! chunks and a fresh one replaces it, under the registry's lock (once per
//! [`CHUNK_EVENTS`] events). `stop` takes the same lock, collects the full
//! chunks and copies, from every thread's current chunk, the events its
//! length has published. An event being written at that moment is not yet
//! published and is left out, as Go's `trace.Stop` leaves out what happens
//! after it.
//!
//! Go's tracer (`runtime/traceruntime.go`) has each M bump a per-M seqlock
//! around every event, so that `trace.Stop` can wait until no M is half
//! way through one. gpm keeps the writer to a plain store and a release
//! store instead, and gives up the events that race with `stop`.
//!
//! A trace is a *generation* (Go's word): `start` bumps it, and a thread
//! whose chunk belongs to an older one starts a fresh chunk before it
//! records, so no event crosses from one trace into the next.

use super::event::Event;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use std::sync::{Arc, Mutex, MutexGuard};

/// Events per chunk: 40 KiB, so a busy M takes the registry's lock once
/// per 1024 events.
pub(crate) const CHUNK_EVENTS: usize = 1024;

/// The current trace's generation (0: none started yet). Written under the
/// registry's lock by `start`; read by recording threads.
pub(super) static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A fixed array of events, filled by one thread.
pub(super) struct Chunk {
    /// The trace it belongs to.
    generation: u64,
    /// Slots `0..len` are written and never written again: readers may copy
    /// them after an acquire load of `len`.
    len: AtomicUsize,
    /// The slots; only the owning thread writes, and only at `len`.
    slots: Box<[UnsafeCell<Event>]>,
}

// SAFETY: a chunk's slots are written only by the thread that owns it, each
// slot once, before `len` is raised past it with a release store; other
// threads read only slots below a `len` they loaded with acquire, which are
// never written again. So no slot is ever read and written at once.
unsafe impl Sync for Chunk {}

impl Chunk {
    fn new(generation: u64) -> Box<Chunk> {
        Box::new(Chunk {
            generation,
            len: AtomicUsize::new(0),
            slots: (0..CHUNK_EVENTS).map(|_| UnsafeCell::new(Event::default())).collect(),
        })
    }

    /// The published events.
    fn published(&self) -> impl Iterator<Item = Event> + '_ {
        let len = self.len.load(Acquire);
        self.slots[..len].iter().map(|slot| {
            // SAFETY: slots below a published `len` are never written again
            // (see `Chunk`'s `Sync`).
            unsafe { *slot.get() }
        })
    }
}

/// One thread's buffer: its track in the trace.
pub(super) struct ThreadBuf {
    /// The thread's number in the trace (its track), from 1.
    pub(super) tid: u32,
    /// The thread's name, for the track's label.
    pub(super) name: String,
    /// The chunk being filled. The owning thread reads it at will and
    /// replaces it only with the registry's lock held; other threads read
    /// it only with that lock held.
    current: UnsafeCell<Box<Chunk>>,
}

// SAFETY: `current` is replaced only by the owning thread with the
// registry's lock held, and read by other threads only with that lock
// held, so no read races with the replacement; the owner's unlocked reads
// race only with other readers. The chunk itself is `Sync`.
unsafe impl Sync for ThreadBuf {}
// SAFETY: as above; nothing in it is tied to the thread that made it.
unsafe impl Send for ThreadBuf {}

/// Every buffer and every full chunk of the current trace.
pub(super) struct Registry {
    /// Threads that have recorded, alive.
    threads: Vec<Arc<ThreadBuf>>,
    /// Chunks handed in full (or by an exiting thread): `(tid, chunk)`.
    full: Vec<(u32, Box<Chunk>)>,
    /// Names of threads that have exited, by tid, for their tracks.
    gone: Vec<(u32, String)>,
    /// The next thread number.
    next_tid: u32,
}

/// The registry: taken when a thread first records, when a chunk fills,
/// and by `start` and `stop`.
pub(super) static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    threads: Vec::new(),
    full: Vec::new(),
    gone: Vec::new(),
    next_tid: 1,
});

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// This thread's handle on its buffer; hands the chunk in when the
/// thread exits.
struct Local(Arc<ThreadBuf>);

impl Drop for Local {
    fn drop(&mut self) {
        let mut reg = registry();
        reg.threads.retain(|t| !Arc::ptr_eq(t, &self.0));
        // SAFETY: the registry's lock is held (see `ThreadBuf`).
        let chunk = std::mem::replace(unsafe { &mut *self.0.current.get() }, Chunk::new(0));
        if chunk.generation == GENERATION.load(Relaxed) && chunk.len.load(Relaxed) > 0 {
            reg.full.push((self.0.tid, chunk));
        }
        reg.gone.push((self.0.tid, self.0.name.clone()));
    }
}

thread_local! {
    static LOCAL: std::cell::OnceCell<Local> = const { std::cell::OnceCell::new() };
}

/// Appends `event` to this thread's buffer. Does nothing on a thread whose
/// thread-locals are being destroyed.
pub(super) fn push(event: Event) {
    let _ = LOCAL.try_with(|local| {
        let buf = &local
            .get_or_init(|| {
                let mut reg = registry();
                let tid = reg.next_tid;
                reg.next_tid += 1;
                let name = std::thread::current().name().unwrap_or("thread").to_string();
                let buf = Arc::new(ThreadBuf {
                    tid,
                    name,
                    current: UnsafeCell::new(Chunk::new(GENERATION.load(Relaxed))),
                });
                reg.threads.push(buf.clone());
                Local(buf)
            })
            .0;
        let generation = GENERATION.load(Relaxed);
        // SAFETY: this is the owning thread: its reads of `current` need no
        // lock (see `ThreadBuf`).
        let chunk = unsafe { &**buf.current.get() };
        let len = chunk.len.load(Relaxed);
        if chunk.generation != generation || len == CHUNK_EVENTS {
            replace_chunk(buf, generation);
            return push(event);
        }
        // SAFETY: slot `len` is unpublished: only this thread (the owner)
        // touches it until the release store below.
        unsafe { *chunk.slots[len].get() = event };
        // Release: publishes the slot to `stop` (see `Chunk`).
        chunk.len.store(len + 1, Release);
    });
}

/// Hands this thread's chunk in (if it holds events of the current trace)
/// and starts a fresh one.
#[cold]
fn replace_chunk(buf: &ThreadBuf, generation: u64) {
    let mut reg = registry();
    // SAFETY: the owning thread, with the registry's lock held (see
    // `ThreadBuf`).
    let slot = unsafe { &mut *buf.current.get() };
    let old = std::mem::replace(slot, Chunk::new(generation));
    if old.generation == generation && old.len.load(Relaxed) > 0 {
        reg.full.push((buf.tid, old));
    }
}

/// Starts a new generation; events of older ones are dropped.
pub(super) fn begin() {
    let mut reg = registry();
    reg.full.clear();
    reg.gone.clear();
    GENERATION.fetch_add(1, Relaxed);
}

/// What `stop` collected: every published event of the current
/// generation, by thread, and the threads' names.
pub(super) struct Collected {
    /// `(tid, events in the order recorded)`, one entry per chunk.
    pub(super) chunks: Vec<(u32, Vec<Event>)>,
    /// `(tid, name)` of every thread that recorded.
    pub(super) threads: Vec<(u32, String)>,
}

/// Collects the current generation's events (see the module docs).
pub(super) fn collect() -> Collected {
    let mut reg = registry();
    let generation = GENERATION.load(Relaxed);
    let mut chunks: Vec<(u32, Vec<Event>)> = std::mem::take(&mut reg.full)
        .into_iter()
        .filter(|(_, c)| c.generation == generation)
        .map(|(tid, c)| (tid, c.published().collect()))
        .collect();
    let mut threads: Vec<(u32, String)> = std::mem::take(&mut reg.gone);
    for buf in &reg.threads {
        // SAFETY: the registry's lock is held (see `ThreadBuf`).
        let chunk = unsafe { &**buf.current.get() };
        if chunk.generation == generation {
            chunks.push((buf.tid, chunk.published().collect()));
        }
        threads.push((buf.tid, buf.name.clone()));
    }
    // A later `stop` of the same generation (none: `start` bumps it) would
    // see these again; bump now so that no thread keeps appending to them.
    GENERATION.fetch_add(1, Relaxed);
    Collected { chunks, threads }
}

#[cfg(test)]
mod tests {
    use super::super::event::{Event, Kind};
    use super::{begin, collect, push, CHUNK_EVENTS};

    fn events_of(c: &super::Collected, tid: u32) -> Vec<Event> {
        c.chunks
            .iter()
            .filter(|(t, _)| *t == tid)
            .flat_map(|(_, e)| e.iter().copied())
            .collect()
    }

    /// Events cross chunks, come back in order per thread from threads
    /// that exited (their chunk handed in) and from one still alive, and a
    /// new generation starts empty.
    #[test]
    fn every_published_event_is_collected_in_order() {
        let event = |a: u64, b: u64| Event {
            kind: Kind::Steal,
            a,
            b,
            ..Event::default()
        };
        begin();
        let n = CHUNK_EVENTS as u64 * 2 + 5;
        let threads: Vec<_> = (0..3)
            .map(|t| std::thread::spawn(move || (0..n).for_each(|i| push(event(100 + t, i)))))
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        (0..10).for_each(|i| push(event(7, i)));
        let c = collect();
        let mine: Vec<(u32, Vec<Event>)> = c
            .threads
            .iter()
            .map(|(tid, _)| (*tid, events_of(&c, *tid)))
            .filter(|(_, e)| !e.is_empty())
            .collect();
        assert_eq!(mine.len(), 4, "one list of events per thread");
        for (_, events) in &mine {
            let who = events[0].a;
            let expected = if who == 7 { 10 } else { n };
            assert_eq!(events.len() as u64, expected);
            assert!(events.iter().enumerate().all(|(i, e)| e.a == who && e.b == i as u64));
        }
        begin();
        push(event(8, 0));
        let c = collect();
        let all: Vec<Event> = c.chunks.iter().flat_map(|(_, e)| e.iter().copied()).collect();
        assert_eq!(all.len(), 1, "events of an older trace were kept: {}", all.len());
    }
}
