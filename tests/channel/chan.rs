//! Channels: Go's semantics on 1, 2 and 4 Ps.
//!
//! Where a test needs a goroutine to be *parked* on a channel before it
//! goes on, it waits until `gpm::runtime::dump()` lists the goroutine with
//! the right wait reason (`chan send`, `chan receive`): the sudog is queued
//! before the goroutine's poll returns, so that is a real synchronisation
//! point, not a guess. Deadlines only turn hangs into failures.

use futures::{SinkExt, StreamExt};
use gpm::channel::{SendError, TryRecvError, TrySendError};
use gpm::runtime::Runtime;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn unbuffered_send_waits_for_a_receiver() { super::unbuffered_send_waits_for_a_receiver(rt()) }
            #[test] fn unbuffered_hand_off_to_a_waiting_receiver() { super::unbuffered_hand_off_to_a_waiting_receiver(rt()) }
            #[test] fn waiting_receivers_are_served_in_order() { super::waiting_receivers_are_served_in_order(rt()) }
            #[test] fn waiting_senders_are_served_in_order() { super::waiting_senders_are_served_in_order(rt()) }
            #[test] fn buffered_ring_and_pulled_sender() { super::buffered_ring_and_pulled_sender(rt()) }
            #[test] fn close_drains_the_buffer_first() { super::close_drains_the_buffer_first(rt()) }
            #[test] fn close_wakes_every_waiter() { super::close_wakes_every_waiter(rt()) }
            #[test] fn try_ops_len_and_cap() { super::try_ops_len_and_cap(rt()) }
            #[test] fn blocking_calls_from_std_threads() { super::blocking_calls_from_std_threads(rt()) }
            #[test] fn stream_and_sink() { super::stream_and_sink(rt()) }
            #[test] fn dropped_recv_gives_its_value_back() { super::dropped_recv_gives_its_value_back(rt()) }
            #[test] fn dropped_send_takes_its_value_away() { super::dropped_send_takes_its_value_away(rt()) }
            #[test] fn cancelled_receives_lose_nothing() { super::cancelled_receives_lose_nothing(rt()) }
            #[test] fn many_senders_and_receivers_unbuffered() { super::many_senders_and_receivers(rt(), 0) }
            #[test] fn many_senders_and_receivers_buffered() { super::many_senders_and_receivers(rt(), 3) }
            #[test] fn ping_pong() { super::ping_pong(rt()) }
            #[test] fn busy_channel_loop_yields() { super::busy_channel_loop_yields(rt()) }
            #[test] fn close_racing_senders_and_receivers_loses_nothing() { super::close_racing_senders_and_receivers_loses_nothing(rt()) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// How long any wait may take before the test fails (only hangs reach it).
const DEADLINE: Duration = Duration::from_secs(30);

/// Waits until `n` spawned goroutines (main is not counted) are parked
/// with `reason` (Go's words, as in dumps: `chan send`, `chan receive`).
async fn parked(reason: &str, n: usize) {
    let needle = format!("[{reason}]:\ncreated at");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let count = gpm::runtime::dump().matches(&needle).count();
        if count >= n {
            assert_eq!(count, n, "more goroutines in [{reason}] than expected");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} goroutine(s) in [{reason}]"
        );
        gpm::yield_now().await;
    }
}

fn unbuffered_send_waits_for_a_receiver(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(0);
        let sent = Arc::new(AtomicBool::new(false));
        let (tx, s) = (ch.clone(), sent.clone());
        let sender = gpm::spawn(async move {
            tx.send(7).await.unwrap();
            s.store(true, SeqCst);
        });
        parked("chan send", 1).await;
        // Nothing buffered: the value is still with the sender.
        assert_eq!(ch.len(), 0);
        assert!(!sent.load(SeqCst));
        assert_eq!(ch.recv().await, Some(7));
        sender.await.unwrap();
        assert!(sent.load(SeqCst));
        // No receiver: a non-blocking send cannot go.
        assert_eq!(ch.try_send(1), Err(TrySendError::Full(1)));
    });
}

fn unbuffered_hand_off_to_a_waiting_receiver(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<String>(0);
        let rx = ch.clone();
        let receiver = gpm::spawn(async move { rx.recv().await });
        parked("chan receive", 1).await;
        // A receiver waits: a non-blocking send hands the value over.
        ch.try_send("hello".to_string()).unwrap();
        assert_eq!(receiver.await.unwrap().as_deref(), Some("hello"));
        assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    });
}

