//! Helpers shared by the integration tests: hand-built wire bytes, a driver
//! that feeds bytes to an engine in chosen chunkings and records a comparable
//! outcome, and an in-memory pair of engines.
#![allow(dead_code)]

use std::time::Instant;

use bytes::BytesMut;
use ferrozmq_engine::{Engine, EngineConfig, EngineError, Event, SocketType, NULL_GREETING};

/// A peer greeting with the given version and mechanism (NUL-padded to 20).
pub fn greeting(major: u8, minor: u8, mechanism: &[u8]) -> Vec<u8> {
    let mut g = NULL_GREETING.to_vec();
    g[10] = major;
    g[11] = minor;
    g[12..32].fill(0);
    g[12..12 + mechanism.len()].copy_from_slice(mechanism);
    g
}

/// libzmq's own greeting as captured in ZMTP.md section 11 (padding = 1).
pub fn libzmq_greeting() -> Vec<u8> {
    let mut g = greeting(3, 1, b"NULL");
    g[8] = 0x01;
    g
}

/// A frame with the given base flags; LONG is added when the body is > 255.
pub fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + body.len());
    if body.len() <= 255 {
        out.push(flags);
        out.push(body.len() as u8);
    } else {
        out.push(flags | 0x02);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// A data frame.
pub fn data(body: &[u8], more: bool) -> Vec<u8> {
    frame(u8::from(more), body)
}

/// A command frame `name-len | name | data`.
pub fn command(name: &[u8], body: &[u8]) -> Vec<u8> {
    let mut b = vec![name.len() as u8];
    b.extend_from_slice(name);
    b.extend_from_slice(body);
    frame(0x04, &b)
}

/// Encoded READY metadata.
pub fn metadata(props: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut m = Vec::new();
    for (name, value) in props {
        m.push(name.len() as u8);
        m.extend_from_slice(name);
        m.extend_from_slice(&(value.len() as u32).to_be_bytes());
        m.extend_from_slice(value);
    }
    m
}

/// A READY command with these properties.
pub fn ready(props: &[(&[u8], &[u8])]) -> Vec<u8> {
    command(b"READY", &metadata(props))
}

/// The READY a libzmq socket of type `t` with an empty routing id sends.
pub fn ready_for(t: SocketType) -> Vec<u8> {
    if t.sends_identity() {
        ready(&[(b"Socket-Type", t.name().as_bytes()), (b"Identity", b"")])
    } else {
        ready(&[(b"Socket-Type", t.name().as_bytes())])
    }
}

/// Greeting plus READY of a libzmq peer of type `t`.
pub fn handshake_from(t: SocketType) -> Vec<u8> {
    let mut v = libzmq_greeting();
    v.extend_from_slice(&ready_for(t));
    v
}

/// Parses space-separated hex.
pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// An [`Event`] in comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Ready {
        socket_type: SocketType,
        routing_id: Vec<u8>,
        minor_version: u8,
        properties: Vec<(String, Vec<u8>)>,
    },
    Frame(Vec<u8>, bool),
    Subscribe(Vec<u8>),
    Cancel(Vec<u8>),
}

pub fn summarize(event: Event) -> Ev {
    match event {
        Event::Ready(p) => Ev::Ready {
            socket_type: p.socket_type,
            routing_id: p.routing_id.to_vec(),
            minor_version: p.minor_version,
            properties: p
                .properties
                .into_iter()
                .map(|(k, v)| (k, v.to_vec()))
                .collect(),
        },
        Event::Frame { data, more } => Ev::Frame(data.to_vec(), more),
        Event::Subscribe(t) => Ev::Subscribe(t.to_vec()),
        Event::Cancel(t) => Ev::Cancel(t.to_vec()),
    }
}

/// Everything observable after feeding bytes to a fresh engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub events: Vec<Ev>,
    pub error: Option<EngineError>,
    /// Everything the engine wanted to send.
    pub output: Vec<u8>,
    /// Unconsumed input at the end (only meaningful without an error).
    pub leftover: Option<usize>,
    pub ready: bool,
}

