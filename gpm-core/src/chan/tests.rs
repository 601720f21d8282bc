//! Unit tests of the channel's unsafe parts (sudogs in the waits and in
//! `select`, value slots, the lock), small enough for Miri (`.ci/miri`
//! runs `chan::`): futures polled by hand on one thread with a counting
//! waker, plus one test across threads. No runtime: outside a goroutine
//! the budget never runs out and parking only records a reason.

use super::select::{Arm, RecvArm, Select, SendArm};
use super::{chan, SendError, TryRecvError};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts its wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn waker() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (count.clone(), Waker::from(count))
}

fn poll<F: Future>(f: std::pin::Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}

#[test]
fn a_parked_receive_gets_the_value_and_its_wake() {
    let ch = chan::<String>(0);
    let (woken, w) = waker();
    let mut recv = pin!(ch.recv());
    assert!(poll(recv.as_mut(), &w).is_pending());
    // The send finds the parked receiver and hands the value over.
    assert_eq!(ch.try_send("hi".to_string()), Ok(()));
    assert_eq!(woken.0.load(SeqCst), 1);
    assert_eq!(poll(recv.as_mut(), &w), Poll::Ready(Some("hi".to_string())));
    // The wait is idle again: the same channel parks a new receive.
    let mut again = pin!(ch.recv());
    assert!(poll(again.as_mut(), &w).is_pending());
    ch.close().unwrap();
    assert_eq!(poll(again.as_mut(), &w), Poll::Ready(None));
}

#[test]
fn a_parked_send_is_taken_by_a_receive() {
    let ch = chan::<Vec<u8>>(0);
    let (woken, w) = waker();
    let mut first = pin!(ch.send(vec![1]));
    let mut second = pin!(ch.send(vec![2]));
    assert!(poll(first.as_mut(), &w).is_pending());
    assert!(poll(second.as_mut(), &w).is_pending());
    // Senders are served in the order they parked.
    assert_eq!(ch.try_recv(), Ok(vec![1]));
    assert_eq!(woken.0.load(SeqCst), 1);
    assert_eq!(poll(first.as_mut(), &w), Poll::Ready(Ok(())));
    // Polled again without a wake: still waiting, waker refreshed.
    assert!(poll(second.as_mut(), &w).is_pending());
    assert_eq!(ch.try_recv(), Ok(vec![2]));
    assert_eq!(poll(second.as_mut(), &w), Poll::Ready(Ok(())));
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_dropped_receive_gives_its_value_back_and_a_dropped_send_sends_nothing() {
    let ch = chan::<Box<u32>>(0);
    let (_, w) = waker();
    {
        let mut recv = pin!(ch.recv());
        assert!(poll(recv.as_mut(), &w).is_pending());
        // Handed a value, then dropped before it was polled again.
        assert_eq!(ch.try_send(Box::new(5)), Ok(()));
    }
    // The value went back to the channel, ahead of anything else.
    let mut recv = pin!(ch.recv());
    assert_eq!(poll(recv.as_mut(), &w), Poll::Ready(Some(Box::new(5))));
    {
        let mut send = pin!(ch.send(Box::new(6)));
        assert!(poll(send.as_mut(), &w).is_pending());
    }
    // The dropped send left the queue: nothing to receive.
    assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    // A receiver in the middle of a queue of three leaves it cleanly.
    let mut a = pin!(ch.recv());
    let mut c = pin!(ch.recv());
    assert!(poll(a.as_mut(), &w).is_pending());
    {
        let mut b = pin!(ch.recv());
        assert!(poll(b.as_mut(), &w).is_pending());
        assert!(poll(c.as_mut(), &w).is_pending());
    }
    assert_eq!(ch.try_send(Box::new(7)), Ok(()));
    assert_eq!(ch.try_send(Box::new(8)), Ok(()));
    assert_eq!(poll(a.as_mut(), &w), Poll::Ready(Some(Box::new(7))));
    assert_eq!(poll(c.as_mut(), &w), Poll::Ready(Some(Box::new(8))));
}

#[test]
fn close_completes_parked_sends_and_receives() {
    let ch = chan::<String>(0);
    let (woken, w) = waker();
    let mut send = pin!(ch.send("kept".to_string()));
    assert!(poll(send.as_mut(), &w).is_pending());
    let other = chan::<String>(0);
    let mut recv = pin!(other.recv());
    assert!(poll(recv.as_mut(), &w).is_pending());
    ch.close().unwrap();
    other.close().unwrap();
    assert_eq!(woken.0.load(SeqCst), 2);
    assert_eq!(poll(send.as_mut(), &w), Poll::Ready(Err(SendError("kept".to_string()))));
    assert_eq!(poll(recv.as_mut(), &w), Poll::Ready(None));
}

#[test]
fn a_parked_select_is_completed_by_one_case_and_leaves_the_others() {
    let (a, b) = (chan::<String>(0), chan::<String>(0));
    let (woken, w) = waker();
    let recv_a = RecvArm::new(Some(&a));
    let send_b = SendArm::new(Some(&b), "to b".to_string());
    {
        let arms: [&dyn Arm; 2] = [&recv_a, &send_b];
        let mut select = pin!(Select::new(arms, (), false));
        assert!(poll(select.as_mut(), &w).is_pending());
        // A receive on `b` takes the select's send: case 1 fired.
        assert_eq!(b.try_recv(), Ok("to b".to_string()));
        assert_eq!(woken.0.load(SeqCst), 1);
        assert_eq!(poll(select.as_mut(), &w), Poll::Ready(1));
    }
    assert_eq!(send_b.into_output(), Ok(()));
    // The receive case left `a`'s queue: a send there finds nobody.
    assert!(a.try_send("late".to_string()).is_err());
    // A select dropped while parked leaves both queues.
    let recv_a = RecvArm::new(Some(&a));
    let recv_b = RecvArm::new(Some(&b));
    {
        let arms: [&dyn Arm; 2] = [&recv_a, &recv_b];
        let mut select = pin!(Select::new(arms, (), false));
        assert!(poll(select.as_mut(), &w).is_pending());
    }
    assert!(a.try_send("x".to_string()).is_err());
    assert!(b.try_send("y".to_string()).is_err());
}

#[test]
fn values_cross_threads_through_parked_operations() {
    const N: u32 = 200;
    let (there, back) = (chan::<u32>(0), chan::<u32>(0));
    let echo = {
        let (there, back) = (there.clone(), back.clone());
        std::thread::spawn(move || {
            while let Some(v) = there.recv_blocking() {
                back.send_blocking(v + 1).unwrap();
            }
        })
    };
    futures::executor::block_on(async {
        for v in 0..N {
            there.send(v).await.unwrap();
            assert_eq!(back.recv().await, Some(v + 1));
        }
    });
    there.close().unwrap();
    echo.join().unwrap();
}
