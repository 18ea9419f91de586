//! Request-reply without thread hand-offs: answers written inline, replies probed for.
//!
//! A socket that wrote to a connection and then waits in `recv` looks for the answer on
//! that connection itself for a short while (REPLY_PROBE, 100 µs): it polls the fd and,
//! if input is there, reads and decodes it on its own thread. The first message queued
//! after the peer last spoke (an answer) is written on the sending thread whatever its
//! size, and a multipart message whose last frame is 16 KiB or more has its earlier
//! frames encoded and the last one written from its own buffer. These paths move the
//! same bytes the I/O thread moves, but on another thread, in pieces, and racing with
//! it; the tests here check that what arrives is exactly what was sent, in order, in
//! the situations the new paths meet:
//!
//! 1. answers of every size, around the 8 KiB inline and 16 KiB zero-copy limits and up
//!    to 1 MiB, over tcp and ipc;
//! 2. multipart messages with large middle and last frames, echoed by a ROUTER;
//! 3. an answer that arrives in pieces while the requester probes (a raw peer writes it
//!    in chunks), including answers that start after the probe window, so that the
//!    requester falls asleep and must be woken the usual way;
//! 4. answers slower than the probe window, and a receive that times out;
//! 5. more peers than a socket probes (`PROBE_MAX_PIPES` = 4);
//! 6. the peer hanging up while we wait for its answer;
//! 7. a PING arriving while the requester probes: the PONG must still go out.
//!
//! Contents: every frame is a window of a fixed pseudo-random pattern, at an offset
//! derived from the round number and a salt (requests, replies and each frame of a
//! message have their own), and carries the round number in its first 8 bytes when it
//! has that many; so a stale buffer, a frame from another round or frames mixed up
//! within a message fail with the round where it happened.
//!
//! Every blocking call has a timeout, so a lost wake-up fails instead of hanging. No
//! test asserts anything about speed.

mod common;

use std::io::{ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, EventKind, EventMask, Message, Socket, SocketType};

use common::zmtp::{command_frame, data_frame, handshake, read_frame};
use common::{mix, ms, pattern_bytes, socket, unique, wait_event, TIMEOUT};

const KIB: usize = 1024;

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

// ---------------------------------------------------------------- transports

#[derive(Clone, Copy, Debug)]
enum Transport {
    Tcp,
    Ipc,
}

/// An endpoint to bind on.
fn endpoint(t: Transport, tag: &str) -> String {
    match t {
        Transport::Tcp => "tcp://127.0.0.1:*".to_string(),
        Transport::Ipc => format!("ipc:///tmp/{}.ipc", unique(tag)),
    }
}

// ---------------------------------------------------------------- contents

/// The largest frame any test sends.
const MAX_LEN: usize = 1 << 20;
/// How many different window offsets into the pattern frames use.
const OFFSETS: usize = 4093;

/// Salts: a request, its reply, and frame `k` of a multipart message (`FRAME + k`).
const REQUEST: u64 = 1;
const REPLY: u64 = 2;
const FRAME: u64 = 100;

/// The fixed pseudo-random bytes every frame is a window of.
fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| pattern_bytes(MAX_LEN + OFFSETS, 0xfeed))
}

/// The `len` bytes a frame of round `round` with salt `salt` carries.
fn content(round: u64, salt: u64, len: usize) -> Vec<u8> {
    assert!(len <= MAX_LEN);
    let offset = (mix(round, salt) % OFFSETS as u64) as usize;
    let mut bytes = pattern()[offset..offset + len].to_vec();
    if len >= 8 {
        bytes[..8].copy_from_slice(&round.to_be_bytes());
    }
    bytes
}

/// The REQ side of one round: sends the round's request of `request_len` bytes and
/// checks that the answer is the round's reply of `reply_len` bytes, in one frame.
fn ask(req: &Socket, round: u64, request_len: usize, reply_len: usize) {
    req.send(content(round, REQUEST, request_len))
        .unwrap_or_else(|e| panic!("REQ sending request {round}: {e}"));
    let reply = req
        .recv_multipart()
        .unwrap_or_else(|e| panic!("REQ waiting for reply {round}: {e}"));
    assert_eq!(reply.len(), 1, "reply {round}: frames");
    check(
        &format!("reply {round} ({reply_len} bytes, to a request of {request_len})"),
        &reply[0],
        &content(round, REPLY, reply_len),
    );
}

