//! `gpm::select!`: Go's select rules on 1, 2 and 4 Ps. (Go's own select
//! tests from `src/runtime/chan_test.go` are ported in
//! `tests/golang/runtime_chan.rs`.)

use gpm::channel::SendError;
use gpm::runtime::Runtime;
use gpm::Chan;
use std::cell::Cell;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn exactly_one_ready_case_commits() { super::exactly_one_ready_case_commits(rt()) }
            #[test] fn ready_cases_fire_fairly() { super::ready_cases_fire_fairly(rt()) }
            #[test] fn nil_case_never_fires() { super::nil_case_never_fires(rt()) }
            #[test] fn default_runs_only_when_nothing_is_ready() { super::default_runs_only_when_nothing_is_ready(rt()) }
            #[test] fn send_cases() { super::send_cases(rt()) }
            #[test] fn expressions_are_evaluated_once() { super::expressions_are_evaluated_once(rt()) }
            #[test] fn control_flow_in_bodies() { super::control_flow_in_bodies(rt()) }
            #[test] fn closed_channels_fire() { super::closed_channels_fire(rt()) }
            #[test] fn waiting_select_is_woken_by_one_channel() { super::waiting_select_is_woken_by_one_channel(rt()) }
            #[test] fn waiting_send_case_is_taken_by_a_receiver() { super::waiting_send_case_is_taken_by_a_receiver(rt()) }
            #[test] fn same_channel_in_two_cases() { super::same_channel_in_two_cases(rt()) }
            #[test] fn waiting_cases_on_one_channel_fire_fairly() { super::waiting_cases_on_one_channel_fire_fairly(rt()) }
            #[test] fn dropped_select_gives_its_value_back() { super::dropped_select_gives_its_value_back(rt()) }
            #[test] fn empty_select_waits_forever() { super::empty_select_waits_forever(rt()) }
            #[test] fn select_stress() { super::select_stress(rt()) }
            #[test] fn cancelled_selects_lose_nothing() { super::cancelled_selects_lose_nothing(rt()) }
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

/// Waits until `n` spawned goroutines are parked with `reason`.
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

fn exactly_one_ready_case_commits(rt: Runtime) {
    rt.block_on(async {
        for _ in 0..100 {
            let (a, b) = (gpm::chan::<u32>(1), gpm::chan::<u32>(1));
            a.send(1).await.unwrap();
            b.send(2).await.unwrap();
            let out = gpm::chan::<u32>(1);
            let fired = gpm::select! {
                recv(a) -> v => v.unwrap(),
                recv(b) -> v => v.unwrap(),
                send(out, 3) -> res => { res.unwrap(); 3 }
            };
            // The cases that did not fire left their channels alone.
            let lens = (a.len(), b.len(), out.len());
            match fired {
                1 => assert_eq!(lens, (0, 1, 0)),
                2 => assert_eq!(lens, (1, 0, 0)),
                3 => assert_eq!(lens, (1, 1, 1)),
                other => panic!("unexpected {other}"),
            }
        }
    });
}

fn ready_cases_fire_fairly(rt: Runtime) {
    const N: usize = 10_000;
    rt.block_on(async {
        let (a, b) = (gpm::chan::<()>(1), gpm::chan::<()>(1));
        let (mut from_a, mut from_b) = (0, 0);
        for _ in 0..N {
            a.try_send(()).ok();
            b.try_send(()).ok();
            gpm::select! {
                recv(a) -> _ => from_a += 1,
                recv(b) -> _ => from_b += 1,
            }
        }
        assert_eq!(from_a + from_b, N);
        // Go's test (TestSelectFairness) allows a wide margin too.
        assert!(from_a > N / 3 && from_b > N / 3, "unfair: a {from_a}, b {from_b}");
    });
}

