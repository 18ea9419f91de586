//! zmq.rs (the `zeromq` crate), async, with the same scenarios as
//! [`blocking`](crate::blocking): same clock points, same counting, same checks.
//!
//! It runs on a tokio multi-thread runtime with two worker threads (this machine's
//! size class; zmq.rs has no I/O threads of its own: its socket I/O runs in whatever
//! task awaits it, plus accept and handshake tasks it spawns). Both ends are tasks on
//! that runtime; the main thread only waits for them.

use bytes::Bytes;
use zeromq::{
    DealerSocket, PullSocket, PushSocket, RepSocket, ReqSocket, RouterSocket, Socket, SocketRecv,
    SocketSend, ZmqMessage,
};

use crate::model::{Impl, Pattern, Result, Test, Transport};
use crate::probe::{self, expect_len, or_die, Sample, Snapshot};

fn err(e: impl std::fmt::Display) -> String {
    format!("zmq.rs: {e}")
}

pub fn run(test: &Test) -> Result<Sample> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)?;
    match *test {
        Test::Throughput {
            pattern,
            transport,
            size,
            count,
        } => match pattern {
            Pattern::PushPull => {
                rt.block_on(throughput::<PushSocket, PullSocket>(transport, size, count))
            }
            Pattern::DealerRouter => rt.block_on(throughput::<DealerSocket, RouterSocket>(
                transport, size, count,
            )),
        },
        Test::Latency {
            transport,
            size,
            count,
        } => rt.block_on(latency(transport, size, count)),
        Test::IdleConnections { count } => probe::idle_connections(
            count,
            || {
                let mut router = RouterSocket::new();
                let endpoint = rt.block_on(router.bind(&Transport::Tcp.bind_endpoint("0")));
                Ok((endpoint.map_err(err)?.to_string(), router))
            },
            // zmq.rs doesn't say how many peers a socket has.
            |_| None,
        ),
        Test::Queued { .. } => Err(Impl::ZmqRs.unsupported(test).unwrap_or("").to_string()),
    }
}

/// Binds `socket` for `transport` (port 0: zmq.rs has no `*`).
async fn bind(socket: &mut impl Socket, transport: Transport) -> Result<String> {
    let endpoint = socket.bind(&transport.bind_endpoint("0")).await;
    Ok(endpoint.map_err(err)?.to_string())
}

/// The last frame's length (ROUTER puts the peer's id in front of the payload).
fn payload_len(msg: &ZmqMessage) -> usize {
    msg.iter().last().map_or(0, Bytes::len)
}

async fn throughput<Tx, Rx>(transport: Transport, size: usize, count: u64) -> Result<Sample>
where
    Tx: Socket + SocketSend + 'static,
    Rx: Socket + SocketRecv + 'static,
{
    let mut rx = Rx::new();
    let endpoint = bind(&mut rx, transport).await?;
    let receiver =
        tokio::spawn(async move { or_die("receiver", receive_all(&mut rx, size, count).await) });
    let sender =
        tokio::spawn(async move { or_die("sender", send_all::<Tx>(&endpoint, size, count).await) });
    let sample = receiver.await.map_err(err)?;
    drop(sender.await.map_err(err)?);
    Ok(sample)
}

async fn send_all<Tx: Socket + SocketSend>(endpoint: &str, size: usize, count: u64) -> Result<Tx> {
    let mut tx = Tx::new();
    tx.connect(endpoint).await.map_err(err)?;
    let payload = Bytes::from(vec![0u8; size]);
    for _ in 0..count {
        tx.send(ZmqMessage::from(payload.clone()))
            .await
            .map_err(err)?;
    }
    Ok(tx)
}

async fn receive_all(rx: &mut impl SocketRecv, size: usize, count: u64) -> Result<Sample> {
    expect_len(payload_len(&rx.recv().await.map_err(err)?), size)?;
    let start = Snapshot::take();
    for _ in 1..count {
        expect_len(payload_len(&rx.recv().await.map_err(err)?), size)?;
    }
    let end = Snapshot::take();
    Ok(Sample::between(&start, &end, count - 1))
}

async fn latency(transport: Transport, size: usize, count: u64) -> Result<Sample> {
    let mut rep = RepSocket::new();
    let endpoint = bind(&mut rep, transport).await?;
    let server = tokio::spawn(async move {
        or_die(
            "REP",
            async {
                for _ in 0..=count {
                    let msg = rep.recv().await.map_err(err)?;
                    rep.send(msg).await.map_err(err)?;
                }
                Ok(rep)
            }
            .await,
        )
    });
    let client =
        tokio::spawn(async move { or_die("REQ", request_all(&endpoint, size, count).await) });
    let sample = client.await.map_err(err)?;
    drop(server.await.map_err(err)?);
    Ok(sample)
}

/// As [`blocking`](crate::blocking)'s: one untimed roundtrip, then `count` timed ones.
async fn request_all(endpoint: &str, size: usize, count: u64) -> Result<Sample> {
    let mut req = ReqSocket::new();
    req.connect(endpoint).await.map_err(err)?;
    let payload = Bytes::from(vec![0u8; size]);
    let mut start = Snapshot::take();
    for i in 0..=count {
        if i == 1 {
            start = Snapshot::take();
        }
        req.send(ZmqMessage::from(payload.clone()))
            .await
            .map_err(err)?;
        expect_len(payload_len(&req.recv().await.map_err(err)?), size)?;
    }
    Ok(Sample::between(&start, &Snapshot::take(), count))
}
