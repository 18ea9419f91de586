//! Bad input from the network: a raw `std::net::TcpStream` plays a broken or hostile
//! peer against a ferrozmq socket bound on `tcp://127.0.0.1:*`. Each time the link must be
//! closed by ferrozmq, nothing bogus may reach the application, and the socket must keep
//! serving well-behaved peers.
//!
//! Wire bytes are built by hand from ZMTP.md (greeting §1, frames §3, READY §5).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, EventKind, Socket, SocketType};

mod common;
use common::zmtp::*;

/// Safety net for every blocking call.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long ferrozmq gets to close a bad link.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

fn socket(ctx: &Context, ty: SocketType) -> Socket {
    let s = ctx.socket(ty).expect("create socket");
    s.set_recv_timeout(Some(TIMEOUT));
    s.set_send_timeout(Some(TIMEOUT));
    // Messages some tests leave queued for absent peers must not make the context's
    // drop wait for them (linger itself is tested in lifecycle.rs).
    s.set_linger(Some(Duration::ZERO));
    s
}

fn bound(ctx: &Context, ty: SocketType) -> Socket {
    let s = socket(ctx, ty);
    s.bind("tcp://127.0.0.1:*").expect("bind");
    s
}

// ---------------------------------------------------------------- wire helpers

fn assert_closed(s: &mut TcpStream, what: &str) {
    assert!(
        closed_within(s, CLOSE_WITHIN),
        "ferrozmq kept the connection open after {what}"
    );
}

/// Checks that the monitor recorded a failed handshake or disconnect with a reason.
fn assert_failure_event(s: &Socket, what: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = Vec::new();
    loop {
        seen.extend(s.take_events());
        if let Some(e) = seen.iter().find(|e| {
            matches!(
                e.kind,
                EventKind::HandshakeFailedProtocol
                    | EventKind::HandshakeFailedNoDetail
                    | EventKind::Disconnected
            ) && !e.detail.is_empty()
        }) {
            eprintln!("{what}: {:?} {:?}", e.kind, e.detail);
            return e.detail.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no failure event for {what}; events: {seen:?}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// A real ferrozmq peer still gets through to `pull`.
fn assert_pull_still_serves(ctx: &Context, pull: &Socket, tag: &str) {
    let push = socket(ctx, SocketType::Push);
    push.connect(&pull.last_endpoint()).unwrap();
    push.send(format!("real {tag}")).unwrap();
    assert_eq!(pull.recv().unwrap(), format!("real {tag}").as_str());
}

fn assert_nothing_delivered(s: &Socket, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match s.try_recv() {
            Err(Error::WouldBlock) => thread::sleep(Duration::from_millis(5)),
            other => panic!("bogus input was delivered: {other:?}"),
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift), never starting with 0xFF.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    if out[0] == 0xff {
        out[0] = 0x42;
    }
    out
}

fn rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024
}

// ---------------------------------------------------------------- positive control

/// The hand-built bytes are right: a raw peer that follows the protocol is served.
#[test]
fn raw_peer_with_valid_handshake_is_served() {
    let ctx = Context::new();
    let push = bound(&ctx, SocketType::Push);
    let mut s = raw(&push.last_endpoint());
    assert_eq!(handshake(&mut s, "PULL"), "PUSH");
    push.send_multipart(["hello", "world"]).unwrap();
    let mut expected = data_frame(b"hello", true);
    expected.extend(data_frame(b"world", false));
    assert_eq!(read_exact(&mut s, expected.len()), expected);

    let pull = bound(&ctx, SocketType::Pull);
    let mut s = raw(&pull.last_endpoint());
    assert_eq!(handshake(&mut s, "PUSH"), "PULL");
    let mut out = data_frame(b"one", true);
    out.extend(data_frame(&[9u8; 300], false));
    s.write_all(&out).unwrap();
    let parts = pull.recv_multipart().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], "one");
    assert_eq!(&parts[1][..], &[9u8; 300][..]);
}

// ---------------------------------------------------------------- garbage

