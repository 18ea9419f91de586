//! The socket thread's share of a connection's work.
//!
//! A connection belongs to its I/O thread, but two things go faster when the
//! application's own thread does them:
//!
//! * **writing a message to an idle connection** ([`SessionWake`]): one `write` on the
//!   sending thread instead of waking the I/O thread to do it;
//! * **reading a small-message stream while the application waits in `recv`**
//!   ([`InlineDriver`], [`Conn::leave_reading_to_socket`]): the waiting thread reads and
//!   decodes whole batches itself instead of being handed them;
//! * **taking a reply off the wire** ([`InlineDriver`]'s `probe`): a thread that wrote a
//!   request (or a reply) and now waits for the answer looks for it on the socket
//!   itself while it spins, so a quick answer involves no other thread at all.
//!
//! Together the last two make a request-reply round trip over tcp or ipc cost no
//! thread wake-up when the peer answers within the spin: the request is written by
//! the requester, read and answered by the replier's thread, and the reply read by
//! the requester, each on the thread that wants it done.
//!
//! Both only ever `try_lock` the connection, and hand readiness they can't act on back
//! to the I/O thread through [`Shared`]'s `missed` bits, so neither side can stall the
//! other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use ferrozmq_patterns::pipe::{Driver, Probe};
use ferrozmq_patterns::Wake;
use ferrozmq_reactor::Notifier;
use parking_lot::MutexGuard;

use super::{
    Conn, Shared, INLINE_READS, MISSED_HUP, MISSED_READABLE, MISSED_WAKE, MISSED_WRITABLE,
};

/// How a connection is woken by its pipe: the socket queued a message, freed room in
/// the inbound queue, or closed.
///
/// A message queued on an idle connection is written right away on the sending thread
/// (one `write` instead of a wake-up of the I/O thread, which then writes): this takes
/// a thread hand-off off every request-reply round trip. Two kinds of message qualify:
/// * an answer, the first message after the peer has spoken, whatever its size and
///   however soon it follows the last inline write: a conversation alternates, so
///   there is nothing to batch it with;
/// * any other message up to [`INLINE_WRITE_MAX`], at most one per
///   [`INLINE_WRITE_GAP`]: messages that follow faster than that go through the I/O
///   thread, which batches them into large writes, and so do large ones, whose copy
///   into the kernel is better overlapped with the application queueing the next.
///
/// Everything else (credit after a full inbound queue, closure) is the I/O thread's
/// job.
pub(crate) struct SessionWake {
    notifier: Notifier,
    pub(super) conn: OnceLock<Weak<Shared>>,
    last_inline: AtomicU64,
}

/// Read readiness is left to a receiving socket thread only while received frames
/// average at most this many bytes.
const DELEGATE_MAX_FRAME: usize = 4 * 1024;

/// The largest message written inline (see [`SessionWake`]).
const INLINE_WRITE_MAX: usize = 8 * 1024;

/// The least time between two inline writes on one connection.
pub const INLINE_WRITE_GAP: std::time::Duration = std::time::Duration::from_micros(20);

impl SessionWake {
    pub(crate) fn new(notifier: Notifier) -> Arc<SessionWake> {
        Arc::new(SessionWake {
            notifier,
            conn: OnceLock::new(),
            last_inline: AtomicU64::new(0),
        })
    }

    fn try_inline(&self) -> bool {
        let Some(shared) = self.conn.get().and_then(Weak::upgrade) else {
            return false;
        };
        let now = clock_nanos();
        let last = self.last_inline.load(Ordering::Relaxed);
        let gap_passed = now.saturating_sub(last) >= INLINE_WRITE_GAP.as_nanos() as u64;
        let Some(mut conn) = shared.conn.try_lock() else {
            return false;
        };
        if !gap_passed && !conn.peer_spoke {
            // The caller wakes the I/O thread, which also takes over whatever
            // readiness was deferred to us while we held the lock.
            return false;
        }
        self.last_inline.store(now, Ordering::Relaxed);
        let done = conn.push_inline();
        if conn.awaiting_reply {
            shared.maybe_awaiting.store(true, Ordering::Relaxed);
        }
        drop(conn);
        shared.after_unlock(&self.notifier, u8::MAX);
        done
    }
}

impl Wake for SessionWake {
    fn wake(&self) {
        if !self.try_inline() {
            self.notifier.notify();
        }
    }
}

/// Nanoseconds on a process-wide monotonic clock.
fn clock_nanos() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Lets the socket's thread pull a connection's input itself.
///
/// When a socket finds its queue empty it asks each pipe's driver to read right away
/// instead of waiting for the I/O thread to do it and wake it up. While a peer streams
/// faster than the application consumes, the socket thread thus reads and decodes
/// whole batches with no thread hand-off at all; once the stream runs dry, the I/O
/// thread takes over again (it owns the readiness events). Only a `try_lock` is
/// attempted: if the I/O thread holds the connection it is already moving the data.
pub(super) struct InlineDriver(pub(super) Weak<Shared>);

