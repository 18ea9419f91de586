//! inproc: sockets of one context joined directly by a pipe, no I/O thread involved.
//!
//! A connect creates the pipe at once, so the connecting socket can queue messages
//! before the other side binds (as libzmq allows); the binder's end waits in the
//! registry until the name is bound. The pipe's high-water mark is the sum of the
//! sender's SNDHWM and the receiver's RCVHWM, as in libzmq.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ferrozmq_engine::SocketType;
use ferrozmq_patterns::{direct_pipe_pair, Inbox, PipeEnd, PipeId, Side, Wake};

/// What a socket contributes to an inproc connection.
#[derive(Clone)]
pub struct InprocPeer {
    /// The socket's inbox (new pipes, wake-ups).
    pub inbox: Arc<Inbox>,
    /// Its type, for the compatibility check.
    pub socket_type: SocketType,
    /// Its SNDHWM and RCVHWM.
    pub send_hwm: u64,
    /// Its RCVHWM.
    pub recv_hwm: u64,
    /// Its routing id.
    pub routing_id: Bytes,
}

/// Why an inproc operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InprocError {
    /// The name is already bound.
    AddressInUse,
    /// The bound socket's type can't talk to ours.
    IncompatibleSocketType {
        /// Ours.
        ours: SocketType,
        /// The bound socket's.
        peer: SocketType,
    },
}

struct Pending {
    connector: SocketType,
    binder_end: PipeEnd,
    binder_wake: Arc<Deferred>,
}

/// The names bound in one context, and connections waiting for a bind.
#[derive(Default)]
pub struct InprocRegistry {
    bound: HashMap<String, InprocPeer>,
    pending: HashMap<String, Vec<Pending>>,
}

fn sum_hwm(a: u64, b: u64) -> u64 {
    if a == 0 || b == 0 {
        0
    } else {
        a + b
    }
}

fn make_pipe(
    connector: &InprocPeer,
    binder_recv_hwm: u64,
    binder_send_hwm: u64,
    binder_id: Bytes,
    binder_wake: Arc<dyn Wake>,
) -> (PipeEnd, PipeEnd) {
    direct_pipe_pair(
        Side {
            wake: connector.inbox.waker(),
            send_hwm: sum_hwm(connector.send_hwm, binder_recv_hwm),
            routing_id: connector.routing_id.clone(),
        },
        Side {
            wake: binder_wake,
            send_hwm: sum_hwm(binder_send_hwm, connector.recv_hwm),
            routing_id: binder_id,
        },
    )
}

/// The wake-up target of a binder that does not exist yet. Wake-ups before the bind go
/// nowhere, which is fine: a socket examines every pipe it adopts.
#[derive(Default)]
struct Deferred {
    target: OnceLock<Arc<dyn Wake>>,
}

impl Wake for Deferred {
    fn wake(&self) {
        if let Some(t) = self.target.get() {
            t.wake();
        }
    }
}

impl InprocRegistry {
    /// Binds `name` to `peer`, returning pipes of connects that were waiting for it
    /// (already offered to the binder's inbox).
    pub fn bind(&mut self, name: &str, peer: InprocPeer) -> Result<(), InprocError> {
        if self.bound.contains_key(name) {
            return Err(InprocError::AddressInUse);
        }
        for pending in self.pending.remove(name).unwrap_or_default() {
            if peer.socket_type.accepts(pending.connector) {
                let _ = pending.binder_wake.target.set(peer.inbox.waker());
                // A closed binder refuses the pipe; dropping it tells the connector.
                let _ = peer.inbox.attach(pending.binder_end);
            }
        }
        self.bound.insert(name.to_string(), peer);
        Ok(())
    }

    /// Removes a binding (unbind or socket close).
    pub fn unbind(&mut self, name: &str, inbox: &Arc<Inbox>) -> bool {
        match self.bound.get(name) {
            Some(p) if Arc::ptr_eq(&p.inbox, inbox) => {
                self.bound.remove(name);
                true
            }
            _ => false,
        }
    }

    /// Connects to `name`; returns the connector's end of the new pipe.
    pub fn connect(&mut self, name: &str, connector: &InprocPeer) -> Result<PipeEnd, InprocError> {
        if let Some(binder) = self.bound.get(name) {
            if !connector.socket_type.accepts(binder.socket_type) {
                return Err(InprocError::IncompatibleSocketType {
                    ours: connector.socket_type,
                    peer: binder.socket_type,
                });
            }
            let (ours, theirs) = make_pipe(
                connector,
                binder.recv_hwm,
                binder.send_hwm,
                binder.routing_id.clone(),
                binder.inbox.waker(),
            );
            let _ = binder.inbox.attach(theirs);
            return Ok(ours);
        }
        // Not bound yet: assume libzmq's default HWMs for the binder.
        let binder_wake = Arc::new(Deferred::default());
        let (ours, theirs) = make_pipe(connector, 1000, 1000, Bytes::new(), binder_wake.clone());
        self.pending
            .entry(name.to_string())
            .or_default()
            .push(Pending {
                connector: connector.socket_type,
                binder_end: theirs,
                binder_wake,
            });
        Ok(ours)
    }

    /// Forgets a pending connect whose socket disconnected or closed.
    pub fn cancel_pending(&mut self, name: &str, id: PipeId) {
        if let Some(list) = self.pending.get_mut(name) {
            list.retain(|p| p.binder_end.id != id);
        }
    }
}
