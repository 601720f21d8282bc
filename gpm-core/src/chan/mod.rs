//! Go's channels: [`chan`] makes one, [`Chan`] is the handle.
//!
//! ```
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! let ch = gpm::chan::<u64>(0); // make(chan uint64): unbuffered
//! let tx = ch.clone();
//! gpm::go!(async move {
//!     for i in 0..3 {
//!         tx.send(i).await.unwrap(); // ch <- i
//!     }
//!     tx.close().unwrap(); // close(ch)
//! });
//! let mut got = Vec::new();
//! while let Some(v) = ch.recv().await { // for v := range ch
//!     got.push(v);
//! }
//! assert_eq!(got, [0, 1, 2]);
//! # });
//! ```
//!
//! | Go | gpm |
//! | --- | --- |
//! | `ch := make(chan T, n)` | `let ch = gpm::chan::<T>(n);` |
//! | `ch <- v` | `ch.send(v).await` (`Err` on a closed channel, with `v`) |
//! | `v, ok := <-ch` | `let v = ch.recv().await;` (`None` = closed and drained) |
//! | `close(ch)` | `ch.close()` (`Err` if already closed) |
//! | `len(ch)`, `cap(ch)` | `ch.len()`, `ch.cap()` |
//! | `chan<- T`, `<-chan T` | [`Sender<T>`], [`Receiver<T>`] |
//! | `select { ... }` | `gpm::select! { ... }` |
//!
//! As in Go, handles are cheap to clone and dropping them does not close
//! the channel: only `close` does. Sending on a closed channel returns the
//! value (Go panics); closing twice returns [`CloseError`] (Go panics).
//!
//! # With the futures ecosystem
//! [`Receiver`] is a `Stream` (and a `FusedStream`), [`Sender`] a `Sink`,
//! and the futures of `send`, `recv`, `JoinHandle`, `sleep`, `timeout` and
//! the `sync` locks are `FusedFuture`s: `futures::select!` takes them
//! without `.fuse()` (pinned with `std::pin::pin!` when they are not
//! `Unpin`, as `RecvFuture` and `SendFuture` are not).
//!
//! `close` on a handle is Go's `close(ch)`: synchronous, it returns
//! `Result<(), CloseError>`, and it is the method that `tx.close()` finds,
//! ahead of `futures::SinkExt::close`. So `tx.close().await` does not
//! compile; the `Sink`'s close, which first waits for the item handed to
//! the sink to be sent and then closes the channel, is
//! `SinkExt::close(&mut tx).await`:
//!
//! ```
//! use futures::SinkExt;
//! # gpm::runtime::Runtime::new().unwrap().block_on(async {
//! let ch = gpm::chan::<u32>(1);
//! let mut tx = ch.sender();
//! tx.feed(1).await.unwrap(); // handed to the sink, maybe not sent yet
//! SinkExt::close(&mut tx).await.unwrap(); // sends it, then closes
//! assert!(ch.is_closed());
//! assert_eq!(ch.recv().await, Some(1));
//!
//! let ch = gpm::chan::<u32>(0);
//! let tx = ch.sender();
//! tx.close().unwrap(); // Go's close(ch): no await
//! assert!(tx.close().is_err()); // closing twice
//! # });
//! ```
//!
//! # How it works (Go's `chan.go` and `select.go`)
//! | file | Go's name | what it is |
//! | --- | --- | --- |
//! | `hchan.rs` | `hchan`, `chansend`, `chanrecv`, `closechan` | the lock, the ring buffer, the wait queues, and the operations under the lock |
//! | `lock.rs` | `hchan.lock` | the channel's spin lock |
//! | `waitq.rs` | `waitq` | a FIFO of waiting operations |
//! | `../sched/sudog.rs` | `sudog`, `acquireSudog`, `releaseSudog` | one waiting operation on one channel; `select!` takes its sudogs from a per-M cache of 128 with a central list (in the scheduler's folder; Go's `p.sudogcache`), a plain send or receive keeps its one sudog in its own future (`ops.rs`) |
//! | `ops.rs` | `chansend`, `chanrecv` (blocking) | the send and receive futures |
//! | `select.rs` | `selectgo` | `select!`'s engine |
//! | `stream.rs` | | `Stream` for [`Receiver`], `Sink` for [`Sender`] |
//! | `blocking.rs` | | the `*_blocking` calls for plain threads |
//!
//! An unbuffered channel is a rendezvous: a send completes only when a
//! receiver takes the value, which is handed over directly and the
//! receiver woken (into the sender's P's runnext, so it runs next on the
//! same P). A buffered one is a ring of `cap` slots; a receive from a full
//! buffer takes the head and moves the first waiting sender's value into
//! the freed slot. Waiters are served first come, first served. Every
//! operation spends one unit of the goroutine's [coop](crate::coop) budget.
//!
//! # Where gpm departs from Go, and why
//! - **Errors instead of panics**: a send on a closed channel gives the
//!   value back in [`SendError`]; closing twice gives [`CloseError`].
//! - **A future can be dropped while it waits** (Go has no such thing): a
//!   dropped send takes its sudog out of the queue and its value drops with
//!   it (the send did not happen). A dropped receive (or `select!`) that
//!   had already been handed a value gives it back: to the next waiting
//!   receiver, else to the front of the buffer, where the next receive
//!   takes it first (so `len` may briefly exceed `cap`).
//! - **Completion is a word, not a park/ready pair**: a future may be
//!   polled when nobody woke it, so a waiter carries a state word (waiting,
//!   claimed by case `n`, done with case `n`) that the completing side
//!   publishes last; a plain send or receive needs no CAS on it, a select
//!   claims it with one (Go's `selectDone`).
//! - **The lock spins, then yields** instead of sleeping: its sections are
//!   a few moves and never block, and its unlock is a plain store, which
//!   matters when a ping-pong takes it twice per message.
//! - **Waking a select does not relock every channel**: the other cases'
//!   sudogs are taken out one channel at a time (the claim already decided
//!   the winner), not under all the locks at once as Go's `selectgo` does.

