//! The HTTP contract every route shares: versions, errors, auth, headers.

use serde_json::json;

use crate::on_every_backend;
use crate::support::Server;

fn root_document_and_version_negotiation(s: &Server) {
    let r = s.req("GET", "/").without("x-auth-token").send().expect(200);
    assert_eq!(r.json["versions"][0]["max_version"], "1.39");
    assert_eq!(r.header("openstack-api-version"), Some("placement 1.0"));
    assert_eq!(r.header("vary"), Some("openstack-api-version"));
    let r = s.req("GET", "/").version("latest").send().expect(200);
    assert_eq!(r.header("openstack-api-version"), Some("placement 1.39"));
    assert!(r.header("last-modified").is_some_and(|v| v.ends_with(" GMT")));
    let r = s.req("GET", "/").version("1.40").send().expect(406);
    assert_eq!(r.json["errors"][0]["max_version"], "1.39");
    assert_eq!(r.json["errors"][0]["min_version"], "1.0");
    s.req("GET", "/").version("one.two").send().expect(400);
}

fn errors_carry_request_ids_and_codes_from_1_23(s: &Server) {
    let r = s.req("GET", "/nowhere").version("1.23").send().expect(404);
    let id = r.header("x-openstack-request-id").expect("request id header").to_string();
    assert!(id.starts_with("req-"));
    assert_eq!(r.header("openstack-request-id"), Some(id.as_str()));
    assert_eq!(r.json["errors"][0]["request_id"], id.as_str());
    assert_eq!(r.code(), "placement.undefined_code");
    let r = s.req("GET", "/nowhere").version("1.22").send().expect(404);
    assert!(r.json["errors"][0].get("code").is_none());
}

fn auth_methods_and_media_types(s: &Server) {
    s.req("GET", "/resource_providers").without("x-auth-token").send().expect(401);
    s.req("GET", "/resource_providers").header("x-auth-token", "someone").send().expect(403);
    let r = s.req("DELETE", "/resource_providers").send().expect(405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    s.req("GET", "/resource_providers").header("accept", "text/plain").send().expect(406);
    let r = s.req("POST", "/resource_providers").header("content-type", "text/plain").send().expect(415);
    assert!(r.text.contains("The media type text/plain is not supported"));
    let r = s.req("POST", "/resource_providers").json(json!({"name": "x", "color": "blue"})).send().expect(400);
    assert!(r.text.contains("Additional properties are not allowed ('color' was unexpected)"), "{}", r.text);
}

on_every_backend!(
    root_document_and_version_negotiation,
    errors_carry_request_ids_and_codes_from_1_23,
    auth_methods_and_media_types
);
