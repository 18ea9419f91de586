//! The seed scenario: a REP server answering a REQ client over tcp, the same between
//! two threads over inproc, a PUSH/PULL pipeline with several workers, and a PUB/SUB
//! feed whose subscribers each get only their topics.
//!
//! Run with `cargo run --release --example quickstart`.

use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, SocketType};

fn main() -> Result<(), Error> {
    let started = Instant::now();
    let ctx = Context::new();

    println!("== REQ/REP over tcp ==");
    let server = ctx.socket(SocketType::Rep)?;
    server.bind("tcp://127.0.0.1:*")?;
    let endpoint = server.last_endpoint();
    println!("server bound to {endpoint}");
    let server_thread = thread::spawn(move || -> Result<(), Error> {
        for _ in 0..3 {
            let request = server.recv_string()?.unwrap_or_default();
            server.send(format!("world (re: {request})"))?;
        }
        Ok(())
    });
    let client = ctx.socket(SocketType::Req)?;
    client.connect(&endpoint)?;
    for i in 0..3 {
        let t = Instant::now();
        client.send(format!("hello #{i}"))?;
        let reply = client.recv_string()?.unwrap_or_default();
        println!("client got {reply:?} in {:?}", t.elapsed());
    }
    server_thread.join().expect("server thread")?;

    println!("\n== REQ/REP over inproc, two threads ==");
    let worker = ctx.socket(SocketType::Rep)?;
    worker.bind("inproc://echo")?;
    let worker_thread = thread::spawn(move || -> Result<(), Error> {
        for _ in 0..3 {
            let parts = worker.recv_multipart()?;
            worker.send_multipart(parts)?;
        }
        Ok(())
    });
    let client = ctx.socket(SocketType::Req)?;
    client.connect("inproc://echo")?;
    for i in 0..3 {
        client.send_multipart(["echo", &format!("part {i}")])?;
        let reply = client.recv_multipart()?;
        println!("inproc reply: {:?}", reply);
    }
    worker_thread.join().expect("worker thread")?;

    println!("\n== PUSH/PULL pipeline: ventilator -> 3 workers -> sink ==");
    let ventilator = ctx.socket(SocketType::Push)?;
    ventilator.bind("tcp://127.0.0.1:*")?;
    let jobs = ventilator.last_endpoint();
    let sink = ctx.socket(SocketType::Pull)?;
    sink.bind("ipc:///tmp/ferrozmq-quickstart-sink.ipc")?;
    let results = sink.last_endpoint();
    let mut workers = Vec::new();
    for id in 0..3 {
        let ctx = ctx.clone();
        let (jobs, results) = (jobs.clone(), results.clone());
        workers.push(thread::spawn(move || -> Result<u32, Error> {
            let input = ctx.socket(SocketType::Pull)?;
            input.connect(&jobs)?;
            let output = ctx.socket(SocketType::Push)?;
            output.connect(&results)?;
            let mut done = 0;
            loop {
                let job = input.recv()?;
                if job.is_empty() {
                    return Ok(done);
                }
                let n: u64 = job.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
                output.send_multipart([format!("worker {id}"), (n * n).to_string()])?;
                done += 1;
            }
        }));
    }
    // Let all three workers connect so round-robin spreads the work.
    let wait_until = Instant::now() + Duration::from_secs(5);
    while ventilator.peer_count() < 3 && Instant::now() < wait_until {
        thread::sleep(Duration::from_millis(5));
    }
    let tasks = 30u64;
    for n in 1..=tasks {
        ventilator.send(n.to_string())?;
    }
    let mut total = 0u64;
    let mut per_worker = std::collections::BTreeMap::new();
    for _ in 0..tasks {
        let parts = sink.recv_multipart()?;
        *per_worker
            .entry(parts[0].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
        total += parts[1]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
    }
    for _ in 0..3 {
        ventilator.send("")?; // one stop signal per worker
    }
    for w in workers {
        w.join().expect("worker")?;
    }
    println!(
        "sum of squares 1..={tasks} = {total} (expected {})",
        tasks * (tasks + 1) * (2 * tasks + 1) / 6
    );
    println!("jobs per worker: {per_worker:?}");
    println!("\n== PUB/SUB over tcp: two subscribers, different prefixes ==");
    let publisher = ctx.socket(SocketType::Pub)?;
    publisher.bind("tcp://127.0.0.1:*")?;
    let feed = publisher.last_endpoint();
    let prices = ctx.socket(SocketType::Sub)?;
    prices.subscribe("prices.")?;
    prices.connect(&feed)?;
    let news = ctx.socket(SocketType::Sub)?;
    news.subscribe("news.")?;
    news.connect(&feed)?;
    for s in [&prices, &news] {
        s.set_recv_timeout(Some(Duration::from_secs(5)));
    }
    // Subscriptions travel to the publisher asynchronously: publish a marker until
    // both subscribers see theirs (the classic "slow joiner" handshake).
    let mut ready = [false, false];
    while ready != [true, true] {
        publisher.send("prices.sync")?;
        publisher.send("news.sync")?;
        thread::sleep(Duration::from_millis(1));
        for (flag, s) in ready.iter_mut().zip([&prices, &news]) {
            while s.try_recv().is_ok() {
                *flag = true;
            }
        }
    }
    for (topic, value) in [
        ("prices.ACME", "12.5"),
        ("news.ACME", "record year"),
        ("sport.x", "-"),
    ] {
        publisher.send_multipart([topic, value])?;
    }
    publisher.send("prices.end")?;
    publisher.send("news.end")?;
    for (name, s) in [("prices", &prices), ("news", &news)] {
        loop {
            let msg = s.recv_multipart()?;
            let topic = String::from_utf8_lossy(&msg[0]).into_owned();
            if topic.ends_with(".sync") {
                continue; // a late marker
            }
            if topic.ends_with(".end") {
                break;
            }
            println!(
                "{name} subscriber got {topic}: {}",
                String::from_utf8_lossy(&msg[1])
            );
        }
    }
    println!("publisher dropped {} messages", publisher.stats().dropped);
    println!("\ndone in {:?}", started.elapsed());
    Ok(())
}
