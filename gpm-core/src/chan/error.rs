//! The errors of channel operations.

use std::fmt;

/// A send on a closed channel: the value comes back.
///
/// Go panics on a send to a closed channel; gpm returns the value instead.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let ch = gpm::chan::<u32>(1);
/// ch.close().unwrap();
/// let err = ch.send(7).await.unwrap_err();
/// assert_eq!(err.into_inner(), 7);
/// # });
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError { .. }")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`try_send`](crate::chan::Chan::try_send) did not send; the value
/// comes back either way.
///
/// ```
/// let ch = gpm::chan::<u32>(1);
/// ch.try_send(1).unwrap();
/// assert!(matches!(ch.try_send(2), Err(gpm::channel::TrySendError::Full(2))));
/// ch.close().unwrap();
/// assert!(matches!(ch.try_send(3), Err(gpm::channel::TrySendError::Closed(3))));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The send would wait: the buffer is full (or, unbuffered, no receiver
    /// is waiting).
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// True for [`TrySendError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// True for [`TrySendError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("send on a full channel"),
            TrySendError::Closed(_) => f.write_str("send on closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> TrySendError<T> {
        TrySendError::Closed(e.0)
    }
}

/// Why [`try_recv`](crate::chan::Chan::try_recv) got no value.
///
/// ```
/// use gpm::channel::TryRecvError;
/// let ch = gpm::chan::<u32>(1);
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
/// ch.try_send(1).unwrap();
/// ch.close().unwrap();
/// assert_eq!(ch.try_recv(), Ok(1)); // a closed channel drains first
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// The receive would wait: nothing buffered and no sender waiting.
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receive on an empty channel"),
            TryRecvError::Closed => f.write_str("receive on a closed and empty channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// `close` of a channel that is already closed (Go panics; gpm reports it).
///
/// ```
/// let ch = gpm::chan::<()>(0);
/// assert!(ch.close().is_ok());
/// assert!(ch.close().is_err());
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct CloseError(pub(crate) ());

impl fmt::Display for CloseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("close of closed channel")
    }
}

impl std::error::Error for CloseError {}
