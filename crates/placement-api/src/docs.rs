//! The OpenAPI documents and Swagger UI, served without authentication
//! (like `GET /`): `/api-docs/` is Swagger UI with a selector of every
//! version (latest first), `/api-docs/1.N/openapi.json` each version's
//! document and `/api-docs/openapi.json` the latest. Swagger UI's files
//! are vendored in the binary; the page loads nothing from elsewhere.

use std::sync::{Arc, OnceLock};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use placement_model::Microversion;
use utoipa_swagger_ui::{Config, Url};

use crate::openapi;

/// Where the documents and Swagger UI live.
pub const PREFIX: &str = "/api-docs";

/// Whether `path` is for this module.
pub fn is_docs_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/api-docs/")
}

/// Every version's document, rendered once.
fn rendered() -> &'static Vec<(Microversion, String)> {
    static DOCS: OnceLock<Vec<(Microversion, String)>> = OnceLock::new();
    DOCS.get_or_init(|| openapi::cached().iter().map(|(v, doc)| (*v, openapi::render(doc))).collect())
}

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            // Relative to the page (`/api-docs/`), so they also work behind
            // a proxy that serves the API under a prefix.
            let urls: Vec<Url<'static>> = rendered()
                .iter()
                .rev()
                .map(|(v, _)| {
                    let name: &'static str = Box::leak(v.to_string().into_boxed_str());
                    let url: &'static str = Box::leak(format!("{v}/openapi.json").into_boxed_str());
                    Url::with_primary(name, url, *v == Microversion::MAX)
                })
                .collect();
            Arc::new(
                Config::new(urls)
                    .try_it_out_enabled(true)
                    .persist_authorization(true)
                    .display_request_duration(true)
                    .validator_url("none"),
            )
        })
        .clone()
}

/// The answer to a GET or HEAD of a docs path.
pub fn serve(method: &str, path: &str) -> HttpResponse {
    if method != "GET" && method != "HEAD" {
        return HttpResponse::build(StatusCode::METHOD_NOT_ALLOWED).insert_header(("allow", "GET, HEAD")).finish();
    }
    if path == PREFIX {
        // Relative: right under whatever prefix the API is mounted at.
        return HttpResponse::MovedPermanently().insert_header(("location", "api-docs/")).finish();
    }
    let tail = &path[PREFIX.len() + 1..];
    if let Some(version) = tail.strip_suffix("/openapi.json").or_else(|| (tail == "openapi.json").then_some("latest")) {
        let found = match version {
            "latest" => rendered().last(),
            v => rendered().iter().find(|(known, _)| known.to_string() == v),
        };
        return match found {
            Some((_, text)) => HttpResponse::Ok().content_type("application/json").body(text.clone()),
            None => HttpResponse::NotFound().finish(),
        };
    }
    match utoipa_swagger_ui::serve(tail, config()) {
        Ok(Some(file)) => HttpResponse::Ok().content_type(file.content_type).body(file.bytes.into_owned()),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => {
            log::error!("swagger ui: {e}");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn body(r: HttpResponse) -> String {
        String::from_utf8(r.into_body().try_into_bytes().map(|b| b.to_vec()).unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn documents_by_version_and_latest() {
        let r = serve("GET", "/api-docs/1.28/openapi.json");
        assert_eq!(r.status(), StatusCode::OK);
        let doc: serde_json::Value = serde_json::from_str(&body(r)).unwrap();
        assert_eq!(doc["info"]["version"], "1.28");
        let latest: serde_json::Value = serde_json::from_str(&body(serve("GET", "/api-docs/openapi.json"))).unwrap();
        assert_eq!(latest["info"]["version"], Microversion::MAX.to_string());
        assert_eq!(serve("GET", "/api-docs/1.40/openapi.json").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn swagger_ui_lists_every_version_latest_first() {
        let page = serve("GET", "/api-docs/");
        assert_eq!(page.status(), StatusCode::OK);
        assert!(body(page).contains("swagger-ui"));
        let init = body(serve("GET", "/api-docs/swagger-initializer.js"));
        let first = init.find("\"1.39/openapi.json\"").unwrap();
        let last = init.find("\"1.0/openapi.json\"").unwrap();
        assert!(first < last, "{init}");
        assert_eq!(init.matches("/openapi.json\"").count(), 40, "{init}");
        assert_eq!(serve("GET", "/api-docs").status(), StatusCode::MOVED_PERMANENTLY);
    }
}
