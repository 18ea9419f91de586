//! Behaviour of the socket types (PATTERNS.md) as a user sees it through the public API,
//! over inproc and tcp (and ipc where the transport itself is the point).
//!
//! Every socket gets send and receive timeouts, so a broken pattern fails a test instead
//! of hanging it. Endpoints are unique per test (`*` ports, names with the process id and
//! a counter), so tests can run in parallel and under nextest.

mod common;
use common::{free_tcp_port, unique};

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, Message, SendFlags, Socket, SocketType};

/// Safety net for every blocking call.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Inproc,
    Tcp,
}

const TRANSPORTS: [Transport; 2] = [Transport::Inproc, Transport::Tcp];

/// Runs `body` once per transport, saying which one failed.
fn each_transport(body: impl Fn(Transport)) {
    for t in TRANSPORTS {
        eprintln!("--- transport {t:?}");
        body(t);
    }
}

/// A socket with send/receive timeouts as a safety net, and no linger.
fn socket(ctx: &Context, ty: SocketType) -> Socket {
    let s = ctx.socket(ty).expect("create socket");
    s.set_recv_timeout(Some(TIMEOUT));
    s.set_send_timeout(Some(TIMEOUT));
    // Messages some tests leave queued for absent peers must not make the context's
    // drop wait for them (linger itself is tested in lifecycle.rs).
    s.set_linger(Some(Duration::ZERO));
    s
}

/// Binds `s` on a fresh endpoint of transport `t`; returns the endpoint to connect to.
fn bind(s: &Socket, t: Transport, tag: &str) -> String {
    match t {
        Transport::Inproc => {
            let ep = format!("inproc://{}", unique(tag));
            s.bind(&ep).expect("bind inproc");
            ep
        }
        Transport::Tcp => {
            s.bind("tcp://127.0.0.1:*").expect("bind tcp");
            s.last_endpoint()
        }
    }
}

/// Polls `cond` until it holds or `TIMEOUT` passes.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

fn wait_peers(s: &Socket, n: usize) {
    wait_for(&format!("{n} peers"), || s.peer_count() >= n);
}

/// The frames of a message as (lossy) text, for readable comparisons.
fn bytes(parts: &[Message]) -> Vec<String> {
    parts
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect()
}

