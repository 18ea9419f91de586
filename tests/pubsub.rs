//! Publish-subscribe as a user sees it: PUB/SUB prefix filtering, counted subscriptions,
//! dropping at the high-water mark, subscriptions surviving a reconnect, and the XPUB
//! and XSUB variants with their options, over inproc, tcp and ipc.
//!
//! A subscription takes a moment to reach the publisher (it travels as a message), so
//! tests publish until the subscriber sees the first message ("settle") before checking
//! what they really test. Every blocking call has a timeout.

mod common;
use common::{socket, unique, TIMEOUT};

use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, Socket, SocketType};

fn endpoints() -> Vec<String> {
    vec![
        format!("inproc://{}", unique("ps")),
        "tcp://127.0.0.1:*".to_string(),
        format!("ipc:///tmp/{}.ipc", unique("ferrozmq-ps")),
    ]
}

/// Binds `s` and returns the address to connect to.
fn bind(s: &Socket, endpoint: &str) -> String {
    s.bind(endpoint).unwrap();
    s.last_endpoint()
}

/// Publishes `probe` until `sub` receives a message starting with it (the subscription
/// has reached the publisher), then drains anything else already queued.
fn settle(publisher: &Socket, sub: &Socket, probe: &[u8]) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publisher.send(probe.to_vec()).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        if let Ok(m) = sub.try_recv() {
            if m.starts_with(probe) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "subscription never arrived");
    }
    while sub.try_recv().is_ok() {}
}

fn recv_str(s: &Socket) -> String {
    String::from_utf8(s.recv().expect("recv").to_vec()).unwrap()
}

/// Receives the next whole message whose first frame doesn't start with `probe`
/// (late settle probes may still be on their way).
fn recv_skipping(s: &Socket, probe: &[u8]) -> Vec<Vec<u8>> {
    loop {
        let m = s.recv_multipart().expect("recv");
        if !m[0].starts_with(probe) {
            return m.into_iter().map(|f| f.to_vec()).collect();
        }
    }
}

#[test]
fn sub_receives_only_its_prefixes_on_every_transport() {
    for endpoint in endpoints() {
        eprintln!("--- {endpoint}");
        let ctx = Context::new();
        let publisher = socket(&ctx, SocketType::Pub);
        let addr = bind(&publisher, &endpoint);
        let sub = socket(&ctx, SocketType::Sub);
        sub.subscribe("news.").unwrap();
        sub.subscribe("weather").unwrap();
        sub.connect(&addr).unwrap();
        settle(&publisher, &sub, b"news.settle");
        for topic in ["sport.x", "news.a", "weatherman", "other", "news.b", "wea"] {
            publisher.send(topic).unwrap();
        }
        publisher.send("news.end").unwrap();
        let got: Vec<String> = (0..4).map(|_| recv_str(&sub)).collect();
        assert_eq!(got, ["news.a", "weatherman", "news.b", "news.end"]);
        assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
    }
}

#[test]
fn empty_prefix_receives_everything_and_multipart_follows_first_frame() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    let addr = bind(&publisher, "tcp://127.0.0.1:*");
    let all = socket(&ctx, SocketType::Sub);
    all.subscribe("").unwrap();
    all.connect(&addr).unwrap();
    let some = socket(&ctx, SocketType::Sub);
    some.subscribe("a").unwrap();
    some.connect(&addr).unwrap();
    settle(&publisher, &all, b"a-settle");
    settle(&publisher, &some, b"a-settle");
    publisher.send_multipart(["b-key", "a-body"]).unwrap();
    publisher.send_multipart(["a-key", "b-body"]).unwrap();
    let m = recv_skipping(&all, b"a-settle");
    assert_eq!(m, [&b"b-key"[..], b"a-body"]);
    let m = recv_skipping(&all, b"a-settle");
    assert_eq!(m, [&b"a-key"[..], b"b-body"]);
    let m = recv_skipping(&some, b"a-settle");
    assert_eq!(m, [&b"a-key"[..], b"b-body"]);
}

