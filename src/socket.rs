//! [`Socket`]: the blocking, user-facing end of a messaging pattern.
//!
//! A socket owns its pattern (the socket type's routing rules over its pipes) and
//! turns the pattern's non-blocking "would block" into waiting on the socket's
//! [`Signal`](ferrozmq_patterns::Signal), which every pipe wakes on the transitions that
//! matter (empty to non-empty inbound, full to not-full outbound) and which new peers
//! wake too. Nothing here touches the network: bind and connect hand the work to an
//! I/O thread or, for inproc, join two sockets' pipes directly.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrozmq_patterns::{
    Dealer, Inbox, Msg, Pair, Pattern, PatternOption, PipeEnd, PipeId, Pull, Push, RecvErrorKind,
    Rep, Req, Router, SendErrorKind, Xpub, Xsub,
};
use ferrozmq_transports::{
    Endpoint, EndpointHandle, EventKind, EventMask, InprocPeer, Monitor, ReconnectStop,
    SocketEvent, SocketLink, TcpKeepalive,
};

use crate::context::Context;
use crate::error::{Error, Result, SendError};
use crate::message::Message;
use crate::options::Options;
use crate::readiness::ReadinessFd;
use crate::SocketType;

/// Flags for [`Socket::send_with`], as libzmq's `ZMQ_DONTWAIT` and `ZMQ_SNDMORE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendFlags {
    /// Fail with [`Error::WouldBlock`] instead of waiting.
    pub dont_wait: bool,
    /// More frames of this message follow.
    pub more: bool,
}

impl SendFlags {
    /// Block, last frame.
    pub const NONE: SendFlags = SendFlags {
        dont_wait: false,
        more: false,
    };
    /// Don't block.
    pub const DONT_WAIT: SendFlags = SendFlags {
        dont_wait: true,
        more: false,
    };
    /// More frames follow.
    pub const MORE: SendFlags = SendFlags {
        dont_wait: false,
        more: true,
    };
}

enum Attachment {
    Transport(EndpointHandle),
    Inproc { name: String, pipe: Option<PipeId> },
}

struct EndpointEntry {
    /// As given by the user.
    requested: String,
    /// As resolved (`*` port replaced).
    resolved: String,
    bound: bool,
    attachment: Attachment,
    /// The pipe created for a connect (to drop on disconnect).
    pipe: Option<PipeId>,
}

/// How long a receive that waits for the answer to what the socket just sent looks
/// for it on the wire itself before it sleeps. A reply within this time costs no
/// thread wake-up; the price is a spinning thread, bounded by this. It covers a
/// 64 KiB round trip over loopback on this machine kind.
const REPLY_PROBE: Duration = Duration::from_micros(100);

struct Core {
    socket_type: SocketType,
    pattern: Box<dyn Pattern>,
    inbox: Arc<Inbox>,
    monitor: Arc<Monitor>,
    options: Options,
    endpoints: Vec<EndpointEntry>,
    adopt: Vec<PipeEnd>,
    /// Frames of an outgoing message sent with `more` so far.
    partial_send: Option<Msg>,
    /// Frames of the message being received frame by frame.
    partial_recv: VecDeque<Bytes>,
    last_endpoint: String,
    /// Whole messages sent and received.
    sent: u64,
    received: u64,
    /// The readiness descriptor, and whether it is in use (observing the signal).
    readiness: Arc<ReadinessFd>,
    readiness_armed: bool,
    fd_send_interest: bool,
    /// A second descriptor for room to send only, made on demand (async senders).
    send_readiness: Option<Arc<ReadinessFd>>,
}

/// Readiness of a socket: [`Socket::events`], and what a [`Poller`](crate::Poller)
/// reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// A receive would return a message now.
    pub readable: bool,
    /// A send would not block now.
    pub writable: bool,
}

/// What a socket has done so far, readable at any time ([`Socket::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketStats {
    /// Whole messages the application sent (accepted by the socket).
    pub messages_sent: u64,
    /// Whole messages the application received.
    pub messages_received: u64,
    /// Messages accepted and then discarded as the socket type's semantics allow: PUB
    /// and XPUB at a subscriber's high-water mark (counted once per subscriber that
    /// missed it), ROUTER for an unknown or full peer without ROUTER_MANDATORY, XSUB
    /// for a full publisher.
    pub dropped: u64,
    /// Outgoing connections established.
    pub connected: u64,
    /// Incoming connections accepted.
    pub accepted: u64,
    /// Connect attempts that failed, and dropped links, that were retried.
    pub reconnect_attempts: u64,
    /// Established links that ended.
    pub disconnects: u64,
    /// Handshakes that failed (wrong protocol, wrong socket type, timeout).
    pub handshake_failures: u64,
    /// Monitor events lost because a [`MonitorEvents`] stream was not read in time.
    pub monitor_events_dropped: u64,
}

/// A stream of a socket's connection events ([`Socket::monitor`]).
#[derive(Debug)]
pub struct MonitorEvents(crossbeam_channel::Receiver<SocketEvent>);

impl MonitorEvents {
    /// The next event, waiting for it; `None` once the socket has closed and
    /// everything was read.
    pub fn recv(&self) -> Option<SocketEvent> {
        self.0.recv().ok()
    }

    /// The next event if it comes within `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<SocketEvent> {
        self.0.recv_timeout(timeout).ok()
    }

    /// The next event if there is one now.
    pub fn try_recv(&self) -> Option<SocketEvent> {
        self.0.try_recv().ok()
    }
}

impl Iterator for MonitorEvents {
    type Item = SocketEvent;
    fn next(&mut self) -> Option<SocketEvent> {
        self.recv()
    }
}

