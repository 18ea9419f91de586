//! One ZMTP connection: drives an [`Engine`] over a [`Stream`] and moves messages between
//! the wire and the socket's pipe.
//!
//! The same handler serves both sides. An accepted connection lives as long as its
//! stream. A connecting one outlives its streams: when the link drops it waits the
//! reconnect interval and dials again, keeping its pipe (and the messages queued in it)
//! so that sends made while the peer is away are delivered once it is back, as libzmq
//! does with `ZMQ_IMMEDIATE=0`.
//!
//! The work is split by job: this module is the connection's lifecycle (dialling,
//! handshake deadline, reconnect, linger, the reactor callbacks); [`link`] moves bytes
//! between the stream and the pipe; [`inline`] lets the application's thread do part
//! of that work itself when that saves a thread hand-off.

use std::collections::HashSet;
use std::io::{self, ErrorKind};
use std::sync::atomic::{fence, AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrozmq_engine::{Engine, EngineConfig, EngineError};
use ferrozmq_patterns::pipe::Driver;
use ferrozmq_patterns::{Inbox, PipeEnd, Wake};
use ferrozmq_reactor::{mio, Cx, Handler, Notifier, TimerId};
use parking_lot::Mutex;

mod inline;
mod link;

use inline::InlineDriver;
pub(crate) use inline::SessionWake;
pub use inline::INLINE_WRITE_GAP;
use link::{Link, LinkEnd};

use crate::monitor::{EventKind, Monitor, SocketEvent};
use crate::options::LinkOptions;
use crate::stream::Stream;

/// Bytes read per system call.
pub const READ_CHUNK: usize = 16 * 1024;
/// The most bytes one read asks for (a large frame arrives over several reads).
const MAX_READ: usize = 256 * 1024;
/// Bytes encoded before they are written out.
pub const WRITE_BATCH: usize = 64 * 1024;
/// Reads one inline pull may do before returning to the application.
const INLINE_READS: usize = 4;
/// Reads per callback before yielding to other handlers.
const READS_PER_TURN: usize = 32;

/// Lets the socket ask a connecter to stop (disconnect / unbind).
#[derive(Default)]
pub struct StopFlag(AtomicBool);

impl StopFlag {
    /// Raises the flag.
    pub fn raise(&self) {
        self.0.store(true, Ordering::Release);
    }
    /// True once raised.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Where a connection came from.
pub(crate) enum Origin {
    /// Accepted by a listener; the flag is the listener's (raised by unbind).
    Accepted { stop: Arc<StopFlag> },
    Connect {
        dial: Box<dyn FnMut() -> io::Result<Stream> + Send>,
        stop: Arc<StopFlag>,
    },
}

/// What the socket side shares with all its connections.
#[derive(Clone)]
pub struct SocketLink {
    /// Where new pipes go and where socket closure is announced.
    pub inbox: Arc<Inbox>,
    /// Where connection events are recorded.
    pub monitor: Arc<Monitor>,
    /// Settings.
    pub options: Arc<LinkOptions>,
}

/// The reactor handler of one connection. Its state sits behind a mutex so that the
/// socket's own thread can also move data (see [`InlineDriver`]).
pub(crate) struct Connection(Arc<Shared>);

/// A connection's state and the readiness the I/O thread could not deliver.
///
/// The reactor never blocks on a connection the socket thread is reading from: it
/// records what happened in `missed` and moves on. Whoever holds the lock looks at
/// `missed` after releasing it (see [`Shared::after_unlock`]); a fence on each side makes
/// sure that either the reactor's `try_lock` sees the lock free or the holder sees the
/// bits, so no readiness is lost.
struct Shared {
    conn: Mutex<Conn>,
    missed: AtomicU8,
    /// The link is past its handshake with a pipe that has a driver: readable input
    /// may be left to a receiving socket thread.
    delegate: AtomicBool,
    /// Input was left to the socket's thread while this thread held the lock: that
    /// thread's `try_lock` may have failed, so wake it again once the lock is free.
    rewake_socket: AtomicBool,
    /// Set with `Conn::awaiting_reply`, cleared lazily by the next probe that finds it
    /// stale: lets a probe skip the lock on connections that await nothing.
    maybe_awaiting: AtomicBool,
    inbox: Arc<Inbox>,
    notifier: Notifier,
}

const MISSED_READABLE: u8 = 1;
const MISSED_WRITABLE: u8 = 2;
const MISSED_HUP: u8 = 4;
const MISSED_WAKE: u8 = 8;

impl Shared {
    /// Records `bits` and returns the lock if it is free; else the holder takes over.
    fn lock_or_defer(&self, bits: u8) -> Option<parking_lot::MutexGuard<'_, Conn>> {
        self.missed.fetch_or(bits, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let mut conn = self.conn.try_lock()?;
        conn.apply_missed(self.missed.swap(0, Ordering::SeqCst));
        Some(conn)
    }

    /// Wakes the socket's thread again if input was left to it while we held the lock.
    fn rewake_if_needed(&self) {
        if self.rewake_socket.swap(false, Ordering::Relaxed) {
            self.inbox.signal().wake();
        }
    }

    /// Called by the socket thread after it released the lock: hands readiness of the
    /// `relevant` kinds that arrived meanwhile to the reactor.
    ///
    /// Writability alone is recorded here instead when nothing waits to be written:
    /// waking the I/O thread only to set a flag would cost a thread wake-up, and the
    /// peer's answers can carry it once per message.
    fn after_unlock(&self, notifier: &Notifier, relevant: u8) {
        loop {
            fence(Ordering::SeqCst);
            let missed = self.missed.load(Ordering::SeqCst) & relevant;
            if missed == 0 {
                return;
            }
            if missed == MISSED_WRITABLE {
                if let Some(mut conn) = self.conn.try_lock() {
                    let taken = self.missed.fetch_and(!MISSED_WRITABLE, Ordering::SeqCst);
                    conn.apply_missed(taken & MISSED_WRITABLE);
                    let idle = conn.nothing_to_write();
                    drop(conn);
                    if idle {
                        // Look again: readiness may have come while we held the lock.
                        continue;
                    }
                }
            }
            notifier.notify();
            return;
        }
    }
}

/// The state of one connection.
pub(crate) struct Conn {
    /// A weak handle on ourselves, for the drivers handed to the socket's pipe ends.
    me: Weak<Shared>,
    /// A link failure noticed on the socket's thread, for the reactor to act on.
    pending_end: Option<LinkEnd>,
    origin: Origin,
    endpoint: String,
    socket: SocketLink,
    notifier: Notifier,
    pipe: Option<PipeEnd>,
    link: Option<Link>,
    /// The socket closed its end of the pipe: deliver what is left, then go.
    socket_gone: bool,
    /// Nothing more will come out of the pipe.
    outbound_drained: bool,
    reconnect_timer: Option<TimerId>,
    linger_timer: Option<TimerId>,
    /// The prefixes this (SUB/XSUB) connection has subscribed to on the wire, replayed
    /// after a reconnect: the socket's pipe outlives the link, so the socket never
    /// learns that the new peer knows nothing of them.
    subscriptions: HashSet<Bytes>,
    /// The handshake completed since the reactor last looked (it starts heartbeats).
    handshake_fresh: bool,
    /// The wait before the next connect attempt (grows with RECONNECT_IVL_MAX).
    reconnect_delay: Option<Duration>,
    /// CONNECT_TIMEOUT for the attempt in progress.
    connect_timer: Option<TimerId>,
    /// When to send the next heartbeat PING.
    heartbeat_timer: Option<TimerId>,
    /// When the peer must have said something since our last PING.
    pong_timer: Option<TimerId>,
    /// Bytes received when the last PING went out.
    bytes_at_ping: u64,
    /// When the peer's PING TTL runs out unless we hear from it.
    ttl_timer: Option<TimerId>,
    /// Bytes received when the TTL started.
    bytes_at_ttl: u64,
    /// A message came from the peer since the socket's thread last wrote here: what
    /// the socket sends next is likely its answer, worth writing at once whatever its
    /// size (see [`SessionWake`]).
    peer_spoke: bool,
    /// The socket's thread wrote here since the peer last spoke: while it waits, it may
    /// look for the answer on the wire itself (see [`InlineDriver`]).
    awaiting_reply: bool,
    /// The last message written was an answer written by the socket's thread: the
    /// connection carries a conversation, whose writes hardly ever block, so the poll
    /// need not watch it for writability (see [`Conn::update_write_interest`]).
    conversing: bool,
}

impl Connection {
    pub(crate) fn accepted(
        stream: Stream,
        stop: Arc<StopFlag>,
        endpoint: String,
        socket: SocketLink,
        notifier: Notifier,
    ) -> Self {
        let link = Link::new(stream, true, &socket.options);
        let c = Connection::new(Origin::Accepted { stop }, endpoint, socket, notifier, None);
        c.0.conn.lock().link = Some(link);
        c
    }

    pub(crate) fn connecting(
        dial: Box<dyn FnMut() -> io::Result<Stream> + Send>,
        stop: Arc<StopFlag>,
        endpoint: String,
        socket: SocketLink,
        notifier: Notifier,
        pipe: Option<PipeEnd>,
    ) -> Self {
        Connection::new(
            Origin::Connect { dial, stop },
            endpoint,
            socket,
            notifier,
            pipe,
        )
    }

    fn new(
        origin: Origin,
        endpoint: String,
        socket: SocketLink,
        notifier: Notifier,
        pipe: Option<PipeEnd>,
    ) -> Self {
        let reconnect_delay = socket.options.reconnect_ivl;
        Connection(Arc::new_cyclic(|me| Shared {
            missed: AtomicU8::new(0),
            delegate: AtomicBool::new(false),
            rewake_socket: AtomicBool::new(false),
            maybe_awaiting: AtomicBool::new(false),
            inbox: socket.inbox.clone(),
            notifier: notifier.clone(),
            conn: Mutex::new(Conn {
                me: me.clone(),
                pending_end: None,
                origin,
                endpoint,
                socket,
                notifier,
                pipe,
                link: None,
                socket_gone: false,
                outbound_drained: false,
                reconnect_timer: None,
                linger_timer: None,
                subscriptions: HashSet::new(),
                reconnect_delay,
                handshake_fresh: false,
                connect_timer: None,
                heartbeat_timer: None,
                pong_timer: None,
                bytes_at_ping: 0,
                ttl_timer: None,
                bytes_at_ttl: 0,
                peer_spoke: false,
                awaiting_reply: false,
                conversing: false,
            }),
        }))
    }

    /// A driver for the socket's end of this connection's pipe.
    pub(crate) fn driver(&self) -> Arc<dyn Driver> {
        Arc::new(InlineDriver(Arc::downgrade(&self.0)))
    }

    /// Points a session wake-up created before this connection at it.
    pub(crate) fn adopt_wake(&self, wake: &SessionWake) {
        let _ = wake.conn.set(Arc::downgrade(&self.0));
    }
}

impl Conn {
    fn is_connecter(&self) -> bool {
        matches!(self.origin, Origin::Connect { .. })
    }

    fn stop_requested(&self) -> bool {
        match &self.origin {
            Origin::Connect { stop, .. } | Origin::Accepted { stop } => stop.is_raised(),
        }
    }

    /// Starts a connect attempt; on immediate failure schedules the next one.
    fn dial(&mut self, cx: &mut Cx<'_>) {
        let Origin::Connect { dial, .. } = &mut self.origin else {
            return;
        };
        let attempt = dial().and_then(|stream| {
            let mut link = Link::new(stream, false, &self.socket.options);
            cx.registry()
                .register(
                    &mut link.stream,
                    cx.token(),
                    mio::Interest::READABLE | mio::Interest::WRITABLE,
                )
                .map(|()| link)
        });
        match attempt {
            Ok(link) => {
                self.socket.monitor.report(
                    SocketEvent::new(EventKind::ConnectDelayed, &self.endpoint)
                        .value(link.stream.raw_fd() as u32),
                );
                if let Some(timeout) = self.socket.options.connect_timeout {
                    self.connect_timer = Some(cx.set_timer(Instant::now() + timeout));
                }
                self.link = Some(link);
            }
            Err(e) => {
                let refused = e.kind() == ErrorKind::ConnectionRefused;
                self.retry_or_stop(cx, &e.to_string(), refused);
            }
        }
    }

    /// After a failed attempt: schedules the next one (reporting ConnectRetried), or
    /// gives up when RECONNECT_STOP says so or reconnection is off.
    fn retry_or_stop(&mut self, cx: &mut Cx<'_>, why: &str, refused: bool) {
        let stop = self.socket.options.reconnect_stop;
        if refused && stop.conn_refused {
            self.give_up(cx, why);
            return;
        }
        let Some(delay) = self.reconnect_delay else {
            self.give_up(cx, why);
            return;
        };
        self.socket.monitor.report(
            SocketEvent::new(EventKind::ConnectRetried, &self.endpoint)
                .value(delay.as_millis().min(u128::from(u32::MAX)) as u32)
                .detail(why),
        );
        self.reconnect_timer = Some(cx.set_timer(Instant::now() + delay));
        // Exponential back-off between RECONNECT_IVL and RECONNECT_IVL_MAX.
        if let Some(max) = self.socket.options.reconnect_ivl_max {
            self.reconnect_delay = Some((delay * 2).min(max.max(delay)));
        }
    }

    /// Stops reconnecting for good: the pipe closes, so the socket stops queueing here.
    fn give_up(&mut self, cx: &mut Cx<'_>, why: &str) {
        self.socket
            .monitor
            .report(SocketEvent::new(EventKind::Closed, &self.endpoint).detail(why));
        cx.close();
    }

    /// Everything a callback does: move bytes and messages, then decide whether to stay.
    fn drive(&mut self, cx: &mut Cx<'_>) {
        if self.stop_requested() {
            cx.close();
            return;
        }
        if self.link.is_some() {
            if let Err(end) = self.pump(cx) {
                self.link_ended(cx, end);
            }
            self.arm_timers(cx);
        } else {
            self.poll_closed_socket();
        }
        self.maybe_finish(cx);
    }

    /// Notices the socket's closure while no link is up (nothing else polls the pipe).
    fn poll_closed_socket(&mut self) {
        if self.socket_gone {
            return;
        }
        match &mut self.pipe {
            Some(pipe) => {
                if pipe.tx.is_reader_closed() {
                    self.socket_gone = true;
                }
            }
            None => self.socket_gone = self.socket.inbox.is_closed(),
        }
    }

    fn maybe_finish(&mut self, cx: &mut Cx<'_>) {
        if !self.socket_gone {
            return;
        }
        let deadline = self.socket.inbox.linger_deadline();
        let nothing_left = match &mut self.pipe {
            None => true,
            Some(pipe) => {
                if !self.outbound_drained {
                    self.outbound_drained = pipe.rx.is_closed_and_drained();
                }
                self.outbound_drained
            }
        };
        let output_empty = self.output_flushed();
        let expired = deadline.is_some_and(|d| Instant::now() >= d);
        if (nothing_left && output_empty) || expired {
            cx.close();
        } else if let (Some(d), None) = (deadline, self.linger_timer) {
            self.linger_timer = Some(cx.set_timer(d));
        }
    }

    /// Moves data until nothing more can move. Errors end the link.
    fn pump(&mut self, cx: &mut Cx<'_>) -> Result<(), LinkEnd> {
        if let Some(end) = self.pending_end.take() {
            return Err(end);
        }
        let link = self.link.as_mut().expect("pump needs a link");
        if !link.connected {
            if !link.writable && !link.readable {
                return Ok(());
            }
            if let Some(e) = link.stream.take_error().map_err(LinkEnd::Io)? {
                return Err(LinkEnd::Io(e));
            }
            match link.stream.check_connected() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotConnected => return Ok(()),
                Err(e) => return Err(LinkEnd::Io(e)),
            }
            link.connected = true;
            link.peer = link.stream.peer_description();
            self.connect_timer = None;
            let event = SocketEvent::new(EventKind::Connected, &self.endpoint)
                .addresses(&link.stream.local_description(), &link.peer)
                .value(link.stream.raw_fd() as u32);
            self.socket.monitor.report(event);
            self.start_engine(cx);
        }
        let mut reads = 0;
        loop {
            let mut progress = self.decode_input()?;
            if !self.leave_reading_to_socket() {
                progress |= self.read_some(&mut reads)?;
                progress |= self.decode_input()?;
            }
            if self.write_some()? {
                // The I/O thread writes: a stream, not a conversation.
                self.conversing = false;
                progress = true;
            }
            if !progress {
                break;
            }
            if reads >= READS_PER_TURN {
                // More may be waiting; come back after others had their turn.
                self.notifier.notify();
                break;
            }
        }
        self.update_write_interest(cx)?;
        // After end of stream, everything that could be decoded has been; a partial frame
        // left over was truncated by the peer. Wait only while the socket's queue is full.
        if self.link.as_ref().is_some_and(|l| l.eof && l.starved) {
            return Err(LinkEnd::Eof);
        }
        Ok(())
    }

    fn start_engine(&mut self, cx: &mut Cx<'_>) {
        let opts = &self.socket.options;
        let mut config = EngineConfig::new(opts.socket_type);
        config.routing_id = opts.routing_id.clone();
        config.max_msg_size = Some(
            opts.max_msg_size
                .unwrap_or_else(crate::options::frame_size_ceiling),
        );
        config.handshake_timeout = opts.handshake_ivl;
        config.as_server = !self.is_connecter();
        let now = Instant::now();
        let engine = Engine::new(config, now);
        if let Some(deadline) = engine.poll_timeout() {
            cx.set_timer(deadline);
        }
        let link = self.link.as_mut().expect("link");
        link.engine = Some(engine);
    }

    fn link_ended(&mut self, cx: &mut Cx<'_>, end: LinkEnd) {
        if let Some(shared) = self.me.upgrade() {
            shared.delegate.store(false, Ordering::Relaxed);
        }
        let handshaking = self
            .link
            .as_ref()
            .is_some_and(|l| l.connected && l.engine.as_ref().is_some_and(|e| !e.is_ready()));
        let was_connected = self.link.as_ref().is_some_and(|l| l.connected);
        let (local, remote, fd) = self
            .link
            .as_ref()
            .map(|l| {
                let local = l.stream.local_description();
                (local, l.peer.clone(), l.stream.raw_fd() as u32)
            })
            .unwrap_or_default();
        let why = end.to_string();
        if handshaking {
            let kind = match end {
                LinkEnd::Protocol(EngineError::HandshakeTimeout)
                | LinkEnd::Io(_)
                | LinkEnd::Eof => EventKind::HandshakeFailedNoDetail,
                _ => EventKind::HandshakeFailedProtocol,
            };
            let code = match &end {
                LinkEnd::Protocol(e) if kind == EventKind::HandshakeFailedProtocol => {
                    e.libzmq_code()
                }
                _ => 0,
            };
            self.socket.monitor.report(
                SocketEvent::new(kind, &self.endpoint)
                    .addresses(&local, &remote)
                    .value(code)
                    .detail(why.clone()),
            );
        }
        if was_connected {
            self.socket.monitor.report(
                SocketEvent::new(EventKind::Disconnected, &self.endpoint)
                    .addresses(&local, &remote)
                    .value(fd)
                    .detail(why.clone()),
            );
        }
        if let Some(mut link) = self.link.take() {
            // The stream closes on drop, which also removes it from the poll.
            let _ = cx.registry().deregister(&mut link.stream);
        }
        self.connect_timer = None;
        self.heartbeat_timer = None;
        self.pong_timer = None;
        self.ttl_timer = None;
        if !self.is_connecter() {
            cx.close();
            return;
        }
        let stop = self.socket.options.reconnect_stop;
        let retry = match &end {
            // libzmq stops reconnecting after a protocol error: the peer is not
            // something we can talk to, and hammering it would not change that.
            LinkEnd::Protocol(EngineError::HandshakeTimeout) => true,
            LinkEnd::Protocol(_) | LinkEnd::Refused => false,
            LinkEnd::Heartbeat | LinkEnd::Io(_) | LinkEnd::Eof => true,
        };
        let stop_now = !retry
            || (handshaking && stop.handshake_failed)
            || (was_connected && !handshaking && stop.after_disconnect);
        if stop_now {
            self.give_up(cx, &why);
            return;
        }
        if self.socket.options.pipe_after_handshake() {
            self.pipe = None;
        }
        if self.socket_gone && (self.outbound_drained || self.pipe.is_none()) {
            cx.close();
            return;
        }
        let refused = matches!(&end, LinkEnd::Io(e) if e.kind() == ErrorKind::ConnectionRefused);
        self.retry_or_stop(cx, &why, refused);
    }

    /// Timers that work on the socket's thread may have asked for (timers live on the
    /// reactor): heartbeats after a handshake, the peer's PING TTL.
    fn arm_timers(&mut self, cx: &mut Cx<'_>) {
        if std::mem::take(&mut self.handshake_fresh) {
            self.handshake_completed(cx);
        }
        let ttl = self
            .link
            .as_mut()
            .and_then(|l| l.engine.as_mut())
            .and_then(|e| e.take_peer_ttl());
        if let Some(ttl) = ttl {
            self.arm_peer_ttl(cx, ttl);
        }
    }

    /// Starts heartbeats once the handshake is done (HEARTBEAT_IVL), and resets the
    /// reconnect back-off.
    pub(super) fn handshake_completed(&mut self, cx: &mut Cx<'_>) {
        self.reconnect_delay = self.socket.options.reconnect_ivl;
        if let Some(ivl) = self.socket.options.heartbeat_ivl {
            self.heartbeat_timer = Some(cx.set_timer(Instant::now() + ivl));
        }
    }

    /// Sends a PING, and arms the deadline by which the peer must have said something.
    fn send_heartbeat(&mut self, cx: &mut Cx<'_>) {
        let opts = &self.socket.options;
        let Some(ivl) = opts.heartbeat_ivl else {
            return;
        };
        let now = Instant::now();
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let Some(engine) = link.engine.as_mut().filter(|e| e.is_ready()) else {
            return;
        };
        let ttl = opts.heartbeat_ttl.map_or(0, |t| {
            (t.as_millis() / 100).min(u128::from(u16::MAX)) as u16
        });
        engine.send_ping(ttl, b"");
        if self.pong_timer.is_none() {
            self.bytes_at_ping = link.bytes_in;
            let timeout = opts.heartbeat_timeout.unwrap_or(ivl);
            self.pong_timer = Some(cx.set_timer(now + timeout));
        }
        self.heartbeat_timer = Some(cx.set_timer(now + ivl));
    }

    /// Arms the deadline the peer asked for in its PING: drop it if silent for `ttl`.
    pub(super) fn arm_peer_ttl(&mut self, cx: &mut Cx<'_>, ttl: Duration) {
        self.bytes_at_ttl = self.link.as_ref().map_or(0, |l| l.bytes_in);
        self.ttl_timer = Some(cx.set_timer(Instant::now() + ttl));
    }

    /// True if bytes arrived since the counter read `since`.
    fn heard_since(&self, since: u64) -> bool {
        self.link.as_ref().is_some_and(|l| l.bytes_in > since)
    }
}

impl Handler for Connection {
    fn start(&mut self, cx: &mut Cx<'_>) {
        self.0.conn.lock().on_start(cx);
    }

    fn ready(&mut self, cx: &mut Cx<'_>, event: &mio::event::Event) {
        let mut bits = 0;
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            bits |= MISSED_READABLE;
        }
        if event.is_read_closed() || event.is_error() {
            bits |= MISSED_HUP;
        }
        if event.is_writable() || event.is_write_closed() || event.is_error() {
            bits |= MISSED_WRITABLE;
        }
        let read_bits = bits & (MISSED_READABLE | MISSED_HUP);
        if read_bits != 0 && self.0.delegate.load(Ordering::Relaxed) && self.0.inbox.is_receiving()
        {
            // The socket's thread is waiting for input: let it read and decode the
            // stream itself rather than doing it here and handing the result over.
            self.0.missed.fetch_or(read_bits, Ordering::SeqCst);
            if self.0.inbox.delegate_read() {
                bits &= !read_bits;
                if bits == 0 {
                    return;
                }
            }
        }
        if let Some(mut conn) = self.0.lock_or_defer(bits) {
            conn.drive(cx);
            drop(conn);
            self.0.rewake_if_needed();
        }
    }

    fn wake(&mut self, cx: &mut Cx<'_>) {
        if let Some(mut conn) = self.0.lock_or_defer(MISSED_WAKE) {
            conn.drive(cx);
            drop(conn);
            self.0.rewake_if_needed();
        }
    }

    fn timeout(&mut self, cx: &mut Cx<'_>, id: TimerId) {
        let mut conn = self.0.conn.lock();
        let missed = self.0.missed.swap(0, Ordering::SeqCst);
        conn.apply_missed(missed);
        conn.on_timeout(cx, id);
        drop(conn);
        self.0.rewake_if_needed();
    }

    fn shutdown(&mut self, cx: &mut Cx<'_>) {
        let mut conn = self.0.conn.lock();
        let missed = self.0.missed.swap(0, Ordering::SeqCst);
        conn.apply_missed(missed);
        // The context is going away, so every socket has closed: linger as usual, but
        // a connection that never got a pipe has nothing to deliver.
        conn.socket_gone = true;
        conn.drive(cx);
    }
}

