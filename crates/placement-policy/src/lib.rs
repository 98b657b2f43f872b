//! Policy enforcement with oslo.policy semantics: upstream's default rules
//! (from `policies/defaults.yaml`), operator overrides from a YAML or JSON
//! policy file, deprecated defaults honoured until `enforce_new_defaults`,
//! and scope checks. Rules are evaluated by Casbin with the model in
//! `policies/model.conf`.

mod check;
mod translate;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use serde::{Deserialize, Serialize};

const MODEL: &str = include_str!("../../../policies/model.conf");
const DEFAULTS: &str = include_str!("../../../policies/defaults.yaml");

/// The `[oslo_policy]` options this crate honours.
#[derive(Clone, Debug, Default)]
pub struct PolicyConfig {
    pub policy_file: Option<PathBuf>,
    pub enforce_scope: bool,
    pub enforce_new_defaults: bool,
}

/// Who is asking, as the auth layer established it.
#[derive(Clone, Debug, Default, Serialize, Hash)]
pub struct Credentials {
    pub user_id: String,
    pub project_id: Option<String>,
    pub roles: Vec<String>,
    /// `all` for a system-scoped request.
    pub system_scope: Option<String>,
    /// The domain of a domain-scoped token.
    pub domain_id: Option<String>,
    pub user_domain_id: Option<String>,
    pub project_domain_id: Option<String>,
    /// Roles of a valid `X-Service-Token` (empty without one).
    pub service_roles: Vec<String>,
    /// Keystone's `is_admin_project`; absent means true, as oslo.context.
    pub is_admin_project: Option<bool>,
}

/// What the action is on; `project_id` for most Placement rules.
pub type Target = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {0}: {1}")]
    Read(String, String),
    #[error("policy file {0} is not a map of rule names to check strings: {1}")]
    Parse(String, String),
    #[error("policy engine: {0}")]
    Engine(String),
}

/// A refusal; the message is upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The rule's check failed.
    #[error("Policy does not allow {0} to be performed.")]
    Rule(String),
    /// The token's scope is not one the rule accepts: upstream names only
    /// the rule (`PolicyNotAuthorized(action)` on `InvalidScope`).
    #[error("{0}")]
    Scope(String),
}

#[derive(Deserialize)]
struct RuleDefault {
    check: String,
    #[serde(default)]
    scope_types: Option<Vec<String>>,
    #[serde(default)]
    deprecated: Option<String>,
}

/// Loaded rules, ready to answer `authorize`.
pub struct Policy {
    enforcer: Enforcer,
    scope_types: HashMap<String, Vec<String>>,
    enforce_scope: bool,
    /// Decisions by rule, subject and target: the rules never change
    /// after loading, and evaluating one costs more than most requests.
    decisions: Mutex<Decisions>,
}

type Decision = (String, Subject, Target);

/// Remembered decisions, bounded in number and in bytes: a caller sends
/// its role list (and with noauth2 its ids) in headers of any length.
#[derive(Default)]
struct Decisions {
    known: HashMap<Decision, bool>,
    bytes: usize,
}

/// Enough for every rule times many callers; past it the cache restarts.
const MAX_CACHED_DECISIONS: usize = 10_000;
/// The cache restarts past this many bytes of keys.
const MAX_CACHED_BYTES: usize = 4 * 1024 * 1024;
/// A decision whose key is longer than this is made, not remembered.
const MAX_KEY_BYTES: usize = 1024;

fn key_bytes((rule, subject, target): &Decision) -> usize {
    rule.len()
        + subject.user_id.len()
        + subject.project_id.len()
        + subject.system_scope.len()
        + subject.domain_id.len()
        + subject.user_domain_id.len()
        + subject.project_domain_id.len()
        + subject.service_roles.iter().map(|r| r.len() + 8).sum::<usize>()
        + subject.roles.iter().map(|r| r.len() + 8).sum::<usize>()
        + target.iter().map(|(k, v)| k.len() + v.len() + 16).sum::<usize>()
}

