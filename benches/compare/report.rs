//! Turning results into the Markdown tables, the JSON of raw samples and the chart.

use std::fmt::Write;

use crate::alloc;
use crate::model::{Impl, Pattern, Test, Transport, SIZES};
use crate::plan::{self, Cell, Config, Results};
use crate::probe::Sample;
use crate::stats::Summary;
use crate::svg;

/// Where the numbers were taken.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub date: String,
    pub ferrozmq: String,
    pub libzmq: String,
    pub zmqrs: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let (major, minor, patch) = zmq::version();
        Machine {
            cpu,
            cores,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            date: utc_now(),
            ferrozmq: ferrozmq_revision(),
            libzmq: format!("{major}.{minor}.{patch}"),
            zmqrs: locked_version("zeromq").unwrap_or_else(|| "?".into()),
        }
    }
}

/// The value a cell reports for one sample.
fn value(cell: &Cell, s: &Sample) -> f64 {
    let per_msg = |n: u64| n as f64 / s.msgs.max(1) as f64;
    match cell.test {
        _ if cell.count_allocs => per_msg(s.allocs),
        Test::Throughput { .. } => s.msgs as f64 / s.elapsed_s,
        Test::Latency { .. } => s.elapsed_s * 1e6 / (2.0 * s.msgs as f64),
        Test::IdleConnections { .. } | Test::Queued { .. } => s.rss_kib as f64,
    }
}

fn unit(cell: &Cell) -> &'static str {
    match cell.test {
        _ if cell.count_allocs => "allocations/msg",
        Test::Throughput { .. } => "msg/s",
        Test::Latency { .. } => "us",
        Test::IdleConnections { .. } | Test::Queued { .. } => "KiB",
    }
}

/// Medians and spreads of every cell, looked up by cell and implementation.
struct Table<'a> {
    results: &'a Results,
}

impl Table<'_> {
    fn cell(&self, name: &str) -> Option<&Cell> {
        self.results.cells.iter().find(|c| c.name() == name)
    }

    fn summary_by(
        &self,
        name: &str,
        imp: Impl,
        f: impl Fn(&Cell, &Sample) -> f64,
    ) -> Option<Summary> {
        let cell = self.cell(name)?;
        let values: Vec<f64> = self
            .results
            .samples(name, imp)
            .iter()
            .map(|s| f(cell, s))
            .collect();
        Summary::of(&values)
    }

    fn summary(&self, name: &str, imp: Impl) -> Option<Summary> {
        self.summary_by(name, imp, value)
    }

    /// "median (min–max)", or why there is none.
    fn text_by(
        &self,
        name: &str,
        imp: Impl,
        f: impl Fn(&Cell, &Sample) -> f64,
        fmt: fn(f64) -> String,
    ) -> String {
        let Some(cell) = self.cell(name) else {
            return "–".into();
        };
        if imp.unsupported(&cell.test).is_some() {
            return "n/a".into();
        }
        let failed = self.results.failure(name, imp).is_some();
        match self.summary_by(name, imp, f) {
            None if failed => "**FAILED**".into(),
            None => "–".into(),
            Some(s) => {
                let mark = if failed {
                    " **(some rounds FAILED)**"
                } else {
                    ""
                };
                if s.n > 1 {
                    format!("{} ({}–{}){mark}", fmt(s.median), fmt(s.min), fmt(s.max))
                } else {
                    format!("{}{mark}", fmt(s.median))
                }
            }
        }
    }

    fn text(&self, name: &str, imp: Impl, fmt: fn(f64) -> String) -> String {
        self.text_by(name, imp, value, fmt)
    }

    /// ferrozmq's median over libzmq's.
    fn ratio_by(&self, name: &str, f: impl Fn(&Cell, &Sample) -> f64 + Copy) -> String {
        match (
            self.summary_by(name, Impl::Ferro, f),
            self.summary_by(name, Impl::Libzmq, f),
        ) {
            (Some(a), Some(b)) if b.median != 0.0 => format!("{}×", sig3(a.median / b.median)),
            _ => "–".into(),
        }
    }

    fn ratio(&self, name: &str) -> String {
        self.ratio_by(name, value)
    }
}

/// Three significant digits, plainly (small per-message counts keep theirs too).
fn sig3(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).clamp(3, 9) as usize;
        format!("{x:.decimals$}")
    }
}

