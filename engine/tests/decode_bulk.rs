//! `Engine::decode_data_frames`, the bulk fast path for the traffic phase:
//! what it decodes, where it stops, what it leaves in the buffer, how it
//! fails, and that mixing it with `handle_input` never changes what the
//! caller receives.

mod common;

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use common::*;
use ferrozmq_engine::{Engine, EngineConfig, EngineError, Event, SocketType};
use proptest::prelude::*;

/// A PULL engine that has completed a handshake with a libzmq PUSH peer,
/// with an empty input buffer and an empty output buffer.
fn ready_pull(max_msg_size: Option<u64>) -> Engine {
    let mut cfg = EngineConfig::new(SocketType::Pull);
    cfg.max_msg_size = max_msg_size;
    ready_engine(cfg, SocketType::Push)
}

/// Calls `decode_data_frames` and returns its result together with what the
/// sink received, checking that the count matches the sink calls.
fn bulk(
    e: &mut Engine,
    input: &mut BytesMut,
    max: usize,
) -> (Result<usize, EngineError>, Vec<(Bytes, bool)>) {
    let mut got = Vec::new();
    let result = e.decode_data_frames(input, max, |body, more| got.push((body, more)));
    if let Ok(n) = result {
        assert_eq!(n, got.len(), "returned count must match the sink calls");
        assert!(n <= max, "decoded {n} frames with max {max}");
    }
    (result, got)
}

/// Comparable form of what the sink received.
fn owned(frames: &[(Bytes, bool)]) -> Vec<(Vec<u8>, bool)> {
    frames.iter().map(|(b, m)| (b.to_vec(), *m)).collect()
}

/// Wire bytes of a sequence of data frames.
fn wire(frames: &[(Vec<u8>, bool)]) -> Vec<u8> {
    frames.iter().flat_map(|(b, m)| data(b, *m)).collect()
}

/// A recognisable body of `len` bytes (differs per `seed`).
fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A whole batch of short, long (8-byte size form) and multipart frames is
/// decoded in one call, in order, with the right bodies and MORE flags, as
/// zero-copy slices of the input, leaving the input empty.
#[test]
fn decodes_a_mixed_batch_in_order() {
    let mut e = ready_pull(None);
    let frames = vec![
        (body(3, 1), true),
        (body(0, 2), true),
        (body(255, 3), false), // largest short form
        (body(256, 4), true),  // smallest long form
        (body(1000, 5), false),
        (body(7, 6), false),
        (body(70_000, 7), true),
        (body(1, 8), false),
    ];
    let bytes = wire(&frames);
    let mut input = BytesMut::from(&bytes[..]);
    let range = input.as_ptr() as usize..input.as_ptr() as usize + input.len();

    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(frames.len()));
    assert_eq!(owned(&got), frames);
    assert!(input.is_empty());
    for (b, _) in got.iter().filter(|(b, _)| !b.is_empty()) {
        assert!(range.contains(&(b.as_ptr() as usize)), "frame was copied");
    }

    // Nothing left: a further call decodes nothing and the engine is fine.
    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(0));
    assert!(got.is_empty());
    assert!(e.is_ready());
    assert!(e.output().is_empty(), "data frames must not produce output");
}

/// `max` bounds the number of frames decoded per call: the remaining frames
/// are left byte for byte in the input, and the next call continues exactly
/// where the previous one stopped. `max = 0` decodes nothing.
#[test]
fn max_bounds_the_count_and_the_next_call_continues() {
    let mut e = ready_pull(None);
    let frames = vec![
        (body(10, 1), true),
        (body(300, 2), false),
        (body(0, 3), false),
        (body(255, 4), true),
        (body(256, 5), false),
    ];
    let bytes = wire(&frames);
    let mut input = BytesMut::from(&bytes[..]);

    let (result, got) = bulk(&mut e, &mut input, 0);
    assert_eq!(result, Ok(0));
    assert!(got.is_empty());
    assert_eq!(&input[..], &bytes[..]);

    let (result, got) = bulk(&mut e, &mut input, 2);
    assert_eq!(result, Ok(2));
    assert_eq!(owned(&got), frames[..2]);
    assert_eq!(
        &input[..],
        &wire(&frames[2..])[..],
        "rest must be untouched"
    );

    let (result, got) = bulk(&mut e, &mut input, 2);
    assert_eq!(result, Ok(2));
    assert_eq!(owned(&got), frames[2..4]);
    assert_eq!(&input[..], &wire(&frames[4..])[..]);

    let (result, got) = bulk(&mut e, &mut input, 2);
    assert_eq!(result, Ok(1));
    assert_eq!(owned(&got), frames[4..]);
    assert!(input.is_empty());
}

