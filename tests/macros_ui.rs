//! `#[gpm::main]` and `#[gpm::test]`: what they accept and how they fail
//! (the trybuild cases in `tests/ui/`), and tests written with
//! `#[gpm::test]` itself.
//!
//! To regenerate the expected compiler output after changing a message:
//! `TRYBUILD=overwrite cargo test --test macros_ui`, then read the new
//! `.stderr` files to check that each error points at the right token.

use std::time::{Duration, Instant};

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

#[gpm::test]
async fn test_body_can_await_a_goroutine() {
    let handle = gpm::spawn(async { 6 * 7 });
    assert_eq!(handle.await.unwrap(), 42);
}

#[gpm::test(procs = 1)]
async fn test_body_need_not_be_send() {
    let not_send = std::rc::Rc::new(7);
    gpm::yield_now().await;
    assert_eq!(*not_send, 7);
    assert_eq!(gpm::runtime::gomaxprocs(), 1);
}

#[gpm::test(procs = 2)]
async fn test_returning_ok_passes() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    assert_eq!(gpm::runtime::gomaxprocs(), 2);
    Ok(())
}

#[gpm::test]
#[should_panic(expected = "boom in the body")]
async fn test_panic_in_body_fails_the_test() {
    gpm::yield_now().await;
    panic!("boom in the body");
}

#[gpm::test]
#[should_panic(expected = "boom in a goroutine")]
async fn test_panic_in_another_goroutine_fails_the_test() {
    gpm::go!(async { panic!("boom in a goroutine") });
    // Keep the body running until the runtime reports the panic; the
    // deadline only bounds the test if it never does.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        gpm::yield_now().await;
    }
}

#[gpm::test]
#[ignore = "checks that #[ignore] is kept: this would fail if run"]
async fn test_ignore_is_kept() {
    panic!("an #[ignore]d test ran");
}
