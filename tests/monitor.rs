//! Monitor events: what `Socket::monitor`, `Socket::monitor_to` and `Socket::stats`
//! report about a socket's connections, checked against what really happened.
//!
//! What this file proves:
//! * A tcp connect shows ConnectDelayed, Connected, HandshakeSucceeded, and the bind
//!   side Listening, Accepted, HandshakeSucceeded, in that order, with endpoints and
//!   with local/remote addresses that mirror each other across the two sides.
//! * A dropped peer shows Disconnected (with its address), then ConnectRetried.
//! * Failed handshakes: garbage or a wrong socket type give HandshakeFailedProtocol
//!   with a reason, then Disconnected; a silent peer past HANDSHAKE_IVL gives
//!   HandshakeFailedNoDetail.
//! * BindFailed (with EADDRINUSE) for an address in use; Closed on unbind.
//! * MonitorStopped is the last event of a stream, which then ends.
//! * `monitor_to` publishes libzmq's two-frame messages (6-byte code + value, then the
//!   endpoint) with libzmq's codes, readable by a PAIR socket (and, when pyzmq is
//!   installed, by pyzmq's `parse_monitor_message`).
//! * The counters in `stats()` agree with what happened and with the events logged.
//! * An `EventMask` filters the stream.
//! * (Ignored until fixed) HandshakeFailedProtocol should carry libzmq's
//!   `ZMQ_PROTOCOL_ERROR_*` code as its value; it carries 0.
//!
//! Raw peers are plain `std::net` sockets; every blocking call has a timeout.

mod common;
use common::zmtp::{closed_within, null_greeting, raw, ready};
use common::{free_tcp_port, ms, socket, unique, wait_event, TIMEOUT};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{
    Context, Error, EventKind, EventMask, MonitorEvents, Socket, SocketEvent, SocketStats,
    SocketType,
};

/// Every event arriving within `period`.
fn collect_events(events: &MonitorEvents, period: Duration) -> Vec<SocketEvent> {
    common::collect_events(events, period)
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

fn kinds(events: &[SocketEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

/// Polls `stats()` until `done` holds (or fails after `TIMEOUT`).
fn stats_until(s: &Socket, what: &str, done: impl Fn(&SocketStats) -> bool) -> SocketStats {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let stats = s.stats();
        if done(&stats) {
            return stats;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        thread::sleep(ms(5));
    }
}

fn assert_flows(push: &Socket, pull: &Socket, text: &str) {
    push.send(text).unwrap();
    assert_eq!(pull.recv().unwrap(), text);
}

// ---------------------------------------------------------------- raw peers

/// The raw peer's own address, as ferrozmq describes it.
fn address_of(s: &TcpStream) -> String {
    format!("tcp://{}", s.local_addr().unwrap())
}

/// Sends bytes that are no ZMTP greeting and waits until ferrozmq hangs up.
fn garbage_connection(endpoint: &str) -> String {
    let mut s = raw(endpoint);
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n and some more bytes");
    assert!(closed_within(&mut s, TIMEOUT), "garbage was not refused");
    address_of(&s)
}

// ---------------------------------------------------------------- connect sequence

#[test]
fn connect_and_accept_sequences_with_mirrored_addresses() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let pull_events = pull.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let push = socket(&ctx, SocketType::Push);
    let push_events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    assert_flows(&push, &pull, "hello");

    let (shook, mut seen) = wait_event(&push_events, EventKind::HandshakeSucceeded, TIMEOUT);
    seen.push(shook.clone());
    assert_eq!(
        kinds(&seen),
        [
            EventKind::ConnectDelayed,
            EventKind::Connected,
            EventKind::HandshakeSucceeded
        ]
    );
    assert!(seen.iter().all(|e| e.endpoint == ep), "{seen:?}");
    assert!(
        shook.detail.contains("PULL"),
        "the detail names the peer: {shook:?}"
    );
    let connected = seen[1].clone();

    let (shook, mut seen) = wait_event(&pull_events, EventKind::HandshakeSucceeded, TIMEOUT);
    seen.push(shook);
    assert_eq!(
        kinds(&seen),
        [
            EventKind::Listening,
            EventKind::Accepted,
            EventKind::HandshakeSucceeded
        ]
    );
    assert!(seen.iter().all(|e| e.endpoint == ep), "{seen:?}");
    let listening = &seen[0];
    let accepted = seen[1].clone();
    assert!(listening.value > 2, "Listening carries the listener's fd");

    // The two ends of one connection, seen from both sides.
    assert_eq!(connected.remote, ep, "{connected:?}");
    assert_eq!(accepted.local, ep, "{accepted:?}");
    assert_eq!(connected.local, accepted.remote);
    assert!(
        connected.local.starts_with("tcp://127.0.0.1:") && connected.local != ep,
        "{connected:?}"
    );
    assert!(connected.value > 2 && accepted.value > 2, "fds");
    assert_ne!(connected.value, accepted.value);
    assert_ne!(accepted.value, listening.value);

    // Nothing else happened meanwhile.
    assert!(collect_events(&push_events, ms(50)).is_empty());
    assert!(collect_events(&pull_events, ms(50)).is_empty());
}

// ---------------------------------------------------------------- disconnect

#[test]
fn a_dropped_peer_shows_disconnected_then_connect_retried() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(70)));
    let events = push.monitor(EventMask::ALL);
    push.connect(&ep).unwrap();
    assert_flows(&push, &pull, "before");
    let (connected, _) = wait_event(&events, EventKind::HandshakeSucceeded, TIMEOUT);
    assert_eq!(connected.endpoint, ep);
    let connected_ev = push
        .take_events()
        .into_iter()
        .find(|e| e.kind == EventKind::Connected)
        .expect("the log has Connected too");

    drop(pull);
    let (disconnected, before) = wait_event(&events, EventKind::Disconnected, TIMEOUT);
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(disconnected.endpoint, ep);
    assert_eq!(disconnected.remote, ep, "{disconnected:?}");
    assert_eq!(disconnected.local, connected_ev.local);
    assert_eq!(disconnected.value, connected_ev.value, "the fd");
    assert!(!disconnected.detail.is_empty());
    let (retried, before) = wait_event(&events, EventKind::ConnectRetried, TIMEOUT);
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(retried.endpoint, ep);
    assert_eq!(retried.value, 70, "the reconnect interval in ms");
    // And it keeps trying.
    wait_event(&events, EventKind::ConnectDelayed, TIMEOUT);
}

