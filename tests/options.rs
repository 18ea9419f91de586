//! Socket options with libzmq's meanings, checked from the outside.
//!
//! What this file proves, option by option:
//! * HEARTBEAT_IVL / _TIMEOUT / _TTL: we send ZMTP PINGs (command frames `\x04PING` +
//!   TTL in tenths of a second + context) at the interval; a peer that never answers is
//!   dropped within about the timeout (with a `Disconnected` event naming the
//!   heartbeat) and, on the connecting side, redialled; a peer that answers is kept;
//!   a peer whose PING asks for a TTL is dropped by us when it goes silent that long
//!   (and kept while it keeps pinging).
//! * RECONNECT_IVL / _IVL_MAX: `ConnectRetried` values and spacing follow the doubling
//!   back-off, capped, starting over after a connection; a fixed interval without the
//!   max; no retry without an interval.
//! * RECONNECT_STOP: no retry after a refused connect, a failed handshake, or a
//!   dropped link.
//! * CONNECT_TIMEOUT: a connect the kernel leaves hanging (a listener whose accept queue
//!   is full drops SYNs) is abandoned and retried after the timeout.
//! * TCP_KEEPALIVE*, SNDBUF, RCVBUF: applied to both connected and accepted tcp sockets
//!   (read back with `getsockopt` on the fd the monitor reports); invalid sizes refused.
//! * IPV6: `tcp://*` binds dual-stack and accepts `[::1]` and `127.0.0.1`; without the
//!   option IPv6 literals are refused.
//! * CONNECT_ROUTING_ID: a ROUTER names the peer of its next connect.
//! * IMMEDIATE: nothing is queued towards peers whose connection is not up.
//! * Options that do not apply to a socket type are `Error::InvalidOption`.
//! * Read-only state: socket type, RCVMORE, EVENTS, LAST_ENDPOINT.
//! * SNDTIMEO, RCVTIMEO and LINGER bound the blocking calls and the context's drop.
//!
//! Raw peers are plain `std::net` sockets speaking hand-built ZMTP 3.1 (ZMTP.md). Every
//! blocking call has a timeout, and timing assertions leave generous margins: they
//! prove an order of magnitude, not a scheduler's punctuality.

mod common;
use common::zmtp::{closed_within, null_greeting, read_exact, read_frame, ready};
use common::{collect_events, free_tcp_port, ms, socket, unique, wait_event, TIMEOUT};

use std::collections::BTreeSet;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{
    Context, Error, EventKind, EventMask, MonitorEvents, ReconnectStop, SendError, Socket,
    SocketEvent, SocketType, TcpKeepalive,
};

// ---------------------------------------------------------------- events

fn kinds(events: &[(Instant, SocketEvent)]) -> Vec<EventKind> {
    events.iter().map(|(_, e)| e.kind).collect()
}

// ---------------------------------------------------------------- wire helpers

fn command(body: &[u8]) -> Vec<u8> {
    assert!(body.len() <= 255);
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(body);
    f
}

fn ping(ttl_tenths: u16, context: &[u8]) -> Vec<u8> {
    let mut body = b"\x04PING".to_vec();
    body.extend_from_slice(&ttl_tenths.to_be_bytes());
    body.extend_from_slice(context);
    command(&body)
}

fn prepare(s: &TcpStream) {
    s.set_nonblocking(false).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(ms(50))).unwrap();
}

/// Connects a raw peer to a `tcp://host:port` endpoint.
fn raw(endpoint: &str) -> TcpStream {
    let addr = endpoint.strip_prefix("tcp://").expect("tcp endpoint");
    let s = TcpStream::connect(addr).expect("raw connect");
    prepare(&s);
    s
}

/// A raw listener on a free loopback port, and its `tcp://` endpoint.
fn raw_listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let ep = format!("tcp://{}", l.local_addr().unwrap());
    (l, ep)
}

