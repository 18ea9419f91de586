//! What happened to a socket's connections: libzmq's monitor events, plus counters.
//!
//! Transports report every connection event (listening, accepted, connected, handshake
//! results, disconnects with their reason) to the socket's [`Monitor`], which
//! * keeps the latest ones in a bounded log (`Socket::take_events`),
//! * hands them to every subscribed stream (`Socket::monitor`), through bounded
//!   channels that drop (and count) rather than block an I/O thread when nobody reads,
//! * and counts them by kind, so "was anything dropped, and by whom" has an answer at
//!   any time without having subscribed in advance.
//!
//! Nothing on the message path touches it: events are per connection, not per message.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::Mutex;

/// The kind of a connection event, as libzmq names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// An outgoing connection was established (the handshake follows).
    Connected,
    /// A connect attempt is in progress (non-blocking connect started).
    ConnectDelayed,
    /// A connect attempt failed or a link dropped; another attempt follows after the
    /// reconnect interval (the event's `value` is that interval in milliseconds).
    ConnectRetried,
    /// A listener is bound.
    Listening,
    /// A bind failed.
    BindFailed,
    /// A connection was accepted.
    Accepted,
    /// Accepting a connection failed (e.g. out of file descriptors).
    AcceptFailed,
    /// A listener or a connection was closed by us.
    Closed,
    /// An established link ended (detail says why).
    Disconnected,
    /// The ZMTP handshake completed.
    HandshakeSucceeded,
    /// The handshake failed without a protocol reason (timeout, connection lost).
    HandshakeFailedNoDetail,
    /// The handshake failed on a protocol error (detail says which).
    HandshakeFailedProtocol,
    /// The handshake failed on authentication.
    HandshakeFailedAuth,
    /// Monitoring stopped: the socket closed. The last event of a stream.
    MonitorStopped,
}

impl EventKind {
    /// Every kind, in libzmq's bit order.
    pub const ALL: [EventKind; 14] = [
        EventKind::Connected,
        EventKind::ConnectDelayed,
        EventKind::ConnectRetried,
        EventKind::Listening,
        EventKind::BindFailed,
        EventKind::Accepted,
        EventKind::AcceptFailed,
        EventKind::Closed,
        EventKind::Disconnected,
        EventKind::MonitorStopped,
        EventKind::HandshakeFailedNoDetail,
        EventKind::HandshakeSucceeded,
        EventKind::HandshakeFailedProtocol,
        EventKind::HandshakeFailedAuth,
    ];

    /// libzmq's `ZMQ_EVENT_*` value, as sent on monitor sockets.
    pub fn code(self) -> u16 {
        match self {
            EventKind::Connected => 0x0001,
            EventKind::ConnectDelayed => 0x0002,
            EventKind::ConnectRetried => 0x0004,
            EventKind::Listening => 0x0008,
            EventKind::BindFailed => 0x0010,
            EventKind::Accepted => 0x0020,
            EventKind::AcceptFailed => 0x0040,
            EventKind::Closed => 0x0080,
            EventKind::Disconnected => 0x0200,
            EventKind::MonitorStopped => 0x0400,
            EventKind::HandshakeFailedNoDetail => 0x0800,
            EventKind::HandshakeSucceeded => 0x1000,
            EventKind::HandshakeFailedProtocol => 0x2000,
            EventKind::HandshakeFailedAuth => 0x4000,
        }
    }

    /// True for the three handshake failure kinds.
    pub fn is_handshake_failure(self) -> bool {
        matches!(
            self,
            EventKind::HandshakeFailedNoDetail
                | EventKind::HandshakeFailedProtocol
                | EventKind::HandshakeFailedAuth
        )
    }
}

/// A set of event kinds to subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventMask(u32);

impl EventMask {
    /// Every event.
    pub const ALL: EventMask = EventMask(0xffff);
    /// No event.
    pub const NONE: EventMask = EventMask(0);

    /// A mask of the given kinds.
    pub fn of(kinds: &[EventKind]) -> EventMask {
        EventMask(kinds.iter().fold(0, |m, k| m | u32::from(k.code())))
    }

    /// True if `kind` is in the mask.
    pub fn contains(self, kind: EventKind) -> bool {
        self.0 & u32::from(kind.code()) != 0
    }
}

/// One connection event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketEvent {
    /// What happened.
    pub kind: EventKind,
    /// The endpoint involved, as bound (with a `*` port resolved) or as connected to.
    pub endpoint: String,
    /// Our address on the connection (`tcp://ip:port`), when there is one.
    pub local: String,
    /// The peer's address (`tcp://ip:port`), when there is one.
    pub remote: String,
    /// libzmq's event value: a file descriptor, an errno, a reconnect interval in
    /// milliseconds or a protocol error code, depending on the kind (0 if none).
    pub value: u32,
    /// A human-readable reason; may be empty.
    pub detail: String,
}

impl SocketEvent {
    /// An event of `kind` on `endpoint` with no addresses, value or detail yet.
    pub fn new(kind: EventKind, endpoint: &str) -> SocketEvent {
        SocketEvent {
            kind,
            endpoint: endpoint.to_string(),
            local: String::new(),
            remote: String::new(),
            value: 0,
            detail: String::new(),
        }
    }

    /// With the connection's local and remote addresses.
    pub fn addresses(mut self, local: &str, remote: &str) -> SocketEvent {
        self.local = local.to_string();
        self.remote = remote.to_string();
        self
    }

    /// With libzmq's event value.
    pub fn value(mut self, value: u32) -> SocketEvent {
        self.value = value;
        self
    }

