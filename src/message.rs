//! [`Message`]: one frame of a (possibly multipart) message.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// One frame: an immutable, cheaply cloneable byte buffer.
///
/// Built on [`bytes::Bytes`], so a large payload is never copied on its way into the
/// library: `Message::from(bytes)` takes ownership, and clones share the buffer.
/// Received frames are slices of the connection's read buffer.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Message(pub(crate) Bytes);

impl Message {
    /// An empty frame (as used for REQ/REP delimiters).
    pub fn new() -> Message {
        Message(Bytes::new())
    }

    /// The payload as a [`Bytes`] (shares the buffer).
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone()
    }

    /// The payload, consuming the frame.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The payload as UTF-8, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl Deref for Message {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) if s.len() <= 64 => write!(f, "Message({s:?})"),
            _ => write!(f, "Message({} bytes)", self.0.len()),
        }
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message(b)
    }
}
impl From<Vec<u8>> for Message {
    fn from(v: Vec<u8>) -> Self {
        Message(Bytes::from(v))
    }
}
impl From<String> for Message {
    fn from(s: String) -> Self {
        Message(Bytes::from(s))
    }
}
impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message(Bytes::copy_from_slice(s.as_bytes()))
    }
}
impl From<&[u8]> for Message {
    fn from(s: &[u8]) -> Self {
        Message(Bytes::copy_from_slice(s))
    }
}
impl<const N: usize> From<&[u8; N]> for Message {
    fn from(s: &[u8; N]) -> Self {
        Message(Bytes::copy_from_slice(s))
    }
}
impl From<&String> for Message {
    fn from(s: &String) -> Self {
        Message::from(s.as_str())
    }
}
impl From<&Message> for Message {
    fn from(m: &Message) -> Self {
        m.clone()
    }
}
impl From<Message> for Bytes {
    fn from(m: Message) -> Self {
        m.0
    }
}

impl PartialEq<[u8]> for Message {
    fn eq(&self, other: &[u8]) -> bool {
        &self.0[..] == other
    }
}
impl PartialEq<&[u8]> for Message {
    fn eq(&self, other: &&[u8]) -> bool {
        &self.0[..] == *other
    }
}
impl PartialEq<str> for Message {
    fn eq(&self, other: &str) -> bool {
        &self.0[..] == other.as_bytes()
    }
}
impl PartialEq<&str> for Message {
    fn eq(&self, other: &&str) -> bool {
        &self.0[..] == other.as_bytes()
    }
}
