//! Channels (`gpm::chan`, `gpm::channel`) and `gpm::select!`: Go's
//! semantics on 1, 2 and 4 Ps.
//!
//! - [`chan`]: sends, receives, close, buffers, the `Stream` and `Sink`
//!   adapters (was `tests/chan.rs`).
//! - [`select`]: Go's select rules (was `tests/select.rs`).
//! - [`exactly_once`]: every value sent is received exactly once when
//!   operations are cut short by `timeout` or lose a `select!` to a timer
//!   (was `tests/exactly_once.rs`).
//!
//! Go's own channel and select tests, ported, are in `tests/golang/`.

mod chan;
mod exactly_once;
mod select;
