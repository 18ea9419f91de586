//! [`AsyncSocket`]: async `send`/`recv` on tokio (cargo feature `tokio`).
//!
//! There is no async machinery inside ferrozmq: a socket's [readiness
//! descriptors](Socket::readiness_fd) are ordinary level-triggered file descriptors,
//! and this adapter registers them with tokio's reactor through `AsyncFd`. Each
//! operation tries the non-blocking call first and waits for the descriptor only when
//! that would block, so a busy socket never touches the reactor. Receiving and sending
//! wait on separate descriptors, so a task waiting for room to send is not woken by
//! every arriving message.
//!
//! Any other executor that can wait for a file descriptor (async-io's `Async`, glib,
//! a hand-written epoll loop) can do the same with [`Socket::readiness_fd`] and
//! [`Socket::send_readiness_fd`].

use std::io;
use std::os::fd::RawFd;

use tokio::io::unix::AsyncFd;

use crate::error::{Error, Result, SendError};
use crate::message::Message;
use crate::socket::Socket;

/// A raw descriptor owned by the socket (AsyncFd needs an `AsRawFd` value).
struct Fd(RawFd);

impl std::os::fd::AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A [`Socket`] with async send and receive, for use inside a tokio runtime.
///
/// The methods take `&mut self`, so the futures are `Send` and can move between
/// threads with the task (a `Socket` is `Send` but not `Sync`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ferrozmq::{AsyncSocket, Context, SocketType};
///
/// let ctx = Context::new();
/// let rep = ctx.socket(SocketType::Rep)?;
/// rep.bind("inproc://async-doc")?;
/// let mut rep = AsyncSocket::new(rep)?;
/// let req = ctx.socket(SocketType::Req)?;
/// req.connect("inproc://async-doc")?;
/// let mut req = AsyncSocket::new(req)?;
///
/// let server = tokio::spawn(async move {
///     let request = rep.recv().await.unwrap();
///     rep.send(format!("re: {}", request.as_str().unwrap())).await.unwrap();
/// });
/// req.send("hello").await?;
/// assert_eq!(req.recv().await?, "re: hello");
/// server.await?;
/// # Ok(())
/// # }
/// ```
pub struct AsyncSocket {
    // Field order matters: the registrations drop (deregister) before the socket
    // closes the descriptors they refer to.
    readable: AsyncFd<Fd>,
    writable: AsyncFd<Fd>,
    socket: Socket,
}

impl AsyncSocket {
    /// Wraps `socket`. Must be called from within a tokio runtime (with I/O enabled).
    pub fn new(socket: Socket) -> io::Result<AsyncSocket> {
        let recv_fd = socket.readiness_fd();
        let send_fd = socket
            .send_readiness_fd()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let interest = tokio::io::Interest::READABLE;
        // SAFETY: both descriptors belong to `socket`, which this struct owns and drops
        // after the registrations (field order), so they stay open and unchanged for
        // the registrations' whole lives.
        let register = |fd| unsafe { AsyncFd::register_with_interest(Fd(fd), interest) };
        let readable = register(recv_fd).map_err(io::Error::from)?;
        let writable = register(send_fd).map_err(io::Error::from)?;
        Ok(AsyncSocket {
            readable,
            writable,
            socket,
        })
    }

    /// The socket, for options and anything not async.
    pub fn get_ref(&self) -> &Socket {
        &self.socket
    }

    /// Unwraps the socket.
    pub fn into_inner(self) -> Socket {
        let AsyncSocket { socket, .. } = self;
        socket
    }

    /// Receives the next frame.
    pub async fn recv(&mut self) -> Result<Message> {
        self.receive(Socket::try_recv).await
    }

    /// Receives a whole message.
    pub async fn recv_multipart(&mut self) -> Result<Vec<Message>> {
        self.receive(Socket::try_recv_multipart).await
    }

    /// Sends a one-frame message, waiting for room.
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<(), SendError<Message>> {
        self.transmit(msg.into(), Socket::try_send).await
    }

    /// Sends a multipart message, waiting for room.
    pub async fn send_multipart<I, M>(&mut self, parts: I) -> Result<(), SendError<Vec<Message>>>
    where
        I: IntoIterator<Item = M>,
        M: Into<Message>,
    {
        let parts: Vec<Message> = parts.into_iter().map(Into::into).collect();
        self.transmit(parts, |s, p| s.try_send_multipart(p)).await
    }

    /// Tries `attempt`, waiting for the receive descriptor while it would block.
    async fn receive<T>(&mut self, attempt: fn(&Socket) -> Result<T>) -> Result<T> {
        loop {
            let mut guard = self.readable.readable().await.map_err(Error::Io)?;
            match attempt(&self.socket) {
                Err(Error::WouldBlock) => guard.clear_ready(),
                other => return other,
            }
        }
    }

    /// Tries `attempt` with `msg`, waiting for the send descriptor while it would block
    /// (each refusal hands the message back for the next try).
    async fn transmit<M>(
        &mut self,
        mut msg: M,
        attempt: fn(&Socket, M) -> Result<(), SendError<M>>,
    ) -> Result<(), SendError<M>> {
        loop {
            let mut guard = match self.writable.readable().await {
                Ok(guard) => guard,
                Err(e) => {
                    return Err(SendError {
                        error: Error::Io(e),
                        message: msg,
                    })
                }
            };
            match attempt(&self.socket, msg) {
                Err(e) if matches!(e.error, Error::WouldBlock) => {
                    msg = e.message;
                    guard.clear_ready();
                }
                other => return other,
            }
        }
    }
}

impl std::fmt::Debug for AsyncSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSocket")
            .field("socket", &self.socket)
            .finish()
    }
}
