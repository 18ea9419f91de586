//! One byte-stream type over tcp and Unix-domain sockets.
//!
//! The connection glue is identical for both transports; this enum is the only place
//! that tells them apart.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::options::LinkOptions;

/// A connected stream.
pub enum Stream {
    /// TCP (with Nagle disabled).
    Tcp(TcpStream),
    /// A Unix-domain stream socket.
    Ipc(UnixStream),
}

impl Stream {
    /// Returns a pending asynchronous connect error, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Stream::Tcp(s) => s.take_error(),
            Stream::Ipc(s) => s.take_error(),
        }
    }

    /// Ok once a non-blocking connect has completed.
    pub fn check_connected(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(|_| ()),
            Stream::Ipc(s) => s.peer_addr().map(|_| ()),
        }
    }

    /// The peer's address, for monitor events.
    pub fn peer_description(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map(|a| format!("tcp://{a}"))
                .unwrap_or_default(),
            Stream::Ipc(_) => String::from("ipc"),
        }
    }

    /// Reads up to `want` bytes appended to `buf`, without zero-filling the space first.
    ///
    /// Zero-filling the spare capacity before each read (what a safe `Read::read`
    /// needs) doubled the memory traffic of large frames: measured on 64 KiB messages,
    /// reading straight into the spare capacity is what makes large-frame receive keep
    /// up with libzmq.
    pub fn read_into(&mut self, buf: &mut bytes::BytesMut, want: usize) -> io::Result<usize> {
        let fd = self.raw_fd();
        buf.reserve(want);
        let spare = buf.spare_capacity_mut();
        let len = want.min(spare.len());
        // SAFETY: `spare` is at least `len` bytes of writable memory owned by `buf` and
        // not aliased; read(2) writes at most `len` bytes into it.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), len) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        // SAFETY: the kernel initialised exactly the first `n` (<= `len`) spare bytes.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// True if a read would not block now: input, end of stream or an error is waiting.
    /// Asks the kernel without waiting (`poll` with a zero timeout).
    pub fn poll_readable(&self) -> bool {
        let mut fd = libc::pollfd {
            fd: self.raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `fd` is one valid pollfd and the count says so; poll(2) only writes
        // its `revents`.
        let ready = unsafe { libc::poll(&mut fd, 1, 0) };
        ready > 0 && fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
    }

    /// The file descriptor (monitor events report it, as libzmq's do).
    pub fn raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Ipc(s) => s.as_raw_fd(),
        }
    }

    /// Our address on the connection, for monitor events.
    pub fn local_description(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .local_addr()
                .map(|a| format!("tcp://{a}"))
                .unwrap_or_default(),
            Stream::Ipc(_) => String::from("ipc"),
        }
    }

    /// Sets the transport options: no Nagle delay on tcp (always), keepalive and
    /// buffer sizes as configured. Failures only lose the tuning, never the link.
    pub fn configure(&self, options: &LinkOptions) {
        let fd = self.raw_fd();
        if let Some(size) = options.send_buffer {
            set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, size as i32);
        }
        if let Some(size) = options.recv_buffer {
            set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size as i32);
        }
        let Stream::Tcp(s) = self else {
            return;
        };
        let _ = s.set_nodelay(true);
        let k = &options.tcp_keepalive;
        if let Some(on) = k.enabled {
            set_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, i32::from(on));
        }
        if let Some(count) = k.count {
            set_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, count as i32);
        }
        if let Some(idle) = k.idle {
            set_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs(idle));
        }
        if let Some(interval) = k.interval {
            set_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, secs(interval));
        }
    }
}

/// Whole seconds, at least 1 (what the keepalive socket options take).
fn secs(d: std::time::Duration) -> i32 {
    d.as_secs().clamp(1, i32::MAX as u64) as i32
}

/// Sets an integer socket option, ignoring failure (tuning only).
fn set_int(fd: RawFd, level: i32, name: i32, value: i32) {
    // SAFETY: `value` lives across the call and its size is passed; setsockopt only
    // reads it. An invalid fd or option makes the call fail, which we ignore.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Ipc(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Ipc(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Ipc(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Source for Stream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Ipc(s) => s.register(r, t, i),
        }
    }
    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Ipc(s) => s.reregister(r, t, i),
        }
    }
    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Ipc(s) => s.deregister(r),
        }
    }
}

/// A listening socket.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix-domain.
    Ipc(UnixListener),
}

impl Listener {
    /// The file descriptor.
    pub fn raw_fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Ipc(l) => l.as_raw_fd(),
        }
    }

    /// Accepts one pending connection.
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            Listener::Ipc(l) => l.accept().map(|(s, _)| Stream::Ipc(s)),
        }
    }
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(s) => s.register(r, t, i),
            Listener::Ipc(s) => s.register(r, t, i),
        }
    }
    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(s) => s.reregister(r, t, i),
            Listener::Ipc(s) => s.reregister(r, t, i),
        }
    }
    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(s) => s.deregister(r),
            Listener::Ipc(s) => s.deregister(r),
        }
    }
}
