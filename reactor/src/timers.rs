//! One-shot timers for handlers.
//!
//! A binary heap ordered by deadline. Cancelling is lazy: a handler keeps the
//! [`TimerId`] it expects and ignores others, and each entry remembers the slab slot's
//! generation so a timer never fires into a handler that reused a dead one's key.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Identifies one armed timer; passed back to [`Handler::timeout`](crate::Handler::timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub(crate) u64);

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    deadline: Instant,
    id: TimerId,
    key: usize,
    generation: u64,
}

/// A fired timer: which handler (key and generation) and which timer.
pub(crate) struct Fired {
    pub(crate) key: usize,
    pub(crate) generation: u64,
    pub(crate) id: TimerId,
}

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Entry>>,
    next_id: u64,
}

impl Timers {
    pub(crate) fn insert(&mut self, deadline: Instant, key: usize, generation: u64) -> TimerId {
        self.next_id += 1;
        let id = TimerId(self.next_id);
        self.heap.push(Reverse(Entry {
            deadline,
            id,
            key,
            generation,
        }));
        id
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.0.deadline)
    }

    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Fired> {
        if self.heap.peek()?.0.deadline > now {
            return None;
        }
        let Reverse(e) = self.heap.pop()?;
        Some(Fired {
            key: e.key,
            generation: e.generation,
            id: e.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_order() {
        let mut t = Timers::default();
        let now = Instant::now();
        let late = t.insert(now + Duration::from_millis(20), 1, 0);
        let early = t.insert(now + Duration::from_millis(10), 2, 0);
        assert!(t.pop_expired(now).is_none());
        let later = now + Duration::from_millis(30);
        assert_eq!(t.pop_expired(later).unwrap().id, early);
        assert_eq!(t.pop_expired(later).unwrap().id, late);
        assert!(t.next_deadline().is_none());
    }
}
