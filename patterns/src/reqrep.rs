//! REQ and REP: strict request/reply lock-step with envelopes.
//!
//! REQ puts an empty delimiter frame in front of each request and accepts only the reply
//! that comes back through the pipe the request went out on. REP strips everything up to
//! and including the first empty frame (the envelope, which behind ROUTER proxies holds
//! the routing ids of every hop), remembers it with the pipe, and puts it back in front
//! of the reply.

use bytes::Bytes;

use crate::msg::Msg;
use crate::pattern::{Pattern, PatternOption, RecvErrorKind, SendErrorKind, SendFailure};
use crate::pipe::{PipeEnd, PipeId, Probe};
use crate::pipe_set::PipeSet;

fn drop_pipe(_: PipeEnd) {}

/// REQ: send one request, then receive exactly one reply.
///
/// With REQ_RELAXED a new request may be sent while waiting: the old one is abandoned.
/// With REQ_CORRELATE every request carries a 4-byte id frame before the delimiter (a
/// counter from a random start, in host byte order as libzmq writes it) and a reply is
/// accepted only if it echoes the id of the request in flight; together they make a
/// client that can retry without being confused by late replies.
pub struct Req {
    pipes: PipeSet,
    /// The pipe whose reply we are waiting for; `None` when ready to send.
    awaiting: Option<PipeId>,
    relaxed: bool,
    correlate: bool,
    probe: bool,
    /// The id of the last request (REQ_CORRELATE).
    request_id: u32,
}

impl Default for Req {
    fn default() -> Self {
        Req {
            pipes: PipeSet::default(),
            awaiting: None,
            relaxed: false,
            correlate: false,
            probe: false,
            request_id: crate::router::random_start(),
        }
    }
}

impl Pattern for Req {
    fn attach(&mut self, mut pipe: PipeEnd) {
        if self.probe {
            let _ = pipe.tx.push(Msg::single(Bytes::new()));
        }
        self.pipes.add(pipe);
    }

    fn set_option(&mut self, option: PatternOption) -> bool {
        match option {
            PatternOption::ReqRelaxed(on) => self.relaxed = on,
            PatternOption::ReqCorrelate(on) => self.correlate = on,
            PatternOption::ProbeRouter(on) => self.probe = on,
            _ => return false,
        }
        true
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.remove(id);
    }

    fn check_send(&mut self, _first: &Bytes) -> Result<(), SendErrorKind> {
        match self.awaiting {
            Some(_) if !self.relaxed => Err(SendErrorKind::WrongState),
            _ => Ok(()),
        }
    }

    fn send(&mut self, mut msg: Msg) -> Result<(), SendFailure> {
        if self.awaiting.is_some() && !self.relaxed {
            return Err(SendFailure::new(SendErrorKind::WrongState, msg));
        }
        msg.push_front(Bytes::new());
        let id = self.request_id.wrapping_add(1);
        if self.correlate {
            msg.push_front(Bytes::copy_from_slice(&id.to_ne_bytes()));
        }
        match self.pipes.lb_send(msg, &mut drop_pipe) {
            Ok(pipe) => {
                self.awaiting = Some(pipe);
                self.request_id = id;
                Ok(())
            }
            Err(mut msg) => {
                if self.correlate {
                    msg.pop_front();
                }
                msg.pop_front();
                Err(SendFailure::new(SendErrorKind::WouldBlock, msg))
            }
        }
    }

    fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
        let Some(expected) = self.awaiting else {
            return Err(RecvErrorKind::WrongState);
        };
        while let Some((mut msg, from)) = self.pipes.fq_recv(&mut drop_pipe) {
            // Replies from other pipes, replies without the empty delimiter and (with
            // REQ_CORRELATE) replies to another request are not answers: drop them.
            if from != expected {
                continue;
            }
            if self.correlate {
                if msg.first().as_ref() != self.request_id.to_ne_bytes() {
                    continue;
                }
                msg.pop_front();
            }
            if msg.is_empty() || !msg.first().is_empty() || msg.len() < 2 {
                continue;
            }
            msg.pop_front();
            self.awaiting = None;
            return Ok(msg);
        }
        Err(RecvErrorKind::WouldBlock)
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
    fn push_inline(&mut self) -> bool {
        self.pipes.push_inline()
    }
    fn can_recv(&mut self) -> bool {
        self.awaiting.is_some() && self.pipes.any_readable()
    }

    fn can_send(&mut self) -> bool {
        (self.awaiting.is_none() || self.relaxed) && self.pipes.any_writable()
    }

    fn peer_count(&self) -> usize {
        self.pipes.len()
    }
}

/// REP: receive one request, then send exactly one reply to whoever asked.
#[derive(Default)]
pub struct Rep {
    pipes: PipeSet,
    /// Where the reply goes and the envelope it carries back; `None` when receiving.
    replying_to: Option<(PipeId, Msg)>,
}

impl Pattern for Rep {
    fn attach(&mut self, pipe: PipeEnd) {
        self.pipes.add(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.remove(id);
    }

    fn check_send(&mut self, _first: &Bytes) -> Result<(), SendErrorKind> {
        match self.replying_to {
            Some(_) => Ok(()),
            None => Err(SendErrorKind::WrongState),
        }
    }

    fn send(&mut self, mut msg: Msg) -> Result<(), SendFailure> {
        let Some((pipe, envelope)) = self.replying_to.take() else {
            return Err(SendFailure::new(SendErrorKind::WrongState, msg));
        };
        msg.prepend(envelope);
        // A vanished requester or a full pipe loses the reply, as in libzmq.
        if let Some(p) = self.pipes.get_mut(pipe) {
            if p.tx.has_room() {
                let _ = p.tx.push(msg);
            }
        }
        Ok(())
    }

    fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
        if self.replying_to.is_some() {
            return Err(RecvErrorKind::WrongState);
        }
        while let Some((mut msg, from)) = self.pipes.fq_recv(&mut drop_pipe) {
            let Some(delimiter) = msg.frames().position(|f| f.is_empty()) else {
                continue; // no envelope: malformed request, dropped whole
            };
            if delimiter + 1 == msg.len() {
                continue; // an envelope and no body
            }
            let envelope = msg
                .split_front(delimiter + 1)
                .expect("a delimiter and a body");
            self.replying_to = Some((from, envelope));
            return Ok(msg);
        }
        Err(RecvErrorKind::WouldBlock)
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
        self.replying_to.is_none() && self.pipes.any_readable()
    }

    fn can_send(&mut self) -> bool {
        self.replying_to.is_some()
    }

    fn peer_count(&self) -> usize {
        self.pipes.len()
    }
}
