//! `/healthcheck` as oslo.middleware's healthcheck answers it, with our
//! database check: no token needed, text, HEAD, JSON and HTML answers, the
//! disable-by-file switch, the requests it leaves to the API, and a
//! database that goes away and comes back.

use std::time::{Duration, Instant};

use crate::faults::private_db;
use crate::support::{Backend, Scratch, Server};

fn health(s: &Server, accept: Option<&str>) -> (u16, String, String) {
    let req = s.req("GET", "/healthcheck").without("x-auth-token");
    let req = match accept {
        Some(a) => req.header("accept", a),
        None => req.without("accept"),
    };
    let r = req.send();
    (r.status, r.header("content-type").unwrap_or_default().to_string(), r.text)
}

#[test]
fn answers_as_the_middleware_without_a_token() {
    let s = Server::start(Backend::Sqlite, "");
    let (status, content_type, text) = health(&s, None);
    assert_eq!((status, content_type.as_str(), text.as_str()), (200, "text/plain; charset=UTF-8", "OK"));
    let head = s.req("HEAD", "/healthcheck").without("x-auth-token").send();
    assert_eq!((head.status, head.text.as_str()), (204, ""));
    let (status, content_type, text) = health(&s, Some("application/json"));
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json; charset=UTF-8");
    assert_eq!(text, "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}");
    let (_, content_type, text) = health(&s, Some("text/html"));
    assert_eq!(content_type, "text/html; charset=UTF-8");
    assert!(text.contains("<H2>Result of 1 checks:</H2>") && text.contains("<TD>OK</TD>"), "{text}");
    // Nothing acceptable on offer: text, never a 406.
    assert_eq!(health(&s, Some("image/png")).2, "OK");
    // Any method is answered (a POST too), and only the exact path.
    let post = s.req("POST", "/healthcheck").without("x-auth-token").without("accept").send();
    assert_eq!((post.status, post.text.as_str()), (200, "OK"));
    assert_ne!(s.req("GET", "/healthcheck/").without("x-auth-token").send().status, 200);
}

#[test]
fn a_file_disables_it_and_details_are_optional() {
    let scratch = Scratch::new("health");
    let flag = scratch.0.join("disabled");
    let config = format!(
        "[healthcheck]\nbackends = database, disable_by_file\ndisable_by_file_path = {}\ndetailed = True\n",
        flag.display()
    );
    let s = Server::start(Backend::Sqlite, &config);
    assert_eq!(health(&s, None), (200, "text/plain; charset=UTF-8".into(), "OK\nOK".into()));
    std::fs::write(&flag, "").unwrap();
    assert_eq!(health(&s, None).0, 503);
    assert_eq!(health(&s, None).2, "OK\nDISABLED BY FILE");
    assert_eq!(s.req("HEAD", "/healthcheck").without("x-auth-token").send().status, 503);
    let (status, _, text) = health(&s, Some("application/json"));
    assert_eq!(status, 503);
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["detailed"], true);
    assert_eq!(body["reasons"][0]["class"], "DatabaseHealthcheck");
    assert_eq!(body["reasons"][1]["class"], "DisableByFileHealthcheck");
    assert_eq!(body["reasons"][1]["reason"], "DISABLED BY FILE");
    assert_eq!(body["reasons"][1]["details"], format!("Path '{}' was found", flag.display()));
    assert!(body["now"].is_string() && body["platform"].is_string(), "{text}");
    std::fs::remove_file(&flag).unwrap();
    assert_eq!(health(&s, None).0, 200);
    // The API itself is untouched by the switch.
    s.req("GET", "/resource_providers").send().expect(200);
}

#[test]
fn requests_it_must_ignore_go_to_the_api() {
    let config = "[healthcheck]\nallowed_source_ranges = 10.0.0.0/8\n";
    let s = Server::start(Backend::Sqlite, config);
    // From 127.0.0.1, outside the allowed ranges: the API's answer.
    let r = s.req("GET", "/healthcheck").send();
    assert_eq!(r.status, 404, "{}", r.text);
    drop(s);
    let s = Server::start(Backend::Sqlite, "[healthcheck]\nignore_proxied_requests = True\n");
    assert_eq!(health(&s, None).0, 200);
    let proxied = s.req("GET", "/healthcheck").header("x-forwarded-for", "192.0.2.1").send();
    assert_eq!(proxied.status, 404, "{}", proxied.text);
    drop(s);
    let s = Server::start(Backend::Sqlite, "[healthcheck]\nenabled = False\n");
    assert_eq!(s.req("GET", "/healthcheck").send().status, 404);
    assert_eq!(s.req("GET", "/healthcheck").without("x-auth-token").send().status, 401);
}

/// The database check: 503 while the database is down, 200 again once it
/// is back, without a restart.
fn follows_the_database(backend: Backend) {
    let Some(mut db) = private_db(backend) else {
        return;
    };
    db.create_database("placement").expect("create database");
    let mut s =
        Server::launch_on(&db.url("placement"), "[placement_database]\ndb_retry_interval = 1\npool_timeout = 3\n");
    s.wait_ready();
    assert_eq!(health(&s, None).2, "OK");
    db.stop();
    let down = Instant::now();
    let (status, _, text) = health(&s, None);
    assert_eq!((status, text.as_str()), (503, "DATABASE UNAVAILABLE"));
    assert!(down.elapsed() < Duration::from_secs(8), "answered within the check's bound");
    db.start_again().expect("database starts");
    let deadline = Instant::now() + Duration::from_secs(15);
    while health(&s, None).0 != 200 {
        assert!(Instant::now() < deadline, "still unhealthy: {}", s.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn follows_the_database_postgresql() {
    follows_the_database(Backend::Postgres);
}

#[test]
fn follows_the_database_mysql() {
    follows_the_database(Backend::Mysql);
}
