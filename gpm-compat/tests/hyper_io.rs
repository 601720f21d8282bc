//! hyper over gpm's TCP through `HyperIo`: a hyper server and a hyper
//! client, both goroutines of one gpm runtime, talk HTTP/1 and HTTP/2 over
//! loopback; status, headers and bodies come back right, on one keep-alive
//! connection, on many connections at once and with large bodies. Each
//! behaviour runs on 1, 2 and 4 Ps. Also: reads into hyper buffers of
//! every size, vectored writes, and the futures-io direction over an
//! upgraded connection.
#![cfg(feature = "hyper")]

use bytes::Bytes;
use futures::{AsyncReadExt, AsyncWriteExt};
use gpm::net::{TcpListener, TcpStream};
use gpm::runtime::{Builder, Runtime};
use gpm_compat::{GpmExecutor, GpmTimer, HyperIo};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::rt::{Read, ReadBuf, Write};
use hyper::{Request, Response, StatusCode};
use std::convert::Infallible;
use std::future::poll_fn;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::mpsc;
use std::time::Duration;

const PROCS: [usize; 3] = [1, 2, 4];

/// Runs `test` on a fresh runtime of `procs` Ps on its own thread; a hang
/// (60 s) fails with the runtime's goroutine dump and scheduler state.
fn watchdog<F, Fut>(procs: usize, test: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let rt = runtime(procs);
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        rt.block_on(test());
        let _ = tx.send(());
    });
    if let Err(e) = rx.recv_timeout(Duration::from_secs(60)) {
        panic!(
            "procs = {procs}: hung or panicked ({e}); {:?}\ngoroutines:\n{}",
            handle.stats(),
            handle.dump()
        );
    }
}

fn runtime(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Proto {
    Http1,
    Http2,
}

const PROTOS: [Proto; 2] = [Proto::Http1, Proto::Http2];

/// The test server's routes: `/` says hello with a header, `/n/<i>` echoes
/// `i`, `POST /echo` sends the body back, anything else is 404.
async fn route(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let response = if path == "/" {
        Response::builder()
            .header("x-served-by", "gpm")
            .body(Full::new(Bytes::from_static(b"hello")))
    } else if let Some(i) = path.strip_prefix("/n/") {
        Response::builder().body(Full::new(Bytes::from(i.to_owned())))
    } else if path == "/echo" && req.method() == hyper::Method::POST {
        let body = req.into_body().collect().await.unwrap().to_bytes();
        Response::builder().body(Full::new(body))
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::new()))
    };
    Ok(response.unwrap())
}

/// Serves one accepted connection with `proto`.
async fn serve_connection(stream: TcpStream, proto: Proto) -> Result<(), hyper::Error> {
    let io = HyperIo::new(stream);
    let service = hyper::service::service_fn(route);
    match proto {
        Proto::Http1 => {
            hyper::server::conn::http1::Builder::new()
                .timer(GpmTimer::new())
                .serve_connection(io, service)
                .await
        }
        Proto::Http2 => {
            hyper::server::conn::http2::Builder::new(GpmExecutor::current())
                .timer(GpmTimer::new())
                .serve_connection(io, service)
                .await
        }
    }
}

/// Starts a server goroutine; returns its address. It accepts forever (the
/// runtime's drop ends it).
async fn start_server(proto: Proto) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    gpm::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            gpm::spawn(async move { serve_connection(stream, proto).await.unwrap() });
        }
    });
    addr
}

