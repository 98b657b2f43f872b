//! The `GET /allocation_candidates` request language: request groups
//! (unsuffixed and suffixed, each with resources, required traits,
//! member_of and in_tree) and the request-wide parameters (limit,
//! group_policy, root_required, same_subtree). Parsing follows upstream's
//! order, so the first error reported is the one upstream reports.

use std::collections::{BTreeSet, HashMap};

use crate::error::ErrorCode;
use crate::microversion::Microversion;
use crate::query::{self, AggregateFilter, ResourceAmounts, TraitFilter};

/// One request group. The unsuffixed group may spread over a tree and
/// sharing providers; a suffixed group must be satisfied by one provider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestGroup {
    /// The key suffix (`1`, `_NET`, ...); empty for the unsuffixed group.
    pub suffix: String,
    /// The group's `resources` amounts.
    pub resources: ResourceAmounts,
    /// The group's `required` traits.
    pub traits: TraitFilter,
    /// The group's `member_of` aggregates.
    pub member_of: AggregateFilter,
    /// The group's `in_tree` provider uuid, if given.
    pub in_tree: Option<String>,
}

impl RequestGroup {
    /// True for a suffixed group, which one provider must satisfy.
    pub fn use_same_provider(&self) -> bool {
        !self.suffix.is_empty()
    }
}

/// The `group_policy` parameter: how suffixed groups may share providers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GroupPolicy {
    /// `none`: suffixed groups may be served by the same provider.
    None,
    /// `isolate`: each suffixed group needs a provider of its own.
    Isolate,
}

/// Parameters that apply to the request as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestWide {
    /// `limit`: most candidates to return.
    pub limit: Option<usize>,
    /// `group_policy`, if given.
    pub group_policy: Option<GroupPolicy>,
    /// `root_required` traits the root of each candidate's tree must have.
    pub root_required: BTreeSet<String>,
    /// `root_required` traits (as `!NAME`) the root must not have.
    pub root_forbidden: BTreeSet<String>,
    /// Each `same_subtree` value: group suffixes whose providers must lie
    /// in one subtree, rooted at one of those providers.
    pub same_subtrees: Vec<BTreeSet<String>>,
}

/// A parsed candidates request: groups in the order their first parameter
/// appeared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CandidateRequest {
    /// The request groups.
    pub groups: Vec<RequestGroup>,
    /// The request-wide parameters.
    pub wide: RequestWide,
}

/// A refused request: HTTP 400 with this message and code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    /// Upstream's error text.
    pub message: String,
    /// The `placement.*` code to send with it.
    pub code: ErrorCode,
}

fn bad(message: impl Into<String>) -> RequestError {
    RequestError { message: message.into(), code: ErrorCode::Default }
}

fn bad_with(code: ErrorCode, message: impl Into<String>) -> RequestError {
    RequestError { message: message.into(), code }
}

/// Python's repr of a list of strings.
fn py_list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let inner: Vec<String> = items.into_iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", inner.join(", "))
}

const PREFIXES: [&str; 4] = ["resources", "required", "member_of", "in_tree"];

/// Split a group key into prefix and suffix, if it is one.
fn group_key(key: &str, verbose_suffix: bool) -> Option<(&'static str, &str)> {
    PREFIXES.iter().find_map(|prefix| {
        let suffix = key.strip_prefix(prefix)?;
        let valid = if suffix.is_empty() {
            true
        } else if verbose_suffix {
            suffix.len() <= 64 && suffix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        } else {
            suffix.starts_with(|c: char| ('1'..='9').contains(&c)) && suffix.bytes().all(|b| b.is_ascii_digit())
        };
        valid.then_some((*prefix, suffix))
    })
}

fn values<'a>(query: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    query.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

