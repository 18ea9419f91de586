//! `cargo bench --bench fanout`: what one PUB `send` costs as the number of subscribed
//! topics and of subscribers grows, ferrozmq and libzmq (4.3.4, through the `zmq`
//! crate) side by side in the same run.
//!
//! ```text
//! cargo bench --bench fanout                 # 16 cells, 7 rounds (well under a minute)
//! cargo bench --bench fanout -- --quick      # 4 cells, 3 rounds, smaller batches
//! BENCH_OUT=docs/perf cargo bench --bench fanout   # also writes docs/perf/fanout.md
//! ```
//!
//! **Setup of a cell** (S subscribers, T topics), for each implementation: one PUB bound
//! to an inproc endpoint (each implementation's own inproc), S SUB sockets connected to
//! it, and T distinct topics `topic-00000` … `topic-09999` shared out over the
//! subscribers: subscription number p, for p in 0..max(S, T), is subscriber p mod S
//! subscribing to topic p mod T. So every subscriber has at least one topic and every
//! topic at least one subscriber; there are max(S, T) subscriptions in all, and a topic
//! has max(1, S/T) subscribers (rounded). SNDHWM and RCVHWM are 0 (no limit) on both
//! sides and LINGER 0: libzmq sends subscriptions through the SUB→PUB pipe under its
//! high-water mark and silently drops those that find it full (2000 with the defaults
//! over inproc), which would lose most of a 10000-topic subscriber's topics. Before timing, the publisher sends probes on each subscriber's last
//! subscribed topic until every subscriber has received its probe (subscriptions
//! reach the publisher in order, so all of them are then in force), and everything
//! received so far is drained.
//!
//! **What is timed**: a batch of single-frame 32-byte sends on the publisher's thread,
//! nothing else running; the result is the batch's wall time divided by the number of
//! sends, in ns per `send` call. Two cases:
//!
//! * *non-matching*: each message's topic is a subscribed topic with its last digit
//!   replaced by `x` (`topic-0004x`), so the publisher walks its prefix index nearly to
//!   the end and finds nobody. Nothing is delivered: this is the pure matching cost.
//! * *matching*: messages cycle through the T topics (topic k·7919 mod T for the k-th
//!   message), so each goes to that topic's subscribers (the "fan-out" column). The
//!   subscribers are drained after the batch, untimed; queues are unlimited, so the
//!   timed part is match plus enqueue to each matching subscriber. The drained count is
//!   checked against the expected number of deliveries (no drops, no duplicates).
//!
//! Each cell runs one untimed warm-up and then several rounds, alternating the two
//! implementations (and which goes first) round by round; the table shows the median
//! (min–max) and the ratio of medians ferrozmq/libzmq (below 1: ferrozmq is faster). The
//! table goes to stdout and, when `BENCH_OUT` is set, to `$BENCH_OUT/fanout.md`; progress
//! goes to stderr.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Subscriber counts and topic counts of the full run.
const SUBSCRIBERS: [usize; 4] = [1, 10, 100, 500];
const TOPICS: [usize; 4] = [1, 100, 1_000, 10_000];
/// The quick run's cells.
const QUICK_SUBSCRIBERS: [usize; 2] = [1, 100];
const QUICK_TOPICS: [usize; 2] = [1, 1_000];

/// Bytes per message (topic included).
const MESSAGE_SIZE: usize = 32;
/// A prime, coprime with every topic count: the stride of the topic sequence.
const STRIDE: usize = 7_919;

struct Config {
    quick: bool,
    rounds: usize,
    /// Sends per non-matching batch.
    nonmatching_sends: usize,
    /// Deliveries aimed at per matching batch (sends = this / fan-out, within bounds).
    matching_deliveries: usize,
    out_dir: Option<String>,
}

