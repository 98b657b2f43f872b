//! The request pipeline, in upstream's middleware order: request id and
//! logging, CORS, authentication, microversion negotiation, the body
//! content check, routing, then (see [`crate::intake`]) the body, a
//! handler slot, and the handler on the blocking pool.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::percent_decode_str;
use placement_model::Microversion;
use placement_model::microversion::VersionError;
use placement_policy::Credentials;

use crate::context::{Ctx, Reply};
use crate::error::{ApiError, RenderContext};
use crate::logsafe::logsafe;
use crate::routes;
use crate::state::AppState;

/// Everything about the request the pipeline and renderer need.
struct Incoming {
    request_id: String,
    method: String,
    /// Decoded; escape it before logging (see [`crate::logsafe`]).
    path: String,
    accept: String,
    content_type: Option<String>,
    headers: HeaderMap,
    base_url: String,
    /// The path links begin with (see [`Ctx::prefix`]).
    prefix: String,
    /// `user project` once authenticated, for the access log.
    who: std::cell::OnceCell<String>,
    /// The route template that matched, for metrics.
    route: std::cell::OnceCell<&'static str>,
    /// The `placement.*` code of the error answered, for metrics.
    error_code: std::cell::OnceCell<&'static str>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The single actix service: every request comes through here.
pub async fn dispatch(req: HttpRequest, payload: web::Payload, state: web::Data<Arc<AppState>>) -> HttpResponse {
    let started = std::time::Instant::now();
    let state = state.get_ref().clone();
    let accept = match req.headers().get("accept").and_then(|v| v.to_str().ok()) {
        None | Some("") | Some("*/*") => "application/json".to_string(),
        Some(a) => a.to_string(),
    };
    // Mounted under a scope (see `configure`), the API's paths are what
    // follows the scope's prefix, and its links begin with that prefix.
    let (mount, path) = mounted_at(&req);
    let prefix = crate::location::forwarded_prefix(&req, state.proxy_headers) + mount;
    let mut incoming = Incoming {
        request_id: format!("req-{}", uuid::Uuid::new_v4()),
        method: req.method().as_str().to_string(),
        path: percent_decode_str(path).decode_utf8_lossy().into_owned(),
        accept,
        content_type: req.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string),
        headers: req.headers().clone(),
        base_url: crate::location::origin(&req, state.proxy_headers) + prefix.as_str(),
        prefix,
        who: std::cell::OnceCell::new(),
        route: std::cell::OnceCell::new(),
        error_code: std::cell::OnceCell::new(),
    };
    // Under keystone, identity headers a client sent are gone before any
    // token is read or any later stage runs, as auth_token removes them.
    if matches!(state.auth, crate::auth::AuthStrategy::Keystone(_)) {
        crate::auth::strip_identity_headers(&mut incoming.headers);
    }
    let global_id = incoming.header("x-openstack-request-id").filter(|id| is_request_id(id)).map(str::to_string);

