//! `gpm::synctest` (Go's `testing/synctest`): bubbles, their virtual
//! clock, `wait`, and the deadlocks they report.
//!
//! - [`bubble`]: the clock, `wait`, the edge rules, deadlocks, on 1, 2 and
//!   4 Ps.
//! - [`golang`]: Go's synctest examples and tests, ported with links.
//! - [`retry`]: a 30-second retry loop with back-off, in virtual time.

mod bubble;
mod golang;
mod retry;

/// Runs a test body once per runtime shape (1, 2 and 4 Ps), each in a
/// bubble of its own: `shapes!(procs => async { ... })`.
#[macro_export]
macro_rules! shapes {
    ($procs:ident => $body:expr) => {
        for $procs in [1usize, 2, 4] {
            gpm::synctest::test_with_procs($procs, $body);
        }
    };
}

/// Runs `f` and returns its panic message (`None` if it did not panic).
pub(crate) fn panic_message(f: impl FnOnce()) -> Option<String> {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).err()?;
    Some(if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<not a string>".to_string()
    })
}
