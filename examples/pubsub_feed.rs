//! A market-data style feed: one PUB over tcp, several SUB threads with different
//! prefix subscriptions, and the "synchronized publisher" answer to the slow-joiner
//! problem.
//!
//! The publisher sends multipart messages `[topic, payload]` on topics such as
//! `prices.AAPL` or `news.tech`. A SUB receives a message when its first frame starts
//! with one of the SUB's prefixes (`""` matches everything); PUB filters before sending,
//! so non-matching messages never cross the wire.
//!
//! **Slow joiners.** Subscriptions travel from SUB to PUB asynchronously, so anything
//! published before they arrive is simply not sent to that subscriber. Here each
//! subscriber connects, subscribes to its prefixes, and subscribes to `_ctl.` last.
//! Subscriptions made after `connect` reach the publisher in order, so once a
//! subscriber receives a `_ctl.probe` message, all its feed prefixes are in force at the
//! publisher too. It then acknowledges over a side channel (PUSH → the publisher's
//! PULL). The publisher sends probes every few milliseconds until every subscriber has
//! acknowledged, and only then publishes the feed, followed by `_ctl.end`.
//!
//! **Drops.** PUB never blocks: a subscriber whose queue is at the high-water mark
//! misses the message, counted in `stats().dropped`. The publisher's SNDHWM is sized
//! for the whole burst, so nothing may be dropped, and every subscriber must receive
//! exactly the messages matching its prefixes, in order and once each (overlapping
//! prefixes such as `news.` and `news.tech` don't duplicate). The example checks that.
//!
//! Run with `cargo run --release --example pubsub_feed`.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, SocketType};

/// Feed topics; the last one has no subscriber with a matching prefix except `""`.
const TOPICS: [&str; 7] = [
    "prices.AAPL",
    "prices.MSFT",
    "prices.GOOG",
    "news.tech",
    "news.world",
    "weather.paris",
    "weather.oslo",
];

/// Feed messages published after the subscribers are in sync.
const FEED: u64 = 30_000;

/// Who subscribes to what.
const SUBSCRIBERS: [(&str, &[&str]); 5] = [
    ("firehose", &[""]),
    ("all-prices", &["prices."]),
    ("tech-desk", &["prices.AAPL", "prices.MSFT", "news.tech"]),
    ("news-overlap", &["news.", "news.tech"]),
    ("sports-fan", &["sports."]),
];

/// Control topics, ignored when checking the feed.
const CTL: &str = "_ctl.";
const PROBE: &str = "_ctl.probe";
const END: &str = "_ctl.end";

/// The topic of feed message `seq`: a fixed pseudo-random walk over [`TOPICS`], so the
/// checker can recompute the whole feed.
fn topic_of(seq: u64) -> &'static str {
    let mut x = seq.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    TOPICS[(x % TOPICS.len() as u64) as usize]
}

/// What one subscriber received: (topic, sequence number) of each feed message.
type Received = Vec<(String, u64)>;

fn subscriber(
    ctx: Context,
    name: &'static str,
    prefixes: &'static [&'static str],
    feed: String,
    sync: String,
) -> Result<Received, Error> {
    let sub = ctx.socket(SocketType::Sub)?;
    sub.set_rcvhwm(FEED + 1_000);
    sub.connect(&feed)?;
    for prefix in prefixes {
        sub.subscribe(prefix)?;
    }
    // Last, so that seeing a probe proves the prefixes above are in force.
    sub.subscribe(CTL)?;
    let ack = ctx.socket(SocketType::Push)?;
    ack.connect(&sync)?;

    let mut acked = false;
    let mut received = Vec::new();
    loop {
        let parts = sub.recv_multipart()?;
        let topic = parts[0].as_str().expect("utf-8 topic");
        match topic {
            PROBE => {
                if !acked {
                    ack.send(name)?;
                    acked = true;
                }
            }
            END => return Ok(received),
            _ => {
                assert!(
                    prefixes.iter().any(|p| topic.starts_with(p)),
                    "{name} got {topic:?}, which none of {prefixes:?} matches"
                );
                let payload = parts[1].as_str().expect("utf-8 payload");
                let seq = payload
                    .split_once(' ')
                    .and_then(|(seq, _)| seq.parse().ok())
                    .expect("payload starts with the sequence number");
                received.push((topic.to_string(), seq));
            }
        }
    }
}