    let local_port = req.app_config().local_addr().port();
    let on_metrics_port = state.metrics_port == Some(local_port);
    // Only a request for the health check's path is looked at closely; a
    // metrics port of its own answers nothing but the metrics.
    let health = state.healthcheck.as_ref().filter(|h| h.path == incoming.path && !on_metrics_port).and_then(|h| {
        let probe = crate::healthcheck::Probe {
            method: &incoming.method,
            path: &incoming.path,
            accept: req.headers().get("accept").and_then(|v| v.to_str().ok()),
            peer: req.peer_addr().map(|a| a.ip()),
            port: local_port,
            proxied: crate::healthcheck::PROXY_HEADERS
                .iter()
                .any(|name| incoming.header(name).is_some_and(|v| !v.is_empty())),
        };
        h.takes(&probe).then_some((h, probe))
    });
    let metrics_asked = state.metrics.is_some()
        && incoming.path == crate::metrics::PATH
        && (state.metrics_port.is_none() || on_metrics_port);
    let (mut response, version) = match (health, &state.cors) {
        (Some((health, probe)), _) => {
            let _ = incoming.route.set("/healthcheck");
            (crate::healthcheck::answer(health, &state, &probe).await, None)
        }
        _ if metrics_asked => {
            let _ = incoming.route.set(crate::metrics::PATH);
            (metrics_page(&state, &incoming.method), None)
        }
        _ if on_metrics_port => (HttpResponse::NotFound().finish(), None),
        (None, Some(_)) if incoming.method == "OPTIONS" => (HttpResponse::Ok().finish(), None),
        _ if state.api_docs && crate::docs::is_docs_path(&incoming.path) => {
            (crate::docs::serve(&incoming.method, &incoming.path), None)
        }
        _ => handle(&state, &incoming, req.query_string(), payload).await,
    };
    if let Some(cors) = &state.cors {
        if incoming.method == "OPTIONS" {
            for (k, v) in crate::cors::preflight(cors, &incoming.headers) {
                set_header(response.headers_mut(), &k, &v);
            }
        } else {
            crate::cors::decorate(cors, &incoming.headers, response.headers_mut());
        }
    }
    set_header(response.headers_mut(), "x-openstack-request-id", &incoming.request_id);
    set_header(response.headers_mut(), "openstack-request-id", &incoming.request_id);
    if let Some(metrics) = &state.metrics {
        let route = incoming.route.get().copied().unwrap_or(crate::metrics::UNMATCHED);
        let status = response.status().as_u16();
        metrics.observe(
            route,
            &incoming.method,
            status,
            started.elapsed().as_secs_f64(),
            incoming.error_code.get().copied(),
        );
    }
    let bytes = match actix_web::body::MessageBody::size(response.body()) {
        actix_web::body::BodySize::Sized(n) => n.to_string(),
        _ => "-".to_string(),
    };
    log::info!(
        "[{} {}{}] {} \"{} {}{}\" status: {} len: {bytes} time: {:.1} ms microversion: {}",
        incoming.request_id,
        incoming.who.get().map_or("- -", String::as_str),
        global_id.map(|g| format!(" global {g}")).unwrap_or_default(),
        req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "-".into()),
        logsafe(&incoming.method),
        logsafe(req.path()),
        if req.query_string().is_empty() { String::new() } else { format!("?{}", logsafe(req.query_string())) },
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
        version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
    );
    response
}

/// The prefix of the scope the API is mounted under ("" at the root) and
/// the request's path below it ("/" for the prefix itself).
fn mounted_at(req: &HttpRequest) -> (&str, &str) {
    let full = req.path();
    let rest = req.match_info().unprocessed();
    match full.strip_suffix(rest) {
        Some(mount) if !mount.is_empty() => (mount, if rest.is_empty() { "/" } else { rest }),
        _ => ("", full),
    }
}

/// The metrics in Prometheus's text format, to GET (or HEAD) without
/// authentication, as a scraper asks.
fn metrics_page(state: &AppState, method: &str) -> HttpResponse {
    let Some(metrics) = &state.metrics else {
        return HttpResponse::NotFound().finish();
    };
    if method != "GET" && method != "HEAD" {
        return HttpResponse::MethodNotAllowed().insert_header(("allow", "GET, HEAD")).finish();
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(metrics.render(&state.db, state.intake.waiting()))
}

/// `req-` followed by a UUID, the only inbound request id accepted.
fn is_request_id(id: &str) -> bool {
    id.strip_prefix("req-").is_some_and(|u| uuid::Uuid::parse_str(u).is_ok())
}

fn set_header(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
        headers.insert(n, v);
    }
}

fn render_context(incoming: &Incoming, version: Option<Microversion>, version_failed: bool) -> RenderContext<'_> {
    RenderContext {
        accept: &incoming.accept,
        method: &incoming.method,
        content_type: incoming.content_type.as_deref().filter(|c| !c.is_empty()).unwrap_or("None"),
        request_id: &incoming.request_id,
        version,
        version_failed,
    }
}

