//! The seed's v3: `main` waits a second after the send, so the goroutine
//! prints `test`.
//!
//! ```go
//! func main() {
//!     ch := make(chan string)
//!     go func() {
//!         fmt.Println(<-ch)
//!     }()
//!     ch <- "test"
//!     time.Sleep(time.Second)
//! }
//! ```

use std::time::Duration;

#[gpm::main]
async fn main() {
    let ch = gpm::chan::<&str>(0);
    let rx = ch.clone();
    gpm::go!(async move {
        println!("{}", rx.recv().await.unwrap());
    });
    ch.send("test").await.unwrap();
    gpm::time::sleep(Duration::from_secs(1)).await;
}
