//! The direct queue: lock-free, for two application threads exchanging messages one
//! at a time (inproc).
//!
//! Messages travel through [`spsc`](super::spsc), an unbounded single-producer
//! single-consumer queue of linked chunks: publishing a message is a release store,
//! taking one is a plain read once the reader knows it is there, and writer and reader
//! share a cache line only in the chunk they are both in. With the batching queue, a
//! reader that keeps up with a writer pushing single messages takes the lock once per
//! message, as does the writer; measured on inproc at 1 B this halved throughput, and by
//! how much depended on code layout alone. crossbeam's channel, used here before, claims
//! every slot with atomic read-modify-writes at both ends (it serves many producers and
//! consumers); the SPSC queue measured 1.4-1.5 times faster at 1 B and 64 B.
//! Transports keep the batching queue: there a writer publishes a batch per read, and
//! a lock-free queue measured 2.5 times slower at 64 B over tcp (its per-message
//! fences slow the sending thread enough that the I/O thread drains the queue and
//! sleeps far more often).
//!
//! High-water mark: the writer counts what it wrote; the reader credits what it has
//! consumed, every `hwm / 2` messages and whenever it finds the queue empty.
//!
//! Wake-ups: a reader that finds the queue empty raises `reader_waiting` and looks
//! again; a writer that has made a message visible checks the flag and, if raised,
//! clears it and wakes the reader. A SeqCst fence on each side between "publish" and
//! "check" (Dekker's pattern) means at least one of them sees the other, so a wake-up
//! can't be lost. The same handshake runs the other way for a writer waiting for
//! credit. Closing either end always wakes the other.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::spsc::{self, Consumer, Producer, TryRecvError};
use bytes::Bytes;

use super::Pop;
use crate::msg::Msg;
use crate::signal::Wake;

/// What both ends of one queue share besides the messages.
struct Shared {
    hwm: u64,
    /// Messages the reader has taken out and credited.
    consumed: AtomicU64,
    reader_waiting: AtomicBool,
    writer_waiting: AtomicBool,
    reader_closed: AtomicBool,
    reader_wake: Arc<dyn Wake>,
    writer_wake: Arc<dyn Wake>,
}

/// Creates one queue and its two ends. `hwm` is in messages, 0 for unlimited.
pub fn queue(hwm: u64, writer_wake: Arc<dyn Wake>, reader_wake: Arc<dyn Wake>) -> (Writer, Reader) {
    let shared = Arc::new(Shared {
        hwm,
        consumed: AtomicU64::new(0),
        reader_waiting: AtomicBool::new(false),
        writer_waiting: AtomicBool::new(false),
        reader_closed: AtomicBool::new(false),
        reader_wake,
        writer_wake,
    });
    let (tx, rx) = spsc::channel();
    let credit_every = (hwm / 2).max(1);
    (
        Writer {
            shared: shared.clone(),
            tx: Some(tx),
            written: 0,
            consumed_seen: 0,
            staged: Vec::new(),
        },
        Reader {
            shared,
            rx,
            front: None,
            uncredited: 0,
            credit_every,
        },
    )
}

/// The writing end of a queue.
pub struct Writer {
    shared: Arc<Shared>,
    /// `None` only while being dropped (the reader must see the disconnection before
    /// it is woken).
    tx: Option<Producer<Msg>>,
    written: u64,
    consumed_seen: u64,
    staged: Vec<Msg>,
}

impl Writer {
    /// True if one more message fits under the high-water mark. When it returns false the
    /// writer's owner will be woken once the reader has made room (or closed).
    pub fn has_room(&mut self) -> bool {
        let hwm = self.shared.hwm;
        if hwm == 0 || self.written - self.consumed_seen < hwm {
            return true;
        }
        let shared = &self.shared;
        self.consumed_seen = shared.consumed.load(Ordering::Acquire);
        if self.written - self.consumed_seen < hwm || shared.reader_closed.load(Ordering::Acquire) {
            return true;
        }
        // Announce, then look again: the reader credits, then checks the flag.
        shared.writer_waiting.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.consumed_seen = shared.consumed.load(Ordering::SeqCst);
        self.written - self.consumed_seen < hwm || shared.reader_closed.load(Ordering::SeqCst)
    }

    /// The high-water mark (0: none) and the messages written but not yet known to
    /// be consumed, as of the last [`has_room`](Writer::has_room).
    pub fn hwm_and_in_flight(&self) -> (u64, u64) {
        (self.shared.hwm, self.written - self.consumed_seen)
    }

    /// Makes `msg` visible to the reader at once. Does not check the high-water mark (call
    /// [`has_room`](Writer::has_room) first). Hands the message back if the reader is gone.
    #[inline]
    pub fn push(&mut self, msg: Msg) -> Result<(), Msg> {
        let tx = self.tx.as_mut().expect("sender present until drop");
        tx.send(msg)?;
        self.written += 1;
        self.notify_reader();
        Ok(())
    }

