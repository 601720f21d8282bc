//! Networking on the netpoller: TCP over loopback on 1, 2 and 4 Ps.
//!
//! Deadlines only turn hangs into failures; synchronisation is by the
//! bytes themselves, or by `gpm::runtime::dump()` showing a goroutine in
//! `[IO wait]`.

use crate::{in_io_wait, watchdog, DEADLINE};
use futures::{AsyncReadExt, AsyncWriteExt};
use gpm::net::{TcpListener, TcpStream};
use gpm::runtime::Runtime;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn echo_many_connections() { super::watchdog(|| super::echo_many_connections(rt())) }
            #[test] fn reset_and_vanished_peers_give_errors() { super::watchdog(|| super::reset_and_vanished_peers_give_errors(rt())) }
            #[test] fn blocked_read_shows_io_wait() { super::watchdog(|| super::blocked_read_shows_io_wait(rt())) }
            #[test] fn timers_fire_while_an_m_waits_in_the_poller() { super::watchdog(|| super::timers_fire_while_an_m_waits_in_the_poller(rt())) }
            #[test] fn io_readiness_reaches_busy_ps() { super::watchdog(|| super::io_readiness_reaches_busy_ps(rt())) }
            #[test] fn ping_pong_loses_no_wakeup() { super::watchdog(|| super::ping_pong_loses_no_wakeup(rt())) }
            #[test] fn nonblocking_connect() { super::watchdog(|| super::nonblocking_connect(rt())) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// Bytes of connection `i`, position `j`: every connection's differ.
fn pattern(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (j.wrapping_mul(31) ^ i.wrapping_mul(7)) as u8)
        .collect()
}

/// Echoes until EOF, then closes its write half.
async fn echo(stream: TcpStream) -> io::Result<u64> {
    let stream = Arc::new(stream);
    let (mut reader, mut writer) = (&*stream, &*stream);
    let n = futures::io::copy(&mut reader, &mut writer).await?;
    writer.close().await?;
    Ok(n)
}

fn echo_many_connections(rt: Runtime) {
    const CONNS: usize = 8;
    // Bigger than the socket buffers: reads and writes both hit WouldBlock.
    const LEN: usize = 512 * 1024;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gpm::spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..CONNS {
                let (stream, peer) = listener.accept().await.unwrap();
                assert_eq!(stream.peer_addr().unwrap(), peer);
                echoes.push(gpm::spawn(echo(stream)));
            }
            let mut total = 0;
            for e in echoes {
                total += e.await.unwrap().unwrap();
            }
            total
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                gpm::spawn(async move {
                    let stream = Arc::new(TcpStream::connect(addr).await.unwrap());
                    stream.set_nodelay(true).unwrap();
                    let data = pattern(i, LEN);
                    let w = stream.clone();
                    let expected = data.clone();
                    let writer = gpm::spawn(async move {
                        let mut w = &*w;
                        w.write_all(&data).await.unwrap();
                        w.close().await.unwrap();
                    });
                    // Not `with_capacity`: futures' `read_to_end` zeroes
                    // all spare capacity on every poll.
                    let mut got = Vec::new();
                    (&*stream).read_to_end(&mut got).await.unwrap();
                    writer.await.unwrap();
                    assert!(got == expected, "connection {i}: echoed bytes differ");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), (CONNS * LEN) as u64);
    });
}

fn reset_and_vanished_peers_give_errors(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();

        // A peer that closes with unread data resets the connection.
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server_side, _) = listener.accept().await.unwrap();
        client.write_all(b"ab").await.unwrap();
        let mut one = [0; 1];
        server_side.read_exact(&mut one).await.unwrap();
        drop(server_side); // "b" is unread: RST
        let mut buf = [0; 16];
        let read = client.read(&mut buf).await;
        assert!(
            matches!(&read, Ok(0)) || read.is_err(),
            "read after a reset gave {read:?}"
        );
        let mut write_failed = false;
        for _ in 0..1000 {
            if client.write_all(&[0; 1024]).await.is_err() {
                write_failed = true;
                break;
            }
        }
        assert!(write_failed, "writes to a reset connection kept succeeding");

        // A peer that vanishes mid-read: the reader sees EOF.
        let client = TcpStream::connect(addr).await.unwrap();
        let (mut server_side, _) = listener.accept().await.unwrap();
        let reader = gpm::spawn(async move {
            let mut buf = Vec::new();
            server_side.read_to_end(&mut buf).await.map(|_| buf)
        });
        drop(client);
        let got = reader.await.unwrap();
        assert!(matches!(&got, Ok(b) if b.is_empty()) || got.is_err(), "{got:?}");

        // Connecting to a closed port is an error, not a panic.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        assert!(TcpStream::connect(closed).await.is_err());

        // The runtime still works.
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let echoer = gpm::spawn(echo(server_side));
        client.write_all(b"still alive").await.unwrap();
        client.close().await.unwrap();
        let mut text = String::new();
        client.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "still alive");
        assert_eq!(echoer.await.unwrap().unwrap(), 11);
    });
}

fn blocked_read_shows_io_wait(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server_side, _) = listener.accept().await.unwrap();
        let reader = gpm::spawn(async move {
            let mut buf = [0; 4];
            server_side.read_exact(&mut buf).await.unwrap();
            buf
        });
        let needle = "[IO wait]:\ncreated at";
        let deadline = Instant::now() + DEADLINE;
        while !gpm::runtime::dump().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no goroutine in [IO wait]:\n{}",
                gpm::runtime::dump()
            );
            gpm::yield_now().await;
        }
        let stats = gpm::runtime::stats();
        assert_eq!(stats.io_waiting, 1, "{stats:?}");
        assert_eq!(stats.net_sources, 3, "listener, client and server side: {stats:?}");
        client.write_all(b"ping").await.unwrap();
        assert_eq!(&reader.await.unwrap(), b"ping");
        let stats = gpm::runtime::stats();
        assert_eq!(stats.io_waiting, 0, "{stats:?}");
        assert_eq!(stats.net_sources, 2, "the reader's socket is closed: {stats:?}");
    });
}

