//! The parent process: which cells to measure, in what order, and the results.
//!
//! Implementations alternate cell by cell, and the order rotates every round
//! (ferrozmq, libzmq, zmq.rs; then libzmq, zmq.rs, ferrozmq; ...), so a slow drift of
//! the machine (thermal, another tenant) spreads over all three instead of landing on
//! whichever ran last.

use std::path::PathBuf;
use std::time::Instant;

use crate::model::{self, Impl, Job, Pattern, Result, Test, Transport, SIZES};
use crate::probe::Sample;
use crate::runner;

/// How the bench was asked to run.
pub struct Config {
    pub rounds: usize,
    pub scale: f64,
    /// Cells run only if their name contains one of these (all if empty).
    pub filters: Vec<String>,
    pub out_dir: PathBuf,
    /// The command that reproduces this run, for the report.
    pub command: String,
}

/// One line of the plan: a test, timed or with allocations counted.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub test: Test,
    pub count_allocs: bool,
}

impl Cell {
    /// The name filters see and the report keys on.
    pub fn name(&self) -> String {
        if self.count_allocs {
            format!("allocs/{}", self.test.name())
        } else {
            self.test.name()
        }
    }
}

/// The 64 B tcp PUSH/PULL test, whose costs (CPU, allocations, syscalls) are reported.
pub fn cost_test(scale: f64) -> Test {
    Test::Throughput {
        pattern: Pattern::PushPull,
        transport: Transport::Tcp,
        size: 64,
        count: model::throughput_count(64, scale),
    }
}

/// Name of the syscall-count measurement (run under strace, once per implementation).
pub fn syscalls_name(scale: f64) -> String {
    format!("syscalls/{}", cost_test(scale).name())
}

pub const IDLE_CONNECTIONS: u64 = 1000;
pub const QUEUED_MESSAGES: u64 = 100_000;
pub const QUEUED_SIZE: usize = 64;

/// Every cell, in run order.
pub fn all_cells(scale: f64) -> Vec<Cell> {
    let timed = |test| Cell {
        test,
        count_allocs: false,
    };
    let mut cells = Vec::new();
    for transport in Transport::ALL {
        for size in SIZES {
            cells.push(timed(Test::Throughput {
                pattern: Pattern::PushPull,
                transport,
                size,
                count: model::throughput_count(size, scale),
            }));
        }
    }
    for transport in Transport::ALL {
        for size in SIZES {
            cells.push(timed(Test::Latency {
                transport,
                size,
                count: model::latency_count(size, scale),
            }));
        }
    }
    cells.push(timed(Test::Throughput {
        pattern: Pattern::DealerRouter,
        transport: Transport::Tcp,
        size: 64,
        count: model::throughput_count(64, scale),
    }));
    cells.push(Cell {
        test: cost_test(scale),
        count_allocs: true,
    });
    cells.push(timed(Test::IdleConnections {
        count: IDLE_CONNECTIONS,
    }));
    cells.push(timed(Test::Queued {
        size: QUEUED_SIZE,
        count: QUEUED_MESSAGES,
    }));
    cells
}

impl Config {
    pub fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }
}

/// One child's outcome.
pub struct Run {
    pub cell: String,
    pub imp: Impl,
    pub round: usize,
    pub outcome: Result<Sample>,
}

/// Syscalls per message, from the difference of a long and a short strace run (so
/// process start-up and shutdown cancel out).
#[derive(Clone, Debug)]
pub struct Syscalls {
    pub per_msg: f64,
    /// Per message from the kernel's own counter (`perf stat`), at full speed; `None`
    /// where perf can't count.
    pub counted: Option<f64>,
    /// The most frequent syscalls, per message, most frequent first.
    pub top: Vec<(String, f64)>,
}

pub struct Results {
    pub cells: Vec<Cell>,
    pub runs: Vec<Run>,
    pub syscalls: Vec<(Impl, Result<Syscalls>)>,
    pub wall_time_s: f64,
}

impl Results {
    /// Samples of one implementation in one cell, in round order (failures skipped).
    pub fn samples(&self, cell: &str, imp: Impl) -> Vec<Sample> {
        self.runs
            .iter()
            .filter(|r| r.cell == cell && r.imp == imp)
            .filter_map(|r| r.outcome.as_ref().ok().copied())
            .collect()
    }

    /// The first failure of one implementation in one cell.
    pub fn failure(&self, cell: &str, imp: Impl) -> Option<&str> {
        self.runs
            .iter()
            .filter(|r| r.cell == cell && r.imp == imp)
            .find_map(|r| r.outcome.as_ref().err().map(String::as_str))
    }

    pub fn failures(&self) -> Vec<String> {
        let runs = self.runs.iter().filter_map(|r| {
            let e = r.outcome.as_ref().err()?;
            Some(format!("{} {} round {}: {e}", r.cell, r.imp, r.round + 1))
        });
        let syscalls = self.syscalls.iter().filter_map(|(imp, s)| {
            let e = s.as_ref().err()?;
            Some(format!("syscalls {imp}: {e}"))
        });
        runs.chain(syscalls).collect()
    }
}

