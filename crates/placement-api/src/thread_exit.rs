//! Work a thread does as it exits. Handler threads come and go with the
//! load (tokio's blocking pool ends one after 10 s idle), and what a thread
//! freed during a burst stays with it unless it hands it back on the way
//! out.

use std::cell::OnceCell;

struct AtExit(fn());

impl Drop for AtExit {
    fn drop(&mut self) {
        (self.0)()
    }
}

thread_local! {
    static AT_EXIT: OnceCell<AtExit> = const { OnceCell::new() };
}

/// Have the calling thread call `f` as it exits; the first call on a
/// thread decides, later ones cost one check.
pub fn call_at_exit(f: fn()) {
    AT_EXIT.with(|cell| {
        cell.get_or_init(|| AtExit(f));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    fn count() {
        CALLS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn a_thread_calls_it_once_as_it_exits() {
        std::thread::spawn(|| {
            call_at_exit(count);
            call_at_exit(count);
            assert_eq!(CALLS.load(Ordering::SeqCst), 0, "called before the thread exited");
        })
        .join()
        .unwrap();
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    }
}
