//! The envelope-free socket types: PAIR, PUSH, PULL and DEALER.

use bytes::Bytes;

use crate::msg::Msg;
use crate::pattern::{Pattern, PatternOption, RecvErrorKind, SendErrorKind, SendFailure};
use crate::pipe::{PipeEnd, PipeId, Probe};
use crate::pipe_set::PipeSet;

fn drop_pipe(_: PipeEnd) {}

/// Round-robin out, fair-queue in; either direction can be switched off.
struct LbFq {
    pipes: PipeSet,
    can_send: bool,
    can_recv: bool,
    /// PROBE_ROUTER (DEALER): greet every new peer with an empty message.
    probe: bool,
}

impl LbFq {
    fn send(&mut self, msg: Msg) -> Result<(), SendFailure> {
        if !self.can_send {
            return Err(SendFailure::new(SendErrorKind::NotSupported, msg));
        }
        self.pipes
            .lb_send(msg, &mut drop_pipe)
            .map(|_| ())
            .map_err(|msg| SendFailure::new(SendErrorKind::WouldBlock, msg))
    }

    fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
        if !self.can_recv {
            return Err(RecvErrorKind::NotSupported);
        }
        self.pipes
            .fq_recv(&mut drop_pipe)
            .map(|(m, _)| m)
            .ok_or(RecvErrorKind::WouldBlock)
    }
}

macro_rules! lbfq_pattern {
    ($(#[$doc:meta])* $name:ident, send: $s:expr, recv: $r:expr, probe: $p:expr) => {
        $(#[$doc])*
        pub struct $name(LbFq);

        impl Default for $name {
            fn default() -> Self {
                $name(LbFq { pipes: PipeSet::default(), can_send: $s, can_recv: $r, probe: false })
            }
        }

        impl Pattern for $name {
            fn attach(&mut self, mut pipe: PipeEnd) {
                if self.0.probe {
                    let _ = pipe.tx.push(Msg::single(Bytes::new()));
                }
                self.0.pipes.add(pipe);
            }
            fn set_option(&mut self, option: PatternOption) -> bool {
                match option {
                    PatternOption::ProbeRouter(on) if $p => self.0.probe = on,
                    _ => return false,
                }
                true
            }
            fn detach(&mut self, id: PipeId) {
                self.0.pipes.remove(id);
            }
            fn check_send(&mut self, _first: &Bytes) -> Result<(), SendErrorKind> {
                if self.0.can_send {
                    Ok(())
                } else {
                    Err(SendErrorKind::NotSupported)
                }
            }
            fn send(&mut self, msg: Msg) -> Result<(), SendFailure> {
                self.0.send(msg)
            }
            fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
                self.0.recv()
            }
            fn hand_back(&mut self) {
                self.0.pipes.hand_back()
            }
            fn pull_inline(&mut self) -> bool {
                self.0.pipes.pull_inline()
            }
            fn probe_inline(&mut self) -> Probe {
                self.0.pipes.probe_inline()
            }
            fn push_inline(&mut self) -> bool {
                self.0.pipes.push_inline()
            }
            fn can_recv(&mut self) -> bool {
                self.0.can_recv && self.0.pipes.any_readable()
            }
            fn can_send(&mut self) -> bool {
                self.0.can_send && self.0.pipes.any_writable()
            }
            fn peer_count(&self) -> usize {
                self.0.pipes.len()
            }
        }
    };
}

lbfq_pattern!(
    /// PUSH: round-robin to peers with room; cannot receive.
    Push, send: true, recv: false, probe: false
);
lbfq_pattern!(
    /// PULL: fair-queue from all peers; cannot send.
    Pull, send: false, recv: true, probe: false
);
lbfq_pattern!(
    /// DEALER: round-robin out, fair-queue in, no envelopes.
    Dealer, send: true, recv: true, probe: true
);

/// PAIR: exactly one peer; later ones are refused while it lives.
pub struct Pair(LbFq);

impl Default for Pair {
    fn default() -> Self {
        Pair::new()
    }
}

impl Pair {
    /// A PAIR socket core.
    pub fn new() -> Self {
        Pair(LbFq {
            pipes: PipeSet::default(),
            can_send: true,
            can_recv: true,
            probe: false,
        })
    }

    fn forget_dead_peer(&mut self) {
        let dead: Vec<_> = self
            .0
            .pipes
            .iter_mut()
            .filter(|p| p.tx.is_reader_closed())
            .map(|p| p.id)
            .collect();
        for id in dead {
            // Keep inbound messages the peer sent before leaving: only drop the pipe
            // once it is also drained.
            let drained = self
                .0
                .pipes
                .get_mut(id)
                .is_some_and(|p| !p.rx.has_message());
            if drained {
                self.0.pipes.remove(id);
            }
        }
    }
}

impl Pattern for Pair {
    fn attach(&mut self, pipe: PipeEnd) {
        self.forget_dead_peer();
        if self.0.pipes.is_empty() {
            self.0.pipes.add(pipe);
        }
        // else: dropping `pipe` closes it, and the transport disconnects that peer
    }
    fn detach(&mut self, id: PipeId) {
        self.0.pipes.remove(id);
    }
    fn send(&mut self, msg: Msg) -> Result<(), SendFailure> {
        self.0.send(msg)
    }
    fn recv(&mut self) -> Result<Msg, RecvErrorKind> {
        self.0.recv()
    }
    fn hand_back(&mut self) {
        self.0.pipes.hand_back()
    }
    fn pull_inline(&mut self) -> bool {
        self.0.pipes.pull_inline()
    }
    fn probe_inline(&mut self) -> Probe {
        self.0.pipes.probe_inline()
    }
    fn push_inline(&mut self) -> bool {
        self.0.pipes.push_inline()
    }
    fn can_recv(&mut self) -> bool {
        self.0.pipes.any_readable()
    }
    fn can_send(&mut self) -> bool {
        self.0.pipes.any_writable()
    }
    fn peer_count(&self) -> usize {
        self.0.pipes.len()
    }
}
