//! How I/O threads hand new peers to a user socket, and learn that it closed.
//!
//! The user thread owns its [`PipeSet`](crate::PipeSet) exclusively, so pipes created
//! elsewhere (an accepted connection completing its handshake, an inproc connect) are
//! parked here and adopted by the socket on its next operation. An atomic flag makes
//! that check one relaxed load when nothing is new. The socket's [`Signal`] lives here
//! too: it is the wake-up target of every pipe the socket reads or writes.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pipe::PipeEnd;
use crate::signal::{Signal, Wake};

/// The socket behind an [`Inbox`] has closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketClosed;

/// Shared between a user socket and the transports working for it.
pub struct Inbox {
    signal: Arc<Signal>,
    new_pipes: Mutex<Vec<PipeEnd>>,
    has_new: AtomicBool,
    closed: AtomicBool,
    linger_deadline: Mutex<Option<Instant>>,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox {
            signal: Arc::new(Signal::new()),
            new_pipes: Mutex::new(Vec::new()),
            has_new: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            linger_deadline: Mutex::new(None),
        }
    }
}

impl Inbox {
    /// A fresh inbox with its own signal.
    pub fn new() -> Arc<Inbox> {
        Arc::new(Inbox::default())
    }

    /// The socket's wake-up signal.
    pub fn signal(&self) -> &Arc<Signal> {
        &self.signal
    }

    /// The signal as a pipe wake-up target.
    pub fn waker(&self) -> Arc<dyn Wake> {
        self.signal.clone()
    }

    /// Offers a new pipe to the socket. If the socket has closed, the pipe is dropped
    /// (which closes it) and `Err(SocketClosed)` returned.
    pub fn attach(&self, pipe: PipeEnd) -> Result<(), SocketClosed> {
        let mut pipes = self.new_pipes.lock();
        if self.closed.load(Ordering::Acquire) {
            drop(pipes);
            drop(pipe);
            return Err(SocketClosed);
        }
        pipes.push(pipe);
        self.has_new.store(true, Ordering::Release);
        drop(pipes);
        self.signal.wake();
        Ok(())
    }

    /// Takes the pipes offered since the last call (cheap when there are none).
    pub fn take_new(&self, into: &mut Vec<PipeEnd>) {
        if !self.has_new.load(Ordering::Acquire) {
            return;
        }
        let mut pipes = self.new_pipes.lock();
        self.has_new.store(false, Ordering::Relaxed);
        into.append(&mut pipes);
    }

    /// Marks the socket closed with its linger period (`None` = linger forever). Pipes
    /// offered afterwards are refused, and ones not yet adopted are dropped here.
    pub fn close(&self, linger: Option<Duration>) {
        *self.linger_deadline.lock() = linger.map(|l| Instant::now() + l);
        let orphans = {
            let mut pipes = self.new_pipes.lock();
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *pipes)
        };
        drop(orphans);
    }

    /// True once the socket closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Until when a closed socket's pending output may still be delivered
    /// (`None` = no limit). Meaningful only once [`is_closed`](Inbox::is_closed).
    pub fn linger_deadline(&self) -> Option<Instant> {
        *self.linger_deadline.lock()
    }
}
