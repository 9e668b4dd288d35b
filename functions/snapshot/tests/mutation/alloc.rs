//! A counting global allocator: the live total, its peak and the largest single request, so a
//! case can fail when a length read from a damaged file drives a huge allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Any single request above this is refused (the process aborts after naming the case): the
/// machine could not hold it, and no fixture read comes near it.
pub const HARD_LIMIT: usize = 1 << 30;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
static REFUSING: AtomicBool = AtomicBool::new(false);

/// The case being run, printed if a request is refused (set outside the allocator).
pub static CURRENT_CASE: Mutex<String> = Mutex::new(String::new());

pub struct Counting;

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(live, Ordering::Relaxed);
    LARGEST.fetch_max(size, Ordering::Relaxed);
}

/// Names the case on standard error without allocating; the caller then returns null, which
/// aborts the process (a test failure that names the seed and the blob).
fn refuse(size: usize) {
    if REFUSING.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "\nmutation test: refused an allocation of {size} byte(s) (limit {HARD_LIMIT})"
    );
    if let Ok(case) = CURRENT_CASE.try_lock() {
        let _ = err.write_all(case.as_bytes());
        let _ = err.write_all(b"\n");
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_LIMIT {
            refuse(layout.size());
            return std::ptr::null_mut();
        }
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_LIMIT {
            refuse(layout.size());
            return std::ptr::null_mut();
        }
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > HARD_LIMIT {
            refuse(new_size);
            return std::ptr::null_mut();
        }
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

/// Starts a measurement: the peak and the largest request from now on.
pub fn reset() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
}

/// (peak live bytes, largest single request) since the last [`reset`].
pub fn measured() -> (usize, usize) {
    (
        PEAK.load(Ordering::Relaxed),
        LARGEST.load(Ordering::Relaxed),
    )
}

pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}