fn nil_case_never_fires(rt: Runtime) {
    rt.block_on(async {
        let ready = gpm::chan::<u32>(1);
        let nil: Option<&Chan<u32>> = None;
        let nil_rx: Option<gpm::channel::Receiver<u32>> = None;
        for i in 0..100 {
            ready.send(i).await.unwrap();
            gpm::select! {
                recv(nil) -> _ => panic!("a nil receive fired"),
                send(nil, 5) -> _ => panic!("a nil send fired"),
                recv(nil_rx) -> _ => panic!("a nil receiver fired"),
                recv(ready) -> v => assert_eq!(v, Some(i)),
            }
        }
        // Only nil cases, with a default: the default.
        let hit = gpm::select! {
            recv(nil) -> _ => false,
            default => true,
        };
        assert!(hit);
        // A channel that is sometimes nil (Go's idiom to disable a case).
        let ch = gpm::chan::<u32>(1);
        ch.send(9).await.unwrap();
        let mut maybe = None;
        for round in 0..2 {
            let got = gpm::select! {
                recv(maybe) -> v => v,
                default => None,
            };
            if round == 0 {
                assert_eq!(got, None);
                maybe = Some(&ch);
            } else {
                assert_eq!(got, Some(9));
            }
        }
    });
}

fn default_runs_only_when_nothing_is_ready(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(1);
        let took_default = gpm::select! {
            recv(ch) -> _ => false,
            default => true,
        };
        assert!(took_default);
        ch.send(1).await.unwrap();
        let took_default = gpm::select! {
            recv(ch) -> v => { assert_eq!(v, Some(1)); false }
            default => true,
        };
        assert!(!took_default);
        // A full channel: the send case cannot go, default runs, the value
        // was evaluated but not sent.
        ch.send(2).await.unwrap();
        let took_default = gpm::select! {
            send(ch, 3) -> _ => false,
            default => true,
        };
        assert!(took_default);
        assert_eq!(ch.recv().await, Some(2));
        assert!(ch.is_empty());
        // Only a default.
        let v = gpm::select! { default => 42 };
        assert_eq!(v, 42);
    });
}

fn send_cases(rt: Runtime) {
    rt.block_on(async {
        // Buffer room.
        let ch = gpm::chan::<String>(1);
        gpm::select! {
            send(ch, "a".to_string()) -> res => assert!(res.is_ok()),
        }
        assert_eq!(ch.recv().await.as_deref(), Some("a"));
        // A waiting receiver on an unbuffered channel.
        let ch = gpm::chan::<u32>(0);
        let rx = ch.clone();
        let receiver = gpm::spawn(async move { rx.recv().await });
        parked("chan receive", 1).await;
        gpm::select! {
            send(ch.sender(), 5) -> res => res.unwrap(),
        }
        assert_eq!(receiver.await.unwrap(), Some(5));
        // A closed channel: the value comes back.
        ch.close().unwrap();
        let tx = ch.sender();
        let back = gpm::select! {
            send(&tx, 6) -> res => res,
        };
        assert_eq!(back, Err(SendError(6)));
    });
}

fn expressions_are_evaluated_once(rt: Runtime) {
    rt.block_on(async {
        let order = std::cell::RefCell::new(Vec::new());
        let (a, b) = (gpm::chan::<u32>(1), gpm::chan::<u32>(1));
        b.send(1).await.unwrap();
        let chan_of = |name: &'static str, ch: &Chan<u32>| {
            order.borrow_mut().push(name);
            ch.clone()
        };
        let value_of = |name: &'static str, v: u32| {
            order.borrow_mut().push(name);
            v
        };
        let calls = Cell::new(0);
        let v = gpm::select! {
            recv(chan_of("a", &a)) -> v => v,
            send(chan_of("full b", &b), value_of("value", 7)) -> _ => None,
            recv({ calls.set(calls.get() + 1); None::<&Chan<u32>> }) -> _ => None,
            default => Some(0),
        };
        // Nothing to receive on `a`, `b` is full: default. Every
        // expression was evaluated once, in the order written.
        assert_eq!(v, Some(0));
        assert_eq!(*order.borrow(), ["a", "full b", "value"]);
        assert_eq!(calls.get(), 1);
    });
}

async fn first_even(ch: &Chan<u32>) -> Result<u32, String> {
    loop {
        gpm::select! {
            recv(ch) -> v => {
                let v = v.ok_or_else(|| "closed".to_string())?;
                if v % 2 == 1 {
                    continue;
                }
                return Ok(v);
            }
        }
    }
}

