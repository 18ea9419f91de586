//! `cargo bench --bench poller`: what one poll call costs with 1, 10, 100 and 1,000
//! registered idle sockets, ferrozmq's [`Poller`] and libzmq's `zmq_poll` (4.3.4,
//! through the `zmq` crate) side by side in the same run.
//!
//! ```text
//! cargo bench --bench poller             # 4 sizes, 7 rounds
//! cargo bench --bench poller -- --quick  # fewer calls per round
//! BENCH_OUT=docs/perf cargo bench --bench poller   # also writes docs/perf/poller.md
//! ```
//!
//! Every socket is a PULL bound to its own inproc endpoint, with one PUSH connected to
//! all of them, so each has a live pipe and nothing to read. A call polls all of them for input with
//! a zero timeout (it must look at every socket and find none ready). Also reported:
//! system calls per call, counted by `strace -c -f` around a fixed number of calls when
//! strace is installed. libzmq's `zmq_poll` makes one `poll(2)` over every socket's
//! descriptor; ferrozmq's asks each socket in memory and makes none.

use std::time::{Duration, Instant};

use ferrozmq::{Context, Interest, Poller, SocketType};

const SIZES: [usize; 4] = [1, 10, 100, 1000];

fn ferrozmq_cost(n: usize, calls: usize) -> f64 {
    let ctx = Context::new();
    let mut pulls = Vec::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    for i in 0..n {
        let pull = ctx.socket(SocketType::Pull).unwrap();
        let ep = format!("inproc://poller-bench-{i}");
        pull.bind(&ep).unwrap();
        push.connect(&ep).unwrap();
        pulls.push(pull);
    }
    let mut poller = Poller::new();
    for p in &pulls {
        poller.add(p, Interest::READABLE);
    }
    assert_eq!(poller.poll(Some(Duration::ZERO)), 0);
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(poller.poll(Some(Duration::ZERO)));
    }
    start.elapsed().as_secs_f64() * 1e9 / calls as f64
}

fn libzmq_cost(n: usize, calls: usize) -> f64 {
    let ctx = zmq::Context::new();
    let mut pulls = Vec::new();
    // One PUSH connected to every PULL: n + 1 sockets stay under libzmq's default
    // limit of 1023 per context.
    let push = ctx.socket(zmq::PUSH).unwrap();
    for i in 0..n {
        let pull = ctx.socket(zmq::PULL).unwrap();
        let ep = format!("inproc://poller-bench-{i}");
        pull.bind(&ep).unwrap();
        push.connect(&ep).unwrap();
        pulls.push(pull);
    }
    let mut items: Vec<zmq::PollItem> = pulls.iter().map(|p| p.as_poll_item(zmq::POLLIN)).collect();
    assert_eq!(zmq::poll(&mut items, 0).unwrap(), 0);
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(zmq::poll(&mut items, 0).unwrap());
    }
    start.elapsed().as_secs_f64() * 1e9 / calls as f64
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// System calls per poll call for one implementation at size `n`, by re-running this
/// binary under `strace -c -f` in a child mode that makes exactly `calls` calls.
fn syscalls_per_call(which: &str, n: usize, calls: usize) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let count = |calls: usize| -> Option<u64> {
        let out = std::process::Command::new("strace")
            .args(["-f", "-c", "-o", "/dev/stderr", "--"])
            .arg(&exe)
            .args(["--child", which, &n.to_string(), &calls.to_string()])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stderr);
        let total = text.lines().rev().find(|l| l.contains("total"))?;
        // "100.00    0.000123           1       456        12 total": the calls column.
        let fields: Vec<&str> = total.split_whitespace().collect();
        fields.get(fields.len().checked_sub(3)?)?.parse().ok()
    };
    // The difference between a long and a short run removes setup and teardown.
    let (short, long) = (count(calls / 10)?, count(calls)?);
    Some(long.saturating_sub(short) as f64 / (calls - calls / 10) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let n: usize = args[3].parse().unwrap();
        let calls: usize = args[4].parse().unwrap();
        match args[2].as_str() {
            "ferrozmq" => ferrozmq_cost(n, calls),
            _ => libzmq_cost(n, calls),
        };
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 7 };
    let strace = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut table = String::from(
        "| registered sockets | ferrozmq ns/call | libzmq ns/call | ferrozmq/libzmq | syscalls/call ferrozmq | syscalls/call libzmq |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    for n in SIZES {
        let calls = (if quick { 200_000 } else { 1_000_000 } / n).max(200);
        let (mut f, mut l) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            if round % 2 == 0 {
                f.push(ferrozmq_cost(n, calls));
                l.push(libzmq_cost(n, calls));
            } else {
                l.push(libzmq_cost(n, calls));
                f.push(ferrozmq_cost(n, calls));
            }
        }
        let (fm, fmin, fmax) = median(f);
        let (lm, lmin, lmax) = median(l);
        let (sf, sl) = if strace {
            let calls = 2000;
            (
                syscalls_per_call("ferrozmq", n, calls),
                syscalls_per_call("libzmq", n, calls),
            )
        } else {
            (None, None)
        };
        let show = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2}"));
        table.push_str(&format!(
            "| {n} | {fm:.0} ({fmin:.0}–{fmax:.0}) | {lm:.0} ({lmin:.0}–{lmax:.0}) | {:.2}× | {} | {} |\n",
            fm / lm,
            show(sf),
            show(sl)
        ));
    }
    println!("{table}");
    if let Ok(dir) = std::env::var("BENCH_OUT") {
        let text = format!(
            "# Poll cost with idle sockets\n\n`cargo bench --bench poller{}` — median (min–max) of {rounds} rounds, zero timeout, every socket idle.\n\n{table}",
            if quick { " -- --quick" } else { "" }
        );
        std::fs::write(format!("{dir}/poller.md"), text).expect("write poller.md");
    }
}
