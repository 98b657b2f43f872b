//! Policy enforcement with oslo.policy semantics, decided by Casbin from
//! policy lines: upstream's default rules (`policies/policy.csv`, lines of
//! the model in `policies/model.conf`, made from `policies/defaults.yaml`),
//! an operator's overrides from a YAML or JSON policy file (and
//! `policy_dirs`) translated into the same lines at load, deprecated
//! defaults honoured until `enforce_new_defaults`, and scope checks.

mod check;
mod engine;
mod rules;
mod translate;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

pub use rules::RuleDefault;
pub use translate::{Line, Set, TranslateError};

const POLICY_CSV: &str = include_str!("../../../policies/policy.csv");

/// The `[oslo_policy]` options this crate honours.
#[derive(Clone, Debug, Default)]
pub struct PolicyConfig {
    pub policy_file: Option<PathBuf>,
    /// Directories whose files override the policy file, in order.
    pub policy_dirs: Vec<PathBuf>,
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
    #[error(transparent)]
    Translate(#[from] TranslateError),
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

/// Where a rule's effective check string comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Source {
    Default,
    /// The default, or the deprecated default (`enforce_new_defaults` off).
    DefaultOrDeprecated,
    Override,
}

/// One rule as it is enforced.
#[derive(Clone, Debug)]
pub struct EffectiveRule {
    pub name: String,
    pub check: String,
    pub source: Source,
    pub scope_types: Vec<String>,
    pub lines: Vec<Line>,
}

/// The rules a service registers, before any operator override: each
/// rule's check string, scope types and deprecated check, and the same as
/// policy lines. Placement's are one preset; another service brings its own.
#[derive(Clone, Debug)]
pub struct Defaults {
    rules: BTreeMap<String, rules::RuleDefault>,
    lines: Vec<Line>,
}

impl Defaults {
    /// Upstream Placement's defaults (`policies/defaults.yaml`, and their
    /// lines as `policies/policy.csv` holds them).
    pub fn placement() -> Result<Defaults, PolicyError> {
        let lines = POLICY_CSV
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| Line::parse(l).ok_or_else(|| PolicyError::Engine(format!("policies/policy.csv: {l:?}"))))
            .collect::<Result<_, _>>()?;
        Ok(Defaults { rules: rules::defaults(), lines })
    }

    /// Defaults written as `policies/defaults.yaml` is: a map of rule
    /// names to `check` (an oslo.policy check string), optional
    /// `scope_types` (`[project]`, `[system]`) and optional `deprecated`.
    pub fn from_yaml(text: &str) -> Result<Defaults, PolicyError> {
        let rules = rules::parse_defaults(text)?;
        let lines = lines_of(&rules)?;
        Ok(Defaults { rules, lines })
    }

    /// The rules' names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.keys().map(String::as_str)
    }
}

/// Loaded rules, ready to answer `authorize`.
pub struct Policy {
    engine: engine::Engine,
    scope_types: HashMap<String, Vec<String>>,
    enforce_scope: bool,
    rules: Vec<EffectiveRule>,
}

/// Upstream's defaults as policy lines: what `policies/policy.csv` holds.
pub fn default_lines() -> Result<Vec<Line>, TranslateError> {
    lines_of(&rules::defaults())
}

fn lines_of(defaults: &BTreeMap<String, rules::RuleDefault>) -> Result<Vec<Line>, TranslateError> {
    let checks: HashMap<String, String> = defaults.iter().map(|(n, r)| (n.clone(), r.check.clone())).collect();
    let mut lines = Vec::new();
    for (name, rule) in defaults {
        lines.extend(translate::translate(name, &rule.check, &checks, Set::Default, true)?);
        if let Some(old) = rule.deprecated.as_ref().filter(|old| **old != rule.check) {
            // Legacy lines stand alone: `g` lines belong to no set.
            lines.extend(translate::translate(name, old, &checks, Set::Legacy, false)?);
        }
    }
    Ok(lines)
}

