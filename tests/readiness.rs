//! The readiness descriptor is level-triggered and loses no wake-up: it is readable
//! exactly while the socket has something to receive, under bursts, partial reads and
//! concurrent senders, over inproc and tcp. The [`Poller`] waits on sockets and raw
//! descriptors together. With the `tokio` feature, the async adapter runs a REQ/REP
//! conversation between tasks.

mod common;
use common::unique;

use std::os::fd::{AsRawFd, RawFd};
use std::thread;
use std::time::{Duration, Instant};

use ferrozmq::{Context, Error, Interest, Poller, Socket, SocketType};

const TIMEOUT: Duration = Duration::from_secs(10);

fn socket(ctx: &Context, ty: SocketType) -> Socket {
    let s = ctx.socket(ty).unwrap();
    s.set_recv_timeout(Some(TIMEOUT));
    s.set_send_timeout(Some(TIMEOUT));
    s.set_linger(Some(Duration::ZERO));
    s
}

/// poll(2) on one descriptor for readability.
fn readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut fds = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) };
    rc == 1
}

fn pair(ctx: &Context, tcp: bool) -> (Socket, Socket) {
    let pull = socket(ctx, SocketType::Pull);
    let ep = if tcp {
        pull.bind("tcp://127.0.0.1:*").unwrap();
        pull.last_endpoint()
    } else {
        let ep = format!("inproc://{}", unique("fd"));
        pull.bind(&ep).unwrap();
        ep
    };
    let push = socket(ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    (push, pull)
}

#[test]
fn descriptor_is_readable_exactly_while_messages_wait() {
    for tcp in [false, true] {
        let ctx = Context::new();
        let (push, pull) = pair(&ctx, tcp);
        let fd = pull.as_raw_fd();
        assert!(!readable(fd, 0), "idle socket must not be readable");
        for i in 0..5 {
            push.send(format!("m{i}")).unwrap();
        }
        assert!(readable(fd, 5000));
        for i in 0..5 {
            // Partial reads: still readable until the last message is taken.
            assert!(readable(fd, 5000), "readable before message {i}");
            // Over tcp the rest may still be in flight: wait for it as a user would.
            let m = loop {
                match pull.try_recv() {
                    Ok(m) => break m,
                    Err(Error::WouldBlock) => assert!(readable(fd, 5000)),
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!(m, format!("m{i}").as_bytes());
        }
        assert!(!readable(fd, 0), "drained socket must not be readable");
        assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
    }
}

#[test]
fn multipart_frames_keep_the_descriptor_readable() {
    let ctx = Context::new();
    let (push, pull) = pair(&ctx, false);
    let fd = pull.as_raw_fd();
    push.send_multipart(["a", "b", "c"]).unwrap();
    assert!(readable(fd, 5000));
    assert_eq!(pull.try_recv().unwrap(), "a");
    assert!(readable(fd, 0), "frames b and c are still to be read");
    assert_eq!(pull.try_recv().unwrap(), "b");
    assert_eq!(pull.try_recv().unwrap(), "c");
    assert!(!readable(fd, 0));
}

#[test]
fn no_wakeup_is_lost_with_concurrent_bursty_senders() {
    for tcp in [false, true] {
        let ctx = Context::new();
        let pull = socket(&ctx, SocketType::Pull);
        let ep = if tcp {
            pull.bind("tcp://127.0.0.1:*").unwrap();
            pull.last_endpoint()
        } else {
            let ep = format!("inproc://{}", unique("burst"));
            pull.bind(&ep).unwrap();
            ep
        };
        const SENDERS: usize = 3;
        const BURSTS: usize = 300;
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let ctx = ctx.clone();
                let ep = ep.clone();
                thread::spawn(move || {
                    let push = ctx.socket(SocketType::Push).unwrap();
                    push.connect(&ep).unwrap();
                    for b in 0..BURSTS {
                        for _ in 0..(b + s) % 5 + 1 {
                            push.send("x").unwrap();
                        }
                        if b % 16 == 0 {
                            thread::sleep(Duration::from_micros(300));
                        }
                    }
                    push
                })
            })
            .collect();
        let expected: usize = (0..SENDERS)
            .map(|s| (0..BURSTS).map(|b| (b + s) % 5 + 1).sum::<usize>())
            .sum();
        let fd = pull.as_raw_fd();
        let mut got = 0;
        let deadline = Instant::now() + TIMEOUT;
        while got < expected {
            assert!(
                Instant::now() < deadline,
                "lost a wake-up at {got}/{expected}"
            );
            // An event loop that reads at most two messages per wake-up.
            if readable(fd, 1000) {
                for _ in 0..2 {
                    match pull.try_recv() {
                        Ok(_) => got += 1,
                        Err(Error::WouldBlock) => break,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }
        for s in senders {
            drop(s.join().unwrap());
        }
        // Peers leaving wake the socket without giving it a message: the descriptor
        // may be raised by that, and the next call settles it.
        thread::sleep(Duration::from_millis(200));
        assert!(matches!(pull.try_recv(), Err(Error::WouldBlock)));
        assert!(!readable(fd, 0));
    }
}

#[test]
fn epoll_edge_triggered_integration_sees_every_message() {
    // The classic libzmq trap: an edge-triggered loop that reads only one message per
    // edge. With a level-triggered descriptor, re-arming (EPOLL_CTL_MOD) after each
    // read is enough to be told again while messages remain.
    let ctx = Context::new();
    let (push, pull) = pair(&ctx, false);
    // SAFETY: plain epoll system calls on descriptors we own; the event struct is live.
    unsafe {
        let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
        assert!(ep >= 0);
        let fd = pull.as_raw_fd();
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLONESHOT) as u32,
            u64: 7,
        };
        assert_eq!(libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev), 0);
        for i in 0..50 {
            push.send(format!("{i}")).unwrap();
        }
        let mut got = 0;
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
        while got < 50 {
            let n = libc::epoll_wait(ep, out.as_mut_ptr(), 4, 5000);
            assert!(n > 0, "no event with {} messages waiting", 50 - got);
            pull.try_recv().unwrap();
            got += 1;
            let mut ev = libc::epoll_event {
                events: (libc::EPOLLIN | libc::EPOLLONESHOT) as u32,
                u64: 7,
            };
            assert_eq!(libc::epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, &mut ev), 0);
        }
        libc::close(ep);
    }
}

