//! Networking on the netpoller (`gpm::net`), over loopback on 1, 2 and 4
//! Ps. Deadlines only turn hangs into failures.
//!
//! - [`tcp`]: `TcpListener` and `TcpStream` (was `tests/net.rs`).
//! - [`deadline`]: Go's `SetDeadline`, `SetReadDeadline`,
//!   `SetWriteDeadline` on every socket type and the halves.
//! - [`split`]: read and write halves of `TcpStream` and `UnixStream`
//!   (was `tests/net_split.rs`).
//! - [`udp`]: `UdpSocket` (was `tests/net_udp.rs`).
//! - [`unix`]: `UnixListener`, `UnixStream` and `UnixDatagram` (was
//!   `tests/net_unix.rs`).
//! - [`order`]: the order in which goroutines readied by the netpoller
//!   run.
//!
//! The networking examples are run by `tests/examples/`.

mod deadline;
mod order;
mod split;
mod tcp;
mod udp;
mod unix;

use std::time::{Duration, Instant};

/// How long any test may take before it fails (only hangs reach it).
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `f` on a thread; fails if it does not finish within `DEADLINE`.
fn watchdog(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(()) => t.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = t.join() {
                std::panic::resume_unwind(e)
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("test hung for {DEADLINE:?}"),
    }
}

/// Waits until `n` goroutines are listed in `[IO wait]` (yielding in
/// between, so that they get to run).
async fn in_io_wait(n: usize) {
    let needle = "[IO wait]:\ncreated at";
    let give_up = Instant::now() + DEADLINE;
    while gpm::runtime::dump().matches(needle).count() < n {
        assert!(
            Instant::now() < give_up,
            "fewer than {n} goroutine(s) in [IO wait]:\n{}",
            gpm::runtime::dump()
        );
        gpm::yield_now().await;
    }
}