/// The client half of one connection, either protocol.
enum Client {
    Http1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    Http2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Client {
    /// Connects and runs the connection's driver as a goroutine.
    async fn connect(addr: SocketAddr, proto: Proto) -> Client {
        let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
        match proto {
            Proto::Http1 => {
                let (sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
                gpm::spawn(async move { conn.await.unwrap() });
                Client::Http1(sender)
            }
            Proto::Http2 => {
                let (sender, conn) = hyper::client::conn::http2::Builder::new(GpmExecutor::current())
                    .timer(GpmTimer::new())
                    .handshake(io)
                    .await
                    .unwrap();
                gpm::spawn(async move { conn.await.unwrap() });
                Client::Http2(sender)
            }
        }
    }

    /// Sends one request; returns status, headers and the whole body.
    async fn send(&mut self, method: &str, path: &str, body: Bytes) -> (StatusCode, hyper::HeaderMap, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://localhost{path}"))
            .body(Full::new(body))
            .unwrap();
        let response = match self {
            Client::Http1(sender) => {
                sender.ready().await.unwrap();
                sender.send_request(request).await.unwrap()
            }
            Client::Http2(sender) => {
                sender.ready().await.unwrap();
                sender.send_request(request).await.unwrap()
            }
        };
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes())
    }

    async fn get(&mut self, path: &str) -> (StatusCode, hyper::HeaderMap, Bytes) {
        self.send("GET", path, Bytes::new()).await
    }
}

/// Runs `test(proto)` for both protocols on 1, 2 and 4 Ps.
fn each_shape<F, Fut>(test: F)
where
    F: Fn(Proto) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for procs in PROCS {
        for proto in PROTOS {
            eprintln!("procs = {procs}, {proto:?}");
            let rt = runtime(procs);
            let handle = rt.handle().clone();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                rt.block_on(test(proto));
                let _ = tx.send(());
            });
            if let Err(e) = rx.recv_timeout(Duration::from_secs(60)) {
                panic!(
                    "procs = {procs}, {proto:?}: hung or panicked ({e}); goroutines:\n{}",
                    handle.dump()
                );
            }
        }
    }
}

#[test]
fn get_returns_status_headers_and_body() {
    each_shape(|proto| async move {
        let addr = start_server(proto).await;
        let mut client = Client::connect(addr, proto).await;
        let (status, headers, body) = client.get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["x-served-by"], "gpm");
        assert_eq!(headers["content-length"], "5");
        assert_eq!(body, "hello");
        let (status, _, body) = client.get("/missing").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.is_empty());
    });
}

#[test]
fn many_requests_on_one_keep_alive_connection() {
    each_shape(|proto| async move {
        let addr = start_server(proto).await;
        let mut client = Client::connect(addr, proto).await;
        for i in 0..200 {
            let (status, _, body) = client.get(&format!("/n/{i}")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, i.to_string());
        }
    });
}

