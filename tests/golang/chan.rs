//! Go's channel tests, from `test/chan/` in the Go tree, ported to gpm.
//!
//! Each test links to its original. They are the same programs with the
//! same checks, written in our own code, as crossbeam-channel's
//! `tests/golang.rs` does for its channels. The heavier ones run on 1, 2
//! and 4 Ps; the lighter ones on a default `#[gpm::test]` runtime.
//!
//! Where Go's version sleeps to let a goroutine get ready, ours waits for a
//! hand-shake instead: a goroutine listed as waiting in
//! `gpm::runtime::dump()` (its sudog is queued before its poll returns, so
//! that is a real synchronisation point), or a retry loop that yields and
//! gives up only after [`DEADLINE`]. Deadlines only turn hangs into
//! failures.
//!
//! Go panics where gpm returns an error: a send on a closed channel gives
//! the value back (`Err(SendError(v))`), and a receive on a closed channel
//! gives `None` (Go's zero value with `ok == false`). Go's nil channel is a
//! `None` case in `gpm::select!`.

use gpm::channel::{Receiver, SendError, Sender, TryRecvError, TrySendError};
use gpm::runtime::{Builder, UnhandledPanic};
use gpm::{Chan, JoinHandle};
use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            #[test] fn sieve1() { super::sieve1($procs) }
            #[test] fn goroutines() { super::goroutines($procs) }
            #[test] fn doubleselect() { super::doubleselect($procs) }
            #[test] fn nonblock() { super::nonblock($procs) }
            #[test] fn select6() { super::select6($procs) }
            #[test] fn select7() { super::select7($procs) }
            #[test] fn powser1() { super::powser::powser1($procs) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

/// How long any test may take before it fails (only hangs reach it).
const DEADLINE: Duration = Duration::from_secs(30);

/// How long an operation that must not block may take (only a blocked one
/// reaches it); shorter than [`DEADLINE`], so that it reports first.
const NEVER_BLOCKS: Duration = Duration::from_secs(10);

/// How long an operation that must block is watched once it waits.
const BLOCK_WINDOW: Duration = Duration::from_millis(20);

/// Runs `body` as main on a new runtime with `procs` Ps, under the
/// [`watchdog`]. A panic in any goroutine fails the test.
fn run<F: Future>(procs: usize, body: F) -> F::Output {
    let rt = Builder::new()
        .procs(procs)
        .unhandled_panic(UnhandledPanic::ShutdownRuntime)
        .build()
        .unwrap();
    rt.block_on(watchdog(body))
}

/// Runs `body`, failing (with a goroutine dump) if it takes longer than
/// [`DEADLINE`].
async fn watchdog<F: Future>(body: F) -> F::Output {
    match gpm::time::timeout(DEADLINE, body).await {
        Ok(out) => out,
        Err(_) => panic!("hung for {DEADLINE:?}; goroutines:\n{}", gpm::runtime::dump()),
    }
}

/// A bounded retry loop: each [`wait`](Patience::wait) yields the P, and
/// the test fails once [`DEADLINE`] has passed.
struct Patience {
    what: &'static str,
    tries: u64,
    deadline: Instant,
}

impl Patience {
    fn new(what: &'static str) -> Patience {
        Patience {
            what,
            tries: 0,
            deadline: Instant::now() + DEADLINE,
        }
    }

    async fn wait(&mut self) {
        self.tries += 1;
        assert!(
            Instant::now() < self.deadline,
            "gave up on {} after {} tries",
            self.what,
            self.tries
        );
        gpm::yield_now().await;
    }
}

/// The goroutine's state in the dump (`chan receive`, `select`,
/// `runnable`, ...), or `None` while it is not listed (gpm lists a goroutine
/// from its first wait, and not after it ends).
fn state_of<T>(g: &JoinHandle<T>) -> Option<String> {
    let dump = gpm::runtime::dump();
    let head = format!("goroutine {} [", g.id());
    let line = dump.lines().find(|line| line.starts_with(&head))?;
    Some(line[head.len()..].strip_suffix("]:")?.to_string())
}

/// Waits until the goroutine waits on something; returns Go's wait reason
/// (as the dump shows it). Fails if the goroutine ends instead.
async fn parked<T>(g: &JoinHandle<T>, what: &str) -> String {
    let mut patience = Patience::new("a goroutine to wait");
    loop {
        assert!(!g.is_finished(), "{what}: finished instead of waiting");
        if let Some(state) = state_of(g) {
            if state != "runnable" && state != "running" {
                return state;
            }
        }
        patience.wait().await;
    }
}

// ----- sieve1.go -----------------------------------------------------------

