//! HTTP/1.1 hello world: the same hyper server on gpm (2 Ps, gpm's TCP
//! through `gpm_compat::HyperIo`) and on tokio (2 workers, tokio's TCP
//! through hyper-util's `TokioIo`), measured in requests per second.
//!
//! The load comes from one fixed client side for both: a tokio runtime of
//! its own (2 worker threads) holding `CONNECTIONS` keep-alive hyper client
//! connections over loopback, opened once; one iteration has each
//! connection send `REQUESTS_PER_CONNECTION` requests in sequence, all
//! connections at once (`benches/common/load.rs`, shared with
//! `benches/axum.rs`). Only the server differs between the two.
//!
//! Client and server share the machine's cores, so the numbers say how the
//! two servers compare under the same load, not what either can do alone.
//!
//! `cargo bench --bench http`

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

#[path = "common/load.rs"]
mod load;

/// Ps of the gpm server and workers of the tokio server.
const SERVER_THREADS: usize = 2;

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
}

/// Starts the hyper server on a gpm runtime; returns its address.
fn gpm_server(rt: &gpm::runtime::Runtime) -> SocketAddr {
    let listener = rt.block_on(gpm::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.handle().go(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            gpm::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(gpm_compat::GpmTimer::new())
                    .serve_connection(gpm_compat::HyperIo::new(stream), hyper::service::service_fn(hello))
                    .await;
            });
        }
    });
    addr
}

/// Starts the same server on a tokio runtime; returns its address.
fn tokio_server(rt: &tokio::runtime::Runtime) -> SocketAddr {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello))
                    .await;
            });
        }
    });
    addr
}

fn http1_hello(c: &mut Criterion) {
    let client = load::client_runtime();
    let gpm_rt = gpm::runtime::Builder::new().procs(SERVER_THREADS).build().unwrap();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_THREADS)
        .thread_name("tokio-server")
        .enable_all()
        .build()
        .unwrap();
    let servers = [("gpm", gpm_server(&gpm_rt)), ("tokio", tokio_server(&tokio_rt))];

    load::bench_group(c, &client, "http1_hello", &servers, "/", 13);
    // The servers' accept loops end with their runtimes.
    client.shutdown_timeout(Duration::from_secs(1));
    drop(gpm_rt);
    tokio_rt.shutdown_timeout(Duration::from_secs(1));
}

criterion_group!(benches, http1_hello);
criterion_main!(benches);
