//! Prometheus metrics (`[metrics] enabled`, ours): requests by route
//! template, method and status, latency by route, the database pool (its
//! connections, callers waiting and how long a checkout waits), retries
//! and 409s by cause, and the candidates solver's time and answers.
//! Labels come from a closed set (route templates, known methods), so no
//! request can make the series grow without bound.

use placement_storage::Database;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    conflicts: Family<CodeLabels, Counter>,
    retries: Family<CauseLabels, Counter>,
    pool_open: Gauge,
    pool_idle: Gauge,
    pool_in_use: Gauge,
    pool_waiting: Gauge,
    checkout: Histogram,
    solve: Histogram,
    candidates: Histogram,
}

/// Buckets from 0.5 ms to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 15))
}

/// Buckets from 0.1 ms to about 3 s.
fn wait_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.0, 15))
}

/// Route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Where the metrics are served when enabled.
pub const PATH: &str = "/metrics";

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("placement");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "Requests answered, by route template, method and status", requests.clone());
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route template and method",
            latency.clone(),
        );
        let conflicts = Family::<CodeLabels, Counter>::default();
        registry.register("http_conflicts", "409 answers, by error code", conflicts.clone());
        let retries = Family::<CauseLabels, Counter>::default();
        registry.register(
            "db_transaction_retries",
            "Transactions retried, by cause (transient database error, lost race for a generation)",
            retries.clone(),
        );
        let pool_open = Gauge::default();
        registry.register("db_pool_connections", "Database connections open", pool_open.clone());
        let pool_idle = Gauge::default();
        registry.register("db_pool_idle_connections", "Database connections open and idle", pool_idle.clone());
        let pool_in_use = Gauge::default();
        registry.register("db_pool_in_use_connections", "Database connections serving a request", pool_in_use.clone());
        let pool_waiting = Gauge::default();
        // A handler holds at most one connection and handler slots are as
        // many as the pool's connections, so requests queue for a slot.
        registry.register(
            "db_pool_waiting",
            "Requests waiting for a database connection (for a handler slot, one per pooled connection, or in the pool)",
            pool_waiting.clone(),
        );
        let checkout = wait_histogram();
        registry.register(
            "db_pool_checkout_seconds",
            "Time waited for a database connection from the pool",
            checkout.clone(),
        );
        let solve = wait_histogram();
        registry.register(
            "candidates_solve_seconds",
            "Time the allocation candidates solver took, after the rows were read",
            solve.clone(),
        );
        let candidates = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(1.0, 4.0, 9));
        registry.register(
            "candidates_returned",
            "Allocation requests in an allocation candidates answer",
            candidates.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            conflicts,
            retries,
            pool_open,
            pool_idle,
            pool_in_use,
            pool_waiting,
            checkout,
            solve,
            candidates,
        }
    }
}

fn method_label(method: &str) -> &'static str {
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].into_iter().find(|m| *m == method).unwrap_or("other")
}

impl Metrics {
    /// Count one answered request; `error_code` is its `placement.*`
    /// code when it failed.
    pub fn observe(
        &self,
        route: &'static str,
        method: &str,
        status: u16,
        seconds: f64,
        error_code: Option<&'static str>,
    ) {
        let method = method_label(method);
        if status == 409 {
            self.conflicts.get_or_create(&CodeLabels { code: error_code.unwrap_or("placement.undefined_code") }).inc();
        }
        self.requests.get_or_create(&RequestLabels { route, method, status }).inc();
        self.latency.get_or_create(&RouteLabels { route, method }).observe(seconds);
    }

    /// Have the database report each checkout's wait here.
    pub fn watch(&self, db: &Database) {
        let checkout = self.checkout.clone();
        db.observe_checkouts(Box::new(move |waited| checkout.observe(waited.as_secs_f64())));
    }

    /// One candidates search: how long the solver took and how many
    /// allocation requests it found.
    pub fn observe_solve(&self, seconds: f64, candidates: usize) {
        self.solve.observe(seconds);
        self.candidates.observe(candidates as f64);
    }

    /// The text exposition, with the pool's state as of now; `queued`
    /// requests wait for a handler slot.
    pub fn render(&self, db: &Database, queued: i64) -> String {
        let pool = db.pool_state();
        self.pool_open.set(i64::from(pool.open));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_in_use.set(i64::from(pool.open.saturating_sub(pool.idle)));
        self.pool_waiting.set(queued + db.checkouts_waiting());
        let retries = db.retries();
        for (cause, total) in [("transient", &retries.transient), ("lost_race", &retries.lost_race)] {
            // The storage counts; bring the exported counter up to it.
            let counter = self.retries.get_or_create(&CauseLabels { cause });
            counter.inc_by(total.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(counter.get()));
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            log::error!("could not encode metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
    }
}