/// A ZeroMQ socket of one type (REQ, REP, PUSH, ...).
///
/// Sockets are `Send` (move them to the thread that uses them) but not `Sync`: one
/// thread at a time sends and receives, as with libzmq. Sends and receives block by
/// default; `try_*` variants and [`SendFlags::DONT_WAIT`] never block, and the send
/// and receive timeouts bound the wait.
///
/// Dropping the socket closes it: bound endpoints are released at once, and messages
/// already sent are still delivered within the linger period.
///
/// A socket can't be shared between threads by reference:
///
/// ```compile_fail
/// fn needs_sync<T: Sync>(_: &T) {}
/// let ctx = ferrozmq::Context::new();
/// let socket = ctx.socket(ferrozmq::SocketType::Pair).unwrap();
/// needs_sync(&socket);
/// ```
pub struct Socket {
    core: RefCell<Core>,
    ctx: Context,
    /// A readiness descriptor is in use: sends and receives must settle it. Kept
    /// outside the `RefCell` so that the check costs one load on the hot paths.
    fds_in_use: Cell<bool>,
}

impl Socket {
    pub(crate) fn new(ctx: Context, socket_type: SocketType) -> Result<Socket> {
        let inbox = Inbox::new();
        let pattern: Box<dyn Pattern> = match socket_type {
            SocketType::Pair => Box::new(Pair::new()),
            SocketType::Push => Box::<Push>::default(),
            SocketType::Pull => Box::<Pull>::default(),
            SocketType::Req => Box::<Req>::default(),
            SocketType::Rep => Box::<Rep>::default(),
            SocketType::Dealer => Box::<Dealer>::default(),
            SocketType::Router => Box::<Router>::default(),
            SocketType::Pub => Box::new(Xpub::publisher(inbox.signal().clone())),
            SocketType::XPub => Box::new(Xpub::extended(inbox.signal().clone())),
            SocketType::Sub => Box::new(Xsub::subscriber()),
            SocketType::XSub => Box::new(Xsub::extended()),
        };
        Ok(Socket {
            fds_in_use: Cell::new(false),
            core: RefCell::new(Core {
                socket_type,
                pattern,
                inbox,
                monitor: Arc::new(Monitor::default()),
                options: Options::for_type(socket_type),
                endpoints: Vec::new(),
                adopt: Vec::new(),
                partial_send: None,
                partial_recv: VecDeque::new(),
                last_endpoint: String::new(),
                sent: 0,
                received: 0,
                readiness: Arc::new(ReadinessFd::new().map_err(Error::Io)?),
                readiness_armed: false,
                fd_send_interest: false,
                send_readiness: None,
            }),
            ctx,
        })
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.core.borrow().socket_type
    }

