//! Every parked G of a runtime, for `abort` and shutdown (Go's `allgs`,
//! less the Gs that never waited).
//!
//! A G is listed the first time its poll returns `Pending`, until its future
//! is dropped. Until then it is always in a run queue or running, where
//! shutdown finds it anyway; a G that finishes in its first poll (most
//! spawned Gs) never touches the registry. (Listing every G at spawn cost a
//! third of the time of tokio's `spawn_many_remote_idle` in a profile.)
//!
//! Each entry is a waker of the G, 16 bytes: it keeps the task's memory
//! alive (as Go keeps a parked goroutine alive even if nothing can wake
//! it), and leads to the G's [`GInfo`]. async-task's waker points at its
//! task's header, which holds the metadata at a fixed offset (one header
//! type, `Header<GInfo>`, for every G); the offset is taken from the first
//! G listed and checked against every G listed after it ([`Entry::new`]),
//! so an entry never leads anywhere but to its own G's `GInfo`. Shutdown
//! wakes every listed G after the run queues are closed, so the schedule
//! function drops it: no parked G outlives its runtime.
//!
//! Entries live in shards (a mutex each) picked by goroutine id.

use super::g::GInfo;
use crossbeam_utils::CachePadded;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Mutex;
use std::task::Waker;

/// A listed G: its waker, whose data pointer plus [`INFO_OFFSET`] is its
/// `GInfo`.
struct Entry(Waker);

/// Bytes from where a G's waker points (its task's header) to its
/// `GInfo`; `usize::MAX` until the first G is listed. Relaxed: every
/// store writes the same value, and an entry's check (`Entry::new`) reads
/// it on the thread that lists the entry.
static INFO_OFFSET: AtomicUsize = AtomicUsize::new(usize::MAX);

impl Entry {
    /// The entry of the G whose metadata is `info`, woken by `waker`.
    ///
    /// # Panics
    /// If `waker` does not point `INFO_OFFSET` bytes before `info` (it is
    /// not async-task's waker of that G's task): listing it could not lead
    /// back to `info`.
    fn new(info: &GInfo, waker: Waker) -> Entry {
        let offset = std::ptr::from_ref(info).addr().wrapping_sub(waker.data().addr());
        let known = match INFO_OFFSET.compare_exchange(usize::MAX, offset, Relaxed, Relaxed) {
            Ok(_) => offset,
            Err(known) => known,
        };
        assert!(
            offset == known && offset < 256,
            "a goroutine's waker is not its task's (async-task changed its layout?)"
        );
        Entry(waker)
    }

    fn info(&self) -> &GInfo {
        let offset = INFO_OFFSET.load(Relaxed);
        // SAFETY: `Entry::new` checked that the waker's data pointer plus
        // `INFO_OFFSET` (which never changes once set) is the address of
        // the listed G's `GInfo`, and the waker, derived from the task's
        // allocation, carries its provenance. The waker holds a reference
        // to the task, so its header, holding the `GInfo`, stays allocated
        // while the entry exists; `GInfo` is `Sync` and only read here.
        unsafe { &*self.0.data().byte_add(offset).cast::<GInfo>() }
    }
}

/// Entries per page of a shard. Pages are never moved or reallocated, so a
/// million Gs do not leave a trail of freed, half-resident old buffers.
const PAGE: usize = 1024;

#[derive(Default)]
struct Shard {
    pages: Vec<Box<[Option<Entry>]>>,
    /// Slots in use or freed so far (the next fresh slot's index).
    len: usize,
    free: Vec<u32>,
    /// Entries listed now.
    live: usize,
}

impl Shard {
    fn slot(&self, key: u32) -> Option<&Option<Entry>> {
        let key = key as usize;
        self.pages.get(key / PAGE).map(|page| &page[key % PAGE])
    }

    fn slot_mut(&mut self, key: u32) -> Option<&mut Option<Entry>> {
        let key = key as usize;
        self.pages.get_mut(key / PAGE).map(|page| &mut page[key % PAGE])
    }

    fn insert(&mut self, entry: Entry) -> u32 {
        self.live += 1;
        if let Some(key) = self.free.pop() {
            *self.slot_mut(key).expect("freed keys point at pages") = Some(entry);
            return key;
        }
        let key = self.len;
        if key.is_multiple_of(PAGE) {
            self.pages.push((0..PAGE).map(|_| None).collect());
        }
        self.len += 1;
        self.pages[key / PAGE][key % PAGE] = Some(entry);
        u32::try_from(key).expect("more than 4 billion goroutines in one registry shard")
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.pages.iter().flat_map(|page| page.iter().flatten())
    }
}

/// `GInfo::registry_key` of a G that is not listed.
pub(crate) const UNLISTED: u32 = u32::MAX;

pub(crate) struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

impl Registry {
    pub(crate) fn new(procs: usize) -> Registry {
        let n = (procs * 4).next_power_of_two();
        Registry {
            shards: (0..n).map(|_| CachePadded::new(Mutex::new(Shard::default()))).collect(),
        }
    }

    fn shard(&self, goid: u64) -> &Mutex<Shard> {
        &self.shards[goid as usize & (self.shards.len() - 1)]
    }

    /// Lists a G that is about to park; `waker` wakes it. Called by the G's
    /// own poll, once.
    ///
    /// # Panics
    /// If `waker` is not async-task's waker of `info`'s task.
    pub(crate) fn insert(&self, info: &GInfo, waker: Waker) {
        let entry = Entry::new(info, waker);
        let mut shard = self.shard(info.goid()).lock().unwrap_or_else(|e| e.into_inner());
        let key = shard.insert(entry);
        // SeqCst, and under the lock: `JoinHandle::abort` sets its flag and
        // then looks here; the G lists itself and then reads the flag.
        info.registry_key.store(key, SeqCst);
    }

    /// Unlists a G; called when its future is dropped.
    pub(crate) fn remove(&self, info: &GInfo) {
        let key = info.registry_key.load(SeqCst);
        if key == UNLISTED {
            return;
        }
        let entry = {
            let mut shard = self.shard(info.goid()).lock().unwrap_or_else(|e| e.into_inner());
            let entry = shard.slot_mut(key).and_then(Option::take);
            if entry.is_some() {
                shard.free.push(key);
                shard.live -= 1;
            }
            entry
        };
        // The waker is dropped here, outside the lock.
        drop(entry);
    }

    /// Number of listed (parked at least once) Gs.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).live)
            .sum()
    }

    /// A waker for the G listed as `info`, if it is still listed.
    pub(crate) fn waker_of(&self, info: &GInfo) -> Option<Waker> {
        let key = info.registry_key.load(SeqCst);
        if key == UNLISTED {
            return None;
        }
        let shard = self.shard(info.goid()).lock().unwrap_or_else(|e| e.into_inner());
        shard
            .slot(key)
            .and_then(Option::as_ref)
            .filter(|e| std::ptr::eq(e.info(), info))
            .map(|e| e.0.clone())
    }

    /// Wakers of every listed G (for shutdown).
    pub(crate) fn all_wakers(&self) -> Vec<Waker> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(shard.entries().map(|e| e.0.clone()));
        }
        out
    }

    /// Runs `f` on the info of every listed G (for dumps and stats).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&GInfo)) {
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for e in shard.entries() {
                f(e.info());
            }
        }
    }
}
