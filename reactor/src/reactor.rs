//! The poll loop of one I/O thread.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, TryRecvError};
use mio::{Events, Poll, Token};
use slab::Slab;

use crate::handler::{Cx, Handler};
use crate::notifier::{Command, Notifier, Shared};
use crate::timers::Timers;

const WAKER_TOKEN: Token = Token(usize::MAX - 1);

/// An I/O thread. Dropping it shuts the thread down and joins it.
pub struct Reactor {
    handle: ReactorHandle,
    thread: Option<JoinHandle<()>>,
}

/// A cloneable reference to a reactor, usable from any thread.
#[derive(Clone)]
pub struct ReactorHandle {
    pub(crate) shared: Arc<Shared>,
}

impl ReactorHandle {
    /// Inserts `handler` into the reactor; its [`Handler::start`] runs on the reactor thread.
    pub fn spawn(&self, handler: Box<dyn Handler>) {
        self.shared.post(Command::Spawn(handler));
    }

    /// Creates an unbound [`Notifier`] for a handler about to be spawned here; the
    /// handler binds it in [`Handler::start`] with [`Cx::bind`].
    pub fn notifier(&self) -> Notifier {
        Notifier::new(self.shared.clone())
    }
}

impl Reactor {
    /// Starts a new I/O thread named `name`.
    pub fn spawn(name: &str) -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            mailbox: tx,
            waker,
            sleeping: Default::default(),
        });
        let mut lp = Loop {
            poll,
            mailbox: rx,
            shared: shared.clone(),
            slots: Slab::new(),
            timers: Timers::default(),
            generation: 0,
            shutting_down: false,
        };
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || lp.run())?;
        Ok(Reactor {
            handle: ReactorHandle { shared },
            thread: Some(thread),
        })
    }

    /// A cloneable handle for spawning handlers and creating notifiers.
    pub fn handle(&self) -> &ReactorHandle {
        &self.handle
    }

    /// Asks every handler to finish ([`Handler::shutdown`]) and waits for the thread to exit.
    pub fn shutdown_and_join(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.shared.post(Command::Shutdown);
            // A panic inside a handler has already been reported by the panic hook.
            let _ = thread.join();
        }
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Slot {
    handler: Box<dyn Handler>,
    generation: u64,
    bound: Vec<Notifier>,
}

struct Loop {
    poll: Poll,
    mailbox: Receiver<Command>,
    shared: Arc<Shared>,
    slots: Slab<Slot>,
    timers: Timers,
    generation: u64,
    shutting_down: bool,
}

/// Which callback to deliver to a handler.
enum Call<'e> {
    Start,
    Ready(&'e mio::event::Event),
    Wake,
    Timeout(crate::TimerId),
    Shutdown,
}

impl Loop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            if !self.drain_mailbox() {
                return;
            }
            self.fire_timers();
            if self.shutting_down && self.slots.is_empty() {
                return;
            }
            let timeout = self
                .timers
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            self.shared.sleeping.store(true, Ordering::SeqCst);
            let timeout = if self.mailbox.is_empty() {
                timeout
            } else {
                Some(std::time::Duration::ZERO)
            };
            let polled = self.poll.poll(&mut events, timeout);
            self.shared.sleeping.store(false, Ordering::SeqCst);
            if let Err(e) = polled {
                if e.kind() != io::ErrorKind::Interrupted {
                    // epoll_wait only fails on programming errors; nothing sensible to do but stop.
                    return;
                }
                continue;
            }
            for event in events.iter() {
                if event.token() == WAKER_TOKEN {
                    continue;
                }
                self.dispatch(event.token().0, None, Call::Ready(event));
            }
        }
    }

    /// Returns false when every sender is gone and nothing is left to run.
    fn drain_mailbox(&mut self) -> bool {
        loop {
            match self.mailbox.try_recv() {
                Ok(Command::Spawn(handler)) => self.insert(handler),
                Ok(Command::Wake(key)) => self.dispatch(key, None, Call::Wake),
                Ok(Command::Shutdown) => self.begin_shutdown(),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return !self.slots.is_empty(),
            }
        }
    }

    fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        let keys: Vec<usize> = self.slots.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.dispatch(key, None, Call::Shutdown);
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(fired) = self.timers.pop_expired(now) {
            self.dispatch(fired.key, Some(fired.generation), Call::Timeout(fired.id));
        }
    }

    fn insert(&mut self, handler: Box<dyn Handler>) {
        self.generation += 1;
        let key = self.slots.insert(Slot {
            handler,
            generation: self.generation,
            bound: Vec::new(),
        });
        self.dispatch(key, None, Call::Start);
        if self.shutting_down {
            self.dispatch(key, Some(self.generation), Call::Shutdown);
        }
    }

    fn dispatch(&mut self, key: usize, generation: Option<u64>, call: Call<'_>) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        if generation.is_some_and(|g| g != slot.generation) {
            return;
        }
        let mut spawned = Vec::new();
        let mut cx = Cx {
            key,
            generation: slot.generation,
            registry: self.poll.registry(),
            timers: &mut self.timers,
            spawned: &mut spawned,
            bound: &mut slot.bound,
            shared: &self.shared,
            shutting_down: self.shutting_down,
            close: false,
        };
        match call {
            Call::Start => slot.handler.start(&mut cx),
            Call::Ready(event) => slot.handler.ready(&mut cx, event),
            Call::Wake => slot.handler.wake(&mut cx),
            Call::Timeout(id) => slot.handler.timeout(&mut cx, id),
            Call::Shutdown => slot.handler.shutdown(&mut cx),
        }
        if cx.close {
            let slot = self.slots.remove(key);
            for notifier in &slot.bound {
                notifier.unbind();
            }
        }
        for handler in spawned {
            self.insert(handler);
        }
    }
}
