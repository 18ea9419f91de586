//! ZMTP 3.x codec and NULL-mechanism handshake for ferrozmq, as a sans-IO
//! state machine.
//!
//! An [`Engine`] is one connection's protocol logic and nothing else: bytes
//! in, events and bytes out. It owns no socket, spawns no thread and reads no
//! clock (time is passed in), so the I/O layer can drive it from any reactor
//! and tests can drive it from plain byte slices.
//!
//! * [`Engine::new`] queues our 64-byte greeting (ZMTP 3.1, mechanism NULL).
//! * [`Engine::handle_input`] consumes the peer's bytes from the front of a
//!   caller-owned [`BytesMut`](bytes::BytesMut) and returns at most one
//!   [`Event`] per call: [`Event::Ready`] once both READY commands are
//!   exchanged, then [`Event::Frame`] per data frame (a zero-copy slice of the
//!   input buffer), plus [`Event::Subscribe`]/[`Event::Cancel`].
//! * [`Engine::output`] holds what must be written to the peer (greeting,
//!   READY, PONGs, frames queued by [`Engine::send_frame`]).
//! * [`Engine::poll_timeout`]/[`Engine::handle_timeout`] enforce the
//!   handshake deadline with caller-supplied instants.
//!
//! Every error is fatal for the connection. The wire format follows RFC 23/37
//! as implemented by libzmq 4.3.x; deliberate differences from libzmq: a
//! READY without `Socket-Type` is refused ([`EngineError::MissingSocketType`]),
//! handshake commands are capped at [`MAX_HANDSHAKE_COMMAND_SIZE`], and ZMTP
//! 1.0/2.0 peers are refused rather than downgraded to.
//!
//! # Example: two engines talking in memory
//!
//! ```
//! use bytes::BytesMut;
//! use ferrozmq_engine::{Engine, EngineConfig, Event, SocketType};
//! use std::time::Instant;
//!
//! let now = Instant::now();
//! let mut dealer = Engine::new(EngineConfig::new(SocketType::Dealer), now);
//! let mut router = Engine::new(EngineConfig::new(SocketType::Router), now);
//! let (mut dealer_in, mut router_in) = (BytesMut::new(), BytesMut::new());
//!
//! // Shuttle bytes both ways until both handshakes are complete.
//! while !(dealer.is_ready() && router.is_ready()) {
//!     router_in.extend_from_slice(&dealer.output().split());
//!     dealer_in.extend_from_slice(&router.output().split());
//!     while let Some(event) = dealer.handle_input(&mut dealer_in)? {
//!         if let Event::Ready(peer) = event {
//!             assert_eq!(peer.socket_type, SocketType::Router);
//!         }
//!     }
//!     while let Some(event) = router.handle_input(&mut router_in)? {
//!         if let Event::Ready(peer) = event {
//!             assert_eq!(peer.socket_type, SocketType::Dealer);
//!         }
//!     }
//! }
//!
//! // A two-frame message from the dealer to the router.
//! dealer.send_frame(b"hello", true);
//! dealer.send_frame(b"world", false);
//! router_in.extend_from_slice(&dealer.output().split());
//! let mut frames = Vec::new();
//! while let Some(Event::Frame { data, more }) = router.handle_input(&mut router_in)? {
//!     frames.push((data, more));
//! }
//! assert_eq!(frames, [(b"hello"[..].into(), true), (b"world"[..].into(), false)]);
//! # Ok::<(), ferrozmq_engine::EngineError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
mod engine;
mod error;
mod frame;
mod greeting;
mod socket_type;

pub use engine::{
    Engine, EngineConfig, Event, PeerInfo, DEFAULT_HANDSHAKE_TIMEOUT, MAX_FRAME_SIZE,
    MAX_HANDSHAKE_COMMAND_SIZE,
};
pub use error::EngineError;
pub use frame::{
    encode_frame_header, FrameHeader, FLAG_COMMAND, FLAG_LONG, FLAG_MORE, MAX_HEADER_LEN,
};
pub use greeting::{GREETING_LEN, NULL_GREETING};
pub use socket_type::SocketType;
