//! `remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]`: the
//! sending half of the throughput test (libzmq's perf/remote_thr). A PUSH socket
//! connected to `local_thr` sends `<message-count>` messages of `<message-size>` bytes
//! as fast as it can, then exits once all of them are delivered. Prints nothing on
//! success. `<enable_curve>` (libzmq 4.3) may be 0; ferrozmq has no CURVE, so a non-zero
//! value is an error.

#[path = "perf_common/mod.rs"]
mod perf_common;

use ferrozmq::{Context, SocketType};
use perf_common::{connected, parse_args, send_messages};

fn main() {
    let args =
        parse_args("remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]");
    let ctx = Context::new();
    let push = connected(&ctx, SocketType::Push, &args.endpoint);
    send_messages(&push, args.message_size, args.count);
    // The default linger is infinite: closing the socket and then dropping the context
    // waits until every queued message has been written to the peer.
    drop(push);
    drop(ctx);
}
