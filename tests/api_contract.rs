//! Compile-time promises of the public API: what can cross threads.

use ferrozmq::{Context, Message, Socket};

fn is_send<T: Send>() {}
fn is_sync<T: Sync>() {}
fn is_clone<T: Clone>() {}

#[test]
fn context_is_cheap_to_share_and_socket_moves_between_threads() {
    is_send::<Context>();
    is_sync::<Context>();
    is_clone::<Context>();
    is_send::<Socket>();
    is_send::<Message>();
    is_sync::<Message>();
}

/// A socket is deliberately not `Sync`: one thread at a time uses it, as with libzmq.
/// This is checked by a doc test on the crate (`compile_fail`), since a normal test
/// cannot assert that something does not compile.
#[test]
fn socket_is_not_sync_is_documented() {
    let ctx = Context::new();
    let s = ctx.socket(ferrozmq::SocketType::Pair).unwrap();
    drop(s);
}
