//! [`Compat`] between tokio's and futures-io's IO traits, both ways.
//!
//! futures-io → tokio: tokio reads into a `ReadBuf` (a buffer that tracks
//! how much of it is initialised and filled), futures-io into a plain
//! `&mut [u8]`: the unfilled part is initialised (once; `ReadBuf` remembers)
//! and handed over. `poll_shutdown` is `poll_close`.
//!
//! tokio → futures-io: the slice becomes a fresh `ReadBuf`, and the polls of
//! the tokio object run with the tokio context set (some tokio IO types
//! start timers or tasks lazily, in a poll).

use super::{with_tokio, Compat};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// tokio's `AsyncRead` for a futures-io reader.
///
/// ```
/// use gpm_compat::tokio::TokioCompatExt;
/// use tokio::io::AsyncReadExt;
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     let mut reader = futures::io::Cursor::new(b"bytes".to_vec()).tokio_compat();
///     let mut out = String::new();
///     reader.read_to_string(&mut out).await?;
///     assert_eq!(out, "bytes");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<T: futures_io::AsyncRead> ::tokio::io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ::tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self.get_pin_mut().poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// tokio's `AsyncWrite` for a futures-io writer.
///
/// ```
/// use gpm_compat::tokio::TokioCompatExt;
/// use tokio::io::AsyncWriteExt;
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     let mut writer = futures::io::Cursor::new(Vec::new()).tokio_compat();
///     writer.write_all(b"bytes").await?;
///     writer.shutdown().await?;
///     assert_eq!(writer.get_ref().get_ref(), b"bytes");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<T: futures_io::AsyncWrite> ::tokio::io::AsyncWrite for Compat<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // futures-io cannot tell; its default `poll_write_vectored` writes
        // the first non-empty slice, which is what tokio's default does too.
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_close(cx)
    }
}

/// tokio's `AsyncBufRead` for a futures-io buffered reader.
///
/// ```
/// use gpm_compat::tokio::TokioCompatExt;
/// use tokio::io::AsyncBufReadExt;
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     let mut lines = futures::io::Cursor::new(b"a\nb\n".to_vec()).tokio_compat().lines();
///     assert_eq!(lines.next_line().await?.as_deref(), Some("a"));
///     assert_eq!(lines.next_line().await?.as_deref(), Some("b"));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<T: futures_io::AsyncBufRead> ::tokio::io::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_pin_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_pin_mut().consume(amt)
    }
}

/// futures-io's `AsyncRead` for a tokio reader.
///
/// ```
/// use futures::AsyncReadExt;
/// use gpm_compat::tokio::TokioCompatExt;
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     let mut reader = std::io::Cursor::new(b"bytes".to_vec()).tokio_compat();
///     # // std's Cursor implements tokio's AsyncRead (and not futures-io's).
///     let mut out = String::new();
///     reader.read_to_string(&mut out).await?;
///     assert_eq!(out, "bytes");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<T: ::tokio::io::AsyncRead> futures_io::AsyncRead for Compat<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = ::tokio::io::ReadBuf::new(buf);
        let inner = self.enter_pin_mut();
        ready!(with_tokio(|| inner.poll_read(cx, &mut buf)))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

/// futures-io's `AsyncWrite` for a tokio writer.
///
/// ```
/// use futures::AsyncWriteExt;
/// use gpm_compat::tokio::TokioCompatExt;
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     // tokio's in-memory pipe, driven through futures' extension traits.
///     let (client, mut server) = tokio::io::duplex(64);
///     let mut client = client.tokio_compat();
///     client.write_all(b"ping").await?;
///     client.close().await?;
///     let mut out = Vec::new();
///     tokio::io::AsyncReadExt::read_to_end(&mut server, &mut out).await?;
///     assert_eq!(out, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<T: ::tokio::io::AsyncWrite> futures_io::AsyncWrite for Compat<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let inner = self.enter_pin_mut();
        with_tokio(|| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let inner = self.enter_pin_mut();
        with_tokio(|| inner.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.enter_pin_mut();
        with_tokio(|| inner.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.enter_pin_mut();
        with_tokio(|| inner.poll_shutdown(cx))
    }
}

/// futures-io's `AsyncBufRead` for a tokio buffered reader.
///
/// ```
/// use futures::AsyncBufReadExt;
/// use gpm_compat::tokio::TokioCompatExt;
///
/// gpm::runtime::Runtime::new()?.block_on(async {
///     let reader = tokio::io::BufReader::new(std::io::Cursor::new(b"a\nb\n".to_vec()));
///     let mut line = String::new();
///     reader.tokio_compat().read_line(&mut line).await?;
///     assert_eq!(line, "a\n");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl<T: ::tokio::io::AsyncBufRead> futures_io::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let inner = self.enter_pin_mut();
        with_tokio(|| inner.poll_fill_buf(cx))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_pin_mut().consume(amt)
    }
}
