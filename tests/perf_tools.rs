//! The perf tools (`src/bin/{local,remote,inproc}_{lat,thr}.rs`) run as processes:
//! ferrozmq's tools paired with each other over tcp and ipc (each side in its own
//! process, either side started first), the inproc tools, each tool paired with a
//! libzmq peer (the `zmq` crate) so cross-implementation pairing is proven, and the
//! error paths (usage line and status 1 for bad arguments, a one-line error for a failed
//! bind/connect or a wrong message size, never a panic).
//!
//! The reports must match libzmq's perf tools line for line:
//! ```text
//! message size: 64 [B]            message size: 64 [B]
//! roundtrip count: 1000           message count: 100000
//! average latency: 31.337 [us]    mean throughput: 4242424 [msg/s]
//!                                 mean throughput: 2172.121 [Mb/s]
//! ```

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const LOCAL_LAT: &str = env!("CARGO_BIN_EXE_local_lat");
const REMOTE_LAT: &str = env!("CARGO_BIN_EXE_remote_lat");
const LOCAL_THR: &str = env!("CARGO_BIN_EXE_local_thr");
const REMOTE_THR: &str = env!("CARGO_BIN_EXE_remote_thr");
const INPROC_LAT: &str = env!("CARGO_BIN_EXE_inproc_lat");
const INPROC_THR: &str = env!("CARGO_BIN_EXE_inproc_thr");

const SIZE: usize = 64;
/// Round trips per latency run (fast enough for debug builds of the tools too).
const ROUNDTRIPS: u64 = 1000;
/// Messages per throughput run.
const MESSAGES: u64 = 100_000;
/// A tool that has not finished by then has hung.
const DEADLINE: Duration = Duration::from_secs(60);
/// Receive timeout of the libzmq peers, in milliseconds.
const ZMQ_TIMEOUT_MS: i32 = 30_000;

// ---------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------

/// A `tcp://127.0.0.1:<port>` endpoint with a port that was free a moment ago.
fn tcp_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local addr").port();
    format!("tcp://127.0.0.1:{port}")
}

/// A unique `ipc://` endpoint whose socket file is removed on drop.
struct Ipc {
    path: PathBuf,
}