    /// With a reason.
    pub fn detail(mut self, detail: impl Into<String>) -> SocketEvent {
        self.detail = detail.into();
        self
    }
}

/// Counts of connection events since the socket was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkCounters {
    /// Outgoing connections established.
    pub connected: u64,
    /// Incoming connections accepted.
    pub accepted: u64,
    /// Connect attempts that failed or links that dropped and will be retried.
    pub reconnect_attempts: u64,
    /// Established links that ended.
    pub disconnects: u64,
    /// Handshakes that failed (protocol errors, timeouts, wrong peers).
    pub handshake_failures: u64,
    /// Monitor events lost because a subscribed stream was not read in time.
    pub monitor_events_dropped: u64,
}

/// Events a subscriber may have queued before newer ones are dropped.
const STREAM_CAPACITY: usize = 4096;
/// Events the log keeps.
const KEEP: usize = 1024;

/// A socket's event hub: log, subscribers and counters.
#[derive(Default)]
pub struct Monitor {
    log: Mutex<VecDeque<SocketEvent>>,
    subscribers: Mutex<Vec<(EventMask, Sender<SocketEvent>)>>,
    has_subscribers: AtomicBool,
    connected: AtomicU64,
    accepted: AtomicU64,
    reconnect_attempts: AtomicU64,
    disconnects: AtomicU64,
    handshake_failures: AtomicU64,
    dropped: AtomicU64,
}

impl Monitor {
    /// Records an event: counts it, logs it (forgetting the oldest beyond a bound) and
    /// passes it to every subscriber whose mask has it.
    pub fn report(&self, event: SocketEvent) {
        let counter = match event.kind {
            EventKind::Connected => Some(&self.connected),
            EventKind::Accepted => Some(&self.accepted),
            EventKind::ConnectRetried => Some(&self.reconnect_attempts),
            EventKind::Disconnected => Some(&self.disconnects),
            k if k.is_handshake_failure() => Some(&self.handshake_failures),
            _ => None,
        };
        if let Some(c) = counter {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if self.has_subscribers.load(Ordering::Acquire) {
            let mut subscribers = self.subscribers.lock();
            subscribers.retain(|(mask, tx)| {
                if !mask.contains(event.kind) {
                    return true;
                }
                match tx.try_send(event.clone()) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_)) => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        true
                    }
                    Err(TrySendError::Disconnected(_)) => false,
                }
            });
            self.has_subscribers
                .store(!subscribers.is_empty(), Ordering::Release);
        }
        let mut log = self.log.lock();
        if log.len() == KEEP {
            log.pop_front();
        }
        log.push_back(event);
    }

    /// Shorthand for an event with only a detail.
    pub fn record(&self, kind: EventKind, endpoint: &str, detail: impl Into<String>) {
        self.report(SocketEvent::new(kind, endpoint).detail(detail));
    }

    /// Removes and returns everything logged so far.
    pub fn drain(&self) -> Vec<SocketEvent> {
        self.log.lock().drain(..).collect()
    }

    /// A new stream of the events in `mask`, from now on. The stream ends (its
    /// receiver reports disconnection) after [`stop`](Monitor::stop).
    pub fn subscribe(&self, mask: EventMask) -> Receiver<SocketEvent> {
        let (tx, rx) = crossbeam_channel::bounded(STREAM_CAPACITY);
        self.subscribers.lock().push((mask, tx));
        self.has_subscribers.store(true, Ordering::Release);
        rx
    }

    /// Sends `MonitorStopped` to every stream and closes them.
    pub fn stop(&self, endpoint: &str) {
        self.report(SocketEvent::new(EventKind::MonitorStopped, endpoint));
        self.subscribers.lock().clear();
        self.has_subscribers.store(false, Ordering::Release);
    }

    /// The counters so far.
    pub fn counters(&self) -> LinkCounters {
        LinkCounters {
            connected: self.connected.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            reconnect_attempts: self.reconnect_attempts.load(Ordering::Relaxed),
            disconnects: self.disconnects.load(Ordering::Relaxed),
            handshake_failures: self.handshake_failures.load(Ordering::Relaxed),
            monitor_events_dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_get_their_kinds_and_counters_count_all() {
        let m = Monitor::default();
        let all = m.subscribe(EventMask::ALL);
        let only = m.subscribe(EventMask::of(&[EventKind::Disconnected]));
        m.record(EventKind::Connected, "tcp://a:1", "");
        m.record(EventKind::Disconnected, "tcp://a:1", "eof");
        m.record(EventKind::HandshakeFailedProtocol, "tcp://a:1", "bad");
        assert_eq!(all.try_iter().count(), 3);
        let got: Vec<_> = only.try_iter().collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].detail, "eof");
        let c = m.counters();
        assert_eq!(
            (c.connected, c.disconnects, c.handshake_failures),
            (1, 1, 1)
        );
        m.stop("");
        assert_eq!(all.recv().unwrap().kind, EventKind::MonitorStopped);
        assert!(all.recv().is_err(), "stream ends after MonitorStopped");
    }

    #[test]
    fn an_unread_stream_drops_instead_of_blocking() {
        let m = Monitor::default();
        let rx = m.subscribe(EventMask::ALL);
        for _ in 0..STREAM_CAPACITY + 10 {
            m.record(EventKind::Closed, "x", "");
        }
        assert_eq!(m.counters().monitor_events_dropped, 10);
        drop(rx);
        m.record(EventKind::Closed, "x", "");
        assert!(!m.has_subscribers.load(Ordering::Relaxed));
    }
}
