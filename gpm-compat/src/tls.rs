//! HTTPS through rustls (feature `rustls`, with ring: it builds with the
//! Rust toolchain alone): [`HttpsConnector`] for hyper-util's `Client`,
//! and [`Serve::with_tls`](crate::Serve::with_tls) for the server. TLS runs
//! over gpm's `TcpStream` through `futures-rustls` (futures-io), so no
//! tokio is involved.
//!
//! rustls itself is re-exported as [`gpm_compat::rustls`](crate::rustls),
//! for building the `ClientConfig` / `ServerConfig` these take.

use crate::{GpmConnector, GpmStream, HyperIo};
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::rustls::ClientConfig;
use futures_rustls::TlsConnector;
use gpm_core::net::TcpStream;
use http::Uri;
use hyper::rt::Write;
use hyper_util::client::legacy::connect::{Connected, Connection};
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Dials `https://` URIs with TLS (rustls) over gpm's TCP, and `http://`
/// ones in plain text unless [`https_only`](HttpsConnector::https_only).
///
/// For HTTP/2 over TLS, put `h2` in the config's ALPN protocols
/// (`config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()]`):
/// a connection on which the server chose `h2` is used as HTTP/2.
///
/// ```
/// use gpm_compat::rustls::{ClientConfig, RootCertStore};
/// use gpm_compat::{GpmExecutor, GpmTimer, HttpsConnector};
/// use hyper_util::client::legacy::Client;
/// use std::sync::Arc;
///
/// let roots = RootCertStore::empty(); // add the roots you trust
/// let config = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
/// # gpm::runtime::Runtime::new()?.block_on(async {
/// let client: Client<_, http_body_util::Empty<bytes::Bytes>> = Client::builder(GpmExecutor::current())
///     .timer(GpmTimer::new())
///     .build(HttpsConnector::new(Arc::new(config)));
/// # let _ = client;
/// # });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct HttpsConnector {
    /// Dials the TCP connection.
    tcp: GpmConnector,
    /// Runs the handshake.
    tls: TlsConnector,
    /// Refuse `http://`.
    https_only: bool,
}

impl std::fmt::Debug for HttpsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsConnector")
            .field("tcp", &self.tcp)
            .field("https_only", &self.https_only)
            .finish_non_exhaustive()
    }
}

impl HttpsConnector {
    /// A connector that verifies servers with `config`, over a default
    /// [`GpmConnector`].
    pub fn new(config: Arc<ClientConfig>) -> HttpsConnector {
        HttpsConnector::with_connector(GpmConnector::new(), config)
    }

    /// A connector over `tcp` (for its timeout and `TCP_NODELAY` settings).
    pub fn with_connector(tcp: GpmConnector, config: Arc<ClientConfig>) -> HttpsConnector {
        HttpsConnector {
            tcp,
            tls: TlsConnector::from(config),
            https_only: false,
        }
    }

    /// Refuse `http://` URIs (`false` by default).
    #[must_use]
    pub fn https_only(mut self, https_only: bool) -> HttpsConnector {
        self.https_only = https_only;
        self
    }
}

impl tower_service::Service<Uri> for HttpsConnector {
    type Response = MaybeHttpsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<MaybeHttpsStream>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let https = uri.scheme_str() == Some("https");
        if !https && self.https_only {
            let e = io::Error::new(io::ErrorKind::InvalidInput, format!("not an https:// URI: {uri}"));
            return Box::pin(std::future::ready(Err(e)));
        }
        let dial = self.tcp.dial(&uri);
        let tls = self.tls.clone();
        let name = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned());
        Box::pin(async move {
            let stream = dial.await?;
            if !https {
                return Ok(MaybeHttpsStream::Http(GpmStream::from(stream)));
            }
            let name = name.unwrap_or_default();
            let name = ServerName::try_from(name.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("bad server name {name:?}: {e}")))?;
            let stream = tls.connect(name, stream).await?;
            Ok(MaybeHttpsStream::Https(HyperIo::new(stream)))
        })
    }
}

/// A connection [`HttpsConnector`] made: TLS over gpm's TCP, or plain TCP
/// for `http://`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a TLS session is the usual case
pub enum MaybeHttpsStream {
    /// Plain text (an `http://` URI).
    Http(GpmStream),
    /// TLS (an `https://` URI).
    Https(HyperIo<futures_rustls::client::TlsStream<TcpStream>>),
}

impl Connection for MaybeHttpsStream {
    fn connected(&self) -> Connected {
        match self {
            MaybeHttpsStream::Http(stream) => Connection::connected(stream),
            MaybeHttpsStream::Https(stream) => {
                if stream.inner().get_ref().1.alpn_protocol() == Some(b"h2") {
                    Connected::new().negotiated_h2()
                } else {
                    Connected::new()
                }
            }
        }
    }
}

impl hyper::rt::Read for MaybeHttpsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeHttpsStream::Http(s) => Pin::new(s).poll_read(cx, buf),
            MaybeHttpsStream::Https(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for MaybeHttpsStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeHttpsStream::Http(s) => Pin::new(s).poll_write(cx, buf),
            MaybeHttpsStream::Https(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeHttpsStream::Http(s) => Pin::new(s).poll_flush(cx),
            MaybeHttpsStream::Https(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeHttpsStream::Http(s) => Pin::new(s).poll_shutdown(cx),
            MaybeHttpsStream::Https(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeHttpsStream::Http(s) => Write::is_write_vectored(s),
            MaybeHttpsStream::Https(s) => Write::is_write_vectored(s),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeHttpsStream::Http(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeHttpsStream::Https(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }
}
