//! What a child measures about itself, and the one line it reports it in.
//!
//! Clock, CPU time and allocation counters are read together into a [`Snapshot`], so
//! the interval between two snapshots gives all three over exactly the same messages.
//! CPU time is `getrusage(RUSAGE_SELF)`, user plus system, of every thread of the
//! child: both ends *and* the implementation's I/O threads, which is why each
//! measurement runs in a process of its own.

use std::time::{Duration, Instant};

use crate::alloc;
use crate::model::Result;

/// Counters at one instant.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    at: Instant,
    cpu: Duration,
    allocs: alloc::Counts,
}

impl Snapshot {
    pub fn take() -> Snapshot {
        Snapshot {
            at: Instant::now(),
            cpu: cpu_time(),
            allocs: alloc::counts(),
        }
    }
}

/// A child's result. Fields a test doesn't measure stay zero.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Seconds of the timed interval.
    pub elapsed_s: f64,
    /// Messages (throughput) or roundtrips (latency) in the timed interval.
    pub msgs: u64,
    /// CPU seconds of the whole process in the timed interval.
    pub cpu_s: f64,
    /// Malloc-family calls from any code in the interval (0 unless counted).
    pub allocs: u64,
    /// Of which through Rust's allocator.
    pub rust_allocs: u64,
    /// Resident memory growth, KiB (memory tests).
    pub rss_kib: i64,
}

impl Sample {
    /// The interval from `start` to `end`, covering `msgs` messages.
    pub fn between(start: &Snapshot, end: &Snapshot, msgs: u64) -> Sample {
        Sample {
            elapsed_s: end.at.duration_since(start.at).as_secs_f64(),
            msgs,
            cpu_s: end.cpu.saturating_sub(start.cpu).as_secs_f64(),
            allocs: end.allocs.all - start.allocs.all,
            rust_allocs: end.allocs.rust - start.allocs.rust,
            rss_kib: 0,
        }
    }

    const PREFIX: &'static str = "RESULT ";

    /// The line a child prints on stdout.
    pub fn to_line(self) -> String {
        format!(
            "{}elapsed_s={:.9} msgs={} cpu_s={:.6} allocs={} rust_allocs={} rss_kib={}",
            Self::PREFIX,
            self.elapsed_s,
            self.msgs,
            self.cpu_s,
            self.allocs,
            self.rust_allocs,
            self.rss_kib
        )
    }

    /// Whether `line` is a result line (children's stdout has other lines too).
    pub fn is_line(line: &str) -> bool {
        line.starts_with(Self::PREFIX)
    }

    pub fn parse(line: &str) -> Result<Sample> {
        let mut s = Sample::default();
        let body = line
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| format!("not a result line: {line:?}"))?;
        for field in body.split_whitespace() {
            let (key, value) = field
                .split_once('=')
                .ok_or_else(|| format!("bad field {field:?}"))?;
            let bad = |e: &dyn std::fmt::Display| format!("bad value in {field:?}: {e}");
            match key {
                "elapsed_s" => s.elapsed_s = value.parse().map_err(|e| bad(&e))?,
                "msgs" => s.msgs = value.parse().map_err(|e| bad(&e))?,
                "cpu_s" => s.cpu_s = value.parse().map_err(|e| bad(&e))?,
                "allocs" => s.allocs = value.parse().map_err(|e| bad(&e))?,
                "rust_allocs" => s.rust_allocs = value.parse().map_err(|e| bad(&e))?,
                "rss_kib" => s.rss_kib = value.parse().map_err(|e| bad(&e))?,
                _ => return Err(format!("unknown field {key:?}")),
            }
        }
        Ok(s)
    }
}

/// User plus system CPU time of every thread of this process so far.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Resident set size (VmRSS), KiB.
pub fn rss_kib() -> Result<i64> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".to_string())
}

/// Open file descriptors of this process (accepted connections show up here).
pub fn open_fds() -> Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")
        .map_err(|e| e.to_string())?
        .count())
}

/// Raises the soft open-files limit to the hard one (a thousand connections need two
/// thousand descriptors on the connecting side).
pub fn raise_fd_limit() {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Checks a received message's size: a harness that counts messages must also notice
/// if they are the wrong ones.
#[inline]
pub fn expect_len(got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("received {got} bytes, expected {want}"))
    }
}

/// The measured side of the idle-connections test, shared by all implementations:
/// the caller has created its context; `bind` creates the bound socket and returns
/// its endpoint and the socket; `peers` reports how many peers it has completed a
/// handshake with, if the implementation can tell. Prints the endpoint for the parent
/// (which then starts the connecting process), waits until `count` connections are
/// accepted (and handshaken, where `peers` can tell), lets them settle for a second,
/// and reports the RSS growth since before `bind`. The socket is then leaked on
/// purpose: the child exits right after reporting.
pub fn idle_connections<S>(
    count: u64,
    bind: impl FnOnce() -> Result<(String, S)>,
    peers: impl Fn(&S) -> Option<usize>,
) -> Result<Sample> {
    let before = rss_kib()?;
    let (endpoint, socket) = bind()?;
    let fds = open_fds()?;
    announce_endpoint(&endpoint);
    let deadline = Instant::now() + Duration::from_secs(40);
    let count = count as usize;
    loop {
        let accepted = open_fds()?.saturating_sub(fds);
        let handshaken = peers(&socket).unwrap_or(accepted);
        if accepted >= count && handshaken >= count {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {accepted} connections accepted, {handshaken} handshaken, of {count}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(1));
    let sample = Sample {
        rss_kib: rss_kib()? - before,
        msgs: count as u64,
        ..Sample::default()
    };
    std::mem::forget(socket);
    Ok(sample)
}

const ENDPOINT_PREFIX: &str = "ENDPOINT ";

/// Tells the parent where a measured child listens.
pub fn announce_endpoint(endpoint: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{ENDPOINT_PREFIX}{endpoint}");
    let _ = out.flush();
}

/// The endpoint in an [`announce_endpoint`] line.
pub fn parse_endpoint(line: &str) -> Option<&str> {
    line.strip_prefix(ENDPOINT_PREFIX)
}

/// Reports a child's failure and ends it, whatever its other threads are doing.
pub fn die(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}

/// A tcp endpoint on which nothing listens (a port the kernel just handed out and
/// that was closed again).
pub fn unused_tcp_endpoint() -> Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok(format!("tcp://127.0.0.1:{port}"))
}

/// The value of a scenario thread's or task's work. An error ends the whole child at
/// once: the other end would otherwise wait forever for a message that never comes.
pub fn or_die<T>(who: &str, result: Result<T>) -> T {
    result.unwrap_or_else(|e| die(&format!("{who}: {e}")))
}
