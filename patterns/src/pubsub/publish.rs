//! PUB and XPUB: fan a message out to the peers whose subscriptions match it.
//!
//! Subscriptions arrive from each peer's pipe as one-frame messages, `01` + prefix to
//! subscribe and `00` + prefix to cancel (transports turn ZMTP 3.1's SUBSCRIBE/CANCEL
//! commands into this form, inproc peers send it as is). A trie maps each prefix to the
//! set of peers that asked for it; sending walks the trie along the message's first
//! frame, marks each matching peer once and gives it a clone of the message — clones
//! share the frames' buffers, so fan-out copies no payload.
//!
//! Noticing subscriptions must not cost a visit to every pipe on every send. Pipes wake
//! the socket's [`Signal`] when a message arrives in an empty queue, so the pattern keeps
//! the signal's [generation](Signal::generation) it last saw and drains the pipes only
//! when it has moved: one atomic load per send in the steady state.
//!
//! A peer at its high-water mark misses the message (counted in
//! [`dropped`](Pattern::dropped)); with XPUB_NODROP the send waits instead, until every
//! matching peer has room.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use slab::Slab;

use super::trie::Trie;
use crate::msg::Msg;
use crate::pattern::{Pattern, PatternOption, RecvErrorKind, SendErrorKind, SendFailure};
use crate::pipe::{PipeEnd, PipeId, Pop};
use crate::signal::Signal;

/// One peer and the prefixes it subscribed to.
struct Subscriber {
    pipe: PipeEnd,
    topics: HashSet<Bytes>,
    /// The send round in which this peer last matched (deduplicates overlapping
    /// prefixes such as `a` and `ab`).
    mark: u64,
}

/// XPUB_* switches.
#[derive(Default)]
struct Modes {
    verbose: bool,
    verboser: bool,
    manual: bool,
    nodrop: bool,
    welcome: Option<Bytes>,
}

/// PUB and XPUB socket core.
pub struct Xpub {
    /// PUB: no notices for the application, and receiving is not supported.
    is_pub: bool,
    subscribers: Slab<Subscriber>,
    by_pipe: HashMap<PipeId, usize>,
    /// Prefix → keys of the subscribers that asked for it.
    trie: Trie<Vec<usize>>,
    signal: Arc<Signal>,
    seen_generation: u64,
    round: u64,
    matched: Vec<usize>,
    /// What the application will read: notices and upstream messages, with the peer each
    /// came from.
    notices: VecDeque<(Msg, usize)>,
    /// The peer of the last notice read (XPUB_MANUAL subscribes it).
    last_notice_from: Option<usize>,
    modes: Modes,
    dropped: u64,
}

impl Xpub {
    /// A PUB socket core woken through `signal` (the socket's own).
    pub fn publisher(signal: Arc<Signal>) -> Xpub {
        Xpub::new(signal, true)
    }

    /// An XPUB socket core woken through `signal`.
    pub fn extended(signal: Arc<Signal>) -> Xpub {
        Xpub::new(signal, false)
    }

    fn new(signal: Arc<Signal>, is_pub: bool) -> Xpub {
        Xpub {
            is_pub,
            subscribers: Slab::new(),
            by_pipe: HashMap::new(),
            trie: Trie::default(),
            seen_generation: signal.generation(),
            signal,
            round: 0,
            matched: Vec::new(),
            notices: VecDeque::new(),
            last_notice_from: None,
            modes: Modes::default(),
            dropped: 0,
        }
    }

    /// Drains every pipe if the socket was woken since the last look.
    #[inline]
    fn poll_upstream(&mut self) {
        let generation = self.signal.generation();
        if generation != self.seen_generation {
            self.seen_generation = generation;
            self.drain_all();
        }
    }

