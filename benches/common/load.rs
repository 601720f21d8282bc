//! The HTTP load generator `benches/http.rs` and `benches/axum.rs` share: a
//! tokio runtime of its own (2 worker threads) holding [`CONNECTIONS`]
//! keep-alive hyper HTTP/1.1 client connections over loopback, opened once;
//! one [`round`] has each connection send [`REQUESTS_PER_CONNECTION`]
//! requests in sequence, all connections at once.

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::Instant;

/// Keep-alive connections the client side holds open.
pub(crate) const CONNECTIONS: usize = 32;
/// Requests each connection sends, one after another, per round.
pub(crate) const REQUESTS_PER_CONNECTION: usize = 16;

/// The client connections of one server.
pub(crate) type Senders = Vec<SendRequest<Empty<Bytes>>>;

/// The load generator's runtime: 2 tokio workers, whatever the server.
pub(crate) fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap()
}

/// Opens the client's keep-alive connections to `addr` (on the client
/// runtime).
pub(crate) async fn connect(addr: SocketAddr) -> Senders {
    let mut senders = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        senders.push(sender);
    }
    senders
}

/// One iteration: every connection sends its requests to `path` in
/// sequence, all connections at once. Checks every answer's status and
/// body length.
pub(crate) async fn round(senders: &mut Senders, path: &'static str, body_len: usize) {
    let tasks: Vec<_> = senders
        .drain(..)
        .map(|mut sender| {
            tokio::spawn(async move {
                for _ in 0..REQUESTS_PER_CONNECTION {
                    sender.ready().await.unwrap();
                    let request = Request::get(path)
                        .header("host", "localhost")
                        .body(Empty::new())
                        .unwrap();
                    let response = sender.send_request(request).await.unwrap();
                    assert!(response.status().is_success());
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(body.len(), body_len);
                }
                sender
            })
        })
        .collect();
    for task in tasks {
        senders.push(task.await.unwrap());
    }
}

/// Criterion group `group_name`: each of `servers` (a name and an address)
/// measured in turn, on connections opened for it and closed after, by
/// rounds of requests to `path` (whose answers are `body_len` bytes).
pub(crate) fn bench_group(
    c: &mut Criterion,
    client: &tokio::runtime::Runtime,
    group_name: &str,
    servers: &[(&str, SocketAddr)],
    path: &'static str,
    body_len: usize,
) {
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements((CONNECTIONS * REQUESTS_PER_CONNECTION) as u64));
    for &(name, addr) in servers {
        let mut senders = client.block_on(connect(addr));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                client.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        round(&mut senders, path, body_len).await;
                    }
                    start.elapsed()
                })
            })
        });
        // Close this server's connections before measuring the next one.
        drop(senders);
    }
    group.finish();
}