fn rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{}M", sig3(x / 1e6))
    } else if x >= 1e3 {
        format!("{}k", sig3(x / 1e3))
    } else {
        sig3(x)
    }
}

fn size_text(size: usize) -> String {
    match size {
        s if s >= 1024 => format!("{} KiB", s / 1024),
        s => format!("{s} B"),
    }
}

fn header_row(out: &mut String, first: &[&str], ratio: &str) {
    let mut cols: Vec<String> = first.iter().map(|s| s.to_string()).collect();
    cols.extend(Impl::ALL.iter().map(|i| i.name().to_string()));
    cols.push(ratio.to_string());
    let _ = writeln!(out, "| {} |", cols.join(" | "));
    let align: Vec<&str> = (0..cols.len())
        .map(|i| if i < first.len() { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "|{}|", align.join("|"));
}

/// The Markdown report.
pub fn markdown(config: &Config, results: &Results, machine: &Machine) -> String {
    let t = Table { results };
    let mut md = String::new();
    let _ = writeln!(md, "# ferrozmq vs libzmq vs zmq.rs\n");
    let _ = writeln!(
        md,
        "{} ({} cores), Linux {} · {} · {} round{}, scale {} · ferrozmq {}, libzmq {}, zmq.rs {} · \
         whole run {:.1} min · regenerate with `{}`\n",
        machine.cpu,
        machine.cores,
        machine.kernel,
        machine.date,
        config.rounds,
        if config.rounds == 1 { "" } else { "s" },
        config.scale,
        machine.ferrozmq,
        machine.libzmq,
        machine.zmqrs,
        results.wall_time_s / 60.0,
        config.command
    );
    let _ = writeln!(
        md,
        "Each cell: median of the rounds, (min–max) across them; every measurement in a fresh \
         process. ![chart](compare.svg)\n"
    );

    for (title, kind) in [
        (
            "## Throughput, PUSH→PULL (messages/s, higher is better)",
            "thr",
        ),
        (
            "## One-way latency, REQ/REP (µs = roundtrip/2, lower is better)",
            "lat",
        ),
    ] {
        let cells: Vec<&Cell> = results
            .cells
            .iter()
            .filter(|c| {
                matches!(
                    (kind, c.test),
                    (
                        "thr",
                        Test::Throughput {
                            pattern: Pattern::PushPull,
                            ..
                        }
                    ) | ("lat", Test::Latency { .. })
                ) && !c.count_allocs
            })
            .collect();
        if cells.is_empty() {
            continue;
        }
        let _ = writeln!(md, "{title}\n");
        let ratio = if kind == "thr" {
            "ferrozmq/libzmq (>1: ferrozmq faster)"
        } else {
            "ferrozmq/libzmq (<1: ferrozmq faster)"
        };
        header_row(&mut md, &["transport", "size"], ratio);
        let fmt = if kind == "thr" { rate } else { sig3 };
        for cell in cells {
            let name = cell.name();
            let (transport, size) = match cell.test {
                Test::Throughput {
                    transport, size, ..
                }
                | Test::Latency {
                    transport, size, ..
                } => (transport, size),
                _ => continue,
            };
            let values: Vec<String> = Impl::ALL.iter().map(|&i| t.text(&name, i, fmt)).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                transport.name(),
                size_text(size),
                values.join(" | "),
                t.ratio(&name)
            );
        }
        md.push('\n');
    }

    let dealer = results.cells.iter().find(|c| {
        matches!(
            c.test,
            Test::Throughput {
                pattern: Pattern::DealerRouter,
                ..
            }
        )
    });
    if let Some(cell) = dealer {
        let name = cell.name();
        let _ = writeln!(
            md,
            "## Throughput, DEALER→ROUTER, 64 B over tcp (messages/s, higher is better)\n"
        );
        header_row(&mut md, &[""], "ferrozmq/libzmq (>1: ferrozmq faster)");
        let values: Vec<String> = Impl::ALL.iter().map(|&i| t.text(&name, i, rate)).collect();
        let _ = writeln!(
            md,
            "| msg/s | {} | {} |\n",
            values.join(" | "),
            t.ratio(&name)
        );
    }

    costs(&mut md, config, results, &t);
    latency_cpu(&mut md, results, &t);
    memory(&mut md, results, &t);
    notes(&mut md, config, results);
    md
}

