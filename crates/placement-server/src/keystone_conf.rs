//! `[keystone_authtoken]`: keystonemiddleware's options (and those of the
//! keystoneauth password plugin it loads) read into the settings the
//! Keystone layer uses. Options that only make sense for the Python
//! middleware (memcached) are accepted and ignored, with one warning.

use std::collections::BTreeMap;
use std::time::Duration;

use placement_api::auth::keystone::Settings;

/// Options kept as written; read into [`Settings`] at start-up.
pub type RawOptions = BTreeMap<String, String>;

/// Accepted so that an existing placement.conf starts; they tune the
/// Python middleware's memcached cache or features Placement never uses.
const IGNORED: &[&str] = &[
    "cache",
    "memcached_servers",
    "memcache_servers",
    "include_service_catalog",
    "enforce_token_bind",
    "auth_version",
    "service_type",
    "log_name",
];

fn is_ignored(option: &str) -> bool {
    IGNORED.contains(&option) || option.starts_with("memcache_")
}

/// What keystoneauth's password plugin (and auth_token) read; anything
/// else is reported at debug level like other unknown options.
const KNOWN: &[&str] = &[
    "www_authenticate_uri",
    "auth_uri",
    "auth_type",
    "auth_plugin",
    "auth_url",
    "username",
    "user_id",
    "password",
    "user_domain_name",
    "user_domain_id",
    "project_name",
    "project_id",
    "tenant_name",
    "tenant_id",
    "project_domain_name",
    "project_domain_id",
    "domain_id",
    "domain_name",
    "default_domain_id",
    "default_domain_name",
    "system_scope",
    "region_name",
    "interface",
    "cafile",
    "certfile",
    "keyfile",
    "insecure",
    "http_connect_timeout",
    "http_request_max_retries",
    "token_cache_time",
    "service_token_roles",
    "service_token_roles_required",
    "delay_auth_decision",
];

#[derive(Debug, thiserror::Error)]
#[error("[keystone_authtoken] {option}: {message}")]
pub struct KeystoneConfError {
    option: String,
    message: String,
}

fn error(option: &str, message: impl Into<String>) -> KeystoneConfError {
    KeystoneConfError { option: option.to_string(), message: message.into() }
}

/// Whether `option` belongs to the group (known or knowingly ignored).
pub fn is_option(option: &str) -> bool {
    KNOWN.contains(&option) || is_ignored(option)
}

