//! What a measurement is: which implementation runs which test. A [`Job`] travels from
//! the parent to a child process as command-line words, so this module owns both
//! directions of that encoding, and the default message counts.

use std::fmt;

/// Errors in the harness are messages for a human; they end up in the report.
pub type Result<T> = std::result::Result<T, String>;

/// The implementations under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impl {
    Ferro,
    Libzmq,
    ZmqRs,
}

impl Impl {
    pub const ALL: [Impl; 3] = [Impl::Ferro, Impl::Libzmq, Impl::ZmqRs];

    pub fn name(self) -> &'static str {
        match self {
            Impl::Ferro => "ferrozmq",
            Impl::Libzmq => "libzmq",
            Impl::ZmqRs => "zmq.rs",
        }
    }

    fn parse(s: &str) -> Result<Impl> {
        Impl::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown implementation {s:?}"))
    }

    /// Why this implementation can't run `test`, if it can't.
    pub fn unsupported(self, test: &Test) -> Option<&'static str> {
        match (self, test) {
            (Impl::ZmqRs, t) if t.transport() == Some(Transport::Inproc) => {
                Some("zmq.rs has no inproc transport")
            }
            (Impl::ZmqRs, Test::Queued { .. }) => Some(
                "zmq.rs has no send queue: PUSH refuses a message without a live peer, \
                 and blocks on the TCP buffer of a peer that doesn't read",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    Tcp,
    Ipc,
    Inproc,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Tcp, Transport::Ipc, Transport::Inproc];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }

    fn parse(s: &str) -> Result<Transport> {
        Transport::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown transport {s:?}"))
    }

    /// An endpoint to bind, unique to this process (ipc paths and inproc names), with a
    /// wildcard port for tcp in the syntax `tcp_any_port` (libzmq's `*`, zmq.rs's `0`).
    pub fn bind_endpoint(self, tcp_any_port: &str) -> String {
        match self {
            Transport::Tcp => format!("tcp://127.0.0.1:{tcp_any_port}"),
            Transport::Ipc => format!("ipc://{}", ipc_path().display()),
            Transport::Inproc => format!("inproc://ferrozmq-bench-{}", std::process::id()),
        }
    }
}

/// This process's ipc socket file (not every implementation removes it on close).
pub fn ipc_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ferrozmq-bench-{}.ipc", std::process::id()))
}

/// Socket roles, mapped by each implementation to its own socket types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Push,
    Pull,
    Req,
    Rep,
    Dealer,
    Router,
}

/// The two throughput patterns: the sender's kind, then the receiver's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pattern {
    PushPull,
    DealerRouter,
}

impl Pattern {
    pub fn name(self) -> &'static str {
        match self {
            Pattern::PushPull => "push-pull",
            Pattern::DealerRouter => "dealer-router",
        }
    }

    fn parse(s: &str) -> Result<Pattern> {
        [Pattern::PushPull, Pattern::DealerRouter]
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown pattern {s:?}"))
    }

    /// (sender, receiver)
    pub fn kinds(self) -> (Kind, Kind) {
        match self {
            Pattern::PushPull => (Kind::Push, Kind::Pull),
            Pattern::DealerRouter => (Kind::Dealer, Kind::Router),
        }
    }
}

/// One measurement, as run by one child process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Test {
    /// `count` messages of `size` bytes from a sender thread to a receiver thread.
    Throughput {
        pattern: Pattern,
        transport: Transport,
        size: usize,
        count: u64,
    },
    /// `count` REQ/REP roundtrips of `size` bytes.
    Latency {
        transport: Transport,
        size: usize,
        count: u64,
    },
    /// A bound ROUTER holding `count` idle tcp connections from another process.
    IdleConnections { count: u64 },
    /// `count` messages of `size` bytes queued by a PUSH that can't deliver them.
    Queued { size: usize, count: u64 },
}

impl Test {
    pub fn transport(&self) -> Option<Transport> {
        match *self {
            Test::Throughput { transport, .. } | Test::Latency { transport, .. } => Some(transport),
            Test::IdleConnections { .. } | Test::Queued { .. } => Some(Transport::Tcp),
        }
    }

