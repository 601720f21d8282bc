//! [`GpmConnector`] (feature `client`): gpm's TCP as the connector of
//! hyper-util's pooled `Client`, so a client needs one line:
//!
//! ```
//! use bytes::Bytes;
//! use gpm_compat::{GpmConnector, GpmExecutor, GpmTimer};
//! use http_body_util::Empty;
//! use hyper_util::client::legacy::Client;
//!
//! # gpm::runtime::Runtime::new()?.block_on(async {
//! let client: Client<_, Empty<Bytes>> =
//!     Client::builder(GpmExecutor::current()).timer(GpmTimer::new()).build(GpmConnector::new());
//! # let _ = client;
//! # });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The client's connection tasks (one per pooled connection) are goroutines
//! started through [`GpmExecutor`]; its timeouts sleep on [`GpmTimer`]; each
//! connection is a gpm [`TcpStream`] in the runtime's netpoller. A tonic
//! client takes this client as its channel (see the crate docs).
//!
//! `https://` needs [`HttpsConnector`](crate::HttpsConnector) (feature
//! `rustls`); [`GpmConnector`] refuses it rather than send plain text.

use crate::HyperIo;
use gpm_core::net::TcpStream;
use http::Uri;
use hyper::rt::Write;
use hyper_util::client::legacy::connect::{Connected, Connection};
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Dials `http://` URIs with gpm's [`TcpStream`]: a `tower::Service<Uri>`
/// for hyper-util's `Client` (and anything else that takes a connector).
///
/// ```
/// use tower_service::Service;
///
/// # gpm::runtime::Runtime::new()?.block_on(async {
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await?;
/// let uri: http::Uri = format!("http://{}/", listener.local_addr()?).parse().unwrap();
/// let stream = gpm_compat::GpmConnector::new().call(uri).await?;
/// assert_eq!(stream.get_ref().peer_addr()?, listener.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpmConnector {
    /// `TCP_NODELAY` on new streams.
    nodelay: bool,
    /// How long a connection (name resolution included) may take.
    connect_timeout: Option<Duration>,
}

impl Default for GpmConnector {
    fn default() -> GpmConnector {
        GpmConnector::new()
    }
}

impl GpmConnector {
    /// A connector with `TCP_NODELAY` on and no connect timeout.
    pub fn new() -> GpmConnector {
        GpmConnector {
            nodelay: true,
            connect_timeout: None,
        }
    }

    /// Whether new streams get `TCP_NODELAY` (`true` by default).
    #[must_use]
    pub fn nodelay(mut self, nodelay: bool) -> GpmConnector {
        self.nodelay = nodelay;
        self
    }

    /// Fails a connection (its name resolution included) that takes longer
    /// than `timeout` with [`io::ErrorKind::TimedOut`]; `None` (the default)
    /// waits as long as the system does.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> GpmConnector {
        self.connect_timeout = timeout.into();
        self
    }

    /// Dials `uri`'s host and port (the scheme's default port if none),
    /// whatever its scheme.
    pub(crate) fn dial(&self, uri: &Uri) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        let target = host_and_port(uri);
        let (nodelay, timeout) = (self.nodelay, self.connect_timeout);
        async move {
            let (host, port) = target?;
            let stream = match timeout {
                Some(timeout) => TcpStream::connect_timeout((host.as_str(), port), timeout).await?,
                None => TcpStream::connect((host.as_str(), port)).await?,
            };
            if nodelay {
                stream.set_nodelay(true)?;
            }
            Ok(stream)
        }
    }
}

/// The host (without an IPv6 address's brackets) and port to dial for
/// `uri`.
pub(crate) fn host_and_port(uri: &Uri) -> io::Result<(String, u16)> {
    let host = uri
        .host()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("URI has no host: {uri}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("https")) => 443,
        (None, Some("http") | None) => 80,
        (None, Some(other)) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("URI scheme {other:?} has no default port: {uri}"),
            ))
        }
    };
    Ok((host, port))
}

impl tower_service::Service<Uri> for GpmConnector {
    type Response = GpmStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<GpmStream>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if uri.scheme_str() == Some("https") {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("GpmConnector speaks plain TCP; {uri} needs gpm_compat::HttpsConnector (feature `rustls`)"),
            );
            return Box::pin(std::future::ready(Err(e)));
        }
        let dial = self.dial(&uri);
        Box::pin(async move { Ok(GpmStream(HyperIo::new(dial.await?))) })
    }
}

/// A connection [`GpmConnector`] made: gpm's [`TcpStream`] as hyper's
/// `rt::Read` / `rt::Write` and hyper-util's `Connection`.
#[derive(Debug)]
pub struct GpmStream(HyperIo<TcpStream>);

impl GpmStream {
    /// The TCP stream.
    pub fn get_ref(&self) -> &TcpStream {
        self.0.inner()
    }

    /// Unwraps the TCP stream.
    pub fn into_inner(self) -> TcpStream {
        self.0.into_inner()
    }
}

impl From<TcpStream> for GpmStream {
    fn from(stream: TcpStream) -> GpmStream {
        GpmStream(HyperIo::new(stream))
    }
}

impl Connection for GpmStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for GpmStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for GpmStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        Write::is_write_vectored(&self.0)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}
