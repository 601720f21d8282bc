#[gpm::test]
fn missing_async() {}

#[gpm::test(procs = 0)]
async fn procs_zero() {}

#[gpm::test(timeout = 5)]
async fn unknown_option() {}

#[gpm::test]
async fn takes_parameters(n: u32) {
    let _ = n;
}

#[gpm::test]
#[test]
async fn second_test_attribute() {}

fn main() {}
