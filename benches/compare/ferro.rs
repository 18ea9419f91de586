//! ferrozmq behind [`Blocking`].

use ferrozmq::{Context, Message, Socket, SocketType};

use crate::blocking::Blocking;
use crate::model::{Kind, Result, Transport};

pub struct Ferro;

fn err(e: impl std::fmt::Display) -> String {
    format!("ferrozmq: {e}")
}

impl Blocking for Ferro {
    type Context = Context;
    type Socket = Socket;
    type Payload = Message;
    type Received = Message;

    fn context() -> Result<Context> {
        Ok(Context::new())
    }

    fn socket(ctx: &Context, kind: Kind) -> Result<Socket> {
        ctx.socket(match kind {
            Kind::Push => SocketType::Push,
            Kind::Pull => SocketType::Pull,
            Kind::Req => SocketType::Req,
            Kind::Rep => SocketType::Rep,
            Kind::Dealer => SocketType::Dealer,
            Kind::Router => SocketType::Router,
        })
        .map_err(err)
    }

    fn bind(socket: &Socket, transport: Transport) -> Result<String> {
        socket.bind(&transport.bind_endpoint("*")).map_err(err)?;
        Ok(socket.last_endpoint())
    }

    fn connect(socket: &Socket, endpoint: &str) -> Result<()> {
        socket.connect(endpoint).map_err(err)
    }

    fn set_sndhwm(socket: &Socket, hwm: u64) -> Result<()> {
        socket.set_sndhwm(hwm);
        Ok(())
    }

    /// Up to 64 KiB a borrowed static buffer: clones touch no allocator and no
    /// reference count (the zero-copy send `Bytes::from_static` gives a user).
    fn payload(size: usize) -> Message {
        static ZEROS: [u8; 65536] = [0; 65536];
        match ZEROS.get(..size) {
            Some(zeros) => Message::from(bytes::Bytes::from_static(zeros)),
            None => Message::from(vec![0u8; size]),
        }
    }

    fn owned_payload(size: usize) -> Message {
        Message::from(vec![0u8; size])
    }

    fn send(socket: &Socket, payload: &Message) -> Result<()> {
        socket.send(payload.clone()).map_err(|e| err(e.error))
    }

    fn recv(socket: &Socket) -> Result<Message> {
        let mut frame = socket.recv().map_err(err)?;
        while socket.more() {
            frame = socket.recv().map_err(err)?;
        }
        Ok(frame)
    }

    fn len(msg: &Message) -> usize {
        msg.len()
    }

    fn reply(socket: &Socket, msg: Message) -> Result<()> {
        socket.send(msg).map_err(|e| err(e.error))
    }

    fn peers(socket: &Socket) -> Option<usize> {
        Some(socket.peer_count())
    }
}
