//! Who is asking (`[api] auth_strategy`): Keystone tokens validated as
//! keystonemiddleware's auth_token does, or noauth2 for development.
//! Identity never comes from headers a client may set under keystone, and
//! under noauth2 a repeated identity header is refused.

pub mod keystone;
mod noauth;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use placement_policy::Credentials;

use crate::error::ApiError;

/// `[api] auth_strategy`.
#[derive(Clone)]
pub enum AuthStrategy {
    /// Trust `X-Auth-Token: user[:project]` and `X-Roles`, as upstream's
    /// noauth2 does.
    NoAuth2,
    /// Validate `X-Auth-Token` (and `X-Service-Token`) with Keystone.
    Keystone(Arc<keystone::Keystone>),
}

/// The headers auth_token sets from a validated token; a client's own
/// copies are removed before any token is read. Every `X-Service-*`
/// header goes too (see [`is_identity_header`]).
const IDENTITY_HEADERS: &[&str] = &[
    "x-identity-status",
    "x-domain-id",
    "x-domain-name",
    "x-project-id",
    "x-project-name",
    "x-project-domain-id",
    "x-project-domain-name",
    "x-user-id",
    "x-user-name",
    "x-user-domain-id",
    "x-user-domain-name",
    "x-roles",
    "x-is-admin-project",
    "x-service-catalog",
    "x-system-scope",
    "openstack-system-scope",
    "x-app-cred-id",
    "x-app-cred-name",
    "x-app-cred-access-rules",
    "x-user",
    "x-tenant-id",
    "x-tenant-name",
    "x-tenant",
    "x-role",
    "x-trust-id",
    "x-trustor-user-id",
    "x-trustee-user-id",
];

/// A header that names an identity, a scope or roles.
pub(crate) fn is_identity_header(name: &str) -> bool {
    // Asked for every header of every request: no lower-cased copy.
    let is = |h: &str| name.eq_ignore_ascii_case(h);
    IDENTITY_HEADERS.iter().any(|h| is(h))
        || (name.get(..10).is_some_and(|p| p.eq_ignore_ascii_case("x-service-")) && !is("x-service-token"))
        || is("x-auth-token")
}

/// Remove what a client sent in place of the identity layer (not the
/// tokens themselves).
pub(crate) fn strip_identity_headers(headers: &mut HeaderMap) {
    let forged: Vec<_> =
        headers.keys().filter(|n| is_identity_header(n.as_str()) && n.as_str() != "x-auth-token").cloned().collect();
    for name in forged {
        headers.remove(name);
    }
}

/// The single value of a header, or a 400 when it is repeated: with two
/// `X-Roles` there is no right one to believe.
pub(crate) fn single<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    let mut values = headers.get_all(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::bad_request(format!("The identity header {name} may be sent only once.")).escaped());
    }
    Ok(first.and_then(|v| v.to_str().ok()))
}

/// The request's credentials, or the refusal to send. Under keystone the
/// caller has already stripped the identity headers; only the tokens are
/// read.
pub async fn authenticate(strategy: &AuthStrategy, headers: &HeaderMap) -> Result<Credentials, ApiError> {
    match strategy {
        AuthStrategy::NoAuth2 => noauth::authenticate(headers),
        AuthStrategy::Keystone(keystone) => {
            let user_token = token_header(headers, "x-auth-token").or_else(|| token_header(headers, "x-storage-token"));
            let service_token = token_header(headers, "x-service-token");
            keystone
                .authenticate(user_token.as_deref(), service_token.as_deref())
                .await
                .map_err(|f| keystone.refusal(&f))
        }
    }
}

/// A token header's value. Sent twice, the pair is no valid token (a
/// WSGI server would join them with a comma).
fn token_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers.get_all(name).map(|v| v.to_str().unwrap_or("\u{0}")).collect();
    match values.as_slice() {
        [] => None,
        [one] if one.trim().is_empty() => None,
        [one] => Some(one.trim().to_string()),
        many => Some(many.join(",")),
    }
}

/// A 401 as webob sends it when no identity is established.
pub(crate) fn plain_unauthorized() -> ApiError {
    let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "");
    e.plain_webob = true;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(HeaderName::try_from(*k).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn identity_headers_go_and_tokens_stay() {
        let mut h = headers(&[
            ("X-Auth-Token", "t"),
            ("X-Service-Token", "s"),
            ("X-Roles", "admin"),
            ("X-Roles", "service"),
            ("X-Service-Roles", "admin"),
            ("X-Service-Project-Id", "p"),
            ("X-Project-Id", "p"),
            ("X-Tenant", "p"),
            ("OpenStack-System-Scope", "all"),
            ("X-Is-Admin-Project", "True"),
            ("Accept", "application/json"),
            ("X-Openstack-Request-Id", "req-1"),
        ]);
        strip_identity_headers(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "x-auth-token", "x-openstack-request-id", "x-service-token"]);
    }

    #[test]
    fn tokens_as_sent() {
        assert_eq!(token_header(&headers(&[("X-Auth-Token", " t ")]), "x-auth-token").as_deref(), Some("t"));
        assert_eq!(token_header(&headers(&[("X-Auth-Token", "  ")]), "x-auth-token"), None);
        let twice = headers(&[("X-Auth-Token", "a"), ("X-Auth-Token", "b")]);
        assert_eq!(token_header(&twice, "x-auth-token").as_deref(), Some("a,b"));
        assert!(single(&twice, "x-auth-token").is_err());
    }
}
