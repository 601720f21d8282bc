// The plainest use: `main` becomes goroutine 1, and may await.

#[gpm::main]
async fn main() {
    let handle = gpm::spawn(async { 6 * 7 });
    assert_eq!(handle.await.unwrap(), 42);
}