/// The next connection on a raw listener, if one comes within `within`.
fn accept_within(l: &TcpListener, within: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + within;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                prepare(&s);
                return Some(s);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return None;
                }
                thread::sleep(ms(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Sends our greeting and READY as `socket_type`, and reads ferrozmq's (checking that
/// the READY is one).
fn handshake(s: &mut TcpStream, socket_type: &str) {
    let mut out = null_greeting();
    out.extend(ready(socket_type));
    s.write_all(&out).unwrap();
    let g = read_exact(s, 64);
    assert_eq!((g[0], g[10]), (0xff, 3), "a ZMTP 3 greeting");
    let (flags, body) = read_frame(s);
    assert_eq!(flags, 0x04, "READY is a command");
    assert!(body.starts_with(b"\x05READY"), "{body:?}");
}

/// Sends one message from a connected PUSH and checks the PULL gets it.
fn assert_flows(push: &Socket, pull: &Socket, text: &str) {
    push.send(text).unwrap();
    assert_eq!(pull.recv().unwrap(), text);
}

// ---------------------------------------------------------------- heartbeats

fn assert_heartbeat_disconnect(events: &MonitorEvents) {
    let (e, _) = wait_event(events, EventKind::Disconnected, TIMEOUT);
    assert!(
        e.detail.contains("heartbeat"),
        "the disconnect should name the heartbeat: {e:?}"
    );
}

/// Reads the first PING of a ferrozmq peer and returns its body after `\x04PING`.
fn read_ping(s: &mut TcpStream) -> Vec<u8> {
    let (flags, body) = read_frame(s);
    assert_eq!(flags, 0x04, "a PING is a command frame: {body:?}");
    assert!(
        body.starts_with(b"\x04PING"),
        "expected a PING, got {body:?}"
    );
    body[5..].to_vec()
}

#[test]
fn heartbeat_drops_a_silent_peer_and_the_connecter_redials() {
    let ctx = Context::new();
    let (listener, ep) = raw_listener();
    let push = socket(&ctx, SocketType::Push);
    push.set_heartbeat_ivl(Some(ms(100)));
    push.set_heartbeat_timeout(Some(ms(300)));
    push.set_reconnect_ivl(Some(ms(50)));
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();

    let mut s = accept_within(&listener, TIMEOUT).expect("ferrozmq connects");
    handshake(&mut s, "PULL");
    // HEARTBEAT_TTL unset: TTL 0, and no context.
    assert_eq!(read_ping(&mut s), b"\x00\x00");
    let first_ping = Instant::now();
    // Never answer: the link must go within about the timeout (300 ms after the PING).
    assert!(
        closed_within(&mut s, Duration::from_secs(3)),
        "a peer that never answers PINGs was kept for 3 s"
    );
    let took = first_ping.elapsed();
    assert!(
        took >= ms(150),
        "dropped {took:?} after the first PING, before the 300 ms timeout"
    );
    assert_heartbeat_disconnect(&events);
    // The connecting side dials again.
    let again = accept_within(&listener, TIMEOUT);
    assert!(again.is_some(), "no reconnect after the heartbeat timeout");
    assert!(push.stats().disconnects >= 1);
}

#[test]
fn heartbeat_drops_a_silent_peer_on_the_accepting_side() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_heartbeat_ivl(Some(ms(100)));
    pull.set_heartbeat_timeout(Some(ms(300)));
    let events = pull.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();

    let mut s = raw(&pull.last_endpoint());
    handshake(&mut s, "PUSH");
    assert_eq!(read_ping(&mut s), b"\x00\x00");
    let first_ping = Instant::now();
    assert!(
        closed_within(&mut s, Duration::from_secs(3)),
        "a peer that never answers PINGs was kept for 3 s"
    );
    assert!(first_ping.elapsed() >= ms(150));
    assert_heartbeat_disconnect(&events);
    // The listener still serves.
    let push = socket(&ctx, SocketType::Push);
    push.connect(&pull.last_endpoint()).unwrap();
    assert_flows(&push, &pull, "after the heartbeat drop");
}

#[test]
fn heartbeat_keeps_a_peer_that_answers() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_heartbeat_ivl(Some(ms(100)));
    pull.set_heartbeat_timeout(Some(ms(300)));
    let pull_events = pull.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_heartbeat_ivl(Some(ms(100)));
    push.set_heartbeat_timeout(Some(ms(300)));
    let push_events = push.monitor(EventMask::ALL);
    push.connect(&pull.last_endpoint()).unwrap();
    assert_flows(&push, &pull, "before");

    // No traffic for 1.2 s (four timeouts): first with the PULL's thread blocked in a
    // receive (it may read the wire itself then), then idle.
    pull.set_recv_timeout(Some(ms(600)));
    assert!(matches!(pull.recv(), Err(Error::TimedOut)));
    thread::sleep(ms(600));
    pull.set_recv_timeout(Some(TIMEOUT));
    assert_flows(&push, &pull, "after 1.2 s of heartbeats");

    for (name, events) in [("PUSH", &push_events), ("PULL", &pull_events)] {
        let seen = kinds(&collect_events(events, ms(10)));
        assert!(
            !seen.contains(&EventKind::Disconnected),
            "{name} dropped a peer that answers PINGs: {seen:?}"
        );
    }
    assert_eq!(push.stats().disconnects, 0);
    assert_eq!(pull.stats().disconnects, 0);
    assert_eq!(push.stats().connected, 1, "one connection throughout");
}

#[test]
fn our_pings_carry_the_ttl_in_tenths_of_a_second() {
    let ctx = Context::new();
    let (listener, ep) = raw_listener();
    let push = socket(&ctx, SocketType::Push);
    push.set_heartbeat_ivl(Some(ms(100)));
    push.set_heartbeat_timeout(Some(TIMEOUT));
    // 2.55 s is 25 tenths (rounded down).
    push.set_heartbeat_ttl(Some(ms(2550))).unwrap();
    push.connect(&ep).unwrap();

    let mut s = accept_within(&listener, TIMEOUT).expect("ferrozmq connects");
    handshake(&mut s, "PULL");
    let started = Instant::now();
    assert_eq!(read_ping(&mut s), 25u16.to_be_bytes());
    // And again at the interval.
    assert_eq!(read_ping(&mut s), 25u16.to_be_bytes());
    assert!(started.elapsed() < Duration::from_secs(2));

    // Out of range: the TTL travels as a u16 of tenths.
    assert!(matches!(
        push.set_heartbeat_ttl(Some(Duration::from_secs(7000))),
        Err(Error::InvalidOption(_))
    ));
    push.set_heartbeat_ttl(Some(ms(6_553_500))).unwrap();
}

/// A raw peer PINGs with TTL 0.3 s and falls silent; we answer the PING (echoing its
/// context) and drop the peer about 0.3 s later, with no heartbeats of our own.
fn peer_ttl_is_honoured(receiving: bool) {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let events = pull.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    // Optionally the application is blocked in a receive meanwhile, so its own thread
    // may be the one reading the wire.
    let (tx, rx) = mpsc::channel();
    let (idle, receiver) = if receiving {
        let h = thread::spawn(move || {
            pull.set_recv_timeout(Some(ms(1500)));
            let r = pull.recv();
            tx.send(()).unwrap();
            (pull, r.is_err())
        });
        (None, Some(h))
    } else {
        (Some(pull), None)
    };

    let mut s = raw(&ep);
    handshake(&mut s, "PUSH");
    s.write_all(&ping(3, b"ctx")).unwrap();
    let sent = Instant::now();
    let (flags, body) = read_frame(&mut s);
    assert_eq!((flags, &body[..]), (0x04, &b"\x04PONGctx"[..]), "the PONG");
    assert!(
        closed_within(&mut s, Duration::from_secs(3)),
        "a peer silent past the TTL of its PING was kept for 3 s"
    );
    let took = sent.elapsed();
    assert!(
        took >= ms(250),
        "dropped {took:?} after a PING with TTL 0.3 s"
    );
    assert_heartbeat_disconnect(&events);
    if let Some(h) = receiver {
        rx.recv_timeout(TIMEOUT).expect("receive returns");
        let (_pull, failed) = h.join().unwrap();
        assert!(failed, "nothing was sent, nothing received");
    }
    drop(idle);
}

