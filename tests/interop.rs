//! Wire-level interoperability with real libzmq (4.3.x, through the `zmq` crate).
//!
//! Every pattern test runs as a small matrix: the same scenario is played with
//! ferrozmq binding and libzmq connecting and the other way round, over `tcp://` and
//! `ipc://`. The [`interop!`] macro expands one line of the table below into a module
//! with those four `#[test]`s, e.g. `ferrozmq_req_to_libzmq_rep::ipc_libzmq_binds`.
//!
//! A scenario only sees two [`Peer`]s (one ferrozmq socket, one libzmq socket, in the
//! roles the table names), already bound and connected, and talks through a uniform
//! "send these frames / receive a whole message" interface, so each one is written
//! once. Every test owns its contexts, so tests are independent and run in parallel.

mod common;
use common::interop::{BindAddr, Impl, Transport};

use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::SocketType::{self, Dealer, Pair, Pull, Push, Rep, Req, Router};
use ferrozmq::{Error, EventKind};

/// How long any single send or receive may block before the test fails.
const TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT_MS: i32 = 10_000;

// ---------------------------------------------------------------------------------
// Harness: transports, endpoints, and a uniform view of both implementations.
// ---------------------------------------------------------------------------------

/// A role in a scenario: implementation, socket type, optional routing id.
#[derive(Clone, Copy, Debug)]
struct Role {
    imp: Impl,
    ty: SocketType,
    id: Option<&'static [u8]>,
}

fn ferro(ty: SocketType) -> Role {
    Role::new(Impl::Ferro, ty)
}

fn libzmq(ty: SocketType) -> Role {
    Role::new(Impl::Zmq, ty)
}

impl Role {
    fn new(imp: Impl, ty: SocketType) -> Role {
        Role { imp, ty, id: None }
    }

    fn id(self, id: &'static [u8]) -> Role {
        Role {
            id: Some(id),
            ..self
        }
    }
}

fn zmq_type(ty: SocketType) -> zmq::SocketType {
    match ty {
        Pair => zmq::PAIR,
        Push => zmq::PUSH,
        Pull => zmq::PULL,
        Req => zmq::REQ,
        Rep => zmq::REP,
        Dealer => zmq::DEALER,
        Router => zmq::ROUTER,
        other => panic!("no libzmq mapping for {other:?} in these tests"),
    }
}

/// One socket of either implementation, with its own context. Dropping it sets
/// linger to zero first, so a failed test never waits on undeliverable messages;
/// scenarios therefore drop a sender only after its messages were received.
enum Peer {
    Ferro(Box<ferrozmq::Socket>),
    Zmq(zmq::Socket),
}

