//! The batching queue: a deque behind a mutex held only for O(1) work.
//!
//! The reader swaps the whole shared deque with its private (empty) one and then pops
//! the batch without any synchronisation; both deques keep their capacity, so
//! steady-state traffic allocates nothing. This is what the transports use: an I/O
//! thread publishes everything decoded from one read with one `flush`, and the reader
//! takes it with one lock. When the reader keeps up with a writer that pushes one
//! message at a time, though, both take the lock once per message (see the
//! `direct` queue for that case).
//!
//! High-water mark: the writer counts what it wrote; the reader credits what it has
//! consumed, every `hwm / 2` messages and whenever it refills. Wake-ups: a reader that
//! finds the queue empty sets `reader_waiting` under the lock, the next push clears it
//! and wakes the reader; the same for a writer waiting for credit. Both flags live
//! under the lock with the data, so a wake-up can't be lost.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::Pop;
use crate::msg::Msg;
use crate::signal::Wake;

struct Inner {
    items: VecDeque<Msg>,
    consumed: u64,
    reader_waiting: bool,
    writer_waiting: bool,
    reader_closed: bool,
    writer_closed: bool,
}

/// The shared state of one direction of a pipe. Aligned to its own pair of cache lines
/// so that neither end's lock shares a line with anything else hot (see [`Signal`]).
///
/// [`Signal`]: crate::Signal
#[repr(align(128))]
pub struct Queue {
    inner: Mutex<Inner>,
    hwm: u64,
    reader_wake: Arc<dyn Wake>,
    writer_wake: Arc<dyn Wake>,
}

/// Creates one queue and its two ends. `hwm` is in messages, 0 for unlimited.
pub fn queue(hwm: u64, writer_wake: Arc<dyn Wake>, reader_wake: Arc<dyn Wake>) -> (Writer, Reader) {
    let q = Arc::new(Queue {
        inner: Mutex::new(Inner {
            items: VecDeque::new(),
            consumed: 0,
            reader_waiting: false,
            writer_waiting: false,
            reader_closed: false,
            writer_closed: false,
        }),
        hwm,
        reader_wake,
        writer_wake,
    });
    let credit_every = (hwm / 2).max(1);
    (
        Writer {
            q: q.clone(),
            written: 0,
            consumed_seen: 0,
            staged: Vec::new(),
        },
        Reader {
            q,
            local: VecDeque::new(),
            uncredited: 0,
            credit_every,
        },
    )
}

/// The writing end of a queue.
pub struct Writer {
    q: Arc<Queue>,
    written: u64,
    consumed_seen: u64,
    staged: Vec<Msg>,
}

impl Writer {
    /// True if one more message fits under the high-water mark. When it returns false the
    /// writer's owner will be woken once the reader has made room (or closed).
    pub fn has_room(&mut self) -> bool {
        let hwm = self.q.hwm;
        if hwm == 0 || self.written - self.consumed_seen < hwm {
            return true;
        }
        let mut inner = self.q.inner.lock();
        self.consumed_seen = inner.consumed;
        if self.written - self.consumed_seen < hwm || inner.reader_closed {
            return true;
        }
        inner.writer_waiting = true;
        false
    }

    /// The high-water mark (0: none) and the messages written but not yet known to
    /// be consumed, as of the last [`has_room`](Writer::has_room).
    pub fn hwm_and_in_flight(&self) -> (u64, u64) {
        (self.q.hwm, self.written - self.consumed_seen)
    }

    /// Makes `msg` visible to the reader at once. Does not check the high-water mark (call
    /// [`has_room`](Writer::has_room) first). Hands the message back if the reader is gone.
    pub fn push(&mut self, msg: Msg) -> Result<(), Msg> {
        let mut inner = self.q.inner.lock();
        if inner.reader_closed {
            return Err(msg);
        }
        inner.items.push_back(msg);
        self.written += 1;
        let wake = std::mem::take(&mut inner.reader_waiting);
        drop(inner);
        if wake {
            self.q.reader_wake.wake();
        }
        Ok(())
    }

    /// Queues `msg` privately; it becomes visible at the next [`flush`](Writer::flush).
    /// Lets an I/O thread publish everything decoded from one read under one lock.
    pub fn stage(&mut self, msg: Msg) {
        self.staged.push(msg);
        self.written += 1;
    }

