//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: measures request/reply
//! latency (libzmq's perf/remote_lat). A REQ socket connected to `local_lat` makes
//! `<roundtrip-count>` round trips of a `<message-size>`-byte message and prints the
//! average one-way latency (half the mean round trip) in microseconds.

#[path = "perf_common/mod.rs"]
mod perf_common;

use ferrozmq::{Context, SocketType};
use perf_common::{connected, parse_args, print_latency, roundtrips};

fn main() {
    let args = parse_args("remote_lat <connect-to> <message-size> <roundtrip-count>");
    let ctx = Context::new();
    let req = connected(&ctx, SocketType::Req, &args.endpoint);
    let elapsed_us = roundtrips(&req, args.message_size, args.count);
    // Report first, then close (as libzmq's tool does).
    print_latency(args.message_size, args.count, elapsed_us);
    drop(req);
    drop(ctx);
}
