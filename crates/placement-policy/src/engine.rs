//! Casbin deciding from policy lines: one enforcer per rule, holding the
//! rule's lines and those of the rules it inherits through `g`, so that a
//! decision matches only the few lines that can apply. The model is
//! `policies/model.conf`; `hasRole` is the one function it adds.

use std::collections::{BTreeSet, HashMap, VecDeque};

use casbin::function_map::OperatorFunction;
use casbin::rhai::Dynamic;
use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};

use crate::PolicyError;
use crate::translate::Line;

pub const MODEL: &str = include_str!("../../../policies/model.conf");

/// Casbin's role manager follows at most this many `g` links.
const MAX_INHERITANCE: usize = 9;

/// `hasRole(r.roles, p.role)`: `*`, or one of the caller's (lower-cased)
/// roles.
fn has_role(roles: Dynamic, role: Dynamic) -> Dynamic {
    let Ok(role) = role.into_immutable_string() else { return Dynamic::FALSE };
    if role.as_str() == "*" {
        return Dynamic::TRUE;
    }
    let found = roles.into_array().is_ok_and(|roles| {
        roles.into_iter().any(|r| r.into_immutable_string().is_ok_and(|r| r.as_str() == role.as_str()))
    });
    Dynamic::from(found)
}

/// The request Casbin matches: `r = act, roles, scope, project,
/// target_project, user, target_user`.
pub struct Request<'a> {
    pub rule: &'a str,
    pub roles: Vec<String>,
    pub scope: &'a str,
    pub project: &'a str,
    pub target_project: &'a str,
    pub user: &'a str,
    pub target_user: &'a str,
}

pub struct Engine {
    enforcers: HashMap<String, Enforcer>,
}

impl Engine {
    pub async fn build(lines: &[Line]) -> Result<Engine, PolicyError> {
        let mut inherits: HashMap<&str, Vec<&str>> = HashMap::new();
        for line in lines {
            if let Line::G { rule, inherited } = line {
                inherits.entry(rule).or_default().push(inherited);
            }
        }
        let rules: BTreeSet<&str> = lines.iter().map(Line::rule).collect();
        let mut enforcers = HashMap::new();
        for rule in rules {
            let closure = closure(rule, &inherits)?;
            let mine: Vec<&Line> = lines.iter().filter(|l| closure.contains(l.rule())).collect();
            enforcers.insert(rule.to_string(), enforcer(&mine).await?);
        }
        Ok(Engine { enforcers })
    }

    pub fn allows(&self, request: Request<'_>) -> Result<bool, PolicyError> {
        let Some(enforcer) = self.enforcers.get(request.rule) else {
            // No line allows anything under this name.
            return Ok(false);
        };
        enforcer
            .enforce((
                request.rule,
                request.roles,
                request.scope,
                request.project,
                request.target_project,
                request.user,
                request.target_user,
            ))
            .map_err(|e| PolicyError::Engine(e.to_string()))
    }
}

/// `rule` and every rule it inherits from, directly or not.
fn closure<'a>(rule: &'a str, inherits: &HashMap<&'a str, Vec<&'a str>>) -> Result<BTreeSet<&'a str>, PolicyError> {
    let mut seen = BTreeSet::from([rule]);
    let mut queue = VecDeque::from([(rule, 0usize)]);
    while let Some((at, depth)) = queue.pop_front() {
        for next in inherits.get(at).into_iter().flatten() {
            if depth + 1 > MAX_INHERITANCE {
                return Err(PolicyError::Engine(format!(
                    "rule {rule:?} inherits through more than {MAX_INHERITANCE} rules"
                )));
            }
            if *next == rule {
                return Err(PolicyError::Engine(format!("rule {rule:?} inherits from itself")));
            }
            if seen.insert(next) {
                queue.push_back((next, depth + 1));
            }
        }
    }
    Ok(seen)
}

async fn enforcer(lines: &[&Line]) -> Result<Enforcer, PolicyError> {
    let engine_error = |e: casbin::Error| PolicyError::Engine(e.to_string());
    let model = DefaultModel::from_str(MODEL).await.map_err(engine_error)?;
    let mut enforcer = Enforcer::new(model, MemoryAdapter::default()).await.map_err(engine_error)?;
    enforcer.add_function("hasRole", OperatorFunction::Arg2(has_role));
    let p: Vec<Vec<String>> = lines.iter().filter(|l| matches!(l, Line::P { .. })).map(|l| l.fields()).collect();
    let g: Vec<Vec<String>> = lines.iter().filter(|l| matches!(l, Line::G { .. })).map(|l| l.fields()).collect();
    if !p.is_empty() {
        enforcer.add_policies(p).await.map_err(engine_error)?;
    }
    if !g.is_empty() {
        enforcer.add_grouping_policies(g).await.map_err(engine_error)?;
    }
    Ok(enforcer)
}