fn render(err: &ApiError, incoming: &Incoming, version: Option<Microversion>, version_failed: bool) -> HttpResponse {
    let _ = incoming.error_code.set(err.code.as_str());
    let rendered = err.render(&render_context(incoming, version, version_failed));
    let mut builder = HttpResponse::build(err.status);
    builder.content_type(rendered.content_type);
    for (k, v) in &err.headers {
        builder.insert_header((*k, v.as_str()));
    }
    if let Some(v) = version {
        builder.insert_header(("openstack-api-version", format!("placement {v}")));
        if !err.escaped {
            builder.insert_header(("vary", "openstack-api-version"));
        }
    }
    builder.body(rendered.body)
}

async fn handle(
    state: &Arc<AppState>,
    incoming: &Incoming,
    query: &str,
    payload: web::Payload,
) -> (HttpResponse, Option<Microversion>) {
    let creds = if incoming.path == "/" {
        Credentials::default()
    } else {
        match crate::auth::authenticate(&state.auth, &incoming.headers).await {
            Ok(c) => c,
            Err(e) => return (render(&e, incoming, None, false), None),
        }
    };
    if !creds.user_id.is_empty() {
        let project = creds.project_id.as_deref().unwrap_or("-");
        let _ = incoming.who.set(format!("{} {}", logsafe(&creds.user_id), logsafe(project)));
    }
    let requested = incoming.header("openstack-api-version").and_then(Microversion::from_header);
    let version = match Microversion::negotiate(requested) {
        Ok(v) => v,
        Err(VersionError::Malformed(msg)) => {
            let e = ApiError::bad_request(format!("Invalid microversion: {msg}"));
            return (render(&e, incoming, None, true), None);
        }
        Err(VersionError::Unacceptable(text)) => {
            let e = ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                format!("Invalid microversion: Unacceptable version header: {text}"),
            );
            return (render(&e, incoming, None, true), None);
        }
    };
    let respond = |result: Result<Reply, ApiError>| match result {
        Ok(reply) => (build(reply, version, &incoming.base_url), Some(version)),
        Err(e) => {
            log_failure(incoming, &e);
            (render(&e, incoming, Some(version), false), Some(version))
        }
    };
    if let Err(e) = check_content(incoming) {
        return respond(Err(e.escaped()));
    }
    // No resource is named with a NUL (PostgreSQL cannot even store one).
    let found = if incoming.path.contains('\0') { None } else { routes::find(&incoming.path) };
    let Some((route, params)) = found else {
        return respond(Err(ApiError::not_found("").escaped()));
    };
    let _ = incoming.route.set(route.pattern);
    let for_method: Vec<&routes::Endpoint> = route.endpoints.iter().filter(|e| e.method == incoming.method).collect();
    if for_method.is_empty() && incoming.method == "HEAD" {
        // Upstream (webob) answers a HEAD no handler takes with its HTML
        // error page, body dropped, allowing every method of the route.
        let response = HttpResponse::build(StatusCode::METHOD_NOT_ALLOWED)
            .insert_header(("allow", route.allow()))
            .insert_header(("openstack-api-version", format!("placement {version}")))
            .insert_header(("vary", "openstack-api-version"))
            .content_type("text/html; charset=UTF-8")
            .finish();
        return (response, Some(version));
    }
    if for_method.is_empty() {
        // The methods served at the request's version, as the version's
        // OpenAPI document lists them; upstream lists every method of the
        // route (docs/deviations.md).
        let mut e =
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "The method specified is not allowed for this resource.");
        e.headers.push(("allow", route.allow_at(version.minor)));
        return respond(Err(e));
    }
    let Some(endpoint) = for_method.iter().find(|e| e.min <= version.minor && version.minor <= e.max) else {
        // Of upstream's version-gated GET handlers, only the aggregates one
        // checks Accept before its version.
        if incoming.method == "GET"
            && route.pattern == "/resource_providers/{uuid}/aggregates"
            && crate::accept::acceptable(&incoming.accept, &["application/json"]).is_empty()
        {
            return respond(Err(ApiError::new(StatusCode::NOT_ACCEPTABLE, "Only application/json is provided")));
        }
        let status = StatusCode::from_u16(for_method[0].outside).unwrap_or(StatusCode::NOT_FOUND);
        let mut e = ApiError::new(status, "");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            // HTTP wants the methods that are allowed (upstream sends none).
            e.headers.push(("allow", route.allow_at(version.minor)));
        }
        return respond(Err(e));
    };
    let (query, query_ok) = match parse_query(query) {
        Ok(parsed) => parsed,
        Err(e) => return respond(Err(e)),
    };
    // Only methods that carry a body have it read; it is never read
    // before the request is authenticated and routed.
    let (body, _reservation) = if matches!(incoming.method.as_str(), "PUT" | "POST" | "PATCH") {
        match state.intake.read_body(&incoming.headers, payload).await {
            Ok((body, reservation)) => (body, Some(reservation)),
            Err(e) => return respond(Err(e)),
        }
    } else {
        (web::Bytes::new(), None)
    };
    if !body.is_empty() && incoming.content_type.as_deref().is_none_or(str::is_empty) {
        return respond(Err(ApiError::bad_request("content-type header required when content-length > 0").escaped()));
    }
    let _slot = match state.intake.slot().await {
        Ok(slot) => slot,
        Err(e) => return respond(Err(e)),
    };
    let ctx = Ctx {
        state: state.clone(),
        version,
        creds,
        request_id: incoming.request_id.clone(),
        params,
        query,
        query_ok,
        body,
        content_type: incoming.content_type.clone(),
        accept: incoming.accept.clone(),
        prefix: incoming.prefix.clone(),
    };
    let handler = endpoint.handler;
    let result = if endpoint.costly {
        let state = ctx.state.clone();
        state.costly.run(move || handler(&ctx)).await.unwrap_or_else(|_| Err(ApiError::internal("handler failed")))
    } else {
        let release = ctx.state.release_at_thread_exit;
        match web::block(move || {
            if let Some(release) = release {
                crate::thread_exit::call_at_exit(release);
            }
            handler(&ctx)
        })
        .await
        {
            Ok(result) => result,
            Err(e) => Err(ApiError::internal(format!("handler failed: {e}"))),
        }
    };
    if state.validate_responses {
        check_against_document(incoming, version, route.pattern, &result);
    }
    respond(result)
}