/// A command frame stops the bulk decode: the frames before it are decoded,
/// the command stays at the front for `handle_input`, which answers the PING
/// with a PONG; after that the bulk path decodes the rest.
#[test]
fn stops_at_a_command_and_resumes_after_handle_input() {
    let mut e = ready_pull(None);
    let before = vec![(body(5, 1), true), (body(400, 2), false)];
    let after = vec![
        (body(6, 3), true),
        (body(7, 4), true),
        (body(600, 5), false),
    ];
    let ping = command(b"PING", b"\x00\x00hi");
    let mut bytes = wire(&before);
    bytes.extend_from_slice(&ping);
    bytes.extend_from_slice(&wire(&after));
    let mut input = BytesMut::from(&bytes[..]);

    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(2));
    assert_eq!(owned(&got), before);
    assert!(
        input.starts_with(&ping),
        "the PING must be left at the front"
    );
    assert_eq!(input.len(), ping.len() + wire(&after).len());
    assert!(e.output().is_empty(), "the PING must not be answered yet");

    // Stopping at the PING is stable: another call does nothing.
    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(0));
    assert!(got.is_empty());
    assert!(input.starts_with(&ping));

    // handle_input handles the PING internally and, as documented, goes on
    // to return the next data frame in the same call.
    match e.handle_input(&mut input) {
        Ok(Some(Event::Frame { data, more })) => {
            assert_eq!((data.to_vec(), more), after[0]);
        }
        other => panic!("expected the first frame after the PING, got {other:?}"),
    }
    assert_eq!(&e.output().split()[..], &command(b"PONG", b"hi")[..]);

    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(2));
    assert_eq!(owned(&got), after[1..]);
    assert!(input.is_empty());
    assert!(e.output().is_empty());
}

/// A frame that is not complete yet (part of its header, the whole header,
/// or the header and part of its body, in short and long form) is left in
/// place untouched; once the rest is appended, the next call decodes it.
#[test]
fn partial_frame_is_left_in_place_until_complete() {
    let first = (body(20, 9), true);
    for tail in [(body(200, 1), false), (body(1000, 2), true)] {
        let tail_bytes = data(&tail.0, tail.1);
        for cut in 0..tail_bytes.len() {
            let mut e = ready_pull(None);
            let mut input = BytesMut::from(&data(&first.0, first.1)[..]);
            input.extend_from_slice(&tail_bytes[..cut]);

            let (result, got) = bulk(&mut e, &mut input, usize::MAX);
            assert_eq!(result, Ok(1), "cut {cut}");
            assert_eq!(owned(&got), std::slice::from_ref(&first));
            assert_eq!(
                &input[..],
                &tail_bytes[..cut],
                "cut {cut}: partial frame touched"
            );

            input.extend_from_slice(&tail_bytes[cut..]);
            let (result, got) = bulk(&mut e, &mut input, usize::MAX);
            assert_eq!(result, Ok(1), "cut {cut}");
            assert_eq!(owned(&got), std::slice::from_ref(&tail));
            assert!(input.is_empty());
        }
    }
}

/// Before the handshake completes (still waiting for the greeting, then for
/// the peer's READY) the bulk path decodes and consumes nothing, so the
/// handshake bytes stay for `handle_input`; once ready it works.
#[test]
fn does_nothing_before_the_handshake_completes() {
    let mut e = Engine::new(EngineConfig::new(SocketType::Pull), Instant::now());
    let frame_bytes = data(b"early", false);

    // Greeting phase, with data-frame-looking bytes in the buffer.
    let mut input = BytesMut::from(&frame_bytes[..]);
    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(0));
    assert!(got.is_empty());
    assert_eq!(&input[..], &frame_bytes[..]);

    // Greeting phase, with a real handshake followed by a data frame.
    let mut bytes = handshake_from(SocketType::Push);
    bytes.extend_from_slice(&frame_bytes);
    let mut input = BytesMut::from(&bytes[..]);
    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(0));
    assert!(got.is_empty());
    assert_eq!(&input[..], &bytes[..]);
    assert!(!e.is_ready());

    // Handshake phase: greeting consumed, READY still to come.
    let greeting_len = libzmq_greeting().len();
    let mut head = input.split_to(greeting_len);
    assert!(matches!(e.handle_input(&mut head), Ok(None)));
    assert!(head.is_empty());
    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(0));
    assert!(got.is_empty());
    assert_eq!(&input[..], &bytes[greeting_len..]);
    assert!(!e.is_ready());
    assert_eq!(e.error(), None);

    // READY handled by handle_input; now the bulk path takes the frame.
    assert!(matches!(
        e.handle_input(&mut input),
        Ok(Some(Event::Ready(_)))
    ));
    let (result, got) = bulk(&mut e, &mut input, usize::MAX);
    assert_eq!(result, Ok(1));
    assert_eq!(owned(&got), [(b"early".to_vec(), false)]);
    assert!(input.is_empty());
}

