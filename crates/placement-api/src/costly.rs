//! A few threads of their own for the costly requests (allocation
//! candidates), handed work most recently idle first.
//!
//! Why: the allocator keeps the memory a thread freed for that thread's
//! next allocations. A candidates search allocates megabytes and frees
//! them at the end; run on any of the twenty-odd handler threads, each of
//! them ends up holding its own few megabytes (a server after ten
//! clients' nested queries: about 215 MB resident, from 20 idle). The
//! search is CPU-bound, so more threads than cores add no throughput, only
//! copies of that memory; and with the last idle thread taking the next
//! job, one client at a time keeps reusing one thread's memory. The whole
//! request runs there: reading the database for it (4499 providers'
//! rows, on the nested benchmark) allocates about as much as the search.
//! A thread idle for a while can also hand what it freed back to the
//! system ([`CostlyThreads::release_when_idle`]): a burst's memory is not
//! kept for the next one. docs/benchmarks.md, "Costly requests on threads
//! of their own".

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// A job runs, then hands back what delivers its result: delivered once
/// its thread is listed as idle, so a caller's next job finds it there.
type Job = Box<dyn FnOnce() -> Deliver + Send>;
type Deliver = Box<dyn FnOnce() + Send>;

/// The threads, started as work first needs them. Dropping this ends them
/// once they finish what they were given.
pub struct CostlyThreads {
    shared: Arc<Shared>,
}

struct Shared {
    most: usize,
    release: Option<IdleRelease>,
    state: Mutex<State>,
}

/// What a thread calls once it has been idle for `after`.
#[derive(Clone, Copy)]
struct IdleRelease {
    after: Duration,
    release: fn(),
}

#[derive(Default)]
struct State {
    started: usize,
    /// Idle threads, the most recently idle last.
    idle: Vec<Arc<Slot>>,
    /// Work waiting for a thread.
    queue: VecDeque<Job>,
    closed: bool,
}

/// Where an idle thread waits for its next job.
#[derive(Default)]
struct Slot {
    job: Mutex<Option<Job>>,
    ready: Condvar,
}

/// The job panicked; the thread lives on.
#[derive(Debug)]
pub struct Panicked;

impl CostlyThreads {
    /// At most `most` threads (at least one).
    pub fn new(most: usize) -> Self {
        CostlyThreads { shared: Arc::new(Shared { most: most.max(1), release: None, state: Mutex::default() }) }
    }

    /// One thread per core and one more, to search while another waits on
    /// the database.
    pub fn per_core_and_one() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) + 1)
    }

    /// Have each thread call `release` on itself once it has had no work
    /// for `after` (once per idle spell): the server's allocator hands the
    /// thread's freed memory back to the system there. Threads already
    /// started by `self` end.
    pub fn release_when_idle(self, after: Duration, release: fn()) -> Self {
        let shared =
            Shared { most: self.shared.most, release: Some(IdleRelease { after, release }), state: Mutex::default() };
        CostlyThreads { shared: Arc::new(shared) }
    }

    /// Threads started so far.
    pub fn started(&self) -> usize {
        self.shared.lock().started
    }

    /// Run `work` on one of the threads, once one is free.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Panicked> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(work));
            Box::new(move || {
                let _ = tx.send(result);
            })
        }));
        match rx.await {
            Ok(Ok(value)) => Ok(value),
            _ => Err(Panicked),
        }
    }

    fn submit(&self, job: Job) {
        let mut state = self.shared.lock();
        if let Some(slot) = state.idle.pop() {
            drop(state);
            *slot.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
            slot.ready.notify_one();
        } else if state.started < self.shared.most {
            state.started += 1;
            let number = state.started;
            drop(state);
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("placement-costly-{number}"))
                .spawn(move || work_loop(&shared, job));
            if let Err(e) = spawned {
                // The job went down with the closure: its caller sees Panicked.
                log::error!("cannot start a thread for costly requests: {e}");
                self.shared.lock().started -= 1;
            }
        } else {
            state.queue.push_back(job);
        }
    }
}

