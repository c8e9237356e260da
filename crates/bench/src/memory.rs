//! A global allocator that counts the bytes live on the heap: the state's memory is what the
//! heap holds after a rebuild less what it held before. It also counts, per thread, the bytes
//! each thread has asked for, so that what one part of the state takes can be measured on a
//! copy of it ([`taken_by`]) whatever other threads do meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The bytes this thread has asked for since it began (never less: frees are not taken off).
    static ASKED: Cell<usize> = const { Cell::new(0) };
}

/// Adds `bytes` to this thread's count. A thread being torn down no longer counts.
fn asked(bytes: usize) {
    let _ = ASKED.try_with(|asked| asked.set(asked.get().wrapping_add(bytes)));
}

/// The system allocator, counting.
pub struct Counting;

// SAFETY: every call is passed to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            asked(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            asked(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            asked(new_size.saturating_sub(layout.size()));
        }
        p
    }
}

/// Bytes live on the heap now.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The heap bytes `make` asks for on this thread; what it makes is dropped afterwards. For a
/// clone, that is what the original holds on the heap, in the shape the clone gives it (a
/// tree's copy is built node by node, so its nodes may be fuller or emptier than the
/// original's).
pub fn taken_by<T>(make: impl FnOnce() -> T) -> usize {
    let before = ASKED.with(Cell::get);
    let made = make();
    let after = ASKED.with(Cell::get);
    drop(made);
    after.wrapping_sub(before)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_copy_takes_what_it_asks_for_on_its_own_thread() {
        assert_eq!(taken_by(|| 7_u64), 0);
        assert_eq!(taken_by(|| vec![1_u8; 1_000]), 1_000);
        let words: Vec<String> = (0..100).map(|i| "x".repeat(i)).collect();
        // The vector of 100 strings, and the 99 that are not empty: 1 + 2 + … + 99 bytes.
        assert_eq!(taken_by(|| words.clone()), 100 * size_of::<String>() + 4_950);
        // Another thread's allocations, meanwhile, are not this thread's.
        let busy = std::thread::spawn(|| {
            (0..10_000).filter(|i| !std::hint::black_box(vec![0_u8; i % 64 + 1]).is_empty()).count()
        });
        let map: BTreeMap<u32, u64> = (0..1_000).map(|i| (i, u64::from(i))).collect();
        let once = taken_by(|| map.clone());
        assert_eq!(busy.join().ok(), Some(10_000));
        assert_eq!(taken_by(|| map.clone()), once);
        assert!(once >= 1_000 * 12, "a thousand entries of 12 bytes took {once}");
    }
}
