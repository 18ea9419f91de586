//! Behaviour of the engine through its public API: handshakes for every
//! legal pair, exact wire bytes from ZMTP.md, every handshake failure mode,
//! heartbeats, limits, timeouts and chunking independence.

mod common;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use ferrozmq_engine::{
    Engine, EngineConfig, EngineError, Event, SocketType, MAX_FRAME_SIZE,
    MAX_HANDSHAKE_COMMAND_SIZE, NULL_GREETING,
};

fn config(t: SocketType) -> EngineConfig {
    EngineConfig::new(t)
}

/// Feeds `bytes` to a ready engine, returns the events (or the error).
fn feed(e: &mut Engine, bytes: &[u8]) -> Result<Vec<Ev>, EngineError> {
    let mut input = BytesMut::from(bytes);
    let mut events = Vec::new();
    while let Some(ev) = e.handle_input(&mut input)? {
        events.push(summarize(ev));
    }
    Ok(events)
}

#[test]
fn greeting_is_queued_immediately() {
    let mut e = Engine::new(config(SocketType::Dealer), Instant::now());
    assert_eq!(&e.output()[..], &NULL_GREETING[..]);
    assert!(!e.is_ready());
    assert_eq!(e.input_hint(), 64);
}

/// ZMTP.md section 11, byte for byte, from the DEALER's side.
#[test]
fn section_11_dealer_meets_libzmq_router() {
    let mut e = Engine::new(config(SocketType::Dealer), Instant::now());
    let mut input = BytesMut::from(&libzmq_greeting()[..]);
    assert!(e.handle_input(&mut input).unwrap().is_none());
    assert!(input.is_empty());
    let ready_bytes = hex("04 29 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65
         00 00 00 06 44 45 41 4c 45 52 08 49 64 65 6e 74 69 74 79 00 00 00 00");
    let mut expected = NULL_GREETING.to_vec();
    expected.extend_from_slice(&ready_bytes);
    assert_eq!(&e.output()[..], &expected[..]);

    let router_ready = hex("04 29 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65
         00 00 00 06 52 4f 55 54 45 52 08 49 64 65 6e 74 69 74 79 00 00 00 00");
    input.extend_from_slice(&router_ready);
    match e.handle_input(&mut input).unwrap() {
        Some(Event::Ready(peer)) => {
            assert_eq!(peer.socket_type, SocketType::Router);
            assert!(peer.routing_id.is_empty());
            assert_eq!(peer.minor_version, 1);
            assert_eq!(
                peer.properties,
                vec![
                    ("Socket-Type".to_string(), Bytes::from_static(b"ROUTER")),
                    ("Identity".to_string(), Bytes::new()),
                ]
            );
        }
        other => panic!("expected Ready, got {other:?}"),
    }
    assert!(e.is_ready());
    assert_eq!(e.poll_timeout(), None);
}

/// ZMTP.md section 12, decoded; also checks the frames are zero-copy.
#[test]
fn section_12_two_frame_message_decodes_zero_copy() {
    let mut e = ready_engine(config(SocketType::Router), SocketType::Dealer);
    let mut wire = hex("01 03 41 42 43 02 00 00 00 00 00 00 01 00");
    wire.extend_from_slice(&[0u8; 256]);
    let mut input = BytesMut::from(&wire[..]);
    let range = input.as_ptr() as usize..input.as_ptr() as usize + input.len();
    let mut frames = Vec::new();
    while let Some(ev) = e.handle_input(&mut input).unwrap() {
        let Event::Frame { data, more } = ev else {
            panic!("unexpected {ev:?}")
        };
        assert!(
            range.contains(&(data.as_ptr() as usize)),
            "frame was copied"
        );
        frames.push((data.to_vec(), more));
    }
    assert_eq!(
        frames,
        vec![(b"ABC".to_vec(), true), (vec![0u8; 256], false)]
    );
    assert!(input.is_empty());

    // And the sending side produces the same bytes.
    let mut d = ready_engine(config(SocketType::Dealer), SocketType::Router);
    d.send_frame(b"ABC", true);
    d.send_frame(&[0u8; 256], false);
    assert_eq!(&d.output()[..], &wire[..]);
}

#[test]
fn every_legal_pair_handshakes_and_exchanges_frames() {
    let sizes = [0usize, 1, 255, 256, 1_000_000];
    let bodies: Vec<Vec<u8>> = sizes
        .iter()
        .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
        .collect();
    let mut pairs = 0;
    for a in SocketType::ALL {
        for b in SocketType::ALL {
            if !a.accepts(b) {
                continue;
            }
            pairs += 1;
            let mut ca = config(a);
            ca.routing_id = Bytes::from_static(b"id-a");
            let mut cb = config(b);
            cb.routing_id = Bytes::from_static(b"id-b");
            cb.as_server = true;
            let mut p = Pair::new(ca, cb);
            let (sa, sb) = p.pump();
            assert_eq!(sa.error, None, "{a}-{b}");
            assert_eq!(sb.error, None, "{a}-{b}");
            let expect_ready = |side: &Side, peer: SocketType, id: &[u8]| match &side.events[..] {
                [Ev::Ready {
                    socket_type,
                    routing_id,
                    minor_version: 1,
                    ..
                }] => {
                    assert_eq!(*socket_type, peer);
                    let expected: &[u8] = if peer.sends_identity() { id } else { b"" };
                    assert_eq!(&routing_id[..], expected);
                }
                other => panic!("{a}-{b}: {other:?}"),
            };
            expect_ready(&sa, b, b"id-b");
            expect_ready(&sb, a, b"id-a");
            assert!(p.a.is_ready() && p.b.is_ready());

            // One multipart message each way, all sizes, MORE on all but the last.
            for (i, body) in bodies.iter().enumerate() {
                let more = i + 1 < bodies.len();
                p.a.send_frame(body, more);
                p.b.send_frame(body, more);
            }
            let (sa, sb) = p.pump();
            let expected: Vec<Ev> = bodies
                .iter()
                .enumerate()
                .map(|(i, body)| Ev::Frame(body.clone(), i + 1 < bodies.len()))
                .collect();
            assert_eq!(sa.events, expected, "{a}-{b}");
            assert_eq!(sb.events, expected, "{a}-{b}");
            assert!(p.a_in.is_empty() && p.b_in.is_empty());
        }
    }
    assert_eq!(pairs, 21);
}

#[test]
fn incompatible_pairs_fail_on_both_ends() {
    for (a, b) in [
        (SocketType::Req, SocketType::Req),
        (SocketType::Pub, SocketType::Push),
        (SocketType::Pair, SocketType::Dealer),
        (SocketType::Sub, SocketType::Sub),
    ] {
        let mut p = Pair::new(config(a), config(b));
        let (sa, sb) = p.pump();
        assert_eq!(
            sa.error,
            Some(EngineError::IncompatibleSocketType {
                ours: a,
                peer: b.name().to_string()
            })
        );
        assert_eq!(
            sb.error,
            Some(EngineError::IncompatibleSocketType {
                ours: b,
                peer: a.name().to_string()
            })
        );
        assert!(sa.events.is_empty() && sb.events.is_empty());
        assert!(!p.a.is_ready() && !p.b.is_ready());
    }
}

#[test]
fn zmtp_3_0_peer_is_accepted_and_gets_legacy_subscriptions() {
    let mut bytes = greeting(3, 0, b"NULL");
    bytes.extend_from_slice(&ready_for(SocketType::Pub));
    let out = run_whole(&config(SocketType::Sub), &bytes);
    assert_eq!(out.error, None);
    assert!(matches!(
        &out.events[..],
        [Ev::Ready {
            socket_type: SocketType::Pub,
            minor_version: 0,
            ..
        }]
    ));

    let mut e = Engine::new(config(SocketType::Sub), Instant::now());
    let mut input = BytesMut::from(&bytes[..]);
    assert!(e.handle_input(&mut input).unwrap().is_some());
    e.output().clear();
    e.send_subscribe(b"top", true);
    e.send_subscribe(b"top", false);
    assert_eq!(
        &e.output()[..],
        &hex("00 04 01 74 6f 70 00 04 00 74 6f 70")[..]
    );
}

/// ZMTP.md section 9 captured bytes for a 3.1 peer.
#[test]
fn zmtp_3_1_subscriptions_are_commands() {
    let mut e = ready_engine(config(SocketType::Sub), SocketType::Pub);
    e.send_subscribe(b"top", true);
    e.send_subscribe(b"top", false);
    let mut expected = hex("04 0d 09 53 55 42 53 43 52 49 42 45 74 6f 70");
    expected.extend_from_slice(&hex("04 0a 06 43 41 4e 43 45 4c 74 6f 70"));
    assert_eq!(&e.output()[..], &expected[..]);

    // And the receiving side turns them into events.
    let mut p = ready_engine(config(SocketType::XPub), SocketType::Sub);
    let mut wire = expected.clone();
    wire.extend_from_slice(&hex("00 04 01 74 6f 70")); // legacy form is just data
    assert_eq!(
        feed(&mut p, &wire).unwrap(),
        vec![
            Ev::Subscribe(b"top".to_vec()),
            Ev::Cancel(b"top".to_vec()),
            Ev::Frame(b"\x01top".to_vec(), false),
        ]
    );
}

#[test]
fn higher_versions_are_treated_as_3_1() {
    for (major, minor) in [(3, 1), (3, 2), (4, 0), (255, 255)] {
        let mut bytes = greeting(major, minor, b"NULL");
        bytes.extend_from_slice(&ready_for(SocketType::Rep));
        let out = run_whole(&config(SocketType::Req), &bytes);
        assert!(
            matches!(
                &out.events[..],
                [Ev::Ready {
                    minor_version: 1,
                    ..
                }]
            ),
            "{major}.{minor}: {out:?}"
        );
    }
}

#[test]
fn old_versions_are_refused() {
    // A ZMTP 2.0 peer (libzmq 3.x): major 1, byte 11 = socket type (ROUTER = 6).
    let zmtp20 = hex("ff 00 00 00 00 00 00 00 01 7f 01 06");
    let out = run_whole(&config(SocketType::Dealer), &zmtp20);
    assert_eq!(
        out.error,
        Some(EngineError::UnsupportedVersion { major: 1, minor: 6 })
    );
    // Our READY never went out.
    assert_eq!(out.output, NULL_GREETING.to_vec());
    for major in [0u8, 2] {
        let out = run_whole(&config(SocketType::Dealer), &greeting(major, 0, b"NULL"));
        assert_eq!(
            out.error,
            Some(EngineError::UnsupportedVersion { major, minor: 0 })
        );
    }
}

#[test]
fn garbage_is_not_zmtp() {
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0x01, 0x00][..],                               // ZMTP 1.0: empty identity
        &hex("ff 00 00 00 00 00 00 00 01 7e 03 01")[..], // byte 9 bit 0 clear
    ] {
        let whole = run_whole(&config(SocketType::Pull), junk);
        assert_eq!(whole.error, Some(EngineError::NotZmtp), "{junk:?}");
        assert_eq!(run_bytewise(&config(SocketType::Pull), junk), whole);
    }
}

