//! Property tests for the decoder: arbitrary input never panics and the
//! outcome never depends on how the input is chunked; valid frame sequences
//! survive an encode/decode round trip under arbitrary chunking.

mod common;

use std::time::Instant;

use common::*;
use ferrozmq_engine::{Engine, EngineConfig, SocketType};
use proptest::prelude::*;

fn socket_type() -> impl Strategy<Value = SocketType> {
    proptest::sample::select(SocketType::ALL.to_vec())
}

fn config() -> impl Strategy<Value = EngineConfig> {
    (socket_type(), proptest::option::of(0u64..2000)).prop_map(|(t, max)| {
        let mut c = EngineConfig::new(t);
        c.max_msg_size = max;
        c
    })
}

/// Chunk sizes, cycled over while feeding.
fn chunks() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..80, 1..16)
}

/// Feeds `bytes` whole and in the given chunking, asserts the same outcome.
fn same_in_all_chunkings(cfg: &EngineConfig, bytes: &[u8], sizes: &[usize]) -> Outcome {
    let whole = run_whole(cfg, bytes);
    let mut e = Engine::new(cfg.clone(), Instant::now());
    let mut i = 0;
    let chunked = run_with(&mut e, bytes, || {
        i += 1;
        sizes[i % sizes.len()]
    });
    assert_eq!(chunked, whole);
    whole
}

/// Pieces of a plausible session: mostly well-formed frames with random
/// contents, plus raw noise.
#[derive(Debug, Clone)]
enum Piece {
    Data(Vec<u8>, bool),
    Command(Vec<u8>, Vec<u8>),
    Raw(Vec<u8>),
}

fn piece() -> impl Strategy<Value = Piece> {
    let name = prop_oneof![
        Just(b"PING".to_vec()),
        Just(b"PONG".to_vec()),
        Just(b"SUBSCRIBE".to_vec()),
        Just(b"CANCEL".to_vec()),
        Just(b"ERROR".to_vec()),
        Just(b"READY".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ];
    let body = proptest::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        4 => (body.clone(), any::<bool>()).prop_map(|(b, m)| Piece::Data(b, m)),
        3 => (name, body).prop_map(|(n, b)| Piece::Command(n, b)),
        1 => proptest::collection::vec(any::<u8>(), 0..16).prop_map(Piece::Raw),
    ]
}

fn encode(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Data(b, more) => out.extend_from_slice(&data(b, *more)),
            Piece::Command(n, b) if n.len() <= 255 => {
                let mut body = vec![n.len() as u8];
                body.extend_from_slice(n);
                body.extend_from_slice(b);
                out.extend_from_slice(&frame(0x04, &body));
            }
            Piece::Command(_, b) | Piece::Raw(b) => out.extend_from_slice(b),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_from_the_start(
        cfg in config(),
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        sizes in chunks(),
    ) {
        let out = same_in_all_chunkings(&cfg, &bytes, &sizes);
        // Our greeting is always the first thing sent.
        prop_assert!(out.output.starts_with(&ferrozmq_engine::NULL_GREETING));
    }

    #[test]
    fn random_bytes_after_a_greeting(
        cfg in config(),
        major in 0u8..6,
        minor in any::<u8>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        sizes in chunks(),
    ) {
        let mut input = greeting(major, minor, b"NULL");
        input.extend_from_slice(&bytes);
        same_in_all_chunkings(&cfg, &input, &sizes);
    }

    #[test]
    fn random_bytes_after_a_handshake(
        local in socket_type(),
        max in proptest::option::of(0u64..2000),
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        sizes in chunks(),
    ) {
        let Some(peer) = SocketType::ALL.into_iter().find(|p| local.accepts(*p)) else {
            unreachable!()
        };
        let mut cfg = EngineConfig::new(local);
        cfg.max_msg_size = max;
        let mut input = handshake_from(peer);
        input.extend_from_slice(&bytes);
        let out = same_in_all_chunkings(&cfg, &input, &sizes);
        prop_assert!(!out.events.is_empty(), "handshake must complete first");
    }

    #[test]
    fn structured_sessions(
        ready_props in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..12), proptest::collection::vec(any::<u8>(), 0..20)),
            0..4,
        ),
        pieces in proptest::collection::vec(piece(), 0..24),
        sizes in chunks(),
    ) {
        // Sometimes a good READY, sometimes one with junk properties mixed in.
        let mut props: Vec<(&[u8], &[u8])> = vec![(b"Socket-Type", b"ROUTER")];
        props.extend(ready_props.iter().map(|(k, v)| (&k[..], &v[..])));
        let mut input = libzmq_greeting();
        input.extend_from_slice(&ready(&props));
        input.extend_from_slice(&encode(&pieces));
        same_in_all_chunkings(&EngineConfig::new(SocketType::Dealer), &input, &sizes);
    }

    #[test]
    fn frames_round_trip(
        frames in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..700), any::<bool>()),
            0..20,
        ),
        sizes in chunks(),
    ) {
        let mut p = Pair::new(EngineConfig::new(SocketType::Push), EngineConfig::new(SocketType::Pull));
        let (a, b) = p.pump();
        prop_assert!(a.error.is_none() && b.error.is_none());
        prop_assert!(p.a.is_ready() && p.b.is_ready());
        for (body, more) in &frames {
            p.a.send_frame(body, *more);
        }
        let wire = p.a.output().split().to_vec();
        let mut i = 0;
        let got = run_with(&mut p.b, &wire, || { i += 1; sizes[i % sizes.len()] });
        let expected: Vec<Ev> = frames.iter().map(|(b, m)| Ev::Frame(b.clone(), *m)).collect();
        prop_assert_eq!(got.events, expected);
        prop_assert_eq!(got.error, None);
        prop_assert_eq!(got.leftover, Some(0));
    }
}
