//! `auth_strategy = keystone`: what keystonemiddleware's auth_token does
//! in front of upstream Placement. The user token (`X-Auth-Token`) and an
//! optional service token (`X-Service-Token`) are validated with Keystone
//! (remembered for `token_cache_time`); the request's credentials come
//! from the token data only.

mod cache;
mod client;
mod token;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use placement_policy::Credentials;
use serde_json::json;

use crate::error::ApiError;
use cache::TokenCache;
use client::{IdentityClient, Unavailable, Validation};
pub use token::TokenInfo;

/// `[keystone_authtoken]`, as this service uses it.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Sent to clients in `WWW-Authenticate`.
    pub www_authenticate_uri: Option<String>,
    pub auth_url: String,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub password: String,
    pub user_domain_id: Option<String>,
    pub user_domain_name: Option<String>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub project_domain_id: Option<String>,
    pub project_domain_name: Option<String>,
    pub domain_id: Option<String>,
    pub domain_name: Option<String>,
    pub system_scope: Option<String>,
    pub region_name: Option<String>,
    pub interface: String,
    pub cafile: Option<String>,
    pub certfile: Option<String>,
    pub keyfile: Option<String>,
    pub insecure: bool,
    pub connect_timeout: Duration,
    /// Longest wait for one answer from Keystone.
    pub request_timeout: Duration,
    pub max_retries: u32,
    /// `None`: no cache (`token_cache_time = -1`).
    pub token_cache_time: Option<Duration>,
    pub service_token_roles: Vec<String>,
    pub service_token_roles_required: bool,
}

/// Tokens remembered at most (each entry is a hash and the token's
/// identity, a few hundred bytes).
const CACHE_ENTRIES: usize = 50_000;
const CACHE_BYTES: usize = 64 * 1024 * 1024;
/// Longer than any token Keystone issues (fernet tokens are under 300
/// bytes, the retired PKI tokens a few KiB); refused without asking.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a request has no credentials.
#[derive(Debug)]
pub enum Failure {
    /// No token, or one Keystone does not vouch for: 401.
    Unauthorized,
    /// Keystone could not answer: 503.
    Unavailable(Unavailable),
}

pub struct Keystone {
    client: IdentityClient,
    cache: Option<TokenCache>,
    www_authenticate: String,
    service_token_roles: Vec<String>,
    service_token_roles_required: bool,
    warned_role_not_required: AtomicBool,
}

impl Keystone {
    pub fn new(settings: Settings) -> Result<Self, String> {
        let uri = settings.www_authenticate_uri.clone().unwrap_or_else(|| settings.auth_url.clone());
        let cache = settings.token_cache_time.map(|ttl| TokenCache::new(ttl, CACHE_ENTRIES, CACHE_BYTES));
        Ok(Keystone {
            www_authenticate: format!("Keystone uri=\"{uri}\""),
            service_token_roles: settings.service_token_roles.clone(),
            service_token_roles_required: settings.service_token_roles_required,
            warned_role_not_required: AtomicBool::new(false),
            cache,
            client: IdentityClient::new(settings)?,
        })
    }

    /// Credentials from the request's tokens.
    pub async fn authenticate(&self, user: Option<&str>, service: Option<&str>) -> Result<Credentials, Failure> {
        let mut allow_expired = false;
        let mut service_roles = Vec::new();
        let mut service_system_all = None;
        if let Some(service) = service {
            let info = self.check(service, false).await?;
            let has_role = info.roles.iter().any(|r| self.service_token_roles.contains(r));
            if !has_role {
                if self.service_token_roles_required {
                    log::info!("rejecting a service token without any of the roles {:?}", self.service_token_roles);
                    return Err(Failure::Unauthorized);
                }
                if !self.warned_role_not_required.swap(true, Ordering::Relaxed) {
                    log::warn!(
                        "a service token without any of the roles {:?} was accepted (logged once); set \
                         [keystone_authtoken] service_token_roles_required = True to refuse such tokens",
                        self.service_token_roles
                    );
                }
            }
            // A service acting for a user may pass on a token that
            // expired while the user's request was being handled.
            allow_expired = has_role;
            service_roles = info.roles.clone();
            service_system_all = Some(info.system_all);
        }
        let user = user.ok_or(Failure::Unauthorized)?;
        let info = self.check(user, allow_expired).await?;
        Ok(Credentials {
            user_id: info.user_id.clone(),
            project_id: info.project_id.clone(),
            roles: info.roles.clone(),
            // auth_token writes OpenStack-System-Scope from the service
            // token after the user's, so with both the service's wins.
            system_scope: service_system_all.unwrap_or(info.system_all).then(|| "all".to_string()),
            domain_id: info.domain_id.clone(),
            user_domain_id: info.user_domain_id.clone(),
            project_domain_id: info.project_domain_id.clone(),
            service_roles,
            is_admin_project: info.is_admin_project,
        })
    }

