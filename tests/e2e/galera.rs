//! Several servers on a three-node MariaDB Galera cluster
//! (`scripts/galera/cluster`, Debian's galera-4 and mariadb-server): the
//! allocation race of `stress` with every server writing through its own
//! node (multi-writer) and with all of them on one node.

use std::time::Duration;

use crate::stress::{SHORT_RACE, make_providers, race_on, run_for};
use crate::support::{Scratch, Server};

struct Cluster {
    dir: Scratch,
    ports: Vec<u16>,
}

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/galera/cluster")
}

impl Cluster {
    fn start() -> Cluster {
        let dir = Scratch::new("galera");
        let out = std::process::Command::new(script())
            .arg("start")
            .arg(&dir.0)
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run scripts/galera/cluster");
        assert!(out.status.success(), "the Galera cluster did not start");
        let text = String::from_utf8_lossy(&out.stdout);
        let ports = (1..=3)
            .map(|n| {
                let key = format!("NODE{n}_PORT=");
                text.lines().find_map(|l| l.strip_prefix(&key)).and_then(|p| p.parse().ok()).expect("node port")
            })
            .collect();
        let cluster = Cluster { dir, ports };
        let admin = placement_storage::DatabaseUrl::parse(&cluster.url(1, "mysql")).unwrap();
        placement_storage::conn::execute_once(&admin, "CREATE DATABASE placement").expect("create database");
        cluster
    }

    fn url(&self, node: usize, database: &str) -> String {
        format!("mysql+pymysql://root@127.0.0.1:{}/{database}?charset=utf8", self.ports[node - 1])
    }

    /// A server on `node`, once it answers.
    fn server(&self, node: usize) -> Server {
        let mut server = Server::launch_on(&self.url(node, "placement"), "");
        server.wait_ready();
        server
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script()).arg("stop").arg(&self.dir.0).status();
    }
}

/// Whole-transaction retries the servers logged: Galera's conflicts
/// (reported as deadlocks), and among them transactions the node had
/// rolled back without telling (caught by the guard, see `tx`).
fn report_retries(servers: &[Server], label: &str) {
    let logs: Vec<String> = servers.iter().map(Server::log_text).collect();
    let retried = || logs.iter().flat_map(|l| l.lines()).filter(|l| l.contains("retrying transaction"));
    let deadlocks = retried().filter(|l| l.contains("Deadlock")).count();
    let silent =
        retried().filter(|l| l.contains("READ ONLY transaction") || l.contains("rolled back by a conflicting")).count();
    eprintln!(
        "GALERA {label}: {} transaction retries, {deadlocks} of them deadlocks (conflicts), \
         {silent} transactions lost without an error (caught)",
        retried().count()
    );
    for log in &logs {
        assert!(!log.contains("panicked"), "a server panicked: {log}");
    }
}

fn skip() -> bool {
    if cfg!(feature = "mysql") {
        return false;
    }
    eprintln!("SKIP: built without MySQL/MariaDB support");
    true
}

/// Longer than other races: before transactions were guarded (see
/// placement-storage's `tx`), a silently aborted one showed about once in
/// 10 s of this race.
const MULTI_WRITER_RACE: Duration = Duration::from_secs(12);

#[test]
fn galera_multi_writer_race_is_exact() {
    if skip() {
        return;
    }
    let cluster = Cluster::start();
    let servers: Vec<Server> = (1..=3).map(|n| cluster.server(n)).collect();
    make_providers(&servers[0]);
    let all: Vec<&Server> = servers.iter().collect();
    race_on(&all, "galera, a server per node", run_for(MULTI_WRITER_RACE));
    report_retries(&servers, "a server per node");
}

/// Caches stay true across processes on different nodes: a server on node
/// 1 answers as a fresh server on node 3 after each change made through
/// node 2.
#[test]
fn galera_caches_follow_changes_made_through_other_nodes() {
    if skip() {
        return;
    }
    let cluster = Cluster::start();
    let warm = cluster.server(1);
    let writer = cluster.server(2);
    crate::candidates_cache::follows_every_change(&warm, &writer, &|| cluster.server(3));
}

#[test]
fn galera_single_writer_race_is_exact() {
    if skip() {
        return;
    }
    let cluster = Cluster::start();
    let servers: Vec<Server> = (0..3).map(|_| cluster.server(1)).collect();
    make_providers(&servers[0]);
    let all: Vec<&Server> = servers.iter().collect();
    race_on(&all, "galera, every server on node 1", run_for(SHORT_RACE));
    report_retries(&servers, "every server on node 1");
}

/// Statuses each server answered, by status.
type Statuses = std::collections::BTreeMap<u16, u64>;

/// Allocate and free through `server` until `stop`, counting statuses.
fn churn(server: &Server, stop: &std::sync::atomic::AtomicBool) -> Statuses {
    use std::sync::atomic::Ordering;
    let mut seen = Statuses::new();
    let provider = "5a1e0000-0000-4000-8000-000000000001";
    while !stop.load(Ordering::Relaxed) {
        let consumer = uuid::Uuid::new_v4().to_string();
        let body = serde_json::json!({
            "allocations": {provider: {"resources": {"VCPU": 1}}},
            "project_id": "p", "user_id": "u", "consumer_generation": null,
        });
        let put = server.req("PUT", &format!("/allocations/{consumer}")).version("1.28").json(body).try_send();
        let status = put.map_or(0, |r| r.status);
        *seen.entry(status).or_default() += 1;
        if status == 204 {
            let del = server.req("DELETE", &format!("/allocations/{consumer}")).try_send();
            *seen.entry(del.map_or(0, |r| r.status)).or_default() += 1;
        }
        let read = server.req("GET", &format!("/resource_providers/{provider}/usages")).try_send();
        *seen.entry(read.map_or(0, |r| r.status)).or_default() += 1;
    }
    seen
}

