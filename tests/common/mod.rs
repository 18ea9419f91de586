//! Helpers shared by the integration tests.

pub mod zmtp;

use std::sync::atomic::{AtomicUsize, Ordering};

/// A name no other test in this process uses (ipc paths, inproc names).
#[allow(dead_code)] // not every test file needs it
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A tcp port nobody listens on right now.
#[allow(dead_code)] // not every test file needs it
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