    /// Binds to an endpoint: `tcp://interface:port` (`*` for all interfaces, port `*`
    /// for any free one; read it back with [`last_endpoint`](Socket::last_endpoint)),
    /// `ipc:///path` or `inproc://name`.
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        let parsed: Endpoint = endpoint.parse()?;
        let mut core = self.core.borrow_mut();
        let entry = match &parsed {
            Endpoint::Inproc(name) => {
                let peer = core.inproc_peer();
                self.ctx.inner.inproc.lock().bind(name, peer)?;
                EndpointEntry {
                    requested: endpoint.to_string(),
                    resolved: parsed.to_string(),
                    bound: true,
                    attachment: Attachment::Inproc {
                        name: name.clone(),
                        pipe: None,
                    },
                    pipe: None,
                }
            }
            _ => {
                let link = core.link();
                let (resolved, handle) =
                    ferrozmq_transports::bind(self.ctx.pick_reactor(), &parsed, link)?;
                EndpointEntry {
                    requested: endpoint.to_string(),
                    resolved,
                    bound: true,
                    attachment: Attachment::Transport(handle),
                    pipe: None,
                }
            }
        };
        core.last_endpoint = entry.resolved.clone();
        core.endpoints.push(entry);
        core.adopt_new_pipes();
        Ok(())
    }

    /// Connects to an endpoint. The peer need not exist yet: tcp and ipc connections are
    /// retried every reconnect interval, inproc ones complete when the name is bound, and
    /// messages sent meanwhile are queued (up to the high-water mark).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        let parsed: Endpoint = endpoint.parse()?;
        let mut core = self.core.borrow_mut();
        let entry = match &parsed {
            Endpoint::Inproc(name) => {
                let peer = core.inproc_peer();
                let pipe = self.ctx.inner.inproc.lock().connect(name, &peer)?;
                let id = pipe.id;
                core.pattern.attach(pipe);
                EndpointEntry {
                    requested: endpoint.to_string(),
                    resolved: parsed.to_string(),
                    bound: false,
                    attachment: Attachment::Inproc {
                        name: name.clone(),
                        pipe: Some(id),
                    },
                    pipe: Some(id),
                }
            }
            _ => {
                let link = core.link();
                // CONNECT_ROUTING_ID names the peer of this one connect only.
                core.options.link.connect_routing_id = None;
                let (handle, pipe) =
                    ferrozmq_transports::connect(self.ctx.pick_reactor(), &parsed, link)?;
                let id = pipe.as_ref().map(|p| p.id);
                if let Some(pipe) = pipe {
                    core.pattern.attach(pipe);
                }
                EndpointEntry {
                    requested: endpoint.to_string(),
                    resolved: parsed.to_string(),
                    bound: false,
                    attachment: Attachment::Transport(handle),
                    pipe: id,
                }
            }
        };
        core.last_endpoint = entry.resolved.clone();
        core.endpoints.push(entry);
        Ok(())
    }

    /// Stops listening on an endpoint given to [`bind`](Socket::bind) (as given, or as
    /// resolved). Connections already accepted stay up.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        let mut core = self.core.borrow_mut();
        let entry = core.take_endpoint(endpoint, true)?;
        self.release(&mut core, entry.attachment);
        Ok(())
    }

    /// Drops the connection to an endpoint given to [`connect`](Socket::connect),
    /// discarding messages still queued for it.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        let mut core = self.core.borrow_mut();
        let entry = core.take_endpoint(endpoint, false)?;
        if let Some(id) = entry.pipe {
            core.pattern.detach(id);
        }
        self.release(&mut core, entry.attachment);
        Ok(())
    }

    fn release(&self, core: &mut Core, attachment: Attachment) {
        match attachment {
            Attachment::Transport(handle) => handle.stop(),
            Attachment::Inproc { name, pipe } => {
                let mut registry = self.ctx.inner.inproc.lock();
                match pipe {
                    Some(id) => registry.cancel_pending(&name, id),
                    None => {
                        registry.unbind(&name, &core.inbox);
                    }
                }
            }
        }
    }

    /// The endpoint of the last successful bind or connect, with a `*` port resolved.
    pub fn last_endpoint(&self) -> String {
        self.core.borrow().last_endpoint.clone()
    }

    // ----- sending -----

    /// Sends a one-frame message (or the last frame of a multipart one), blocking while
    /// the pattern has no room (up to the send timeout).
    pub fn send(&self, msg: impl Into<Message>) -> Result<(), SendError<Message>> {
        self.send_with(msg, SendFlags::NONE)
    }

    /// Sends a frame with more to follow in the same message.
    pub fn send_more(&self, msg: impl Into<Message>) -> Result<(), SendError<Message>> {
        self.send_with(msg, SendFlags::MORE)
    }

    /// Sends without blocking; on [`Error::WouldBlock`] the frame is handed back.
    pub fn try_send(&self, msg: impl Into<Message>) -> Result<(), SendError<Message>> {
        self.send_with(msg, SendFlags::DONT_WAIT)
    }

    /// Sends one frame with explicit flags. Frames sent with `more` are held until the
    /// last frame, and the whole message then goes out atomically. A message the socket
    /// can't send now (REQ/REP order, ROUTER_MANDATORY with an unknown id) fails on its
    /// first frame. If the last frame only finds no room ([`Error::WouldBlock`],
    /// [`Error::TimedOut`]), it is handed back and the earlier frames stay pending, so
    /// retrying it completes the message.
    pub fn send_with(
        &self,
        msg: impl Into<Message>,
        flags: SendFlags,
    ) -> Result<(), SendError<Message>> {
        let result = self.send_frame(msg.into().0, flags);
        self.settle_readiness();
        result
    }

    fn send_frame(&self, frame: Bytes, flags: SendFlags) -> Result<(), SendError<Message>> {
        let mut core = self.core.borrow_mut();
        if core.partial_send.is_none() {
            core.adopt_new_pipes();
            if let Err(kind) = core.pattern.check_send(&frame) {
                return Err(SendError {
                    error: send_error(kind),
                    message: Message(frame),
                });
            }
        }
        if flags.more {
            match &mut core.partial_send {
                Some(m) => m.push(frame),
                None => core.partial_send = Some(Msg::single(frame)),
            }
            return Ok(());
        }
        let whole = match core.partial_send.take() {
            Some(mut m) => {
                m.push(frame);
                m
            }
            None => Msg::single(frame),
        };
        core.send_msg(whole, flags.dont_wait)
            .map_err(|(error, msg)| {
                let mut frames: Vec<Bytes> = msg.into_frames().collect();
                let last = frames.pop().unwrap_or_default();
                if matches!(error, Error::WouldBlock | Error::TimedOut) {
                    core.partial_send = Msg::from_frames(frames);
                }
                SendError {
                    error,
                    message: Message(last),
                }
            })
    }

    /// Sends all `parts` as one multipart message, blocking as [`send`](Socket::send) does.
    pub fn send_multipart<I, M>(&self, parts: I) -> Result<(), SendError<Vec<Message>>>
    where
        I: IntoIterator<Item = M>,
        M: Into<Message>,
    {
        self.send_multipart_with(parts, false)
    }

    /// Sends all `parts` as one multipart message without blocking.
    pub fn try_send_multipart<I, M>(&self, parts: I) -> Result<(), SendError<Vec<Message>>>
    where
        I: IntoIterator<Item = M>,
        M: Into<Message>,
    {
        self.send_multipart_with(parts, true)
    }

    fn send_multipart_with<I, M>(
        &self,
        parts: I,
        dont_wait: bool,
    ) -> Result<(), SendError<Vec<Message>>>
    where
        I: IntoIterator<Item = M>,
        M: Into<Message>,
    {
        let result = self.send_whole(parts, dont_wait);
        self.settle_readiness();
        result
    }

    fn send_whole<I, M>(&self, parts: I, dont_wait: bool) -> Result<(), SendError<Vec<Message>>>
    where
        I: IntoIterator<Item = M>,
        M: Into<Message>,
    {
        let mut core = self.core.borrow_mut();
        let frames = parts.into_iter().map(|p| p.into().0);
        let msg = match core.partial_send.take() {
            Some(mut m) => {
                m.extend(frames);
                Some(m)
            }
            None => Msg::from_frames(frames),
        };
        let Some(msg) = msg else {
            return Err(SendError {
                error: Error::InvalidOption("a message needs at least one frame"),
                message: Vec::new(),
            });
        };
        core.send_msg(msg, dont_wait)
            .map_err(|(error, msg)| SendError {
                error,
                message: msg.into_frames().map(Message).collect(),
            })
    }

    // ----- receiving -----

    /// Receives the next frame, blocking until one arrives (up to the receive timeout).
    /// [`more`](Socket::more) tells whether further frames of the same message follow.
    pub fn recv(&self) -> Result<Message> {
        self.recv_frame(false)
    }

    /// Receives the next frame without blocking ([`Error::WouldBlock`] if none).
    pub fn try_recv(&self) -> Result<Message> {
        self.recv_frame(true)
    }

    /// Receives a frame as a UTF-8 string; `Ok(Err(bytes))` if it is not UTF-8.
    pub fn recv_string(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        let m = self.recv()?;
        Ok(String::from_utf8(m.0.to_vec()).map_err(|e| e.into_bytes()))
    }

    /// Receives a whole message (the rest of it, if some frames were already read).
    pub fn recv_multipart(&self) -> Result<Vec<Message>> {
        self.recv_all(false)
    }

    /// Receives a whole message without blocking.
    pub fn try_recv_multipart(&self) -> Result<Vec<Message>> {
        self.recv_all(true)
    }

    /// True if the last frame received has more frames after it (libzmq's `ZMQ_RCVMORE`).
    pub fn more(&self) -> bool {
        !self.core.borrow().partial_recv.is_empty()
    }

    fn recv_frame(&self, dont_wait: bool) -> Result<Message> {
        let result = self.recv_one_frame(dont_wait);
        self.settle_readiness();
        result
    }

    fn recv_one_frame(&self, dont_wait: bool) -> Result<Message> {
        let mut core = self.core.borrow_mut();
        if let Some(frame) = core.partial_recv.pop_front() {
            return Ok(Message(frame));
        }
        let msg = core.recv_msg(dont_wait)?;
        let mut frames = msg.into_frames();
        let first = frames.next().unwrap_or_default();
        core.partial_recv.extend(frames);
        Ok(Message(first))
    }

    fn recv_all(&self, dont_wait: bool) -> Result<Vec<Message>> {
        let result = self.recv_whole(dont_wait);
        self.settle_readiness();
        result
    }

    fn recv_whole(&self, dont_wait: bool) -> Result<Vec<Message>> {
        let mut core = self.core.borrow_mut();
        if !core.partial_recv.is_empty() {
            return Ok(core.partial_recv.drain(..).map(Message).collect());
        }
        let msg = core.recv_msg(dont_wait)?;
        Ok(msg.into_frames().map(Message).collect())
    }

    // ----- options -----

    /// SNDHWM: messages queued per peer before sends block (0 = no limit; default 1000).
    /// Applies to connections made afterwards.
    pub fn set_sndhwm(&self, hwm: u64) {
        self.core.borrow_mut().options.link.send_hwm = hwm;
    }
    /// The send high-water mark.
    pub fn sndhwm(&self) -> u64 {
        self.core.borrow().options.link.send_hwm
    }
    /// RCVHWM: messages queued per peer before reading from it pauses (0 = no limit).
    pub fn set_rcvhwm(&self, hwm: u64) {
        self.core.borrow_mut().options.link.recv_hwm = hwm;
    }
    /// The receive high-water mark.
    pub fn rcvhwm(&self) -> u64 {
        self.core.borrow().options.link.recv_hwm
    }
    /// LINGER: how long pending messages may still be delivered after close
    /// (`None` = until delivered, the default; `Some(ZERO)` = discard at once).
    pub fn set_linger(&self, linger: Option<Duration>) {
        self.core.borrow_mut().options.linger = linger;
    }
    /// The linger period.
    pub fn linger(&self) -> Option<Duration> {
        self.core.borrow().options.linger
    }
    /// SNDTIMEO: the longest a send blocks before failing with [`Error::TimedOut`]
    /// (`None` = forever).
    pub fn set_send_timeout(&self, timeout: Option<Duration>) {
        self.core.borrow_mut().options.send_timeout = timeout;
    }
    /// The send timeout.
    pub fn send_timeout(&self) -> Option<Duration> {
        self.core.borrow().options.send_timeout
    }
    /// RCVTIMEO: the longest a receive blocks before failing with [`Error::TimedOut`].
    pub fn set_recv_timeout(&self, timeout: Option<Duration>) {
        self.core.borrow_mut().options.recv_timeout = timeout;
    }
    /// The receive timeout.
    pub fn recv_timeout(&self) -> Option<Duration> {
        self.core.borrow().options.recv_timeout
    }
    /// ROUTING_ID: the identity announced to peers (1 to 255 bytes).
    pub fn set_routing_id(&self, id: impl Into<Bytes>) -> Result<()> {
        let id = id.into();
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidOption("routing id must be 1 to 255 bytes"));
        }
        self.core.borrow_mut().options.link.routing_id = id;
        Ok(())
    }
    /// The routing id (empty if unset).
    pub fn routing_id(&self) -> Bytes {
        self.core.borrow().options.link.routing_id.clone()
    }
    /// RECONNECT_IVL: wait before redialling a lost or refused peer (`None` = never
    /// reconnect; default 100 ms).
    pub fn set_reconnect_ivl(&self, ivl: Option<Duration>) {
        self.core.borrow_mut().options.link.reconnect_ivl = ivl;
    }
    /// HANDSHAKE_IVL: the deadline for the ZMTP handshake (`None` = none; default 30 s).
    pub fn set_handshake_ivl(&self, ivl: Option<Duration>) {
        self.core.borrow_mut().options.link.handshake_ivl = ivl;
    }
    /// MAXMSGSIZE: the largest inbound frame accepted; a peer sending a larger one is
    /// disconnected (`None` = no limit, the default).
    pub fn set_max_msg_size(&self, limit: Option<u64>) {
        self.core.borrow_mut().options.link.max_msg_size = limit;
    }
    /// RECONNECT_IVL_MAX: with a value above the reconnect interval, each failed
    /// attempt doubles the wait up to this (exponential back-off); a successful
    /// handshake resets it. `None` (the default) keeps the interval fixed.
    pub fn set_reconnect_ivl_max(&self, max: Option<Duration>) {
        self.core.borrow_mut().options.link.reconnect_ivl_max = max;
    }
    /// RECONNECT_STOP: conditions under which a connecter gives up instead of
    /// retrying (none by default).
    pub fn set_reconnect_stop(&self, stop: ReconnectStop) {
        self.core.borrow_mut().options.link.reconnect_stop = stop;
    }
    /// CONNECT_TIMEOUT: abandon (and retry) a tcp connect attempt that has not
    /// completed within this (`None` = the operating system's timeout, the default).
    pub fn set_connect_timeout(&self, timeout: Option<Duration>) {
        self.core.borrow_mut().options.link.connect_timeout = timeout;
    }
    /// HEARTBEAT_IVL: send a ZMTP PING this often (`None` = no heartbeats, the
    /// default). A peer that sends nothing within the heartbeat timeout after a PING is
    /// disconnected (and reconnected, on the connecting side).
    pub fn set_heartbeat_ivl(&self, ivl: Option<Duration>) {
        self.core.borrow_mut().options.link.heartbeat_ivl = ivl;
    }
    /// HEARTBEAT_TTL: ask peers to drop us if they hear nothing from us for this long
    /// (sent in each PING, rounded down to tenths of a second; at most 6553.5 s).
    pub fn set_heartbeat_ttl(&self, ttl: Option<Duration>) -> Result<()> {
        if ttl.is_some_and(|t| t > Duration::from_millis(6_553_500)) {
            return Err(Error::InvalidOption("HEARTBEAT_TTL is at most 6553.5 s"));
        }
        self.core.borrow_mut().options.link.heartbeat_ttl = ttl;
        Ok(())
    }
    /// HEARTBEAT_TIMEOUT: how long after a PING the peer may stay silent before it is
    /// dropped (`None` = the heartbeat interval, the default).
    pub fn set_heartbeat_timeout(&self, timeout: Option<Duration>) {
        self.core.borrow_mut().options.link.heartbeat_timeout = timeout;
    }
    /// TCP_KEEPALIVE, TCP_KEEPALIVE_CNT, _IDLE and _INTVL in one value (each field
    /// `None` for the operating system's default).
    pub fn set_tcp_keepalive(&self, keepalive: TcpKeepalive) {
        self.core.borrow_mut().options.link.tcp_keepalive = keepalive;
    }
    /// SNDBUF: the kernel send buffer of each connection, in bytes (`None` = default).
    pub fn set_sndbuf(&self, bytes: Option<usize>) -> Result<()> {
        self.core.borrow_mut().options.link.send_buffer = check_buffer(bytes)?;
        Ok(())
    }
    /// RCVBUF: the kernel receive buffer of each connection, in bytes.
    pub fn set_rcvbuf(&self, bytes: Option<usize>) -> Result<()> {
        self.core.borrow_mut().options.link.recv_buffer = check_buffer(bytes)?;
        Ok(())
    }
    /// BACKLOG: connections a listener queues before accepting them (default 100).
    pub fn set_backlog(&self, backlog: u32) -> Result<()> {
        let backlog = i32::try_from(backlog)
            .map_err(|_| Error::InvalidOption("BACKLOG must fit in an i32"))?;
        self.core.borrow_mut().options.link.backlog = backlog;
        Ok(())
    }
    /// IPV6: allow IPv6 addresses; `tcp://*` then binds every IPv6 and IPv4 interface.
    /// Off by default, as in libzmq.
    pub fn set_ipv6(&self, on: bool) {
        self.core.borrow_mut().options.link.ipv6 = on;
    }
    /// CONNECT_ROUTING_ID (ROUTER only): the routing id to give the peer of the next
    /// [`connect`](Socket::connect), instead of the one it announces (1 to 255 bytes).
    pub fn set_connect_routing_id(&self, id: impl Into<Bytes>) -> Result<()> {
        let id = id.into();
        let mut core = self.core.borrow_mut();
        if core.socket_type != SocketType::Router {
            return Err(Error::InvalidOption(
                "CONNECT_ROUTING_ID applies to ROUTER sockets only",
            ));
        }
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidOption("routing id must be 1 to 255 bytes"));
        }
        core.options.link.connect_routing_id = Some(id);
        Ok(())
    }

    /// Applies a pattern option, or says which socket types it is for.
    fn pattern_option(&self, option: PatternOption, applies_to: &'static str) -> Result<()> {
        let mut core = self.core.borrow_mut();
        core.adopt_new_pipes();
        if core.pattern.set_option(option) {
            Ok(())
        } else {
            Err(Error::InvalidOption(applies_to))
        }
    }

    /// ROUTER_MANDATORY (ROUTER only): fail with [`Error::HostUnreachable`] for unknown
    /// routing ids and block (or [`Error::WouldBlock`]) on a full peer instead of
    /// silently dropping.
    pub fn set_router_mandatory(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::RouterMandatory(on),
            "ROUTER_MANDATORY applies to ROUTER sockets only",
        )
    }

    /// ROUTER_HANDOVER (ROUTER only): a peer connecting with a routing id that is
    /// already in use takes it over. Off by default: the newcomer is refused. The old
    /// peer stays connected under a generated id (libzmq detaches it and leaves its
    /// connection open but unreachable; either way it does not reconnect and take the
    /// id back).
    pub fn set_router_handover(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::RouterHandover(on),
            "ROUTER_HANDOVER applies to ROUTER sockets only",
        )
    }

    /// PROBE_ROUTER (ROUTER, DEALER, REQ): send an empty message to every new peer, so
    /// that a ROUTER on the other side learns our routing id before we say anything.
    pub fn set_probe_router(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::ProbeRouter(on),
            "PROBE_ROUTER applies to ROUTER, DEALER and REQ sockets",
        )
    }

    /// REQ_RELAXED (REQ only): allow a new request before the previous reply arrived
    /// (the earlier request is abandoned). Combine with
    /// [`set_req_correlate`](Socket::set_req_correlate) so a late reply to the abandoned
    /// request is not taken for the new one.
    pub fn set_req_relaxed(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::ReqRelaxed(on),
            "REQ_RELAXED applies to REQ sockets only",
        )
    }

    /// REQ_CORRELATE (REQ only): tag each request with an id and accept only the reply
    /// that echoes it.
    pub fn set_req_correlate(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::ReqCorrelate(on),
            "REQ_CORRELATE applies to REQ sockets only",
        )
    }

    /// SUBSCRIBE (SUB, XSUB): receive messages whose first frame starts with `prefix`
    /// (an empty prefix matches everything). Subscriptions are counted: subscribing
    /// twice takes two [`unsubscribe`](Socket::unsubscribe)s. On XPUB in manual mode it
    /// subscribes the peer of the last notice read.
    pub fn subscribe(&self, prefix: impl AsRef<[u8]>) -> Result<()> {
        let prefix = Bytes::copy_from_slice(prefix.as_ref());
        self.pattern_option(
            PatternOption::Subscribe(prefix),
            "SUBSCRIBE applies to SUB, XSUB and (manual) XPUB sockets",
        )
    }

    /// UNSUBSCRIBE: undoes one [`subscribe`](Socket::subscribe) of the same prefix.
    pub fn unsubscribe(&self, prefix: impl AsRef<[u8]>) -> Result<()> {
        let prefix = Bytes::copy_from_slice(prefix.as_ref());
        self.pattern_option(
            PatternOption::Unsubscribe(prefix),
            "UNSUBSCRIBE applies to SUB, XSUB and (manual) XPUB sockets",
        )
    }

    /// XPUB_VERBOSE (XPUB only): pass every subscribe notice to the application, not
    /// only the first one for each prefix.
    pub fn set_xpub_verbose(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::XpubVerbose(on),
            "XPUB_VERBOSE applies to XPUB sockets only",
        )
    }

    /// XPUB_VERBOSER (XPUB only): pass every subscribe and unsubscribe notice on.
    pub fn set_xpub_verboser(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::XpubVerboser(on),
            "XPUB_VERBOSER applies to XPUB sockets only",
        )
    }

    /// XPUB_MANUAL (XPUB only): subscriptions are not applied automatically; after
    /// reading a notice the application calls [`subscribe`](Socket::subscribe) or
    /// [`unsubscribe`](Socket::unsubscribe) to apply it (or something else) to the peer
    /// it came from.
    pub fn set_xpub_manual(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::XpubManual(on),
            "XPUB_MANUAL applies to XPUB sockets only",
        )
    }

    /// XPUB_NODROP (PUB, XPUB): when a matching subscriber is at its high-water mark,
    /// the send waits (or fails with [`Error::WouldBlock`]) instead of dropping the
    /// message for that subscriber.
    pub fn set_xpub_nodrop(&self, on: bool) -> Result<()> {
        self.pattern_option(
            PatternOption::XpubNodrop(on),
            "XPUB_NODROP applies to PUB and XPUB sockets",
        )
    }

    /// XPUB_WELCOME_MSG (XPUB only): a message sent to every new subscriber as it
    /// connects (`None` for none). SUB sockets filter it like any other message.
    pub fn set_xpub_welcome_msg(&self, msg: Option<impl Into<Bytes>>) -> Result<()> {
        self.pattern_option(
            PatternOption::XpubWelcome(msg.map(Into::into)),
            "XPUB_WELCOME_MSG applies to XPUB sockets only",
        )
    }

    /// IMMEDIATE: queue messages only to peers whose connection is complete, instead of
    /// also to peers still connecting (the default). Applies to later connects.
    pub fn set_immediate(&self, on: bool) {
        self.core.borrow_mut().options.link.immediate = on;
    }

    /// CONFLATE (PUSH, PULL, PUB, SUB, DEALER): a receive returns only the newest
    /// message waiting, discarding older ones (for "latest value" feeds). As in
    /// libzmq, it is meant for one-frame messages; the queues towards peers are not
    /// conflated.
    pub fn set_conflate(&self, on: bool) -> Result<()> {
        let mut core = self.core.borrow_mut();
        use SocketType::*;
        if !matches!(core.socket_type, Push | Pull | Pub | Sub | Dealer) {
            return Err(Error::InvalidOption(
                "CONFLATE applies to PUSH, PULL, PUB, SUB and DEALER sockets",
            ));
        }
        core.options.conflate = on;
        Ok(())
    }

    /// What the socket can do right now without blocking (libzmq's `ZMQ_EVENTS`).
    /// After a "no", the socket's wake-up fires as soon as the answer may have changed,
    /// which is what [`Poller`](crate::Poller) waits on.
    pub fn events(&self) -> Events {
        let events = {
            let mut core = self.core.borrow_mut();
            core.adopt_new_pipes();
            let readable = !core.partial_recv.is_empty() || core.pattern.can_recv();
            let writable = core.pattern.can_send();
            Events { readable, writable }
        };
        self.settle_readiness();
        events
    }

    /// The readiness file descriptor (libzmq's `ZMQ_FD`, but level-triggered): it is
    /// readable for as long as the socket has a message to receive, and — while
    /// [`set_fd_send_interest`](Socket::set_fd_send_interest) is on — room to send.
    /// Watch it with any event loop, then call the non-blocking `try_*` methods; the
    /// descriptor stays readable until they have taken everything, so no wake-up can
    /// be lost however the loop reads. It can also turn readable when nothing is
    /// waiting (a peer came or went, room was freed): the next call on the socket
    /// (a `try_recv` returning [`Error::WouldBlock`], or [`events`](Socket::events))
    /// clears it. The same descriptor is also returned by [`AsRawFd`]; it belongs to
    /// the socket and closes with it.
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use ferrozmq::{Context, SocketType};
    ///
    /// let ctx = Context::new();
    /// let pull = ctx.socket(SocketType::Pull)?;
    /// pull.bind("inproc://fd-doc")?;
    /// let push = ctx.socket(SocketType::Push)?;
    /// push.connect("inproc://fd-doc")?;
    /// let poll = |timeout_ms| {
    ///     let mut fds = [libc::pollfd { fd: pull.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
    ///     // SAFETY: one valid pollfd.
    ///     unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) }
    /// };
    /// assert_eq!(poll(0), 0, "nothing to receive: not readable");
    /// push.send("hi")?;
    /// assert_eq!(poll(5000), 1);
    /// assert_eq!(pull.try_recv()?, "hi");
    /// assert_eq!(poll(0), 0, "taken: not readable any more");
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn readiness_fd(&self) -> RawFd {
        let fd = {
            let mut core = self.core.borrow_mut();
            if !core.readiness_armed {
                core.readiness_armed = true;
                self.fds_in_use.set(true);
                let observer: Arc<dyn ferrozmq_patterns::Wake> = core.readiness.clone();
                core.inbox.signal().add_observer(observer);
            }
            core.readiness.as_raw_fd()
        };
        self.settle_readiness();
        fd
    }

    /// Makes the readiness descriptor also report room to send (for an event loop
    /// that waits to send). Off by default, since most sockets have room nearly always.
    pub fn set_fd_send_interest(&self, on: bool) {
        self.core.borrow_mut().fd_send_interest = on;
        self.settle_readiness();
    }

    /// A level-triggered descriptor that is readable while a send would not block
    /// (and only then), for event loops that wait to send without also being woken by
    /// arriving messages; the [async adapter](crate::AsyncSocket) uses it.
    pub fn send_readiness_fd(&self) -> Result<RawFd> {
        let fd = {
            let mut core = self.core.borrow_mut();
            match &core.send_readiness {
                Some(fd) => fd.as_raw_fd(),
                None => {
                    let fd = Arc::new(ReadinessFd::new().map_err(Error::Io)?);
                    let observer: Arc<dyn ferrozmq_patterns::Wake> = fd.clone();
                    core.inbox.signal().add_observer(observer);
                    let raw = fd.as_raw_fd();
                    core.send_readiness = Some(fd);
                    self.fds_in_use.set(true);
                    raw
                }
            }
        };
        self.settle_readiness();
        Ok(fd)
    }

    /// Brings the readiness descriptors in line with the socket's state.
    #[inline]
    fn settle_readiness(&self) {
        if self.fds_in_use.get() {
            self.settle_descriptors();
        }
    }

    #[cold]
    #[inline(never)]
    fn settle_descriptors(&self) {
        let mut core = self.core.borrow_mut();
        if core.readiness_armed {
            let fd = core.readiness.clone();
            fd.settle(|| {
                core.adopt_new_pipes();
                !core.partial_recv.is_empty()
                    || core.pattern.can_recv()
                    || (core.fd_send_interest && core.pattern.can_send())
            });
        }
        if let Some(fd) = core.send_readiness.clone() {
            fd.settle(|| core.pattern.can_send());
        }
    }

    /// The signal that every pipe, new peer and inbox event of this socket wakes.
    pub(crate) fn signal(&self) -> Arc<ferrozmq_patterns::Signal> {
        self.core.borrow().inbox.signal().clone()
    }

    /// Counters of what the socket did: messages sent, received and dropped.
    pub fn stats(&self) -> SocketStats {
        let mut core = self.core.borrow_mut();
        core.adopt_new_pipes();
        let links = core.monitor.counters();
        SocketStats {
            messages_sent: core.sent,
            messages_received: core.received,
            dropped: core.pattern.dropped(),
            connected: links.connected,
            accepted: links.accepted,
            reconnect_attempts: links.reconnect_attempts,
            disconnects: links.disconnects,
            handshake_failures: links.handshake_failures,
            monitor_events_dropped: links.monitor_events_dropped,
        }
    }

    /// Connection events recorded since the last call (listening, accepted, connected,
    /// handshake results, disconnects with their reason), from a log of the latest
    /// 1024. For a live stream use [`monitor`](Socket::monitor).
    pub fn take_events(&self) -> Vec<SocketEvent> {
        self.core.borrow().monitor.drain()
    }

    /// A stream of this socket's connection events of the kinds in `mask`, from now
    /// on, readable from any thread. It ends with [`EventKind::MonitorStopped`] when
    /// the socket closes. A stream nobody reads holds up to 4096 events, then drops new
    /// ones (counted in [`SocketStats::monitor_events_dropped`]) rather than slowing the
    /// connections down.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ferrozmq::{Context, EventKind, EventMask, SocketType};
    ///
    /// let ctx = Context::new();
    /// let rep = ctx.socket(SocketType::Rep)?;
    /// let events = rep.monitor(EventMask::ALL);
    /// rep.bind("tcp://127.0.0.1:*")?;
    /// let event = events.recv_timeout(Duration::from_secs(5)).unwrap();
    /// assert_eq!(event.kind, EventKind::Listening);
    /// # Ok::<(), ferrozmq::Error>(())
    /// ```
    pub fn monitor(&self, mask: EventMask) -> MonitorEvents {
        MonitorEvents(self.core.borrow().monitor.subscribe(mask))
    }

    /// Publishes this socket's events of the kinds in `mask` on a PAIR socket bound to
    /// the inproc `endpoint`, as libzmq's `zmq_socket_monitor` does, in its message
    /// format: a first frame of 6 bytes (the event code as a native-endian `u16`, the
    /// value as a native-endian `u32`) and a second with the endpoint. Connect a PAIR
    /// socket to `endpoint` to read them (pyzmq's `parse_monitor_message` reads them
    /// too). A forwarding thread runs until the socket closes.
    pub fn monitor_to(&self, endpoint: &str, mask: EventMask) -> Result<()> {
        if !endpoint.starts_with("inproc://") {
            return Err(Error::InvalidOption("monitor endpoints must be inproc://"));
        }
        let pair = self.ctx.socket(SocketType::Pair)?;
        pair.set_linger(Some(Duration::ZERO));
        pair.set_send_timeout(Some(Duration::from_secs(1)));
        pair.bind(endpoint)?;
        let events = self.monitor(mask);
        std::thread::Builder::new()
            .name("ferrozmq-monitor".into())
            .spawn(move || {
                for event in events.0.iter() {
                    let mut head = Vec::with_capacity(6);
                    head.extend_from_slice(&event.kind.code().to_ne_bytes());
                    head.extend_from_slice(&event.value.to_ne_bytes());
                    let _ = pair.send_multipart([head, event.endpoint.into_bytes()]);
                    if event.kind == EventKind::MonitorStopped {
                        break;
                    }
                }
            })
            .map_err(Error::Io)?;
        Ok(())
    }

    /// Number of peers the socket currently has pipes to.
    pub fn peer_count(&self) -> usize {
        let mut core = self.core.borrow_mut();
        core.adopt_new_pipes();
        core.pattern.peer_count()
    }
}

