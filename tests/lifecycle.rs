//! Closing things: linger, context teardown, reconnection, and that nothing leaks.
//!
//! Teardown that could hang (a context drop waiting for linger) runs on a helper thread
//! joined through a channel with a deadline, so a hang fails the test instead of the run.

mod common;
use common::{free_tcp_port, unique};

use std::sync::mpsc;
use std::sync::{Barrier, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, Socket, SocketType};

/// Safety net for every blocking call.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The thread-leak test counts the process's threads, so it runs alone: it takes this
/// lock for writing, every other test for reading. (Under nextest each test is its own
/// process anyway.)
static EXCLUSIVE: RwLock<()> = RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    EXCLUSIVE.read().unwrap_or_else(|e| e.into_inner())
}

fn socket(ctx: &Context, ty: SocketType) -> Socket {
    let s = ctx.socket(ty).expect("create socket");
    s.set_recv_timeout(Some(TIMEOUT));
    s.set_send_timeout(Some(TIMEOUT));
    s
}

/// Runs `f` on a helper thread; returns how long it took, or panics after `limit`
/// (a panic inside `f` is passed on).
fn finishes_within(limit: Duration, what: &str, f: impl FnOnce() + Send + 'static) -> Duration {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    let helper = thread::spawn(move || {
        f();
        let _ = tx.send(started.elapsed());
    });
    match rx.recv_timeout(limit) {
        Ok(took) => took,
        Err(mpsc::RecvTimeoutError::Disconnected) => match helper.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("helper exited without reporting"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
    }
}

// ---------------------------------------------------------------- linger

/// A PUSH in its own context sends `N` messages and is dropped at once, then its context
/// is dropped; a PULL in another context still receives all of them.
fn linger_delivers_everything(bind_ep: &str) {
    const N: u32 = 10_000;
    let pull_ctx = Context::new();
    let pull = socket(&pull_ctx, SocketType::Pull);
    pull.bind(bind_ep).unwrap();
    let ep = pull.last_endpoint();

    let receiver = thread::spawn(move || {
        for i in 0..N {
            let m = pull
                .recv()
                .unwrap_or_else(|e| panic!("message {i} of {N}: {e}"));
            assert_eq!(&m[..], &i.to_be_bytes(), "message {i} lost or out of order");
        }
        pull.set_recv_timeout(Some(Duration::from_millis(100)));
        assert!(
            matches!(pull.recv(), Err(Error::TimedOut)),
            "more than {N} messages"
        );
    });

    let took = finishes_within(
        Duration::from_secs(20),
        "sending, closing and dropping the context",
        move || {
            let ctx = Context::new();
            let push = socket(&ctx, SocketType::Push);
            assert_eq!(push.linger(), None, "default linger is infinite");
            push.connect(&ep).unwrap();
            for i in 0..N {
                push.send(i.to_be_bytes().to_vec()).unwrap();
            }
            drop(push);
            drop(ctx);
        },
    );
    eprintln!("PUSH side done in {took:?}");
    receiver.join().unwrap();
}

#[test]
fn linger_delivers_everything_over_tcp() {
    let _g = shared();
    linger_delivers_everything("tcp://127.0.0.1:*");
}

#[test]
fn linger_delivers_everything_over_ipc() {
    let _g = shared();
    linger_delivers_everything(&format!(
        "ipc:///tmp/{}.ipc",
        unique("ferrozmq-test-linger")
    ));
}

#[test]
fn linger_zero_drops_pending_messages_at_once() {
    let _g = shared();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    finishes_within(TIMEOUT, "closing with linger 0", move || {
        let ctx = Context::new();
        let push = socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        for i in 0..100 {
            push.send(format!("never delivered {i}")).unwrap();
        }
        push.set_linger(Some(Duration::ZERO));
        assert_eq!(push.linger(), Some(Duration::ZERO));
        drop(push);
        drop(ctx);
    });
}

#[test]
fn linger_bounds_the_context_drop() {
    let _g = shared();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let took = finishes_within(TIMEOUT, "closing with linger 200 ms", move || {
        let ctx = Context::new();
        let push = socket(&ctx, SocketType::Push);
        push.set_linger(Some(Duration::from_millis(200)));
        push.connect(&ep).unwrap();
        for i in 0..100 {
            push.send(format!("pending {i}")).unwrap();
        }
        let started = Instant::now();
        drop(push);
        drop(ctx);
        let took = started.elapsed();
        // Pending messages and a linger: the context waits for it (roughly).
        assert!(
            took >= Duration::from_millis(150),
            "context drop ignored the linger: {took:?}"
        );
    });
    assert!(
        took < Duration::from_secs(3),
        "context drop took {took:?} with linger 200 ms"
    );
}

#[test]
fn idle_sockets_close_promptly() {
    let _g = shared();
    // A context whose sockets are bound, connected and idle closes promptly, whatever
    // the linger.
    finishes_within(TIMEOUT, "closing idle sockets", || {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let push = socket(&ctx, SocketType::Push);
        push.connect(&pull.last_endpoint()).unwrap();
        push.send("x").unwrap();
        assert_eq!(pull.recv().unwrap(), "x");
        let name = format!("inproc://{}", unique("idle"));
        let rep = socket(&ctx, SocketType::Rep);
        rep.bind(&name).unwrap();
        let req = socket(&ctx, SocketType::Req);
        req.connect(&name).unwrap();
        drop((pull, push, rep, req));
        drop(ctx);
    });
}

// ---------------------------------------------------------------- reconnect

