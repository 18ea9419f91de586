//! Counting heap allocations, for the "allocations per message" column.
//!
//! Two counters, because a Rust `#[global_allocator]` sees only half the picture:
//! libzmq allocates from C++ (`operator new`, `malloc`), which never passes through
//! Rust's allocator, so counting there alone would credit libzmq with zero
//! allocations. On glibc the bench binary therefore also defines `malloc`, `calloc`,
//! `realloc` and the aligned variants itself (the dynamic linker binds every library's
//! calls to the executable's definitions, the way jemalloc or tcmalloc replace
//! malloc), counts the call and forwards to glibc's `__libc_*` entry points, so the
//! heap itself is unchanged. `free` is not wrapped: glibc's own frees those blocks.
//!
//! * [`Counts::all`]: every malloc-family call from any code (Rust, C, C++).
//! * [`Counts::rust`]: allocations through Rust's global allocator (a subset of `all`).
//!
//! Counting is off unless [`enable`] is called, and a disabled counter costs one
//! relaxed load of a read-only flag: timed runs don't count (shared counters bumped
//! from several threads would slow them down), a separate run does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static ENABLED: AtomicBool = AtomicBool::new(false);
static ALL: AtomicU64 = AtomicU64::new(0);
static RUST: AtomicU64 = AtomicU64::new(0);

/// Whether [`Counts::all`] includes allocations made outside Rust.
pub const SEES_FOREIGN_ALLOCATIONS: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// Allocation calls so far (zero unless counting is enabled).
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub all: u64,
    pub rust: u64,
}

pub fn enable() {
    ENABLED.store(true, Relaxed);
}

pub fn counts() -> Counts {
    Counts {
        all: ALL.load(Relaxed),
        rust: RUST.load(Relaxed),
    }
}

#[inline]
fn bump(counter: &AtomicU64) {
    if ENABLED.load(Relaxed) {
        counter.fetch_add(1, Relaxed);
    }
}

/// System's allocator, counted.
struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(&RUST);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(&RUST);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(&RUST);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// The malloc-family wrappers (see the module docs). Without `free`'s and
/// `malloc_usable_size`'s wrappers the blocks stay glibc's own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod interpose {
    use super::{bump, ALL};
    use std::ffi::{c_int, c_void};

    const EINVAL: c_int = 22;
    const ENOMEM: c_int = 12;

    extern "C" {
        fn __libc_malloc(size: usize) -> *mut c_void;
        fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
        fn __libc_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
        fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    }

    #[no_mangle]
    unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        bump(&ALL);
        unsafe { __libc_malloc(size) }
    }

    #[no_mangle]
    unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
        bump(&ALL);
        unsafe { __libc_calloc(n, size) }
    }

    #[no_mangle]
    unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        bump(&ALL);
        unsafe { __libc_realloc(ptr, size) }
    }

    #[no_mangle]
    unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
        bump(&ALL);
        unsafe { __libc_memalign(align, size) }
    }

    #[no_mangle]
    unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
        bump(&ALL);
        unsafe { __libc_memalign(align, size) }
    }

    #[no_mangle]
    unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
        bump(&ALL);
        if !align.is_power_of_two() || align < std::mem::size_of::<usize>() {
            return EINVAL;
        }
        let p = unsafe { __libc_memalign(align, size) };
        if p.is_null() {
            return ENOMEM;
        }
        unsafe { *out = p };
        0
    }
}
