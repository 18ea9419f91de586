//! A proxy of one implementation between clients and workers of the other, over tcp
//! and ipc: a ferrozmq broker (ROUTER↔DEALER, `proxy_steerable`) serving libzmq REQ
//! clients and libzmq REP workers, a libzmq broker (`zmq_proxy_steerable`) serving
//! ferrozmq ones, and the same two ways round for a forwarder (XSUB↔XPUB) between
//! publishers and subscribers. Every request must get its own reply, every published
//! message must reach its subscribers, and the proxies stop on TERMINATE.

mod common;
use common::unique;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{proxy_steerable, Context, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT_MS: i32 = 10_000;

#[derive(Clone, Copy, Debug)]
enum Transport {
    Tcp,
    Ipc,
}

/// Two endpoints to bind the proxy's sides to, and what clients connect to.
fn endpoints(t: Transport) -> [String; 2] {
    match t {
        Transport::Tcp => ["tcp://127.0.0.1:*".into(), "tcp://127.0.0.1:*".into()],
        Transport::Ipc => [
            format!("ipc:///tmp/{}.ipc", unique("fzproxy-front")),
            format!("ipc:///tmp/{}.ipc", unique("fzproxy-back")),
        ],
    }
}

/// A ferrozmq proxy between two bound sockets; returns their endpoints, the control
/// endpoint (a REP on loopback tcp to send commands to) and the thread.
fn ferrozmq_proxy(
    t: Transport,
    front: SocketType,
    back: SocketType,
) -> (
    String,
    String,
    String,
    thread::JoinHandle<ferrozmq::Result<()>>,
) {
    let (tx, rx) = mpsc::channel();
    let [fe, be] = endpoints(t);
    let handle = thread::spawn(move || {
        let ctx = Context::new();
        let f = ctx.socket(front)?;
        f.bind(&fe)?;
        let b = ctx.socket(back)?;
        b.bind(&be)?;
        let c = ctx.socket(SocketType::Rep)?;
        c.bind("tcp://127.0.0.1:*")?;
        tx.send((f.last_endpoint(), b.last_endpoint(), c.last_endpoint()))
            .unwrap();
        let result = proxy_steerable(&f, &b, None, &c);
        for s in [&f, &b, &c] {
            s.set_linger(Some(Duration::ZERO));
        }
        result
    });
    let (f, b, c) = rx.recv_timeout(TIMEOUT).expect("proxy started");
    (f, b, c, handle)
}

fn terminate_ferrozmq(control: &str) {
    let ctx = Context::new();
    let req = fsock(&ctx, SocketType::Req);
    req.connect(control).unwrap();
    req.send("TERMINATE").unwrap();
    req.recv().unwrap();
}

/// A libzmq proxy between two bound sockets, steered through a PAIR.
fn libzmq_proxy(
    t: Transport,
    front: zmq::SocketType,
    back: zmq::SocketType,
) -> (String, String, zmq::Socket, thread::JoinHandle<()>) {
    let ctx = zmq::Context::new();
    let control = format!("inproc://{}", unique("zctl"));
    let (tx, rx) = mpsc::channel();
    let [fe, be] = endpoints(t);
    let c2 = ctx.clone();
    let ctl = control.clone();
    let handle = thread::spawn(move || {
        let f = c2.socket(front).unwrap();
        f.bind(&fe).unwrap();
        let b = c2.socket(back).unwrap();
        b.bind(&be).unwrap();
        let mut c = c2.socket(zmq::PAIR).unwrap();
        c.bind(&ctl).unwrap();
        tx.send((
            f.get_last_endpoint().unwrap().unwrap(),
            b.get_last_endpoint().unwrap().unwrap(),
        ))
        .unwrap();
        let (mut f, mut b) = (f, b);
        let _ = zmq::proxy_steerable(&mut f, &mut b, &mut c);
        for s in [&f, &b, &c] {
            s.set_linger(0).unwrap();
        }
    });
    let (f, b) = rx.recv_timeout(TIMEOUT).expect("libzmq proxy started");
    let control_peer = ctx.socket(zmq::PAIR).unwrap();
    control_peer.connect(&control).unwrap();
    (f, b, control_peer, handle)
}

fn zsock(ctx: &zmq::Context, ty: zmq::SocketType) -> zmq::Socket {
    let s = ctx.socket(ty).unwrap();
    s.set_rcvtimeo(TIMEOUT_MS).unwrap();
    s.set_sndtimeo(TIMEOUT_MS).unwrap();
    s.set_linger(0).unwrap();
    s
}

fn fsock(ctx: &Context, ty: SocketType) -> ferrozmq::Socket {
    let s = ctx.socket(ty).unwrap();
    s.set_recv_timeout(Some(TIMEOUT));
    s.set_send_timeout(Some(TIMEOUT));
    s.set_linger(Some(Duration::ZERO));
    s
}

const CLIENTS: usize = 3;
const WORKERS: usize = 2;
const REQUESTS: usize = 50;

fn ferrozmq_broker_libzmq_peers(t: Transport) {
    eprintln!("--- {t:?}");
    let (front, back, control, proxy) = ferrozmq_proxy(t, SocketType::Router, SocketType::Dealer);
    let zctx = zmq::Context::new();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let rep = zsock(&zctx, zmq::REP);
            rep.set_rcvtimeo(1000).unwrap();
            rep.connect(&back).unwrap();
            thread::spawn(move || {
                let mut served = 0;
                while let Ok(m) = rep.recv_bytes(0) {
                    let mut reply = m;
                    reply.extend_from_slice(format!("|w{w}").as_bytes());
                    rep.send(reply, 0).unwrap();
                    served += 1;
                }
                served
            })
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let req = zsock(&zctx, zmq::REQ);
            req.connect(&front).unwrap();
            thread::spawn(move || {
                for i in 0..REQUESTS {
                    let ask = format!("c{c}-{i}");
                    req.send(ask.as_bytes(), 0).unwrap();
                    let reply = req.recv_bytes(0).unwrap();
                    assert!(reply.starts_with(ask.as_bytes()), "wrong reply to {ask}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    terminate_ferrozmq(&control);
    proxy.join().unwrap().unwrap();
    let served: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(served, CLIENTS * REQUESTS);
}

fn libzmq_broker_ferrozmq_peers(t: Transport) {
    eprintln!("--- {t:?}");
    let (front, back, control, proxy) = libzmq_proxy(t, zmq::ROUTER, zmq::DEALER);
    let ctx = Context::new();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let rep = fsock(&ctx, SocketType::Rep);
            rep.set_recv_timeout(Some(Duration::from_secs(1)));
            rep.connect(&back).unwrap();
            thread::spawn(move || {
                let mut served = 0;
                while let Ok(m) = rep.recv() {
                    let mut reply = m.to_vec();
                    reply.extend_from_slice(format!("|w{w}").as_bytes());
                    rep.send(reply).unwrap();
                    served += 1;
                }
                served
            })
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let req = fsock(&ctx, SocketType::Req);
            req.connect(&front).unwrap();
            thread::spawn(move || {
                for i in 0..REQUESTS {
                    let ask = format!("c{c}-{i}");
                    req.send(ask.as_str()).unwrap();
                    let reply = req.recv().unwrap();
                    assert!(reply.starts_with(ask.as_bytes()), "wrong reply to {ask}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    control.send("TERMINATE", 0).unwrap();
    proxy.join().unwrap();
    let served: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(served, CLIENTS * REQUESTS);
}

/// Publishes until every subscriber has seen a message starting with `topic`.
fn publish_until_seen(publish: &dyn Fn(&str), seen: &dyn Fn() -> bool, topic: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while !seen() {
        assert!(
            Instant::now() < deadline,
            "nothing came through the forwarder"
        );
        publish(topic);
        thread::sleep(Duration::from_millis(5));
    }
}

fn ferrozmq_forwarder_libzmq_peers(t: Transport) {
    eprintln!("--- {t:?}");
    let (front, back, control, proxy) = ferrozmq_proxy(t, SocketType::XSub, SocketType::XPub);
    let zctx = zmq::Context::new();
    let publisher = zsock(&zctx, zmq::PUB);
    publisher.connect(&front).unwrap();
    let sub = zsock(&zctx, zmq::SUB);
    sub.set_subscribe(b"keep").unwrap();
    sub.connect(&back).unwrap();
    publish_until_seen(
        &|topic| publisher.send(topic, 0).unwrap(),
        &|| {
            sub.recv_bytes(zmq::DONTWAIT)
                .is_ok_and(|m| m.starts_with(b"keep"))
        },
        "keep-probe",
    );
    for i in 0..20 {
        publisher.send(format!("drop-{i}").as_bytes(), 0).unwrap();
        publisher.send(format!("keep-{i}").as_bytes(), 0).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 20 {
        let m = sub.recv_bytes(0).unwrap();
        assert!(m.starts_with(b"keep"), "unsubscribed message forwarded");
        if m != b"keep-probe" {
            got.push(String::from_utf8(m).unwrap());
        }
    }
    assert_eq!(
        got,
        (0..20).map(|i| format!("keep-{i}")).collect::<Vec<_>>()
    );
    terminate_ferrozmq(&control);
    proxy.join().unwrap().unwrap();
}

fn libzmq_forwarder_ferrozmq_peers(t: Transport) {
    eprintln!("--- {t:?}");
    let (front, back, control, proxy) = libzmq_proxy(t, zmq::XSUB, zmq::XPUB);
    let ctx = Context::new();
    let publisher = fsock(&ctx, SocketType::Pub);
    publisher.connect(&front).unwrap();
    let sub = fsock(&ctx, SocketType::Sub);
    sub.subscribe("keep").unwrap();
    sub.connect(&back).unwrap();
    publish_until_seen(
        &|topic| publisher.send(topic).unwrap(),
        &|| sub.try_recv().is_ok_and(|m| m.starts_with(b"keep")),
        "keep-probe",
    );
    for i in 0..20 {
        publisher.send(format!("drop-{i}")).unwrap();
        publisher.send(format!("keep-{i}")).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 20 {
        let m = sub.recv().unwrap();
        assert!(m.starts_with(b"keep"), "unsubscribed message forwarded");
        if &m[..] != b"keep-probe" {
            got.push(String::from_utf8(m.to_vec()).unwrap());
        }
    }
    assert_eq!(
        got,
        (0..20).map(|i| format!("keep-{i}")).collect::<Vec<_>>()
    );
    control.send("TERMINATE", 0).unwrap();
    proxy.join().unwrap();
}

#[test]
fn ferrozmq_broker_between_libzmq_clients_and_workers() {
    ferrozmq_broker_libzmq_peers(Transport::Tcp);
    ferrozmq_broker_libzmq_peers(Transport::Ipc);
}

#[test]
fn libzmq_broker_between_ferrozmq_clients_and_workers() {
    libzmq_broker_ferrozmq_peers(Transport::Tcp);
    libzmq_broker_ferrozmq_peers(Transport::Ipc);
}

#[test]
fn ferrozmq_forwarder_between_libzmq_publisher_and_subscriber() {
    ferrozmq_forwarder_libzmq_peers(Transport::Tcp);
    ferrozmq_forwarder_libzmq_peers(Transport::Ipc);
}

#[test]
fn libzmq_forwarder_between_ferrozmq_publisher_and_subscriber() {
    libzmq_forwarder_ferrozmq_peers(Transport::Tcp);
    libzmq_forwarder_ferrozmq_peers(Transport::Ipc);
}
