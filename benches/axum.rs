//! axum on gpm vs axum on tokio: the same `Router` served by
//! `gpm_compat::serve` on a gpm runtime (2 Ps) and by `axum::serve` on a
//! tokio runtime (2 workers), measured in requests per second.
//!
//! The load generator is `benches/common/load.rs`, as for
//! `benches/http.rs`: a tokio runtime of its own (2
//! worker threads) holding `CONNECTIONS` keep-alive hyper HTTP/1.1 client
//! connections over loopback, opened once; one iteration has each
//! connection send `REQUESTS_PER_CONNECTION` requests in sequence, all
//! connections at once. Only the server differs. Two routes: `/` (a
//! 13-byte text body) and `/users/{id}` (a path parameter and a JSON body
//! through serde).
//!
//! Client and server share the machine's cores, so the numbers say how the
//! two servers compare under the same load, not what either can do alone.
//!
//! `cargo bench --bench axum`

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use criterion::{criterion_group, criterion_main, Criterion};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;

#[path = "common/load.rs"]
mod load;

/// Ps of the gpm server and workers of the tokio server.
const SERVER_THREADS: usize = 2;

/// The one router both servers serve.
fn app() -> Router {
    Router::new().route("/", get(|| async { "Hello, World!" })).route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move { Json(serde_json::json!({ "id": id, "name": "gopher" })) }),
    )
}

/// Starts the router on a gpm runtime with `gpm_compat::serve`.
fn gpm_server(rt: &gpm::runtime::Runtime) -> SocketAddr {
    let listener = rt.block_on(gpm::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.handle().go(gpm_compat::serve(listener, app()).into_future());
    addr
}

/// Starts the same router on a tokio runtime with `axum::serve`.
fn tokio_server(rt: &tokio::runtime::Runtime) -> SocketAddr {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    // TCP_NODELAY on accepted streams, as `gpm_compat::serve` does.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    rt.spawn(async move { axum::serve(listener, app()).await });
    addr
}

fn axum_gpm_vs_tokio(c: &mut Criterion) {
    let client = load::client_runtime();
    let gpm_rt = gpm::runtime::Builder::new().procs(SERVER_THREADS).build().unwrap();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_THREADS)
        .thread_name("tokio-server")
        .enable_all()
        .build()
        .unwrap();
    let servers = [("gpm", gpm_server(&gpm_rt)), ("tokio", tokio_server(&tokio_rt))];

    // `{"id":7,"name":"gopher"}` is 24 bytes.
    for (group_name, path, body_len) in [("axum_hello", "/", 13), ("axum_json", "/users/7", 24)] {
        load::bench_group(c, &client, group_name, &servers, path, body_len);
    }
    // The servers' accept loops end with their runtimes.
    client.shutdown_timeout(Duration::from_secs(1));
    drop(gpm_rt);
    tokio_rt.shutdown_timeout(Duration::from_secs(1));
}

criterion_group!(benches, axum_gpm_vs_tokio);
criterion_main!(benches);
