//! HTTP errors in upstream's shapes. Every error a handler returns is an
//! [`ApiError`]; rendering follows webob: the body is JSON
//! (`{"errors": [...]}`), HTML or plain text as the `Accept` header prefers,
//! and the detail is webob's explanation followed by our message.

use actix_web::http::StatusCode;
use placement_model::error::ErrorCode;
use placement_model::{DomainError, Microversion};
use placement_storage::StorageError;
use serde_json::json;

use crate::accept;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub code: ErrorCode,
    pub headers: Vec<(&'static str, String)>,
    /// Raised past the handler wrapper upstream: no `vary` header.
    pub escaped: bool,
    /// Use webob's own JSON shape (`message`/`code`/`title`), as the
    /// authentication layer does.
    pub plain_webob: bool,
    /// A JSON body sent as it is, whatever `Accept` prefers, as
    /// keystonemiddleware sends its refusals.
    pub fixed_json: Option<String>,
    /// What went wrong inside, for the log line (with the request id) and
    /// never for the client: driver messages, SQL, panics.
    pub internal: Option<String>,
}

/// The status and the message a client would read (the internal cause is
/// left out, as it is from responses).
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code: ErrorCode::Default,
            headers: Vec::new(),
            escaped: false,
            plain_webob: false,
            fixed_json: None,
            internal: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    pub fn escaped(mut self) -> Self {
        self.escaped = true;
        self
    }

    /// A 500 whose cause is logged, not shown.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error occurred; the server log has the details under this request id.",
        );
        e.internal = Some(what.to_string());
        e
    }

    /// A 503: the service cannot answer now; the cause is logged.
    pub fn unavailable(message: impl Into<String>, what: impl std::fmt::Display) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, message);
        e.internal = Some(what.to_string());
        e
    }
}

/// Domain errors outside a handler's own mapping, with the status upstream
/// gives each: not-found is a 404 raised past the handler, conflicts with
/// the current state 409, requests that can never succeed 400. Every
/// variant is listed, so a new one must be placed here.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::ProviderNotFound(_)
            | DomainError::ResourceClassNotFound(_)
            | DomainError::TraitNotFound(_)
            | DomainError::InventoryNotFound(_) => StatusCode::NOT_FOUND,
            DomainError::ProviderConcurrentUpdate
            | DomainError::ConsumerConcurrentUpdate
            | DomainError::ConsumerGenerationConflict { .. }
            | DomainError::ProviderGenerationConflict { .. }
            | DomainError::ResourceClassExists(_)
            | DomainError::ResourceClassInUse(_)
            | DomainError::TraitInUse(_)
            | DomainError::InventoryInUse { .. }
            | DomainError::ProviderInUse
            | DomainError::CannotDeleteParent
            | DomainError::DuplicateProvider { .. }
            | DomainError::AllocationCapacityExceeded { .. } => StatusCode::CONFLICT,
            DomainError::ResourceClassCannotDeleteStandard(_)
            | DomainError::ResourceClassCannotUpdateStandard(_)
            | DomainError::TraitCannotDeleteStandard(_)
            | DomainError::InvalidTreeChange { .. }
            | DomainError::AllocationProviderNotFound(_)
            | DomainError::InvalidInventory { .. }
            | DomainError::AllocationConstraintsViolated { .. } => StatusCode::BAD_REQUEST,
        };
        let err = ApiError::new(status, e.to_string()).with_code(e.code());
        if status == StatusCode::NOT_FOUND { err.escaped() } else { err }
    }
}

/// Storage failures: domain outcomes as above; an unreachable, lost or
/// unwritable database is 503; anything else a 500. The driver's words
/// go to the log (where the error is rendered), never to the client.
impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Domain(d) => d.into(),
            StorageError::Contended(why) => {
                log::warn!("answering 409 to a write that kept losing races: {why}");
                ApiError::conflict("Another thread concurrently updated the data. Please retry your update")
                    .with_code(ErrorCode::ConcurrentUpdate)
            }
            e if e.is_unavailable() => {
                ApiError::unavailable("The database is unavailable; try again later.", format!("database: {e}"))
            }
            e if e.is_unstorable_text() => ApiError::bad_request("Text values may not contain NUL characters."),
            other => ApiError::internal(format!("database: {other}")),
        }
    }
}

