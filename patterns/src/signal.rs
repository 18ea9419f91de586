//! Waking the threads at either end of a pipe.
//!
//! A pipe end that finds its queue empty (or full) records that it is waiting and then
//! sleeps on whatever [`Wake`] implementation its owner supplied: a [`Signal`] for a user
//! thread, a reactor notifier for an I/O thread. The other end calls `wake` only on the
//! transition out of that state, so a busy pipe causes no wake-ups at all.

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pipe::Probe;

/// Something that can be told "look at your pipes again".
pub trait Wake: Send + Sync {
    /// Wakes the owner. Must be cheap and must never block for long.
    fn wake(&self);
}

/// A sticky wake-up flag a user thread can block on.
///
/// A [`wake`](Wake::wake) that arrives while nobody waits is remembered and consumed by
/// the next [`wait_until`](Signal::wait_until), so the usual "check, then sleep" race
/// cannot lose it. Waiting spins briefly before parking: on a virtual machine a
/// cross-CPU wake-up costs tens of microseconds, and a reply often arrives sooner.
///
/// Two more ways to watch a signal exist for code that must not consume the flag (it
/// belongs to the thread blocked in `send`/`recv`):
/// * [`generation`](Signal::generation) counts wake-ups, so a socket type can tell
///   cheaply whether anything happened since it last looked (PUB checks it on every
///   send to notice new subscriptions without visiting every pipe);
/// * [observers](Signal::add_observer) are woken along with the signal, which is how a
///   poller waits on many sockets at once.
///
/// A signal sits alone in its cache lines (128-byte alignment, a pair of lines, as
/// adjacent-line prefetching works in pairs): a waiter spins reading `pending`, and
/// when the allocator happened to put a pipe's lock in the same line, every push by the
/// other thread collided with those reads. Measured: inproc throughput at 1 B halved
/// or not depending only on heap layout, until both were aligned.
#[derive(Default)]
pub struct Signal {
    pending: AtomicBool,
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
    generation: AtomicU64,
    observed: AtomicBool,
    observers: Mutex<Vec<Arc<dyn Wake>>>,
}

/// How long a waiter polls the flag before it parks.
const SPIN: Duration = Duration::from_micros(20);

impl Signal {
    /// A signal with no pending wake-up.
    pub fn new() -> Signal {
        Signal::default()
    }

    /// How many wake-ups there have been. A change means "look at your pipes again".
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Wakes `observer` too whenever this signal is woken, until it is removed.
    pub fn add_observer(&self, observer: Arc<dyn Wake>) {
        let mut list = self.observers.lock();
        list.push(observer);
        self.observed.store(true, Ordering::SeqCst);
    }

    /// Stops waking `observer` (compared by address).
    pub fn remove_observer(&self, observer: &Arc<dyn Wake>) {
        let mut list = self.observers.lock();
        list.retain(|o| !std::ptr::addr_eq(Arc::as_ptr(o), Arc::as_ptr(observer)));
        self.observed.store(!list.is_empty(), Ordering::SeqCst);
    }

    /// Consumes a pending wake-up without blocking; true if there was one.
    pub fn take(&self) -> bool {
        self.pending.swap(false, Ordering::SeqCst)
    }

    /// Blocks until woken or until `deadline` (`None` = forever). Returns true if woken.
    pub fn wait_until(&self, deadline: Option<Instant>) -> bool {
        self.wait_until_probing(deadline, Duration::ZERO, || Probe::NotAwaiting)
    }

