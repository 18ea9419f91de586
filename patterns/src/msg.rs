//! A whole (possibly multipart) message, the unit that travels through pipes.
//!
//! Pipes carry complete messages rather than frames so that a reader never sees half a
//! message: multipart atomicity falls out of the data structure instead of being
//! re-established by rollback logic.
//!
//! The first two frames live inline and only a third frame onwards spills into a
//! `Vec`. That covers the envelopes on the hot paths without touching the allocator:
//! a plain message is one frame, a REQ request `["", body]`, a ROUTER delivery
//! `[routing id, body]`.

use bytes::Bytes;

/// Frames kept inline before the rest spill to the heap.
const INLINE: usize = 2;

/// One or more frames delivered together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Msg {
    /// Number of frames (at least one; zero only in `Default`, which is one empty frame).
    len: usize,
    inline: [Bytes; INLINE],
    spill: Vec<Bytes>,
}

impl Msg {
    /// A one-frame message.
    pub fn single(frame: Bytes) -> Msg {
        Msg {
            len: 1,
            inline: [frame, Bytes::new()],
            spill: Vec::new(),
        }
    }

    /// A message from its frames; `None` when `frames` is empty.
    pub fn from_frames(frames: impl IntoIterator<Item = Bytes>) -> Option<Msg> {
        let mut it = frames.into_iter();
        let mut msg = Msg::single(it.next()?);
        msg.extend(it);
        Some(msg)
    }

    /// Number of frames (at least one).
    pub fn len(&self) -> usize {
        self.len.max(1)
    }

    /// Always false: a message has at least one frame.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first frame.
    pub fn first(&self) -> &Bytes {
        &self.inline[0]
    }

    /// Appends a frame at the end.
    pub fn push(&mut self, frame: Bytes) {
        let len = self.len();
        if len < INLINE {
            self.inline[len] = frame;
        } else {
            self.spill.push(frame);
        }
        self.len = len + 1;
    }

    /// Appends frames at the end.
    pub fn extend(&mut self, frames: impl IntoIterator<Item = Bytes>) {
        for frame in frames {
            self.push(frame);
        }
    }

    /// Inserts a frame before the first one (ROUTER identities, REQ delimiters).
    pub fn push_front(&mut self, frame: Bytes) {
        let len = self.len();
        if len >= INLINE {
            let last_inline = std::mem::take(&mut self.inline[INLINE - 1]);
            self.spill.insert(0, last_inline);
        }
        self.inline[1] = std::mem::replace(&mut self.inline[0], frame);
        self.len = len + 1;
    }

    /// Removes and returns the first frame, or `None` if it is the only one.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        let len = self.len();
        if len == 1 {
            return None;
        }
        let next = if self.spill.is_empty() {
            Bytes::new()
        } else {
            self.spill.remove(0)
        };
        let second = std::mem::replace(&mut self.inline[1], next);
        self.len = len - 1;
        Some(std::mem::replace(&mut self.inline[0], second))
    }

    /// The frames in order.
    pub fn frames(&self) -> impl Iterator<Item = &Bytes> + '_ {
        self.inline[..self.len().min(INLINE)]
            .iter()
            .chain(self.spill.iter())
    }

    /// Total payload bytes over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames().map(|f| f.len()).sum()
    }

    /// The frames, consumed, in order.
    pub fn into_frames(self) -> impl DoubleEndedIterator<Item = Bytes> {
        let inline_len = self.len().min(INLINE);
        self.inline.into_iter().take(inline_len).chain(self.spill)
    }

    /// Splits off the first `n` frames (keeping at least one frame in `self`), as a
    /// message of their own; `None` if `n` is 0 or `self` has a single frame.
    pub(crate) fn split_front(&mut self, n: usize) -> Option<Msg> {
        let mut head: Option<Msg> = None;
        for _ in 0..n {
            let Some(f) = self.pop_front() else { break };
            match &mut head {
                Some(h) => h.push(f),
                None => head = Some(Msg::single(f)),
            }
        }
        head
    }

    /// Puts all frames of `front` before this message's frames.
    pub(crate) fn prepend(&mut self, front: Msg) {
        for frame in front.into_frames().rev() {
            self.push_front(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(m: &Msg) -> Vec<Bytes> {
        m.frames().cloned().collect()
    }

    #[test]
    fn front_operations_keep_order() {
        let mut m = Msg::single(Bytes::from_static(b"b"));
        m.push(Bytes::from_static(b"c"));
        m.push_front(Bytes::from_static(b"a"));
        assert_eq!(frames(&m), vec!["a", "b", "c"]);
        assert_eq!(m.len(), 3);
        assert_eq!(m.pop_front().unwrap(), "a");
        assert_eq!(
            m.split_front(5),
            Some(Msg::single(Bytes::from_static(b"b")))
        );
        assert_eq!(m.first(), "c");
        assert_eq!(m.pop_front(), None);
    }

    #[test]
    fn behaves_like_a_vec_across_the_inline_boundary() {
        // Model check against Vec for every mix of operations up to a few frames deep.
        for ops in 0u32..4096 {
            let mut model: Vec<Bytes> = vec![Bytes::from_static(b"0")];
            let mut m = Msg::single(Bytes::from_static(b"0"));
            let mut code = ops;
            for step in 0..6 {
                let f = Bytes::from(format!("{step}"));
                match code % 4 {
                    0 => {
                        model.push(f.clone());
                        m.push(f);
                    }
                    1 => {
                        model.insert(0, f.clone());
                        m.push_front(f);
                    }
                    2 => {
                        let expected = (model.len() > 1).then(|| model.remove(0));
                        assert_eq!(m.pop_front(), expected);
                    }
                    _ => {}
                }
                code /= 4;
                assert_eq!(frames(&m), model);
                assert_eq!(m.len(), model.len());
                assert_eq!(m.clone().into_frames().collect::<Vec<_>>(), model);
            }
        }
    }

    #[test]
    fn two_frames_need_no_heap() {
        let mut m = Msg::single(Bytes::from_static(b"body"));
        m.push_front(Bytes::from_static(b"id"));
        assert_eq!(m.spill.capacity(), 0);
        assert_eq!(m.pop_front().unwrap(), "id");
        assert_eq!(m.spill.capacity(), 0);
    }
}
