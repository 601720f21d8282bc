//! Deadlines on `gpm::net` sockets (Go's `SetDeadline`,
//! `SetReadDeadline`, `SetWriteDeadline`), on 1, 2 and 4 Ps.
//!
//! Time bounds are generous where time is the point (a deadline is never
//! early; it may be late on a loaded machine); a goroutine blocked in a
//! read is found by `gpm::runtime::dump()` showing it in `[IO wait]`, not
//! by sleeping.

use crate::{in_io_wait, watchdog};
use futures::{AsyncReadExt, AsyncWriteExt};
use gpm::net::{TcpListener, TcpStream, UdpSocket};
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
            #[test] fn read_times_out_at_its_deadline() { super::watchdog(|| super::read_times_out_at_its_deadline(rt())) }
            #[test] fn write_deadline_on_a_full_buffer() { super::watchdog(|| super::write_deadline_on_a_full_buffer(rt())) }
            #[test] fn past_deadline_fails_at_once_and_clearing_restores() { super::watchdog(|| super::past_deadline_fails_at_once_and_clearing_restores(rt())) }
            #[test] fn deadline_set_by_another_goroutine_wakes_a_read() { super::watchdog(|| super::deadline_set_by_another_goroutine_wakes_a_read(rt())) }
            #[test] fn a_deadline_set_as_a_read_starts_is_never_missed() { super::watchdog(|| super::a_deadline_set_as_a_read_starts_is_never_missed(rt())) }
            #[test] fn extending_a_deadline_lets_the_read_finish() { super::watchdog(|| super::extending_a_deadline_lets_the_read_finish(rt())) }
            #[test] fn accept_deadline() { super::watchdog(|| super::accept_deadline(rt())) }
            #[test] fn halves_have_their_directions_deadline() { super::watchdog(|| super::halves_have_their_directions_deadline(rt())) }
            #[test] fn udp_recv_deadline() { super::watchdog(|| super::udp_recv_deadline(rt())) }
            #[test] fn unix_stream_deadline() { super::watchdog(|| super::unix_stream_deadline(rt())) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// How late a deadline may fire on a loaded machine.
const LATE: Duration = Duration::from_secs(10);

/// A connected pair: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// A goroutine reading up to 8 bytes from `client`.
fn spawn_read(client: &Arc<TcpStream>) -> gpm::JoinHandle<io::Result<usize>> {
    let client = client.clone();
    gpm::spawn(async move {
        let mut buf = [0; 8];
        (&*client).read(&mut buf).await
    })
}

fn assert_timed_out<T: std::fmt::Debug>(r: io::Result<T>) {
    match r {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}"),
        Ok(v) => panic!("expected TimedOut, got Ok({v:?})"),
    }
}

fn read_times_out_at_its_deadline(rt: Runtime) {
    rt.block_on(async {
        let (mut client, _server) = pair().await;
        let start = Instant::now();
        let deadline = start + Duration::from_millis(100);
        client.set_read_deadline(Some(deadline));
        let mut buf = [0; 8];
        assert_timed_out(client.read(&mut buf).await);
        let now = Instant::now();
        assert!(now >= deadline, "early by {:?}", deadline - now);
        assert!(now - deadline < LATE, "late by {:?}", now - deadline);
        // Still past: the next read fails at once, without waiting.
        assert_timed_out(client.read(&mut buf).await);
        // The write direction has no deadline.
        client.write_all(b"ok").await.unwrap();
    });
}

fn write_deadline_on_a_full_buffer(rt: Runtime) {
    rt.block_on(async {
        let (mut client, mut server) = pair().await;
        let deadline = Instant::now() + Duration::from_millis(100);
        client.set_write_deadline(Some(deadline));
        // Nobody reads: the send and receive buffers fill, then the write
        // waits until the deadline.
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        let err = loop {
            match client.write(&chunk).await {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        let now = Instant::now();
        assert!(now >= deadline, "early by {:?}", deadline - now);
        assert!(now - deadline < LATE, "late by {:?}", now - deadline);
        assert!(sent > 0);
        // Cleared, the writes go on once the peer reads.
        client.set_write_deadline(None);
        let reader = gpm::spawn(async move {
            let mut buf = vec![0; 64 * 1024];
            let mut got = 0usize;
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => return got,
                    n => got += n,
                }
            }
        });
        client.write_all(&chunk).await.unwrap();
        client.close().await.unwrap();
        assert_eq!(reader.await.unwrap(), sent + chunk.len());
    });
}

fn past_deadline_fails_at_once_and_clearing_restores(rt: Runtime) {
    rt.block_on(async {
        let (mut client, mut server) = pair().await;
        server.write_all(b"data").await.unwrap();
        // Go's rule: a deadline in the past fails the operation even when
        // the socket is ready.
        client.set_deadline(Some(Instant::now() - Duration::from_secs(1)));
        let mut buf = [0; 4];
        assert_timed_out(client.read(&mut buf).await);
        assert_timed_out(client.write(b"x").await);
        client.set_deadline(None);
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"data");
        client.write_all(b"x").await.unwrap();
        // A deadline far away changes nothing.
        client.set_deadline(Some(Instant::now() + Duration::from_secs(3600)));
        server.write_all(b"more").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"more");
    });
}

