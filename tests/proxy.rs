//! The proxy as a forwarder (XSUB ↔ XPUB) and a broker (ROUTER ↔ DEALER), steering it
//! (PAUSE / RESUME / STATISTICS / TERMINATE), capturing its traffic, and the [`Poller`]
//! it is built on.

mod common;
use common::{socket, unique, TIMEOUT};

use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{proxy_steerable, Context, Error, Interest, Poller, Socket, SocketType};

/// Starts a steerable proxy on its own thread between sockets bound to the returned
/// endpoints; it is controlled through a REP socket bound to `control`.
fn spawn_proxy(
    ctx: &Context,
    front: SocketType,
    back: SocketType,
    control: String,
    capture: Option<String>,
) -> (String, String, thread::JoinHandle<ferrozmq::Result<()>>) {
    let ctx = ctx.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = thread::spawn(move || {
        let f = ctx.socket(front)?;
        f.bind("tcp://127.0.0.1:*")?;
        let b = ctx.socket(back)?;
        b.bind("tcp://127.0.0.1:*")?;
        let c = ctx.socket(SocketType::Rep)?;
        c.bind(&control)?;
        let cap = match &capture {
            Some(ep) => {
                let s = ctx.socket(SocketType::Push)?;
                s.connect(ep)?;
                Some(s)
            }
            None => None,
        };
        tx.send((f.last_endpoint(), b.last_endpoint())).unwrap();
        proxy_steerable(&f, &b, cap.as_ref(), &c)
    });
    let (f, b) = rx.recv_timeout(TIMEOUT).expect("proxy started");
    (f, b, handle)
}

fn command(ctx: &Context, control: &str, cmd: &str) -> Vec<Vec<u8>> {
    let req = socket(ctx, SocketType::Req);
    req.connect(control).unwrap();
    req.send(cmd).unwrap();
    req.recv_multipart()
        .unwrap()
        .into_iter()
        .map(|m| m.to_vec())
        .collect()
}

fn stats(ctx: &Context, control: &str) -> [u64; 8] {
    let frames = command(ctx, control, "STATISTICS");
    assert_eq!(frames.len(), 8);
    let mut out = [0u64; 8];
    for (o, f) in out.iter_mut().zip(frames) {
        *o = u64::from_ne_bytes(f.try_into().unwrap());
    }
    out
}