fn garbage_is_refused(payload: &[u8], what: &str) {
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);
    let mut s = raw(&pull.last_endpoint());
    write_all(&mut s, payload);
    assert_closed(&mut s, what);
    assert_failure_event(&pull, what);
    assert_nothing_delivered(&pull, Duration::from_millis(20));
    assert_pull_still_serves(&ctx, &pull, what);
}

#[test]
fn random_bytes_are_refused() {
    garbage_is_refused(&noise(1000, 0x1234_5678_9abc_def1), "random bytes");
}

#[test]
fn http_request_is_refused() {
    garbage_is_refused(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
        "an HTTP request",
    );
}

#[test]
fn zero_bytes_are_refused() {
    garbage_is_refused(&[0u8; 64], "64 zero bytes");
}

#[test]
fn zmtp2_greeting_is_refused() {
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);
    let mut s = raw(&pull.last_endpoint());
    // ZMTP 2.0: signature, major 1, socket type PUSH (8); then it waits for ours.
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f];
    g.extend_from_slice(&[1, 8]);
    write_all(&mut s, &g);
    assert_closed(&mut s, "a ZMTP 2.0 greeting");
    assert_failure_event(&pull, "ZMTP 2.0");
    assert_pull_still_serves(&ctx, &pull, "zmtp2");
}

#[test]
fn plain_mechanism_is_refused() {
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);
    let mut s = raw(&pull.last_endpoint());
    write_all(&mut s, &greeting(3, 1, "PLAIN"));
    assert_closed(&mut s, "a PLAIN greeting");
    let detail = assert_failure_event(&pull, "PLAIN");
    assert!(
        detail.contains("PLAIN"),
        "reason should name the mechanism: {detail}"
    );
    assert_pull_still_serves(&ctx, &pull, "plain");
}

#[test]
fn incompatible_socket_type_is_refused() {
    let ctx = Context::new();
    let push = bound(&ctx, SocketType::Push);
    let mut s = raw(&push.last_endpoint());
    let mut out = null_greeting();
    out.extend(ready("PUSH"));
    write_all(&mut s, &out);
    assert_closed(&mut s, "READY claiming PUSH to a PUSH");
    assert_failure_event(&push, "PUSH to PUSH");
    // No pipe was created for it: a message goes to the real PULL only.
    let pull = socket(&ctx, SocketType::Pull);
    pull.connect(&push.last_endpoint()).unwrap();
    push.send("to the real pull").unwrap();
    assert_eq!(pull.recv().unwrap(), "to the real pull");

    // Unknown and lower-case type names are refused too.
    for bad in ["dealer", "NOPE", ""] {
        let mut s = raw(&push.last_endpoint());
        let mut out = null_greeting();
        out.extend(ready(bad));
        write_all(&mut s, &out);
        assert_closed(&mut s, &format!("READY with Socket-Type {bad:?}"));
    }
}

#[test]
fn data_frame_before_handshake_is_refused() {
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);
    let mut s = raw(&pull.last_endpoint());
    let mut out = null_greeting();
    out.extend(data_frame(b"sneaky", false)); // instead of READY
    write_all(&mut s, &out);
    assert_closed(&mut s, "a data frame instead of READY");
    assert_failure_event(&pull, "data before READY");
    assert_nothing_delivered(&pull, Duration::from_millis(20));
    assert_pull_still_serves(&ctx, &pull, "early data");
}

// ---------------------------------------------------------------- sizes

