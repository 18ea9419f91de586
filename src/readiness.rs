//! The readiness file descriptor: lets any event loop (epoll, mio, tokio, Python's
//! selectors) wait for a socket.
//!
//! libzmq's `ZMQ_FD` is edge-triggered: it signals that *something changed*, and an
//! integration that does not drain the socket and re-check `ZMQ_EVENTS` after each
//! wake-up sleeps through messages. This one is **level-triggered**: the descriptor is
//! readable for as long as the socket has a message to receive (or, while a sender has
//! asked for it, room to send), and stops being readable once that is no longer true.
//!
//! It is an `eventfd`. Two parties change it:
//! * any thread that wakes the socket (a pipe getting its first message, room freed, a
//!   new peer) *raises* it, as an observer of the socket's signal; this may be spurious
//!   (the socket may have nothing for the application after all: an observer on
//!   another thread cannot look inside the socket), and lasts until the application's
//!   next call on the socket;
//! * the socket's own thread, after every send, receive or readiness query, makes it
//!   exact: if it is raised and the socket is not ready, it *clears* it and then looks
//!   again, raising it if something arrived meanwhile. Clearing before the second look
//!   is what makes a lost wake-up impossible: anything arriving after the look raises
//!   the descriptor itself.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use ferrozmq_patterns::Wake;

/// An eventfd with a "raised" flag that saves system calls when it is already raised.
#[derive(Debug)]
pub(crate) struct ReadinessFd {
    fd: OwnedFd,
    raised: AtomicBool,
}

impl ReadinessFd {
    pub(crate) fn new() -> io::Result<ReadinessFd> {
        // SAFETY: eventfd has no memory-safety preconditions; it returns a new fd or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(ReadinessFd {
            fd,
            raised: AtomicBool::new(false),
        })
    }

    /// Makes the descriptor readable.
    pub(crate) fn raise(&self) {
        if !self.raised.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd. It can only
            // fail with EAGAIN on counter overflow, which still leaves it readable.
            unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Makes the descriptor unreadable.
    ///
    /// The read comes first and the flag is lowered after it. The other order lost
    /// wake-ups: a raiser could set the flag just after it was lowered and write just
    /// before the read, leaving the flag up and the descriptor empty, after which every
    /// raise was a no-op. Lowering with a swap (acquire) also makes the pushes behind
    /// any raise it replaces visible to the check that follows.
    pub(crate) fn clear(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64 from our own non-blocking
        // eventfd; EAGAIN (already clear) is fine.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        self.raised.swap(false, Ordering::AcqRel);
    }

    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// Brings the descriptor in line with `ready` (evaluated on the socket's thread);
    /// see the module docs for why the order matters.
    pub(crate) fn settle(&self, mut ready: impl FnMut() -> bool) {
        if ready() {
            self.raise();
        } else if self.is_raised() {
            self.clear();
            if ready() {
                self.raise();
            }
        }
    }
}

impl AsRawFd for ReadinessFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Wake for ReadinessFd {
    fn wake(&self) {
        self.raise();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// True if `fd` becomes readable within `timeout_ms`.
    fn readable(fd: RawFd, timeout_ms: i32) -> bool {
        let mut fds = [libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) == 1 }
    }

    /// Producers add items then raise; the consumer settles after each take. Whenever
    /// the consumer's check finds items, the descriptor must be readable: a settle that
    /// races with raises must never leave the flag up and the descriptor empty.
    #[test]
    fn settling_never_hides_pending_items() {
        let fd = Arc::new(ReadinessFd::new().unwrap());
        let items = Arc::new(AtomicUsize::new(0));
        const PER_PRODUCER: usize = 200_000;
        let producers: Vec<_> = (0..2)
            .map(|_| {
                let (fd, items) = (fd.clone(), items.clone());
                std::thread::spawn(move || {
                    for _ in 0..PER_PRODUCER {
                        items.fetch_add(1, Ordering::SeqCst);
                        fd.raise();
                    }
                })
            })
            .collect();
        let mut taken = 0;
        while taken < 2 * PER_PRODUCER {
            let mut found = false;
            fd.settle(|| {
                found = items.load(Ordering::SeqCst) > 0;
                found
            });
            if found {
                // A raise may be half done (flag up, write pending): allow it a moment,
                // but a hidden wake-up would never show up.
                assert!(
                    readable(fd.as_raw_fd(), 2000),
                    "items wait but the fd is not readable"
                );
                items.fetch_sub(1, Ordering::SeqCst);
                taken += 1;
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        fd.settle(|| items.load(Ordering::SeqCst) > 0);
        assert!(!readable(fd.as_raw_fd(), 0));
    }
}
