//! Hello world over HTTP on gpm: hyper serves HTTP/1.1 and HTTP/2 (prior
//! knowledge, `h2c`) on one port, each connection a goroutine, gpm's
//! `TcpListener` / `TcpStream` under hyper through `gpm_compat::HyperIo`.
//!
//! ```text
//! cargo run --release --example http                 # serves 127.0.0.1:3000
//! cargo run --release --example http -- 0.0.0.0:8080 # another address
//! cargo run --release --example http -- --check      # self-check, then exit
//! curl http://127.0.0.1:3000/                        # HTTP/1.1
//! curl --http2-prior-knowledge http://127.0.0.1:3000/ # HTTP/2
//! ```
//!
//! `--check` serves on a free loopback port, sends one request over
//! HTTP/1.1 and one over HTTP/2 with hyper's client (also on gpm), checks
//! the answers and exits 0, so the example can be smoke-tested.

use bytes::Bytes;
use gpm::net::{TcpListener, TcpStream};
use gpm_compat::{GpmExecutor, GpmTimer, HyperIo};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;

type BoxError = Box<dyn Error + Send + Sync>;

/// The whole application.
async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("Hello from gpm over {:?}!\n", req.version());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// Accepts forever; each connection is served by its own goroutine, HTTP/1
/// or HTTP/2 as the client's first bytes say.
async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(GpmExecutor::current());
    builder.http1().timer(GpmTimer::new());
    builder.http2().timer(GpmTimer::new());
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        gpm::spawn(async move {
            let service = hyper::service::service_fn(hello);
            if let Err(e) = builder.serve_connection(HyperIo::new(stream), service).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// One GET of `/` over HTTP/1.1 (`http2 == false`) or HTTP/2.
async fn get(addr: SocketAddr, http2: bool) -> Result<String, BoxError> {
    let io = HyperIo::new(TcpStream::connect(addr).await?);
    let request = Request::get(format!("http://{addr}/")).body(Empty::<Bytes>::new())?;
    let response = if http2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(GpmExecutor::current(), io).await?;
        gpm::spawn(conn);
        sender.send_request(request).await?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        gpm::spawn(conn);
        sender.send_request(request).await?
    };
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()).into());
    }
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8(body.to_vec())?)
}

/// `--check`: serve on a free port, ask over both protocols, compare.
async fn check() -> Result<(), BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("self-check: serving on http://{addr}");
    gpm::spawn(serve(listener));
    for (http2, expected) in [(false, "HTTP/1.1"), (true, "HTTP/2.0")] {
        let body = get(addr, http2).await?;
        print!("self-check: {expected}: {body}");
        if body != format!("Hello from gpm over {expected}!\n") {
            return Err(format!("unexpected body {body:?}").into());
        }
    }
    println!("self-check: ok");
    Ok(())
}

#[gpm::main]
async fn main() -> Result<(), BoxError> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--check") {
        return check().await;
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!(
        "Listening on http://{} (HTTP/1.1 and HTTP/2), {} Ps",
        listener.local_addr()?,
        gpm::runtime::gomaxprocs()
    );
    serve(listener).await?;
    Ok(())
}
