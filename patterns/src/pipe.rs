//! Pipes: the one-way message queues between a user socket and its peers.
//!
//! A [`Queue`] has exactly one [`Writer`] and one [`Reader`]. A pipe to a peer is a
//! pair of queues, one per direction, seen from each side as a [`PipeEnd`].
//!
//! ## Design
//! The shared part is a `VecDeque` behind a mutex that is only ever held for O(1) work:
//! a push, or a swap of the whole deque with the reader's private (empty) one. The
//! reader therefore takes a whole batch per lock and then pops without any
//! synchronisation; both deques keep their capacity, so steady-state traffic allocates
//! nothing. A lock-free linked queue would need a node allocation per batch, which
//! costs more than the uncontended compare-and-swap that the mutex is.
//!
//! ## High-water mark
//! The writer counts what it wrote; the reader credits what it has *consumed* (popped),
//! every `hwm / 2` messages and whenever it refills, so `written - consumed` is exactly
//! the number of messages queued or held unread, and the writer may go on while that is
//! below the mark. `hwm == 0` means no limit.
//!
//! ## Wake-ups
//! A reader that finds the queue empty sets `reader_waiting` under the lock; the next
//! push clears it and wakes the reader. A writer that finds the pipe full sets
//! `writer_waiting`; the next credit clears it and wakes the writer. Both flags are read
//! and written under the same lock as the data, so a wake-up can't be lost, and a busy
//! pipe makes no wake-up calls at all. Closing either end always wakes the other.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

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

/// The shared state of one direction of a pipe.
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

/// What a reader finds when it looks for the next message.
#[derive(Debug)]
pub enum Pop {
    /// The next message.
    Msg(Msg),
    /// Nothing now; the owner will be woken when something arrives.
    Empty,
    /// The writer is gone and everything it wrote has been read.
    Closed,
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

    /// Takes the next message, if any (treating a closed queue as empty).
    pub fn try_pop(&mut self) -> Option<Msg> {
        match self.pop() {
            Pop::Msg(m) => Some(m),
            _ => None,
        }
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

static NEXT_PIPE_ID: AtomicU64 = AtomicU64::new(1);

/// Identifies a pipe for the lifetime of the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipeId(pub u64);

/// Moves a peer's input into the pipe on the calling thread, if that can be done now.
///
/// Transports give the socket's end of a pipe a driver so that a socket finding its
/// queue empty can read from the wire itself instead of waiting for an I/O thread's
/// hand-off. It must never block for long.
pub trait Driver: Send + Sync {
    /// Tries to receive now; true if messages may have been added to the pipe.
    fn pull(&self) -> bool;

    /// The socket stops receiving: input left for it to read goes back to the I/O
    /// thread (see [`Inbox::delegate_read`](crate::Inbox::delegate_read)).
    fn hand_back(&self);
}

/// One side's view of a two-way pipe to a peer.
pub struct PipeEnd {
    /// Unique id, shared by both ends.
    pub id: PipeId,
    /// Messages from the peer.
    pub rx: Reader,
    /// Messages to the peer.
    pub tx: Writer,
    /// The peer's routing id (its ZMTP `Identity` or inproc `ROUTING_ID`), empty if none.
    pub peer_routing_id: Bytes,
    /// Reads from the peer's connection on the caller's thread (see [`Driver`]).
    pub driver: Option<Arc<dyn Driver>>,
}

/// High-water marks and wake-up targets for one side of a new pipe.
pub struct Side {
    /// Woken when this side's inbound queue gets data or its outbound queue gets room.
    pub wake: Arc<dyn Wake>,
    /// Limit of the queue this side writes into (messages, 0 = none).
    pub send_hwm: u64,
    /// This side's routing id, seen by the other side as `peer_routing_id`.
    pub routing_id: Bytes,
}

/// Creates a two-way pipe between sides `a` and `b`.
pub fn pipe_pair(a: Side, b: Side) -> (PipeEnd, PipeEnd) {
    let id = PipeId(NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed));
    let (a_tx, b_rx) = queue(a.send_hwm, a.wake.clone(), b.wake.clone());
    let (b_tx, a_rx) = queue(b.send_hwm, b.wake, a.wake);
    (
        PipeEnd {
            id,
            rx: a_rx,
            tx: a_tx,
            peer_routing_id: b.routing_id,
            driver: None,
        },
        PipeEnd {
            id,
            rx: b_rx,
            tx: b_tx,
            peer_routing_id: a.routing_id,
            driver: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Signal;
    use std::time::{Duration, Instant};

    fn msg(n: u64) -> Msg {
        Msg::single(Bytes::copy_from_slice(&n.to_le_bytes()))
    }

    fn num(m: &Msg) -> u64 {
        u64::from_le_bytes(m.first()[..8].try_into().unwrap())
    }

    #[test]
    fn hwm_blocks_writer_until_reader_consumes() {
        let w = Arc::new(Signal::new());
        let r = Arc::new(Signal::new());
        let (mut tx, mut rx) = queue(2, w.clone(), r.clone());
        assert!(tx.has_room());
        tx.push(msg(1)).unwrap();
        assert!(tx.has_room());
        tx.push(msg(2)).unwrap();
        assert!(!tx.has_room());
        assert_eq!(num(&rx.try_pop().unwrap()), 1);
        // credit_every is 1 for hwm 2: the writer was waiting and is woken
        assert!(w.take());
        assert!(tx.has_room());
    }

    #[test]
    fn closed_writer_is_seen_after_drain() {
        let s: Arc<dyn Wake> = Arc::new(Signal::new());
        let (mut tx, mut rx) = queue(0, s.clone(), s);
        tx.stage(msg(7));
        drop(tx);
        assert!(matches!(rx.pop(), Pop::Msg(_)));
        assert!(matches!(rx.pop(), Pop::Closed));
    }

    #[test]
    fn push_to_closed_reader_hands_message_back() {
        let s: Arc<dyn Wake> = Arc::new(Signal::new());
        let (mut tx, rx) = queue(0, s.clone(), s);
        drop(rx);
        assert!(tx.is_reader_closed());
        assert!(tx.push(msg(1)).is_err());
    }

    /// Two threads, a small HWM, blocking on both sides through the wake-up flags: every
    /// message arrives once and in order, and neither side sleeps forever.
    #[test]
    fn stress_ordered_delivery_with_backpressure() {
        let ws = Arc::new(Signal::new());
        let rs = Arc::new(Signal::new());
        let (mut tx, mut rx) = queue(16, ws.clone(), rs.clone());
        const N: u64 = 200_000;
        let deadline = || Some(Instant::now() + Duration::from_secs(20));
        let writer = std::thread::spawn(move || {
            for i in 0..N {
                while !tx.has_room() {
                    assert!(ws.wait_until(deadline()), "writer never woken");
                }
                if i % 3 == 0 {
                    tx.stage(msg(i));
                    tx.flush();
                } else {
                    tx.push(msg(i)).unwrap();
                }
            }
        });
        let mut expected = 0;
        loop {
            match rx.pop() {
                Pop::Msg(m) => {
                    assert_eq!(num(&m), expected);
                    expected += 1;
                }
                Pop::Empty => assert!(rs.wait_until(deadline()), "reader never woken"),
                Pop::Closed => break,
            }
        }
        assert_eq!(expected, N);
        writer.join().unwrap();
    }
}
