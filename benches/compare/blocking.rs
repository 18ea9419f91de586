//! The scenarios for implementations with a blocking, libzmq-style API (ferrozmq and
//! libzmq): written once, over the small [`Blocking`] trait each implements, so both
//! run exactly the same loops.

use std::thread;
use std::time::Duration;

use crate::model::{Kind, Pattern, Result, Test, Transport};
use crate::probe::{self, expect_len, or_die, Sample, Snapshot};

/// The operations the scenarios need, as associated functions (no state of its own:
/// the implementation's context is [`Blocking::Context`]).
pub trait Blocking: 'static {
    /// Shared by both ends (inproc needs that); cloned into the second thread.
    type Context: Clone + Send + 'static;
    type Socket: Send + 'static;
    /// What the sender sends over and over, built once.
    type Payload: Send + 'static;
    /// A received message (its last frame: ROUTER's routing-id frame is skipped).
    type Received;

    /// The implementation's default context (one I/O thread for both).
    fn context() -> Result<Self::Context>;
    fn socket(ctx: &Self::Context, kind: Kind) -> Result<Self::Socket>;
    /// Binds, returning the endpoint to connect to (tcp's `*` port resolved).
    fn bind(socket: &Self::Socket, transport: Transport) -> Result<String>;
    fn connect(socket: &Self::Socket, endpoint: &str) -> Result<()>;
    /// 0 = no limit.
    fn set_sndhwm(socket: &Self::Socket, hwm: u64) -> Result<()>;
    fn payload(size: usize) -> Self::Payload;
    /// A payload with a buffer of its own, as a distinct application message has
    /// (`payload` may share or borrow one).
    fn owned_payload(size: usize) -> Self::Payload {
        Self::payload(size)
    }
    /// Sends one message with the payload's content, blocking while there is no room,
    /// the cheapest way the implementation's API allows: ferrozmq shares the payload's
    /// buffer (a reference-counted clone); libzmq builds a new message of that size.
    fn send(socket: &Self::Socket, payload: &Self::Payload) -> Result<()>;
    /// Receives a whole message, blocking.
    fn recv(socket: &Self::Socket) -> Result<Self::Received>;
    fn len(msg: &Self::Received) -> usize;
    /// Sends a received message back (REP's echo), without copying where possible.
    fn reply(socket: &Self::Socket, msg: Self::Received) -> Result<()>;
    /// Peers the socket has completed a handshake with, if the API can tell.
    fn peers(socket: &Self::Socket) -> Option<usize>;
}

/// Runs `test` with implementation `I`.
pub fn run<I: Blocking>(test: &Test) -> Result<Sample> {
    match *test {
        Test::Throughput {
            pattern,
            transport,
            size,
            count,
        } => throughput::<I>(pattern, transport, size, count),
        Test::Latency {
            transport,
            size,
            count,
        } => latency::<I>(transport, size, count),
        Test::IdleConnections { count } => {
            let ctx = I::context()?;
            probe::idle_connections(
                count,
                || {
                    let router = I::socket(&ctx, Kind::Router)?;
                    Ok((I::bind(&router, Transport::Tcp)?, router))
                },
                I::peers,
            )
        }
        Test::Queued { size, count } => queued::<I>(size, count),
    }
}

/// The sender in a second thread, the receiver in this one. The clock starts at the
/// first message received, as libzmq's `local_thr` does, and the rate counts the
/// `count - 1` messages after it. The sender's socket is dropped only after the
/// receiver has everything.
fn throughput<I: Blocking>(
    pattern: Pattern,
    transport: Transport,
    size: usize,
    count: u64,
) -> Result<Sample> {
    let (tx_kind, rx_kind) = pattern.kinds();
    let ctx = I::context()?;
    let rx = I::socket(&ctx, rx_kind)?;
    let endpoint = I::bind(&rx, transport)?;
    let sender = {
        let ctx = ctx.clone();
        thread::spawn(move || {
            or_die(
                "sender",
                send_all::<I>(&ctx, tx_kind, &endpoint, size, count),
            )
        })
    };
    let sample = receive_all::<I>(&rx, size, count)?;
    let tx = join(sender)?;
    drop(tx);
    drop(rx);
    drop(ctx);
    Ok(sample)
}

