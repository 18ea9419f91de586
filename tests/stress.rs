//! Stress tests for the hand-offs between socket threads and I/O threads: a lost
//! wake-up or a lost read readiness shows up here as a receive that times out.
//!
//! The receive side of a tcp or ipc connection is shared: the I/O thread reads while
//! the application is elsewhere, the application's thread reads itself while it waits
//! in a receive (the I/O thread leaves readiness to it), and the two hand readiness
//! back and forth. These tests drive every mix of those states: bursts, pauses,
//! non-blocking polls, tiny high-water marks and frames that straddle reads.

use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, Socket, SocketType};

fn pair(ctx: &Context, endpoint: &str, rcvhwm: u64) -> (Socket, Socket) {
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_rcvhwm(rcvhwm);
    pull.set_recv_timeout(Some(Duration::from_secs(10)));
    pull.bind(endpoint).unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.set_sndhwm(rcvhwm);
    push.connect(&pull.last_endpoint()).unwrap();
    (push, pull)
}

/// Sends `count` numbered messages of varying size (some straddle read chunks).
fn sender(push: Socket, count: u32) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for i in 0..count {
            let size = 4 + (i as usize * 7919) % 3000;
            let mut body = vec![(i % 251) as u8; size];
            body[..4].copy_from_slice(&i.to_be_bytes());
            push.send(body).unwrap();
            if i % 5000 == 4999 {
                // A pause lets the receiver go idle and park: the next burst must
                // wake it, whoever reads the stream.
                thread::sleep(Duration::from_millis(2));
            }
        }
    })
}

/// Receives `count` messages with a mix of blocking receives, non-blocking polls and
/// pauses, checking order and contents.
fn receive_all(pull: &Socket, count: u32) {
    let mut next = 0u32;
    let deadline = Instant::now() + Duration::from_secs(60);
    while next < count {
        assert!(
            Instant::now() < deadline,
            "stuck at message {next} of {count}"
        );
        let msg = match next % 3 {
            0 | 1 => pull.recv(),
            _ => match pull.try_recv() {
                Err(Error::WouldBlock) => {
                    thread::yield_now();
                    continue;
                }
                other => other,
            },
        };
        let msg = msg.unwrap_or_else(|e| panic!("message {next}: {e}"));
        assert_eq!(&msg[..4], &next.to_be_bytes(), "out of order");
        assert!(
            msg[4..].iter().all(|&b| b == (next % 251) as u8),
            "corrupt body"
        );
        next += 1;
        if next.is_multiple_of(7000) {
            thread::sleep(Duration::from_millis(3));
        }
    }
}

fn run(endpoint: &str, rcvhwm: u64, count: u32) {
    let ctx = Context::new();
    let (push, pull) = pair(&ctx, endpoint, rcvhwm);
    let t = sender(push, count);
    receive_all(&pull, count);
    t.join().unwrap();
}

#[test]
fn tcp_stream_with_pauses_and_polls_delivers_everything() {
    run("tcp://127.0.0.1:*", 1000, 40_000);
}

#[test]
fn tcp_tiny_high_water_mark_delivers_everything() {
    run("tcp://127.0.0.1:*", 3, 20_000);
}

#[test]
fn ipc_stream_with_pauses_and_polls_delivers_everything() {
    let path = std::env::temp_dir().join(format!("ferrozmq-stress-{}.ipc", std::process::id()));
    run(&format!("ipc://{}", path.display()), 50, 40_000);
}

/// Request-reply ping-pong: each side alternates between waiting in a receive (where it
/// reads the stream itself) and sending (where an idle connection is written inline).
#[test]
fn tcp_request_reply_ping_pong_never_stalls() {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.set_recv_timeout(Some(Duration::from_secs(10)));
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.set_recv_timeout(Some(Duration::from_secs(10)));
    req.connect(&rep.last_endpoint()).unwrap();
    let server = thread::spawn(move || {
        for _ in 0..5000 {
            let m = rep.recv().unwrap();
            rep.send(m).unwrap();
        }
    });
    for i in 0u32..5000 {
        req.send(i.to_be_bytes().to_vec()).unwrap();
        assert_eq!(&req.recv().unwrap()[..], &i.to_be_bytes());
    }
    server.join().unwrap();
}
