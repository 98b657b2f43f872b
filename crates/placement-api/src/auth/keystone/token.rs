//! What a Keystone v3 token says about its holder.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The parts of `GET /v3/auth/tokens`'s `token` that identity needs.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenInfo {
    pub user_id: String,
    pub user_domain_id: Option<String>,
    pub project_id: Option<String>,
    pub project_domain_id: Option<String>,
    pub domain_id: Option<String>,
    pub system_all: bool,
    pub roles: Vec<String>,
    pub is_admin_project: Option<bool>,
    pub expires_at: DateTime<Utc>,
}

impl TokenInfo {
    /// Bytes this takes in the cache, roughly.
    pub fn size(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        std::mem::size_of::<Self>()
            + self.user_id.len()
            + opt(&self.user_domain_id)
            + opt(&self.project_id)
            + opt(&self.project_domain_id)
            + opt(&self.domain_id)
            + self.roles.iter().map(|r| r.len() + std::mem::size_of::<String>()).sum::<usize>()
    }
}

#[derive(Deserialize)]
struct Body {
    token: Token,
}

#[derive(Deserialize)]
struct Token {
    expires_at: String,
    user: Named,
    #[serde(default)]
    project: Option<Named>,
    #[serde(default)]
    domain: Option<Named>,
    #[serde(default)]
    system: Option<System>,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    is_admin_project: Option<bool>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    #[serde(default)]
    domain: Option<Box<Named>>,
}

#[derive(Deserialize)]
struct System {
    #[serde(default)]
    all: bool,
}

#[derive(Deserialize)]
struct Role {
    name: String,
}

/// One service of a token's catalog.
#[derive(Clone, Debug, Deserialize)]
pub struct CatalogEntry {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Endpoint {
    pub interface: String,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub url: String,
}

/// A token body and its service catalog (empty when not asked for).
pub fn parse(body: &[u8]) -> Result<(TokenInfo, Vec<CatalogEntry>), String> {
    let body: Body = serde_json::from_slice(body).map_err(|e| format!("unreadable token: {e}"))?;
    let t = body.token;
    let expires_at = DateTime::parse_from_rfc3339(&t.expires_at)
        .map_err(|e| format!("unreadable token expiry {:?}: {e}", t.expires_at))?
        .with_timezone(&Utc);
    let info = TokenInfo {
        user_id: t.user.id,
        user_domain_id: t.user.domain.map(|d| d.id),
        project_domain_id: t.project.as_ref().and_then(|p| p.domain.as_ref()).map(|d| d.id.clone()),
        project_id: t.project.map(|p| p.id),
        domain_id: t.domain.map(|d| d.id),
        system_all: t.system.is_some_and(|s| s.all),
        roles: t.roles.into_iter().map(|r| r.name).collect(),
        is_admin_project: t.is_admin_project,
        expires_at,
    };
    Ok((info, t.catalog))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_system_tokens() {
        let body = br#"{"token": {"expires_at": "2026-12-01T04:10:36.000000Z",
            "user": {"id": "u", "domain": {"id": "default", "name": "Default"}, "name": "demo"},
            "project": {"id": "p", "domain": {"id": "pd"}, "name": "demo"},
            "roles": [{"id": "1", "name": "Member"}, {"id": "2", "name": "reader"}],
            "is_admin_project": false, "methods": ["password"]}}"#;
        let (info, catalog) = parse(body).unwrap();
        assert_eq!(info.user_id, "u");
        assert_eq!(info.user_domain_id.as_deref(), Some("default"));
        assert_eq!((info.project_id.as_deref(), info.project_domain_id.as_deref()), (Some("p"), Some("pd")));
        assert_eq!(info.roles, ["Member", "reader"]);
        assert_eq!(info.is_admin_project, Some(false));
        assert!(!info.system_all && catalog.is_empty());
        assert_eq!(info.expires_at.to_rfc3339(), "2026-12-01T04:10:36+00:00");

        let system = br#"{"token": {"expires_at": "2026-12-01T04:10:36Z", "user": {"id": "a"},
            "system": {"all": true}, "roles": [{"name": "admin"}]}}"#;
        let (info, _) = parse(system).unwrap();
        assert!(info.system_all && info.project_id.is_none());
    }

    #[test]
    fn malformed_tokens_are_errors() {
        assert!(parse(b"{}").is_err());
        assert!(parse(br#"{"token": {"expires_at": "soon", "user": {"id": "a"}}}"#).is_err());
    }
}
