//! Errors returned by the public API.

use std::fmt;
use std::io;

use ferrozmq_transports::{EndpointError, InprocError, TransportError};

use crate::SocketType;

/// Everything that can go wrong in a ferrozmq call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The operation would block (non-blocking mode), libzmq's `EAGAIN`.
    WouldBlock,
    /// The send or receive timeout expired (`SNDTIMEO`/`RCVTIMEO`), also `EAGAIN` in libzmq.
    TimedOut,
    /// The socket's state machine forbids this now (REQ/REP order), libzmq's `EFSM`.
    WrongState,
    /// This socket type cannot do that (e.g. receive on PUSH), libzmq's `ENOTSUP`.
    NotSupported,
    /// ROUTER_MANDATORY and the routing id names no peer, libzmq's `EHOSTUNREACH`.
    HostUnreachable,
    /// The endpoint string is invalid.
    Endpoint(EndpointError),
    /// The address is already bound (tcp, ipc or inproc), libzmq's `EADDRINUSE`.
    AddressInUse,
    /// `unbind`/`disconnect` of an endpoint the socket is not bound/connected to (`ENOENT`).
    UnknownEndpoint(String),
    /// inproc peers of types that cannot talk to each other.
    IncompatibleSocketType {
        /// This socket's type.
        ours: SocketType,
        /// The peer's type.
        peer: SocketType,
    },
    /// An option value is out of range or the option does not apply to this socket type.
    InvalidOption(&'static str),
    /// An operating-system error (bind/connect).
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WouldBlock => f.write_str("operation would block"),
            Error::TimedOut => f.write_str("operation timed out"),
            Error::WrongState => f.write_str("operation not allowed in the socket's current state"),
            Error::NotSupported => f.write_str("operation not supported by this socket type"),
            Error::HostUnreachable => f.write_str("no peer with that routing id"),
            Error::Endpoint(e) => e.fmt(f),
            Error::AddressInUse => f.write_str("address already in use"),
            Error::UnknownEndpoint(e) => write!(f, "not bound or connected to {e}"),
            Error::IncompatibleSocketType { ours, peer } => {
                write!(
                    f,
                    "{} socket cannot talk to {} socket",
                    ours.name(),
                    peer.name()
                )
            }
            Error::InvalidOption(why) => write!(f, "invalid option: {why}"),
            Error::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Endpoint(e) => Some(e),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Endpoint(e) => Error::Endpoint(e),
            TransportError::Io(e) if e.kind() == io::ErrorKind::AddrInUse => Error::AddressInUse,
            TransportError::Io(e) => Error::Io(e),
        }
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Error::Endpoint(e)
    }
}

impl From<InprocError> for Error {
    fn from(e: InprocError) -> Self {
        match e {
            InprocError::AddressInUse => Error::AddressInUse,
            InprocError::IncompatibleSocketType { ours, peer } => {
                Error::IncompatibleSocketType { ours, peer }
            }
        }
    }
}

/// A refused send: the error, and the message handed back untouched so the caller can
/// retry or reroute it (the way `crossbeam_channel::TrySendError` does).
pub struct SendError<T> {
    /// Why the send failed.
    pub error: Error,
    /// What was being sent.
    pub message: T,
}

impl<T> SendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        self.message
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "send failed: {}", self.error)
    }
}

impl<T> std::error::Error for SendError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<SendError<T>> for Error {
    fn from(e: SendError<T>) -> Self {
        e.error
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
