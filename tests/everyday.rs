//! Everyday friction (issue 13): `JoinError` with `?` into boxed errors,
//! gpm's futures and streams in `futures::select!` without `.fuse()`, the
//! two `close`s of a `Sender`, and `#[gpm::test(unhandled_panic = "...")]`.

use futures::future::FusedFuture;
use futures::stream::FusedStream;
use futures::{SinkExt, StreamExt};
use std::error::Error;
use std::time::Duration;

type BoxError = Box<dyn Error + Send + Sync + 'static>;

// ----- JoinError is Send + Sync ---------------------------------------------

fn assert_send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn join_error_is_send_sync_static() {
    assert_send_sync_static::<gpm::JoinError>();
    assert_send_sync_static::<gpm::JoinHandle<u32>>();
}

async fn answer(panic: bool) -> Result<u32, BoxError> {
    let h = gpm::spawn(async move {
        if panic {
            panic!("boom");
        }
        42
    });
    // `?` converts the JoinError into the boxed error.
    Ok(h.await?)
}

#[gpm::test]
async fn join_error_goes_into_a_send_sync_box_with_question_mark() {
    assert_eq!(answer(false).await.unwrap(), 42);
    let err = answer(true).await.unwrap_err();
    assert!(err.to_string().contains("panicked: boom"), "{err}");
    // The payload survives the trip through the box.
    let join_error = err.downcast::<gpm::JoinError>().unwrap();
    assert!(join_error.is_panic());
    assert!(format!("{join_error:?}").contains("boom"));
    let payload = join_error.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
}

#[gpm::test]
async fn join_error_can_be_shared_across_goroutines() {
    let err = gpm::spawn(async { panic!("shared") }).await.unwrap_err();
    let err = std::sync::Arc::new(err);
    let seen = {
        let err = err.clone();
        gpm::spawn(async move { err.to_string() }).await.unwrap()
    };
    assert!(seen.contains("shared"), "{seen}");
    assert!(err.is_panic());
}

#[gpm::test]
async fn cancelled_join_error_is_not_a_panic() {
    let h = gpm::spawn(std::future::pending::<()>());
    h.abort();
    let err = h.await.unwrap_err();
    assert!(err.is_cancelled() && !err.is_panic());
    let err = err.try_into_panic().unwrap_err();
    assert!(err.is_cancelled());
    let boxed: BoxError = err.into();
    assert!(boxed.to_string().contains("cancelled"), "{boxed}");
}

// ----- futures::select! without .fuse() ---------------------------------------

/// A `JoinHandle` and a channel's `Receiver` stream in a loop, until both
/// are done (`complete` needs every branch to be a `FusedFuture` that says
/// so).
#[gpm::test]
async fn select_loop_over_join_handle_and_receiver_until_complete() {
    let ch = gpm::chan::<u32>(2);
    ch.send(10).await.unwrap();
    ch.send(20).await.unwrap();
    ch.close().unwrap();
    let mut rx = ch.receiver();
    let mut h = gpm::spawn(async { 1 });
    let (mut sum, mut rounds) = (0, 0);
    loop {
        rounds += 1;
        futures::select! {
            r = h => sum += r.unwrap(),
            v = rx.next() => sum += v.unwrap_or(100),
            complete => break,
        }
    }
    // 1 + 10 + 20 + 100 (the end of the stream), each branch once.
    assert_eq!(sum, 131);
    assert_eq!(rounds, 5);
    assert!(h.is_terminated());
    assert!(rx.is_terminated());
    // An ended receiver stays ended.
    assert_eq!(rx.next().await, None);
}

/// `FusedStream`'s promise: once the stream has said `None`, it stays
/// ended, even when a cancelled receive puts a value back into the closed
/// channel afterwards (a plain `recv` still gets that value).
#[gpm::test]
async fn an_ended_receiver_stays_ended_when_a_value_is_put_back() {
    let ch = gpm::chan::<u32>(0);
    let mut rx = ch.receiver();
    {
        let mut handed = std::pin::pin!(ch.recv());
        assert!(futures::poll!(handed.as_mut()).is_pending()); // parked
        ch.try_send(7).unwrap(); // handed to the parked receive
        ch.close().unwrap();
        assert_eq!(rx.next().await, None); // closed and drained
        assert!(rx.is_terminated());
    } // the receive is dropped with its value: it goes back to the channel
    assert_eq!(rx.next().await, None);
    assert_eq!(ch.recv().await, Some(7));
}

