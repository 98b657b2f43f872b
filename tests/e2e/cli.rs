//! Start-up: configuration errors are clear and name the option.

use std::process::Command;

use crate::support::{Backend, Scratch, binary, usable};

fn start_with(config: &str) -> (bool, String) {
    let scratch = Scratch::new("cli");
    let path = scratch.0.join("placement.conf");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(binary("placement-api"))
        .arg("--config-file")
        .arg(&path)
        .args(["--port", "1"])
        .output()
        .expect("run placement-api");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn malformed_option_values_stop_start_up_naming_the_option() {
    let (ok, err) = start_with("[placement]\nmax_allocation_candidates = many\n");
    assert!(!ok);
    assert!(err.contains("[placement] max_allocation_candidates"), "{err}");
}

#[test]
fn a_missing_database_connection_is_reported() {
    let (ok, err) = start_with("[api]\nauth_strategy = noauth2\n");
    assert!(!ok);
    assert!(err.contains("[placement_database] connection"), "{err}");
}

#[test]
fn an_unmigrated_database_is_refused_without_sync_on_startup() {
    let scratch = Scratch::new("nosync");
    let (ok, err) = start_with(&format!(
        "[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = sqlite:///{}/p.db\n",
        scratch.0.display()
    ));
    assert!(!ok);
    assert!(err.contains("placement-manage db sync"), "{err}");
}

/// A database that does not exist is not worth waiting for: one line, and
/// the server stops at once, where an unreachable server is retried
/// (`max_retries` x `retry_interval`, 10 x 10 s by default).
fn nonexistent_database_stops_start_up_with_one_line(backend: Backend) {
    if !usable(backend) {
        return;
    }
    let url = backend.url_of("placement_e2e_no_such_database").expect("server url");
    let started = std::time::Instant::now();
    let (ok, err) = start_with(&format!("[api]\nauth_strategy = noauth2\n[placement_database]\nconnection = {url}\n"));
    assert!(!ok);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "retried: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("placement-api: database not ready:"), "{err}");
    assert!(lines[0].contains("placement_e2e_no_such_database"), "{err}");
}

#[test]
fn nonexistent_database_stops_start_up_with_one_line_postgresql() {
    nonexistent_database_stops_start_up_with_one_line(Backend::Postgres);
}

#[test]
fn nonexistent_database_stops_start_up_with_one_line_mysql() {
    nonexistent_database_stops_start_up_with_one_line(Backend::Mysql);
}

/// Each binary's `--help` names every option it takes and exits 0, and
/// `--version` prints the version.
#[test]
fn help_describes_every_option() {
    let common = ["--config-file <FILE>", "--config-dir <DIR>", "--help", "--version", "OS_<GROUP>__<OPTION>"];
    let own: [(&str, &[&str]); 4] = [
        ("placement-api", &["--host <HOST>", "--port <PORT>", "--workers <N>", "bind-host", "bind-port"]),
        ("placement-manage", &["db", "sync", "version", "stamp REVISION", "online_data_migrations", "--max-count N"]),
        ("placement-status", &["upgrade check"]),
        ("placement-policy", &["list", "sample", "csv", "check", "RULE"]),
    ];
    for (name, options) in own {
        let out = Command::new(binary(name)).arg("--help").output().expect("run --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name} --help: {:?}", out.status);
        assert!(text.starts_with(&format!("usage: {name} ")), "the man pages start from the usage line:\n{text}");
        for option in common.iter().chain(options) {
            assert!(text.contains(option), "{name} --help does not describe {option}:\n{text}");
        }
        let out = Command::new(binary(name)).arg("--version").output().expect("run --version");
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    }
}

/// A reader that stops early (`placement-policy list | head`) ends the
/// program as SIGPIPE ends a filter, not with a panic.
#[test]
fn a_closed_pipe_ends_output_quietly() {
    let scratch = crate::support::Scratch::new("pipe");
    let config = scratch.0.join("placement.conf");
    std::fs::write(&config, "").expect("empty configuration");
    let mut child = std::process::Command::new(crate::support::binary("placement-policy"))
        .args(["--config-file", &config.display().to_string(), "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("placement-policy runs");
    // Closed before the listing is written: it meets a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("placement-policy ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// A malformed command line is refused before anything runs, with exit
/// status 2 (upstream's argparse) and a line naming what is wrong.
#[test]
fn malformed_command_lines_exit_2_naming_the_problem() {
    let cases: [(&str, &[&str], &str); 7] = [
        ("placement-api", &["--workers", "0"], "--workers"),
        ("placement-api", &["--port", "nope"], "--port"),
        ("placement-api", &["--bogus"], "--bogus"),
        ("placement-manage", &["db", "frobnicate"], "frobnicate"),
        ("placement-manage", &["db", "stamp"], "REVISION"),
        ("placement-status", &["upgrade"], "check"),
        ("placement-policy", &[], "command"),
    ];
    for (name, args, named) in cases {
        let out = Command::new(binary(name)).args(args).output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {err}");
        assert!(err.contains(named), "{name} {args:?} does not name {named}: {err}");
    }
}
