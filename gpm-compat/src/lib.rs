//! # gpm-compat
//!
//! Adapters that let the wider futures ecosystem run on gpm's scheduler.
//!
//! ```
//! use futures::task::SpawnExt;
//! use gpm_compat::GpmSpawner;
//!
//! let rt = gpm::runtime::Runtime::new()?;
//! let spawner = GpmSpawner::new(rt.handle().clone());
//! let (tx, rx) = futures::channel::oneshot::channel();
//! // Any code written against `futures::task::Spawn` now starts goroutines.
//! spawner.spawn(async move { tx.send(6 * 7).unwrap() }).unwrap();
//! assert_eq!(rt.block_on(rx), Ok(42));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## What is here
//!
//! - [`GpmSpawner`]: `futures::task::Spawn` for a gpm runtime handle, so
//!   libraries that take a `Spawn` (or use `SpawnExt`) start goroutines.
//! - [`GpmExecutor`]: a handle to a gpm runtime that is both criterion's
//!   `AsyncExecutor` (feature `criterion`: `b.to_async(GpmExecutor::new(&rt))`)
//!   and hyper's `rt::Executor` (feature `hyper`: what HTTP/2 uses to start
//!   its per-stream tasks).
//! - `GpmTimer` and `GpmSleep` (feature `hyper`): hyper 1.x's `rt::Timer` and
//!   `rt::Sleep` on gpm's timers, for hyper's header-read timeouts, keep-alive
//!   pings and the like.
//! - `HyperIo` (feature `hyper`): any futures-io `AsyncRead + AsyncWrite`
//!   (gpm's `TcpStream`) as hyper's `rt::Read` / `rt::Write`, and a hyper IO
//!   type (an upgraded connection) as futures-io. With the two above, hyper's
//!   HTTP/1 and HTTP/2 servers and clients run on gpm: see
//!   `examples/http.rs` at the workspace root, and `benches/http.rs` for the
//!   same server on gpm and on tokio.
//!
//! ## What waits for gpm's netpoller
//!
//! Not here yet:
//!
//! - tokio interop (running a future that uses `tokio::net` or `tokio::time`
//!   inside a goroutine) and the adapters between tokio's and futures' IO
//!   traits;
//! - the tests that show `async-io` based crates running inside goroutines.
//!
//! ## Features
//!
//! | feature     | adds                                              |
//! |-------------|---------------------------------------------------|
//! | `criterion` | `criterion::async_executor::AsyncExecutor` for [`GpmExecutor`] |
//! | `hyper`     | `hyper::rt::Executor` for [`GpmExecutor`], `GpmTimer`, `GpmSleep`, `HyperIo` |

#![forbid(unsafe_code)]

#[cfg(feature = "criterion")]
mod criterion;
mod executor;
#[cfg(feature = "hyper")]
mod hyper;
#[cfg(feature = "hyper")]
mod io;
mod spawn;

pub use executor::GpmExecutor;
#[cfg(feature = "hyper")]
pub use hyper::{GpmSleep, GpmTimer};
#[cfg(feature = "hyper")]
pub use io::HyperIo;
pub use spawn::GpmSpawner;
