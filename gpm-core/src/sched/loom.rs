//! One door for every synchronisation primitive the scheduler uses.
//!
//! Under `cfg(loom)` these are loom's model-checked types, so the same queue
//! and park code runs in the models of `loom_tests.rs`; otherwise they are `std`'s. Code
//! in gpm-core imports atomics, `Mutex`, `Condvar`, `Arc` and `UnsafeCell`
//! from here and nowhere else.

#[cfg(not(loom))]
mod imp {
    #[allow(unused_imports)]
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

    /// `std`'s `UnsafeCell` with loom's closure-based access API.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a shared pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with an exclusive pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Reads an atomic that only the calling thread ever writes.
    ///
    /// The owner of a run queue is the only writer of its tail, so it may read
    /// it without synchronisation; loom models this as an unsynchronised load.
    #[inline(always)]
    pub(crate) fn unsync_load_u32(a: &AtomicU32) -> u32 {
        a.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    #[allow(unused_imports)]
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

    pub(crate) fn unsync_load_u32(a: &AtomicU32) -> u32 {
        // SAFETY: only the owning thread writes this atomic (see callers).
        unsafe { a.unsync_load() }
    }
}

pub(crate) use imp::*;