impl Driver for InlineDriver {
    fn hand_back(&self) {
        if let Some(shared) = self.0.upgrade() {
            if shared.missed.load(Ordering::SeqCst) & (MISSED_READABLE | MISSED_HUP) != 0 {
                shared.notifier.notify();
            }
        }
    }

    fn push(&self) -> bool {
        let Some(shared) = self.0.upgrade() else {
            return false;
        };
        let Some(mut conn) = shared.conn.try_lock() else {
            return false;
        };
        let taken = shared.missed.fetch_and(!MISSED_WRITABLE, Ordering::SeqCst);
        conn.apply_missed(taken & MISSED_WRITABLE);
        let wrote = conn.push_while_blocked();
        let notifier = conn.notifier.clone();
        drop(conn);
        shared.after_unlock(&notifier, u8::MAX);
        wrote
    }

    fn pull(&self) -> bool {
        let Some(shared) = self.0.upgrade() else {
            return false;
        };
        let Some(conn) = shared.conn.try_lock() else {
            return false;
        };
        let produced = read_here(&shared, conn);
        // If we produced messages the caller comes back for more once it has consumed
        // them, and picks up new read readiness itself; only other readiness needs the
        // I/O thread then. If we produced nothing the caller is about to sleep: hand
        // everything over.
        let relevant = if produced {
            MISSED_WRITABLE | MISSED_WAKE
        } else {
            u8::MAX
        };
        shared.after_unlock(&shared.notifier, relevant);
        produced
    }

    fn probe(&self) -> Probe {
        let Some(shared) = self.0.upgrade() else {
            return Probe::NotAwaiting;
        };
        // Most sockets never wait for an answer here: tell them without locking.
        if !shared.maybe_awaiting.load(Ordering::Relaxed) {
            return Probe::NotAwaiting;
        }
        let Some(mut conn) = shared.conn.try_lock() else {
            // The I/O thread is at work here; it wakes us if it reads the answer.
            return Probe::Awaiting;
        };
        let found = if !conn.awaiting_reply {
            shared.maybe_awaiting.store(false, Ordering::Relaxed);
            drop(conn);
            Probe::NotAwaiting
        } else if !conn.answer_readable() {
            drop(conn);
            Probe::Awaiting
        } else if read_here(&shared, conn) {
            Probe::Arrived
        } else {
            // Part of a large answer: the rest is on its way.
            Probe::Awaiting
        };
        // Read readiness delegated meanwhile is ours: the signal it raised brings this
        // thread back to `pull`. Anything else needs the I/O thread.
        shared.after_unlock(&shared.notifier, MISSED_WRITABLE | MISSED_WAKE);
        found
    }
}

/// Reads and decodes on the socket's thread, with the lock taken. True if messages
/// were added to the pipe.
fn read_here(shared: &Shared, mut conn: MutexGuard<'_, Conn>) -> bool {
    // Readiness the reactor could not deliver while we held the lock: reading flags
    // are ours to use here; anything else needs the reactor.
    let taken = shared
        .missed
        .fetch_and(!(MISSED_READABLE | MISSED_HUP), Ordering::SeqCst);
    conn.apply_missed(taken & (MISSED_READABLE | MISSED_HUP));
    conn.pull_inline()
}

impl Conn {
    /// Writes queued messages on the caller's thread. True if nothing is left for the
    /// I/O thread to do (everything written, no paused reading, no closure to handle).
    pub(super) fn push_inline(&mut self) -> bool {
        if self.link.as_ref().is_some_and(|l| l.stalled) {
            return false;
        }
        let answer = self.peer_spoke;
        let max = if answer { usize::MAX } else { INLINE_WRITE_MAX };
        let wrote = self.write_here(max);
        if wrote == Some(true) {
            self.peer_spoke = false;
            self.awaiting_reply = true;
            self.conversing = answer;
        }
        wrote.is_some() && self.pending_end.is_none() && !self.socket_gone && self.output_flushed()
    }

    /// Writes queued messages on a sending thread that would otherwise wait for room.
    /// True if anything was written. A short write leaves the rest to the I/O thread,
    /// which watches for room; a failure is handed to it at once.
    pub(super) fn push_while_blocked(&mut self) -> bool {
        if self.link.as_ref().is_some_and(|l| !l.writable) {
            return false;
        }
        let failed_before = self.pending_end.is_some();
        let wrote = self.write_here(INLINE_WRITE_MAX).unwrap_or(false);
        if !failed_before && self.pending_end.is_some() {
            self.notifier.notify();
        }
        wrote
    }

