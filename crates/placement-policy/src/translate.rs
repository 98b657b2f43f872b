//! oslo.policy check strings as Casbin policy lines. A check is put in
//! disjunctive normal form; each conjunction becomes one `p` line (a role,
//! a scope, an ownership, each `*` when the clause does not ask), and a
//! conjunction that is only `rule:x` becomes `g, rule, x`: the rule
//! inherits x's lines. What a line cannot say exactly (two roles in one
//! clause, `not role:x`, a generic check on another attribute) is an error
//! naming the rule, never an approximation.

use std::collections::HashMap;
use std::fmt;

use crate::check::{Check, parse};

/// Which defaults a line belongs to: upstream's current ones, or the
/// deprecated ones still honoured while `enforce_new_defaults` is False.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Set {
    Default,
    Legacy,
}

impl Set {
    pub fn as_str(self) -> &'static str {
        match self {
            Set::Default => "default",
            Set::Legacy => "legacy",
        }
    }
}

/// One Casbin policy line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Line {
    /// `p, rule, role, scope, owner, set`: the rule allows a caller with
    /// `role` (or any, `*`), in `scope` (`system` for `system_scope:all`,
    /// or `*`), who owns the target (`project`, `user`, or `*`).
    P { rule: String, role: String, scope: String, owner: String, set: Set },
    /// `g, rule, inherited`: the rule allows whom `inherited` allows.
    G { rule: String, inherited: String },
}

impl Line {
    pub fn rule(&self) -> &str {
        match self {
            Line::P { rule, .. } | Line::G { rule, .. } => rule,
        }
    }

    /// The line as Casbin's CSV adapter reads it.
    pub fn fields(&self) -> Vec<String> {
        match self {
            Line::P { rule, role, scope, owner, set } => {
                vec![rule.clone(), role.clone(), scope.clone(), owner.clone(), set.as_str().to_string()]
            }
            Line::G { rule, inherited } => vec![rule.clone(), inherited.clone()],
        }
    }

