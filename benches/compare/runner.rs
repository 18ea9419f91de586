//! Running measurements in child processes: the bench binary re-executes itself with
//! `--child <job>`, so each measurement gets a fresh process whose CPU time,
//! allocations, syscalls and memory belong to it alone, and no implementation's
//! threads or heap state can disturb another's.
//!
//! Every child has a deadline; one that misses it is killed and reported, as is one
//! that exits without a result or with an error.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::model::{Job, Result, Test};
use crate::probe::{self, Sample};

/// How long a child may run before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `job` in a child and returns its result.
pub fn run(job: Job) -> Result<Sample> {
    match job.test {
        Test::IdleConnections { count } => idle_connections(job, count),
        _ => {
            let mut child = Child::spawn(child_command(None, &job.to_args()), TIMEOUT)?;
            let line = child.line(Sample::is_line)?;
            child.wait()?;
            Sample::parse(&line)
        }
    }
}

/// Syscall counts of `job` from `strace -f -c`: (total, per syscall name), counting
/// every thread of the child from exec to exit.
pub fn strace(job: Job, out_dir: &Path) -> Result<(u64, Vec<(String, u64)>)> {
    let file = out_dir.join(format!("strace-{}.txt", std::process::id()));
    let mut child = Child::spawn(child_command(Some(&file), &job.to_args()), TIMEOUT)?;
    child.line(Sample::is_line)?;
    child.wait()?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("strace output: {e}"))?;
    let _ = std::fs::remove_file(&file);
    parse_strace(&text)
}

/// Syscalls made by `job` (every thread, exec to exit), counted by the kernel's
/// `raw_syscalls:sys_enter` tracepoint through `perf stat`. Unlike strace this does not
/// stop the process at each call, so batching is what it is in a normal run.
pub fn perf_syscalls(job: Job, out_dir: &Path) -> Result<u64> {
    let file = out_dir.join(format!("perf-stat-{}.txt", std::process::id()));
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut cmd = Command::new("perf");
    cmd.args(["stat", "-x,", "-e", "raw_syscalls:sys_enter", "-o"])
        .arg(&file)
        .arg("--")
        .arg(exe)
        .arg("--child")
        .args(job.to_args());
    let mut child = Child::spawn(cmd, TIMEOUT)?;
    child.line(Sample::is_line)?;
    child.wait()?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("perf output: {e}"))?;
    let _ = std::fs::remove_file(&file);
    text.lines()
        .find(|l| l.contains("raw_syscalls:sys_enter"))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no syscall count in perf output: {text}"))
}

/// Whether `perf stat` can count syscalls here (it needs tracepoint access).
pub fn have_perf_syscalls() -> bool {
    Command::new("perf")
        .args([
            "stat",
            "-x,",
            "-e",
            "raw_syscalls:sys_enter",
            "-o",
            "/dev/null",
            "true",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `strace` can trace here.
pub fn have_strace() -> bool {
    Command::new("strace")
        .args(["-f", "-c", "-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The measured child prints its endpoint; a second child (libzmq) then opens the
/// connections to it and holds them until the measured one has reported.
fn idle_connections(job: Job, count: u64) -> Result<Sample> {
    let mut measured = Child::spawn(child_command(None, &job.to_args()), TIMEOUT)?;
    let line = measured.line(|l| probe::parse_endpoint(l).is_some())?;
    let endpoint = probe::parse_endpoint(&line).unwrap_or_default().to_string();
    let mut connect = child_command(None, &[]);
    connect.args(["--connector", &endpoint, &count.to_string()]);
    let mut connector = Child::spawn(connect, TIMEOUT)?;
    connector
        .line(|l| l.starts_with("CONNECTED"))
        .map_err(|e| format!("connector: {e}"))?;
    let line = measured.line(Sample::is_line)?;
    drop(connector); // killed
    measured.wait()?;
    Sample::parse(&line)
}

/// This executable with `--child <args>`, under strace if `strace_to` is given.
fn child_command(strace_to: Option<&Path>, args: &[String]) -> Command {
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut cmd = match strace_to {
        Some(file) => {
            let mut cmd = Command::new("strace");
            cmd.args(["-f", "-c", "-o"]).arg(file).arg(exe);
            cmd
        }
        None => Command::new(exe),
    };
    if !args.is_empty() {
        cmd.arg("--child").args(args);
    }
    cmd
}

/// A running child with a deadline. Dropping it kills it if it still runs.
struct Child {
    process: std::process::Child,
    stdout: Receiver<String>,
    stderr: thread::JoinHandle<String>,
    deadline: Instant,
    timeout: Duration,
    what: String,
}

impl Child {
    fn spawn(mut cmd: Command, timeout: Duration) -> Result<Child> {
        let program = Path::new(cmd.get_program()).file_name().unwrap_or_default();
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        let what = format!("`{} {}`", program.to_string_lossy(), args.join(" "));
        // A process group of its own, so a timeout kills everything it started too
        // (strace's tracee, for one).
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut process = cmd.spawn().map_err(|e| format!("{what}: {e}"))?;
        let out = process.stdout.take().expect("piped stdout");
        let mut err = process.stderr.take().expect("piped stderr");
        let (tx, stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Ok(Child {
            process,
            stdout,
            stderr,
            deadline: Instant::now() + timeout,
            timeout,
            what,
        })
    }

    /// The first stdout line that `wanted`, waiting until the deadline.
    fn line(&mut self, wanted: impl Fn(&str) -> bool) -> Result<String> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if wanted(&line) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Err(self.fail("timed out")),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.fail("ended without a result"))
                }
            }
        }
    }

    /// Waits for a successful exit until the deadline.
    fn wait(&mut self) -> Result<()> {
        loop {
            match self.process.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(_)) => return Err(self.fail("failed")),
                Ok(None) if Instant::now() >= self.deadline => {
                    return Err(self.fail("timed out at exit"))
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(format!("{}: {e}", self.what)),
            }
        }
    }

    /// Kills the child and describes the failure with its stderr.
    fn fail(&mut self, why: &str) -> String {
        self.kill();
        let status = self
            .process
            .wait()
            .map(|s| s.to_string())
            .unwrap_or_default();
        let stderr = std::mem::replace(&mut self.stderr, thread::spawn(String::new))
            .join()
            .unwrap_or_default();
        let tail: String = {
            let lines: Vec<&str> = stderr.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n  ")
        };
        format!(
            "{} {why} ({status}; time limit {} s); stderr:\n  {tail}",
            self.what,
            self.timeout.as_secs()
        )
    }
}

impl Child {
    /// Kills the child's process group (the child and whatever it started).
    fn kill(&mut self) {
        if let Ok(None) = self.process.try_wait() {
            // SAFETY: a signal to the group this child leads (its id is the group's).
            unsafe { libc::kill(-(self.process.id() as libc::pid_t), libc::SIGKILL) };
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
        let _ = self.process.wait();
    }
}

/// Parses `strace -c`'s table: `% time  seconds  usecs/call  calls  [errors]  syscall`
/// rows, then a `total` row.
fn parse_strace(text: &str) -> Result<(u64, Vec<(String, u64)>)> {
    let mut total = None;
    let mut calls = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 5 || fields[0].parse::<f64>().is_err() {
            continue;
        }
        let (Ok(n), Some(name)) = (fields[3].parse::<u64>(), fields.last()) else {
            continue;
        };
        if *name == "total" {
            total = Some(n);
        } else {
            calls.push((name.to_string(), n));
        }
    }
    let total = total.ok_or_else(|| format!("no total in strace output:\n{text}"))?;
    Ok((total, calls))
}
