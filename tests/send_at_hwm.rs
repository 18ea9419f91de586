//! Sends at the send high-water mark over tcp and ipc.
//!
//! When every peer's queue is at SNDHWM, a blocking `send` writes the queued messages
//! to the connection on the sending thread (instead of sleeping until the I/O thread
//! has). Large frames (16 KiB and more) go out from their own buffer with a vectored
//! write, which the kernel may take only in part. These tests keep senders at the
//! high-water mark for tens of thousands of messages, mixing small messages with large
//! ones (and partial writes, with small kernel buffers), and check that every message
//! arrives exactly once, in order, whole and intact: a loss, duplicate, reordering or
//! corrupted frame fails with the sequence number where it happened, and a hang fails
//! as a timeout.
//!
//! Every message carries its sequence number in the first 8 bytes of its first frame;
//! the rest of every frame is a window of a fixed pseudo-random pattern, starting at an
//! offset derived from the sequence number and frame index, so a frame's length and
//! content are known from its sequence number alone.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, Message, Socket, SocketType};

use common::{mix, ms, pattern_bytes, socket, unique};

/// Safety net for every blocking send and receive: a hang fails instead of hanging.
const WAIT: Duration = Duration::from_secs(10);

/// Smallest and largest size of a large frame (both above the 16 KiB zero-copy limit).
const LARGE_MIN: usize = 20 * 1024;
const LARGE_MAX: usize = 70 * 1024;
/// Every this many messages, one carries a large frame.
const LARGE_EVERY: u64 = 97;
/// How many different window offsets into the pattern frames use.
const OFFSETS: usize = 1021;

fn tcp() -> String {
    "tcp://127.0.0.1:*".to_string()
}

fn ipc(tag: &str) -> String {
    format!("ipc:///tmp/{}.ipc", unique(tag))
}

/// A socket with the [`WAIT`] timeouts and no linger.
fn timed_socket(ctx: &Context, ty: SocketType) -> Socket {
    let s = socket(ctx, ty);
    s.set_send_timeout(Some(WAIT));
    s.set_recv_timeout(Some(WAIT));
    s
}

// ----- message contents -----

/// The fixed pseudo-random bytes every frame body is a window of.
fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| pattern_bytes(LARGE_MAX + OFFSETS, 0x5eed))
}

fn large_len(seq: u64) -> usize {
    LARGE_MIN + (mix(seq, 1) % (LARGE_MAX - LARGE_MIN + 1) as u64) as usize
}

/// Single-frame messages: 8 to 100 bytes, every 97th 20 to 70 KiB.
fn single_shape(seq: u64) -> Vec<usize> {
    if seq.is_multiple_of(LARGE_EVERY) {
        vec![large_len(seq)]
    } else {
        vec![8 + (mix(seq, 2) % 93) as usize]
    }
}

/// Multipart messages of 2 to 4 frames: a first frame of 8 to 40 bytes, then frames of
/// 0 to 100 bytes; every 97th message has one frame of 20 to 70 KiB (which may be the
/// first). Every 89th message (offset from the 97ths) is a single large frame instead,
/// so that messages copied into the output interleave with frames written from their
/// own buffer.
fn multipart_shape(seq: u64) -> Vec<usize> {
    if seq % 89 == 44 {
        return vec![large_len(seq)];
    }
    let frames = 2 + (mix(seq, 3) % 3) as usize;
    let mut lens: Vec<usize> = (0..frames)
        .map(|k| match k {
            0 => 8 + (mix(seq, 4) % 33) as usize,
            _ => (mix(seq, 10 + k as u64) % 101) as usize,
        })
        .collect();
    if seq.is_multiple_of(LARGE_EVERY) {
        let big = (mix(seq, 5) % frames as u64) as usize;
        lens[big] = large_len(seq);
    }
    lens
}

/// The bytes frame `k` of message `seq` carries after its header (if any).
fn window(seq: u64, k: usize, len: usize) -> &'static [u8] {
    let offset = (mix(seq, 100 + k as u64) % OFFSETS as u64) as usize;
    &pattern()[offset..offset + len]
}

/// Message `seq` with the given frame lengths (the first frame at least 8 bytes).
fn build(seq: u64, lens: &[usize]) -> Vec<Vec<u8>> {
    lens.iter()
        .enumerate()
        .map(|(k, &len)| {
            if k == 0 {
                let mut frame = seq.to_be_bytes().to_vec();
                frame.extend_from_slice(window(seq, 0, len - 8));
                frame
            } else {
                window(seq, k, len).to_vec()
            }
        })
        .collect()
}

