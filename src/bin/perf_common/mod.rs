//! Shared by the perf tools (`local_lat`, `remote_lat`, `local_thr`, `remote_thr`,
//! `inproc_lat`, `inproc_thr`): argument parsing with libzmq's usage lines, the
//! measuring loops, libzmq's report formats, and error exits (a one-line message on
//! stderr and status 1, never a panic).
//!
//! Each binary includes this file with `#[path = "perf_common/mod.rs"] mod perf_common;`
//! (a directory without `main.rs` is not a binary target of its own).

// Every binary uses only part of this module.
#![allow(dead_code)]

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

use ferrozmq::{Context, Message, Socket, SocketType};

/// The tool's name, for error messages.
static TOOL: OnceLock<&'static str> = OnceLock::new();

/// The command line of a perf tool.
pub struct Args {
    /// `<bind-to>` or `<connect-to>`; empty for the inproc tools.
    pub endpoint: String,
    /// `<message-size>` in bytes.
    pub message_size: usize,
    /// `<roundtrip-count>` or `<message-count>` (at least 1).
    pub count: u64,
}

/// Parses the command line against `usage`, libzmq's usage line without the `usage: `
/// prefix (e.g. `"local_lat <bind-to> <message-size> <roundtrip-count>"`): one argument
/// per `<...>` word, the size and the count being the last two of them, plus libzmq
/// 4.3's optional `[<enable_curve>]` of local_thr/remote_thr. On a mismatch prints
/// `usage: ...` to stderr and exits with status 1.
pub fn parse_args(usage: &'static str) -> Args {
    let tool = usage.split_whitespace().next().unwrap_or("perf");
    let _ = TOOL.set(tool);
    let args: Vec<_> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().ok())
        .collect();
    let Some((args, enable_curve)) = parse(usage, &args) else {
        let _ = writeln!(std::io::stderr(), "usage: {usage}");
        std::process::exit(1);
    };
    if enable_curve {
        die("CURVE is not supported: ferrozmq implements the NULL security mechanism only");
    }
    args
}

/// The arguments, and whether `<enable_curve>` was given and non-zero.
fn parse(usage: &str, args: &[Option<String>]) -> Option<(Args, bool)> {
    let words = usage.split_whitespace().skip(1);
    let optional = words.clone().filter(|w| w.starts_with('[')).count();
    let required = words.count() - optional;
    if required < 2 || !(required..=required + optional).contains(&args.len()) {
        return None;
    }
    let args = args.iter().cloned().collect::<Option<Vec<String>>>()?;
    let (fixed, extra) = args.split_at(required);
    let endpoint = match required {
        2 => String::new(),
        _ => fixed[0].clone(),
    };
    let message_size = fixed[required - 2].parse().ok()?;
    let count = fixed[required - 1].parse().ok().filter(|&c: &u64| c > 0)?;
    let enable_curve = match extra.first() {
        Some(flag) => flag.parse::<i64>().ok()? != 0,
        None => false,
    };
    let args = Args {
        endpoint,
        message_size,
        count,
    };
    Some((args, enable_curve))
}

/// Prints `<tool>: <what>` to stderr and exits with status 1.
pub fn die(what: impl Display) -> ! {
    let tool = TOOL.get().copied().unwrap_or("perf");
    let _ = writeln!(std::io::stderr(), "{tool}: {what}");
    std::process::exit(1);
}

/// `.or_die("context")`: the value, or [`die`] with `context: error`.
pub trait OrDie<T> {
    /// Unwraps, or exits with a one-line error.
    fn or_die(self, context: impl Display) -> T;
}

impl<T, E: Display> OrDie<T> for Result<T, E> {
    fn or_die(self, context: impl Display) -> T {
        self.unwrap_or_else(|e| die(format_args!("{context}: {e}")))
    }
}

/// A socket of `socket_type` bound to `endpoint`, or exit.
pub fn bound(ctx: &Context, socket_type: SocketType, endpoint: &str) -> Socket {
    let s = ctx.socket(socket_type).or_die("error in zmq_socket");
    s.bind(endpoint)
        .or_die(format_args!("error in zmq_bind to {endpoint}"));
    s
}

/// A socket of `socket_type` connected to `endpoint`, or exit.
pub fn connected(ctx: &Context, socket_type: SocketType, endpoint: &str) -> Socket {
    let s = ctx.socket(socket_type).or_die("error in zmq_socket");
    s.connect(endpoint)
        .or_die(format_args!("error in zmq_connect to {endpoint}"));
    s
}

/// Zeros that messages of up to 64 KiB borrow instead of owning a buffer.
static ZEROS: [u8; 65536] = [0; 65536];

