//! Go's run-queue rules, observed through `stats()` and execution order on
//! one P, where the order is deterministic.

use gpm::runtime::{Builder, Runtime};
use std::sync::{Arc, Mutex};

fn one_p() -> Runtime {
    Builder::new().procs(1).build().unwrap()
}

/// Records the order in which goroutines ran.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<usize>>>);

impl Log {
    fn push(&self, v: usize) {
        self.0.lock().unwrap().push(v);
    }
    fn take(&self) -> Vec<usize> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Waits until `n` entries are logged, yielding so that others run.
async fn until_logged(log: &Log, n: usize) {
    while log.0.lock().unwrap().len() < n {
        gpm::yield_now().await;
    }
}

/// Runs one G from the ring, so that schedtick is not 0, where the
/// every-61 global check fires first. (A G from runnext does not count.)
async fn move_schedtick_off_a_multiple_of_61() {
    let (h1, h2) = (gpm::spawn(async {}), gpm::spawn(async {}));
    h1.await.unwrap();
    h2.await.unwrap();
    assert!(!gpm::runtime::stats().schedticks[0].is_multiple_of(61));
}

#[test]
fn full_ring_spills_128_plus_the_new_g_to_the_global_queue() {
    let rt = one_p();
    let stats = rt.block_on_send(async {
        // The first spawn fills runnext; each later one kicks the previous
        // G into the ring. After 257 spawns the ring holds 256 (full) ...
        for _ in 0..257 {
            gpm::go!(async {});
        }
        let before = gpm::runtime::stats();
        assert_eq!(before.local_queues, vec![256]);
        assert_eq!(before.spills, 0);
        // ... and the 258th pushes the ring over: 128 + 1 go global at once.
        gpm::go!(async {});
        gpm::runtime::stats()
    });
    assert_eq!(stats.spills, 1);
    assert_eq!(stats.global_queue, 129);
    assert_eq!(stats.local_queues, vec![128]);
    assert_eq!(stats.runnext, vec![true]);
}

#[test]
fn runnext_kicks_out_to_the_ring_tail_and_runs_first() {
    let rt = one_p();
    let log = Log::default();
    let l = log.clone();
    rt.block_on_send(async move {
        for i in 1..=3 {
            let l = l.clone();
            gpm::go!(async move { l.push(i) });
        }
        // runnext = 3; the ring = [1, 2]. Runnext goes first, then the ring
        // in FIFO order.
        assert_eq!(gpm::runtime::stats().local_queues, vec![2]);
        assert_eq!(gpm::runtime::stats().runnext, vec![true]);
        until_logged(&l, 3).await;
    });
    assert_eq!(log.take(), vec![3, 1, 2]);
}

#[test]
fn a_readied_g_runs_next() {
    // G 1 wakes G 2 (parked on a oneshot): G 2 goes to runnext and runs
    // before G 3, which was queued earlier.
    let rt = one_p();
    let log = Log::default();
    let l = log.clone();
    rt.block_on_send(async move {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let l2 = l.clone();
        gpm::go!(async move {
            rx.await.unwrap();
            l2.push(2);
        });
        until_logged(&l, 0).await;
        gpm::yield_now().await; // G 2 parks on rx
        let (l1, l3) = (l.clone(), l.clone());
        gpm::go!(async move {
            l1.push(1);
            tx.send(()).unwrap();
        });
        gpm::go!(async move { l3.push(3) }); // runnext; G 1 goes to the ring
        until_logged(&l, 3).await;
    });
    // 3 (runnext), then 1 from the ring, which readies 2 into runnext.
    assert_eq!(log.take(), vec![3, 1, 2]);
}

#[test]
fn the_global_queue_is_checked_every_61_schedticks() {
    let rt = one_p();
    let handle = rt.handle().clone();
    let log = Log::default();
    let l = log.clone();
    const LOCAL: usize = 200;
    rt.block_on_send(async move {
        // 200 local Gs; the first of them injects one G from a std thread,
        // which lands in the global queue.
        for i in 0..LOCAL {
            let (l, handle) = (l.clone(), handle.clone());
            gpm::go!(async move {
                l.push(i);
                if i == 0 {
                    let l = l.clone();
                    std::thread::spawn(move || drop(handle.spawn(async move { l.push(usize::MAX) })))
                        .join()
                        .unwrap();
                }
            });
        }
        until_logged(&l, LOCAL + 1).await;
    });
    let order = log.take();
    let global_at = order.iter().position(|&v| v == usize::MAX).unwrap();
    // Local work always comes first, except every 61st schedtick: the global
    // G must not wait for all 200 local ones.
    assert!(
        global_at <= 62,
        "global G ran at position {global_at} of {}",
        order.len()
    );
    assert!(global_at > 0);
}

#[test]
fn yield_now_goes_to_the_global_queue_tail() {
    let rt = one_p();
    let handle = rt.handle().clone();
    let log = Log::default();
    let l = log.clone();
    rt.block_on_send(async move {
        move_schedtick_off_a_multiple_of_61().await;
        // G 4 waits in the global queue, injected from outside.
        let l4 = l.clone();
        std::thread::spawn(move || drop(handle.spawn(async move { l4.push(4) })))
            .join()
            .unwrap();
        assert_eq!(gpm::runtime::stats().global_queue, 1);
        // G 2 goes to the ring, G 1 to runnext (it runs first).
        let l2 = l.clone();
        gpm::go!(async move { l2.push(2) });
        let l1 = l.clone();
        gpm::go!(async move {
            l1.push(1);
            gpm::yield_now().await;
            l1.push(3);
        });
        until_logged(&l, 4).await;
    });
    // G 1 yields behind the local G 2 *and* behind G 4, already in the
    // global queue: Go's Gosched. (To the local tail it would be 1 2 3 4.)
    assert_eq!(log.take(), vec![1, 2, 4, 3]);
}

/// tokio issue 4941: a G readies another (into its P's runnext) and then
/// blocks its thread. Another P's M steals the runnext G (last steal round,
/// after its pause) instead of leaving it behind the blocked poll.
#[test]
fn a_blocked_gs_runnext_is_stolen_by_another_p() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::time::{Duration, Instant};
    let rt = Builder::new().procs(2).build().unwrap();
    let stolen = rt.block_on_send(async {
        let ran = Arc::new(AtomicBool::new(false));
        let blocker = {
            let ran = ran.clone();
            gpm::spawn(async move {
                let r = ran.clone();
                // Into this P's runnext ...
                gpm::go!(async move { r.store(true, SeqCst) });
                // ... then block the thread until it has run elsewhere.
                let deadline = Instant::now() + Duration::from_secs(20);
                while !ran.load(SeqCst) && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                ran.load(SeqCst)
            })
        };
        blocker.await.unwrap()
    });
    assert!(stolen, "the runnext G waited behind a blocked poll");
    assert!(rt.stats().runnext_steals >= 1);
}

