//! The per-connection state machine: greeting, NULL handshake, traffic.
//!
//! This is the only stateful part of the crate and it is sans-IO on purpose:
//! it never touches a socket, a thread or a clock. The caller owns the input
//! buffer and appends whatever it read; the engine consumes whole units from
//! its front (the 64-byte greeting, then one complete frame at a time) and
//! hands data frames back as zero-copy slices of that buffer. Everything the
//! engine wants to send accumulates in [`Engine::output`]. Time only enters
//! through `now` arguments, which makes every path testable with injected
//! instants and every outcome a pure function of the bytes fed in.
//!
//! ```text
//! Greeting --peer greeting ok / queue READY--> Handshake --peer READY ok--> Traffic
//!     \________________________ any error ______________\________________/--> Failed
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::command;
use crate::frame::{put_data_frame, put_header, FrameHeader, FLAG_COMMAND, FLAG_MORE};
use crate::greeting::{self, GREETING_LEN, NULL_GREETING};
use crate::{EngineError, SocketType, MAX_HEADER_LEN};

/// Largest command body accepted while handshaking (READY or ERROR), 64 KiB.
///
/// A READY is about 50 bytes plus application metadata (`ZMQ_METADATA`); 64 KiB
/// leaves plenty of room while stopping an unauthenticated peer from making
/// the caller buffer an arbitrary amount before the handshake completes.
pub const MAX_HANDSHAKE_COMMAND_SIZE: u64 = 64 * 1024;

/// Largest frame body accepted at all, whatever `max_msg_size` says: a body
/// that couldn't be addressed in memory (plus its header) is refused outright
/// instead of making anyone try to buffer it.
pub const MAX_FRAME_SIZE: u64 = isize::MAX as u64 - MAX_HEADER_LEN as u64;

/// Default handshake deadline (libzmq's ZMQ_HANDSHAKE_IVL).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Per-connection settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Our socket type: sent in READY and checked against the peer's.
    pub socket_type: SocketType,
    /// Our routing id (0..=255 bytes), sent as the `Identity` property only if
    /// `socket_type.sends_identity()`. Longer ids are truncated to 255 bytes.
    pub routing_id: Bytes,
    /// MAXMSGSIZE: an inbound frame body (data or post-handshake command)
    /// larger than this fails the connection. `None` = no limit.
    pub max_msg_size: Option<u64>,
    /// HANDSHAKE_IVL: the handshake must complete within this long after
    /// [`Engine::new`]. `None` = no deadline.
    pub handshake_timeout: Option<Duration>,
    /// Whether we are the bind side. Informational only: the NULL mechanism is
    /// symmetric and libzmq always sends as-server = 0.
    pub as_server: bool,
}

impl EngineConfig {
    /// Defaults: empty routing id, no MAXMSGSIZE, 30 s handshake deadline,
    /// connect side.
    pub fn new(socket_type: SocketType) -> Self {
        EngineConfig {
            socket_type,
            routing_id: Bytes::new(),
            max_msg_size: None,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            as_server: false,
        }
    }
}

/// What the handshake told us about the peer.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The peer's `Socket-Type`.
    pub socket_type: SocketType,
    /// The peer's `Identity` property, empty if absent (if repeated, the last).
    pub routing_id: Bytes,
    /// 0 for a ZMTP 3.0 peer, 1 for 3.1 or anything newer.
    pub minor_version: u8,
    /// Every READY property in the order received (names are case-sensitive).
    pub properties: Vec<(String, Bytes)>,
}

/// Something the caller must act on, decoded from the peer's bytes.
#[derive(Debug)]
pub enum Event {
    /// Handshake done: both READYs exchanged and validated; traffic may flow.
    Ready(PeerInfo),
    /// One message frame (not a command), split zero-copy off the input
    /// buffer. `more` is the MORE flag: further frames of the message follow.
    Frame {
        /// The frame body.
        data: Bytes,
        /// More frames of this message follow.
        more: bool,
    },
    /// A SUBSCRIBE command (ZMTP 3.1) arrived; the topic bytes.
    Subscribe(Bytes),
    /// A CANCEL command (ZMTP 3.1) arrived; the topic bytes.
    Cancel(Bytes),
}

