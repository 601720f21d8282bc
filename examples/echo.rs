//! A TCP echo server and client on gpm's netpoller (`gpm::net`), one
//! goroutine per connection, as Go's `net` package would write it.
//!
//! ```text
//! cargo run --example echo                         # demo: server + 8 clients on loopback
//! cargo run --example echo -- server [addr]        # default 127.0.0.1:7878
//! cargo run --example echo -- client addr [n]      # n round trips (default 1000)
//! ```
//!
//! With no arguments it starts a server goroutine on an ephemeral loopback
//! port and [`DEMO_CLIENTS`] client goroutines that each make
//! [`DEMO_ROUND_TRIPS`] round trips of a [`MESSAGE_LEN`]-byte message,
//! check every echo, print a summary and exit (in well under a second).
//! The client prints the same summary for its one connection.
//!
//! The Go equivalent of the server:
//!
//! ```go
//! ln, _ := net.Listen("tcp", addr)
//! for {
//!     conn, _ := ln.Accept()
//!     go func() { io.Copy(conn, conn); conn.Close() }()
//! }
//! ```

use futures::{AsyncReadExt, AsyncWriteExt};
use gpm::net::{TcpListener, TcpStream};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Bytes per message, as in the `tcp_echo` benchmark.
const MESSAGE_LEN: usize = 64;
/// Client goroutines in the demo.
const DEMO_CLIENTS: usize = 8;
/// Round trips per demo client.
const DEMO_ROUND_TRIPS: usize = 500;
/// Where `server` listens when no address is given.
const DEFAULT_ADDR: &str = "127.0.0.1:7878";
/// Round trips of `client` when no count is given.
const DEFAULT_ROUND_TRIPS: usize = 1000;

const USAGE: &str = "usage: echo                     (demo on loopback)
       echo server [addr]        (default 127.0.0.1:7878)
       echo client addr [n]      (n round trips, default 1000)";

#[gpm::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args[..] {
        [] => demo().await,
        ["server"] => server(DEFAULT_ADDR).await,
        ["server", addr] => server(addr).await,
        ["client", addr] => client(addr, DEFAULT_ROUND_TRIPS).await,
        ["client", addr, n] => match n.parse() {
            Ok(n) => client(addr, n).await,
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("n = {n:?}: {e}"))),
        },
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("echo: {e}");
        std::process::exit(1);
    }
}

/// Listens on `addr` forever, one goroutine per connection.
async fn server(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("echo server listening on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts connections forever and echoes each one in its own goroutine.
async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        gpm::go!(async move {
            if let Err(e) = echo(stream).await {
                eprintln!("echo: {peer}: {e}");
            }
        });
    }
}

/// Writes back everything read from `stream` until the peer closes it
/// (Go's `io.Copy(conn, conn)`).
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// One client connection: `n` round trips of a [`MESSAGE_LEN`]-byte
/// message, each echo checked; returns every round trip's latency.
async fn round_trips(addr: SocketAddr, id: usize, n: usize) -> io::Result<Vec<Duration>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut message = [0u8; MESSAGE_LEN];
    let mut reply = [0u8; MESSAGE_LEN];
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        // A different message each time, so a stale echo is caught.
        message[..8].copy_from_slice(&(i as u64).to_le_bytes());
        message[8..16].copy_from_slice(&(id as u64).to_le_bytes());
        let start = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut reply).await?;
        latencies.push(start.elapsed());
        if reply != message {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("round trip {i}: wrong echo"),
            ));
        }
    }
    Ok(latencies)
}

/// `echo client addr n`.
async fn client(addr: &str, n: usize) -> io::Result<()> {
    let addr = resolve(addr)?;
    let start = Instant::now();
    let latencies = round_trips(addr, 0, n).await?;
    summary(
        &format!("1 client x {n} round trips to {addr}"),
        latencies,
        start.elapsed(),
    );
    Ok(())
}

/// The demo: a server goroutine and [`DEMO_CLIENTS`] client goroutines on
/// loopback.
async fn demo() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!(
        "echo demo: server on {addr}, GOMAXPROCS = {}",
        gpm::runtime::gomaxprocs()
    );
    // The server goroutine is still accepting when main returns; the
    // program ends with main, as in Go.
    gpm::go!(async move {
        if let Err(e) = serve(listener).await {
            eprintln!("echo: server: {e}");
        }
    });

    let start = Instant::now();
    let clients: Vec<_> = (0..DEMO_CLIENTS)
        .map(|id| gpm::spawn(round_trips(addr, id, DEMO_ROUND_TRIPS)))
        .collect();
    let mut latencies = Vec::with_capacity(DEMO_CLIENTS * DEMO_ROUND_TRIPS);
    for client in clients {
        let client = client.await.map_err(|e| io::Error::other(e.to_string()))?;
        latencies.extend(client?);
    }
    summary(
        &format!("{DEMO_CLIENTS} clients x {DEMO_ROUND_TRIPS} round trips"),
        latencies,
        start.elapsed(),
    );
    Ok(())
}

/// Prints the round trips' count, rate and latency percentiles.
fn summary(what: &str, mut latencies: Vec<Duration>, elapsed: Duration) {
    latencies.sort_unstable();
    let total = latencies.len();
    let percentile = |p: usize| latencies.get((total * p / 100).min(total.saturating_sub(1))).copied();
    let us = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e6);
    println!(
        "{what}: {total} echoes of {MESSAGE_LEN} bytes in {:.1} ms, {:.0} round trips/s, \
         p50 {:.1} us, p99 {:.1} us",
        elapsed.as_secs_f64() * 1e3,
        total as f64 / elapsed.as_secs_f64(),
        us(percentile(50)),
        us(percentile(99)),
    );
}

/// The first address of `addr` (`host:port`), resolved inside
/// `gpm::syscall` so that a slow name lookup does not hold up the P.
fn resolve(addr: &str) -> io::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    gpm::syscall(|| addr.to_socket_addrs())?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: no address")))
}
