//! A raw ZMTP peer for the tests that play one against ferrozmq: wire bytes built by
//! hand from ZMTP.md (greeting §1, frames §3, READY §5) and a few blocking helpers over
//! a `std::net::TcpStream`.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long a raw read may wait for bytes ferrozmq owes.
const TIMEOUT: Duration = Duration::from_secs(5);

pub fn greeting(major: u8, minor: u8, mechanism: &str) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = major;
    g[11] = minor;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism.as_bytes());
    g
}

pub fn null_greeting() -> Vec<u8> {
    greeting(3, 1, "NULL")
}

pub fn frame_header(flags: u8, len: usize) -> Vec<u8> {
    if len <= 255 {
        vec![flags, len as u8]
    } else {
        let mut h = vec![flags | 0x02];
        h.extend_from_slice(&(len as u64).to_be_bytes());
        h
    }
}

pub fn data_frame(body: &[u8], more: bool) -> Vec<u8> {
    let mut f = frame_header(u8::from(more), body.len());
    f.extend_from_slice(body);
    f
}

pub fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut f = frame_header(0x04, body.len());
    f.extend_from_slice(&body);
    f
}

/// Connects a raw peer to a `tcp://host:port` endpoint.
pub fn raw(endpoint: &str) -> TcpStream {
    let addr = endpoint.strip_prefix("tcp://").expect("tcp endpoint");
    let s = TcpStream::connect(addr).expect("raw connect");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

/// Writes, ignoring errors: ferrozmq may already have hung up.
pub fn write_all(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

/// Reads exactly `n` bytes (within `TIMEOUT`).
pub fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    let deadline = Instant::now() + TIMEOUT;
    while got < n {
        assert!(
            Instant::now() < deadline,
            "peer sent only {got} of {n} bytes"
        );
        match s.read(&mut buf[got..]) {
            Ok(0) => panic!("connection closed after {got} of {n} bytes"),
            Ok(k) => got += k,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    buf
}

/// Reads ferrozmq's greeting and READY, checking their shape; returns the peer's
/// Socket-Type.
pub fn read_handshake(s: &mut TcpStream) -> String {
    let g = read_exact(s, 64);
    assert_eq!(g[0], 0xff);
    assert_eq!(g[9] & 1, 1);
    assert_eq!(g[10], 3, "major version");
    assert_eq!(&g[12..16], b"NULL");
    let head = read_exact(s, 2);
    assert_eq!(head[0], 0x04, "READY is a short command");
    let body = read_exact(s, usize::from(head[1]));
    assert_eq!(&body[..6], b"\x05READY");
    // First property is Socket-Type.
    assert_eq!(&body[6..18], b"\x0bSocket-Type");
    let len = u32::from_be_bytes(body[18..22].try_into().unwrap()) as usize;
    String::from_utf8(body[22..22 + len].to_vec()).unwrap()
}

/// Performs a full, valid handshake as `socket_type`.
pub fn handshake(s: &mut TcpStream, socket_type: &str) -> String {
    let mut out = null_greeting();
    out.extend(ready(socket_type));
    s.write_all(&out).unwrap();
    read_handshake(s)
}

/// True if ferrozmq closes the connection (EOF or reset) within `within`; bytes it
/// sends meanwhile (its greeting, READY) are discarded.
pub fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return true, // reset
        }
    }
    false
}

/// A command frame: `name` (short string) then `data`.
pub fn command_frame(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    let mut f = frame_header(0x04, body.len());
    f.extend_from_slice(&body);
    f
}

/// Reads one frame: its flags and body.
pub fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let flags = read_exact(s, 1)[0];
    let len = if flags & 0x02 != 0 {
        u64::from_be_bytes(read_exact(s, 8).try_into().unwrap()) as usize
    } else {
        usize::from(read_exact(s, 1)[0])
    };
    (flags, read_exact(s, len))
}
