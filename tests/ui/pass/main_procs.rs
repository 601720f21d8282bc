// `procs = N` sets the number of Ps; the body need not be `Send`.

use std::rc::Rc;

#[gpm::main(procs = 2)]
async fn main() {
    let not_send = Rc::new(7);
    gpm::yield_now().await;
    assert_eq!(*not_send, 7);
    assert_eq!(gpm::runtime::gomaxprocs(), 2);
}