#[test]
fn events_reports_what_try_calls_would_do() {
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    let ep = format!("inproc://{}", unique("ev"));
    rep.bind(&ep).unwrap();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&ep).unwrap();
    let e = req.events();
    assert!(e.writable && !e.readable);
    req.send("q").unwrap();
    assert!(!req.events().writable, "REQ awaits its reply");
    let deadline = Instant::now() + TIMEOUT;
    while !rep.events().readable {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(1));
    }
    rep.recv().unwrap();
    assert!(rep.events().writable && !rep.events().readable);
    rep.send("a").unwrap();
    while !req.events().readable {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn send_readiness_follows_the_high_water_mark() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let ep = format!("inproc://{}", unique("hwm"));
    pull.set_rcvhwm(4);
    pull.bind(&ep).unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(4);
    push.connect(&ep).unwrap();
    let fd = push.send_readiness_fd().unwrap();
    assert!(readable(fd, 0), "room to send");
    let mut sent = 0;
    while push.try_send("x").is_ok() {
        sent += 1;
        assert!(sent < 100);
    }
    assert!(!readable(fd, 0), "full: no room");
    let reader = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        for _ in 0..sent {
            pull.recv().unwrap();
        }
        pull
    });
    assert!(readable(fd, 5000), "room again once the reader consumed");
    drop(reader.join().unwrap());
}

