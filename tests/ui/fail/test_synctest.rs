// `synctest` is a flag of `#[gpm::test]` only, takes no value, and a
// bubble's goroutine panics always fail the test.

#[gpm::test(synctest = true)]
async fn with_a_value() {}

#[gpm::test(synctest, unhandled_panic = "ignore")]
async fn with_unhandled_panic() {}

#[gpm::test(synctest, synctest)]
async fn twice() {}

#[gpm::main(synctest)]
async fn main() {}
