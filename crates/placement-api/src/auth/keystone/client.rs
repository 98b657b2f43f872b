//! Talking to Keystone: the service's own token (password authentication,
//! renewed before it expires) and the validation of user tokens with
//! `GET /v3/auth/tokens`. Neither token is ever logged.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::Settings;
use super::token::{self, CatalogEntry, TokenInfo};

/// Why Keystone could not answer.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("identity service unreachable: {0}")]
    Unreachable(String),
    #[error("identity service answered {0}")]
    Status(u16),
    #[error("identity service refused this service's credentials ({0})")]
    Credentials(u16),
    #[error("{0}")]
    Other(String),
}

/// Keystone's answer about one token.
pub enum Validation {
    Valid(TokenInfo),
    Invalid,
}

struct ServiceToken {
    token: String,
    expires_at: DateTime<Utc>,
    issued_at: DateTime<Utc>,
    /// Where tokens are validated: the catalog's identity endpoint, or
    /// `auth_url`.
    identity_url: String,
}

impl ServiceToken {
    /// Renewed two minutes before expiry (as keystoneauth), or halfway
    /// through a shorter life.
    fn fresh(&self) -> bool {
        let life = self.expires_at - self.issued_at;
        let margin = (life / 2).min(chrono::Duration::seconds(120));
        Utc::now() + margin < self.expires_at
    }
}

pub struct IdentityClient {
    http: reqwest::Client,
    settings: Settings,
    service: Mutex<Option<ServiceToken>>,
}

/// `.../v3`: keystoneauth discovers the version from the URL; here a URL
/// without a version is taken to be the unversioned root.
fn v3(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/v3") { url.to_string() } else { format!("{url}/v3") }
}