impl Core {
    fn link(&self) -> SocketLink {
        SocketLink {
            inbox: self.inbox.clone(),
            monitor: self.monitor.clone(),
            options: Arc::new(self.options.link.clone()),
        }
    }

    fn inproc_peer(&self) -> InprocPeer {
        InprocPeer {
            inbox: self.inbox.clone(),
            socket_type: self.socket_type,
            send_hwm: self.options.link.send_hwm,
            recv_hwm: self.options.link.recv_hwm,
            routing_id: self.options.link.routing_id.clone(),
        }
    }

    fn take_endpoint(&mut self, endpoint: &str, bound: bool) -> Result<EndpointEntry> {
        let pos = self
            .endpoints
            .iter()
            .rposition(|e| e.bound == bound && (e.requested == endpoint || e.resolved == endpoint))
            .ok_or_else(|| Error::UnknownEndpoint(endpoint.to_string()))?;
        Ok(self.endpoints.remove(pos))
    }

    /// Moves pipes that transports created since the last look into the pattern.
    #[inline]
    fn adopt_new_pipes(&mut self) {
        self.inbox.take_new(&mut self.adopt);
        if self.adopt.is_empty() {
            return;
        }
        for pipe in self.adopt.drain(..) {
            self.pattern.attach(pipe);
        }
    }

