//! Prometheus metrics (`[metrics] enabled`, ours): requests by route
//! template, method and status, latency by route, and the database pool.
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
}

/// Buckets from 0.5 ms to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.0005, 2.0, 15))
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
        Metrics { registry, requests, latency, conflicts, retries, pool_open, pool_idle, pool_in_use }
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

    /// The text exposition, with the pool's state as of now.
    pub fn render(&self, db: &Database) -> String {
        let pool = db.pool_state();
        self.pool_open.set(i64::from(pool.open));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_in_use.set(i64::from(pool.open.saturating_sub(pool.idle)));
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
