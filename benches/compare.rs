//! `cargo bench --bench compare`: ferrozmq, libzmq and zmq.rs side by side.
//!
//! The same scenarios (PUSH/PULL throughput and REQ/REP latency by size and transport,
//! DEALER→ROUTER throughput, the CPU/allocation/syscall cost of a message, memory for
//! idle connections and queued messages) run through all three implementations, each
//! measurement in a fresh child process, over several rounds. Results go to stdout and
//! to `target/bench/compare.{md,svg,json}` (or `$BENCH_OUT`).
//!
//! ```text
//! cargo bench --bench compare                # everything, 5 rounds
//! cargo bench --bench compare -- tcp lat     # only cells whose name contains "tcp" or "lat"
//! cargo bench --bench compare -- --quick     # smoke run: 1 round, scale 0.2
//! BENCH_ROUNDS=9 BENCH_SCALE=0.5 BENCH_OUT=docs/perf cargo bench --bench compare
//! ```
//!
//! Internally the binary has three roles, chosen by its first argument: the parent
//! (plans, runs children, reports), `--child <job>` (one measurement, one result line
//! on stdout) and `--connector <endpoint> <n>` (the libzmq process that opens the idle
//! connections of the memory test).

#[path = "compare/alloc.rs"]
mod alloc;
#[path = "compare/blocking.rs"]
mod blocking;
#[path = "compare/ferro.rs"]
mod ferro;
#[path = "compare/libzmq.rs"]
mod libzmq;
#[path = "compare/model.rs"]
mod model;
#[path = "compare/plan.rs"]
mod plan;
#[path = "compare/probe.rs"]
mod probe;
#[path = "compare/report.rs"]
mod report;
#[path = "compare/runner.rs"]
mod runner;
#[path = "compare/stats.rs"]
mod stats;
#[path = "compare/svg.rs"]
mod svg;
#[path = "compare/zmqrs.rs"]
mod zmqrs;

use std::io::Write;
use std::path::PathBuf;

use model::{Impl, Job, Result};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => child(&args[1..]),
        Some("--connector") => connector(&args[1..]),
        _ => {
            let config = config(&args).unwrap_or_else(|e| {
                eprintln!("compare: {e}");
                std::process::exit(2);
            });
            std::process::exit(parent(&config));
        }
    }
}

/// Reads the command line and the `BENCH_*` variables.
fn config(args: &[String]) -> Result<plan::Config> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut rounds: usize = match env("BENCH_ROUNDS") {
        Some(v) => v.parse().map_err(|e| format!("BENCH_ROUNDS={v}: {e}"))?,
        None => 5,
    };
    let mut scale: f64 = match env("BENCH_SCALE") {
        Some(v) => v.parse().map_err(|e| format!("BENCH_SCALE={v}: {e}"))?,
        None => 1.0,
    };
    let mut filters = Vec::new();
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            "--quick" => quick = true,
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag} (known: --quick, filters)"))
            }
            filter => filters.push(filter.to_string()),
        }
    }
    if quick {
        (rounds, scale) = (1, 0.2);
    }
    if rounds == 0 || scale.is_nan() || scale <= 0.0 {
        return Err("BENCH_ROUNDS must be at least 1 and BENCH_SCALE positive".into());
    }
    let out_dir = env("BENCH_OUT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench"),
        PathBuf::from,
    );
    let mut command = String::new();
    for var in ["BENCH_ROUNDS", "BENCH_SCALE", "BENCH_OUT"] {
        if let Some(v) = env(var) {
            command.push_str(&format!("{var}={v} "));
        }
    }
    command.push_str("cargo bench --bench compare");
    let extra: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--bench")
        .collect();
    if !extra.is_empty() {
        command.push_str(&format!(" -- {}", extra.join(" ")));
    }
    Ok(plan::Config {
        rounds,
        scale,
        filters,
        out_dir,
        command,
    })
}

/// Runs the plan, writes the report; the exit status is non-zero if anything failed.
fn parent(config: &plan::Config) -> i32 {
    if let Err(e) = std::fs::create_dir_all(&config.out_dir) {
        eprintln!("compare: {}: {e}", config.out_dir.display());
        return 2;
    }
    eprintln!(
        "compare: {} round(s), scale {}, output in {}",
        config.rounds,
        config.scale,
        config.out_dir.display()
    );
    let results = plan::run(config);
    if results.runs.is_empty() && results.syscalls.is_empty() {
        eprintln!("compare: no cell matches {:?}", config.filters);
        return 2;
    }
    let machine = report::Machine::detect();
    let md = report::markdown(config, &results, &machine);
    println!("{md}");
    let files = [
        ("compare.md", md),
        ("compare.svg", report::chart(config, &results, &machine)),
        ("compare.json", report::json(config, &results, &machine)),
    ];
    for (name, text) in files {
        let path = config.out_dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("compare: {}: {e}", path.display());
            return 2;
        }
    }
    eprintln!(
        "compare: took {:.1} min; wrote compare.md, compare.svg, compare.json to {}",
        results.wall_time_s / 60.0,
        config.out_dir.display()
    );
    let failures = results.failures();
    if failures.is_empty() {
        0
    } else {
        eprintln!("\ncompare: {} measurement(s) FAILED:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        1
    }
}

/// One measurement: prints its result line and exits.
fn child(args: &[String]) -> ! {
    // A panic in either end's thread must end the child, not leave the other end
    // waiting for the deadline.
    std::panic::set_hook(Box::new(|info| probe::die(&format!("panic: {info}"))));
    let job = Job::parse(args).unwrap_or_else(|e| probe::die(&e));
    probe::raise_fd_limit();
    if job.count_allocs {
        alloc::enable();
    }
    let result = match job.imp {
        Impl::Ferro => blocking::run::<ferro::Ferro>(&job.test),
        Impl::Libzmq => blocking::run::<libzmq::Libzmq>(&job.test),
        Impl::ZmqRs => zmqrs::run(&job.test),
    };
    let _ = std::fs::remove_file(model::ipc_path());
    match result {
        Ok(sample) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", sample.to_line());
            let _ = out.flush();
            std::process::exit(0);
        }
        Err(e) => probe::die(&e),
    }
}

fn connector(args: &[String]) -> ! {
    let (Some(endpoint), Some(count)) = (args.first(), args.get(1)) else {
        probe::die("usage: --connector <endpoint> <count>");
    };
    let count = count
        .parse()
        .unwrap_or_else(|e| probe::die(&format!("{e}")));
    match libzmq::connector(endpoint, count) {
        Ok(()) => std::process::exit(0),
        Err(e) => probe::die(&e),
    }
}
