//! `/healthcheck`, answered as oslo.middleware's healthcheck answers it
//! (the middleware OpenStack services put first in their pipelines), with
//! a database check of our own. It comes before authentication,
//! microversions and routing, so load balancers need no token.
//!
//! Healthy: 200 (`HEAD`: 204, no body); any check failing: 503. The body is
//! the checks' reasons as text (one per line), JSON or HTML, by `Accept`;
//! text when nothing acceptable is offered, as the middleware does.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;

use crate::state::AppState;

/// One health check the operator asked for (`[healthcheck] backends`).
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// Ours: a round trip to the database.
    Database,
    /// Unhealthy while `disable_by_file_path` exists.
    DisableByFile,
    /// Unhealthy while the file `disable_by_file_paths` names for the
    /// port the request came in on exists.
    DisableByFilesPorts,
}

impl Check {
    pub fn parse(name: &str) -> Option<Check> {
        match name {
            "database" => Some(Check::Database),
            "disable_by_file" => Some(Check::DisableByFile),
            "disable_by_files_ports" => Some(Check::DisableByFilesPorts),
            _ => None,
        }
    }

    fn class(&self) -> &'static str {
        match self {
            Check::Database => "DatabaseHealthcheck",
            Check::DisableByFile => "DisableByFileHealthcheck",
            Check::DisableByFilesPorts => "DisableByFilesPortsHealthcheck",
        }
    }
}

/// An IP network, `address/prefix` (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Network { address, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let mask = |bits: u32| if self.prefix == 0 { 0 } else { u128::MAX << (bits - u32::from(self.prefix)) };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask(32) as u32;
                u32::from(net) & m == u32::from(ip) & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask(128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

/// `[healthcheck]`.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthcheckSettings {
    pub path: String,
    pub detailed: bool,
    pub checks: Vec<Check>,
    pub disable_by_file_path: Option<PathBuf>,
    pub disable_by_file_paths: Vec<(u16, PathBuf)>,
    pub allowed_source_ranges: Vec<Network>,
    pub ignore_proxied_requests: bool,
}

impl Default for HealthcheckSettings {
    fn default() -> Self {
        HealthcheckSettings {
            path: "/healthcheck".into(),
            detailed: false,
            checks: vec![Check::Database],
            disable_by_file_path: None,
            disable_by_file_paths: Vec::new(),
            allowed_source_ranges: Vec::new(),
            ignore_proxied_requests: false,
        }
    }
}

/// What a request looks like to the health check.
pub struct Probe<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub accept: Option<&'a str>,
    pub peer: Option<IpAddr>,
    pub port: u16,
    pub proxied: bool,
}

impl HealthcheckSettings {
    /// Whether this request is the health check's to answer: its path, from
    /// an allowed source, not proxied when those are ignored. Any other
    /// request goes on to the API, as the middleware passes it on.
    pub fn takes(&self, probe: &Probe<'_>) -> bool {
        probe.path == self.path
            && (self.allowed_source_ranges.is_empty()
                || probe.peer.is_some_and(|ip| self.allowed_source_ranges.iter().any(|n| n.contains(ip))))
            && !(self.ignore_proxied_requests && probe.proxied)
    }
}

