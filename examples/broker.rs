//! A request-reply broker: REQ clients talk to a ROUTER, REP workers to a DEALER, and
//! [`ferrozmq::proxy_steerable`] shuttles messages between the two on its own thread
//! ("extended request-reply" in the ZeroMQ guide).
//!
//! ```text
//! REQ clients ──tcp──> ROUTER (frontend) ═ proxy ═ DEALER (backend) <──tcp── REP workers
//!                                            ║
//!                            REP (control, inproc) <── REQ (main thread)
//! ```
//!
//! The ROUTER prefixes each request with the client's routing id, the DEALER spreads
//! requests over the workers, and each REP sends its reply back along the same envelope,
//! so the ROUTER can route it to the right client. Neither side knows how many peers the
//! other has: clients and workers come and go independently of each other.
//!
//! The proxy is steered over a REP control socket: after the traffic, the main thread
//! asks for `STATISTICS` (eight frames of native-endian u64: frontend messages in, bytes
//! in, messages out, bytes out, then the same for the backend), checks them against the
//! traffic it knows was sent, then sends `TERMINATE` and joins the proxy thread.
//!
//! Run with `cargo run --release --example broker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{proxy_steerable, Context, Error, SocketType};

const CLIENTS: usize = 4;
const WORKERS: usize = 3;
const REQUESTS_PER_CLIENT: usize = 500;

/// Client `c`'s routing id; set explicitly so the byte counts are predictable.
fn client_id(c: usize) -> String {
    format!("client-{c}")
}

fn request(c: usize, i: usize) -> String {
    format!("request {i} from client {c}")
}

fn reply_to(request: &str) -> String {
    format!("done: {request}")
}

fn main() -> Result<(), Error> {
    let started = Instant::now();
    let ctx = Context::new();

    let frontend = ctx.socket(SocketType::Router)?;
    frontend.bind("tcp://127.0.0.1:*")?;
    let backend = ctx.socket(SocketType::Dealer)?;
    backend.bind("tcp://127.0.0.1:*")?;
    let control = ctx.socket(SocketType::Rep)?;
    control.bind("inproc://broker-control")?;
    let (front_endpoint, back_endpoint) = (frontend.last_endpoint(), backend.last_endpoint());
    println!("frontend (ROUTER) on {front_endpoint}, backend (DEALER) on {back_endpoint}");

    let proxy = thread::spawn(move || proxy_steerable(&frontend, &backend, None, &control));

    // Workers answer until told that the clients are done (and no request is pending).
    let clients_done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (ctx, endpoint, done) = (ctx.clone(), back_endpoint.clone(), clients_done.clone());
            thread::spawn(move || -> Result<usize, Error> {
                let rep = ctx.socket(SocketType::Rep)?;
                rep.connect(&endpoint)?;
                rep.set_recv_timeout(Some(Duration::from_millis(20)));
                let mut served = 0;
                loop {
                    match rep.recv_string() {
                        Ok(req) => {
                            let req = req.expect("utf-8 request");
                            rep.send(reply_to(&req))?;
                            served += 1;
                        }
                        Err(Error::TimedOut) if done.load(Ordering::Acquire) => return Ok(served),
                        Err(Error::TimedOut) => {}
                        Err(e) => return Err(e),
                    }
                }
            })
        })
        .collect();

    let t = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (ctx, endpoint) = (ctx.clone(), front_endpoint.clone());
            thread::spawn(move || -> Result<(), Error> {
                let req = ctx.socket(SocketType::Req)?;
                req.set_routing_id(client_id(c))?;
                req.connect(&endpoint)?;
                for i in 0..REQUESTS_PER_CLIENT {
                    let ask = request(c, i);
                    req.send(ask.as_str())?;
                    let answer = req.recv_string()?.expect("utf-8 reply");
                    assert_eq!(
                        answer,
                        reply_to(&ask),
                        "client {c} got someone else's reply"
                    );
                }
                Ok(())
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread")?;
    }
    let elapsed = t.elapsed();
    clients_done.store(true, Ordering::Release);
    let served: Vec<usize> = workers
        .into_iter()
        .map(|w| w.join().expect("worker thread"))
        .collect::<Result<_, _>>()?;

    let total = CLIENTS * REQUESTS_PER_CLIENT;
    println!(
        "{CLIENTS} clients x {REQUESTS_PER_CLIENT} requests = {total} round trips in {elapsed:?} \
         ({:.1} µs each, {CLIENTS} in flight)",
        elapsed.as_secs_f64() * 1e6 / total as f64
    );
    println!("requests per worker: {served:?}");
    assert_eq!(
        served.iter().sum::<usize>(),
        total,
        "every request served once"
    );
    assert!(served.iter().all(|&n| n > 0), "every worker got work");

    // Steer the proxy: statistics, then terminate.
    let steer = ctx.socket(SocketType::Req)?;
    steer.connect("inproc://broker-control")?;
    steer.send("STATISTICS")?;
    let frames = steer.recv_multipart()?;
    assert_eq!(frames.len(), 8, "STATISTICS is answered with 8 frames");
    let stats: Vec<u64> = frames
        .iter()
        .map(|f| u64::from_ne_bytes(f[..].try_into().expect("8-byte counter")))
        .collect();
    let names = ["messages in", "bytes in", "messages out", "bytes out"];
    println!("proxy statistics:");
    for (side, counters) in ["frontend", "backend"].iter().zip(stats.chunks(4)) {
        for (name, value) in names.iter().zip(counters) {
            println!("  {side:<8} {name:<12} {value:>8}");
        }
    }

    // What the proxy must have seen. A request crosses as [client id, "", request] and
    // a reply as [client id, "", reply], on both sides.
    let (mut request_bytes, mut reply_bytes) = (0u64, 0u64);
    for c in 0..CLIENTS {
        for i in 0..REQUESTS_PER_CLIENT {
            let (id, ask) = (client_id(c), request(c, i));
            request_bytes += (id.len() + ask.len()) as u64;
            reply_bytes += (id.len() + reply_to(&ask).len()) as u64;
        }
    }
    let n = total as u64;
    let expected = [
        n,
        request_bytes,
        n,
        reply_bytes,
        n,
        reply_bytes,
        n,
        request_bytes,
    ];
    assert_eq!(stats, expected, "proxy statistics match the traffic");

    steer.send("TERMINATE")?;
    let ack = steer.recv()?;
    assert!(
        ack.is_empty(),
        "TERMINATE is acknowledged with an empty reply"
    );
    proxy.join().expect("proxy thread")?;
    println!("proxy terminated");
    println!("\nok in {:?}", started.elapsed());
    Ok(())
}