/// [sieve1.go](https://github.com/golang/go/blob/master/test/chan/sieve1.go):
/// the primes below 100 from a daisy chain of filter goroutines, one per
/// prime found, on unbuffered channels.
fn sieve1(procs: usize) {
    /// Sends 2, 3, 4, ... on `ch`.
    async fn generate(ch: Sender<u32>) {
        for i in 2.. {
            ch.send(i).await.unwrap();
        }
    }

    /// Copies `input` to `out`, leaving out the multiples of `prime`.
    async fn filter(input: Receiver<u32>, out: Sender<u32>, prime: u32) {
        while let Some(i) = input.recv().await {
            if i % prime != 0 {
                out.send(i).await.unwrap();
            }
        }
    }

    /// The sieve: a new filter after each prime.
    async fn sieve(primes: Sender<u32>) {
        let mut ch = gpm::chan::<u32>(0);
        gpm::go!(generate(ch.sender()));
        loop {
            // `ch` is a different channel on each round.
            let prime = ch.recv().await.unwrap();
            primes.send(prime).await.unwrap();
            let ch1 = gpm::chan(0);
            gpm::go!(filter(ch.receiver(), ch1.sender(), prime));
            ch = ch1;
        }
    }

    const PRIMES: [u32; 25] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    ];
    run(procs, async {
        let primes = gpm::chan::<u32>(0);
        gpm::go!(sieve(primes.sender()));
        for want in PRIMES {
            assert_eq!(primes.recv().await, Some(want));
        }
        // The chain is left blocked, as in Go; the runtime drops it.
    });
}

// ----- fifo.go -------------------------------------------------------------

/// Values per FIFO test (Go's `N`).
const FIFO_N: usize = 10;

/// [fifo.go](https://github.com/golang/go/blob/master/test/chan/fifo.go),
/// `AsynchFifo`: a buffered channel gives its values back in order.
#[gpm::test]
async fn fifo_asynch() {
    watchdog(async {
        let ch = gpm::chan::<usize>(FIFO_N);
        for i in 0..FIFO_N {
            ch.send(i).await.unwrap();
        }
        for i in 0..FIFO_N {
            assert_eq!(ch.recv().await, Some(i), "bad receive");
        }
    })
    .await;
}

/// [fifo.go](https://github.com/golang/go/blob/master/test/chan/fifo.go),
/// `SynchFifo`: a daisy chain of goroutines takes turns to receive one
/// value each from one unbuffered channel; each must get the next value.
#[gpm::test]
async fn fifo_synch() {
    /// Waits for its turn, checks its value, passes the turn on.
    async fn chain(ch: Receiver<usize>, val: usize, input: Receiver<u32>, out: Sender<u32>) {
        input.recv().await.unwrap();
        assert_eq!(ch.recv().await, Some(val));
        out.send(1).await.unwrap();
    }

    watchdog(async {
        let ch = gpm::chan::<usize>(0);
        let mut input = gpm::chan::<u32>(0);
        let start = input.clone();
        for i in 0..FIFO_N {
            let out = gpm::chan(0);
            gpm::go!(chain(ch.receiver(), i, input.receiver(), out.sender()));
            input = out;
        }
        start.send(0).await.unwrap();
        for i in 0..FIFO_N {
            ch.send(i).await.unwrap();
        }
        input.recv().await.unwrap();
    })
    .await;
}

// ----- goroutines.go -------------------------------------------------------

/// [goroutines.go](https://github.com/golang/go/blob/master/test/chan/goroutines.go):
/// 10 000 goroutines threaded together by unbuffered channels pass one
/// value from the rightmost to the leftmost, and all end cleanly.
fn goroutines(procs: usize) {
    const N: usize = 10_000;

    /// `left <- <-right`.
    async fn f(left: Sender<u32>, right: Receiver<u32>) {
        let v = right.recv().await.unwrap();
        left.send(v).await.unwrap();
    }

    run(procs, async {
        let leftmost = gpm::chan::<u32>(0);
        let mut left = leftmost.clone();
        for _ in 0..N {
            let right = gpm::chan(0);
            gpm::go!(f(left.sender(), right.receiver()));
            left = right;
        }
        let right = left;
        gpm::go!(async move { right.send(1).await.unwrap() });
        assert_eq!(leftmost.recv().await, Some(1));
        // Torn down cleanly: every goroutine but main ends.
        let mut patience = Patience::new("the chain's goroutines to end");
        while gpm::runtime::num_goroutine() > 1 {
            patience.wait().await;
        }
    });
}

// ----- doubleselect.go -----------------------------------------------------

