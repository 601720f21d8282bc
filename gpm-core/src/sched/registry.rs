//! Every parked G of a runtime, for `abort` and shutdown (Go's `allgs`,
//! less the Gs that never waited).
//!
//! A G is listed the first time its poll returns `Pending`, until its future
//! is dropped. Until then it is always in a run queue or running, where
//! shutdown finds it anyway; a G that finishes in its first poll (most
//! spawned Gs) never touches the registry. (Listing every G at spawn cost a
//! third of the time of tokio's `spawn_many_remote_idle` in a profile.)
//!
//! Each entry holds a waker of the G (which keeps the task's memory alive,
//! as Go keeps a parked goroutine alive even if nothing can wake it) and a
//! pointer to its [`GInfo`]. Shutdown wakes every listed G after the run
//! queues are closed, so the schedule function drops it: no parked G
//! outlives its runtime.
//!
//! Entries live in shards (a mutex each) picked by goroutine id.

use super::g::GInfo;
use crossbeam_utils::CachePadded;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Mutex;
use std::task::Waker;

struct Entry {
    waker: Waker,
    info: NonNull<GInfo>,
}

// SAFETY: `info` points into a task header that the entry's own waker keeps
// alive; `GInfo` is `Sync`, and the pointer is only read.
unsafe impl Send for Entry {}

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
    pub(crate) fn insert(&self, info: &GInfo, waker: Waker) {
        let entry = Entry {
            waker,
            info: NonNull::from(info),
        };
        let mut shard = self.shard(info.goid).lock().unwrap_or_else(|e| e.into_inner());
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
            let mut shard = self.shard(info.goid).lock().unwrap_or_else(|e| e.into_inner());
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
        let shard = self.shard(info.goid).lock().unwrap_or_else(|e| e.into_inner());
        shard
            .slot(key)
            .and_then(Option::as_ref)
            .filter(|e| e.info == NonNull::from(info))
            .map(|e| e.waker.clone())
    }

    /// Wakers of every listed G (for shutdown).
    pub(crate) fn all_wakers(&self) -> Vec<Waker> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(shard.entries().map(|e| e.waker.clone()));
        }
        out
    }

    /// Runs `f` on the info of every listed G (for dumps and stats).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&GInfo)) {
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            for e in shard.entries() {
                // SAFETY: the entry's waker keeps the task, and so its header
                // holding the `GInfo`, alive while the entry is listed.
                f(unsafe { e.info.as_ref() });
            }
        }
    }
}
