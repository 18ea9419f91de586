//! The set of pipes a socket talks through, with round-robin and fair-queue cursors.
//!
//! Load-balancing and fair-queueing are two cursors over the same array: sending walks
//! from `lb_next` to the first pipe with room, receiving walks from `fq_next` to the first
//! pipe with a message, and each advances past the pipe it used so that every peer gets
//! its turn. Pipes whose peer has gone are dropped as soon as they are noticed.

use std::collections::HashMap;

use crate::msg::Msg;
use crate::pipe::{PipeEnd, PipeId, Pop, Probe};

/// The most peers a waiting socket probes for replies (see [`PipeSet::probe_inline`]).
const PROBE_MAX_PIPES: usize = 4;

/// Pipes of one socket.
#[derive(Default)]
pub struct PipeSet {
    pipes: Vec<PipeEnd>,
    index: HashMap<PipeId, usize>,
    lb_next: usize,
    fq_next: usize,
}

impl PipeSet {
    /// Adds a pipe at the end of both rotations.
    pub fn add(&mut self, pipe: PipeEnd) {
        self.index.insert(pipe.id, self.pipes.len());
        self.pipes.push(pipe);
    }

    /// Number of live pipes.
    pub fn len(&self) -> usize {
        self.pipes.len()
    }

    /// True when there is no pipe.
    pub fn is_empty(&self) -> bool {
        self.pipes.is_empty()
    }

    /// The pipe with `id`, if still attached.
    pub fn get_mut(&mut self, id: PipeId) -> Option<&mut PipeEnd> {
        let i = *self.index.get(&id)?;
        Some(&mut self.pipes[i])
    }

    /// Detaches the pipe with `id` (closing our ends when the result is dropped).
    pub fn remove(&mut self, id: PipeId) -> Option<PipeEnd> {
        let i = self.index.remove(&id)?;
        let pipe = self.pipes.swap_remove(i);
        if let Some(moved) = self.pipes.get(i) {
            self.index.insert(moved.id, i);
        }
        Some(pipe)
    }

    /// Iterates over the pipes.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut PipeEnd> {
        self.pipes.iter_mut()
    }

    /// Round-robin send: gives `msg` to the next pipe with room. Returns the pipe used,
    /// or the message back if every pipe is full (or there is none). Pipes whose peer has
    /// gone are removed and passed to `on_removed`.
    pub fn lb_send(
        &mut self,
        mut msg: Msg,
        on_removed: &mut dyn FnMut(PipeEnd),
    ) -> Result<PipeId, Msg> {
        let mut tried = 0;
        while tried < self.pipes.len() {
            if self.lb_next >= self.pipes.len() {
                self.lb_next = 0;
            }
            let i = self.lb_next;
            let pipe = &mut self.pipes[i];
            if !pipe.tx.has_room() {
                self.lb_next += 1;
                tried += 1;
                continue;
            }
            match pipe.tx.push(msg) {
                Ok(()) => {
                    let id = pipe.id;
                    self.lb_next = i + 1;
                    return Ok(id);
                }
                Err(back) => {
                    msg = back;
                    let id = pipe.id;
                    on_removed(self.remove(id).expect("pipe is present"));
                    // The swapped-in pipe now sits at `i`; don't count it as tried.
                }
            }
        }
        Err(msg)
    }

    /// Fair-queue receive: one message from the next pipe that has one, with the pipe it
    /// came from. Pipes whose peer closed and that are drained are removed and passed to
    /// `on_removed`.
    pub fn fq_recv(&mut self, on_removed: &mut dyn FnMut(PipeEnd)) -> Option<(Msg, PipeId)> {
        let mut tried = 0;
        while tried < self.pipes.len() {
            if self.fq_next >= self.pipes.len() {
                self.fq_next = 0;
            }
            let i = self.fq_next;
            let pipe = &mut self.pipes[i];
            match pipe.rx.pop() {
                Pop::Msg(msg) => {
                    let id = pipe.id;
                    self.fq_next = i + 1;
                    return Some((msg, id));
                }
                Pop::Empty => {
                    self.fq_next += 1;
                    tried += 1;
                }
                Pop::Closed => {
                    let id = pipe.id;
                    on_removed(self.remove(id).expect("pipe is present"));
                }
            }
        }
        None
    }

    /// Asks every pipe's driver to read from its peer now; true if any may have
    /// produced messages.
    pub fn pull_inline(&mut self) -> bool {
        let mut any = false;
        for pipe in &self.pipes {
            if let Some(driver) = &pipe.driver {
                any |= driver.pull();
            }
        }
        any
    }

    /// Asks every pipe's driver to look for a reply that has already arrived (see
    /// [`Driver::probe`](crate::pipe::Driver::probe)), and sums up what they found
    /// (see [`Probe::or`]). Sockets with more
    /// than `PROBE_MAX_PIPES` (4) peers don't probe: one round would cost a system call
    /// per peer.
    pub fn probe_inline(&mut self) -> Probe {
        if self.pipes.len() > PROBE_MAX_PIPES {
            return Probe::NotAwaiting;
        }
        let mut found = Probe::NotAwaiting;
        for pipe in &self.pipes {
            if let Some(driver) = &pipe.driver {
                found = found.or(driver.probe());
            }
        }
        found
    }

    /// Asks every pipe's driver to write its queued messages now; true if any wrote.
    pub fn push_inline(&mut self) -> bool {
        let mut any = false;
        for pipe in &self.pipes {
            if let Some(driver) = &pipe.driver {
                any |= driver.push();
            }
        }
        any
    }

    /// Returns input left to this thread back to the I/O threads.
    pub fn hand_back(&mut self) {
        for pipe in &self.pipes {
            if let Some(driver) = &pipe.driver {
                driver.hand_back();
            }
        }
    }

    /// True if some pipe holds a message (for readiness queries).
    pub fn any_readable(&mut self) -> bool {
        self.pipes.iter_mut().any(|p| p.rx.has_message())
    }

    /// True if some pipe has room for a message.
    pub fn any_writable(&mut self) -> bool {
        self.pipes.iter_mut().any(|p| p.tx.has_room())
    }
}