fn deadline_set_by_another_goroutine_wakes_a_read(rt: Runtime) {
    rt.block_on(async {
        let (client, _server) = pair().await;
        let client = Arc::new(client);
        let reader = spawn_read(&client);
        // The reader waits with no deadline at all.
        in_io_wait(1).await;
        client.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)));
        assert_timed_out(reader.await.unwrap());
        // And a deadline in the past wakes a waiting read at once.
        client.set_read_deadline(None);
        let reader = spawn_read(&client);
        in_io_wait(1).await;
        client.set_read_deadline(Some(Instant::now()));
        assert_timed_out(reader.await.unwrap());
    });
}

/// A read that has no deadline when it starts leaves its waker with the
/// netpoller only; a deadline set while it is between its try and its
/// wait must still reach it (the setter kicks the socket's entry as an
/// edge would). Many rounds, the setter starting after 0 to 3 yields, so
/// that on 2 and 4 Ps it lands at every point of the read.
fn a_deadline_set_as_a_read_starts_is_never_missed(rt: Runtime) {
    rt.block_on(async {
        let (client, _server) = pair().await;
        let client = Arc::new(client);
        for round in 0..300 {
            client.set_read_deadline(None);
            let reader = spawn_read(&client);
            let setter = gpm::spawn({
                let client = client.clone();
                async move {
                    for _ in 0..round % 4 {
                        gpm::yield_now().await;
                    }
                    client.set_read_deadline(Some(Instant::now()));
                }
            });
            setter.await.unwrap();
            assert_timed_out(reader.await.unwrap());
        }
    });
}

fn extending_a_deadline_lets_the_read_finish(rt: Runtime) {
    rt.block_on(async {
        let (client, mut server) = pair().await;
        let client = Arc::new(client);
        // A deadline that has not passed when it is moved far away.
        client.set_read_deadline(Some(Instant::now() + Duration::from_secs(3600)));
        let reader = gpm::spawn({
            let client = client.clone();
            async move {
                let mut buf = [0; 4];
                (&*client).read_exact(&mut buf).await.map(|()| buf)
            }
        });
        in_io_wait(1).await;
        client.set_read_deadline(Some(Instant::now() + Duration::from_secs(7200)));
        in_io_wait(1).await;
        server.write_all(b"late").await.unwrap();
        assert_eq!(&reader.await.unwrap().unwrap(), b"late");
    });
}

fn accept_deadline(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let deadline = Instant::now() + Duration::from_millis(50);
        listener.set_deadline(Some(deadline));
        assert_timed_out(listener.accept().await);
        assert!(Instant::now() >= deadline);
        listener.set_deadline(None);
        let addr = listener.local_addr().unwrap();
        let client = gpm::spawn(async move { TcpStream::connect(addr).await.unwrap() });
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(client.await.unwrap().local_addr().unwrap(), peer);
        drop(server);
        // A deadline set while accept waits wakes it.
        let listener = Arc::new(listener);
        let acceptor = gpm::spawn({
            let listener = listener.clone();
            async move { listener.accept().await.map(|(_, peer)| peer) }
        });
        in_io_wait(1).await;
        listener.set_deadline(Some(Instant::now()));
        assert_timed_out(acceptor.await.unwrap());
    });
}

fn halves_have_their_directions_deadline(rt: Runtime) {
    rt.block_on(async {
        let (client, mut server) = pair().await;
        let (mut reader, mut writer) = client.into_split();
        reader.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
        let mut buf = [0; 4];
        assert_timed_out(reader.read(&mut buf).await);
        // The write half has no deadline.
        writer.write_all(b"ping").await.unwrap();
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        writer.set_write_deadline(Some(Instant::now() - Duration::from_millis(1)));
        assert_timed_out(writer.write(b"x").await);
        // Borrowed halves, after reuniting.
        let stream = reader.reunite(writer).unwrap();
        stream.set_deadline(None);
        let (mut r, mut w) = TcpStream::split(&stream);
        w.write_all(b"pong").await.unwrap();
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        r.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
        assert_timed_out(r.read(&mut buf).await);
        w.set_write_deadline(Some(Instant::now() - Duration::from_millis(1)));
        assert_timed_out(w.write(b"x").await);
    });
}

fn udp_recv_deadline(rt: Runtime) {
    rt.block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let deadline = Instant::now() + Duration::from_millis(50);
        b.set_read_deadline(Some(deadline));
        let mut buf = [0; 8];
        assert_timed_out(b.recv_from(&mut buf).await);
        assert!(Instant::now() >= deadline);
        b.set_deadline(None);
        a.send_to(b"dgram", b.local_addr().unwrap()).await.unwrap();
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"dgram"[..], a.local_addr().unwrap()));
        a.set_write_deadline(Some(Instant::now() - Duration::from_millis(1)));
        assert_timed_out(a.send_to(b"x", b.local_addr().unwrap()).await);
    });
}

fn unix_stream_deadline(rt: Runtime) {
    rt.block_on(async {
        let (mut a, mut b) = gpm::net::UnixStream::pair().unwrap();
        a.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
        let mut buf = [0; 2];
        assert_timed_out(a.read(&mut buf).await);
        a.set_read_deadline(None);
        b.write_all(b"hi").await.unwrap();
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");
    });
}
