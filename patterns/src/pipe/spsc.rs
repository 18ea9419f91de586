//! An unbounded single-producer single-consumer queue with no locked instruction per
//! message.
//!
//! Why not crossbeam's channel, which the direct queue used before: it is built for many
//! producers and many consumers, so every send and every receive claims its slot with a
//! compare-and-swap and marks it with an atomic read-modify-write. With exactly one thread
//! at each end none of that is needed. Here the producer writes the slot and then
//! publishes it with a plain release store of the chunk's `written` count; the consumer
//! reads slots up to the count it last loaded and reloads it (an acquire load) only when
//! it has caught up. On x86 both are ordinary moves, so a message costs no atomic
//! read-modify-write at either end, and a consumer that lags behind takes a whole run of
//! messages for one load of the shared count.
//!
//! Storage is a linked list of chunks of [`CHUNK`] slots. The producer links a new chunk
//! when its current one is full and never touches the old one again; the consumer frees
//! a chunk once it has taken every slot in it and seen the link to the next, so both
//! ends only ever meet on the chunk they are both in.
//!
//! Closing: each end raises its flag when dropped. A producer whose consumer is gone gets
//! its message back; a consumer whose producer is gone sees [`TryRecvError::Disconnected`]
//! once the queue is drained. Messages still queued when the second end goes are dropped
//! then, from the position the consumer left behind.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// Slots per chunk: a chunk of 32-byte messages is 8 KiB, allocated once per 256 sends.
const CHUNK: usize = 256;

struct Chunk<T> {
    slots: [UnsafeCell<MaybeUninit<T>>; CHUNK],
    /// How many slots from the start hold published values. Only the producer writes it.
    written: AtomicUsize,
    /// The chunk after this one, set by the producer once this one is full.
    next: AtomicPtr<Chunk<T>>,
}

impl<T> Chunk<T> {
    fn allocate() -> *mut Chunk<T> {
        Box::into_raw(Box::new(Chunk {
            slots: [const { UnsafeCell::new(MaybeUninit::uninit()) }; CHUNK],
            written: AtomicUsize::new(0),
            next: AtomicPtr::new(ptr::null_mut()),
        }))
    }
}

/// Where the consumer is: its chunk and the next slot to take.
struct Position<T> {
    chunk: *mut Chunk<T>,
    index: usize,
}

// SAFETY: a `Position` is only a cursor into chunks the queue owns; it moves between
// threads when the consumer (or its leftovers) does, and the chunks hold `T: Send` values.
unsafe impl<T: Send> Send for Position<T> {}

struct Shared<T> {
    producer_closed: AtomicBool,
    consumer_closed: AtomicBool,
    /// Set by the consumer when it is dropped: where the unconsumed messages start.
    leftover: Mutex<Option<Position<T>>>,
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both ends are gone (this is the last reference), so nothing else touches the
        // chunks: drop the values from the consumer's position on and free every chunk.
        let Some(Position {
            mut chunk,
            mut index,
        }) = self.leftover.get_mut().take()
        else {
            return;
        };
        while !chunk.is_null() {
            // SAFETY: `chunk` is a live chunk of this queue, reached from the consumer's
            // last position through `next` links; no other thread can access it now.
            let current = unsafe { Box::from_raw(chunk) };
            let written = current.written.load(Ordering::Acquire);
            for slot in &current.slots[index..written] {
                // SAFETY: slots `index..written` hold published values not yet taken.
                unsafe { (*slot.get()).assume_init_drop() };
            }
            chunk = current.next.load(Ordering::Acquire);
            index = 0;
        }
    }
}

/// The sending end.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    chunk: *mut Chunk<T>,
    /// Slots of `chunk` written so far (the value last published in its `written`).
    index: usize,
}

// SAFETY: the producer owns the writing side of its chunk; moving it to another thread
// moves that role with it. Values sent are `T: Send`.
unsafe impl<T: Send> Send for Producer<T> {}

/// The receiving end.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    position: Position<T>,
    /// The chunk's `written` count as last loaded: slots below it can be taken without
    /// looking at shared state.
    known_written: usize,
}