/// Feeds `bytes` to an engine in chunks whose sizes come from `chunk`
/// (a size of 0 counts as 1), draining events after every chunk. Checks
/// the engine's contract on the way: `Ok(None)` is stable, errors repeat.
pub fn run_with(engine: &mut Engine, bytes: &[u8], mut chunk: impl FnMut() -> usize) -> Outcome {
    let mut input = BytesMut::new();
    let mut events = Vec::new();
    let mut rest = bytes;
    let mut error = None;
    'feed: loop {
        loop {
            match engine.handle_input(&mut input) {
                Ok(Some(ev)) => events.push(summarize(ev)),
                Ok(None) => {
                    let before = input.len();
                    assert!(matches!(engine.handle_input(&mut input), Ok(None)));
                    assert_eq!(input.len(), before, "Ok(None) must not consume");
                    assert!(engine.input_hint() >= 1);
                    break;
                }
                Err(e) => {
                    assert_eq!(engine.handle_input(&mut input).unwrap_err(), e);
                    assert!(!engine.is_ready());
                    error = Some(e);
                    break 'feed;
                }
            }
        }
        if rest.is_empty() {
            break;
        }
        let n = chunk().clamp(1, rest.len());
        input.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
    Outcome {
        leftover: error.is_none().then_some(input.len()),
        events,
        error,
        output: engine.output().split().to_vec(),
        ready: engine.is_ready(),
    }
}

/// A fresh engine of type `local` fed `bytes` in one chunk.
pub fn run_whole(config: &EngineConfig, bytes: &[u8]) -> Outcome {
    let mut e = Engine::new(config.clone(), Instant::now());
    run_with(&mut e, bytes, || usize::MAX)
}

/// A fresh engine fed `bytes` one byte at a time.
pub fn run_bytewise(config: &EngineConfig, bytes: &[u8]) -> Outcome {
    let mut e = Engine::new(config.clone(), Instant::now());
    run_with(&mut e, bytes, || 1)
}

/// Two engines connected in memory.
pub struct Pair {
    pub a: Engine,
    pub b: Engine,
    pub a_in: BytesMut,
    pub b_in: BytesMut,
}

/// What one side of a [`Pair`] saw during [`Pair::pump`].
#[derive(Debug, Default)]
pub struct Side {
    pub events: Vec<Ev>,
    pub error: Option<EngineError>,
}

impl Pair {
    pub fn new(a: EngineConfig, b: EngineConfig) -> Pair {
        let now = Instant::now();
        Pair {
            a: Engine::new(a, now),
            b: Engine::new(b, now),
            a_in: BytesMut::new(),
            b_in: BytesMut::new(),
        }
    }

    /// Moves bytes both ways until nothing changes; returns what each saw.
    pub fn pump(&mut self) -> (Side, Side) {
        let (mut sa, mut sb) = (Side::default(), Side::default());
        loop {
            let moved = !self.a.output().is_empty() || !self.b.output().is_empty();
            self.b_in.extend_from_slice(&self.a.output().split());
            self.a_in.extend_from_slice(&self.b.output().split());
            drain(&mut self.a, &mut self.a_in, &mut sa);
            drain(&mut self.b, &mut self.b_in, &mut sb);
            if !moved && self.a.output().is_empty() && self.b.output().is_empty() {
                return (sa, sb);
            }
        }
    }
}

fn drain(engine: &mut Engine, input: &mut BytesMut, side: &mut Side) {
    if side.error.is_some() {
        return;
    }
    loop {
        match engine.handle_input(input) {
            Ok(Some(ev)) => side.events.push(summarize(ev)),
            Ok(None) => return,
            Err(e) => {
                side.error = Some(e);
                return;
            }
        }
    }
}

/// An engine of type `local` that has completed a handshake with a libzmq
/// peer of type `peer`, with empty input and output buffers.
pub fn ready_engine(cfg: EngineConfig, peer: SocketType) -> Engine {
    let mut e = Engine::new(cfg, Instant::now());
    let mut input = BytesMut::from(&handshake_from(peer)[..]);
    assert!(matches!(
        e.handle_input(&mut input),
        Ok(Some(Event::Ready(_)))
    ));
    assert!(input.is_empty());
    assert!(e.is_ready());
    e.output().clear();
    e
}
