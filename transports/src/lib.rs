//! Transports for ferrozmq: endpoints, tcp/ipc listeners and reconnecting connecters,
//! the glue that drives a ZMTP engine over a stream, and inproc.
//!
//! The user-facing socket calls [`bind`] and [`connect`] on its own thread; everything
//! after that happens on a reactor thread in a [`Handler`](ferrozmq_reactor::Handler):
//! a listener accepting connections, a connection moving bytes between its stream and
//! its pipe. inproc needs no thread at all: [`InprocRegistry`] joins two sockets with a
//! pipe directly.
#![deny(missing_docs)]

mod connection;
mod endpoint;
mod inproc;
mod listener;
mod monitor;
mod options;
mod stream;

use std::io;
use std::sync::Arc;

use ferrozmq_patterns::{pipe_pair, PipeEnd, Side};
use ferrozmq_reactor::{Notifier, ReactorHandle};

pub use connection::{SocketLink, StopFlag, INLINE_WRITE_GAP, READ_CHUNK, WRITE_BATCH};
pub use endpoint::{Endpoint, EndpointError};
pub use inproc::{InprocError, InprocPeer, InprocRegistry};
pub use monitor::{EventKind, EventMask, LinkCounters, Monitor, SocketEvent};
pub use options::{frame_size_ceiling, LinkOptions, ReconnectStop, TcpKeepalive};
pub use stream::{Listener, Stream};

use connection::{Connection, SessionWake};

use listener::ListenerHandler;

/// Controls a listener or connecter running on a reactor.
pub struct EndpointHandle {
    stop: Arc<StopFlag>,
    notifier: Notifier,
}

impl EndpointHandle {
    /// Stops it (unbind / disconnect): a listener closes together with the connections it
    /// accepted, a connecter drops its link and pipe.
    pub fn stop(&self) {
        self.stop.raise();
        self.notifier.notify();
    }

    /// Tells it that its socket closed: a listener closes, while its connections and
    /// connecters stay to deliver queued messages within the linger period.
    pub fn socket_closed(&self) {
        self.notifier.notify();
    }
}

/// Why a bind or connect failed.
#[derive(Debug)]
pub enum TransportError {
    /// The endpoint string or its address is invalid.
    Endpoint(EndpointError),
    /// The operating system refused (address in use, permission, ...).
    Io(io::Error),
}

impl From<EndpointError> for TransportError {
    fn from(e: EndpointError) -> Self {
        TransportError::Endpoint(e)
    }
}

impl From<io::Error> for TransportError {
    fn from(e: io::Error) -> Self {
        TransportError::Io(e)
    }
}

/// Binds a tcp or ipc endpoint and starts accepting on `reactor`. Returns the endpoint as
/// actually bound (a `*` port replaced by the chosen one) and a handle to stop it.
pub fn bind(
    reactor: &ReactorHandle,
    endpoint: &Endpoint,
    socket: SocketLink,
) -> Result<(String, EndpointHandle), TransportError> {
    let bound = listen(endpoint, &socket.options);
    let (listener, resolved, ipc_path) = match bound {
        Ok(bound) => bound,
        Err(e) => {
            let errno = match &e {
                TransportError::Io(e) => e.raw_os_error().unwrap_or(0) as u32,
                TransportError::Endpoint(_) => 0,
            };
            let detail = match &e {
                TransportError::Io(e) => e.to_string(),
                TransportError::Endpoint(e) => e.to_string(),
            };
            socket.monitor.report(
                SocketEvent::new(EventKind::BindFailed, &endpoint.to_string())
                    .value(errno)
                    .detail(detail),
            );
            return Err(e);
        }
    };
    socket
        .monitor
        .report(SocketEvent::new(EventKind::Listening, &resolved).value(listener.raw_fd() as u32));
    let stop = Arc::new(StopFlag::default());
    let notifier = reactor.notifier();
    reactor.spawn(Box::new(ListenerHandler {
        listener,
        endpoint: resolved.clone(),
        socket,
        stop: stop.clone(),
        notifier: notifier.clone(),
        ipc_path,
        accepted: Vec::new(),
    }));
    Ok((resolved, EndpointHandle { stop, notifier }))
}