fn send_all<I: Blocking>(
    ctx: &I::Context,
    kind: Kind,
    endpoint: &str,
    size: usize,
    count: u64,
) -> Result<I::Socket> {
    let tx = I::socket(ctx, kind)?;
    I::connect(&tx, endpoint)?;
    let payload = I::payload(size);
    for _ in 0..count {
        I::send(&tx, &payload)?;
    }
    Ok(tx)
}

fn receive_all<I: Blocking>(rx: &I::Socket, size: usize, count: u64) -> Result<Sample> {
    expect_len(I::len(&I::recv(rx)?), size)?;
    let start = Snapshot::take();
    for _ in 1..count {
        expect_len(I::len(&I::recv(rx)?), size)?;
    }
    let end = Snapshot::take();
    Ok(Sample::between(&start, &end, count - 1))
}

/// REQ in a second thread, REP echoing in this one. One untimed roundtrip first, so
/// connection setup is not part of the figure; then `count` timed roundtrips.
fn latency<I: Blocking>(transport: Transport, size: usize, count: u64) -> Result<Sample> {
    let ctx = I::context()?;
    let rep = I::socket(&ctx, Kind::Rep)?;
    let endpoint = I::bind(&rep, transport)?;
    let client = {
        let ctx = ctx.clone();
        thread::spawn(move || or_die("REQ", request_all::<I>(&ctx, &endpoint, size, count)))
    };
    for _ in 0..=count {
        let msg = I::recv(&rep)?;
        I::reply(&rep, msg)?;
    }
    let (sample, req) = join(client)?;
    drop(req);
    drop(rep);
    drop(ctx);
    Ok(sample)
}

fn request_all<I: Blocking>(
    ctx: &I::Context,
    endpoint: &str,
    size: usize,
    count: u64,
) -> Result<(Sample, I::Socket)> {
    let req = I::socket(ctx, Kind::Req)?;
    I::connect(&req, endpoint)?;
    let payload = I::payload(size);
    let mut start = Snapshot::take();
    for i in 0..=count {
        if i == 1 {
            start = Snapshot::take();
        }
        I::send(&req, &payload)?;
        expect_len(I::len(&I::recv(&req)?), size)?;
    }
    Ok((Sample::between(&start, &Snapshot::take(), count), req))
}

/// A PUSH with no send limit, connected to a tcp port nobody listens on, so every
/// message stays queued in the process. Each message gets a buffer of its own (a
/// fresh payload), as distinct application messages would. The socket and context
/// are leaked: closing them would wait forever (infinite linger) for delivery.
fn queued<I: Blocking>(size: usize, count: u64) -> Result<Sample> {
    let endpoint = probe::unused_tcp_endpoint()?;
    let ctx = I::context()?;
    let push = I::socket(&ctx, Kind::Push)?;
    I::set_sndhwm(&push, 0)?;
    I::connect(&push, &endpoint)?;
    thread::sleep(Duration::from_millis(100));
    let before = probe::rss_kib()?;
    for _ in 0..count {
        I::send(&push, &I::owned_payload(size))?;
    }
    thread::sleep(Duration::from_millis(200));
    let sample = Sample {
        rss_kib: probe::rss_kib()? - before,
        msgs: count,
        ..Sample::default()
    };
    std::mem::forget(push);
    std::mem::forget(ctx);
    Ok(sample)
}

/// Joins a scenario thread (its errors already ended the process; see [`or_die`]).
fn join<T>(handle: thread::JoinHandle<T>) -> Result<T> {
    handle
        .join()
        .map_err(|_| "a scenario thread panicked".to_string())
}
