//! I/O threads for ferrozmq.
//!
//! A [`Reactor`] is one dedicated thread running a [`mio::Poll`] loop. Work lives in
//! [`Handler`]s kept in a slab: a handler owns its I/O sources, registers them with the
//! poll through its [`Cx`], and is called back on readiness, on timer expiry and when
//! another thread pokes it through a [`Notifier`].
//!
//! The crate knows nothing of ZMTP or sockets: listeners, connecters and connection
//! engines are all just handlers to it. Keeping the reactor this small is what lets the
//! transport layer be tested piece by piece.
//!
//! # Why a mailbox plus a "sleeping" flag
//! Waking a thread blocked in `epoll_wait` costs a system call (an eventfd write).
//! Cross-thread pokes are therefore queued in a lock-free channel and the eventfd is
//! written only when the reactor has announced that it is about to sleep; a busy reactor
//! drains the mailbox on its next turn without any system call. See [`notifier`] for
//! the ordering argument.
//!
//! ```
//! use ferrozmq_reactor::{Cx, Handler, Reactor};
//! use std::sync::mpsc;
//!
//! struct Once(mpsc::Sender<&'static str>);
//! impl Handler for Once {
//!     fn start(&mut self, cx: &mut Cx<'_>) {
//!         self.0.send("started").unwrap();
//!         cx.close();
//!     }
//! }
//!
//! let reactor = Reactor::spawn("example").unwrap();
//! let (tx, rx) = mpsc::channel();
//! reactor.handle().spawn(Box::new(Once(tx)));
//! assert_eq!(rx.recv().unwrap(), "started");
//! reactor.shutdown_and_join();
//! ```
#![deny(missing_docs)]

mod handler;
pub mod notifier;
mod reactor;
mod timers;

pub use handler::{Cx, Handler};
pub use notifier::Notifier;
pub use reactor::{Reactor, ReactorHandle};
pub use timers::TimerId;

pub use mio;
