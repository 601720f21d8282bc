//! `gpm::net::UdpSocket` over loopback on 1, 2 and 4 Ps.
//!
//! Loopback may drop datagrams when a receive buffer is full, so every
//! test keeps few datagrams in flight: each request's reply is awaited
//! before the next request. Deadlines only turn hangs into failures.

use crate::{in_io_wait, watchdog};
use gpm::net::UdpSocket;
use gpm::runtime::Runtime;
use std::collections::HashSet;
use std::sync::Arc;

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn ping_pong() { super::watchdog(|| super::ping_pong(rt())) }
            #[test] fn ping_pong_connected() { super::watchdog(|| super::ping_pong_connected(rt())) }
            #[test] fn many_senders_one_socket() { super::watchdog(|| super::many_senders_one_socket(rt())) }
            #[test] fn blocked_recv_is_woken() { super::watchdog(|| super::blocked_recv_is_woken(rt())) }
            #[test] fn two_receivers_on_one_socket() { super::watchdog(|| super::two_receivers_on_one_socket(rt())) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// Echoes `count` datagrams back to their senders.
async fn echo_server(socket: Arc<UdpSocket>, count: usize) -> usize {
    let mut buf = [0; 1500];
    for _ in 0..count {
        let (n, from) = socket.recv_from(&mut buf).await.unwrap();
        assert_eq!(socket.send_to(&buf[..n], from).await.unwrap(), n);
    }
    count
}

fn ping_pong(rt: Runtime) {
    const ROUNDS: usize = 500;
    rt.block_on(async {
        let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = server.local_addr().unwrap();
        let echo = gpm::spawn(echo_server(server, ROUNDS));
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0; 64];
        for i in 0..ROUNDS {
            let msg = format!("ping {i}");
            client.send_to(msg.as_bytes(), addr).await.unwrap();
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, addr);
            assert_eq!(&buf[..n], msg.as_bytes());
        }
        assert_eq!(echo.await.unwrap(), ROUNDS);
    });
}

fn ping_pong_connected(rt: Runtime) {
    const ROUNDS: usize = 500;
    rt.block_on(async {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        let a2 = a.clone();
        let ponger = gpm::spawn(async move {
            let mut buf = [0; 8];
            for _ in 0..ROUNDS {
                let n = a2.recv(&mut buf).await.unwrap();
                let v = u64::from_le_bytes(buf[..n].try_into().unwrap());
                a2.send(&(v + 1).to_le_bytes()).await.unwrap();
            }
        });
        let mut buf = [0; 8];
        for i in 0..ROUNDS as u64 {
            b.send(&(2 * i).to_le_bytes()).await.unwrap();
            assert_eq!(b.peek(&mut buf).await.unwrap(), 8);
            assert_eq!(b.recv(&mut buf).await.unwrap(), 8);
            assert_eq!(u64::from_le_bytes(buf), 2 * i + 1);
        }
        ponger.await.unwrap();
    });
}

fn many_senders_one_socket(rt: Runtime) {
    const SENDERS: usize = 16;
    const EACH: usize = 50;
    rt.block_on(async {
        let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = server.local_addr().unwrap();
        // The server records every (sender, sequence) it sees.
        let seen = gpm::spawn({
            let server = server.clone();
            async move {
                let mut seen = HashSet::new();
                let mut buf = [0; 16];
                for _ in 0..SENDERS * EACH {
                    let (n, from) = server.recv_from(&mut buf).await.unwrap();
                    assert_eq!(n, 16);
                    let id = u64::from_le_bytes(buf[..8].try_into().unwrap());
                    let seq = u64::from_le_bytes(buf[8..].try_into().unwrap());
                    assert!(seen.insert((id, seq)), "datagram {id}/{seq} came twice");
                    server.send_to(&buf, from).await.unwrap();
                }
                seen
            }
        });
        let senders: Vec<_> = (0..SENDERS as u64)
            .map(|id| {
                gpm::spawn(async move {
                    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                    socket.connect(addr).await.unwrap();
                    let mut buf = [0; 16];
                    for seq in 0..EACH as u64 {
                        let mut msg = [0; 16];
                        msg[..8].copy_from_slice(&id.to_le_bytes());
                        msg[8..].copy_from_slice(&seq.to_le_bytes());
                        socket.send(&msg).await.unwrap();
                        assert_eq!(socket.recv(&mut buf).await.unwrap(), 16);
                        assert_eq!(buf, msg, "sender {id}: wrong reply");
                    }
                })
            })
            .collect();
        for s in senders {
            s.await.unwrap();
        }
        let seen = seen.await.unwrap();
        for id in 0..SENDERS as u64 {
            for seq in 0..EACH as u64 {
                assert!(seen.contains(&(id, seq)), "datagram {id}/{seq} missing");
            }
        }
    });
}

fn blocked_recv_is_woken(rt: Runtime) {
    rt.block_on(async {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = a.local_addr().unwrap();
        let receiver = gpm::spawn({
            let a = a.clone();
            async move {
                let mut buf = [0; 8];
                let (n, _) = a.recv_from(&mut buf).await.unwrap();
                buf[..n].to_vec()
            }
        });
        in_io_wait(1).await;
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        b.send_to(b"wake", addr).await.unwrap();
        assert_eq!(receiver.await.unwrap(), b"wake");
    });
}

/// Two goroutines wait on one socket: each datagram wakes a receiver, and
/// neither is stranded.
fn two_receivers_on_one_socket(rt: Runtime) {
    rt.block_on(async {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = a.local_addr().unwrap();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let a = a.clone();
                gpm::spawn(async move {
                    let mut buf = [0; 8];
                    let (n, _) = a.recv_from(&mut buf).await.unwrap();
                    buf[..n].to_vec()
                })
            })
            .collect();
        in_io_wait(2).await;
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        b.send_to(b"one", addr).await.unwrap();
        b.send_to(b"two", addr).await.unwrap();
        let mut got = Vec::new();
        for r in receivers {
            got.push(r.await.unwrap());
        }
        got.sort();
        assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    });
}
