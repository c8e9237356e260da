//! How the process's heaps grow while a replay builds a state.
//!
//! glibc serves every thread but the main one from arenas of 64 MiB heaps, and makes a heap
//! readable and writable a page at a time as it grows, with one `mprotect` call each (its top
//! pad, `M_TOP_PAD`, sizes only a heap's first mapping). Whatever a replay applies stays in the
//! state: a replay of the 10^6 log keeps 309 MB, and `chibo-bench rebuild` of it made 81,313
//! such calls, from the threads that decode and apply, about a ninth of their time
//! (docs/BENCHMARKS.md, fifteenth, twenty-first and twenty-fifth rounds).
//!
//! While a replay runs, or a snapshot is read into a state (twenty-sixth round), [`Bulk`] sets
//! the top pad to a whole heap, so that each new heap is made writable at once, and the main
//! arena grows in steps of as much. The pad maps address space, not memory: a page still
//! becomes memory only when it is first written. Once the last of them running ends, the pad
//! is glibc's default again, so that the heaps are trimmed as before.
//!
//! Setting the pad also fixes glibc's threshold for serving an allocation from `mmap` at its
//! value then (its default, 128 KiB, unless large blocks were freed before), where glibc would
//! otherwise raise it as large blocks are freed.
//!
//! A pad the operator chose (`MALLOC_TOP_PAD_`, or `glibc.malloc.top_pad` in `GLIBC_TUNABLES`)
//! is left alone, and so is any other C library.

use std::sync::Mutex;

/// The top pad while a replay runs: a whole heap of a glibc arena.
const BULK: usize = 64 << 20;

/// glibc's default top pad (`DEFAULT_TOP_PAD`, mallopt(3)).
const DEFAULT: usize = 128 << 10;

/// The replays running, and how the pad is set.
struct Heaps {
    running: Mutex<usize>,
    pad: fn(usize),
}

impl Heaps {
    fn begin(&'static self) -> Bulk {
        let mut running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *running == 0 {
            (self.pad)(BULK);
        }
        *running += 1;
        Bulk { heaps: Some(self) }
    }

    fn end(&self) {
        let mut running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *running -= 1;
        if *running == 0 {
            (self.pad)(DEFAULT);
        }
    }
}

/// The heaps growing in bulk, until dropped (see the module's documentation).
#[must_use = "the heaps grow in bulk only while this is held"]
pub(crate) struct Bulk {
    heaps: Option<&'static Heaps>,
}

impl Bulk {
    /// The heaps grow in bulk until the last `Bulk` held is dropped.
    pub(crate) fn begin() -> Self {
        static HEAPS: Heaps = Heaps { running: Mutex::new(0), pad: set_top_pad };
        if allowed() {
            HEAPS.begin()
        } else {
            Bulk { heaps: None }
        }
    }
}

impl Drop for Bulk {
    fn drop(&mut self) {
        if let Some(heaps) = self.heaps {
            heaps.end();
        }
    }
}

/// Whether this process may set its top pad: glibc's, and not chosen by the operator.
fn allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| {
        let tunables = std::env::var_os("GLIBC_TUNABLES").unwrap_or_default();
        cfg!(all(target_os = "linux", target_env = "gnu"))
            && std::env::var_os("MALLOC_TOP_PAD_").is_none()
            && !tunables.to_string_lossy().contains("glibc.malloc.top_pad")
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_top_pad(bytes: usize) {
    let bytes = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets a parameter of glibc's allocator, under its own lock; any value
    // is valid for M_TOP_PAD.
    unsafe { libc::mallopt(libc::M_TOP_PAD, bytes) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_top_pad(_bytes: usize) {}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    static SET: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    fn record(bytes: usize) {
        SET.lock().unwrap().push(bytes);
    }

    #[test]
    fn the_pad_is_set_by_the_first_replay_and_restored_by_the_last() {
        static HEAPS: Heaps = Heaps { running: Mutex::new(0), pad: record };
        let first = HEAPS.begin();
        let second = HEAPS.begin();
        assert_eq!(*SET.lock().unwrap(), [BULK], "set once, by the first");
        drop(first);
        assert_eq!(*SET.lock().unwrap(), [BULK], "kept while the second runs");
        let third = HEAPS.begin();
        drop(second);
        drop(third);
        assert_eq!(*SET.lock().unwrap(), [BULK, DEFAULT], "restored once, by the last");
        drop(HEAPS.begin());
        assert_eq!(*SET.lock().unwrap(), [BULK, DEFAULT, BULK, DEFAULT]);
        assert_eq!(*HEAPS.running.lock().unwrap(), 0);
    }
}