    fn deadline(timeout: Option<Duration>) -> Option<Instant> {
        timeout.map(|t| Instant::now() + t)
    }

    fn send_msg(&mut self, mut msg: Msg, dont_wait: bool) -> Result<(), (Error, Msg)> {
        self.adopt_new_pipes();
        let mut deadline = None;
        let mut first = true;
        loop {
            match self.pattern.send(msg) {
                Ok(()) => {
                    self.sent += 1;
                    return Ok(());
                }
                Err(failure) => {
                    msg = failure.msg;
                    if failure.kind != SendErrorKind::WouldBlock {
                        return Err((send_error(failure.kind), msg));
                    }
                }
            }
            if dont_wait {
                return Err((Error::WouldBlock, msg));
            }
            // Rather than sleep until an I/O thread has written, write on this thread.
            if self.pattern.push_inline() {
                continue;
            }
            if first {
                deadline = Self::deadline(self.options.send_timeout);
                first = false;
            }
            if !self.wait(deadline) {
                return Err((Error::TimedOut, msg));
            }
        }
    }

    fn recv_msg(&mut self, dont_wait: bool) -> Result<Msg> {
        let mut msg = self.recv_one(dont_wait)?;
        self.received += 1;
        if self.options.conflate {
            while let Ok(newer) = self.pattern.recv() {
                msg = newer;
            }
        }
        Ok(msg)
    }