mod blocking;
mod error;
mod hchan;
mod lock;
mod ops;
#[doc(hidden)]
pub mod select;
mod stream;
#[cfg(test)]
mod tests;
mod waitq;

pub use error::{CloseError, SendError, TryRecvError, TrySendError};
pub(crate) use ops::giving_up;
pub use ops::{RecvFuture, SendFuture};
pub use select::{RecvCase, SendCase};

use hchan::{Attempt, Hchan};
use std::fmt;
use std::sync::Arc;

/// Makes a channel of `T` with room for `cap` values: Go's
/// `make(chan T, cap)`. `cap == 0` makes an unbuffered (rendezvous)
/// channel.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<&str>(2);
/// ch.send("a").await.unwrap();
/// ch.send("b").await.unwrap(); // buffered: neither send waits
/// assert_eq!((ch.len(), ch.cap()), (2, 2));
/// assert_eq!(ch.recv().await, Some("a"));
/// # });
/// ```
pub fn chan<T>(cap: usize) -> Chan<T> {
    Chan {
        inner: Arc::new(Hchan::new(cap)),
    }
}

/// Makes a timer's channel (Go 1.23's timer channels): it holds the value
/// of a timer that fired before anyone received, but reads as unbuffered
/// (`len` and `cap` 0), and only the timer sends on it.
pub(crate) fn timer_chan<T>() -> Chan<T> {
    Chan {
        inner: Arc::new(Hchan::new_timer()),
    }
}

/// A channel handle (Go's `chan T`): send, receive, close. Cheap to clone;
/// every clone is the same channel.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<u32>(0);
/// let echo = ch.clone();
/// gpm::go!(async move {
///     let v = echo.recv().await.unwrap();
///     echo.send(v + 1).await.unwrap();
/// });
/// ch.send(41).await.unwrap();
/// assert_eq!(ch.recv().await, Some(42));
/// # });
/// ```
pub struct Chan<T> {
    inner: Arc<Hchan<T>>,
}