/// What rendering needs to know of the request.
pub struct RenderContext<'a> {
    pub accept: &'a str,
    pub method: &'a str,
    pub content_type: &'a str,
    pub request_id: &'a str,
    pub version: Option<Microversion>,
    /// Version negotiation failed: say which versions exist.
    pub version_failed: bool,
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        // webob's wording, older than the RFC's.
        413 => "Request Entity Too Large",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

fn explanation(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        401 => {
            "This server could not verify that you are authorized to access the document you requested. \
             Either you supplied the wrong credentials (e.g., bad password), or your browser does not \
             understand how to supply the credentials required."
        }
        403 => "Access was denied to this resource.",
        404 => "The resource could not be found.",
        409 => "There was a conflict when trying to complete your request.",
        413 => "The body of your request was too large for this server.",
        500 => "The server has either erred or is incapable of performing the requested operation.",
        503 => "The server is currently unavailable. Please try again at a later time.",
        _ => "",
    }
}

/// webob's body template, before tags are stripped or escaped.
fn body_template(status: StatusCode, detail: &str, ctx: &RenderContext<'_>) -> String {
    match status.as_u16() {
        405 => format!("The method {} is not allowed for this resource. <br /><br />\n{detail}", ctx.method),
        406 => format!(
            "The resource could not be generated that was acceptable to your browser\n(content of type {}. \
             <br /><br />\n{detail}",
            ctx.accept
        ),
        415 => format!(
            "The request media type {} is not supported by this server.\n<br /><br />\n{detail}",
            ctx.content_type
        ),
        _ => format!("{}<br /><br />\n{detail}\n\n", explanation(status)),
    }
}

/// webob's `strip_tags`.
fn strip_tags(text: &str) -> String {
    let text = text.replace('\n', " ").replace('\r', "");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag.find('>') else {
            out.push_str(tag);
            rest = "";
            break;
        };
        if tag[1..end].trim_start().to_ascii_lowercase().starts_with("br") {
            out.push('\n');
        }
        rest = &tag[end + 1..];
    }
    out.push_str(rest);
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;")
}

/// A rendered error: status, content type and body.
pub struct RenderedError {
    pub content_type: &'static str,
    pub body: String,
}