/// Fails with where `got` differs from `want` (without printing megabytes).
fn check(what: &str, got: &[u8], want: &[u8]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap();
        let claims = if got.len() >= 8 {
            format!(
                "; it starts with round {}",
                u64::from_be_bytes(got[..8].try_into().unwrap())
            )
        } else {
            String::new()
        };
        panic!(
            "{what}: {} bytes, corrupt from byte {at}{claims}",
            got.len()
        );
    }
}

// ---------------------------------------------------------------- running two sides

/// Runs `peer` on its own thread and `main` on this one, then fails with the first
/// failure: `main`'s if it failed (the peer then usually times out waiting for it),
/// else the peer's. Both panics are printed as they happen.
fn run_with_peer<T: Send + 'static>(
    peer: impl FnOnce() -> T + Send + 'static,
    main: impl FnOnce(),
) -> T {
    let handle = thread::spawn(peer);
    let main_result = catch_unwind(AssertUnwindSafe(main));
    let peer_result = handle.join();
    match (main_result, peer_result) {
        (Ok(()), Ok(value)) => value,
        (Err(panic), _) | (Ok(()), Err(panic)) => resume_unwind(panic),
    }
}

/// Polls `cond` until it holds or [`TIMEOUT`] passes.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(ms(1));
    }
}

/// After the last expected message: nothing more arrives.
fn expect_no_more(sock: &Socket, who: &str) {
    sock.set_recv_timeout(Some(ms(100)));
    match sock.recv_multipart() {
        Err(Error::TimedOut) => {}
        Ok(frames) => panic!("{who}: an extra message after the last: {frames:?}"),
        Err(e) => panic!("{who}: after the last message: {e}"),
    }
}

// ---------------------------------------------------------------- raw peers

/// A listener for a raw peer ferrozmq connects to, and its endpoint.
fn raw_listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let ep = format!("tcp://{}", listener.local_addr().unwrap());
    (listener, ep)
}

/// Accepts ferrozmq's connection (within [`TIMEOUT`]), set up as `zmtp::raw` sets up
/// its streams: no Nagle, 50 ms read timeouts (the helpers retry), and a write timeout.
fn accept(listener: &TcpListener) -> TcpStream {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_nodelay(true).unwrap();
                s.set_read_timeout(Some(ms(50))).unwrap();
                s.set_write_timeout(Some(TIMEOUT)).unwrap();
                return s;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "ferrozmq never connected");
                thread::sleep(ms(1));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A raw peer's stream, with the data frames read while looking for a command.
struct RawPeer {
    s: TcpStream,
    stashed: Vec<(u8, Vec<u8>)>,
}

impl RawPeer {
    /// Accepts ferrozmq's connection and performs the handshake as `ours`; checks the
    /// peer's socket type.
    fn accept(listener: &TcpListener, ours: &str, theirs: &str) -> RawPeer {
        let mut s = accept(listener);
        assert_eq!(handshake(&mut s, ours), theirs, "the peer's socket type");
        RawPeer {
            s,
            stashed: Vec::new(),
        }
    }

    fn next_frame(&mut self) -> (u8, Vec<u8>) {
        if self.stashed.is_empty() {
            read_frame(&mut self.s)
        } else {
            self.stashed.remove(0)
        }
    }

    /// Reads one whole message (its data frames).
    fn read_message(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        loop {
            let (flags, body) = self.next_frame();
            assert_eq!(flags & 0x04, 0, "unexpected command: {body:?}");
            frames.push(body);
            if flags & 0x01 == 0 {
                return frames;
            }
        }
    }

