//! Moving bytes: a live stream ([`Link`]), reading and decoding into the socket's pipe,
//! encoding and writing out of it.
//!
//! Inbound: read up to [`READ_CHUNK`] bytes at a time into one
//! buffer, let the engine split frames off it without copying, assemble messages and
//! *stage* them in the pipe, then publish the whole batch with one `flush` (one lock,
//! at most one wake-up). At the receive high-water mark reading stops; the socket's
//! next credit resumes it from the buffered bytes.
//!
//! Outbound: pop messages until about [`WRITE_BATCH`] bytes are
//! encoded, then write them with one system call.

use std::io::{self, ErrorKind, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use ferrozmq_engine::{
    encode_frame_header, Engine, EngineError, Event, PeerInfo, SocketType, MAX_HEADER_LEN,
};
use ferrozmq_patterns::pipe::Pop;
use ferrozmq_patterns::{pipe_pair, Msg, Side};

use ferrozmq_reactor::{mio, Cx};

use super::{Conn, InlineDriver, SessionWake, MAX_READ, READ_CHUNK, WRITE_BATCH};

/// Frames at least this large are written from their own buffer (a vectored write)
/// rather than copied into the output buffer.
const ZERO_COPY_MIN: usize = 16 * 1024;
use crate::monitor::EventKind;
use crate::options::LinkOptions;
use crate::stream::Stream;

/// True for a one-frame `01`/`00` + prefix message: a subscription change from SUB/XSUB.
fn is_subscription(msg: &Msg) -> bool {
    msg.len() == 1 && matches!(msg.first().first(), Some(0 | 1))
}

/// Adds a received frame to the message being assembled (and to the running average
/// of frame sizes); returns the message once its last frame has come.
#[inline]
fn assemble(
    assembling: &mut Option<Msg>,
    average_frame: &mut usize,
    data: Bytes,
    more: bool,
) -> Option<Msg> {
    *average_frame = (*average_frame * 7 + data.len()) / 8;
    let msg = match assembling.take() {
        None => Msg::single(data),
        Some(mut m) => {
            m.push(data);
            m
        }
    };
    if more {
        *assembling = Some(msg);
        None
    } else {
        Some(msg)
    }
}

/// A live stream and the protocol state on it.
pub(super) struct Link {
    /// A large frame written straight from its buffer: its header and body, after
    /// what is in the engine's output; both empty when none.
    pub(super) big_header: Bytes,
    pub(super) big_body: Bytes,
    /// Part of the large frame is on the wire: it must be finished before anything
    /// else (commands the engine queued meanwhile, such as a PONG) may follow.
    pub(super) big_started: bool,
    pub(super) stream: Stream,
    pub(super) engine: Option<Engine>,
    pub(super) input: BytesMut,
    pub(super) connected: bool,
    pub(super) readable: bool,
    /// The peer shut down its sending side: read on until end of stream.
    pub(super) hup: bool,
    /// End of stream was read; the link ends once buffered input is decoded.
    pub(super) eof: bool,
    /// The last decode stopped for want of input (not because the socket's queue was full).
    pub(super) starved: bool,
    /// Input is waiting for room in the socket's queue (the I/O thread resumes it).
    pub(super) stalled: bool,
    /// A running average of received frame sizes (bytes).
    pub(super) average_frame: usize,
    /// Bytes received so far (heartbeats: has the peer said anything lately?).
    pub(super) bytes_in: u64,
    pub(super) writable: bool,
    /// The poll reports writability for this stream. Only asked for while a write is
    /// blocked (see [`Conn::update_write_interest`]).
    pub(super) write_interest: bool,
    pub(super) assembling: Option<Msg>,
    pub(super) peer: String,
}

/// Why a link ended.
pub(super) enum LinkEnd {
    Io(io::Error),
    Eof,
    Protocol(EngineError),
    /// Heartbeats: the peer said nothing within the timeout (or its own TTL).
    Heartbeat,
    /// The socket refused the peer (e.g. a second PAIR peer) or closed during the handshake.
    Refused,
}

impl std::fmt::Display for LinkEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkEnd::Io(e) => write!(f, "i/o error: {e}"),
            LinkEnd::Eof => f.write_str("connection closed by peer"),
            LinkEnd::Protocol(e) => write!(f, "protocol error: {e}"),
            LinkEnd::Heartbeat => f.write_str("heartbeat timed out: the peer went silent"),
            LinkEnd::Refused => f.write_str("peer refused by the socket"),
        }
    }
}

impl Link {
    pub(super) fn new(stream: Stream, connected: bool, options: &LinkOptions) -> Link {
        stream.configure(options);
        let peer = if connected {
            stream.peer_description()
        } else {
            String::new()
        };
        Link {
            big_header: Bytes::new(),
            big_body: Bytes::new(),
            big_started: false,
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
            bytes_in: 0,
            writable: true,
            write_interest: true,
            assembling: None,
            peer,
        }
    }
}