/// With nothing in the global queue, "behind everything in the global
/// queue" is behind this P's own ring: the yielded G comes back after the
/// local Gs, in order, without a trip through the global queue.
#[test]
fn yield_now_with_an_empty_global_queue_comes_back_behind_the_ring() {
    let rt = one_p();
    let log = Log::default();
    let l = log.clone();
    rt.block_on_send(async move {
        move_schedtick_off_a_multiple_of_61().await;
        for i in [2, 3] {
            let l = l.clone();
            gpm::go!(async move { l.push(i) });
        }
        let l1 = l.clone();
        gpm::go!(async move {
            l1.push(1);
            gpm::yield_now().await;
            l1.push(4);
        });
        until_logged(&l, 4).await;
    });
    assert_eq!(log.take(), vec![1, 2, 3, 4]);
}

/// A G that wakes itself during its poll (not through `yield_now`) goes to
/// the ring's tail, never to runnext: otherwise it would run again at once,
/// ahead of everything queued, and starve its P.
#[test]
fn a_self_wake_goes_to_the_ring_tail_not_runnext() {
    struct WakeSelfOnce(bool);
    impl std::future::Future for WakeSelfOnce {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            if self.0 {
                return std::task::Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
    let rt = one_p();
    let log = Log::default();
    let l = log.clone();
    rt.block_on_send(async move {
        move_schedtick_off_a_multiple_of_61().await;
        for i in [2, 3] {
            let l = l.clone();
            gpm::go!(async move { l.push(i) });
        }
        let l1 = l.clone();
        gpm::go!(async move {
            l1.push(1);
            WakeSelfOnce(false).await;
            l1.push(4);
        });
        until_logged(&l, 4).await;
        assert_eq!(
            gpm::runtime::stats().global_queue,
            0,
            "not through the global queue either"
        );
    });
    assert_eq!(log.take(), vec![1, 2, 3, 4]);
}
