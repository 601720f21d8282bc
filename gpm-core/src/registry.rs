//! Every live G of a runtime, for `num_goroutine`, `abort`, and shutdown
//! (Go's `allgs`).
//!
//! A G is listed from the moment it is spawned until its future is dropped.
//! Each entry holds a waker of the G (which keeps the task's memory alive,
//! as Go keeps a parked goroutine alive) and a pointer to its [`GInfo`].
//! Shutdown wakes every listed G after the run queues are closed, so the
//! schedule function drops it: no parked G outlives its runtime.
//!
//! Entries live in shards (a mutex each) picked by goroutine id, so spawns on
//! different Ps rarely meet on one lock.

use crate::g::GInfo;
use crossbeam_utils::CachePadded;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
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
        if let Some(key) = self.free.pop() {
            *self.slot_mut(key).expect("freed keys point at pages") = Some(entry);
            return key;
        }
        let key = self.len;
        if key % PAGE == 0 {
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

pub(crate) struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    /// Number of listed Gs.
    count: AtomicUsize,
}

impl Registry {
    pub(crate) fn new(procs: usize) -> Registry {
        let n = (procs * 4).next_power_of_two();
        Registry {
            shards: (0..n).map(|_| CachePadded::new(Mutex::new(Shard::default()))).collect(),
            count: AtomicUsize::new(0),
        }
    }

    fn shard(&self, goid: u64) -> &Mutex<Shard> {
        &self.shards[goid as usize & (self.shards.len() - 1)]
    }

    /// Lists the G whose runnable is `g`. Call once, before it first runs.
    pub(crate) fn insert(&self, g: &crate::g::G) {
        let info = g.metadata();
        let entry = Entry {
            waker: g.waker(),
            info: NonNull::from(info),
        };
        let mut shard = self.shard(info.goid).lock().unwrap_or_else(|e| e.into_inner());
        let key = shard.insert(entry);
        info.registry_key.store(key, Relaxed);
        drop(shard);
        self.count.fetch_add(1, Relaxed);
    }

    /// Unlists a G; called when its future is dropped.
    pub(crate) fn remove(&self, info: &GInfo) {
        let key = info.registry_key.load(Relaxed);
        let entry = {
            let mut shard = self.shard(info.goid).lock().unwrap_or_else(|e| e.into_inner());
            let entry = shard.slot_mut(key).and_then(Option::take);
            if entry.is_some() {
                shard.free.push(key);
            }
            entry
        };
        if entry.is_some() {
            self.count.fetch_sub(1, Relaxed);
        }
        // The waker is dropped here, outside the lock.
        drop(entry);
    }

    /// Number of live Gs.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Relaxed)
    }

    /// A waker for the G listed as `info`, if it is still listed.
    pub(crate) fn waker_of(&self, info: &GInfo) -> Option<Waker> {
        let key = info.registry_key.load(Relaxed);
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
    #[allow(dead_code)] // used by dumps (issue: toolkit)
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
