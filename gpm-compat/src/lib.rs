//! # gpm-compat
//!
//! Adapters that let the wider futures ecosystem run on gpm's scheduler:
//!
//! - `futures::task::Spawn` for gpm's runtime handle, and criterion's
//!   `AsyncExecutor` so benchmarks can use `to_async`;
//! - hyper 1.x glue: an `Executor`, a `Timer`, and `hyper::rt::Read` / `Write`
//!   for gpm's network streams;
//! - tokio interop: running tokio-dependent futures inside a goroutine.
//!
//! This crate is a placeholder in gpm 0.1: the adapters arrive together with
//! gpm's netpoller and timers (see the project's issue on networking and
//! compatibility). It already depends on `gpm-core` so that the workspace
//! layout is final.

#![forbid(unsafe_code)]