impl Conn {
    fn on_start(&mut self, cx: &mut Cx<'_>) {
        cx.bind(&self.notifier);
        if let Some(link) = &mut self.link {
            if let Err(e) = cx.registry().register(
                &mut link.stream,
                cx.token(),
                mio::Interest::READABLE | mio::Interest::WRITABLE,
            ) {
                self.socket.monitor.report(
                    SocketEvent::new(EventKind::AcceptFailed, &self.endpoint)
                        .value(e.raw_os_error().unwrap_or(0) as u32)
                        .detail(e.to_string()),
                );
                cx.close();
                return;
            }
            let event = SocketEvent::new(EventKind::Accepted, &self.endpoint)
                .addresses(&link.stream.local_description(), &link.peer)
                .value(link.stream.raw_fd() as u32);
            self.socket.monitor.report(event);
            self.start_engine(cx);
        } else {
            self.dial(cx);
        }
        self.drive(cx);
    }

    /// Applies readiness recorded while the lock was held elsewhere.
    fn apply_missed(&mut self, bits: u8) {
        if let Some(link) = &mut self.link {
            if bits & MISSED_READABLE != 0 {
                link.readable = true;
            }
            if bits & MISSED_HUP != 0 {
                link.hup = true;
            }
            if bits & MISSED_WRITABLE != 0 {
                link.writable = true;
            }
        }
    }