/// Runs the plan. Failures are recorded (and shown at once), not fatal: the report
/// marks them and the bench exits non-zero after writing it.
pub fn run(config: &Config) -> Results {
    let started = Instant::now();
    let cells: Vec<Cell> = all_cells(config.scale)
        .into_iter()
        .filter(|c| config.wants(&c.name()))
        .collect();
    let mut runs = Vec::new();
    for round in 0..config.rounds {
        let mut order = Impl::ALL;
        order.rotate_left(round % Impl::ALL.len());
        for cell in &cells {
            for imp in order {
                if imp.unsupported(&cell.test).is_some() {
                    continue;
                }
                let job = Job {
                    imp,
                    test: cell.test,
                    count_allocs: cell.count_allocs,
                };
                let outcome = runner::run(job);
                progress(round, config.rounds, &cell.name(), imp, &outcome);
                runs.push(Run {
                    cell: cell.name(),
                    imp,
                    round,
                    outcome,
                });
            }
        }
    }
    let syscalls = if config.wants(&syscalls_name(config.scale)) {
        count_syscalls(config)
    } else {
        Vec::new()
    };
    Results {
        cells,
        runs,
        syscalls,
        wall_time_s: started.elapsed().as_secs_f64(),
    }
}

fn progress(round: usize, rounds: usize, cell: &str, imp: Impl, outcome: &Result<Sample>) {
    let what = match outcome {
        Ok(s) if s.elapsed_s > 0.0 => format!(
            "{} msgs in {:.3} s ({:.0}/s)",
            s.msgs,
            s.elapsed_s,
            s.msgs as f64 / s.elapsed_s
        ),
        Ok(s) => format!("rss +{} KiB", s.rss_kib),
        Err(e) => format!("FAILED: {e}"),
    };
    eprintln!("[round {}/{rounds}] {cell} {imp}: {what}", round + 1);
}

/// Messages in the (long, short) strace runs. The short run's counts (start-up,
/// handshake, shutdown) are subtracted from the long one's. strace stops the process
/// at every syscall, so the long run is 10 times shorter than the timed one, to stay
/// well inside the child deadline.
pub fn strace_messages(scale: f64) -> (u64, u64) {
    const BASELINE: u64 = 2_000;
    (model::scaled(200_000, scale).max(10 * BASELINE), BASELINE)
}

/// Syscalls per message from the kernel counter over a full-size run minus a short
/// one, at full speed (see [`runner::perf_syscalls`]).
fn counted_syscalls(config: &Config, imp: Impl) -> Option<f64> {
    if !runner::have_perf_syscalls() {
        return None;
    }
    let test = cost_test(config.scale);
    let long = model::throughput_count(64, config.scale);
    let short = strace_messages(config.scale).1;
    let count = |n| {
        let job = Job {
            imp,
            test: test.with_count(n),
            count_allocs: false,
        };
        runner::perf_syscalls(job, &config.out_dir)
    };
    let (l, s) = (count(long).ok()?, count(short).ok()?);
    let per_msg = l.saturating_sub(s) as f64 / (long - short) as f64;
    eprintln!("[perf stat] {imp}: {per_msg:.4} syscalls/msg");
    Some(per_msg)
}

fn count_syscalls(config: &Config) -> Vec<(Impl, Result<Syscalls>)> {
    if !runner::have_strace() {
        let why = "strace is not available".to_string();
        return Impl::ALL.iter().map(|&i| (i, Err(why.clone()))).collect();
    }
    let (long, short) = strace_messages(config.scale);
    let test = cost_test(config.scale);
    Impl::ALL
        .iter()
        .filter(|imp| imp.unsupported(&test).is_none())
        .map(|&imp| {
            let count = |n| {
                let job = Job {
                    imp,
                    test: test.with_count(n),
                    count_allocs: false,
                };
                runner::strace(job, &config.out_dir)
            };
            let result = count(long).and_then(|(total, by_name)| {
                let (base_total, base_by_name) = count(short)?;
                let msgs = (long - short) as f64;
                let base = |name: &str| {
                    base_by_name
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(0, |&(_, c)| c)
                };
                let mut top: Vec<(String, f64)> = by_name
                    .iter()
                    .map(|(name, c)| (name.clone(), c.saturating_sub(base(name)) as f64 / msgs))
                    .collect();
                top.sort_by(|a, b| b.1.total_cmp(&a.1));
                top.truncate(5);
                Ok(Syscalls {
                    per_msg: total.saturating_sub(base_total) as f64 / msgs,
                    counted: counted_syscalls(config, imp),
                    top,
                })
            });
            match &result {
                Ok(s) => eprintln!("[strace] {imp}: {:.3} syscalls/msg", s.per_msg),
                Err(e) => eprintln!("[strace] {imp}: FAILED: {e}"),
            }
            (imp, result)
        })
        .collect()
}