/// The sequence number a received message claims to be.
fn seq_of(frames: &[Message]) -> u64 {
    let first = frames.first().expect("a message has a frame");
    assert!(
        first.len() >= 8,
        "first frame of {} bytes has no sequence number",
        first.len()
    );
    u64::from_be_bytes(first[..8].try_into().unwrap())
}

/// Checks that `frames` is message `seq`, whole and intact.
fn check(seq: u64, frames: &[Message], shape: fn(u64) -> Vec<usize>) {
    let lens = shape(seq);
    let got: Vec<usize> = frames.iter().map(|f| f.len()).collect();
    assert_eq!(got, lens, "message {seq}: frame lengths");
    for (k, frame) in frames.iter().enumerate() {
        let body = if k == 0 { &frame[8..] } else { &frame[..] };
        let want = window(seq, k, body.len());
        if body != want {
            let at = body.iter().zip(want).position(|(a, b)| a != b).unwrap();
            panic!(
                "message {seq}, frame {k} of {}: {} bytes, corrupt from body byte {at}",
                frames.len(),
                frame.len()
            );
        }
    }
}

/// Checks that the message received next is `want`: a different sequence number
/// means messages were lost (it is ahead) or duplicated or reordered (it is behind).
fn check_next(want: u64, frames: &[Message], shape: fn(u64) -> Vec<usize>) {
    let got = seq_of(frames);
    if got > want {
        panic!("expected message {want}, got {got}: messages {want}..{got} lost or reordered");
    }
    if got < want {
        panic!("expected message {want}, got {got} again: duplicated or reordered");
    }
    check(want, frames, shape);
}

/// After the last expected message: nothing more arrives (no duplicate at the tail).
fn expect_no_more(sock: &Socket, strip: usize) {
    sock.set_recv_timeout(Some(ms(100)));
    match sock.recv_multipart() {
        Err(Error::TimedOut) => {}
        Ok(frames) => panic!(
            "an extra message after the last: message {}",
            seq_of(&frames[strip..])
        ),
        Err(e) => panic!("after the last message: {e}"),
    }
}

/// Gives the sockets' connections small kernel buffers, so that a write of a large frame
/// is often only taken in part.
fn kernel_buffers(socks: &[&Socket], bytes: usize) {
    for sock in socks {
        sock.set_sndbuf(Some(bytes)).unwrap();
        sock.set_rcvbuf(Some(bytes)).unwrap();
    }
}

// ----- senders -----

/// Sends messages `0..count` of the given shape; on the first failure, returns which.
/// With `count_blocked`, each message is first offered without blocking, and the
/// result counts how many found no room (and then went through a blocking send).
fn send_all(
    sock: &Socket,
    count: u64,
    shape: fn(u64) -> Vec<usize>,
    count_blocked: bool,
) -> Result<u64, String> {
    let mut blocked = 0;
    for seq in 0..count {
        let mut frames: Vec<Message> = build(seq, &shape(seq))
            .into_iter()
            .map(Message::from)
            .collect();
        if count_blocked {
            let refused = if frames.len() == 1 {
                sock.try_send(frames.pop().unwrap())
                    .map_err(|e| (e.error, vec![e.message]))
            } else {
                sock.try_send_multipart(frames)
                    .map_err(|e| (e.error, e.message))
            };
            match refused {
                Ok(()) => continue,
                Err((Error::WouldBlock, back)) => {
                    blocked += 1;
                    frames = back;
                }
                Err((e, _)) => return Err(format!("try_send of message {seq}: {e}")),
            }
        }
        let result = if frames.len() == 1 {
            sock.send(frames.pop().unwrap()).map_err(|e| e.error)
        } else {
            sock.send_multipart(frames).map_err(|e| e.error)
        };
        result.map_err(|e| format!("send of message {seq} of {count}: {e}"))?;
    }
    Ok(blocked)
}

