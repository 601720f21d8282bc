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
