//! The Rust servers of `benches/wrk/run.sh`: one HTTP/1.1 hello world
//! (hyper's `server::conn::http1`, the same settings) on gpm or on tokio,
//! for wrk to load from outside the process.
//!
//! ```text
//! wrk_server gpm|tokio PORT PROCS
//! cargo run --release --example wrk_server -- gpm 0 2
//! ```
//!
//! `PROCS` is gpm's Ps or tokio's worker threads; `PORT` 0 takes a free
//! port. Once bound, prints `listening on PORT` (the real port) on stdout,
//! then serves on 127.0.0.1 until killed. Every request (`GET`, any path) gets 200
//! with `Content-Type: text/plain` and the 13 bytes `Hello, World!`;
//! connections are kept alive, `TCP_NODELAY` is set on each, and each is
//! served by its own goroutine (gpm) or task (tokio).

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

const BODY: &[u8] = b"Hello, World!";

/// The whole application, the same on both runtimes: every request (wrk
/// sends `GET /`) gets the same answer.
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

/// hyper's HTTP/1 settings, the same on both runtimes but for the timer
/// (hyper's default: keep-alive on, no header-read timeout without a timer).
fn http1_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.keep_alive(true);
    builder
}

/// Tells run.sh the port, once bound.
fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {}", addr.port());
    let _ = out.flush();
}

fn serve_gpm(port: u16, procs: usize) -> std::io::Result<()> {
    let rt = gpm::runtime::Builder::new().procs(procs).build()?;
    rt.block_on_send(async move {
        let listener = gpm::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        announce(listener.local_addr()?);
        let mut builder = http1_builder();
        builder.timer(gpm_compat::GpmTimer::new());
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let builder = builder.clone();
            gpm::go!(async move {
                let io = gpm_compat::HyperIo::new(stream);
                let _ = builder.serve_connection(io, hyper::service::service_fn(hello)).await;
            });
        }
    })
}

fn serve_tokio(port: u16, procs: usize) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        announce(listener.local_addr()?);
        let mut builder = http1_builder();
        builder.timer(hyper_util::rt::TokioTimer::new());
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let builder = builder.clone();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = builder.serve_connection(io, hyper::service::service_fn(hello)).await;
            });
        }
    })
}

fn main() -> ExitCode {
    const USAGE: &str = "usage: wrk_server gpm|tokio PORT PROCS";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [runtime, port, procs] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let (Ok(port), Ok(procs)) = (port.parse::<u16>(), procs.parse::<usize>()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if procs == 0 {
        eprintln!("{USAGE} (PROCS at least 1)");
        return ExitCode::from(2);
    }
    let result = match runtime.as_str() {
        "gpm" => serve_gpm(port, procs),
        "tokio" => serve_tokio(port, procs),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wrk_server {runtime}: {e}");
            ExitCode::FAILURE
        }
    }
}
