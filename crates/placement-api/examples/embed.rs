//! Another actix-web service that serves the Placement API beside its own
//! routes, under `/placement`, with a pool, policy and settings of its own
//! (a scratch SQLite database, Placement's default rules, noauth2).
//!
//! `cargo run -p placement-api --example embed`

use std::sync::Arc;

use actix_web::{App, test, web};
use placement_api::{AppState, AuthStrategy};
use placement_policy::{Policy, PolicyConfig};
use placement_storage::{Database, PoolOptions};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scratch = std::env::temp_dir().join(format!("placement-embed-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let db = Database::open(&format!("sqlite:///{}/placement.sqlite", scratch.display()), &PoolOptions::default())?;
    db.prepare(true)?;
    let policy = Policy::load(&PolicyConfig { enforce_new_defaults: true, ..Default::default() }).await?;
    let mut state = AppState::new(AuthStrategy::NoAuth2, db, policy);
    state.placement.max_allocation_candidates = 100;
    let state = Arc::new(state);

    let app = test::init_service(
        App::new()
            .route("/hello", web::get().to(|| async { "the host service's own route" }))
            .service(web::scope("/placement").configure(placement_api::configure(state))),
    )
    .await;

    let ask = |method: actix_web::http::Method, path: &str| {
        test::TestRequest::default()
            .method(method)
            .uri(path)
            .insert_header(("x-auth-token", "admin"))
            .insert_header(("openstack-api-version", "placement 1.39"))
    };
    let hello = test::call_and_read_body(&app, ask(actix_web::http::Method::GET, "/hello").to_request()).await;
    println!("GET /hello: {}", String::from_utf8_lossy(&hello));

    let created = test::call_service(
        &app,
        ask(actix_web::http::Method::POST, "/placement/resource_providers")
            .set_json(serde_json::json!({"name": "compute-1", "uuid": "c0000000-0000-4000-8000-000000000001"}))
            .to_request(),
    )
    .await;
    let location = created.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    println!("POST /placement/resource_providers: {} at {location}", created.status());
    assert_eq!(created.status(), 200);
    assert!(location.ends_with("/placement/resource_providers/c0000000-0000-4000-8000-000000000001"), "{location}");

    let listed: serde_json::Value = test::call_and_read_body_json(
        &app,
        ask(actix_web::http::Method::GET, "/placement/resource_providers").to_request(),
    )
    .await;
    println!("GET /placement/resource_providers: {listed}");
    assert_eq!(listed["resource_providers"][0]["name"], "compute-1");
    // Links in answers carry the prefix too.
    let link = listed["resource_providers"][0]["links"][0]["href"].as_str().unwrap_or_default();
    assert_eq!(link, "/placement/resource_providers/c0000000-0000-4000-8000-000000000001");

    // Swagger UI too: the redirect to its page is relative, so it stays under the prefix.
    let docs = test::call_service(&app, ask(actix_web::http::Method::GET, "/placement/api-docs").to_request()).await;
    assert_eq!(docs.headers().get("location").and_then(|v| v.to_str().ok()), Some("api-docs/"));

    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}