/// Where the connection is.
enum State {
    /// Waiting for (the rest of) the peer's 64-byte greeting.
    Greeting,
    /// Our READY is queued; waiting for the peer's READY.
    Handshake,
    /// Both READYs exchanged: frames flow.
    Traffic,
    /// Dead; every call repeats this error.
    Failed(EngineError),
}

/// A ZMTP 3.x connection (NULL mechanism) as a sans-IO state machine.
///
/// Feed the peer's bytes to [`handle_input`](Engine::handle_input), write out
/// whatever [`output`](Engine::output) holds, and call
/// [`handle_timeout`](Engine::handle_timeout) at
/// [`poll_timeout`](Engine::poll_timeout). See the crate docs for an example.
pub struct Engine {
    state: State,
    config: EngineConfig,
    /// Bytes for the peer, in order.
    output: BytesMut,
    /// Frames sent before the handshake completed (only possible in release
    /// builds); moved to `output` once traffic may flow.
    held: BytesMut,
    /// Handshake deadline, if any.
    deadline: Option<Instant>,
    /// Input bytes still missing for the unit being decoded, as of the last
    /// `handle_input` call.
    need: usize,
    /// Peer's minor version (from its greeting): 0 = ZMTP 3.0.
    peer_minor: u8,
    /// The TTL the peer announced in its last PING, not yet taken by the caller.
    peer_ttl: Option<Duration>,
}

impl Engine {
    /// Creates the engine and immediately queues our full 64-byte greeting
    /// (ZMTP 3.1, NULL) in the output buffer. `now` starts the handshake
    /// deadline.
    pub fn new(config: EngineConfig, now: Instant) -> Engine {
        debug_assert!(
            config.routing_id.len() <= 255,
            "routing id longer than 255 bytes"
        );
        let mut output = BytesMut::with_capacity(256);
        output.put_slice(&NULL_GREETING);
        let deadline = config.handshake_timeout.and_then(|t| now.checked_add(t));
        Engine {
            state: State::Greeting,
            config,
            output,
            held: BytesMut::new(),
            deadline,
            need: GREETING_LEN,
            peer_minor: 1,
            peer_ttl: None,
        }
    }

    /// Decodes at most one event from the front of `input`, consuming exactly
    /// the bytes of the units it decoded (the greeting, whole frames; a
    /// partial unit is left in place untouched).
    ///
    /// `Ok(None)` means every complete unit has been consumed and more input
    /// is needed; [`input_hint`](Engine::input_hint) then says how many bytes
    /// are missing. Units that produce no event (the greeting, PING, PONG,
    /// unknown post-handshake commands) are handled internally and decoding
    /// continues within the same call. Call again after `Ok(Some(_))`: more
    /// events may be buffered.
    ///
    /// Frame bodies ([`Event::Frame`], subscription topics, READY property
    /// values) share `input`'s allocation: while any of them is alive,
    /// `BytesMut::reserve` on `input` cannot reclaim that memory in place.
    ///
    /// After an `Err` the engine is dead: every later call returns the same
    /// error again, and the caller should close the connection.
    pub fn handle_input(&mut self, input: &mut BytesMut) -> Result<Option<Event>, EngineError> {
        let result = match self.state {
            State::Traffic => self.decode_traffic(input),
            State::Greeting | State::Handshake => self.decode_handshake(input),
            State::Failed(ref err) => return Err(err.clone()),
        };
        if let Err(ref err) = result {
            self.state = State::Failed(err.clone());
        }
        result
    }