fn timers_fire_while_an_m_waits_in_the_poller(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server_side, _) = listener.accept().await.unwrap();
        let reader = gpm::spawn(async move {
            let mut buf = [0; 3];
            server_side.read_exact(&mut buf).await.unwrap();
            buf
        });
        in_io_wait(1).await;
        // Every M is idle but for the sleeps: one waits in the poller, with
        // the earliest timer as its timeout.
        for _ in 0..5 {
            let start = Instant::now();
            gpm::time::sleep(Duration::from_millis(20)).await;
            assert!(start.elapsed() >= Duration::from_millis(20));
        }
        client.write_all(b"end").await.unwrap();
        assert_eq!(&reader.await.unwrap(), b"end");
    });
}

fn io_readiness_reaches_busy_ps(rt: Runtime) {
    rt.block_on(async {
        let procs = gpm::runtime::Handle::current().procs();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (mut server_side, _) = listener.accept().await.unwrap();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = done.clone();
        let reader = gpm::spawn(async move {
            let mut buf = [0; 2];
            server_side.read_exact(&mut buf).await.unwrap();
            d.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        in_io_wait(1).await;
        // Every P busy: goroutines that always have work (they yield).
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinners: Vec<_> = (0..procs)
            .map(|_| {
                let stop = stop.clone();
                gpm::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        gpm::yield_now().await;
                    }
                })
            })
            .collect();
        client.write_all(b"go").await.unwrap();
        let deadline = Instant::now() + DEADLINE;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the reader was never woken");
            gpm::yield_now().await;
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for s in spinners {
            s.await.unwrap();
        }
        reader.await.unwrap();
    });
}

/// Lost-wakeup stress: 32 connections each bounce one byte 2 000 times, so
/// every round trip parks both ends in `IO wait` and needs an edge from the
/// poller to go on (through the non-blocking polls, the poller M and
/// sysmon). A lost edge hangs a connection, and the watchdog fails the
/// test; the counts check that nothing was dropped or duplicated.
fn ping_pong_loses_no_wakeup(rt: Runtime) {
    const CONNS: usize = 32;
    const ROUNDS: u32 = 2_000;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gpm::spawn(async move {
            let mut handlers = Vec::new();
            for _ in 0..CONNS {
                let (mut s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                handlers.push(gpm::spawn(async move {
                    let mut b = [0u8; 1];
                    let mut n = 0u32;
                    while s.read_exact(&mut b).await.is_ok() {
                        b[0] = b[0].wrapping_add(1);
                        s.write_all(&b).await.unwrap();
                        n += 1;
                    }
                    n
                }));
            }
            let mut total = 0;
            for h in handlers {
                total += h.await.unwrap();
            }
            total
        });
        let mut clients = Vec::new();
        for i in 0..CONNS {
            clients.push(gpm::spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.set_nodelay(true).unwrap();
                let mut b = [i as u8];
                for _ in 0..ROUNDS {
                    let sent = b[0];
                    c.write_all(&b).await.unwrap();
                    c.read_exact(&mut b).await.unwrap();
                    assert_eq!(b[0], sent.wrapping_add(1));
                }
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), CONNS as u32 * ROUNDS);
    });
}

/// Connecting without the blocking pool: many at once, each address of a
/// list in turn, the last error when none accepts, `connect_timeout`. (A
/// timeout that fires is not tested: loopback has no connect that reliably
/// hangs.)
fn nonblocking_connect(rt: Runtime) {
    const CONNS: usize = 32;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let server = gpm::spawn(async move {
            let mut peers = Vec::new();
            for _ in 0..CONNS + 2 {
                let (mut s, peer) = listener.accept().await.unwrap();
                let mut b = [0; 1];
                s.read_exact(&mut b).await.unwrap();
                s.write_all(&b).await.unwrap();
                peers.push(peer);
            }
            peers
        });
        // Many connects waiting at once.
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                gpm::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    assert_eq!(s.peer_addr().unwrap(), addr);
                    s.write_all(&[i as u8]).await.unwrap();
                    let mut b = [0; 1];
                    s.read_exact(&mut b).await.unwrap();
                    assert_eq!(b[0], i as u8);
                    s.local_addr().unwrap()
                })
            })
            .collect();
        let mut locals = Vec::new();
        for c in clients {
            locals.push(c.await.unwrap());
        }
        // The closed port first, then the listener: the second is used.
        let mut s = TcpStream::connect(&[closed, addr][..]).await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), addr);
        s.write_all(b"x").await.unwrap();
        s.read_exact(&mut [0; 1]).await.unwrap();
        locals.push(s.local_addr().unwrap());
        // connect_timeout with room to spare.
        let mut s = TcpStream::connect_timeout(addr, DEADLINE).await.unwrap();
        s.write_all(b"y").await.unwrap();
        s.read_exact(&mut [0; 1]).await.unwrap();
        locals.push(s.local_addr().unwrap());
        let mut peers = server.await.unwrap();
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals);
        // Only closed ports: the (last) error, refused.
        let err = TcpStream::connect(&[closed, closed][..]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        let err = TcpStream::connect_timeout(closed, DEADLINE).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    });
    // Outside a runtime: an error, not a panic.
    let err = futures::executor::block_on(TcpStream::connect("127.0.0.1:1")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other, "{err}");
}
