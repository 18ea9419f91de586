//! The per-socket settings transports need, captured when bind/connect is called.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use ferrozmq_engine::SocketType;

/// Settings a connection uses for its whole life.
#[derive(Clone, Debug)]
pub struct LinkOptions {
    /// Our socket type (sent in READY, checked against the peer's).
    pub socket_type: SocketType,
    /// Our routing id (ZMTP `Identity`).
    pub routing_id: Bytes,
    /// Messages the socket may queue towards one peer.
    pub send_hwm: u64,
    /// Messages one peer may queue towards the socket.
    pub recv_hwm: u64,
    /// Delay before reconnecting; `None` disables reconnection.
    pub reconnect_ivl: Option<Duration>,
    /// Handshake deadline; `None` for none.
    pub handshake_ivl: Option<Duration>,
    /// Largest inbound frame accepted; `None` for no limit.
    pub max_msg_size: Option<u64>,
    /// IMMEDIATE: queue messages only to peers whose handshake completed (no pipe exists
    /// while a connection is down).
    pub immediate: bool,
}

impl LinkOptions {
    /// libzmq's defaults for a socket of `socket_type`.
    pub fn new(socket_type: SocketType) -> Self {
        LinkOptions {
            socket_type,
            routing_id: Bytes::new(),
            send_hwm: 1000,
            recv_hwm: 1000,
            reconnect_ivl: Some(Duration::from_millis(100)),
            handshake_ivl: Some(Duration::from_secs(30)),
            max_msg_size: None,
            immediate: false,
        }
    }

    /// True if pipes are created at handshake time even on the connecting side (and
    /// dropped when the link goes down): ROUTER needs the peer's identity first, and
    /// IMMEDIATE wants no queueing towards absent peers.
    pub fn pipe_after_handshake(&self) -> bool {
        self.socket_type == SocketType::Router || self.immediate
    }
}

/// The largest frame a peer may announce when MAXMSGSIZE is not set: this machine's
/// physical memory. A larger frame could never be held, so a peer announcing one (say
/// 2^62 bytes) is disconnected at the header instead of being buffered until memory runs
/// out. libzmq gets the same effect from its failing up-front allocation.
pub fn frame_size_ceiling() -> u64 {
    static CEILING: OnceLock<u64> = OnceLock::new();
    *CEILING.get_or_init(|| {
        // SAFETY: sysconf only reads system configuration; it has no memory-safety
        // preconditions.
        let (pages, page_size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && page_size > 0 {
            (pages as u64).saturating_mul(page_size as u64)
        } else {
            1 << 40
        }
    })
}