#[test]
fn a_peer_silent_past_its_ping_ttl_is_dropped() {
    peer_ttl_is_honoured(false);
}

#[test]
fn a_peer_silent_past_its_ping_ttl_is_dropped_while_the_app_receives() {
    peer_ttl_is_honoured(true);
}

#[test]
fn a_ping_with_ttl_zero_sets_no_deadline() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut s = raw(&pull.last_endpoint());
    handshake(&mut s, "PUSH");
    s.write_all(&ping(0, b"")).unwrap();
    let (_, body) = read_frame(&mut s);
    assert_eq!(body, b"\x04PONG");
    assert!(
        !closed_within(&mut s, ms(1000)),
        "TTL 0 means no deadline, and we send no heartbeats"
    );
    // Still a working link.
    let mut data = vec![0x00, 2];
    data.extend_from_slice(b"ok");
    s.write_all(&data).unwrap();
    assert_eq!(pull.recv().unwrap(), "ok");
}

#[test]
fn a_peer_that_keeps_pinging_within_its_ttl_is_kept() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut s = raw(&pull.last_endpoint());
    handshake(&mut s, "PUSH");
    // PINGs with TTL 0.3 s every 100 ms for a second: each one moves the deadline
    // (and a message in the middle is delivered as usual).
    for i in 0..10u8 {
        s.write_all(&ping(3, &[i])).unwrap();
        let (_, body) = read_frame(&mut s);
        assert_eq!(body, [&b"\x04PONG"[..], &[i]].concat());
        if i == 5 {
            let mut data = vec![0x00, 5];
            data.extend_from_slice(b"alive");
            s.write_all(&data).unwrap();
            assert_eq!(pull.recv().unwrap(), "alive");
        }
        thread::sleep(ms(100));
    }
    // Then silence: gone after the TTL of the last PING.
    assert!(closed_within(&mut s, Duration::from_secs(3)));
}

// ---------------------------------------------------------------- reconnection

#[test]
fn reconnect_backs_off_exponentially_up_to_the_max() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(50)));
    push.set_reconnect_ivl_max(Some(ms(400)));
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    let all = collect_events(&events, ms(2000));
    let retried: Vec<_> = all
        .iter()
        .filter(|(_, e)| e.kind == EventKind::ConnectRetried)
        .collect();
    let values: Vec<u32> = retried.iter().map(|(_, e)| e.value).collect();
    eprintln!("ConnectRetried values: {values:?}");
    // 0, 50, 150, 350, 750, 1150, 1550, 1950 ms: about 8 in 2 s.
    assert!(
        values.len() >= 5,
        "expected at least 5 retries in 2 s: {values:?}"
    );
    assert!(
        values.len() <= 10,
        "too many retries for a back-off: {values:?}"
    );
    let expected: Vec<u32> = (0..values.len())
        .map(|i| (50u32 << i.min(4)).min(400))
        .collect();
    assert_eq!(values, expected, "50, 100, 200, 400, 400, ...");
    assert!(retried.iter().all(|(_, e)| e.endpoint == ep));
    // The attempts are spaced by the announced waits: never much sooner (the 40 ms
    // absorb a late read of the earlier event), and not absurdly later either.
    for pair in retried.windows(2) {
        let ((t0, e0), (t1, _)) = (pair[0], pair[1]);
        let gap = t1.duration_since(*t0);
        let wait = ms(u64::from(e0.value));
        assert!(
            gap + ms(40) >= wait && gap <= wait + ms(1500),
            "{gap:?} between retries after announcing {wait:?}"
        );
    }
    assert_eq!(push.stats().connected, 0);
    assert!(push.stats().reconnect_attempts >= values.len() as u64);
}

#[test]
fn reconnect_interval_stays_fixed_without_a_max() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(50)));
    let events = push.monitor(EventMask::of(&[EventKind::ConnectRetried]));
    push.connect(&ep).unwrap();
    let values: Vec<u32> = collect_events(&events, ms(700))
        .iter()
        .map(|(_, e)| e.value)
        .collect();
    assert!(values.len() >= 4, "retries every 50 ms: {values:?}");
    assert!(values.iter().all(|&v| v == 50), "{values:?}");
}

#[test]
fn no_reconnect_interval_means_one_attempt_then_closed() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(None);
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    let (closed, before) = wait_event(&events, EventKind::Closed, TIMEOUT);
    assert_eq!(closed.endpoint, ep);
    let after = collect_events(&events, ms(400));
    let all: Vec<EventKind> = before
        .iter()
        .map(|e| e.kind)
        .chain(after.iter().map(|(_, e)| e.kind))
        .collect();
    assert!(
        !all.contains(&EventKind::ConnectRetried),
        "retried without a reconnect interval: {all:?}"
    );
    assert!(
        all.iter()
            .filter(|k| **k == EventKind::ConnectDelayed)
            .count()
            <= 1,
        "more than one attempt: {all:?}"
    );
    assert_eq!(push.stats().reconnect_attempts, 0);
}

