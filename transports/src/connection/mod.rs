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
use std::time::Instant;

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

use crate::monitor::{EventKind, Monitor};
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
    fn after_unlock(&self, notifier: &Notifier, relevant: u8) {
        fence(Ordering::SeqCst);
        if self.missed.load(Ordering::SeqCst) & relevant != 0 {
            notifier.notify();
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
}

impl Connection {
    pub(crate) fn accepted(
        stream: Stream,
        stop: Arc<StopFlag>,
        endpoint: String,
        socket: SocketLink,
        notifier: Notifier,
    ) -> Self {
        let c = Connection::new(Origin::Accepted { stop }, endpoint, socket, notifier, None);
        c.0.conn.lock().link = Some(Link::new(stream, true));
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
        Connection(Arc::new_cyclic(|me| Shared {
            missed: AtomicU8::new(0),
            delegate: AtomicBool::new(false),
            rewake_socket: AtomicBool::new(false),
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
        match dial() {
            Ok(stream) => {
                let mut link = Link::new(stream, false);
                if let Err(e) = cx.registry().register(
                    &mut link.stream,
                    cx.token(),
                    mio::Interest::READABLE | mio::Interest::WRITABLE,
                ) {
                    self.socket.monitor.record(
                        EventKind::ConnectRetried,
                        &self.endpoint,
                        e.to_string(),
                    );
                    self.schedule_reconnect(cx);
                    return;
                }
                self.link = Some(link);
            }
            Err(e) => {
                self.socket.monitor.record(
                    EventKind::ConnectRetried,
                    &self.endpoint,
                    e.to_string(),
                );
                self.schedule_reconnect(cx);
            }
        }
    }

    fn schedule_reconnect(&mut self, cx: &mut Cx<'_>) {
        match self.socket.options.reconnect_ivl {
            Some(ivl) => self.reconnect_timer = Some(cx.set_timer(Instant::now() + ivl)),
            None => cx.close(),
        }
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
            self.socket
                .monitor
                .record(EventKind::Connected, &self.endpoint, link.peer.clone());
            self.start_engine(cx);
        }
        let mut reads = 0;
        loop {
            let mut progress = self.decode_input()?;
            if !self.leave_reading_to_socket() {
                progress |= self.read_some(&mut reads)?;
                progress |= self.decode_input()?;
            }
            progress |= self.write_some()?;
            if !progress {
                break;
            }
            if reads >= READS_PER_TURN {
                // More may be waiting; come back after others had their turn.
                self.notifier.notify();
                break;
            }
        }
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
        let kind = if handshaking && matches!(end, LinkEnd::Protocol(_)) {
            EventKind::HandshakeFailed
        } else if was_connected {
            EventKind::Disconnected
        } else {
            EventKind::ConnectRetried
        };
        self.socket
            .monitor
            .record(kind, &self.endpoint, end.to_string());
        if let Some(mut link) = self.link.take() {
            // The stream closes on drop, which also removes it from the poll.
            let _ = cx.registry().deregister(&mut link.stream);
        }
        let retry = self.is_connecter()
            && match &end {
                LinkEnd::Protocol(EngineError::HandshakeTimeout) => true,
                // libzmq stops reconnecting after a protocol error: the peer is not
                // something we can talk to, and hammering it would not change that.
                LinkEnd::Protocol(_) | LinkEnd::Refused => false,
                LinkEnd::Io(_) | LinkEnd::Eof => true,
            };
        if !retry {
            cx.close();
            return;
        }
        if self.socket.options.pipe_after_handshake() {
            self.pipe = None;
        }
        if self.socket_gone && (self.outbound_drained || self.pipe.is_none()) {
            cx.close();
            return;
        }
        self.schedule_reconnect(cx);
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
                self.socket
                    .monitor
                    .record(EventKind::Disconnected, &self.endpoint, e.to_string());
                cx.close();
                return;
            }
            self.socket
                .monitor
                .record(EventKind::Accepted, &self.endpoint, link.peer.clone());
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
        if self.reconnect_timer == Some(id) {
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
