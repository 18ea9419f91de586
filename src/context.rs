//! [`Context`]: the I/O threads and the inproc namespace shared by a group of sockets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ferrozmq_reactor::{Reactor, ReactorHandle};
use ferrozmq_transports::InprocRegistry;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::socket::Socket;
use crate::SocketType;

/// Owns the I/O threads. Cheap to clone (clones share the threads) and usable from any
/// thread.
///
/// When the last clone *and* the last socket created from it are gone, the I/O threads
/// finish: connections still holding messages of closed sockets deliver them within
/// each socket's linger period (forever by default, as in libzmq; set
/// [`Socket::set_linger`] to bound it), then the threads are joined.
///
/// ```
/// let ctx = ferrozmq::Context::new();
/// let pull = ctx.socket(ferrozmq::SocketType::Pull)?;
/// pull.bind("inproc://jobs")?;
/// let push = ctx.socket(ferrozmq::SocketType::Push)?;
/// push.connect("inproc://jobs")?;
/// push.send("work")?;
/// assert_eq!(pull.recv()?, "work");
/// # Ok::<(), ferrozmq::Error>(())
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

pub(crate) struct ContextInner {
    reactors: Vec<Reactor>,
    next_reactor: AtomicUsize,
    pub(crate) inproc: Mutex<InprocRegistry>,
}

impl Context {
    /// A context with one I/O thread (libzmq's default).
    ///
    /// # Panics
    /// If the operating system refuses to start a thread; use
    /// [`with_io_threads`](Context::with_io_threads) to handle that as an error.
    pub fn new() -> Context {
        Context::with_io_threads(1).expect("failed to start ferrozmq's I/O thread")
    }

    /// A context with `n` I/O threads (at least one). Connections are spread over them
    /// round-robin.
    pub fn with_io_threads(n: usize) -> Result<Context> {
        let reactors = (0..n.max(1))
            .map(|i| Reactor::spawn(&format!("ferrozmq-io-{i}")))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(Error::Io)?;
        Ok(Context {
            inner: Arc::new(ContextInner {
                reactors,
                next_reactor: AtomicUsize::new(0),
                inproc: Mutex::new(InprocRegistry::default()),
            }),
        })
    }

    /// Number of I/O threads.
    pub fn io_threads(&self) -> usize {
        self.inner.reactors.len()
    }

    /// Creates a socket of `socket_type`.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        Socket::new(self.clone(), socket_type)
    }

    pub(crate) fn pick_reactor(&self) -> &ReactorHandle {
        let i = self.inner.next_reactor.fetch_add(1, Ordering::Relaxed) % self.inner.reactors.len();
        self.inner.reactors[i].handle()
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("io_threads", &self.io_threads())
            .finish()
    }
}