    fn drain_all(&mut self) {
        let keys: Vec<usize> = self.subscribers.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.drain(key);
        }
    }

    /// Reads everything peer `key` sent: subscriptions are applied (and become notices),
    /// other messages become notices as they are. Removes the peer if it has gone.
    fn drain(&mut self, key: usize) {
        loop {
            let Some(sub) = self.subscribers.get_mut(key) else {
                return;
            };
            match sub.pipe.rx.pop() {
                Pop::Msg(msg) => self.upstream(key, msg),
                Pop::Empty => return,
                Pop::Closed => {
                    self.remove(key);
                    return;
                }
            }
        }
    }

    fn upstream(&mut self, key: usize, msg: Msg) {
        let kind = if msg.len() == 1 {
            msg.first().first().copied()
        } else {
            None
        };
        match kind {
            Some(1) if !self.modes.manual => {
                let topic = msg.first().slice(1..);
                let first_for_topic = self.subscribe(key, topic);
                if first_for_topic || self.modes.verbose || self.modes.verboser {
                    self.notify(msg, key);
                }
            }
            Some(0) if !self.modes.manual => {
                let topic = msg.first().slice(1..);
                let known = self.trie.get_mut(&topic).is_some_and(|s| !s.is_empty());
                let last = self.unsubscribe(key, &topic);
                if last || !known || self.modes.verboser {
                    self.notify(msg, key);
                }
            }
            // Manual mode passes every notice on, unapplied; other upstream messages
            // (an XSUB application's own) are passed on as they are.
            _ => self.notify(msg, key),
        }
    }

    fn notify(&mut self, msg: Msg, key: usize) {
        if !self.is_pub {
            self.notices.push_back((msg, key));
        }
    }

    /// Adds `topic` for peer `key`; true if no peer had it before.
    fn subscribe(&mut self, key: usize, topic: Bytes) -> bool {
        let set = self.trie.entry(&topic);
        let first = set.is_empty();
        if !set.contains(&key) {
            set.push(key);
        }
        if let Some(sub) = self.subscribers.get_mut(key) {
            sub.topics.insert(topic);
        }
        first
    }

    /// Removes `topic` for peer `key`; true if it was the last peer with it.
    fn unsubscribe(&mut self, key: usize, topic: &[u8]) -> bool {
        let Some(set) = self.trie.get_mut(topic) else {
            return false;
        };
        let Some(i) = set.iter().position(|&k| k == key) else {
            return false;
        };
        set.swap_remove(i);
        let last = set.is_empty();
        if last {
            self.trie.prune(topic, &|s: &Vec<usize>| s.is_empty());
        }
        if let Some(sub) = self.subscribers.get_mut(key) {
            sub.topics.remove(topic);
        }
        last
    }

    /// Forgets peer `key` and its subscriptions; topics nobody wants any more become
    /// unsubscribe notices (every topic of the peer in verboser and manual modes).
    fn remove(&mut self, key: usize) {
        let sub = self.subscribers.remove(key);
        self.by_pipe.remove(&sub.pipe.id);
        for topic in sub.topics {
            let last = self.unsubscribe(key, &topic);
            if last || self.modes.verboser || self.modes.manual {
                let mut notice = BytesMut::with_capacity(topic.len() + 1);
                notice.put_u8(0);
                notice.put_slice(&topic);
                self.notify(Msg::single(notice.freeze()), usize::MAX);
            }
        }
        if self.last_notice_from == Some(key) {
            self.last_notice_from = None;
        }
        // Notices from a peer that left stay readable but can't be subscribed manually.
        for notice in self.notices.iter_mut().filter(|n| n.1 == key) {
            notice.1 = usize::MAX;
        }
    }

    /// Collects into `self.matched` the peers subscribed to a prefix of `first`.
    fn match_peers(&mut self, first: &[u8]) {
        self.round += 1;
        let round = self.round;
        let subscribers = &mut self.subscribers;
        let matched = &mut self.matched;
        matched.clear();
        self.trie.for_each_prefix(first, |keys| {
            for &k in keys {
                let sub = &mut subscribers[k];
                if sub.mark != round {
                    sub.mark = round;
                    matched.push(k);
                }
            }
        });
    }
}