    /// The hot path for traffic: decodes up to `max` complete data frames from the
    /// front of `input`, handing each body (a zero-copy slice of `input`) and its MORE
    /// flag to `sink`, and returns how many it decoded.
    ///
    /// It stops early, without consuming anything further, at anything that needs
    /// [`handle_input`](Engine::handle_input): a command frame, a frame not yet
    /// complete, or an engine that is not in the traffic phase (then it decodes
    /// nothing). Errors are those of `handle_input` and fail the engine the same way.
    /// Calling `handle_input` after it returns is always correct; this only avoids
    /// building an [`Event`] per frame when a batch of small messages arrives.
    #[inline]
    pub fn decode_data_frames(
        &mut self,
        input: &mut BytesMut,
        max: usize,
        mut sink: impl FnMut(Bytes, bool),
    ) -> Result<usize, EngineError> {
        if !matches!(self.state, State::Traffic) {
            return Ok(0);
        }
        let limit = self.config.max_msg_size;
        let mut decoded = 0;
        while decoded < max {
            let Some(header) = FrameHeader::decode(input) else {
                break;
            };
            if header.is_command() {
                break;
            }
            let size = match body_size(header.size, limit) {
                Ok(size) => size,
                Err(err) => {
                    self.state = State::Failed(err.clone());
                    return Err(err);
                }
            };
            if input.len() < header.header_len + size {
                break;
            }
            input.advance(header.header_len);
            sink(input.split_to(size).freeze(), header.more());
            decoded += 1;
        }
        Ok(decoded)
    }

    /// Bytes waiting to be written to the peer (greeting, READY, PONG,
    /// encoded frames), oldest first. Write a prefix and `advance` past it.
    pub fn output(&mut self) -> &mut BytesMut {
        &mut self.output
    }