    /// A token's identity, from the cache or from Keystone. Refusals are
    /// not remembered (as keystonemiddleware since 2022: a token refused
    /// while a new fernet key reaches every Keystone is good a moment later).
    async fn check(&self, token: &str, allow_expired: bool) -> Result<Arc<TokenInfo>, Failure> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(Failure::Unauthorized);
        }
        let key = cache::key(token);
        if let Some(info) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            return Ok(info);
        }
        match self.client.validate(token, allow_expired).await {
            Ok(Validation::Valid(info)) if allow_expired || info.expires_at > chrono::Utc::now() => {
                let info = Arc::new(info);
                if let Some(cache) = &self.cache {
                    cache.put(key, info.clone());
                }
                Ok(info)
            }
            Ok(_) => {
                log::info!("rejecting a token the identity service does not vouch for");
                Err(Failure::Unauthorized)
            }
            Err(e) => {
                log::error!("cannot validate a token: {e}");
                Err(Failure::Unavailable(e))
            }
        }
    }

    /// keystonemiddleware's refusals, as a response.
    pub fn refusal(&self, failure: &Failure) -> ApiError {
        match failure {
            Failure::Unauthorized => {
                let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "");
                e.fixed_json = Some(
                    json!({"error": {"code": 401, "title": "Unauthorized",
                        "message": "The request you have made requires authentication."}})
                    .to_string(),
                );
                e.headers.push(("www-authenticate", self.www_authenticate.clone()));
                e.escaped()
            }
            Failure::Unavailable(why) => {
                let mut e = ApiError::unavailable("The Keystone service is temporarily unavailable.", why);
                e.plain_webob = true;
                e.escaped()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RenderContext;
    use placement_model::Microversion;

    fn keystone() -> Keystone {
        Keystone::new(Settings {
            www_authenticate_uri: Some("http://keystone/v3".into()),
            auth_url: "http://keystone:5000".into(),
            username: Some("placement".into()),
            user_id: None,
            password: "p".into(),
            user_domain_id: None,
            user_domain_name: Some("Default".into()),
            project_id: None,
            project_name: Some("service".into()),
            project_domain_id: None,
            project_domain_name: Some("Default".into()),
            domain_id: None,
            domain_name: None,
            system_scope: None,
            region_name: None,
            interface: "internal".into(),
            cafile: None,
            certfile: None,
            keyfile: None,
            insecure: false,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            max_retries: 0,
            token_cache_time: Some(Duration::from_secs(300)),
            service_token_roles: vec!["service".into()],
            service_token_roles_required: true,
        })
        .unwrap()
    }

    #[test]
    fn refusals_are_as_keystonemiddleware_sends_them_and_as_documented() {
        let k = keystone();
        let unauthorized = k.refusal(&Failure::Unauthorized);
        let unavailable = k.refusal(&Failure::Unavailable(Unavailable::Unreachable("refused".into())));
        assert_eq!(unauthorized.headers, [("www-authenticate", "Keystone uri=\"http://keystone/v3\"".to_string())]);
        let ctx = RenderContext {
            accept: "application/json",
            method: "GET",
            content_type: "None",
            request_id: "req-1",
            version: None,
            version_failed: false,
        };
        let body = unavailable.render(&ctx).body;
        assert!(body.contains("The Keystone service is temporarily unavailable."), "{body}");
        assert!(
            crate::openapi::check::response(
                Microversion { major: 1, minor: 39 },
                "GET",
                "/resource_providers",
                401,
                Some(r#"{"error": {"code": "401"}}"#)
            )
            .is_err(),
            "the check is a real one"
        );
        for minor in [0, 15, 39] {
            let v = Microversion { major: 1, minor };
            for (status, e) in [(401, &unauthorized), (503, &unavailable)] {
                let body = e.render(&ctx).body;
                crate::openapi::check::response(v, "GET", "/resource_providers", status, Some(&body))
                    .unwrap_or_else(|e| panic!("{status} at 1.{minor}: {e}"));
            }
        }
    }

    #[tokio::test]
    async fn no_token_or_an_oversized_one_is_refused_without_asking() {
        // Keystone at this address does not exist: an answer without
        // asking it is the only way to a 401.
        let k = keystone();
        assert!(matches!(k.authenticate(None, None).await, Err(Failure::Unauthorized)));
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(k.authenticate(Some(&huge), None).await, Err(Failure::Unauthorized)));
        assert!(matches!(k.authenticate(Some(""), None).await, Err(Failure::Unauthorized)));
    }
}
