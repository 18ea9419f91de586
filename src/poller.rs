//! [`Poller`]: wait until any of several sockets can receive or send (libzmq's
//! `zmq_poll`), without an async runtime.
//!
//! Readiness is not kept in a kernel object per socket. A poller asks each socket
//! whether it can receive or send ([`Socket::events`]); a socket that answers "no" arms
//! its pipes so that the next arrival (or freed room) wakes the socket's signal, and the
//! poller has registered itself as an observer of those signals. So an idle poll costs
//! one check per socket and one sleep, not a system call per socket, and no wake-up can
//! fall between the check and the sleep: the observer's flag is sticky.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrozmq_patterns::{Signal, Wake};

use crate::socket::{Events, Socket};

/// What a poller should watch a socket for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interest {
    /// Report when a receive would not block.
    pub readable: bool,
    /// Report when a send would not block.
    pub writable: bool,
}

impl Interest {
    /// Receive readiness only.
    pub const READABLE: Interest = Interest {
        readable: true,
        writable: false,
    };
    /// Send readiness only.
    pub const WRITABLE: Interest = Interest {
        readable: false,
        writable: true,
    };
    /// Both.
    pub const BOTH: Interest = Interest {
        readable: true,
        writable: true,
    };
}

struct Item<'a> {
    socket: &'a Socket,
    signal: Arc<Signal>,
    interest: Interest,
    ready: Events,
}

/// Waits on many sockets at once.
///
/// ```
/// use std::time::Duration;
/// use ferrozmq::{Context, Interest, Poller, SocketType};
///
/// let ctx = Context::new();
/// let a = ctx.socket(SocketType::Pull)?;
/// a.bind("inproc://poller-a")?;
/// let b = ctx.socket(SocketType::Pull)?;
/// b.bind("inproc://poller-b")?;
/// let push = ctx.socket(SocketType::Push)?;
/// push.connect("inproc://poller-b")?;
/// push.send("hello")?;
///
/// let mut poller = Poller::new();
/// let ia = poller.add(&a, Interest::READABLE);
/// let ib = poller.add(&b, Interest::READABLE);
/// assert_eq!(poller.poll(Some(Duration::from_secs(5))), 1);
/// assert!(!poller.events(ia).readable);
/// assert!(poller.events(ib).readable);
/// assert_eq!(b.recv()?, "hello");
/// # Ok::<(), ferrozmq::Error>(())
/// ```
pub struct Poller<'a> {
    items: Vec<Item<'a>>,
    wake: Arc<Signal>,
    observer: Arc<dyn Wake>,
}

impl Default for Poller<'_> {
    fn default() -> Self {
        Poller::new()
    }
}

impl<'a> Poller<'a> {
    /// An empty poller.
    pub fn new() -> Self {
        let wake = Arc::new(Signal::new());
        let observer: Arc<dyn Wake> = wake.clone();
        Poller {
            items: Vec::new(),
            wake,
            observer,
        }
    }

    /// Watches `socket` for `interest`; returns the index to read results with.
    pub fn add(&mut self, socket: &'a Socket, interest: Interest) -> usize {
        let signal = socket.signal();
        signal.add_observer(self.observer.clone());
        self.items.push(Item {
            socket,
            signal,
            interest,
            ready: Events::default(),
        });
        self.items.len() - 1
    }

    /// Changes what the socket at `index` is watched for.
    pub fn set_interest(&mut self, index: usize, interest: Interest) {
        self.items[index].interest = interest;
    }

    /// Number of registered sockets.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Waits until at least one socket is ready for what it is watched for, or until
    /// `timeout` (`None` = forever; `Some(ZERO)` = just look). Returns how many sockets
    /// are ready; read each with [`events`](Poller::events).
    pub fn poll(&mut self, timeout: Option<Duration>) -> usize {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            // Consume the pending wake-up first: anything after it is seen by the
            // check below or wakes us again.
            self.wake.take();
            let ready = self.check();
            if ready > 0 {
                return ready;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return 0;
            }
            if !self.wake.wait_until(deadline) {
                return self.check();
            }
        }
    }

    fn check(&mut self) -> usize {
        let mut ready = 0;
        for item in &mut self.items {
            let events = item.socket.events();
            item.ready = Events {
                readable: item.interest.readable && events.readable,
                writable: item.interest.writable && events.writable,
            };
            if item.ready.readable || item.ready.writable {
                ready += 1;
            }
        }
        ready
    }

    /// What the socket at `index` was found ready for by the last [`poll`](Poller::poll).
    pub fn events(&self, index: usize) -> Events {
        self.items[index].ready
    }
}

impl Drop for Poller<'_> {
    fn drop(&mut self) {
        for item in &self.items {
            item.signal.remove_observer(&self.observer);
        }
    }
}