fn control_flow_in_bodies(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(8);
        for v in [1, 3, 4, 5] {
            ch.send(v).await.unwrap();
        }
        // `continue` and `return` act on the loop and the function.
        assert_eq!(first_even(&ch).await, Ok(4));
        // `?` leaves the function.
        ch.close().unwrap();
        assert_eq!(ch.recv().await, Some(5));
        assert_eq!(first_even(&ch).await, Err("closed".to_string()));
        // `break` with a value, from a labelled loop.
        let ch = gpm::chan::<u32>(4);
        for v in 0..4 {
            ch.send(v).await.unwrap();
        }
        let mut seen = 0;
        let last = 'outer: loop {
            gpm::select! {
                recv(ch) -> v => {
                    seen += 1;
                    if v == Some(2) {
                        break 'outer v;
                    }
                }
            }
        };
        assert_eq!((last, seen), (Some(2), 3));
        // Bodies may use (even drop) the channels they selected on.
        let owned = gpm::chan::<u32>(1);
        owned.send(1).await.unwrap();
        gpm::select! {
            recv(owned) -> v => {
                assert_eq!(v, Some(1));
                drop(owned);
            }
        }
    });
}

fn closed_channels_fire(rt: Runtime) {
    rt.block_on(async {
        let never = gpm::chan::<u32>(0);
        let closed = gpm::chan::<u32>(2);
        closed.send(1).await.unwrap();
        closed.close().unwrap();
        let mut got = Vec::new();
        for _ in 0..3 {
            gpm::select! {
                recv(never) -> _ => panic!("nothing was sent"),
                recv(closed) -> v => got.push(v),
            }
        }
        // Drained first, then `None` each time.
        assert_eq!(got, [Some(1), None, None]);
        // A waiting select is woken by close.
        let ch = gpm::chan::<u32>(0);
        let c = ch.clone();
        let never2 = never.clone();
        let waiter = gpm::spawn(async move {
            gpm::select! {
                recv(never2) -> _ => "never",
                recv(c) -> v => if v.is_none() { "closed" } else { "value" },
            }
        });
        parked("select", 1).await;
        ch.close().unwrap();
        assert_eq!(waiter.await.unwrap(), "closed");
    });
}

fn waiting_select_is_woken_by_one_channel(rt: Runtime) {
    rt.block_on(async {
        for which in 0..2 {
            let (a, b) = (gpm::chan::<u32>(0), gpm::chan::<u32>(0));
            let (ra, rb) = (a.receiver(), b.receiver());
            let waiter = gpm::spawn(async move {
                gpm::select! {
                    recv(ra) -> v => (0, v),
                    recv(rb) -> v => (1, v),
                }
            });
            parked("select", 1).await;
            let (winner, loser) = if which == 0 { (&a, &b) } else { (&b, &a) };
            winner.send(10).await.unwrap();
            assert_eq!(waiter.await.unwrap(), (which, Some(10)));
            // The other case's sudog is gone: nobody receives there now.
            assert!(loser.try_send(1).unwrap_err().is_full());
            assert!(winner.try_send(1).unwrap_err().is_full());
        }
    });
}

fn waiting_send_case_is_taken_by_a_receiver(rt: Runtime) {
    rt.block_on(async {
        let (out, never) = (gpm::chan::<u32>(0), gpm::chan::<u32>(0));
        let (o, n) = (out.clone(), never.clone());
        let waiter = gpm::spawn(async move {
            gpm::select! {
                send(o, 99) -> res => { res.unwrap(); "sent" }
                recv(n) -> _ => "received",
            }
        });
        parked("select", 1).await;
        assert_eq!(out.recv().await, Some(99));
        assert_eq!(waiter.await.unwrap(), "sent");
        assert!(never.try_send(1).unwrap_err().is_full());
    });
}

fn same_channel_in_two_cases(rt: Runtime) {
    rt.block_on(async {
        let ch = gpm::chan::<u32>(0);
        let c = ch.clone();
        let waiter = gpm::spawn(async move {
            gpm::select! {
                recv(c) -> v => ("recv", v),
                send(c, 1) -> _ => ("send", None),
            }
        });
        parked("select", 1).await;
        ch.send(5).await.unwrap();
        assert_eq!(waiter.await.unwrap(), ("recv", Some(5)));
        // Its send case is gone too.
        assert_eq!(ch.try_recv(), Err(gpm::channel::TryRecvError::Empty));
    });
}

