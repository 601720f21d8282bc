//! [`GpmExecutor`]: a gpm runtime as other crates' executor trait.

use gpm_core::runtime::{Handle, Runtime};

/// A gpm runtime seen as an executor by other crates: criterion's
/// `AsyncExecutor` (feature `criterion`) and hyper's `rt::Executor`
/// (feature `hyper`).
///
/// ```
/// let rt = gpm::runtime::Runtime::new()?;
/// let executor = gpm_compat::GpmExecutor::new(&rt);
/// // A clone spawns onto the same runtime, from any thread.
/// let job = std::thread::spawn({
///     let executor = executor.clone();
///     move || executor.handle().spawn(async { 6 * 7 })
/// })
/// .join()
/// .unwrap();
/// assert_eq!(rt.block_on(job).unwrap(), 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// It holds a [`Handle`], not the [`Runtime`]: the runtime still shuts down
/// when its owner drops it.
#[derive(Clone, Debug)]
pub struct GpmExecutor {
    /// The runtime futures run on.
    handle: Handle,
}

impl GpmExecutor {
    /// An executor for `runtime`.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let executor = gpm_compat::GpmExecutor::new(&rt);
    /// assert_eq!(executor.handle().procs(), rt.handle().procs());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(runtime: &Runtime) -> GpmExecutor {
        GpmExecutor::from_handle(runtime.handle().clone())
    }

    /// An executor for the runtime of `handle`.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let executor = gpm_compat::GpmExecutor::from_handle(rt.handle().clone());
    /// assert_eq!(executor.handle().procs(), rt.handle().procs());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_handle(handle: Handle) -> GpmExecutor {
        GpmExecutor { handle }
    }

    /// An executor for the runtime of the calling goroutine.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let executor = rt.block_on(async { gpm_compat::GpmExecutor::current() });
    /// assert_eq!(executor.handle().procs(), rt.handle().procs());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// Outside a gpm runtime (see [`Handle::current`]).
    #[track_caller]
    pub fn current() -> GpmExecutor {
        GpmExecutor::from_handle(Handle::current())
    }

    /// The handle of its runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl From<Handle> for GpmExecutor {
    fn from(handle: Handle) -> GpmExecutor {
        GpmExecutor::from_handle(handle)
    }
}

impl From<&Runtime> for GpmExecutor {
    fn from(runtime: &Runtime) -> GpmExecutor {
        GpmExecutor::new(runtime)
    }
}
