//! A minimal HTTP client for the Placement API (admin, latest version).

use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Clone)]
pub struct Api {
    base: String,
    agent: ureq::Agent,
    /// `X-Auth-Token`: `admin` (noauth2), or a Keystone token.
    token: String,
}

pub struct Answer {
    pub status: u16,
    pub body: String,
    pub took: Duration,
}

impl Api {
    pub fn new(base: &str) -> Api {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Api { base: base.trim_end_matches('/').to_string(), agent, token: "admin".into() }
    }

    pub fn with_token(mut self, token: &str) -> Api {
        self.token = token.to_string();
        self
    }

    pub fn call(&self, method: &str, path: &str, version: &str, body: Option<&Value>) -> Result<Answer, String> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("x-auth-token", self.token.as_str())
            .header("accept", "application/json")
            .header("openstack-api-version", format!("placement {version}"))
            .header("content-type", "application/json")
            .body(body.map(Value::to_string).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        let mut response = self.agent.run(request).map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status().as_u16();
        let body =
            response.body_mut().with_config().limit(256 * 1024 * 1024).read_to_string().map_err(|e| e.to_string())?;
        Ok(Answer { status, body, took: start.elapsed() })
    }

    /// A call that must answer `status`.
    pub fn expect(&self, method: &str, path: &str, body: Option<&Value>, status: u16) -> Result<Answer, String> {
        let answer = self.call(method, path, "1.39", body)?;
        if answer.status != status {
            return Err(format!("{method} {path}: expected {status}, got {}: {}", answer.status, answer.body));
        }
        Ok(answer)
    }
}