// SAFETY: as for `Producer`: the consumer owns the reading side of its chunks.
unsafe impl<T: Send> Send for Consumer<T> {}

/// Why [`Consumer::try_recv`] returned nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued right now.
    Empty,
    /// Nothing queued, and the producer is gone.
    Disconnected,
}

/// Creates a queue.
pub fn channel<T>() -> (Producer<T>, Consumer<T>) {
    let first = Chunk::allocate();
    let shared = Arc::new(Shared {
        producer_closed: AtomicBool::new(false),
        consumer_closed: AtomicBool::new(false),
        leftover: Mutex::new(None),
    });
    (
        Producer {
            shared: shared.clone(),
            chunk: first,
            index: 0,
        },
        Consumer {
            shared,
            position: Position {
                chunk: first,
                index: 0,
            },
            known_written: 0,
        },
    )
}

impl<T> Producer<T> {
    /// Appends `value`, visible to the consumer at once; gives it back if the consumer
    /// is gone.
    #[inline]
    pub fn send(&mut self, value: T) -> Result<(), T> {
        if self.shared.consumer_closed.load(Ordering::Acquire) {
            return Err(value);
        }
        if self.index == CHUNK {
            self.link_new_chunk();
        }
        // SAFETY: `self.chunk` is live (the consumer frees a chunk only after it has
        // taken all CHUNK slots and seen its `next` link, neither of which has happened
        // for the producer's current chunk), and slot `index` is beyond `written`, so
        // the consumer does not read it until the store below publishes it.
        unsafe {
            let chunk = &*self.chunk;
            (*chunk.slots[self.index].get()).write(value);
            self.index += 1;
            chunk.written.store(self.index, Ordering::Release);
        }
        Ok(())
    }

    #[cold]
    fn link_new_chunk(&mut self) {
        let next = Chunk::allocate();
        // SAFETY: the current chunk is live (see `send`); after this store the consumer
        // may free it, so it is not touched again.
        unsafe { (*self.chunk).next.store(next, Ordering::Release) };
        self.chunk = next;
        self.index = 0;
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.shared.producer_closed.store(true, Ordering::Release);
    }
}