#[test]
fn concurrent_connections() {
    each_shape(|proto| async move {
        let addr = start_server(proto).await;
        let clients: Vec<_> = (0..16)
            .map(|c| {
                gpm::spawn(async move {
                    let mut client = Client::connect(addr, proto).await;
                    for i in 0..25 {
                        let path = format!("/n/{c}-{i}");
                        let (status, _, body) = client.get(&path).await;
                        assert_eq!(status, StatusCode::OK);
                        assert_eq!(body, format!("{c}-{i}"));
                    }
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    });
}

/// A body of `len` bytes that is not one repeated byte, so a misplaced
/// chunk shows.
fn pattern(len: usize) -> Bytes {
    (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}

#[test]
fn post_echoes_a_large_body() {
    each_shape(|proto| async move {
        let addr = start_server(proto).await;
        let mut client = Client::connect(addr, proto).await;
        // Larger than hyper's buffers, the scratch buffer and the socket's.
        for len in [0, 1, 8 * 1024, 3 * 1024 * 1024 + 7] {
            let sent = pattern(len);
            let (status, headers, body) = client.send("POST", "/echo", sent.clone()).await;
            assert_eq!(status, StatusCode::OK);
            // (HTTP/2 may leave out the length of an empty body.)
            if len > 0 || proto == Proto::Http1 {
                assert_eq!(headers["content-length"], len.to_string());
            }
            assert_eq!(body.len(), len);
            assert!(body == sent, "echoed body differs, len = {len}");
        }
    });
}

#[test]
fn http2_streams_share_one_connection() {
    for procs in PROCS {
        watchdog(procs, || async {
            let addr = start_server(Proto::Http2).await;
            let Client::Http2(sender) = Client::connect(addr, Proto::Http2).await else {
                unreachable!()
            };
            let streams: Vec<_> = (0..64)
                .map(|i| {
                    let mut client = Client::Http2(sender.clone());
                    gpm::spawn(async move {
                        let body = pattern(1000 + i * 100);
                        let (status, _, echoed) = client.send("POST", "/echo", body.clone()).await;
                        assert_eq!(status, StatusCode::OK);
                        assert!(echoed == body);
                    })
                })
                .collect();
            for stream in streams {
                stream.await.unwrap();
            }
        });
    }
}

#[test]
fn server_connection_ends_when_the_client_hangs_up() {
    each_shape(|proto| async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gpm::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve_connection(stream, proto).await
        });
        let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
        match proto {
            Proto::Http1 => {
                let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
                let conn = gpm::spawn(conn);
                let response = sender
                    .send_request(Request::new(Full::new(Bytes::new())))
                    .await
                    .unwrap();
                assert_eq!(response.collect().await.unwrap().to_bytes(), "hello");
                // Dropping the sender closes the connection; its driver ends.
                drop(sender);
                conn.await.unwrap().unwrap();
            }
            Proto::Http2 => {
                let (mut sender, conn) = hyper::client::conn::http2::handshake(GpmExecutor::current(), io)
                    .await
                    .unwrap();
                let conn = gpm::spawn(conn);
                let request = Request::builder()
                    .uri("http://localhost/")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.collect().await.unwrap().to_bytes(), "hello");
                drop(sender);
                conn.await.unwrap().unwrap();
            }
        }
        // The server saw the end of the stream and finished: cleanly, or
        // (HTTP/2, when its goodbye crosses the client's close) with the
        // error that says the peer is gone.
        if let Err(e) = server.await.unwrap() {
            let io = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<std::io::Error>());
            let kind = io.map(std::io::Error::kind);
            assert!(
                proto == Proto::Http2
                    && matches!(
                        kind,
                        Some(
                            std::io::ErrorKind::NotConnected
                                | std::io::ErrorKind::ConnectionReset
                                | std::io::ErrorKind::BrokenPipe
                        )
                    ),
                "server connection failed: {e:?}"
            );
        }
    });
}

/// After an HTTP/1 upgrade both sides hold a `hyper::upgrade::Upgraded`;
/// `HyperIo` turns it back into futures-io for a raw byte echo.
#[test]
fn upgraded_connection_through_futures_io() {
    for procs in PROCS {
        watchdog(procs, || async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            gpm::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let service = hyper::service::service_fn(|mut req: Request<Incoming>| async move {
                    gpm::spawn(async move {
                        let upgraded = hyper::upgrade::on(&mut req).await.unwrap();
                        let mut io = HyperIo::new(upgraded);
                        let mut buf = vec![0; 100_000];
                        io.read_exact(&mut buf).await.unwrap();
                        buf.reverse();
                        io.write_all(&buf).await.unwrap();
                        io.close().await.unwrap();
                    });
                    let response = Response::builder()
                        .status(StatusCode::SWITCHING_PROTOCOLS)
                        .header("connection", "upgrade")
                        .header("upgrade", "reverse")
                        .body(Full::new(Bytes::new()))
                        .unwrap();
                    Ok::<_, Infallible>(response)
                });
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(HyperIo::new(stream), service)
                    .with_upgrades()
                    .await
                    .unwrap();
            });

            let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            gpm::spawn(conn.with_upgrades());
            let request = Request::builder()
                .header("connection", "upgrade")
                .header("upgrade", "reverse")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
            let mut io = HyperIo::new(hyper::upgrade::on(response).await.unwrap());
            let sent = pattern(100_000);
            io.write_all(&sent).await.unwrap();
            let mut back = Vec::new();
            io.read_to_end(&mut back).await.unwrap();
            back.reverse();
            assert!(back == sent);
        });
    }
}