#[test]
fn subscribing_twice_needs_two_unsubscribes() {
    for endpoint in endpoints() {
        eprintln!("--- {endpoint}");
        let ctx = Context::new();
        let publisher = socket(&ctx, SocketType::Pub);
        let addr = bind(&publisher, &endpoint);
        let sub = socket(&ctx, SocketType::Sub);
        sub.subscribe("t").unwrap();
        sub.subscribe("t").unwrap();
        sub.subscribe("z").unwrap();
        sub.connect(&addr).unwrap();
        settle(&publisher, &sub, b"t0");
        sub.unsubscribe("t").unwrap();
        // Still subscribed once: "t" keeps arriving. The "z" marker proves ordering.
        std::thread::sleep(Duration::from_millis(50));
        publisher.send("t1").unwrap();
        publisher.send("z1").unwrap();
        assert_eq!(recv_str(&sub), "t1");
        assert_eq!(recv_str(&sub), "z1");
        sub.unsubscribe("t").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        publisher.send("t2").unwrap();
        publisher.send("z2").unwrap();
        assert_eq!(recv_str(&sub), "z2");
        // Unsubscribing something never subscribed is harmless.
        sub.unsubscribe("never").unwrap();
    }
}

#[test]
fn publisher_filters_so_unwanted_messages_never_cross_the_wire() {
    // A SUB at a tiny receive HWM that subscribes to nothing of the flood: if the
    // publisher didn't filter, the flood would be sent and count against nothing, but
    // the wanted message after it would still arrive; what proves publisher-side
    // filtering is the PUB's drop counter staying at zero with a tiny send HWM.
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    publisher.set_sndhwm(10);
    let addr = bind(&publisher, "tcp://127.0.0.1:*");
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("wanted").unwrap();
    sub.connect(&addr).unwrap();
    settle(&publisher, &sub, b"wanted-settle");
    for _ in 0..100_000 {
        publisher.send("unwanted").unwrap();
    }
    publisher.send("wanted!").unwrap();
    assert_eq!(recv_str(&sub), "wanted!");
    assert_eq!(publisher.stats().dropped, 0);
}

#[test]
fn pub_drops_at_the_high_water_mark_and_counts_it() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    publisher.set_sndhwm(5);
    let name = format!("inproc://{}", unique("hwm"));
    publisher.bind(&name).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_rcvhwm(5);
    sub.subscribe("").unwrap();
    sub.connect(&name).unwrap();
    settle(&publisher, &sub, b"");
    let dropped_before = publisher.stats().dropped;
    let start = Instant::now();
    for i in 0..1000 {
        // Never blocks, even with nobody reading.
        publisher.send(format!("{i}")).unwrap();
    }
    assert!(start.elapsed() < TIMEOUT);
    let mut got = 0;
    while sub.try_recv().is_ok() {
        got += 1;
    }
    let dropped = publisher.stats().dropped - dropped_before;
    assert!((5..1000).contains(&got), "got {got}");
    assert_eq!(got + dropped, 1000, "every message delivered or counted");
}