/// The middleware's proxy headers (`X-Forwarded*`), any of which marks a
/// request as proxied.
pub const PROXY_HEADERS: [&str; 5] =
    ["x-forwarded", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-for", "x-forwarded-prefix"];

struct Outcome {
    class: &'static str,
    available: bool,
    reason: String,
    details: String,
}

/// Longest wait for the database's answer: a health check must answer
/// while the pool is exhausted or the database hangs.
const DATABASE_WAIT: Duration = Duration::from_secs(5);

async fn run(check: &Check, settings: &HealthcheckSettings, state: &Arc<AppState>, port: u16) -> Outcome {
    let class = check.class();
    let file_check = |path: Option<&PathBuf>| match path {
        None => Outcome { class, available: true, reason: "OK".into(), details: "No file configured".into() },
        Some(p) if p.exists() => Outcome {
            class,
            available: false,
            reason: "DISABLED BY FILE".into(),
            details: format!("Path '{}' was found", p.display()),
        },
        Some(p) => Outcome {
            class,
            available: true,
            reason: "OK".into(),
            details: format!("Path '{}' was not found", p.display()),
        },
    };
    match check {
        Check::DisableByFile => file_check(settings.disable_by_file_path.as_ref()),
        Check::DisableByFilesPorts => {
            file_check(settings.disable_by_file_paths.iter().find(|(p, _)| *p == port).map(|(_, path)| path))
        }
        Check::Database => {
            let db = state.db.clone();
            let ping = actix_web::web::block(move || db.ping());
            match actix_web::rt::time::timeout(DATABASE_WAIT, ping).await {
                Ok(Ok(Ok(()))) => {
                    Outcome { class, available: true, reason: "OK".into(), details: "The database answered".into() }
                }
                Ok(Ok(Err(e))) => {
                    Outcome { class, available: false, reason: "DATABASE UNAVAILABLE".into(), details: e.to_string() }
                }
                Ok(Err(_)) | Err(_) => Outcome {
                    class,
                    available: false,
                    reason: "DATABASE UNAVAILABLE".into(),
                    details: format!("no answer within {} s", DATABASE_WAIT.as_secs()),
                },
            }
        }
    }
}

/// The media type the middleware picks: the best of text/plain, text/html
/// and application/json by webob's rules ([`crate::accept`]); text/plain
/// when none is acceptable or `Accept` is absent.
fn media_type(accept: Option<&str>) -> &'static str {
    const OFFERS: [&str; 3] = ["text/plain", "text/html", "application/json"];
    accept
        .filter(|a| !a.trim().is_empty())
        .and_then(|a| crate::accept::acceptable(a, &OFFERS).first().copied())
        .unwrap_or(OFFERS[0])
}

/// As markupsafe escapes for the middleware's template (error.rs's
/// `html_escape` writes webob's entities instead).
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&#34;").replace('\'', "&#39;")
}

fn now() -> String {
    chrono::Utc::now().naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

fn platform() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

fn html(outcomes: &[Outcome], detailed: bool) -> String {
    let mut body = String::from("<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n");
    if detailed {
        body.push_str(&format!(
            "<H1>Server status</H1>\n<B>Current time:</B><PRE>{}</PRE>\n<B>Version:</B><PRE>{}</PRE>\n\
             <B>Platform:</B><PRE>{}</PRE>\n<HR></HR>\n",
            now(),
            escape_html(env!("CARGO_PKG_VERSION")),
            escape_html(&platform())
        ));
    }
    body.push_str(&format!(
        "<H2>Result of {} checks:</H2>\n<TABLE bgcolor=\"#ffffff\" border=\"1\">\n<TBODY>\n<TR>\n",
        outcomes.len()
    ));
    body.push_str(if detailed {
        "<TH>\nKind\n</TH>\n<TH>\nReason\n</TH>\n<TH>\nDetails\n</TH>\n"
    } else {
        "<TH>\nReason\n</TH>\n"
    });
    body.push_str("</TR>\n");
    for o in outcomes.iter().filter(|o| !o.reason.is_empty()) {
        body.push_str("<TR>\n");
        if detailed {
            body.push_str(&format!("    <TD>{}</TD>\n", escape_html(o.class)));
        }
        body.push_str(&format!("    <TD>{}</TD>\n", escape_html(&o.reason)));
        if detailed {
            body.push_str(&format!("    <TD>{}</TD>\n", escape_html(&o.details)));
        }
        body.push_str("</TR>\n");
    }
    body.push_str("</TBODY>\n</TABLE>\n<HR></HR>\n</BODY>\n</HTML>");
    body
}

fn json_body(outcomes: &[Outcome], detailed: bool) -> String {
    use serde_json::Value;
    use std::collections::BTreeMap;
    // Python's json.dumps(sort_keys=True): keys sorted here, as serde_json's
    // maps may keep insertion order.
    let mut body: BTreeMap<&str, Value> = BTreeMap::new();
    body.insert("detailed", Value::Bool(detailed));
    let reasons: Vec<Value> = if detailed {
        body.insert("now", Value::String(now()));
        body.insert("platform", Value::String(platform()));
        body.insert("version", Value::String(env!("CARGO_PKG_VERSION").into()));
        outcomes
            .iter()
            .map(|o| {
                let fields: BTreeMap<&str, &str> =
                    [("class", o.class), ("details", o.details.as_str()), ("reason", o.reason.as_str())].into();
                json!(fields)
            })
            .collect()
    } else {
        outcomes.iter().map(|o| Value::String(o.reason.clone())).collect()
    };
    body.insert("reasons", Value::Array(reasons));
    // indent=4: serde_json's pretty printer indents by two unless told.
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&body, &mut ser).expect("a JSON value serializes");
    String::from_utf8(out).unwrap_or_default()
}