#[gpm::test]
async fn select_over_recv_send_sleep_and_timeout() {
    let ch = gpm::chan::<u8>(1);
    let never = gpm::chan::<u8>(0);
    let mut send = std::pin::pin!(ch.send(1));
    let mut recv_never = std::pin::pin!(never.recv());
    futures::select! {
        r = send => r.unwrap(),
        _ = recv_never => unreachable!(),
    }
    assert!(send.is_terminated() && !recv_never.is_terminated());

    let mut recv = std::pin::pin!(ch.recv());
    let mut sleep = gpm::time::sleep(Duration::from_secs(3600));
    let got = futures::select! {
        v = recv => v,
        () = sleep => unreachable!(),
    };
    assert_eq!(got, Some(1));
    assert!(recv.is_terminated() && !sleep.is_terminated());

    let mut short = gpm::time::sleep(Duration::from_millis(1));
    futures::select! {
        () = short => {}
        _ = recv_never => unreachable!(),
    }
    assert!(short.is_terminated());

    let mut timeout = std::pin::pin!(gpm::time::timeout(
        Duration::from_millis(1),
        std::future::pending::<()>()
    ));
    let r = futures::select! {
        r = timeout => r,
        _ = recv_never => unreachable!(),
    };
    assert!(r.is_err());
    assert!(timeout.is_terminated());
}

#[gpm::test]
async fn select_over_sync_futures() {
    let mutex = gpm::sync::Mutex::new(1);
    let rwlock = gpm::sync::RwLock::new(2);
    let sem = gpm::sync::Semaphore::new(1);
    let wg = gpm::sync::WaitGroup::new();
    let never = gpm::chan::<()>(0);
    let mut recv_never = std::pin::pin!(never.recv());

    let mut lock = mutex.lock();
    futures::select! { g = lock => assert_eq!(*g, 1), _ = recv_never => unreachable!() }
    assert!(lock.is_terminated());

    let mut read = rwlock.read();
    futures::select! { g = read => assert_eq!(*g, 2), _ = recv_never => unreachable!() }
    assert!(read.is_terminated());

    let mut write = rwlock.write();
    futures::select! { mut g = write => *g += 1, _ = recv_never => unreachable!() }
    assert!(write.is_terminated());
    assert_eq!(*rwlock.read().await, 3);

    let mut acquire = sem.acquire(1);
    futures::select! { () = acquire => {}, _ = recv_never => unreachable!() }
    assert!(acquire.is_terminated());
    assert_eq!(sem.available_permits(), 0);

    wg.go(async {});
    let mut wait = wg.wait();
    futures::select! { () = wait => {}, _ = recv_never => unreachable!() }
    assert!(wait.is_terminated());
}

/// `select_next_some` needs a `FusedStream`: a ticker's receiver is one.
#[gpm::test]
async fn ticker_receiver_with_select_next_some() {
    let ticker = gpm::time::Ticker::new(Duration::from_millis(1));
    let mut ticks = ticker.receiver();
    let mut n = 0;
    while n < 3 {
        futures::select! {
            _ = ticks.select_next_some() => n += 1,
        }
    }
    ticker.stop();
    assert!(!ticks.is_terminated()); // a timer's channel is never closed
}

// ----- Sender: Go's close and the Sink's close ---------------------------------

#[gpm::test]
async fn sink_close_flushes_then_closes_and_go_close_stays() {
    let ch = gpm::chan::<u32>(1);
    let mut tx = ch.sender();
    tx.feed(5).await.unwrap();
    // `tx.close()` is Go's close (a `Result`); the Sink's is reached by name.
    SinkExt::close(&mut tx).await.unwrap();
    assert!(ch.is_closed());
    assert_eq!(ch.recv().await, Some(5));
    assert_eq!(ch.recv().await, None);
    // Go's close on an already closed channel: an error, no await.
    let second: Result<(), gpm::channel::CloseError> = tx.close();
    assert!(second.is_err());
    // The Sink's close of a closed channel is not an error.
    SinkExt::close(&mut tx).await.unwrap();
}

#[gpm::test]
async fn sink_close_waits_for_a_receiver_on_an_unbuffered_channel() {
    let ch = gpm::chan::<u32>(0);
    let mut tx = ch.sender();
    let rx = ch.receiver();
    let receiver = gpm::spawn(async move { rx.recv().await });
    tx.feed(9).await.unwrap();
    SinkExt::close(&mut tx).await.unwrap();
    assert_eq!(receiver.await.unwrap(), Some(9));
    assert!(ch.is_closed());
}

// ----- #[gpm::test(unhandled_panic = "...")] -------------------------------------

/// With the default (`"shutdown_runtime"`) this test would fail: the
/// goroutine's panic fails its test.
#[gpm::test(unhandled_panic = "ignore")]
async fn unhandled_panic_ignore_lets_the_test_pass() {
    let wg = gpm::sync::WaitGroup::new();
    wg.go(async { panic!("ignored by this runtime") });
    wg.wait().await;
}

#[gpm::test(unhandled_panic = "shutdown_runtime", procs = 1)]
#[should_panic(expected = "fails the test")]
async fn unhandled_panic_shutdown_runtime_spelled_out() {
    let wg = gpm::sync::WaitGroup::new();
    wg.go(async { panic!("fails the test") });
    wg.wait().await;
    // The runtime reports the panic when the body has returned.
}
