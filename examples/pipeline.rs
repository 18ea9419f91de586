//! A parallel pipeline: a ventilator hands out tasks, workers process them, a sink
//! collects the results ("divide and conquer" in the ZeroMQ guide).
//!
//! ```text
//!                      ┌─> worker 0 ─┐
//! ventilator (PUSH) ───┼─> worker 1 ─┼───> sink (PULL)
//!      tcp, bound      └─> worker N ─┘     ipc, bound
//! ```
//!
//! PUSH load-balances: each task goes to the next connected worker with room, so the
//! ventilator waits until all workers are connected before sending (otherwise the first
//! worker to connect would get the whole batch). PULL fair-queues results from all
//! workers. Tasks carry numbers; workers send back `[worker id, task, n²]` and the sink
//! checks that every task came back exactly once and that the squares add up.
//!
//! Workers stop on a "done" message from a PUB over inproc, watched together with their
//! task socket through a [`Poller`] (stopping through the PUSH stream itself would need
//! exactly one stop message per worker, which round-robin doesn't promise once workers
//! start leaving).
//!
//! Run with `cargo run --release --example pipeline`.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrozmq::{Context, Error, Interest, Poller, SocketType};

const WORKERS: usize = 4;
const TASKS: u64 = 40_000;

/// One worker: PULL tasks, PUSH results, SUB for the stop signal. Returns how many
/// tasks it processed.
fn worker(
    ctx: Context,
    id: usize,
    tasks: String,
    results: String,
    control: &str,
) -> Result<u64, Error> {
    let input = ctx.socket(SocketType::Pull)?;
    input.connect(&tasks)?;
    let output = ctx.socket(SocketType::Push)?;
    output.connect(&results)?;
    let stop = ctx.socket(SocketType::Sub)?;
    stop.connect(control)?;
    stop.subscribe("")?;

    let mut poller = Poller::new();
    let task_item = poller.add(&input, Interest::READABLE);
    let stop_item = poller.add(&stop, Interest::READABLE);
    let mut done = 0;
    loop {
        poller.poll(None);
        if poller.events(stop_item).readable {
            return Ok(done);
        }
        if poller.events(task_item).readable {
            // Take everything that is there before polling again.
            while let Ok(task) = input.try_recv() {
                let n: u64 = task
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("a task is a number");
                output.send_multipart([id.to_string(), n.to_string(), (n * n).to_string()])?;
                done += 1;
            }
        }
    }
}

fn main() -> Result<(), Error> {
    let started = Instant::now();
    let ctx = Context::new();

    let ventilator = ctx.socket(SocketType::Push)?;
    ventilator.bind("tcp://127.0.0.1:*")?;
    let tasks = ventilator.last_endpoint();

    // A fresh ipc path per run, so concurrent runs don't collide.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let ipc_path = format!("/tmp/ferrozmq-pipeline-{}-{nanos}.ipc", std::process::id());
    let sink = ctx.socket(SocketType::Pull)?;
    sink.bind(&format!("ipc://{ipc_path}"))?;
    let results = sink.last_endpoint();

    let control = ctx.socket(SocketType::Pub)?;
    control.bind("inproc://pipeline-control")?;
    println!("ventilator on {tasks}, sink on {results}, {WORKERS} workers");

    let workers: Vec<_> = (0..WORKERS)
        .map(|id| {
            let (ctx, tasks, results) = (ctx.clone(), tasks.clone(), results.clone());
            thread::spawn(move || worker(ctx, id, tasks, results, "inproc://pipeline-control"))
        })
        .collect();

    // Wait for every worker's connection, so that PUSH spreads the tasks over all.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ventilator.peer_count() < WORKERS {
        assert!(Instant::now() < deadline, "workers did not connect in 5 s");
        thread::sleep(Duration::from_millis(2));
    }

    let t = Instant::now();
    // The ventilator runs on its own thread so that the sink can drain results while
    // tasks are still going out (otherwise both directions could fill up and stall).
    let ventilate = thread::spawn(move || -> Result<(), Error> {
        for n in 1..=TASKS {
            ventilator.send(n.to_string())?;
        }
        Ok(())
    });

    let mut per_worker = [0u64; WORKERS];
    let mut seen = vec![false; TASKS as usize + 1];
    let mut total: u128 = 0;
    for _ in 0..TASKS {
        let parts = sink.recv_multipart()?;
        assert_eq!(parts.len(), 3, "a result is [worker, task, square]");
        let field = |i: usize| -> u64 {
            parts[i]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("numeric field")
        };
        let (id, n, square) = (field(0) as usize, field(1), field(2));
        assert_eq!(square, n * n, "worker {id} got task {n} wrong");
        assert!(!seen[n as usize], "task {n} came back twice");
        seen[n as usize] = true;
        per_worker[id] += 1;
        total += u128::from(square);
    }
    let elapsed = t.elapsed();
    ventilate.join().expect("ventilator thread")?;

    control.send("done")?;
    let processed: Vec<u64> = workers
        .into_iter()
        .map(|w| w.join().expect("worker thread"))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        processed, per_worker,
        "workers' own counts match the sink's"
    );

    let n = u128::from(TASKS);
    let expected = n * (n + 1) * (2 * n + 1) / 6;
    println!("sum of squares 1..={TASKS} = {total} (expected {expected})");
    assert_eq!(total, expected);
    assert!(seen[1..].iter().all(|&s| s), "every task came back");
    println!(
        "{TASKS} tasks through {WORKERS} workers in {elapsed:?} ({:.0} tasks/s)",
        TASKS as f64 / elapsed.as_secs_f64()
    );
    println!("tasks per worker (load balancing):");
    for (id, count) in per_worker.iter().enumerate() {
        println!(
            "  worker {id}: {count:>6} ({:.1}%)",
            100.0 * *count as f64 / TASKS as f64
        );
        assert!(*count > 0, "worker {id} got no task");
    }

    drop(sink);
    let _ = std::fs::remove_file(&ipc_path);
    println!("\nok in {:?}", started.elapsed());
    Ok(())
}