fn strs(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// Asserts that nothing arrives on `s` within `within`.
fn assert_nothing_arrives(s: &Socket, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match s.try_recv() {
            Err(Error::WouldBlock) => thread::sleep(Duration::from_millis(5)),
            other => panic!("expected nothing, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- REQ / REP

#[test]
fn req_rep_lock_step() {
    each_transport(|t| {
        let ctx = Context::new();
        let rep = socket(&ctx, SocketType::Rep);
        let ep = bind(&rep, t, "lockstep");
        let req = socket(&ctx, SocketType::Req);
        req.connect(&ep).unwrap();

        // REQ must send first.
        assert!(matches!(req.recv(), Err(Error::WrongState)));
        assert!(matches!(req.try_recv(), Err(Error::WrongState)));
        // REP must receive first; the reply is handed back.
        let err = rep.send("too early").unwrap_err();
        assert!(matches!(err.error, Error::WrongState), "{err:?}");
        assert_eq!(err.message, "too early");

        req.send("first").unwrap();
        // A second request before the reply is refused and handed back.
        let err = req.send("second").unwrap_err();
        assert!(matches!(err.error, Error::WrongState), "{err:?}");
        assert_eq!(err.message, "second");

        assert_eq!(rep.recv().unwrap(), "first");
        assert!(!rep.more());
        // REP must reply before receiving again.
        assert!(matches!(rep.recv(), Err(Error::WrongState)));
        rep.send("reply to first").unwrap();
        assert_eq!(req.recv().unwrap(), "reply to first");
        // Back to the start: receiving again without a request is refused.
        assert!(matches!(req.recv(), Err(Error::WrongState)));

        // Multipart requests and replies keep every frame, empty ones included.
        req.send_multipart(["a", "", "c"]).unwrap();
        assert_eq!(bytes(&rep.recv_multipart().unwrap()), strs(&["a", "", "c"]));
        rep.send_multipart(["x", "y", "", "z"]).unwrap();
        assert_eq!(
            bytes(&req.recv_multipart().unwrap()),
            strs(&["x", "y", "", "z"])
        );

        // And many round-trips in a row.
        for i in 0..50 {
            req.send(format!("req {i}")).unwrap();
            let got = rep.recv().unwrap();
            rep.send(format!("rep {}", got.as_str().unwrap())).unwrap();
            assert_eq!(req.recv().unwrap(), format!("rep req {i}").as_str());
        }
    });
}

#[test]
fn req_round_robins_over_two_reps_and_gets_each_reply_from_the_right_one() {
    each_transport(|t| {
        let ctx = Context::new();
        let rep_a = socket(&ctx, SocketType::Rep);
        let rep_b = socket(&ctx, SocketType::Rep);
        let ep_a = bind(&rep_a, t, "rr-a");
        let ep_b = bind(&rep_b, t, "rr-b");
        let req = socket(&ctx, SocketType::Req);
        req.connect(&ep_a).unwrap();
        req.connect(&ep_b).unwrap();
        wait_peers(&req, 2);

        let mut order = Vec::new();
        for i in 0..6 {
            let body = format!("request {i}");
            req.send(body.as_str()).unwrap();
            // Whichever REP got it answers with its own name.
            let deadline = Instant::now() + TIMEOUT;
            let (name, rep) = loop {
                match rep_a.try_recv() {
                    Ok(m) => {
                        assert_eq!(m, body.as_str());
                        break ("A", &rep_a);
                    }
                    Err(Error::WouldBlock) => {}
                    Err(e) => panic!("rep A: {e}"),
                }
                match rep_b.try_recv() {
                    Ok(m) => {
                        assert_eq!(m, body.as_str());
                        break ("B", &rep_b);
                    }
                    Err(Error::WouldBlock) => {}
                    Err(e) => panic!("rep B: {e}"),
                }
                assert!(Instant::now() < deadline, "request {i} reached no REP");
                thread::sleep(Duration::from_millis(1));
            };
            rep.send(format!("{name} answers {i}")).unwrap();
            assert_eq!(req.recv().unwrap(), format!("{name} answers {i}").as_str());
            order.push(name);
        }
        // Strict alternation.
        for w in order.windows(2) {
            assert_ne!(w[0], w[1], "requests did not alternate: {order:?}");
        }
    });
}

// ---------------------------------------------------------------- DEALER / ROUTER

#[test]
fn dealer_router_envelopes_and_routing_by_id() {
    each_transport(|t| {
        let ctx = Context::new();
        let router = socket(&ctx, SocketType::Router);
        let ep = bind(&router, t, "router");
        let named = socket(&ctx, SocketType::Dealer);
        named.set_routing_id("x").unwrap();
        assert_eq!(&named.routing_id()[..], b"x");
        named.connect(&ep).unwrap();
        let anon = socket(&ctx, SocketType::Dealer);
        anon.connect(&ep).unwrap();

        named.send_multipart(["from", "named"]).unwrap();
        anon.send_multipart(["from", "anon"]).unwrap();

        let mut ids = HashMap::new();
        for _ in 0..2 {
            let parts = router.recv_multipart().unwrap();
            assert_eq!(parts.len(), 3, "{parts:?}");
            assert_eq!(parts[1], "from");
            ids.insert(parts[2].as_str().unwrap().to_string(), parts[0].to_vec());
        }
        assert_eq!(
            ids["named"],
            b"x".to_vec(),
            "a DEALER with ROUTING_ID x is seen as x"
        );
        let anon_id = ids["anon"].clone();
        assert_eq!(anon_id.len(), 5, "generated ids are 5 bytes: {anon_id:?}");
        assert_eq!(anon_id[0], 0, "generated ids start with a zero byte");

        // Replies go to the right DEALER, without the routing id.
        router
            .send_multipart([&anon_id[..], b"for", b"anon"])
            .unwrap();
        router
            .send_multipart([&b"x"[..], b"for", b"named"])
            .unwrap();
        assert_eq!(
            bytes(&anon.recv_multipart().unwrap()),
            strs(&["for", "anon"])
        );
        assert_eq!(
            bytes(&named.recv_multipart().unwrap()),
            strs(&["for", "named"])
        );
        // Frame by frame works too.
        router.send_more("x").unwrap();
        router.send("again").unwrap();
        assert_eq!(named.recv().unwrap(), "again");
        assert_nothing_arrives(&anon, Duration::from_millis(50));
        assert_nothing_arrives(&named, Duration::from_millis(10));
    });
}

#[test]
fn router_unknown_id_is_dropped_or_unreachable_with_mandatory() {
    each_transport(|t| {
        let ctx = Context::new();
        let router = socket(&ctx, SocketType::Router);
        let ep = bind(&router, t, "mandatory");
        let dealer = socket(&ctx, SocketType::Dealer);
        dealer.set_routing_id("known").unwrap();
        dealer.connect(&ep).unwrap();
        dealer.send("hi").unwrap();
        assert_eq!(
            bytes(&router.recv_multipart().unwrap()),
            strs(&["known", "hi"])
        );

        // Default: silently dropped.
        router.send_multipart(["nobody", "lost"]).unwrap();
        router.try_send_multipart(["nobody", "lost"]).unwrap();

        router.set_router_mandatory(true).unwrap();
        let err = router.send_multipart(["nobody", "a", "b"]).unwrap_err();
        assert!(matches!(err.error, Error::HostUnreachable), "{err:?}");
        assert_eq!(
            bytes(&err.message),
            strs(&["nobody", "a", "b"]),
            "message handed back whole"
        );
        let err = router.try_send_multipart(["nobody", "c"]).unwrap_err();
        assert!(matches!(err.error, Error::HostUnreachable), "{err:?}");

        // The known peer still gets its messages, and only those.
        router.send_multipart(["known", "delivered"]).unwrap();
        assert_eq!(dealer.recv().unwrap(), "delivered");
        assert_nothing_arrives(&dealer, Duration::from_millis(50));

        // Back to non-mandatory: dropped silently again.
        router.set_router_mandatory(false).unwrap();
        router.send_multipart(["nobody", "lost"]).unwrap();
    });
}

#[test]
fn router_mandatory_only_applies_to_router() {
    let ctx = Context::new();
    for ty in [
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Push,
        SocketType::Pull,
        SocketType::Pair,
    ] {
        let s = ctx.socket(ty).unwrap();
        assert!(
            matches!(s.set_router_mandatory(true), Err(Error::InvalidOption(_))),
            "{ty:?} accepted ROUTER_MANDATORY"
        );
    }
    assert!(ctx
        .socket(SocketType::Router)
        .unwrap()
        .set_router_mandatory(true)
        .is_ok());
}

#[test]
fn req_to_router_and_dealer_to_rep_envelopes() {
    each_transport(|t| {
        let ctx = Context::new();
        // REQ -> ROUTER: [id, "", body]; reply [id, "", reply].
        let router = socket(&ctx, SocketType::Router);
        let ep = bind(&router, t, "req-router");
        let req = socket(&ctx, SocketType::Req);
        req.connect(&ep).unwrap();
        req.send_multipart(["body", "more"]).unwrap();
        let parts = router.recv_multipart().unwrap();
        assert_eq!(parts.len(), 4, "{parts:?}");
        assert!(!parts[0].is_empty(), "routing id");
        assert_eq!(bytes(&parts[1..]), strs(&["", "body", "more"]));
        router
            .send_multipart([&parts[0][..], b"", b"reply"])
            .unwrap();
        assert_eq!(bytes(&req.recv_multipart().unwrap()), strs(&["reply"]));

        // DEALER -> REP: DEALER supplies the delimiter itself and gets it back.
        let rep = socket(&ctx, SocketType::Rep);
        let ep = bind(&rep, t, "dealer-rep");
        let dealer = socket(&ctx, SocketType::Dealer);
        dealer.connect(&ep).unwrap();
        dealer.send_multipart(["", "question"]).unwrap();
        assert_eq!(bytes(&rep.recv_multipart().unwrap()), strs(&["question"]));
        rep.send("answer").unwrap();
        assert_eq!(
            bytes(&dealer.recv_multipart().unwrap()),
            strs(&["", "answer"])
        );
    });
}

// ---------------------------------------------------------------- PUSH / PULL

#[test]
fn push_round_robins_over_three_pulls() {
    each_transport(|t| {
        let ctx = Context::new();
        let push = socket(&ctx, SocketType::Push);
        let ep = bind(&push, t, "push-rr");
        let pulls: Vec<Socket> = (0..3)
            .map(|_| {
                let p = socket(&ctx, SocketType::Pull);
                p.connect(&ep).unwrap();
                p
            })
            .collect();
        wait_peers(&push, 3);
        assert_eq!(push.peer_count(), 3);
        for i in 0..30 {
            push.send(format!("job {i}")).unwrap();
        }
        let mut all = Vec::new();
        for (n, pull) in pulls.iter().enumerate() {
            let mut got = Vec::new();
            for _ in 0..10 {
                got.push(pull.recv().unwrap().as_str().unwrap().to_string());
            }
            assert_nothing_arrives(pull, Duration::from_millis(20));
            eprintln!("pull {n}: {got:?}");
            all.extend(got);
        }
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 30, "every job delivered exactly once");
    });
}

#[test]
fn pull_fair_queues_from_three_pushes() {
    each_transport(|t| {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&pull, t, "pull-fq");
        let pushes: Vec<Socket> = (0..3)
            .map(|_| {
                let p = socket(&ctx, SocketType::Push);
                p.connect(&ep).unwrap();
                p
            })
            .collect();
        const N: usize = 200;
        for i in 0..N {
            for (n, push) in pushes.iter().enumerate() {
                push.send_multipart([n.to_string(), i.to_string()]).unwrap();
            }
        }
        let mut next = [0usize; 3];
        for _ in 0..3 * N {
            let parts = pull.recv_multipart().unwrap();
            let n: usize = parts[0].as_str().unwrap().parse().unwrap();
            let i: usize = parts[1].as_str().unwrap().parse().unwrap();
            assert_eq!(i, next[n], "messages from push {n} out of order");
            next[n] += 1;
        }
        assert_eq!(next, [N; 3]);
        assert_nothing_arrives(&pull, Duration::from_millis(20));
    });
}

#[test]
fn pair_exchanges_both_ways_and_refuses_a_second_peer() {
    each_transport(|t| {
        let ctx = Context::new();
        let bound = socket(&ctx, SocketType::Pair);
        let ep = bind(&bound, t, "pair");
        let first = socket(&ctx, SocketType::Pair);
        first.connect(&ep).unwrap();
        first.send("ping").unwrap();
        assert_eq!(bound.recv().unwrap(), "ping");
        bound.send_multipart(["pong", "2"]).unwrap();
        assert_eq!(
            bytes(&first.recv_multipart().unwrap()),
            strs(&["pong", "2"])
        );

        let second = socket(&ctx, SocketType::Pair);
        second.set_send_timeout(Some(Duration::from_millis(100)));
        second.connect(&ep).unwrap();
        // Whether the intruder's send is queued or times out, it must never arrive.
        let _ = second.send("intruder");
        thread::sleep(Duration::from_millis(150));

        for i in 0..5 {
            first.send(format!("still here {i}")).unwrap();
            assert_eq!(bound.recv().unwrap(), format!("still here {i}").as_str());
            bound.send(format!("ack {i}")).unwrap();
            assert_eq!(first.recv().unwrap(), format!("ack {i}").as_str());
        }
        assert_eq!(bound.peer_count(), 1);
        assert_nothing_arrives(&bound, Duration::from_millis(50));
        assert_nothing_arrives(&second, Duration::from_millis(10));
    });
}

#[test]
fn unsupported_directions_are_refused() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let push = socket(&ctx, SocketType::Push);
    let ep = format!("inproc://{}", unique("unsupported"));
    pull.bind(&ep).unwrap();
    push.connect(&ep).unwrap();

    let err = pull.send("nope").unwrap_err();
    assert!(matches!(err.error, Error::NotSupported), "{err:?}");
    assert_eq!(err.message, "nope");
    let err = pull.try_send_multipart(["a", "b"]).unwrap_err();
    assert!(matches!(err.error, Error::NotSupported), "{err:?}");
    assert!(matches!(push.recv(), Err(Error::NotSupported)));
    assert!(matches!(push.try_recv(), Err(Error::NotSupported)));
    assert!(matches!(push.recv_multipart(), Err(Error::NotSupported)));
    // And the legal directions still work.
    push.send("yes").unwrap();
    assert_eq!(pull.recv().unwrap(), "yes");
}

// ---------------------------------------------------------------- high-water marks

#[test]
fn hwm_inproc_capacity_is_sndhwm_plus_rcvhwm() {
    const SND: u64 = 5;
    const RCV: u64 = 3;
    // Both ways round: the PULL binds, or the PUSH does.
    for push_binds in [false, true] {
        eprintln!("--- push binds: {push_binds}");
        let ctx = Context::new();
        let ep = format!("inproc://{}", unique("hwm"));
        let pull = socket(&ctx, SocketType::Pull);
        pull.set_rcvhwm(RCV);
        let push = socket(&ctx, SocketType::Push);
        push.set_sndhwm(SND);
        if push_binds {
            push.bind(&ep).unwrap();
            pull.connect(&ep).unwrap();
        } else {
            pull.bind(&ep).unwrap();
            push.connect(&ep).unwrap();
        }
        wait_peers(&push, 1);

        let mut accepted = 0u64;
        let refused = loop {
            match push.try_send(accepted.to_string()) {
                Ok(()) => accepted += 1,
                Err(e) => break e,
            }
            assert!(accepted <= 1000, "PUSH never hit the high-water mark");
        };
        assert!(matches!(refused.error, Error::WouldBlock), "{refused:?}");
        assert_eq!(
            refused.message,
            accepted.to_string().as_str(),
            "refused message handed back"
        );
        assert_eq!(
            accepted,
            SND + RCV,
            "inproc pipe capacity must be SNDHWM + RCVHWM"
        );
        // Still full.
        assert!(matches!(
            push.try_send("x").unwrap_err().error,
            Error::WouldBlock
        ));

        for i in 0..accepted {
            assert_eq!(pull.recv().unwrap(), i.to_string().as_str());
        }
        assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
        // Room again.
        push.try_send("after").unwrap();
        assert_eq!(pull.recv().unwrap(), "after");
    }
}

#[test]
fn hwm_tcp_blocks_eventually_and_loses_nothing() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(10);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(10);
    push.connect(&pull.last_endpoint()).unwrap();
    wait_peers(&pull, 1);

    // 16 KiB messages fill the kernel buffers in a bounded number of sends.
    let payload = vec![7u8; 16 * 1024];
    let mut accepted = 0u32;
    let mut blocked_for = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked_for < 4 {
        assert!(
            Instant::now() < deadline,
            "PUSH over tcp never blocked ({accepted} accepted)"
        );
        let mut m = accepted.to_be_bytes().to_vec();
        m.extend_from_slice(&payload);
        match push.try_send(m) {
            Ok(()) => {
                accepted += 1;
                blocked_for = 0;
            }
            Err(e) => {
                assert!(matches!(e.error, Error::WouldBlock), "{e:?}");
                assert_eq!(
                    &e.message[..4],
                    &accepted.to_be_bytes(),
                    "refused message handed back"
                );
                // A persistent block, not just the I/O thread lagging behind.
                blocked_for += 1;
                thread::sleep(Duration::from_millis(25));
            }
        }
    }
    eprintln!("tcp PUSH blocked after {accepted} messages");

    for i in 0..accepted {
        let m = pull.recv().unwrap();
        assert_eq!(
            &m[..4],
            &i.to_be_bytes(),
            "message {i} lost or out of order"
        );
        assert_eq!(m.len(), 4 + payload.len());
    }
    assert_nothing_arrives(&pull, Duration::from_millis(50));
    push.send("after").unwrap();
    assert_eq!(pull.recv().unwrap(), "after");
}

