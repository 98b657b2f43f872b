//! Parsers for the filter query parameters shared by
//! `GET /resource_providers` and `GET /allocation_candidates`:
//! `resources`, `required` (traits) and `member_of` (aggregates).
//! Errors carry upstream's exact wording; they are all HTTP 400.

use std::collections::BTreeSet;

use uuid::Uuid;

/// Trait constraints: every inner set is an any-of group (AND of ORs), plus
/// traits that must be absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraitFilter {
    /// Any-of groups of trait names; a provider needs one of each.
    pub required: Vec<BTreeSet<String>>,
    /// Trait names (given as `!NAME`) a provider must not have.
    pub forbidden: BTreeSet<String>,
}

impl TraitFilter {
    /// True when no trait is required or forbidden.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.forbidden.is_empty()
    }

    /// Every trait named, required or forbidden.
    pub fn all_names(&self) -> BTreeSet<String> {
        self.required.iter().flatten().chain(&self.forbidden).cloned().collect()
    }

    fn extend(&mut self, other: TraitFilter) {
        self.required.extend(other.required);
        self.forbidden.extend(other.forbidden);
    }
}

/// Aggregate constraints: every inner set is an any-of group, plus
/// aggregates a provider must not be in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AggregateFilter {
    /// Any-of groups of aggregate uuids; a provider must be in one of each.
    pub required: Vec<BTreeSet<String>>,
    /// Aggregate uuids (from `!` or `!in:`) a provider must not be in.
    pub forbidden: BTreeSet<String>,
}

impl AggregateFilter {
    /// True when no aggregate is required or forbidden.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.forbidden.is_empty()
    }
}

/// A requested amount per resource class, in the order given.
pub type ResourceAmounts = Vec<(String, i64)>;

/// Parse `VCPU:2,MEMORY_MB:1024`.
pub fn parse_resources(value: &str) -> Result<ResourceAmounts, String> {
    if value.trim().is_empty() {
        return Err("Badly formed resources parameter. Expected resources query string \
                    parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string."
            .to_string());
    }
    let mut out: ResourceAmounts = Vec::new();
    for item in value.split(',') {
        let mut parts = item.split(':');
        let (Some(name), Some(amount), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "Badly formed resources parameter. Expected resources query string \
                 parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {item}."
            ));
        };
        let Some(amount) = parse_python_int(amount) else {
            return Err(format!("Requested resource {name} expected positive integer amount. Got: {amount}."));
        };
        if amount < 1 {
            return Err(format!("Requested resource {name} requires amount >= 1. Got: {amount}."));
        }
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(existing) => existing.1 = amount,
            None => out.push((name.to_string(), amount)),
        }
    }
    Ok(out)
}

/// Python's `int()` on a query string value: optional sign, digits,
/// surrounding whitespace.
pub fn parse_python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Parse every `required` value of one group. Before 1.39 only the last
/// repetition counts and `in:` is refused.
pub fn parse_required(values: &[&str], allow_forbidden: bool, allow_any_traits: bool) -> Result<TraitFilter, String> {
    let values = if allow_any_traits { values } else { &values[values.len().saturating_sub(1)..] };
    let mut filter = TraitFilter::default();
    for value in values {
        filter.extend(parse_required_value(value, allow_forbidden, allow_any_traits)?);
    }
    Ok(filter)
}

