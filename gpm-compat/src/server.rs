//! [`serve`] (feature `server`): a tower `Service` (an axum `Router`, tonic
//! `Routes`, anything `Clone` that answers `http::Request<Incoming>`) served
//! over HTTP/1.1 and HTTP/2 on one gpm [`TcpListener`], each connection a
//! goroutine.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//!
//! #[gpm::main]
//! async fn main() -> std::io::Result<()> {
//!     let app = Router::new().route("/", get(|| async { "Hello from a goroutine" }));
//!     let listener = gpm::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     gpm_compat::serve(listener, app).await
//! }
//! ```
//!
//! ## What it does per connection
//!
//! The accept loop runs in the goroutine that awaits [`Serve`]. Each
//! accepted stream becomes a goroutine ([`gpm::spawn`](gpm_core::spawn),
//! handle dropped) that runs hyper-util's `server::conn::auto` connection
//! (it reads the first bytes to tell HTTP/1.1 from HTTP/2's preface) over
//! [`HyperIo`], with [`GpmTimer`] for the header-read timeout and keep-alive
//! and [`GpmExecutor`] for HTTP/2's stream tasks. HTTP upgrades (WebSocket)
//! are on.
//!
//! ## Panics
//!
//! A handler that panics fails its own request and nothing else, as in Go's
//! `net/http`: each call's future is polled inside `catch_unwind`, and a
//! panic becomes the service error [`HandlerPanicked`], on which hyper
//! closes an HTTP/1.1 connection (the client sees it close without a
//! response) and resets an HTTP/2 stream (`INTERNAL_ERROR`; the
//! connection's other streams go on). A panic anywhere else in a connection
//! (a response body that panics while it is streamed) ends that
//! connection's goroutine: it was started with `gpm::spawn` and its
//! `JoinHandle` dropped, so the panic stays in the dropped handle instead of
//! reaching the runtime's `UnhandledPanic` rule (which by default exits the
//! process, as Go does). HTTP/2 stream tasks go through
//! [`GpmExecutor`], which starts them the same way. The panic hook still
//! prints the message.

use crate::{GpmExecutor, GpmTimer, HyperIo};
use gpm_core::net::TcpListener;
use hyper::body::Incoming;
use hyper_util::server::conn::auto;
use std::error::Error as StdError;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// A boxed error that can cross threads (what hyper and tower return).
type BoxError = Box<dyn StdError + Send + Sync>;

/// Serves `service` on `listener`: HTTP/1.1 and HTTP/2 (by prior knowledge,
/// as gRPC does) on the one port, each connection a goroutine.
///
/// `service` is any tower `Service<http::Request<hyper::body::Incoming>>`
/// that is `Clone` (cloned for each request): an axum `Router`, a tonic
/// `Routes`, a `tower::ServiceBuilder` stack. Await the returned [`Serve`]
/// (inside a gpm runtime) to run the server; it runs until an accept fails
/// for good, or, with [`Serve::with_graceful_shutdown`], until the signal
/// and the connections it let finish are done.
///
/// ```
/// use axum::{routing::get, Router};
/// use std::future::IntoFuture;
///
/// # gpm::runtime::Runtime::new()?.block_on(async {
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await?;
/// let (stop, stopped) = futures::channel::oneshot::channel::<()>();
/// let server = gpm::spawn(gpm_compat::serve(listener, app).with_graceful_shutdown(async move {
///     let _ = stopped.await;
/// }).into_future());
/// stop.send(()).unwrap();
/// server.await.unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        signal: std::future::pending(),
        config: Config::default(),
        #[cfg(feature = "rustls")]
        tls: None,
    }
}

/// The settings [`Serve`]'s builder methods change.
#[derive(Clone, Copy, Debug)]
struct Config {
    /// hyper's HTTP/1 header-read timeout.
    header_read_timeout: Option<Duration>,
    /// HTTP/1 keep-alive.
    http1_keep_alive: bool,
    /// How often HTTP/2 pings an idle connection.
    http2_keep_alive_interval: Option<Duration>,
    /// `TCP_NODELAY` on accepted streams.
    nodelay: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            header_read_timeout: Some(Duration::from_secs(30)),
            http1_keep_alive: true,
            http2_keep_alive_interval: None,
            nodelay: true,
        }
    }
}