#[test]
fn blocking_send_times_out_on_a_full_pipe() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(1);
    let ep = format!("inproc://{}", unique("sndtimeo"));
    pull.bind(&ep).unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(1);
    push.connect(&ep).unwrap();
    while push.try_send("fill").is_ok() {}

    push.set_send_timeout(Some(Duration::from_millis(100)));
    let started = Instant::now();
    let err = push.send("late").unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err.error, Error::TimedOut), "{err:?}");
    assert_eq!(err.message, "late");
    assert!(
        waited >= Duration::from_millis(90),
        "gave up after {waited:?}"
    );

    // Same for a PUSH with no peer at all.
    let lonely = ctx.socket(SocketType::Push).unwrap();
    lonely.set_send_timeout(Some(Duration::from_millis(100)));
    let started = Instant::now();
    let err = lonely.send("nobody").unwrap_err();
    assert!(matches!(err.error, Error::TimedOut), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(90));
    assert!(matches!(
        lonely.try_send("x").unwrap_err().error,
        Error::WouldBlock
    ));
}

#[test]
fn recv_timeout_and_try_recv_on_empty() {
    each_transport(|t| {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&pull, t, "rcvtimeo");
        let push = socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();

        pull.set_recv_timeout(Some(Duration::from_millis(100)));
        let started = Instant::now();
        assert!(matches!(pull.recv(), Err(Error::TimedOut)));
        assert!(
            started.elapsed() >= Duration::from_millis(90),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(pull.recv_multipart(), Err(Error::TimedOut)));
        assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
        assert!(matches!(pull.try_recv_multipart(), Err(Error::WouldBlock)));

        // A timeout does not break the socket.
        push.send("late").unwrap();
        pull.set_recv_timeout(Some(TIMEOUT));
        assert_eq!(pull.recv().unwrap(), "late");
    });
}

