//! Socket-type semantics for ferrozmq.
//!
//! This crate holds everything about *how messages move between a socket and its peers*
//! and nothing about how bytes move on a wire:
//!
//! * [`pipe`]: one-way queues with high-water marks and precise wake-ups, paired into a
//!   [`PipeEnd`] per peer;
//! * [`PipeSet`]: the load-balancing and fair-queueing cursors over a socket's pipes;
//! * one [`Pattern`] per socket type: [`Pair`], [`Push`], [`Pull`], [`Dealer`], [`Req`],
//!   [`Rep`], [`Router`], and [`Xpub`] and [`Xsub`] for PUB/XPUB and SUB/XSUB;
//! * [`Inbox`] and [`Signal`]: how transports hand new peers to a socket and wake it.
//!
//! Patterns never block; the user-facing socket in the `ferrozmq` crate turns their
//! "would block" into waiting on the socket's [`Signal`].
//!
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use ferrozmq_patterns::{pipe_pair, Msg, Pattern, Push, Pull, Side, Signal};
//!
//! let (a, b) = (Arc::new(Signal::new()), Arc::new(Signal::new()));
//! let side = |s: &Arc<Signal>| Side { wake: s.clone(), send_hwm: 1000, routing_id: Bytes::new() };
//! let (push_end, pull_end) = pipe_pair(side(&a), side(&b));
//! let (mut push, mut pull) = (Push::default(), Pull::default());
//! push.attach(push_end);
//! pull.attach(pull_end);
//! push.send(Msg::single(Bytes::from_static(b"job"))).unwrap();
//! assert_eq!(pull.recv().unwrap().first(), "job");
//! ```
#![deny(missing_docs)]

mod basic;
mod inbox;
mod msg;
mod pattern;
pub mod pipe;
mod pipe_set;
mod pubsub;
mod reqrep;
mod router;
mod signal;

pub use basic::{Dealer, Pair, Pull, Push};
pub use inbox::{Inbox, SocketClosed};
pub use msg::{Frames, Msg};
pub use pattern::{Pattern, PatternOption, RecvErrorKind, SendErrorKind, SendFailure};
pub use pipe::{direct_pipe_pair, pipe_pair, PipeEnd, PipeId, Side};
pub use pipe_set::PipeSet;
pub use pubsub::{Xpub, Xsub};
pub use reqrep::{Rep, Req};
pub use router::Router;
pub use signal::{Signal, Wake};