fn parse_wide(query: &[(String, String)]) -> Result<RequestWide, RequestError> {
    let mut wide = RequestWide {
        limit: values(query, "limit").first().and_then(|l| l.parse().ok()),
        group_policy: match values(query, "group_policy").first() {
            Some(&"isolate") => Some(GroupPolicy::Isolate),
            Some(&"none") => Some(GroupPolicy::None),
            _ => None,
        },
        ..Default::default()
    };
    let root = values(query, "root_required");
    if root.len() > 1 {
        return Err(bad_with(
            ErrorCode::QueryDuplicateKey,
            "Query parameter 'root_required' may be specified only once.",
        ));
    }
    if let Some(value) = root.first() {
        let parsed = query::parse_required(&[value], true, false).map_err(bad)?;
        let required: BTreeSet<String> = parsed.required.into_iter().flatten().collect();
        let conflicts: Vec<&String> = parsed.forbidden.intersection(&required).collect();
        if !conflicts.is_empty() {
            return Err(bad_with(
                ErrorCode::QueryBadValue,
                format!(
                    "Conflicting required and forbidden traits found in root_required: {}",
                    conflicts.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        wide.root_required = required;
        wide.root_forbidden = parsed.forbidden;
    }
    for value in values(query, "same_subtree") {
        let suffixes: BTreeSet<String> = value.split(',').map(|s| s.trim().to_string()).collect();
        if suffixes.contains("") {
            return Err(bad_with(
                ErrorCode::QueryBadValue,
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ",
            ));
        }
        wide.same_subtrees.push(suffixes);
    }
    Ok(wide)
}

/// Most request groups one request may name. Nova asks for a handful per
/// instance (one per port with a QoS policy, one per PCI device request).
pub const MAX_GROUPS: usize = 256;

fn parse_groups(query: &[(String, String)], v: Microversion) -> Result<Vec<RequestGroup>, RequestError> {
    // One pass to collect each key's values; a repeated `required` or
    // `member_of` key is parsed whole at its first appearance (where its
    // first error would surface) and taken out: linear in the parameters.
    let mut by_key: HashMap<&str, Vec<&str>> = HashMap::new();
    for (key, value) in query {
        by_key.entry(key.as_str()).or_default().push(value.as_str());
    }
    let mut groups: Vec<RequestGroup> = Vec::new();
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for (key, value) in query {
        let Some((prefix, suffix)) = group_key(key, v.at_least(33)) else {
            continue;
        };
        let index = match index_of.get(suffix) {
            Some(i) => *i,
            None => {
                if groups.len() == MAX_GROUPS {
                    return Err(bad_with(
                        ErrorCode::QueryBadValue,
                        format!("Too many request groups: at most {MAX_GROUPS} may be given."),
                    ));
                }
                groups.push(RequestGroup { suffix: suffix.to_string(), ..Default::default() });
                index_of.insert(suffix, groups.len() - 1);
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        match prefix {
            "resources" => group.resources = query::parse_resources(value).map_err(bad)?,
            "required" => {
                if let Some(values) = by_key.remove(key.as_str()) {
                    group.traits = query::parse_required(&values, v.at_least(22), v.at_least(39)).map_err(bad)?;
                }
            }
            "member_of" => {
                if let Some(values) = by_key.remove(key.as_str()) {
                    group.member_of =
                        query::parse_member_of(&values, suffix, v.at_least(24), v.at_least(32)).map_err(bad)?;
                }
            }
            _ => group.in_tree = Some(query::parse_in_tree(value).map_err(bad)?),
        }
    }
    Ok(groups)
}

fn check_same_subtree(groups: &[RequestGroup], wide: &RequestWide) -> Result<(), RequestError> {
    let resourceless: Vec<&String> = groups.iter().filter(|g| g.resources.is_empty()).map(|g| &g.suffix).collect();
    if resourceless.len() == groups.len() {
        return Err(bad_with(
            ErrorCode::QueryMissingValue,
            "There must be at least one resources or resources[$S] parameter.",
        ));
    }
    let subtree: BTreeSet<&String> = wide.same_subtrees.iter().flatten().collect();
    let loose: Vec<&String> = resourceless.into_iter().filter(|s| !subtree.contains(s)).collect();
    if !loose.is_empty() {
        return Err(bad_with(
            ErrorCode::QueryBadValue,
            format!(
                "Resourceless suffixed group request should be specified in `same_subtree` query param: \
                 bad group(s) - {}.",
                py_list(loose)
            ),
        ));
    }
    let unknown: Vec<&String> = subtree.into_iter().filter(|s| !groups.iter().any(|g| &g.suffix == *s)).collect();
    if !unknown.is_empty() {
        return Err(bad_with(
            ErrorCode::QueryBadValue,
            format!(
                "Real suffixes should be specified in `same_subtree`: {} not found in {}.",
                py_list(unknown),
                py_list(groups.iter().map(|g| &g.suffix))
            ),
        ));
    }
    Ok(())
}

fn check_orphans(groups: &[RequestGroup]) -> Result<(), RequestError> {
    let orphans: Vec<String> = groups
        .iter()
        .filter(|g| !g.traits.required.is_empty() && g.resources.is_empty())
        .map(|g| format!("required{}", g.suffix))
        .collect();
    if !orphans.is_empty() {
        return Err(bad(format!(
            "All traits parameters must be associated with resources.  Found the following orphaned \
             traits keys: {}",
            orphans.join(", ")
        )));
    }
    let orphans: Vec<String> = groups
        .iter()
        .filter(|g| g.resources.is_empty() && !g.member_of.is_empty())
        .map(|g| format!("member_of{}", g.suffix))
        .collect();
    if !orphans.is_empty() {
        return Err(bad(format!(
            "All member_of parameters must be associated with resources. Found the following orphaned \
             member_of keys: {}",
            orphans.join(", ")
        )));
    }
    if groups.iter().any(|g| g.resources.is_empty()) {
        return Err(bad("All request groups must specify resources."));
    }
    if groups.is_empty() {
        return Err(bad("At least one request group (`resources` or `resources{$S}`) is required."));
    }
    Ok(())
}

fn check_forbidden(groups: &[RequestGroup]) -> Result<(), RequestError> {
    let mut conflicts: Vec<String> = groups
        .iter()
        .flat_map(|g| {
            g.traits.required.iter().filter(|any| any.iter().all(|t| g.traits.forbidden.contains(t))).map(move |any| {
                format!("required{}: ({})", g.suffix, any.iter().cloned().collect::<Vec<_>>().join(", "))
            })
        })
        .collect();
    if conflicts.is_empty() {
        return Ok(());
    }
    conflicts.sort();
    Err(bad(format!(
        "Conflicting required and forbidden traits found in the following traits keys: {}",
        conflicts.join(", ")
    )))
}

/// Parse a candidates query (already checked against the version's schema).
pub fn parse(query: &[(String, String)], v: Microversion) -> Result<CandidateRequest, RequestError> {
    let wide = parse_wide(query)?;
    let groups = parse_groups(query, v)?;
    if v.at_least(36) {
        check_same_subtree(&groups, &wide)?;
    } else {
        check_orphans(&groups)?;
    }
    if v.at_least(22) {
        check_forbidden(&groups)?;
    }
    if wide.group_policy.is_none() && groups.iter().filter(|g| g.use_same_provider()).count() > 1 {
        return Err(bad("The \"group_policy\" parameter is required when specifying more than one \"resources{N}\" \
             parameter."));
    }
    Ok(CandidateRequest { groups, wide })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Vec<(String, String)> {
        text.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn v(minor: u16) -> Microversion {
        Microversion::new(1, minor)
    }

    #[test]
    fn groups_keep_their_order_and_suffixes() {
        let r = parse(&q("resources=VCPU:1&resources1=SRIOV_NET_VF:2&required1=CUSTOM_A&group_policy=isolate"), v(25))
            .unwrap();
        assert_eq!(r.groups.len(), 2);
        assert_eq!(r.groups[1].suffix, "1");
        assert_eq!(r.groups[1].traits.required.len(), 1);
        assert_eq!(r.wide.group_policy, Some(GroupPolicy::Isolate));
    }

    #[test]
    fn string_suffixes_need_1_33() {
        assert_eq!(
            parse(&q("resources_COMPUTE=VCPU:1"), v(32)).unwrap_err().message,
            "At least one request group (`resources` or `resources{$S}`) is required."
        );
        assert_eq!(parse(&q("resources_COMPUTE=VCPU:1"), v(33)).unwrap().groups[0].suffix, "_COMPUTE");
    }

    #[test]
    fn several_granular_groups_need_a_policy() {
        let e = parse(&q("resources1=VCPU:1&resources2=VCPU:1"), v(25)).unwrap_err();
        assert!(e.message.starts_with("The \"group_policy\" parameter is required"));
    }

    #[test]
    fn orphans_and_forbidden_conflicts() {
        let e = parse(&q("resources=VCPU:1&required1=CUSTOM_A&required=CUSTOM_B"), v(25)).unwrap_err();
        assert!(e.message.ends_with("orphaned traits keys: required1"), "{}", e.message);
        let e = parse(&q("resources=VCPU:1&required=CUSTOM_A,!CUSTOM_A"), v(25)).unwrap_err();
        assert!(e.message.ends_with("traits keys: required: (CUSTOM_A)"), "{}", e.message);
    }

    #[test]
    fn same_subtree_rules_from_1_36() {
        let ok = parse(&q("resources1=VCPU:1&required2=CUSTOM_A&same_subtree=1,2&group_policy=none"), v(36));
        assert!(ok.is_ok(), "{ok:?}");
        let e = parse(&q("resources1=VCPU:1&required2=CUSTOM_A&group_policy=none"), v(36)).unwrap_err();
        assert_eq!(e.code, ErrorCode::QueryBadValue);
        assert!(e.message.contains("bad group(s) - ['2']."), "{}", e.message);
        let e = parse(&q("required2=CUSTOM_A&same_subtree=2"), v(36)).unwrap_err();
        assert_eq!(e.code, ErrorCode::QueryMissingValue);
        let e = parse(&q("resources=VCPU:1&same_subtree=,1"), v(36)).unwrap_err();
        assert!(e.message.starts_with("Empty string (unsuffixed group)"));
    }

    #[test]
    fn root_required_once_and_without_conflicts() {
        let e = parse(&q("resources=VCPU:1&root_required=A&root_required=B"), v(35)).unwrap_err();
        assert_eq!(e.code, ErrorCode::QueryDuplicateKey);
        let e = parse(&q("resources=VCPU:1&root_required=A,!A"), v(35)).unwrap_err();
        assert_eq!(e.message, "Conflicting required and forbidden traits found in root_required: A");
        let r = parse(&q("resources=VCPU:1&root_required=A,!B"), v(35)).unwrap();
        assert_eq!(r.wide.root_forbidden, BTreeSet::from(["B".to_string()]));
    }

    #[test]
    fn repeated_keys_are_parsed_once_and_groups_are_capped() {
        let many: String = (0..900).map(|i| format!("required=CUSTOM_T{i}&")).collect();
        let r = parse(&q(&format!("{many}resources=VCPU:1")), v(39)).unwrap();
        assert_eq!(r.groups[0].traits.required.len(), 900);
        let ok: String = (1..=MAX_GROUPS).map(|i| format!("resources{i}=VCPU:1&")).collect();
        assert_eq!(parse(&q(&format!("{ok}group_policy=none")), v(25)).unwrap().groups.len(), MAX_GROUPS);
        let e = parse(&q(&format!("{ok}resources0_X=VCPU:1&group_policy=none")), v(33)).unwrap_err();
        assert_eq!(e.code, ErrorCode::QueryBadValue);
        assert!(e.message.starts_with("Too many request groups"), "{}", e.message);
    }

    #[test]
    fn forbidden_member_of_needs_1_32() {
        let e = parse(&q("resources=VCPU:1&member_of=!in:282d469e-29e2-4a8a-8f2e-31b3202b696a"), v(31)).unwrap_err();
        assert_eq!(e.message, "Forbidden member_of parameters are not supported in the specified microversion");
    }
}
