//! Whether the database can be reached, as the pool last found it. An
//! outage is logged once when it starts and once when it ends, whatever
//! the number of requests or reconnection attempts in between.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The database's reachability as the pool last found it, shared by the
/// pool's connection manager and every checkout.
#[derive(Debug, Default)]
pub struct Health {
    down: AtomicBool,
    /// A connection has opened once: until then start-up reports failures
    /// (and fails at once on a refusal), so they are not logged here too.
    reached: AtomicBool,
    /// Connections found lost so far; pooled connections idle since a
    /// later loss are pinged before use.
    losses: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    down_since: Option<Instant>,
    last_error: Option<String>,
    last_loss_logged: Option<Instant>,
}

/// Lost connections are logged at most this often.
const LOSS_LOG_INTERVAL: Duration = Duration::from_secs(5);

impl Health {
    /// The last attempt to open a connection failed.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// How many pooled connections were found lost so far.
    pub fn losses(&self) -> u64 {
        self.losses.load(Ordering::Acquire)
    }

    /// Why the database is unreachable, while it is.
    pub fn last_error(&self) -> Option<String> {
        if !self.is_down() {
            return None;
        }
        self.lock().last_error.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn connected(&self) {
        self.reached.store(true, Ordering::Release);
        if self.down.swap(false, Ordering::AcqRel) {
            let mut state = self.lock();
            let outage = state.down_since.take().map_or(0.0, |t| t.elapsed().as_secs_f64());
            state.last_error = None;
            log::warn!("database reachable again after {outage:.1} s");
        }
    }

    pub(crate) fn connect_failed(&self, error: &str) {
        // libpq ends its messages with a newline.
        let error = error.trim_end();
        let mut state = self.lock();
        state.last_error = Some(error.to_string());
        if !self.down.swap(true, Ordering::AcqRel) {
            state.down_since = Some(Instant::now());
            if !self.reached.load(Ordering::Acquire) {
                return;
            }
            log::error!("database unreachable: {error}; answering 503 and reconnecting until it is back");
        }
    }

    /// A pooled connection failed with the server gone.
    pub(crate) fn connection_lost(&self, error: &str) {
        self.losses.fetch_add(1, Ordering::AcqRel);
        let mut state = self.lock();
        if state.last_loss_logged.is_none_or(|t| t.elapsed() >= LOSS_LOG_INTERVAL) {
            state.last_loss_logged = Some(Instant::now());
            log::warn!("database connection lost: {error}; checking pooled connections before reuse");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_begins_at_a_failed_connect_and_ends_at_a_good_one() {
        let h = Health::default();
        assert!(!h.is_down() && h.last_error().is_none());
        h.connect_failed("refused");
        h.connect_failed("refused again\n");
        assert!(h.is_down());
        assert_eq!(h.last_error().as_deref(), Some("refused again"));
        h.connected();
        assert!(!h.is_down() && h.last_error().is_none());
    }

    #[test]
    fn each_lost_connection_is_counted() {
        let h = Health::default();
        h.connection_lost("gone");
        h.connection_lost("gone");
        assert_eq!(h.losses(), 2);
        assert!(!h.is_down(), "a lost connection alone is not an outage");
    }
}
