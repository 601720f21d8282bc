//! tokio interop (feature `tokio`): tokio's timers and sockets, and crates
//! built on them (tokio-util's codecs, hyper-util's legacy client), running
//! inside goroutines; the IO adapters both ways; and what happens without
//! the wrapper. Each runs on 1 and 2 Ps. Network traffic stays on loopback.
#![cfg(feature = "tokio")]

use futures::{AsyncBufReadExt, AsyncWriteExt, SinkExt, StreamExt};
use gpm::runtime::{Builder, Runtime};
use gpm_compat::tokio::{Compat, TokioCompatExt};
use std::future::Future;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio_util::codec::{Framed, LinesCodec};

const PROCS: [usize; 2] = [1, 2];

fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("test hung (or panicked) for 30 s")
}

fn runtime(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

#[test]
fn tokio_sleep_inside_goroutines() {
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async {
                let tasks: Vec<_> = (1..=16u64)
                    .map(|i| {
                        gpm_compat::tokio::spawn(async move {
                            let start = Instant::now();
                            let pause = Duration::from_millis(i % 4 + 1);
                            tokio::time::sleep(pause).await;
                            assert!(start.elapsed() >= pause);
                            // An expiring `timeout` and an `interval` too.
                            let never = std::future::pending::<()>();
                            let timed_out = tokio::time::timeout(Duration::from_millis(1), never).await;
                            assert!(timed_out.is_err());
                            let mut interval = tokio::time::interval(Duration::from_millis(1));
                            for _ in 0..3 {
                                interval.tick().await;
                            }
                            i
                        })
                    })
                    .collect();
                let mut sum = 0;
                for task in tasks {
                    sum += task.await.unwrap();
                }
                assert_eq!(sum, (1..=16).sum::<u64>(), "procs = {procs}");
            });
        });
    }
}

#[test]
fn block_on_with_compat() {
    for procs in PROCS {
        watchdog(move || {
            let rt = runtime(procs);
            let got = rt.block_on(
                async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    // Handle::current() is the global runtime's.
                    tokio::runtime::Handle::current().runtime_flavor()
                }
                .tokio_compat(),
            );
            assert_eq!(got, tokio::runtime::RuntimeFlavor::MultiThread);
        });
    }
}

#[test]
fn tokio_spawn_and_spawn_blocking_join_from_a_goroutine() {
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async {
                let got = gpm_compat::tokio::spawn(async {
                    // Runs on tokio's worker thread, not as a goroutine.
                    let task = tokio::spawn(async {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        gpm::runtime::Handle::try_current().is_some()
                    });
                    let blocking = tokio::task::spawn_blocking(|| 6 * 7);
                    (task.await.unwrap(), blocking.await.unwrap())
                })
                .await
                .unwrap();
                assert_eq!(got, (false, 42), "procs = {procs}");
            });
        });
    }
}

/// Without the wrapper tokio finds no runtime on gpm's Ms and panics; the
/// goroutine's panic comes back through its `JoinHandle`.
#[test]
fn without_compat_tokio_panics_for_lack_of_a_runtime() {
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async {
                let bare = gpm::spawn(async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                });
                let err = bare.await.unwrap_err();
                assert!(err.is_panic(), "procs = {procs}");
                let payload = err.into_panic();
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or_default();
                assert!(message.contains("Tokio 1.x"), "unexpected panic: {message}");
                // The same future, wrapped, runs.
                let wrapped = gpm_compat::tokio::spawn(async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                });
                wrapped.await.unwrap();
            });
        });
    }
}

/// tokio's own `TcpListener` / `TcpStream`, both ends in goroutines.
#[test]
fn tokio_tcp_echo_inside_goroutines() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    const CLIENTS: usize = 8;
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(
                async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = listener.local_addr().unwrap();
                    let server = gpm_compat::tokio::spawn(async move {
                        for _ in 0..CLIENTS {
                            let (mut stream, _) = listener.accept().await.unwrap();
                            gpm_compat::tokio::spawn(async move {
                                let (mut reader, mut writer) = stream.split();
                                tokio::io::copy(&mut reader, &mut writer).await.unwrap();
                            });
                        }
                    });
                    let clients: Vec<_> = (0..CLIENTS)
                        .map(|i| {
                            gpm_compat::tokio::spawn(async move {
                                let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                                let message = format!("client {i} says hello").repeat(100);
                                stream.write_all(message.as_bytes()).await.unwrap();
                                stream.shutdown().await.unwrap();
                                let mut echoed = String::new();
                                stream.read_to_string(&mut echoed).await.unwrap();
                                assert_eq!(echoed, message);
                            })
                        })
                        .collect();
                    for client in clients {
                        client.await.unwrap();
                    }
                    server.await.unwrap();
                }
                .tokio_compat(),
            );
        });
    }
}