#[test]
fn reconnect_stop_on_refused_connection() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(50)));
    push.set_reconnect_stop(ReconnectStop {
        conn_refused: true,
        ..Default::default()
    });
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    let (closed, before) = wait_event(&events, EventKind::Closed, TIMEOUT);
    assert!(
        closed.detail.to_lowercase().contains("refused"),
        "{closed:?}"
    );
    let after = collect_events(&events, ms(500));
    let all: Vec<EventKind> = before
        .iter()
        .map(|e| e.kind)
        .chain(after.iter().map(|(_, e)| e.kind))
        .collect();
    assert!(!all.contains(&EventKind::ConnectRetried), "{all:?}");
    assert!(
        all.iter()
            .filter(|k| **k == EventKind::ConnectDelayed)
            .count()
            <= 1,
        "more than one attempt: {all:?}"
    );
    assert_eq!(push.stats().reconnect_attempts, 0);
}

#[test]
fn reconnect_stop_after_disconnect() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(50)));
    push.set_reconnect_stop(ReconnectStop {
        after_disconnect: true,
        ..Default::default()
    });
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    assert_flows(&push, &pull, "while connected");
    drop(pull);

    let (_, before) = wait_event(&events, EventKind::Disconnected, TIMEOUT);
    assert!(before.iter().all(|e| e.kind != EventKind::ConnectRetried));
    let (closed, between) = wait_event(&events, EventKind::Closed, TIMEOUT);
    assert_eq!(closed.endpoint, ep);
    assert!(between.iter().all(|e| e.kind != EventKind::ConnectRetried));

    // Someone listens there again: nobody comes.
    let addr = ep.strip_prefix("tcp://").unwrap();
    let deadline = Instant::now() + TIMEOUT;
    let listener = loop {
        match TcpListener::bind(addr) {
            Ok(l) => break l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("rebinding {addr}: {e}");
                thread::sleep(ms(20));
            }
            Err(e) => panic!("rebinding {addr}: {e}"),
        }
    };
    listener.set_nonblocking(true).unwrap();
    assert!(
        accept_within(&listener, ms(600)).is_none(),
        "reconnected despite RECONNECT_STOP after_disconnect"
    );
    let after = kinds(&collect_events(&events, ms(10)));
    assert!(!after.contains(&EventKind::ConnectRetried), "{after:?}");
    assert!(!after.contains(&EventKind::ConnectDelayed), "{after:?}");
}

/// A raw listener that accepts and never says anything: with HANDSHAKE_IVL 200 ms the
/// handshake fails on the connecting side. Returns whether a second connection came.
fn redials_after_failed_handshake(stop: bool) -> bool {
    let ctx = Context::new();
    let (listener, ep) = raw_listener();
    let push = socket(&ctx, SocketType::Push);
    push.set_handshake_ivl(Some(ms(200)));
    push.set_reconnect_ivl(Some(ms(50)));
    push.set_reconnect_stop(ReconnectStop {
        handshake_failed: stop,
        ..Default::default()
    });
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    let _first = accept_within(&listener, TIMEOUT).expect("ferrozmq connects");
    let (failed, _) = wait_event(&events, EventKind::HandshakeFailedNoDetail, TIMEOUT);
    assert_eq!(failed.endpoint, ep);
    if stop {
        let (closed, before) = wait_event(&events, EventKind::Closed, TIMEOUT);
        assert_eq!(closed.endpoint, ep);
        assert!(
            before.iter().all(|e| e.kind != EventKind::ConnectRetried),
            "{before:?}"
        );
    }
    accept_within(&listener, ms(if stop { 700 } else { 5000 })).is_some()
}

#[test]
fn reconnect_stop_after_failed_handshake() {
    assert!(
        !redials_after_failed_handshake(true),
        "redialled despite RECONNECT_STOP handshake_failed"
    );
    assert!(
        redials_after_failed_handshake(false),
        "without RECONNECT_STOP a handshake timeout is retried"
    );
}

#[test]
fn reconnect_back_off_restarts_after_a_connection() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(50)));
    push.set_reconnect_ivl_max(Some(ms(400)));
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    // Back off up to the max.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (e, _) = wait_event(&events, EventKind::ConnectRetried, TIMEOUT);
        if e.value == 400 {
            break;
        }
        assert!(Instant::now() < deadline, "never reached the max");
    }
    let pull = socket(&ctx, SocketType::Pull);
    bind_when_free(&pull, &ep);
    assert_flows(&push, &pull, "connected at last");
    wait_event(&events, EventKind::HandshakeSucceeded, TIMEOUT);
    drop(pull);
    wait_event(&events, EventKind::Disconnected, TIMEOUT);
    let values: Vec<u32> = (0..3)
        .map(|_| {
            wait_event(&events, EventKind::ConnectRetried, TIMEOUT)
                .0
                .value
        })
        .collect();
    assert_eq!(values, [50, 100, 200], "the back-off starts over");
}

// ---------------------------------------------------------------- connect timeout

/// A loopback listener whose accept queue is full: Linux drops further SYNs, so a
/// connect to it hangs. Returns `None` if this kernel does not behave that way.
fn hanging_listener() -> Option<(TcpListener, TcpStream, SocketAddr)> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // SAFETY: a valid listening fd owned by `listener`; listen(2) only changes its
    // queue length.
    let rc = unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), 0) };
    assert_eq!(rc, 0);
    // Fill the queue (one connection with backlog 0) and check that the next one hangs.
    let filler = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    match TcpStream::connect_timeout(&addr, ms(300)) {
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            Some((listener, filler, addr))
        }
        other => {
            eprintln!("a full accept queue does not make connects hang here: {other:?}");
            None
        }
    }
}