#[test]
fn wrong_mechanism() {
    let out = run_whole(&config(SocketType::Push), &greeting(3, 1, b"PLAIN"));
    assert_eq!(
        out.error,
        Some(EngineError::MechanismMismatch {
            ours: "NULL".into(),
            peer: "PLAIN".into()
        })
    );
    let out = run_whole(&config(SocketType::Push), &greeting(3, 1, b"null"));
    assert!(matches!(
        out.error,
        Some(EngineError::MechanismMismatch { .. })
    ));
}

#[test]
fn handshake_protocol_errors() {
    let cfg = config(SocketType::Dealer);
    let with = |tail: &[u8]| {
        let mut v = libzmq_greeting();
        v.extend_from_slice(tail);
        let out = run_whole(&cfg, &v);
        assert_eq!(run_bytewise(&cfg, &v), out);
        assert!(!out.ready);
        out.error
    };
    assert_eq!(
        with(&data(b"hi", false)),
        Some(EngineError::DataBeforeHandshake)
    );
    assert_eq!(with(&[0x00]), Some(EngineError::DataBeforeHandshake));
    assert_eq!(
        with(&command(b"PING", b"\x00\x00")),
        Some(EngineError::UnexpectedCommand("PING".into()))
    );
    assert_eq!(
        with(&command(b"ERROR", b"\x03400")),
        Some(EngineError::PeerError("400".into()))
    );
    assert!(matches!(
        with(&command(b"ERROR", b"\x09400")),
        Some(EngineError::MalformedCommand(_))
    ));
    assert_eq!(
        with(&ready(&[(b"Identity", b"x")])),
        Some(EngineError::MissingSocketType)
    );
    // Property names are case-sensitive: this READY has no Socket-Type.
    assert_eq!(
        with(&ready(&[(b"socket-type", b"ROUTER")])),
        Some(EngineError::MissingSocketType)
    );
    assert_eq!(
        with(&ready(&[(b"Socket-Type", b"router")])),
        Some(EngineError::IncompatibleSocketType {
            ours: SocketType::Dealer,
            peer: "router".into()
        })
    );
    assert_eq!(
        with(&ready(&[
            (b"Socket-Type", b"ROUTER"),
            (b"Socket-Type", b"PUB")
        ])),
        Some(EngineError::IncompatibleSocketType {
            ours: SocketType::Dealer,
            peer: "PUB".into()
        })
    );
    let mut bad_meta = metadata(&[(b"Socket-Type", b"ROUTER")]);
    bad_meta.push(0x05);
    assert_eq!(
        with(&command(b"READY", &bad_meta)),
        Some(EngineError::MalformedMetadata)
    );
    // MORE on a command frame.
    assert!(matches!(
        with(&frame(0x05, b"\x05READY")),
        Some(EngineError::MalformedCommand(_))
    ));
    // Empty command and zero-length name.
    assert!(matches!(
        with(&frame(0x04, b"")),
        Some(EngineError::MalformedCommand(_))
    ));
    assert!(matches!(
        with(&frame(0x04, b"\x00")),
        Some(EngineError::MalformedCommand(_))
    ));
    // A handshake command over the cap fails on its header alone.
    let mut huge = vec![0x06];
    huge.extend_from_slice(&(MAX_HANDSHAKE_COMMAND_SIZE + 1).to_be_bytes());
    assert_eq!(
        with(&huge),
        Some(EngineError::MessageTooLarge {
            size: MAX_HANDSHAKE_COMMAND_SIZE + 1,
            limit: MAX_HANDSHAKE_COMMAND_SIZE
        })
    );
}

