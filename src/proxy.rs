//! [`proxy`] and [`proxy_steerable`]: shuttle messages between two sockets, as libzmq's
//! `zmq_proxy` does — a forwarder (XSUB ↔ XPUB), a broker (ROUTER ↔ DEALER), a
//! streamer (PULL → PUSH).
//!
//! Both directions share one thread and one [`Poller`]. A message is moved whole
//! (multipart frames stay together) and never blocks the proxy: when the destination
//! is full, the message is held and the proxy watches the destination for room while it
//! stops reading that direction's source, so back-pressure reaches the sender and the
//! other direction keeps flowing. Up to [`BATCH`] messages move per direction per
//! wake-up, so a busy proxy polls rarely.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::message::Message;
use crate::poller::{Interest, Poller};
use crate::socket::Socket;
use crate::SocketType;

/// Messages moved in one direction before the proxy looks at the other one.
const BATCH: usize = 256;

/// Traffic through one side of a proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Messages received from this side's socket.
    pub messages_in: u64,
    /// Bytes (all frames) received from this side's socket.
    pub bytes_in: u64,
    /// Messages sent to this side's socket.
    pub messages_out: u64,
    /// Bytes sent to this side's socket.
    pub bytes_out: u64,
}

/// What a steerable proxy reports for `STATISTICS`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStatistics {
    /// The frontend socket's traffic.
    pub frontend: Traffic,
    /// The backend socket's traffic.
    pub backend: Traffic,
}

impl ProxyStatistics {
    /// The eight counters in libzmq's reply order: frontend messages in, bytes in,
    /// messages out, bytes out, then the same for the backend.
    pub fn to_array(&self) -> [u64; 8] {
        let (f, b) = (&self.frontend, &self.backend);
        [
            f.messages_in,
            f.bytes_in,
            f.messages_out,
            f.bytes_out,
            b.messages_in,
            b.bytes_in,
            b.messages_out,
            b.bytes_out,
        ]
    }
}

/// Runs a proxy between `frontend` and `backend` on the calling thread, forever (or
/// until a socket fails). Every message forwarded in either direction is also sent to
/// `capture`, if given, without ever blocking (it is dropped there when full).
///
/// ```no_run
/// use ferrozmq::{proxy, Context, SocketType};
///
/// // A forwarder: publishers connect to 5555, subscribers to 5556.
/// let ctx = Context::new();
/// let frontend = ctx.socket(SocketType::XSub)?;
/// frontend.bind("tcp://*:5555")?;
/// let backend = ctx.socket(SocketType::XPub)?;
/// backend.bind("tcp://*:5556")?;
/// proxy(&frontend, &backend, None)?;
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub fn proxy(frontend: &Socket, backend: &Socket, capture: Option<&Socket>) -> Result<()> {
    Proxy::new(frontend, backend, capture).run(None)
}

/// Like [`proxy`], steered through `control`: a message `PAUSE` stops forwarding,
/// `RESUME` resumes it, `TERMINATE` makes the function return `Ok(())`, and
/// `STATISTICS` is answered with eight frames of 8-byte native-endian counters (see
/// [`ProxyStatistics::to_array`]), as libzmq does. If `control` is a REP socket every
/// other command is answered with an empty message so that the requester can go on;
/// unknown commands are ignored.
pub fn proxy_steerable(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: &Socket,
) -> Result<()> {
    Proxy::new(frontend, backend, capture).run(Some(control))
}

/// One direction's state: a message that found its destination full.
type Held = Option<Vec<Message>>;

struct Proxy<'a> {
    sockets: [&'a Socket; 2],
    capture: Option<&'a Socket>,
    /// Held messages, indexed by the side they came from.
    held: [Held; 2],
    traffic: [Traffic; 2],
    /// Whether each side's socket type can receive at all (a PUSH backend can't).
    receives: [bool; 2],
    paused: bool,
}

impl<'a> Proxy<'a> {
    fn new(frontend: &'a Socket, backend: &'a Socket, capture: Option<&'a Socket>) -> Self {
        Proxy {
            sockets: [frontend, backend],
            capture,
            held: [None, None],
            traffic: [Traffic::default(); 2],
            receives: [frontend, backend].map(|s| can_receive(s.socket_type())),
            paused: false,
        }
    }