impl Peer {
    fn new(role: Role) -> Peer {
        match role.imp {
            Impl::Ferro => {
                let s = ferrozmq::Context::new()
                    .socket(role.ty)
                    .expect("ferrozmq socket");
                s.set_recv_timeout(Some(TIMEOUT));
                s.set_send_timeout(Some(TIMEOUT));
                if let Some(id) = role.id {
                    s.set_routing_id(id).expect("ferrozmq set_routing_id");
                }
                Peer::Ferro(Box::new(s))
            }
            Impl::Zmq => {
                let s = zmq::Context::new()
                    .socket(zmq_type(role.ty))
                    .expect("libzmq socket");
                s.set_rcvtimeo(TIMEOUT_MS).expect("libzmq set_rcvtimeo");
                s.set_sndtimeo(TIMEOUT_MS).expect("libzmq set_sndtimeo");
                if let Some(id) = role.id {
                    s.set_identity(id).expect("libzmq set_identity");
                }
                Peer::Zmq(s)
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Peer::Ferro(_) => "ferrozmq",
            Peer::Zmq(_) => "libzmq",
        }
    }

    fn imp(&self) -> Impl {
        match self {
            Peer::Ferro(_) => Impl::Ferro,
            Peer::Zmq(_) => Impl::Zmq,
        }
    }

    /// Binds and returns the resolved endpoint (tcp port filled in).
    fn bind(&self, addr: &str) -> String {
        match self {
            Peer::Ferro(s) => {
                s.bind(addr)
                    .unwrap_or_else(|e| panic!("ferrozmq bind {addr}: {e}"));
                s.last_endpoint()
            }
            Peer::Zmq(s) => {
                s.bind(addr)
                    .unwrap_or_else(|e| panic!("libzmq bind {addr}: {e}"));
                s.get_last_endpoint()
                    .expect("libzmq last_endpoint")
                    .expect("utf-8 endpoint")
            }
        }
    }

    fn connect(&self, addr: &str) {
        match self {
            Peer::Ferro(s) => s
                .connect(addr)
                .unwrap_or_else(|e| panic!("ferrozmq connect {addr}: {e}")),
            Peer::Zmq(s) => s
                .connect(addr)
                .unwrap_or_else(|e| panic!("libzmq connect {addr}: {e}")),
        }
    }

    /// Sends one message made of `frames` (at least one).
    fn send<F: AsRef<[u8]>>(&self, frames: &[F]) {
        match self {
            Peer::Ferro(s) => s
                .send_multipart(frames.iter().map(|f| f.as_ref()))
                .unwrap_or_else(|e| panic!("ferrozmq send: {e}")),
            Peer::Zmq(s) => s
                .send_multipart(frames.iter().map(|f| f.as_ref()), 0)
                .unwrap_or_else(|e| panic!("libzmq send: {e}")),
        }
    }

    /// Receives one whole message.
    fn recv(&self) -> Vec<Vec<u8>> {
        match self {
            Peer::Ferro(s) => s
                .recv_multipart()
                .unwrap_or_else(|e| panic!("ferrozmq recv: {e}"))
                .into_iter()
                .map(|m| m.to_vec())
                .collect(),
            Peer::Zmq(s) => s
                .recv_multipart(0)
                .unwrap_or_else(|e| panic!("libzmq recv: {e}")),
        }
    }

    fn ferro(&self) -> &ferrozmq::Socket {
        match self {
            Peer::Ferro(s) => s,
            Peer::Zmq(_) => panic!("expected the ferrozmq peer"),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        match self {
            Peer::Ferro(s) => s.set_linger(Some(Duration::ZERO)),
            Peer::Zmq(s) => {
                let _ = s.set_linger(0);
            }
        }
    }
}

/// Creates the two roles, lets the `binder` implementation bind on a fresh endpoint of
/// `transport` and the other connect to it, then plays `scenario(a, b)`.
fn run(transport: Transport, binder: Impl, a: Role, b: Role, scenario: impl FnOnce(Peer, Peer)) {
    assert_ne!(
        a.imp, b.imp,
        "one role must be ferrozmq and the other libzmq"
    );
    let addr = BindAddr::new(transport);
    let (a, b) = (Peer::new(a), Peer::new(b));
    let (binding, connecting) = if a.imp() == binder {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let endpoint = binding.bind(&addr.addr);
    connecting.connect(&endpoint);
    scenario(a, b);
}

/// Expands `name: role_a, role_b => scenario;` into `mod name` holding four tests:
/// {tcp, ipc} × {ferrozmq binds, libzmq binds}. Attributes (e.g. `#[ignore]`) before
/// the name apply to all four.
macro_rules! interop {
    ($( $(#[$attr:meta])* $name:ident : $a:expr, $b:expr => $scenario:expr; )+) => {$(
        mod $name {
            use super::*;
            #[test] $(#[$attr])* fn tcp_ferrozmq_binds() { run(Transport::Tcp, Impl::Ferro, $a, $b, $scenario) }
            #[test] $(#[$attr])* fn tcp_libzmq_binds() { run(Transport::Tcp, Impl::Zmq, $a, $b, $scenario) }
            #[test] $(#[$attr])* fn ipc_ferrozmq_binds() { run(Transport::Ipc, Impl::Ferro, $a, $b, $scenario) }
            #[test] $(#[$attr])* fn ipc_libzmq_binds() { run(Transport::Ipc, Impl::Zmq, $a, $b, $scenario) }
        }
    )+};
}

// ---------------------------------------------------------------------------------
// Payloads and checks.
// ---------------------------------------------------------------------------------

/// Deterministic bytes: `i * 31 + seed` (wrapping), so misplaced or shifted bytes show.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The messages every pattern carries: one frame of each interesting size (0, 1, the
/// short/long frame boundary 255/256, and 1 MB), then multipart messages with empty
/// frames in leading, inner and trailing positions.
fn payloads() -> Vec<Vec<Vec<u8>>> {
    let mut msgs: Vec<Vec<Vec<u8>>> = [0, 1, 255, 256, 1_000_000]
        .iter()
        .enumerate()
        .map(|(i, &len)| vec![pattern(len, i as u8)])
        .collect();
    msgs.push(vec![b"alpha".to_vec(), b"beta".to_vec(), b"gamma".to_vec()]);
    msgs.push(vec![
        b"head".to_vec(),
        Vec::new(),
        pattern(1, 7),
        pattern(255, 8),
        Vec::new(),
        pattern(256, 9),
        pattern(1_000_000, 10),
        Vec::new(),
    ]);
    msgs.push(vec![
        Vec::new(),
        b"after an empty first frame".to_vec(),
        pattern(300, 11),
    ]);
    msgs.push(vec![Vec::new(), Vec::new(), Vec::new()]);
    msgs
}

/// Compares messages frame by frame without dumping megabytes on failure.
#[track_caller]
fn check(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    let sizes = |m: &[Vec<u8>]| m.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: frame count (got sizes {:?}, want {:?})",
        sizes(got),
        sizes(want)
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: frame {i} length");
        if let Some(at) = g.iter().zip(w).position(|(x, y)| x != y) {
            panic!(
                "{what}: frame {i} differs at byte {at}: got {:#04x}, want {:#04x}",
                g[at], w[at]
            );
        }
    }
}

/// `frames` with `head` frames prepended (routing envelopes).
fn with_head(head: &[&[u8]], frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    head.iter()
        .map(|h| h.to_vec())
        .chain(frames.iter().cloned())
        .collect()
}

// ---------------------------------------------------------------------------------
// Scenarios. Argument order follows the roles in the table.
// ---------------------------------------------------------------------------------

/// `from` sends every payload, `to` receives each intact.
fn deliver_all(from: &Peer, to: &Peer) {
    let msgs = payloads();
    for m in &msgs {
        from.send(m);
    }
    for (i, m) in msgs.iter().enumerate() {
        check(
            &to.recv(),
            m,
            &format!("{} -> {}, message {i}", from.name(), to.name()),
        );
    }
}

fn pair_both_ways(a: Peer, b: Peer) {
    deliver_all(&a, &b);
    deliver_all(&b, &a);
}

fn push_to_pull(push: Peer, pull: Peer) {
    deliver_all(&push, &pull);
}

/// Each payload as a request, echoed back as the reply.
fn req_rep_echo(req: Peer, rep: Peer) {
    for (i, m) in payloads().iter().enumerate() {
        req.send(m);
        let got = rep.recv();
        check(&got, m, &format!("request {i} at {} REP", rep.name()));
        rep.send(&got);
        check(&req.recv(), m, &format!("reply {i} at {} REQ", req.name()));
    }
}

/// DEALER sends payloads; ROUTER sees `[routing id, ...]` and routes an echo back.
fn dealer_router_echo(dealer: Peer, router: Peer) {
    let mut peer_id: Option<Vec<u8>> = None;
    for (i, m) in payloads().iter().enumerate() {
        dealer.send(m);
        let got = router.recv();
        assert!(
            !got.is_empty() && !got[0].is_empty(),
            "ROUTER message {i} needs a non-empty routing id"
        );
        let id: &[u8] = peer_id.get_or_insert_with(|| got[0].clone());
        check(
            &got,
            &with_head(&[id], m),
            &format!("message {i} at {} ROUTER", router.name()),
        );
        router.send(&got);
        check(
            &dealer.recv(),
            m,
            &format!("reply {i} at {} DEALER", dealer.name()),
        );
    }
}

/// REQ's envelope as a ROUTER application sees it: `[id, "", body...]`; the reply
/// goes back through the same envelope and REQ sees only the body.
fn req_router(req: Peer, router: Peer) {
    for round in 0..3 {
        let body = format!("request {round}");
        req.send(&[body.as_bytes(), b"second frame"]);
        let got = router.recv();
        assert_eq!(got.len(), 4, "ROUTER got {got:?}");
        assert!(!got[0].is_empty(), "routing id must not be empty");
        let id = got[0].clone();
        check(
            &got,
            &with_head(
                &[&id[..], b""],
                &[body.into_bytes(), b"second frame".to_vec()],
            ),
            "ROUTER view",
        );
        router.send(&[&id[..], b"", b"reply", format!("{round}").as_bytes()]);
        check(
            &req.recv(),
            &[b"reply".to_vec(), format!("{round}").into_bytes()],
            "REQ view",
        );
    }
}

/// DEALER talking to REP must add the empty delimiter itself, and gets it back.
fn dealer_rep(dealer: Peer, rep: Peer) {
    for (i, m) in payloads().iter().enumerate() {
        dealer.send(&with_head(&[b""], m));
        let got = rep.recv();
        check(&got, m, &format!("request {i} at {} REP", rep.name()));
        rep.send(&got);
        check(
            &dealer.recv(),
            &with_head(&[b""], m),
            &format!("reply {i} at {} DEALER", dealer.name()),
        );
    }
}

/// An explicitly named DEALER: ROUTER sees exactly that id and can address it.
fn named_dealer_router(dealer: Peer, router: Peer, id: &[u8]) {
    dealer.send(&[b"hello from a named dealer"]);
    check(
        &router.recv(),
        &[id.to_vec(), b"hello from a named dealer".to_vec()],
        "ROUTER view",
    );
    router.send(&[id, b"", b"hi", &pattern(256, 3)[..]]);
    check(
        &dealer.recv(),
        &[Vec::new(), b"hi".to_vec(), pattern(256, 3)],
        "DEALER view",
    );
}

fn alice_to_router(dealer: Peer, router: Peer) {
    named_dealer_router(dealer, router, b"alice");
}

fn bob_to_router(dealer: Peer, router: Peer) {
    named_dealer_router(dealer, router, b"bob");
}

/// 10 000 small numbered messages arrive complete and in order (the sender runs on
/// its own thread, since it outruns the high-water mark).
fn ordered_stream(push: Peer, pull: Peer) {
    const N: u32 = 10_000;
    let sender = thread::spawn(move || {
        for i in 0..N {
            push.send(&[i.to_le_bytes()]);
        }
        push // dropped only after the receiver is done
    });
    for i in 0..N {
        let got = pull.recv();
        assert_eq!(
            got,
            vec![i.to_le_bytes().to_vec()],
            "message {i} at {} PULL",
            pull.name()
        );
    }
    let _push = sender.join().expect("sender thread");
}

interop! {
    pair: ferro(Pair), libzmq(Pair) => pair_both_ways;

    ferrozmq_push_to_libzmq_pull: ferro(Push), libzmq(Pull) => push_to_pull;
    libzmq_push_to_ferrozmq_pull: libzmq(Push), ferro(Pull) => push_to_pull;

    ferrozmq_req_to_libzmq_rep: ferro(Req), libzmq(Rep) => req_rep_echo;
    libzmq_req_to_ferrozmq_rep: libzmq(Req), ferro(Rep) => req_rep_echo;

    ferrozmq_dealer_to_libzmq_router: ferro(Dealer), libzmq(Router) => dealer_router_echo;
    libzmq_dealer_to_ferrozmq_router: libzmq(Dealer), ferro(Router) => dealer_router_echo;

    ferrozmq_req_to_libzmq_router: ferro(Req), libzmq(Router) => req_router;
    libzmq_req_to_ferrozmq_router: libzmq(Req), ferro(Router) => req_router;

    ferrozmq_dealer_to_libzmq_rep: ferro(Dealer), libzmq(Rep) => dealer_rep;
    libzmq_dealer_to_ferrozmq_rep: libzmq(Dealer), ferro(Rep) => dealer_rep;

    libzmq_dealer_alice_to_ferrozmq_router: libzmq(Dealer).id(b"alice"), ferro(Router) => alice_to_router;
    ferrozmq_dealer_bob_to_libzmq_router: ferro(Dealer).id(b"bob"), libzmq(Router) => bob_to_router;

    ordering_ferrozmq_push_to_libzmq_pull: ferro(Push), libzmq(Pull) => ordered_stream;
    ordering_libzmq_push_to_ferrozmq_pull: libzmq(Push), ferro(Pull) => ordered_stream;
}

// ---------------------------------------------------------------------------------
// One ROUTER, two named DEALERs of different implementations.
// ---------------------------------------------------------------------------------

/// A ROUTER of `router_imp` with a libzmq DEALER "alice" and a ferrozmq DEALER "bob":
/// each request arrives under its sender's id and each reply reaches only its owner.
fn router_with_two_named_dealers(transport: Transport, router_imp: Impl) {
    let addr = BindAddr::new(transport);
    let router = Peer::new(Role::new(router_imp, Router));
    let endpoint = router.bind(&addr.addr);
    let alice = Peer::new(libzmq(Dealer).id(b"alice"));
    let bob = Peer::new(ferro(Dealer).id(b"bob"));
    alice.connect(&endpoint);
    bob.connect(&endpoint);
    alice.send(&[b"from alice"]);
    bob.send(&[b"from bob"]);
    let mut seen = vec![router.recv(), router.recv()];
    seen.sort();
    assert_eq!(
        seen,
        vec![
            vec![b"alice".to_vec(), b"from alice".to_vec()],
            vec![b"bob".to_vec(), b"from bob".to_vec()]
        ]
    );
    // Reply to bob first, although alice sent first: routing, not order, decides.
    router.send(&[&b"bob"[..], b"for bob"]);
    router.send(&[&b"alice"[..], b"for alice"]);
    check(&alice.recv(), &[b"for alice".to_vec()], "alice");
    check(&bob.recv(), &[b"for bob".to_vec()], "bob");
}

#[test]
fn two_named_dealers_tcp_ferrozmq_router() {
    router_with_two_named_dealers(Transport::Tcp, Impl::Ferro);
}

#[test]
fn two_named_dealers_tcp_libzmq_router() {
    router_with_two_named_dealers(Transport::Tcp, Impl::Zmq);
}

#[test]
fn two_named_dealers_ipc_ferrozmq_router() {
    router_with_two_named_dealers(Transport::Ipc, Impl::Ferro);
}

#[test]
fn two_named_dealers_ipc_libzmq_router() {
    router_with_two_named_dealers(Transport::Ipc, Impl::Zmq);
}

// ---------------------------------------------------------------------------------
// Socket-type mismatch: the handshake fails, nothing is delivered, nobody crashes.
// ---------------------------------------------------------------------------------

/// Polls the ferrozmq socket's events (consuming them) for up to `within` until one of
/// `kind` shows up; returns its detail.
fn wait_for_event(s: &ferrozmq::Socket, kind: EventKind, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        for e in s.take_events() {
            if e.kind == kind {
                return e.detail;
            }
            seen.push(e);
        }
        assert!(
            Instant::now() < deadline,
            "no {kind:?} event within {within:?}; events: {seen:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

fn wait_handshake_failed(s: &ferrozmq::Socket) -> String {
    wait_for_event(
        s,
        EventKind::HandshakeFailedProtocol,
        Duration::from_secs(2),
    )
}

#[track_caller]
fn assert_type_reason(detail: &str, peer_type: &str) {
    assert!(
        detail.to_lowercase().contains("socket type") && detail.contains(peer_type),
        "handshake failure reason should name the socket-type mismatch with {peer_type}: {detail:?}"
    );
}

/// libzmq `bad` connects to a ferrozmq `ours` that binds: the handshake fails with a
/// socket-type reason, nothing `bad` sent is delivered, and afterwards the ferrozmq
/// socket still works with a compatible libzmq `good` peer.
fn mismatch_libzmq_connects(
    transport: Transport,
    ours: SocketType,
    bad: SocketType,
    good: SocketType,
) {
    let addr = BindAddr::new(transport);
    let ferro_peer = Peer::new(ferro(ours));
    let endpoint = ferro_peer.bind(&addr.addr);
    let s = ferro_peer.ferro();
    s.take_events();

    let intruder = Peer::new(libzmq(bad));
    intruder.connect(&endpoint);
    if let Peer::Zmq(z) = &intruder {
        // Queued on the pending pipe, if libzmq takes it at all; must never arrive.
        let _ = z.send("must not arrive", zmq::DONTWAIT);
    }
    let detail = wait_handshake_failed(s);
    assert_type_reason(&detail, bad.name());
    if ours != Push {
        assert!(
            matches!(s.try_recv(), Err(Error::WouldBlock)),
            "a mismatched peer's message was delivered"
        );
    }

    // The ferrozmq socket is unharmed: a compatible peer is served normally.
    let friend = Peer::new(libzmq(good));
    friend.connect(&endpoint);
    match ours {
        Push => {
            ferro_peer.send(&[b"still works"]);
            check(
                &friend.recv(),
                &[b"still works".to_vec()],
                "compatible peer after the mismatch",
            );
        }
        _ => {
            friend.send(&[b"still works"]);
            check(
                &ferro_peer.recv(),
                &[b"still works".to_vec()],
                "first message after the mismatch",
            );
        }
    }
    assert_eq!(
        ferro_peer.ferro().peer_count(),
        1,
        "only the compatible peer is attached"
    );
}

/// ferrozmq `ours` connects to a libzmq `bad` that binds: ferrozmq reports the
/// failure, and a libzmq `good` peer bound elsewhere still gets served afterwards.
fn mismatch_ferrozmq_connects(
    transport: Transport,
    ours: SocketType,
    bad: SocketType,
    good: SocketType,
) {
    let addr = BindAddr::new(transport);
    let stranger = Peer::new(libzmq(bad));
    let endpoint = stranger.bind(&addr.addr);
    let ferro_peer = Peer::new(ferro(ours));
    ferro_peer.connect(&endpoint);
    let s = ferro_peer.ferro();
    let detail = wait_handshake_failed(s);
    assert_type_reason(&detail, bad.name());

    let addr2 = BindAddr::new(transport);
    let friend = Peer::new(libzmq(good));
    let endpoint2 = friend.bind(&addr2.addr);
    ferro_peer.connect(&endpoint2);
    ferro_peer.send(&[b"still works"]);
    check(
        &friend.recv(),
        &[b"still works".to_vec()],
        "compatible peer after the mismatch",
    );
}

#[test]
fn mismatch_libzmq_push_to_ferrozmq_push_tcp() {
    mismatch_libzmq_connects(Transport::Tcp, Push, Push, Pull);
}

#[test]
fn mismatch_libzmq_push_to_ferrozmq_push_ipc() {
    mismatch_libzmq_connects(Transport::Ipc, Push, Push, Pull);
}

#[test]
fn mismatch_libzmq_pair_to_ferrozmq_pull_tcp() {
    mismatch_libzmq_connects(Transport::Tcp, Pull, Pair, Push);
}

#[test]
fn mismatch_libzmq_pair_to_ferrozmq_pull_ipc() {
    mismatch_libzmq_connects(Transport::Ipc, Pull, Pair, Push);
}

#[test]
fn mismatch_ferrozmq_push_to_libzmq_push_tcp() {
    mismatch_ferrozmq_connects(Transport::Tcp, Push, Push, Pull);
}

#[test]
fn mismatch_ferrozmq_push_to_libzmq_push_ipc() {
    mismatch_ferrozmq_connects(Transport::Ipc, Push, Push, Pull);
}

// ---------------------------------------------------------------------------------
// Beyond the matrix: connection lifecycle and envelope edge cases.
// ---------------------------------------------------------------------------------

/// ferrozmq may connect before libzmq binds (and vice versa): messages sent meanwhile
/// are queued and delivered once the peer appears.
fn connect_before_bind(sender_imp: Impl) {
    let addr = BindAddr::new(Transport::Ipc);
    let push = Peer::new(Role::new(sender_imp, Push));
    push.connect(&addr.addr);
    for i in 0..5u8 {
        push.send(&[pattern(300, i)]);
    }
    thread::sleep(Duration::from_millis(100));
    let pull = Peer::new(Role::new(sender_imp.other(), Pull));
    pull.bind(&addr.addr);
    for i in 0..5u8 {
        check(
            &pull.recv(),
            &[pattern(300, i)],
            &format!("queued message {i}"),
        );
    }
}

#[test]
fn ferrozmq_connects_before_libzmq_binds() {
    connect_before_bind(Impl::Ferro);
}

#[test]
fn libzmq_connects_before_ferrozmq_binds() {
    connect_before_bind(Impl::Zmq);
}

/// A ferrozmq connecter reconnects when the libzmq binder goes away and comes back.
/// It sends only once the new handshake is done: a message handed to the old, dead
/// link is lost in flight, in libzmq as well.
fn reconnect_after_libzmq_restart(transport: Transport) {
    let addr = BindAddr::new(transport);
    let pull = Peer::new(libzmq(Pull));
    let endpoint = pull.bind(&addr.addr);
    let push = Peer::new(ferro(Push));
    push.connect(&endpoint);
    push.send(&[b"before restart"]);
    check(&pull.recv(), &[b"before restart".to_vec()], "first binder");
    push.ferro().take_events();
    drop(pull);
    let pull = Peer::new(libzmq(Pull));
    pull.bind(&endpoint);
    wait_for_event(push.ferro(), EventKind::HandshakeSucceeded, TIMEOUT);
    push.send(&[b"after restart"]);
    check(
        &pull.recv(),
        &[b"after restart".to_vec()],
        "restarted binder",
    );
}

#[test]
fn reconnect_after_libzmq_restart_tcp() {
    reconnect_after_libzmq_restart(Transport::Tcp);
}

#[test]
fn reconnect_after_libzmq_restart_ipc() {
    reconnect_after_libzmq_restart(Transport::Ipc);
}

/// libzmq REQ with REQ_CORRELATE puts a request id before the delimiter: ferrozmq REP
/// must hand back the whole envelope, and with REQ_RELAXED a stale reply is dropped.
#[test]
fn libzmq_req_correlate_relaxed_to_ferrozmq_rep() {
    run(
        Transport::Tcp,
        Impl::Ferro,
        libzmq(Req),
        ferro(Rep),
        |req, rep| {
            if let Peer::Zmq(z) = &req {
                z.set_req_correlate(true).expect("REQ_CORRELATE");
                z.set_req_relaxed(true).expect("REQ_RELAXED");
            }
            req.send(&[b"first"]);
            check(&rep.recv(), &[b"first".to_vec()], "first request");
            req.send(&[b"second"]); // gives up on the first
            rep.send(&[b"stale reply"]);
            check(&rep.recv(), &[b"second".to_vec()], "second request");
            rep.send(&[b"fresh reply"]);
            check(
                &req.recv(),
                &[b"fresh reply".to_vec()],
                "only the reply to the live request",
            );
        },
    );
}

/// As libzmq's REP does, a request without an empty delimiter is silently dropped.
#[test]
fn ferrozmq_rep_drops_request_without_delimiter() {
    run(
        Transport::Tcp,
        Impl::Ferro,
        libzmq(Dealer),
        ferro(Rep),
        |dealer, rep| {
            dealer.send(&[b"no delimiter"]);
            dealer.send(&[&b""[..], b"well formed"]);
            check(&rep.recv(), &[b"well formed".to_vec()], "REP");
            rep.send(&[b"ok"]);
            check(&dealer.recv(), &[Vec::new(), b"ok".to_vec()], "DEALER");
        },
    );
}

/// As libzmq's REQ does, a reply without the empty delimiter is silently dropped.
#[test]
fn ferrozmq_req_drops_reply_without_delimiter() {
    run(
        Transport::Tcp,
        Impl::Zmq,
        ferro(Req),
        libzmq(Router),
        |req, router| {
            req.send(&[b"question"]);
            let id = router.recv()[0].clone();
            router.send(&[&id[..], b"no delimiter"]);
            router.send(&[&id[..], b"", b"answer"]);
            check(&req.recv(), &[b"answer".to_vec()], "REQ");
        },
    );
}

/// Routing ids of the maximum length (255 bytes) pass the handshake both ways.
#[test]
fn longest_routing_ids() {
    const LONG: &[u8] = &[b'z'; 255];
    run(
        Transport::Tcp,
        Impl::Ferro,
        libzmq(Dealer).id(LONG),
        ferro(Router),
        |d, r| named_dealer_router(d, r, LONG),
    );
    run(
        Transport::Ipc,
        Impl::Zmq,
        ferro(Dealer).id(LONG),
        libzmq(Router),
        |d, r| named_dealer_router(d, r, LONG),
    );
}

/// Messages queued before a socket is dropped are still delivered within its linger
/// period, as in libzmq, whether the sender bound or connected. Regression test: a
/// connecter used to be stopped at close, discarding its queue (fixed in 0e6daf8).
/// 30 MB are queued so that most of it is still inside ferrozmq at the drop; the
/// libzmq receiver reads only afterwards, with a RCVHWM above the message count. (A
/// receiver stalled at its RCVHWM would not do: over ipc, libzmq then drops the tail
/// when the peer closes, zeromq/libzmq#4660, whoever the sender is.)
fn linger_delivers_after_close(transport: Transport, ferrozmq_binds: bool) {
    const N: u32 = 300;
    const SIZE: usize = 100_000;
    let addr = BindAddr::new(transport);
    // The context outlives the socket: dropping a context's last handle waits for
    // lingering messages (as zmq_ctx_term does), and we read only after the drop.
    let ctx = ferrozmq::Context::new();
    let push = ctx.socket(Push).expect("ferrozmq socket");
    push.set_send_timeout(Some(TIMEOUT));
    // Long enough to deliver everything, short enough that a failure cannot hang.
    push.set_linger(Some(Duration::from_secs(5)));
    // Declared after `ctx`, so on failure it closes first and cannot block the context.
    let pull = zmq::Context::new()
        .socket(zmq::PULL)
        .expect("libzmq socket");
    pull.set_rcvtimeo(TIMEOUT_MS).expect("RCVTIMEO");
    pull.set_linger(0).expect("LINGER");
    if ferrozmq_binds {
        push.bind(&addr.addr).expect("bind");
        pull.connect(&push.last_endpoint()).expect("connect");
    } else {
        pull.bind(&addr.addr).expect("bind");
        push.connect(&pull.get_last_endpoint().unwrap().unwrap())
            .expect("connect");
    }
    // Built up front (cheap clones), so the sends outrun the I/O thread.
    let msgs: Vec<ferrozmq::Message> = (0..N).map(|i| pattern(SIZE, i as u8).into()).collect();
    for m in &msgs {
        push.send(m).expect("send");
    }
    drop(push); // everything queued must still be delivered
    pull.set_rcvtimeo(2000).expect("RCVTIMEO");
    for (i, m) in msgs.iter().enumerate() {
        let got = pull
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("message {i} of {N} lost after close: {e}"));
        assert!(got[..] == m[..], "message {i} corrupted");
    }
    drop(pull);
    drop(ctx);
}

#[test]
fn linger_delivers_after_close_bound_tcp() {
    linger_delivers_after_close(Transport::Tcp, true);
}

#[test]
fn linger_delivers_after_close_bound_ipc() {
    linger_delivers_after_close(Transport::Ipc, true);
}

#[test]
fn linger_delivers_after_close_connected_tcp() {
    linger_delivers_after_close(Transport::Tcp, false);
}

#[test]
fn linger_delivers_after_close_connected_ipc() {
    linger_delivers_after_close(Transport::Ipc, false);
}