#[test]
fn ready_with_extra_metadata_and_long_form() {
    let big = vec![b'v'; 1000];
    let mut v = libzmq_greeting();
    v.extend_from_slice(&ready(&[
        (b"Socket-Type", b"ROUTER"),
        (b"X-App", &big),
        (b"Identity", b"first"),
        (b"Identity", b"second"),
    ]));
    let out = run_whole(&config(SocketType::Dealer), &v);
    let [Ev::Ready {
        routing_id,
        properties,
        ..
    }] = &out.events[..]
    else {
        panic!("{out:?}")
    };
    assert_eq!(routing_id, b"second");
    assert_eq!(properties.len(), 4);
    assert_eq!(properties[1], ("X-App".to_string(), big));
}

#[test]
fn ping_gets_pong_with_echoed_context() {
    let mut e = ready_engine(config(SocketType::Dealer), SocketType::Router);
    // libzmq's PING: TTL 15 (1.5 s), no context => empty PONG.
    assert_eq!(
        feed(&mut e, &hex("04 07 04 50 49 4e 47 00 0f")).unwrap(),
        vec![]
    );
    assert_eq!(&e.output().split()[..], &hex("04 05 04 50 4f 4e 47")[..]);
    // Context is echoed.
    assert_eq!(
        feed(&mut e, &command(b"PING", b"\x00\x0fctx")).unwrap(),
        vec![]
    );
    assert_eq!(&e.output().split()[..], &command(b"PONG", b"ctx")[..]);
    // ... truncated to 16 bytes.
    assert_eq!(
        feed(&mut e, &command(b"PING", b"\x00\x000123456789abcdefXYZ")).unwrap(),
        vec![]
    );
    assert_eq!(
        &e.output().split()[..],
        &command(b"PONG", b"0123456789abcdef")[..]
    );
    // Missing TTL bytes are tolerated.
    for short in [&b""[..], b"\x00"] {
        assert_eq!(feed(&mut e, &command(b"PING", short)).unwrap(), vec![]);
        assert_eq!(&e.output().split()[..], &command(b"PONG", b"")[..]);
    }
    // PONG and unknown commands are swallowed; decoding continues past them.
    let mut wire = command(b"PONG", b"x");
    wire.extend_from_slice(&command(b"READY", b""));
    wire.extend_from_slice(&command(b"FOOBAR", b"whatever"));
    wire.extend_from_slice(&data(b"after", false));
    assert_eq!(
        feed(&mut e, &wire).unwrap(),
        vec![Ev::Frame(b"after".to_vec(), false)]
    );
    assert!(e.output().is_empty());
}

