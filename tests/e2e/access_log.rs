//! One access-log line per request, with what an operator needs to trace
//! it: request id, user and project, remote address, method, escaped path,
//! status, bytes, duration and microversion.

use crate::support::{Backend, Scratch, Server, binary};

#[test]
fn one_line_per_request_with_who_what_and_how_long() {
    let s = Server::start(Backend::Sqlite, "");
    let r = s.req("GET", "/resource_providers").version("1.30").send().expect(200);
    let request_id = r.header("x-openstack-request-id").expect("a request id").to_string();
    let len = r.text.len();
    s.req("GET", "/resource_providers/nope%0Aforged").send();
    let log = s.log_text();
    let line =
        log.lines().find(|l| l.contains(&request_id)).unwrap_or_else(|| panic!("no line for {request_id}: {log}"));
    let expected =
        format!("{request_id} admin admin] 127.0.0.1 \"GET /resource_providers\" status: 200 len: {len} time: ");
    assert!(line.contains(&expected), "{line}\nwanted {expected}");
    assert!(line.ends_with(" ms microversion: 1.30"), "{line}");
    let millis: f64 =
        line.split(" time: ").nth(1).and_then(|t| t.split(' ').next()).and_then(|t| t.parse().ok()).unwrap();
    assert!(millis >= 0.0, "{line}");
    let forged = log.lines().find(|l| l.contains("/resource_providers/nope")).expect("the 404 is logged");
    assert!(forged.contains("\"GET /resource_providers/nope%0Aforged\" status: 404"), "{forged}");
    assert!(!log.lines().any(|l| l.starts_with("forged")), "{log}");
}

/// `[DEFAULT] log_file`, `use_json` and `log_date_format`: every line goes
/// to the file as one JSON object, none to stderr.
#[test]
fn json_lines_to_the_configured_file() {
    let dir = Scratch::new("logfile");
    let file = dir.0.join("placement.log");
    let s = Server::start(
        Backend::Sqlite,
        &format!("[DEFAULT]\nlog_file = {}\nuse_json = True\nlog_date_format = %d/%m/%Y %H:%M\n", file.display()),
    );
    let id =
        s.req("GET", "/resource_providers").send().expect(200).header("x-openstack-request-id").unwrap().to_string();
    let text = std::fs::read_to_string(&file).expect("the log file");
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let access = lines.iter().find(|l| l["message"].as_str().is_some_and(|m| m.contains(&id))).expect("access line");
    assert!(access["message"].as_str().unwrap().contains("\"GET /resource_providers\" status: 200"), "{access}");
    assert_eq!(access["levelname"], "INFO");
    let date = access["asctime"].as_str().unwrap();
    assert!(date.len() == 16 && &date[2..3] == "/" && &date[5..6] == "/", "{date}");
    assert!(!s.log_text().contains(&id), "the line went to stderr too: {}", s.log_text());
}

/// A log file that cannot be opened, or a date format that is not one,
/// stops start-up with one line naming it.
#[test]
fn unusable_logging_options_stop_start_up() {
    for (extra, wanted) in [
        ("log_file = /nonexistent-dir/placement.log", "cannot open log file /nonexistent-dir/placement.log"),
        ("log_date_format = %Q", "log_date_format"),
    ] {
        let dir = Scratch::new("badlog");
        let config = dir.0.join("placement.conf");
        std::fs::write(&config, format!("[DEFAULT]\n{extra}\n[api]\nauth_strategy = noauth2\n")).unwrap();
        let out = std::process::Command::new(binary("placement-api"))
            .arg("--config-file")
            .arg(&config)
            .output()
            .expect("run placement-api");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(wanted), "{extra}: {err}");
    }
}
