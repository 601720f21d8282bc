//! Go's own tests, ported to gpm: one module per Go source, each test
//! linking to its original.
//!
//! | module | Go source | was |
//! |---|---|---|
//! | [`chan`] | `test/chan/*.go` (the channel programs of Go's test tree) | `tests/golang.rs` |
//! | [`runtime_chan`] | `src/runtime/chan_test.go` (its `select` tests) | the end of `tests/select.rs` |
//! | [`runtime_proc`] | `src/runtime/proc_test.go` (`TestPreemptionAfterSyscall`) | the end of `tests/guarantees.rs` |
//! | [`time_tick`] | `src/time/tick_test.go` | the end of `tests/time.rs` |
//! | [`time_sleep`] | `src/time/sleep_test.go` (the ticker stress tests) | the end of `tests/time.rs` |
//!
//! Originals: <https://github.com/golang/go/tree/master/test/chan>,
//! <https://github.com/golang/go/blob/master/src/runtime/chan_test.go>,
//! <https://github.com/golang/go/blob/master/src/runtime/proc_test.go>,
//! <https://github.com/golang/go/blob/master/src/time/tick_test.go> and
//! <https://github.com/golang/go/blob/master/src/time/sleep_test.go>.
//!
//! gpm's own tests of the same areas are in `tests/channel/`,
//! `tests/runtime/` and `tests/time.rs`.

mod chan;
mod common;
mod runtime_chan;
mod runtime_proc;
mod time_sleep;
mod time_tick;
