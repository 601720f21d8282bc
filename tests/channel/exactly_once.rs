//! Every value sent is received exactly once, and a send reported as not
//! done was not done, when operations are cut short by `timeout` or lose a
//! `select!` to a timer (issue 11). Bounded stress: a few thousand
//! operations on 1, 2, 4 and 8 Ps, racing a receiver that takes its time.

use gpm::runtime::Builder;
use gpm::time::timeout;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const SENDS: u64 = 4_000;

/// A short busy wait, 0-63 µs, so that receives land at every point of
/// the senders' timeouts.
fn jitter(i: u64) {
    let wait = Duration::from_micros(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58);
    let start = Instant::now();
    while start.elapsed() < wait {
        std::hint::spin_loop();
    }
}

/// Sends `SENDS` values with `send` (which reports whether it sent), while
/// a goroutine receives everything; returns (reported sent, received).
fn race<F, Fut>(procs: usize, send: F) -> (Vec<u64>, Vec<u64>)
where
    F: Fn(gpm::Chan<u64>, u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let rt = Builder::new().procs(procs).build().unwrap();
    rt.block_on_send(async move {
        let ch = gpm::chan::<u64>(0);
        let rx = ch.clone();
        let receiver = gpm::spawn(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
                jitter(v);
            }
            got
        });
        let mut sent = Vec::new();
        for i in 0..SENDS {
            if send(ch.clone(), i).await {
                sent.push(i);
            }
        }
        ch.close().unwrap();
        (sent, receiver.await.unwrap())
    })
}

fn check(procs: usize, what: &str, (sent, received): (Vec<u64>, Vec<u64>)) {
    let unique: HashSet<u64> = received.iter().copied().collect();
    assert_eq!(
        unique.len(),
        received.len(),
        "procs={procs} {what}: a value was received twice"
    );
    let reported: HashSet<u64> = sent.iter().copied().collect();
    let delivered_anyway: Vec<u64> = unique.difference(&reported).copied().collect();
    assert!(
        delivered_anyway.is_empty(),
        "procs={procs} {what}: {} sends reported as timed out were received (first: {:?})",
        delivered_anyway.len(),
        &delivered_anyway[..delivered_anyway.len().min(5)]
    );
    let lost: Vec<u64> = reported.difference(&unique).copied().collect();
    assert!(
        lost.is_empty(),
        "procs={procs} {what}: {} sends reported done were never received",
        lost.len()
    );
}

#[test]
fn timeout_send_is_exact() {
    for procs in [1, 2, 4, 8] {
        let result = race(procs, |ch, i| async move {
            // The finished timeout is dropped a little later, as code that
            // keeps it in a struct or a `select` would: a send still queued
            // until its future is dropped could be taken in between.
            let mut send = std::pin::pin!(timeout(Duration::from_micros(20), ch.send(i)));
            let done = send.as_mut().await.is_ok();
            jitter(i ^ 0x55);
            done
        });
        check(procs, "timeout(send)", result);
    }
}

#[test]
fn select_send_against_a_timer_is_exact() {
    for procs in [1, 2, 4, 8] {
        let result = race(procs, |ch, i| async move {
            let deadline = gpm::time::after(Duration::from_micros(20));
            gpm::select! {
                send(ch, i) -> res => res.is_ok(),
                recv(deadline) -> _ => false,
            }
        });
        check(procs, "select(send, after)", result);
    }
}

/// The receiving side cut short: a value handed to a receive that timed
/// out goes back to the channel, so nothing is lost or doubled.
#[test]
fn timeout_recv_loses_nothing() {
    for procs in [1, 2, 4, 8] {
        let rt = Builder::new().procs(procs).build().unwrap();
        let got = rt.block_on_send(async move {
            let ch = gpm::chan::<u64>(0);
            let tx = ch.clone();
            gpm::go!(async move {
                for i in 0..SENDS {
                    tx.send(i).await.unwrap();
                    jitter(i);
                }
                tx.close().unwrap();
            });
            let mut got = Vec::new();
            loop {
                match timeout(Duration::from_micros(20), ch.recv()).await {
                    Ok(Some(v)) => got.push(v),
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
            got
        });
        assert_eq!(got, (0..SENDS).collect::<Vec<_>>(), "procs={procs}");
    }
}