/// tokio-util's `Framed` + `LinesCodec` over gpm's own `TcpStream`, through
/// the futures-io → tokio adapter: no tokio runtime involved at all.
#[test]
fn tokio_util_framed_lines_over_gpm_tcp() {
    const CLIENTS: usize = 6;
    const LINES: usize = 50;
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                gpm::spawn(async move {
                    loop {
                        let (stream, _) = listener.accept().await.unwrap();
                        gpm::spawn(async move {
                            let mut lines = Framed::new(stream.tokio_compat(), LinesCodec::new());
                            while let Some(line) = lines.next().await {
                                let line = line.unwrap();
                                lines.send(format!("{}!", line.to_uppercase())).await.unwrap();
                            }
                        });
                    }
                });
                let clients: Vec<_> = (0..CLIENTS)
                    .map(|c| {
                        gpm::spawn(async move {
                            let stream = gpm::net::TcpStream::connect(addr).await.unwrap();
                            let mut lines = Framed::new(Compat::new(stream), LinesCodec::new());
                            for l in 0..LINES {
                                lines.send(format!("client {c} line {l}")).await.unwrap();
                                let reply = lines.next().await.unwrap().unwrap();
                                assert_eq!(reply, format!("CLIENT {c} LINE {l}!"));
                            }
                        })
                    })
                    .collect();
                for client in clients {
                    client.await.unwrap();
                }
            });
        });
    }
}

/// The reverse adapter: tokio's `TcpStream` driven through futures' IO
/// traits (`futures::io::copy`, `BufReader::lines`), talking to gpm's.
#[test]
fn tokio_tcp_through_futures_io() {
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = gpm::spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    let (reader, mut writer) = (&stream, &stream);
                    futures::io::copy(reader, &mut writer).await.unwrap();
                });
                let client = gpm_compat::tokio::spawn(async move {
                    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let (reader, writer) = stream.into_split();
                    let mut writer = writer.tokio_compat();
                    let mut lines = futures::io::BufReader::new(reader.tokio_compat()).lines();
                    for i in 0..100 {
                        writer.write_all(format!("line {i}\n").as_bytes()).await.unwrap();
                        assert_eq!(lines.next().await.unwrap().unwrap(), format!("line {i}"));
                    }
                    writer.close().await.unwrap();
                    assert!(lines.next().await.is_none(), "the server closes after our close");
                });
                client.await.unwrap();
                server.await.unwrap();
            });
        });
    }
}

/// hyper's executor for hyper-util's client: each connection task becomes a
/// goroutine with a tokio context.
#[derive(Clone, Copy, Debug)]
struct GoroutineExecutor;

impl<F> hyper::rt::Executor<F> for GoroutineExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(gpm_compat::tokio::spawn(future));
    }
}

/// A minimal HTTP/1.1 responder on gpm's own listener: answers every GET
/// with `hello <path>`, keeping connections alive.
async fn serve_http(listener: gpm::net::TcpListener) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        gpm::spawn(async move {
            let mut reader = futures::io::BufReader::new(&stream);
            loop {
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).await.unwrap() == 0 {
                    return; // the client closed the connection
                }
                let path = request_line.split(' ').nth(1).unwrap().to_owned();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).await.unwrap();
                    if header == "\r\n" {
                        break;
                    }
                }
                let body = format!("hello {path}");
                let response = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                (&stream).write_all(response.as_bytes()).await.unwrap();
            }
        });
    }
}

/// hyper-util's legacy `Client` with its `HttpConnector` (which connects
/// with `tokio::net`) inside goroutines, fetching from a gpm server.
#[test]
fn hyper_util_client_inside_goroutines() {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    const CLIENTS: usize = 4;
    const REQUESTS: usize = 5;
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                gpm::spawn(serve_http(listener));
                let client = Client::builder(GoroutineExecutor).build_http::<Empty<Bytes>>();
                let tasks: Vec<_> = (0..CLIENTS)
                    .map(|c| {
                        let client = client.clone();
                        gpm_compat::tokio::spawn(async move {
                            for r in 0..REQUESTS {
                                let uri = format!("http://{addr}/c{c}/r{r}").parse().unwrap();
                                let response = client.get(uri).await.unwrap();
                                assert_eq!(response.status(), hyper::StatusCode::OK);
                                let body = response.into_body().collect().await.unwrap().to_bytes();
                                assert_eq!(body, format!("hello /c{c}/r{r}").as_bytes());
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            });
        });
    }
}
