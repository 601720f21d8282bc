//! A real axum app (routes, path parameters, JSON both ways, state) served
//! by `gpm_compat::serve` and called with hyper-util's pooled client over
//! `GpmConnector`, over HTTP/1.1 and HTTP/2 on the same port; graceful
//! shutdown and the header-read timeout. Every handler checks it runs in a
//! goroutine, and no tokio runtime runs in the process.
#![cfg(all(feature = "server", feature = "client"))]

mod web_common;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use futures::channel::oneshot;
use futures::{AsyncReadExt, AsyncWriteExt};
use gpm_compat::{GpmConnector, GpmExecutor, GpmTimer};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use serde::{Deserialize, Serialize};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use web_common::{assert_no_tokio_threads, on_gpm, runtime, watchdog};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct User {
    id: u64,
    name: String,
    on_gpm: bool,
}

#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

fn app(hits: Hits) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async {
                assert!(on_gpm(), "handler not on a goroutine");
                "hello from a goroutine"
            }),
        )
        .route(
            "/users/{id}",
            get(|Path(id): Path<u64>, State(hits): State<Hits>| async move {
                hits.0.fetch_add(1, Ordering::SeqCst);
                Json(User {
                    id,
                    name: format!("user {id}"),
                    on_gpm: on_gpm(),
                })
            }),
        )
        .route(
            "/users",
            post(|Json(mut user): Json<User>| async move {
                user.name = user.name.to_uppercase();
                user.on_gpm = on_gpm();
                Json(user)
            }),
        )
        .with_state(hits)
}

fn client(http2: bool) -> Client<GpmConnector, Full<Bytes>> {
    Client::builder(GpmExecutor::current())
        .timer(GpmTimer::new())
        .http2_only(http2)
        .build(GpmConnector::new())
}

async fn get_text(client: &Client<GpmConnector, Full<Bytes>>, uri: String) -> (http::StatusCode, Bytes) {
    let response = client.get(uri.parse().unwrap()).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// Starts `app` with a graceful-shutdown trigger; returns its address, the
/// trigger and the server's handle.
async fn start(
    router: Router,
    configure: impl FnOnce(gpm_compat::Serve<Router>) -> gpm_compat::Serve<Router>,
) -> (SocketAddr, oneshot::Sender<()>, gpm::JoinHandle<std::io::Result<()>>) {
    let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = configure(gpm_compat::serve(listener, router)).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    (addr, stop, gpm::spawn(server.into_future()))
}

#[test]
fn axum_routes_and_json_over_http1_and_http2() {
    for procs in [1, 2] {
        watchdog(120, move || {
            runtime(procs).block_on(async move {
                let hits = Hits::default();
                let (addr, stop, server) = start(app(hits.clone()), |s| s).await;
                for http2 in [false, true] {
                    let client = client(http2);
                    let (status, body) = get_text(&client, format!("http://{addr}/")).await;
                    assert_eq!(status, 200);
                    assert_eq!(body, "hello from a goroutine");

                    for id in [1u64, 7, 42] {
                        let (status, body) = get_text(&client, format!("http://{addr}/users/{id}")).await;
                        assert_eq!(status, 200);
                        let user: User = serde_json::from_slice(&body).unwrap();
                        assert_eq!(
                            user,
                            User {
                                id,
                                name: format!("user {id}"),
                                on_gpm: true
                            }
                        );
                    }

                    let sent = User {
                        id: 5,
                        name: "gopher".into(),
                        on_gpm: false,
                    };
                    let request = http::Request::post(format!("http://{addr}/users"))
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(serde_json::to_vec(&sent).unwrap())))
                        .unwrap();
                    let response = client.request(request).await.unwrap();
                    assert_eq!(response.status(), 200);
                    let version = response.version();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    let user: User = serde_json::from_slice(&body).unwrap();
                    assert_eq!(
                        user,
                        User {
                            id: 5,
                            name: "GOPHER".into(),
                            on_gpm: true
                        }
                    );
                    let expected = if http2 {
                        http::Version::HTTP_2
                    } else {
                        http::Version::HTTP_11
                    };
                    assert_eq!(version, expected);

                    let (status, _) = get_text(&client, format!("http://{addr}/nope")).await;
                    assert_eq!(status, 404);
                }
                assert_eq!(hits.0.load(Ordering::SeqCst), 6);
                assert_no_tokio_threads();
                stop.send(()).unwrap();
                server.await.unwrap().unwrap();
            });
        });
    }
}

