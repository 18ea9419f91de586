//! SUB and XSUB: tell publishers what to send, and receive it.
//!
//! Subscriptions are counted here: subscribing to the same prefix twice takes two
//! unsubscribes. Every subscribe goes upstream (publishers keep a set per peer, so a
//! repeat is harmless and keeps XPUB_VERBOSE meaningful through proxies), but a cancel
//! goes upstream only when the count drops to zero. A new peer is sent every current
//! subscription once; transports replay them after a reconnect, since the pipe (and so
//! this pattern) doesn't see the link drop.
//!
//! Subscriptions bypass the high-water mark: a subscriber that wants many topics must
//! not lose some of them silently because its pipe happened to be full (libzmq drops
//! them there).
//!
//! Publishers filter before sending, and SUB filters what it receives once more (a ZMTP
//! 3.0 publisher, or one that just got our cancel, may still send unwanted messages).
//! XSUB does not filter: it is the upstream half of a proxy and passes everything on.

use bytes::{BufMut, Bytes, BytesMut};

use super::trie::Trie;
use crate::msg::Msg;
use crate::pattern::{Pattern, PatternOption, RecvErrorKind, SendErrorKind, SendFailure};
use crate::pipe::{PipeEnd, PipeId};
use crate::pipe_set::PipeSet;

fn drop_pipe(_: PipeEnd) {}

/// SUB and XSUB socket core.
pub struct Xsub {
    /// SUB: the application can't send, subscribes through options, and receives only
    /// matching messages.
    is_sub: bool,
    pipes: PipeSet,
    /// How many times each prefix is subscribed.
    counts: Trie<u32>,
    dropped: u64,
}

/// `01` + topic or `00` + topic.
fn subscription(subscribe: bool, topic: &[u8]) -> Msg {
    let mut b = BytesMut::with_capacity(topic.len() + 1);
    b.put_u8(u8::from(subscribe));
    b.put_slice(topic);
    Msg::single(b.freeze())
}

impl Xsub {
    /// A SUB socket core.
    pub fn subscriber() -> Xsub {
        Xsub::new(true)
    }

    /// An XSUB socket core.
    pub fn extended() -> Xsub {
        Xsub::new(false)
    }

    fn new(is_sub: bool) -> Xsub {
        Xsub {
            is_sub,
            pipes: PipeSet::default(),
            counts: Trie::default(),
            dropped: 0,
        }
    }

    /// Sends a subscription message to every publisher, regardless of high-water marks.
    fn send_to_all(&mut self, msg: &Msg) {
        for pipe in self.pipes.iter_mut() {
            let _ = pipe.tx.push(msg.clone());
        }
    }

    fn subscribe(&mut self, topic: &[u8]) {
        *self.counts.entry(topic) += 1;
        self.send_to_all(&subscription(true, topic));
    }

    fn unsubscribe(&mut self, topic: &[u8]) {
        let Some(count) = self.counts.get_mut(topic).filter(|c| **c > 0) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.counts.prune(topic, &|c| *c == 0);
            self.send_to_all(&subscription(false, topic));
        }
    }

    fn matches(&self, msg: &Msg) -> bool {
        self.counts.any_prefix(msg.first(), |c| *c > 0)
    }
}

impl Pattern for Xsub {
    fn attach(&mut self, mut pipe: PipeEnd) {
        self.counts.for_each(|topic, &count| {
            if count > 0 {
                let _ = pipe.tx.push(subscription(true, topic));
            }
        });
        self.pipes.add(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.remove(id);
    }

    fn check_send(&mut self, _first: &Bytes) -> Result<(), SendErrorKind> {
        if self.is_sub {
            Err(SendErrorKind::NotSupported)
        } else {
            Ok(())
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), SendFailure> {
        if self.is_sub {
            return Err(SendFailure::new(SendErrorKind::NotSupported, msg));
        }
        // XSUB: a one-frame `01`/`00` message is a subscription change; anything else
        // goes to every publisher as it is (dropped where a pipe is full).
        if msg.len() == 1 {
            match msg.first().first() {
                Some(1) => {
                    let topic = msg.first().slice(1..);
                    *self.counts.entry(&topic) += 1;
                    self.send_to_all(&msg);
                    return Ok(());
                }
                Some(0) => {
                    self.unsubscribe(&msg.first().slice(1..));
                    return Ok(());
                }
                _ => {}
            }
        }
        for pipe in self.pipes.iter_mut() {
            if pipe.tx.has_room() {
                let _ = pipe.tx.push(msg.clone());
            } else {
                self.dropped += 1;
            }
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
        while let Some((msg, _)) = self.pipes.fq_recv(&mut drop_pipe) {
            if !self.is_sub || self.matches(&msg) {
                return Ok(msg);
            }
        }
        Err(RecvErrorKind::WouldBlock)
    }

    fn pull_inline(&mut self) -> bool {
        self.pipes.pull_inline()
    }

    fn hand_back(&mut self) {
        self.pipes.hand_back()
    }

    fn can_recv(&mut self) -> bool {
        if !self.is_sub {
            return self.pipes.any_readable();
        }
        // A queued message that doesn't match is not something to receive: discard
        // non-matching heads until a matching one (or nothing) is at the front.
        let counts = &self.counts;
        for pipe in self.pipes.iter_mut() {
            while let Some(first) = pipe.rx.peek_first() {
                if counts.any_prefix(&first, |c| *c > 0) {
                    return true;
                }
                let _ = pipe.rx.try_pop();
            }
        }
        false
    }

    fn can_send(&mut self) -> bool {
        !self.is_sub
    }

    fn peer_count(&self) -> usize {
        self.pipes.len()
    }

    fn set_option(&mut self, option: PatternOption) -> bool {
        match option {
            PatternOption::Subscribe(topic) => self.subscribe(&topic),
            PatternOption::Unsubscribe(topic) => self.unsubscribe(&topic),
            _ => return false,
        }
        true
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
