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