    /// Reads the next command, keeping data frames that come before it for
    /// [`read_message`](RawPeer::read_message).
    fn read_command(&mut self) -> Vec<u8> {
        loop {
            let (flags, body) = read_frame(&mut self.s);
            if flags & 0x04 != 0 {
                return body;
            }
            self.stashed.push((flags, body));
        }
    }

    /// Reads the request of `round` that a REQ sends (delimiter, then a body of `len`).
    fn read_request(&mut self, round: u64, len: usize) {
        let request = self.read_message();
        assert_eq!(request.len(), 2, "request {round}: delimiter and body");
        assert!(request[0].is_empty(), "request {round}: the delimiter");
        check(
            &format!("request {round}"),
            &request[1],
            &content(round, REQUEST, len),
        );
    }

    fn write(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("raw peer write");
    }
}

/// The wire bytes of a REP's reply: the empty delimiter, then `body`.
fn reply_wire(body: &[u8]) -> Vec<u8> {
    let mut wire = data_frame(b"", true);
    wire.extend(data_frame(body, false));
    wire
}

// ---------------------------------------------------------------- 1. every size

/// Request and reply sizes: both sides of the 8 KiB inline limit, of the 16 KiB
/// zero-copy limit, of the 16 KiB read chunk, and large answers up to 1 MiB.
const SIZES: [usize; 12] = [
    0, 1, 100, 8191, 8192, 8193, 16383, 16384, 16385, 65536, 200_000, 1_048_576,
];
/// Enough rounds for every request size to meet every reply size twice.
const SIZE_ROUNDS: u64 = 12 * 28;

fn request_len(round: u64) -> usize {
    SIZES[(round % 12) as usize]
}

fn reply_len(round: u64) -> usize {
    SIZES[((round % 12 + round / 12) % 12) as usize]
}

/// REQ ↔ REP, strictly alternating: the REP checks every request and answers with
/// other bytes (another salt, another size); the REQ checks every answer.
fn answers_of_every_size(t: Transport) {
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    rep.bind(&endpoint(t, "ferrozmq-probe-sizes")).unwrap();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&rep.last_endpoint()).unwrap();

    run_with_peer(
        move || {
            for round in 0..SIZE_ROUNDS {
                let request = rep
                    .recv_multipart()
                    .unwrap_or_else(|e| panic!("REP waiting for request {round}: {e}"));
                assert_eq!(request.len(), 1, "request {round}: frames");
                check(
                    &format!("request {round}"),
                    &request[0],
                    &content(round, REQUEST, request_len(round)),
                );
                rep.send(content(round, REPLY, reply_len(round)))
                    .unwrap_or_else(|e| panic!("REP sending reply {round}: {e}"));
            }
            expect_no_more(&rep, "REP");
        },
        || {
            for round in 0..SIZE_ROUNDS {
                ask(&req, round, request_len(round), reply_len(round));
            }
        },
    );
}

/// Answers of every size from 0 bytes to 1 MiB arrive intact and in order (tcp).
#[test]
fn tcp_answers_of_every_size_arrive_intact() {
    answers_of_every_size(Transport::Tcp);
}

/// As [`tcp_answers_of_every_size_arrive_intact`], over ipc.
#[test]
fn ipc_answers_of_every_size_arrive_intact() {
    answers_of_every_size(Transport::Ipc);
}

// ---------------------------------------------------------------- 2. multipart

/// Message shapes (frame lengths), cycled through: large last frames after small or
/// large earlier ones, large frames in the middle, empty frames, frames right at the
/// 16 KiB limit, and small messages in between.
const SHAPES: &[&[usize]] = &[
    &[12],
    &[10, 20 * KIB, 70 * KIB],
    &[5, 7],
    &[70 * KIB, 3, 40 * KIB],
    &[1],
    &[0, 64 * KIB],
    &[9, 16 * KIB],
    &[9, 16 * KIB - 1],
    &[20 * KIB, 0],
    &[0, 0, 17 * KIB],
    &[100 * KIB],
    &[3, 3, 3, 3, 3],
    &[8, 16 * KIB, 16 * KIB, 16 * KIB],
];
const MULTIPART_MESSAGES: u64 = 13 * 20;
const ROUTING_ID: &[u8] = b"probe-dealer";