/// [doubleselect.go](https://github.com/golang/go/blob/master/test/chan/doubleselect.go):
/// a sender selects over four unbuffered channels, 100 000 times; four
/// muxes forward what they get to one channel. If two cases of one select
/// both ran, a value would arrive twice. We also check that every value
/// arrives.
fn doubleselect(procs: usize) {
    const ITERATIONS: usize = 100_000;

    /// Sends 0..n, each on whichever channel takes it first.
    async fn sender(n: usize, c: [Chan<usize>; 4]) {
        for i in 0..n {
            gpm::select! {
                send(c[0], i) -> res => res.unwrap(),
                send(c[1], i) -> res => res.unwrap(),
                send(c[2], i) -> res => res.unwrap(),
                send(c[3], i) -> res => res.unwrap(),
            }
        }
        for ch in &c {
            ch.close().unwrap();
        }
    }

    /// Forwards `input` to `out` until `input` is closed.
    async fn mux(out: Sender<usize>, input: Receiver<usize>, done: Sender<()>) {
        while let Some(v) = input.recv().await {
            out.send(v).await.unwrap();
        }
        done.send(()).await.unwrap();
    }

    /// Checks for duplicates and, at the end, for missing values (with a
    /// bitmap where Go uses a map: the work per value stays small, so that
    /// 100 000 rounds take about a second in a debug build).
    async fn recver(input: Receiver<usize>, n: usize) {
        let mut seen = vec![false; n];
        let mut count = 0;
        while let Some(v) = input.recv().await {
            assert!(!seen[v], "got duplicate value: {v}");
            seen[v] = true;
            count += 1;
        }
        assert_eq!(count, n, "values were lost");
    }

    run(procs, async {
        let c: [Chan<usize>; 4] = std::array::from_fn(|_| gpm::chan(0));
        let cmux = gpm::chan::<usize>(0);
        let done = gpm::chan::<()>(0);
        gpm::go!(sender(ITERATIONS, c.clone()));
        for ch in &c {
            gpm::go!(mux(cmux.sender(), ch.receiver(), done.sender()));
        }
        let (done_rx, cmux_tx) = (done.receiver(), cmux.sender());
        gpm::go!(async move {
            for _ in 0..4 {
                done_rx.recv().await.unwrap();
            }
            cmux_tx.close().unwrap();
        });
        recver(cmux.receiver(), ITERATIONS).await;
    });
}

// ----- nonblock.go ---------------------------------------------------------

/// [nonblock.go](https://github.com/golang/go/blob/master/test/chan/nonblock.go):
/// non-blocking sends and receives (`select` with `default`) on unbuffered
/// and one-slot channels of several types. Go's version sleeps between
/// tries; ours yields and gives up only after [`DEADLINE`]. On a buffered
/// channel the first try must succeed: the buffer has room, or (after the
/// sender's hand-shake) a value. Go runs it once; we run 100 rounds.
fn nonblock(procs: usize) {
    const ROUNDS: usize = 100;
    run(procs, async {
        for _ in 0..ROUNDS {
            for buffer in 0..2 {
                nonblock_round::<i32>(buffer, 123, 234).await;
                nonblock_round::<i64>(buffer, 123456, 234567).await;
                nonblock_round::<bool>(buffer, true, true).await;
                nonblock_round::<String>(buffer, "hello".into(), "hello again".into()).await;
            }
        }
    });
}

/// One type and buffer size of [`nonblock`]: a receiver goroutine must
/// get `to_receiver`, and main must get `from_sender` from a sender
/// goroutine, both through non-blocking operations.
async fn nonblock_round<T>(buffer: usize, to_receiver: T, from_sender: T)
where
    T: Clone + PartialEq + Debug + Send + 'static,
{
    let c = gpm::chan::<T>(buffer);
    let sync = gpm::chan::<bool>(0);

    // Nothing to receive yet.
    gpm::select! {
        recv(c) -> _ => panic!("blocked sender (buffer {buffer})"),
        default => {}
    }

    // A receiver goroutine: the non-blocking send goes through once it
    // waits (unbuffered), or at once (buffered).
    let (rc, strobe, want) = (c.receiver(), sync.sender(), to_receiver.clone());
    gpm::go!(async move {
        assert_eq!(rc.recv().await, Some(want), "receiver value");
        strobe.send(true).await.unwrap();
    });
    let mut patience = Patience::new("the receiver");
    loop {
        gpm::select! {
            send(c, to_receiver.clone()) -> res => {
                res.unwrap();
                break;
            }
            default => patience.wait().await,
        }
    }
    if buffer > 0 {
        assert_eq!(patience.tries, 0, "a send to a buffer with room did not go through");
    }
    sync.recv().await.unwrap();

    // A sender goroutine: with a buffer, its hand-shake comes once the
    // value is in; without, only after we take the value.
    let (sc, strobe, value) = (c.sender(), sync.sender(), from_sender.clone());
    gpm::go!(async move {
        sc.send(value).await.unwrap();
        strobe.send(true).await.unwrap();
    });
    if buffer > 0 {
        sync.recv().await.unwrap();
    }
    let mut patience = Patience::new("the sender");
    let got = loop {
        gpm::select! {
            recv(c) -> v => break v,
            default => patience.wait().await,
        }
    };
    assert_eq!(got, Some(from_sender), "sender value (buffer {buffer})");
    if buffer > 0 {
        assert_eq!(patience.tries, 0, "a receive from a full buffer did not go through");
    } else {
        sync.recv().await.unwrap();
    }
}

// ----- select3.go ----------------------------------------------------------

/// Runs `f` in a goroutine and checks that it blocks: the goroutine must
/// come to wait (as the dump shows), and still not be done
/// [`BLOCK_WINDOW`] later (Go watches it for 0.1 s instead). Then it is
/// aborted (Go leaves it blocked).
async fn must_block<F: Future<Output = ()> + Send + 'static>(what: &str, f: F) {
    let g = gpm::spawn(f);
    let reason = parked(&g, what).await;
    gpm::time::sleep(BLOCK_WINDOW).await;
    assert!(
        !g.is_finished(),
        "{what}: did not block (it waited as [{reason}], then went on)"
    );
    g.abort();
    assert!(g.await.unwrap_err().is_cancelled());
}

