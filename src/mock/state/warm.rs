//! Starting the loads of a resource's scattered memory together.
//!
//! A resource's strings are allocations of their own. When the resource is
//! cold (one of thousands, not read lately), reading them one after another
//! waits for one cache miss after another, and the work between them is too
//! long for the CPU to run ahead on its own. Asking for every line at once,
//! as soon as the resource is found, lets the misses overlap: a read of a
//! cold resource then costs about one miss instead of one per string.
//! Hints only: nothing here changes what is read or written.

/// How much of one string is asked for: the lines an answer reads first.
const MOST: usize = 1024;

/// Asks for the cache lines of `bytes` (at most its first [`MOST`]).
#[inline]
pub fn bytes(bytes: &[u8]) {
    lines(bytes.as_ptr(), bytes.len());
}

/// Asks for the cache lines of `value` itself (not of what it points to):
/// a large struct's fields span several lines, read in no useful order.
#[inline]
pub fn value<T>(value: &T) {
    lines(
        std::ptr::from_ref(value).cast::<u8>(),
        std::mem::size_of::<T>(),
    );
}

/// Asks for the lines of `count` values laid out from `first` on: the
/// neighbours of a value inside a container that does not show them
/// (a leaf of a B-tree). The addresses need not be the container's, nor
/// live: a prefetch never faults.
#[inline]
pub fn span<T>(first: *const T, count: usize) {
    lines(first.cast::<u8>(), count * std::mem::size_of::<T>());
}

/// Asks for the lines of the `len` bytes from `start` (at most [`MOST`]).
#[inline]
fn lines(start: *const u8, len: usize) {
    let end = len.min(MOST);
    let mut at = 0;
    while at < end {
        line(start.wrapping_add(at));
        at += 64;
    }
    // The last line, when the bytes do not start at a line's start.
    if let Some(last) = end.checked_sub(1) {
        line(start.wrapping_add(last));
    }
}

/// Asks for the cache lines of `text`.
#[inline]
pub fn text(text: &str) {
    bytes(text.as_bytes());
}

/// Asks for the cache lines of `text`, if any.
#[inline]
pub fn opt(text: Option<&str>) {
    if let Some(text) = text {
        bytes(text.as_bytes());
    }
}

/// Asks for the cache line holding `at` (an address within a live value).
#[inline(always)]
fn line(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing the program sees and
    // never faults, whatever the address (`at` is in or next to a value,
    // or where one was).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