#[test]
fn subscriptions_are_resent_after_the_publisher_restarts() {
    let port = common::free_tcp_port();
    let addr = format!("tcp://127.0.0.1:{port}");
    let ctx = Context::new();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_reconnect_ivl(Some(Duration::from_millis(20)));
    sub.subscribe("a").unwrap();
    sub.subscribe("b").unwrap();
    sub.unsubscribe("b").unwrap();
    sub.connect(&addr).unwrap();
    {
        let publisher = socket(&ctx, SocketType::Pub);
        publisher.bind(&addr).unwrap();
        settle(&publisher, &sub, b"a1");
    }
    // A new publisher on the same port: the SUB reconnects and subscribes again.
    let mut publisher = None;
    for _ in 0..100 {
        let p = socket(&ctx, SocketType::Pub);
        if p.bind(&addr).is_ok() {
            publisher = Some(p);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let publisher = publisher.expect("rebind");
    settle(&publisher, &sub, b"a2");
    publisher.send("b-not-wanted").unwrap();
    publisher.send("a-last").unwrap();
    assert_eq!(recv_str(&sub), "a-last");
}

#[test]
fn sub_cannot_send_and_pub_cannot_receive() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    let sub = socket(&ctx, SocketType::Sub);
    assert!(matches!(
        sub.send("x").map_err(|e| e.error),
        Err(Error::NotSupported)
    ));
    assert!(matches!(publisher.try_recv(), Err(Error::NotSupported)));
    assert!(matches!(
        publisher.subscribe("x"),
        Err(Error::InvalidOption(_))
    ));
    assert!(matches!(
        sub.set_xpub_verbose(true),
        Err(Error::InvalidOption(_))
    ));
    assert_eq!(
        sub.linger(),
        Some(Duration::ZERO),
        "SUB does not linger by default"
    );
}

#[test]
fn xpub_sees_subscriptions_and_unsubscriptions() {
    for endpoint in endpoints() {
        eprintln!("--- {endpoint}");
        let ctx = Context::new();
        let xpub = socket(&ctx, SocketType::XPub);
        let addr = bind(&xpub, &endpoint);
        let sub1 = socket(&ctx, SocketType::Sub);
        sub1.connect(&addr).unwrap();
        let sub2 = socket(&ctx, SocketType::Sub);
        sub2.connect(&addr).unwrap();
        sub1.subscribe("A").unwrap();
        assert_eq!(xpub.recv().unwrap(), &b"\x01A"[..]);
        // A second subscriber to the same topic: not news in the default mode.
        sub2.subscribe("A").unwrap();
        sub2.subscribe("B").unwrap();
        assert_eq!(xpub.recv().unwrap(), &b"\x01B"[..]);
        sub1.unsubscribe("A").unwrap();
        sub2.unsubscribe("A").unwrap();
        // Only the last one out is announced.
        assert_eq!(xpub.recv().unwrap(), &b"\x00A"[..]);
        // A subscriber leaving cancels what it alone had.
        drop(sub2);
        assert_eq!(xpub.recv().unwrap(), &b"\x00B"[..]);
        assert!(matches!(xpub.try_recv(), Err(Error::WouldBlock)));
    }
}

#[test]
fn xpub_verbose_and_verboser() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_verboser(true).unwrap();
    let addr = bind(&xpub, "tcp://127.0.0.1:*");
    let (s1, s2) = (socket(&ctx, SocketType::Sub), socket(&ctx, SocketType::Sub));
    s1.connect(&addr).unwrap();
    s2.connect(&addr).unwrap();
    s1.subscribe("T").unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x01T"[..]);
    s2.subscribe("T").unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x01T"[..]);
    s1.unsubscribe("T").unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x00T"[..]);
    s2.unsubscribe("T").unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x00T"[..]);

    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_verbose(true).unwrap();
    let addr = bind(&xpub, "tcp://127.0.0.1:*");
    let (s1, s2) = (socket(&ctx, SocketType::Sub), socket(&ctx, SocketType::Sub));
    s1.connect(&addr).unwrap();
    s2.connect(&addr).unwrap();
    s1.subscribe("T").unwrap();
    s2.subscribe("T").unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x01T"[..]);
    assert_eq!(xpub.recv().unwrap(), &b"\x01T"[..]);
    s1.unsubscribe("T").unwrap();
    s2.unsubscribe("T").unwrap();
    // VERBOSE announces only the last unsubscribe.
    assert_eq!(xpub.recv().unwrap(), &b"\x00T"[..]);
    assert!(matches!(xpub.try_recv(), Err(Error::WouldBlock)));
}

#[test]
fn xpub_manual_lets_the_application_decide() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_manual(true).unwrap();
    let name = format!("inproc://{}", unique("manual"));
    xpub.bind(&name).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.connect(&name).unwrap();
    sub.subscribe("asked").unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x01asked"[..]);
    // Not applied: nothing matches yet. The application subscribes the peer to
    // something else instead.
    xpub.subscribe("given").unwrap();
    sub.subscribe("given").unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x01given"[..]);
    xpub.send("asked-1").unwrap();
    xpub.send("given-1").unwrap();
    assert_eq!(recv_str(&sub), "given-1");
}

#[test]
fn xpub_welcome_message_greets_each_subscriber() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_welcome_msg(Some("WELCOME")).unwrap();
    let addr = bind(&xpub, "tcp://127.0.0.1:*");
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("WEL").unwrap();
    sub.connect(&addr).unwrap();
    // As in libzmq, the XPUB adopts new peers when its application calls into it.
    assert_eq!(xpub.recv().unwrap(), &b"\x01WEL"[..]);
    assert_eq!(recv_str(&sub), "WELCOME");
}