#[test]
fn connect_timeout_abandons_a_hanging_connect() {
    let ctx = Context::new();
    // With the option set, connections work as usual.
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_connect_timeout(Some(Duration::from_secs(1)));
    push.connect(&pull.last_endpoint()).unwrap();
    assert_flows(&push, &pull, "with CONNECT_TIMEOUT");

    let Some((_listener, _filler, addr)) = hanging_listener() else {
        eprintln!("skipping the hanging-connect part");
        return;
    };
    let ep = format!("tcp://{addr}");
    let timed = socket(&ctx, SocketType::Push);
    timed.set_connect_timeout(Some(ms(200)));
    timed.set_reconnect_ivl(Some(ms(100)));
    let timed_events = timed.monitor(EventMask::ALL);
    let patient = socket(&ctx, SocketType::Push);
    patient.set_reconnect_ivl(Some(ms(100)));
    let patient_events = patient.monitor(EventMask::ALL);
    timed.connect(&ep).unwrap();
    patient.connect(&ep).unwrap();

    let (_, before) = wait_event(&timed_events, EventKind::ConnectDelayed, TIMEOUT);
    let started = Instant::now();
    assert!(before.is_empty(), "{before:?}");
    let (retried, before) = wait_event(&timed_events, EventKind::ConnectRetried, TIMEOUT);
    let took = started.elapsed();
    assert!(
        before.iter().all(|e| e.kind != EventKind::Connected),
        "{before:?}"
    );
    assert!(
        retried.detail.contains("timed out"),
        "the retry should say why: {retried:?}"
    );
    assert!(
        took >= ms(150) && took < Duration::from_secs(3),
        "abandoned after {took:?} with CONNECT_TIMEOUT 200 ms"
    );
    // And it tries again.
    wait_event(&timed_events, EventKind::ConnectDelayed, TIMEOUT);

    // Without the option the same connect is still pending.
    let seen = kinds(&collect_events(&patient_events, ms(600)));
    assert_eq!(
        seen,
        [EventKind::ConnectDelayed],
        "without CONNECT_TIMEOUT the connect just waits"
    );
}

// ---------------------------------------------------------------- tcp tuning

