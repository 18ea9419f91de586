//! Socket options with libzmq's meanings, defaults and units, as typed values.

use std::time::Duration;

use crate::SocketType;
use ferrozmq_transports::LinkOptions;

/// The options a socket keeps: those of its connections (HWMs, routing id, intervals,
/// heartbeats, TCP settings), which apply to endpoints bound or connected *after* they
/// are set, as in libzmq; and those of the socket itself.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// What every bind and connect hands to its connections (a snapshot per call).
    pub link: LinkOptions,
    pub linger: Option<Duration>,
    pub send_timeout: Option<Duration>,
    pub recv_timeout: Option<Duration>,
    pub conflate: bool,
}

impl Options {
    /// libzmq's defaults for a socket type; SUB and XSUB don't linger (their only output
    /// is subscriptions), as in libzmq.
    pub fn for_type(socket_type: SocketType) -> Options {
        let linger = match socket_type {
            SocketType::Sub | SocketType::XSub => Some(Duration::ZERO),
            _ => None,
        };
        Options {
            link: LinkOptions::new(socket_type),
            linger,
            send_timeout: None,
            recv_timeout: None,
            conflate: false,
        }
    }
}
