//! End-to-end tests: the built `fzmq` binary, run as separate processes that talk over
//! tcp the way it is used from a shell. Every process gets a `-t` limit of its own and
//! is killed if it outlives [`LIMIT`], so a broken build fails instead of hanging.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The most any one process may take.
const LIMIT: Duration = Duration::from_secs(30);
/// The `-t` given to processes that should finish well before it.
const T: &str = "20";

/// A port nobody listens on right now (bound by the OS, then released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn endpoint() -> String {
    format!("tcp://127.0.0.1:{}", free_port())
}

/// A running `fzmq` with its output being collected.
struct Proc {
    child: Child,
    args: Vec<String>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

/// What a finished `fzmq` did.
#[derive(Debug)]
struct Done {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Starts `fzmq ARGS`, feeding it `stdin` (then closing it), or an empty stdin.
fn start(args: &[&str], stdin: Option<&str>) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fzmq"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start fzmq");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let collect = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    Proc {
        child,
        args: args.iter().map(|s| s.to_string()).collect(),
        stdout,
        stderr,
    }
}

impl Proc {
    /// Waits for the process to exit (killing it after [`LIMIT`]).
    fn finish(mut self) -> Done {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(10));
        };
        let done = Done {
            code: status.and_then(|s| s.code()),
            stdout: String::from_utf8_lossy(&self.stdout.join().unwrap()).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr.join().unwrap()).into_owned(),
        };
        assert!(
            status.is_some(),
            "fzmq {:?} still running after {LIMIT:?}: {done:?}",
            self.args
        );
        done
    }
}

/// Runs `fzmq ARGS` to its end.
fn run(args: &[&str]) -> Done {
    start(args, None).finish()
}

#[track_caller]
fn assert_success(done: &Done, stdout: &str) {
    assert_eq!(done.code, Some(0), "{done:?}");
    assert_eq!(done.stdout, stdout, "{done:?}");
}

#[test]
fn req_gets_replies_from_rep_echo() {
    let ep = endpoint();
    let rep = start(&["rep", "--echo", "-b", &ep, "-n", "2", "-t", T], None);
    let req = start(&["req", "-c", &ep, "-t", T, "hello", "world"], None);
    assert_success(&req.finish(), "hello\nworld\n");
    assert_success(&rep.finish(), "hello\nworld\n");
}

#[test]
fn push_sends_stdin_lines_to_pull() {
    let ep = endpoint();
    let pull = start(&["PULL", "-b", &ep, "-n", "3", "-t", T], None);
    let push = start(
        &["push", "-c", &ep, "-t", T],
        Some("one\ntwo words\r\nthree"),
    );
    let pushed = push.finish();
    assert_success(&pushed, "");
    assert_success(&pull.finish(), "one\ntwo words\nthree\n");
}

#[test]
fn sub_receives_only_its_prefixes() {
    let ep = endpoint();
    let sub = start(
        &[
            "sub", "-b", &ep, "-s", "foo", "-s", "baz", "-n", "3", "-t", T,
        ],
        None,
    );
    let publisher = start(
        &[
            "pub", "-c", &ep, "--delay", "1500", "-t", T, "foo 1", "bar 2", "foo 3", "baz 4",
        ],
        None,
    );
    assert_success(&publisher.finish(), "");
    assert_success(&sub.finish(), "foo 1\nfoo 3\nbaz 4\n");
}

#[test]
fn binary_frames_print_as_hex() {
    let ep = endpoint();
    let pull = start(&["pull", "-b", &ep, "-n", "3", "-t", T], None);
    let push = start(
        &["push", "-c", &ep, "-t", T, "hi", "\u{1}ab", "tab\there"],
        None,
    );
    assert_success(&push.finish(), "");
    // auto: text when printable, hex otherwise.
    assert_success(&pull.finish(), "hi\n016162\ntab\there\n");

    let ep = endpoint();
    let pull = start(
        &["pull", "-b", &ep, "-n", "1", "--hex", "-S", ":", "-t", T],
        None,
    );
    let push = start(&["push", "-c", &ep, "-S", "|", "-t", T, "a|b"], None);
    assert_success(&push.finish(), "");
    assert_success(&pull.finish(), "61:62\n");
}