impl ApiError {
    pub fn render(&self, ctx: &RenderContext<'_>) -> RenderedError {
        if let Some(body) = &self.fixed_json {
            return RenderedError { content_type: "application/json", body: body.clone() };
        }
        let status_line = format!("{} {}", self.status.as_u16(), title(self.status));
        let best = accept::acceptable(ctx.accept, &["text/html", "application/json"]);
        match best.first().copied() {
            Some("text/html") => {
                let body = body_template(self.status, &html_escape(&self.message), ctx);
                RenderedError {
                    content_type: "text/html; charset=UTF-8",
                    body: format!(
                        "<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n  <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
                    ),
                }
            }
            Some("application/json") => {
                let raw = body_template(self.status, &self.message, ctx);
                let body = if self.plain_webob {
                    json!({"message": raw, "code": status_line, "title": title(self.status)})
                } else {
                    let mut error = serde_json::Map::new();
                    error.insert("status".into(), json!(self.status.as_u16()));
                    error.insert("title".into(), json!(title(self.status)));
                    error.insert("detail".into(), json!(strip_tags(&raw)));
                    if ctx.version.is_some_and(|v| v.at_least(23)) {
                        error.insert("code".into(), json!(self.code.as_str()));
                    }
                    error.insert("request_id".into(), json!(ctx.request_id));
                    if self.status == StatusCode::NOT_ACCEPTABLE && ctx.version_failed {
                        error.insert("max_version".into(), json!(Microversion::MAX.to_string()));
                        error.insert("min_version".into(), json!(Microversion::MIN.to_string()));
                    }
                    json!({"errors": [error]})
                };
                RenderedError { content_type: "application/json", body: body.to_string() }
            }
            _ => {
                let raw = body_template(self.status, &self.message, ctx);
                RenderedError {
                    content_type: "text/plain; charset=UTF-8",
                    body: format!("{status_line}\n\n{}", strip_tags(&raw)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(version: Option<Microversion>) -> RenderContext<'static> {
        RenderContext {
            accept: "application/json",
            method: "DELETE",
            content_type: "None",
            request_id: "req-1",
            version,
            version_failed: false,
        }
    }

    #[test]
    fn an_api_error_is_a_std_error_that_keeps_its_internal_cause_to_itself() {
        let e: Box<dyn std::error::Error> = Box::new(ApiError::internal("SQL: secret"));
        assert_eq!(
            e.to_string(),
            "500 Internal Server Error: An unexpected error occurred; the server log has the details under \
             this request id."
        );
        assert_eq!(ApiError::not_found("No such thing").to_string(), "404 Not Found: No such thing");
    }

    #[test]
    fn json_detail_follows_webob_and_code_starts_at_1_23() {
        let e = ApiError::not_found("No resource provider with uuid x found");
        let body = e.render(&ctx(Some(Microversion::new(1, 23)))).body;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["errors"][0]["detail"],
            "The resource could not be found.\n\n No resource provider with uuid x found  "
        );
        assert_eq!(v["errors"][0]["code"], "placement.undefined_code");
        let body = e.render(&ctx(Some(Microversion::new(1, 22)))).body;
        assert!(!body.contains("\"code\""));
    }

    #[test]
    fn database_failures_never_show_driver_text() {
        let lost = StorageError::Unavailable("could not connect to server: secret-host:5432".into());
        let e = ApiError::from(lost);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        let body = e.render(&ctx(Some(Microversion::new(1, 39)))).body;
        assert!(!body.contains("secret-host"), "{body}");
        assert!(e.internal.as_deref().is_some_and(|i| i.contains("secret-host")));
        let sql = StorageError::Schema("SELECT secret FROM t".into());
        let e = ApiError::from(sql);
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.render(&ctx(None)).body.contains("SELECT"));
    }

    #[test]
    fn writes_that_kept_losing_races_are_conflicts_to_retry() {
        let e = ApiError::from(StorageError::Contended("Deadlock found when trying to get lock".into()));
        assert_eq!(e.status, StatusCode::CONFLICT);
        let v: serde_json::Value = serde_json::from_str(&e.render(&ctx(Some(Microversion::new(1, 39)))).body).unwrap();
        assert_eq!(v["errors"][0]["code"], "placement.concurrent_update");
        assert!(!v["errors"][0]["detail"].as_str().unwrap().contains("Deadlock"));
    }

    #[test]
    fn method_not_allowed_names_the_method() {
        let e = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "The method specified is not allowed for this resource.");
        let v: serde_json::Value = serde_json::from_str(&e.render(&ctx(None)).body).unwrap();
        assert_eq!(
            v["errors"][0]["detail"],
            "The method DELETE is not allowed for this resource. \n\n The method specified is not allowed for this resource."
        );
    }

    #[test]
    fn plain_text_and_html_follow_accept() {
        let e = ApiError::bad_request("X");
        let mut c = ctx(None);
        c.accept = "text/plain";
        let r = e.render(&c);
        assert_eq!(
            r.body,
            "400 Bad Request\n\nThe server could not comply with the request since it is either malformed or otherwise incorrect.\n\n X  "
        );
        c.accept = "text/html";
        assert!(e.render(&c).body.starts_with("<html>"));
    }
}
