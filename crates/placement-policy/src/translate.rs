//! Turn parsed checks into the Casbin matcher expressions (Rhai) that
//! `policies/model.conf` evaluates with `eval(p.rule)`. `r.sub` is the
//! credentials map, `r.obj` the target map.

use std::collections::HashMap;

use crate::check::{Check, parse};

/// Rules may refer to each other; deeper nesting than this is a loop.
const MAX_DEPTH: usize = 16;

/// Translate the rule `name` from the effective check strings of all rules.
pub fn rule_expression(name: &str, checks: &HashMap<String, String>) -> String {
    match checks.get(name) {
        Some(text) => expression(&parse(text), checks, 0),
        None => "false".to_string(),
    }
}

fn expression(check: &Check, checks: &HashMap<String, String>, depth: usize) -> String {
    match check {
        Check::Always => "true".to_string(),
        Check::Never => "false".to_string(),
        Check::Rule(name) => match checks.get(name) {
            Some(text) if depth < MAX_DEPTH => expression(&parse(text), checks, depth + 1),
            _ => "false".to_string(),
        },
        Check::Role(role) => format!("r.sub.roles.contains({})", literal(role)),
        Check::Generic { kind, matched } => generic(kind, matched),
        Check::Not(inner) => format!("!({})", expression(inner, checks, depth)),
        Check::And(parts) => join(parts, " && ", checks, depth),
        Check::Or(parts) => join(parts, " || ", checks, depth),
    }
}

fn join(parts: &[Check], op: &str, checks: &HashMap<String, String>, depth: usize) -> String {
    let inner: Vec<String> = parts.iter().map(|p| format!("({})", expression(p, checks, depth))).collect();
    inner.join(op)
}

/// `kind:match`: the match may interpolate target values; a missing target
/// key fails the check. A literal kind (`True`, `'x'`, a number) is
/// compared as text; otherwise the credential of that name is.
fn generic(kind: &str, matched: &str) -> String {
    let (template, keys) = template(matched);
    let mut conds: Vec<String> = keys.iter().map(|k| format!("{} in r.obj", literal(k))).collect();
    let literal_kind = match kind {
        "True" | "False" => Some(kind.to_string()),
        k if k.parse::<f64>().is_ok() => Some(k.to_string()),
        _ => None,
    };
    conds.push(match literal_kind {
        Some(value) => format!("{template} == {}", literal(&value)),
        None if kind == "roles" || kind == "service_roles" => format!("r.sub.{kind}.contains({template})"),
        None => format!("({} in r.sub) && r.sub[{}] == {template}", literal(kind), literal(kind)),
    });
    conds.join(" && ")
}

/// `%(key)s` pieces become target lookups; returns the string expression
/// and the keys it needs.
fn template(matched: &str) -> (String, Vec<String>) {
    let mut parts = Vec::new();
    let mut keys = Vec::new();
    let mut rest = matched;
    while let Some(start) = rest.find("%(") {
        let Some(len) = rest[start..].find(")s") else {
            break;
        };
        if start > 0 {
            parts.push(literal(&rest[..start]));
        }
        let key = &rest[start + 2..start + len];
        parts.push(format!("r.obj[{}]", literal(key)));
        keys.push(key.to_string());
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(literal(rest));
    }
    (format!("({})", parts.join(" + ")), keys)
}

fn literal(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn rule_references_are_inlined_and_loops_fail_closed() {
        let r = rules(&[("a", "rule:b"), ("b", "role:admin"), ("loop", "rule:loop")]);
        assert_eq!(rule_expression("a", &r), "r.sub.roles.contains(\"admin\")");
        assert!(rule_expression("loop", &r).ends_with("false"));
        assert_eq!(rule_expression("missing", &r), "false");
    }

    #[test]
    fn target_interpolation() {
        let e = generic("project_id", "%(project_id)s");
        assert_eq!(
            e,
            "\"project_id\" in r.obj && (\"project_id\" in r.sub) && r.sub[\"project_id\"] == (r.obj[\"project_id\"])"
        );
    }
}
