//! REQ and REP: strict request/reply lock-step with envelopes.
//!
//! REQ puts an empty delimiter frame in front of each request and accepts only the reply
//! that comes back through the pipe the request went out on. REP strips everything up to
//! and including the first empty frame (the envelope, which behind ROUTER proxies holds
//! the routing ids of every hop), remembers it with the pipe, and puts it back in front
//! of the reply.

use bytes::Bytes;

use crate::msg::Msg;
use crate::pattern::{Pattern, RecvErrorKind, SendErrorKind, SendFailure};
use crate::pipe::{PipeEnd, PipeId};
use crate::pipe_set::PipeSet;

fn drop_pipe(_: PipeEnd) {}

/// REQ: send one request, then receive exactly one reply.
#[derive(Default)]
pub struct Req {
    pipes: PipeSet,
    /// The pipe whose reply we are waiting for; `None` when ready to send.
    awaiting: Option<PipeId>,
}

impl Pattern for Req {
    fn attach(&mut self, pipe: PipeEnd) {
        self.pipes.add(pipe);
    }

    fn detach(&mut self, id: PipeId) {
        self.pipes.remove(id);
    }

    fn check_send(&mut self, _first: &Bytes) -> Result<(), SendErrorKind> {
        match self.awaiting {
            Some(_) => Err(SendErrorKind::WrongState),
            None => Ok(()),
        }
    }

    fn send(&mut self, mut msg: Msg) -> Result<(), SendFailure> {
        if self.awaiting.is_some() {
            return Err(SendFailure::new(SendErrorKind::WrongState, msg));
        }
        msg.push_front(Bytes::new());
        match self.pipes.lb_send(msg, &mut drop_pipe) {
            Ok(pipe) => {
                self.awaiting = Some(pipe);
                Ok(())
            }
            Err(mut msg) => {
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
            // Replies from other pipes, and replies without the empty delimiter, are
            // not answers to our request: drop them.
            if from != expected || !msg.first().is_empty() || msg.len() < 2 {
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
    fn can_recv(&mut self) -> bool {
        self.awaiting.is_some() && self.pipes.any_readable()
    }

    fn can_send(&mut self) -> bool {
        self.awaiting.is_none() && self.pipes.any_writable()
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