fn config() -> Config {
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => {
                eprintln!("fanout: unknown argument {other:?} (known: --quick)");
                std::process::exit(2);
            }
        }
    }
    let out_dir = std::env::var("BENCH_OUT").ok().filter(|v| !v.is_empty());
    if quick {
        Config {
            quick,
            rounds: 3,
            nonmatching_sends: 50_000,
            matching_deliveries: 50_000,
            out_dir,
        }
    } else {
        Config {
            quick,
            rounds: 7,
            nonmatching_sends: 200_000,
            matching_deliveries: 200_000,
            out_dir,
        }
    }
}

/// One cell's topics, subscriptions and message sequences, shared by both
/// implementations.
struct Plan {
    subscribers: usize,
    topics: usize,
    /// `topic-NNNNN`.
    topic_names: Vec<String>,
    /// Per topic, a full message on it.
    matching: Vec<Bytes>,
    /// Per topic, a message on a near miss of it (`topic-NNNNx`).
    nonmatching: Vec<Bytes>,
    /// (subscriber, topic) in subscription order.
    subscriptions: Vec<(usize, usize)>,
    /// Per subscriber, the topic it subscribed to last.
    last_topic: Vec<usize>,
    /// Per topic, how many subscribers it has.
    fanout: Vec<u64>,
    /// Topic index of each message of a matching batch, and of a non-matching one.
    matching_seq: Vec<u32>,
    nonmatching_seq: Vec<u32>,
    /// Deliveries a matching batch makes.
    expected_deliveries: u64,
}

fn message(topic: &str) -> Bytes {
    let mut body = format!("{topic}|");
    while body.len() < MESSAGE_SIZE {
        body.push((b'a' + (body.len() % 26) as u8) as char);
    }
    Bytes::from(body)
}

impl Plan {
    fn new(subscribers: usize, topics: usize, config: &Config) -> Plan {
        let topic_names: Vec<String> = (0..topics).map(|t| format!("topic-{t:05}")).collect();
        let matching = topic_names.iter().map(|t| message(t)).collect();
        let nonmatching = topic_names
            .iter()
            .map(|t| message(&format!("{}x", &t[..t.len() - 1])))
            .collect();
        let subscriptions: Vec<(usize, usize)> = (0..subscribers.max(topics))
            .map(|p| (p % subscribers, p % topics))
            .collect();
        let mut last_topic = vec![0; subscribers];
        let mut fanout = vec![0u64; topics];
        for &(s, t) in &subscriptions {
            last_topic[s] = t;
            fanout[t] += 1;
        }
        let mean_fanout = (subscribers.max(topics) / topics).max(1);
        let matching_sends = (config.matching_deliveries / mean_fanout).clamp(200, 100_000);
        let sequence =
            |n: usize| -> Vec<u32> { (0..n).map(|k| ((k * STRIDE) % topics) as u32).collect() };
        let matching_seq = sequence(matching_sends);
        let expected_deliveries = matching_seq.iter().map(|&t| fanout[t as usize]).sum();
        Plan {
            subscribers,
            topics,
            topic_names,
            matching,
            nonmatching,
            subscriptions,
            last_topic,
            fanout,
            matching_seq,
            nonmatching_seq: sequence(config.nonmatching_sends),
            expected_deliveries,
        }
    }

    /// Deliveries per matching send, on average over the batch.
    fn mean_fanout(&self) -> f64 {
        self.expected_deliveries as f64 / self.matching_seq.len() as f64
    }
}

/// One implementation's sockets for one cell.
trait Fanout {
    const NAME: &'static str;
    fn send(&self, body: &Bytes);
    /// Receives everything subscriber `sub` has without waiting; `seen` gets each body.
    fn drain(&self, sub: usize, seen: &mut dyn FnMut(&[u8]));
    /// Messages the publisher dropped, if the implementation counts them.
    fn dropped(&self) -> Option<u64>;
}

struct Ferro {
    publisher: ferrozmq::Socket,
    subscribers: Vec<ferrozmq::Socket>,
}

