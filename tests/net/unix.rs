//! Unix domain sockets (`gpm::net::{UnixListener, UnixStream,
//! UnixDatagram}`) on 1, 2 and 4 Ps. Socket files live in the temp dir
//! under unique names and are removed after. Deadlines only turn hangs
//! into failures.
#![cfg(unix)]

use crate::{in_io_wait, watchdog};
use futures::{AsyncReadExt, AsyncWriteExt};
use gpm::net::{UnixDatagram, UnixListener, UnixStream};
use gpm::runtime::Runtime;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn echo_many_connections() { super::watchdog(|| super::echo_many_connections(rt())) }
            #[test] fn pair_shutdown_and_addresses() { super::watchdog(|| super::pair_shutdown_and_addresses(rt())) }
            #[test] fn connect_errors() { super::watchdog(|| super::connect_errors(rt())) }
            #[test] fn blocked_read_is_woken() { super::watchdog(|| super::blocked_read_is_woken(rt())) }
            #[test] fn datagram_ping_pong() { super::watchdog(|| super::datagram_ping_pong(rt())) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// A unique socket path in the temp dir, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(what: &str) -> TempPath {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "gpm-net-unix-{what}-{}-{}.sock",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pattern(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (j.wrapping_mul(31) ^ i.wrapping_mul(7)) as u8)
        .collect()
}

fn echo_many_connections(rt: Runtime) {
    const CONNS: usize = 4;
    // Bigger than the socket buffers: reads and writes both wait.
    const LEN: usize = 512 * 1024;
    let tmp = TempPath::new("echo");
    let path = tmp.path().to_path_buf();
    rt.block_on(async move {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
        let server = gpm::spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..CONNS {
                let (stream, _) = listener.accept().await.unwrap();
                echoes.push(gpm::spawn(async move {
                    let (mut r, mut w) = (&stream, &stream);
                    let n = futures::io::copy(&mut r, &mut w).await.unwrap();
                    w.close().await.unwrap();
                    n
                }));
            }
            let mut total = 0;
            for e in echoes {
                total += e.await.unwrap();
            }
            total
        });
        let clients: Vec<_> = (0..CONNS)
            .map(|i| {
                let path = path.clone();
                gpm::spawn(async move {
                    let stream = Arc::new(UnixStream::connect(&path).await.unwrap());
                    assert_eq!(stream.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
                    let data = pattern(i, LEN);
                    let expected = data.clone();
                    let w = stream.clone();
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

fn pair_shutdown_and_addresses(rt: Runtime) {
    rt.block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(b.peer_addr().unwrap().is_unnamed());
        a.write_all(b"from a").await.unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        let mut text = String::new();
        b.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "from a");
        // The other direction is still open.
        b.write_all(b"from b").await.unwrap();
        drop(b);
        let mut text = String::new();
        a.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "from b");
        assert!(a.take_error().unwrap().is_none());
    });
}

fn connect_errors(rt: Runtime) {
    rt.block_on(async {
        // No such file.
        let missing = TempPath::new("missing");
        let err = UnixStream::connect(missing.path()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
        // A socket file nobody listens on any more.
        let stale = TempPath::new("stale");
        drop(UnixListener::bind(stale.path()).unwrap());
        let err = UnixStream::connect(stale.path()).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
        // Binding an existing path fails.
        assert!(UnixListener::bind(stale.path()).is_err());
        // The runtime still works.
        let (a, mut b) = UnixStream::pair().unwrap();
        (&a).write_all(b"ok").await.unwrap();
        let mut buf = [0; 2];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");
    });
}

fn blocked_read_is_woken(rt: Runtime) {
    rt.block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let reader = gpm::spawn(async move {
            let mut buf = [0; 4];
            b.read_exact(&mut buf).await.unwrap();
            buf
        });
        in_io_wait(1).await;
        a.write_all(b"ping").await.unwrap();
        assert_eq!(&reader.await.unwrap(), b"ping");
    });
}

fn datagram_ping_pong(rt: Runtime) {
    const ROUNDS: usize = 200;
    let server_path = TempPath::new("dgram-server");
    let client_path = TempPath::new("dgram-client");
    let (sp, cp) = (server_path.path().to_path_buf(), client_path.path().to_path_buf());
    rt.block_on(async move {
        let server = UnixDatagram::bind(&sp).unwrap();
        let echo = gpm::spawn(async move {
            let mut buf = [0; 64];
            for _ in 0..ROUNDS {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                let to = from.as_pathname().expect("the client is bound").to_path_buf();
                server.send_to(&buf[..n], &to).await.unwrap();
            }
        });
        let client = UnixDatagram::bind(&cp).unwrap();
        client.connect(&sp).unwrap();
        let mut buf = [0; 64];
        for i in 0..ROUNDS {
            let msg = format!("datagram {i}");
            client.send(msg.as_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], msg.as_bytes());
        }
        echo.await.unwrap();
        // A connected pair.
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"pair").await.unwrap();
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pair");
    });
}