fn shape(seq: u64) -> &'static [usize] {
    SHAPES[(seq % SHAPES.len() as u64) as usize]
}

fn frames(seq: u64) -> Vec<Vec<u8>> {
    shape(seq)
        .iter()
        .enumerate()
        .map(|(k, &len)| content(seq, FRAME + k as u64, len))
        .collect()
}

fn check_frames(what: &str, seq: u64, got: &[Message]) {
    let lens: Vec<usize> = got.iter().map(|f| f.len()).collect();
    assert_eq!(lens, shape(seq), "{what} {seq}: frame count and lengths");
    for (k, (got, want)) in got.iter().zip(frames(seq)).enumerate() {
        check(&format!("{what} {seq}, frame {k}"), got, &want);
    }
}

/// DEALER → ROUTER → DEALER: the ROUTER checks each message and echoes it (the very
/// frames it received) behind the DEALER's routing id; the DEALER checks each echo.
/// Mostly strict round trips, with a burst of four messages every 20.
fn multipart_echo(t: Transport) {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    router.set_router_mandatory(true).unwrap();
    router
        .bind(&endpoint(t, "ferrozmq-probe-multipart"))
        .unwrap();
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_routing_id(ROUTING_ID).unwrap();
    dealer.connect(&router.last_endpoint()).unwrap();

    run_with_peer(
        move || {
            for seq in 0..MULTIPART_MESSAGES {
                let message = router
                    .recv_multipart()
                    .unwrap_or_else(|e| panic!("ROUTER waiting for message {seq}: {e}"));
                assert_eq!(&message[0][..], ROUTING_ID, "message {seq}: routing id");
                check_frames("message", seq, &message[1..]);
                router
                    .send_multipart(message)
                    .unwrap_or_else(|e| panic!("ROUTER echoing message {seq}: {e}"));
            }
            expect_no_more(&router, "ROUTER");
        },
        || {
            let mut seq = 0;
            while seq < MULTIPART_MESSAGES {
                let burst = if seq % 20 == 10 { 4 } else { 1 };
                let end = (seq + burst).min(MULTIPART_MESSAGES);
                for s in seq..end {
                    dealer
                        .send_multipart(frames(s))
                        .unwrap_or_else(|e| panic!("DEALER sending message {s}: {e}"));
                }
                for s in seq..end {
                    let echo = dealer
                        .recv_multipart()
                        .unwrap_or_else(|e| panic!("DEALER waiting for echo {s}: {e}"));
                    check_frames("echo", s, &echo);
                }
                seq = end;
            }
            expect_no_more(&dealer, "DEALER");
        },
    );
}

/// Multipart messages with large middle and last frames go through a ROUTER and back
/// intact, frame by frame (tcp).
#[test]
fn tcp_multipart_with_large_frames_echoes_intact() {
    multipart_echo(Transport::Tcp);
}

/// As [`tcp_multipart_with_large_frames_echoes_intact`], over ipc.
#[test]
fn ipc_multipart_with_large_frames_echoes_intact() {
    multipart_echo(Transport::Ipc);
}

// ---------------------------------------------------------------- 3. answers in pieces

/// One step of writing a reply.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Write the next this many bytes ([`REST`]: all that is left).
    Write(usize),
    Sleep(Duration),
}

const REST: usize = usize::MAX;
/// The body of each chunked answer.
const CHUNKED_BODY: usize = 100 * KIB;
/// The delimiter frame (2 bytes) and the body's long header (9 bytes).
const HEADERS: usize = 2 + 9;