    /// True once the handshake completed ([`Event::Ready`] was returned) and
    /// the engine hasn't failed since.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Traffic)
    }

    /// The error the engine failed with, if it has.
    pub fn error(&self) -> Option<&EngineError> {
        match &self.state {
            State::Failed(err) => Some(err),
            _ => None,
        }
    }

    /// Encodes one data frame (header and a copy of `data`) into the output.
    ///
    /// Must only be called once [`is_ready`](Engine::is_ready): debug builds
    /// panic otherwise; release builds hold the frame back until the
    /// handshake completes, since frames before READY make libzmq drop us.
    pub fn send_frame(&mut self, data: &[u8], more: bool) {
        put_data_frame(self.send_buffer(), data, more);
    }

    /// Queues a subscription change: a SUBSCRIBE/CANCEL command for a ZMTP
    /// 3.1 peer, the legacy `01`/`00`-prefixed message for a 3.0 peer.
    /// Same readiness rule as [`send_frame`](Engine::send_frame).
    pub fn send_subscribe(&mut self, topic: &[u8], subscribe: bool) {
        let legacy = self.peer_minor == 0;
        let out = self.send_buffer();
        if legacy {
            out.reserve(MAX_HEADER_LEN + 1 + topic.len());
            put_header(out, 0, 1 + topic.len());
            out.put_u8(u8::from(subscribe));
            out.put_slice(topic);
        } else {
            let name: &[u8] = if subscribe { b"SUBSCRIBE" } else { b"CANCEL" };
            command::put_command(out, name, &[topic]);
        }
    }

    /// Queues a PING (ZMTP 3.1 heartbeat) with `ttl` in tenths of a second
    /// (0 = none) and up to 16 bytes of `context` (longer is truncated).
    /// Same readiness rule as [`send_frame`](Engine::send_frame).
    pub fn send_ping(&mut self, ttl: u16, context: &[u8]) {
        let context = &context[..context.len().min(command::MAX_PING_CONTEXT)];
        let ttl = ttl.to_be_bytes();
        command::put_command(self.send_buffer(), b"PING", &[&ttl, context]);
    }

    /// The time-to-live the peer asked for in its latest PING (ZMTP 3.1 heartbeats:
    /// "if you hear nothing from me for this long, drop me"), once per PING carrying
    /// one. The caller owns the clock, so it runs the deadline.
    pub fn take_peer_ttl(&mut self) -> Option<Duration> {
        self.peer_ttl.take()
    }

    /// True if [`take_peer_ttl`](Engine::take_peer_ttl) has something.
    pub fn has_peer_ttl(&self) -> bool {
        self.peer_ttl.is_some()
    }

    /// Earliest instant at which [`handle_timeout`](Engine::handle_timeout)
    /// must be called: the handshake deadline while handshaking, else `None`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Greeting | State::Handshake => self.deadline,
            State::Traffic | State::Failed(_) => None,
        }
    }

    /// Fails the engine with [`EngineError::HandshakeTimeout`] if the
    /// handshake deadline has passed at `now` (`now >= deadline`). A failed
    /// engine returns its original error.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), EngineError> {
        match self.state {
            State::Failed(ref err) => Err(err.clone()),
            State::Traffic => Ok(()),
            State::Greeting | State::Handshake => match self.deadline {
                Some(deadline) if now >= deadline => {
                    self.state = State::Failed(EngineError::HandshakeTimeout);
                    Err(EngineError::HandshakeTimeout)
                }
                _ => Ok(()),
            },
        }
    }

    /// How many more input bytes the decoder needs before it can make
    /// progress, as of the end of the last [`handle_input`](Engine::handle_input)
    /// call that returned `Ok(None)` (1 after one that returned an event).
    /// Always at least 1. For a large frame this is the rest of its body:
    /// it can be as large as MAXMSGSIZE (or [`MAX_FRAME_SIZE`] without one),
    /// so clamp it before reserving memory.
    pub fn input_hint(&self) -> usize {
        self.need.max(1)
    }

    /// The buffer sends go to: the output once ready, else the held buffer.
    fn send_buffer(&mut self) -> &mut BytesMut {
        debug_assert!(
            !matches!(self.state, State::Greeting | State::Handshake),
            "Engine: sending before the handshake completed"
        );
        match self.state {
            State::Greeting | State::Handshake => &mut self.held,
            State::Traffic | State::Failed(_) => &mut self.output,
        }
    }

    /// The hot path: one complete frame in, one event out (or an internal
    /// command handled and the loop continues).
    #[inline]
    fn decode_traffic(&mut self, input: &mut BytesMut) -> Result<Option<Event>, EngineError> {
        loop {
            let Some(&flags) = input.first() else {
                self.need = 2;
                return Ok(None);
            };
            if flags & (FLAG_COMMAND | FLAG_MORE) == FLAG_COMMAND | FLAG_MORE {
                return Err(EngineError::MalformedCommand("command frame with MORE set"));
            }
            let Some(header) = FrameHeader::decode(input) else {
                self.need = FrameHeader::len_for_flags(flags) - input.len();
                return Ok(None);
            };
            let size = body_size(header.size, self.config.max_msg_size)?;
            let total = header.header_len + size;
            if input.len() < total {
                self.need = total - input.len();
                return Ok(None);
            }
            input.advance(header.header_len);
            let body = input.split_to(size).freeze();
            self.need = 1;
            if flags & FLAG_COMMAND == 0 {
                return Ok(Some(Event::Frame {
                    data: body,
                    more: flags & FLAG_MORE != 0,
                }));
            }
            if let Some(event) = self.traffic_command(&body)? {
                return Ok(Some(event));
            }
        }
    }

    /// A command after the handshake. `Ok(None)`: handled, no event.
    fn traffic_command(&mut self, body: &Bytes) -> Result<Option<Event>, EngineError> {
        let (name, data) = command::split(body)?;
        match name {
            b"PING" => {
                if data.len() >= 2 {
                    let tenths = u16::from_be_bytes([data[0], data[1]]);
                    if tenths > 0 {
                        self.peer_ttl = Some(Duration::from_millis(u64::from(tenths) * 100));
                    }
                }
                let context = command::ping_context(&data);
                command::put_command(&mut self.output, b"PONG", &[context]);
                Ok(None)
            }
            b"SUBSCRIBE" => Ok(Some(Event::Subscribe(data))),
            b"CANCEL" => Ok(Some(Event::Cancel(data))),
            b"ERROR" => Err(EngineError::PeerError(command::parse_error_reason(&data)?)),
            // PONG only proves liveness (which the caller sees as bytes
            // consumed); anything else is dropped silently, as libzmq does.
            _ => Ok(None),
        }
    }

    /// Greeting and handshake: no events until READY.
    fn decode_handshake(&mut self, input: &mut BytesMut) -> Result<Option<Event>, EngineError> {
        if let State::Greeting = self.state {
            let Some(peer) = greeting::check(input)? else {
                self.need = GREETING_LEN - input.len();
                return Ok(None);
            };
            input.advance(GREETING_LEN);
            self.peer_minor = peer.minor_version;
            let identity = self
                .config
                .socket_type
                .sends_identity()
                .then_some(&self.config.routing_id[..]);
            command::put_ready(&mut self.output, self.config.socket_type, identity);
            self.state = State::Handshake;
        }
        // Handshake: the next frame must be a READY (or ERROR) command.
        let Some(&flags) = input.first() else {
            self.need = 2;
            return Ok(None);
        };
        if flags & FLAG_COMMAND == 0 {
            return Err(EngineError::DataBeforeHandshake);
        }
        if flags & FLAG_MORE != 0 {
            return Err(EngineError::MalformedCommand("command frame with MORE set"));
        }
        let Some(header) = FrameHeader::decode(input) else {
            self.need = FrameHeader::len_for_flags(flags) - input.len();
            return Ok(None);
        };
        let size = body_size(header.size, Some(MAX_HANDSHAKE_COMMAND_SIZE))?;
        let total = header.header_len + size;
        if input.len() < total {
            self.need = total - input.len();
            return Ok(None);
        }
        input.advance(header.header_len);
        let body = input.split_to(size).freeze();
        self.need = 1;
        self.handshake_command(&body).map(Some)
    }

    /// The peer's command during the handshake: READY completes it, ERROR and
    /// anything else end it.
    fn handshake_command(&mut self, body: &Bytes) -> Result<Event, EngineError> {
        let (name, data) = command::split(body)?;
        match name {
            b"READY" => {}
            b"ERROR" => return Err(EngineError::PeerError(command::parse_error_reason(&data)?)),
            other => {
                return Err(EngineError::UnexpectedCommand(
                    String::from_utf8_lossy(other).into_owned(),
                ))
            }
        }
        let properties = command::parse_metadata(&data)?;
        let ours = self.config.socket_type;
        let mut peer_type = None;
        let mut routing_id = Bytes::new();
        for (name, value) in &properties {
            if name == command::SOCKET_TYPE {
                // Every occurrence must be acceptable (libzmq checks each).
                match SocketType::from_name(value) {
                    Some(t) if ours.accepts(t) => {
                        peer_type.get_or_insert(t);
                    }
                    _ => {
                        return Err(EngineError::IncompatibleSocketType {
                            ours,
                            peer: String::from_utf8_lossy(value).into_owned(),
                        })
                    }
                }
            } else if name == command::IDENTITY {
                routing_id = value.clone();
            }
        }
        let socket_type = peer_type.ok_or(EngineError::MissingSocketType)?;
        self.state = State::Traffic;
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.output.put_slice(&held);
        }
        Ok(Event::Ready(PeerInfo {
            socket_type,
            routing_id,
            minor_version: self.peer_minor,
            properties,
        }))
    }
}

/// Validates an announced body size against `limit` and the address-space
/// cap before anything is buffered, and converts it to `usize`.
#[inline]
fn body_size(size: u64, limit: Option<u64>) -> Result<usize, EngineError> {
    if let Some(limit) = limit {
        if size > limit {
            return Err(EngineError::MessageTooLarge { size, limit });
        }
    }
    if size > MAX_FRAME_SIZE {
        return Err(EngineError::MessageTooLarge {
            size,
            limit: MAX_FRAME_SIZE,
        });
    }
    Ok(size as usize)
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Greeting => "greeting",
            State::Handshake => "handshake",
            State::Traffic => "traffic",
            State::Failed(_) => "failed",
        };
        f.debug_struct("Engine")
            .field("state", &state)
            .field("error", &self.error())
            .field("socket_type", &self.config.socket_type)
            .field("output_len", &self.output.len())
            .field("need", &self.need)
            .finish()
    }
}
