//! hyper-util's pooled `Client` on gpm with `GpmConnector`: the one-line
//! setup, connection reuse, errors, and the connection tasks on goroutines.
#![cfg(all(feature = "server", feature = "client"))]

mod web_common;

use bytes::Bytes;
use gpm_compat::{GpmConnector, GpmExecutor, GpmTimer};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::client::legacy::Client;
use std::convert::Infallible;
use std::future::IntoFuture;
use std::time::Duration;
use web_common::{assert_no_tokio_threads, runtime, watchdog};

/// Many requests, one after another and at once, through one pooled
/// client. (How many connections the pool opens is hyper-util's business:
/// a request that finds no idle connection, because the last response's
/// connection is not back in the pool yet, dials a new one.)
#[test]
fn pooled_client_over_gpm_connector() {
    for http2 in [false, true] {
        watchdog(60, move || {
            runtime(2).block_on(async move {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let hello = tower::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                    let body = format!("{} {}", req.method(), req.uri().path());
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(body))))
                });
                let (stop, stopped) = futures::channel::oneshot::channel::<()>();
                let server = gpm::spawn(
                    gpm_compat::serve(listener, hello)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .into_future(),
                );
                let client: Client<_, Empty<Bytes>> = Client::builder(GpmExecutor::current())
                    .timer(GpmTimer::new())
                    .http2_only(http2)
                    .build(GpmConnector::new());
                for i in 0..10 {
                    let response = client
                        .get(format!("http://{addr}/n/{i}").parse().unwrap())
                        .await
                        .unwrap();
                    assert_eq!(
                        response.version(),
                        if http2 {
                            http::Version::HTTP_2
                        } else {
                            http::Version::HTTP_11
                        }
                    );
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(body, format!("GET /n/{i}"));
                }
                let calls: Vec<_> = (0..32)
                    .map(|i| {
                        let client = client.clone();
                        gpm::spawn(async move {
                            let response = client
                                .get(format!("http://{addr}/c/{i}").parse().unwrap())
                                .await
                                .unwrap();
                            response.into_body().collect().await.unwrap().to_bytes()
                        })
                    })
                    .collect();
                for (i, call) in calls.into_iter().enumerate() {
                    assert_eq!(call.await.unwrap(), format!("GET /c/{i}"));
                }
                assert_no_tokio_threads();
                drop(client);
                stop.send(()).unwrap();
                server.await.unwrap().unwrap();
            });
        });
    }
}

#[test]
fn connection_refused_is_a_connect_error() {
    watchdog(60, || {
        runtime(1).block_on(async {
            let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            let client: Client<_, Empty<Bytes>> = Client::builder(GpmExecutor::current())
                .timer(GpmTimer::new())
                .build(GpmConnector::new().connect_timeout(Duration::from_secs(20)));
            let err = client
                .get(format!("http://{addr}/").parse().unwrap())
                .await
                .unwrap_err();
            assert!(err.is_connect(), "{err:?}");
        });
    });
}

#[test]
fn connector_reports_bad_uris() {
    use tower_service::Service;
    watchdog(60, || {
        runtime(1).block_on(async {
            let mut connector = GpmConnector::new();
            let err = connector.call("/no/host".parse().unwrap()).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            let err = connector.call("ftp://127.0.0.1/".parse().unwrap()).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        });
    });
}