/// Reads all of `io` through hyper's `Read`, `chunk` bytes of hyper buffer
/// at a time (uninitialized memory, as hyper passes it).
async fn read_all_in_chunks<R: Read + Unpin>(io: &mut R, chunk: usize) -> Vec<u8> {
    let mut all = Vec::new();
    let mut raw = vec![MaybeUninit::<u8>::uninit(); chunk];
    loop {
        let mut buf = ReadBuf::uninit(&mut raw);
        poll_fn(|cx| Pin::new(&mut *io).poll_read(cx, buf.unfilled()))
            .await
            .unwrap();
        if buf.filled().is_empty() {
            return all;
        }
        assert!(buf.filled().len() <= chunk);
        all.extend_from_slice(buf.filled());
    }
}

#[test]
fn reads_fill_hyper_buffers_of_any_size() {
    let data = pattern(300_000);
    runtime(1).block_on(async {
        for chunk in [1, 3, 4096, 65_536, 65_537, 1 << 20] {
            let mut io = HyperIo::new(futures::io::Cursor::new(data.to_vec()));
            assert!(read_all_in_chunks(&mut io, chunk).await == data, "chunk = {chunk}");
        }
        // A full buffer reads nothing and is not end of file for the stream.
        let mut io = HyperIo::new(futures::io::Cursor::new(vec![1, 2, 3]));
        let mut raw: [MaybeUninit<u8>; 0] = [];
        let mut buf = ReadBuf::uninit(&mut raw);
        poll_fn(|cx| Pin::new(&mut io).poll_read(cx, buf.unfilled()))
            .await
            .unwrap();
        assert_eq!(read_all_in_chunks(&mut io, 2).await, [1, 2, 3]);
    });
}

/// A `HyperIo` inside a `HyperIo` (futures-io, then hyper, then futures-io
/// again) reads on the same thread while the outer read holds the
/// thread's scratch buffer.
#[test]
fn nested_adapters_read_through() {
    let data = pattern(200_000);
    runtime(1).block_on(async {
        let inner = HyperIo::new(futures::io::Cursor::new(data.to_vec()));
        let mut io = HyperIo::new(HyperIo::new(inner));
        assert!(read_all_in_chunks(&mut io, 10_000).await == data);
    });
}

#[test]
fn writes_pass_through_vectored_and_shutdown_closes() {
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = gpm::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            // Ends only if the writer's shutdown closed its write half.
            stream.read_to_end(&mut got).await.unwrap();
            got
        });
        let io = HyperIo::new(TcpStream::connect(addr).await.unwrap());
        assert!(io.is_write_vectored());
        let mut io = io.vectored_writes(false);
        assert!(!io.is_write_vectored());
        let n = poll_fn(|cx| Pin::new(&mut io).poll_write(cx, b"head ")).await.unwrap();
        assert_eq!(n, 5);
        let bufs = [IoSlice::new(b"one "), IoSlice::new(b"two")];
        let mut written = 0;
        while written < 7 {
            // The socket takes both slices in one writev on loopback, but
            // a short write is allowed: finish with plain writes.
            let n = if written == 0 {
                poll_fn(|cx| Pin::new(&mut io).poll_write_vectored(cx, &bufs))
                    .await
                    .unwrap()
            } else {
                let rest = &b"one two"[written..];
                poll_fn(|cx| Pin::new(&mut io).poll_write(cx, rest)).await.unwrap()
            };
            written += n;
        }
        poll_fn(|cx| Pin::new(&mut io).poll_flush(cx)).await.unwrap();
        poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await.unwrap();
        assert_eq!(reader.await.unwrap(), b"head one two");
        // The stream is still there to take back.
        assert!(io.inner().local_addr().is_ok());
        let _stream: TcpStream = io.into_inner();
    });
}