/// How the raw peer writes its answers, round after round.
fn chunk_plans() -> Vec<(&'static str, Vec<Step>)> {
    use Step::{Sleep, Write};
    let mut trickle = Vec::new();
    for _ in 0..26 {
        trickle.extend([Write(4 * KIB), Sleep(us(100))]);
    }
    trickle.push(Write(REST));
    vec![
        (
            "headers, 1 byte, 1 ms, 30 KiB, 200 µs, the rest",
            vec![
                Write(HEADERS),
                Write(1),
                Sleep(ms(1)),
                Write(30 * KIB),
                Sleep(us(200)),
                Write(REST),
            ],
        ),
        ("all at once", vec![Write(REST)]),
        (
            "20 ms of silence, then all",
            vec![Sleep(ms(20)), Write(REST)],
        ),
        (
            "20 ms of silence, 1 byte, 5 ms, the rest",
            vec![Sleep(ms(20)), Write(1), Sleep(ms(5)), Write(REST)],
        ),
        (
            "the delimiter, 20 ms, the body",
            vec![Write(2), Sleep(ms(20)), Write(REST)],
        ),
        (
            "split inside the body's header, 1 ms",
            vec![Write(2 + 4), Sleep(ms(1)), Write(REST)],
        ),
        ("4 KiB every 100 µs", trickle),
    ]
}

fn play(peer: &mut RawPeer, wire: &[u8], plan: &[Step]) {
    let mut at = 0;
    for step in plan {
        match *step {
            Step::Write(n) => {
                let end = if n == REST {
                    wire.len()
                } else {
                    (at + n).min(wire.len())
                };
                peer.write(&wire[at..end]);
                at = end;
            }
            Step::Sleep(d) => thread::sleep(d),
        }
    }
    assert_eq!(at, wire.len(), "the plan wrote the whole reply");
}

fn chunked_request_len(round: u64) -> usize {
    20 + (round % 5) as usize
}

/// A raw REP answers a ferrozmq REQ with a delimiter and a 100 KiB body written in
/// pieces, with pauses shorter and longer than the probe window, before the first byte,
/// between the frames and inside the body's header: the REQ receives exactly the body,
/// every time.
#[test]
fn an_answer_arriving_in_pieces_is_received_whole() {
    let ctx = Context::new();
    let (listener, ep) = raw_listener();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    let plans = chunk_plans();
    let rounds = 2 * plans.len() as u64;

    run_with_peer(
        move || {
            let mut peer = RawPeer::accept(&listener, "REP", "REQ");
            for round in 0..rounds {
                peer.read_request(round, chunked_request_len(round));
                let wire = reply_wire(&content(round, REPLY, CHUNKED_BODY));
                let (name, plan) = &plans[round as usize % plans.len()];
                eprintln!("round {round}: {name}");
                play(&mut peer, &wire, plan);
            }
        },
        || {
            for round in 0..rounds {
                ask(&req, round, chunked_request_len(round), CHUNKED_BODY);
            }
        },
    );
}

// ---------------------------------------------------------------- 4. slow answers

/// A REP that takes 5 to 20 ms over each answer (far past the probe window, so the
/// requester gives up probing and sleeps): every answer arrives, intact.
#[test]
fn answers_slower_than_the_probe_window_arrive() {
    const DELAYS_MS: [u64; 10] = [5, 20, 8, 13, 5, 17, 10, 20, 6, 15];
    const LENS: [usize; 4] = [10, 100 * KIB, 16 * KIB, 1];
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&rep.last_endpoint()).unwrap();
    let rounds = DELAYS_MS.len() as u64 * 2;
    let len = |round: u64| LENS[(round % 4) as usize];

    run_with_peer(
        move || {
            for round in 0..rounds {
                let request = rep
                    .recv()
                    .unwrap_or_else(|e| panic!("REP waiting for request {round}: {e}"));
                check(
                    &format!("request {round}"),
                    &request,
                    &content(round, REQUEST, 16),
                );
                thread::sleep(ms(DELAYS_MS[round as usize % DELAYS_MS.len()]));
                rep.send(content(round, REPLY, len(round)))
                    .unwrap_or_else(|e| panic!("REP sending reply {round}: {e}"));
            }
        },
        || {
            for round in 0..rounds {
                ask(&req, round, 16, len(round));
            }
        },
    );
}