#[test]
fn broker_routes_requests_to_workers_and_replies_back() {
    let ctx = Context::new();
    let control = format!("inproc://{}", unique("ctl"));
    let (front, back, proxy) = spawn_proxy(
        &ctx,
        SocketType::Router,
        SocketType::Dealer,
        control.clone(),
        None,
    );
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let ctx = ctx.clone();
            let back = back.clone();
            thread::spawn(move || {
                let rep = socket(&ctx, SocketType::Rep);
                rep.set_recv_timeout(Some(Duration::from_millis(500)));
                rep.connect(&back).unwrap();
                while let Ok(m) = rep.recv() {
                    let mut reply = m.to_vec();
                    reply.extend_from_slice(format!(" by {w}").as_bytes());
                    rep.send(reply).unwrap();
                }
            })
        })
        .collect();
    let clients: Vec<_> = (0..3)
        .map(|c| {
            let ctx = ctx.clone();
            let front = front.clone();
            thread::spawn(move || {
                let req = socket(&ctx, SocketType::Req);
                req.connect(&front).unwrap();
                for i in 0..20 {
                    let ask = format!("c{c}-{i}");
                    req.send(ask.as_str()).unwrap();
                    let reply = req.recv().unwrap();
                    assert!(reply.starts_with(ask.as_bytes()), "{reply:?}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let s = stats(&ctx, &control);
    assert_eq!(s[0], 60, "frontend messages in");
    assert_eq!(s[2], 60, "frontend messages out");
    assert_eq!(s[4], 60, "backend messages in");
    assert_eq!(s[6], 60, "backend messages out");
    assert_eq!(command(&ctx, &control, "TERMINATE"), [Vec::<u8>::new()]);
    proxy.join().unwrap().unwrap();
    for w in workers {
        w.join().unwrap();
    }
}

#[test]
fn forwarder_carries_subscriptions_up_and_messages_down() {
    let ctx = Context::new();
    let control = format!("inproc://{}", unique("ctl"));
    let (front, back, proxy) = spawn_proxy(
        &ctx,
        SocketType::XSub,
        SocketType::XPub,
        control.clone(),
        None,
    );
    let publisher = socket(&ctx, SocketType::Pub);
    publisher.connect(&front).unwrap();
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("keep").unwrap();
    sub.connect(&back).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publisher.send("drop-me").unwrap();
        publisher.send("keep-me").unwrap();
        thread::sleep(Duration::from_millis(5));
        if let Ok(m) = sub.try_recv() {
            assert_eq!(m, "keep-me");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nothing came through the forwarder"
        );
    }
    command(&ctx, &control, "TERMINATE");
    proxy.join().unwrap().unwrap();
}

#[test]
fn pause_holds_traffic_and_resume_releases_it() {
    let ctx = Context::new();
    let control = format!("inproc://{}", unique("ctl"));
    let (front, back, proxy) = spawn_proxy(
        &ctx,
        SocketType::Pull,
        SocketType::Push,
        control.clone(),
        None,
    );
    let push = socket(&ctx, SocketType::Push);
    push.connect(&front).unwrap();
    let pull = socket(&ctx, SocketType::Pull);
    pull.connect(&back).unwrap();
    push.send("before").unwrap();
    assert_eq!(pull.recv().unwrap(), "before");
    command(&ctx, &control, "PAUSE");
    push.send("during").unwrap();
    pull.set_recv_timeout(Some(Duration::from_millis(200)));
    assert!(matches!(pull.recv(), Err(Error::TimedOut)));
    command(&ctx, &control, "RESUME");
    pull.set_recv_timeout(Some(TIMEOUT));
    assert_eq!(pull.recv().unwrap(), "during");
    command(&ctx, &control, "TERMINATE");
    proxy.join().unwrap().unwrap();
}

#[test]
fn capture_sees_every_forwarded_message() {
    let ctx = Context::new();
    let control = format!("inproc://{}", unique("ctl"));
    let capture = socket(&ctx, SocketType::Pull);
    let capture_ep = format!("inproc://{}", unique("cap"));
    capture.bind(&capture_ep).unwrap();
    let (front, back, proxy) = spawn_proxy(
        &ctx,
        SocketType::Pull,
        SocketType::Push,
        control.clone(),
        Some(capture_ep),
    );
    let push = socket(&ctx, SocketType::Push);
    push.connect(&front).unwrap();
    for i in 0..10 {
        push.send_multipart([format!("m{i}"), "body".into()])
            .unwrap();
    }
    // The backend has no peer yet: the proxy holds the first message and retries it.
    thread::sleep(Duration::from_millis(50));
    let pull = socket(&ctx, SocketType::Pull);
    pull.connect(&back).unwrap();
    for i in 0..10 {
        let m = pull.recv_multipart().unwrap();
        assert_eq!(m[0], format!("m{i}").as_bytes());
        let c = capture.recv_multipart().unwrap();
        assert_eq!(c, m, "capture gets the whole message, once");
    }
    thread::sleep(Duration::from_millis(50));
    assert!(
        matches!(capture.try_recv(), Err(Error::WouldBlock)),
        "a message was captured twice"
    );
    command(&ctx, &control, "TERMINATE");
    proxy.join().unwrap().unwrap();
}

#[test]
fn a_full_backend_holds_messages_without_losing_any() {
    // Small HWMs everywhere and a slow consumer: the proxy must apply back-pressure,
    // not drop or reorder.
    let ctx = Context::new();
    let control = format!("inproc://{}", unique("ctl"));
    let (front, back, proxy) = spawn_proxy(
        &ctx,
        SocketType::Pull,
        SocketType::Push,
        control.clone(),
        None,
    );
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(10);
    push.connect(&front).unwrap();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(10);
    pull.connect(&back).unwrap();
    let sender = thread::spawn(move || {
        for i in 0u32..20_000 {
            push.send(i.to_le_bytes().to_vec()).unwrap();
        }
        push
    });
    for i in 0u32..20_000 {
        if i % 5000 == 0 {
            thread::sleep(Duration::from_millis(50));
        }
        let m = pull.recv().unwrap();
        assert_eq!(u32::from_le_bytes(m[..4].try_into().unwrap()), i);
    }
    drop(sender.join().unwrap());
    command(&ctx, &control, "TERMINATE");
    proxy.join().unwrap().unwrap();
}

#[test]
fn poller_reports_only_ready_sockets_and_times_out() {
    let ctx = Context::new();
    let a = socket(&ctx, SocketType::Pull);
    let b = socket(&ctx, SocketType::Pull);
    let ea = format!("inproc://{}", unique("pa"));
    let eb = "tcp://127.0.0.1:*".to_string();
    a.bind(&ea).unwrap();
    b.bind(&eb).unwrap();
    let eb = b.last_endpoint();
    let mut poller = Poller::new();
    let ia = poller.add(&a, Interest::READABLE);
    let ib = poller.add(&b, Interest::READABLE);
    let start = Instant::now();
    assert_eq!(poller.poll(Some(Duration::from_millis(50))), 0);
    assert!(start.elapsed() >= Duration::from_millis(50));
    // A message from another thread, over tcp, wakes a poller already waiting.
    let ctx2 = ctx.clone();
    let sender = thread::spawn(move || {
        let push = ctx2.socket(SocketType::Push).unwrap();
        push.connect(&eb).unwrap();
        thread::sleep(Duration::from_millis(50));
        push.send("tcp").unwrap();
        push
    });
    assert_eq!(poller.poll(Some(TIMEOUT)), 1);
    assert!(poller.events(ib).readable && !poller.events(ia).readable);
    assert_eq!(b.recv().unwrap(), "tcp");
    drop(sender.join().unwrap());
    // Writable interest: a PUSH with a peer has room.
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ea).unwrap();
    drop(poller);
    let mut poller = Poller::new();
    let ip = poller.add(&push, Interest::WRITABLE);
    assert_eq!(poller.poll(Some(TIMEOUT)), 1);
    assert!(poller.events(ip).writable);
}

#[test]
fn poller_never_misses_a_wakeup_under_bursts() {
    // Two senders burst into two sockets; the poller-driven reader must get every
    // message, however the wake-ups interleave with its checks.
    let ctx = Context::new();
    let eps: Vec<String> = (0..2)
        .map(|i| format!("inproc://{}", unique(&format!("burst{i}"))))
        .collect();
    let pulls: Vec<Socket> = eps
        .iter()
        .map(|ep| {
            let s = socket(&ctx, SocketType::Pull);
            s.bind(ep).unwrap();
            s
        })
        .collect();
    let senders: Vec<_> = eps
        .iter()
        .map(|ep| {
            let ctx = ctx.clone();
            let ep = ep.clone();
            thread::spawn(move || {
                let push = ctx.socket(SocketType::Push).unwrap();
                push.connect(&ep).unwrap();
                for burst in 0..200 {
                    for _ in 0..(burst % 7) + 1 {
                        push.send("x").unwrap();
                    }
                    if burst % 10 == 0 {
                        thread::sleep(Duration::from_micros(200));
                    }
                }
                push
            })
        })
        .collect();
    let expected: usize = (0..200).map(|b| (b % 7) + 1).sum::<usize>() * 2;
    let mut poller = Poller::new();
    for p in &pulls {
        poller.add(p, Interest::READABLE);
    }
    let mut got = 0;
    while got < expected {
        assert!(
            poller.poll(Some(TIMEOUT)) > 0,
            "lost a wake-up at {got}/{expected}"
        );
        for (i, p) in pulls.iter().enumerate() {
            if poller.events(i).readable {
                // Take only one: partial reads must keep the socket readable.
                p.try_recv().unwrap();
                got += 1;
            }
        }
    }
    for s in senders {
        drop(s.join().unwrap());
    }
}
