//! noauth2: the token names the user (and project), `X-Roles` the roles.
//! For development and tests; behind a proxy, the proxy must remove
//! every identity header a client sends (see the README).

use actix_web::http::header::HeaderMap;
use placement_policy::Credentials;

use super::{is_identity_header, plain_unauthorized, single};
use crate::error::ApiError;

pub fn authenticate(headers: &HeaderMap) -> Result<Credentials, ApiError> {
    for name in headers.keys().filter(|n| is_identity_header(n.as_str())) {
        single(headers, name.as_str())?;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(token) = header("x-auth-token") else {
        return Err(plain_unauthorized());
    };
    let (user, project) = match token.split_once(':') {
        Some((u, p)) if !p.is_empty() => (u, p),
        Some((u, _)) => (u, u),
        None => (token, token),
    };
    let roles = match header("x-roles") {
        Some(r) => r.split(',').map(str::to_string).collect(),
        None if user == "admin" => vec!["admin".to_string()],
        None => Vec::new(),
    };
    let system = header("openstack-system-scope").filter(|s| !s.is_empty());
    // noauth2 sets X-Tenant-Id (unless system-scoped), but oslo.context
    // prefers an X-Project-Id header when the request carries one.
    let project = header("x-project-id")
        .or(if system.is_some() { None } else { Some(project) })
        .or_else(|| header("x-tenant-id"))
        .or_else(|| header("x-tenant"));
    Ok(Credentials {
        user_id: user.to_string(),
        project_id: project.map(str::to_string),
        roles: roles.iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect(),
        system_scope: system.map(str::to_string),
        ..Credentials::default()
    })
}
