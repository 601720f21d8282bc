//! Ad-hoc timing: unbuffered ping-pong between two goroutines.
use std::time::Instant;

const ROUNDS: u64 = 100_000;

async fn play() -> u64 {
    let ping = gpm::chan::<u64>(0);
    let pong = gpm::chan::<u64>(0);
    let (p2, q2) = (ping.clone(), pong.clone());
    let echo = gpm::spawn(async move {
        while let Some(v) = p2.recv().await {
            q2.send(v + 1).await.unwrap();
        }
    });
    let mut v = 0;
    for _ in 0..ROUNDS {
        ping.send(v).await.unwrap();
        v = pong.recv().await.unwrap();
    }
    ping.close().unwrap();
    echo.await.unwrap();
    v
}

fn main() {
    if std::env::var_os("FLOOR").is_some() {
        return floor();
    }
    if std::env::var_os("TOKIO").is_some() {
        return tokio_baseline();
    }
    let procs: usize = std::env::args().nth(1).map_or(2, |s| s.parse().unwrap());
    let rt = gpm::runtime::Builder::new().procs(procs).build().unwrap();
    for _ in 0..5 {
        let start = Instant::now();
        let v = rt.block_on(async { gpm::spawn(play()).await.unwrap() });
        assert_eq!(v, ROUNDS);
        let el = start.elapsed();
        println!(
            "two goroutines: {ROUNDS} round trips in {:.2} ms ({:.0} ns each)",
            el.as_secs_f64() * 1e3,
            el.as_nanos() as f64 / ROUNDS as f64
        );
    }
    for _ in 0..3 {
        let start = Instant::now();
        let v = rt.block_on(play());
        assert_eq!(v, ROUNDS);
        let el = start.elapsed();
        println!(
            "main + goroutine: {ROUNDS} round trips in {:.2} ms",
            el.as_secs_f64() * 1e3
        );
    }
}

#[allow(dead_code)]
fn tokio_baseline() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for _ in 0..3 {
        let start = Instant::now();
        rt.block_on(async {
            tokio::spawn(async {
                let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
                let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
                let echo = tokio::spawn(async move {
                    while let Some(v) = ping_rx.recv().await {
                        pong_tx.send(v + 1).await.unwrap();
                    }
                });
                let mut v = 0;
                for _ in 0..ROUNDS {
                    ping_tx.send(v).await.unwrap();
                    v = pong_rx.recv().await.unwrap();
                }
                drop(ping_tx);
                echo.await.unwrap();
            })
            .await
            .unwrap()
        });
        println!(
            "tokio mpsc(1): {ROUNDS} round trips in {:.2} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// The floor: the same ping-pong with a lock-free one-slot mailbox.
#[allow(dead_code)]
fn floor() {
    use futures::task::AtomicWaker;
    use std::sync::atomic::{AtomicU64, Ordering::*};
    use std::sync::Arc;
    struct Mailbox {
        v: AtomicU64,
        w: AtomicWaker,
    }
    impl Mailbox {
        fn put(&self, v: u64) {
            self.v.store(v + 1, Release);
            self.w.wake();
        }
        fn take(&self) -> impl std::future::Future<Output = u64> + '_ {
            std::future::poll_fn(move |cx| {
                let v = self.v.swap(0, Acquire);
                if v != 0 {
                    return std::task::Poll::Ready(v - 1);
                }
                self.w.register(cx.waker());
                let v = self.v.swap(0, Acquire);
                if v != 0 {
                    std::task::Poll::Ready(v - 1)
                } else {
                    std::task::Poll::Pending
                }
            })
        }
    }
    let procs: usize = std::env::args().nth(1).map_or(2, |s| s.parse().unwrap());
    let rt = gpm::runtime::Builder::new().procs(procs).build().unwrap();
    for _ in 0..5 {
        let start = Instant::now();
        rt.block_on(async {
            gpm::spawn(async {
                let a = Arc::new(Mailbox {
                    v: AtomicU64::new(0),
                    w: AtomicWaker::new(),
                });
                let b = Arc::new(Mailbox {
                    v: AtomicU64::new(0),
                    w: AtomicWaker::new(),
                });
                let (a2, b2) = (a.clone(), b.clone());
                let echo = gpm::spawn(async move {
                    loop {
                        let v = a2.take().await;
                        if v == u64::MAX - 1 {
                            break;
                        }
                        b2.put(v + 1);
                    }
                });
                let mut v = 0;
                for _ in 0..ROUNDS {
                    a.put(v);
                    v = b.take().await;
                }
                a.put(u64::MAX - 1);
                echo.await.unwrap();
            })
            .await
        })
        .unwrap();
        println!(
            "floor (lock-free mailbox): {ROUNDS} round trips in {:.2} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