fn parse_required_value(value: &str, allow_forbidden: bool, allow_any_traits: bool) -> Result<TraitFilter, String> {
    if let Some(rest) = value.strip_prefix("in:") {
        if !allow_any_traits {
            return Err(format!(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' \
                 only supported since microversion 1.39. Got: {value}"
            ));
        }
        let any: BTreeSet<String> = rest.split(',').map(|t| t.trim().to_string()).collect();
        if any.iter().any(String::is_empty) {
            return Err(format!(
                "Invalid query string parameters: Expected 'required' parameter value of the \
                 form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {value}"
            ));
        }
        if any.iter().any(|t| t.starts_with('!')) {
            return Err(format!(
                "Invalid query string parameters: The format 'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' \
                 does not support forbidden traits. Got: {value}"
            ));
        }
        return Ok(TraitFilter { required: vec![any], forbidden: BTreeSet::new() });
    }
    let all: Vec<&str> = value.split(',').map(str::trim).collect();
    // Any run of leading '!' marks a forbidden trait, as upstream parses it.
    let forbidden: BTreeSet<String> =
        all.iter().filter(|t| t.starts_with('!')).map(|t| t.trim_start_matches('!').to_string()).collect();
    if all.iter().any(|t| t.is_empty()) || forbidden.iter().any(String::is_empty) {
        let form = if allow_forbidden { "HW_CPU_X86_VMX,!CUSTOM_MAGIC" } else { "HW_CPU_X86_VMX,CUSTOM_MAGIC" };
        return Err(format!(
            "Invalid query string parameters: Expected 'required' parameter value of the \
             form: {form}. Got an empty trait in: {value}"
        ));
    }
    if !forbidden.is_empty() && !allow_forbidden {
        return Err(format!(
            "Invalid query string parameters: Expected 'required' parameter value of the \
             form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}"
        ));
    }
    let required = all.iter().filter(|t| !t.starts_with('!')).map(|t| BTreeSet::from([t.to_string()])).collect();
    Ok(TraitFilter { required, forbidden })
}

/// Parse every `member_of` value of one group (`suffix` names the group in
/// messages). Repetition needs 1.24, forbidden aggregates need 1.32.
pub fn parse_member_of(
    values: &[&str],
    suffix: &str,
    allow_multiple: bool,
    allow_forbidden: bool,
) -> Result<AggregateFilter, String> {
    if !allow_multiple && values.len() > 1 {
        return Err(format!("Multiple member_of{suffix} parameters are not supported"));
    }
    let mut filter = AggregateFilter::default();
    for value in values {
        let (required, forbidden) = parse_member_of_value(value)?;
        if !required.is_empty() {
            filter.required.push(required);
        }
        if !forbidden.is_empty() {
            if !allow_forbidden {
                return Err(format!(
                    "Forbidden member_of{suffix} parameters are not supported in the \
                     specified microversion"
                ));
            }
            filter.forbidden.extend(forbidden);
        }
    }
    Ok(filter)
}

type AggregateSets = (BTreeSet<String>, BTreeSet<String>);

fn parse_member_of_value(value: &str) -> Result<AggregateSets, String> {
    if value.contains(',') && !(value.starts_with("in:") || value.starts_with("!in:")) {
        return Err(format!(
            "Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' \
             keyword using the valid microversion. Got: {value}"
        ));
    }
    let split = |s: &str| s.split(',').map(str::to_string).collect::<BTreeSet<_>>();
    let (required, forbidden) = if let Some(rest) = value.strip_prefix("!in:") {
        (BTreeSet::new(), split(rest))
    } else if let Some(rest) = value.strip_prefix('!') {
        (BTreeSet::new(), BTreeSet::from([rest.to_string()]))
    } else if let Some(rest) = value.strip_prefix("in:") {
        (split(rest), BTreeSet::new())
    } else {
        (BTreeSet::from([value.to_string()]), BTreeSet::new())
    };
    for agg in required.iter().chain(&forbidden) {
        if !is_uuid_like(agg) {
            return Err(format!(
                "Invalid query string parameters: Expected 'member_of' parameter to contain \
                 valid UUID(s). Got: {agg}"
            ));
        }
    }
    Ok((required, forbidden))
}

/// Parse an `in_tree` value: a provider UUID.
pub fn parse_in_tree(value: &str) -> Result<String, String> {
    let trimmed = value.trim();
    if is_uuid_like(trimmed) {
        Ok(trimmed.to_string())
    } else {
        Err(format!(
            "Invalid query string parameters: Expected 'in_tree' parameter to be a format of \
             uuid. Got: {value}"
        ))
    }
}

/// oslo.utils `is_uuid_like`: after dropping `urn:`, `uuid:`, braces and
/// dashes, exactly 32 hex digits remain.
pub fn is_uuid_like(value: &str) -> bool {
    uuid_hex(value).is_some()
}

