// `#[gpm::test(synctest)]` alone, with `procs = N` (either order), next to
// other attributes; the body need not be `Send`.

#[gpm::test(synctest)]
async fn bubble() {
    gpm::time::sleep(std::time::Duration::from_secs(60)).await;
}

#[gpm::test(synctest, procs = 2)]
async fn bubble_with_procs() {
    let not_send = std::rc::Rc::new(1);
    gpm::synctest::wait().await;
    assert_eq!(*not_send, 1);
}

#[gpm::test(procs = 4, synctest)]
#[should_panic(expected = "deadlock")]
async fn deadlocked() -> Result<(), String> {
    gpm::chan::<()>(0).recv().await;
    Ok(())
}

fn main() {}
