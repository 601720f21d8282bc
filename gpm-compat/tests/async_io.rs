//! Crates built on `async-io` (async-net, async-channel, futures-lite and
//! async-io's own `Timer`) run unchanged inside goroutines: async-io drives
//! its sockets and timers from its own reactor thread and wakes gpm's
//! goroutines through their ordinary wakers. Each runs on 1 and 2 Ps.
//! Network traffic stays on loopback.

use futures_lite::{future, io, AsyncReadExt, AsyncWriteExt, StreamExt};
use gpm::runtime::{Builder, Runtime};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
fn async_net_tcp_echo() {
    const CLIENTS: usize = 8;
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = gpm::spawn(async move {
                    let mut incoming = listener.incoming();
                    for _ in 0..CLIENTS {
                        let stream = incoming.next().await.unwrap().unwrap();
                        gpm::spawn(async move {
                            // futures-lite's copy from the stream into a clone of itself.
                            let mut writer = stream.clone();
                            io::copy(stream, &mut writer).await.unwrap();
                        });
                    }
                });
                let clients: Vec<_> = (0..CLIENTS)
                    .map(|i| {
                        gpm::spawn(async move {
                            let mut stream = async_net::TcpStream::connect(addr).await.unwrap();
                            let message = format!("client {i} says hello").repeat(200);
                            stream.write_all(message.as_bytes()).await.unwrap();
                            stream.shutdown(std::net::Shutdown::Write).unwrap();
                            let mut echoed = String::new();
                            stream.read_to_string(&mut echoed).await.unwrap();
                            assert_eq!(echoed, message, "procs = {procs}");
                        })
                    })
                    .collect();
                for client in clients {
                    client.await.unwrap();
                }
                server.await.unwrap();
            });
        });
    }
}

/// async-net on one end, gpm's netpoller on the other: the two reactors
/// meet on one connection, copied with futures-lite's `io::copy`.
#[test]
fn async_net_client_against_gpm_server() {
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                let listener = gpm::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = gpm::spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    io::copy(&stream, &mut &stream).await.unwrap()
                });
                let mut stream = async_net::TcpStream::connect(addr).await.unwrap();
                let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
                let writer = {
                    let mut stream = stream.clone();
                    let data = data.clone();
                    gpm::spawn(async move {
                        stream.write_all(&data).await.unwrap();
                        stream.shutdown(std::net::Shutdown::Write).unwrap();
                    })
                };
                let mut echoed = Vec::new();
                stream.read_to_end(&mut echoed).await.unwrap();
                writer.await.unwrap();
                assert_eq!(echoed, data, "procs = {procs}");
                assert_eq!(server.await.unwrap(), data.len() as u64);
            });
        });
    }
}

#[test]
fn async_channel_bounded_between_many_goroutines() {
    const PRODUCERS: u64 = 16;
    const CONSUMERS: usize = 4;
    const EACH: u64 = 500;
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                let (tx, rx) = async_channel::bounded::<u64>(4);
                for p in 0..PRODUCERS {
                    let tx = tx.clone();
                    gpm::spawn(async move {
                        for i in 0..EACH {
                            tx.send(p * EACH + i).await.unwrap();
                        }
                    });
                }
                drop(tx);
                let consumers: Vec<_> = (0..CONSUMERS)
                    .map(|_| {
                        let rx = rx.clone();
                        gpm::spawn(async move {
                            let (mut count, mut sum) = (0u64, 0u64);
                            while let Ok(v) = rx.recv().await {
                                count += 1;
                                sum += v;
                            }
                            (count, sum)
                        })
                    })
                    .collect();
                let (mut count, mut sum) = (0, 0);
                for consumer in consumers {
                    let (c, s) = consumer.await.unwrap();
                    count += c;
                    sum += s;
                }
                let n = PRODUCERS * EACH;
                assert_eq!((count, sum), (n, n * (n - 1) / 2), "procs = {procs}");
            });
        });
    }
}

#[test]
fn async_io_timers() {
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                let sleepers: Vec<_> = (1..=8u64)
                    .map(|i| {
                        gpm::spawn(async move {
                            let start = Instant::now();
                            let pause = Duration::from_millis(i);
                            async_io::Timer::after(pause).await;
                            assert!(start.elapsed() >= pause);
                        })
                    })
                    .collect();
                for sleeper in sleepers {
                    sleeper.await.unwrap();
                }
                let start = Instant::now();
                let ticks = async_io::Timer::interval(Duration::from_millis(1))
                    .take(3)
                    .count()
                    .await;
                assert_eq!(ticks, 3);
                assert!(start.elapsed() >= Duration::from_millis(3), "procs = {procs}");
            });
        });
    }
}

#[test]
fn futures_lite_combinators() {
    for procs in PROCS {
        watchdog(move || {
            runtime(procs).block_on(async move {
                // zip: both finish, so it takes as long as the longer one.
                let start = Instant::now();
                let (a, b) = future::zip(
                    async {
                        async_io::Timer::after(Duration::from_millis(2)).await;
                        1
                    },
                    gpm::spawn(async {
                        gpm::time::sleep(Duration::from_millis(3)).await;
                        2
                    }),
                )
                .await;
                assert_eq!((a, b.unwrap()), (1, 2));
                assert!(start.elapsed() >= Duration::from_millis(3));

                // race / or: a message from another goroutine beats an
                // async-io timer an hour away, whichever is polled first.
                for _ in 0..10 {
                    let (tx, rx) = async_channel::bounded(1);
                    gpm::spawn(async move { tx.send("message").await.unwrap() });
                    let hour = async {
                        async_io::Timer::after(Duration::from_secs(3600)).await;
                        "timer"
                    };
                    let message = async { rx.recv().await.unwrap() };
                    assert_eq!(future::race(hour, message).await, "message", "procs = {procs}");
                }
                let (tx, rx) = async_channel::bounded(1);
                gpm::spawn(async move { tx.send("message").await.unwrap() });
                let hour = async {
                    async_io::Timer::after(Duration::from_secs(3600)).await;
                    "timer"
                };
                assert_eq!(future::or(hour, async { rx.recv().await.unwrap() }).await, "message");
            });
        });
    }
}
