//! An inproc REP worker and a REQ client as two tasks in one process, on tokio, through
//! the async adapter (`AsyncSocket`): the Rust version of the classic asyncio example.
//!
//! ```text
//! cargo run --release --example async_reqrep --features tokio
//! ```
//!
//! The sockets stay ordinary blocking-capable ferrozmq sockets; the adapter waits on
//! their level-triggered readiness descriptors with tokio's reactor, so no thread blocks
//! and both tasks may run on any worker thread.

use std::time::Instant;

use ferrozmq::{AsyncSocket, Context, SocketType};

const REQUESTS: u32 = 10_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new();

    let rep = ctx.socket(SocketType::Rep)?;
    rep.bind("inproc://async-worker")?;
    let mut rep = AsyncSocket::new(rep)?;
    let worker = tokio::spawn(async move {
        for _ in 0..REQUESTS {
            let request = rep.recv().await.expect("request");
            let n: u32 = request.as_str().expect("utf-8").parse().expect("a number");
            rep.send((n * 2).to_string()).await.expect("reply");
        }
    });

    let req = ctx.socket(SocketType::Req)?;
    req.connect("inproc://async-worker")?;
    let mut req = AsyncSocket::new(req)?;
    let client = tokio::spawn(async move {
        let start = Instant::now();
        for n in 0..REQUESTS {
            req.send(n.to_string()).await.expect("request");
            let reply = req.recv().await.expect("reply");
            assert_eq!(reply.as_str(), Some((n * 2).to_string().as_str()));
        }
        start.elapsed()
    });

    let elapsed = client.await?;
    worker.await?;
    println!(
        "{REQUESTS} request/reply round trips between two tasks in {elapsed:?} ({:.1} µs each)",
        elapsed.as_secs_f64() * 1e6 / f64::from(REQUESTS)
    );
    Ok(())
}
