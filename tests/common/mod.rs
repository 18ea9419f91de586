//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

pub mod interop;
pub mod zmtp;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferrozmq::{Context, EventKind, MonitorEvents, Socket, SocketEvent, SocketType};

/// Safety net for every blocking call of a [`socket`].
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A socket whose sends and receives give up after [`TIMEOUT`] (so a broken test fails
/// instead of hanging) and which does not linger (messages some tests leave queued for
/// absent peers must not hold up the context's drop).
pub fn socket(ctx: &Context, ty: SocketType) -> Socket {
    let s = ctx.socket(ty).expect("create socket");
    s.set_recv_timeout(Some(TIMEOUT));
    s.set_send_timeout(Some(TIMEOUT));
    s.set_linger(Some(Duration::ZERO));
    s
}

/// Milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Waits for the next monitor event of `kind`; returns it and the events before it.
pub fn wait_event(
    events: &MonitorEvents,
    kind: EventKind,
    within: Duration,
) -> (SocketEvent, Vec<SocketEvent>) {
    let deadline = Instant::now() + within;
    let mut before = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Some(e) if e.kind == kind => return (e, before),
            Some(e) => before.push(e),
            None => panic!("no {kind:?} event within {within:?}; saw {before:?}"),
        }
    }
}

/// A name no other test in this process uses (ipc paths, inproc names).
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A tcp port nobody listens on right now.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every monitor event arriving within `period`, with the time it was read.
pub fn collect_events(events: &MonitorEvents, period: Duration) -> Vec<(Instant, SocketEvent)> {
    let deadline = Instant::now() + period;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return out;
        }
        if let Some(e) = events.recv_timeout(left) {
            out.push((Instant::now(), e));
        }
    }
}

/// splitmix64: a well-mixed number for each (sequence number, salt). Test contents
/// derive from it, so that a frame from the wrong place is caught.
pub fn mix(seq: u64, salt: u64) -> u64 {
    let mut z = seq
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// At least `len` pseudo-random bytes, the same for the same `salt`: a pattern test
/// frames are windows of.
pub fn pattern_bytes(len: usize, salt: u64) -> Vec<u8> {
    (0..len as u64 / 8 + 1)
        .flat_map(|i| mix(i, salt).to_le_bytes())
        .collect()
}