/// What one 64 B tcp message costs: CPU, allocations, syscalls.
fn costs(md: &mut String, config: &Config, results: &Results, t: &Table) {
    let timed = plan::cost_test(config.scale).name();
    let allocs = format!("allocs/{timed}");
    let have_timed = t.cell(&timed).is_some();
    let have_allocs = t.cell(&allocs).is_some();
    if !have_timed && !have_allocs && results.syscalls.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## What a message costs: PUSH→PULL, 64 B over tcp (lower is better)\n"
    );
    header_row(md, &[""], "ferrozmq/libzmq");
    let cpu = |_: &Cell, s: &Sample| s.cpu_s * 1e6 / s.msgs.max(1) as f64;
    let rust = |_: &Cell, s: &Sample| s.rust_allocs as f64 / s.msgs.max(1) as f64;
    let row = |md: &mut String, label: &str, values: Vec<String>, ratio: String| {
        let _ = writeln!(md, "| {label} | {} | {ratio} |", values.join(" | "));
    };
    let per_impl = |f: &dyn Fn(Impl) -> String| Impl::ALL.iter().map(|&i| f(i)).collect();
    if have_timed {
        row(
            md,
            "CPU seconds per million messages (all threads)",
            per_impl(&|i| t.text_by(&timed, i, cpu, sig3)),
            t.ratio_by(&timed, cpu),
        );
    }
    if have_allocs {
        row(
            md,
            "heap allocations per message (malloc calls, any code)",
            per_impl(&|i| t.text(&allocs, i, sig3)),
            t.ratio(&allocs),
        );
        row(
            md,
            "… of which through Rust's allocator",
            per_impl(&|i| t.text_by(&allocs, i, rust, sig3)),
            t.ratio_by(&allocs, rust),
        );
    }
    if !results.syscalls.is_empty() {
        let find = |imp: Impl| results.syscalls.iter().find(|(i, _)| *i == imp);
        let per_msg = |imp: Impl| match find(imp) {
            Some((_, Ok(s))) => Some(s.per_msg),
            _ => None,
        };
        let text = |imp: Impl, f: &dyn Fn(&plan::Syscalls) -> String| match find(imp) {
            Some((_, Ok(s))) => f(s),
            Some((_, Err(_))) => "**FAILED**".into(),
            None => "n/a".into(),
        };
        let ratio = match (per_msg(Impl::Ferro), per_msg(Impl::Libzmq)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{}×", sig3(a / b)),
            _ => "–".into(),
        };
        let counted = |imp: Impl| match find(imp) {
            Some((_, Ok(s))) => s.counted,
            _ => None,
        };
        let counted_ratio = match (counted(Impl::Ferro), counted(Impl::Libzmq)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{}×", sig3(a / b)),
            _ => "–".into(),
        };
        row(
            md,
            "syscalls per message (kernel counter, full speed)",
            per_impl(&|i| counted(i).map_or("n/a".into(), sig3)),
            counted_ratio,
        );
        row(
            md,
            "syscalls per message (strace -f, slowed down)",
            per_impl(&|i| text(i, &|s| sig3(s.per_msg))),
            ratio,
        );
        row(
            md,
            "top 5 syscalls per message",
            per_impl(&|i| {
                text(i, &|s| {
                    let top: Vec<String> = s
                        .top
                        .iter()
                        .map(|(name, n)| format!("{name} {}", sig3(*n)))
                        .collect();
                    top.join(", ")
                })
            }),
            String::new(),
        );
    }
    md.push('\n');
}

/// CPU per REQ/REP roundtrip: the price of a latency figure (waiting by spinning is
/// fast and costs CPU, sleeping is cheap and wakes up slower).
fn latency_cpu(md: &mut String, results: &Results, t: &Table) {
    const SIZE: usize = 64;
    let cells: Vec<(Transport, String)> = Transport::ALL
        .iter()
        .map(|&transport| {
            let test = Test::Latency {
                transport,
                size: SIZE,
                count: 0,
            };
            (transport, test.name())
        })
        .filter(|(_, name)| t.cell(name).is_some())
        .collect();
    if cells.is_empty() || results.runs.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## CPU time per REQ/REP roundtrip, {SIZE} B (µs of CPU, all threads; lower is better)\n"
    );
    header_row(md, &["transport"], "ferrozmq/libzmq");
    let cpu = |_: &Cell, s: &Sample| s.cpu_s * 1e6 / s.msgs.max(1) as f64;
    for (transport, name) in cells {
        let values: Vec<String> = Impl::ALL
            .iter()
            .map(|&i| t.text_by(&name, i, cpu, sig3))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            transport.name(),
            values.join(" | "),
            t.ratio_by(&name, cpu)
        );
    }
    md.push('\n');
}