// ---------------------------------------------------------------- frames

#[test]
fn frame_by_frame_api_and_large_messages() {
    each_transport(|t| {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        let ep = bind(&pull, t, "frames");
        let push = socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();

        push.send_more("a").unwrap();
        push.send_more("").unwrap();
        push.send_with("c", SendFlags::MORE).unwrap();
        push.send_with("d", SendFlags::NONE).unwrap();
        push.send("single").unwrap();

        assert_eq!(pull.recv().unwrap(), "a");
        assert!(pull.more());
        assert_eq!(pull.recv().unwrap(), "");
        assert!(pull.more());
        // The rest of a partly read message.
        assert_eq!(bytes(&pull.recv_multipart().unwrap()), strs(&["c", "d"]));
        assert!(!pull.more());
        assert_eq!(pull.recv().unwrap(), "single");
        assert!(!pull.more());

        // 1 MB with empty frames around it, plus a >255-byte frame (LONG on the wire).
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let medium = vec![0xabu8; 256];
        let parts: Vec<Message> = vec![
            Message::new(),
            Message::from(big.clone()),
            Message::new(),
            Message::from(medium.clone()),
            Message::new(),
        ];
        push.send_multipart(parts.clone()).unwrap();
        let got = pull.recv_multipart().unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got, parts, "1 MB multipart message altered");
        assert_eq!(got[1].len(), big.len());

        // An empty single-frame message.
        push.send(Message::new()).unwrap();
        let m = pull.recv().unwrap();
        assert!(m.is_empty());
        assert!(!pull.more());
    });
}

