//! The seed's v2: no deadlock. The seed's notes say it prints nothing,
//! since `main` returns right after its send; but Go 1.27 prints `test`
//! (20 runs out of 20 at GOMAXPROCS 1, 2 and 4), and so does gpm, for
//! the same reason: `go` does not yield, so `main` reaches the send first
//! and parks on it (nobody is receiving yet); the goroutine then runs,
//! takes the value from the waiting sender, readies `main`, and prints
//! before `main` runs again. With one P that order is certain; with more,
//! an idle P may steal the goroutine and park it on the receive first,
//! and then `main` may return before it prints, in Go as in gpm.
//!
//! ```go
//! func main() {
//!     ch := make(chan string)
//!     go func() {
//!         fmt.Println(<-ch)
//!     }()
//!     ch <- "test"
//! }
//! ```

#[gpm::main]
async fn main() {
    let ch = gpm::chan::<&str>(0);
    let rx = ch.clone();
    gpm::go!(async move {
        println!("{}", rx.recv().await.unwrap());
    });
    ch.send("test").await.unwrap();
}
