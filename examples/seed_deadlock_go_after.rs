//! The seed's v1: the receiver is started only after the send, which
//! never completes. Still a deadlock, in Go and in gpm.
//!
//! ```go
//! func main() {
//!     ch := make(chan string)
//!     ch <- "test"
//!     go func() {
//!         fmt.Println(<-ch)
//!     }()
//! }
//! ```

#[gpm::main]
async fn main() {
    let ch = gpm::chan::<&str>(0);
    ch.send("test").await.unwrap();
    let rx = ch.clone();
    gpm::go!(async move {
        println!("{}", rx.recv().await.unwrap());
    });
}