impl Drop for CostlyThreads {
    fn drop(&mut self) {
        let idle = {
            let mut state = self.shared.lock();
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        for slot in idle {
            slot.ready.notify_one();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn work_loop(shared: &Shared, first: Job) {
    let slot = Arc::new(Slot::default());
    let mut job = first;
    loop {
        let deliver = job();
        let mut state = shared.lock();
        if let Some(next) = state.queue.pop_front() {
            drop(state);
            deliver();
            job = next;
            continue;
        }
        if state.closed {
            drop(state);
            deliver();
            return;
        }
        state.idle.push(slot.clone());
        drop(state);
        deliver();
        match wait_for_job(shared, &slot) {
            Some(next) => job = next,
            None => return,
        }
    }
}

/// The next job given to this idle thread, or `None` once closed; calls
/// the idle release once if the wait outlasts it.
fn wait_for_job(shared: &Shared, slot: &Slot) -> Option<Job> {
    let mut release = shared.release;
    let mut waiting = slot.job.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(next) = waiting.take() {
            return Some(next);
        }
        if shared.lock().closed {
            return None;
        }
        let Some(idle) = release else {
            waiting = slot.ready.wait(waiting).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        let (guard, timeout) = slot.ready.wait_timeout(waiting, idle.after).unwrap_or_else(|e| e.into_inner());
        waiting = guard;
        if timeout.timed_out() && waiting.is_none() {
            // Not holding the slot: a job handed over meanwhile waits only
            // for the release to finish.
            drop(waiting);
            (idle.release)();
            release = None;
            waiting = slot.job.lock().unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn one_caller_at_a_time_keeps_using_one_thread() {
        let threads = CostlyThreads::new(4);
        let names: Vec<String> = (0..20)
            .map(|_| block_on(threads.run(|| std::thread::current().name().unwrap_or_default().to_string())).unwrap())
            .collect();
        assert!(names.iter().all(|n| n == "placement-costly-1"), "{names:?}");
        assert_eq!(threads.started(), 1);
    }

    #[test]
    fn no_more_threads_than_allowed_however_many_callers() {
        let threads = Arc::new(CostlyThreads::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (threads, running, most) = (threads.clone(), running.clone(), most.clone());
                std::thread::spawn(move || {
                    block_on(threads.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    }))
                    .unwrap()
                })
            })
            .collect();
        for c in callers {
            c.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(threads.started(), 2);
    }

    #[test]
    fn a_panicking_job_is_reported_and_the_thread_serves_on() {
        let threads = CostlyThreads::new(1);
        assert!(block_on(threads.run(|| panic!("boom"))).is_err());
        assert_eq!(block_on(threads.run(|| 7)).unwrap(), 7);
        assert_eq!(threads.started(), 1);
    }

    static RELEASES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    fn record_release() {
        let name = std::thread::current().name().unwrap_or_default().to_string();
        RELEASES.lock().unwrap().push(name);
    }

    #[test]
    fn an_idle_thread_releases_once_per_idle_spell_and_not_while_busy() {
        // Idle spells of 400 ms: far longer than a busy machine keeps the
        // test thread from handing over its next job.
        let threads = CostlyThreads::new(1).release_when_idle(Duration::from_millis(400), record_release);
        // Back-to-back jobs: never idle for long enough.
        for _ in 0..10 {
            block_on(threads.run(|| std::thread::sleep(Duration::from_millis(20)))).unwrap();
        }
        assert!(RELEASES.lock().unwrap().is_empty());
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(*RELEASES.lock().unwrap(), ["placement-costly-1"], "once, on the thread itself");
        block_on(threads.run(|| ())).unwrap();
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(RELEASES.lock().unwrap().len(), 2, "once more after the next job");
    }
}
