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
    /// The socket's thread is inside a receive (and will read from drivers itself).
    receiving: AtomicBool,
    /// An I/O thread left input for the receiving thread to read.
    delegated: AtomicBool,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox {
            signal: Arc::new(Signal::new()),
            new_pipes: Mutex::new(Vec::new()),
            has_new: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            linger_deadline: Mutex::new(None),
            receiving: AtomicBool::new(false),
            delegated: AtomicBool::new(false),
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

    /// Marks the start of a receive on the socket's thread: from now on an I/O thread
    /// may leave newly readable input to this thread (see [`delegate_read`](Inbox::delegate_read)).
    pub fn begin_receiving(&self) {
        self.receiving.store(true, Ordering::SeqCst);
    }

    /// Marks the end of a receive. True if input was left to this thread meanwhile and
    /// must now be handed back to the I/O threads (the socket calls its drivers'
    /// [`hand_back`](crate::pipe::Driver::hand_back)).
    pub fn end_receiving(&self) -> bool {
        self.receiving.store(false, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        self.delegated.swap(false, Ordering::SeqCst)
    }

    /// Called by an I/O thread that has just recorded, where the socket's driver will
    /// find it, that a stream became readable. If the socket's thread is receiving,
    /// it is woken to read the input itself and true is returned; otherwise the I/O
    /// thread must read. Marking before checking pairs with
    /// [`end_receiving`](Inbox::end_receiving): either this sees the receive still
    /// running, or the receiving thread sees the mark and hands the input back.
    pub fn delegate_read(&self) -> bool {
        self.delegated.store(true, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.receiving.load(Ordering::SeqCst) {
            self.signal.wake();
            true
        } else {
            false
        }
    }

    /// True while the socket's thread is inside a receive.
    pub fn is_receiving(&self) -> bool {
        self.receiving.load(Ordering::Relaxed)
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
