//! `[metrics] enabled`: Prometheus metrics at `/metrics`, off by default.

use serde_json::json;

use crate::support::{Backend, Server};

/// The value of the series whose name and labels start as `series`.
fn value(page: &str, series: &str) -> f64 {
    page.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn scrape(s: &Server) -> String {
    let r = s.req("GET", "/metrics").without("x-auth-token").send().expect(200);
    assert!(
        r.header("content-type").is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        r.header("content-type")
    );
    r.text
}

#[test]
fn counters_move_with_requests() {
    let s = Server::start(Backend::Sqlite, "[metrics]\nenabled = True\n");
    let ok = "placement_http_requests_total{route=\"/resource_providers\",method=\"GET\",status=\"200\"}";
    let missing = "placement_http_requests_total{route=\"/resource_providers/{uuid}\",method=\"GET\",status=\"404\"}";
    let latency = "placement_http_request_duration_seconds_count{route=\"/resource_providers\",method=\"GET\"}";
    let before = scrape(&s);
    for _ in 0..3 {
        s.req("GET", "/resource_providers").send().expect(200);
    }
    s.req("GET", "/resource_providers/7b1e2c1c-9f5e-4a51-9d3e-3c8a0d0f0a11").send().expect(404);
    let after = scrape(&s);
    assert_eq!(value(&after, ok) - value(&before, ok), 3.0, "{after}");
    assert_eq!(value(&after, missing) - value(&before, missing), 1.0, "{after}");
    assert_eq!(value(&after, latency) - value(&before, latency), 3.0, "{after}");
    assert!(value(&after, "placement_db_pool_connections") >= 1.0, "{after}");
    assert!(after.contains("placement_db_pool_in_use_connections"), "{after}");
    assert!(after.contains("placement_db_transaction_retries_total{cause=\"lost_race\"} 0"), "{after}");
    assert_eq!(value(&after, "placement_db_pool_waiting"), 0.0, "{after}");
    let checkouts = "placement_db_pool_checkout_seconds_count";
    assert!(value(&after, checkouts) - value(&before, checkouts) >= 4.0, "a checkout per request: {after}");

    // A write with a stale generation: a 409 counted by its code.
    let rp = s.req("POST", "/resource_providers").version("1.20").json(json!({"name": "m1"})).send().expect(200);
    let uuid = rp.json["uuid"].as_str().unwrap().to_string();
    let stale = json!({"resource_provider_generation": 99, "inventories": {"VCPU": {"total": 8}}});
    s.req("PUT", &format!("/resource_providers/{uuid}/inventories")).json(stale).send().expect(409);
    let conflicts = "placement_http_conflicts_total{code=\"placement.concurrent_update\"}";
    assert_eq!(value(&scrape(&s), conflicts), 1.0);

    // Candidates: the solver's time and the answer's size.
    s.req("PUT", &format!("/resource_providers/{uuid}/inventories"))
        .json(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}}))
        .send()
        .expect(200);
    let before = scrape(&s);
    s.req("GET", "/allocation_candidates?resources=VCPU:1").version("1.20").send().expect(200);
    s.req("GET", "/allocation_candidates?resources=VCPU:2").version("1.20").send().expect(200);
    let after = scrape(&s);
    let solved = "placement_candidates_solve_seconds_count";
    assert_eq!(value(&after, solved) - value(&before, solved), 2.0, "{after}");
    let found = "placement_candidates_returned_sum";
    assert_eq!(value(&after, found) - value(&before, found), 2.0, "one candidate each: {after}");
}

/// Paths no route matches share one label, so no client can grow the
/// number of series.
#[test]
fn unmatched_paths_share_one_series() {
    let s = Server::start(Backend::Sqlite, "[metrics]\nenabled = True\n");
    for i in 0..50 {
        s.req("GET", &format!("/no-such-thing-{i}")).send().expect(404);
    }
    let page = scrape(&s);
    assert!(!page.contains("no-such-thing"), "{page}");
    let unmatched = "placement_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}";
    assert_eq!(value(&page, unmatched), 50.0, "{page}");
    s.req("GET", "/resource_providers").send().expect(200);
}

#[test]
fn off_by_default() {
    let s = Server::start(Backend::Sqlite, "");
    s.req("GET", "/metrics").send().expect(404);
}

/// With one pooled connection and clients asking at once, the scrape
/// (which needs no connection) shows requests waiting for one.
#[test]
fn waiting_for_a_connection_is_seen() {
    let s = Server::start(
        Backend::Sqlite,
        "[metrics]\nenabled = True\n[placement_database]\nmax_pool_size = 1\nmax_overflow = 0\n",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut most = 0.0f64;
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                while std::time::Instant::now() < deadline {
                    s.req("GET", "/resource_providers").send().expect(200);
                }
            });
        }
        while std::time::Instant::now() < deadline && most < 1.0 {
            most = most.max(value(&scrape(&s), "placement_db_pool_waiting"));
        }
    });
    assert!(most >= 1.0, "no scrape saw a request waiting");
    assert_eq!(value(&scrape(&s), "placement_db_pool_waiting"), 0.0, "none waits once the clients stop");
}

/// `[metrics] port`: the metrics on their own port, and only there.
#[test]
fn served_on_their_own_port_when_asked() {
    let port = crate::support::free_port();
    let s = Server::start(Backend::Sqlite, &format!("[metrics]\nenabled = True\nport = {port}\n"));
    s.req("GET", "/resource_providers").send().expect(200);
    s.req("GET", "/metrics").send().expect(404);
    let own = format!("http://127.0.0.1:{port}");
    let page = ureq::get(&format!("{own}/metrics")).call().expect("metrics on their port").into_body().read_to_string();
    let ok = "placement_http_requests_total{route=\"/resource_providers\",method=\"GET\",status=\"200\"}";
    assert_eq!(value(&page.expect("text"), ok), 1.0);
    let other = ureq::get(&format!("{own}/resource_providers")).header("x-auth-token", "admin").call();
    assert!(matches!(other, Err(ureq::Error::StatusCode(404))), "{other:?}");
    let health = ureq::get(&format!("{own}/healthcheck")).call();
    assert!(matches!(health, Err(ureq::Error::StatusCode(404))), "{health:?}");
    s.req("GET", "/healthcheck").without("x-auth-token").send().expect(200);
}