/// Runs `f` in a goroutine and checks that it finishes without blocking
/// (within [`NEVER_BLOCKS`], which only a blocked `f` reaches).
async fn never_blocks<F: Future<Output = ()> + Send + 'static>(what: &str, f: F) {
    let handle = gpm::spawn(f);
    match gpm::time::timeout(NEVER_BLOCKS, handle).await {
        Ok(res) => res.unwrap(),
        Err(_) => panic!("{what}: blocked"),
    }
}

/// [select3.go](https://github.com/golang/go/blob/master/test/chan/select3.go):
/// what blocks and what does not, for plain operations and `select`, on
/// nil, closed, ready and non-ready channels.
///
/// gpm has no nil `Chan`; a nil channel is a `None` case, so Go's plain
/// `nilch <- 7` and `<-nilch` are one-case selects here (Go compiles a
/// one-case select to the plain operation, so they are the same thing).
#[gpm::test]
async fn select3() {
    const ASYNC: usize = 1; // asynchronous channels
    fn nil() -> Option<Chan<i32>> {
        None
    }
    watchdog(async {
        let closedch = gpm::chan::<i32>(0);
        closedch.close().unwrap();

        // Sending/receiving from a nil channel blocks.
        must_block("send on a nil channel", async {
            gpm::select! { send(nil(), 7) -> _ => unreachable!() }
        })
        .await;
        must_block("receive on a nil channel", async {
            gpm::select! { recv(nil()) -> _ => unreachable!() }
        })
        .await;

        // Sending/receiving from a nil channel inside a select is never
        // selected.
        gpm::select! {
            send(nil(), 7) -> _ => unreachable!(),
            default => {}
        }
        gpm::select! {
            recv(nil()) -> _ => unreachable!(),
            default => {}
        }

        // Sending to an async channel with free buffer space never blocks.
        never_blocks("send to a buffer with room", async {
            let ch = gpm::chan::<i32>(ASYNC);
            ch.send(7).await.unwrap();
        })
        .await;

        // Receiving from a closed channel never blocks.
        let c = closedch.clone();
        never_blocks("receive from a closed channel", async move {
            for _ in 0..10 {
                assert_eq!(
                    c.recv().await,
                    None,
                    "expected zero value when reading from closed channel"
                );
                assert_eq!(c.try_recv(), Err(TryRecvError::Closed));
            }
        })
        .await;

        // Sending to a closed channel panics in Go; gpm gives the value back.
        assert_eq!(closedch.send(7).await, Err(SendError(7)));

        // Receiving from a non-ready channel always blocks.
        must_block("receive from a non-ready channel", async {
            let ch = gpm::chan::<i32>(0);
            ch.recv().await;
        })
        .await;

        // Empty selects always block.
        must_block("empty select", async {
            gpm::select! {}
        })
        .await;

        // Selects with only nil channels always block.
        must_block("select on a nil receive", async {
            gpm::select! { recv(nil()) -> _ => unreachable!() }
        })
        .await;
        must_block("select on a nil send", async {
            gpm::select! { send(nil(), 7) -> _ => unreachable!() }
        })
        .await;
        must_block("select on a nil receive and a nil send", async {
            gpm::select! {
                recv(nil()) -> _ => unreachable!(),
                send(nil(), 7) -> _ => unreachable!(),
            }
        })
        .await;

        // Selects with non-ready non-nil channels always block.
        must_block("select on a non-ready channel", async {
            let ch = gpm::chan::<i32>(0);
            gpm::select! { recv(ch) -> _ => unreachable!() }
        })
        .await;

        // Selects with default cases don't block.
        never_blocks("select with only a default", async {
            gpm::select! { default => {} }
        })
        .await;
        never_blocks("select on a nil receive with a default", async {
            gpm::select! {
                recv(nil()) -> _ => unreachable!(),
                default => {}
            }
        })
        .await;
        never_blocks("select on a nil send with a default", async {
            gpm::select! {
                send(nil(), 7) -> _ => unreachable!(),
                default => {}
            }
        })
        .await;

        // Selects with ready channels don't block.
        never_blocks("select on a send to a buffer with room", async {
            let ch = gpm::chan::<i32>(ASYNC);
            gpm::select! {
                send(ch, 7) -> res => res.unwrap(),
                default => unreachable!(),
            }
        })
        .await;
        never_blocks("select on a receive from a full buffer", async {
            let ch = gpm::chan::<i32>(ASYNC);
            ch.send(7).await.unwrap();
            gpm::select! {
                recv(ch) -> v => assert_eq!(v, Some(7)),
                default => unreachable!(),
            }
        })
        .await;

        // Selects with closed channels behave like ordinary operations
        // (Go's three forms, `<-c`, `x := <-c` and `x, ok := <-c`, are one
        // form here).
        let c = closedch.clone();
        never_blocks("select on a closed channel", async move {
            gpm::select! { recv(c) -> v => assert_eq!(v, None) }
        })
        .await;
        let back = gpm::select! { send(closedch, 7) -> res => res };
        assert_eq!(back, Err(SendError(7)));

        // Select should not get confused if it sees itself.
        must_block("select on a send and a receive of one channel", async {
            let c = gpm::chan::<i32>(0);
            gpm::select! {
                send(c, 1) -> _ => unreachable!(),
                recv(c) -> _ => unreachable!(),
            }
        })
        .await;
    })
    .await;
}