#[test]
fn poller_waits_on_sockets_and_raw_descriptors_together() {
    let ctx = Context::new();
    let (push, pull) = pair(&ctx, true);
    let mut pipe = [0; 2];
    // SAFETY: pipe(2) writes two descriptors into the array.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    let mut poller = Poller::new();
    let ip = poller.add(&pull, Interest::READABLE);
    let ifd = poller.add_fd(pipe[0], Interest::READABLE).unwrap();
    assert_eq!(poller.poll(Some(Duration::from_millis(20))), 0);
    // A byte in the pipe from another thread wakes the poller.
    let writer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        // SAFETY: writes one byte from a live buffer to the pipe's write end.
        unsafe { libc::write(pipe[1], b"x".as_ptr().cast(), 1) };
    });
    assert_eq!(poller.poll(Some(TIMEOUT)), 1);
    assert!(poller.events(ifd).readable && !poller.events(ip).readable);
    writer.join().unwrap();
    let mut byte = [0u8; 1];
    // SAFETY: reads one byte into a live buffer.
    unsafe { libc::read(pipe[0], byte.as_mut_ptr().cast(), 1) };
    // And a message on the socket (tcp, from another thread) wakes it too.
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        push.send("m").unwrap();
        push
    });
    assert_eq!(poller.poll(Some(TIMEOUT)), 1);
    assert!(poller.events(ip).readable && !poller.events(ifd).readable);
    assert_eq!(pull.recv().unwrap(), "m");
    drop(sender.join().unwrap());
    // SAFETY: closing descriptors we own.
    unsafe {
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
}

#[cfg(feature = "tokio")]
mod async_adapter {
    use super::*;
    use ferrozmq::AsyncSocket;

    #[test]
    fn req_rep_between_tasks_on_a_multithreaded_runtime() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let run = async {
            let ctx = Context::new();
            let ep = format!("inproc://{}", unique("async"));
            let rep = ctx.socket(SocketType::Rep).unwrap();
            rep.bind(&ep).unwrap();
            let mut rep = AsyncSocket::new(rep).unwrap();
            let req = ctx.socket(SocketType::Req).unwrap();
            req.connect(&ep).unwrap();
            let mut req = AsyncSocket::new(req).unwrap();
            let server = tokio::spawn(async move {
                for _ in 0..1000 {
                    let m = rep.recv().await.unwrap();
                    rep.send(m).await.unwrap();
                }
            });
            for i in 0..1000u32 {
                req.send(i.to_le_bytes().to_vec()).await.unwrap();
                let m = req.recv().await.unwrap();
                assert_eq!(&m[..], &i.to_le_bytes());
            }
            server.await.unwrap();
        };
        rt.block_on(async { tokio::time::timeout(TIMEOUT, run).await })
            .expect("a task was never woken");
    }

    #[test]
    fn async_send_waits_for_room_and_recv_for_data_over_tcp() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let run = async {
            let ctx = Context::new();
            let pull = ctx.socket(SocketType::Pull).unwrap();
            pull.set_rcvhwm(10);
            pull.bind("tcp://127.0.0.1:*").unwrap();
            let ep = pull.last_endpoint();
            let mut pull = AsyncSocket::new(pull).unwrap();
            let push = ctx.socket(SocketType::Push).unwrap();
            push.set_sndhwm(10);
            push.connect(&ep).unwrap();
            let mut push = AsyncSocket::new(push).unwrap();
            const N: u32 = 20_000;
            let producer = tokio::spawn(async move {
                for i in 0..N {
                    push.send_multipart([i.to_le_bytes().to_vec(), b"x".to_vec()])
                        .await
                        .unwrap();
                }
                push
            });
            for i in 0..N {
                if i % 5000 == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let m = pull.recv_multipart().await.unwrap();
                assert_eq!(&m[0][..], &i.to_le_bytes());
            }
            drop(producer.await.unwrap());
        };
        rt.block_on(async { tokio::time::timeout(TIMEOUT, run).await })
            .expect("a task was never woken");
    }
}