    fn run(mut self, control: Option<&Socket>) -> Result<()> {
        let mut poller = Poller::new();
        let front = poller.add(self.sockets[0], Interest::READABLE);
        let back = poller.add(self.sockets[1], Interest::READABLE);
        let ctl = control.map(|c| poller.add(c, Interest::READABLE));
        loop {
            for (side, index) in [(0, front), (1, back)] {
                poller.set_interest(index, self.interest(side));
            }
            poller.poll(None);
            if let (Some(control), Some(ctl)) = (control, ctl) {
                if poller.events(ctl).readable && self.command(control)? {
                    return Ok(());
                }
            }
            if !self.paused {
                self.forward(0)?;
                self.forward(1)?;
            }
        }
    }

    /// A side is read while its direction holds nothing, and watched for room while the
    /// other direction holds a message for it.
    fn interest(&self, side: usize) -> Interest {
        if self.paused {
            return Interest::default();
        }
        Interest {
            readable: self.receives[side] && self.held[side].is_none(),
            writable: self.held[1 - side].is_some(),
        }
    }

    /// Moves up to a batch of messages from `from` to the other side.
    fn forward(&mut self, from: usize) -> Result<()> {
        if !self.receives[from] {
            return Ok(());
        }
        let (src, dst) = (self.sockets[from], self.sockets[1 - from]);
        for _ in 0..BATCH {
            let msg = match self.held[from].take() {
                Some(msg) => msg,
                None => match src.try_recv_multipart() {
                    Ok(msg) => {
                        let t = &mut self.traffic[from];
                        t.messages_in += 1;
                        t.bytes_in += byte_len(&msg);
                        // Captured once, as it comes in (not again if it has to wait).
                        if let Some(capture) = self.capture {
                            let _ = capture.try_send_multipart(msg.iter().cloned());
                        }
                        msg
                    }
                    Err(Error::WouldBlock) => return Ok(()),
                    Err(e) => return Err(e),
                },
            };
            let bytes = byte_len(&msg);
            match dst.try_send_multipart(msg) {
                Ok(()) => {
                    let t = &mut self.traffic[1 - from];
                    t.messages_out += 1;
                    t.bytes_out += bytes;
                }
                Err(e) if matches!(e.error, Error::WouldBlock) => {
                    self.held[from] = Some(e.message);
                    return Ok(());
                }
                // A message the destination refuses for good (ROUTER_MANDATORY and an
                // unknown peer) is dropped, as libzmq's proxy does.
                Err(e) if matches!(e.error, Error::HostUnreachable) => {}
                Err(e) => return Err(e.error),
            }
        }
        Ok(())
    }

    /// Handles one control message; true on TERMINATE.
    fn command(&mut self, control: &Socket) -> Result<bool> {
        let msg = match control.try_recv_multipart() {
            Ok(msg) => msg,
            Err(Error::WouldBlock) => return Ok(false),
            Err(e) => return Err(e),
        };
        let replies = control.socket_type() == SocketType::Rep;
        let mut terminate = false;
        match msg.first().map(|m| &m[..]) {
            Some(b"PAUSE") => self.paused = true,
            Some(b"RESUME") => self.paused = false,
            Some(b"TERMINATE") => terminate = true,
            Some(b"STATISTICS") => {
                let stats = ProxyStatistics {
                    frontend: self.traffic[0],
                    backend: self.traffic[1],
                };
                let frames = stats.to_array().map(|n| n.to_ne_bytes().to_vec());
                send_reply(control, frames.to_vec())?;
                return Ok(false);
            }
            _ => {}
        }
        if replies {
            send_reply(control, vec![Vec::new()])?;
        }
        Ok(terminate)
    }
}

fn send_reply(control: &Socket, frames: Vec<Vec<u8>>) -> Result<()> {
    // A steering client that went away must not stall the proxy for long.
    let timeout = Duration::from_secs(1);
    let previous = control.send_timeout();
    control.set_send_timeout(Some(timeout));
    let sent = control.send_multipart(frames).map_err(|e| e.error);
    control.set_send_timeout(previous);
    match sent {
        Ok(()) | Err(Error::TimedOut) | Err(Error::WouldBlock) => Ok(()),
        Err(e) => Err(e),
    }
}

fn can_receive(socket_type: SocketType) -> bool {
    !matches!(socket_type, SocketType::Push | SocketType::Pub)
}

fn byte_len(msg: &[Message]) -> u64 {
    msg.iter().map(|f| f.len() as u64).sum()
}
