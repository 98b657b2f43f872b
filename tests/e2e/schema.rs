//! The database schema: migrations, revision tracking and start-up sync.

use std::process::Command;

use crate::support::{Backend, Scratch, TestDatabase, binary};

fn manage(config: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary("placement-manage"))
        .arg("--config-file")
        .arg(config)
        .args(args)
        .output()
        .expect("run placement-manage");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sync_reports_upstream_head(backend: Backend) {
    let scratch = Scratch::new("manage");
    let db = TestDatabase::create(backend, &scratch);
    let config = scratch.0.join("placement.conf");
    std::fs::write(&config, format!("[placement_database]\nconnection = {}\n", db.url)).unwrap();
    let (ok, out, _) = manage(&config, &["db", "version"]);
    assert!(ok);
    assert_eq!(out.trim(), "None");
    let (ok, _, err) = manage(&config, &["db", "sync"]);
    assert!(ok, "{err}");
    let (_, out, _) = manage(&config, &["db", "version"]);
    assert_eq!(out.trim(), "a082b8bb98d0");
    // Syncing again is a no-op.
    let (ok, _, err) = manage(&config, &["db", "sync"]);
    assert!(ok, "{err}");
    let status = Command::new(binary("placement-status"))
        .arg("--config-file")
        .arg(&config)
        .args(["upgrade", "check"])
        .output()
        .expect("placement-status");
    assert!(status.status.success());
}

mod sync_reports_upstream_head {
    use crate::support::{Backend, run};
    #[test]
    fn sqlite() {
        run(Backend::Sqlite, |_| super::sync_reports_upstream_head(Backend::Sqlite))
    }
    #[test]
    fn postgresql() {
        run(Backend::Postgres, |_| super::sync_reports_upstream_head(Backend::Postgres))
    }
    #[test]
    fn mysql() {
        run(Backend::Mysql, |_| super::sync_reports_upstream_head(Backend::Mysql))
    }
}
