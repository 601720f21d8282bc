//! A panicking handler fails its request (or connection) and nothing else.
//!
//! `hyper_http2_stream_task_panic_is_contained` is the test for
//! `GpmExecutor::execute`: it used to start hyper's HTTP/2 stream tasks as
//! detached goroutines (`go`), so a handler's panic met the runtime's
//! `UnhandledPanic` rule and, by default, exited the process with status 2.
//! The runtime here uses `ShutdownRuntime`, so the old behaviour fails the
//! test cleanly (block_on panics with the goroutine's message) instead of
//! killing the test binary; the `serve` tests below use the default rule
//! (exit the process), so reaching their end proves the process lives on.
#![cfg(all(feature = "server", feature = "client"))]

mod web_common;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures::channel::oneshot;
use gpm::runtime::{Builder, UnhandledPanic};
use gpm_compat::{GpmConnector, GpmExecutor, GpmTimer, HyperIo};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use std::convert::Infallible;
use std::future::IntoFuture;
use web_common::{runtime, watchdog};

async fn maybe_panic(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/panic" {
        panic!("handler panicked on purpose");
    }
    Ok(Response::new(Full::new(Bytes::from("still here"))))
}

#[test]
fn hyper_http2_stream_task_panic_is_contained() {
    for procs in [1, 2] {
        watchdog(60, move || {
            let rt = Builder::new()
                .procs(procs)
                .unhandled_panic(UnhandledPanic::ShutdownRuntime)
                .build()
                .unwrap();
            rt.block_on(async {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = gpm::spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    let _ = hyper::server::conn::http2::Builder::new(GpmExecutor::current())
                        .timer(GpmTimer::new())
                        .serve_connection(HyperIo::new(stream), service_fn(maybe_panic))
                        .await;
                });
                let stream = gpm::net::TcpStream::connect(addr).await.unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http2::handshake(GpmExecutor::current(), HyperIo::new(stream))
                        .await
                        .unwrap();
                let conn = gpm::spawn(conn);
                let get = |path: &str| {
                    Request::get(format!("http://{addr}{path}"))
                        .body(Empty::<Bytes>::new())
                        .unwrap()
                };

                let failed = sender.send_request(get("/panic")).await;
                assert!(failed.is_err(), "a panicking handler answered: {failed:?}");
                // The same connection still serves the next request.
                for _ in 0..3 {
                    let response = sender.send_request(get("/ok")).await.unwrap();
                    assert_eq!(response.status(), 200);
                    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "still here");
                }
                // Close both ends before the runtime goes (see web_common).
                drop(sender);
                conn.await.unwrap().unwrap();
                server.await.unwrap();
            });
        });
    }
}

fn panicking_app() -> Router {
    Router::new()
        .route("/ok", get(|| async { "still here" }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("handler panicked on purpose");
                }
                "unreachable"
            }),
        )
        .route(
            // The handler returns; the body panics while hyper streams it.
            "/panic-in-body",
            get(|| async {
                let chunks = futures::stream::once(async {
                    if true {
                        panic!("body panicked on purpose");
                    }
                    Ok::<_, std::io::Error>(Bytes::new())
                });
                Body::from_stream(chunks)
            }),
        )
}

#[test]
fn serve_survives_handler_and_body_panics() {
    for http2 in [false, true] {
        watchdog(120, move || {
            // The default rule: an unhandled panic would exit the process.
            runtime(2).block_on(async move {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let (stop, stopped) = oneshot::channel::<()>();
                let server = gpm::spawn(
                    gpm_compat::serve(listener, panicking_app())
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .into_future(),
                );
                let client: Client<_, Empty<Bytes>> = Client::builder(GpmExecutor::current())
                    .timer(GpmTimer::new())
                    .http2_only(http2)
                    .build(GpmConnector::new());
                for path in ["/panic", "/panic-in-body", "/panic", "/panic-in-body"] {
                    let outcome = match client.get(format!("http://{addr}{path}").parse().unwrap()).await {
                        Ok(response) => response
                            .into_body()
                            .collect()
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    assert!(outcome.is_err(), "{path} (http2: {http2}) did not fail");
                    let response = client.get(format!("http://{addr}/ok").parse().unwrap()).await.unwrap();
                    assert_eq!(response.status(), 200);
                    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "still here");
                }
                stop.send(()).unwrap();
                server.await.unwrap().unwrap();
            });
        });
    }
}
