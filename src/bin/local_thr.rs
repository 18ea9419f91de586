//! `local_thr <bind-to> <message-size> <message-count> [<enable_curve>]`: measures
//! throughput, the receiving half (libzmq's perf/local_thr). A PULL socket bound to
//! `<bind-to>` receives `<message-count>` messages of `<message-size>` bytes from
//! `remote_thr`, timing from the first message on, and prints messages per second and
//! megabits per second. `<enable_curve>` (libzmq 4.3) may be 0; ferrozmq has no CURVE,
//! so a non-zero value is an error.

#[path = "perf_common/mod.rs"]
mod perf_common;

use ferrozmq::{Context, SocketType};
use perf_common::{bound, parse_args, print_throughput, receive_messages};

fn main() {
    let args = parse_args("local_thr <bind-to> <message-size> <message-count> [<enable_curve>]");
    let ctx = Context::new();
    let pull = bound(&ctx, SocketType::Pull, &args.endpoint);
    let elapsed_us = receive_messages(&pull, args.message_size, args.count);
    // Report first, then close (as libzmq's tool does).
    print_throughput(args.message_size, args.count, elapsed_us);
    drop(pull);
    drop(ctx);
}