/// A REQ waiting for an answer that does not come gives up at its 50 ms receive
/// timeout (probing does not swallow the deadline), can wait again, and still takes
/// the answer when it finally comes.
#[test]
fn a_receive_with_no_answer_times_out_and_the_late_answer_still_arrives() {
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&rep.last_endpoint()).unwrap();
    req.send("question").unwrap();
    assert_eq!(rep.recv().unwrap(), "question");

    req.set_recv_timeout(Some(ms(50)));
    for attempt in 0..2 {
        let started = Instant::now();
        let got = req.recv();
        let took = started.elapsed();
        assert!(
            matches!(got, Err(Error::TimedOut)),
            "attempt {attempt}: no answer was sent, yet recv gave {got:?}"
        );
        assert!(
            took >= ms(49) && took < Duration::from_secs(2),
            "attempt {attempt}: a 50 ms receive timeout took {took:?}"
        );
    }

    req.set_recv_timeout(Some(TIMEOUT));
    rep.send("late answer").unwrap();
    assert_eq!(req.recv().unwrap(), "late answer");
    // The conversation goes on.
    req.send("next").unwrap();
    assert_eq!(rep.recv().unwrap(), "next");
    rep.send("fine").unwrap();
    assert_eq!(req.recv().unwrap(), "fine");
}

// ---------------------------------------------------------------- 5. many peers

/// One DEALER connected to `n` REPs (tcp) sends requests round-robin with the REQ
/// envelope, a window of `2n` at a time, and collects the replies: each request is
/// answered exactly once, by some REP, and every REP takes part.
fn dealer_with_reps(n: usize) {
    const TOTAL: u64 = 360;
    let ctx = Context::new();
    let dealer = socket(&ctx, SocketType::Dealer);
    let reps: Vec<Socket> = (0..n)
        .map(|_| {
            let rep = socket(&ctx, SocketType::Rep);
            rep.bind("tcp://127.0.0.1:*").unwrap();
            dealer.connect(&rep.last_endpoint()).unwrap();
            rep
        })
        .collect();
    // Every REP has its peer before the first request, so round-robin reaches all.
    wait_for("every REP to have its DEALER", || {
        reps.iter().all(|r| r.peer_count() >= 1)
    });
    let request_len = |i: u64| [8, 100, 20 * KIB, 9][(i % 4) as usize];
    let reply_len = |i: u64| [30 * KIB, 8, 17, 1000][(i % 4) as usize];

    let stop = Arc::new(AtomicBool::new(false));
    let servers: Vec<thread::JoinHandle<u64>> = reps
        .into_iter()
        .enumerate()
        .map(|(k, rep)| {
            let stop = stop.clone();
            thread::spawn(move || {
                rep.set_recv_timeout(Some(ms(20)));
                let mut served = 0;
                loop {
                    match rep.recv_multipart() {
                        Ok(request) => {
                            assert_eq!(request.len(), 1, "REP {k}: a request has one frame");
                            let body = &request[0];
                            assert!(
                                body.len() >= 8,
                                "REP {k}: a request of {} bytes",
                                body.len()
                            );
                            let i = u64::from_be_bytes(body[..8].try_into().unwrap());
                            check(
                                &format!("REP {k}: request {i}"),
                                body,
                                &content(i, REQUEST, request_len(i)),
                            );
                            let reply =
                                [k.to_string().into_bytes(), content(i, REPLY, reply_len(i))];
                            rep.send_multipart(reply)
                                .unwrap_or_else(|e| panic!("REP {k}: reply {i}: {e}"));
                            served += 1;
                        }
                        Err(Error::TimedOut) if stop.load(Ordering::SeqCst) => break served,
                        Err(Error::TimedOut) => {}
                        Err(e) => panic!("REP {k}: {e}"),
                    }
                }
            })
        })
        .collect();

    let collected = catch_unwind(AssertUnwindSafe(|| {
        let window = 2 * n as u64;
        let mut seen = vec![0u32; TOTAL as usize];
        let mut by_rep = vec![0u64; n];
        let mut start = 0;
        while start < TOTAL {
            let end = (start + window).min(TOTAL);
            for i in start..end {
                dealer
                    .send_multipart([Vec::new(), content(i, REQUEST, request_len(i))])
                    .unwrap_or_else(|e| panic!("DEALER sending request {i}: {e}"));
            }
            for _ in start..end {
                let reply = dealer
                    .recv_multipart()
                    .unwrap_or_else(|e| panic!("DEALER waiting for replies {start}..{end}: {e}"));
                assert_eq!(reply.len(), 3, "delimiter, REP number, body: {reply:?}");
                assert!(reply[0].is_empty(), "the delimiter: {reply:?}");
                let k: usize = reply[1].as_str().and_then(|s| s.parse().ok()).unwrap();
                let body = &reply[2];
                assert!(body.len() >= 8, "a reply of {} bytes", body.len());
                let i = u64::from_be_bytes(body[..8].try_into().unwrap());
                assert!(
                    (start..end).contains(&i),
                    "reply {i} while waiting for {start}..{end}"
                );
                check(
                    &format!("reply {i} from REP {k}"),
                    body,
                    &content(i, REPLY, reply_len(i)),
                );
                seen[i as usize] += 1;
                by_rep[k] += 1;
            }
            start = end;
        }
        expect_no_more(&dealer, "DEALER");
        let wrong: Vec<(usize, u32)> = (0..seen.len())
            .filter(|&i| seen[i] != 1)
            .map(|i| (i, seen[i]))
            .collect();
        assert!(
            wrong.is_empty(),
            "(request, times answered) for requests not answered exactly once: {wrong:?}"
        );
        by_rep
    }));
    stop.store(true, Ordering::SeqCst);
    let served: Vec<u64> = servers
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|p| resume_unwind(p)))
        .collect();
    let by_rep = collected.unwrap_or_else(|p| resume_unwind(p));
    assert_eq!(
        served, by_rep,
        "what each REP served vs. what came back from it"
    );
    assert!(
        by_rep.iter().all(|&c| c > 0),
        "a REP got no request: {by_rep:?}"
    );
    eprintln!("{n} REPs served {by_rep:?}");
}

