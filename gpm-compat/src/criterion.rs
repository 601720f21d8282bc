//! criterion's `AsyncExecutor` for gpm (feature `criterion`).
//!
//! ```
//! use criterion::async_executor::AsyncExecutor;
//! use criterion::Criterion;
//! use gpm_compat::GpmExecutor;
//!
//! let rt = gpm::runtime::Runtime::new()?;
//!
//! // What `b.to_async(..).iter(..)` does with each batch of iterations.
//! let executor = GpmExecutor::new(&rt);
//! let answer = executor.block_on(async { gpm::spawn(async { 6 * 7 }).await.unwrap() });
//! assert_eq!(answer, 42);
//!
//! // In a bench file:
//! fn spawn_join(c: &mut Criterion, rt: &gpm::runtime::Runtime) {
//!     c.bench_function("spawn_join", |b| {
//!         b.to_async(GpmExecutor::new(rt))
//!             .iter(|| async { gpm::spawn(async { 1 }).await.unwrap() })
//!     });
//! }
//! # let _ = spawn_join;
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::GpmExecutor;
use ::criterion::async_executor::AsyncExecutor;
use std::future::Future;

/// Runs the benchmark's future as a goroutine on the bench thread (see
/// `Runtime::block_on`): the bench thread becomes one of the runtime's Ms
/// for the duration, as with tokio's `Runtime`.
///
/// # Panics
/// When called from inside a goroutine, or on a runtime that has shut down
/// (see `Handle::block_on`).
impl AsyncExecutor for GpmExecutor {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.handle().block_on(future)
    }
}

/// As for [`GpmExecutor`], by reference.
impl AsyncExecutor for &GpmExecutor {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.handle().block_on(future)
    }
}
