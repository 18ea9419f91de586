//! A whole (possibly multipart) message, the unit that travels through pipes.
//!
//! Pipes carry complete messages rather than frames so that a reader never sees half a
//! message: multipart atomicity falls out of the data structure instead of being
//! re-established by rollback logic. A one-frame message costs no allocation beyond its
//! payload (`rest` stays an empty `Vec`).

use bytes::Bytes;

/// One or more frames delivered together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Msg {
    first: Bytes,
    rest: Vec<Bytes>,
}

impl Msg {
    /// A one-frame message.
    pub fn single(frame: Bytes) -> Msg {
        Msg {
            first: frame,
            rest: Vec::new(),
        }
    }

    /// A message from its frames; `None` when `frames` is empty.
    pub fn from_frames(frames: impl IntoIterator<Item = Bytes>) -> Option<Msg> {
        let mut it = frames.into_iter();
        let first = it.next()?;
        Some(Msg {
            first,
            rest: it.collect(),
        })
    }

    /// Number of frames (at least one).
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Always false: a message has at least one frame.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first frame.
    pub fn first(&self) -> &Bytes {
        &self.first
    }

    /// Appends a frame at the end.
    pub fn push(&mut self, frame: Bytes) {
        self.rest.push(frame);
    }

    /// Appends frames at the end.
    pub fn extend(&mut self, frames: impl IntoIterator<Item = Bytes>) {
        self.rest.extend(frames);
    }

    /// Inserts a frame before the first one (ROUTER identities, REQ delimiters).
    pub fn push_front(&mut self, frame: Bytes) {
        let old = std::mem::replace(&mut self.first, frame);
        self.rest.insert(0, old);
    }

    /// Removes and returns the first frame, or `None` if it is the only one.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        if self.rest.is_empty() {
            return None;
        }
        let next = self.rest.remove(0);
        Some(std::mem::replace(&mut self.first, next))
    }

    /// The frames in order.
    pub fn frames(&self) -> impl Iterator<Item = &Bytes> + '_ {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    /// Total payload bytes over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames().map(|f| f.len()).sum()
    }

    /// The frames, consumed, in order.
    pub fn into_frames(self) -> impl Iterator<Item = Bytes> {
        std::iter::once(self.first).chain(self.rest)
    }

    /// Splits off the first `n` frames (keeping at least one frame in `self`).
    pub(crate) fn split_front(&mut self, n: usize) -> Vec<Bytes> {
        let mut head = Vec::with_capacity(n);
        for _ in 0..n {
            match self.pop_front() {
                Some(f) => head.push(f),
                None => break,
            }
        }
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_operations_keep_order() {
        let mut m = Msg::single(Bytes::from_static(b"b"));
        m.push(Bytes::from_static(b"c"));
        m.push_front(Bytes::from_static(b"a"));
        let frames: Vec<_> = m.frames().cloned().collect();
        assert_eq!(frames, vec!["a", "b", "c"]);
        assert_eq!(m.pop_front().unwrap(), "a");
        assert_eq!(m.split_front(5), vec![Bytes::from_static(b"b")]);
        assert_eq!(m.first(), "c");
        assert_eq!(m.pop_front(), None);
    }
}
