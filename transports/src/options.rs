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
    /// RECONNECT_IVL_MAX: with a value above `reconnect_ivl`, each failed attempt doubles
    /// the wait, up to this; a completed handshake resets it.
    pub reconnect_ivl_max: Option<Duration>,
    /// RECONNECT_STOP: when a connecter gives up instead of retrying.
    pub reconnect_stop: ReconnectStop,
    /// CONNECT_TIMEOUT: a tcp connect attempt not completed within this is abandoned
    /// (and retried); `None` leaves it to the operating system.
    pub connect_timeout: Option<Duration>,
    /// HEARTBEAT_IVL: send a ZMTP PING this often; `None` for no heartbeats.
    pub heartbeat_ivl: Option<Duration>,
    /// HEARTBEAT_TTL: asks the peer to drop us if it hears nothing for this long
    /// (sent in our PINGs, in tenths of a second).
    pub heartbeat_ttl: Option<Duration>,
    /// HEARTBEAT_TIMEOUT: drop the peer if nothing arrives this long after a PING
    /// (defaults to the heartbeat interval).
    pub heartbeat_timeout: Option<Duration>,
    /// TCP_KEEPALIVE and its parameters (`None` = the operating system's default).
    pub tcp_keepalive: TcpKeepalive,
    /// SO_SNDBUF / SO_RCVBUF in bytes (`None` = the operating system's default).
    pub send_buffer: Option<usize>,
    /// See `send_buffer`.
    pub recv_buffer: Option<usize>,
    /// BACKLOG: pending connections a listener queues.
    pub backlog: i32,
    /// IPV6: `tcp://*` binds every IPv6 and IPv4 interface, and names may resolve to
    /// IPv6 addresses.
    pub ipv6: bool,
    /// CONNECT_ROUTING_ID: the routing id a ROUTER gives the peer of this connect,
    /// instead of the one the peer announces.
    pub connect_routing_id: Option<Bytes>,
}

/// RECONNECT_STOP conditions (all off by default: always retry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconnectStop {
    /// Stop when the peer refuses the connection (ECONNREFUSED).
    pub conn_refused: bool,
    /// Stop after a failed handshake (including a handshake timeout).
    pub handshake_failed: bool,
    /// Stop once an established link has dropped.
    pub after_disconnect: bool,
}

/// TCP keepalive settings, each `None` for the operating system's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpKeepalive {
    /// TCP_KEEPALIVE: on or off.
    pub enabled: Option<bool>,
    /// TCP_KEEPALIVE_CNT: unanswered probes before the link is dropped.
    pub count: Option<u32>,
    /// TCP_KEEPALIVE_IDLE: idle time before the first probe.
    pub idle: Option<Duration>,
    /// TCP_KEEPALIVE_INTVL: time between probes.
    pub interval: Option<Duration>,
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
            reconnect_ivl_max: None,
            reconnect_stop: ReconnectStop::default(),
            connect_timeout: None,
            heartbeat_ivl: None,
            heartbeat_ttl: None,
            heartbeat_timeout: None,
            tcp_keepalive: TcpKeepalive::default(),
            send_buffer: None,
            recv_buffer: None,
            backlog: 100,
            ipv6: false,
            connect_routing_id: None,
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