/// Trials per check in [`waiting_cases_on_one_channel_fire_fairly`].
const ONE_CHANNEL_TRIALS: usize = 200;

/// Fails unless each of two cases won at least a quarter of `trials`. A fair
/// coin falls that far short (7 sigma at 200 trials) with a chance of about
/// 1e-12, so only a bias fails it.
fn assert_fair(what: &str, wins: [usize; 2], trials: usize) {
    assert!(
        wins.iter().all(|&w| w >= trials / 4),
        "{what}: unfair, the cases won {wins:?} of {trials}"
    );
}

/// A select waiting on several cases of one channel, woken by a counterpart
/// that came later, fires each of them about as often (Go queues the cases
/// in the random poll order, so the first in the queue is any of them).
fn waiting_cases_on_one_channel_fire_fairly(rt: Runtime) {
    rt.block_on(async {
        // Two receives, then a sender.
        let mut wins = [0; 2];
        for _ in 0..ONE_CHANNEL_TRIALS {
            let ch = gpm::chan::<u32>(0);
            let c = ch.clone();
            let waiter = gpm::spawn(async move {
                gpm::select! {
                    recv(c) -> _ => 0,
                    recv(c) -> _ => 1,
                }
            });
            parked("select", 1).await;
            ch.send(7).await.unwrap();
            wins[waiter.await.unwrap()] += 1;
        }
        assert_fair("two receives on one channel", wins, ONE_CHANNEL_TRIALS);

        // Two sends, then a receiver.
        let mut wins = [0; 2];
        for _ in 0..ONE_CHANNEL_TRIALS {
            let ch = gpm::chan::<usize>(0);
            let c = ch.clone();
            let waiter = gpm::spawn(async move {
                gpm::select! {
                    send(c, 0) -> res => res.unwrap(),
                    send(c, 1) -> res => res.unwrap(),
                }
            });
            parked("select", 1).await;
            wins[ch.recv().await.unwrap()] += 1;
            waiter.await.unwrap();
        }
        assert_fair("two sends on one channel", wins, ONE_CHANNEL_TRIALS);

        // Two channels with two cases each, interleaved in the source: the
        // channel that fires shares its wins between its own two cases.
        let mut wins = [0; 4];
        for _ in 0..ONE_CHANNEL_TRIALS {
            let (a, b) = (gpm::chan::<u32>(0), gpm::chan::<u32>(0));
            let (ra, rb) = (a.receiver(), b.receiver());
            let waiter = gpm::spawn(async move {
                gpm::select! {
                    recv(ra) -> _ => 0,
                    recv(rb) -> _ => 1,
                    recv(ra) -> _ => 2,
                    recv(rb) -> _ => 3,
                }
            });
            parked("select", 1).await;
            b.send(7).await.unwrap();
            wins[waiter.await.unwrap()] += 1;
        }
        assert_eq!(wins[0] + wins[2], 0, "a case on the silent channel fired");
        assert_fair(
            "two cases on each of two channels",
            [wins[1], wins[3]],
            ONE_CHANNEL_TRIALS,
        );
    });
}

fn dropped_select_gives_its_value_back(rt: Runtime) {
    rt.block_on(async {
        let (a, b) = (gpm::chan::<u32>(0), gpm::chan::<u32>(0));
        {
            let mut fut = pin!(async {
                gpm::select! {
                    recv(a) -> v => v,
                    recv(b) -> v => v,
                }
            });
            assert!(futures::poll!(fut.as_mut()).is_pending());
            // The select waits on both: this hands the value straight to it.
            b.try_send(3).unwrap();
            // Dropped before it could return the value.
        }
        assert_eq!(b.try_recv(), Ok(3));
        assert!(
            a.try_send(1).unwrap_err().is_full(),
            "the select's sudog on `a` is gone"
        );
    });
}

