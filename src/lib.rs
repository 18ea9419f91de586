//! # ferrozmq
//!
//! A brokerless messaging runtime that speaks ZeroMQ's wire protocol (ZMTP 3.x) and
//! interoperates with libzmq. The mental model is libzmq's (and pyzmq's): a [`Context`]
//! creates [`Socket`]s of a [`SocketType`]; sockets bind or connect, in any order, to
//! `tcp://`, `ipc://` and `inproc://` endpoints; messages are byte frames, possibly
//! multipart; sends and receives block by default.
//!
//! ```
//! use ferrozmq::{Context, SocketType};
//!
//! let ctx = Context::new();
//! let rep = ctx.socket(SocketType::Rep)?;
//! rep.bind("tcp://127.0.0.1:*")?;
//! let req = ctx.socket(SocketType::Req)?;
//! req.connect(&rep.last_endpoint())?;
//!
//! req.send("ping")?;
//! assert_eq!(rep.recv()?, "ping");
//! rep.send("pong")?;
//! assert_eq!(req.recv()?, "pong");
//! # Ok::<(), ferrozmq::Error>(())
//! ```
//!
//! ## Architecture
//! The workspace crates mirror the layers: `ferrozmq-reactor` (I/O threads),
//! `ferrozmq-engine` (the ZMTP state machine, no I/O), `ferrozmq-patterns` (pipes and
//! socket-type semantics), `ferrozmq-transports` (tcp, ipc, inproc), and this crate,
//! the public API.
#![deny(missing_docs)]

#[cfg(feature = "tokio")]
mod async_socket;
mod context;
mod error;
mod message;
mod options;
mod poller;
mod proxy;
mod readiness;
mod socket;

#[cfg(feature = "tokio")]
pub use async_socket::AsyncSocket;
pub use context::Context;
pub use error::{Error, Result, SendError};
pub use ferrozmq_engine::SocketType;
pub use ferrozmq_transports::{EventKind, EventMask, ReconnectStop, SocketEvent, TcpKeepalive};
pub use message::Message;
pub use poller::{Interest, Poller};
pub use proxy::{proxy, proxy_steerable, ProxyStatistics};
pub use socket::{Events, MonitorEvents, SendFlags, Socket, SocketStats};