    fn on_timeout(&mut self, cx: &mut Cx<'_>, id: TimerId) {
        if self.connect_timer == Some(id) {
            self.connect_timer = None;
            if self.link.as_ref().is_some_and(|l| !l.connected) {
                let timed_out = io::Error::new(ErrorKind::TimedOut, "connect timed out");
                self.link_ended(cx, LinkEnd::Io(timed_out));
                self.maybe_finish(cx);
                return;
            }
        } else if self.heartbeat_timer == Some(id) {
            self.heartbeat_timer = None;
            self.send_heartbeat(cx);
        } else if self.pong_timer == Some(id) {
            self.pong_timer = None;
            if !self.heard_since(self.bytes_at_ping) {
                self.link_ended(cx, LinkEnd::Heartbeat);
                self.maybe_finish(cx);
                return;
            }
        } else if self.ttl_timer == Some(id) {
            self.ttl_timer = None;
            if !self.heard_since(self.bytes_at_ttl) {
                self.link_ended(cx, LinkEnd::Heartbeat);
                self.maybe_finish(cx);
                return;
            }
        } else if self.reconnect_timer == Some(id) {
            self.reconnect_timer = None;
            if self.link.is_none() && !self.stop_requested() {
                self.dial(cx);
            }
        } else if self.linger_timer == Some(id) {
            self.linger_timer = None;
        } else if let Some(link) = &mut self.link {
            if let Some(engine) = &mut link.engine {
                if let Err(e) = engine.handle_timeout(Instant::now()) {
                    self.link_ended(cx, LinkEnd::Protocol(e));
                    self.maybe_finish(cx);
                    return;
                }
            }
        }
        self.drive(cx);
    }
}