// ---------------------------------------------------------------- failed handshakes

fn handshake_failure(bytes: &[u8]) -> (SocketEvent, SocketEvent, String) {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let events = pull.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let mut s = raw(&ep);
    let _ = s.write_all(bytes);
    assert!(closed_within(&mut s, TIMEOUT), "the bad peer was kept");
    let (failed, before) = wait_event(&events, EventKind::HandshakeFailedProtocol, TIMEOUT);
    assert_eq!(
        kinds(&before),
        [EventKind::Listening, EventKind::Accepted],
        "no HandshakeSucceeded"
    );
    let (disconnected, between) = wait_event(&events, EventKind::Disconnected, TIMEOUT);
    assert!(between.is_empty(), "{between:?}");
    for e in [&failed, &disconnected] {
        assert_eq!(e.endpoint, ep);
        assert_eq!(e.remote, address_of(&s), "{e:?}");
        assert_eq!(e.local, ep, "{e:?}");
    }
    assert!(!failed.detail.is_empty(), "a protocol failure says why");
    eprintln!("{:?}", failed.detail);
    (failed, disconnected, ep)
}

#[test]
fn garbage_gives_handshake_failed_protocol_then_disconnected() {
    handshake_failure(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

#[test]
fn a_wrong_socket_type_gives_handshake_failed_protocol() {
    let mut bytes = null_greeting();
    bytes.extend(ready("PUB"));
    let (failed, _, _) = handshake_failure(&bytes);
    assert!(
        failed.detail.contains("PUB"),
        "the reason names the peer's type: {failed:?}"
    );
}

/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
const UNEXPECTED_COMMAND: u32 = 0x1000_0001;
/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`.
const MECHANISM_MISMATCH: u32 = 0x1100_0002;

/// zmq_socket_monitor(3): for ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL "the event value is
/// one of the ZMQ_PROTOCOL_ERROR_* values" (and `SocketEvent::value` says so too).
/// libzmq reports MECHANISM_MISMATCH for a greeting with another mechanism
/// (`zmtp_engine_t::handshake_v3_x`) and UNEXPECTED_COMMAND for a command other than
/// READY or ERROR during the NULL handshake (`null_mechanism_t`).
#[test]
fn handshake_failed_protocol_carries_libzmqs_protocol_error_code() {
    let mut plain = null_greeting();
    plain[12..17].copy_from_slice(b"PLAIN");
    let (failed, _, _) = handshake_failure(&plain[..]);
    let mut hello = null_greeting();
    hello.extend_from_slice(&[0x04, 6]);
    hello.extend_from_slice(b"\x05HELLO");
    let (unexpected, _, _) = handshake_failure(&hello);
    assert_eq!(
        (failed.value, unexpected.value),
        (MECHANISM_MISMATCH, UNEXPECTED_COMMAND),
        "PLAIN greeting: {failed:?}; HELLO instead of READY: {unexpected:?}"
    );
}

#[test]
fn a_silent_peer_gives_handshake_failed_no_detail() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_handshake_ivl(Some(ms(200)));
    let events = pull.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut s = raw(&pull.last_endpoint());
    let started = Instant::now();
    // Say half a greeting, then nothing.
    s.write_all(&null_greeting()[..10]).unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(3)),
        "a silent peer outlived HANDSHAKE_IVL 200 ms by 3 s"
    );
    let took = started.elapsed();
    assert!(
        took >= ms(150),
        "closed after {took:?}, before HANDSHAKE_IVL"
    );
    let (failed, before) = wait_event(&events, EventKind::HandshakeFailedNoDetail, TIMEOUT);
    assert_eq!(
        kinds(&before),
        [EventKind::Listening, EventKind::Accepted],
        "{before:?}"
    );
    assert_eq!(failed.remote, address_of(&s));
    let (_, between) = wait_event(&events, EventKind::Disconnected, TIMEOUT);
    assert!(between.is_empty(), "{between:?}");
    assert_eq!(pull.stats().handshake_failures, 1);
}

// ---------------------------------------------------------------- bind and unbind

#[test]
fn bind_failed_on_an_address_in_use_and_closed_on_unbind() {
    let ctx = Context::new();
    let first = socket(&ctx, SocketType::Pull);
    let first_events = first.monitor(EventMask::ALL);
    first.bind("tcp://127.0.0.1:*").unwrap();
    let ep = first.last_endpoint();
    let (listening, _) = wait_event(&first_events, EventKind::Listening, TIMEOUT);

    let second = socket(&ctx, SocketType::Pull);
    let second_events = second.monitor(EventMask::ALL);
    let r = second.bind(&ep);
    assert!(matches!(r, Err(Error::AddressInUse)), "{r:?}");
    let (failed, before) = wait_event(&second_events, EventKind::BindFailed, TIMEOUT);
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(failed.endpoint, ep);
    assert_eq!(failed.value, libc::EADDRINUSE as u32, "the errno");
    assert!(!failed.detail.is_empty());
    assert!(collect_events(&second_events, ms(50)).is_empty());

    first.unbind(&ep).unwrap();
    let (closed, before) = wait_event(&first_events, EventKind::Closed, TIMEOUT);
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(closed.endpoint, ep);
    assert_eq!(closed.value, listening.value, "the listener's fd");
    // The address is free again.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match second.bind(&ep) {
            Ok(()) => break,
            Err(Error::AddressInUse) if Instant::now() < deadline => thread::sleep(ms(10)),
            Err(e) => panic!("rebinding {ep}: {e}"),
        }
    }
    wait_event(&second_events, EventKind::Listening, TIMEOUT);
}

// ---------------------------------------------------------------- end of stream

/// Reads a stream to its end on a helper thread (failing if it does not end).
fn read_to_end(events: MonitorEvents) -> Vec<SocketEvent> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let all: Vec<SocketEvent> = events.collect();
        let _ = tx.send(all);
    });
    rx.recv_timeout(TIMEOUT)
        .expect("the stream did not end after the socket closed")
}

#[test]
fn monitor_stopped_ends_the_stream() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let events = pull.monitor(EventMask::ALL);
    let idle = socket(&ctx, SocketType::Dealer);
    let idle_events = idle.monitor(EventMask::ALL);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    assert_flows(&push, &pull, "x");

    drop(pull);
    let all = read_to_end(events);
    let last = all.last().expect("events");
    assert_eq!(last.kind, EventKind::MonitorStopped, "{all:?}");
    assert_eq!(last.endpoint, ep);
    assert_eq!(
        kinds(&all)
            .iter()
            .filter(|k| **k == EventKind::MonitorStopped)
            .count(),
        1
    );
    assert_eq!(kinds(&all)[0], EventKind::Listening);

    // A socket that did nothing: just MonitorStopped.
    drop(idle);
    assert_eq!(
        kinds(&read_to_end(idle_events)),
        [EventKind::MonitorStopped]
    );
}

#[test]
fn a_closed_stream_answers_none_at_once() {
    let ctx = Context::new();
    let s = socket(&ctx, SocketType::Pair);
    let events = s.monitor(EventMask::ALL);
    drop(s);
    assert_eq!(
        events.recv_timeout(TIMEOUT).map(|e| e.kind),
        Some(EventKind::MonitorStopped)
    );
    let started = Instant::now();
    assert!(events.recv_timeout(TIMEOUT).is_none());
    assert!(events.try_recv().is_none());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited for a stream that had ended"
    );
}

// ---------------------------------------------------------------- monitor_to

/// One monitor message as libzmq formats it: (code, value, endpoint).
fn read_monitor_message(pair: &Socket) -> (u16, u32, String) {
    let parts = pair.recv_multipart().expect("a monitor message");
    assert_eq!(parts.len(), 2, "two frames: {parts:?}");
    assert_eq!(parts[0].len(), 6, "6-byte first frame: {parts:?}");
    let code = u16::from_ne_bytes(parts[0][..2].try_into().unwrap());
    let value = u32::from_ne_bytes(parts[0][2..6].try_into().unwrap());
    let endpoint = String::from_utf8(parts[1].to_vec()).unwrap();
    (code, value, endpoint)
}

const LISTENING: u16 = 0x0008;
const ACCEPTED: u16 = 0x0020;
const DISCONNECTED: u16 = 0x0200;
const MONITOR_STOPPED: u16 = 0x0400;
const HANDSHAKE_SUCCEEDED: u16 = 0x1000;

#[test]
fn monitor_to_publishes_libzmq_messages_on_a_pair() {
    let ctx = Context::new();
    let mon = format!("inproc://{}", unique("mon"));
    let pull = socket(&ctx, SocketType::Pull);
    pull.monitor_to(&mon, EventMask::ALL).unwrap();
    let reader = socket(&ctx, SocketType::Pair);
    reader.connect(&mon).unwrap();

    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let (code, listener_fd, endpoint) = read_monitor_message(&reader);
    assert_eq!((code, endpoint.as_str()), (LISTENING, ep.as_str()));
    assert!(listener_fd > 2);

    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    assert_flows(&push, &pull, "x");
    let (code, conn_fd, endpoint) = read_monitor_message(&reader);
    assert_eq!((code, endpoint.as_str()), (ACCEPTED, ep.as_str()));
    assert!(conn_fd > 2 && conn_fd != listener_fd);
    let (code, _, endpoint) = read_monitor_message(&reader);
    assert_eq!(
        (code, endpoint.as_str()),
        (HANDSHAKE_SUCCEEDED, ep.as_str())
    );

    drop(push);
    let (code, fd, endpoint) = read_monitor_message(&reader);
    assert_eq!((code, endpoint.as_str()), (DISCONNECTED, ep.as_str()));
    assert_eq!(fd, conn_fd, "Disconnected carries the connection's fd");

    drop(pull);
    let (code, _, endpoint) = read_monitor_message(&reader);
    assert_eq!((code, endpoint.as_str()), (MONITOR_STOPPED, ep.as_str()));
    reader.set_recv_timeout(Some(ms(200)));
    assert!(
        matches!(reader.recv(), Err(Error::TimedOut)),
        "nothing after MONITOR_STOPPED"
    );
}

#[test]
fn monitor_to_needs_an_inproc_endpoint() {
    let ctx = Context::new();
    let s = socket(&ctx, SocketType::Pull);
    for bad in ["tcp://127.0.0.1:5555", "ipc:///tmp/ferrozmq-mon", "mon"] {
        assert!(
            matches!(
                s.monitor_to(bad, EventMask::ALL),
                Err(Error::InvalidOption(_))
            ),
            "{bad}"
        );
    }
    // Masks filter what is published.
    let mon = format!("inproc://{}", unique("mon-mask"));
    s.monitor_to(&mon, EventMask::of(&[EventKind::Closed]))
        .unwrap();
    let reader = socket(&ctx, SocketType::Pair);
    reader.connect(&mon).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint();
    s.unbind(&ep).unwrap();
    let (code, _, endpoint) = read_monitor_message(&reader);
    assert_eq!(
        (code, endpoint.as_str()),
        (0x0080, ep.as_str()),
        "only CLOSED"
    );
}

/// pyzmq's `parse_monitor_message` reads what `monitor_to` publishes. The messages are
/// relayed from the inproc PAIR to a tcp PAIR that a Python script reads.
#[test]
fn pyzmq_parses_our_monitor_messages() {
    let has_pyzmq = Command::new("python3")
        .args(["-c", "import zmq.utils.monitor"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_pyzmq {
        eprintln!("pyzmq is not installed: skipping");
        return;
    }
    let ctx = Context::new();
    let relay = socket(&ctx, SocketType::Pair);
    relay.bind("tcp://127.0.0.1:*").unwrap();
    let script = r#"
import sys, zmq
from zmq.utils.monitor import parse_monitor_message
ctx = zmq.Context()
s = ctx.socket(zmq.PAIR)
s.setsockopt(zmq.RCVTIMEO, 5000)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
while True:
    m = parse_monitor_message(s.recv_multipart())
    print(int(m["event"]), int(m["value"]), m["endpoint"].decode(), flush=True)
    if m["event"] == zmq.EVENT_MONITOR_STOPPED:
        break
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, &relay.last_endpoint()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");

    let mon = format!("inproc://{}", unique("mon-py"));
    let pull = socket(&ctx, SocketType::Pull);
    pull.monitor_to(&mon, EventMask::ALL).unwrap();
    let reader = socket(&ctx, SocketType::Pair);
    reader.connect(&mon).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect(&pull.last_endpoint()).unwrap();
    assert_flows(&push, &pull, "x");
    let mut expected = Vec::new();
    let mut relay_one = |reader: &Socket| {
        let parts = reader.recv_multipart().unwrap();
        let (code, value, endpoint) = {
            let code = u16::from_ne_bytes(parts[0][..2].try_into().unwrap());
            let value = u32::from_ne_bytes(parts[0][2..6].try_into().unwrap());
            (code, value, String::from_utf8(parts[1].to_vec()).unwrap())
        };
        relay.send_multipart(parts).unwrap();
        expected.push(format!("{code} {value} {endpoint}"));
        code
    };
    for _ in 0..3 {
        relay_one(&reader); // LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED
    }
    drop(push);
    assert_eq!(relay_one(&reader), DISCONNECTED);
    drop(pull);
    assert_eq!(relay_one(&reader), MONITOR_STOPPED);

    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the pyzmq reader did not finish");
        }
        thread::sleep(ms(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "python failed: {err}");
    let got: Vec<&str> = out.lines().collect();
    eprintln!("pyzmq read: {got:?}");
    assert_eq!(got, expected, "pyzmq's reading of our monitor messages");
}

// ---------------------------------------------------------------- counters

/// The counters agree with the log of events.
fn assert_counters_match_log(s: &Socket, log: &[SocketEvent]) {
    let count = |k: EventKind| log.iter().filter(|e| e.kind == k).count() as u64;
    let stats = s.stats();
    assert_eq!(stats.connected, count(EventKind::Connected), "{stats:?}");
    assert_eq!(stats.accepted, count(EventKind::Accepted), "{stats:?}");
    assert_eq!(
        stats.disconnects,
        count(EventKind::Disconnected),
        "{stats:?}"
    );
    assert_eq!(
        stats.reconnect_attempts,
        count(EventKind::ConnectRetried),
        "{stats:?}"
    );
    let failures = log.iter().filter(|e| e.kind.is_handshake_failure()).count() as u64;
    assert_eq!(stats.handshake_failures, failures, "{stats:?}");
    assert_eq!(stats.monitor_events_dropped, 0);
}

#[test]
fn counters_count_what_happened_on_the_bind_side() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    for _ in 0..3 {
        garbage_connection(&ep);
    }
    let stats = stats_until(&pull, "three failed handshakes", |s| {
        s.handshake_failures == 3 && s.disconnects == 3
    });
    assert_eq!(stats.accepted, 3);
    assert_eq!(stats.connected, 0);
    assert_eq!(stats.reconnect_attempts, 0);

    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    assert_flows(&push, &pull, "real");
    let stats = pull.stats();
    assert_eq!(stats.accepted, 4);
    assert_eq!(stats.handshake_failures, 3);
    assert_eq!(stats.disconnects, 3);
    assert_eq!(stats.messages_received, 1);
    let push_stats = push.stats();
    assert_eq!(push_stats.connected, 1);
    assert_eq!(push_stats.accepted, 0);
    assert_eq!(push_stats.messages_sent, 1);
    assert_counters_match_log(&pull, &pull.take_events());
}

#[test]
fn counters_count_what_happened_on_the_connect_side() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(50)));
    let mut log = Vec::new();
    push.connect(&ep).unwrap();
    let stats = stats_until(&push, "three refused attempts", |s| {
        s.reconnect_attempts >= 3
    });
    assert_eq!(stats.connected, 0);
    assert_eq!(stats.disconnects, 0);

    let pull = socket(&ctx, SocketType::Pull);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match pull.bind(&ep) {
            Ok(()) => break,
            Err(Error::AddressInUse) if Instant::now() < deadline => thread::sleep(ms(20)),
            Err(e) => panic!("bind {ep}: {e}"),
        }
    }
    assert_flows(&push, &pull, "through");
    stats_until(&push, "connected", |s| s.connected == 1);
    log.extend(push.take_events());
    let before = push.stats().reconnect_attempts;

    drop(pull);
    let stats = stats_until(&push, "the drop", |s| {
        s.disconnects == 1 && s.reconnect_attempts > before
    });
    assert_eq!(stats.connected, 1);
    assert_eq!(stats.handshake_failures, 0);
    // Stop the retries, then compare with everything logged.
    push.disconnect(&ep).unwrap();
    thread::sleep(ms(100));
    log.extend(push.take_events());
    assert_counters_match_log(&push, &log);
}

// ---------------------------------------------------------------- masks

#[test]
fn an_event_mask_filters_the_stream() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(Some(ms(50)));
    let all = push.monitor(EventMask::ALL);
    let only = push.monitor(EventMask::of(&[EventKind::Disconnected]));
    let two = push.monitor(EventMask::of(&[
        EventKind::Connected,
        EventKind::ConnectRetried,
    ]));
    let none = push.monitor(EventMask::NONE);
    push.connect(&ep).unwrap();
    assert_flows(&push, &pull, "x");
    drop(pull);
    // A few retries after the drop, then look.
    wait_event(&all, EventKind::Disconnected, TIMEOUT);
    wait_event(&all, EventKind::ConnectRetried, TIMEOUT);
    wait_event(&all, EventKind::ConnectRetried, TIMEOUT);

    let got = kinds(&collect_events(&only, ms(50)));
    assert_eq!(got, [EventKind::Disconnected]);
    let got = kinds(&collect_events(&two, ms(50)));
    assert_eq!(got[0], EventKind::Connected, "{got:?}");
    assert!(got.len() >= 3, "{got:?}");
    assert!(
        got[1..].iter().all(|k| *k == EventKind::ConnectRetried),
        "{got:?}"
    );
    assert!(collect_events(&none, ms(50)).is_empty());

    let mask = EventMask::of(&[EventKind::Disconnected, EventKind::Closed]);
    for kind in EventKind::ALL {
        let expected = matches!(kind, EventKind::Disconnected | EventKind::Closed);
        assert_eq!(mask.contains(kind), expected, "{kind:?}");
        assert!(EventMask::ALL.contains(kind));
        assert!(!EventMask::NONE.contains(kind));
    }
    // Dropping a stream does not disturb the others.
    drop(only);
    let _ = collect_events(&all, ms(10));
    push.disconnect(&ep).unwrap();
}

#[test]
fn event_codes_are_libzmqs() {
    let codes: Vec<u16> = EventKind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(
        codes,
        [
            0x0001, 0x0002, 0x0004, 0x0008, 0x0010, 0x0020, 0x0040, 0x0080, 0x0200, 0x0400, 0x0800,
            0x1000, 0x2000, 0x4000
        ]
    );
}