impl Ipc {
    fn new() -> Ipc {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("ferrozmq-perf-{}-{n}.ipc", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Ipc { path }
    }

    fn endpoint(&self) -> String {
        format!("ipc://{}", self.path.display())
    }
}

impl Drop for Ipc {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A running tool. Killed if the test fails before it finished, so no test leaves a
/// tool blocked forever behind it.
struct Tool {
    name: String,
    child: Option<Child>,
}

/// How a tool ended.
#[derive(Debug)]
struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Tool {
    fn start(program: &str, args: &[&str]) -> Tool {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let name = format!(
            "{} {}",
            program.rsplit('/').next().unwrap_or(program),
            args.join(" ")
        );
        Tool {
            name,
            child: Some(child),
        }
    }

    /// Waits for the tool to exit (failing the test after [`DEADLINE`]).
    fn finish(mut self) -> Outcome {
        let mut child = self.child.take().expect("not finished yet");
        let until = Instant::now() + DEADLINE;
        let status = loop {
            match child.try_wait().expect("try_wait") {
                Some(status) => break status,
                None if Instant::now() >= until => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("`{}` did not finish within {DEADLINE:?}", self.name);
                }
                None => thread::sleep(Duration::from_millis(2)),
            }
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_string(&mut stdout)
            .expect("stdout");
        child
            .stderr
            .take()
            .expect("piped")
            .read_to_string(&mut stderr)
            .expect("stderr");
        Outcome {
            status,
            stdout,
            stderr,
        }
    }

    /// Runs the tool to completion.
    fn run(program: &str, args: &[&str]) -> Outcome {
        Tool::start(program, args).finish()
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Outcome {
    /// Exit status 0, nothing on stderr; returns stdout.
    fn success(self, what: &str) -> String {
        assert!(
            self.status.success() && self.stderr.is_empty(),
            "{what}: expected success, got {:?}\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        self.stdout
    }

    /// Exit status 1, nothing on stdout, exactly one line on stderr and no panic;
    /// returns that line.
    fn failure(self, what: &str) -> String {
        assert_eq!(
            self.status.code(),
            Some(1),
            "{what}: exit status; stderr: {}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "{what}: panicked: {}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "{what}: unexpected stdout: {}",
            self.stdout
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "{what}: expected one line on stderr, got {:?}",
            self.stderr
        );
        lines[0].to_string()
    }
}

/// `<prefix><number><suffix>`, the number parsed.
fn field<T: std::str::FromStr>(line: &str, prefix: &str, suffix: &str) -> T {
    let number = line
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("line {line:?} is not `{prefix}<n>{suffix}`"));
    number
        .parse()
        .unwrap_or_else(|_| panic!("{number:?} in {line:?} is not a number"))
}

/// A `%.3f` number: digits, a point, exactly three digits.
fn assert_three_decimals(line: &str, number: &str) {
    let (int, frac) = number
        .split_once('.')
        .unwrap_or_else(|| panic!("no decimal point in {line:?}"));
    assert!(
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.len() == 3
            && frac.bytes().all(|b| b.is_ascii_digit()),
        "{number:?} in {line:?} is not printed as %.3f"
    );
}

/// Checks remote_lat's / inproc_lat's three lines; returns the latency in us.
fn parse_latency(stdout: &str, size: usize, count: u64) -> f64 {
    let lines: Vec<&str> = stdout.split('\n').collect();
    assert_eq!(
        lines.len(),
        4,
        "three lines and a final newline expected: {stdout:?}"
    );
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("roundtrip count: {count}"));
    assert_eq!(lines[3], "");
    let latency: f64 = field(lines[2], "average latency: ", " [us]");
    assert_three_decimals(
        lines[2],
        lines[2]
            .trim_start_matches("average latency: ")
            .trim_end_matches(" [us]"),
    );
    assert!(
        (0.0..1_000_000.0).contains(&latency),
        "implausible latency in {stdout:?}"
    );
    latency
}

/// Checks local_thr's four lines; returns (msg/s, Mb/s).
fn parse_throughput(stdout: &str, size: usize, count: u64) -> (u64, f64) {
    let lines: Vec<&str> = stdout.split('\n').collect();
    assert_eq!(
        lines.len(),
        5,
        "four lines and a final newline expected: {stdout:?}"
    );
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("message count: {count}"));
    assert_eq!(lines[4], "");
    let msgs: u64 = field(lines[2], "mean throughput: ", " [msg/s]");
    let megabits: f64 = field(lines[3], "mean throughput: ", " [Mb/s]");
    assert_three_decimals(
        lines[3],
        lines[3]
            .trim_start_matches("mean throughput: ")
            .trim_end_matches(" [Mb/s]"),
    );
    assert!(msgs > 0, "zero throughput in {stdout:?}");
    // local_thr derives Mb/s from the msg/s figure before truncating it to an integer.
    let expected = msgs as f64 * size as f64 * 8.0 / 1e6;
    let slack = size as f64 * 8.0 / 1e6 + 0.001;
    assert!(
        (megabits - expected).abs() <= slack,
        "{megabits} Mb/s does not match {msgs} msg/s of {size} B"
    );
    (msgs, megabits)
}

/// Checks inproc_thr's four lines: as local_thr's, but libzmq's inproc_thr computes Mb/s
/// from the truncated msg/s figure, so the two agree exactly.
fn parse_inproc_throughput(stdout: &str, size: usize, count: u64) -> u64 {
    let (msgs, _) = parse_throughput(stdout, size, count);
    let megabits = msgs as f64 * size as f64 * 8.0 / 1e6;
    let expected = format!("mean throughput: {megabits:.3} [Mb/s]");
    assert_eq!(stdout.lines().nth(3), Some(expected.as_str()), "{stdout:?}");
    msgs
}

/// local_lat bound at `endpoint`, remote_lat connected; either started first.
fn lat_pair(endpoint: &str, local_first: bool) -> f64 {
    let (size, count) = (SIZE.to_string(), ROUNDTRIPS.to_string());
    let args = [endpoint, size.as_str(), count.as_str()];
    let (local, remote) = if local_first {
        let local = Tool::start(LOCAL_LAT, &args);
        (local, Tool::start(REMOTE_LAT, &args))
    } else {
        let remote = Tool::start(REMOTE_LAT, &args);
        thread::sleep(Duration::from_millis(150)); // remote_lat retries until local_lat binds
        (Tool::start(LOCAL_LAT, &args), remote)
    };
    let report = remote.finish().success("remote_lat");
    let echo = local.finish().success("local_lat");
    assert_eq!(echo, "", "local_lat prints nothing");
    parse_latency(&report, SIZE, ROUNDTRIPS)
}

/// local_thr bound at `endpoint`, remote_thr connected; either started first.
fn thr_pair(endpoint: &str, local_first: bool) -> u64 {
    let (size, count) = (SIZE.to_string(), MESSAGES.to_string());
    let args = [endpoint, size.as_str(), count.as_str()];
    let (local, remote) = if local_first {
        let local = Tool::start(LOCAL_THR, &args);
        (local, Tool::start(REMOTE_THR, &args))
    } else {
        let remote = Tool::start(REMOTE_THR, &args);
        thread::sleep(Duration::from_millis(150)); // remote_thr queues, then delivers on connect
        (Tool::start(LOCAL_THR, &args), remote)
    };
    let sent = remote.finish().success("remote_thr");
    assert_eq!(sent, "", "remote_thr prints nothing");
    let report = local.finish().success("local_thr");
    parse_throughput(&report, SIZE, MESSAGES).0
}

// ---------------------------------------------------------------------------------
// ferrozmq tool paired with ferrozmq tool, one process each
// ---------------------------------------------------------------------------------

#[test]
fn tcp_latency_pair() {
    lat_pair(&tcp_endpoint(), true);
}

#[test]
fn ipc_latency_pair() {
    let ipc = Ipc::new();
    lat_pair(&ipc.endpoint(), true);
}

#[test]
fn tcp_throughput_pair() {
    thr_pair(&tcp_endpoint(), true);
}

#[test]
fn ipc_throughput_pair() {
    let ipc = Ipc::new();
    thr_pair(&ipc.endpoint(), true);
}

/// The connecting side starts first: remote_lat's REQ keeps redialling until local_lat
/// has bound.
#[test]
fn tcp_latency_pair_remote_started_first() {
    lat_pair(&tcp_endpoint(), false);
}

/// remote_thr may queue, close and wait in its context's linger before local_thr even
/// exists; every message must still arrive.
#[test]
fn ipc_throughput_pair_remote_started_first() {
    let ipc = Ipc::new();
    thr_pair(&ipc.endpoint(), false);
}

/// Large messages: the linger at remote_thr's exit has megabytes still to deliver.
#[test]
fn tcp_throughput_pair_large_messages() {
    let endpoint = tcp_endpoint();
    let (size, count) = (256 * 1024, 200);
    let (size_arg, count_arg) = (size.to_string(), count.to_string());
    let args = [endpoint.as_str(), size_arg.as_str(), count_arg.as_str()];
    let local = Tool::start(LOCAL_THR, &args);
    Tool::run(REMOTE_THR, &args).success("remote_thr");
    parse_throughput(&local.finish().success("local_thr"), size, count);
}

// ---------------------------------------------------------------------------------
// inproc tools
// ---------------------------------------------------------------------------------

#[test]
fn inproc_latency() {
    let (size, count) = (SIZE.to_string(), ROUNDTRIPS.to_string());
    let report = Tool::run(INPROC_LAT, &[&size, &count]).success("inproc_lat");
    parse_latency(&report, SIZE, ROUNDTRIPS);
}

#[test]
fn inproc_throughput() {
    let (size, count) = (SIZE.to_string(), MESSAGES.to_string());
    let report = Tool::run(INPROC_THR, &[&size, &count]).success("inproc_thr");
    parse_inproc_throughput(&report, SIZE, MESSAGES);
}

/// Zero-byte messages and a count of one are legal (one message: elapsed 0 counts as
/// 1 us, as in libzmq).
#[test]
fn inproc_edge_sizes_and_counts() {
    parse_latency(
        &Tool::run(INPROC_LAT, &["0", "1"]).success("inproc_lat 0 1"),
        0,
        1,
    );
    parse_inproc_throughput(
        &Tool::run(INPROC_THR, &["0", "1"]).success("inproc_thr 0 1"),
        0,
        1,
    );
    parse_inproc_throughput(
        &Tool::run(INPROC_THR, &["100000", "50"]).success("inproc_thr 100000 50"),
        100_000,
        50,
    );
}

// ---------------------------------------------------------------------------------
// Cross-implementation: each tool against a libzmq peer
// ---------------------------------------------------------------------------------

fn zmq_last_endpoint(s: &zmq::Socket) -> String {
    s.get_last_endpoint()
        .expect("last endpoint")
        .expect("utf-8 endpoint")
}

/// ferrozmq's local_thr receives from a libzmq PUSH sender.
#[test]
fn local_thr_with_libzmq_sender() {
    let endpoint = tcp_endpoint();
    let (size, count) = (SIZE.to_string(), MESSAGES.to_string());
    let local = Tool::start(LOCAL_THR, &[&endpoint, &size, &count]);
    let sender = {
        let endpoint = endpoint.clone();
        thread::spawn(move || -> zmq::Result<()> {
            let ctx = zmq::Context::new();
            let push = ctx.socket(zmq::PUSH)?;
            push.connect(&endpoint)?;
            let buf = [0u8; SIZE];
            for _ in 0..MESSAGES {
                push.send(&buf[..], 0)?;
            }
            drop(push);
            drop(ctx); // zmq_ctx_term: blocks until the default infinite linger delivered everything
            Ok(())
        })
    };
    let report = local.finish().success("local_thr");
    sender
        .join()
        .expect("libzmq sender thread")
        .expect("libzmq sender");
    parse_throughput(&report, SIZE, MESSAGES);
}

/// ferrozmq's remote_thr sends to a libzmq PULL receiver.
#[test]
fn remote_thr_with_libzmq_receiver() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).expect("socket");
    pull.set_rcvtimeo(ZMQ_TIMEOUT_MS).expect("rcvtimeo");
    pull.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = zmq_last_endpoint(&pull);
    let (size, count) = (SIZE.to_string(), MESSAGES.to_string());
    let remote = Tool::start(REMOTE_THR, &[&endpoint, &size, &count]);
    let mut msg = zmq::Message::new();
    for i in 0..MESSAGES {
        pull.recv(&mut msg, 0)
            .unwrap_or_else(|e| panic!("message {i} of {MESSAGES}: {e}"));
        assert_eq!(msg.len(), SIZE);
        assert!(!msg.get_more());
    }
    assert_eq!(remote.finish().success("remote_thr"), "");
}