/// Creates the listening socket for a tcp or ipc endpoint.
fn listen(
    endpoint: &Endpoint,
    options: &LinkOptions,
) -> Result<(Listener, String, Option<std::path::PathBuf>), TransportError> {
    let bound = match endpoint {
        Endpoint::Tcp { host, port } => {
            let addr = Endpoint::tcp_bind_addr(host, *port, options.ipv6)?;
            let std_listener = std::net::TcpListener::bind(addr)?;
            std_listener.set_nonblocking(true)?;
            set_backlog(&std_listener, options.backlog);
            let local = std_listener.local_addr()?;
            (
                Listener::Tcp(mio::net::TcpListener::from_std(std_listener)),
                format!("tcp://{local}"),
                None,
            )
        }
        Endpoint::Ipc(path) => {
            let listener = bind_ipc(path)?;
            // SAFETY: see `set_backlog`.
            unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), options.backlog) };
            (
                Listener::Ipc(listener),
                endpoint.to_string(),
                Some(path.clone()),
            )
        }
        Endpoint::Inproc(_) => {
            return Err(TransportError::Endpoint(
                EndpointError::UnsupportedTransport("inproc (handled by the context)".into()),
            ))
        }
    };
    Ok(bound)
}

/// BACKLOG: calling listen(2) again on a listening socket changes its queue length
/// (the standard library always asks for 128).
fn set_backlog(listener: &std::net::TcpListener, backlog: i32) {
    // SAFETY: the fd is a valid listening socket owned by `listener` for the duration of
    // the call; listen(2) has no memory-safety preconditions. Failure keeps the default.
    unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(listener), backlog) };
}

/// Binds a Unix-domain socket, replacing a stale socket file nobody listens on.
fn bind_ipc(path: &std::path::Path) -> io::Result<mio::net::UnixListener> {
    match mio::net::UnixListener::bind(path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(e);
            }
            std::fs::remove_file(path)?;
            mio::net::UnixListener::bind(path)
        }
        other => other,
    }
}

/// Starts connecting to a tcp or ipc endpoint on `reactor`, reconnecting as needed.
/// Returns the socket's end of the pipe when the socket type queues messages before the
/// handshake (all but ROUTER), and a handle to stop the connecter.
pub fn connect(
    reactor: &ReactorHandle,
    endpoint: &Endpoint,
    socket: SocketLink,
) -> Result<(EndpointHandle, Option<PipeEnd>), TransportError> {
    let dial: Box<dyn FnMut() -> io::Result<Stream> + Send> = match endpoint {
        Endpoint::Tcp { host, port } => {
            let addr = Endpoint::tcp_connect_addr(host, *port, socket.options.ipv6)?;
            Box::new(move || mio::net::TcpStream::connect(addr).map(Stream::Tcp))
        }
        Endpoint::Ipc(path) => {
            let path = path.clone();
            Box::new(move || mio::net::UnixStream::connect(&path).map(Stream::Ipc))
        }
        Endpoint::Inproc(_) => {
            return Err(TransportError::Endpoint(
                EndpointError::UnsupportedTransport("inproc (handled by the context)".into()),
            ))
        }
    };
    let notifier = reactor.notifier();
    let session_wake = SessionWake::new(notifier.clone());
    let (session_end, socket_end) = if socket.options.pipe_after_handshake() {
        (None, None)
    } else {
        let opts = &socket.options;
        let (session_end, socket_end) = pipe_pair(
            Side {
                wake: session_wake.clone(),
                send_hwm: opts.recv_hwm,
                routing_id: bytes::Bytes::new(),
            },
            Side {
                wake: socket.inbox.waker(),
                send_hwm: opts.send_hwm,
                routing_id: opts.routing_id.clone(),
            },
        );
        (Some(session_end), Some(socket_end))
    };
    let stop = Arc::new(StopFlag::default());
    let connection = Connection::connecting(
        dial,
        stop.clone(),
        endpoint.to_string(),
        socket,
        notifier.clone(),
        session_end,
    );
    connection.adopt_wake(&session_wake);
    let socket_end = socket_end.map(|mut end| {
        end.driver = Some(connection.driver());
        end
    });
    reactor.spawn(Box::new(connection));
    Ok((EndpointHandle { stop, notifier }, socket_end))
}