fn sockopt(fd: i32, level: i32, name: i32) -> i32 {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` live across the call and `len` is the size of `value`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt: {}", std::io::Error::last_os_error());
    value
}

/// The local port of an IPv4 socket.
fn local_port(fd: i32) -> u16 {
    // SAFETY: an all-zero sockaddr_in is valid; getsockname writes at most `len` bytes.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let rc =
        unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len) };
    assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
    assert_eq!(i32::from(addr.sin_family), libc::AF_INET);
    u16::from_be(addr.sin_port)
}

fn port_of(address: &str) -> u16 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

/// Checks the tuning on the connection fd that `event` reports, first making sure the
/// fd is that connection (its local port is the event's).
fn assert_tuned(event: &SocketEvent) {
    let fd = event.value as i32;
    assert!(fd > 2, "{event:?}");
    assert_eq!(
        local_port(fd),
        port_of(&event.local),
        "fd is the connection"
    );
    let sol = libc::SOL_SOCKET;
    let tcp = libc::IPPROTO_TCP;
    assert_eq!(sockopt(fd, sol, libc::SO_KEEPALIVE), 1, "SO_KEEPALIVE");
    assert_eq!(sockopt(fd, tcp, libc::TCP_KEEPCNT), 5, "TCP_KEEPCNT");
    assert_eq!(sockopt(fd, tcp, libc::TCP_KEEPIDLE), 30, "TCP_KEEPIDLE");
    assert_eq!(sockopt(fd, tcp, libc::TCP_KEEPINTVL), 7, "TCP_KEEPINTVL");
    // Linux doubles what is asked (for its bookkeeping).
    assert!(sockopt(fd, sol, libc::SO_SNDBUF) >= 65536, "SO_SNDBUF");
    assert!(sockopt(fd, sol, libc::SO_RCVBUF) >= 65536, "SO_RCVBUF");
}

fn tune(s: &Socket) {
    s.set_tcp_keepalive(TcpKeepalive {
        enabled: Some(true),
        count: Some(5),
        idle: Some(Duration::from_secs(30)),
        interval: Some(Duration::from_secs(7)),
    });
    s.set_sndbuf(Some(65536)).unwrap();
    s.set_rcvbuf(Some(65536)).unwrap();
}

#[test]
fn tcp_keepalive_and_buffer_sizes_reach_the_kernel() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    tune(&pull);
    let pull_events = pull.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = socket(&ctx, SocketType::Push);
    tune(&push);
    let push_events = push.monitor(EventMask::ALL);
    push.connect(&pull.last_endpoint()).unwrap();
    // Both ends stay open while their fds are inspected.
    assert_flows(&push, &pull, "tuned");
    let (connected, _) = wait_event(&push_events, EventKind::Connected, TIMEOUT);
    let (accepted, _) = wait_event(&pull_events, EventKind::Accepted, TIMEOUT);
    assert_tuned(&connected);
    assert_tuned(&accepted);

    // A socket without the options gets the kernel's defaults (keepalive off): the
    // values above came from the options.
    let plain = socket(&ctx, SocketType::Push);
    let plain_events = plain.monitor(EventMask::ALL);
    plain.connect(&pull.last_endpoint()).unwrap();
    assert_flows(&plain, &pull, "untuned");
    let (connected, _) = wait_event(&plain_events, EventKind::Connected, TIMEOUT);
    let fd = connected.value as i32;
    assert_eq!(local_port(fd), port_of(&connected.local));
    assert_eq!(sockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 0);

    // Out-of-range buffer sizes.
    for bad in [0usize, i32::MAX as usize + 1] {
        assert!(matches!(
            push.set_sndbuf(Some(bad)),
            Err(Error::InvalidOption(_))
        ));
        assert!(matches!(
            push.set_rcvbuf(Some(bad)),
            Err(Error::InvalidOption(_))
        ));
    }
    push.set_sndbuf(None).unwrap();
    push.set_rcvbuf(None).unwrap();
}

// ---------------------------------------------------------------- IPv6

#[test]
fn ipv6_binds_dual_stack() {
    if let Err(e) = TcpListener::bind("[::1]:0") {
        eprintln!("no IPv6 loopback here ({e}); skipping");
        return;
    }
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_ipv6(true);
    let events = pull.monitor(EventMask::of(&[EventKind::Accepted]));
    pull.bind("tcp://*:*").unwrap();
    let port = port_of(&pull.last_endpoint());

    let v6 = socket(&ctx, SocketType::Push);
    v6.set_ipv6(true);
    v6.connect(&format!("tcp://[::1]:{port}")).unwrap();
    assert_flows(&v6, &pull, "over IPv6");
    let (accepted, _) = wait_event(&events, EventKind::Accepted, TIMEOUT);
    assert!(accepted.remote.starts_with("tcp://[::1]:"), "{accepted:?}");

    // The same listener takes IPv4 too, from a socket without the option.
    let v4 = socket(&ctx, SocketType::Push);
    v4.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    assert_flows(&v4, &pull, "over IPv4");
}

#[test]
fn ipv6_literals_need_the_option() {
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    assert!(
        push.connect("tcp://[::1]:1").is_err(),
        "an IPv6 address without IPV6"
    );
    let pull = socket(&ctx, SocketType::Pull);
    assert!(pull.bind("tcp://[::1]:*").is_err());
    // Without the option, `*` is IPv4 only.
    pull.bind("tcp://*:*").unwrap();
    let port = port_of(&pull.last_endpoint());
    let v4 = socket(&ctx, SocketType::Push);
    v4.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    assert_flows(&v4, &pull, "IPv4 to tcp://*");
}

// ---------------------------------------------------------------- CONNECT_ROUTING_ID

/// Sends `[id, body]` on a ROUTER with ROUTER_MANDATORY, retrying while the peer's
/// connection is not up yet.
fn route(router: &Socket, id: &str, body: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match router.send_multipart([id, body]) {
            Ok(()) => return,
            Err(SendError {
                error: Error::HostUnreachable,
                ..
            }) if Instant::now() < deadline => thread::sleep(ms(10)),
            Err(e) => panic!("routing to {id:?}: {e}"),
        }
    }
}

#[test]
fn connect_routing_id_names_the_peer() {
    let ctx = Context::new();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.bind("tcp://127.0.0.1:*").unwrap();
    let dealer_b = socket(&ctx, SocketType::Dealer);
    dealer_b.set_routing_id("announced-B").unwrap();
    dealer_b.bind("tcp://127.0.0.1:*").unwrap();

    let router = socket(&ctx, SocketType::Router);
    router.set_router_mandatory(true).unwrap();
    router.set_connect_routing_id("peerA").unwrap();
    router.connect(&dealer.last_endpoint()).unwrap();
    route(&router, "peerA", "hello A");
    assert_eq!(dealer.recv().unwrap(), "hello A");
    dealer.send("back from A").unwrap();
    let parts = router.recv_multipart().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], "peerA");
    assert_eq!(parts[1], "back from A");

    // The option names one connect only: the next peer is known by its own id.
    router.connect(&dealer_b.last_endpoint()).unwrap();
    route(&router, "announced-B", "hello B");
    assert_eq!(dealer_b.recv().unwrap(), "hello B");

    let not_router = socket(&ctx, SocketType::Dealer);
    assert!(matches!(
        not_router.set_connect_routing_id("x"),
        Err(Error::InvalidOption(_))
    ));
    assert!(matches!(
        router.set_connect_routing_id(""),
        Err(Error::InvalidOption(_))
    ));
}

// ---------------------------------------------------------------- IMMEDIATE

/// Receives on `pull` until nothing comes for `quiet`.
fn drain(pull: &Socket, quiet: Duration) -> Vec<String> {
    let mut got = Vec::new();
    pull.set_recv_timeout(Some(quiet));
    while let Ok(m) = pull.recv() {
        got.push(m.as_str().unwrap().to_string());
    }
    pull.set_recv_timeout(Some(TIMEOUT));
    got
}

fn bind_when_free(s: &Socket, ep: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match s.bind(ep) {
            Ok(()) => return,
            Err(Error::AddressInUse) if Instant::now() < deadline => thread::sleep(ms(20)),
            Err(e) => panic!("bind {ep}: {e}"),
        }
    }
}

fn immediate_case(immediate: bool) -> (Vec<String>, Vec<String>) {
    let ctx = Context::new();
    let live = socket(&ctx, SocketType::Pull);
    live.bind("tcp://127.0.0.1:*").unwrap();
    let absent_ep = format!("tcp://127.0.0.1:{}", free_tcp_port());

    let push = socket(&ctx, SocketType::Push);
    push.set_immediate(immediate);
    push.set_reconnect_ivl(Some(ms(50)));
    let events = push.monitor(EventMask::of(&[EventKind::HandshakeSucceeded]));
    push.connect(&live.last_endpoint()).unwrap();
    push.connect(&absent_ep).unwrap();
    wait_event(&events, EventKind::HandshakeSucceeded, TIMEOUT);

    let sent: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    for m in &sent {
        push.send(m.as_str()).unwrap();
    }
    let to_live = drain(&live, ms(500));

    // The absent peer turns up: it gets whatever was queued for it.
    let late = socket(&ctx, SocketType::Pull);
    bind_when_free(&late, &absent_ep);
    wait_event(&events, EventKind::HandshakeSucceeded, TIMEOUT);
    let to_late = drain(&late, ms(500));
    (to_live, to_late)
}

#[test]
fn immediate_queues_only_to_connected_peers() {
    let (to_live, to_late) = immediate_case(true);
    let expected: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    assert_eq!(
        to_live, expected,
        "all messages go to the live peer, in order"
    );
    assert!(to_late.is_empty(), "queued for an absent peer: {to_late:?}");
}

#[test]
fn without_immediate_messages_wait_for_absent_peers() {
    let (to_live, to_late) = immediate_case(false);
    assert!(
        !to_late.is_empty() && !to_live.is_empty(),
        "round-robin over both pipes: live {to_live:?}, late {to_late:?}"
    );
    let all: BTreeSet<String> = to_live.iter().chain(&to_late).cloned().collect();
    assert_eq!(all.len(), to_live.len() + to_late.len(), "no duplicates");
    let expected: BTreeSet<String> = (0..10).map(|i| format!("m{i}")).collect();
    assert_eq!(all, expected, "every message delivered once");
}

// ---------------------------------------------------------------- inapplicable options

fn invalid(r: ferrozmq::Result<()>, what: &str) {
    assert!(
        matches!(r, Err(Error::InvalidOption(_))),
        "{what}: expected InvalidOption, got {r:?}"
    );
}

#[test]
fn options_that_do_not_apply_are_refused() {
    let ctx = Context::new();
    let s = |ty| socket(&ctx, ty);
    invalid(s(SocketType::Push).subscribe("a"), "SUBSCRIBE on PUSH");
    invalid(s(SocketType::Pull).unsubscribe("a"), "UNSUBSCRIBE on PULL");
    invalid(
        s(SocketType::Dealer).set_router_mandatory(true),
        "ROUTER_MANDATORY on DEALER",
    );
    invalid(
        s(SocketType::Req).set_router_handover(true),
        "ROUTER_HANDOVER on REQ",
    );
    invalid(
        s(SocketType::Sub).set_xpub_verbose(true),
        "XPUB_VERBOSE on SUB",
    );
    invalid(
        s(SocketType::Pub).set_xpub_manual(true),
        "XPUB_MANUAL on PUB",
    );
    invalid(
        s(SocketType::Rep).set_req_relaxed(true),
        "REQ_RELAXED on REP",
    );
    invalid(
        s(SocketType::Dealer).set_req_correlate(true),
        "REQ_CORRELATE on DEALER",
    );
    invalid(
        s(SocketType::Router).set_conflate(true),
        "CONFLATE on ROUTER",
    );
    invalid(s(SocketType::Rep).set_conflate(true), "CONFLATE on REP");
    invalid(
        s(SocketType::Push).set_probe_router(true),
        "PROBE_ROUTER on PUSH",
    );
    invalid(
        s(SocketType::Pair).set_connect_routing_id("x"),
        "CONNECT_ROUTING_ID on PAIR",
    );
    // Out-of-range values.
    invalid(s(SocketType::Dealer).set_routing_id(""), "empty ROUTING_ID");
    invalid(
        s(SocketType::Dealer).set_routing_id(vec![1u8; 256]),
        "256-byte ROUTING_ID",
    );
    invalid(s(SocketType::Pull).set_backlog(u32::MAX), "BACKLOG > i32");

    // The same options on the types they are for.
    s(SocketType::Sub).subscribe("a").unwrap();
    s(SocketType::XSub).subscribe("a").unwrap();
    s(SocketType::Router).set_router_mandatory(true).unwrap();
    s(SocketType::Router).set_router_handover(true).unwrap();
    s(SocketType::XPub).set_xpub_verbose(true).unwrap();
    s(SocketType::XPub).set_xpub_manual(true).unwrap();
    s(SocketType::Req).set_req_relaxed(true).unwrap();
    s(SocketType::Req).set_req_correlate(true).unwrap();
    s(SocketType::Dealer).set_conflate(true).unwrap();
    s(SocketType::Dealer).set_probe_router(true).unwrap();
    s(SocketType::Router).set_connect_routing_id("x").unwrap();
    s(SocketType::Dealer)
        .set_routing_id(vec![1u8; 255])
        .unwrap();
    s(SocketType::Pull).set_backlog(10).unwrap();
}

// ---------------------------------------------------------------- read-only state

#[test]
fn socket_type_and_last_endpoint() {
    let ctx = Context::new();
    for ty in [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::XPub,
        SocketType::XSub,
    ] {
        assert_eq!(socket(&ctx, ty).socket_type(), ty);
    }

    let s = socket(&ctx, SocketType::Pull);
    assert_eq!(s.last_endpoint(), "");
    s.bind("tcp://127.0.0.1:*").unwrap();
    let tcp = s.last_endpoint();
    let port = port_of(&tcp);
    assert!(port > 0);
    assert_eq!(tcp, format!("tcp://127.0.0.1:{port}"));
    let name = format!("inproc://{}", unique("last-endpoint"));
    s.bind(&name).unwrap();
    assert_eq!(s.last_endpoint(), name);
    let other = format!("tcp://127.0.0.1:{}", free_tcp_port());
    s.connect(&other).unwrap();
    assert_eq!(s.last_endpoint(), other);
    // A failed bind leaves it alone.
    let taken = socket(&ctx, SocketType::Pull);
    taken.bind("tcp://127.0.0.1:*").unwrap();
    let before = taken.last_endpoint();
    assert!(taken.bind(&tcp).is_err());
    assert_eq!(taken.last_endpoint(), before);
}

#[test]
fn more_tells_whether_frames_follow() {
    let ctx = Context::new();
    let name = format!("inproc://{}", unique("rcvmore"));
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind(&name).unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect(&name).unwrap();
    push.send_multipart(["a", "b", "c"]).unwrap();
    push.send("single").unwrap();
    assert!(!pull.more());
    assert_eq!(pull.recv().unwrap(), "a");
    assert!(pull.more());
    assert_eq!(pull.recv().unwrap(), "b");
    assert!(pull.more());
    assert_eq!(pull.recv().unwrap(), "c");
    assert!(!pull.more());
    assert_eq!(pull.recv().unwrap(), "single");
    assert!(!pull.more());
}

#[test]
fn events_match_what_try_send_and_try_recv_do() {
    let ctx = Context::new();
    let name = format!("inproc://{}", unique("events"));
    let push = socket(&ctx, SocketType::Push);
    // No peer: not writable, and a non-blocking send would block.
    let ev = push.events();
    assert!(!ev.writable && !ev.readable, "{ev:?}");
    assert!(matches!(
        push.try_send("x"),
        Err(SendError {
            error: Error::WouldBlock,
            ..
        })
    ));

    let pull = socket(&ctx, SocketType::Pull);
    pull.bind(&name).unwrap();
    push.connect(&name).unwrap();
    assert!(push.events().writable);
    assert!(!pull.events().readable);
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
    assert!(!pull.events().writable, "PULL can't send");

    push.try_send("one").unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while !pull.events().readable {
        assert!(Instant::now() < deadline, "never readable");
        thread::sleep(ms(1));
    }
    assert_eq!(pull.try_recv().unwrap(), "one");
    assert!(!pull.events().readable);
    assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));

    // At the high-water mark: not writable, and try_send agrees.
    let mut sent = 0;
    while push.try_send("fill").is_ok() {
        sent += 1;
        assert!(sent < 100_000, "no high-water mark");
    }
    assert!(!push.events().writable, "full after {sent} messages");

    // REQ: writable until a request is out, then readable once the reply is in.
    let rep_name = format!("inproc://{}", unique("events-rep"));
    let rep = socket(&ctx, SocketType::Rep);
    rep.bind(&rep_name).unwrap();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&rep_name).unwrap();
    assert!(req.events().writable);
    req.send("question").unwrap();
    assert!(!req.events().writable);
    assert!(matches!(
        req.try_send("again"),
        Err(SendError {
            error: Error::WrongState,
            ..
        })
    ));
    assert!(!req.events().readable);
    assert_eq!(rep.recv().unwrap(), "question");
    rep.send("answer").unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while !req.events().readable {
        assert!(Instant::now() < deadline, "reply never readable");
        thread::sleep(ms(1));
    }
    assert_eq!(req.try_recv().unwrap(), "answer");
    assert!(req.events().writable);
}

// ---------------------------------------------------------------- timeouts and linger

#[test]
fn send_timeout_bounds_a_blocked_send() {
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.set_send_timeout(Some(ms(300)));
    assert_eq!(push.send_timeout(), Some(ms(300)));
    let started = Instant::now();
    let err = push.send("nowhere").unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err.error, Error::TimedOut), "{err:?}");
    assert_eq!(err.into_inner(), "nowhere", "the message comes back");
    assert!(
        took >= ms(300) && took < ms(2300),
        "send gave up after {took:?} with SNDTIMEO 300 ms"
    );
}

#[test]
fn recv_timeout_bounds_a_blocked_receive() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    pull.set_recv_timeout(Some(ms(300)));
    assert_eq!(pull.recv_timeout(), Some(ms(300)));
    let started = Instant::now();
    let r = pull.recv();
    let took = started.elapsed();
    assert!(matches!(r, Err(Error::TimedOut)), "{r:?}");
    assert!(
        took >= ms(300) && took < ms(2300),
        "receive gave up after {took:?} with RCVTIMEO 300 ms"
    );
}

/// Runs `f` on a helper thread; returns how long it took, or panics after `limit`
/// (a panic inside `f` is passed on).
fn finishes_within(limit: Duration, what: &str, f: impl FnOnce() + Send + 'static) -> Duration {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let helper = thread::spawn(move || {
        f();
        let _ = tx.send(started.elapsed());
    });
    match rx.recv_timeout(limit) {
        Ok(took) => took,
        Err(mpsc::RecvTimeoutError::Disconnected) => match helper.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("helper exited without reporting"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// A PUSH queues 100 messages for a peer that never comes, then it and its context are
/// dropped; returns how long the drops took.
fn close_with_linger(linger: Duration) -> Duration {
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let (tx, rx) = mpsc::channel();
    finishes_within(TIMEOUT, "closing with pending messages", move || {
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_linger(Some(linger));
        assert_eq!(push.linger(), Some(linger));
        push.connect(&ep).unwrap();
        for i in 0..100 {
            push.send(format!("pending {i}")).unwrap();
        }
        let started = Instant::now();
        drop(push);
        drop(ctx);
        tx.send(started.elapsed()).unwrap();
    });
    rx.recv().unwrap()
}

#[test]
fn linger_zero_drops_pending_messages_promptly() {
    let took = close_with_linger(Duration::ZERO);
    assert!(took < Duration::from_secs(2), "took {took:?} with linger 0");
}

#[test]
fn linger_bounds_the_wait_for_pending_messages() {
    let took = close_with_linger(ms(200));
    assert!(
        took >= ms(150),
        "the context's drop ignored a 200 ms linger: {took:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} with linger 200 ms"
    );
}

#[test]
fn default_linger_is_infinite() {
    let ctx = Context::new();
    assert_eq!(ctx.socket(SocketType::Push).unwrap().linger(), None);
    // SUB and XSUB don't linger, as in libzmq.
    assert_eq!(
        ctx.socket(SocketType::Sub).unwrap().linger(),
        Some(Duration::ZERO)
    );
}
