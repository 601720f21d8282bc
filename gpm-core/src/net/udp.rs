//! UDP on the netpoller.

use super::{resolve, Registered};
use crate::sched::Direction;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// A UDP socket: datagrams to and from any address (`send_to` /
/// `recv_from`), or, once [`connect`](UdpSocket::connect)ed, to and from one
/// peer (`send` / `recv`). All methods take `&self`: share the socket
/// through an `Arc` to send and receive from different goroutines.
///
/// ```
/// # gpm::runtime::Runtime::new().unwrap().block_on(async {
/// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
/// let b = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
/// a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf).await.unwrap();
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// # });
/// ```
pub struct UdpSocket {
    io: Registered<std::net::UdpSocket>,
}

impl UdpSocket {
    super::deadline::deadline_methods!(
        stream,
        setup: "let s = gpm::net::UdpSocket::bind(\"127.0.0.1:0\").await.unwrap();",
        read: "s.recv_from(&mut [0; 8]).await",
        write: "s.send_to(b\"x\", s.local_addr().unwrap()).await"
    );

    /// Binds to the first address of `addr` that works (names are resolved
    /// without stalling the P).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert_ne!(socket.local_addr().unwrap().port(), 0);
    /// # });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let addrs = resolve(addr)?;
        UdpSocket::from_std(std::net::UdpSocket::bind(&addrs[..])?)
    }

    /// Wraps a std socket (set non-blocking here) and registers it with the
    /// current runtime.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let socket = gpm::net::UdpSocket::from_std(std_socket).unwrap();
    /// assert!(socket.local_addr().is_ok());
    /// # });
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: Registered::new(socket)?,
        })
    }

    /// Sets the socket's peer: `send` goes there, and only its datagrams
    /// are received. Tries the addresses of `addr` in turn (a UDP connect
    /// does not wait for anything).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let b = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.connect(b.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// # });
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addrs = resolve(addr)?;
        self.io.get().connect(&addrs[..])
    }

    /// Sends `buf` as one datagram to the connected peer; returns the bytes
    /// sent.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let b = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.connect(b.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(a.send(b"hey").await.unwrap(), 3);
    /// # });
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Waits for a datagram from the connected peer and copies it into
    /// `buf` (the excess of a longer datagram is discarded); returns its
    /// length.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let b = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// b.connect(a.local_addr().unwrap()).await.unwrap();
    /// a.send_to(b"hey", b.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// let n = b.recv(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"hey");
    /// # });
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// Like [`recv`](UdpSocket::recv), but leaves the datagram queued.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let b = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// b.connect(a.local_addr().unwrap()).await.unwrap();
    /// a.send_to(b"hey", b.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(b.peek(&mut buf).await.unwrap(), 3);
    /// assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
    /// # });
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.peek(buf))).await
    }

    /// Sends `buf` as one datagram to `target` (its first address: names
    /// are resolved without stalling the P); returns the bytes sent.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let port = a.local_addr().unwrap().port();
    /// assert_eq!(a.send_to(b"to myself", ("127.0.0.1", port)).await.unwrap(), 9);
    /// # });
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = resolve(target)?[0];
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Write, |s| s.send_to(buf, target))).await
    }

    /// Waits for a datagram and copies it into `buf` (the excess of a
    /// longer datagram is discarded); returns its length and sender.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.send_to(b"loop", a.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// let (n, from) = a.recv_from(&mut buf).await.unwrap();
    /// assert_eq!((&buf[..n], from), (&b"loop"[..], a.local_addr().unwrap()));
    /// # });
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))).await
    }

    /// Like [`recv_from`](UdpSocket::recv_from), but leaves the datagram
    /// queued.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let a = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// a.send_to(b"loop", a.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// let peeked = a.peek_from(&mut buf).await.unwrap();
    /// assert_eq!(a.recv_from(&mut buf).await.unwrap(), peeked);
    /// # });
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.peek_from(buf))).await
    }

    /// The address this socket is bound to.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(socket.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The connected peer's address (`NotConnected` before
    /// [`connect`](UdpSocket::connect)).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert_eq!(socket.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Sets `SO_BROADCAST` (may send to a broadcast address).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.set_broadcast(true).unwrap();
    /// assert!(socket.broadcast().unwrap());
    /// # });
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(!socket.broadcast().unwrap());
    /// # });
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get().broadcast()
    }

    /// Sets `IP_TTL` (the time-to-live of sent datagrams).
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// socket.set_ttl(42).unwrap();
    /// assert_eq!(socket.ttl().unwrap(), 42);
    /// # });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }

    /// The value of `IP_TTL`.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(socket.ttl().unwrap() > 0);
    /// # });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), e.g. an ICMP "port
    /// unreachable" reported for an earlier datagram.
    ///
    /// ```
    /// # gpm::runtime::Runtime::new().unwrap().block_on(async {
    /// let socket = gpm::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// assert!(socket.take_error().unwrap().is_none());
    /// # });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
