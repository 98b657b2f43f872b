//! SIGTERM (or SIGINT) during a burst of allocation writes: the server
//! stops taking connections, finishes what it took and exits; every write a
//! client was told succeeded is there, and nothing it was not told of.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Backend, Server, usable};

const PROVIDER: &str = "5d0e0000-0000-4000-8000-000000000001";
const WRITERS: usize = 8;

fn stops_gracefully(backend: Backend, signal: &str) {
    if !usable(backend) {
        return;
    }
    let mut server = Server::start(backend, "[DEFAULT]\ngraceful_shutdown_timeout = 20\n");
    let url = server.database_url().expect("own database").to_string();
    server.req("POST", "/resource_providers").json(json!({"uuid": PROVIDER, "name": "cn"})).send().expect(201);
    let inventory = json!({"resource_provider_generation": 0,
                           "inventories": {"VCPU": {"total": 1_000_000, "max_unit": 10}}});
    server.req("PUT", &format!("/resource_providers/{PROVIDER}/inventories")).json(inventory).send().expect(200);

    let told_ok = Mutex::new(Vec::new());
    let refused = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..WRITERS {
            scope.spawn(|| {
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline {
                    let consumer = uuid::Uuid::new_v4().to_string();
                    let body = json!({"allocations": {PROVIDER: {"resources": {"VCPU": 1}}},
                                      "project_id": "p", "user_id": "u", "consumer_generation": null});
                    match server.req("PUT", &format!("/allocations/{consumer}")).version("1.28").json(body).try_send() {
                        Ok(r) if r.status == 204 => told_ok.lock().unwrap().push(consumer),
                        // Lost a race for the one provider (Nova retries
                        // these): nothing written.
                        Ok(r) if r.status == 409 && r.code() == "placement.concurrent_update" => {}
                        Ok(r) => panic!("a write answered {}: {}", r.status, r.text),
                        // Stopped: connections are no longer taken.
                        Err(_) => {
                            refused.store(true, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        let sent = std::process::Command::new("kill").args([signal, &server.pid().to_string()]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {signal}");
    });
    assert!(refused.load(Ordering::SeqCst), "connections still taken after {signal}");
    let deadline = Instant::now() + Duration::from_secs(25);
    while server.is_running() {
        assert!(Instant::now() < deadline, "still running: {}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log_text();
    assert!(log.contains("finishing requests in flight") && log.contains("placement-api stopped"), "{log}");

    let told_ok = told_ok.into_inner().unwrap();
    assert!(!told_ok.is_empty(), "no write went through before the signal");
    let mut after = Server::launch_on(&url, "");
    after.wait_ready();
    let usages = after.req("GET", &format!("/resource_providers/{PROVIDER}/usages")).send().expect(200);
    assert_eq!(usages.json["usages"]["VCPU"], json!(told_ok.len()), "usage is exactly what clients were told of");
    for consumer in &told_ok {
        let held = after.req("GET", &format!("/allocations/{consumer}")).send().expect(200);
        assert_eq!(held.json["allocations"][PROVIDER]["resources"]["VCPU"], 1, "{consumer}");
    }
    drop(after);
    drop(server);
}

#[test]
fn sigterm_during_writes_sqlite() {
    stops_gracefully(Backend::Sqlite, "-TERM");
}

#[test]
fn sigterm_during_writes_postgresql() {
    stops_gracefully(Backend::Postgres, "-TERM");
}

#[test]
fn sigint_during_writes_mysql() {
    stops_gracefully(Backend::Mysql, "-INT");
}