/// Normalise anything `is_uuid_like` accepts to the dashed lower-case form.
pub fn normalize_uuid(value: &str) -> Option<String> {
    uuid_hex(value).and_then(|hex| Uuid::parse_str(&hex).ok()).map(|u| u.hyphenated().to_string())
}

fn uuid_hex(value: &str) -> Option<String> {
    let hex: String = value
        .replace("urn:", "")
        .replace("uuid:", "")
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "")
        .to_lowercase();
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "5e08ea53-c4c6-448e-9334-ac4953de3cfa";
    const B: &str = "2ac1f2c3-3d9d-4b1a-8d33-6b0d3c4b4f9a";

    #[test]
    fn resources_parse_in_order_and_last_duplicate_wins() {
        assert_eq!(
            parse_resources("VCPU:2,MEMORY_MB:1024,VCPU:3"),
            Ok(vec![("VCPU".into(), 3), ("MEMORY_MB".into(), 1024)])
        );
    }

    #[test]
    fn resources_errors_use_upstream_wording() {
        assert!(parse_resources(" ").unwrap_err().ends_with("Got: empty string."));
        assert!(parse_resources("VCPU").unwrap_err().ends_with("Got: VCPU."));
        assert_eq!(
            parse_resources("VCPU:fred").unwrap_err(),
            "Requested resource VCPU expected positive integer amount. Got: fred."
        );
        assert_eq!(parse_resources("VCPU:-2").unwrap_err(), "Requested resource VCPU requires amount >= 1. Got: -2.");
    }

    #[test]
    fn required_traits_with_forbidden_and_any_of() {
        let f = parse_required(&["A,!B", "in:C,D"], true, true).unwrap();
        assert_eq!(f.required, vec![BTreeSet::from(["A".to_string()]), BTreeSet::from(["C".into(), "D".into()])]);
        assert_eq!(f.forbidden, BTreeSet::from(["B".to_string()]));
    }

    #[test]
    fn before_1_39_only_the_last_required_counts() {
        let f = parse_required(&["A", "B"], true, false).unwrap();
        assert_eq!(f.required, vec![BTreeSet::from(["B".to_string()])]);
        assert!(
            parse_required(&["in:A,B"], true, false).unwrap_err().contains("only supported since microversion 1.39")
        );
    }

    #[test]
    fn forbidden_traits_need_permission() {
        let err = parse_required(&["!A"], false, false).unwrap_err();
        assert!(err.contains("form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: !A"), "{err}");
        let err = parse_required(&["A,,B"], true, false).unwrap_err();
        assert!(err.contains("Got an empty trait in: A,,B"), "{err}");
    }

    #[test]
    fn member_of_forms() {
        let f = parse_member_of(&[A, &format!("in:{A},{B}"), &format!("!{B}")], "", true, true).unwrap();
        assert_eq!(f.required.len(), 2);
        assert_eq!(f.forbidden, BTreeSet::from([B.to_string()]));
        assert!(
            parse_member_of(&[A, B], "", false, false)
                .unwrap_err()
                .contains("Multiple member_of parameters are not supported")
        );
        assert!(
            parse_member_of(&[&format!("!{A}")], "", true, false)
                .unwrap_err()
                .starts_with("Forbidden member_of parameters")
        );
        assert!(
            parse_member_of(&[&format!("{A},{B}")], "", true, true)
                .unwrap_err()
                .starts_with("Multiple values for 'member_of'")
        );
        assert!(parse_member_of(&["nope"], "", true, true).unwrap_err().ends_with("valid UUID(s). Got: nope"));
    }

    #[test]
    fn uuid_like_matches_oslo() {
        assert!(is_uuid_like(A));
        assert!(is_uuid_like(&A.to_uppercase()));
        assert!(is_uuid_like(&A.replace('-', "")));
        assert!(!is_uuid_like("not-a-uuid"));
        assert!(!is_uuid_like(""));
        assert_eq!(normalize_uuid(&A.replace('-', "").to_uppercase()).as_deref(), Some(A));
    }
}