/// A server being set up by [`serve`]; await it (it is [`IntoFuture`]) to
/// run it.
///
/// `G` is the graceful-shutdown signal ([`std::future::Pending`] until
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) sets one).
#[must_use = "a server does nothing unless awaited"]
pub struct Serve<S, G = std::future::Pending<()>> {
    /// Where connections come from.
    listener: TcpListener,
    /// Cloned for each request.
    service: S,
    /// When it completes, the server shuts down gracefully.
    signal: G,
    /// hyper's settings.
    config: Config,
    /// TLS for each connection, if set.
    #[cfg(feature = "rustls")]
    tls: Option<futures_rustls::TlsAcceptor>,
}

impl<S, G> std::fmt::Debug for Serve<S, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener.local_addr().ok())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, G> Serve<S, G> {
    /// Shuts the server down gracefully once `signal` completes: it stops
    /// accepting (the listener is closed), tells each open connection to
    /// finish (hyper's per-connection graceful shutdown: HTTP/1 closes after
    /// the response in flight, HTTP/2 sends GOAWAY and lets open streams
    /// finish), and the server's future completes when the last connection
    /// has.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new()?.block_on(async {
    /// let app = axum::Router::new();
    /// let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await?;
    /// // The signal has come already: the server stops at once.
    /// gpm_compat::serve(listener, app).with_graceful_shutdown(async {}).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_graceful_shutdown<F>(self, signal: F) -> Serve<S, F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            service: self.service,
            signal,
            config: self.config,
            #[cfg(feature = "rustls")]
            tls: self.tls,
        }
    }

    /// Serves HTTPS: each connection starts with a TLS handshake (rustls,
    /// in the connection's goroutine, within the header-read timeout) with
    /// `config`. For HTTP/2 over TLS, put `h2` in the config's ALPN
    /// protocols (`config.alpn_protocols = vec![b"h2".to_vec(),
    /// b"http/1.1".to_vec()]`). Feature `rustls`.
    #[cfg(feature = "rustls")]
    pub fn with_tls(mut self, config: Arc<futures_rustls::rustls::ServerConfig>) -> Serve<S, G> {
        self.tls = Some(futures_rustls::TlsAcceptor::from(config));
        self
    }

    /// How long a client may take to send an HTTP/1 request's headers
    /// (from the connection's start, or the end of the previous response)
    /// before hyper closes the connection; `None` for no limit. 30 seconds
    /// by default. Runs on [`GpmTimer`].
    ///
    /// The same limit applies to a new connection's first bytes (which tell
    /// HTTP/1.1 from HTTP/2, and which hyper's own timeout does not cover)
    /// and, with [`with_tls`](Serve::with_tls), to the TLS handshake, so a
    /// client that connects and sends nothing is closed too.
    pub fn header_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Serve<S, G> {
        self.config.header_read_timeout = timeout.into();
        self
    }

    /// Whether HTTP/1 connections are kept alive between requests (`true`
    /// by default).
    pub fn http1_keep_alive(mut self, keep_alive: bool) -> Serve<S, G> {
        self.config.http1_keep_alive = keep_alive;
        self
    }

    /// How often an HTTP/2 connection sends a keep-alive ping (`None`, the
    /// default: never). A connection whose ping is not answered within 20
    /// seconds is closed. Runs on [`GpmTimer`].
    pub fn http2_keep_alive_interval(mut self, interval: impl Into<Option<Duration>>) -> Serve<S, G> {
        self.config.http2_keep_alive_interval = interval.into();
        self
    }

    /// Whether accepted streams get `TCP_NODELAY` (`true` by default: small
    /// responses and HTTP/2 frames go out at once).
    pub fn tcp_nodelay(mut self, nodelay: bool) -> Serve<S, G> {
        self.config.nodelay = nodelay;
        self
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// hyper-util's auto builder with gpm's executor and timer, configured.
fn builder(config: &Config) -> auto::Builder<GpmExecutor> {
    let mut builder = auto::Builder::new(GpmExecutor::current());
    builder
        .http1()
        .timer(GpmTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(config.http1_keep_alive);
    builder
        .http2()
        .timer(GpmTimer::new())
        .keep_alive_interval(config.http2_keep_alive_interval);
    builder
}

impl<S, B, G> IntoFuture for Serve<S, G>
where
    S: tower_service::Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    G: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self))
    }
}

/// What connections watch to learn the server is shutting down: a gpm
/// channel that is closed then (every receiver sees the close, as in Go).
type Stop = gpm_core::chan::Chan<()>;

