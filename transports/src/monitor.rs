//! What happened to a socket's connections, for users and tests to read.
//!
//! Every transport event (listening, accepted, connected, handshake results,
//! disconnects with their reason) is appended to a bounded ring owned by the socket.
//! Nothing on the message path touches it. A later issue turns it into libzmq-style
//! monitor events; today it already makes "why did that peer drop?" answerable.

use parking_lot::Mutex;
use std::collections::VecDeque;

/// The kind of a connection event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A listener is bound.
    Listening,
    /// A connection was accepted.
    Accepted,
    /// An outgoing connection was established.
    Connected,
    /// A connect attempt failed; another follows after the reconnect interval.
    ConnectRetried,
    /// The ZMTP handshake completed.
    HandshakeSucceeded,
    /// The ZMTP handshake failed (detail says why); the link was closed.
    HandshakeFailed,
    /// An established link ended (detail says why).
    Disconnected,
    /// A listener or connecter was closed.
    Closed,
}

/// One connection event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketEvent {
    /// What happened.
    pub kind: EventKind,
    /// The endpoint involved (as given to bind/connect).
    pub endpoint: String,
    /// A human-readable reason or peer address; may be empty.
    pub detail: String,
}

/// A bounded log of connection events.
#[derive(Default)]
pub struct Monitor {
    events: Mutex<VecDeque<SocketEvent>>,
}

const KEEP: usize = 1024;

impl Monitor {
    /// Records an event, forgetting the oldest beyond a fixed bound.
    pub fn record(&self, kind: EventKind, endpoint: &str, detail: impl Into<String>) {
        let mut events = self.events.lock();
        if events.len() == KEEP {
            events.pop_front();
        }
        events.push_back(SocketEvent {
            kind,
            endpoint: endpoint.to_string(),
            detail: detail.into(),
        });
    }

    /// Removes and returns everything recorded so far.
    pub fn drain(&self) -> Vec<SocketEvent> {
        self.events.lock().drain(..).collect()
    }
}