fn waiting_receivers_are_served_in_order(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<usize>(0);
        let mut receivers = Vec::new();
        for i in 0..8 {
            let rx = ch.clone();
            receivers.push(gpm::spawn(async move { (i, rx.recv().await) }));
            parked("chan receive", i + 1).await;
        }
        for v in 0..8 {
            ch.send(v * 10).await.unwrap();
        }
        for h in receivers {
            let (i, got) = h.await.unwrap();
            assert_eq!(got, Some(i * 10), "receiver {i} was not served in turn");
        }
    });
}

fn waiting_senders_are_served_in_order(rt: Runtime) {
    rt.block_on(async {
        for cap in [0, 2] {
            let ch = gpm::chan::<usize>(cap);
            for v in 0..cap {
                ch.send(v).await.unwrap();
            }
            let mut senders = Vec::new();
            for i in cap..cap + 8 {
                let tx = ch.clone();
                senders.push(gpm::spawn(async move { tx.send(i).await }));
                parked("chan send", i - cap + 1).await;
            }
            for v in 0..cap + 8 {
                assert_eq!(ch.recv().await, Some(v), "cap {cap}");
            }
            for h in senders {
                h.await.unwrap().unwrap();
            }
        }
    });
}

fn buffered_ring_and_pulled_sender(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(2);
        assert_eq!((ch.len(), ch.cap()), (0, 2));
        ch.send(1).await.unwrap();
        ch.send(2).await.unwrap();
        assert_eq!(ch.len(), 2);
        assert_eq!(ch.try_send(3), Err(TrySendError::Full(3)));
        let tx = ch.clone();
        let sender = gpm::spawn(async move { tx.send(3).await });
        parked("chan send", 1).await;
        // The receive takes the head and moves the waiting sender's value
        // into the freed slot before it returns.
        assert_eq!(ch.recv().await, Some(1));
        assert_eq!(ch.len(), 2);
        sender.await.unwrap().unwrap();
        assert_eq!(ch.recv().await, Some(2));
        assert_eq!(ch.recv().await, Some(3));
        assert!(ch.is_empty());
        // Around the ring a few times.
        for round in 0..10u32 {
            ch.send(round).await.unwrap();
            ch.send(round + 100).await.unwrap();
            assert_eq!(ch.recv().await, Some(round));
            assert_eq!(ch.recv().await, Some(round + 100));
        }
    });
}

fn close_drains_the_buffer_first(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(3);
        for v in 0..3 {
            ch.send(v).await.unwrap();
        }
        ch.close().unwrap();
        assert!(ch.is_closed());
        assert!(ch.close().is_err(), "closing twice is an error");
        assert_eq!(ch.send(9).await, Err(SendError(9)));
        assert_eq!(ch.try_send(9), Err(TrySendError::Closed(9)));
        assert_eq!(ch.len(), 3);
        for v in 0..3 {
            assert_eq!(ch.recv().await, Some(v));
        }
        assert_eq!(ch.recv().await, None);
        assert_eq!(ch.recv().await, None);
        assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    });
}

fn close_wakes_every_waiter(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(0);
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let rx = ch.clone();
                gpm::spawn(async move { rx.recv().await })
            })
            .collect();
        parked("chan receive", 4).await;
        ch.close().unwrap();
        for h in receivers {
            assert_eq!(h.await.unwrap(), None);
        }

        let ch = gpm::chan::<u32>(1);
        ch.send(0).await.unwrap();
        let senders: Vec<_> = (1..=4)
            .map(|v| {
                let tx = ch.sender();
                gpm::spawn(async move { tx.send(v).await })
            })
            .collect();
        parked("chan send", 4).await;
        ch.sender().close().unwrap();
        let mut back: Vec<u32> = Vec::new();
        for h in senders {
            back.push(h.await.unwrap().unwrap_err().into_inner());
        }
        back.sort();
        assert_eq!(back, [1, 2, 3, 4]);
        // The buffered value is still there for a receiver.
        assert_eq!(ch.recv().await, Some(0));
        assert_eq!(ch.recv().await, None);
    });
}

