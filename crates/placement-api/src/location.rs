//! The scheme and host that absolute `Location` headers start with, as
//! webob makes a relative location absolute: from the `Host` header (else
//! the address the server listens on), with the scheme's default port
//! dropped. Proxy headers (`Forwarded`, `X-Forwarded-Proto`,
//! `X-Forwarded-Host`, `X-Forwarded-Prefix`) count only with
//! `[oslo_middleware] enable_proxy_headers_parsing`, as oslo.middleware's
//! HTTPProxyToWSGI reads them: a client must not choose where others'
//! clients are sent.

use actix_web::HttpRequest;

/// `scheme://host[:port][prefix]` for this request.
pub fn base_url(req: &HttpRequest, proxy_headers: bool) -> String {
    origin(req, proxy_headers) + forwarded_prefix(req, proxy_headers).as_str()
}

/// `scheme://host[:port]` for this request.
pub fn origin(req: &HttpRequest, proxy_headers: bool) -> String {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let mut scheme = "http".to_string();
    let mut host = header("host").filter(|h| !h.is_empty()).map(str::to_string);
    if proxy_headers {
        match header("forwarded") {
            Some(forwarded) => {
                // Only the first element, as oslo.middleware reads it.
                let first = forwarded.split(',').next().unwrap_or("");
                for pair in first.split(';') {
                    if let Some((k, v)) = pair.split_once('=') {
                        match k.trim().to_ascii_lowercase().as_str() {
                            "proto" => scheme = v.trim().to_string(),
                            "host" => host = Some(v.trim().to_string()),
                            _ => {}
                        }
                    }
                }
            }
            None => {
                if let Some(p) = header("x-forwarded-proto") {
                    scheme = p.to_string();
                }
                if let Some(h) = header("x-forwarded-host") {
                    host = Some(h.to_string());
                }
            }
        }
    }
    let host = host.unwrap_or_else(|| req.app_config().host().to_string());
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
        _ => host,
    };
    format!("{scheme}://{host}")
}

/// The path prefix a proxy says the service is reached under
/// (`X-Forwarded-Prefix`), when proxy headers are honoured.
pub fn forwarded_prefix(req: &HttpRequest, proxy_headers: bool) -> String {
    if !proxy_headers {
        return String::new();
    }
    let header = req.headers().get("x-forwarded-prefix").and_then(|v| v.to_str().ok()).map(str::trim);
    header.unwrap_or("").trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn host_header_and_default_ports() {
        let req = TestRequest::default().insert_header(("host", "example.com:8778")).to_http_request();
        assert_eq!(base_url(&req, false), "http://example.com:8778");
        let req = TestRequest::default().insert_header(("host", "example.com:80")).to_http_request();
        assert_eq!(base_url(&req, false), "http://example.com");
    }

    #[test]
    fn proxy_headers_count_only_when_enabled() {
        let req = TestRequest::default()
            .insert_header(("host", "placement:8778"))
            .insert_header(("x-forwarded-host", "evil.example"))
            .insert_header(("x-forwarded-proto", "https"))
            .insert_header(("x-forwarded-prefix", "/placement"))
            .to_http_request();
        assert_eq!(base_url(&req, false), "http://placement:8778");
        assert_eq!(base_url(&req, true), "https://evil.example/placement");
        let req = TestRequest::default()
            .insert_header(("host", "placement:8778"))
            .insert_header(("forwarded", "proto=https;host=api.example:443, proto=http"))
            .insert_header(("x-forwarded-host", "ignored"))
            .to_http_request();
        assert_eq!(base_url(&req, true), "https://api.example");
    }
}