impl Ferro {
    fn new(ctx: &ferrozmq::Context, plan: &Plan, endpoint: &str) -> Ferro {
        use ferrozmq::SocketType;
        let publisher = ctx.socket(SocketType::Pub).expect("PUB");
        publisher.set_sndhwm(0);
        publisher.set_rcvhwm(0);
        publisher.set_linger(Some(Duration::ZERO));
        publisher.bind(endpoint).expect("bind");
        let subscribers: Vec<_> = (0..plan.subscribers)
            .map(|_| {
                let sub = ctx.socket(SocketType::Sub).expect("SUB");
                sub.set_rcvhwm(0);
                sub.set_sndhwm(0);
                sub.set_linger(Some(Duration::ZERO));
                sub.connect(endpoint).expect("connect");
                sub
            })
            .collect();
        for &(s, t) in &plan.subscriptions {
            subscribers[s]
                .subscribe(&plan.topic_names[t])
                .expect("subscribe");
        }
        Ferro {
            publisher,
            subscribers,
        }
    }
}

impl Fanout for Ferro {
    const NAME: &'static str = "ferrozmq";

    #[inline]
    fn send(&self, body: &Bytes) {
        self.publisher.send(body.clone()).expect("send");
    }

    fn drain(&self, sub: usize, seen: &mut dyn FnMut(&[u8])) {
        loop {
            match self.subscribers[sub].try_recv() {
                Ok(msg) => seen(&msg),
                Err(ferrozmq::Error::WouldBlock) => return,
                Err(e) => panic!("ferrozmq recv: {e}"),
            }
        }
    }

    fn dropped(&self) -> Option<u64> {
        Some(self.publisher.stats().dropped)
    }
}

struct Libzmq {
    // Sockets first: they must close before the context terminates.
    publisher: zmq::Socket,
    subscribers: Vec<zmq::Socket>,
    _ctx: zmq::Context,
}

impl Libzmq {
    fn new(plan: &Plan, endpoint: &str) -> Libzmq {
        // A context per cell: libzmq allows 1023 sockets per context, and sockets
        // closed in the previous cell may not be reaped yet.
        let ctx = zmq::Context::new();
        let publisher = ctx.socket(zmq::PUB).expect("PUB");
        publisher.set_sndhwm(0).expect("SNDHWM");
        publisher.set_rcvhwm(0).expect("RCVHWM");
        publisher.set_linger(0).expect("LINGER");
        publisher.bind(endpoint).expect("bind");
        let subscribers: Vec<_> = (0..plan.subscribers)
            .map(|_| {
                let sub = ctx.socket(zmq::SUB).expect("SUB");
                sub.set_rcvhwm(0).expect("RCVHWM");
                sub.set_sndhwm(0).expect("SNDHWM");
                sub.set_linger(0).expect("LINGER");
                sub.connect(endpoint).expect("connect");
                sub
            })
            .collect();
        for &(s, t) in &plan.subscriptions {
            subscribers[s]
                .set_subscribe(plan.topic_names[t].as_bytes())
                .expect("subscribe");
        }
        Libzmq {
            publisher,
            subscribers,
            _ctx: ctx,
        }
    }
}

impl Fanout for Libzmq {
    const NAME: &'static str = "libzmq";

    #[inline]
    fn send(&self, body: &Bytes) {
        // Builds a message per send (inline in the message for 32 bytes: no allocation).
        self.publisher.send(&body[..], 0).expect("send");
    }

    fn drain(&self, sub: usize, seen: &mut dyn FnMut(&[u8])) {
        let mut msg = zmq::Message::new();
        loop {
            match self.subscribers[sub].recv(&mut msg, zmq::DONTWAIT) {
                Ok(()) => seen(&msg),
                Err(zmq::Error::EAGAIN) => return,
                Err(e) => panic!("libzmq recv: {e}"),
            }
        }
    }

    fn dropped(&self) -> Option<u64> {
        None
    }
}