// ---------------------------------------------------------------- endpoints

#[test]
fn connect_before_bind_delivers_queued_messages() {
    let tcp = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let ipc = format!("ipc:///tmp/{}.ipc", unique("ferrozmq-test-cbb"));
    let inproc = format!("inproc://{}", unique("cbb"));
    for ep in [tcp, ipc, inproc] {
        eprintln!("--- {ep}");
        let ctx = Context::new();
        let push = socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        for i in 0..3 {
            push.send(format!("early {i}")).unwrap();
        }
        thread::sleep(Duration::from_millis(150)); // a few failed reconnects for tcp/ipc
        let pull = socket(&ctx, SocketType::Pull);
        pull.bind(&ep).unwrap();
        for i in 0..3 {
            assert_eq!(
                pull.recv().unwrap(),
                format!("early {i}").as_str(),
                "on {ep}"
            );
        }
        push.send("later").unwrap();
        assert_eq!(pull.recv().unwrap(), "later");
    }
}

#[test]
fn tcp_wildcard_port_resolves_in_last_endpoint() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint();
    let port: u16 = ep
        .strip_prefix("tcp://127.0.0.1:")
        .expect(&ep)
        .parse()
        .expect(&ep);
    assert_ne!(port, 0);
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("via resolved port").unwrap();
    assert_eq!(pull.recv().unwrap(), "via resolved port");

    // tcp://*:* binds every interface on a free port; reachable on loopback.
    let any = socket(&ctx, SocketType::Pull);
    any.bind("tcp://*:*").unwrap();
    let ep = any.last_endpoint();
    let port: u16 = ep.rsplit(':').next().unwrap().parse().expect(&ep);
    assert_ne!(port, 0, "{ep}");
    let push = socket(&ctx, SocketType::Push);
    push.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
    push.send("via *").unwrap();
    assert_eq!(any.recv().unwrap(), "via *");
}