    /// The writing both of the above do: encodes and writes queued messages while the
    /// next one is at most `max` bytes. `None` if this thread should leave it to the
    /// I/O thread (the link is not up, or the next message is larger: copying and
    /// writing it here would stop the application from queueing the one after, and the
    /// I/O thread takes less time to wake than that); else whether anything was
    /// written. A link failure is left in `pending_end`.
    fn write_here(&mut self, max: usize) -> Option<bool> {
        let ready = self.pending_end.is_none()
            && !self.socket_gone
            && self.pipe.is_some()
            && self
                .link
                .as_ref()
                .is_some_and(|l| l.connected && l.engine.as_ref().is_some_and(|e| e.is_ready()));
        let small = ready
            && self
                .pipe
                .as_mut()
                .and_then(|p| p.rx.peek_len())
                .is_some_and(|len| len <= max);
        if !small {
            return None;
        }
        let mut wrote = false;
        loop {
            match self.write_some() {
                Ok(true) => wrote = true,
                Ok(false) => break,
                Err(end) => {
                    self.pending_end = Some(end);
                    break;
                }
            }
        }
        if self
            .link
            .as_ref()
            .is_some_and(|l| !l.writable && !l.write_interest)
        {
            // Blocked, and the poll is not watching for room (see
            // `update_write_interest`): the I/O thread must ask for it.
            self.notifier.notify();
        }
        Some(wrote)
    }

    /// Reads and decodes on the caller's thread while the stream has data.
    pub(super) fn pull_inline(&mut self) -> bool {
        let ready = self.pending_end.is_none()
            && self.pipe.is_some()
            && self.link.as_ref().is_some_and(|l| {
                l.connected
                    && (l.readable || !l.input.is_empty())
                    && !l.eof
                    && l.engine.as_ref().is_some_and(|e| e.is_ready())
            });
        if !ready {
            return false;
        }
        let mut reads = 0;
        let mut produced = false;
        let result = loop {
            match self.decode_input() {
                Ok(p) => produced |= p,
                Err(end) => break Err(end),
            }
            if reads >= INLINE_READS || self.inbound_full() {
                break Ok(());
            }
            match self.read_some(&mut reads) {
                Ok(true) => {}
                Ok(false) => break Ok(()),
                Err(end) => break Err(end),
            }
        };
        let link = self.link.as_mut().expect("checked above");
        let reactor_needed = result.is_err()
            || link.eof
            || !link.big_body.is_empty()
            || !link.big_header.is_empty()
            || link.engine.as_mut().is_some_and(|e| !e.output().is_empty());
        if let Err(end) = result {
            self.pending_end = Some(end);
        }
        if reactor_needed {
            // End of stream, an error, or a reply to a PING to write: the I/O thread acts.
            self.notifier.notify();
        }
        produced
    }

    /// True if the answer the socket's thread waits for may be readable now: the link is
    /// up and the kernel has input for it (asked with `poll`, which unlike a read does
    /// not take the socket's lock, so probing does not slow the peer's delivery).
    fn answer_readable(&mut self) -> bool {
        if self.pending_end.is_some() || self.pipe.is_none() {
            return false;
        }
        let Some(link) = self.link.as_mut() else {
            return false;
        };
        if !link.connected || link.eof || !link.engine.as_ref().is_some_and(|e| e.is_ready()) {
            return false;
        }
        if !link.readable {
            link.readable = link.stream.poll_readable();
        }
        link.readable
    }

    /// If the socket's thread is waiting in a receive, leaves the stream's input for it
    /// to read and decode (see [`InlineDriver`]) and returns true.
    pub(super) fn leave_reading_to_socket(&mut self) -> bool {
        let Some(link) = self.link.as_mut() else {
            return false;
        };
        // Only at a frame boundary: the rest of a large frame is read here, where
        // reading overlaps with the application consuming earlier messages.
        // Only for small messages: large ones are better read here, where reading
        // overlaps with the application consuming the previous one.
        if !link.readable
            || link.hup
            || link.eof
            || !link.input.is_empty()
            || link.average_frame > DELEGATE_MAX_FRAME
            || self.pipe.is_none()
            || !self.socket.inbox.is_receiving()
        {
            return false;
        }
        let Some(shared) = self.me.upgrade() else {
            return false;
        };
        if !shared.delegate.load(Ordering::Relaxed) {
            return false;
        }
        shared.missed.fetch_or(MISSED_READABLE, Ordering::SeqCst);
        if shared.inbox.delegate_read() {
            link.readable = false;
            shared.rewake_socket.store(true, Ordering::Relaxed);
            true
        } else {
            false
        }
    }
}
