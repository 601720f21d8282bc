//! `futures_core::Stream` for [`Receiver`] and `futures_sink::Sink` for
//! [`Sender`].
//!
//! Each handle keeps one boxed wait (made on first use, reused for every
//! item, dropped with the handle), because `poll_next` and `poll_flush`
//! need a pinned value slot that outlives a single call. Cloning a handle
//! does not clone it.

use super::error::SendError;
use super::ops::{RecvWait, SendWait};
use super::{Receiver, Sender};
use futures_core::{FusedStream, Stream};
use futures_sink::Sink;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The receive a [`Receiver`] polls as a `Stream`.
pub(crate) struct StreamState<T> {
    wait: Option<Pin<Box<RecvWait<T>>>>,
    /// Set once `poll_next` has returned `None`: the stream has ended.
    ended: bool,
}

impl<T> StreamState<T> {
    pub(crate) fn new() -> StreamState<T> {
        StreamState {
            wait: None,
            ended: false,
        }
    }
}

/// The pending send of a [`Sender`] used as a `Sink`.
pub(crate) struct SinkState<T> {
    wait: Option<Pin<Box<SendWait<T>>>>,
    /// True between `start_send` and the end of that send.
    pending: bool,
}

impl<T> SinkState<T> {
    pub(crate) fn new() -> SinkState<T> {
        SinkState {
            wait: None,
            pending: false,
        }
    }
}

/// Receives until the channel is closed and drained. Dropping the receiver
/// between items loses nothing (see [`RecvFuture`](super::RecvFuture)).
/// Once it has ended it stays ended (it is a `FusedStream`), even if a
/// cancelled receive elsewhere puts a value back into the closed channel:
/// [`Receiver::recv`] still gets that one.
///
/// ```
/// use futures::StreamExt;
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan(3);
/// for i in 1..=3 {
///     ch.send(i).await.unwrap();
/// }
/// ch.close().unwrap();
/// let sum: i32 = ch.receiver().fold(0, |a, b| async move { a + b }).await;
/// assert_eq!(sum, 6);
/// # });
/// ```
impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.stream.ended {
            return Poll::Ready(None);
        }
        let wait = this.stream.wait.get_or_insert_with(|| Box::pin(RecvWait::new()));
        let item = ready!(wait.as_ref().get_ref().poll_recv(this.chan.hchan(), cx));
        this.stream.ended = item.is_none();
        Poll::Ready(item)
    }
}

/// True once the stream has ended (the channel closed and drained), so
/// `futures::select!` takes a `Receiver` as it is (no `.fuse()`).
///
/// ```
/// use futures::stream::{FusedStream, StreamExt};
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan(1);
/// ch.send(1).await.unwrap();
/// ch.close().unwrap();
/// let mut rx = ch.receiver();
/// let mut got = Vec::new();
/// loop {
///     futures::select! {
///         v = rx.next() => match v {
///             Some(v) => got.push(v),
///             None => break,
///         },
///     }
/// }
/// assert_eq!(got, [1]);
/// assert!(rx.is_terminated());
/// # });
/// ```
impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.stream.ended
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(wait) = &self.stream.wait {
            wait.cancel(self.chan.hchan());
        }
    }
}

/// Sends each item, one at a time: `poll_ready` and `poll_flush` wait for
/// the previous item's send to complete; `poll_close` flushes and then
/// closes the channel (Go's `close(ch)` when the producer is done; a channel
/// already closed is not an error here). An item sent to a closed channel
/// comes back in the `SendError` of the next `poll_ready` or `poll_flush`.
///
/// ```
/// use futures::{SinkExt, StreamExt};
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan(0);
/// let mut tx = ch.sender();
/// gpm::go!(async move {
///     let mut items = futures::stream::iter([1, 2, 3]).map(Ok);
///     tx.send_all(&mut items).await.unwrap();
///     SinkExt::close(&mut tx).await.unwrap(); // closes the channel
/// });
/// let got: Vec<i32> = ch.receiver().collect().await;
/// assert_eq!(got, [1, 2, 3]);
/// # });
/// ```
impl<T> Sink<T> for Sender<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), SendError<T>> {
        let this = self.get_mut();
        assert!(!this.sink.pending, "Sink::start_send without a successful poll_ready");
        let wait = this.sink.wait.get_or_insert_with(|| Box::pin(SendWait::new(None)));
        wait.load(item);
        this.sink.pending = true;
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        // Already closed by someone else: the sink is closed all the same.
        let _ = this.chan.close();
        Poll::Ready(Ok(()))
    }
}

impl<T> Sender<T> {
    /// Drives the sink's pending send, if any.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        if !self.sink.pending {
            return Poll::Ready(Ok(()));
        }
        let wait = self.sink.wait.as_ref().expect("a pending send has a wait");
        let result = ready!(wait.as_ref().get_ref().poll_send(self.chan.hchan(), cx));
        self.sink.pending = false;
        Poll::Ready(result)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(wait) = &self.sink.wait {
            wait.cancel(self.chan.hchan());
            drop(wait.unload());
        }
    }
}