/// libzmq 4.3.5 (`v2_decoder_t::size_ready`) tries to allocate the announced size up
/// front; 2^62 bytes can't be allocated, so it fails with ENOMEM and drops the link.
#[test]
fn huge_announced_frame_size_closes_the_link() {
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);
    let mut s = raw(&pull.last_endpoint());
    handshake(&mut s, "PUSH");
    let rss_before = rss_mb();
    // LONG frame announcing 2^62 bytes, then a little of that body.
    let mut out = vec![0x02];
    out.extend_from_slice(&(1u64 << 62).to_be_bytes());
    out.extend(vec![0u8; 1 << 20]);
    write_all(&mut s, &out);
    let closed = closed_within(&mut s, CLOSE_WITHIN);
    let rss_after = rss_mb();
    assert!(
        rss_after < 500,
        "RSS grew from {rss_before} MB to {rss_after} MB"
    );
    assert_pull_still_serves(&ctx, &pull, "after 2^62");
    assert_nothing_delivered(&pull, Duration::from_millis(20));
    assert!(
        closed,
        "a frame announcing 2^62 bytes must close the link (libzmq: ENOMEM)"
    );
}

#[test]
fn max_msg_size_disconnects_only_the_offender() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_max_msg_size(Some(1000));
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();

    // A well-behaved ferrozmq peer sending 500-byte messages.
    let good = socket(&ctx, SocketType::Push);
    good.connect(&ep).unwrap();
    good.send(vec![1u8; 500]).unwrap();
    assert_eq!(pull.recv().unwrap().len(), 500);

    // A raw peer: 500 and exactly 1000 bytes are fine, 2000 gets it disconnected.
    let mut s = raw(&ep);
    handshake(&mut s, "PUSH");
    s.write_all(&data_frame(&[2u8; 500], false)).unwrap();
    s.write_all(&data_frame(&[3u8; 1000], false)).unwrap();
    let m = pull.recv().unwrap();
    assert_eq!(&m[..], &[2u8; 500][..]);
    let m = pull.recv().unwrap();
    assert_eq!(&m[..], &[3u8; 1000][..]);
    write_all(&mut s, &data_frame(&[4u8; 2000], false));
    assert_closed(&mut s, "a 2000-byte frame with MAXMSGSIZE 1000");
    let detail = assert_failure_event(&pull, "oversized frame");
    assert!(
        detail.contains("2000"),
        "reason should give the size: {detail}"
    );

    // A ferrozmq peer sending a 2000-byte message gets dropped too; its message never
    // shows up, while the good peer keeps working throughout.
    let bad = socket(&ctx, SocketType::Push);
    bad.connect(&ep).unwrap();
    bad.send(vec![5u8; 2000]).unwrap();
    for i in 0..20u8 {
        good.send(vec![i; 500]).unwrap();
    }
    for i in 0..20u8 {
        let m = pull.recv().unwrap();
        assert_eq!(m.len(), 500, "only 500-byte messages may arrive");
        assert_eq!(&m[..], &[i; 500][..]);
    }
    assert_nothing_delivered(&pull, Duration::from_millis(100));
}

// ---------------------------------------------------------------- truncation and silence

#[test]
fn truncated_frame_then_eof_delivers_nothing() {
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);

    // A frame announcing 10 bytes, 3 given.
    let mut s = raw(&pull.last_endpoint());
    handshake(&mut s, "PUSH");
    let mut out = frame_header(0, 10);
    out.extend_from_slice(b"abc");
    s.write_all(&out).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    drop(s);

    // A complete first frame (MORE) and a truncated second: the message is incomplete.
    let mut s = raw(&pull.last_endpoint());
    handshake(&mut s, "PUSH");
    let mut out = data_frame(b"first part", true);
    out.extend(frame_header(0, 100));
    out.extend_from_slice(b"xy");
    s.write_all(&out).unwrap();
    drop(s);

    // A header cut in the middle.
    let mut s = raw(&pull.last_endpoint());
    handshake(&mut s, "PUSH");
    s.write_all(&[0x02, 0, 0, 0]).unwrap();
    drop(s);

    pull.set_recv_timeout(Some(Duration::from_millis(300)));
    assert!(
        matches!(pull.recv(), Err(Error::TimedOut)),
        "nothing may be delivered"
    );
    pull.set_recv_timeout(Some(TIMEOUT));
    assert_pull_still_serves(&ctx, &pull, "after truncation");
}

