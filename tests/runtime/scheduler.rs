//! Behaviour of the scheduler, run on three runtime shapes: 1, 2 and 4 Ps.

use futures::channel::oneshot;
use gpm::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};

macro_rules! suite {
    ($($name:ident: $procs:expr,)*) => {$(
        mod $name {
            fn rt() -> gpm::runtime::Runtime {
                gpm::runtime::Builder::new().procs($procs).build().unwrap()
            }
            #[test] fn a_million_goroutines_complete() { super::a_million_goroutines_complete(rt()) }
            #[test] fn spawn_chain_100k_deep() { super::spawn_chain_100k_deep(rt()) }
            #[test] fn wakes_from_std_threads() { super::wakes_from_std_threads(rt()) }
            #[test] fn spawn_from_std_threads() { super::spawn_from_std_threads(rt()) }
            #[test] fn shutdown_drops_every_pending_goroutine() { super::shutdown_drops_every_pending_goroutine(rt()) }
            #[test] fn join_handle_results() { super::join_handle_results(rt()) }
            #[test] fn abort_cancels() { super::abort_cancels(rt()) }
            #[test] fn yield_now_lets_others_run() { super::yield_now_lets_others_run(rt()) }
            #[test] fn go_macro_runs_detached() { super::go_macro_runs_detached(rt()) }
            #[test] fn num_goroutine_counts_live_gs() { super::num_goroutine_counts_live_gs(rt()) }
            #[test] fn ping_pong_with_main() { super::ping_pong_with_main(rt()) }
            #[test] fn block_on_again_after_block_on() { super::block_on_again_after_block_on(rt()) }
        }
    )*};
}

suite! {
    procs_1: 1,
    procs_2: 2,
    procs_4: 4,
}

fn a_million_goroutines_complete(rt: Runtime) {
    const N: usize = 1_000_000;
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        let (tx, rx) = oneshot::channel();
        let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
        for _ in 0..N {
            let (d, tx) = (d.clone(), tx.clone());
            gpm::go!(async move {
                if d.fetch_add(1, SeqCst) + 1 == N {
                    tx.lock().unwrap().take().unwrap().send(()).unwrap();
                }
            });
        }
        rx.await.unwrap();
    });
    assert_eq!(done.load(SeqCst), N);
}

fn spawn_chain_100k_deep(rt: Runtime) {
    const DEPTH: usize = 100_000;
    fn link(left: usize, tx: oneshot::Sender<usize>) {
        if left == 0 {
            tx.send(DEPTH).unwrap();
        } else {
            gpm::go!(async move { link(left - 1, tx) });
        }
    }
    let depth = rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        gpm::go!(async move { link(DEPTH, tx) });
        rx.await.unwrap()
    });
    assert_eq!(depth, DEPTH);
}

fn wakes_from_std_threads(rt: Runtime) {
    const N: usize = 1_000;
    let sum = rt.block_on(async {
        let mut handles = Vec::new();
        let mut senders = Vec::new();
        for i in 0..N {
            let (tx, rx) = oneshot::channel::<usize>();
            senders.push(tx);
            handles.push(gpm::spawn(async move { rx.await.unwrap() + i }));
        }
        // Wake every G from outside the runtime, from several threads.
        let threads: Vec<_> = senders
            .into_iter()
            .enumerate()
            .fold(vec![Vec::new(), Vec::new(), Vec::new()], |mut acc, (i, tx)| {
                acc[i % 3].push(tx);
                acc
            })
            .into_iter()
            .map(|txs| std::thread::spawn(move || txs.into_iter().for_each(|tx| tx.send(1).unwrap())))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        sum
    });
    assert_eq!(sum, N + N * (N - 1) / 2);
}

