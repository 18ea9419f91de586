//! Cross-thread pokes into a reactor.
//!
//! A [`Notifier`] is how code on another thread (a user socket pushing into a pipe)
//! tells one handler "look at your queues again". It is created unbound, handed to
//! whatever needs to poke, and bound to its handler's slab key when the handler starts.
//! Pokes sent while unbound are dropped: every handler re-examines its queues in
//! [`Handler::start`], so nothing is lost.
//!
//! ## Ordering
//! The reactor stores `sleeping = true` (SeqCst) and then re-checks the mailbox before
//! it blocks in `epoll_wait`. A notifier pushes its command first and then swaps
//! `sleeping` to `false` (SeqCst); only the notifier that sees `true` writes the
//! eventfd. Either the reactor's re-check sees the command, or the notifier sees the
//! flag: with sequentially consistent operations on both sides one of them must
//! happen, so no poke is lost, and at most one eventfd write happens per sleep.

use crossbeam_channel::Sender;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::handler::Handler;

/// What the reactor's mailbox carries.
pub(crate) enum Command {
    Spawn(Box<dyn Handler>),
    Wake(usize),
    Shutdown,
}

/// The part of a reactor other threads can reach.
pub(crate) struct Shared {
    pub(crate) mailbox: Sender<Command>,
    pub(crate) waker: mio::Waker,
    pub(crate) sleeping: AtomicBool,
}

impl Shared {
    pub(crate) fn post(&self, command: Command) {
        // A send only fails once the reactor thread has gone, when there is nobody to poke.
        if self.mailbox.send(command).is_ok() && self.sleeping.swap(false, Ordering::SeqCst) {
            // An error here means the eventfd is gone with the reactor: nothing to wake.
            let _ = self.waker.wake();
        }
    }
}

const UNBOUND: usize = usize::MAX;

/// A cloneable handle that wakes one handler of one reactor.
///
/// Cheap to clone and to call; [`notify`](Notifier::notify) never blocks and makes a
/// system call only when the reactor thread is asleep.
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
    key: Arc<AtomicUsize>,
}

impl Notifier {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Notifier {
            shared,
            key: Arc::new(AtomicUsize::new(UNBOUND)),
        }
    }

    /// Asks the reactor to call the bound handler's [`Handler::wake`].
    pub fn notify(&self) {
        let key = self.key.load(Ordering::Acquire);
        if key != UNBOUND {
            self.shared.post(Command::Wake(key));
        }
    }

    /// True while bound to a live handler.
    pub fn is_bound(&self) -> bool {
        self.key.load(Ordering::Acquire) != UNBOUND
    }

    /// Binds this notifier (and all its clones) to the handler at `key`.
    pub(crate) fn bind(&self, key: usize) {
        self.key.store(key, Ordering::Release);
    }

    /// Detaches the notifier from its handler; later pokes are dropped.
    pub(crate) fn unbind(&self) {
        self.key.store(UNBOUND, Ordering::Release);
    }

    pub(crate) fn same_reactor(&self, shared: &Arc<Shared>) -> bool {
        Arc::ptr_eq(&self.shared, shared)
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("key", &self.key.load(Ordering::Relaxed))
            .finish()
    }
}
