// `#[gpm::test]` expands to a `#[test]`; the harness only compiles it here
// (tests/macros_ui.rs runs real ones), so this checks the expansion parses
// next to other attributes.

#[gpm::test]
async fn plain() {
    gpm::yield_now().await;
}

#[gpm::test(procs = 2)]
#[should_panic(expected = "boom")]
async fn should_panic() {
    panic!("boom");
}

#[gpm::test]
#[ignore = "slow"]
async fn returns_result() -> Result<(), std::num::ParseIntError> {
    let _: u8 = "1".parse()?;
    Ok(())
}

fn main() {}