// ----- select6.go ----------------------------------------------------------

/// [select6.go](https://github.com/golang/go/blob/master/test/chan/select6.go)
/// (Go issue 2075): a select that waited on `c1` behind another receiver,
/// and was then woken through `c2`, must leave `c1`'s queue intact, so
/// that later waiters on `c1` still wake up.
///
/// First with hand-shakes that make the order certain (the plain
/// receiver queued on `c1` before the select), then Go's program as it is,
/// many times, in whatever order the scheduler picks.
fn select6(procs: usize) {
    const ORDERED_ROUNDS: usize = 20;
    const FREE_ROUNDS: usize = 1_000;
    run(procs, async {
        for round in 0..ORDERED_ROUNDS + FREE_ROUNDS {
            let ordered = round < ORDERED_ROUNDS;
            let (c1, c2, c3) = (gpm::chan::<bool>(0), gpm::chan::<bool>(0), gpm::chan::<bool>(0));
            let r1 = c1.receiver();
            let first = gpm::spawn(async move {
                r1.recv().await.unwrap();
            });
            if ordered {
                assert_eq!(parked(&first, "the first receiver").await, "chan receive");
            }
            let (r1, r2, s3) = (c1.receiver(), c2.receiver(), c3.sender());
            let selector = gpm::spawn(async move {
                gpm::select! {
                    recv(r1) -> _ => panic!("dummy"),
                    recv(r2) -> _ => s3.send(true).await.unwrap(),
                }
                r1.recv().await.unwrap();
            });
            if ordered {
                assert_eq!(parked(&selector, "the select").await, "select");
            }
            let s2 = c2.sender();
            gpm::go!(async move { s2.send(true).await.unwrap() });
            c3.recv().await.unwrap();
            c1.send(true).await.unwrap();
            c1.send(true).await.unwrap();
            first.await.unwrap();
            selector.await.unwrap();
        }
    });
}

// ----- select7.go ----------------------------------------------------------

/// [select7.go](https://github.com/golang/go/blob/master/test/chan/select7.go):
/// a value sent by a plain send, a one-case select or a two-case select
/// must reach a receiver that discards it with a plain receive, a one-case
/// select or a two-case select: all nine pairs. Go runs each pair once; we
/// run each 100 times, and also wait for the receiver to end.
fn select7(procs: usize) {
    const ROUNDS: usize = 100;

    async fn recv1(c: Receiver<i32>) {
        c.recv().await;
    }

    async fn recv2(c: Receiver<i32>) {
        gpm::select! { recv(c) -> _ => {} }
    }

    async fn recv3(c: Receiver<i32>) {
        let c2 = gpm::chan::<i32>(0);
        gpm::select! {
            recv(c) -> _ => {}
            recv(c2) -> _ => {}
        }
    }

    async fn send<R, F>(how: usize, recv: R)
    where
        R: FnOnce(Receiver<i32>) -> F,
        F: Future<Output = ()> + Send + 'static,
    {
        let c = gpm::chan::<i32>(0);
        let receiver = gpm::spawn(recv(c.receiver()));
        gpm::yield_now().await; // Go's runtime.Gosched()
        match how {
            1 => c.send(1).await.unwrap(),
            2 => gpm::select! { send(c, 1) -> res => res.unwrap() },
            _ => {
                let c2 = gpm::chan::<i32>(0);
                gpm::select! {
                    send(c, 1) -> res => res.unwrap(),
                    send(c2, 1) -> _ => unreachable!("nobody receives on c2"),
                }
            }
        }
        receiver.await.unwrap();
    }

    run(procs, async {
        for _ in 0..ROUNDS {
            for how in 1..=3 {
                send(how, recv1).await;
                send(how, recv2).await;
                send(how, recv3).await;
            }
        }
    });
}

// ----- zerosize.go ---------------------------------------------------------

/// [zerosize.go](https://github.com/golang/go/blob/master/test/chan/zerosize.go):
/// channels of zero-size types (`[0]byte` and `struct{}` in Go). Go's test
/// only makes them; we also send, receive and close, and make one with a
/// huge buffer, which Go allows for zero-size elements (it needs no
/// memory).
#[gpm::test]
async fn zerosize() {
    watchdog(async {
        use_zero_size_channels([0u8; 0]).await;
        use_zero_size_channels(()).await;
    })
    .await;
}