#[test]
fn address_in_use() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::Pull).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let ep = a.last_endpoint();
    let b = ctx.socket(SocketType::Pull).unwrap();
    assert!(
        matches!(b.bind(&ep), Err(Error::AddressInUse)),
        "second tcp bind"
    );
    assert!(
        matches!(a.bind(&ep), Err(Error::AddressInUse)),
        "same socket binding twice"
    );

    let name = format!("inproc://{}", unique("inuse"));
    a.bind(&name).unwrap();
    assert!(
        matches!(b.bind(&name), Err(Error::AddressInUse)),
        "second inproc bind"
    );
    // Other contexts have their own inproc namespace.
    let other = Context::new();
    other.socket(SocketType::Pull).unwrap().bind(&name).unwrap();

    // A failed bind leaves the socket usable.
    b.bind("tcp://127.0.0.1:*").unwrap();
}

#[test]
fn invalid_and_unknown_endpoints() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Pull).unwrap();
    for bad in [
        "foo",
        "udp://x:1",
        "tcp://127.0.0.1:notaport",
        "tcp://127.0.0.1",
        "inproc://",
        "",
    ] {
        assert!(
            matches!(s.bind(bad), Err(Error::Endpoint(_))),
            "bind {bad:?}"
        );
        assert!(
            matches!(s.connect(bad), Err(Error::Endpoint(_))),
            "connect {bad:?}"
        );
    }
    // Errors say what was wrong.
    let err = s.bind("udp://x:1").unwrap_err();
    assert!(err.to_string().contains("udp"), "{err}");

    for ep in [
        "tcp://127.0.0.1:1",
        "inproc://never-bound",
        "ipc:///tmp/never-bound.ipc",
    ] {
        assert!(
            matches!(s.unbind(ep), Err(Error::UnknownEndpoint(_))),
            "unbind {ep}"
        );
        assert!(
            matches!(s.disconnect(ep), Err(Error::UnknownEndpoint(_))),
            "disconnect {ep}"
        );
    }
    // Bound is not connected and vice versa.
    s.bind("tcp://127.0.0.1:*").unwrap();
    let ep = s.last_endpoint();
    assert!(matches!(s.disconnect(&ep), Err(Error::UnknownEndpoint(_))));
    s.unbind(&ep).unwrap();
    assert!(
        matches!(s.unbind(&ep), Err(Error::UnknownEndpoint(_))),
        "unbind twice"
    );
}

#[test]
fn unbind_stops_new_connections() {
    each_transport(|t| {
        let ctx = Context::new();
        let rep = socket(&ctx, SocketType::Rep);
        let ep = bind(&rep, t, "unbind");
        // Works before.
        let before = socket(&ctx, SocketType::Req);
        before.connect(&ep).unwrap();
        before.send("hello").unwrap();
        assert_eq!(rep.recv().unwrap(), "hello");
        rep.send("world").unwrap();
        assert_eq!(before.recv().unwrap(), "world");

        rep.unbind(&ep).unwrap();
        thread::sleep(Duration::from_millis(50));
        let after = socket(&ctx, SocketType::Req);
        after.set_recv_timeout(Some(Duration::from_millis(300)));
        after.connect(&ep).unwrap();
        after.send("anyone?").unwrap(); // queued: the pipe exists from connect on
        assert!(matches!(after.recv(), Err(Error::TimedOut)));
        assert_nothing_arrives(&rep, Duration::from_millis(20));
        if t == Transport::Tcp {
            // The port is free again.
            let again = socket(&ctx, SocketType::Rep);
            wait_for("port to be released", || again.bind(&ep).is_ok());
        }
    });
}

#[test]
fn disconnect_stops_traffic_to_that_peer() {
    each_transport(|t| {
        let ctx = Context::new();
        let pull_a = socket(&ctx, SocketType::Pull);
        let pull_b = socket(&ctx, SocketType::Pull);
        let ep_a = bind(&pull_a, t, "disc-a");
        let ep_b = bind(&pull_b, t, "disc-b");
        let push = socket(&ctx, SocketType::Push);
        push.connect(&ep_a).unwrap();
        push.connect(&ep_b).unwrap();
        for i in 0..4 {
            push.send(format!("both {i}")).unwrap();
        }
        assert_eq!(pull_a.recv().unwrap(), "both 0");
        assert_eq!(pull_a.recv().unwrap(), "both 2");
        assert_eq!(pull_b.recv().unwrap(), "both 1");
        assert_eq!(pull_b.recv().unwrap(), "both 3");

        push.disconnect(&ep_a).unwrap();
        assert_eq!(push.peer_count(), 1);
        for i in 0..10 {
            push.send(format!("only b {i}")).unwrap();
        }
        for i in 0..10 {
            assert_eq!(pull_b.recv().unwrap(), format!("only b {i}").as_str());
        }
        assert_nothing_arrives(&pull_a, Duration::from_millis(100));
        assert!(matches!(
            push.disconnect(&ep_a),
            Err(Error::UnknownEndpoint(_))
        ));
    });
}

// ---------------------------------------------------------------- threads

