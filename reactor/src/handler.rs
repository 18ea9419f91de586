//! The handler trait and the context a handler is called with.

use std::sync::Arc;
use std::time::Instant;

use crate::notifier::{Notifier, Shared};
use crate::reactor::ReactorHandle;
use crate::timers::{TimerId, Timers};

/// A unit of work living on a reactor thread: a listener, a connecter, a connection.
///
/// Every callback gets a [`Cx`] through which the handler registers its I/O source
/// (under [`Cx::token`]), arms timers, spawns further handlers, or asks to be closed.
/// Handlers must tolerate spurious calls of [`wake`](Handler::wake) and
/// [`ready`](Handler::ready): readiness in mio is edge-triggered and pokes are coalesced,
/// so the only safe reaction to any callback is "re-examine everything and drain".
pub trait Handler: Send + 'static {
    /// Called once, on the reactor thread, right after the handler was inserted.
    fn start(&mut self, cx: &mut Cx<'_>);

    /// The handler's I/O source became ready.
    fn ready(&mut self, cx: &mut Cx<'_>, event: &mio::event::Event) {
        let _ = (cx, event);
    }

    /// A [`Notifier`] bound to this handler was poked.
    fn wake(&mut self, cx: &mut Cx<'_>) {
        let _ = cx;
    }

    /// A timer armed with [`Cx::set_timer`] expired. Timers cannot be cancelled; ignore
    /// ids you no longer care about.
    fn timeout(&mut self, cx: &mut Cx<'_>, id: TimerId) {
        let _ = (cx, id);
    }

    /// The reactor is shutting down. The handler may keep running (to finish lingering
    /// output) and must call [`Cx::close`] once done; the thread exits when every handler
    /// has closed. The default closes at once.
    fn shutdown(&mut self, cx: &mut Cx<'_>) {
        cx.close();
    }
}

/// What a handler can do from inside a callback.
pub struct Cx<'a> {
    pub(crate) key: usize,
    pub(crate) generation: u64,
    pub(crate) registry: &'a mio::Registry,
    pub(crate) timers: &'a mut Timers,
    pub(crate) spawned: &'a mut Vec<Box<dyn Handler>>,
    pub(crate) bound: &'a mut Vec<Notifier>,
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) shutting_down: bool,
    pub(crate) close: bool,
}

impl<'a> Cx<'a> {
    /// The token under which this handler must register its I/O source.
    pub fn token(&self) -> mio::Token {
        mio::Token(self.key)
    }

    /// The poll registry, to register, reregister or deregister sources.
    pub fn registry(&self) -> &mio::Registry {
        self.registry
    }

    /// Arms a one-shot timer; [`Handler::timeout`] is called with the returned id at or
    /// after `deadline`.
    pub fn set_timer(&mut self, deadline: Instant) -> TimerId {
        self.timers.insert(deadline, self.key, self.generation)
    }

    /// Removes this handler after the current callback returns (dropping it, which
    /// closes the sources it owns).
    pub fn close(&mut self) {
        self.close = true;
    }

    /// Inserts another handler into this reactor after the current callback.
    pub fn spawn(&mut self, handler: Box<dyn Handler>) {
        self.spawned.push(handler);
    }

    /// Binds `notifier` to this handler, so its pokes call [`Handler::wake`]. The binding
    /// is undone when the handler is removed. Pokes sent before binding are dropped, so
    /// examine your queues after binding.
    pub fn bind(&mut self, notifier: &Notifier) {
        debug_assert!(
            notifier.same_reactor(self.shared),
            "notifier of another reactor"
        );
        notifier.bind(self.key);
        self.bound.push(notifier.clone());
    }

    /// A handle to this reactor, e.g. to create notifiers for new handlers.
    pub fn handle(&self) -> ReactorHandle {
        ReactorHandle {
            shared: self.shared.clone(),
        }
    }

    /// True once the reactor was asked to shut down.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }
}
