//! `local_lat <bind-to> <message-size> <roundtrip-count>`: the echoing half of the
//! latency test (libzmq's perf/local_lat). A REP socket bound to `<bind-to>` receives
//! `<roundtrip-count>` messages of `<message-size>` bytes and sends each one back;
//! `remote_lat` measures and prints the latency. Prints nothing on success.

#[path = "perf_common/mod.rs"]
mod perf_common;

use ferrozmq::{Context, SocketType};
use perf_common::{bound, echo, parse_args};

fn main() {
    let args = parse_args("local_lat <bind-to> <message-size> <roundtrip-count>");
    let ctx = Context::new();
    let rep = bound(&ctx, SocketType::Rep, &args.endpoint);
    echo(&rep, args.message_size, args.count);
    // Closing with the default (infinite) linger, then dropping the context, waits
    // until the last reply has been handed to the network.
    drop(rep);
    drop(ctx);
}
