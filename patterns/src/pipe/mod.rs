//! Pipes: the one-way message queues between a user socket and its peers.
//!
//! A queue has exactly one [`Writer`] and one [`Reader`]. A pipe to a peer is a pair of
//! queues, one per direction, seen from each side as a [`PipeEnd`]. There are two
//! queue kinds behind the same ends, chosen when the pipe is made:
//!
//! * `locked`: a deque behind a mutex, swapped out in batches, for pipes between a
//!   socket and a transport ([`pipe_pair`]), where an I/O thread publishes a whole
//!   read's messages at once;
//! * `direct`: a lock-free queue, for pipes between two sockets in one process
//!   ([`direct_pipe_pair`], inproc), where both ends move one message at a time.
//!
//! Both keep the same high-water-mark and wake-up rules: a side is woken only on the
//! transitions that matter (empty to non-empty inbound, full to not-full outbound), so
//! a busy pipe makes no wake-up calls.

mod direct;
mod locked;
mod spsc;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::msg::Msg;
use crate::signal::Wake;

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

/// Creates one batching queue and its two ends. `hwm` is in messages, 0 for unlimited.
pub fn queue(hwm: u64, writer_wake: Arc<dyn Wake>, reader_wake: Arc<dyn Wake>) -> (Writer, Reader) {
    let (w, r) = locked::queue(hwm, writer_wake, reader_wake);
    (Writer(WriterKind::Locked(w)), Reader(ReaderKind::Locked(r)))
}

/// Creates one direct (lock-free) queue and its two ends.
pub fn direct_queue(
    hwm: u64,
    writer_wake: Arc<dyn Wake>,
    reader_wake: Arc<dyn Wake>,
) -> (Writer, Reader) {
    let (w, r) = direct::queue(hwm, writer_wake, reader_wake);
    (Writer(WriterKind::Direct(w)), Reader(ReaderKind::Direct(r)))
}

/// The writing end of a queue.
pub struct Writer(WriterKind);

enum WriterKind {
    Locked(locked::Writer),
    Direct(direct::Writer),
}

/// Forwards a method to whichever kind of end this is.
macro_rules! dispatch {
    ($self:ident, $kind:ident, $end:ident => $call:expr) => {
        match &mut $self.0 {
            $kind::Locked($end) => $call,
            $kind::Direct($end) => $call,
        }
    };
}

impl Writer {
    /// True if one more message fits under the high-water mark. When it returns false the
    /// writer's owner will be woken once the reader has made room (or closed).
    #[inline]
    pub fn has_room(&mut self) -> bool {
        dispatch!(self, WriterKind, w => w.has_room())
    }

    /// How many more messages fit under the high-water mark now (`usize::MAX` without
    /// one). 0 means the same as [`has_room`](Writer::has_room) returning false.
    #[inline]
    pub fn room(&mut self) -> usize {
        if !self.has_room() {
            return 0;
        }
        let (hwm, in_flight) = dispatch!(self, WriterKind, w => w.hwm_and_in_flight());
        if hwm == 0 {
            return usize::MAX;
        }
        hwm.saturating_sub(in_flight).max(1) as usize
    }

    /// Makes `msg` visible to the reader at once. Does not check the high-water mark (call
    /// [`has_room`](Writer::has_room) first). Hands the message back if the reader is gone.
    #[inline]
    pub fn push(&mut self, msg: Msg) -> Result<(), Msg> {
        dispatch!(self, WriterKind, w => w.push(msg))
    }

    /// Queues `msg` privately; it becomes visible at the next [`flush`](Writer::flush).
    /// Lets an I/O thread publish everything decoded from one read at once.
    #[inline]
    pub fn stage(&mut self, msg: Msg) {
        dispatch!(self, WriterKind, w => w.stage(msg))
    }

    /// Publishes the staged messages. Returns false (dropping them) if the reader is gone.
    pub fn flush(&mut self) -> bool {
        dispatch!(self, WriterKind, w => w.flush())
    }

    /// True once the reading end was dropped; further pushes fail.
    pub fn is_reader_closed(&self) -> bool {
        match &self.0 {
            WriterKind::Locked(w) => w.is_reader_closed(),
            WriterKind::Direct(w) => w.is_reader_closed(),
        }
    }
}

/// The reading end of a queue.
pub struct Reader(ReaderKind);

enum ReaderKind {
    Locked(locked::Reader),
    Direct(direct::Reader),
}