    fn recv_one(&mut self, dont_wait: bool) -> Result<Msg> {
        // Fast path: a message is already queued.
        self.adopt_new_pipes();
        if let Ok(msg) = self.pattern.recv() {
            return Ok(msg);
        }
        // While we wait, I/O threads leave readable input to this thread, which reads
        // and decodes it itself: no hand-off per batch (see `Inbox`).
        self.inbox.begin_receiving();
        let result = self.recv_msg_inner(dont_wait);
        if self.inbox.end_receiving() {
            self.pattern.hand_back();
        }
        result
    }

    fn recv_msg_inner(&mut self, dont_wait: bool) -> Result<Msg> {
        self.adopt_new_pipes();
        let mut deadline = None;
        let mut first = true;
        loop {
            match self.pattern.recv() {
                Ok(msg) => return Ok(msg),
                Err(RecvErrorKind::WrongState) => return Err(Error::WrongState),
                Err(RecvErrorKind::NotSupported) => return Err(Error::NotSupported),
                Err(RecvErrorKind::WouldBlock) => {
                    // Read from the wire on this thread if a stream has data waiting.
                    if self.pattern.pull_inline() {
                        continue;
                    }
                }
            }
            if dont_wait {
                return Err(Error::WouldBlock);
            }
            if first {
                deadline = Self::deadline(self.options.recv_timeout);
                first = false;
            }
            if !self.wait_for_input(deadline) {
                return Err(Error::TimedOut);
            }
        }
    }