/// ferrozmq's remote_lat measures against a libzmq REP echo.
#[test]
fn remote_lat_with_libzmq_echo() {
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).expect("socket");
    rep.set_rcvtimeo(ZMQ_TIMEOUT_MS).expect("rcvtimeo");
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = zmq_last_endpoint(&rep);
    let echo = thread::spawn(move || -> zmq::Result<()> {
        let mut msg = zmq::Message::new();
        for _ in 0..ROUNDTRIPS {
            rep.recv(&mut msg, 0)?;
            assert_eq!(msg.len(), SIZE);
            rep.send(&msg[..], 0)?;
        }
        Ok(())
    });
    let (size, count) = (SIZE.to_string(), ROUNDTRIPS.to_string());
    let report = Tool::run(REMOTE_LAT, &[&endpoint, &size, &count]).success("remote_lat");
    echo.join()
        .expect("libzmq echo thread")
        .expect("libzmq echo");
    parse_latency(&report, SIZE, ROUNDTRIPS);
}

/// ferrozmq's local_lat echoes to a libzmq REQ client (over ipc).
#[test]
fn local_lat_with_libzmq_client() {
    let ipc = Ipc::new();
    let endpoint = ipc.endpoint();
    let (size, count) = (SIZE.to_string(), ROUNDTRIPS.to_string());
    let local = Tool::start(LOCAL_LAT, &[&endpoint, &size, &count]);
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ).expect("socket");
    req.set_rcvtimeo(ZMQ_TIMEOUT_MS).expect("rcvtimeo");
    req.connect(&endpoint).expect("connect");
    let buf = vec![7u8; SIZE];
    for i in 0..ROUNDTRIPS {
        req.send(&buf[..], 0).expect("send");
        let reply = req
            .recv_bytes(0)
            .unwrap_or_else(|e| panic!("reply {i}: {e}"));
        assert_eq!(reply, buf);
    }
    assert_eq!(local.finish().success("local_lat"), "");
}