fn main() -> Result<(), Error> {
    let started = Instant::now();
    let ctx = Context::new();

    let publisher = ctx.socket(SocketType::Pub)?;
    // PUB drops at the high-water mark instead of blocking: make room for the burst.
    publisher.set_sndhwm(FEED + 1_000);
    publisher.bind("tcp://127.0.0.1:*")?;
    let feed = publisher.last_endpoint();
    let sync = ctx.socket(SocketType::Pull)?;
    sync.bind("tcp://127.0.0.1:*")?;
    let sync_endpoint = sync.last_endpoint();
    println!("publisher on {feed}, sync channel on {sync_endpoint}");

    let threads: Vec<_> = SUBSCRIBERS
        .iter()
        .map(|&(name, prefixes)| {
            let (ctx, feed, sync) = (ctx.clone(), feed.clone(), sync_endpoint.clone());
            let handle = thread::spawn(move || subscriber(ctx, name, prefixes, feed, sync));
            (name, prefixes, handle)
        })
        .collect();

    // Synchronize: probe until every subscriber has acknowledged.
    let sync_started = Instant::now();
    let deadline = sync_started + Duration::from_secs(5);
    sync.set_recv_timeout(Some(Duration::from_millis(5)));
    let mut ready = Vec::new();
    let mut probes = 0;
    while ready.len() < SUBSCRIBERS.len() {
        assert!(
            Instant::now() < deadline,
            "subscribers not ready after 5 s: only {ready:?}"
        );
        publisher.send_multipart([PROBE, ""])?;
        probes += 1;
        loop {
            match sync.recv_string() {
                Ok(name) => ready.push(name.expect("utf-8 name")),
                Err(Error::TimedOut) => break,
                Err(e) => return Err(e),
            }
        }
    }
    println!(
        "{} subscribers in sync after {probes} probes ({:?})",
        ready.len(),
        sync_started.elapsed()
    );

    // The feed.
    let publish_started = Instant::now();
    for seq in 0..FEED {
        let payload = format!("{seq} {:.2}", 100.0 + (seq % 997) as f64 / 10.0);
        publisher.send_multipart([topic_of(seq).to_string(), payload])?;
    }
    publisher.send_multipart([END, ""])?;
    let publish_time = publish_started.elapsed();
    println!(
        "published {FEED} messages over {} topics in {publish_time:?}",
        TOPICS.len()
    );

    // Check every subscriber against the feed recomputed from the sequence numbers.
    let mut per_topic = BTreeMap::new();
    for seq in 0..FEED {
        *per_topic.entry(topic_of(seq)).or_insert(0u64) += 1;
    }
    println!("messages per topic: {per_topic:?}");
    for (name, prefixes, handle) in threads {
        let received = handle.join().expect("subscriber thread")?;
        let expected: Received = (0..FEED)
            .map(|seq| (topic_of(seq), seq))
            .filter(|(topic, _)| prefixes.iter().any(|p| topic.starts_with(p)))
            .map(|(topic, seq)| (topic.to_string(), seq))
            .collect();
        assert_eq!(
            received.len(),
            expected.len(),
            "{name} ({prefixes:?}) received {} messages, expected {}",
            received.len(),
            expected.len()
        );
        assert!(
            received == expected,
            "{name} received the right number of messages but not the right ones"
        );
        println!(
            "  {name:<13} {:<46} {:>6} messages, all matching, in order",
            format!("{prefixes:?}"),
            received.len()
        );
    }

    let stats = publisher.stats();
    println!(
        "publisher stats: {} sent, {} dropped",
        stats.messages_sent, stats.dropped
    );
    assert_eq!(stats.dropped, 0, "the publisher dropped messages");
    assert_eq!(stats.messages_sent, FEED + 1 + probes);
    println!("\nok in {:?}", started.elapsed());
    Ok(())
}
