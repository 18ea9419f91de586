//! The reactor's promises: pokes are never lost, timers fire, handlers spawned from
//! other threads start, and shutdown waits for handlers that are still finishing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrozmq_reactor::{Cx, Handler, Notifier, Reactor, TimerId};

/// Acknowledges every poke with the number of pokes seen so far.
struct Echo {
    notifier: Notifier,
    pending: Arc<AtomicUsize>,
    acks: mpsc::Sender<()>,
}

impl Handler for Echo {
    fn start(&mut self, cx: &mut Cx<'_>) {
        cx.bind(&self.notifier);
        self.wake(cx);
    }
    fn wake(&mut self, _cx: &mut Cx<'_>) {
        // Pokes coalesce: acknowledge every request made so far.
        while self.pending.load(Ordering::Acquire) > 0 {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            self.acks.send(()).unwrap();
        }
    }
}

#[test]
fn no_poke_is_lost_in_a_ping_pong() {
    let reactor = Reactor::spawn("test").unwrap();
    let notifier = reactor.handle().notifier();
    let pending = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel();
    reactor.handle().spawn(Box::new(Echo {
        notifier: notifier.clone(),
        pending: pending.clone(),
        acks: tx,
    }));
    // Each round waits for its acknowledgement, so the reactor goes to sleep between
    // rounds: this exercises the sleeping-flag path on every iteration.
    for _ in 0..20_000 {
        pending.fetch_add(1, Ordering::AcqRel);
        notifier.notify();
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a poke was lost");
    }
    reactor.shutdown_and_join();
}

struct Timed {
    deadlines: Vec<Duration>,
    armed: Vec<TimerId>,
    fired: mpsc::Sender<(usize, Instant)>,
}

impl Handler for Timed {
    fn start(&mut self, cx: &mut Cx<'_>) {
        let now = Instant::now();
        for d in &self.deadlines {
            self.armed.push(cx.set_timer(now + *d));
        }
    }
    fn timeout(&mut self, cx: &mut Cx<'_>, id: TimerId) {
        let which = self.armed.iter().position(|t| *t == id).unwrap();
        self.fired.send((which, Instant::now())).unwrap();
        if self.fired_all() {
            cx.close();
        }
    }
}

impl Timed {
    fn fired_all(&mut self) -> bool {
        self.deadlines.pop();
        self.deadlines.is_empty()
    }
}

#[test]
fn timers_fire_in_order_and_not_early() {
    let reactor = Reactor::spawn("timers").unwrap();
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    reactor.handle().spawn(Box::new(Timed {
        deadlines: vec![Duration::from_millis(30), Duration::from_millis(10)],
        armed: Vec::new(),
        fired: tx,
    }));
    let (first, t1) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let (second, t2) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((first, second), (1, 0));
    assert!(t1 - start >= Duration::from_millis(10));
    assert!(t2 - start >= Duration::from_millis(30));
    reactor.shutdown_and_join();
}

/// A handler that refuses to close at shutdown until a timer lets it.
struct Lingering {
    done: Arc<AtomicUsize>,
}

impl Handler for Lingering {
    fn start(&mut self, _cx: &mut Cx<'_>) {}
    fn shutdown(&mut self, cx: &mut Cx<'_>) {
        cx.set_timer(Instant::now() + Duration::from_millis(50));
    }
    fn timeout(&mut self, cx: &mut Cx<'_>, _id: TimerId) {
        self.done.store(1, Ordering::Release);
        cx.close();
    }
}

#[test]
fn shutdown_waits_for_handlers_still_finishing() {
    let reactor = Reactor::spawn("linger").unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    reactor
        .handle()
        .spawn(Box::new(Lingering { done: done.clone() }));
    reactor.shutdown_and_join();
    assert_eq!(done.load(Ordering::Acquire), 1);
}