// ---------------------------------------------------------------------------------
// Errors: usage, bind/connect failures, wrong sizes
// ---------------------------------------------------------------------------------

#[test]
fn bad_arguments_print_usage_and_exit_1() {
    let endpoint = tcp_endpoint();
    let ep = endpoint.as_str();
    let networked: [(&str, &str); 4] = [
        (
            LOCAL_LAT,
            "usage: local_lat <bind-to> <message-size> <roundtrip-count>",
        ),
        (
            REMOTE_LAT,
            "usage: remote_lat <connect-to> <message-size> <roundtrip-count>",
        ),
        (
            LOCAL_THR,
            "usage: local_thr <bind-to> <message-size> <message-count> [<enable_curve>]",
        ),
        (
            REMOTE_THR,
            "usage: remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]",
        ),
    ];
    // A fourth argument is libzmq 4.3's `<enable_curve>` for the thr tools (an
    // integer), and one too many for the lat tools.
    let networked_args: [&[&str]; 10] = [
        &[],
        &[ep],
        &[ep, "64"],
        &[ep, "64", "10", "extra"],
        &[ep, "64", "10", "0", "extra"],
        &[ep, "abc", "10"],
        &[ep, "64", "ten"],
        &[ep, "-1", "10"],
        &[ep, "64", "0"],
        &[ep, "64", "1.5"],
    ];
    for (program, usage) in networked {
        for args in networked_args {
            let what = format!("{program} {args:?}");
            assert_eq!(Tool::run(program, args).failure(&what), usage, "{what}");
        }
    }
    let inproc: [(&str, &str); 2] = [
        (
            INPROC_LAT,
            "usage: inproc_lat <message-size> <roundtrip-count>",
        ),
        (
            INPROC_THR,
            "usage: inproc_thr <message-size> <message-count>",
        ),
    ];
    let inproc_args: [&[&str]; 6] = [
        &[],
        &["64"],
        &["64", "10", "x"],
        &["x", "10"],
        &["64", "x"],
        &["64", "0"],
    ];
    for (program, usage) in inproc {
        for args in inproc_args {
            let what = format!("{program} {args:?}");
            assert_eq!(Tool::run(program, args).failure(&what), usage, "{what}");
        }
    }
}