fn memory(md: &mut String, results: &Results, t: &Table) {
    let cells: Vec<&Cell> = results
        .cells
        .iter()
        .filter(|c| matches!(c.test, Test::IdleConnections { .. } | Test::Queued { .. }))
        .collect();
    if cells.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Memory: resident set growth (KiB, lower is better)\n"
    );
    header_row(md, &[""], "ferrozmq/libzmq");
    let per_item = |_: &Cell, s: &Sample| s.rss_kib as f64 * 1024.0 / s.msgs.max(1) as f64;
    for cell in cells {
        let name = cell.name();
        let (what, item) = match cell.test {
            Test::IdleConnections { count } => (
                format!("{count} idle tcp connections on one bound ROUTER"),
                "per connection (bytes)",
            ),
            Test::Queued { size, count } => (
                format!("{count} queued {size} B messages (PUSH, peer absent)"),
                "per message (bytes)",
            ),
            _ => continue,
        };
        let values: Vec<String> = Impl::ALL.iter().map(|&i| t.text(&name, i, sig3)).collect();
        let _ = writeln!(
            md,
            "| {what} | {} | {} |",
            values.join(" | "),
            t.ratio(&name)
        );
        let values: Vec<String> = Impl::ALL
            .iter()
            .map(|&i| t.text_by(&name, i, per_item, sig3))
            .collect();
        let _ = writeln!(
            md,
            "| … {item} | {} | {} |",
            values.join(" | "),
            t.ratio_by(&name, per_item)
        );
    }
    md.push('\n');
}

/// Spread (max − min, relative to the median) above which a cell is called noisy.
const NOISY: f64 = 0.2;

