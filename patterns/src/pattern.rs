//! The interface every socket type implements, and its errors.
//!
//! A pattern is the non-blocking core of a socket type: it decides which pipe a message
//! goes to and which pipe the next one comes from, and keeps the send/receive state
//! machine (REQ, REP). It never blocks and knows nothing of threads or transports; the
//! user-facing socket loops on [`WouldBlock`](SendErrorKind::WouldBlock) and waits on
//! its [`Signal`](crate::Signal).

use bytes::Bytes;

use crate::msg::Msg;
use crate::pipe::{PipeEnd, PipeId};

/// Why a message could not be sent (the message itself travels in [`SendFailure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendErrorKind {
    /// No pipe has room right now (or there is no peer); retry after a wake-up.
    WouldBlock,
    /// The socket's state machine does not allow a send now (REQ, REP).
    WrongState,
    /// This socket type cannot send.
    NotSupported,
    /// ROUTER_MANDATORY: the routing id names no connected peer.
    HostUnreachable,
}

/// A refused send, handing the message back.
#[derive(Debug)]
pub struct SendFailure {
    /// Why.
    pub kind: SendErrorKind,
    /// The message, untouched.
    pub msg: Msg,
}

impl SendFailure {
    pub(crate) fn new(kind: SendErrorKind, msg: Msg) -> Self {
        SendFailure { kind, msg }
    }
}

/// Why no message could be received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvErrorKind {
    /// Nothing to receive right now; retry after a wake-up.
    WouldBlock,
    /// The socket's state machine does not allow a receive now (REQ, REP).
    WrongState,
    /// This socket type cannot receive.
    NotSupported,
}

/// A per-type behaviour switch (socket options that change a pattern's semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternFlag {
    /// ROUTER_MANDATORY: unroutable messages fail with `HostUnreachable`, and a full
    /// pipe makes the send block instead of dropping.
    RouterMandatory,
}

/// The semantics of one socket type.
pub trait Pattern: Send {
    /// Adopts a new peer. A pattern that can't use it (a second PAIR peer, a duplicate
    /// ROUTER identity) drops it, which tells the other end to go away.
    fn attach(&mut self, pipe: PipeEnd);

    /// Drops the pipe `id` (an explicit disconnect); its queued messages are discarded.
    fn detach(&mut self, id: PipeId);

    /// Checks, when the first frame of a message is sent frame by frame, whether a message
    /// starting with `first` can be sent at all now (state machine, socket type, ROUTER
    /// routing id), so that a doomed message fails on its first frame as in libzmq.
    fn check_send(&mut self, first: &Bytes) -> Result<(), SendErrorKind> {
        let _ = first;
        Ok(())
    }

    /// Sends a whole message, or hands it back.
    fn send(&mut self, msg: Msg) -> Result<(), SendFailure>;

    /// Receives a whole message.
    fn recv(&mut self) -> Result<Msg, RecvErrorKind>;

    /// Lets transports read from the wire on this thread before the socket waits (see
    /// [`Driver`](crate::pipe::Driver)); true if messages may have arrived.
    fn pull_inline(&mut self) -> bool;

    /// Hands input left to this thread back to the I/O threads when a receive ends.
    fn hand_back(&mut self);

    /// True if a `recv` would succeed now.
    fn can_recv(&mut self) -> bool;

    /// True if a `send` would not block now (ignoring state-machine errors).
    fn can_send(&mut self) -> bool;

    /// Number of attached peers (for tests and diagnostics).
    fn peer_count(&self) -> usize;

    /// Turns a type-specific behaviour on or off; false if the flag does not apply.
    fn set_flag(&mut self, flag: PatternFlag, on: bool) -> bool {
        let _ = (flag, on);
        false
    }
}