impl<T> Chan<T> {
    /// Sends `value`: Go's `ch <- value`. Waits while the buffer is full
    /// (unbuffered: until a receiver takes the value). On a closed channel
    /// (or one closed while waiting), the value comes back in the error.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let ch = gpm::chan(1);
    /// ch.send(1).await.unwrap();
    /// ch.close().unwrap();
    /// assert_eq!(ch.send(2).await.unwrap_err().into_inner(), 2);
    /// # });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.inner, value)
    }

    /// Receives a value: Go's `v, ok := <-ch`. Waits while there is none;
    /// `None` once the channel is closed and its buffer drained.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let ch = gpm::chan(1);
    /// ch.send("hi").await.unwrap();
    /// ch.close().unwrap();
    /// assert_eq!(ch.recv().await, Some("hi")); // drained first
    /// assert_eq!(ch.recv().await, None);
    /// # });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.inner)
    }

    /// Sends without waiting (Go's `select` with a `default`).
    ///
    /// ```
    /// let ch = gpm::chan(1);
    /// assert!(ch.try_send(1).is_ok());
    /// assert!(ch.try_send(2).unwrap_err().is_full());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        try_send(&self.inner, value)
    }

    /// Receives without waiting (Go's `select` with a `default`).
    ///
    /// ```
    /// let ch = gpm::chan(1);
    /// ch.try_send(5).unwrap();
    /// assert_eq!(ch.try_recv(), Ok(5));
    /// assert_eq!(ch.try_recv(), Err(gpm::channel::TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        try_recv(&self.inner)
    }

    /// [`send`](Chan::send) from a plain thread: parks the thread until the
    /// send completes.
    ///
    /// ```
    /// # let rt = gpm::runtime::Runtime::new().unwrap();
    /// let ch = gpm::chan::<u32>(0);
    /// let rx = ch.clone();
    /// let handle = rt.spawn(async move { rx.recv().await });
    /// ch.send_blocking(7).unwrap();
    /// assert_eq!(rt.block_on(handle).unwrap(), Some(7));
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine (on a thread of a gpm runtime): use
    /// `send(v).await` there.
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        blocking::block_on("send_blocking", "send(value).await", self.send(value))
    }

    /// [`recv`](Chan::recv) from a plain thread: parks the thread until a
    /// value arrives or the channel is closed and drained.
    ///
    /// ```
    /// # let rt = gpm::runtime::Runtime::new().unwrap();
    /// let ch = gpm::chan::<u32>(0);
    /// let tx = ch.clone();
    /// rt.spawn(async move { tx.send(7).await.unwrap() });
    /// assert_eq!(ch.recv_blocking(), Some(7));
    /// ```
    ///
    /// # Panics
    /// Inside a goroutine (on a thread of a gpm runtime): use
    /// `recv().await` there.
    pub fn recv_blocking(&self) -> Option<T> {
        blocking::block_on("recv_blocking", "recv().await", self.recv())
    }

    /// Closes the channel: Go's `close(ch)`. Waiting receivers get `None`
    /// (once the buffer is drained), waiting senders get their values back.
    /// Closing twice returns an error.
    ///
    /// ```
    /// let ch = gpm::chan::<u8>(0);
    /// assert!(ch.close().is_ok());
    /// assert!(ch.is_closed());
    /// assert!(ch.close().is_err());
    /// ```
    pub fn close(&self) -> Result<(), CloseError> {
        self.inner.close()
    }

    /// True once the channel is closed (it may still hold buffered values).
    ///
    /// ```
    /// let ch = gpm::chan::<u8>(1);
    /// ch.try_send(1).unwrap();
    /// ch.close().unwrap();
    /// assert!(ch.is_closed());
    /// assert_eq!(ch.try_recv(), Ok(1));
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.lock().is_closed()
    }

    /// Values in the buffer: Go's `len(ch)`. A value a cancelled receive
    /// gave back counts too, so it can briefly exceed [`cap`](Chan::cap).
    /// Always 0 for a timer's channel (from [`time::after`](crate::time::after),
    /// [`time::tick`](crate::time::tick) or a [`Ticker`](crate::time::Ticker)),
    /// as in Go 1.23.
    ///
    /// ```
    /// let ch = gpm::chan::<u8>(4);
    /// ch.try_send(1).unwrap();
    /// ch.try_send(2).unwrap();
    /// assert_eq!(ch.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        if self.inner.is_timer() {
            return 0;
        }
        self.inner.lock().len()
    }

    /// True if no value is buffered.
    ///
    /// ```
    /// let ch = gpm::chan::<u8>(1);
    /// assert!(ch.is_empty());
    /// ch.try_send(1).unwrap();
    /// assert!(!ch.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer's size: Go's `cap(ch)`; 0 for an unbuffered channel, and
    /// for a timer's channel (as in Go 1.23).
    ///
    /// ```
    /// assert_eq!(gpm::chan::<u8>(0).cap(), 0);
    /// assert_eq!(gpm::chan::<u8>(8).cap(), 8);
    /// ```
    pub fn cap(&self) -> usize {
        if self.inner.is_timer() {
            return 0;
        }
        self.inner.cap()
    }

    /// A send-only handle to this channel (Go's `chan<- T`).
    ///
    /// ```
    /// let ch = gpm::chan::<u8>(1);
    /// let tx: gpm::channel::Sender<u8> = ch.sender();
    /// tx.try_send(3).unwrap();
    /// assert_eq!(ch.try_recv(), Ok(3));
    /// ```
    pub fn sender(&self) -> Sender<T> {
        Sender::new(self.clone())
    }

    /// A receive-only handle to this channel (Go's `<-chan T`); it is also
    /// a `Stream`.
    ///
    /// ```
    /// let ch = gpm::chan::<u8>(1);
    /// let rx: gpm::channel::Receiver<u8> = ch.receiver();
    /// ch.try_send(4).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(4));
    /// ```
    pub fn receiver(&self) -> Receiver<T> {
        Receiver::new(self.clone())
    }

    pub(crate) fn hchan(&self) -> &Hchan<T> {
        &self.inner
    }

    /// A handle that does not keep the channel alive (a timer's, so that
    /// the timer ends with its receivers).
    pub(crate) fn downgrade(&self) -> WeakChan<T> {
        WeakChan {
            inner: Arc::downgrade(&self.inner),
        }
    }
}