/// Six REPs: more peers than a waiting socket probes, so the DEALER never probes; every
/// reply still arrives exactly once.
#[test]
fn dealer_with_more_peers_than_probed_gets_every_reply_once() {
    dealer_with_reps(6);
}

/// Four REPs (the most that are probed) and five (one more).
#[test]
fn dealer_at_the_probe_limit_gets_every_reply_once() {
    dealer_with_reps(4);
    dealer_with_reps(5);
}

// ---------------------------------------------------------------- 6. hang-up

/// A raw REP reads a DEALER's request and, `delay` later, hangs up while the DEALER
/// waits in `recv` with a 2 s timeout: the DEALER sees Disconnected within 1 s, its
/// `recv` neither panics nor hangs nor returns anything but a timeout, and it then
/// talks to a new, well-behaved REP as usual.
fn hang_up_while_we_wait(delay: Duration) {
    let ctx = Context::new();
    let (listener, raw_ep) = raw_listener();
    let dealer = socket(&ctx, SocketType::Dealer);
    let events = dealer.monitor(EventMask::ALL);
    dealer.connect(&raw_ep).unwrap();
    let mut peer = RawPeer::accept(&listener, "REP", "DEALER");

    let (done_tx, done_rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        dealer.set_recv_timeout(Some(Duration::from_secs(2)));
        dealer
            .send_multipart([Message::new(), Message::from("question")])
            .unwrap();
        let started = Instant::now();
        let got = dealer.recv_multipart();
        let took = started.elapsed();
        let _ = done_tx.send(());
        (dealer, got, took)
    });

    assert_eq!(peer.read_message(), [b"".to_vec(), b"question".to_vec()]);
    thread::sleep(delay);
    drop(peer);
    drop(listener);
    let (disconnected, _) = wait_event(&events, EventKind::Disconnected, Duration::from_secs(1));
    assert_eq!(disconnected.endpoint, raw_ep);
    let returned_early = done_rx.try_recv().is_ok();
    if !returned_early {
        done_rx
            .recv_timeout(TIMEOUT)
            .expect("a recv with a 2 s timeout did not return within 5 s");
    }
    let (dealer, got, took) = waiter.join().expect("the waiting thread panicked");
    assert!(
        matches!(got, Err(Error::TimedOut)),
        "the peer hung up without answering, yet recv gave {got:?}"
    );
    assert!(
        !returned_early,
        "recv returned before the Disconnected event, after {took:?}"
    );
    assert!(
        took >= ms(1990) && took < Duration::from_secs(4),
        "a 2 s receive timeout took {took:?}"
    );

    // A new peer is served as usual.
    dealer.disconnect(&raw_ep).unwrap();
    let rep = socket(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    dealer.connect(&rep.last_endpoint()).unwrap();
    dealer
        .send_multipart([Message::new(), Message::from("again")])
        .unwrap();
    assert_eq!(rep.recv().unwrap(), "again");
    rep.send("served").unwrap();
    assert_eq!(
        dealer.recv_multipart().unwrap(),
        [Message::new(), Message::from("served")]
    );
}