pub fn settings(raw: &RawOptions) -> Result<Settings, KeystoneConfError> {
    let text = |name: &str| raw.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let boolean = |name: &str, default: bool| -> Result<bool, KeystoneConfError> {
        match text(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["true", "1", "on", "yes"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["false", "0", "off", "no"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(error(name, format!("{v:?} is not a boolean"))),
        }
    };
    let integer = |name: &str| -> Result<Option<i64>, KeystoneConfError> {
        text(name).map(|v| v.parse().map_err(|_| error(name, format!("{v:?} is not an integer")))).transpose()
    };

    let ignored: Vec<&str> = raw.keys().map(String::as_str).filter(|o| is_ignored(o)).collect();
    if !ignored.is_empty() {
        log::warn!(
            "[keystone_authtoken] {}: accepted and ignored (tokens are cached in process, see token_cache_time)",
            ignored.join(", ")
        );
    }
    let plugin = text("auth_type").or_else(|| text("auth_plugin"));
    match plugin.as_deref() {
        Some("password" | "v3password") => {}
        None => return Err(error("auth_type", "required with [api] auth_strategy = keystone (use password)")),
        Some(other) => return Err(error("auth_type", format!("{other:?} is not supported; use password"))),
    }
    let auth_url = text("auth_url").ok_or_else(|| error("auth_url", "required"))?;
    url::Url::parse(&auth_url).map_err(|e| error("auth_url", format!("{auth_url:?}: {e}")))?;
    let username = text("username");
    let user_id = text("user_id");
    if username.is_none() && user_id.is_none() {
        return Err(error("username", "required (or user_id)"));
    }
    let password = raw.get("password").cloned().ok_or_else(|| error("password", "required"))?;
    let default_domain_id = text("default_domain_id");
    let default_domain_name = text("default_domain_name");
    let domain_or_default = |id: &str, name: &str| match (text(id), text(name)) {
        (None, None) => (default_domain_id.clone(), default_domain_name.clone()),
        pair => pair,
    };
    let (user_domain_id, user_domain_name) = domain_or_default("user_domain_id", "user_domain_name");
    let (project_domain_id, project_domain_name) = domain_or_default("project_domain_id", "project_domain_name");
    let system_scope = text("system_scope");
    if let Some(scope) = &system_scope
        && scope != "all"
    {
        return Err(error("system_scope", format!("{scope:?}: only all is a system scope")));
    }
    let token_cache_time = match integer("token_cache_time")?.unwrap_or(300) {
        t if t < 0 => None,
        t => Some(Duration::from_secs(t as u64)),
    };
    let interface = text("interface").unwrap_or_else(|| "internal".into());
    if !["public", "internal", "admin", "publicURL", "internalURL", "adminURL"].contains(&interface.as_str()) {
        return Err(error("interface", format!("{interface:?} is not public, internal or admin")));
    }
    let connect_timeout = match integer("http_connect_timeout")? {
        Some(t) if t > 0 => Duration::from_secs(t as u64),
        Some(_) => return Err(error("http_connect_timeout", "must be greater than 0")),
        None => Duration::from_secs(10),
    };
    let max_retries = match integer("http_request_max_retries")?.unwrap_or(3) {
        n if (0..=100).contains(&n) => n as u32,
        _ => return Err(error("http_request_max_retries", "must be between 0 and 100")),
    };
    if boolean("delay_auth_decision", false)? {
        log::warn!(
            "[keystone_authtoken] delay_auth_decision = True: every Placement request needs an identity, so a \
             request without a valid token is refused as it would be without the option"
        );
    }
    let roles_required = boolean("service_token_roles_required", true)?;
    if !roles_required {
        log::warn!(
            "[keystone_authtoken] service_token_roles_required = False: any valid token is accepted as a service token"
        );
    }
    let www_authenticate_uri = text("www_authenticate_uri").or_else(|| text("auth_uri"));
    if www_authenticate_uri.is_none() {
        log::warn!(
            "[keystone_authtoken] www_authenticate_uri is not set: clients are pointed at auth_url; set it to the \
             public identity endpoint"
        );
    }
    Ok(Settings {
        www_authenticate_uri,
        auth_url,
        username,
        user_id,
        password,
        user_domain_id,
        user_domain_name,
        project_id: text("project_id").or_else(|| text("tenant_id")),
        project_name: text("project_name").or_else(|| text("tenant_name")),
        project_domain_id,
        project_domain_name,
        domain_id: text("domain_id"),
        domain_name: text("domain_name"),
        system_scope,
        region_name: text("region_name"),
        interface,
        cafile: text("cafile"),
        certfile: text("certfile"),
        keyfile: text("keyfile"),
        insecure: boolean("insecure", false)?,
        connect_timeout,
        request_timeout: connect_timeout.max(Duration::from_secs(30)),
        max_retries,
        token_cache_time,
        service_token_roles: text("service_token_roles")
            .map(|v| v.split(',').map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect())
            .unwrap_or_else(|| vec!["service".to_string()]),
        service_token_roles_required: roles_required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawOptions {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const BASE: &[(&str, &str)] = &[
        ("auth_type", "password"),
        ("auth_url", "http://keystone:5000/v3"),
        ("username", "placement"),
        ("password", "secret"),
        ("project_name", "service"),
        ("default_domain_name", "Default"),
    ];

    #[test]
    fn upstream_defaults() {
        let s = settings(&raw(BASE)).unwrap();
        assert_eq!(s.token_cache_time, Some(Duration::from_secs(300)));
        assert_eq!(s.service_token_roles, ["service"]);
        assert!(s.service_token_roles_required);
        assert_eq!(s.interface, "internal");
        assert_eq!(s.max_retries, 3);
        assert_eq!(s.user_domain_name.as_deref(), Some("Default"));
        assert_eq!(s.project_domain_name.as_deref(), Some("Default"));
        assert_eq!(s.www_authenticate_uri, None);
    }

    #[test]
    fn options_as_written() {
        let mut options = raw(BASE);
        options.extend(raw(&[
            ("auth_uri", "http://old"),
            ("token_cache_time", "-1"),
            ("service_token_roles", "service, nova"),
            ("service_token_roles_required", "False"),
            ("memcached_servers", "localhost:11211"),
            ("memcache_security_strategy", "ENCRYPT"),
        ]));
        let s = settings(&options).unwrap();
        assert_eq!(s.www_authenticate_uri.as_deref(), Some("http://old"));
        assert_eq!(s.token_cache_time, None, "-1 turns the cache off");
        assert_eq!(s.service_token_roles, ["service", "nova"]);
        assert!(!s.service_token_roles_required);
    }

    #[test]
    fn missing_or_malformed_options_name_themselves() {
        for (drop, named) in [("auth_type", "auth_type"), ("auth_url", "auth_url"), ("password", "password")] {
            let mut options = raw(BASE);
            options.remove(drop);
            assert!(settings(&options).unwrap_err().to_string().contains(named));
        }
        for (option, value) in [
            ("auth_type", "token"),
            ("token_cache_time", "soon"),
            ("insecure", "maybe"),
            ("system_scope", "domain"),
            ("interface", "private"),
            ("http_connect_timeout", "0"),
        ] {
            let mut options = raw(BASE);
            options.insert(option.into(), value.into());
            let e = settings(&options).unwrap_err().to_string();
            assert!(e.contains(option), "{e}");
        }
    }
}