#[test]
fn push_reconnects_to_a_new_pull_on_the_same_port() {
    let _g = shared();
    let port = free_tcp_port();
    let ep = format!("tcp://127.0.0.1:{port}");

    let push_ctx = Context::new();
    let push = socket(&push_ctx, SocketType::Push);
    push.connect(&ep).unwrap();

    let ctx1 = Context::new();
    let pull1 = socket(&ctx1, SocketType::Pull);
    pull1.bind(&ep).unwrap();
    push.send("to the first").unwrap();
    assert_eq!(pull1.recv().unwrap(), "to the first");
    drop(pull1);
    finishes_within(TIMEOUT, "dropping the first PULL's context", move || {
        drop(ctx1)
    });

    let ctx2 = Context::new();
    let pull2 = socket(&ctx2, SocketType::Pull);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match pull2.bind(&ep) {
            Ok(()) => break,
            Err(Error::AddressInUse) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("rebinding {ep}: {e}"),
        }
    }
    // Messages in flight across the switch may be lost; new ones must arrive.
    pull2.set_recv_timeout(Some(Duration::from_millis(50)));
    let mut n = 0u32;
    let got = loop {
        assert!(
            Instant::now() < deadline,
            "nothing reached the new PULL after {n} sends"
        );
        match push.try_send(format!("after {n}")) {
            Ok(())
            | Err(ferrozmq::SendError {
                error: Error::WouldBlock,
                ..
            }) => {}
            Err(e) => panic!("send: {e}"),
        }
        n += 1;
        match pull2.recv() {
            Ok(m) => break m,
            Err(Error::TimedOut) => {}
            Err(e) => panic!("recv: {e}"),
        }
    };
    assert!(got.as_str().unwrap().starts_with("after "), "{got:?}");
    // And from then on, everything arrives.
    pull2.set_recv_timeout(Some(TIMEOUT));
    while pull2.try_recv().is_ok() {}
    for i in 0..10 {
        push.send(format!("steady {i}")).unwrap();
    }
    let mut steady = Vec::new();
    while steady.len() < 10 {
        let m = pull2.recv().unwrap();
        let s = m.as_str().unwrap().to_string();
        if s.starts_with("steady ") {
            steady.push(s);
        }
    }
    assert_eq!(
        steady,
        (0..10).map(|i| format!("steady {i}")).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------- contexts and threads

#[test]
fn sockets_outlive_a_dropped_context_on_another_thread() {
    let _g = shared();
    let ctx = Context::new();
    let ready = std::sync::Arc::new(Barrier::new(2));
    let dropped = std::sync::Arc::new(Barrier::new(2));
    let worker = {
        let ctx = ctx.clone();
        let (ready, dropped) = (ready.clone(), dropped.clone());
        thread::spawn(move || {
            let pull = socket(&ctx, SocketType::Pull);
            pull.bind("tcp://127.0.0.1:*").unwrap();
            let push = socket(&ctx, SocketType::Push);
            push.connect(&pull.last_endpoint()).unwrap();
            drop(ctx); // only the sockets keep the context alive now
            ready.wait();
            dropped.wait();
            // Existing connections, new connections, and inproc all keep working.
            push.send("after drop").unwrap();
            assert_eq!(pull.recv().unwrap(), "after drop");
            let name = format!("inproc://{}", unique("orphan"));
            pull.bind(&name).unwrap();
            // No context handle is left here, but new endpoints on the old sockets work.
            push.connect(&name).unwrap();
            for i in 0..10 {
                push.send(format!("m{i}")).unwrap();
            }
            for _ in 0..10 {
                pull.recv().unwrap();
            }
        })
    };
    ready.wait();
    drop(ctx);
    dropped.wait();
    worker.join().unwrap();
}

fn io_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm"))
                .is_ok_and(|c| c.starts_with("ferrozmq-io"))
        })
        .count()
}

fn all_threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn creating_and_dropping_contexts_does_not_leak_threads() {
    let _g = EXCLUSIVE.write().unwrap_or_else(|e| e.into_inner());
    // Let threads of tests that just finished exit.
    thread::sleep(Duration::from_millis(100));
    let threads_before = all_threads();
    let io_before = io_threads();

    finishes_within(Duration::from_secs(20), "200 context lifecycles", || {
        for i in 0..200 {
            let ctx = Context::new();
            let pull = socket(&ctx, SocketType::Pull);
            let push = socket(&ctx, SocketType::Push);
            if i % 2 == 0 {
                pull.bind("tcp://127.0.0.1:*").unwrap();
            } else {
                pull.bind(&format!("inproc://{}", unique("leak"))).unwrap();
            }
            push.connect(&pull.last_endpoint()).unwrap();
            push.send("x").unwrap();
            assert_eq!(pull.recv().unwrap(), "x");
            drop(push);
            drop(pull);
            drop(ctx);
            // And a context with several I/O threads and no socket at all.
            if i % 20 == 0 {
                drop(Context::with_io_threads(4).unwrap());
            }
        }
    });

    // Joining happens in the drops above; give stragglers a moment all the same.
    let deadline = Instant::now() + Duration::from_secs(2);
    while io_threads() > io_before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let (threads_after, io_after) = (all_threads(), io_threads());
    eprintln!("threads {threads_before} -> {threads_after}, io threads {io_before} -> {io_after}");
    assert!(
        io_after <= io_before,
        "I/O threads leaked: {io_before} -> {io_after}"
    );
    assert!(
        threads_after <= threads_before + 4,
        "threads leaked: {threads_before} -> {threads_after}"
    );
}