/// With `[api] validate_responses`: log (as an error) a response that its
/// version's OpenAPI document does not describe.
fn check_against_document(incoming: &Incoming, version: Microversion, pattern: &str, result: &Result<Reply, ApiError>) {
    let (status, body) = match result {
        Ok(reply) => (reply.status, reply.body.as_deref().map(|b| String::from_utf8_lossy(b).into_owned())),
        Err(e) => {
            // The document describes the JSON form.
            let ctx = RenderContext { accept: "application/json", ..render_context(incoming, Some(version), false) };
            (e.status.as_u16(), Some(e.render(&ctx).body))
        }
    };
    match crate::openapi::check::response(version, &incoming.method, pattern, status, body.as_deref()) {
        Ok(()) => log::debug!("[{}] response {status} as the {version} document says", incoming.request_id),
        Err(violation) => {
            log::error!("[{}] RESPONSE NOT AS DOCUMENTED: {}", incoming.request_id, logsafe(&violation))
        }
    }
}

/// One log line for a failed request whose cause the client is not told
/// (server errors), with the request id; nothing for ordinary 4xx.
fn log_failure(incoming: &Incoming, e: &ApiError) {
    if !e.status.is_server_error() {
        return;
    }
    log::error!(
        "[{}] {} {}: {} {}",
        incoming.request_id,
        logsafe(&incoming.method),
        logsafe(&incoming.path),
        e.status.as_u16(),
        logsafe(e.internal.as_deref().unwrap_or(&e.message)),
    );
}

