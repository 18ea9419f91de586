//! [`Poller`]: wait until any of several sockets can receive or send (libzmq's
//! `zmq_poll`), without an async runtime.
//!
//! Readiness is not kept in a kernel object per socket. A poller asks each socket
//! whether it can receive or send ([`Socket::events`]); a socket that answers "no" arms
//! its pipes so that the next arrival (or freed room) wakes the socket's signal, and the
//! poller has registered itself as an observer of those signals. So an idle poll costs
//! one check per socket and one sleep, not a system call per socket, and no wake-up can
//! fall between the check and the sleep: the observer's flag is sticky.
//!
//! Raw file descriptors (pipes, sockets of other libraries) can be registered too. Then
//! the poller sleeps in `poll(2)` on those descriptors plus one eventfd that the sockets'
//! signals raise, so either kind of readiness ends the wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::os::fd::{AsRawFd, RawFd};

use ferrozmq_patterns::{Signal, Wake};

use crate::readiness::ReadinessFd;

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

enum Target<'a> {
    Socket {
        socket: &'a Socket,
        signal: Arc<Signal>,
    },
    Fd(RawFd),
}

struct Item<'a> {
    target: Target<'a>,
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
    /// What sockets wake: a [`Signal`] while only sockets are registered, an eventfd
    /// once raw descriptors are (so that `poll(2)` can wait for both).
    wake: Arc<Signal>,
    fd_wake: Option<Arc<ReadinessFd>>,
    observer: Arc<dyn Wake>,
    pollfds: Vec<libc::pollfd>,
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
            fd_wake: None,
            observer,
            pollfds: Vec::new(),
        }
    }

    /// Watches `socket` for `interest`; returns the index to read results with.
    pub fn add(&mut self, socket: &'a Socket, interest: Interest) -> usize {
        let signal = socket.signal();
        signal.add_observer(self.observer.clone());
        self.items.push(Item {
            target: Target::Socket { socket, signal },
            interest,
            ready: Events::default(),
        });
        self.items.len() - 1
    }

    /// Watches a raw file descriptor (readable: `POLLIN`, writable: `POLLOUT`; an error
    /// or hang-up counts as readable). The descriptor must stay open while registered.
    pub fn add_fd(&mut self, fd: RawFd, interest: Interest) -> std::io::Result<usize> {
        if self.fd_wake.is_none() {
            // Switch the sockets' observer from the signal to an eventfd.
            let fd_wake = Arc::new(ReadinessFd::new()?);
            let observer: Arc<dyn Wake> = fd_wake.clone();
            for item in &self.items {
                if let Target::Socket { signal, .. } = &item.target {
                    signal.remove_observer(&self.observer);
                    signal.add_observer(observer.clone());
                }
            }
            self.observer = observer;
            self.fd_wake = Some(fd_wake);
        }
        self.items.push(Item {
            target: Target::Fd(fd),
            interest,
            ready: Events::default(),
        });
        Ok(self.items.len() - 1)
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
        if let Some(fd_wake) = self.fd_wake.clone() {
            return self.poll_with_fds(&fd_wake, deadline);
        }
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

    /// Sockets and descriptors: sleep in poll(2) on the descriptors and the eventfd
    /// the sockets raise.
    fn poll_with_fds(&mut self, fd_wake: &ReadinessFd, deadline: Option<Instant>) -> usize {
        loop {
            fd_wake.clear();
            let sockets_ready = self.check();
            self.pollfds.clear();
            for item in &self.items {
                if let Target::Fd(fd) = item.target {
                    let mut events = 0;
                    if item.interest.readable {
                        events |= libc::POLLIN;
                    }
                    if item.interest.writable {
                        events |= libc::POLLOUT;
                    }
                    self.pollfds.push(libc::pollfd {
                        fd,
                        events,
                        revents: 0,
                    });
                }
            }
            self.pollfds.push(libc::pollfd {
                fd: fd_wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            let wait_ms = if sockets_ready > 0 {
                0
            } else {
                match deadline {
                    None => -1,
                    Some(d) => {
                        let left = d.saturating_duration_since(Instant::now());
                        // Round up so that we don't spin on a sub-millisecond rest.
                        left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
                    }
                }
            };
            // SAFETY: `pollfds` is a live, correctly sized array of pollfd structs.
            let rc = unsafe {
                libc::poll(
                    self.pollfds.as_mut_ptr(),
                    self.pollfds.len() as libc::nfds_t,
                    wait_ms,
                )
            };
            if rc < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return sockets_ready;
            }
            let mut fds_ready = 0;
            let mut next = 0;
            for item in &mut self.items {
                if let Target::Fd(_) = item.target {
                    let revents = if rc > 0 {
                        self.pollfds[next].revents
                    } else {
                        0
                    };
                    next += 1;
                    let failed = revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0;
                    item.ready = Events {
                        readable: item.interest.readable && (revents & libc::POLLIN != 0 || failed),
                        writable: item.interest.writable && revents & libc::POLLOUT != 0,
                    };
                    if item.ready.readable || item.ready.writable {
                        fds_ready += 1;
                    }
                }
            }
            if sockets_ready + fds_ready > 0 {
                return sockets_ready + fds_ready;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return 0;
            }
        }
    }

    fn check(&mut self) -> usize {
        let mut ready = 0;
        for item in &mut self.items {
            let Target::Socket { socket, .. } = &item.target else {
                continue;
            };
            let events = socket.events();
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
            if let Target::Socket { signal, .. } = &item.target {
                signal.remove_observer(&self.observer);
            }
        }
    }
}
