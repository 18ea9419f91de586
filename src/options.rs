//! Socket options with libzmq's meanings, defaults and units, as typed values.

use std::time::Duration;

use bytes::Bytes;

use crate::SocketType;
use ferrozmq_transports::{ReconnectStop, TcpKeepalive};

/// The options a socket keeps. Options that shape connections (HWMs, routing id,
/// intervals, size limit) apply to endpoints bound or connected *after* they are set,
/// as in libzmq.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub send_hwm: u64,
    pub recv_hwm: u64,
    pub linger: Option<Duration>,
    pub send_timeout: Option<Duration>,
    pub recv_timeout: Option<Duration>,
    pub routing_id: Bytes,
    pub reconnect_ivl: Option<Duration>,
    pub handshake_ivl: Option<Duration>,
    pub max_msg_size: Option<u64>,
    pub immediate: bool,
    pub conflate: bool,
    pub reconnect_ivl_max: Option<Duration>,
    pub reconnect_stop: ReconnectStop,
    pub connect_timeout: Option<Duration>,
    pub heartbeat_ivl: Option<Duration>,
    pub heartbeat_ttl: Option<Duration>,
    pub heartbeat_timeout: Option<Duration>,
    pub tcp_keepalive: TcpKeepalive,
    pub send_buffer: Option<usize>,
    pub recv_buffer: Option<usize>,
    pub backlog: i32,
    pub ipv6: bool,
    pub connect_routing_id: Option<Bytes>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            send_hwm: 1000,
            recv_hwm: 1000,
            linger: None,
            send_timeout: None,
            recv_timeout: None,
            routing_id: Bytes::new(),
            reconnect_ivl: Some(Duration::from_millis(100)),
            handshake_ivl: Some(Duration::from_secs(30)),
            max_msg_size: None,
            immediate: false,
            conflate: false,
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
}

impl Options {
    /// The defaults for a socket type: as [`Default`], except that SUB and XSUB don't
    /// linger (their only output is subscriptions), as in libzmq.
    pub fn for_type(socket_type: SocketType) -> Options {
        let mut o = Options::default();
        if matches!(socket_type, SocketType::Sub | SocketType::XSub) {
            o.linger = Some(Duration::ZERO);
        }
        o
    }
}
