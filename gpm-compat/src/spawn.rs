//! `futures::task::Spawn` for a gpm runtime.

use futures_task::{FutureObj, Spawn, SpawnError};
use gpm_core::runtime::Handle;

/// A gpm runtime [`Handle`] as a `futures::task::Spawn`: every spawned
/// future becomes a detached goroutine.
///
/// ```
/// use futures::task::SpawnExt;
/// use gpm_compat::GpmSpawner;
///
/// let rt = gpm::runtime::Runtime::new()?;
/// let spawner = GpmSpawner::new(rt.handle().clone());
/// let (tx, rx) = futures::channel::oneshot::channel();
/// spawner.spawn(async move { tx.send("hello from a goroutine").unwrap() }).unwrap();
/// assert_eq!(rt.block_on(rx), Ok("hello from a goroutine"));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The goroutines are started as `go!` starts them ([`Handle::go`]): a panic
/// in one is handled by the runtime's
/// [`UnhandledPanic`](gpm_core::runtime::UnhandledPanic) setting (by
/// default, as in Go, it ends the process). `SpawnExt::spawn_with_handle`
/// gives a handle that carries the output back instead.
///
/// Only `Spawn` is implemented, not `LocalSpawn`: goroutines move between
/// Ms, so a `!Send` future cannot be one (use `Runtime::block_on` for a
/// future that must stay on its thread).
///
/// # Errors
/// `spawn_obj` never fails. gpm's [`Handle`] does not tell whether its
/// runtime has shut down; a future spawned after that is dropped without
/// being polled, as one passed to [`Handle::spawn`] then is.
#[derive(Clone, Debug)]
pub struct GpmSpawner {
    /// The runtime the goroutines run on.
    handle: Handle,
}

impl GpmSpawner {
    /// A spawner onto the runtime of `handle`.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let spawner = gpm_compat::GpmSpawner::new(rt.handle().clone());
    /// assert_eq!(spawner.handle().procs(), rt.handle().procs());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(handle: Handle) -> GpmSpawner {
        GpmSpawner { handle }
    }

    /// A spawner onto the runtime of the calling goroutine.
    ///
    /// ```
    /// let rt = gpm::runtime::Runtime::new()?;
    /// let spawner = rt.block_on(async { gpm_compat::GpmSpawner::current() });
    /// assert_eq!(spawner.handle().procs(), rt.handle().procs());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// Outside a gpm runtime (see [`Handle::current`]).
    #[track_caller]
    pub fn current() -> GpmSpawner {
        GpmSpawner::new(Handle::current())
    }

    /// The runtime handle it spawns onto.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl From<Handle> for GpmSpawner {
    fn from(handle: Handle) -> GpmSpawner {
        GpmSpawner::new(handle)
    }
}

impl Spawn for GpmSpawner {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        self.handle.go(future);
        Ok(())
    }
}