fn notes(md: &mut String, config: &Config, results: &Results) {
    let _ = writeln!(md, "## How these numbers are made\n");
    let lines = [
        "Every measurement runs in a fresh child process (the bench re-executes itself), so CPU \
         time, allocations, syscalls and memory belong to one implementation alone. Within it, \
         the two ends are two threads (libzmq, ferrozmq: each with its default context of one \
         I/O thread) or two tasks on a tokio multi-thread runtime with 2 worker threads \
         (zmq.rs, which has no I/O threads of its own)."
            .to_string(),
        format!(
            "The implementations alternate cell by cell in an order that rotates every round; \
             {} round(s). Children are killed after {} s.",
            config.rounds,
            crate::runner::TIMEOUT.as_secs()
        ),
        "Throughput: the receiver's clock starts at the first message (as libzmq's `local_thr`) \
         and the rate counts the messages after it; every message is received, counted and \
         size-checked. Senders send the cheapest way each API allows, none copying the payload: \
         ferrozmq and zmq.rs send clones of one pre-built message (a shared, reference-counted \
         buffer); libzmq, which can't share a buffer that way, sends a new \
         `zmq_msg_init_size` message each time, exactly as its own `remote_thr` does (that \
         allocates above 33 B). Receivers take messages without copying them out (libzmq: \
         `zmq_msg_recv`)."
            .to_string(),
        "Latency: REQ/REP roundtrips, one-way = elapsed / (2 · roundtrips), as libzmq's \
         `remote_lat`, after one untimed roundtrip (connection set-up is not counted). REP \
         echoes the received message."
            .to_string(),
        format!(
            "Costs: CPU is `getrusage(RUSAGE_SELF)` (user + system, every thread) over the timed \
             interval of the throughput runs above. Allocations come from a separate run with \
             counting on{}. Syscalls: the kernel's `raw_syscalls:sys_enter` counter through \
             `perf stat` over a full-size run minus a short one (start-up and shutdown cancel \
             out), at full speed; and `strace -f -c` over a run of {} messages minus one of {} \
             for the breakdown by name. strace slows every syscall down, which changes \
             batching, so its counts explain rather than predict.",
            if alloc::SEES_FOREIGN_ALLOCATIONS {
                ": malloc, calloc, realloc and the aligned variants are wrapped in the bench \
                 binary, so C++ allocations inside libzmq count too"
            } else {
                " (Rust's allocator only: C/C++ allocations are not seen on this platform)"
            },
            plan::strace_messages(config.scale).0,
            plan::strace_messages(config.scale).1
        ),
        format!(
            "Memory: VmRSS growth. Idle connections: RSS of the measured process after {} \
             connections from a separate libzmq process (one DEALER each) were accepted \
             and handshaken (ferrozmq: peer count; others: accepted descriptors) and a second \
             to settle, minus RSS before the bind. Queued messages: a PUSH with SNDHWM 0 \
             connected to a tcp port nobody listens on; RSS after sending {} fresh {} B \
             messages (a buffer each) minus before.",
            plan::IDLE_CONNECTIONS,
            plan::QUEUED_MESSAGES,
            plan::QUEUED_SIZE
        ),
        "Reading the inproc rows at large sizes: ferrozmq hands the receiver the sender's \
         shared buffer, while libzmq allocates (and the receiver frees) a new 64 KiB message \
         each time, as its own perf tools do; there the ratio measures zero-copy messages more \
         than the transport."
            .to_string(),
        "n/a: zmq.rs has no inproc transport; and no send queue (PUSH refuses a message without \
         a live peer, and blocks on the TCP buffer of a peer that doesn't read), so the queued \
         test doesn't apply to it."
            .to_string(),
        format!(
            "This machine has {} cores: with two application threads plus I/O threads, the \
             runs are CPU-bound and scheduling-sensitive, so cells with a wide min–max spread \
             deserve suspicion.",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        ),
    ];
    for line in lines {
        let _ = writeln!(md, "* {line}");
    }
    let mut noisy: Vec<(f64, String)> = results
        .cells
        .iter()
        .flat_map(|cell| Impl::ALL.map(|imp| (cell, imp)))
        .filter_map(|(cell, imp)| {
            let s = Table { results }.summary(&cell.name(), imp)?;
            let spread = s.spread();
            (s.n >= 3 && spread > NOISY).then(|| (spread, format!("{} {imp}", cell.name())))
        })
        .collect();
    if !noisy.is_empty() {
        noisy.sort_by(|a, b| b.0.total_cmp(&a.0));
        let shown: Vec<String> = noisy
            .iter()
            .take(8)
            .map(|(spread, name)| format!("{name} (max − min = {:.0} %)", spread * 100.0))
            .collect();
        let _ = writeln!(
            md,
            "\n{} of the cells above spread (max − min) over {:.0} % of their median; the \
             widest: {}.",
            noisy.len(),
            NOISY * 100.0,
            shown.join("; ")
        );
    }
    let failures = results.failures();
    if !failures.is_empty() {
        let _ = writeln!(md, "\n### Failures\n");
        for f in failures {
            let first = f.lines().next().unwrap_or_default();
            let _ = writeln!(md, "* {first}");
        }
    }
}

/// The chart's two panels: PUSH/PULL throughput and REQ/REP latency by size.
pub fn chart(config: &Config, results: &Results, machine: &Machine) -> String {
    let t = Table { results };
    let panel = |title: &str, tick: fn(f64) -> String, make: &dyn Fn(Transport, usize) -> Test| {
        let mut series = Vec::new();
        for imp in Impl::ALL {
            for transport in Transport::ALL {
                let points: Vec<(f64, f64)> = SIZES
                    .iter()
                    .filter_map(|&size| {
                        let cell = Cell {
                            test: make(transport, size),
                            count_allocs: false,
                        };
                        let s = t.summary(&cell.name(), imp)?;
                        Some((size as f64, s.median))
                    })
                    .collect();
                if !points.is_empty() {
                    series.push(svg::Series {
                        imp,
                        transport,
                        points,
                    });
                }
            }
        }
        svg::Panel {
            title: title.to_string(),
            tick,
            series,
        }
    };
    let panels = [
        panel(
            "PUSH→PULL throughput, messages/s (higher is better)",
            rate,
            &|transport, size| Test::Throughput {
                pattern: Pattern::PushPull,
                transport,
                size,
                count: 0,
            },
        ),
        panel(
            "REQ/REP one-way latency, µs (lower is better)",
            sig3,
            &|transport, size| Test::Latency {
                transport,
                size,
                count: 0,
            },
        ),
    ];
    svg::chart(
        &panels,
        &format!(
            "{} ({} cores), Linux {}, {}; median of {} round(s)",
            machine.cpu, machine.cores, machine.kernel, machine.date, config.rounds
        ),
    )
}

