//! libzmq (through the `zmq` crate) behind [`Blocking`], and the connecting side of
//! the idle-connections test, which is libzmq for every implementation measured.

use std::io::Read;

use crate::blocking::Blocking;
use crate::model::{Kind, Result, Transport};
use crate::probe;

pub struct Libzmq;

fn err(e: zmq::Error) -> String {
    format!("libzmq: {e}")
}

impl Blocking for Libzmq {
    type Context = zmq::Context;
    type Socket = zmq::Socket;
    /// Just the size: every send builds a new message (see [`Libzmq::send`]).
    type Payload = usize;
    type Received = zmq::Message;

    fn context() -> Result<zmq::Context> {
        Ok(zmq::Context::new())
    }

    fn socket(ctx: &zmq::Context, kind: Kind) -> Result<zmq::Socket> {
        ctx.socket(match kind {
            Kind::Push => zmq::PUSH,
            Kind::Pull => zmq::PULL,
            Kind::Req => zmq::REQ,
            Kind::Rep => zmq::REP,
            Kind::Dealer => zmq::DEALER,
            Kind::Router => zmq::ROUTER,
        })
        .map_err(err)
    }

    fn bind(socket: &zmq::Socket, transport: Transport) -> Result<String> {
        socket.bind(&transport.bind_endpoint("*")).map_err(err)?;
        socket
            .get_last_endpoint()
            .map_err(err)?
            .map_err(|_| "libzmq: last endpoint is not UTF-8".to_string())
    }

    fn connect(socket: &zmq::Socket, endpoint: &str) -> Result<()> {
        socket.connect(endpoint).map_err(err)
    }

    fn set_sndhwm(socket: &zmq::Socket, hwm: u64) -> Result<()> {
        let hwm = i32::try_from(hwm).map_err(|e| e.to_string())?;
        socket.set_sndhwm(hwm).map_err(err)
    }

    fn payload(size: usize) -> usize {
        size
    }

    /// A new `zmq_msg_init_size` message per send, as libzmq's own `remote_thr` and
    /// `remote_lat` do: no copy of the payload (libzmq can't share one buffer between
    /// messages the way the Rust implementations share a `Bytes`), but an allocation
    /// for sizes above 33 B.
    // The crate deprecates this constructor for its name; its replacement, `with_size`,
    // zero-fills, which remote_thr doesn't do.
    #[allow(deprecated)]
    fn send(socket: &zmq::Socket, size: &usize) -> Result<()> {
        // SAFETY: the bytes are never read on the Rust side; libzmq only copies them out
        // to the socket, as remote_thr's uninitialised messages.
        let msg = unsafe { zmq::Message::with_capacity_unallocated(*size) };
        socket.send(msg, 0).map_err(err)
    }

    fn recv(socket: &zmq::Socket) -> Result<zmq::Message> {
        // zmq_msg_recv into a zmq_msg_t, as libzmq's own perf tools do: no copy out.
        let mut msg = zmq::Message::new();
        socket.recv(&mut msg, 0).map_err(err)?;
        while msg.get_more() {
            socket.recv(&mut msg, 0).map_err(err)?;
        }
        Ok(msg)
    }

    fn len(msg: &zmq::Message) -> usize {
        msg.len()
    }

    fn reply(socket: &zmq::Socket, msg: zmq::Message) -> Result<()> {
        socket.send(msg, 0).map_err(err)
    }

    fn peers(_: &zmq::Socket) -> Option<usize> {
        None
    }
}

/// The connecting process of the idle-connections test: `count` DEALER sockets in one
/// libzmq context, each connected once to `endpoint`. Prints `CONNECTED` when all
/// connects are issued, then holds them until its stdin closes.
pub fn connector(endpoint: &str, count: u64) -> Result<()> {
    probe::raise_fd_limit();
    let ctx = zmq::Context::new();
    let sockets = (0..count)
        .map(|_| {
            let s = ctx.socket(zmq::DEALER).map_err(err)?;
            s.connect(endpoint).map_err(err)?;
            Ok(s)
        })
        .collect::<Result<Vec<_>>>()?;
    println!("CONNECTED {}", sockets.len());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    // Exit without closing a thousand sockets one by one.
    std::process::exit(0);
}
