//! Spawn sites: the `&'static Location` of each `spawn` / `go!` call,
//! interned to a 16-bit id, so that a G's metadata (`GInfo`, in its task's
//! header) keeps its spawn site in two bytes instead of eight.
//!
//! The table is one per process (the ids mean the same in every runtime),
//! open-addressed and lock-free: a spawn from a site seen before costs a
//! hash and one load. A slot, once filled, never changes. A program with
//! more than [`CAPACITY`] distinct spawn sites gets [`OVERFLOW`] for the
//! rest, and its dumps name this file for them.

use std::panic::Location;
use std::ptr;
use std::sync::atomic::AtomicPtr;
// Relaxed throughout: a slot holds a pointer to a `Location` that is static,
// immutable and initialised before `main`, so a load that sees the pointer
// needs nothing else published with it; and a G's site id reaches another
// thread only through the G's own publication (async-task, a registry lock),
// after the slot was filled.
use std::sync::atomic::Ordering::Relaxed;

/// Slots of the table: every `u16` but [`OVERFLOW`].
const CAPACITY: usize = u16::MAX as usize;

/// The id of every site after the table is full (never a slot).
pub(crate) const OVERFLOW: u16 = u16::MAX;

/// The spawn sites seen so far; a null slot is free.
static SITES: [AtomicPtr<Location<'static>>; CAPACITY] = [const { AtomicPtr::new(ptr::null_mut()) }; CAPACITY];

/// The id of `location`, interning it on its first use.
pub(crate) fn intern(location: &'static Location<'static>) -> u16 {
    let wanted = ptr::from_ref(location).cast_mut();
    let mut slot = home(wanted);
    for _ in 0..CAPACITY {
        let seen = SITES[slot].load(Relaxed);
        if seen == wanted {
            return slot as u16;
        }
        if seen.is_null() {
            match SITES[slot].compare_exchange(ptr::null_mut(), wanted, Relaxed, Relaxed) {
                Ok(_) => return slot as u16,
                // Another thread filled it with this very site.
                Err(other) if other == wanted => return slot as u16,
                Err(_) => {}
            }
        }
        slot = if slot + 1 == CAPACITY { 0 } else { slot + 1 };
    }
    OVERFLOW
}

/// The site interned as `id`.
pub(crate) fn location(id: u16) -> &'static Location<'static> {
    let found = SITES
        .get(usize::from(id))
        .map_or(ptr::null_mut(), |slot| slot.load(Relaxed));
    if found.is_null() {
        // `OVERFLOW` (an id `intern` gave never reads a free slot: the
        // slot was filled before `intern` returned it).
        return Location::caller();
    }
    // SAFETY: non-null slots hold only pointers made from a `&'static
    // Location<'static>` in `intern`, and are never changed or freed.
    unsafe { &*found }
}

/// The first slot to try for `site`: a multiplicative hash of its address,
/// mapped onto `0..CAPACITY`.
fn home(site: *mut Location<'static>) -> usize {
    let hash = (site.addr() as u64 >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    ((hash * CAPACITY as u64) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_keeps_its_id_and_reads_back() {
        let here = Location::caller();
        let there = Location::caller();
        let (a, b) = (intern(here), intern(there));
        assert_ne!(a, b);
        assert_eq!(intern(here), a);
        assert!(std::ptr::eq(location(a), here));
        assert!(std::ptr::eq(location(b), there));
    }
}