fn try_ops_len_and_cap(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u8>(2);
        assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
        ch.try_send(1).unwrap();
        ch.try_send(2).unwrap();
        assert!(ch.try_send(3).unwrap_err().is_full());
        assert_eq!((ch.len(), ch.cap(), ch.is_empty()), (2, 2, false));
        let (tx, rx) = (ch.sender(), ch.receiver());
        assert_eq!((tx.len(), tx.cap(), rx.len(), rx.cap()), (2, 2, 2, 2));
        assert_eq!(rx.try_recv(), Ok(1));
        tx.try_send(4).unwrap();
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Ok(4));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.close().unwrap();
        assert!(rx.is_closed() && tx.is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert!(tx.try_send(5).unwrap_err().is_closed());
        assert_eq!(gpm::chan::<()>(0).cap(), 0);
        // Handles are equal when they are the same channel.
        assert_eq!(ch, ch.clone());
        assert_ne!(ch, gpm::chan::<u8>(2));
    });
}

fn blocking_calls_from_std_threads(rt: Runtime) {
    // A thread sends into a goroutine, which answers back; both unbuffered.
    let ping = gpm::chan::<u64>(0);
    let pong = gpm::chan::<u64>(0);
    let (p, q) = (ping.clone(), pong.clone());
    let echo = rt.spawn(async move {
        while let Some(v) = p.recv().await {
            q.send(v * 2).await.unwrap();
        }
        q.close().unwrap();
    });
    let thread = std::thread::spawn(move || {
        let mut sum = 0;
        for v in 0..1000 {
            ping.send_blocking(v).unwrap();
            sum += pong.recv_blocking().unwrap();
        }
        ping.close().unwrap();
        assert_eq!(pong.recv_blocking(), None);
        assert_eq!(ping.send_blocking(1), Err(SendError(1)));
        sum
    });
    assert_eq!(thread.join().unwrap(), 999 * 1000);
    rt.block_on(echo).unwrap();

    // Two plain threads, no goroutine at all.
    let ch = gpm::chan::<u32>(0);
    let tx = ch.sender();
    let t = std::thread::spawn(move || (0..100).for_each(|v| tx.send_blocking(v).unwrap()));
    let got: Vec<u32> = (0..100).map(|_| ch.receiver().recv_blocking().unwrap()).collect();
    t.join().unwrap();
    assert_eq!(got, (0..100).collect::<Vec<_>>());

    // Inside a goroutine the blocking calls refuse, with a clear message.
    let ch = gpm::chan::<u32>(1);
    let c = ch.clone();
    let err = rt.block_on(rt.spawn(async move { c.recv_blocking() })).unwrap_err();
    let message = err.into_panic();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(message.contains("recv().await"), "{message}");
}

fn stream_and_sink(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(0);
        let mut tx = ch.sender();
        let producer = gpm::spawn(async move {
            let mut items = futures::stream::iter(0..100).map(Ok);
            tx.send_all(&mut items).await.unwrap();
            SinkExt::close(&mut tx).await.unwrap();
        });
        let got: Vec<u32> = ch.receiver().collect().await;
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        producer.await.unwrap();
        assert!(ch.is_closed());

        // A sink whose channel gets closed hands the item back.
        let ch = gpm::chan::<u32>(0);
        let tx = ch.sender();
        ch.close().unwrap();
        let mut sink = tx.clone();
        let err = SinkExt::send(&mut sink, 5).await.unwrap_err();
        assert_eq!(err.into_inner(), 5);
        assert_eq!(tx.send(6).await.unwrap_err().into_inner(), 6);

        // A stream over a buffered channel, several receivers sharing it.
        let ch = gpm::chan::<u32>(4);
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let rx = ch.receiver();
                gpm::spawn(async move { rx.fold(0u64, |a, v| async move { a + v as u64 }).await })
            })
            .collect();
        for v in 1..=1000 {
            ch.send(v).await.unwrap();
        }
        ch.close().unwrap();
        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        assert_eq!(total, 1000 * 1001 / 2);
    });
}

fn dropped_recv_gives_its_value_back(rt: Runtime) {
    rt.block_on(async {
        for cap in [0, 1] {
            let ch = gpm::chan::<u32>(cap);
            {
                let mut recv = pin!(ch.recv());
                assert!(futures::poll!(recv.as_mut()).is_pending());
                // A receiver waits, so the value goes straight into its slot...
                ch.try_send(5).unwrap();
                // ...and the receive is dropped before it returns it.
            }
            // The value is back at the head of the channel.
            assert_eq!(ch.len(), 1, "cap {cap}");
            assert_eq!(ch.try_recv(), Ok(5));

            // With another receiver waiting, it goes straight to that one.
            let ch = gpm::chan::<u32>(cap);
            let rx = ch.clone();
            let mut recv = Box::pin(ch.recv());
            assert!(futures::poll!(recv.as_mut()).is_pending());
            let other = gpm::spawn(async move { rx.recv().await });
            parked("chan receive", 1).await;
            ch.try_send(7).unwrap();
            drop(recv);
            assert_eq!(other.await.unwrap(), Some(7));
            assert_eq!(ch.len(), 0);
        }
    });
}