#[test]
fn galera_node_killed_mid_load() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;
    if skip() {
        return;
    }
    let cluster = Cluster::start();
    let servers: Vec<Server> = (1..=3).map(|n| cluster.server(n)).collect();
    make_providers(&servers[0]);
    let stop = AtomicBool::new(false);
    let statuses: Vec<Statuses> = std::thread::scope(|scope| {
        let workers: Vec<_> = servers.iter().map(|s| scope.spawn(|| churn(s, &stop))).collect();
        std::thread::sleep(Duration::from_secs(2));
        let killed = std::process::Command::new(script()).arg("kill").arg(&cluster.dir.0).arg("3").status();
        assert!(killed.unwrap().success());
        std::thread::sleep(Duration::from_secs(4));
        let rejoined = std::process::Command::new(script()).arg("rejoin").arg(&cluster.dir.0).arg("3").status();
        assert!(rejoined.unwrap().success(), "node 3 did not rejoin");
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    eprintln!("GALERA node kill: statuses by server {statuses:?}");
    for (i, seen) in statuses.iter().enumerate() {
        let server_errors: u64 = seen.iter().filter(|(s, _)| **s >= 500 && **s != 503).map(|(_, n)| n).sum();
        let why: Vec<String> =
            servers[i].log_text().lines().filter(|l| l.contains(": 500")).take(5).map(str::to_string).collect();
        assert_eq!(server_errors, 0, "server {} answered a 5xx other than 503: {seen:?}: {why:#?}", i + 1);
        let tail: Vec<String> = servers[i].log_text().lines().rev().take(15).map(str::to_string).collect();
        assert_eq!(seen.get(&0), None, "server {} dropped a connection: {seen:?}: last log lines {tail:#?}", i + 1);
    }
    for seen in &statuses[..2] {
        let why = crate::stress::server_errors(&[&servers[0], &servers[1]]);
        assert_eq!(seen.get(&503), None, "the servers on live nodes kept serving: {seen:?}: {why:#?}");
    }
    assert!(statuses[2].contains_key(&503), "the server on the dead node answered 503: {:?}", statuses[2]);
    // The third server serves again, without a restart, and every server
    // sees the same usage.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while servers[2].req("GET", "/resource_providers").try_send().map_or(0, |r| r.status) != 200 {
        assert!(std::time::Instant::now() < deadline, "the server on the rejoined node does not serve");
        std::thread::sleep(Duration::from_millis(100));
    }
    let usages: Vec<String> = servers
        .iter()
        .map(|s| {
            s.req("GET", "/resource_providers/5a1e0000-0000-4000-8000-000000000001/usages").send().expect(200).text
        })
        .collect();
    assert!(usages.windows(2).all(|w| w[0] == w[1]), "{usages:?}");
}

/// Upstream 16.0.0 (the compatibility check's virtualenv, `make compat`)
/// on the same kind of cluster, a server per node, for the figures in
/// docs/benchmarks.md; it over-allocates, so this measures and does not
/// judge. Run with `--run-ignored only`.
#[test]
#[ignore]
fn galera_upstream_for_comparison() {
    if skip() {
        return;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let venv = std::env::var("PLACEMENT_COMPAT_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(&home).join(".cache/placement-compat"))
        .join("venv");
    assert!(venv.join("bin/gunicorn").exists(), "run `make compat` first: it makes {}", venv.display());
    let cluster = Cluster::start();
    let upstream = |node: usize| {
        let scratch = Scratch::new("upstream");
        let conf = format!(
            "[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = {}\n",
            cluster.url(node, "placement")
        );
        std::fs::write(scratch.0.join("placement.conf"), conf).unwrap();
        if node == 1 {
            // Each WSGI worker would migrate at start-up, racing the other.
            let synced = std::process::Command::new(venv.join("bin/placement-manage"))
                .arg("--config-file")
                .arg(scratch.0.join("placement.conf"))
                .args(["db", "sync"])
                .status();
            assert!(synced.unwrap().success(), "upstream's db sync failed");
        }
        let port = crate::support::free_port();
        let log = scratch.0.join("upstream.log");
        let child = std::process::Command::new(venv.join("bin/gunicorn"))
            .args(["--bind", &format!("127.0.0.1:{port}"), "--workers", "2", "--threads", "10"])
            .args(["--no-control-socket", "placement.wsgi.api:application"])
            .env("OS_PLACEMENT_CONFIG_DIR", &scratch.0)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while ureq::get(&format!("{base}/")).call().is_err() {
            assert!(std::time::Instant::now() < deadline, "upstream did not start");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        Server::adopt(child, base, log, scratch)
    };
    let first = upstream(1);
    let servers = [upstream(2), upstream(3)];
    make_providers(&first);
    let all: Vec<&Server> = std::iter::once(&first).chain(servers.iter()).collect();
    let outcome =
        crate::stress::measure(&all, "upstream 16.0.0 on galera, a server per node", run_for(MULTI_WRITER_RACE));
    eprintln!("UPSTREAM {outcome:?}");
}
