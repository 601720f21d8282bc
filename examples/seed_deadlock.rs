//! The seed's first program: a send on an unbuffered channel that nobody
//! will ever receive. Go reports a deadlock; so does gpm.
//!
//! ```go
//! func main() {
//!     ch := make(chan string)
//!     ch <- "test"
//!     fmt.Println(<-ch)
//! }
//! ```
//!
//! `cargo run --example seed_deadlock` prints
//! `fatal error: all goroutines are asleep - deadlock!`, then
//! `goroutine 1 [chan send]:`, and exits with status 2.

#[gpm::main]
async fn main() {
    let ch = gpm::chan::<&str>(0);
    ch.send("test").await.unwrap();
    println!("{}", ch.recv().await.unwrap());
}