impl IdentityClient {
    pub fn new(settings: Settings) -> Result<Self, String> {
        // reqwest is built without a default provider (no aws-lc, no cmake).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(60));
        if let Some(path) = &settings.cafile {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read [keystone_authtoken] cafile {path}: {e}"))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("[keystone_authtoken] cafile {path}: {e}"))?;
            builder = builder.tls_certs_only(certs);
        }
        if let Some(cert) = &settings.certfile {
            let mut pem =
                std::fs::read(cert).map_err(|e| format!("cannot read [keystone_authtoken] certfile {cert}: {e}"))?;
            if let Some(key) = &settings.keyfile {
                pem.extend(
                    std::fs::read(key).map_err(|e| format!("cannot read [keystone_authtoken] keyfile {key}: {e}"))?,
                );
            }
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("[keystone_authtoken] certfile/keyfile {cert}: {e}"))?;
            builder = builder.identity(identity);
        }
        if settings.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|e| format!("identity client: {e}"))?;
        Ok(IdentityClient { http, settings, service: Mutex::new(None) })
    }

    /// Ask Keystone about `token`. A refused service token is renewed and
    /// the question asked once more.
    pub async fn validate(&self, token: &str, allow_expired: bool) -> Result<Validation, Unavailable> {
        let Ok(subject) = reqwest::header::HeaderValue::from_str(token) else {
            return Ok(Validation::Invalid);
        };
        for renewed in [false, true] {
            let (service, base) = self.service_token().await?;
            let mut url = format!("{base}/auth/tokens?nocatalog");
            if allow_expired {
                url.push_str("&allow_expired=1");
            }
            let response = self
                .send(|| {
                    self.http.get(&url).header("x-auth-token", &service).header("x-subject-token", subject.clone())
                })
                .await?;
            match response.status() {
                StatusCode::OK => {
                    let body = response.bytes().await.map_err(|e| Unavailable::Unreachable(e.to_string()))?;
                    let (info, _) = token::parse(&body).map_err(Unavailable::Other)?;
                    return Ok(Validation::Valid(info));
                }
                StatusCode::NOT_FOUND => return Ok(Validation::Invalid),
                StatusCode::UNAUTHORIZED if !renewed => {
                    log::info!("identity service refused this service's token; authenticating again");
                    *self.service.lock().await = None;
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(Unavailable::Credentials(response.status().as_u16()));
                }
                status => return Err(Unavailable::Status(status.as_u16())),
            }
        }
        Err(Unavailable::Other("identity service keeps refusing this service's token".into()))
    }

    /// Send, retrying `http_request_max_retries` times when Keystone cannot
    /// be reached (as keystoneauth's connect retries: 0.5 s, then doubling).
    async fn send(&self, request: impl Fn() -> reqwest::RequestBuilder) -> Result<reqwest::Response, Unavailable> {
        let mut attempt = 0;
        loop {
            match request().send().await {
                Err(e) if (e.is_connect() || e.is_timeout()) && attempt < self.settings.max_retries => {
                    tokio::time::sleep(Duration::from_millis(500 << attempt.min(6))).await;
                    attempt += 1;
                }
                outcome => return outcome.map_err(|e| Unavailable::Unreachable(without_url(&e))),
            }
        }
    }

    /// The service's token and the identity URL to validate against.
    async fn service_token(&self) -> Result<(String, String), Unavailable> {
        let mut guard = self.service.lock().await;
        if let Some(current) = guard.as_ref().filter(|t| t.fresh()) {
            return Ok((current.token.clone(), current.identity_url.clone()));
        }
        let fresh = self.authenticate().await?;
        let out = (fresh.token.clone(), fresh.identity_url.clone());
        *guard = Some(fresh);
        Ok(out)
    }

    async fn authenticate(&self) -> Result<ServiceToken, Unavailable> {
        let url = format!("{}/auth/tokens", v3(&self.settings.auth_url));
        let body = self.password_request();
        let body = body.to_string();
        let response =
            self.send(|| self.http.post(&url).header("content-type", "application/json").body(body.clone())).await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || status == StatusCode::BAD_REQUEST {
            log::error!("identity service refused [keystone_authtoken] credentials: {status}");
            return Err(Unavailable::Credentials(status.as_u16()));
        }
        if !status.is_success() {
            return Err(Unavailable::Status(status.as_u16()));
        }
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| Unavailable::Other("identity service sent no X-Subject-Token".into()))?;
        let body = response.bytes().await.map_err(|e| Unavailable::Unreachable(e.to_string()))?;
        let (info, catalog) = token::parse(&body).map_err(Unavailable::Other)?;
        let identity_url = self.identity_endpoint(&catalog).unwrap_or_else(|| v3(&self.settings.auth_url));
        log::info!("authenticated to the identity service; validating tokens at {identity_url}");
        Ok(ServiceToken { token, expires_at: info.expires_at, issued_at: Utc::now(), identity_url })
    }

    /// The catalog's identity endpoint for `interface` (and `region_name`).
    fn identity_endpoint(&self, catalog: &[CatalogEntry]) -> Option<String> {
        let interface = self.settings.interface.trim_end_matches("URL");
        catalog
            .iter()
            .filter(|e| e.kind == "identity")
            .flat_map(|e| &e.endpoints)
            .find(|e| {
                e.interface == interface
                    && self
                        .settings
                        .region_name
                        .as_ref()
                        .is_none_or(|r| e.region_id.as_ref() == Some(r) || e.region.as_ref() == Some(r))
            })
            .map(|e| v3(&e.url))
    }

    fn password_request(&self) -> Value {
        let s = &self.settings;
        let domain = |id: &Option<String>, name: &Option<String>| match (id, name) {
            (Some(id), _) => Some(json!({"id": id})),
            (None, Some(name)) => Some(json!({"name": name})),
            (None, None) => None,
        };
        let mut user = json!({"password": s.password});
        match (&s.user_id, &s.username) {
            (Some(id), _) => user["id"] = json!(id),
            (None, name) => user["name"] = json!(name),
        }
        if let Some(d) = domain(&s.user_domain_id, &s.user_domain_name) {
            user["domain"] = d;
        }
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": user}}});
        let scope = if s.system_scope.is_some() {
            Some(json!({"system": {"all": true}}))
        } else if let Some(id) = &s.project_id {
            Some(json!({"project": {"id": id}}))
        } else if let Some(name) = &s.project_name {
            let mut project = json!({"name": name});
            if let Some(d) = domain(&s.project_domain_id, &s.project_domain_name) {
                project["domain"] = d;
            }
            Some(json!({"project": project}))
        } else {
            domain(&s.domain_id, &s.domain_name).map(|d| json!({"domain": d}))
        };
        if let Some(scope) = scope {
            auth["scope"] = scope;
        }
        json!({"auth": auth})
    }
}

/// reqwest's error text names the URL; ours never carries a secret, but
/// keep log lines short and stable.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" ({url})"), "").replace(url.as_str(), "keystone");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_urls() {
        assert_eq!(v3("http://k:5000"), "http://k:5000/v3");
        assert_eq!(v3("http://k/identity/"), "http://k/identity/v3");
        assert_eq!(v3("http://k:5000/v3/"), "http://k:5000/v3");
    }
}