/// The accept loop, then (after the signal) the wait for the connections.
async fn run<S, B, G>(serve: Serve<S, G>) -> io::Result<()>
where
    S: tower_service::Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    G: Future<Output = ()> + Send + 'static,
{
    let Serve {
        listener,
        service,
        signal,
        config,
        #[cfg(feature = "rustls")]
        tls,
    } = serve;
    let builder = Arc::new(builder(&config));
    let connections = gpm_core::sync::WaitGroup::new();
    let stop: Stop = gpm_core::chan::chan(0);
    let mut signal = pin!(signal);
    loop {
        let accepted = {
            let mut accept = pin!(listener.accept());
            std::future::poll_fn(|cx| {
                if signal.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                accept.as_mut().poll(cx).map(Some)
            })
            .await
        };
        match accepted {
            None => break,
            Some(Ok((stream, _peer))) => {
                connections.add(1);
                let done = connections.clone();
                let builder = builder.clone();
                let stop = stop.clone();
                let service = service.clone();
                #[cfg(feature = "rustls")]
                let tls = tls.clone();
                // Dropped handle: a panic here ends this connection only.
                drop(gpm_core::spawn(async move {
                    let _done = Done(done);
                    if config.nodelay {
                        // Only a hint: a socket that refuses it is served
                        // all the same.
                        let _ = stream.set_nodelay(true);
                    }
                    #[cfg(feature = "rustls")]
                    if let Some(tls) = tls {
                        let handshake = tls.accept(stream);
                        let handshake = match config.header_read_timeout {
                            Some(limit) => unless_stopped(&stop, gpm_core::time::timeout(limit, handshake))
                                .await
                                .and_then(Result::ok),
                            None => unless_stopped(&stop, handshake).await,
                        };
                        // A failed or slow handshake ends only this
                        // connection.
                        if let Some(Ok(stream)) = handshake {
                            connection(stream, &builder, service, stop, config.header_read_timeout).await;
                        }
                        return;
                    }
                    connection(stream, &builder, service, stop, config.header_read_timeout).await;
                }));
            }
            Some(Err(e)) if is_connection_error(&e) => continue,
            Some(Err(_)) => {
                // Out of file descriptors and the like: give the
                // connections that hold them time to finish (as axum and
                // Go's net/http do), still watching the signal.
                let mut pause = pin!(gpm_core::time::sleep(Duration::from_secs(1)));
                let stopped = std::future::poll_fn(|cx| {
                    if signal.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(true);
                    }
                    pause.as_mut().poll(cx).map(|()| false)
                })
                .await;
                if stopped {
                    break;
                }
            }
        }
    }
    drop(listener);
    // Every connection's `stop.recv()` now returns `None`.
    let _ = stop.close();
    connections.wait().await;
    Ok(())
}

/// `future`'s output, or `None` if the server starts shutting down first
/// (for the steps before hyper has the connection: the TLS handshake and
/// the first bytes, which hyper's graceful shutdown cannot cut short).
async fn unless_stopped<F: Future>(stop: &Stop, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut stopped = pin!(stop.recv());
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        stopped.as_mut().poll(cx).map(|_| None)
    })
    .await
}

/// Marks a connection done in the server's wait group, even if it panics.
struct Done(gpm_core::sync::WaitGroup);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.done();
    }
}

/// Accept errors that concern one connection, not the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it ends, shutting it down gracefully once
/// `stop` is closed.
///
/// hyper-util's auto connection first reads up to 24 bytes to tell HTTP/1
/// from HTTP/2's preface, with no timeout of its own (hyper's header-read
/// timeout starts after): a client that connects and sends nothing would
/// hold its connection for ever. So those first bytes are read here, within
/// the header-read timeout, and handed back to hyper through [`Rewind`].
async fn connection<T, S, B>(
    mut stream: T,
    builder: &auto::Builder<GpmExecutor>,
    service: S,
    stop: Stop,
    first_bytes_timeout: Option<Duration>,
) where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
    S: tower_service::Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let mut prefix = Vec::new();
    let preface = read_preface(&mut stream, &mut prefix);
    let read = match first_bytes_timeout {
        Some(limit) => unless_stopped(&stop, gpm_core::time::timeout(limit, preface))
            .await
            .and_then(Result::ok),
        None => unless_stopped(&stop, preface).await,
    };
    match read {
        Some(Ok(())) => {}
        // Too slow, gone, or the server is shutting down before a request
        // began: nothing to serve.
        Some(Err(_)) | None => return,
    }
    let io = Rewind {
        prefix,
        pos: 0,
        inner: HyperIo::new(stream),
    };
    let mut conn = pin!(builder.serve_connection_with_upgrades(io, TowerService(service)));
    let mut stopped = pin!(stop.recv());
    let mut stopping = false;
    // An error here is the client's (a reset, a malformed request, a
    // timeout) and ends only this connection.
    let _ = std::future::poll_fn(|cx| {
        if !stopping && stopped.as_mut().poll(cx).is_ready() {
            stopping = true;
            conn.as_mut().graceful_shutdown();
        }
        conn.as_mut().poll(cx)
    })
    .await;
}

