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
/// allocates: an idle thread would hold its last burst's memory for good,
/// and an exiting one leave it behind (docs/benchmarks.md, "Giving memory
/// back"). Called by candidates threads once idle and by handler threads
/// as they exit; not on every free (purging each page as it empties cost
/// 14% of the perf query's rate at 10 clients in madvise calls).
pub fn release_thread_memory() {
    // SAFETY: mi_collect takes no pointers; it frees the calling thread's
    // empty pages, which no live allocation uses.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true)
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
