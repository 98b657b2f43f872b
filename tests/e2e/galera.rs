//! Several servers on a three-node MariaDB Galera cluster
//! (`scripts/galera/cluster`, Debian's galera-4 and mariadb-server): the
//! allocation race of `stress` with every server writing through its own
//! node (multi-writer) and with all of them on one node.

use crate::stress::{make_providers, race_on};
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

/// Whole-transaction retries the servers logged, and how many of them
/// were Galera's certification conflicts (reported as deadlocks).
fn report_retries(servers: &[Server], label: &str) {
    let logs: Vec<String> = servers.iter().map(Server::log_text).collect();
    let retries: usize = logs.iter().map(|l| l.matches("retrying transaction").count()).sum();
    let deadlocks: usize = logs
        .iter()
        .flat_map(|l| l.lines())
        .filter(|l| l.contains("retrying transaction") && l.contains("Deadlock"))
        .count();
    eprintln!("GALERA {label}: {retries} transaction retries, {deadlocks} of them deadlocks (certification conflicts)");
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

#[test]
fn galera_multi_writer_race_is_exact() {
    if skip() {
        return;
    }
    let cluster = Cluster::start();
    let servers: Vec<Server> = (1..=3).map(|n| cluster.server(n)).collect();
    make_providers(&servers[0]);
    let all: Vec<&Server> = servers.iter().collect();
    race_on(&all, "galera, a server per node");
    report_retries(&servers, "a server per node");
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
    race_on(&all, "galera, every server on node 1");
    report_retries(&servers, "every server on node 1");
}