/// A data frame whose announced body exceeds `max_msg_size` fails the engine
/// with `MessageTooLarge`, checked on the header alone (before the body is
/// buffered), after delivering the frames that preceded it; `handle_input`
/// then repeats the same error.
#[test]
fn oversized_frame_fails_the_engine_like_handle_input() {
    let limit = 100u64;
    for (oversized, body_present) in [
        (101usize, false), // short form, header only
        (101, true),       // short form, whole frame
        (5000, false),     // long form, header only
        (5000, true),      // long form, whole frame
    ] {
        let mut e = ready_pull(Some(limit));
        let ok = (body(100, 1), true); // exactly at the limit is fine
        let mut bytes = data(&ok.0, ok.1);
        let big = data(&body(oversized, 2), false);
        let header_len = if oversized <= 255 { 2 } else { 9 };
        bytes.extend_from_slice(if body_present {
            &big[..]
        } else {
            &big[..header_len]
        });
        let mut input = BytesMut::from(&bytes[..]);

        let expected = EngineError::MessageTooLarge {
            size: oversized as u64,
            limit,
        };
        let (result, got) = bulk(&mut e, &mut input, usize::MAX);
        assert_eq!(result, Err(expected.clone()), "size {oversized}");
        assert!(
            matches!(result, Err(EngineError::MessageTooLarge { .. })),
            "wrong variant"
        );
        assert_eq!(
            owned(&got),
            std::slice::from_ref(&ok),
            "preceding frame must be delivered"
        );
        assert!(!e.is_ready());
        assert_eq!(e.error(), Some(&expected));

        // handle_input repeats the error, as after any engine failure.
        assert_eq!(e.handle_input(&mut input).unwrap_err(), expected);
        assert_eq!(e.handle_input(&mut input).unwrap_err(), expected);

        // A dead engine's bulk path delivers nothing more.
        let len = input.len();
        let (result, got) = bulk(&mut e, &mut input, usize::MAX);
        assert!(
            result == Ok(0) || result == Err(expected.clone()),
            "{result:?}"
        );
        assert!(got.is_empty());
        assert_eq!(input.len(), len);
    }

    // The same frame through handle_input alone: identical error.
    let mut e = ready_pull(Some(limit));
    let mut input = BytesMut::from(&data(&body(101, 2), false)[..]);
    assert_eq!(
        e.handle_input(&mut input).unwrap_err(),
        EngineError::MessageTooLarge { size: 101, limit }
    );
}

/// One unit of a generated session after the handshake.
#[derive(Debug, Clone)]
enum Unit {
    Data(Vec<u8>, bool),
    /// A PING with this TTL (tenths of a second) and context.
    Ping(u16, Vec<u8>),
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        6 => (proptest::collection::vec(any::<u8>(), 0..600), any::<bool>())
            .prop_map(|(b, m)| Unit::Data(b, m)),
        1 => (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(ttl, ctx)| Unit::Ping(ttl, ctx)),
    ]
}

fn encode(units: &[Unit]) -> Vec<u8> {
    let mut out = Vec::new();
    for u in units {
        match u {
            Unit::Data(b, more) => out.extend_from_slice(&data(b, *more)),
            Unit::Ping(ttl, ctx) => {
                let mut b = ttl.to_be_bytes().to_vec();
                b.extend_from_slice(ctx);
                out.extend_from_slice(&command(b"PING", &b));
            }
        }
    }
    out
}