/// A message of `size` zero bytes. Up to 64 KiB it borrows a static buffer, so that
/// sending clones of it touches no allocator and no reference count: the zero-copy
/// send a ferrozmq user gets with `Bytes::from_static` (libzmq's tools instead build
/// each message with `zmq_msg_init_size`, which stores up to 33 bytes inline and
/// allocates above that). Larger messages own one buffer (exits instead of aborting if
/// it cannot be allocated) whose clones share it.
pub fn payload(size: usize) -> Message {
    if let Some(zeros) = ZEROS.get(..size) {
        return Message::from(bytes::Bytes::from_static(zeros));
    }
    let mut buf = Vec::new();
    buf.try_reserve_exact(size)
        .or_die(format_args!("cannot allocate a {size}-byte message"));
    buf.resize(size, 0);
    Message::from(buf)
}

fn check_size(msg: &Message, size: usize) {
    if msg.len() != size {
        die(format_args!(
            "message of incorrect size received: {} bytes, expected {size}",
            msg.len()
        ));
    }
}

/// The REP side of the latency test: receives `count` messages of `size` bytes and
/// sends each one back.
pub fn echo(rep: &Socket, size: usize, count: u64) {
    for _ in 0..count {
        let msg = rep.recv().or_die("error in zmq_recvmsg");
        check_size(&msg, size);
        rep.send(msg).or_die("error in zmq_sendmsg");
    }
}

/// The REQ side of the latency test: `count` round trips of a `size`-byte message.
/// Returns the elapsed time in microseconds.
pub fn roundtrips(req: &Socket, size: usize, count: u64) -> u64 {
    let msg = payload(size);
    let watch = Instant::now();
    for _ in 0..count {
        req.send(msg.clone()).or_die("error in zmq_sendmsg");
        let reply = req.recv().or_die("error in zmq_recvmsg");
        check_size(&reply, size);
    }
    watch.elapsed().as_micros() as u64
}

/// The PUSH side of the throughput test: sends `count` messages of `size` bytes.
pub fn send_messages(push: &Socket, size: usize, count: u64) {
    let msg = payload(size);
    for _ in 0..count {
        push.send(msg.clone()).or_die("error in zmq_sendmsg");
    }
}

/// The PULL side of the throughput test: receives the first message, then times the
/// other `count - 1` (as libzmq's local_thr does). Returns the elapsed microseconds.
pub fn receive_messages(pull: &Socket, size: usize, count: u64) -> u64 {
    let first = pull.recv().or_die("error in zmq_recvmsg");
    check_size(&first, size);
    let watch = Instant::now();
    for _ in 1..count {
        let msg = pull.recv().or_die("error in zmq_recvmsg");
        check_size(&msg, size);
    }
    watch.elapsed().as_micros() as u64
}

/// libzmq's remote_lat/inproc_lat report; the latency is one way (half a round trip).
pub fn print_latency(size: usize, count: u64, elapsed_us: u64) {
    let latency = elapsed_us as f64 / (count as f64 * 2.0);
    report(format_args!(
        "message size: {size} [B]\nroundtrip count: {count}\naverage latency: {latency:.3} [us]\n"
    ));
}

/// libzmq's local_thr report (an elapsed time of 0 counts as 1 us).
pub fn print_throughput(size: usize, count: u64, elapsed_us: u64) {
    let throughput = count as f64 / elapsed_us.max(1) as f64 * 1_000_000.0;
    let megabits = throughput * size as f64 * 8.0 / 1_000_000.0;
    print_rates(size, count, throughput as u64, megabits);
}

/// libzmq's inproc_thr report: local_thr's lines, except that the Mb/s figure is
/// computed from the msg/s figure already truncated to an integer.
pub fn print_inproc_throughput(size: usize, count: u64, elapsed_us: u64) {
    let throughput = (count as f64 / elapsed_us.max(1) as f64 * 1_000_000.0) as u64;
    let megabits = throughput as f64 * size as f64 * 8.0 / 1_000_000.0;
    print_rates(size, count, throughput, megabits);
}

fn print_rates(size: usize, count: u64, msgs_per_sec: u64, megabits: f64) {
    report(format_args!(
        "message size: {size} [B]\nmessage count: {count}\nmean throughput: {msgs_per_sec} [msg/s]\n\
         mean throughput: {megabits:.3} [Mb/s]\n"
    ));
}

/// Writes the report to stdout; a closed stdout is an error exit, not a panic.
fn report(text: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    out.write_fmt(text)
        .and_then(|()| out.flush())
        .or_die("cannot write to stdout");
}