async fn use_zero_size_channels<T>(v: T)
where
    T: Copy + PartialEq + Debug + Send + 'static,
{
    assert_eq!(std::mem::size_of::<T>(), 0);

    // make(chan T): a rendezvous.
    let ch = gpm::chan::<T>(0);
    assert_eq!((ch.len(), ch.cap()), (0, 0));
    assert!(ch.try_send(v).unwrap_err().is_full());
    let tx = ch.sender();
    let sender = gpm::spawn(async move {
        for _ in 0..3 {
            tx.send(v).await.unwrap();
        }
        tx.close().unwrap();
    });
    let mut got = 0;
    while let Some(x) = ch.recv().await {
        assert_eq!(x, v);
        got += 1;
    }
    assert_eq!(got, 3);
    sender.await.unwrap();
    assert!(matches!(ch.try_send(v), Err(TrySendError::Closed(_))));

    // make(chan T, 1).
    let ch = gpm::chan::<T>(1);
    ch.try_send(v).unwrap();
    assert!(ch.try_send(v).unwrap_err().is_full());
    assert_eq!((ch.len(), ch.cap()), (1, 1));
    assert_eq!(ch.try_recv(), Ok(v));
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));

    // A buffer as large as Go's int allows.
    const MANY: usize = 1_000;
    let huge = isize::MAX as usize;
    let ch = gpm::chan::<T>(huge);
    for _ in 0..MANY {
        ch.send(v).await.unwrap();
    }
    assert_eq!((ch.len(), ch.cap()), (MANY, huge));
    ch.close().unwrap();
    for _ in 0..MANY {
        assert_eq!(ch.recv().await, Some(v));
    }
    assert_eq!(ch.recv().await, None);
}

// ----- powser1.go ----------------------------------------------------------

/// [powser1.go](https://github.com/golang/go/blob/master/test/chan/powser1.go):
/// Doug McIlroy's power series on channels ("Squinting at Power Series").
/// A series is a demand channel: a consumer sends a request on `req` and
/// receives the next coefficient on `dat`. Every operator is a goroutine
/// (or a growing family of them), so a product or an exponential sets up a
/// large, changing network of goroutines talking over unbuffered channels
/// and selects with nil cases.
mod powser {
    use gpm::Chan;
    use std::future::Future;
    use std::pin::Pin;