/// A handle to a channel that does not keep it alive.
pub(crate) struct WeakChan<T> {
    inner: std::sync::Weak<Hchan<T>>,
}

impl<T> WeakChan<T> {
    /// The channel, unless every strong handle is gone.
    pub(crate) fn upgrade(&self) -> Option<Chan<T>> {
        self.inner.upgrade().map(|inner| Chan { inner })
    }
}

fn try_send<T>(chan: &Hchan<T>, value: T) -> Result<(), TrySendError<T>> {
    chan.check_bubble("send on");
    let mut slot = Some(value);
    let mut locked = chan.lock();
    match locked.try_send(&mut slot) {
        Attempt::Done(waker) => {
            drop(locked);
            if let Some(waker) = waker {
                waker.wake();
            }
            Ok(())
        }
        Attempt::Closed => {
            drop(locked);
            Err(TrySendError::Closed(slot.expect("not sent")))
        }
        Attempt::Blocked => {
            drop(locked);
            Err(TrySendError::Full(slot.expect("not sent")))
        }
    }
}

fn try_recv<T>(chan: &Hchan<T>) -> Result<T, TryRecvError> {
    chan.check_bubble("receive on");
    let mut slot = None;
    let mut locked = chan.lock();
    match locked.try_recv(&mut slot) {
        Attempt::Done(waker) => {
            drop(locked);
            if let Some(waker) = waker {
                waker.wake();
            }
            Ok(slot.expect("received"))
        }
        Attempt::Closed => Err(TryRecvError::Closed),
        Attempt::Blocked => Err(TryRecvError::Empty),
    }
}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Chan<T> {
        Chan {
            inner: self.inner.clone(),
        }
    }
}

/// Handles are equal when they are the same channel (Go's `==` on channels).
impl<T> PartialEq for Chan<T> {
    fn eq(&self, other: &Chan<T>) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<T> Eq for Chan<T> {}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let closed = self.is_closed();
        f.debug_struct("Chan")
            .field("len", &self.len())
            .field("cap", &self.cap())
            .field("closed", &closed)
            .finish()
    }
}