impl Policy {
    pub async fn load(config: &PolicyConfig) -> Result<Policy, PolicyError> {
        let defaults: BTreeMap<String, RuleDefault> =
            serde_yaml::from_str(DEFAULTS).map_err(|e| PolicyError::Parse("defaults".into(), e.to_string()))?;
        let overrides = match &config.policy_file {
            Some(path) if path.exists() => read_overrides(path)?,
            _ => BTreeMap::new(),
        };
        let mut checks: HashMap<String, String> = HashMap::new();
        let mut scope_types = HashMap::new();
        for (name, rule) in &defaults {
            let effective = match (&rule.deprecated, config.enforce_new_defaults) {
                (Some(old), false) if *old != rule.check => format!("({}) or ({old})", rule.check),
                _ => rule.check.clone(),
            };
            checks.insert(name.clone(), effective);
            if let Some(scopes) = &rule.scope_types {
                scope_types.insert(name.clone(), scopes.clone());
            }
        }
        for (name, check) in overrides {
            checks.insert(name, check);
        }
        let model = DefaultModel::from_str(MODEL).await.map_err(|e| PolicyError::Engine(e.to_string()))?;
        let mut enforcer =
            Enforcer::new(model, MemoryAdapter::default()).await.map_err(|e| PolicyError::Engine(e.to_string()))?;
        let lines: Vec<Vec<String>> =
            checks.keys().map(|name| vec![name.clone(), translate::rule_expression(name, &checks)]).collect();
        enforcer.add_policies(lines).await.map_err(|e| PolicyError::Engine(e.to_string()))?;
        Ok(Policy { enforcer, scope_types, enforce_scope: config.enforce_scope, decisions: Mutex::default() })
    }

    /// Check `rule` for these credentials on `target`.
    pub fn authorize(&self, rule: &str, creds: &Credentials, target: &Target) -> Result<(), Denied> {
        let denied = || Denied::Rule(rule.to_string());
        if self.enforce_scope
            && let Some(scopes) = self.scope_types.get(rule)
        {
            let scope = if creds.system_scope.is_some() { "system" } else { "project" };
            if !scopes.iter().any(|s| s == scope) {
                return Err(Denied::Scope(rule.to_string()));
            }
        }
        let subject = Subject::from(creds);
        let key = (rule.to_string(), subject, target.clone());
        let cached = self.decisions.lock().unwrap_or_else(|e| e.into_inner()).known.get(&key).copied();
        let allowed = match cached {
            Some(allowed) => allowed,
            None => {
                let allowed = match self.enforcer.enforce((&key.1, &key.2, rule)) {
                    Ok(allowed) => allowed,
                    Err(e) => {
                        log::error!("policy check {rule} failed to evaluate: {e}");
                        return Err(denied());
                    }
                };
                let size = key_bytes(&key);
                if size <= MAX_KEY_BYTES {
                    let mut decisions = self.decisions.lock().unwrap_or_else(|e| e.into_inner());
                    if decisions.known.len() >= MAX_CACHED_DECISIONS || decisions.bytes + size > MAX_CACHED_BYTES {
                        *decisions = Decisions::default();
                    }
                    if decisions.known.insert(key, allowed).is_none() {
                        decisions.bytes += size;
                    }
                }
                allowed
            }
        };
        if allowed { Ok(()) } else { Err(denied()) }
    }
}

/// The credentials as rules see them: lower-cased roles and every
/// attribute a check may name, as oslo.context provides them.
#[derive(Serialize, Hash, PartialEq, Eq)]
struct Subject {
    user_id: String,
    project_id: String,
    roles: Vec<String>,
    system_scope: String,
    domain_id: String,
    user_domain_id: String,
    project_domain_id: String,
    service_roles: Vec<String>,
    is_admin_project: String,
}

impl From<&Credentials> for Subject {
    fn from(c: &Credentials) -> Self {
        Subject {
            user_id: c.user_id.clone(),
            project_id: c.project_id.clone().unwrap_or_default(),
            roles: c.roles.iter().map(|r| r.to_lowercase()).collect(),
            system_scope: c.system_scope.clone().unwrap_or_default(),
            domain_id: c.domain_id.clone().unwrap_or_default(),
            user_domain_id: c.user_domain_id.clone().unwrap_or_default(),
            project_domain_id: c.project_domain_id.clone().unwrap_or_default(),
            service_roles: c.service_roles.iter().map(|r| r.to_lowercase()).collect(),
            is_admin_project: if c.is_admin_project.unwrap_or(true) { "True" } else { "False" }.to_string(),
        }
    }
}