impl<T> Consumer<T> {
    /// Takes the oldest value, if there is one.
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        loop {
            let position = &mut self.position;
            if position.index < self.known_written {
                // SAFETY: the chunk is live (only this consumer frees chunks, and not
                // this one yet); slots below `known_written` were published by the
                // producer's release store, which our acquire load of it saw, and each
                // is taken exactly once as `index` only grows.
                let value =
                    unsafe { (*(*position.chunk).slots[position.index].get()).assume_init_read() };
                position.index += 1;
                return Ok(value);
            }
            if !self.advance() {
                return Err(self.empty_or_disconnected());
            }
        }
    }

    /// Looks for more published values: a newer count in this chunk, or the next chunk
    /// once this one is used up. False if there are none.
    fn advance(&mut self) -> bool {
        let position = &mut self.position;
        // SAFETY: the consumer's chunk is live until this consumer frees it below.
        let chunk = unsafe { &*position.chunk };
        if position.index < CHUNK {
            self.known_written = chunk.written.load(Ordering::Acquire);
            return position.index < self.known_written;
        }
        let next = chunk.next.load(Ordering::Acquire);
        if next.is_null() {
            return false;
        }
        // SAFETY: every slot of this chunk has been taken and the producer has moved on
        // to `next` (it stores the link before writing there and never returns), so no
        // one uses this chunk any more.
        drop(unsafe { Box::from_raw(position.chunk) });
        position.chunk = next;
        position.index = 0;
        self.known_written = 0;
        true
    }

    #[cold]
    fn empty_or_disconnected(&mut self) -> TryRecvError {
        if !self.shared.producer_closed.load(Ordering::Acquire) {
            return TryRecvError::Empty;
        }
        // Everything the producer sent happened before it closed: look once more.
        if self.advance() {
            TryRecvError::Empty
        } else {
            TryRecvError::Disconnected
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.shared.consumer_closed.store(true, Ordering::Release);
        // Leave the unconsumed values to whichever end goes last (see `Shared::drop`).
        let position = Position {
            chunk: self.position.chunk,
            index: self.position.index,
        };
        *self.shared.leftover.lock() = Some(position);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn values_come_out_in_order_across_chunks() {
        let (mut tx, mut rx) = channel();
        for round in 0..3 {
            for i in 0..(CHUNK * 2 + 7) {
                tx.send(round * 10_000 + i).unwrap();
            }
            for i in 0..(CHUNK * 2 + 7) {
                assert_eq!(rx.try_recv(), Ok(round * 10_000 + i));
            }
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn a_closed_producer_is_seen_only_after_the_queue_is_drained() {
        let (mut tx, mut rx) = channel();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        drop(tx);
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn a_closed_consumer_hands_values_back() {
        let (mut tx, rx) = channel();
        drop(rx);
        assert_eq!(tx.send(7), Err(7));
    }

    /// Counts live instances, to check that nothing queued leaks or is dropped twice.
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn queued_values_are_dropped_once_whichever_end_goes_last() {
        for consumer_first in [false, true] {
            for taken in [0, 1, CHUNK - 1, CHUNK, CHUNK + 3] {
                let live = Arc::new(AtomicUsize::new(0));
                let (mut tx, mut rx) = channel();
                for _ in 0..(CHUNK * 2 + 5) {
                    live.fetch_add(1, Ordering::SeqCst);
                    assert!(tx.send(Tracked(live.clone())).is_ok());
                }
                for _ in 0..taken {
                    drop(rx.try_recv().unwrap());
                }
                if consumer_first {
                    drop(rx);
                    drop(tx);
                } else {
                    drop(tx);
                    drop(rx);
                }
                assert_eq!(live.load(Ordering::SeqCst), 0, "taken {taken}");
            }
        }
    }

    #[test]
    fn either_end_may_go_while_the_other_is_busy() {
        // Races the consumer's (or producer's) drop against the other end's traffic,
        // at a different point each round; every value must be dropped exactly once.
        for round in 0..200u64 {
            let live = Arc::new(AtomicUsize::new(0));
            let (mut tx, mut rx) = channel();
            let consumer_goes = round % 2 == 0;
            let producer = {
                let live = live.clone();
                std::thread::spawn(move || {
                    for _ in 0..(round * 37 % 2000) {
                        live.fetch_add(1, Ordering::SeqCst);
                        if tx.send(Tracked(live.clone())).is_err() {
                            break; // handed back and dropped here
                        }
                    }
                    if consumer_goes {
                        // Keep sending until the consumer's drop is seen.
                        loop {
                            live.fetch_add(1, Ordering::SeqCst);
                            if tx.send(Tracked(live.clone())).is_err() {
                                break;
                            }
                            std::thread::yield_now();
                        }
                    }
                })
            };
            let mut taken = 0;
            while taken < round * 13 % 1500 {
                match rx.try_recv() {
                    Ok(v) => {
                        drop(v);
                        taken += 1;
                    }
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => std::thread::yield_now(),
                }
            }
            if consumer_goes {
                drop(rx);
                producer.join().unwrap();
            } else {
                producer.join().unwrap();
                while rx.try_recv().is_ok() {}
                assert_eq!(rx.try_recv().err(), Some(TryRecvError::Disconnected));
                drop(rx);
            }
            assert_eq!(live.load(Ordering::SeqCst), 0, "round {round}");
        }
    }

    #[test]
    fn two_threads_stream_a_million_values_in_order() {
        let (mut tx, mut rx) = channel::<u64>();
        const N: u64 = 1_000_000;
        let producer = std::thread::spawn(move || {
            for i in 0..N {
                tx.send(i).unwrap();
                if i % 4096 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let mut expected = 0;
        loop {
            match rx.try_recv() {
                Ok(v) => {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        producer.join().unwrap();
        assert_eq!(expected, N);
    }
}
