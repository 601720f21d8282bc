//! `gpm::context`: cancellation trees and deadlines (Go's `context`).

use gpm::context::{self, Error};
use gpm::runtime::{Builder, Runtime};
use std::time::{Duration, Instant};

fn rt(procs: usize) -> Runtime {
    Builder::new().procs(procs).build().unwrap()
}

#[test]
fn cancel_closes_done_and_sets_err() {
    rt(2).block_on(async {
        let (ctx, cancel) = context::with_cancel(&context::background());
        assert_eq!(ctx.err(), None);
        assert!(ctx.done().try_recv().is_err());
        cancel.cancel();
        assert_eq!(ctx.done().recv().await, None, "done is closed");
        assert_eq!(ctx.err(), Some(Error::Canceled));
        cancel.cancel(); // again: nothing happens
        assert_eq!(ctx.err(), Some(Error::Canceled));
        assert_eq!(Error::Canceled.to_string(), "context canceled");
    });
}

#[test]
fn cancellation_flows_down_the_tree_not_up() {
    for procs in [1, 2, 4] {
        rt(procs).block_on(async {
            let bg = context::background();
            let (root, cancel_root) = context::with_cancel(&bg);
            let (left, cancel_left) = context::with_cancel(&root);
            let (right, _cancel_right) = context::with_cancel(&root);
            let (leaf, _cancel_leaf) = context::with_cancel(&left);

            cancel_left.cancel();
            assert_eq!(left.err(), Some(Error::Canceled));
            assert_eq!(leaf.err(), Some(Error::Canceled), "children follow");
            assert_eq!(root.err(), None, "the parent does not");
            assert_eq!(right.err(), None, "nor the siblings");

            // Goroutines watching the rest all stop when the root goes.
            let watchers: Vec<_> = [root.clone(), right.clone()]
                .into_iter()
                .map(|ctx| gpm::spawn(async move { ctx.cancelled().await }))
                .collect();
            cancel_root.cancel();
            for w in watchers {
                assert_eq!(w.await.unwrap(), Error::Canceled);
            }
            assert_eq!(bg.err(), None, "background is never cancelled");

            // A child of a cancelled context starts cancelled.
            let (late, _c) = context::with_cancel(&root);
            assert_eq!(late.err(), Some(Error::Canceled));
        });
    }
}

#[test]
fn timeout_cancels_with_deadline_exceeded() {
    for procs in [1, 2] {
        rt(procs).block_on(async {
            let start = Instant::now();
            let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(10));
            assert!(ctx.deadline().is_some());
            let (child, _c) = context::with_cancel(&ctx);
            assert_eq!(child.cancelled().await, Error::DeadlineExceeded);
            assert!(start.elapsed() >= Duration::from_millis(10));
            assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
            assert_eq!(Error::DeadlineExceeded.to_string(), "context deadline exceeded");
        });
    }
}

#[test]
fn a_parents_earlier_deadline_wins() {
    rt(2).block_on(async {
        let (parent, _c) = context::with_timeout(&context::background(), Duration::from_millis(5));
        let (child, _c2) = context::with_timeout(&parent, Duration::from_secs(3600));
        assert_eq!(child.deadline(), parent.deadline());
        assert_eq!(child.cancelled().await, Error::DeadlineExceeded);
    });
}

#[test]
fn cancel_before_the_deadline_is_canceled() {
    rt(2).block_on(async {
        let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(3600));
        cancel.cancel();
        assert_eq!(ctx.cancelled().await, Error::Canceled);
        // The deadline's timer went with it.
        assert_eq!(gpm::runtime::stats().timers, 0);
    });
}

#[test]
fn done_in_select_stops_a_worker() {
    for procs in [1, 2, 4] {
        rt(procs).block_on(async {
            let (ctx, cancel) = context::with_cancel(&context::background());
            let work = gpm::chan::<u64>(0);
            let producer = {
                let (ctx, work) = (ctx.clone(), work.clone());
                gpm::spawn(async move {
                    let mut sent = 0u64;
                    loop {
                        gpm::select! {
                            recv(ctx.done()) -> _ => return sent,
                            send(work, sent) -> res => { res.unwrap(); sent += 1; }
                        }
                    }
                })
            };
            for i in 0..100 {
                assert_eq!(work.recv().await, Some(i));
            }
            cancel.cancel();
            let sent = producer.await.unwrap();
            assert!((100..=101).contains(&sent), "{sent}");
        });
    }
}