/// Probes until every subscriber has received a message on the topic it subscribed to
/// last, then drains everything.
fn synchronize<F: Fanout>(f: &F, plan: &Plan) {
    let started = Instant::now();
    let mut synced = vec![false; plan.subscribers];
    let mut probes: Vec<usize> = plan.last_topic.clone();
    probes.sort_unstable();
    probes.dedup();
    while synced.iter().any(|s| !s) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}: subscriptions did not propagate in 10 s",
            F::NAME
        );
        for &t in &probes {
            f.send(&plan.matching[t]);
        }
        std::thread::sleep(Duration::from_millis(1));
        for (s, synced) in synced.iter_mut().enumerate() {
            let wanted = plan.topic_names[plan.last_topic[s]].as_bytes();
            f.drain(s, &mut |body| *synced |= body.starts_with(wanted));
        }
    }
    drain_all(f, plan);
}

fn drain_all<F: Fanout>(f: &F, plan: &Plan) -> u64 {
    let mut count = 0;
    for s in 0..plan.subscribers {
        f.drain(s, &mut |_| count += 1);
    }
    count
}

/// One timed batch; returns ns per send.
fn batch<F: Fanout>(f: &F, bodies: &[Bytes], seq: &[u32]) -> f64 {
    let started = Instant::now();
    for &t in seq {
        f.send(&bodies[t as usize]);
    }
    started.elapsed().as_nanos() as f64 / seq.len() as f64
}

/// ns per send of each round: (non-matching, matching).
#[derive(Default)]
struct Samples {
    nonmatching: Vec<f64>,
    matching: Vec<f64>,
}

/// One round of both cases for one implementation, with the delivery checks.
fn round<F: Fanout>(f: &F, plan: &Plan, samples: Option<&mut Samples>) {
    let nonmatching = batch(f, &plan.nonmatching, &plan.nonmatching_seq);
    let stray = drain_all(f, plan);
    assert_eq!(
        stray,
        0,
        "{}: a non-matching message was delivered",
        F::NAME
    );
    let matching = batch(f, &plan.matching, &plan.matching_seq);
    let delivered = drain_all(f, plan);
    assert_eq!(
        delivered,
        plan.expected_deliveries,
        "{}: deliveries in a matching batch (S={}, T={})",
        F::NAME,
        plan.subscribers,
        plan.topics
    );
    if let Some(dropped) = f.dropped() {
        assert_eq!(dropped, 0, "{}: the publisher dropped messages", F::NAME);
    }
    if let Some(samples) = samples {
        samples.nonmatching.push(nonmatching);
        samples.matching.push(matching);
    }
}

struct CellResult {
    subscribers: usize,
    topics: usize,
    fanout: f64,
    matching_sends: usize,
    ferro: Samples,
    libzmq: Samples,
}

fn run_cell(
    ferro_ctx: &ferrozmq::Context,
    cell: usize,
    subscribers: usize,
    topics: usize,
    config: &Config,
) -> CellResult {
    let plan = Plan::new(subscribers, topics, config);
    debug_assert_eq!(
        plan.fanout.iter().sum::<u64>(),
        plan.subscriptions.len() as u64
    );
    let ferro = Ferro::new(ferro_ctx, &plan, &format!("inproc://fanout-ferro-{cell}"));
    let libzmq = Libzmq::new(&plan, &format!("inproc://fanout-libzmq-{cell}"));
    synchronize(&ferro, &plan);
    synchronize(&libzmq, &plan);
    // Warm-up: fills caches, grows queues to their working size.
    round(&ferro, &plan, None);
    round(&libzmq, &plan, None);
    let (mut ferro_samples, mut libzmq_samples) = (Samples::default(), Samples::default());
    for r in 0..config.rounds {
        if r % 2 == 0 {
            round(&ferro, &plan, Some(&mut ferro_samples));
            round(&libzmq, &plan, Some(&mut libzmq_samples));
        } else {
            round(&libzmq, &plan, Some(&mut libzmq_samples));
            round(&ferro, &plan, Some(&mut ferro_samples));
        }
    }
    CellResult {
        subscribers,
        topics,
        fanout: plan.mean_fanout(),
        matching_sends: plan.matching_seq.len(),
        ferro: ferro_samples,
        libzmq: libzmq_samples,
    }
}

fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ns(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.2}")
    } else if x < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

fn summary(samples: &[f64]) -> String {
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(0.0, f64::max);
    format!("{} ({}–{})", ns(median(samples)), ns(min), ns(max))
}

fn report(results: &[CellResult], config: &Config, elapsed: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## PUB fan-out: ns per `send` (lower is better)\n");
    let _ = writeln!(
        out,
        "`cargo bench --bench fanout{}`: {} round(s) per cell, median (min–max); \
         {MESSAGE_SIZE}-byte single-frame messages over inproc; topics shared out over \
         the subscribers (max(S, T) subscriptions in all); {} non-matching sends per \
         round; {} cores; {:.1} s in all.\n",
        if config.quick { " -- --quick" } else { "" },
        config.rounds,
        config.nonmatching_sends,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        elapsed.as_secs_f64()
    );
    let ratio = |f: &Samples, l: &Samples, pick: fn(&Samples) -> &Vec<f64>| {
        format!("{:.2}×", median(pick(f)) / median(pick(l)))
    };
    let _ = writeln!(
        out,
        "### Non-matching topic: pure matching cost, nothing delivered\n"
    );
    let _ = writeln!(
        out,
        "| subscribers | topics | ferrozmq | libzmq | ferrozmq/libzmq (<1: ferrozmq faster) |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.subscribers,
            r.topics,
            summary(&r.ferro.nonmatching),
            summary(&r.libzmq.nonmatching),
            ratio(&r.ferro, &r.libzmq, |s| &s.nonmatching)
        );
    }
    let _ = writeln!(
        out,
        "\n### Matching topic: match and enqueue to each subscriber of the topic\n"
    );
    let _ = writeln!(
        out,
        "| subscribers | topics | fan-out | sends/round | ferrozmq | libzmq | ferrozmq/libzmq (<1: ferrozmq faster) |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.subscribers,
            r.topics,
            ns(r.fanout),
            r.matching_sends,
            summary(&r.ferro.matching),
            summary(&r.libzmq.matching),
            ratio(&r.ferro, &r.libzmq, |s| &s.matching)
        );
    }
    out
}

fn main() {
    let config = config();
    let (subscribers, topics): (&[usize], &[usize]) = if config.quick {
        (&QUICK_SUBSCRIBERS, &QUICK_TOPICS)
    } else {
        (&SUBSCRIBERS, &TOPICS)
    };
    let started = Instant::now();
    let ferro_ctx = ferrozmq::Context::new();
    let mut results = Vec::new();
    for &s in subscribers {
        for &t in topics {
            let cell_started = Instant::now();
            let result = run_cell(&ferro_ctx, results.len(), s, t, &config);
            eprintln!(
                "fanout: S={s:>3} T={t:>5}: non-matching {} vs {} ns, matching {} vs {} ns \
                 (ferrozmq vs libzmq, {:.1} s)",
                ns(median(&result.ferro.nonmatching)),
                ns(median(&result.libzmq.nonmatching)),
                ns(median(&result.ferro.matching)),
                ns(median(&result.libzmq.matching)),
                cell_started.elapsed().as_secs_f64()
            );
            results.push(result);
        }
    }
    let table = report(&results, &config, started.elapsed());
    println!("{table}");
    if let Some(dir) = &config.out_dir {
        let path = std::path::Path::new(dir).join("fanout.md");
        let written = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, &table));
        match written {
            Ok(()) => eprintln!("fanout: wrote {}", path.display()),
            Err(e) => {
                eprintln!("fanout: {}: {e}", path.display());
                std::process::exit(1);
            }
        }
    }
}
