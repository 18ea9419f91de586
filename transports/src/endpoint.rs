//! Endpoint strings: `tcp://host:port`, `ipc:///path`, `inproc://name`.
//!
//! Parsing is strict and happens before anything touches the network, so a typo is a
//! typed error at `bind`/`connect` time, never a connection that silently goes nowhere.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::str::FromStr;

/// A parsed endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `tcp://host:port`; `host` may be `*` (all interfaces, bind only), `port` may be `*`
    /// (any free port, bind only), shown here as `None`.
    Tcp {
        /// Host name or address literal (IPv6 in brackets in the string form).
        host: String,
        /// The port, or `None` for `*`.
        port: Option<u16>,
    },
    /// `ipc:///path/to/socket` (a Unix-domain stream socket).
    Ipc(PathBuf),
    /// `inproc://name`, within one context.
    Inproc(String),
}

/// Why an endpoint string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointError {
    /// Not of the form `transport://address`.
    Malformed(String),
    /// A transport other than tcp, ipc and inproc.
    UnsupportedTransport(String),
    /// The address part is not valid for its transport.
    InvalidAddress(String),
    /// The host name did not resolve to any address.
    Unresolvable(String),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Malformed(s) => {
                write!(f, "malformed endpoint {s:?}: expected transport://address")
            }
            EndpointError::UnsupportedTransport(t) => {
                write!(
                    f,
                    "unsupported transport {t:?} (tcp, ipc and inproc are supported)"
                )
            }
            EndpointError::InvalidAddress(s) => write!(f, "invalid address in endpoint {s:?}"),
            EndpointError::Unresolvable(s) => write!(f, "cannot resolve host in endpoint {s:?}"),
        }
    }
}

impl std::error::Error for EndpointError {}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (transport, address) = s
            .split_once("://")
            .ok_or_else(|| EndpointError::Malformed(s.to_string()))?;
        if address.is_empty() {
            return Err(EndpointError::InvalidAddress(s.to_string()));
        }
        match transport {
            "tcp" => {
                let (host, port) = address
                    .rsplit_once(':')
                    .ok_or_else(|| EndpointError::InvalidAddress(s.to_string()))?;
                let port = match port {
                    "*" | "0" => None,
                    p => Some(
                        p.parse::<u16>()
                            .map_err(|_| EndpointError::InvalidAddress(s.to_string()))?,
                    ),
                };
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() {
                    return Err(EndpointError::InvalidAddress(s.to_string()));
                }
                Ok(Endpoint::Tcp {
                    host: host.to_string(),
                    port,
                })
            }
            "ipc" => Ok(Endpoint::Ipc(PathBuf::from(address))),
            "inproc" => Ok(Endpoint::Inproc(address.to_string())),
            other => Err(EndpointError::UnsupportedTransport(other.to_string())),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => {
                let host_part = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.clone()
                };
                match port {
                    Some(p) => write!(f, "tcp://{host_part}:{p}"),
                    None => write!(f, "tcp://{host_part}:*"),
                }
            }
            Endpoint::Ipc(p) => write!(f, "ipc://{}", p.display()),
            Endpoint::Inproc(n) => write!(f, "inproc://{n}"),
        }
    }
}

impl Endpoint {
    /// The socket address to bind a tcp endpoint to. `*` is every IPv4 interface, or
    /// with `ipv6` every IPv6 and IPv4 interface (a dual-stack socket).
    pub fn tcp_bind_addr(
        host: &str,
        port: Option<u16>,
        ipv6: bool,
    ) -> Result<SocketAddr, EndpointError> {
        let port = port.unwrap_or(0);
        let host = match (host, ipv6) {
            ("*", false) => "0.0.0.0",
            ("*", true) => "::",
            (h, _) => h,
        };
        resolve(host, port, ipv6)
    }

    /// The socket address to connect a tcp endpoint to.
    pub fn tcp_connect_addr(
        host: &str,
        port: Option<u16>,
        ipv6: bool,
    ) -> Result<SocketAddr, EndpointError> {
        let port = port.ok_or_else(|| EndpointError::InvalidAddress(format!("tcp://{host}:*")))?;
        if host == "*" {
            return Err(EndpointError::InvalidAddress(format!("tcp://*:{port}")));
        }
        resolve(host, port, ipv6)
    }
}

/// Resolves a literal address or a name. A literal IPv6 address needs `ipv6` (as with
/// libzmq's IPV6 option); a name resolves to IPv4 unless only IPv6 is offered and
/// `ipv6` allows it.
fn resolve(host: &str, port: u16, ipv6: bool) -> Result<SocketAddr, EndpointError> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<std::net::IpAddr>() {
        if ip.is_ipv6() && !ipv6 {
            return Err(EndpointError::InvalidAddress(format!(
                "{host}: IPv6 addresses need the IPV6 option"
            )));
        }
        return Ok(SocketAddr::new(ip, port));
    }
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|_| EndpointError::Unresolvable(format!("{host}:{port}")))?;
    let all: Vec<_> = addrs.by_ref().collect();
    all.iter()
        .find(|a| a.is_ipv4())
        .or(all.iter().find(|_| ipv6))
        .copied()
        .ok_or_else(|| EndpointError::Unresolvable(format!("{host}:{port}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_transports() {
        assert_eq!(
            "tcp://127.0.0.1:5555".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: Some(5555)
            }
        );
        assert_eq!(
            "tcp://*:*".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp {
                host: "*".into(),
                port: None
            }
        );
        assert_eq!(
            "tcp://[::1]:80".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp {
                host: "::1".into(),
                port: Some(80)
            }
        );
        assert_eq!(
            "ipc:///tmp/x".parse::<Endpoint>().unwrap(),
            Endpoint::Ipc("/tmp/x".into())
        );
        assert_eq!(
            "inproc://a".parse::<Endpoint>().unwrap(),
            Endpoint::Inproc("a".into())
        );
    }

    #[test]
    fn refuses_bad_strings() {
        assert!(matches!(
            "tcp:/x".parse::<Endpoint>(),
            Err(EndpointError::Malformed(_))
        ));
        assert!(matches!(
            "udp://a:1".parse::<Endpoint>(),
            Err(EndpointError::UnsupportedTransport(_))
        ));
        assert!(matches!(
            "tcp://a:99999".parse::<Endpoint>(),
            Err(EndpointError::InvalidAddress(_))
        ));
        assert!(matches!(
            "tcp://nocolon".parse::<Endpoint>(),
            Err(EndpointError::InvalidAddress(_))
        ));
        assert!(matches!(
            "inproc://".parse::<Endpoint>(),
            Err(EndpointError::InvalidAddress(_))
        ));
        assert!(Endpoint::tcp_connect_addr("*", Some(1), false).is_err());
        assert!(Endpoint::tcp_connect_addr("127.0.0.1", None, false).is_err());
    }
}