#[test]
fn xpub_nodrop_blocks_instead_of_dropping() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_nodrop(true).unwrap();
    xpub.set_sndhwm(4);
    let name = format!("inproc://{}", unique("nodrop"));
    xpub.bind(&name).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_rcvhwm(4);
    sub.subscribe("").unwrap();
    sub.connect(&name).unwrap();
    assert_eq!(xpub.recv().unwrap(), &b"\x01"[..]);
    let mut sent = 0;
    loop {
        match xpub.try_send("m") {
            Ok(()) => sent += 1,
            Err(e) => {
                assert!(matches!(e.error, Error::WouldBlock));
                break;
            }
        }
        assert!(sent < 100, "never reached the high-water mark");
    }
    // A reader makes room and a blocking send then goes through.
    let reader = std::thread::spawn(move || {
        let mut n = 0;
        while sub.recv().is_ok() {
            n += 1;
            if n == sent + 1 {
                break;
            }
        }
        n
    });
    xpub.send("last").unwrap();
    assert_eq!(reader.join().unwrap(), sent + 1);
    assert_eq!(xpub.stats().dropped, 0);
}

#[test]
fn xsub_forwards_subscriptions_and_receives_unfiltered() {
    for endpoint in endpoints() {
        eprintln!("--- {endpoint}");
        let ctx = Context::new();
        let xpub = socket(&ctx, SocketType::XPub);
        let addr = bind(&xpub, &endpoint);
        let xsub = socket(&ctx, SocketType::XSub);
        xsub.connect(&addr).unwrap();
        xsub.send(&b"\x01topic"[..]).unwrap();
        assert_eq!(xpub.recv().unwrap(), &b"\x01topic"[..]);
        // Any other message goes upstream as it is.
        xsub.send("hello upstream").unwrap();
        assert_eq!(recv_str(&xpub), "hello upstream");
        xpub.send("topic-1").unwrap();
        assert_eq!(recv_str(&xsub), "topic-1");
        xsub.send(&b"\x00topic"[..]).unwrap();
        assert_eq!(xpub.recv().unwrap(), &b"\x00topic"[..]);
    }
}

#[test]
fn forwarder_chain_of_xsub_and_xpub_carries_subscriptions_both_ways() {
    // publisher -> XSUB | forwarder thread | XPUB -> subscriber, all over tcp.
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    let pub_addr = bind(&publisher, "tcp://127.0.0.1:*");
    let xsub = socket(&ctx, SocketType::XSub);
    xsub.connect(&pub_addr).unwrap();
    let xpub = socket(&ctx, SocketType::XPub);
    let sub_addr = bind(&xpub, "tcp://127.0.0.1:*");
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("fwd").unwrap();
    sub.connect(&sub_addr).unwrap();
    // Forward the subscription upstream by hand.
    let notice = xpub.recv().unwrap();
    assert_eq!(notice, &b"\x01fwd"[..]);
    xsub.send(notice).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publisher.send("fwd-x").unwrap();
        if let Ok(m) = xsub.try_recv() {
            xpub.send(m).unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
        assert!(Instant::now() < deadline);
    }
    assert_eq!(recv_str(&sub), "fwd-x");
}

#[test]
fn conflate_keeps_only_the_newest() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    let name = format!("inproc://{}", unique("conflate"));
    publisher.bind(&name).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_conflate(true).unwrap();
    sub.subscribe("").unwrap();
    sub.connect(&name).unwrap();
    settle(&publisher, &sub, b"");
    for i in 0..10 {
        publisher.send(format!("v{i}")).unwrap();
    }
    assert_eq!(recv_str(&sub), "v9");
    assert!(matches!(sub.try_recv(), Err(Error::WouldBlock)));
    let rep = socket(&ctx, SocketType::Rep);
    assert!(matches!(
        rep.set_conflate(true),
        Err(Error::InvalidOption(_))
    ));
}

#[test]
fn many_subscribers_each_get_one_copy() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    let addr = bind(&publisher, "tcp://127.0.0.1:*");
    let subs: Vec<Socket> = (0..20)
        .map(|i| {
            let s = socket(&ctx, SocketType::Sub);
            // Overlapping prefixes must still deliver each message once.
            s.subscribe("").unwrap();
            s.subscribe("k").unwrap();
            s.subscribe(format!("k{}", i % 3)).unwrap();
            s.connect(&addr).unwrap();
            s
        })
        .collect();
    for s in &subs {
        settle(&publisher, s, b"k-settle");
    }
    publisher.send("k1-data").unwrap();
    publisher.send("end").unwrap();
    for s in &subs {
        assert_eq!(recv_skipping(s, b"k-settle"), [b"k1-data".to_vec()]);
        assert_eq!(recv_skipping(s, b"k-settle"), [b"end".to_vec()]);
    }
}