#[test]
fn silent_peer_is_dropped_after_handshake_ivl() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_handshake_ivl(Some(Duration::from_millis(200)));
    pull.bind("tcp://127.0.0.1:*").unwrap();

    let mut silent = raw(&pull.last_endpoint());
    // Half a greeting is no better than none.
    let mut half = raw(&pull.last_endpoint());
    write_all(&mut half, &null_greeting()[..30]);
    // A full greeting but no READY.
    let mut no_ready = raw(&pull.last_endpoint());
    write_all(&mut no_ready, &null_greeting());

    for (s, what) in [
        (&mut silent, "silence"),
        (&mut half, "half a greeting"),
        (&mut no_ready, "no READY"),
    ] {
        assert_closed(s, what);
    }
    let detail = assert_failure_event(&pull, "handshake timeout");
    assert!(
        detail.contains("timed out") || detail.contains("timeout"),
        "{detail}"
    );
    assert_pull_still_serves(&ctx, &pull, "after silence");
}

// ---------------------------------------------------------------- load

#[test]
fn garbage_storm_does_not_disturb_real_traffic() {
    const GARBAGE_CONNECTIONS: usize = 200;
    const THREADS: usize = 8;
    const MESSAGES: u32 = 2000;
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);
    let ep = pull.last_endpoint();
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();

    let attackers: Vec<_> = (0..THREADS)
        .map(|t| {
            let ep = ep.clone();
            thread::spawn(move || {
                let addr = ep.strip_prefix("tcp://").unwrap().to_string();
                for i in 0..GARBAGE_CONNECTIONS / THREADS {
                    let Ok(mut s) = TcpStream::connect(&addr) else {
                        continue;
                    };
                    let payload = match i % 4 {
                        0 => noise(512, (t * 1000 + i) as u64 + 1),
                        1 => b"GET / HTTP/1.0\r\n\r\n".to_vec(),
                        2 => {
                            let mut v = null_greeting();
                            v.extend(data_frame(b"no ready", false));
                            v
                        }
                        _ => {
                            let mut v = null_greeting();
                            v.extend(ready("PUSH"));
                            v.extend(frame_header(0, 200)); // truncated
                            v
                        }
                    };
                    // Garbage is repeated; protocol-shaped payloads are sent once (a
                    // repeated truncated frame would complete itself).
                    let repeats = if i % 4 < 2 { 3 } else { 1 };
                    for _ in 0..repeats {
                        if s.write_all(&payload).is_err() {
                            break;
                        }
                    }
                    drop(s);
                }
            })
        })
        .collect();

    for i in 0..MESSAGES {
        push.send(i.to_be_bytes().to_vec()).unwrap();
    }
    for i in 0..MESSAGES {
        let m = pull.recv().unwrap();
        assert_eq!(&m[..], &i.to_be_bytes(), "real traffic lost or reordered");
    }
    for a in attackers {
        a.join().unwrap();
    }
    // Nothing the attackers sent got through, and the socket still serves.
    assert_nothing_delivered(&pull, Duration::from_millis(100));
    assert_pull_still_serves(&ctx, &pull, "after the storm");
}

// ---------------------------------------------------------------- orderly close

/// A peer that sends a burst and closes its end at once: everything it sent before the
/// FIN must be delivered, however slowly the application reads (libzmq decodes every
/// buffered byte before it acts on the end of the stream). Small receive HWMs make the
/// connection park decoded-but-undelivered input while the FIN is already there.
#[test]
fn everything_sent_before_the_peer_closes_is_delivered() {
    const N: u32 = 20_000;
    let mut losses = Vec::new();
    for rcvhwm in [2u64, 10, 100, 1000] {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        pull.set_rcvhwm(rcvhwm);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let mut s = raw(&pull.last_endpoint());
        handshake(&mut s, "PUSH");
        let mut out = Vec::with_capacity(N as usize * 6);
        for i in 0..N {
            out.extend(data_frame(&i.to_be_bytes(), false));
        }
        let receiver = thread::spawn(move || {
            let mut got = 0u32;
            pull.set_recv_timeout(Some(Duration::from_millis(300)));
            while got < N {
                match pull.recv() {
                    Ok(m) => {
                        assert_eq!(&m[..], &got.to_be_bytes(), "out of order");
                        got += 1;
                    }
                    Err(_) => break,
                }
            }
            got
        });
        s.write_all(&out).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let got = receiver.join().unwrap();
        drop(s); // only now: our end stays open (no RST) while ferrozmq reads
        if got != N {
            losses.push(format!("rcvhwm {rcvhwm}: {got} of {N}"));
        }
    }
    assert!(
        losses.is_empty(),
        "messages lost when the peer closed after sending: {losses:?}"
    );
}