fn read_overrides(path: &std::path::Path) -> Result<BTreeMap<String, String>, PolicyError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read(shown.clone(), e.to_string()))?;
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    // YAML is a superset of JSON, so one parser reads both file forms.
    let parsed: Option<BTreeMap<String, String>> =
        serde_yaml::from_str(&text).map_err(|e| PolicyError::Parse(shown, e.to_string()))?;
    Ok(parsed.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(roles: &[&str], project: Option<&str>, system: bool) -> Credentials {
        Credentials {
            user_id: "u".into(),
            project_id: project.map(str::to_string),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            system_scope: system.then(|| "all".to_string()),
            ..Credentials::default()
        }
    }

    async fn policy(file: Option<&str>, new_defaults: bool) -> Policy {
        let path = file.map(|text| {
            let path = std::env::temp_dir().join(format!("policy-{}.yaml", std::process::id()));
            std::fs::write(&path, text).unwrap();
            path
        });
        Policy::load(&PolicyConfig { policy_file: path, enforce_scope: true, enforce_new_defaults: new_defaults })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn legacy_defaults_admit_admin_and_service_only() {
        let p = policy(None, false).await;
        let none = Target::new();
        assert!(p.authorize("placement:resource_providers:list", &creds(&["admin"], Some("p"), false), &none).is_ok());
        assert!(
            p.authorize("placement:resource_providers:list", &creds(&["service"], Some("p"), false), &none).is_ok()
        );
        let err = p.authorize("placement:resource_providers:list", &creds(&["member"], Some("p"), false), &none);
        assert_eq!(
            err.unwrap_err().to_string(),
            "Policy does not allow placement:resource_providers:list to be performed."
        );
    }

    #[tokio::test]
    async fn system_scope_is_refused_by_project_scoped_rules() {
        let p = policy(None, false).await;
        let refused = p.authorize("placement:traits:list", &creds(&["admin"], None, true), &Target::new());
        assert_eq!(refused.unwrap_err().to_string(), "placement:traits:list");
    }

    #[tokio::test]
    async fn project_reader_may_read_own_usages() {
        let p = policy(None, true).await;
        let target = Target::from([("project_id".to_string(), "p1".to_string())]);
        assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p1"), false), &target).is_ok());
        assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p2"), false), &target).is_err());
    }

    #[tokio::test]
    async fn remembered_decisions_depend_on_caller_and_target() {
        let p = policy(None, true).await;
        let mine = Target::from([("project_id".to_string(), "p1".to_string())]);
        let theirs = Target::from([("project_id".to_string(), "p2".to_string())]);
        for _ in 0..3 {
            assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p1"), false), &mine).is_ok());
            assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p1"), false), &theirs).is_err());
            assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p2"), false), &mine).is_err());
            assert!(p.authorize("placement:usages", &creds(&["admin"], Some("p2"), false), &mine).is_ok());
        }
    }

    #[tokio::test]
    async fn the_decision_cache_is_bounded_in_entries_and_bytes() {
        let p = policy(None, true).await;
        let target = Target::from([("project_id".to_string(), "p1".to_string())]);
        let huge: Vec<String> = (0..100_000).map(|i| format!("role-{i}")).collect();
        let huge: Vec<&str> = huge.iter().map(String::as_str).collect();
        assert!(p.authorize("placement:usages", &creds(&huge, Some("p1"), false), &target).is_err());
        assert_eq!(p.decisions.lock().unwrap().bytes, 0, "a huge key is not remembered");
        for i in 0..(MAX_CACHED_DECISIONS + 50) {
            let user = Credentials {
                user_id: format!("user-{i}-{}", "x".repeat(400)),
                ..creds(&["reader"], Some("p1"), false)
            };
            assert!(p.authorize("placement:usages", &user, &target).is_ok());
            let d = p.decisions.lock().unwrap();
            assert!(d.known.len() <= MAX_CACHED_DECISIONS && d.bytes <= MAX_CACHED_BYTES);
        }
    }

    #[tokio::test]
    async fn overrides_replace_defaults() {
        let p = policy(Some("placement:traits:list: '@'\nadmin_api: 'role:admin'\n"), false).await;
        assert!(p.authorize("placement:traits:list", &creds(&[], Some("p"), false), &Target::new()).is_ok());
        assert!(p.authorize("placement:traits:show", &creds(&[], Some("p"), false), &Target::new()).is_err());
    }
}