fn empty_select_waits_forever(rt: Runtime) {
    // A watchdog turns a hang of this test into a failure.
    let (done, watch) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || watch.recv_timeout(DEADLINE).is_ok());
    rt.block_on(async {
        let reached = Arc::new(AtomicUsize::new(0));
        let r = reached.clone();
        let forever = gpm::spawn(async move {
            r.fetch_add(1, SeqCst);
            #[allow(unreachable_code)]
            {
                gpm::select! {};
                r.fetch_add(1, SeqCst);
            }
        });
        parked("select (no cases)", 1).await;
        assert_eq!(reached.load(SeqCst), 1);
        assert!(!forever.is_finished());
        // Other goroutines go on around it.
        let ch = gpm::chan::<u32>(0);
        let c = ch.clone();
        gpm::go!(async move { c.send(1).await.unwrap() });
        assert_eq!(ch.recv().await, Some(1));
        assert!(!forever.is_finished());
        forever.abort();
        assert!(forever.await.unwrap_err().is_cancelled());
        assert_eq!(reached.load(SeqCst), 1);
    });
    done.send(()).unwrap();
    assert!(watchdog.join().unwrap(), "the test hung");
}

fn select_stress(rt: Runtime) {
    const PER_PRODUCER: usize = 5_000;
    const PRODUCERS: usize = 4;
    rt.block_on(async {
        let (a, b) = (gpm::chan::<usize>(0), gpm::chan::<usize>(1));
        let done = gpm::chan::<()>(0);
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (a, b, done) = (a.receiver(), b.receiver(), done.receiver());
                gpm::spawn(async move {
                    let (mut n, mut sum) = (0usize, 0usize);
                    loop {
                        gpm::select! {
                            recv(a) -> v => { n += 1; sum += v.unwrap(); }
                            recv(b) -> v => { n += 1; sum += v.unwrap(); }
                            recv(done) -> _ => return (n, sum),
                        }
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (a, b) = (a.sender(), b.sender());
                gpm::spawn(async move {
                    for i in 0..PER_PRODUCER {
                        let v = p * PER_PRODUCER + i;
                        // Either channel, whichever takes it first.
                        gpm::select! {
                            send(a, v) -> res => res.unwrap(),
                            send(b, v) -> res => res.unwrap(),
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        done.close().unwrap();
        let (mut n, mut sum) = (0, 0);
        for c in consumers {
            let (cn, cs) = c.await.unwrap();
            n += cn;
            sum += cs;
        }
        // `done` may win over a buffered value of `b`: count what is left.
        while let Ok(v) = b.try_recv() {
            n += 1;
            sum += v;
        }
        let total = PRODUCERS * PER_PRODUCER;
        assert_eq!(n, total);
        assert_eq!(sum, total * (total - 1) / 2);
    });
}

fn cancelled_selects_lose_nothing(rt: Runtime) {
    const N: usize = 20_000;
    rt.block_on(async {
        let (a, b) = (gpm::chan::<usize>(0), gpm::chan::<usize>(1));
        let received = Arc::new(AtomicUsize::new(0));
        let sum = Arc::new(AtomicUsize::new(0));
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (a, b, received, sum) = (a.clone(), b.clone(), received.clone(), sum.clone());
                gpm::spawn(async move {
                    let mut open = (true, true);
                    while open.0 || open.1 {
                        // Poll the select once; if it would wait, yield and
                        // drop it: a sender may hand it a value in between.
                        let (ra, rb) = (open.0.then_some(&a), open.1.then_some(&b));
                        let mut select = Box::pin(async {
                            gpm::select! {
                                recv(ra) -> v => (0, v),
                                recv(rb) -> v => (1, v),
                            }
                        });
                        let (case, got) = match futures::poll!(select.as_mut()) {
                            std::task::Poll::Ready(out) => out,
                            std::task::Poll::Pending => {
                                gpm::yield_now().await;
                                continue;
                            }
                        };
                        match got {
                            Some(v) => {
                                sum.fetch_add(v, SeqCst);
                                received.fetch_add(1, SeqCst);
                            }
                            None if case == 0 => open.0 = false,
                            None => open.1 = false,
                        }
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let (a, b) = (a.clone(), b.clone());
                gpm::spawn(async move {
                    for v in (p..N).step_by(4) {
                        if v % 2 == 0 {
                            a.send(v).await.unwrap();
                        } else {
                            b.send(v).await.unwrap();
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.await.unwrap();
        }
        a.close().unwrap();
        b.close().unwrap();
        for c in consumers {
            c.await.unwrap();
        }
        assert_eq!(received.load(SeqCst), N);
        assert_eq!(sum.load(SeqCst), N * (N - 1) / 2);
    });
}
