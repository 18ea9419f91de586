//! `inproc_lat <message-size> <roundtrip-count>`: request/reply latency between two
//! threads of one process over `inproc://` (libzmq's perf/inproc_lat). A REP thread
//! echoes; the main thread's REQ socket makes `<roundtrip-count>` round trips and
//! prints the average one-way latency, as `remote_lat` does.

#[path = "perf_common/mod.rs"]
mod perf_common;

use ferrozmq::{Context, SocketType};
use perf_common::{bound, connected, die, echo, parse_args, print_latency, roundtrips};

const ENDPOINT: &str = "inproc://lat_test";

fn main() {
    let args = parse_args("inproc_lat <message-size> <roundtrip-count>");
    let (size, count) = (args.message_size, args.count);
    let ctx = Context::new();
    let req = bound(&ctx, SocketType::Req, ENDPOINT);
    let worker = {
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("inproc_lat-rep".into())
            .spawn(move || echo(&connected(&ctx, SocketType::Rep, ENDPOINT), size, count))
            .unwrap_or_else(|e| die(format_args!("cannot start the worker thread: {e}")))
    };
    let elapsed_us = roundtrips(&req, size, count);
    if worker.join().is_err() {
        die("the worker thread failed");
    }
    // Report first, then close (as libzmq's tool does).
    print_latency(size, count, elapsed_us);
    drop(req);
    drop(ctx);
}