/// Joins the receivers, then fails with the first receiver's panic, or else with the
/// sender's error: a receiver's failure says more than the send that timed out behind it.
fn finish<T>(sent: Result<u64, String>, receivers: Vec<thread::JoinHandle<T>>) -> (u64, Vec<T>) {
    let mut results = Vec::new();
    for r in receivers {
        match r.join() {
            Ok(v) => results.push(v),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    match sent {
        Ok(blocked) => (blocked, results),
        Err(e) => panic!("{e}"),
    }
}

// ----- the scenarios -----

/// Tuning of a PUSH → PULL stream.
struct Stream {
    count: u64,
    shape: fn(u64) -> Vec<usize>,
    /// The receiver sleeps 1 ms after every this many messages.
    pause_every: Option<u64>,
    /// Kernel send and receive buffers of the connection (`None`: the defaults).
    kernel_buffers: Option<usize>,
}

/// PUSH (SNDHWM 5) → PULL (RCVHWM 5); the PULL, on its own thread, checks that every
/// message arrives exactly once, in order and intact. Returns how many sends found no
/// room at first (counted only with pauses, where the sender is meant to block).
fn push_pull_stream(endpoint: &str, s: Stream) -> u64 {
    let ctx = Context::new();
    let pull = timed_socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(5);
    let push = timed_socket(&ctx, SocketType::Push);
    push.set_sndhwm(5);
    if let Some(bytes) = s.kernel_buffers {
        kernel_buffers(&[&pull, &push], bytes);
    }
    pull.bind(endpoint).unwrap();
    push.connect(&pull.last_endpoint()).unwrap();

    let (count, shape, pause_every) = (s.count, s.shape, s.pause_every);
    let receiver = thread::spawn(move || {
        for seq in 0..count {
            let frames = pull
                .recv_multipart()
                .unwrap_or_else(|e| panic!("waiting for message {seq} of {count}: {e}"));
            check_next(seq, &frames, shape);
            if pause_every.is_some_and(|n| (seq + 1).is_multiple_of(n)) {
                thread::sleep(ms(1));
            }
        }
        expect_no_more(&pull, 0);
    });
    let sent = send_all(&push, count, shape, pause_every.is_some());
    let (blocked, _) = finish(sent, vec![receiver]);
    blocked
}

/// DEALER (SNDHWM 5) → ROUTER (RCVHWM 5) with multipart messages, over a connection
/// with 32 KiB kernel buffers (so writes stop part-way through messages); the ROUTER
/// checks that every message arrives whole (all its frames, none of another's), exactly
/// once and in order, behind one routing id.
fn dealer_router_multipart(endpoint: &str, count: u64) {
    let ctx = Context::new();
    let router = timed_socket(&ctx, SocketType::Router);
    router.set_rcvhwm(5);
    let dealer = timed_socket(&ctx, SocketType::Dealer);
    dealer.set_sndhwm(5);
    kernel_buffers(&[&router, &dealer], 32 * 1024);
    router.bind(endpoint).unwrap();
    dealer.connect(&router.last_endpoint()).unwrap();

    let receiver = thread::spawn(move || {
        let mut routing_id: Option<Message> = None;
        for seq in 0..count {
            let frames = router
                .recv_multipart()
                .unwrap_or_else(|e| panic!("waiting for message {seq} of {count}: {e}"));
            assert!(frames.len() >= 2, "message {seq}: no frames after the id");
            let id = &frames[0];
            match &routing_id {
                None => routing_id = Some(id.clone()),
                Some(first) => assert_eq!(id, first, "message {seq}: routing id changed"),
            }
            check_next(seq, &frames[1..], multipart_shape);
        }
        expect_no_more(&router, 1);
    });
    let sent = send_all(&dealer, count, multipart_shape, false);
    finish(sent, vec![receiver]);
}

/// One bound PUSH (SNDHWM 3) load-balancing over two connected PULLs (RCVHWM 3): the
/// two together receive every message exactly once, each in increasing order, and each
/// keeps receiving until the end. Returns how many each received.
fn two_pullers(endpoint: &str, count: u64) -> Vec<usize> {
    let ctx = Context::new();
    let push = timed_socket(&ctx, SocketType::Push);
    push.set_sndhwm(3);
    push.bind(endpoint).unwrap();
    let pulls: Vec<Socket> = (0..2)
        .map(|_| {
            let pull = timed_socket(&ctx, SocketType::Pull);
            pull.set_rcvhwm(3);
            pull.connect(&push.last_endpoint()).unwrap();
            pull
        })
        .collect();
    // Both peers must be there before the first send, or the first takes everything.
    let deadline = Instant::now() + WAIT;
    while push.peer_count() < 2 {
        assert!(Instant::now() < deadline, "the two PULLs never connected");
        thread::sleep(ms(1));
    }

    let total = Arc::new(AtomicU64::new(0));
    let receivers = pulls
        .into_iter()
        .enumerate()
        .map(|(who, pull)| {
            let total = total.clone();
            thread::spawn(move || {
                pull.set_recv_timeout(Some(ms(20)));
                let mut got: Vec<u64> = Vec::new();
                let mut progress = Instant::now();
                loop {
                    match pull.recv_multipart() {
                        Ok(frames) => {
                            let seq = seq_of(&frames);
                            assert!(seq < count, "PULL {who}: unknown message {seq}");
                            if let Some(&last) = got.last() {
                                assert!(
                                    seq > last,
                                    "PULL {who}: message {seq} after {last} (a peer's \
                                     messages arrive in the order sent)"
                                );
                            }
                            check(seq, &frames, single_shape);
                            got.push(seq);
                            total.fetch_add(1, Ordering::SeqCst);
                            progress = Instant::now();
                        }
                        Err(Error::TimedOut) => {
                            if total.load(Ordering::SeqCst) >= count {
                                break;
                            }
                            assert!(
                                progress.elapsed() < WAIT,
                                "PULL {who} stalled: nothing for {WAIT:?} after {} messages \
                                 (last {:?}); {} of {count} received in all",
                                got.len(),
                                got.last(),
                                total.load(Ordering::SeqCst)
                            );
                        }
                        Err(e) => panic!("PULL {who}, after {} messages: {e}", got.len()),
                    }
                }
                expect_no_more(&pull, 0);
                got
            })
        })
        .collect();
    let sent = send_all(&push, count, single_shape, false);
    let (_, got) = finish(sent, receivers);

    let mut seen = vec![0u8; count as usize];
    for seq in got.iter().flatten() {
        seen[*seq as usize] += 1;
    }
    let missing: Vec<usize> = (0..seen.len()).filter(|&i| seen[i] == 0).collect();
    let doubled: Vec<usize> = (0..seen.len()).filter(|&i| seen[i] > 1).collect();
    assert!(
        missing.is_empty() && doubled.is_empty(),
        "{} lost (first {:?}), {} received twice (first {:?})",
        missing.len(),
        missing.first(),
        doubled.len(),
        doubled.first()
    );
    let split: Vec<usize> = got.iter().map(Vec::len).collect();
    for (who, n) in split.iter().enumerate() {
        assert!(
            *n as u64 >= count / 10,
            "PULL {who} got only {n} of {count} messages (split {split:?}): not load-balanced"
        );
    }
    split
}

/// PUSH (SNDHWM 5) → PULL (RCVHWM 5) over 32 KiB kernel buffers, while the PULL does
/// not read: the sender fills the queue and the connection writing on its own thread,
/// then its send gives up at its 200 ms timeout (and does not spin or hang), handing the
/// message back. Once the PULL reads, everything sent arrives in order, and sending the
/// refused message again, and more after it, carries on the same stream.
fn stalled_peer(endpoint: &str) {
    let ctx = Context::new();
    let pull = timed_socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(5);
    let push = timed_socket(&ctx, SocketType::Push);
    push.set_sndhwm(5);
    push.set_send_timeout(Some(ms(200)));
    kernel_buffers(&[&pull, &push], 32 * 1024);
    pull.bind(endpoint).unwrap();
    push.connect(&pull.last_endpoint()).unwrap();

    // Send until a send fails, on a thread: a send that never returns fails the test.
    let (done, outcome) = mpsc::channel();
    thread::spawn(move || {
        let mut seq = 0u64;
        let failure = loop {
            let frame = build(seq, &single_shape(seq)).pop().unwrap();
            let started = Instant::now();
            match push.send(frame) {
                Ok(()) => seq += 1,
                Err(e) => break (e.error, e.message, started.elapsed()),
            }
            if seq > 10_000_000 {
                panic!("10,000,000 sends to a peer that does not read all succeeded");
            }
        };
        let _ = done.send((push, seq, failure));
    });
    let (push, refused_seq, (error, refused, took)) = match outcome.recv_timeout(WAIT) {
        Ok(outcome) => outcome,
        Err(RecvTimeoutError::Timeout) => {
            panic!("a send to a peer that does not read did not return within {WAIT:?}")
        }
        Err(RecvTimeoutError::Disconnected) => panic!("the sending thread failed"),
    };
    assert!(
        matches!(error, Error::TimedOut),
        "send of message {refused_seq}: {error}"
    );
    assert!(
        took >= ms(150) && took < WAIT,
        "send of message {refused_seq} timed out after {took:?} (timeout 200 ms)"
    );
    check(refused_seq, std::slice::from_ref(&refused), single_shape);

    let more = refused_seq + 500;
    let receiver = thread::spawn(move || {
        for seq in 0..more {
            let frames = pull
                .recv_multipart()
                .unwrap_or_else(|e| panic!("waiting for message {seq} of {more}: {e}"));
            check_next(seq, &frames, single_shape);
        }
        expect_no_more(&pull, 0);
    });
    push.set_send_timeout(Some(WAIT));
    let mut sent = push
        .send(refused)
        .map_err(|e| format!("sending message {refused_seq} again: {}", e.error));
    for seq in refused_seq + 1..more {
        if sent.is_err() {
            break;
        }
        let frame = build(seq, &single_shape(seq)).pop().unwrap();
        sent = push
            .send(frame)
            .map_err(|e| format!("send of message {seq}: {}", e.error));
    }
    finish(sent.map(|()| 0), vec![receiver]);
}

// ----- 1. in order, single frames, small and large -----

/// The sender at its HWM writes small messages and, every 97th, a 20-70 KiB frame with a
/// vectored write, on its own thread: none is lost, duplicated, reordered or corrupted.
#[test]
fn tcp_push_pull_at_hwm_delivers_all_in_order() {
    in_order(&tcp());
}

/// As [`tcp_push_pull_at_hwm_delivers_all_in_order`], over ipc.
#[test]
fn ipc_push_pull_at_hwm_delivers_all_in_order() {
    in_order(&ipc("ferrozmq-hwm-stream"));
}

/// 50k single-frame messages at full speed (see [`push_pull_stream`]).
fn in_order(endpoint: &str) {
    push_pull_stream(
        endpoint,
        Stream {
            count: 50_000,
            shape: single_shape,
            pause_every: None,
            kernel_buffers: None,
        },
    );
}

// ----- 2. multipart atomicity -----

/// Multipart messages (2-4 frames, empty to 70 KiB, and single large frames between them)
/// written by a sender at its HWM, often in part, arrive whole: no frame lost,
/// duplicated, moved to another message or reordered.
#[test]
fn tcp_dealer_router_multipart_at_hwm_arrives_whole() {
    dealer_router_multipart(&tcp(), 50_000);
}

/// As [`tcp_dealer_router_multipart_at_hwm_arrives_whole`], over ipc.
#[test]
fn ipc_dealer_router_multipart_at_hwm_arrives_whole() {
    dealer_router_multipart(&ipc("ferrozmq-hwm-multipart"), 50_000);
}

// ----- 3. a slow receiver -----

/// A receiver that pauses, and kernel buffers smaller than the large frames: the sender
/// blocks at its HWM again and again and its writes of large frames are partial, yet
/// every send succeeds (no hang: the send timeout is 10 s) and every message arrives in
/// order.
fn slow_receiver(endpoint: &str) {
    let blocked = push_pull_stream(
        endpoint,
        Stream {
            count: 50_000,
            shape: single_shape,
            pause_every: Some(1000),
            kernel_buffers: Some(32 * 1024),
        },
    );
    assert!(
        blocked >= 10,
        "the sender was meant to find its HWM reached, but only {blocked} sends blocked"
    );
}

/// A slow receiver keeps the sender blocking at its HWM, with partial writes of large
/// frames on the sending thread: every send succeeds and everything arrives in order
/// (tcp; see [`slow_receiver`]).
#[test]
fn tcp_slow_receiver_sender_blocks_and_everything_arrives() {
    slow_receiver(&tcp());
}

/// As [`tcp_slow_receiver_sender_blocks_and_everything_arrives`], over ipc.
#[test]
fn ipc_slow_receiver_sender_blocks_and_everything_arrives() {
    slow_receiver(&ipc("ferrozmq-hwm-slow"));
}

// ----- 4. load balancing at the HWM -----

/// A sender at its HWM with two peers writes to both, and each message goes to exactly
/// one: none lost or duplicated between them, and neither peer stalls.
#[test]
fn tcp_two_pullers_at_hwm_share_every_message_once() {
    two_pullers(&tcp(), 20_000);
}

/// As [`tcp_two_pullers_at_hwm_share_every_message_once`], over ipc.
#[test]
fn ipc_two_pullers_at_hwm_share_every_message_once() {
    two_pullers(&ipc("ferrozmq-hwm-lb"), 20_000);
}

// ----- 5. a peer that does not read -----

/// A send at the HWM to a peer that does not read times out (it does not spin or hang
/// writing on its own thread), hands the message back, and the stream resumes intact
/// once the peer reads (tcp; see [`stalled_peer`]).
#[test]
fn tcp_send_at_hwm_times_out_when_peer_does_not_read() {
    stalled_peer(&tcp());
}

/// As [`tcp_send_at_hwm_times_out_when_peer_does_not_read`], over ipc.
#[test]
fn ipc_send_at_hwm_times_out_when_peer_does_not_read() {
    stalled_peer(&ipc("ferrozmq-hwm-stalled"));
}