    /// Publishes the staged messages. Returns false (dropping them) if the reader is gone.
    pub fn flush(&mut self) -> bool {
        if self.staged.is_empty() {
            return !self.is_reader_closed();
        }
        let mut inner = self.q.inner.lock();
        if inner.reader_closed {
            self.staged.clear();
            return false;
        }
        inner.items.extend(self.staged.drain(..));
        let wake = std::mem::take(&mut inner.reader_waiting);
        drop(inner);
        if wake {
            self.q.reader_wake.wake();
        }
        true
    }

    /// True once the reading end was dropped; further pushes fail.
    pub fn is_reader_closed(&self) -> bool {
        self.q.inner.lock().reader_closed
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.flush();
        self.q.inner.lock().writer_closed = true;
        self.q.reader_wake.wake();
    }
}

/// The reading end of a queue.
pub struct Reader {
    q: Arc<Queue>,
    local: VecDeque<Msg>,
    uncredited: u64,
    credit_every: u64,
}

impl Reader {
    /// Takes the next message, if any.
    pub fn pop(&mut self) -> Pop {
        if let Some(msg) = self.local.pop_front() {
            self.uncredited += 1;
            if self.uncredited >= self.credit_every {
                self.credit();
            }
            return Pop::Msg(msg);
        }
        self.refill()
    }

    /// True if a message can be popped right now. When there is none the owner will be
    /// woken as soon as one arrives (so a poller can rely on it).
    pub fn has_message(&mut self) -> bool {
        if !self.local.is_empty() {
            return true;
        }
        let mut inner = self.q.inner.lock();
        if inner.items.is_empty() {
            inner.reader_waiting = true;
            return false;
        }
        true
    }

    /// The first frame of the next message, if there is one (it stays queued). When there
    /// is none the owner will be woken as soon as one arrives.
    pub fn peek_first(&mut self) -> Option<Bytes> {
        if self.local.is_empty() {
            let mut inner = self.q.inner.lock();
            if inner.items.is_empty() {
                inner.reader_waiting = true;
                return None;
            }
            std::mem::swap(&mut inner.items, &mut self.local);
        }
        self.local.front().map(|m| m.first().clone())
    }

    /// Payload bytes of the next message, if there is one (it stays queued).
    pub fn peek_len(&mut self) -> Option<usize> {
        if let Some(msg) = self.local.front() {
            return Some(msg.byte_len());
        }
        self.q.inner.lock().items.front().map(Msg::byte_len)
    }

    /// True if the writer is gone and every message it wrote has been read.
    pub fn is_closed_and_drained(&mut self) -> bool {
        if !self.local.is_empty() {
            return false;
        }
        let inner = self.q.inner.lock();
        inner.writer_closed && inner.items.is_empty()
    }

    fn credit(&mut self) {
        if self.q.hwm == 0 {
            self.uncredited = 0;
            return;
        }
        let mut inner = self.q.inner.lock();
        inner.consumed += std::mem::take(&mut self.uncredited);
        let wake = std::mem::take(&mut inner.writer_waiting);
        drop(inner);
        if wake {
            self.q.writer_wake.wake();
        }
    }

    fn refill(&mut self) -> Pop {
        let mut inner = self.q.inner.lock();
        std::mem::swap(&mut inner.items, &mut self.local);
        let result = match self.local.pop_front() {
            Some(msg) => {
                self.uncredited += 1;
                Pop::Msg(msg)
            }
            None if inner.writer_closed => Pop::Closed,
            None => {
                inner.reader_waiting = true;
                Pop::Empty
            }
        };
        // Everything taken before this refill has been consumed; so has the message we
        // just popped once a credit batch is full.
        let mut wake_writer = false;
        if self.q.hwm != 0 && (self.uncredited >= self.credit_every || self.local.is_empty()) {
            inner.consumed += std::mem::take(&mut self.uncredited);
            wake_writer = std::mem::take(&mut inner.writer_waiting);
        }
        drop(inner);
        if wake_writer {
            self.q.writer_wake.wake();
        }
        result
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let dropped = {
            let mut inner = self.q.inner.lock();
            inner.reader_closed = true;
            std::mem::take(&mut inner.items)
        };
        drop(dropped);
        self.q.writer_wake.wake();
    }
}