    /// The same test with another message/roundtrip count.
    pub fn with_count(mut self, n: u64) -> Test {
        match &mut self {
            Test::Throughput { count, .. }
            | Test::Latency { count, .. }
            | Test::IdleConnections { count }
            | Test::Queued { count, .. } => *count = n,
        }
        self
    }

    /// The name filters match against, without the count (which scales).
    pub fn name(&self) -> String {
        match *self {
            Test::Throughput {
                pattern,
                transport,
                size,
                ..
            } => format!("thr/{}/{}/{size}B", pattern.name(), transport.name()),
            Test::Latency {
                transport, size, ..
            } => format!("lat/req-rep/{}/{size}B", transport.name()),
            Test::IdleConnections { count } => format!("mem/idle-conns/tcp/{count}"),
            Test::Queued { size, count } => format!("mem/queued/tcp/{count}x{size}B"),
        }
    }

    fn to_words(self) -> Vec<String> {
        match self {
            Test::Throughput {
                pattern,
                transport,
                size,
                count,
            } => vec![
                "thr".into(),
                pattern.name().into(),
                transport.name().into(),
                size.to_string(),
                count.to_string(),
            ],
            Test::Latency {
                transport,
                size,
                count,
            } => vec![
                "lat".into(),
                transport.name().into(),
                size.to_string(),
                count.to_string(),
            ],
            Test::IdleConnections { count } => vec!["idle".into(), count.to_string()],
            Test::Queued { size, count } => {
                vec!["queued".into(), size.to_string(), count.to_string()]
            }
        }
    }

    fn parse(words: &[&str]) -> Result<Test> {
        let num = |s: &str| s.parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
        Ok(match words {
            ["thr", p, t, size, count] => Test::Throughput {
                pattern: Pattern::parse(p)?,
                transport: Transport::parse(t)?,
                size: num(size)? as usize,
                count: num(count)?,
            },
            ["lat", t, size, count] => Test::Latency {
                transport: Transport::parse(t)?,
                size: num(size)? as usize,
                count: num(count)?,
            },
            ["idle", count] => Test::IdleConnections { count: num(count)? },
            ["queued", size, count] => Test::Queued {
                size: num(size)? as usize,
                count: num(count)?,
            },
            _ => return Err(format!("bad test description {words:?}")),
        })
    }
}

/// A test run by one implementation in one child process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub imp: Impl,
    pub test: Test,
    /// Count allocations (a separate run: the counters would perturb the timed one).
    pub count_allocs: bool,
}

impl Job {
    /// The child's command-line words (after `--child`).
    pub fn to_args(self) -> Vec<String> {
        let mut args = vec![self.imp.name().to_string()];
        args.extend(self.test.to_words());
        if self.count_allocs {
            args.push("allocs".into());
        }
        args
    }

    pub fn parse(args: &[String]) -> Result<Job> {
        let mut words: Vec<&str> = args.iter().map(String::as_str).collect();
        let count_allocs = words.last() == Some(&"allocs");
        if count_allocs {
            words.pop();
        }
        let (imp, test) = words.split_first().ok_or("empty job")?;
        Ok(Job {
            imp: Impl::parse(imp)?,
            test: Test::parse(test)?,
            count_allocs,
        })
    }
}

/// The message sizes of the size sweep.
pub const SIZES: [usize; 4] = [1, 64, 1024, 65536];

/// Messages per throughput run at `scale` 1: about 0.3 to 1 s for the fast
/// implementations on a small machine.
pub fn throughput_count(size: usize, scale: f64) -> u64 {
    scaled(
        match size {
            0..=64 => 2_000_000,
            65..=1024 => 500_000,
            _ => 20_000,
        },
        scale,
    )
}

/// Roundtrips per latency run at `scale` 1.
pub fn latency_count(size: usize, scale: f64) -> u64 {
    scaled(if size <= 1024 { 20_000 } else { 5_000 }, scale)
}

pub fn scaled(n: u64, scale: f64) -> u64 {
    ((n as f64 * scale).round() as u64).max(100)
}