/// A send-only handle (Go's `chan<- T`): send and close. Cheap to clone.
/// It is also a `futures_sink::Sink`, whose `close` closes the channel;
/// `tx.close()` is Go's close, so call the sink's as
/// `SinkExt::close(&mut tx).await` (see [`Sender::close`]).
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// async fn produce(out: gpm::channel::Sender<u32>) {
///     for i in 0..3 {
///         out.send(i).await.unwrap();
///     }
///     out.close().unwrap();
/// }
/// let ch = gpm::chan(3);
/// produce(ch.sender()).await;
/// assert_eq!(ch.len(), 3);
/// # });
/// ```
pub struct Sender<T> {
    chan: Chan<T>,
    /// The `Sink` adapter's pending send, made on first use.
    sink: stream::SinkState<T>,
}

impl<T> Sender<T> {
    fn new(chan: Chan<T>) -> Sender<T> {
        Sender {
            chan,
            sink: stream::SinkState::new(),
        }
    }

    /// As [`Chan::send`].
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        self.chan.send(value)
    }

    /// As [`Chan::try_send`].
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// As [`Chan::send_blocking`].
    ///
    /// # Panics
    /// Inside a goroutine: use `send(v).await` there.
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.send_blocking(value)
    }

    /// As [`Chan::close`]: Go's `close(ch)`, at once, without waiting.
    ///
    /// This inherent method is what `tx.close()` calls, not the `Sink`'s
    /// `close` (`futures::SinkExt::close`), so `tx.close().await` does not
    /// compile. The sink's close waits for the item handed to the sink
    /// (`feed`, `start_send`) to be sent, then closes the channel; call it
    /// by its trait's name (see [the module docs](crate::chan)):
    ///
    /// ```
    /// use futures::SinkExt;
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let ch = gpm::chan::<u8>(1);
    /// let mut tx = ch.sender();
    /// tx.feed(7).await.unwrap();
    /// SinkExt::close(&mut tx).await.unwrap(); // flush, then close(ch)
    /// assert_eq!(ch.recv().await, Some(7));
    /// assert!(tx.close().is_err()); // Go's close: already closed
    /// # });
    /// ```
    pub fn close(&self) -> Result<(), CloseError> {
        self.chan.close()
    }

    /// As [`Chan::is_closed`].
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// As [`Chan::len`].
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// As [`Chan::is_empty`].
    pub fn is_empty(&self) -> bool {
        self.chan.is_empty()
    }

    /// As [`Chan::cap`].
    pub fn cap(&self) -> usize {
        self.chan.cap()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender::new(self.chan.clone())
    }
}

impl<T> From<Chan<T>> for Sender<T> {
    fn from(chan: Chan<T>) -> Sender<T> {
        Sender::new(chan)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sender").field(&self.chan).finish()
    }
}

/// A receive-only handle (Go's `<-chan T`). Cheap to clone. It is also a
/// `futures_core::Stream` that ends when the channel is closed and drained.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan(2);
/// ch.send(1).await.unwrap();
/// ch.send(2).await.unwrap();
/// ch.close().unwrap();
/// let rx = ch.receiver();
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(rx.recv().await, Some(2));
/// assert_eq!(rx.recv().await, None);
/// # });
/// ```
pub struct Receiver<T> {
    chan: Chan<T>,
    /// The `Stream` adapter's receive, made on first use.
    stream: stream::StreamState<T>,
}

impl<T> Receiver<T> {
    fn new(chan: Chan<T>) -> Receiver<T> {
        Receiver {
            chan,
            stream: stream::StreamState::new(),
        }
    }

    /// As [`Chan::recv`].
    pub fn recv(&self) -> RecvFuture<'_, T> {
        self.chan.recv()
    }

    /// As [`Chan::try_recv`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// As [`Chan::recv_blocking`].
    ///
    /// # Panics
    /// Inside a goroutine: use `recv().await` there.
    pub fn recv_blocking(&self) -> Option<T> {
        self.chan.recv_blocking()
    }

    /// As [`Chan::is_closed`].
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// As [`Chan::len`].
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// As [`Chan::is_empty`].
    pub fn is_empty(&self) -> bool {
        self.chan.is_empty()
    }

    /// As [`Chan::cap`].
    pub fn cap(&self) -> usize {
        self.chan.cap()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        Receiver::new(self.chan.clone())
    }
}

impl<T> From<Chan<T>> for Receiver<T> {
    fn from(chan: Chan<T>) -> Receiver<T> {
        Receiver::new(chan)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Receiver").field(&self.chan).finish()
    }
}
