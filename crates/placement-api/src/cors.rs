//! CORS as oslo.middleware applies it: preflight answers for OPTIONS and
//! allow-origin headers on actual requests from permitted origins.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::state::CorsSettings;

const SIMPLE_HEADERS: [&str; 8] = [
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Cache-Control",
    "Content-Language",
    "Expires",
    "Last-Modified",
    "Pragma",
];

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn origin_allowed<'a>(settings: &CorsSettings, origin: &'a str) -> Option<&'a str> {
    if settings.allowed_origin.iter().any(|o| o == origin) {
        Some(origin)
    } else if settings.allowed_origin.iter().any(|o| o == "*") {
        Some("*")
    } else {
        None
    }
}

/// Headers for a preflight (OPTIONS) request; empty when it is not a valid
/// CORS preflight from an allowed origin.
pub fn preflight(settings: &CorsSettings, request: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(origin) = header(request, "origin").and_then(|o| origin_allowed(settings, o)) else {
        return out;
    };
    let Some(method) = header(request, "access-control-request-method") else {
        return out;
    };
    let requested: Vec<&str> = header(request, "access-control-request-headers")
        .map(|h| h.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if !settings.allow_methods.iter().any(|m| m == method) {
        return out;
    }
    let permitted: Vec<String> =
        settings.allow_headers.iter().map(String::as_str).chain(SIMPLE_HEADERS).map(str::to_ascii_uppercase).collect();
    if requested.iter().any(|h| !permitted.contains(&h.to_ascii_uppercase())) {
        return out;
    }
    out.push(("Vary".into(), "Origin".into()));
    out.push(("Access-Control-Allow-Origin".into(), origin.to_string()));
    if settings.allow_credentials {
        out.push(("Access-Control-Allow-Credentials".into(), "true".into()));
    }
    if let Some(age) = settings.max_age.filter(|a| *a > 0) {
        out.push(("Access-Control-Max-Age".into(), age.to_string()));
    }
    out.push(("Access-Control-Allow-Methods".into(), method.to_string()));
    if !requested.is_empty() {
        out.push(("Access-Control-Allow-Headers".into(), requested.join(",")));
    }
    out
}

/// Add CORS headers to the response of an actual request.
pub fn decorate(settings: &CorsSettings, request: &HeaderMap, response: &mut HeaderMap) {
    let Some(origin) = header(request, "origin").and_then(|o| origin_allowed(settings, o)) else {
        return;
    };
    let vary = match response.get("vary").and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing},Origin"),
        None => "Origin".to_string(),
    };
    insert(response, "vary", &vary);
    insert(response, "access-control-allow-origin", origin);
    if settings.allow_credentials {
        insert(response, "access-control-allow-credentials", "true");
    }
    if !settings.expose_headers.is_empty() {
        insert(response, "access-control-expose-headers", &settings.expose_headers.join(","));
    }
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
        headers.insert(n, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> CorsSettings {
        CorsSettings {
            allowed_origin: vec!["http://valid.example.com".into()],
            allow_credentials: true,
            expose_headers: vec![],
            max_age: Some(3600),
            allow_methods: vec!["GET".into(), "OPTIONS".into()],
            allow_headers: vec!["openstack-api-version".into()],
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn preflight_from_a_valid_origin_is_allowed() {
        let out = preflight(
            &settings(),
            &headers(&[
                ("origin", "http://valid.example.com"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "openstack-api-version"),
            ]),
        );
        assert!(out.contains(&("Access-Control-Allow-Origin".into(), "http://valid.example.com".into())));
        assert!(out.contains(&("Access-Control-Allow-Headers".into(), "openstack-api-version".into())));
    }

    #[test]
    fn invalid_origins_and_headers_get_nothing() {
        let bad_origin = headers(&[("origin", "http://invalid.example.com"), ("access-control-request-method", "GET")]);
        assert!(preflight(&settings(), &bad_origin).is_empty());
        let bad_header = headers(&[
            ("origin", "http://valid.example.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-secret"),
        ]);
        assert!(preflight(&settings(), &bad_header).is_empty());
    }
}
