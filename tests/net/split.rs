//! Read and write halves of `gpm::net::TcpStream` and `UnixStream` on 1, 2
//! and 4 Ps: a reader goroutine and a writer goroutine on the two halves
//! of one stream. Deadlines only turn hangs into failures.

use crate::watchdog;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use gpm::net::{Duplex, OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
use gpm::runtime::Runtime;

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn tcp_owned_halves_echo_1mib() { super::watchdog(|| super::tcp_owned_halves_echo_1mib(rt())) }
            #[cfg(unix)]
            #[test] fn unix_owned_halves_echo_1mib() { super::watchdog(|| super::unix_owned_halves_echo_1mib(rt())) }
            #[test]
            fn borrowed_halves_in_one_goroutine() { super::watchdog(|| super::borrowed_halves_in_one_goroutine(rt())) }
            #[test] fn dropping_the_write_half_sends_eof() { super::watchdog(|| super::dropping_the_write_half_sends_eof(rt())) }
            #[test] fn reunite() { super::watchdog(|| super::reunite(rt())) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// 1 MiB: more than the socket buffers, so reads and writes both wait.
const LEN: usize = 1024 * 1024;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|j| (j.wrapping_mul(31) ^ (j >> 9)) as u8).collect()
}

/// Reads to EOF in 64 KiB steps. (futures' `read_to_end` zeroes the
/// vector's whole spare capacity on every poll: with a 1 MiB vector and a
/// reader woken for every few KiB, a debug build spends seconds zeroing.)
async fn read_all(reader: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut got = Vec::with_capacity(LEN);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await.unwrap();
        if n == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// Echoes through the halves of `stream`, a goroutine on each: the reader
/// passes chunks to the writer over a channel. Returns the bytes echoed.
async fn echo_halves<S>(stream: S) -> u64
where
    S: Duplex + Send + Sync + 'static,
    OwnedReadHalf<S>: AsyncRead + Unpin,
    OwnedWriteHalf<S>: AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = OwnedReadHalf::from_stream(stream);
    let tx = gpm::chan::<Vec<u8>>(4);
    let rx = tx.clone();
    let read = gpm::spawn(async move {
        let mut total = 0u64;
        let mut buf = vec![0; 16 * 1024];
        loop {
            let n = reader.read(&mut buf).await.unwrap();
            if n == 0 {
                tx.close().unwrap();
                return total;
            }
            total += n as u64;
            tx.send(buf[..n].to_vec()).await.unwrap();
        }
    });
    let write = gpm::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            writer.write_all(&chunk).await.unwrap();
        }
        // `writer` dropped here: the peer reads EOF.
    });
    let total = read.await.unwrap();
    write.await.unwrap();
    total
}

/// Sends `LEN` bytes through the write half from one goroutine and reads
/// the echo through the read half from another; checks every byte.
async fn client_halves<S>(stream: S)
where
    S: Duplex + Send + Sync + 'static,
    OwnedReadHalf<S>: AsyncRead + Unpin,
    OwnedWriteHalf<S>: AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = OwnedReadHalf::from_stream(stream);
    let data = pattern(LEN);
    let expected = data.clone();
    let write = gpm::spawn(async move {
        writer.write_all(&data).await.unwrap();
        drop(writer); // shuts down the write direction: the echo ends
    });
    let read = gpm::spawn(async move { read_all(&mut reader).await });
    let got = read.await.unwrap();
    write.await.unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got == expected, "echoed bytes differ");
}

fn tcp_owned_halves_echo_1mib(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gpm::spawn(async move { echo_halves(listener.accept().await.unwrap().0).await });
        client_halves(TcpStream::connect(addr).await.unwrap()).await;
        assert_eq!(server.await.unwrap(), LEN as u64);
    });
}

#[cfg(unix)]
fn unix_owned_halves_echo_1mib(rt: Runtime) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "gpm-net-split-{}-{}.sock",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_file(&path);
    let p = path.clone();
    rt.block_on(async move {
        let listener = gpm::net::UnixListener::bind(&p).unwrap();
        let server = gpm::spawn(async move { echo_halves(listener.accept().await.unwrap().0).await });
        client_halves(gpm::net::UnixStream::connect(&p).await.unwrap()).await;
        assert_eq!(server.await.unwrap(), LEN as u64);
    });
    std::fs::remove_file(&path).unwrap();
}

/// Both borrowed halves driven by one goroutine (`join!`), 1 MiB echoed.
///
/// With futures' `read_to_end` and a 1 MiB vector this used to hang: the
/// vector's spare capacity is zeroed on every poll, so each poll overstayed
/// its time slice before its first read and yielded there, every time.
/// Fixed in `coop` (`tests/runtime/preempt.rs` has the regression test).
fn borrowed_halves_in_one_goroutine(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gpm::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = stream.split();
            let n = futures::io::copy(&mut r, &mut w).await.unwrap();
            w.close().await.unwrap();
            n
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = stream.split();
        let data = pattern(LEN);
        let send = async {
            w.write_all(&data).await.unwrap();
            w.close().await.unwrap();
        };
        let recv = read_all(&mut r);
        let ((), got) = futures::join!(send, recv);
        assert!(got == data, "echoed bytes differ");
        assert_eq!(server.await.unwrap(), LEN as u64);
    });
}

fn dropping_the_write_half_sends_eof(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let (mut server_side, _) = listener.accept().await.unwrap();
        let eof = gpm::spawn(async move {
            let mut buf = Vec::new();
            server_side.read_to_end(&mut buf).await.unwrap();
            server_side.write_all(b"after eof").await.unwrap();
            buf
        });
        drop(writer);
        assert!(eof.await.unwrap().is_empty());
        // The read direction still works.
        let mut text = String::new();
        let mut reader = reader;
        reader.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "after eof");

        // `forget` drops the write half without the shutdown.
        let (reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let (mut server_side, _) = listener.accept().await.unwrap();
        writer.forget();
        let stream = reader.as_ref();
        let mut w = stream;
        w.write_all(b"still open").await.unwrap();
        let mut buf = [0; 10];
        server_side.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still open");
    });
}

fn reunite(rt: Runtime) {
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (r1, w1) = TcpStream::connect(addr).await.unwrap().into_split();
        let (r2, w2) = TcpStream::connect(addr).await.unwrap().into_split();
        let gpm::net::ReuniteError(r1, w2) = r1.reunite(w2).unwrap_err();
        let gpm::net::ReuniteError(r2, w1) = w1.reunite(r2).unwrap_err();
        let mut s1 = r1.reunite(w1).unwrap();
        let _s2 = w2.reunite(r2).unwrap();
        // Reuniting did not shut anything down.
        let (mut server_side, _) = listener.accept().await.unwrap();
        s1.write_all(b"whole").await.unwrap();
        let mut buf = [0; 5];
        server_side.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"whole");
    });
}
