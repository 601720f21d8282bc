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
//! - `tokio` (feature `tokio`): `tokio::Compat` runs a future that uses
//!   `tokio::net`, `tokio::time` or `tokio::spawn` inside a goroutine (and
//!   `tokio::spawn` starts one), and adapts IO both ways between tokio's
//!   `AsyncRead` / `AsyncWrite` and futures-io's, so gpm's `TcpStream` works
//!   with tokio-util codecs and tokio's with futures' combinators.
//! - `HyperIo` (feature `hyper`): any futures-io `AsyncRead + AsyncWrite`
//!   (gpm's `TcpStream`) as hyper's `rt::Read` / `rt::Write`, and a hyper IO
//!   type (an upgraded connection) as futures-io. With the two above, hyper's
//!   HTTP/1 and HTTP/2 servers and clients run on gpm: see
//!   `examples/http.rs` at the workspace root, and `benches/http.rs` for the
//!   same server on gpm and on tokio.
//!
//! - `serve` (feature `server`): any `Clone` tower
//!   `Service<http::Request<hyper::body::Incoming>>` (an axum `Router`, a
//!   tonic `Routes`) served on a gpm `TcpListener`, HTTP/1.1 and HTTP/2 on
//!   one port, each connection a goroutine; `Serve` is its builder
//!   (graceful shutdown, header-read timeout, keep-alive, TLS) and
//!   `HandlerPanicked` the error a panicking handler's request fails with.
//! - `GpmConnector` and `GpmStream` (feature `client`): gpm's TCP as the
//!   connector of hyper-util's pooled `Client`, which a tonic client takes
//!   as its channel.
//! - `HttpsConnector`, `MaybeHttpsStream`, `Serve::with_tls` and the
//!   re-exported `rustls` (feature `rustls`): HTTPS through rustls with
//!   ring (futures-rustls over gpm's TCP), built with the Rust toolchain
//!   alone.
//!
//! ## The web stack in one line each
//!
//! ```text
//! // Server (feature `server`): an axum Router, a tonic Routes, any Clone tower Service.
//! gpm_compat::serve(listener, app).await?;
//! gpm_compat::serve(listener, app).with_graceful_shutdown(signal).await?;
//!
//! // Client (feature `client`; HttpsConnector with feature `rustls`).
//! let client = Client::builder(GpmExecutor::current()).timer(GpmTimer::new()).build(GpmConnector::new());
//!
//! // tonic client: its generated `with_origin` takes that client, HTTP/2 only.
//! let channel = Client::builder(GpmExecutor::current()).timer(GpmTimer::new()).http2_only(true).build(GpmConnector::new());
//! let mut greeter = GreeterClient::with_origin(channel, "http://127.0.0.1:50051".parse()?);
//! ```
//!
//! Nothing here starts a tokio runtime: hyper, h2, axum and tonic use
//! tokio's IO traits and sync types, which need none, and the connection
//! tasks, timers and sockets are gpm's. (tonic's own `transport` module is
//! not used: its channel starts tasks with `tokio::spawn`.) A panicking
//! handler fails its own request only; see `serve`. `examples/axum.rs`
//! and `examples/tonic.rs` at the workspace root are whole programs, and
//! `benches/axum.rs` measures axum on gpm against axum on tokio.
//!
//! ## tokio-based crates
//!
//! tokio's sockets and timers need tokio's reactor, which they find through
//! a thread-local handle that gpm's Ms do not have: polled bare inside a
//! goroutine they panic ("there is no reactor running"). Wrap the future
//! (`fut.tokio_compat()`, or start it with `gpm_compat::tokio::spawn`) and it runs on
//! gpm with a global tokio runtime's context set around each poll; that
//! runtime's one thread runs tokio's reactor and timers and wakes the
//! goroutine when they are ready. See the `tokio` module for what is and is not
//! supported.
//!
//! ## async-io based crates
//!
//! Crates built on `async-io` (`async-net`, `async-fs`, `async-process`,
//! `async-channel`, `futures-lite`, smol's ecosystem) need nothing: they run
//! unchanged inside goroutines. async-io keeps its reactor in a global,
//! started on first use and driven by its own thread (named "async-io")
//! whenever no `async_io::block_on` drives it; it needs no thread-local
//! context, and when a socket or timer is ready it calls the `Waker` of the
//! goroutine that polled it, which makes that goroutine runnable on gpm
//! (wakers work across runtimes). gpm's own sockets use gpm's netpoller
//! instead; both kinds can share one goroutine or one connection.
//!
//! ```
//! gpm::runtime::Runtime::new()?.block_on(async {
//!     let (tx, rx) = async_channel::bounded(1);
//!     gpm::spawn(async move {
//!         async_io::Timer::after(std::time::Duration::from_millis(1)).await;
//!         tx.send("from a goroutine, on async-io's timer").await.unwrap();
//!     });
//!     assert_eq!(rx.recv().await.unwrap(), "from a goroutine, on async-io's timer");
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Features
//!
//! | feature     | adds                                              |
//! |-------------|---------------------------------------------------|
//! | `criterion` | `criterion::async_executor::AsyncExecutor` for [`GpmExecutor`] |
//! | `hyper`     | `hyper::rt::Executor` for [`GpmExecutor`], `GpmTimer`, `GpmSleep`, `HyperIo` |
//! | `tokio`     | module `tokio`: `Compat`, `TokioCompatExt`, `spawn`, IO adapters between tokio and futures-io |
//! | `server`    | `serve`, `Serve`, `HandlerPanicked` (implies `hyper`) |
//! | `client`    | `GpmConnector`, `GpmStream` for hyper-util's `Client` (implies `hyper`) |
//! | `rustls`    | `HttpsConnector`, `MaybeHttpsStream`, `Serve::with_tls`, `rustls` (implies `server` and `client`) |

#![forbid(unsafe_code)]

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "criterion")]
mod criterion;
mod executor;
#[cfg(feature = "hyper")]
mod hyper;
#[cfg(feature = "hyper")]
mod io;
#[cfg(feature = "server")]
mod server;
mod spawn;
#[cfg(feature = "rustls")]
mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;

#[cfg(feature = "client")]
pub use client::{GpmConnector, GpmStream};
pub use executor::GpmExecutor;
/// rustls (with ring), for the configs that [`HttpsConnector`] and
/// [`Serve::with_tls`] take.
#[cfg(feature = "rustls")]
pub use futures_rustls::rustls;
#[cfg(feature = "hyper")]
pub use hyper::{GpmSleep, GpmTimer};
#[cfg(feature = "hyper")]
pub use io::HyperIo;
#[cfg(feature = "server")]
pub use server::{serve, HandlerPanicked, Serve};
pub use spawn::GpmSpawner;
#[cfg(feature = "rustls")]
pub use tls::{HttpsConnector, MaybeHttpsStream};