#[test]
fn sockets_are_send_and_contexts_are_shared() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Socket>();
    send_sync::<Context>();
    send::<Message>();

    // A socket created here is used on another thread.
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    let ep = format!("inproc://{}", unique("moved"));
    rep.bind(&ep).unwrap();
    let server = thread::spawn(move || {
        for _ in 0..10 {
            let m = rep.recv().unwrap();
            rep.send(m).unwrap();
        }
    });
    let ctx2 = ctx.clone();
    let client = thread::spawn(move || {
        let req = socket(&ctx2, SocketType::Req);
        req.connect(&ep).unwrap();
        for i in 0..10 {
            req.send(format!("echo {i}")).unwrap();
            assert_eq!(req.recv().unwrap(), format!("echo {i}").as_str());
        }
    });
    client.join().unwrap();
    server.join().unwrap();
}

#[test]
fn many_dealer_threads_to_one_router() {
    const THREADS: usize = 8;
    const PER_THREAD: u32 = 1000;
    each_transport(|t| {
        let ctx = Context::new();
        let router = socket(&ctx, SocketType::Router);
        let ep = bind(&router, t, "many");
        let workers: Vec<_> = (0..THREADS)
            .map(|n| {
                let ctx = ctx.clone();
                let ep = ep.clone();
                thread::spawn(move || {
                    let dealer = socket(&ctx, SocketType::Dealer);
                    dealer.set_routing_id(format!("dealer-{n}")).unwrap();
                    dealer.connect(&ep).unwrap();
                    for i in 0..PER_THREAD {
                        dealer.send(i.to_be_bytes().to_vec()).unwrap();
                    }
                    // Wait for the ROUTER's go-ahead so our pipe outlives the sends.
                    assert_eq!(dealer.recv().unwrap(), "done");
                })
            })
            .collect();
        let mut next: HashMap<Vec<u8>, u32> = HashMap::new();
        for _ in 0..THREADS as u32 * PER_THREAD {
            let parts = router.recv_multipart().unwrap();
            assert_eq!(parts.len(), 2);
            let i = u32::from_be_bytes(parts[1][..].try_into().unwrap());
            let expected = next.entry(parts[0].to_vec()).or_insert(0);
            assert_eq!(i, *expected, "from {:?}", parts[0]);
            *expected += 1;
        }
        assert_eq!(next.len(), THREADS);
        for n in 0..THREADS {
            let id = format!("dealer-{n}").into_bytes();
            assert_eq!(next.get(&id), Some(&PER_THREAD), "dealer-{n}");
            router.send_multipart([id, b"done".to_vec()]).unwrap();
        }
        for w in workers {
            w.join().unwrap();
        }
    });
}

// ---------------------------------------------------------------- more envelope and routing rules

#[test]
fn rep_answers_each_requester_through_its_own_envelope() {
    each_transport(|t| {
        let ctx = Context::new();
        let rep = socket(&ctx, SocketType::Rep);
        let ep = bind(&rep, t, "rep-many");
        let reqs: Vec<Socket> = (0..3)
            .map(|_| {
                let r = socket(&ctx, SocketType::Req);
                r.connect(&ep).unwrap();
                r
            })
            .collect();
        for round in 0..3 {
            for (n, req) in reqs.iter().enumerate() {
                req.send(format!("{n}/{round}")).unwrap();
            }
            for _ in 0..reqs.len() {
                let q = rep.recv().unwrap();
                rep.send(format!("re {}", q.as_str().unwrap())).unwrap();
            }
            for (n, req) in reqs.iter().enumerate() {
                assert_eq!(req.recv().unwrap(), format!("re {n}/{round}").as_str());
            }
        }
    });
}

#[test]
fn router_ignores_a_second_peer_with_a_taken_routing_id() {
    each_transport(|t| {
        let ctx = Context::new();
        let router = socket(&ctx, SocketType::Router);
        let ep = bind(&router, t, "dup-id");
        let first = socket(&ctx, SocketType::Dealer);
        first.set_routing_id("dup").unwrap();
        first.connect(&ep).unwrap();
        first.send("from first").unwrap();
        assert_eq!(
            bytes(&router.recv_multipart().unwrap()),
            strs(&["dup", "from first"])
        );

        let second = socket(&ctx, SocketType::Dealer);
        second.set_routing_id("dup").unwrap();
        second.set_send_timeout(Some(Duration::from_millis(100)));
        second.connect(&ep).unwrap();
        let _ = second.send("from second"); // may be queued or refused, never delivered
        thread::sleep(Duration::from_millis(150));

        first.send("first again").unwrap();
        assert_eq!(
            bytes(&router.recv_multipart().unwrap()),
            strs(&["dup", "first again"])
        );
        router.send_multipart(["dup", "reply"]).unwrap();
        assert_eq!(first.recv().unwrap(), "reply");
        assert_nothing_arrives(&router, Duration::from_millis(50));
        assert_nothing_arrives(&second, Duration::from_millis(10));
    });
}