/// A peer that sends its last message and closes in one burst: the message arrives and
/// ferrozmq notices the end of the stream (closes its side, records the disconnect).
#[test]
fn peer_closing_right_after_its_last_message_is_noticed() {
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull);
    for round in 0..20 {
        let mut s = raw(&pull.last_endpoint());
        handshake(&mut s, "PUSH");
        s.write_all(&data_frame(format!("last words {round}").as_bytes(), false))
            .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert_eq!(pull.recv().unwrap(), format!("last words {round}").as_str());
        assert!(
            closed_within(&mut s, CLOSE_WITHIN),
            "round {round}: ferrozmq never noticed that the peer closed"
        );
    }
}

/// The same from the connecting side: a raw server that handshakes, sends one message
/// and hangs up must see ferrozmq notice and reconnect (RECONNECT_IVL, 100 ms).
#[test]
fn connecter_reconnects_after_the_server_hangs_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    for round in 0..5 {
        let deadline = Instant::now() + CLOSE_WITHIN;
        let mut s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let what = if round == 0 {
                        "connect"
                    } else {
                        "reconnect after the hang-up"
                    };
                    assert!(Instant::now() < deadline, "round {round}: no {what}");
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        handshake(&mut s, "PUSH");
        s.write_all(&data_frame(format!("bye {round}").as_bytes(), false))
            .unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        assert_eq!(pull.recv().unwrap(), format!("bye {round}").as_str());
        assert!(
            closed_within(&mut s, CLOSE_WITHIN),
            "round {round}: hang-up not noticed"
        );
    }
}

/// ZMTP.md §5/§7 (libzmq [obs]): after a protocol error such as a socket-type mismatch
/// the connecting side closes the link and does not reconnect.
#[test]
fn connecter_gives_up_after_a_protocol_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut out = null_greeting();
    out.extend(ready("PUSH")); // PUSH cannot talk to PUSH
    write_all(&mut s, &out);
    assert_closed(&mut s, "a server claiming PUSH to a PUSH");
    let detail = assert_failure_event(&push, "type mismatch");
    assert!(detail.contains("PUSH"), "{detail}");

    listener.set_nonblocking(true).unwrap();
    thread::sleep(Duration::from_millis(500)); // 5 reconnect intervals
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Ok(_) => panic!("ferrozmq reconnected after a protocol error"),
        Err(e) => panic!("accept: {e}"),
    }
}

// ---------------------------------------------------------------- subscriptions on the wire