/// Every sample, for anyone who wants to redo the statistics.
pub fn json(config: &Config, results: &Results, machine: &Machine) -> String {
    let mut j = String::from("{\n");
    let _ = writeln!(
        j,
        "  \"machine\": {{\"cpu\": {}, \"cores\": {}, \"kernel\": {}}},",
        quote(&machine.cpu),
        machine.cores,
        quote(&machine.kernel)
    );
    let _ = writeln!(
        j,
        "  \"date\": {},\n  \"versions\": {{\"ferrozmq\": {}, \"libzmq\": {}, \"zmq.rs\": {}}},",
        quote(&machine.date),
        quote(&machine.ferrozmq),
        quote(&machine.libzmq),
        quote(&machine.zmqrs)
    );
    let _ = writeln!(
        j,
        "  \"rounds\": {},\n  \"scale\": {},\n  \"command\": {},\n  \"wall_time_s\": {:.1},",
        config.rounds,
        config.scale,
        quote(&config.command),
        results.wall_time_s
    );
    j.push_str("  \"runs\": [\n");
    let runs: Vec<String> = results
        .runs
        .iter()
        .map(|r| {
            let cell = results.cells.iter().find(|c| c.name() == r.cell);
            let head = format!(
                "{{\"cell\": {}, \"impl\": {}, \"round\": {}, ",
                quote(&r.cell),
                quote(r.imp.name()),
                r.round + 1
            );
            match (&r.outcome, cell) {
                (Ok(s), Some(cell)) => format!(
                    "    {head}\"value\": {}, \"unit\": {}, \"elapsed_s\": {}, \"msgs\": {}, \
                     \"cpu_s\": {}, \"allocs\": {}, \"rust_allocs\": {}, \"rss_kib\": {}}}",
                    number(value(cell, s)),
                    quote(unit(cell)),
                    number(s.elapsed_s),
                    s.msgs,
                    number(s.cpu_s),
                    s.allocs,
                    s.rust_allocs,
                    s.rss_kib
                ),
                (Err(e), _) => format!("    {head}\"error\": {}}}", quote(e)),
                (Ok(_), None) => format!("    {head}\"error\": \"unknown cell\"}}"),
            }
        })
        .collect();
    j.push_str(&runs.join(",\n"));
    j.push_str("\n  ],\n  \"syscalls\": [\n");
    let sys: Vec<String> = results
        .syscalls
        .iter()
        .map(|(imp, s)| match s {
            Ok(s) => {
                let top: Vec<String> = s
                    .top
                    .iter()
                    .map(|(n, c)| format!("[{}, {}]", quote(n), number(*c)))
                    .collect();
                format!(
                    "    {{\"impl\": {}, \"per_msg\": {}, \"top\": [{}]}}",
                    quote(imp.name()),
                    number(s.per_msg),
                    top.join(", ")
                )
            }
            Err(e) => format!(
                "    {{\"impl\": {}, \"error\": {}}}",
                quote(imp.name()),
                quote(e)
            ),
        })
        .collect();
    j.push_str(&sys.join(",\n"));
    j.push_str("\n  ]\n}\n");
    j
}

fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `YYYY-MM-DD HH:MM UTC`, from the system clock (days-to-civil, proleptic Gregorian).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The crate version and the commit it was built from (read-only git query; edits not
/// yet committed are not visible in it).
fn ferrozmq_revision() -> String {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match commit {
        Some(c) => format!("{} @ {c}", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// A package's version in the workspace's Cargo.lock.
fn locked_version(package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    lines.find(|l| *l == format!("name = \"{package}\""))?;
    let version = lines.next()?.strip_prefix("version = ")?;
    Some(version.trim_matches('"').to_string())
}
