//! Why a connection failed.
//!
//! Every engine error is fatal for its connection: the caller closes the
//! transport. Kept separate so the I/O glue can match on failure kinds (for
//! example "don't reconnect after a protocol error", ZMTP.md section 7)
//! without depending on decoder internals.

use std::fmt;

use crate::SocketType;

/// A fatal protocol failure. After the engine returns one, it is dead.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// The peer's signature is wrong (byte 0 is not `FF` or bit 0 of byte 9
    /// is clear): a ZMTP 1.0 peer or not ZeroMQ at all.
    NotZmtp,
    /// The peer announced a major version below 3 (ZMTP 1.0/2.0 fallback is
    /// not implemented).
    UnsupportedVersion {
        /// Major version byte of the peer's greeting.
        major: u8,
        /// Byte 11 of the peer's greeting (for major < 3 this is really the
        /// ZMTP 2.0 socket-type code).
        minor: u8,
    },
    /// The peer's mechanism is not `NULL` (all 20 bytes are compared).
    MechanismMismatch {
        /// Our mechanism name.
        ours: String,
        /// The peer's mechanism name, trailing NULs removed.
        peer: String,
    },
    /// The peer's `Socket-Type` is unknown or not a legal partner for ours.
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's `Socket-Type` value as received (lossy UTF-8).
        peer: String,
    },
    /// The peer's READY has no `Socket-Type` property. libzmq accepts this;
    /// we are deliberately stricter, since every real ZMTP 3 peer sends it.
    MissingSocketType,
    /// A command frame is structurally invalid; the text says how.
    MalformedCommand(&'static str),
    /// READY metadata doesn't parse as a sequence of properties.
    MalformedMetadata,
    /// During the handshake, a command other than READY or ERROR arrived.
    UnexpectedCommand(String),
    /// A data frame arrived before the handshake completed.
    DataBeforeHandshake,
    /// A frame announced a body larger than the applicable limit
    /// (MAXMSGSIZE, the handshake command cap, or the address-space cap).
    MessageTooLarge {
        /// Announced body size.
        size: u64,
        /// The limit it exceeds.
        limit: u64,
    },
    /// The peer sent an ERROR command with this reason.
    PeerError(String),
    /// The handshake did not complete before its deadline.
    HandshakeTimeout,
    /// The engine was closed. Not produced by [`Engine`](crate::Engine)
    /// itself (a failed engine keeps returning its original error); available
    /// to glue code that wants to report a locally closed connection.
    Closed,
}

impl EngineError {
    /// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_*` code for this failure, as its
    /// `HANDSHAKE_FAILED_PROTOCOL` monitor event carries it.
    pub fn libzmq_code(&self) -> u32 {
        const UNSPECIFIED: u32 = 0x1000_0000;
        const UNEXPECTED_COMMAND: u32 = 0x1000_0001;
        const MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
        const INVALID_METADATA: u32 = 0x1000_0018;
        const MECHANISM_MISMATCH: u32 = 0x1100_0002;
        match self {
            EngineError::MechanismMismatch { .. } => MECHANISM_MISMATCH,
            EngineError::IncompatibleSocketType { .. }
            | EngineError::MissingSocketType
            | EngineError::MalformedMetadata => INVALID_METADATA,
            EngineError::MalformedCommand(_) => MALFORMED_COMMAND_UNSPECIFIED,
            EngineError::UnexpectedCommand(_) | EngineError::DataBeforeHandshake => {
                UNEXPECTED_COMMAND
            }
            _ => UNSPECIFIED,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::NotZmtp => f.write_str("peer is not speaking ZMTP 2.0+ (bad signature)"),
            EngineError::UnsupportedVersion { major, minor } => write!(
                f,
                "peer speaks ZMTP version {major}.{minor}, only 3.x is supported"
            ),
            EngineError::MechanismMismatch { ours, peer } => write!(
                f,
                "security mechanism mismatch: ours is {ours:?}, peer's is {peer:?}"
            ),
            EngineError::IncompatibleSocketType { ours, peer } => {
                write!(f, "socket type {ours} cannot talk to peer type {peer:?}")
            }
            EngineError::MissingSocketType => f.write_str("peer READY has no Socket-Type property"),
            EngineError::MalformedCommand(what) => write!(f, "malformed command: {what}"),
            EngineError::MalformedMetadata => f.write_str("malformed READY metadata"),
            EngineError::UnexpectedCommand(name) => {
                write!(f, "unexpected command {name:?} during handshake")
            }
            EngineError::DataBeforeHandshake => {
                f.write_str("data frame received before the handshake completed")
            }
            EngineError::MessageTooLarge { size, limit } => {
                write!(
                    f,
                    "frame of {size} bytes exceeds the limit of {limit} bytes"
                )
            }
            EngineError::PeerError(reason) => write!(f, "peer sent ERROR: {reason:?}"),
            EngineError::HandshakeTimeout => f.write_str("handshake timed out"),
            EngineError::Closed => f.write_str("engine is closed"),
        }
    }
}

impl std::error::Error for EngineError {}