#[test]
fn send_ping_encoding() {
    let mut e = ready_engine(config(SocketType::Dealer), SocketType::Router);
    e.send_ping(15, b"");
    assert_eq!(
        &e.output().split()[..],
        &hex("04 07 04 50 49 4e 47 00 0f")[..]
    );
    e.send_ping(1, &[b'c'; 20]);
    let mut body = vec![0, 1];
    body.extend_from_slice(&[b'c'; 16]);
    assert_eq!(&e.output().split()[..], &command(b"PING", &body)[..]);
}

#[test]
fn error_after_handshake() {
    let mut e = ready_engine(config(SocketType::Dealer), SocketType::Router);
    let mut wire = data(b"x", false);
    wire.extend_from_slice(&command(b"ERROR", b"\x05oops!"));
    let mut input = BytesMut::from(&wire[..]);
    assert!(matches!(
        e.handle_input(&mut input),
        Ok(Some(Event::Frame { .. }))
    ));
    let err = EngineError::PeerError("oops!".into());
    assert_eq!(e.handle_input(&mut input).unwrap_err(), err);
    assert!(!e.is_ready());
    assert_eq!(e.error(), Some(&err));
    // Dead: every later call repeats the error, even with valid input.
    let mut more = BytesMut::from(&data(b"y", false)[..]);
    assert_eq!(e.handle_input(&mut more).unwrap_err(), err);
    assert_eq!(e.handle_timeout(Instant::now()).unwrap_err(), err);
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn command_with_more_after_handshake_is_malformed() {
    let mut e = ready_engine(config(SocketType::Dealer), SocketType::Router);
    assert!(matches!(
        feed(&mut e, &frame(0x05, b"\x04PING\x00\x00")),
        Err(EngineError::MalformedCommand(_))
    ));
}

#[test]
fn reserved_flag_bits_are_ignored() {
    let mut e = ready_engine(config(SocketType::Dealer), SocketType::Router);
    assert_eq!(
        feed(&mut e, &[0xf9, 0x01, b'a', 0xf8, 0x00]).unwrap(),
        vec![Ev::Frame(b"a".to_vec(), true), Ev::Frame(vec![], false)]
    );
}

#[test]
fn max_msg_size_is_checked_on_the_header() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(1000);
    let mut e = ready_engine(cfg, SocketType::Push);

    // Exactly at the limit is fine.
    let ok = data(&[1u8; 1000], false);
    assert_eq!(feed(&mut e, &ok).unwrap().len(), 1);

    // 2^63 announced, only the 9 header bytes present: error, no allocation.
    let mut input = BytesMut::with_capacity(16);
    input.extend_from_slice(&hex("02 80 00 00 00 00 00 00 00"));
    let cap = input.capacity();
    assert_eq!(
        e.handle_input(&mut input).unwrap_err(),
        EngineError::MessageTooLarge {
            size: 1 << 63,
            limit: 1000
        }
    );
    assert_eq!(input.capacity(), cap);
    assert_eq!(input.len(), 9);

    // One over the limit in a header whose body hasn't arrived yet.
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(1000);
    let mut e = ready_engine(cfg, SocketType::Push);
    let mut header = vec![0x02];
    header.extend_from_slice(&1001u64.to_be_bytes());
    assert_eq!(
        feed(&mut e, &header).unwrap_err(),
        EngineError::MessageTooLarge {
            size: 1001,
            limit: 1000
        }
    );

    // Post-handshake commands are limited too.
    let mut cfg = config(SocketType::XPub);
    cfg.max_msg_size = Some(10);
    let mut e = ready_engine(cfg, SocketType::Sub);
    assert!(matches!(
        feed(&mut e, &command(b"SUBSCRIBE", b"0123456789")),
        Err(EngineError::MessageTooLarge {
            size: 20,
            limit: 10
        })
    ));
}