    /// A rational number; a zero denominator marks the end of a series.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    struct Rat {
        num: i64,
        den: i64,
    }

    const ZERO: Rat = Rat { num: 0, den: 1 };
    const ONE: Rat = Rat { num: 1, den: 1 };
    /// The end mark: Go's `i2tor(1, 0)`, which is -1/0.
    const FINIS: Rat = Rat { num: -1, den: 0 };

    /// Go's `gcd`, signs and all (the checks compare exact numerators and
    /// denominators, so the arithmetic must be Go's to the letter).
    fn gcd(u: i64, v: i64) -> i64 {
        if u < 0 {
            return gcd(-u, v);
        }
        if u == 0 {
            return v;
        }
        gcd(v % u, u)
    }

    /// `u/v` in lowest terms, with a positive denominator.
    fn i2tor(u: i64, v: i64) -> Rat {
        let g = gcd(u, v);
        if v > 0 {
            Rat { num: u / g, den: v / g }
        } else {
            Rat {
                num: -u / g,
                den: -v / g,
            }
        }
    }

    fn itor(u: i64) -> Rat {
        i2tor(u, 1)
    }

    impl Rat {
        fn end(self) -> bool {
            self.den == 0
        }

        fn add(self, v: Rat) -> Rat {
            let g = gcd(self.den, v.den);
            i2tor(self.num * (v.den / g) + v.num * (self.den / g), self.den * (v.den / g))
        }

        fn mul(self, v: Rat) -> Rat {
            let g1 = gcd(self.num, v.den);
            let g2 = gcd(self.den, v.num);
            Rat {
                num: (self.num / g1) * (v.num / g2),
                den: (self.den / g2) * (v.den / g1),
            }
        }

        fn neg(self) -> Rat {
            i2tor(-self.num, self.den)
        }
    }

    /// A demand channel: a power series. Go sends a sequence number on
    /// `req` that nobody reads; `()` says the same.
    #[derive(Clone)]
    struct Ps {
        req: Chan<()>,
        dat: Chan<Rat>,
    }

    fn mkps() -> Ps {
        Ps {
            req: gpm::chan(0),
            dat: gpm::chan(0),
        }
    }

    fn mkps2() -> [Ps; 2] {
        [mkps(), mkps()]
    }

    /// Serves one demand on `out` with `dat`.
    async fn put(dat: Rat, out: &Ps) {
        out.req.recv().await.unwrap();
        out.dat.send(dat).await.unwrap();
    }

    /// The next coefficient of `input`.
    async fn get(input: &Ps) -> Rat {
        input.req.send(()).await.unwrap();
        input.dat.recv().await.unwrap()
    }

    /// The next coefficient of each of two series, demanded and received
    /// in whatever order they go (a select whose finished cases become
    /// nil).
    async fn get2(in0: &Ps, in1: &Ps) -> [Rat; 2] {
        let mut req = [Some(&in0.req), Some(&in1.req)];
        let mut dat: [Option<&Chan<Rat>>; 2] = [None, None];
        let mut out = [ZERO; 2];
        for _ in 0..4 {
            gpm::select! {
                send(req[0], ()) -> res => {
                    res.unwrap();
                    dat[0] = Some(&in0.dat);
                    req[0] = None;
                }
                send(req[1], ()) -> res => {
                    res.unwrap();
                    dat[1] = Some(&in1.dat);
                    req[1] = None;
                }
                recv(dat[0]) -> v => {
                    out[0] = v.unwrap();
                    dat[0] = None;
                }
                recv(dat[1]) -> v => {
                    out[1] = v.unwrap();
                    dat[1] = None;
                }
            }
        }
        out
    }

    /// Serves every demand on `out` from `input`; never returns.
    async fn copy(input: &Ps, out: &Ps) {
        loop {
            out.req.recv().await.unwrap();
            let v = get(input).await;
            out.dat.send(v).await.unwrap();
        }
    }

    /// c, c, c, ...
    fn rep(c: Rat) -> Ps {
        let z = mkps();
        let out = z.clone();
        gpm::go!(async move {
            loop {
                put(c, &out).await;
            }
        });
        z
    }

    /// One generation of a split: serves one coefficient of `input` to
    /// both outputs, and starts the next generation once it has read it.
    ///
    /// The newest generation serves `out[0]`, which it renames so; older
    /// ones hold data already sent on `out[0]` and still owed to `out[1]`;
    /// `wait` tells a generation that the one before it has paid `out[1]`.
    /// Go's generations share one `out` array, which the newest may swap;
    /// it does so only after the one before has finished and before it
    /// starts the next, so handing each generation its own copy is the
    /// same. Boxed, because it starts itself.
    fn dosplit(input: Ps, mut out: [Ps; 2], wait: Chan<()>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let mut both = false; // do not service both channels
            gpm::select! {
                recv(out[0].req) -> r => r.unwrap(),
                recv(wait) -> r => {
                    r.unwrap();
                    both = true;
                    gpm::select! {
                        recv(out[0].req) -> r => r.unwrap(),
                        recv(out[1].req) -> r => {
                            r.unwrap();
                            out.swap(0, 1);
                        }
                    }
                }
            }
            input.req.send(()).await.unwrap();
            let release = gpm::chan::<()>(0);
            gpm::go!(dosplit(input.clone(), out.clone(), release.clone()));
            let dat = input.dat.recv().await.unwrap();
            out[0].dat.send(dat).await.unwrap();
            if !both {
                wait.recv().await.unwrap();
            }
            out[1].req.recv().await.unwrap();
            out[1].dat.send(dat).await.unwrap();
            release.send(()).await.unwrap();
        })
    }

    /// Go's `split`: copies `input` onto the two series of `out`.
    async fn split(input: Ps, out: [Ps; 2]) {
        let release = gpm::chan::<()>(0);
        gpm::go!(dosplit(input, out, release.clone()));
        release.send(()).await.unwrap();
    }

    /// Go's `Split`: two series equal to `u`, read at their own pace.
    fn split2(u: Ps) -> [Ps; 2] {
        let uu = mkps2();
        gpm::go!(split(u, uu.clone()));
        uu
    }

    /// u + v.
    fn add(u: Ps, v: Ps) -> Ps {
        let z = mkps();
        let out = z.clone();
        gpm::go!(async move {
            loop {
                out.req.recv().await.unwrap();
                let [a, b] = get2(&u, &v).await;
                match (a.end(), b.end()) {
                    (false, false) => out.dat.send(a.add(b)).await.unwrap(),
                    (true, false) => {
                        out.dat.send(b).await.unwrap();
                        copy(&v, &out).await;
                    }
                    (false, true) => {
                        out.dat.send(a).await.unwrap();
                        copy(&u, &out).await;
                    }
                    (true, true) => out.dat.send(FINIS).await.unwrap(),
                }
            }
        });
        z
    }

    /// c * u.
    fn cmul(c: Rat, u: Ps) -> Ps {
        let z = mkps();
        let out = z.clone();
        gpm::go!(async move {
            loop {
                out.req.recv().await.unwrap();
                let v = get(&u).await;
                if v.end() {
                    break;
                }
                out.dat.send(c.mul(v)).await.unwrap();
            }
            out.dat.send(FINIS).await.unwrap();
        });
        z
    }

    /// u - v.
    fn sub(u: Ps, v: Ps) -> Ps {
        add(u, cmul(ONE.neg(), v))
    }

    /// u * v. With u = u0 + x*UU and v = v0 + x*VV,
    /// uv = u0*v0 + x*(u0*VV + v0*UU) + x*x*UU*VV.
    fn mul(u: Ps, v: Ps) -> Ps {
        let z = mkps();
        let out = z.clone();
        gpm::go!(async move {
            out.req.recv().await.unwrap();
            let [u0, v0] = get2(&u, &v).await;
            if u0.end() || v0.end() {
                out.dat.send(FINIS).await.unwrap();
                return;
            }
            out.dat.send(u0.mul(v0)).await.unwrap();
            let uu = split2(u);
            let vv = split2(v);
            let w = add(cmul(u0, vv[0].clone()), cmul(v0, uu[0].clone()));
            out.req.recv().await.unwrap();
            out.dat.send(get(&w).await).await.unwrap();
            let rest = add(w, mul(uu[1].clone(), vv[1].clone()));
            copy(&rest, &out).await;
        });
        z
    }

    /// du/dx.
    fn diff(u: Ps) -> Ps {
        let z = mkps();
        let out = z.clone();
        gpm::go!(async move {
            out.req.recv().await.unwrap();
            if !get(&u).await.end() {
                for i in 1.. {
                    let v = get(&u).await;
                    if v.end() {
                        break;
                    }
                    out.dat.send(itor(i).mul(v)).await.unwrap();
                    out.req.recv().await.unwrap();
                }
            }
            out.dat.send(FINIS).await.unwrap();
        });
        z
    }

    /// The integral of u, with constant of integration c.
    fn integ(c: Rat, u: Ps) -> Ps {
        let z = mkps();
        let out = z.clone();
        gpm::go!(async move {
            put(c, &out).await;
            for i in 1.. {
                out.req.recv().await.unwrap();
                let v = get(&u).await;
                out.dat.send(i2tor(1, i).mul(v)).await.unwrap();
                if v.end() {
                    break;
                }
            }
            out.dat.send(FINIS).await.unwrap();
        });
        z
    }

    /// exp(u) for u with constant term 0 (Go's bug: the constant term is
    /// ignored): z = exp(u) solves dz = z*du; integrate to get z.
    async fn exp(u: Ps) -> Ps {
        let zz = mkps2();
        split(integ(ONE, mul(zz[0].clone(), diff(u))), zz.clone()).await;
        zz[1].clone()
    }

    /// u(c0 * x^n): each u_i times c0^i, followed by n - 1 zeros.
    fn mon_subst(u: Ps, c0: Rat, n: usize) -> Ps {
        let z = mkps();
        let out = z.clone();
        gpm::go!(async move {
            let mut c = ONE;
            loop {
                out.req.recv().await.unwrap();
                let v = get(&u).await;
                out.dat.send(v.mul(c)).await.unwrap();
                c = c.mul(c0);
                if v.end() {
                    out.dat.send(FINIS).await.unwrap();
                    break;
                }
                for _ in 1..n {
                    out.req.recv().await.unwrap();
                    out.dat.send(ZERO).await.unwrap();
                }
            }
        });
        z
    }

    /// Reads `count` coefficients of `u`, each must be `c`.
    async fn check(u: &Ps, c: Rat, count: usize, what: &str) {
        for i in 0..count {
            assert_eq!(get(u).await, c, "{what}: term {i}");
        }
    }

    /// Reads `a.len()` coefficients of `u`, which must be `a`.
    async fn checka(u: &Ps, a: &[Rat], what: &str) {
        for (i, &want) in a.iter().enumerate() {
            assert_eq!(get(u).await, want, "{what}: term {i}");
        }
    }

    /// Go's `N`: terms checked per series.
    const N: i64 = 10;

    /// Go's `main`, test half. Go reads no term of `Add(Ones, Ones)`,
    /// `Add(Ones, Twos)` and `Sub(Ones, Twos)` (its count is 0); we read 5.
    pub(super) fn powser1(procs: usize) {
        super::run(procs, async {
            let ones = rep(ONE);
            let twos = rep(itor(2));
            check(&ones, ONE, 5, "Ones").await;
            check(&add(ones.clone(), ones.clone()), itor(2), 5, "Add Ones Ones").await;
            check(&add(ones.clone(), twos.clone()), itor(3), 5, "Add Ones Twos").await;

            let a: Vec<Rat> = (1..=N).map(itor).collect();
            checka(&diff(ones.clone()), &a, "Diff").await; // 1 2 3 4 5

            let a: Vec<Rat> = (0..N).map(|i| if i == 0 { ZERO } else { i2tor(1, i) }).collect();
            checka(&integ(ZERO, ones.clone()), &a, "Integ").await; // 0 1 1/2 1/3 1/4 1/5

            check(&cmul(ONE.neg(), twos.clone()), itor(-2), 10, "CMul").await; // -2 -2 -2 -2 -2
            check(&sub(ones.clone(), twos.clone()), itor(-1), 5, "Sub Ones Twos").await; // -1 -1 -1 -1 -1

            let a: Vec<Rat> = (1..=N).map(itor).collect();
            checka(&mul(ones.clone(), ones.clone()), &a, "Mul").await; // 1 2 3 4 5

            let a = [
                itor(1),
                itor(1),
                i2tor(3, 2),
                i2tor(13, 6),
                i2tor(73, 24),
                i2tor(167, 40),
                i2tor(4051, 720),
                i2tor(37633, 5040),
                i2tor(43817, 4480),
                i2tor(4596553, 362880),
            ];
            checka(&exp(ones.clone()).await, &a, "Exp").await; // 1 1 3/2 13/6 73/24

            let mut sign = 1;
            let a: Vec<Rat> = (0..N)
                .map(|i| {
                    if i % 2 == 0 {
                        ZERO
                    } else {
                        let r = i2tor(sign, i);
                        sign = -sign;
                        r
                    }
                })
                .collect();
            let atan = integ(ZERO, mon_subst(ones.clone(), ONE.neg(), 2));
            checka(&atan, &a, "ATan").await; // 0 1 0 -1/3 0 1/5
        });
    }
}