/// The peer hangs up right after reading the request: while the DEALER may still be
/// probing for the answer.
#[test]
fn the_peer_hanging_up_at_once_while_we_wait_for_its_answer() {
    hang_up_while_we_wait(Duration::ZERO);
}

/// The peer hangs up 20 ms after reading the request, past the probe window: the
/// DEALER is asleep in `recv` and must be woken to read the end of the stream.
#[test]
fn the_peer_hanging_up_after_the_probe_window() {
    hang_up_while_we_wait(ms(20));
}

// ---------------------------------------------------------------- 7. PING while probing

/// A PING command with TTL 0 (no deadline) and `context`.
fn ping(context: &[u8]) -> Vec<u8> {
    let mut data = 0u16.to_be_bytes().to_vec();
    data.extend_from_slice(context);
    command_frame("PING", &data)
}

/// Reads the PONG answering a PING with `context`, within 1 s.
fn expect_pong(peer: &mut RawPeer, context: &[u8], sent: Instant, round: u64) {
    let pong = peer.read_command();
    let took = sent.elapsed();
    assert_eq!(
        pong,
        [&b"\x04PONG"[..], context].concat(),
        "round {round}: the PONG"
    );
    assert!(
        took < Duration::from_secs(1),
        "round {round}: the PONG took {took:?}"
    );
}

/// A raw REP sends a PING right after reading each request, while the REQ probes for
/// the answer (or, in some rounds, together with the answer, or after the REQ fell
/// asleep): the PONG comes back with the PING's context within 1 s, and the answer
/// sent after it is received.
#[test]
fn a_ping_while_the_requester_probes_is_answered() {
    const ROUNDS: u64 = 9;
    let ctx = Context::new();
    let (listener, ep) = raw_listener();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    let body_len = |round: u64| [40, 20 * KIB, 1][(round % 3) as usize];

    run_with_peer(
        move || {
            let mut peer = RawPeer::accept(&listener, "REP", "REQ");
            for round in 0..ROUNDS {
                peer.read_request(round, 24);
                let context = format!("ctx-{round}").into_bytes();
                let reply = reply_wire(&content(round, REPLY, body_len(round)));
                match round % 3 {
                    0 => {
                        // The PING right away; the answer once the PONG is back.
                        let sent = Instant::now();
                        peer.write(&ping(&context));
                        expect_pong(&mut peer, &context, sent, round);
                        peer.write(&reply);
                    }
                    1 => {
                        // PING and answer in one write.
                        let sent = Instant::now();
                        peer.write(&[ping(&context), reply].concat());
                        expect_pong(&mut peer, &context, sent, round);
                    }
                    _ => {
                        // After the probe window: the REQ is asleep.
                        thread::sleep(ms(20));
                        let sent = Instant::now();
                        peer.write(&ping(&context));
                        expect_pong(&mut peer, &context, sent, round);
                        thread::sleep(ms(1));
                        peer.write(&reply);
                    }
                }
            }
        },
        || {
            for round in 0..ROUNDS {
                ask(&req, round, 24, body_len(round));
            }
        },
    );
}
