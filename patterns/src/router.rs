//! ROUTER: addresses peers by routing id.
//!
//! Every received message gets the sending peer's routing id as an extra first frame;
//! every sent message must start with one, which picks the pipe and is stripped. A peer's
//! routing id is the `Identity` it announced, or a generated 5-byte id (`00` + a counter
//! starting at a random value, as libzmq does) when it announced none.

use std::collections::HashMap;

use bytes::Bytes;

use crate::msg::Msg;
use crate::pattern::{Pattern, PatternOption, RecvErrorKind, SendErrorKind, SendFailure};
use crate::pipe::{PipeEnd, PipeId, Probe};
use crate::pipe_set::PipeSet;

/// ROUTER socket core.
pub struct Router {
    pipes: PipeSet,
    by_id: HashMap<Bytes, PipeId>,
    next_generated: u32,
    /// ROUTER_MANDATORY: report unroutable or blocked messages instead of dropping them.
    mandatory: bool,
    /// ROUTER_HANDOVER: a newcomer with a taken routing id replaces the old peer.
    handover: bool,
    /// PROBE_ROUTER: greet every new peer with an empty message.
    probe: bool,
    /// Messages dropped (unknown routing id, full pipe) without ROUTER_MANDATORY.
    dropped: u64,
}

impl Default for Router {
    fn default() -> Self {
        Router {
            pipes: PipeSet::default(),
            by_id: HashMap::new(),
            next_generated: random_start(),
            mandatory: false,
            handover: false,
            probe: false,
            dropped: 0,
        }
    }
}

/// A cheap random starting point for generated ids (no RNG dependency needed).
pub(crate) fn random_start() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9);
    h.finish() as u32
}

impl Router {
    fn generate_id(&mut self) -> Bytes {
        loop {
            self.next_generated = self.next_generated.wrapping_add(1);
            let mut id = [0u8; 5];
            id[1..].copy_from_slice(&self.next_generated.to_be_bytes());
            let id = Bytes::copy_from_slice(&id);
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    fn forget(by_id: &mut HashMap<Bytes, PipeId>, pipe: &PipeEnd) {
        if by_id.get(&pipe.peer_routing_id) == Some(&pipe.id) {
            by_id.remove(&pipe.peer_routing_id);
        }
    }
}

impl Pattern for Router {
    fn attach(&mut self, mut pipe: PipeEnd) {
        if pipe.peer_routing_id.is_empty() {
            pipe.peer_routing_id = self.generate_id();
        } else if let Some(&old) = self.by_id.get(&pipe.peer_routing_id) {
            // A live peer already has this id: refuse the newcomer, unless handover is
            // on. A stale entry (its peer left) gives way.
            let stale = self
                .pipes
                .get_mut(old)
                .is_none_or(|p| p.tx.is_reader_closed());
            if stale {
                if let Some(p) = self.pipes.remove(old) {
                    drop(p);
                }
            } else if !self.handover {
                return;
            } else {
                // Handover: the newcomer takes the id; the old peer stays connected under
                // a generated id. libzmq terminates the old pipe but leaves its
                // connection open, so the old peer neither reconnects (and takes the id
                // back) nor can be reached; keeping the pipe makes it reachable.
                let renamed = self.generate_id();
                if let Some(p) = self.pipes.get_mut(old) {
                    p.peer_routing_id = renamed.clone();
                }
                self.by_id.insert(renamed, old);
            }
        }
        if self.probe {
            // The probe bypasses the high-water mark: a new pipe is empty anyway.
            let _ = pipe.tx.push(Msg::single(Bytes::new()));
        }
        self.by_id.insert(pipe.peer_routing_id.clone(), pipe.id);
        self.pipes.add(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        if let Some(p) = self.pipes.remove(id) {
            Router::forget(&mut self.by_id, &p);
        }
    }

    fn check_send(&mut self, first: &Bytes) -> Result<(), SendErrorKind> {
        if self.mandatory && !self.by_id.contains_key(first) {
            return Err(SendErrorKind::HostUnreachable);
        }
        Ok(())
    }

    fn send(&mut self, mut msg: Msg) -> Result<(), SendFailure> {
        let Some(id) = msg.pop_front() else {
            // Only a routing id and nothing else: libzmq ignores it silently.
            return Ok(());
        };
        let pipe = self
            .by_id
            .get(&id)
            .copied()
            .and_then(|pid| self.pipes.get_mut(pid));
        let Some(pipe) = pipe else {
            if self.mandatory {
                msg.push_front(id);
                return Err(SendFailure::new(SendErrorKind::HostUnreachable, msg));
            }
            self.dropped += 1;
            return Ok(());
        };
        if !pipe.tx.has_room() {
            if self.mandatory {
                msg.push_front(id);
                return Err(SendFailure::new(SendErrorKind::WouldBlock, msg));
            }
            self.dropped += 1;
            return Ok(());
        }
        if let Err(mut msg) = pipe.tx.push(msg) {
            let pid = pipe.id;
            if let Some(p) = self.pipes.remove(pid) {
                Router::forget(&mut self.by_id, &p);
            }
            if self.mandatory {
                msg.push_front(id);
                return Err(SendFailure::new(SendErrorKind::HostUnreachable, msg));
            }
            self.dropped += 1;
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
        let by_id = &mut self.by_id;
        let (mut msg, from) = self
            .pipes
            .fq_recv(&mut |p| Router::forget(by_id, &p))
            .ok_or(RecvErrorKind::WouldBlock)?;
        let id = self
            .pipes
            .get_mut(from)
            .map(|p| p.peer_routing_id.clone())
            .unwrap_or_default();
        msg.push_front(id);
        Ok(msg)
    }

    fn hand_back(&mut self) {
        self.pipes.hand_back()
    }
    fn pull_inline(&mut self) -> bool {
        self.pipes.pull_inline()
    }
    fn probe_inline(&mut self) -> Probe {
        self.pipes.probe_inline()
    }
    fn can_recv(&mut self) -> bool {
        self.pipes.any_readable()
    }

    fn can_send(&mut self) -> bool {
        // ROUTER never blocks without ROUTER_MANDATORY.
        !self.mandatory || self.pipes.any_writable()
    }

    fn peer_count(&self) -> usize {
        self.pipes.len()
    }

    fn set_option(&mut self, option: PatternOption) -> bool {
        match option {
            PatternOption::RouterMandatory(on) => self.mandatory = on,
            PatternOption::RouterHandover(on) => self.handover = on,
            PatternOption::ProbeRouter(on) => self.probe = on,
            _ => return false,
        }
        true
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
