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
//!
//! The networking examples are run by `tests/examples/`.

mod deadline;
mod split;
mod tcp;
mod udp;
mod unix;

use std::time::Duration;

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