fn dropped_send_takes_its_value_away(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<Arc<()>>(0);
        let value = Arc::new(());
        {
            let mut send = pin!(ch.send(value.clone()));
            assert!(futures::poll!(send.as_mut()).is_pending());
            assert_eq!(Arc::strong_count(&value), 2);
        }
        // The send did not happen: no receiver can get it, and it is gone.
        assert_eq!(Arc::strong_count(&value), 1);
        assert!(ch.try_recv().is_err());
        // The queue is clean: a new receiver waits, a new send goes through.
        let rx = ch.clone();
        let r = gpm::spawn(async move { rx.recv().await.is_some() });
        ch.send(value).await.unwrap();
        assert!(r.await.unwrap());
    });
}

fn cancelled_receives_lose_nothing(rt: Runtime) {
    const N: usize = 20_000;
    rt.block_on(async {
        for cap in [0, 2] {
            let ch = gpm::chan::<usize>(cap);
            let received = Arc::new(AtomicUsize::new(0));
            let sum = Arc::new(AtomicUsize::new(0));
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let (rx, received, sum) = (ch.clone(), received.clone(), sum.clone());
                    gpm::spawn(async move {
                        loop {
                            // Poll once; if it would wait, yield and then drop
                            // it: a sender may fill it in between.
                            let mut recv = Box::pin(rx.recv());
                            let got = match futures::poll!(recv.as_mut()) {
                                std::task::Poll::Ready(v) => v,
                                std::task::Poll::Pending => {
                                    gpm::yield_now().await;
                                    drop(recv);
                                    continue;
                                }
                            };
                            match got {
                                Some(v) => {
                                    sum.fetch_add(v, SeqCst);
                                    received.fetch_add(1, SeqCst);
                                }
                                None => return,
                            }
                        }
                    })
                })
                .collect();
            let producers: Vec<_> = (0..4)
                .map(|p| {
                    let tx = ch.clone();
                    gpm::spawn(async move {
                        for v in (p..N).step_by(4) {
                            tx.send(v).await.unwrap();
                        }
                    })
                })
                .collect();
            for p in producers {
                p.await.unwrap();
            }
            ch.close().unwrap();
            for c in consumers {
                c.await.unwrap();
            }
            assert_eq!(received.load(SeqCst), N, "cap {cap}");
            assert_eq!(sum.load(SeqCst), N * (N - 1) / 2, "cap {cap}");
        }
    });
}

fn many_senders_and_receivers(rt: Runtime, cap: usize) {
    const SENDERS: usize = 16;
    const RECEIVERS: usize = 16;
    const PER_SENDER: usize = 5_000;
    rt.block_on(async {
        let ch = gpm::chan::<usize>(cap);
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let rx = ch.receiver();
                gpm::spawn(async move {
                    let (mut n, mut sum) = (0usize, 0usize);
                    while let Some(v) = rx.recv().await {
                        n += 1;
                        sum += v;
                    }
                    (n, sum)
                })
            })
            .collect();
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = ch.sender();
                gpm::spawn(async move {
                    for i in 0..PER_SENDER {
                        tx.send(s * PER_SENDER + i).await.unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.await.unwrap();
        }
        ch.close().unwrap();
        let (mut n, mut sum) = (0, 0);
        for r in receivers {
            let (rn, rs) = r.await.unwrap();
            n += rn;
            sum += rs;
        }
        let total = SENDERS * PER_SENDER;
        assert_eq!(n, total);
        assert_eq!(sum, total * (total - 1) / 2);
    });
}

