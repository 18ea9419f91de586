//! Socket options with libzmq's meanings, defaults and units, as typed values.

use std::time::Duration;

use bytes::Bytes;

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
    pub router_mandatory: bool,
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
            router_mandatory: false,
        }
    }
}