#[test]
fn many_concurrent_requests_on_many_connections() {
    watchdog(120, || {
        runtime(2).block_on(async {
            let (addr, stop, server) = start(app(Hits::default()), |s| s).await;
            for http2 in [false, true] {
                let client = client(http2);
                let requests: Vec<_> = (0..64u64)
                    .map(|id| {
                        let client = client.clone();
                        gpm::spawn(async move { get_text(&client, format!("http://{addr}/users/{id}")).await })
                    })
                    .collect();
                for (id, request) in requests.into_iter().enumerate() {
                    let (status, body) = request.await.unwrap();
                    assert_eq!(status, 200);
                    let user: User = serde_json::from_slice(&body).unwrap();
                    assert_eq!(user.id, id as u64);
                }
            }
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
        });
    });
}

#[test]
fn graceful_shutdown_lets_in_flight_requests_finish() {
    for http2 in [false, true] {
        watchdog(120, move || {
            runtime(2).block_on(async move {
                let entered = gpm::chan::<()>(1);
                let release = gpm::chan::<()>(1);
                let (e, r) = (entered.clone(), release.clone());
                let router = Router::new().route(
                    "/slow",
                    get(move || {
                        let (e, r) = (e.clone(), r.clone());
                        async move {
                            e.send(()).await.unwrap();
                            r.recv().await.unwrap();
                            "finished"
                        }
                    }),
                );
                let (addr, stop, server) = start(router, |s| s).await;
                let client = client(http2);
                let in_flight = gpm::spawn({
                    let client = client.clone();
                    async move { get_text(&client, format!("http://{addr}/slow")).await }
                });
                entered.recv().await.unwrap();
                stop.send(()).unwrap();
                // The server waits for the request in flight.
                assert!(!server.is_finished(), "the server stopped with a request in flight");
                release.send(()).await.unwrap();
                let (status, body) = in_flight.await.unwrap();
                assert_eq!(status, 200);
                assert_eq!(body, "finished");
                server.await.unwrap().unwrap();
                // Not accepting any more.
                let refused = gpm::net::TcpStream::connect(addr).await;
                assert!(refused.is_err(), "still accepting after shutdown");
            });
        });
    }
}

/// A client that connected but sent nothing does not hold the shutdown up
/// (hyper's graceful shutdown only reaches connections it has started; the
/// first bytes are read before that).
#[test]
fn graceful_shutdown_does_not_wait_for_silent_connections() {
    watchdog(120, || {
        runtime(2).block_on(async {
            let (addr, stop, server) = start(app(Hits::default()), |s| {
                s.header_read_timeout(Duration::from_secs(3600))
            })
            .await;
            let silent = gpm::net::TcpStream::connect(addr).await.unwrap();
            // Accepted in order: once this is answered, so was `silent`.
            let (status, _) = get_text(&client(false), format!("http://{addr}/")).await;
            assert_eq!(status, 200);
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
            drop(silent);
        });
    });
}

#[test]
fn shutdown_with_no_connections_is_immediate() {
    watchdog(60, || {
        runtime(1).block_on(async {
            let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            gpm_compat::serve(listener, app(Hits::default()))
                .with_graceful_shutdown(async {})
                .await
                .unwrap();
        });
    });
}

#[test]
fn header_read_timeout_closes_silent_and_slow_connections() {
    watchdog(60, || {
        runtime(2).block_on(async {
            let (addr, stop, server) = start(app(Hits::default()), |s| {
                s.header_read_timeout(Duration::from_millis(100))
            })
            .await;
            // Sends nothing at all (hyper's own timeout would not see it:
            // it starts after the protocol is known).
            let mut silent = gpm::net::TcpStream::connect(addr).await.unwrap();
            let mut got = Vec::new();
            silent.read_to_end(&mut got).await.unwrap();
            assert!(got.is_empty());
            // Sends part of HTTP/2's preface, then nothing.
            let mut partial = gpm::net::TcpStream::connect(addr).await.unwrap();
            partial.write_all(b"PRI * HTTP/2.0").await.unwrap();
            let mut got = Vec::new();
            let _ = partial.read_to_end(&mut got).await;
            // Sends part of an HTTP/1 request's head, then nothing.
            let mut slow = gpm::net::TcpStream::connect(addr).await.unwrap();
            slow.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await.unwrap();
            let mut got = Vec::new();
            let _ = slow.read_to_end(&mut got).await;
            assert!(!String::from_utf8_lossy(&got).contains("hello"));
            // A whole request is still answered.
            let (status, body) = get_text(&client(false), format!("http://{addr}/")).await;
            assert_eq!(
                (status, body),
                (http::StatusCode::OK, Bytes::from("hello from a goroutine"))
            );
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
        });
    });
}