fn spawn_from_std_threads(rt: Runtime) {
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let handle = rt.handle().clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..1_000 {
                    let tx = tx.clone();
                    drop(handle.spawn(async move { tx.send(t * 1_000 + i).unwrap() }));
                }
            })
        })
        .collect();
    drop(tx);
    threads.into_iter().for_each(|t| t.join().unwrap());
    let mut got: Vec<usize> = rx.iter().collect();
    got.sort_unstable();
    assert_eq!(got, (0..4_000).collect::<Vec<_>>());
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn shutdown_drops_every_pending_goroutine(rt: Runtime) {
    const PARKED: usize = 1_000;
    const QUEUED: usize = 1_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    let (all_parked_tx, all_parked_rx) = mpsc::channel();
    for _ in 0..PARKED {
        // Parked forever: the sender stays alive outside the runtime.
        let (tx, rx) = oneshot::channel::<()>();
        senders.push(tx);
        let guard = DropCount(drops.clone());
        let parked = all_parked_tx.clone();
        drop(rt.spawn(async move {
            let _guard = guard;
            parked.send(()).unwrap();
            let _ = rx.await;
            unreachable!("nobody sends");
        }));
    }
    for _ in 0..PARKED {
        all_parked_rx.recv().unwrap();
    }
    // Parked on a future that never wakes them (and keeps no waker).
    let mut handles = Vec::new();
    for _ in 0..QUEUED {
        let guard = DropCount(drops.clone());
        handles.push(rt.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
    }
    assert_eq!(drops.load(SeqCst), 0);
    let goroutines = rt.stats().goroutines;
    assert_eq!(goroutines, PARKED + QUEUED);
    drop(rt);
    assert_eq!(
        drops.load(SeqCst),
        PARKED + QUEUED,
        "every goroutine dropped at shutdown"
    );
    drop(senders);
    // Their handles see a cancellation, not a hang or a panic.
    for h in handles {
        let err = futures::executor::block_on(h).unwrap_err();
        assert!(err.is_cancelled());
    }
}

fn join_handle_results(rt: Runtime) {
    rt.block_on(async {
        let h = gpm::spawn(async { 7 });
        let id = h.id();
        assert!(id > 1, "main is goroutine 1");
        assert_eq!(h.await.unwrap(), 7);

        let h = gpm::spawn(async { panic!("boom {}", 42) });
        let err = h.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(err.to_string().contains("boom 42"), "{err}");
        let payload = err.into_panic();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        assert_eq!(text, Some("boom 42"));

        let (tx, rx) = oneshot::channel::<()>();
        let h = gpm::spawn(async move { rx.await.unwrap() });
        assert!(!h.is_finished());
        tx.send(()).unwrap();
        h.await.unwrap();
    });
}

fn abort_cancels(rt: Runtime) {
    // Main as a goroutine on the Ps (with `block_on` it runs beside them,
    // and a worker may run a spawned G at once even on one P).
    rt.block_on_send(async {
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = DropCount(drops.clone());
        let h = gpm::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        gpm::yield_now().await;
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert_eq!(drops.load(SeqCst), 1, "the future was dropped");

        // Abort before the goroutine ran. On one P it cannot have run yet
        // (it waits in runnext); with more, another P may have stolen and
        // finished it first, and then it keeps its result.
        let h = gpm::spawn(async { 1 });
        h.abort();
        match h.await {
            Err(e) => assert!(e.is_cancelled(), "{e:?}"),
            Ok(v) => {
                assert_eq!(v, 1);
                assert!(gpm::runtime::gomaxprocs() > 1, "on one P the G had not run yet");
            }
        }

        // Abort after it finished keeps the result.
        let h = gpm::spawn(async { 2 });
        while !h.is_finished() {
            gpm::yield_now().await;
        }
        h.abort();
        assert_eq!(h.await.unwrap(), 2);
    });
}

fn yield_now_lets_others_run(rt: Runtime) {
    rt.block_on(async {
        let flag = Arc::new(AtomicUsize::new(0));
        let f = flag.clone();
        let h = gpm::spawn(async move { f.store(1, SeqCst) });
        // Without yielding, main would spin forever on one P.
        while flag.load(SeqCst) == 0 {
            gpm::yield_now().await;
        }
        h.await.unwrap();
    });
}

fn go_macro_runs_detached(rt: Runtime) {
    let (tx, rx) = mpsc::channel();
    rt.block_on(async move {
        let tx2 = tx.clone();
        gpm::go!(async move { tx2.send(1).unwrap() });
        gpm::go! {
            let v = 2;
            tx.send(v).unwrap();
        }
    });
    let mut got = vec![rx.recv().unwrap(), rx.recv().unwrap()];
    got.sort_unstable();
    assert_eq!(got, vec![1, 2]);
}

fn num_goroutine_counts_live_gs(rt: Runtime) {
    rt.block_on(async {
        assert_eq!(gpm::runtime::num_goroutine(), 1, "only main");
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..10 {
            let (tx, rx) = oneshot::channel::<()>();
            senders.push(tx);
            handles.push(gpm::spawn(async move { rx.await.unwrap() }));
        }
        assert_eq!(gpm::runtime::num_goroutine(), 11);
        for tx in senders {
            tx.send(()).unwrap();
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(gpm::runtime::num_goroutine(), 1);
    });
    assert_eq!(gpm::runtime::num_goroutine(), 0, "outside any runtime");
}

fn ping_pong_with_main(rt: Runtime) {
    const ROUNDS: usize = 10_000;
    let total = rt.block_on(async {
        let (to_g_tx, mut to_g_rx) = futures::channel::mpsc::channel::<usize>(0);
        let (mut to_main_tx, mut to_main_rx) = futures::channel::mpsc::channel::<usize>(0);
        use futures::{SinkExt, StreamExt};
        let echo = gpm::spawn(async move {
            while let Some(v) = to_g_rx.next().await {
                to_main_tx.send(v + 1).await.unwrap();
            }
        });
        let mut tx = to_g_tx;
        let mut v = 0;
        for _ in 0..ROUNDS {
            tx.send(v).await.unwrap();
            v = to_main_rx.next().await.unwrap();
        }
        drop(tx);
        echo.await.unwrap();
        v
    });
    assert_eq!(total, ROUNDS);
}

fn block_on_again_after_block_on(rt: Runtime) {
    assert_eq!(rt.block_on(async { 1 }), 1);
    let h = rt.spawn(async { 2 });
    assert_eq!(rt.block_on(h).unwrap(), 2);
    assert_eq!(rt.block_on(async { gpm::spawn(async { 3 }).await.unwrap() }), 3);
}

#[test]
fn nested_block_on_is_a_clear_panic() {
    let rt = Builder::new().procs(1).build().unwrap();
    let handle = rt.handle().clone();
    let err = rt.block_on(async move { gpm::spawn(async move { handle.block_on(async {}) }).await.unwrap_err() });
    assert!(err.is_panic());
    assert!(
        err.to_string().contains("block_on called from inside a goroutine"),
        "{err}"
    );
}

#[test]
fn spawn_outside_runtime_is_a_clear_panic() {
    let err = std::panic::catch_unwind(|| drop(gpm::spawn(async {}))).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("outside a gpm runtime"), "{msg}");
}

#[test]
fn invalid_procs_is_an_error() {
    let err = Builder::new().procs(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("procs"), "{err}");
    let err = Builder::new().max_threads(0).build().unwrap_err();
    assert!(err.to_string().contains("max_threads"), "{err}");
}

#[test]
fn gomaxprocs_reports_the_runtime_setting() {
    let rt = Builder::new().procs(3).build().unwrap();
    assert_eq!(rt.block_on(async { gpm::runtime::gomaxprocs() }), 3);
    assert!(gpm::runtime::gomaxprocs() >= 1);
}

/// tokio's `spawn_many_local` bench: main spawns, then blocks its thread on
/// a std channel. The G left in main's runnext must be stolen by another P
/// (a spinning M woken by `wakep`), however the steals interleave.
#[test]
fn a_blocked_main_does_not_strand_its_runnext() {
    for procs in [2, 4] {
        let rt = Builder::new().procs(procs).build().unwrap();
        let (tx, rx) = mpsc::sync_channel(1);
        for _ in 0..300 {
            let left = Arc::new(AtomicUsize::new(2_000));
            rt.block_on(async {
                for _ in 0..2_000 {
                    let (tx, left) = (tx.clone(), left.clone());
                    gpm::go!(async move {
                        if left.fetch_sub(1, SeqCst) == 1 {
                            tx.send(()).unwrap();
                        }
                    });
                }
                rx.recv().unwrap();
            });
        }
    }
}

/// tokio's `chained_spawn` bench: main spawns the head of a chain and blocks
/// its thread. The head sits in the blocked P's runnext; a spinning M that
/// sees it but finds no idle P must leave `needspinning` behind, or the M
/// releasing the other P sleeps and the chain is stranded (it was, once in
/// a few hundred runs, before `take_p_for_spinning`).
#[test]
fn a_chain_started_by_a_blocked_main_completes() {
    fn link(done: mpsc::SyncSender<()>, left: usize) {
        if left == 0 {
            done.send(()).unwrap();
        } else {
            gpm::go!(async move { link(done, left - 1) });
        }
    }
    let rt = Builder::new().procs(2).build().unwrap();
    let (tx, rx) = mpsc::sync_channel(1);
    for _ in 0..2_000 {
        let tx = tx.clone();
        rt.block_on(async {
            gpm::go!(async move { link(tx, 100) });
            rx.recv().unwrap();
        });
    }
}

/// `Handle::block_on` on another thread while the runtime is dropped: the
/// caller gets a clear panic instead of a hang.
#[test]
fn block_on_during_shutdown_panics_clearly() {
    let rt = Builder::new().procs(2).build().unwrap();
    let handle = rt.handle().clone();
    let (started_tx, started_rx) = mpsc::channel();
    let caller = std::thread::spawn(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle.block_on(async move {
                started_tx.send(()).unwrap();
                std::future::pending::<()>().await
            })
        }))
    });
    started_rx.recv().unwrap();
    drop(rt);
    let err = caller.join().unwrap().unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("shut down"), "{msg}");
}