    /// Read a line of `policies/policy.csv`.
    pub fn parse(text: &str) -> Option<Line> {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        match fields.as_slice() {
            ["p", rule, role, scope, owner, set] => Some(Line::P {
                rule: rule.to_string(),
                role: role.to_string(),
                scope: scope.to_string(),
                owner: owner.to_string(),
                set: match *set {
                    "default" => Set::Default,
                    "legacy" => Set::Legacy,
                    _ => return None,
                },
            }),
            ["g", rule, inherited] => Some(Line::G { rule: rule.to_string(), inherited: inherited.to_string() }),
            _ => None,
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if matches!(self, Line::P { .. }) { "p" } else { "g" };
        write!(f, "{kind}, {}", self.fields().join(", "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy rule {rule:?}: {message}")]
pub struct TranslateError {
    pub rule: String,
    pub message: String,
}

/// Rules may refer to each other; deeper nesting than this is a loop.
const MAX_DEPTH: usize = 16;
/// Conjunctions one rule may expand to.
const MAX_CLAUSES: usize = 256;

#[derive(Clone, Debug, PartialEq)]
enum Atom {
    Role(String),
    Owner(&'static str),
    SystemScope,
    Rule(String),
}

type Clause = Vec<Atom>;

struct Translator<'a> {
    rule: &'a str,
    /// The effective check string of every rule, for expanding a
    /// reference that is not a whole conjunction.
    checks: &'a HashMap<String, String>,
}

impl Translator<'_> {
    fn error(&self, message: impl Into<String>) -> TranslateError {
        TranslateError { rule: self.rule.to_string(), message: message.into() }
    }

    fn dnf(&self, check: &Check) -> Result<Vec<Clause>, TranslateError> {
        Ok(match check {
            Check::Always => vec![Vec::new()],
            Check::Never => Vec::new(),
            Check::Role(role) if role.contains("%(") => {
                return Err(self.error(format!("role:{role} names a target value; roles must be literal")));
            }
            Check::Role(role) => vec![vec![Atom::Role(role.to_lowercase())]],
            Check::Rule(name) => vec![vec![Atom::Rule(name.clone())]],
            Check::Generic { kind, matched } => vec![vec![self.generic(kind, matched)?]],
            Check::Not(inner) => match inner.as_ref() {
                Check::Always => Vec::new(),
                Check::Never => vec![Vec::new()],
                other => return Err(self.error(format!("`not` can only negate @ or ! here, not {other:?}"))),
            },
            Check::Malformed(word) => return Err(self.error(format!("{word:?} is not a check"))),
            Check::Or(parts) => {
                let mut out = Vec::new();
                for part in parts {
                    out.extend(self.dnf(part)?);
                }
                self.bounded(out)?
            }
            Check::And(parts) => {
                let mut out: Vec<Clause> = vec![Vec::new()];
                for part in parts {
                    let alternatives = self.dnf(part)?;
                    let mut next = Vec::new();
                    for left in &out {
                        for right in &alternatives {
                            next.push(left.iter().chain(right).cloned().collect());
                        }
                    }
                    out = self.bounded(next)?;
                }
                out
            }
        })
    }

    fn bounded(&self, clauses: Vec<Clause>) -> Result<Vec<Clause>, TranslateError> {
        if clauses.len() > MAX_CLAUSES {
            return Err(self.error(format!("expands to more than {MAX_CLAUSES} alternatives")));
        }
        Ok(clauses)
    }

    fn generic(&self, kind: &str, matched: &str) -> Result<Atom, TranslateError> {
        match (kind, matched) {
            ("project_id", "%(project_id)s") => Ok(Atom::Owner("project")),
            ("user_id", "%(user_id)s") => Ok(Atom::Owner("user")),
            ("system_scope", "all") => Ok(Atom::SystemScope),
            _ => Err(self.error(format!(
                "{kind}:{matched} cannot be expressed as a policy line (supported: role:NAME, rule:NAME, \
                 project_id:%(project_id)s, user_id:%(user_id)s, system_scope:all, @, !)"
            ))),
        }
    }

    /// Replace the rule references of a clause by the referenced rules'
    /// alternatives.
    fn expand(&self, clause: Clause, depth: usize) -> Result<Vec<Clause>, TranslateError> {
        let Some(at) = clause.iter().position(|a| matches!(a, Atom::Rule(_))) else {
            return Ok(vec![clause]);
        };
        if depth >= MAX_DEPTH {
            return Err(self.error("rule references nest too deep (a loop?)"));
        }
        let Atom::Rule(name) = &clause[at] else { unreachable!("position found a rule") };
        let Some(text) = self.checks.get(name) else {
            // oslo.policy: a reference to no rule fails.
            return Ok(Vec::new());
        };
        let inner = self.dnf(&parse(text).map_err(|e| self.error(format!("via rule:{name}: {e}")))?)?;
        let mut out = Vec::new();
        for alternative in inner {
            let mut merged: Clause = clause[..at].to_vec();
            merged.extend(alternative);
            merged.extend(clause[at + 1..].iter().cloned());
            out.extend(self.expand(merged, depth + 1)?);
        }
        self.bounded(out)
    }

    fn line(&self, clause: &[Atom], set: Set) -> Result<Line, TranslateError> {
        let mut role: Option<&str> = None;
        let mut owner: Option<&str> = None;
        let mut scope = "*";
        for atom in clause {
            match atom {
                Atom::Role(r) => match role {
                    Some(other) if other != r => {
                        return Err(self.error(format!("role:{other} and role:{r} in one clause")));
                    }
                    _ => role = Some(r),
                },
                Atom::Owner(o) => match owner {
                    Some(other) if other != *o => {
                        return Err(self.error("project_id and user_id ownership in one clause"));
                    }
                    _ => owner = Some(o),
                },
                Atom::SystemScope => scope = "system",
                Atom::Rule(_) => unreachable!("expanded before"),
            }
        }
        Ok(Line::P {
            rule: self.rule.to_string(),
            role: role.unwrap_or("*").to_string(),
            scope: scope.to_string(),
            owner: owner.unwrap_or("*").to_string(),
            set,
        })
    }
}

/// The lines of `rule` whose check string is `text`, in `set`. A clause
/// that is a single rule reference becomes a `g` line when `inherit` (the
/// referenced rule's own lines then apply); otherwise references are
/// expanded from `checks`.
pub fn translate(
    rule: &str,
    text: &str,
    checks: &HashMap<String, String>,
    set: Set,
    inherit: bool,
) -> Result<Vec<Line>, TranslateError> {
    let t = Translator { rule, checks };
    let check = parse(text).map_err(|e| t.error(e))?;
    let mut lines = Vec::new();
    for clause in t.dnf(&check)? {
        match clause.as_slice() {
            [Atom::Rule(name)] if inherit => {
                if name == rule {
                    return Err(t.error("refers to itself"));
                }
                lines.push(Line::G { rule: rule.to_string(), inherited: name.clone() });
            }
            _ => {
                for expanded in t.expand(clause, 0)? {
                    lines.push(t.line(&expanded, set)?);
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    lines.retain(|l| seen.insert(l.clone()));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn lines(rule: &str, text: &str, inherit: bool) -> Result<Vec<String>, TranslateError> {
        let c = checks(&[("admin_api", "role:admin"), ("reader", "role:reader and project_id:%(project_id)s")]);
        Ok(translate(rule, text, &c, Set::Default, inherit)?.iter().map(Line::to_string).collect())
    }

    #[test]
    fn roles_scope_and_ownership_become_fields() {
        assert_eq!(
            lines("r", "role:Admin or role:service", true).unwrap(),
            ["p, r, admin, *, *, default", "p, r, service, *, *, default"]
        );
        assert_eq!(
            lines("r", "role:reader and project_id:%(project_id)s", true).unwrap(),
            ["p, r, reader, *, project, default"]
        );
        assert_eq!(
            lines("r", "user_id:%(user_id)s or (role:admin and system_scope:all)", true).unwrap(),
            ["p, r, *, *, user, default", "p, r, admin, system, *, default"]
        );
        assert_eq!(lines("r", "@", true).unwrap(), ["p, r, *, *, *, default"]);
        assert_eq!(lines("r", "", true).unwrap(), ["p, r, *, *, *, default"]);
        assert!(lines("r", "!", true).unwrap().is_empty());
        assert!(lines("r", "role:admin and !", true).unwrap().is_empty());
        assert_eq!(lines("r", "not !", true).unwrap(), ["p, r, *, *, *, default"]);
    }

    #[test]
    fn references_are_inherited_or_expanded() {
        assert_eq!(
            lines("r", "rule:admin_api or role:service", true).unwrap(),
            ["g, r, admin_api", "p, r, service, *, *, default"]
        );
        assert_eq!(lines("r", "rule:admin_api", false).unwrap(), ["p, r, admin, *, *, default"]);
        assert_eq!(lines("r", "rule:reader and role:reader", true).unwrap(), ["p, r, reader, *, project, default"]);
        assert!(lines("r", "rule:missing and role:admin", true).unwrap().is_empty(), "a missing rule fails");
    }

    #[test]
    fn what_a_line_cannot_say_is_an_error_naming_the_rule() {
        for text in [
            "role:admin and role:service",
            "not role:admin",
            "is_admin:True",
            "project_id:abc",
            "http://example.com/check",
            "role:%(target.role)s",
            "role:admin and",
            "admin",
            "project_id:%(project_id)s and user_id:%(user_id)s",
        ] {
            let e = lines("my:rule", text, true).unwrap_err();
            assert_eq!(e.rule, "my:rule", "{text}");
        }
        let c = checks(&[("loop", "rule:loop and role:a")]);
        assert!(translate("loop", "rule:loop and role:a", &c, Set::Default, true).is_err());
        assert!(translate("x", "rule:x", &c, Set::Default, true).is_err());
    }

    #[test]
    fn csv_round_trip() {
        for line in lines("placement:usages", "rule:admin_api or rule:reader and @", true).unwrap() {
            assert_eq!(Line::parse(&line).unwrap().to_string(), line);
        }
        assert_eq!(Line::parse("p, a, b, c"), None);
    }
}