    /// [`wait`](Core::wait) in a receive: a connection this socket just wrote to is
    /// read directly for up to [`REPLY_PROBE`] while the thread spins, so that an
    /// answer arriving meanwhile is taken without any thread hand-off.
    fn wait_for_input(&mut self, deadline: Option<Instant>) -> bool {
        let pattern = &mut self.pattern;
        let woken = self
            .inbox
            .signal()
            .wait_until_probing(deadline, REPLY_PROBE, || pattern.probe_inline());
        self.adopt_new_pipes();
        woken
    }

    /// Waits for any wake-up of this socket; false on timeout. New pipes are adopted.
    fn wait(&mut self, deadline: Option<Instant>) -> bool {
        let woken = self.inbox.signal().wait_until(deadline);
        self.adopt_new_pipes();
        woken
    }
}

/// SNDBUF/RCVBUF must fit the kernel's `int`.
fn check_buffer(bytes: Option<usize>) -> Result<Option<usize>> {
    match bytes {
        Some(b) if b == 0 || b > i32::MAX as usize => Err(Error::InvalidOption(
            "buffer sizes are 1 byte to 2 GiB (None for the default)",
        )),
        other => Ok(other),
    }
}

/// The public error for a pattern's refusal.
fn send_error(kind: SendErrorKind) -> Error {
    match kind {
        SendErrorKind::WouldBlock => Error::WouldBlock,
        SendErrorKind::WrongState => Error::WrongState,
        SendErrorKind::NotSupported => Error::NotSupported,
        SendErrorKind::HostUnreachable => Error::HostUnreachable,
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let core = self.core.get_mut();
        if core.readiness_armed {
            let observer: Arc<dyn ferrozmq_patterns::Wake> = core.readiness.clone();
            core.inbox.signal().remove_observer(&observer);
        }
        if let Some(fd) = core.send_readiness.take() {
            let observer: Arc<dyn ferrozmq_patterns::Wake> = fd;
            core.inbox.signal().remove_observer(&observer);
        }
        core.monitor.stop(&core.last_endpoint);
        core.inbox.close(core.options.linger);
        let endpoints = std::mem::take(&mut core.endpoints);
        let mut core = self.core.borrow_mut();
        // Listeners and inproc names go now. Connections are left alone: they see their
        // pipe close and deliver what it still holds within the linger period.
        for entry in endpoints.into_iter().filter(|e| e.bound) {
            match entry.attachment {
                Attachment::Transport(handle) => handle.socket_closed(),
                inproc => self.release(&mut core, inproc),
            }
        }
        // Dropping the pattern drops every pipe end: I/O threads deliver what is queued
        // within the linger period, inproc peers can still read what is in their pipes.
        core.pattern = Box::<Push>::default();
    }
}

impl AsRawFd for Socket {
    /// The [readiness descriptor](Socket::readiness_fd).
    fn as_raw_fd(&self) -> RawFd {
        self.readiness_fd()
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = self.core.borrow();
        f.debug_struct("Socket")
            .field("type", &core.socket_type)
            .field("last_endpoint", &core.last_endpoint)
            .finish()
    }
}