fn close_racing_senders_and_receivers_loses_nothing(rt: Runtime) {
    const SENDERS: usize = 4;
    const PER_SENDER: usize = 500;
    rt.block_on(async {
        for cap in [0, 4] {
            for round in 0..20 {
                let ch = gpm::chan::<usize>(cap);
                let receivers: Vec<_> = (0..4)
                    .map(|_| {
                        let rx = ch.receiver();
                        gpm::spawn(async move {
                            let (mut n, mut sum) = (0, 0);
                            while let Some(v) = rx.recv().await {
                                n += 1;
                                sum += v;
                            }
                            (n, sum)
                        })
                    })
                    .collect();
                let senders: Vec<_> = (0..SENDERS)
                    .map(|s| {
                        let tx = ch.sender();
                        gpm::spawn(async move {
                            let (mut sent, mut sum, mut back) = (0, 0, 0);
                            for i in 0..PER_SENDER {
                                let v = s * PER_SENDER + i;
                                match tx.send(v).await {
                                    Ok(()) => {
                                        sent += 1;
                                        sum += v;
                                    }
                                    Err(SendError(w)) => {
                                        assert_eq!(w, v);
                                        back += 1;
                                    }
                                }
                            }
                            (sent, sum, back)
                        })
                    })
                    .collect();
                // Close somewhere in the middle, at a different point each round.
                for _ in 0..round * 5 {
                    gpm::yield_now().await;
                }
                ch.close().unwrap();
                let (mut sent, mut sent_sum, mut back) = (0, 0, 0);
                for s in senders {
                    let (n, sum, b) = s.await.unwrap();
                    sent += n;
                    sent_sum += sum;
                    back += b;
                }
                let (mut received, mut received_sum) = (0, 0);
                for r in receivers {
                    let (n, sum) = r.await.unwrap();
                    received += n;
                    received_sum += sum;
                }
                // Every value was either received or given back, never both.
                assert_eq!(sent + back, SENDERS * PER_SENDER, "cap {cap} round {round}");
                assert_eq!((received, received_sum), (sent, sent_sum), "cap {cap} round {round}");
            }
        }
    });
}

fn busy_channel_loop_yields(rt: Runtime) {
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        // Loops on a buffered channel without ever waiting: only the coop
        // budget that channel operations spend makes it give up its P.
        let started = Arc::new(AtomicUsize::new(0));
        let procs = gpm::runtime::gomaxprocs();
        let busy: Vec<_> = (0..procs)
            .map(|_| {
                let (stop, started) = (stop.clone(), started.clone());
                gpm::spawn(async move {
                    started.fetch_add(1, SeqCst);
                    let ch = gpm::chan::<u32>(1);
                    let deadline = Instant::now() + DEADLINE;
                    while !stop.load(SeqCst) {
                        ch.send(1).await.unwrap();
                        ch.recv().await.unwrap();
                        assert!(Instant::now() < deadline, "the other goroutine never ran");
                    }
                })
            })
            .collect();
        // Main gets its P back only if the busy loops yield it.
        while started.load(SeqCst) < procs {
            gpm::yield_now().await;
        }
        let s = stop.clone();
        gpm::spawn(async move { s.store(true, SeqCst) }).await.unwrap();
        for b in busy {
            b.await.unwrap();
        }
    });
}

fn ping_pong(rt: Runtime) {
    rt.block_on(async {
        let (ping, pong) = (gpm::chan::<u64>(0), gpm::chan::<u64>(0));
        let (p, q) = (ping.clone(), pong.clone());
        let echo = gpm::spawn(async move {
            while let Some(v) = p.recv().await {
                q.send(v + 1).await.unwrap();
            }
        });
        let mut v = 0;
        for _ in 0..10_000 {
            ping.send(v).await.unwrap();
            v = pong.recv().await.unwrap();
        }
        ping.close().unwrap();
        echo.await.unwrap();
        assert_eq!(v, 10_000);
    });
}

/// Unbuffered ping-pong timing, for a person to read (`--ignored
/// --nocapture`); asserts nothing about speed.
#[test]
#[ignore = "timing aid: cargo test --release --test channel ping_pong_timing -- --ignored --nocapture"]
fn ping_pong_timing() {
    for procs in [1, 2] {
        let rt = gpm::runtime::Builder::new().procs(procs).build().unwrap();
        for _ in 0..3 {
            let start = Instant::now();
            rt.block_on(async {
                gpm::spawn(async {
                    let (ping, pong) = (gpm::chan::<u64>(0), gpm::chan::<u64>(0));
                    let (p, q) = (ping.clone(), pong.clone());
                    let echo = gpm::spawn(async move {
                        while let Some(v) = p.recv().await {
                            q.send(v + 1).await.unwrap();
                        }
                    });
                    let mut v = 0;
                    for _ in 0..100_000 {
                        ping.send(v).await.unwrap();
                        v = pong.recv().await.unwrap();
                    }
                    ping.close().unwrap();
                    echo.await.unwrap();
                })
                .await
            })
            .unwrap();
            println!("procs {procs}: 100 000 round trips in {:?}", start.elapsed());
        }
    }
}