/// Everything the caller observes while decoding a session.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    frames: Vec<(Vec<u8>, bool)>,
    error: Option<EngineError>,
    /// Bytes left in the input after each chunk was decoded.
    leftovers: Vec<usize>,
    /// Everything the engine queued for the peer (PONGs).
    output: Vec<u8>,
    ttls: Vec<Option<std::time::Duration>>,
}

/// Feeds `bytes` chunk by chunk; after each chunk calls `decode` until it
/// reports that nothing complete is left (or an error).
fn drive(
    limit: Option<u64>,
    bytes: &[u8],
    chunks: &[usize],
    mut decode: impl FnMut(&mut Engine, &mut BytesMut, &mut Vec<(Vec<u8>, bool)>) -> DecodeStep,
) -> Seen {
    let mut e = ready_pull(limit);
    let mut input = BytesMut::new();
    let mut seen = Seen::default();
    let mut rest = bytes;
    let mut i = 0;
    'feed: while !rest.is_empty() {
        let n = chunks[i % chunks.len()].clamp(1, rest.len());
        i += 1;
        input.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match decode(&mut e, &mut input, &mut seen.frames) {
                DecodeStep::Progress => {}
                DecodeStep::Drained => break,
                DecodeStep::Failed(err) => {
                    seen.error = Some(err);
                    break 'feed;
                }
            }
        }
        seen.leftovers.push(input.len());
        seen.output.extend_from_slice(&e.output().split());
        seen.ttls.push(e.take_peer_ttl());
    }
    seen.output.extend_from_slice(&e.output().split());
    seen
}

enum DecodeStep {
    Progress,
    Drained,
    Failed(EngineError),
}

/// One `handle_input` call as a [`DecodeStep`].
fn handle_step(
    e: &mut Engine,
    input: &mut BytesMut,
    frames: &mut Vec<(Vec<u8>, bool)>,
) -> DecodeStep {
    match e.handle_input(input) {
        Ok(Some(Event::Frame { data, more })) => {
            frames.push((data.to_vec(), more));
            DecodeStep::Progress
        }
        Ok(Some(other)) => panic!("unexpected event {other:?}"),
        Ok(None) => DecodeStep::Drained,
        Err(err) => {
            assert_eq!(e.handle_input(input).unwrap_err(), err, "error must repeat");
            DecodeStep::Failed(err)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Mixing the bulk path with `handle_input` (alternating, random `max`)
    /// over arbitrary chunkings of data frames and PINGs delivers exactly the
    /// frames, PONGs, TTLs, leftovers and error that `handle_input` alone
    /// does; the bulk path never decodes more than `max`.
    #[test]
    fn bulk_and_handle_input_agree(
        units in proptest::collection::vec(unit(), 0..24),
        chunks in proptest::collection::vec(1usize..700, 1..12),
        maxes in proptest::collection::vec(1usize..8, 1..8),
        limit in proptest::option::of(300u64..700),
    ) {
        let bytes = encode(&units);
        let reference = drive(limit, &bytes, &chunks, handle_step);

        let mut m = 0;
        let mixed = drive(limit, &bytes, &chunks, |e, input, frames| {
            let max = maxes[m % maxes.len()];
            m += 1;
            let len = input.len();
            let mut got = Vec::new();
            match e.decode_data_frames(input, max, |b, more| got.push((b.to_vec(), more))) {
                Ok(n) => {
                    assert_eq!(n, got.len());
                    assert!(n <= max);
                    assert!(n > 0 || input.len() == len, "Ok(0) must not consume");
                    frames.extend(got);
                }
                Err(err) => {
                    frames.extend(got);
                    assert_eq!(e.handle_input(input).unwrap_err(), err.clone());
                    return DecodeStep::Failed(err);
                }
            }
            handle_step(e, input, frames)
        });

        prop_assert_eq!(&mixed, &reference);
        if limit.is_none() {
            let expected: Vec<(Vec<u8>, bool)> = units
                .iter()
                .filter_map(|u| match u {
                    Unit::Data(b, m) => Some((b.clone(), *m)),
                    Unit::Ping(..) => None,
                })
                .collect();
            prop_assert_eq!(&reference.frames, &expected);
            prop_assert_eq!(reference.error, None);
            prop_assert_eq!(reference.leftovers.last().copied().unwrap_or(0), 0);
        }
    }
}
