//! One access-log line per request, with what an operator needs to trace
//! it: request id, user and project, remote address, method, escaped path,
//! status, bytes, duration and microversion.

use crate::support::{Backend, Server};

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
