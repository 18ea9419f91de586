//! One ZMTP connection: drives an [`Engine`] over a [`Stream`] and moves messages between
//! the wire and the socket's pipe.
//!
//! The same handler serves both sides. An accepted connection lives as long as its
//! stream. A connecting one outlives its streams: when the link drops it waits the
//! reconnect interval and dials again, keeping its pipe (and the messages queued in it)
//! so that sends made while the peer is away are delivered once it is back, as libzmq
//! does with `ZMQ_IMMEDIATE=0`.
//!
//! ## The message path
//! Inbound: read up to [`READ_CHUNK`] bytes at a time into one buffer, let the engine
//! split frames off it without copying, assemble messages and *stage* them in the pipe,
//! then publish the whole batch with one `flush` (one lock, at most one wake-up). When
//! the pipe reaches the receive high-water mark, reading stops; the socket's next credit
//! wakes us and decoding resumes from the buffered bytes.
//!
//! Outbound: pop messages until about [`WRITE_BATCH`] bytes are encoded, then write them
//! with one system call, so a burst of small messages costs one `write` per batch.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use bytes::BytesMut;
use ferrozmq_engine::{Engine, EngineConfig, EngineError, Event, PeerInfo};
use ferrozmq_patterns::pipe::{Driver, Pop};
use ferrozmq_patterns::{pipe_pair, Inbox, Msg, PipeEnd, Side, Wake};
use ferrozmq_reactor::{mio, Cx, Handler, Notifier, TimerId};
use parking_lot::Mutex;

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

/// A live stream and the protocol state on it.
struct Link {
    stream: Stream,
    engine: Option<Engine>,
    input: BytesMut,
    connected: bool,
    readable: bool,
    /// The peer shut down its sending side: read on until end of stream.
    hup: bool,
    /// End of stream was read; the link ends once buffered input is decoded.
    eof: bool,
    /// The last decode stopped for want of input (not because the socket's queue was full).
    starved: bool,
    /// Input is waiting for room in the socket's queue (the I/O thread resumes it).
    stalled: bool,
    /// A running average of received frame sizes (bytes).
    average_frame: usize,
    writable: bool,
    assembling: Option<Msg>,
    peer: String,
}

/// Why a link ended.
enum LinkEnd {
    Io(io::Error),
    Eof,
    Protocol(EngineError),
    /// The socket refused the peer (e.g. a second PAIR peer) or closed during the handshake.
    Refused,
}

