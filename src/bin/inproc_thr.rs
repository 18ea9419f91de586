//! `inproc_thr <message-size> <message-count>`: throughput between two threads of one
//! process over `inproc://` (libzmq's perf/inproc_thr). A PUSH thread sends
//! `<message-count>` messages of `<message-size>` bytes; the main thread's PULL socket
//! receives them and prints the rates, as `local_thr` does.

#[path = "perf_common/mod.rs"]
mod perf_common;

use ferrozmq::{Context, SocketType};
use perf_common::{
    bound, connected, die, parse_args, print_inproc_throughput, receive_messages, send_messages,
};

const ENDPOINT: &str = "inproc://thr_test";

fn main() {
    let args = parse_args("inproc_thr <message-size> <message-count>");
    let (size, count) = (args.message_size, args.count);
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull, ENDPOINT);
    let worker = {
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("inproc_thr-push".into())
            .spawn(move || send_messages(&connected(&ctx, SocketType::Push, ENDPOINT), size, count))
            .unwrap_or_else(|e| die(format_args!("cannot start the worker thread: {e}")))
    };
    let elapsed_us = receive_messages(&pull, size, count);
    if worker.join().is_err() {
        die("the worker thread failed");
    }
    // Report first, then close (as libzmq's tool does).
    print_inproc_throughput(size, count, elapsed_us);
    drop(pull);
    drop(ctx);
}