#[test]
fn router_echo_routes_multipart_back_to_dealer() {
    let ep = endpoint();
    let router = start(
        &["router", "--echo", "-b", &ep, "-n", "1", "-S", "|", "-t", T],
        None,
    );
    let dealer = start(
        &[
            "dealer",
            "-c",
            &ep,
            "--identity",
            "d1",
            "-S",
            "|",
            "-n",
            "1",
            "-t",
            T,
            "x||y",
        ],
        None,
    );
    assert_success(&dealer.finish(), "x||y\n");
    // The ROUTER sees the dealer's routing id first; frames joined with the separator.
    assert_success(&router.finish(), "d1|x||y\n");
}

#[test]
fn pair_sends_stdin_while_receiving() {
    let ep = endpoint();
    let server = start(&["pair", "--echo", "-b", &ep, "-n", "2", "-t", T], None);
    let client = start(&["pair", "-c", &ep, "-n", "2", "-t", T], Some("p\nq\n"));
    assert_success(&client.finish(), "p\nq\n");
    assert_success(&server.finish(), "p\nq\n");
}

#[test]
fn dealer_streams_stdin_through_router_echo() {
    // Enough lines that sending and receiving overlap, few enough (2000, within the
    // two high-water marks) that the ROUTER never has to drop a reply.
    let lines: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    let ep = endpoint();
    let router = start(
        &["router", "--echo", "-q", "-b", &ep, "-n", "2000", "-t", T],
        None,
    );
    let dealer = start(&["dealer", "-c", &ep, "-n", "2000", "-t", T], Some(&lines));
    assert_success(&dealer.finish(), &lines);
    assert_success(&router.finish(), "");
}

#[test]
fn rep_replies_with_its_arguments() {
    let ep = endpoint();
    let rep = start(&["rep", "-b", &ep, "-t", T, "pong 1", "pong 2"], None);
    let req = start(&["req", "-c", &ep, "-t", T, "ping 1", "ping 2"], None);
    assert_success(&req.finish(), "pong 1\npong 2\n");
    // REP prints the requests and stops once its replies are used up.
    assert_success(&rep.finish(), "ping 1\nping 2\n");
}

#[test]
fn time_limit_is_success_unless_it_cuts_something_short() {
    let ep = endpoint();
    let started = Instant::now();
    let quiet = run(&["pull", "-b", &ep, "-t", "0.3"]);
    assert_success(&quiet, "");
    assert!(started.elapsed() < Duration::from_secs(10));

    let short = run(&["pull", "-b", &endpoint(), "-n", "1", "-t", "0.3"]);
    assert_eq!(short.code, Some(1), "{short:?}");
    assert!(short.stderr.contains("timed out"), "{short:?}");

    // Nobody answers: the request is queued, the reply never comes.
    let unanswered = run(&["req", "-c", &endpoint(), "-t", "0.3", "anyone?"]);
    assert_eq!(unanswered.code, Some(1), "{unanswered:?}");
    assert!(unanswered.stderr.contains("reply"), "{unanswered:?}");
}

#[test]
fn usage_errors_exit_with_2() {
    let ep = endpoint();
    for args in [
        &["bogus", "-b", ep.as_str()][..],
        &["pull"],
        &["pub", "-b", &ep, "-s", "topic"],
        &["req", "-c", &ep, "--echo"],
        &["sub", "-c", &ep, "a message"],
        &["pull", "-b", &ep, "-t", "never"],
        &["pull", "-b", "nonsense"],
        &["req", "-c", &ep, "--conflate", "hi"],
    ] {
        let done = run(args);
        assert_eq!(done.code, Some(2), "fzmq {args:?}: {done:?}");
        assert!(done.stderr.contains("error"), "fzmq {args:?}: {done:?}");
    }
}

#[test]
fn runtime_errors_exit_with_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", taken.local_addr().unwrap());
    let done = run(&["pull", "-b", &ep, "-t", "5"]);
    assert_eq!(done.code, Some(1), "{done:?}");
    assert!(done.stderr.starts_with("fzmq: cannot bind"), "{done:?}");
}

#[test]
fn help_lists_options_and_examples() {
    let done = run(&["--help"]);
    assert_eq!(done.code, Some(0), "{done:?}");
    for word in ["--bind", "--connect", "--separator", "--echo", "Examples"] {
        assert!(
            done.stdout.contains(word),
            "{word} missing: {}",
            done.stdout
        );
    }
}