    /// Wakes the reader if it announced it found the queue empty.
    #[inline]
    fn notify_reader(&self) {
        fence(Ordering::SeqCst);
        let flag = &self.shared.reader_waiting;
        if flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::AcqRel) {
            self.shared.reader_wake.wake();
        }
    }

    /// Queues `msg` privately; it becomes visible at the next [`flush`](Writer::flush).
    /// Lets an I/O thread publish everything decoded from one read with one wake-up.
    pub fn stage(&mut self, msg: Msg) {
        self.staged.push(msg);
        self.written += 1;
    }

    /// Publishes the staged messages. Returns false (dropping them) if the reader is gone.
    pub fn flush(&mut self) -> bool {
        if self.staged.is_empty() {
            return !self.is_reader_closed();
        }
        let Some(tx) = self.tx.as_mut() else {
            self.staged.clear();
            return false;
        };
        let mut delivered = true;
        for msg in self.staged.drain(..) {
            if delivered && tx.send(msg).is_err() {
                delivered = false;
            }
        }
        if delivered {
            self.notify_reader();
        }
        delivered
    }

    /// True once the reading end was dropped; further pushes fail.
    pub fn is_reader_closed(&self) -> bool {
        self.shared.reader_closed.load(Ordering::Acquire)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.flush();
        // Disconnect before waking, so that the woken reader finds the end of stream.
        drop(self.tx.take());
        fence(Ordering::SeqCst);
        self.shared.reader_wake.wake();
    }
}

/// The reading end of a queue.
pub struct Reader {
    shared: Arc<Shared>,
    rx: Consumer<Msg>,
    /// A message taken out of the queue by a peek, not yet consumed.
    front: Option<Msg>,
    uncredited: u64,
    credit_every: u64,
}

impl Reader {
    /// Takes the next message, if any.
    #[inline]
    pub fn pop(&mut self) -> Pop {
        let msg = match self.front.take() {
            Some(msg) => msg,
            None => match self.fetch() {
                Ok(msg) => msg,
                Err(TryRecvError::Empty) => return Pop::Empty,
                Err(TryRecvError::Disconnected) => return Pop::Closed,
            },
        };
        self.uncredited += 1;
        if self.uncredited >= self.credit_every {
            self.credit();
        }
        Pop::Msg(msg)
    }

    /// The next message from the queue; on `Empty` the wake-up is armed (and what was
    /// consumed so far is credited, so a writer waiting for room can go on).
    #[inline]
    fn fetch(&mut self) -> Result<Msg, TryRecvError> {
        match self.rx.try_recv() {
            Err(TryRecvError::Empty) => self.fetch_or_arm(),
            other => other,
        }
    }

    #[cold]
    fn fetch_or_arm(&mut self) -> Result<Msg, TryRecvError> {
        self.credit();
        let flag = &self.shared.reader_waiting;
        flag.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        match self.rx.try_recv() {
            Ok(msg) => {
                // Raced with a push: keep the message; a wake-up may still come, which
                // is harmless.
                flag.store(false, Ordering::Relaxed);
                Ok(msg)
            }
            other => other,
        }
    }

    /// True if a message can be popped right now. When there is none the owner will be
    /// woken as soon as one arrives (so a poller can rely on it).
    pub fn has_message(&mut self) -> bool {
        if self.front.is_some() {
            return true;
        }
        match self.fetch() {
            Ok(msg) => {
                self.front = Some(msg);
                true
            }
            Err(_) => false,
        }
    }

    /// The first frame of the next message, if there is one (it stays queued). When there
    /// is none the owner will be woken as soon as one arrives.
    pub fn peek_first(&mut self) -> Option<Bytes> {
        if self.has_message() {
            self.front.as_ref().map(|m| m.first().clone())
        } else {
            None
        }
    }

    /// Payload bytes of the next message, if there is one (it stays queued). Unlike
    /// [`has_message`](Reader::has_message) it arms no wake-up.
    pub fn peek_len(&mut self) -> Option<usize> {
        if self.front.is_none() {
            self.front = self.rx.try_recv().ok();
        }
        self.front.as_ref().map(Msg::byte_len)
    }

    /// True if the writer is gone and every message it wrote has been read.
    pub fn is_closed_and_drained(&mut self) -> bool {
        if self.front.is_some() {
            return false;
        }
        match self.rx.try_recv() {
            Ok(msg) => {
                self.front = Some(msg);
                false
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => true,
        }
    }

    /// Credits what was consumed and wakes a writer waiting for room.
    fn credit(&mut self) {
        let shared = &self.shared;
        if shared.hwm == 0 {
            self.uncredited = 0;
            return;
        }
        if self.uncredited > 0 {
            shared
                .consumed
                .fetch_add(std::mem::take(&mut self.uncredited), Ordering::SeqCst);
        }
        let flag = &shared.writer_waiting;
        if flag.load(Ordering::SeqCst) && flag.swap(false, Ordering::AcqRel) {
            shared.writer_wake.wake();
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.shared.reader_closed.store(true, Ordering::SeqCst);
        self.shared.writer_wake.wake();
    }
}
