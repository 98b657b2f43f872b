//! The OpenAPI documents and Swagger UI, served by the real binary without
//! authentication, and switched off by configuration.

use crate::support::{Backend, Server};

fn required(doc: &serde_json::Value) -> Vec<String> {
    doc["paths"]["/allocations/{consumer_uuid}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
        ["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[test]
fn documents_and_swagger_ui_are_served_without_a_token() {
    let s = Server::start(Backend::Sqlite, "");
    let doc = s.req("GET", "/api-docs/1.28/openapi.json").without("x-auth-token").send().expect(200);
    assert_eq!(doc.json["info"]["version"], "1.28");
    assert!(required(&doc.json).contains(&"consumer_generation".to_string()), "{:?}", required(&doc.json));
    let older = s.req("GET", "/api-docs/1.27/openapi.json").without("x-auth-token").send().expect(200);
    assert!(!required(&older.json).contains(&"consumer_generation".to_string()));
    let latest = s.req("GET", "/api-docs/openapi.json").without("x-auth-token").send().expect(200);
    assert_eq!(latest.json["info"]["version"], "1.39");
    let page = s.req("GET", "/api-docs/").without("x-auth-token").header("accept", "text/html").send().expect(200);
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{:?}", page.headers);
    let init = s.req("GET", "/api-docs/swagger-initializer.js").without("x-auth-token").send().expect(200);
    assert_eq!(init.text.matches("/openapi.json\"").count(), 40);
    // What the committed files hold is what the server serves.
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/placement-1.28.json"))
        .expect("openapi/placement-1.28.json");
    assert_eq!(doc.text, committed);
}

#[test]
fn documents_can_be_switched_off() {
    let s = Server::start(Backend::Sqlite, "[api]\nenable_api_docs = False\n");
    s.req("GET", "/api-docs/openapi.json").send().expect(404);
    s.req("GET", "/api-docs/openapi.json").without("x-auth-token").send().expect(401);
}

/// With `[api] validate_responses`, every response is checked against its
/// version's document (the conformance run uses this on all its traffic).
#[test]
fn responses_are_checked_against_the_documents() {
    let s = Server::start(Backend::Sqlite, "[DEFAULT]\ndebug = True\n[api]\nvalidate_responses = True\n");
    let uuid = "0a9f0000-0000-4000-8000-000000000001";
    for v in ["1.0", "1.13", "1.14", "1.20", "1.39"] {
        let _ = s.req("DELETE", &format!("/resource_providers/{uuid}")).version(v).send();
        s.req("POST", "/resource_providers").version(v).json(serde_json::json!({"name": "x", "uuid": uuid})).send();
        s.req("GET", &format!("/resource_providers/{uuid}")).version(v).send().expect(200);
        s.req("GET", "/resource_providers/nope").version(v).send().expect(404);
    }
    let log = s.log_text();
    assert_eq!(log.matches("as the 1.14 document says").count(), 4, "{log}");
    assert!(!log.contains("NOT AS DOCUMENTED"), "{log}");
}