/// Answer the health check.
pub async fn answer(settings: &HealthcheckSettings, state: &Arc<AppState>, probe: &Probe<'_>) -> HttpResponse {
    let mut outcomes = Vec::with_capacity(settings.checks.len());
    for check in &settings.checks {
        outcomes.push(run(check, settings, state, probe.port).await);
    }
    let healthy = outcomes.iter().all(|o| o.available);
    let unhealthy = StatusCode::SERVICE_UNAVAILABLE;
    if probe.method == "HEAD" {
        let status = if healthy { StatusCode::NO_CONTENT } else { unhealthy };
        return HttpResponse::build(status).content_type("text/plain; charset=UTF-8").finish();
    }
    let status = if healthy { StatusCode::OK } else { unhealthy };
    let (body, content_type) = match media_type(probe.accept) {
        "application/json" => (json_body(&outcomes, settings.detailed), "application/json; charset=UTF-8"),
        "text/html" => (html(&outcomes, settings.detailed), "text/html; charset=UTF-8"),
        _ => {
            let reasons: Vec<&str> = outcomes.iter().map(|o| o.reason.as_str()).filter(|r| !r.is_empty()).collect();
            (reasons.join("\n"), "text/plain; charset=UTF-8")
        }
    };
    HttpResponse::build(status).content_type(content_type).body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_follows_quality_then_the_middlewares_order() {
        assert_eq!(media_type(None), "text/plain");
        assert_eq!(media_type(Some("application/json")), "application/json");
        assert_eq!(media_type(Some("*/*")), "text/plain");
        assert_eq!(media_type(Some("application/json, text/html")), "text/html");
        assert_eq!(media_type(Some("text/*;q=0.5, application/json")), "application/json");
        assert_eq!(media_type(Some("image/png")), "text/plain");
        assert_eq!(media_type(Some("text/plain;q=0, */*;q=0.1")), "text/html");
    }

    #[test]
    fn networks_match_by_prefix() {
        let net = Network::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        assert!(Network::parse("::1").unwrap().contains("::1".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains("192.168.1.1".parse().unwrap()));
        assert_eq!(Network::parse("10.0.0.0/33"), None);
        assert_eq!(Network::parse("ten"), None);
    }

    #[test]
    fn json_is_indented_by_four_with_sorted_keys() {
        let outcomes = [Outcome { class: "X", available: true, reason: "OK".into(), details: String::new() }];
        assert_eq!(
            json_body(&outcomes, false),
            "{\n    \"detailed\": false,\n    \"reasons\": [\n        \"OK\"\n    ]\n}"
        );
        let detailed = json_body(&outcomes, true);
        let keys: Vec<&str> = detailed.lines().filter(|l| l.starts_with("    \"")).map(|l| l.trim()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{detailed}");
        assert!(detailed.contains("\"class\": \"X\",\n            \"details\": \"\",\n            \"reason\": \"OK\""));
    }
}