/// libzmq 4.3's optional `<enable_curve>` of local_thr/remote_thr: 0 is accepted,
/// anything else refused with one line (ferrozmq speaks the NULL mechanism only).
#[test]
fn enable_curve_argument() {
    let ipc = Ipc::new();
    let endpoint = ipc.endpoint();
    let args = [endpoint.as_str(), "64", "1000", "0"];
    let local = Tool::start(LOCAL_THR, &args);
    assert_eq!(Tool::run(REMOTE_THR, &args).success("remote_thr ... 0"), "");
    parse_throughput(&local.finish().success("local_thr ... 0"), 64, 1000);
    let endpoint = tcp_endpoint();
    for program in [LOCAL_THR, REMOTE_THR] {
        let line = Tool::run(program, &[&endpoint, "64", "10", "1"]).failure(program);
        assert!(line.contains("CURVE"), "{program}: {line}");
    }
}

#[test]
fn invalid_endpoints_fail_with_one_line() {
    for program in [LOCAL_LAT, REMOTE_LAT, LOCAL_THR, REMOTE_THR] {
        for endpoint in [
            "bogus://x",
            "tcp://127.0.0.1",
            "no-transport",
            "tcp://127.0.0.1:notaport",
        ] {
            let what = format!("{program} {endpoint}");
            let line = Tool::run(program, &[endpoint, "64", "10"]).failure(&what);
            assert!(
                line.contains(endpoint),
                "{what}: error should name the endpoint: {line}"
            );
        }
    }
}

#[test]
fn address_in_use_fails_with_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!(
        "tcp://127.0.0.1:{}",
        taken.local_addr().expect("addr").port()
    );
    for program in [LOCAL_LAT, LOCAL_THR] {
        let line = Tool::run(program, &[&endpoint, "64", "10"]).failure(program);
        assert!(line.contains("in use"), "{program}: {line}");
    }
    let missing_dir = std::env::temp_dir().join("ferrozmq-perf-no-such-dir/x.ipc");
    let endpoint = format!("ipc://{}", missing_dir.display());
    Tool::run(LOCAL_THR, &[&endpoint, "64", "10"]).failure("local_thr on an unusable ipc path");
}

/// local_lat checks every request's size, as libzmq's does.
#[test]
fn local_lat_rejects_a_wrong_message_size() {
    let ipc = Ipc::new();
    let endpoint = ipc.endpoint();
    let local = Tool::start(LOCAL_LAT, &[&endpoint, "64", "10"]);
    let ctx = zmq::Context::new();
    let req = ctx.socket(zmq::REQ).expect("socket");
    req.set_linger(0).expect("linger");
    req.connect(&endpoint).expect("connect");
    req.send(&[0u8; 32][..], 0).expect("send");
    let line = local.finish().failure("local_lat fed 32-byte messages");
    assert!(line.contains("incorrect size"), "{line}");
}

/// remote_lat checks every reply's size.
#[test]
fn remote_lat_rejects_a_wrong_reply_size() {
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).expect("socket");
    rep.set_rcvtimeo(ZMQ_TIMEOUT_MS).expect("rcvtimeo");
    rep.set_linger(0).expect("linger");
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = zmq_last_endpoint(&rep);
    let remote = Tool::start(REMOTE_LAT, &[&endpoint, "64", "10"]);
    let request = rep.recv_bytes(0).expect("request");
    assert_eq!(request.len(), 64);
    rep.send(&[0u8; 10][..], 0).expect("short reply");
    let line = remote.finish().failure("remote_lat given a 10-byte reply");
    assert!(line.contains("incorrect size"), "{line}");
}