/// Publishes `probe` then `wanted` until the raw subscriber reads a frame; returns the
/// first frame body that is not a probe.
fn publish_until_read(publisher: &Socket, s: &mut TcpStream, wanted: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publisher.send("zz-unwanted").unwrap();
        publisher.send(wanted.to_vec()).unwrap();
        let mut head = [0u8; 2];
        match s.read_exact(&mut head) {
            Ok(()) => {
                let body = read_exact(s, usize::from(head[1]));
                return body;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
        assert!(Instant::now() < deadline, "publisher never sent a match");
    }
}

#[test]
fn zmtp30_subscriber_subscribes_with_a_legacy_message() {
    let ctx = Context::new();
    let publisher = bound(&ctx, SocketType::Pub);
    let mut s = raw(&publisher.last_endpoint());
    let mut out = greeting(3, 0, "NULL");
    out.extend(ready("SUB"));
    out.extend(data_frame(b"\x01topic", false));
    s.write_all(&out).unwrap();
    assert_eq!(read_handshake(&mut s), "PUB");
    // Only the subscribed prefix crosses the wire.
    assert_eq!(
        publish_until_read(&publisher, &mut s, b"topic-1"),
        b"topic-1"
    );
}

#[test]
fn zmtp31_subscriber_subscribes_and_cancels_with_commands() {
    let ctx = Context::new();
    let publisher = bound(&ctx, SocketType::Pub);
    let mut s = raw(&publisher.last_endpoint());
    assert_eq!(handshake(&mut s, "SUB"), "PUB");
    s.write_all(&command_frame("SUBSCRIBE", b"a")).unwrap();
    s.write_all(&command_frame("SUBSCRIBE", b"b")).unwrap();
    assert_eq!(publish_until_read(&publisher, &mut s, b"a1"), b"a1");
    s.write_all(&command_frame("CANCEL", b"a")).unwrap();
    // Once the cancel is through, "a" stops and "b" still flows.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publisher.send("a2").unwrap();
        publisher.send("b2").unwrap();
        thread::sleep(Duration::from_millis(5));
        let (_, body) = read_frame(&mut s);
        if body == b"b2" {
            // Everything after this "b2" must be b's only.
            publisher.send("a3").unwrap();
            publisher.send("b3").unwrap();
            loop {
                let (_, body) = read_frame(&mut s);
                assert_ne!(body, b"a3", "cancelled prefix still delivered");
                if body == b"b3" {
                    return;
                }
            }
        }
        assert!(Instant::now() < deadline);
    }
}

#[test]
fn xpub_gets_notices_from_either_wire_form_and_ignores_nothing_else() {
    let ctx = Context::new();
    let xpub = bound(&ctx, SocketType::XPub);
    let mut v31 = raw(&xpub.last_endpoint());
    assert_eq!(handshake(&mut v31, "XSUB"), "XPUB");
    v31.write_all(&command_frame("SUBSCRIBE", b"x")).unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x01x"[..]);
    // An XSUB may send its own messages upstream: they reach the XPUB application.
    v31.write_all(&data_frame(b"upstream", false)).unwrap();
    assert_eq!(xpub.recv().unwrap(), "upstream");
    let mut v30 = raw(&xpub.last_endpoint());
    let mut out = greeting(3, 0, "NULL");
    out.extend(ready("SUB"));
    out.extend(data_frame(b"\x01y", false));
    out.extend(data_frame(b"\x00y", false));
    v30.write_all(&out).unwrap();
    assert_eq!(read_handshake(&mut v30), "XPUB");
    assert_eq!(xpub.recv().unwrap(), &b"\x01y"[..]);
    assert_eq!(xpub.recv().unwrap(), &b"\x00y"[..]);
}

#[test]
fn sub_speaks_each_peers_protocol_version() {
    for minor in [0u8, 1] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let ctx = Context::new();
        let sub = socket(&ctx, SocketType::Sub);
        sub.subscribe("news").unwrap();
        sub.connect(&format!("tcp://{addr}")).unwrap();
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut out = greeting(3, minor, "NULL");
        out.extend(ready("PUB"));
        s.write_all(&out).unwrap();
        assert_eq!(read_handshake(&mut s), "SUB");
        let (flags, body) = read_frame(&mut s);
        if minor == 0 {
            assert_eq!(
                (flags, &body[..]),
                (0, &b"\x01news"[..]),
                "legacy form to 3.0"
            );
        } else {
            assert_eq!(
                (flags, &body[..]),
                (0x04, &b"\x09SUBSCRIBEnews"[..]),
                "command to 3.1"
            );
        }
        // And messages from this publisher are filtered locally as well.
        s.write_all(&data_frame(b"sport", false)).unwrap();
        s.write_all(&data_frame(b"news!", false)).unwrap();
        assert_eq!(sub.recv().unwrap(), "news!");
    }
}
