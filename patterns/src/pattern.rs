//! The interface every socket type implements, and its errors.
//!
//! A pattern is the non-blocking core of a socket type: it decides which pipe a message
//! goes to and which pipe the next one comes from, and keeps the send/receive state
//! machine (REQ, REP). It never blocks and knows nothing of threads or transports; the
//! user-facing socket loops on [`WouldBlock`](SendErrorKind::WouldBlock) and waits on
//! its [`Signal`](crate::Signal).

use bytes::Bytes;

use crate::msg::Msg;
use crate::pipe::{PipeEnd, PipeId, Probe};

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

/// A socket option that changes a pattern's semantics. Each socket type accepts the
/// ones that apply to it and refuses the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternOption {
    /// ROUTER_MANDATORY (ROUTER): unroutable messages fail with `HostUnreachable`, and a
    /// full pipe makes the send block instead of dropping.
    RouterMandatory(bool),
    /// ROUTER_HANDOVER (ROUTER): a newcomer with a routing id already in use takes it
    /// over and the old peer is disconnected (instead of the newcomer being refused).
    RouterHandover(bool),
    /// PROBE_ROUTER (DEALER, ROUTER, REQ): send an empty message on every new connection.
    ProbeRouter(bool),
    /// REQ_RELAXED (REQ): a new request may be sent before the reply to the previous
    /// one arrived; the earlier request is abandoned.
    ReqRelaxed(bool),
    /// REQ_CORRELATE (REQ): requests carry an id frame and only the reply echoing it is
    /// accepted.
    ReqCorrelate(bool),
    /// SUBSCRIBE (SUB, XSUB; XPUB in manual mode): start receiving messages whose first
    /// frame starts with this prefix.
    Subscribe(Bytes),
    /// UNSUBSCRIBE: undo one earlier `Subscribe` of the same prefix.
    Unsubscribe(Bytes),
    /// XPUB_VERBOSE (XPUB): pass on every subscribe notice, duplicates included.
    XpubVerbose(bool),
    /// XPUB_VERBOSER (XPUB): pass on every subscribe and unsubscribe notice.
    XpubVerboser(bool),
    /// XPUB_MANUAL (XPUB): notices are not applied; the application subscribes the peer
    /// of the last notice it read with `Subscribe`/`Unsubscribe`.
    XpubManual(bool),
    /// XPUB_NODROP (XPUB, PUB): a send that would overflow a matching peer's queue
    /// fails with `WouldBlock` (or waits) instead of dropping for that peer.
    XpubNodrop(bool),
    /// XPUB_WELCOME_MSG (XPUB): sent to every new subscriber as it attaches.
    XpubWelcome(Option<Bytes>),
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

    /// Lets transports look for a reply that already arrived while the socket spins
    /// before sleeping (see [`Driver::probe`](crate::pipe::Driver::probe)). The
    /// default has nothing to probe: socket types that never wait for an answer to
    /// what they sent don't need to.
    fn probe_inline(&mut self) -> Probe {
        Probe::NotAwaiting
    }

    /// Hands input left to this thread back to the I/O threads when a receive ends.
    fn hand_back(&mut self);

    /// Lets transports write queued messages on this thread before the socket waits
    /// for room to send (see [`Driver::push`](crate::pipe::Driver::push)); true if
    /// room may have been made. The default does nothing.
    fn push_inline(&mut self) -> bool {
        false
    }

    /// True if a `recv` would succeed now.
    fn can_recv(&mut self) -> bool;

    /// True if a `send` would not block now (ignoring state-machine errors).
    fn can_send(&mut self) -> bool;

    /// Number of attached peers (for tests and diagnostics).
    fn peer_count(&self) -> usize;

    /// Applies a type-specific option; false if it does not apply to this socket type.
    fn set_option(&mut self, option: PatternOption) -> bool {
        let _ = option;
        false
    }

    /// Messages this socket accepted and then discarded, as its semantics allow (PUB at
    /// a subscriber's high-water mark, ROUTER with an unknown routing id).
    fn dropped(&self) -> u64 {
        0
    }
}