impl Conn {
    /// Reads once if the stream may have data and the socket has room. True if bytes came.
    pub(super) fn read_some(&mut self, reads: &mut usize) -> Result<bool, LinkEnd> {
        let link = self.link.as_mut().expect("link");
        if !link.readable || link.eof || link.engine.is_none() || self.inbound_full() {
            return Ok(false);
        }
        let link = self.link.as_mut().expect("link");
        // The hint can be as large as the peer's announced frame size: cap what one read
        // may allocate, the rest of a big frame comes in later reads.
        let hint = link.engine.as_ref().map_or(1, |e| e.input_hint());
        let want = hint.clamp(READ_CHUNK, MAX_READ);
        *reads += 1;
        match link.stream.read_into(&mut link.input, want) {
            Ok(0) => {
                link.eof = true;
                link.readable = false;
                Ok(true)
            }
            Ok(n) => {
                link.bytes_in += n as u64;
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
                link.readable = false;
                Ok(false)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
            Err(e) => Err(LinkEnd::Io(e)),
        }
    }

    /// True if the socket's inbound pipe is at its high-water mark.
    pub(super) fn inbound_full(&mut self) -> bool {
        match &mut self.pipe {
            Some(pipe) => !pipe.tx.has_room(),
            None => false,
        }
    }

    /// Decodes buffered input into messages until it runs out or the pipe is full.
    pub(super) fn decode_input(&mut self) -> Result<bool, LinkEnd> {
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
            if let Some(pipe) = &mut self.pipe {
                // Data frames in bulk, without an event each.
                let room = pipe.tx.room();
                let (assembling, average) = (&mut link.assembling, &mut link.average_frame);
                let tx = &mut pipe.tx;
                let decoded = engine.decode_data_frames(&mut link.input, room, |data, more| {
                    if let Some(msg) = assemble(assembling, average, data, more) {
                        tx.stage(msg);
                    }
                });
                match decoded {
                    Ok(0) => {}
                    Ok(_) => {
                        progress = true;
                        staged = true;
                        continue;
                    }
                    Err(e) => {
                        self.flush_inbound();
                        return Err(LinkEnd::Protocol(e));
                    }
                }
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
                    let whole = assemble(&mut link.assembling, &mut link.average_frame, data, more);
                    if let (Some(msg), Some(pipe)) = (whole, &mut self.pipe) {
                        pipe.tx.stage(msg);
                        staged = true;
                    }
                }
                Event::Ready(peer) => self.handshake_done(peer)?,
                // Publishers get subscriptions as `01`/`00` + prefix messages, the form
                // a ZMTP 3.0 peer sends them in. Other socket types ignore them.
                Event::Subscribe(topic) => self.stage_subscription(true, &topic, &mut staged),
                Event::Cancel(topic) => self.stage_subscription(false, &topic, &mut staged),
            }
        }
        if staged {
            self.flush_inbound();
            self.peer_spoke = true;
            self.awaiting_reply = false;
        }
        if self
            .link
            .as_ref()
            .and_then(|l| l.engine.as_ref())
            .is_some_and(|e| e.has_peer_ttl())
        {
            // The reactor owns the timers: let it arm the TTL.
            self.notifier.notify();
        }
        Ok(progress)
    }

    fn stage_subscription(&mut self, subscribe: bool, topic: &[u8], staged: &mut bool) {
        let publisher = matches!(
            self.socket.options.socket_type,
            SocketType::Pub | SocketType::XPub
        );
        if let (true, Some(pipe)) = (publisher, &mut self.pipe) {
            let mut msg = BytesMut::with_capacity(topic.len() + 1);
            msg.put_u8(u8::from(subscribe));
            msg.put_slice(topic);
            pipe.tx.stage(Msg::single(msg.freeze()));
            *staged = true;
        }
    }

    pub(super) fn flush_inbound(&mut self) {
        if let Some(pipe) = &mut self.pipe {
            if !pipe.tx.flush() {
                self.socket_gone = true;
            }
        }
    }

    pub(super) fn handshake_done(&mut self, mut peer: PeerInfo) -> Result<(), LinkEnd> {
        if let Some(shared) = self.me.upgrade() {
            shared.delegate.store(true, Ordering::Relaxed);
        }
        // Heartbeat timers start on the reactor thread.
        self.handshake_fresh = true;
        self.notifier.notify();
        if let (Some(id), true) = (&self.socket.options.connect_routing_id, self.is_connecter()) {
            peer.routing_id = id.clone();
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
            // A reconnect: the pipe survived, the new peer knows none of our
            // subscriptions.
            if let Some(engine) = self.link.as_mut().and_then(|l| l.engine.as_mut()) {
                for topic in &self.subscriptions {
                    engine.send_subscribe(topic, true);
                }
            }
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
    pub(super) fn write_some(&mut self) -> Result<bool, LinkEnd> {
        let link = self.link.as_mut().expect("link");
        let Some(engine) = link.engine.as_mut() else {
            return Ok(false);
        };
        if engine.is_ready()
            && !self.outbound_drained
            && link.big_header.is_empty()
            && link.big_body.is_empty()
        {
            let subscriber = matches!(
                self.socket.options.socket_type,
                SocketType::Sub | SocketType::XSub
            );
            if let Some(pipe) = &mut self.pipe {
                while engine.output().len() < WRITE_BATCH {
                    match pipe.rx.pop() {
                        Pop::Msg(msg)
                            if msg
                                .frames()
                                .last()
                                .is_some_and(|f| f.len() >= ZERO_COPY_MIN) =>
                        {
                            // A large last frame (a body, after any envelope) is written
                            // from its own buffer, after its header, instead of being
                            // copied into the output.
                            let before_last = msg.len() - 1;
                            let mut frames = msg.into_frames();
                            for frame in frames.by_ref().take(before_last) {
                                engine.send_frame(&frame, true);
                            }
                            let body = frames.next().expect("the last frame");
                            let mut header = [0u8; MAX_HEADER_LEN];
                            let n = encode_frame_header(&mut header, body.len(), false);
                            link.big_header = Bytes::copy_from_slice(&header[..n]);
                            link.big_body = body;
                            link.big_started = false;
                            break;
                        }
                        Pop::Msg(msg) if subscriber && is_subscription(&msg) => {
                            let frame = msg.first();
                            let (subscribe, topic) = (frame[0] == 1, frame.slice(1..));
                            engine.send_subscribe(&topic, subscribe);
                            if subscribe {
                                self.subscriptions.insert(topic);
                            } else {
                                self.subscriptions.remove(&topic);
                            }
                        }
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
        let out = engine.output();
        let big = link.big_header.len() + link.big_body.len();
        if !link.writable || (out.is_empty() && big == 0) {
            return Ok(false);
        }
        // Wire order: the engine's output, then the large frame; but once the large
        // frame has started, it finishes first.
        let out_first = !link.big_started;
        let slices = if out_first {
            [
                io::IoSlice::new(out),
                io::IoSlice::new(&link.big_header),
                io::IoSlice::new(&link.big_body),
            ]
        } else {
            [
                io::IoSlice::new(&link.big_header),
                io::IoSlice::new(&link.big_body),
                io::IoSlice::new(out),
            ]
        };
        let pending = out.len() + big;
        let written = if big == 0 {
            link.stream.write(out)
        } else {
            link.stream.write_vectored(&slices)
        };
        match written {
            Ok(n) => {
                // A short write means the kernel buffer is full: wait for the edge.
                if n < pending {
                    link.writable = false;
                }
                let mut left = n;
                let take_out = |left: &mut usize, out: &mut BytesMut| {
                    let k = (*left).min(out.len());
                    bytes::Buf::advance(out, k);
                    *left -= k;
                };
                if out_first {
                    take_out(&mut left, out);
                }
                if left > 0 && big > 0 {
                    link.big_started = true;
                    let k = left.min(link.big_header.len());
                    bytes::Buf::advance(&mut link.big_header, k);
                    left -= k;
                    let k = left.min(link.big_body.len());
                    bytes::Buf::advance(&mut link.big_body, k);
                    left -= k;
                    if link.big_header.is_empty() && link.big_body.is_empty() {
                        link.big_started = false;
                    }
                }
                if !out_first {
                    take_out(&mut left, out);
                }
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

    /// On a connection that carries a conversation, asks the poll for writability only
    /// while a write is blocked.
    ///
    /// Registered for it all the time, an ipc stream reports writability every time
    /// the peer reads, which in a request-reply exchange woke the I/O thread once per
    /// message for nothing (ipc latency 15.7 → 5.7 µs at 64 B without it). Streams
    /// keep it: their writes block often, and toggling the registration each time cost
    /// more than the wake-ups (ipc throughput at 64 KiB fell from 72k to 28k msg/s).
    /// Re-arming reports a stream that became writable meanwhile, so no edge is lost.
    /// Until connected the stream keeps both: the connect completes with writability.
    pub(super) fn update_write_interest(&mut self, cx: &mut Cx<'_>) -> Result<(), LinkEnd> {
        let Some(link) = self.link.as_mut().filter(|l| l.connected) else {
            return Ok(());
        };
        let wanted = !link.writable || !self.conversing;
        if wanted == link.write_interest {
            return Ok(());
        }
        let interest = if wanted {
            mio::Interest::READABLE | mio::Interest::WRITABLE
        } else {
            mio::Interest::READABLE
        };
        cx.registry()
            .reregister(&mut link.stream, cx.token(), interest)
            .map_err(LinkEnd::Io)?;
        link.write_interest = wanted;
        Ok(())
    }

    /// True when nothing waits to be written: all encoded output went out and the
    /// socket's outbound queue is empty.
    pub(super) fn nothing_to_write(&mut self) -> bool {
        self.pending_end.is_none()
            && self.output_flushed()
            && self.pipe.as_mut().is_none_or(|p| p.rx.peek_len().is_none())
    }

    /// True when everything encoded so far has been written.
    pub(super) fn output_flushed(&mut self) -> bool {
        self.link.as_mut().is_none_or(|l| {
            l.big_header.is_empty()
                && l.big_body.is_empty()
                && l.engine.as_mut().is_none_or(|e| e.output().is_empty())
        })
    }
}
