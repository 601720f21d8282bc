//! HTTPS on gpm through rustls (ring): `serve(...).with_tls(config)` on the
//! server, `HttpsConnector` in hyper-util's client, with a certificate the
//! test makes (rcgen). HTTP/1.1 and HTTP/2 (chosen by ALPN), a client that
//! does not trust the certificate, and plain `GpmConnector` refusing
//! `https://`.
#![cfg(feature = "rustls")]

mod web_common;

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures::channel::oneshot;
use gpm_compat::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use gpm_compat::rustls::{ClientConfig, RootCertStore, ServerConfig};
use gpm_compat::{GpmConnector, GpmExecutor, GpmTimer, HttpsConnector};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use std::future::IntoFuture;
use std::sync::Arc;
use web_common::{assert_no_tokio_threads, on_gpm, runtime, watchdog};

/// A self-signed certificate for `localhost` and its key.
fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    (cert.der().clone(), key)
}

fn server_config(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

fn client_config(trusted: Option<CertificateDer<'static>>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    if let Some(cert) = trusted {
        roots.add(cert).unwrap();
    }
    let mut config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

fn app() -> Router {
    Router::new().route(
        "/",
        get(|| async {
            assert!(on_gpm());
            "secret hello"
        }),
    )
}

#[test]
fn https_over_http1_and_http2() {
    watchdog(120, || {
        runtime(2).block_on(async {
            let (cert, key) = certificate();
            let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let (stop, stopped) = oneshot::channel::<()>();
            let server = gpm::spawn(
                gpm_compat::serve(listener, app())
                    .with_tls(server_config(cert.clone(), key))
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .into_future(),
            );
            let uri: http::Uri = format!("https://localhost:{port}/").parse().unwrap();
            for (alpn, version) in [
                (&[&b"http/1.1"[..]][..], http::Version::HTTP_11),
                (&[&b"h2"[..], &b"http/1.1"[..]][..], http::Version::HTTP_2),
            ] {
                let client: Client<_, Empty<Bytes>> = Client::builder(GpmExecutor::current())
                    .timer(GpmTimer::new())
                    .build(HttpsConnector::new(client_config(Some(cert.clone()), alpn)));
                for _ in 0..3 {
                    let response = client.get(uri.clone()).await.unwrap();
                    assert_eq!(response.status(), 200);
                    assert_eq!(response.version(), version);
                    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "secret hello");
                }
            }

            // A client that does not trust the certificate fails the
            // handshake; the server goes on.
            let untrusting: Client<_, Empty<Bytes>> = Client::builder(GpmExecutor::current())
                .timer(GpmTimer::new())
                .build(HttpsConnector::new(client_config(None, &[b"h2"])));
            let err = untrusting.get(uri.clone()).await.unwrap_err();
            assert!(err.is_connect(), "{err:?}");

            // Plain text to the TLS port is refused, and the server goes on.
            let plain: Client<_, Empty<Bytes>> = Client::builder(GpmExecutor::current()).build(GpmConnector::new());
            let http_uri: http::Uri = format!("http://127.0.0.1:{port}/").parse().unwrap();
            assert!(plain.get(http_uri).await.is_err());

            let client: Client<_, Empty<Bytes>> = Client::builder(GpmExecutor::current())
                .timer(GpmTimer::new())
                .build(HttpsConnector::new(client_config(Some(cert), &[b"h2"])));
            assert_eq!(client.get(uri).await.unwrap().status(), 200);

            assert_no_tokio_threads();
            drop((client, untrusting, plain));
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
        });
    });
}

#[test]
fn https_only_refuses_http_and_gpm_connector_refuses_https() {
    watchdog(60, || {
        runtime(1).block_on(async {
            use tower_service::Service;
            let mut https = HttpsConnector::new(client_config(None, &[])).https_only(true);
            let err = https.call("http://127.0.0.1:1/".parse().unwrap()).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            let err = GpmConnector::new()
                .call("https://127.0.0.1:1/".parse().unwrap())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("HttpsConnector"), "{err}");
        });
    });
}