impl Reader {
    /// Takes the next message, if any.
    #[inline]
    pub fn pop(&mut self) -> Pop {
        dispatch!(self, ReaderKind, r => r.pop())
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
        dispatch!(self, ReaderKind, r => r.has_message())
    }

    /// The first frame of the next message, if there is one (it stays queued). When there
    /// is none the owner will be woken as soon as one arrives.
    pub fn peek_first(&mut self) -> Option<Bytes> {
        dispatch!(self, ReaderKind, r => r.peek_first())
    }

    /// Payload bytes of the next message, if there is one (it stays queued).
    pub fn peek_len(&mut self) -> Option<usize> {
        dispatch!(self, ReaderKind, r => r.peek_len())
    }

    /// True if the writer is gone and every message it wrote has been read.
    pub fn is_closed_and_drained(&mut self) -> bool {
        dispatch!(self, ReaderKind, r => r.is_closed_and_drained())
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

    /// The socket is about to wait for room to send: writes what its outbound queue
    /// holds on this thread instead. True if anything was written (room may have been
    /// made). The default does nothing.
    fn push(&self) -> bool {
        false
    }

    /// The socket is waiting: if it wrote to this connection and awaits the answer,
    /// reads the answer now in case it has already arrived, without waiting for
    /// readiness to be reported. Called over and over while the socket spins, so it
    /// must cost next to nothing when there is nothing to read. The default has
    /// nothing to probe.
    fn probe(&self) -> Probe {
        Probe::NotAwaiting
    }
}

/// What a [`Driver::probe`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Input was read: messages may have been added to the pipe.
    Arrived,
    /// A reply is awaited but has not come yet.
    Awaiting,
    /// No reply is awaited here (nothing was written since the peer last spoke), or
    /// the connection can't be read from this thread now.
    NotAwaiting,
}

impl Probe {
    /// The outcome of probing several drivers: the most hopeful of the two.
    pub fn or(self, other: Probe) -> Probe {
        match (self, other) {
            (Probe::Arrived, _) | (_, Probe::Arrived) => Probe::Arrived,
            (Probe::Awaiting, _) | (_, Probe::Awaiting) => Probe::Awaiting,
            _ => Probe::NotAwaiting,
        }
    }
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

/// Creates a two-way pipe between sides `a` and `b` of the batching kind (a socket and
/// a transport).
pub fn pipe_pair(a: Side, b: Side) -> (PipeEnd, PipeEnd) {
    make_pipe_pair(a, b, queue)
}

/// Creates a two-way pipe of the direct (lock-free) kind, between two sockets.
pub fn direct_pipe_pair(a: Side, b: Side) -> (PipeEnd, PipeEnd) {
    make_pipe_pair(a, b, direct_queue)
}

type MakeQueue = fn(u64, Arc<dyn Wake>, Arc<dyn Wake>) -> (Writer, Reader);

fn make_pipe_pair(a: Side, b: Side, make: MakeQueue) -> (PipeEnd, PipeEnd) {
    let id = PipeId(NEXT_PIPE_ID.fetch_add(1, Ordering::Relaxed));
    let (a_tx, b_rx) = make(a.send_hwm, a.wake.clone(), b.wake.clone());
    let (b_tx, a_rx) = make(b.send_hwm, b.wake, a.wake);
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
        stress(queue);
    }

    #[test]
    fn stress_ordered_delivery_with_backpressure_direct() {
        stress(direct_queue);
    }

    #[test]
    fn direct_queue_keeps_the_basic_rules() {
        let w = Arc::new(Signal::new());
        let r = Arc::new(Signal::new());
        let (mut tx, mut rx) = direct_queue(2, w.clone(), r.clone());
        assert!(matches!(rx.pop(), Pop::Empty));
        tx.push(msg(1)).unwrap();
        assert!(r.take(), "the reader that found it empty is woken");
        tx.push(msg(2)).unwrap();
        assert!(!tx.has_room());
        assert_eq!(rx.peek_len(), Some(8));
        assert_eq!(num(&rx.try_pop().unwrap()), 1);
        assert!(w.take(), "the waiting writer is woken by the credit");
        assert!(tx.has_room());
        tx.stage(msg(3));
        assert!(tx.flush());
        drop(tx);
        assert_eq!(num(&rx.try_pop().unwrap()), 2);
        assert_eq!(num(&rx.try_pop().unwrap()), 3);
        assert!(matches!(rx.pop(), Pop::Closed));
    }

    fn stress(make: MakeQueue) {
        let ws = Arc::new(Signal::new());
        let rs = Arc::new(Signal::new());
        let (mut tx, mut rx) = make(16, ws.clone(), rs.clone());
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