impl Pattern for Xpub {
    fn attach(&mut self, mut pipe: PipeEnd) {
        if let Some(welcome) = &self.modes.welcome {
            let _ = pipe.tx.push(Msg::single(welcome.clone()));
        }
        let id = pipe.id;
        let key = self.subscribers.insert(Subscriber {
            pipe,
            topics: HashSet::new(),
            mark: 0,
        });
        self.by_pipe.insert(id, key);
        // Subscriptions may already be queued, sent before any wake-up was armed.
        self.drain(key);
    }

    fn detach(&mut self, id: PipeId) {
        if let Some(key) = self.by_pipe.get(&id).copied() {
            self.remove(key);
        }
    }

    fn check_send(&mut self, _first: &Bytes) -> Result<(), SendErrorKind> {
        Ok(())
    }

    fn send(&mut self, msg: Msg) -> Result<(), SendFailure> {
        self.poll_upstream();
        self.match_peers(msg.first());
        if self.matched.is_empty() {
            return Ok(());
        }
        if self.modes.nodrop {
            for &k in &self.matched {
                if !self.subscribers[k].pipe.tx.has_room() {
                    return Err(SendFailure::new(SendErrorKind::WouldBlock, msg));
                }
            }
        }
        let mut gone = Vec::new();
        let last = self.matched.len() - 1;
        let mut msg = Some(msg);
        for (i, &k) in self.matched.iter().enumerate() {
            let pipe = &mut self.subscribers[k].pipe;
            if !pipe.tx.has_room() {
                self.dropped += 1;
                continue;
            }
            // The last peer gets the message itself, the others share its buffers.
            let copy = if i == last {
                msg.take().expect("message kept for the last peer")
            } else {
                msg.as_ref()
                    .expect("message kept for the last peer")
                    .clone()
            };
            if pipe.tx.push(copy).is_err() {
                gone.push(k);
            }
        }
        for k in gone {
            self.remove(k);
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
        if self.is_pub {
            return Err(RecvErrorKind::NotSupported);
        }
        self.poll_upstream();
        let (msg, from) = self.notices.pop_front().ok_or(RecvErrorKind::WouldBlock)?;
        self.last_notice_from = (from != usize::MAX).then_some(from);
        Ok(msg)
    }

    fn pull_inline(&mut self) -> bool {
        let mut any = false;
        for (_, sub) in self.subscribers.iter() {
            if let Some(driver) = &sub.pipe.driver {
                any |= driver.pull();
            }
        }
        if any {
            self.drain_all();
        }
        any
    }

    fn hand_back(&mut self) {
        for (_, sub) in self.subscribers.iter() {
            if let Some(driver) = &sub.pipe.driver {
                driver.hand_back();
            }
        }
    }

    fn can_recv(&mut self) -> bool {
        if self.is_pub {
            return false;
        }
        self.poll_upstream();
        if self.notices.is_empty() {
            // Arm every pipe's wake-up so that a poller hears about the next notice.
            self.drain_all();
        }
        !self.notices.is_empty()
    }

    fn can_send(&mut self) -> bool {
        if !self.modes.nodrop {
            return true;
        }
        self.poll_upstream();
        self.subscribers
            .iter_mut()
            .all(|(_, s)| s.topics.is_empty() || s.pipe.tx.has_room())
    }

    fn peer_count(&self) -> usize {
        self.subscribers.len()
    }

    fn set_option(&mut self, option: PatternOption) -> bool {
        match option {
            PatternOption::XpubNodrop(on) => self.modes.nodrop = on,
            _ if self.is_pub => return false,
            PatternOption::XpubVerbose(on) => self.modes.verbose = on,
            PatternOption::XpubVerboser(on) => self.modes.verboser = on,
            PatternOption::XpubManual(on) => self.modes.manual = on,
            PatternOption::XpubWelcome(msg) => self.modes.welcome = msg,
            PatternOption::Subscribe(topic) => {
                if let Some(key) = self.last_notice_from {
                    self.subscribe(key, topic);
                }
            }
            PatternOption::Unsubscribe(topic) => {
                if let Some(key) = self.last_notice_from {
                    self.unsubscribe(key, &topic);
                }
            }
            _ => return false,
        }
        true
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