/// A body needs a content type (webob's rule, checked before routing on
/// the declared length; a chunked body is checked once read).
fn check_content(incoming: &Incoming) -> Result<(), ApiError> {
    let Some(declared) = incoming.header("content-length") else {
        return Ok(());
    };
    let declared = declared
        .trim()
        .parse::<u64>()
        .map_err(|_| ApiError::bad_request("content-length header must be an integer"))?;
    if declared > 0 && incoming.content_type.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("content-type header required when content-length > 0"));
    }
    Ok(())
}

/// Most query parameters one request may carry. Nova's largest requests
/// use a few dozen; a repeated `required` or `member_of` per group at
/// 1.39 stays far below this.
pub const MAX_QUERY_PARAMS: usize = 1000;

type Query = (Vec<(String, String)>, bool);

/// Split a query string like Python's `parse_qsl(keep_blank_values=True)`,
/// refusing more than [`MAX_QUERY_PARAMS`] parameters.
fn parse_query(query: &str) -> Result<Query, ApiError> {
    let count = query.split('&').filter(|p| !p.is_empty()).count();
    if count > MAX_QUERY_PARAMS {
        return Err(ApiError::bad_request(format!(
            "Invalid query string parameters: {count} parameters given, at most {MAX_QUERY_PARAMS} are accepted."
        ))
        .with_code(placement_model::error::ErrorCode::QueryBadValue));
    }
    let mut ok = true;
    let mut decode = |s: &str| {
        let plus = s.replace('+', " ");
        match percent_decode_str(&plus).decode_utf8() {
            Ok(v) => v.into_owned(),
            Err(_) => {
                ok = false;
                String::new()
            }
        }
    };
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect();
    Ok((pairs, ok))
}

fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn build(reply: Reply, version: Microversion, base_url: &str) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    if let Some(location) = &reply.location {
        builder.insert_header(("location", format!("{base_url}{location}")));
    }
    if let Some(t) = reply.last_modified {
        builder.insert_header(("last-modified", http_date(t)));
    }
    if reply.cache_control {
        builder.insert_header(("cache-control", "no-cache"));
    }
    builder.insert_header(("openstack-api-version", format!("placement {version}")));
    builder.insert_header(("vary", "openstack-api-version"));
    match reply.body {
        Some(body) => builder.content_type("application/json").body(body),
        None => builder.finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_like_python() {
        let (q, ok) = parse_query("name=%e2%98%83&member_of=a&member_of=b&x&y=1+2").unwrap();
        assert!(ok);
        assert_eq!(q[0], ("name".into(), "☃".into()));
        assert_eq!(q[2], ("member_of".into(), "b".into()));
        assert_eq!(q[3], ("x".into(), String::new()));
        assert_eq!(q[4], ("y".into(), "1 2".into()));
        assert!(!parse_query("name=%ff").unwrap().1);
    }

    proptest::proptest! {
        #[test]
        fn any_query_string_parses_or_is_refused(text in "[a-z0-9=&%+_:!,.\\-]{0,300}|.{0,100}") {
            if let Ok((pairs, _)) = parse_query(&text) {
                proptest::prop_assert!(pairs.len() <= MAX_QUERY_PARAMS);
            }
        }
    }

    #[test]
    fn too_many_query_parameters_are_refused() {
        let many = vec!["required=A"; MAX_QUERY_PARAMS + 1].join("&");
        let e = parse_query(&many).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(parse_query(&many[..many.len() - "&required=A".len()]).is_ok());
    }

    #[test]
    fn only_well_formed_request_ids_are_trusted() {
        assert!(is_request_id("req-8b5a1bd6-6a69-4ac6-9a8e-1f0f2bdc7c8e"));
        assert!(!is_request_id("8b5a1bd6-6a69-4ac6-9a8e-1f0f2bdc7c8e"));
        assert!(!is_request_id("req-<script>"));
    }
}
