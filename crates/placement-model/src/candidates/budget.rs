//! How much work one request may make the solver do. Some requests have
//! exponentially many partial candidates and no complete one (thirteen
//! one-unit groups on twelve one-unit children); without a bound one such
//! request would keep a core busy for good. Every step of the search is
//! counted, whether or not it leads to a candidate, and the clock is
//! looked at every few thousand steps.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Why a search stopped before it finished.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exhausted {
    /// The request needed more than this many search steps.
    Steps(u64),
    /// The request searched for longer than this.
    Time(Duration),
}

/// The steps left and the deadline of one search.
#[derive(Debug)]
pub(crate) struct Budget {
    left: Cell<u64>,
    limit: u64,
    started: Instant,
    time_limit: Option<Duration>,
    exhausted: Cell<Option<Exhausted>>,
}

/// Steps between looks at the clock.
const CLOCK_EVERY: u64 = 4096;

impl Budget {
    pub fn new(max_steps: Option<u64>, time_limit: Option<Duration>) -> Self {
        let limit = max_steps.unwrap_or(u64::MAX);
        Budget { left: Cell::new(limit), limit, started: Instant::now(), time_limit, exhausted: Cell::new(None) }
    }

    /// Take one step; false once the budget is spent (and from then on).
    pub fn step(&self) -> bool {
        if self.exhausted.get().is_some() {
            return false;
        }
        let left = self.left.get();
        if left == 0 {
            self.exhausted.set(Some(Exhausted::Steps(self.limit)));
            return false;
        }
        self.left.set(left - 1);
        if left.is_multiple_of(CLOCK_EVERY)
            && let Some(limit) = self.time_limit
            && self.started.elapsed() > limit
        {
            self.exhausted.set(Some(Exhausted::Time(limit)));
            return false;
        }
        true
    }

    pub fn exhausted(&self) -> Option<Exhausted> {
        self.exhausted.get()
    }

    pub fn used(&self) -> u64 {
        self.limit - self.left.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_out_and_stay_out() {
        let b = Budget::new(Some(3), None);
        assert!(b.step() && b.step() && b.step());
        assert!(!b.step());
        assert_eq!(b.exhausted(), Some(Exhausted::Steps(3)));
        assert!(!b.step());
        assert_eq!(b.used(), 3);
    }

    #[test]
    fn time_runs_out() {
        let b = Budget::new(None, Some(Duration::ZERO));
        std::thread::sleep(Duration::from_millis(1));
        let mut steps = 0;
        while b.step() {
            steps += 1;
            assert!(steps <= CLOCK_EVERY, "the clock is looked at");
        }
        assert_eq!(b.exhausted(), Some(Exhausted::Time(Duration::ZERO)));
    }
}
