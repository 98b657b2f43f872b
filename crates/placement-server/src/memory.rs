//! The allocator of every binary, and handing a thread's freed memory back
//! to the system.

use std::time::Duration;

// The candidates query builds and frees many small objects per request;
// mimalloc does that markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long a candidates thread waits idle before [`release_thread_memory`]:
/// long enough that a steady stream of requests never pays for it (the
/// next request faults the pages back in, about 1 ms for the nested
/// query's 20 MB), short enough that memory comes back soon after a burst.
pub const IDLE_RELEASE: Duration = Duration::from_millis(250);

/// Hand the calling thread's freed memory back to the system. mimalloc
/// keeps it per thread otherwise, and purges only while the thread
/// allocates: an idle thread would hold its last burst's memory for good
/// (docs/benchmarks.md, "Giving memory back").
pub fn release_thread_memory() {
    // SAFETY: mi_collect takes no pointers; it frees the calling thread's
    // empty pages, which no live allocation uses.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true)
    }
}

/// The index of mimalloc's `purge_delay` option (version 3, as
/// libmimalloc-sys builds it, names no constant for it;
/// `purge_delay_is_the_option_we_set` checks the index).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Hand a page back to the system as soon as it falls empty. By default
/// mimalloc purges an emptied page a second later, but only when the thread
/// that owns it allocates again: a handler thread that idles or exits
/// after a burst keeps all it freed (200 clients listing 1000 providers:
/// 325 MB private 12 s after, 15 MB with this; docs/benchmarks.md).
pub fn purge_freed_memory_at_once() {
    // SAFETY: mi_option_set takes no pointers; purge_delay is read each
    // time a page is freed, so setting it while threads run is allowed.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0)
    }
}

/// Keep the C library's malloc from holding on to large freed blocks: the
/// database client libraries allocate there (libpq a whole result set,
/// megabytes for a large cloud's providers). glibc raises its mmap
/// threshold to each large block freed (up to 32 MiB) and its trim
/// threshold to twice that, and keeps up to that much free at the top of
/// each arena (5.6 MB after a query at 100,000 providers on PostgreSQL);
/// fixed thresholds turn that off, so blocks over 128 KiB are mapped and
/// unmapped on their own and a free top over 128 KiB is returned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn bound_c_library_memory() {
    const THRESHOLD: libc::c_int = 128 * 1024;
    // SAFETY: mallopt takes no pointers; changing thresholds is allowed at
    // any time and affects only later allocations and frees.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn bound_c_library_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_delay_is_the_option_we_set() {
        // mimalloc 3's default purge_delay is 1000 ms, and no other option
        // defaults to 1000; after setting, it reads back 0.
        #[allow(unsafe_code)]
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(before, 1000, "the option at index {MI_OPTION_PURGE_DELAY} is not purge_delay");
        purge_freed_memory_at_once();
        #[allow(unsafe_code)]
        let after = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(after, 0);
    }
}