/// HTTP/2's connection preface, which a client speaking HTTP/2 by prior
/// knowledge sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads into `prefix` until it holds the 24 bytes of HTTP/2's preface,
/// differs from it (HTTP/1), or the stream ends: what hyper-util reads to
/// choose the protocol.
async fn read_preface<T: futures_io::AsyncRead + Unpin>(stream: &mut T, prefix: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; H2_PREFACE.len()];
    while prefix.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(prefix) {
        let want = H2_PREFACE.len() - prefix.len();
        let n = std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_read(cx, &mut chunk[..want])).await?;
        if n == 0 {
            break;
        }
        prefix.extend_from_slice(&chunk[..n.min(want)]);
    }
    Ok(())
}

/// hyper's IO that first gives back the bytes [`read_preface`] read.
#[derive(Debug)]
struct Rewind<T> {
    /// What was read before hyper started.
    prefix: Vec<u8>,
    /// How much of `prefix` hyper has read.
    pos: usize,
    /// The stream.
    inner: HyperIo<T>,
}

impl<T: futures_io::AsyncRead + Unpin> hyper::rt::Read for Rewind<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(rest) = this
            .prefix
            .get(this.pos..)
            .filter(|rest| !rest.is_empty() && buf.remaining() > 0)
        {
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: futures_io::AsyncWrite + Unpin> hyper::rt::Write for Rewind<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        hyper::rt::Write::is_write_vectored(&self.inner)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}

/// A tower service as hyper's: cloned for each request, driven to
/// readiness, called, and its future polled inside `catch_unwind`.
#[derive(Clone, Debug)]
struct TowerService<S>(S);

impl<S, R> hyper::service::Service<http::Request<Incoming>> for TowerService<S>
where
    S: tower_service::Service<http::Request<Incoming>, Response = R> + Clone,
    S::Error: Into<BoxError>,
{
    type Response = R;
    type Error = BoxError;
    type Future = CatchPanic<Oneshot<S, http::Request<Incoming>>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        CatchPanic {
            inner: Oneshot::NotReady {
                service: self.0.clone(),
                request: Some(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// Waits for a service to be ready, then calls it once (tower's
    /// `Oneshot`, without the dependency).
    #[project = OneshotProj]
    #[allow(missing_debug_implementations)]
    pub(crate) enum Oneshot<S: tower_service::Service<R>, R> {
        NotReady { service: S, request: Option<R> },
        Called { #[pin] future: S::Future },
    }
}

impl<S, R> Future for Oneshot<S, R>
where
    S: tower_service::Service<R>,
{
    type Output = Result<S::Response, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                OneshotProj::NotReady { service, request } => {
                    std::task::ready!(service.poll_ready(cx))?;
                    let request = request.take().expect("Oneshot polled after it called the service");
                    let future = service.call(request);
                    self.set(Oneshot::Called { future });
                }
                OneshotProj::Called { future } => return future.poll(cx),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A service call's future, polled inside `catch_unwind`: a panic
    /// becomes [`HandlerPanicked`].
    #[allow(missing_debug_implementations)]
    pub(crate) struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F, T, E> Future for CatchPanic<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        // Unwind safety: after a panic the future is never polled again
        // (hyper drops it on the error), so no broken state is observed.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(result.map_err(Into::into)),
            Err(payload) => Poll::Ready(Err(Box::new(HandlerPanicked::from_payload(payload.as_ref())))),
        }
    }
}

/// The error a request fails with when its handler panicked (what hyper
/// sees instead of the panic; see the module notes).
#[derive(Debug, Clone)]
pub struct HandlerPanicked {
    /// The panic's message.
    message: String,
}

impl HandlerPanicked {
    /// The error for a panic with this payload.
    fn from_payload(payload: &(dyn std::any::Any + Send)) -> HandlerPanicked {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "Box<dyn Any>".to_owned()
        };
        HandlerPanicked { message }
    }

    /// The panic's message (`Box<dyn Any>` if it was not a string).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for HandlerPanicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request's handler panicked: {}", self.message)
    }
}

impl StdError for HandlerPanicked {}