/// `policies/policy.csv` as written by [`default_lines`].
pub fn render_csv(lines: &[Line]) -> String {
    let mut out = String::from(
        "# Upstream Placement's default policy as Casbin lines of policies/model.conf,\n\
         # made from policies/defaults.yaml (placement-policy csv; a test checks it).\n",
    );
    for line in lines {
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// A policy file with every default commented out, as
/// oslopolicy-sample-generator writes one.
pub fn sample_yaml() -> String {
    let mut out = String::new();
    for (name, rule) in rules::defaults() {
        if !rule.scope_types.is_empty() {
            out.push_str(&format!("# Scope types: {}\n", rule.scope_types.join(", ")));
        }
        if let Some(old) = &rule.deprecated {
            out.push_str(&format!("# Deprecated default (honoured while enforce_new_defaults is False): {old:?}\n"));
        }
        out.push_str(&format!("#{name:?}: {:?}\n\n", rule.check));
    }
    out
}

impl Policy {
    /// Placement's defaults with the operator's overrides of `config`.
    pub async fn load(config: &PolicyConfig) -> Result<Policy, PolicyError> {
        Self::load_with(Defaults::placement()?, config).await
    }

    /// These defaults with the operator's overrides of `config`.
    pub async fn load_with(defaults: Defaults, config: &PolicyConfig) -> Result<Policy, PolicyError> {
        let Defaults { rules: defaults, lines: default_lines } = defaults;
        let mut overrides = BTreeMap::new();
        let files =
            config.policy_file.iter().filter(|p| p.exists()).cloned().chain(rules::dir_files(&config.policy_dirs)?);
        for file in files {
            for (name, check) in rules::read_overrides(&file)? {
                if !defaults.contains_key(&name) {
                    log::warn!("policy file {}: {name:?} is not a rule of this service", file.display());
                }
                overrides.insert(name, check);
            }
        }
        let legacy = !config.enforce_new_defaults;
        let mut rules: BTreeMap<String, EffectiveRule> = BTreeMap::new();
        for (name, rule) in &defaults {
            let (check, source) = match (&rule.deprecated, legacy) {
                (Some(old), true) if *old != rule.check => {
                    (format!("({}) or ({old})", rule.check), Source::DefaultOrDeprecated)
                }
                _ => (rule.check.clone(), Source::Default),
            };
            rules.insert(
                name.clone(),
                EffectiveRule {
                    name: name.clone(),
                    check,
                    source,
                    scope_types: rule.scope_types.clone(),
                    lines: vec![],
                },
            );
        }
        for (name, check) in &overrides {
            let scope_types = defaults.get(name).map(|d| d.scope_types.clone()).unwrap_or_default();
            rules.insert(
                name.clone(),
                EffectiveRule {
                    name: name.clone(),
                    check: check.clone(),
                    source: Source::Override,
                    scope_types,
                    lines: vec![],
                },
            );
        }
        let checks: HashMap<String, String> = rules.values().map(|r| (r.name.clone(), r.check.clone())).collect();
        for line in default_lines {
            let wanted = match &line {
                Line::P { set, .. } => *set == Set::Default || legacy,
                Line::G { .. } => true,
            };
            if let Some(rule) = rules.get_mut(line.rule()).filter(|r| r.source != Source::Override && wanted) {
                rule.lines.push(line);
            }
        }
        for (name, check) in &overrides {
            let lines = translate::translate(name, check, &checks, Set::Default, true)?;
            if let Some(rule) = rules.get_mut(name) {
                rule.lines = lines;
            }
        }
        let all: Vec<Line> = rules.values().flat_map(|r| r.lines.iter().cloned()).collect();
        let engine = engine::Engine::build(&all).await?;
        Ok(Policy {
            engine,
            scope_types: rules.values().map(|r| (r.name.clone(), r.scope_types.clone())).collect(),
            enforce_scope: config.enforce_scope,
            rules: rules.into_values().collect(),
        })
    }

    /// Every rule as enforced, by name.
    pub fn effective(&self) -> &[EffectiveRule] {
        &self.rules
    }

    /// Check `rule` for these credentials on `target`.
    pub fn authorize(&self, rule: &str, creds: &Credentials, target: &Target) -> Result<(), Denied> {
        let system = creds.system_scope.as_deref() == Some("all");
        if self.enforce_scope
            && let Some(scopes) = self.scope_types.get(rule).filter(|s| !s.is_empty())
        {
            let scope = if creds.system_scope.is_some() { "system" } else { "project" };
            if !scopes.iter().any(|s| s == scope) {
                return Err(Denied::Scope(rule.to_string()));
            }
        }
        let request = engine::Request {
            rule,
            roles: creds.roles.iter().map(|r| r.to_lowercase()).collect(),
            scope: if system { "system" } else { "" },
            project: creds.project_id.as_deref().unwrap_or(""),
            target_project: target.get("project_id").map_or("", String::as_str),
            user: &creds.user_id,
            target_user: target.get("user_id").map_or("", String::as_str),
        };
        match self.engine.allows(request) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Denied::Rule(rule.to_string())),
            Err(e) => {
                log::error!("policy check {rule} failed to evaluate: {e}");
                Err(Denied::Rule(rule.to_string()))
            }
        }
    }
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

    fn write(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("policy-{}-{name}.yaml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    async fn load(file: Option<&str>, new_defaults: bool) -> Result<Policy, PolicyError> {
        let path = file
            .map(|text| write(&format!("{:x}", text.len() * 31 + text.bytes().map(usize::from).sum::<usize>()), text));
        Policy::load(&PolicyConfig {
            policy_file: path,
            enforce_scope: true,
            enforce_new_defaults: new_defaults,
            ..PolicyConfig::default()
        })
        .await
    }

    async fn policy(file: Option<&str>, new_defaults: bool) -> Policy {
        load(file, new_defaults).await.unwrap()
    }

    #[test]
    fn defaults_of_another_service_must_be_a_map_of_rules_with_checks() {
        let two =
            Defaults::from_yaml("a:read:\n  check: \"role:reader\"\na:write:\n  check: \"role:admin\"\n").unwrap();
        assert_eq!(two.names().collect::<Vec<_>>(), ["a:read", "a:write"]);
        for bad in ["- just\n- a list\n", "a:read:\n  scope_types: [project]\n", "a: [unclosed"] {
            assert!(matches!(Defaults::from_yaml(bad), Err(PolicyError::Parse(..))), "{bad}");
        }
        assert!(Defaults::from_yaml("a:read:\n  check: \"role:reader and (\"\n").is_err());
        assert!(Defaults::placement().unwrap().names().any(|n| n == "placement:allocations:list"));
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
    async fn decisions_depend_on_caller_and_target() {
        let p = policy(None, true).await;
        let mine = Target::from([("project_id".to_string(), "p1".to_string())]);
        let theirs = Target::from([("project_id".to_string(), "p2".to_string())]);
        assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p1"), false), &mine).is_ok());
        assert!(p.authorize("placement:usages", &creds(&["Reader"], Some("p1"), false), &mine).is_ok());
        assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p1"), false), &theirs).is_err());
        assert!(p.authorize("placement:usages", &creds(&["reader"], Some("p2"), false), &mine).is_err());
        assert!(p.authorize("placement:usages", &creds(&["reader"], None, false), &Target::new()).is_err());
        assert!(p.authorize("placement:usages", &creds(&["admin"], Some("p2"), false), &mine).is_ok());
        assert!(p.authorize("placement:usages", &creds(&["service"], None, false), &mine).is_ok());
        assert!(p.authorize("placement:usages", &creds(&["member"], Some("p1"), false), &mine).is_err());
        // A huge role list is no cache entry to bound: it is matched, once.
        let huge: Vec<String> = (0..100_000).map(|i| format!("role-{i}")).collect();
        let huge: Vec<&str> = huge.iter().map(String::as_str).collect();
        assert!(p.authorize("placement:usages", &creds(&huge, Some("p1"), false), &mine).is_err());
    }

    #[tokio::test]
    async fn the_defaults_file_is_what_the_translation_makes() {
        let made = render_csv(&default_lines().unwrap());
        assert_eq!(made, POLICY_CSV, "policies/policy.csv is stale: run `placement-policy csv > policies/policy.csv`");
    }

    #[tokio::test]
    async fn an_untranslatable_override_names_its_rule() {
        for text in
            ["placement:traits:list: 'role:a and role:b'\n", "admin_api: 'is_admin:True'\n", "admin_api: 'admin'\n"]
        {
            let e = load(Some(text), true).await.err().expect("refused").to_string();
            assert!(e.contains("placement:traits:list") || e.contains("admin_api"), "{e}");
        }
        let e = load(Some("admin_api: [1]\n"), true).await.err().expect("refused").to_string();
        assert!(e.contains("admin_api"), "{e}");
    }

    #[tokio::test]
    async fn overrides_reach_rules_that_inherit() {
        // admin_or_service_api inherits nothing; the API rules inherit it.
        let p = policy(Some("admin_or_service_api: 'role:operator'\n"), true).await;
        let none = Target::new();
        assert!(p.authorize("placement:traits:list", &creds(&["operator"], Some("p"), false), &none).is_ok());
        assert!(p.authorize("placement:traits:list", &creds(&["admin"], Some("p"), false), &none).is_err());
        let rule = p.effective().iter().find(|r| r.name == "admin_or_service_api").unwrap();
        assert_eq!((rule.source, rule.check.as_str()), (Source::Override, "role:operator"));
        assert_eq!(
            rule.lines.iter().map(Line::to_string).collect::<Vec<_>>(),
            ["p, admin_or_service_api, operator, *, *, default"]
        );
    }

    #[tokio::test]
    async fn policy_dirs_override_the_policy_file() {
        let dir = std::env::temp_dir().join(format!("policy-d-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("10-open.yaml"), "placement:traits:list: '@'\n").unwrap();
        std::fs::write(dir.join("20-closed.json"), r#"{"placement:traits:list": "!"}"#).unwrap();
        let p = Policy::load(&PolicyConfig {
            policy_file: Some(write("base", "placement:traits:show: '@'\n")),
            policy_dirs: vec![dir],
            enforce_scope: true,
            enforce_new_defaults: true,
        })
        .await
        .unwrap();
        let anyone = creds(&[], Some("p"), false);
        assert!(p.authorize("placement:traits:show", &anyone, &Target::new()).is_ok());
        assert!(p.authorize("placement:traits:list", &creds(&["admin"], Some("p"), false), &Target::new()).is_err());
    }

    #[tokio::test]
    async fn overrides_replace_defaults() {
        let p = policy(Some("placement:traits:list: '@'\nadmin_api: 'role:admin'\n"), false).await;
        assert!(p.authorize("placement:traits:list", &creds(&[], Some("p"), false), &Target::new()).is_ok());
        assert!(p.authorize("placement:traits:show", &creds(&[], Some("p"), false), &Target::new()).is_err());
    }
}
