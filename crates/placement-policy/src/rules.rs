//! Rule registrations (upstream's defaults, `policies/defaults.yaml`) and
//! operator overrides (oslo.policy's `policy.yaml`/`policy.json` and the
//! files of `policy_dirs`), read with yaml-rust2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::PolicyError;

const DEFAULTS: &str = include_str!("../../../policies/defaults.yaml");

/// A rule as upstream registers it.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleDefault {
    pub check: String,
    pub scope_types: Vec<String>,
    /// The check upstream deprecated in favour of `check`.
    pub deprecated: Option<String>,
}

fn string(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(if *b { "True".into() } else { "False".into() }),
        _ => None,
    }
}

/// Upstream's rules, by name.
pub fn defaults() -> BTreeMap<String, RuleDefault> {
    parse_defaults(DEFAULTS).unwrap_or_default()
}

/// Rules in `policies/defaults.yaml`'s form: a map of rule names to
/// `check`, optional `scope_types` and optional `deprecated`.
pub fn parse_defaults(text: &str) -> Result<BTreeMap<String, RuleDefault>, PolicyError> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| PolicyError::Parse("defaults".into(), e.to_string()))?;
    let Some(Yaml::Hash(rules)) = docs.first() else {
        return Err(PolicyError::Parse("defaults".into(), "not a map of rule names".into()));
    };
    let mut out = BTreeMap::new();
    for (name, rule) in rules {
        let (Some(name), Some(check)) = (string(name), string(&rule["check"])) else {
            return Err(PolicyError::Parse("defaults".into(), format!("{name:?} has no check string")));
        };
        let scope_types = rule["scope_types"].as_vec().map(|v| v.iter().filter_map(string).collect());
        out.insert(
            name,
            RuleDefault {
                check,
                scope_types: scope_types.unwrap_or_default(),
                deprecated: string(&rule["deprecated"]),
            },
        );
    }
    Ok(out)
}

/// One override file: a map of rule names to check strings, YAML or JSON
/// (YAML 1.2 reads both).
pub fn read_overrides(path: &Path) -> Result<BTreeMap<String, String>, PolicyError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read(shown.clone(), e.to_string()))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| PolicyError::Parse(shown.clone(), e.to_string()))?;
    let mut out = BTreeMap::new();
    match docs.first() {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Hash(rules)) => {
            for (name, check) in rules {
                let name =
                    string(name).ok_or_else(|| PolicyError::Parse(shown.clone(), "a rule name is not text".into()))?;
                let check = match check {
                    Yaml::Null => String::new(),
                    other => string(other).ok_or_else(|| {
                        PolicyError::Parse(shown.clone(), format!("the check of {name:?} is not a string"))
                    })?,
                };
                out.insert(name, check);
            }
        }
        Some(_) => return Err(PolicyError::Parse(shown, "not a map of rule names to check strings".into())),
    }
    Ok(out)
}

/// The files of the `policy_dirs` directories, as oslo.policy reads them:
/// each directory's files in name order.
pub fn dir_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, PolicyError> {
    let mut files = Vec::new();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let entries =
            std::fs::read_dir(dir).map_err(|e| PolicyError::Read(dir.display().to_string(), e.to_string()))?;
        let mut here: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
        here.sort();
        files.extend(here);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_defaults_are_read() {
        let d = defaults();
        assert_eq!(d["admin_api"].check, "role:admin");
        assert_eq!(d["placement:usages"].scope_types, ["project"]);
        assert_eq!(d["service_api"].deprecated.as_deref(), Some("role:admin"));
        assert!(d.len() > 30);
    }

    #[test]
    fn override_files_in_yaml_and_json() {
        let dir = std::env::temp_dir().join(format!("policy-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let yaml = dir.join("a.yaml");
        std::fs::write(&yaml, "# comment\n\"placement:traits:list\": \"@\"\nadmin_api: role:admin or role:root\n")
            .unwrap();
        let json = dir.join("b.json");
        std::fs::write(&json, r#"{"placement:traits:show": "!", "empty": ""}"#).unwrap();
        assert_eq!(read_overrides(&yaml).unwrap()["admin_api"], "role:admin or role:root");
        let j = read_overrides(&json).unwrap();
        assert_eq!((j["placement:traits:show"].as_str(), j["empty"].as_str()), ("!", ""));
        std::fs::write(&json, "[1, 2]").unwrap();
        assert!(read_overrides(&json).is_err());
        std::fs::write(&json, "a: [b").unwrap();
        assert!(read_overrides(&json).is_err());
        std::fs::write(&json, "").unwrap();
        assert!(read_overrides(&json).unwrap().is_empty());
        assert_eq!(dir_files(std::slice::from_ref(&dir)).unwrap(), [yaml, json]);
    }
}