#[test]
fn push_skips_a_full_peer() {
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(1);
    let ep = format!("inproc://{}", unique("skip-full"));
    push.bind(&ep).unwrap();
    let stuck = socket(&ctx, SocketType::Pull);
    stuck.set_rcvhwm(1);
    stuck.connect(&ep).unwrap();
    let busy = socket(&ctx, SocketType::Pull);
    busy.set_rcvhwm(1);
    busy.connect(&ep).unwrap();
    wait_peers(&push, 2);

    // `stuck` never reads while `busy` does: once `stuck` is full (2 messages), every
    // message goes to `busy` and no send blocks for long.
    let mut to_busy = 0;
    for i in 0..50 {
        push.send(i.to_string()).unwrap();
        while let Ok(m) = busy.try_recv() {
            assert!(m.as_str().unwrap().parse::<u32>().is_ok());
            to_busy += 1;
        }
    }
    while let Ok(_m) = busy.try_recv() {
        to_busy += 1;
    }
    let mut to_stuck = 0;
    while stuck.try_recv().is_ok() {
        to_stuck += 1;
    }
    assert_eq!(to_busy + to_stuck, 50, "messages lost");
    assert!(
        to_stuck <= 2,
        "a full peer got {to_stuck} messages (capacity 2)"
    );
}

#[test]
fn multipart_messages_are_atomic_under_hwm() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(1);
    let ep = format!("inproc://{}", unique("atomic"));
    pull.bind(&ep).unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(1);
    push.connect(&ep).unwrap();

    push.try_send_multipart(["a1", "a2", "a3"]).unwrap();
    push.try_send_multipart(["b1", "b2"]).unwrap();
    let err = push.try_send_multipart(["c1", "c2"]).unwrap_err();
    assert!(matches!(err.error, Error::WouldBlock));
    assert_eq!(
        bytes(&err.message),
        strs(&["c1", "c2"]),
        "whole message handed back"
    );

    // Frame by frame: the last frame is refused and handed back, the earlier ones stay
    // pending (documented), and a retry of the last frame sends the whole message once.
    push.send_more("d1").unwrap();
    let err = push.try_send("d2").unwrap_err();
    assert!(matches!(err.error, Error::WouldBlock));
    assert_eq!(err.message, "d2");

    assert_eq!(
        bytes(&pull.recv_multipart().unwrap()),
        strs(&["a1", "a2", "a3"])
    );
    assert_eq!(bytes(&pull.recv_multipart().unwrap()), strs(&["b1", "b2"]));
    push.try_send(err.message).unwrap();
    assert_eq!(bytes(&pull.recv_multipart().unwrap()), strs(&["d1", "d2"]));
    assert_nothing_arrives(&pull, Duration::from_millis(20));
}

/// libzmq refuses the first frame of a request sent while a reply is awaited (EFSM), so
/// nothing of it survives. Whatever ferrozmq does with the refused frames, they must not
/// turn up in the next, legal request.
#[test]
fn refused_multipart_request_does_not_leak_into_the_next_one() {
    each_transport(|t| {
        let ctx = Context::new();
        let rep = socket(&ctx, SocketType::Rep);
        let ep = bind(&rep, t, "req-leak");
        let req = socket(&ctx, SocketType::Req);
        req.connect(&ep).unwrap();
        req.send("q1").unwrap();
        let more = req.send_more("stale");
        let last = req.send("stale end");
        assert!(
            matches!(&more, Err(e) if matches!(e.error, Error::WrongState))
                || matches!(&last, Err(e) if matches!(e.error, Error::WrongState)),
            "a second request while awaiting a reply must be refused"
        );
        assert_eq!(bytes(&rep.recv_multipart().unwrap()), strs(&["q1"]));
        rep.send("a1").unwrap();
        assert_eq!(req.recv().unwrap(), "a1");

        req.send("q2").unwrap();
        assert_eq!(
            bytes(&rep.recv_multipart().unwrap()),
            strs(&["q2"]),
            "stale frames leaked"
        );
        rep.send("a2").unwrap();
        assert_eq!(req.recv().unwrap(), "a2");
    });
}

/// With ROUTER_MANDATORY an unroutable message is refused (libzmq: at its routing-id
/// frame, and nothing of it stays queued). The next message to a reachable peer must go
/// through unaltered.
#[test]
fn unroutable_frame_by_frame_message_does_not_poison_the_next_one() {
    each_transport(|t| {
        let ctx = Context::new();
        let router = socket(&ctx, SocketType::Router);
        let ep = bind(&router, t, "mandatory-frames");
        router.set_router_mandatory(true).unwrap();
        let dealer = socket(&ctx, SocketType::Dealer);
        dealer.set_routing_id("known").unwrap();
        dealer.connect(&ep).unwrap();
        dealer.send("hi").unwrap();
        router.recv_multipart().unwrap();

        let first = router.send_more("nobody");
        let last = router.send("lost");
        assert!(
            matches!(&first, Err(e) if matches!(e.error, Error::HostUnreachable))
                || matches!(&last, Err(e) if matches!(e.error, Error::HostUnreachable)),
            "unroutable message must be refused"
        );
        router.send_multipart(["known", "fine"]).unwrap();
        assert_eq!(bytes(&dealer.recv_multipart().unwrap()), strs(&["fine"]));
    });
}
