//! Go's `src/runtime/chan_test.go`, ported: its `select` tests, on 1, 2
//! and 4 Ps (from the bottom of what was `tests/select.rs`; gpm's own
//! `select!` tests are in `tests/channel/select.rs`).

use gpm::runtime::Runtime;

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn go_self_select() { super::go_self_select(rt()) }
            #[test] fn go_nonblock_recv_race() { super::go_nonblock_recv_race(rt()) }
            #[test] fn go_select_fairness() { super::go_select_fairness(rt()) }
            #[test] fn go_pseudo_random_send() { super::go_pseudo_random_send(rt()) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

// ----- Go's tests, ported (src/runtime/chan_test.go) -----------------------
//
// Originals: https://github.com/golang/go/blob/master/src/runtime/chan_test.go

/// Go's `TestSelfSelect`: a select with a send and a receive on the same
/// channel, from two goroutines, must neither deadlock nor receive its own
/// value on an unbuffered channel.
fn go_self_select(rt: Runtime) {
    rt.block_on(async {
        for cap in [0, 10] {
            let c = gpm::chan::<usize>(cap);
            let workers: Vec<_> = (0..2)
                .map(|p| {
                    let c = c.clone();
                    gpm::spawn(async move {
                        for i in 0..1000 {
                            let got = if p == 0 || i % 2 == 0 {
                                gpm::select! {
                                    send(c, p) -> res => { res.unwrap(); None }
                                    recv(c) -> v => v,
                                }
                            } else {
                                gpm::select! {
                                    recv(c) -> v => v,
                                    send(c, p) -> res => { res.unwrap(); None }
                                }
                            };
                            if cap == 0 {
                                assert_ne!(got, Some(p), "self receive");
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await.unwrap();
            }
        }
    });
}

/// Go's `TestNonblockRecvRace`: a non-blocking receive racing with
/// `close` on a channel holding a value must see the value or the close,
/// never "not ready".
fn go_nonblock_recv_race(rt: Runtime) {
    rt.block_on(async {
        for _ in 0..2000 {
            let c = gpm::chan::<u32>(1);
            c.send(1).await.unwrap();
            let r = c.clone();
            let racer = gpm::spawn(async move {
                gpm::select! {
                    recv(r) -> _ => true,
                    default => false,
                }
            });
            c.close().unwrap();
            let _ = c.recv().await;
            assert!(racer.await.unwrap(), "chan is not ready");
        }
    });
}

/// Go's [`TestSelectFairness`](https://github.com/golang/go/blob/master/src/runtime/chan_test.go):
/// a select over two never-ready and two always-ready channels must take
/// each ready one about half of the time: within 10 sigma (Go's bound) over
/// 10 000 trials.
fn go_select_fairness(rt: Runtime) {
    const TRIALS: usize = 10_000;
    rt.block_on(async {
        let (c1, c2) = (gpm::chan::<u8>(TRIALS + 1), gpm::chan::<u8>(TRIALS + 1));
        for _ in 0..TRIALS + 1 {
            c1.send(1).await.unwrap();
            c2.send(2).await.unwrap();
        }
        let (c3, c4) = (gpm::chan::<u8>(0), gpm::chan::<u8>(0));
        let (out, done) = (gpm::chan::<u8>(0), gpm::chan::<()>(0));
        let chooser = {
            let (out, done) = (out.sender(), done.receiver());
            gpm::spawn(async move {
                loop {
                    let b = gpm::select! {
                        recv(c3) -> b => b,
                        recv(c4) -> b => b,
                        recv(c1) -> b => b,
                        recv(c2) -> b => b,
                    };
                    gpm::select! {
                        send(out, b.unwrap()) -> res => res.unwrap(),
                        recv(done) -> _ => return,
                    }
                }
            })
        };
        let (mut cnt1, mut cnt2) = (0usize, 0usize);
        for _ in 0..TRIALS {
            match out.recv().await {
                Some(1) => cnt1 += 1,
                Some(2) => cnt2 += 1,
                other => panic!("unexpected value {other:?} on channel"),
            }
        }
        let mean = TRIALS as f64 * 0.5;
        let stddev = (TRIALS as f64 * 0.5 * 0.5).sqrt();
        assert!(
            (cnt1 as f64 - mean).abs() <= 10.0 * stddev,
            "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
        );
        done.close().unwrap();
        chooser.await.unwrap();
    });
}

/// Go's [`TestPseudoRandomSend`](https://github.com/golang/go/blob/master/src/runtime/chan_test.go):
/// `select { case c <- 1: case c <- 0: }` 100 times, to a receiver that
/// yields before each receive, on an unbuffered and a buffered channel:
/// each value must arrive more than 10 times (Go's bound; a fair coin
/// misses it with a chance of about 1e-17). On the unbuffered channel the
/// select mostly waits first, so this checks the order its cases queue in.
fn go_pseudo_random_send(rt: Runtime) {
    const N: usize = 100;
    rt.block_on(async {
        for cap in [0, N] {
            let c = gpm::chan::<usize>(cap);
            let r = c.receiver();
            let receiver = gpm::spawn(async move {
                let mut got = Vec::with_capacity(N);
                for _ in 0..N {
                    gpm::yield_now().await; // Go's runtime.Gosched()
                    got.push(r.recv().await.unwrap());
                }
                got
            });
            for _ in 0..N {
                gpm::select! {
                    send(c, 1) -> res => res.unwrap(),
                    send(c, 0) -> res => res.unwrap(),
                }
            }
            let got = receiver.await.unwrap();
            let ones: usize = got.iter().sum();
            let zeros = N - ones;
            assert!(
                zeros > N / 10 && ones > N / 10,
                "want pseudorandom, got {zeros} zeros and {ones} ones (chan cap {cap})"
            );
        }
    });
}
