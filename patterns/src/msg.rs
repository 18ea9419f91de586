//! A whole (possibly multipart) message, the unit that travels through pipes.
//!
//! Pipes carry complete messages rather than frames so that a reader never sees half a
//! message: multipart atomicity falls out of the data structure instead of being
//! re-established by rollback logic.
//!
//! A message is as small as a single [`Bytes`] (32 bytes) when it has one frame, which
//! is what queues hold by the thousand: queued memory per message stays at the payload
//! plus one slot. Only multipart messages own a `Vec` of frames.

use bytes::Bytes;

/// One or more frames delivered together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg(Repr);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    One(Bytes),
    /// Two frames or more.
    Many(Vec<Bytes>),
}

impl Default for Msg {
    fn default() -> Self {
        Msg::single(Bytes::new())
    }
}

impl Msg {
    /// A one-frame message.
    pub fn single(frame: Bytes) -> Msg {
        Msg(Repr::One(frame))
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
        match &self.0 {
            Repr::One(_) => 1,
            Repr::Many(v) => v.len(),
        }
    }

    /// Always false: a message has at least one frame.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first frame.
    pub fn first(&self) -> &Bytes {
        match &self.0 {
            Repr::One(f) => f,
            Repr::Many(v) => &v[0],
        }
    }

    /// Turns the message into the multipart form, reserving room for `extra` frames.
    fn frames_mut(&mut self, extra: usize) -> &mut Vec<Bytes> {
        if let Repr::One(f) = &mut self.0 {
            let mut v = Vec::with_capacity(1 + extra.max(1));
            v.push(std::mem::take(f));
            self.0 = Repr::Many(v);
        }
        match &mut self.0 {
            Repr::Many(v) => v,
            Repr::One(_) => unreachable!("converted above"),
        }
    }

    /// Appends a frame at the end.
    pub fn push(&mut self, frame: Bytes) {
        self.frames_mut(1).push(frame);
    }

    /// Appends frames at the end.
    pub fn extend(&mut self, frames: impl IntoIterator<Item = Bytes>) {
        let mut it = frames.into_iter().peekable();
        if it.peek().is_some() {
            let hint = it.size_hint().0;
            self.frames_mut(hint).extend(it);
        }
    }

    /// Inserts a frame before the first one (ROUTER identities, REQ delimiters).
    pub fn push_front(&mut self, frame: Bytes) {
        self.frames_mut(1).insert(0, frame);
    }

    /// Removes and returns the first frame, or `None` if it is the only one.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        let Repr::Many(v) = &mut self.0 else {
            return None;
        };
        let first = v.remove(0);
        if v.len() == 1 {
            let last = v.pop().expect("one frame left");
            self.0 = Repr::One(last);
        }
        Some(first)
    }

    /// The frames in order.
    pub fn frames(&self) -> std::slice::Iter<'_, Bytes> {
        match &self.0 {
            Repr::One(f) => std::slice::from_ref(f).iter(),
            Repr::Many(v) => v.iter(),
        }
    }

    /// Total payload bytes over all frames.
    pub fn byte_len(&self) -> usize {
        self.frames().map(|f| f.len()).sum()
    }

    /// The frames, consumed, in order.
    pub fn into_frames(self) -> Frames {
        match self.0 {
            Repr::One(f) => Frames::One(Some(f)),
            Repr::Many(v) => Frames::Many(v.into_iter()),
        }
    }

    /// Splits off the first `n` frames (keeping at least one frame in `self`), as a
    /// message of their own; `None` if `n` is 0 or `self` has a single frame.
    pub(crate) fn split_front(&mut self, n: usize) -> Option<Msg> {
        let len = self.len();
        let n = n.min(len - 1);
        if n == 0 {
            return None;
        }
        let Repr::Many(v) = &mut self.0 else {
            return None;
        };
        let rest = v.split_off(n);
        let head = std::mem::replace(v, rest);
        if v.len() == 1 {
            let last = v.pop().expect("one frame left");
            self.0 = Repr::One(last);
        }
        Msg::from_frames(head)
    }

    /// Puts all frames of `front` before this message's frames.
    pub(crate) fn prepend(&mut self, front: Msg) {
        let n = front.len();
        let v = self.frames_mut(n);
        v.splice(0..0, front.into_frames());
    }
}

/// The frames of a consumed [`Msg`], in order.
pub enum Frames {
    /// A one-frame message.
    #[doc(hidden)]
    One(Option<Bytes>),
    /// A multipart message.
    #[doc(hidden)]
    Many(std::vec::IntoIter<Bytes>),
}

impl Iterator for Frames {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        match self {
            Frames::One(f) => f.take(),
            Frames::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Frames::One(f) => usize::from(f.is_some()),
            Frames::Many(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Frames {
    fn next_back(&mut self) -> Option<Bytes> {
        match self {
            Frames::One(f) => f.take(),
            Frames::Many(it) => it.next_back(),
        }
    }
}

impl ExactSizeIterator for Frames {}

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
    fn behaves_like_a_vec() {
        // Model check against Vec for every mix of operations up to six steps.
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
                    _ => {
                        let n = model.len().saturating_sub(1).min(2);
                        let head = m.split_front(2);
                        let expected: Vec<Bytes> = model.drain(..n).collect();
                        assert_eq!(head.map(|h| frames(&h)).unwrap_or_default(), expected);
                        if let Some(h) = Msg::from_frames(expected.clone()) {
                            m.prepend(h);
                            model.splice(0..0, expected);
                        }
                    }
                }
                code /= 4;
                assert_eq!(frames(&m), model);
                assert_eq!(m.len(), model.len());
                assert_eq!(m.clone().into_frames().collect::<Vec<_>>(), model);
                let mut back: Vec<_> = m.clone().into_frames().rev().collect();
                back.reverse();
                assert_eq!(back, model);
            }
        }
    }

    #[test]
    fn a_queued_message_is_one_bytes_wide() {
        assert_eq!(std::mem::size_of::<Msg>(), std::mem::size_of::<Bytes>());
    }
}