impl std::fmt::Display for LinkEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkEnd::Io(e) => write!(f, "i/o error: {e}"),
            LinkEnd::Eof => f.write_str("connection closed by peer"),
            LinkEnd::Protocol(e) => write!(f, "protocol error: {e}"),
            LinkEnd::Refused => f.write_str("peer refused by the socket"),
        }
    }
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
        let output_empty = self
            .link
            .as_mut()
            .is_none_or(|l| l.engine.as_mut().is_none_or(|e| e.output().is_empty()));
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

    /// If the socket's thread is waiting in a receive, leaves the stream's input for it
    /// to read and decode (see [`InlineDriver`]) and returns true.
    fn leave_reading_to_socket(&mut self) -> bool {
        let Some(link) = self.link.as_mut() else {
            return false;
        };
        // Only at a frame boundary: the rest of a large frame is read here, where
        // reading overlaps with the application consuming earlier messages.
        // Only for small messages: large ones are better read here, where reading
        // overlaps with the application consuming the previous one.
        if !link.readable
            || link.hup
            || link.eof
            || !link.input.is_empty()
            || link.average_frame > DELEGATE_MAX_FRAME
            || self.pipe.is_none()
            || !self.socket.inbox.is_receiving()
        {
            return false;
        }
        let Some(shared) = self.me.upgrade() else {
            return false;
        };
        if !shared.delegate.load(Ordering::Relaxed) {
            return false;
        }
        shared.missed.fetch_or(MISSED_READABLE, Ordering::SeqCst);
        if shared.inbox.delegate_read() {
            link.readable = false;
            shared.rewake_socket.store(true, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Reads once if the stream may have data and the socket has room. True if bytes came.
    fn read_some(&mut self, reads: &mut usize) -> Result<bool, LinkEnd> {
        let link = self.link.as_mut().expect("link");
        if !link.readable || link.eof || link.engine.is_none() || self.inbound_full() {
            return Ok(false);
        }
        let link = self.link.as_mut().expect("link");
        // The hint can be as large as the peer's announced frame size: cap what one read
        // may allocate, the rest of a big frame comes in later reads.
        let hint = link.engine.as_ref().map_or(1, |e| e.input_hint());
        let want = hint.clamp(READ_CHUNK, MAX_READ);
        let start = link.input.len();
        link.input.resize(start + want, 0);
        *reads += 1;
        match link.stream.read(&mut link.input[start..]) {
            Ok(0) => {
                link.input.truncate(start);
                link.eof = true;
                link.readable = false;
                Ok(true)
            }
            Ok(n) => {
                link.input.truncate(start + n);
                // A short read drained the kernel buffer; edge-triggered polling reports
                // the next arrival, so don't spend a system call to hear EAGAIN.
                // Unless the peer hung up: then its FIN may sit behind this data, and no
                // new edge would announce it.
                if n < want && !link.hup {
                    link.readable = false;
                }
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                link.input.truncate(start);
                link.readable = false;
                Ok(false)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                link.input.truncate(start);
                Ok(true)
            }
            Err(e) => {
                link.input.truncate(start);
                Err(LinkEnd::Io(e))
            }
        }
    }

    /// True if the socket's inbound pipe is at its high-water mark.
    fn inbound_full(&mut self) -> bool {
        match &mut self.pipe {
            Some(pipe) => !pipe.tx.has_room(),
            None => false,
        }
    }

    /// Decodes buffered input into messages until it runs out or the pipe is full.
    fn decode_input(&mut self) -> Result<bool, LinkEnd> {
        let mut progress = false;
        let mut staged = false;
        if let Some(link) = self.link.as_mut() {
            link.starved = false;
            link.stalled = false;
        }
        loop {
            if self.inbound_full() {
                if let Some(link) = self.link.as_mut() {
                    link.stalled = true;
                }
                break;
            }
            let link = self.link.as_mut().expect("link");
            let Some(engine) = link.engine.as_mut() else {
                break;
            };
            if link.input.is_empty() {
                link.starved = true;
                break;
            }
            let event = match engine.handle_input(&mut link.input) {
                Ok(Some(event)) => event,
                Ok(None) => {
                    link.starved = true;
                    break;
                }
                Err(e) => {
                    if staged {
                        self.flush_inbound();
                    }
                    return Err(LinkEnd::Protocol(e));
                }
            };
            progress = true;
            match event {
                Event::Frame { data, more } => {
                    link.average_frame = (link.average_frame * 7 + data.len()) / 8;
                    let msg = match link.assembling.take() {
                        None => Msg::single(data),
                        Some(mut m) => {
                            m.push(data);
                            m
                        }
                    };
                    if more {
                        link.assembling = Some(msg);
                    } else if let Some(pipe) = &mut self.pipe {
                        pipe.tx.stage(msg);
                        staged = true;
                    }
                }
                Event::Ready(peer) => self.handshake_done(peer)?,
                // Subscriptions matter to PUB/XPUB, which come with a later issue.
                Event::Subscribe(_) | Event::Cancel(_) => {}
            }
        }
        if staged {
            self.flush_inbound();
        }
        Ok(progress)
    }

    fn flush_inbound(&mut self) {
        if let Some(pipe) = &mut self.pipe {
            if !pipe.tx.flush() {
                self.socket_gone = true;
            }
        }
    }

    fn handshake_done(&mut self, peer: PeerInfo) -> Result<(), LinkEnd> {
        if let Some(shared) = self.me.upgrade() {
            shared.delegate.store(true, Ordering::Relaxed);
        }
        let detail = format!(
            "peer {} (ZMTP 3.{})",
            peer.socket_type.name(),
            peer.minor_version
        );
        self.socket
            .monitor
            .record(EventKind::HandshakeSucceeded, &self.endpoint, detail);
        if self.pipe.is_some() {
            return Ok(());
        }
        let opts = &self.socket.options;
        let session_wake = SessionWake::new(self.notifier.clone());
        let _ = session_wake.conn.set(self.me.clone());
        let (ours, mut theirs) = pipe_pair(
            Side {
                wake: session_wake,
                send_hwm: opts.recv_hwm,
                routing_id: peer.routing_id,
            },
            Side {
                wake: self.socket.inbox.waker(),
                send_hwm: opts.send_hwm,
                routing_id: opts.routing_id.clone(),
            },
        );
        theirs.driver = Some(Arc::new(InlineDriver(self.me.clone())));
        self.socket
            .inbox
            .attach(theirs)
            .map_err(|_| LinkEnd::Refused)?;
        self.pipe = Some(ours);
        Ok(())
    }

    /// Encodes queued messages and writes them. True if anything was written.
    fn write_some(&mut self) -> Result<bool, LinkEnd> {
        let link = self.link.as_mut().expect("link");
        let Some(engine) = link.engine.as_mut() else {
            return Ok(false);
        };
        if engine.is_ready() && !self.outbound_drained {
            if let Some(pipe) = &mut self.pipe {
                while engine.output().len() < WRITE_BATCH {
                    match pipe.rx.pop() {
                        Pop::Msg(msg) => {
                            let last = msg.len() - 1;
                            for (i, frame) in msg.frames().enumerate() {
                                engine.send_frame(frame, i != last);
                            }
                        }
                        Pop::Empty => break,
                        Pop::Closed => {
                            self.socket_gone = true;
                            self.outbound_drained = true;
                            break;
                        }
                    }
                }
            }
        }
        if !link.writable || engine.output().is_empty() {
            return Ok(false);
        }
        let out = engine.output();
        match link.stream.write(out) {
            Ok(n) => {
                // A short write means the kernel buffer is full: wait for the edge.
                if n < out.len() {
                    link.writable = false;
                }
                bytes::Buf::advance(out, n);
                Ok(n > 0)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                link.writable = false;
                Ok(false)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(LinkEnd::Io(e)),
        }
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

impl Link {
    fn new(stream: Stream, connected: bool) -> Link {
        stream.configure();
        let peer = if connected {
            stream.peer_description()
        } else {
            String::new()
        };
        Link {
            stream,
            engine: None,
            input: BytesMut::with_capacity(READ_CHUNK),
            connected,
            readable: true,
            hup: false,
            eof: false,
            starved: false,
            stalled: false,
            average_frame: 0,
            writable: true,
            assembling: None,
            peer,
        }
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

/// How a connection is woken by its pipe: the socket queued a message, freed room in
/// the inbound queue, or closed.
///
/// A message queued on an idle connection is written right away on the sending thread
/// (one `write` instead of a wake-up of the I/O thread, which then writes): this takes
/// a thread hand-off off every request-reply round trip. Only one such inline write
/// is allowed per [`INLINE_WRITE_GAP`]; messages that follow faster than that go
/// through the I/O thread, which batches them into large writes. Everything else
/// (credit after a full inbound queue, closure) is the I/O thread's job.
pub(crate) struct SessionWake {
    notifier: Notifier,
    conn: OnceLock<Weak<Shared>>,
    last_inline: AtomicU64,
}

/// Read readiness is left to a receiving socket thread only while received frames
/// average at most this many bytes.
const DELEGATE_MAX_FRAME: usize = 4 * 1024;

/// The largest message written inline (see [`SessionWake`]).
const INLINE_WRITE_MAX: usize = 8 * 1024;

/// The least time between two inline writes on one connection.
pub const INLINE_WRITE_GAP: std::time::Duration = std::time::Duration::from_micros(20);

impl SessionWake {
    pub(crate) fn new(notifier: Notifier) -> Arc<SessionWake> {
        Arc::new(SessionWake {
            notifier,
            conn: OnceLock::new(),
            last_inline: AtomicU64::new(0),
        })
    }

    fn try_inline(&self) -> bool {
        let Some(shared) = self.conn.get().and_then(Weak::upgrade) else {
            return false;
        };
        let now = clock_nanos();
        let last = self.last_inline.load(Ordering::Relaxed);
        if now.saturating_sub(last) < INLINE_WRITE_GAP.as_nanos() as u64 {
            return false;
        }
        let Some(mut conn) = shared.conn.try_lock() else {
            return false;
        };
        self.last_inline.store(now, Ordering::Relaxed);
        let done = conn.push_inline();
        drop(conn);
        shared.after_unlock(&self.notifier, u8::MAX);
        done
    }
}

impl Wake for SessionWake {
    fn wake(&self) {
        if !self.try_inline() {
            self.notifier.notify();
        }
    }
}

/// Nanoseconds on a process-wide monotonic clock.
fn clock_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Lets the socket's thread pull a connection's input itself.
///
/// When a socket finds its queue empty it asks each pipe's driver to read right away
/// instead of waiting for the I/O thread to do it and wake it up. While a peer streams
/// faster than the application consumes, the socket thread thus reads and decodes
/// whole batches with no thread hand-off at all; once the stream runs dry, the I/O
/// thread takes over again (it owns the readiness events). Only a `try_lock` is
/// attempted: if the I/O thread holds the connection it is already moving the data.
struct InlineDriver(Weak<Shared>);

impl Driver for InlineDriver {
    fn hand_back(&self) {
        if let Some(shared) = self.0.upgrade() {
            if shared.missed.load(Ordering::SeqCst) & (MISSED_READABLE | MISSED_HUP) != 0 {
                shared.notifier.notify();
            }
        }
    }

    fn pull(&self) -> bool {
        let Some(shared) = self.0.upgrade() else {
            return false;
        };
        let Some(mut conn) = shared.conn.try_lock() else {
            return false;
        };
        // Readiness the reactor could not deliver while we held the lock: reading
        // flags are ours to use here; anything else needs the reactor.
        let taken = shared
            .missed
            .fetch_and(!(MISSED_READABLE | MISSED_HUP), Ordering::SeqCst);
        conn.apply_missed(taken & (MISSED_READABLE | MISSED_HUP));
        let produced = conn.pull_inline();
        let notifier = conn.notifier.clone();
        drop(conn);
        // If we produced messages the caller comes back for more once it has consumed
        // them, and picks up new read readiness itself; only other readiness needs the
        // I/O thread then. If we produced nothing the caller is about to sleep: hand
        // everything over.
        let relevant = if produced {
            MISSED_WRITABLE | MISSED_WAKE
        } else {
            u8::MAX
        };
        shared.after_unlock(&notifier, relevant);
        produced
    }
}

impl Conn {
    /// Writes queued messages on the caller's thread. True if nothing is left for the
    /// I/O thread to do (everything written, no paused reading, no closure to handle).
    fn push_inline(&mut self) -> bool {
        let ready = self.pending_end.is_none()
            && !self.socket_gone
            && self.pipe.is_some()
            && self.link.as_ref().is_some_and(|l| {
                l.connected && !l.stalled && l.engine.as_ref().is_some_and(|e| e.is_ready())
            });
        if !ready {
            return false;
        }
        // Large messages are left to the I/O thread: copying and writing them here
        // would stop the application from queueing the next one meanwhile.
        let small = self
            .pipe
            .as_mut()
            .and_then(|p| p.rx.peek_len())
            .is_some_and(|len| len <= INLINE_WRITE_MAX);
        if !small {
            return false;
        }
        loop {
            match self.write_some() {
                Ok(true) => {}
                Ok(false) => break,
                Err(end) => {
                    self.pending_end = Some(end);
                    return false;
                }
            }
        }
        !self.socket_gone
            && self
                .link
                .as_mut()
                .and_then(|l| l.engine.as_mut())
                .is_some_and(|e| e.output().is_empty())
    }

    /// Reads and decodes on the caller's thread while the stream has data.
    fn pull_inline(&mut self) -> bool {
        let ready = self.pending_end.is_none()
            && self.pipe.is_some()
            && self.link.as_ref().is_some_and(|l| {
                l.connected
                    && (l.readable || !l.input.is_empty())
                    && !l.eof
                    && l.engine.as_ref().is_some_and(|e| e.is_ready())
            });
        if !ready {
            return false;
        }
        let mut reads = 0;
        let mut produced = false;
        let result = loop {
            match self.decode_input() {
                Ok(p) => produced |= p,
                Err(end) => break Err(end),
            }
            if reads >= INLINE_READS || self.inbound_full() {
                break Ok(());
            }
            match self.read_some(&mut reads) {
                Ok(true) => {}
                Ok(false) => break Ok(()),
                Err(end) => break Err(end),
            }
        };
        let link = self.link.as_mut().expect("checked above");
        let reactor_needed = result.is_err()
            || link.eof
            || link.engine.as_mut().is_some_and(|e| !e.output().is_empty());
        if let Err(end) = result {
            self.pending_end = Some(end);
        }
        if reactor_needed {
            // End of stream, an error, or a reply to a PING to write: the I/O thread acts.
            self.notifier.notify();
        }
        produced
    }

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