    /// Like [`wait_until`](Signal::wait_until), but for up to `probe_for` the spin also
    /// calls `probe` every few rounds. A probe that finds input ends the wait as a
    /// wake-up would (returning true); one that finds nothing awaited ends the probing,
    /// and the wait goes on as `wait_until`'s.
    ///
    /// This is how a socket waiting for a reply finds it on the wire itself: the
    /// reply then costs no thread wake-up at all, neither of an I/O thread nor of this
    /// one (on this machine kind each costs tens of microseconds). After its first
    /// stretch the spin yields as usual: if the peer's thread shares this CPU, it must
    /// get to answer.
    pub fn wait_until_probing(
        &self,
        deadline: Option<Instant>,
        probe_for: Duration,
        mut probe: impl FnMut() -> Probe,
    ) -> bool {
        if self.take() {
            return true;
        }
        // Poll the flag for a short while before paying for a futex sleep and wake-up.
        // Busy-wait only a few rounds, then yield so that on a machine with fewer cores
        // than busy threads the thread we wait for can run; read the clock rarely.
        let start = Instant::now();
        let mut spin_end = start + SPIN.max(probe_for);
        let probe_end = start + probe_for;
        let mut probing = !probe_for.is_zero();
        // While probing, the first SPIN goes without yielding: a small answer comes
        // within it on this machine kind, and a yield in between can hand the CPU to
        // another thread for long enough to miss it. Later rounds yield, so that a peer
        // sharing this CPU, or the kernel's work on a large message, can run.
        let mut eager = true;
        let mut rounds = 0u32;
        loop {
            if self.pending.load(Ordering::Relaxed) && self.take() {
                return true;
            }
            rounds += 1;
            if rounds < 64 || (probing && eager) {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            if rounds.is_multiple_of(16) {
                let now = Instant::now();
                eager = now < start + SPIN;
                if probing {
                    match probe() {
                        Probe::Arrived => return true,
                        Probe::Awaiting => probing = now < probe_end,
                        Probe::NotAwaiting => {
                            probing = false;
                            spin_end = spin_end.min(start + SPIN);
                        }
                    }
                }
                if now >= spin_end || deadline.is_some_and(|d| now >= d) {
                    break;
                }
            }
        }
        let mut guard = self.lock.lock();
        // Announce ourselves before the final check: a waker that sets `pending` after
        // this check sees `sleepers > 0` and must take the lock, which we only release
        // inside `wait`, so its notify cannot fall between our check and our sleep.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let woken = loop {
            if self.take() {
                break true;
            }
            match deadline {
                None => self.cond.wait(&mut guard),
                Some(d) => {
                    if self.cond.wait_until(&mut guard, d).timed_out() {
                        break self.take();
                    }
                }
            }
        };
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        woken
    }
}

impl Signal {
    #[cold]
    #[inline(never)]
    fn wake_observers(&self) {
        for observer in self.observers.lock().iter() {
            observer.wake();
        }
    }

    #[cold]
    #[inline(never)]
    fn notify_sleepers(&self) {
        let _guard = self.lock.lock();
        self.cond.notify_all();
    }
}

impl Wake for Signal {
    /// Kept small so that it inlines into the pipe's push: the sender's hot path
    /// decides throughput (a slower sender makes the reader catch up and refill in
    /// smaller batches, which doubles the lock traffic; measured on inproc).
    #[inline]
    fn wake(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        if self.observed.load(Ordering::SeqCst) {
            self.wake_observers();
        }
        if self.pending.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.notify_sleepers();
        }
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn wake_before_wait_is_remembered() {
        let s = Signal::new();
        s.wake();
        assert!(s.wait_until(Some(Instant::now())));
        assert!(!s.wait_until(Some(Instant::now() + Duration::from_millis(5))));
    }

    #[test]
    fn no_lost_wakeups_under_stress() {
        // A ping-pong through two signals: if any wake-up were lost, a thread would
        // sleep forever and the test would hang (and fail on the deadline below).
        let a = Arc::new(Signal::new());
        let b = Arc::new(Signal::new());
        let (a2, b2) = (a.clone(), b.clone());
        let rounds = 20_000;
        let t = std::thread::spawn(move || {
            for _ in 0..rounds {
                assert!(a2.wait_until(Some(Instant::now() + Duration::from_secs(10))));
                b2.wake();
            }
        });
        for _ in 0..rounds {
            a.wake();
            assert!(b.wait_until(Some(Instant::now() + Duration::from_secs(10))));
        }
        t.join().unwrap();
    }
}