#[test]
fn absurd_sizes_fail_without_a_limit() {
    let mut e = ready_engine(config(SocketType::Pull), SocketType::Push);
    let mut input = BytesMut::from(&[0x03u8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..]);
    assert_eq!(
        e.handle_input(&mut input).unwrap_err(),
        EngineError::MessageTooLarge {
            size: u64::MAX,
            limit: MAX_FRAME_SIZE
        }
    );
}

#[test]
fn handshake_timeout() {
    let t0 = Instant::now();
    let mut cfg = config(SocketType::Req);
    cfg.handshake_timeout = Some(Duration::from_secs(1));
    let mut e = Engine::new(cfg.clone(), t0);
    assert_eq!(e.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    assert_eq!(e.handle_timeout(t0 + Duration::from_millis(999)), Ok(()));
    // Half a greeting doesn't move the deadline.
    let mut input = BytesMut::from(&libzmq_greeting()[..30]);
    assert!(e.handle_input(&mut input).unwrap().is_none());
    assert_eq!(e.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    assert_eq!(
        e.handle_timeout(t0 + Duration::from_secs(1)),
        Err(EngineError::HandshakeTimeout)
    );
    assert_eq!(e.poll_timeout(), None);
    input.extend_from_slice(&libzmq_greeting()[30..]);
    assert_eq!(
        e.handle_input(&mut input).unwrap_err(),
        EngineError::HandshakeTimeout
    );

    // Completed handshakes have no deadline.
    let mut e = Engine::new(cfg, t0);
    let mut input = BytesMut::from(&handshake_from(SocketType::Rep)[..]);
    assert!(e.handle_input(&mut input).unwrap().is_some());
    assert_eq!(e.poll_timeout(), None);
    assert_eq!(e.handle_timeout(t0 + Duration::from_secs(3600)), Ok(()));

    // No deadline configured.
    let mut cfg = config(SocketType::Req);
    cfg.handshake_timeout = None;
    let mut e = Engine::new(cfg, t0);
    assert_eq!(e.poll_timeout(), None);
    assert_eq!(e.handle_timeout(t0 + Duration::from_secs(3600)), Ok(()));
}

#[test]
fn input_hint_tracks_what_is_missing() {
    let mut e = Engine::new(config(SocketType::Dealer), Instant::now());
    let mut input = BytesMut::from(&libzmq_greeting()[..10]);
    assert!(e.handle_input(&mut input).unwrap().is_none());
    assert_eq!(e.input_hint(), 54);
    input.extend_from_slice(&libzmq_greeting()[10..]);
    input.extend_from_slice(&ready_for(SocketType::Router)[..1]);
    assert!(e.handle_input(&mut input).unwrap().is_none());
    assert_eq!(e.input_hint(), 1); // second header byte
    input.extend_from_slice(&ready_for(SocketType::Router)[1..]);
    assert!(e.handle_input(&mut input).unwrap().is_some());

    let frame_bytes = data(&[7u8; 1000], false);
    input.extend_from_slice(&frame_bytes[..3]);
    assert!(e.handle_input(&mut input).unwrap().is_none());
    assert_eq!(e.input_hint(), 6); // rest of the long header
    input.extend_from_slice(&frame_bytes[3..19]);
    assert!(e.handle_input(&mut input).unwrap().is_none());
    assert_eq!(e.input_hint(), 990);
    input.extend_from_slice(&frame_bytes[19..]);
    assert!(e.handle_input(&mut input).unwrap().is_some());
    assert!(e.handle_input(&mut input).unwrap().is_none());
    assert_eq!(e.input_hint(), 2);
}

/// A full session: same events, output and errors in every chunking.
#[test]
fn chunking_does_not_change_the_outcome() {
    let mut session = libzmq_greeting();
    session.extend_from_slice(&ready(&[
        (b"Socket-Type", b"XSUB"),
        (b"X-Meta", &[b'm'; 300]),
    ]));
    session.extend_from_slice(&data(b"", true));
    session.extend_from_slice(&data(&[1u8; 255], true));
    session.extend_from_slice(&data(&[2u8; 256], false));
    session.extend_from_slice(&command(b"PING", b"\x00\x01hello"));
    session.extend_from_slice(&command(b"SUBSCRIBE", b"a/b"));
    session.extend_from_slice(&command(b"CANCEL", b""));
    session.extend_from_slice(&command(b"PONG", b""));
    session.extend_from_slice(&command(b"UNKNOWN", b"zzz"));
    // A long-form PING with a small size (libzmq accepts those).
    session.extend_from_slice(&hex("06 00 00 00 00 00 00 00 08 04 50 49 4e 47 00 00 4c"));
    session.extend_from_slice(&data(&[3u8; 70_000], false));
    session.extend_from_slice(&data(b"tail", false)[..3]); // truncated last frame

    let cfg = config(SocketType::XPub);
    let whole = run_whole(&cfg, &session);
    assert_eq!(whole.error, None);
    assert_eq!(whole.events.len(), 7);
    assert_eq!(whole.leftover, Some(3));
    assert_eq!(run_bytewise(&cfg, &session), whole);
    for n in [2usize, 3, 7, 9, 64, 65, 1000] {
        let mut e = Engine::new(cfg.clone(), Instant::now());
        assert_eq!(run_with(&mut e, &session, || n), whole, "chunk {n}");
    }
    // Appending an error at the end: same error in every chunking.
    session.truncate(session.len() - 3);
    session.extend_from_slice(&command(b"ERROR", b"\x02no"));
    let whole = run_whole(&cfg, &session);
    assert_eq!(whole.error, Some(EngineError::PeerError("no".into())));
    assert_eq!(run_bytewise(&cfg, &session), whole);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "before the handshake")]
fn send_before_ready_panics_in_debug() {
    let mut e = Engine::new(config(SocketType::Dealer), Instant::now());
    e.send_frame(b"early", false);
}

#[test]
fn errors_display_on_one_line() {
    let errors = [
        EngineError::NotZmtp,
        EngineError::UnsupportedVersion { major: 1, minor: 0 },
        EngineError::MechanismMismatch {
            ours: "NULL".into(),
            peer: "CURVE".into(),
        },
        EngineError::IncompatibleSocketType {
            ours: SocketType::Req,
            peer: "REQ".into(),
        },
        EngineError::MissingSocketType,
        EngineError::MalformedCommand("x"),
        EngineError::MalformedMetadata,
        EngineError::UnexpectedCommand("PING".into()),
        EngineError::DataBeforeHandshake,
        EngineError::MessageTooLarge { size: 2, limit: 1 },
        EngineError::PeerError("400".into()),
        EngineError::HandshakeTimeout,
        EngineError::Closed,
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{e:?}");
        let _: &dyn std::error::Error = &e;
    }
}
