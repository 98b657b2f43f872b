//! Query parameters of one operation at one version, read from the query
//! schema the handler validates against, with what each means and since
//! when its forms are accepted.

use placement_model::Microversion;
use serde_json::{Value, json};

/// What a query parameter means, and how its syntax grew.
fn describe(name: &str, v: Microversion) -> String {
    match name {
        "resources" => "Amounts wanted, `CLASS:AMOUNT[,CLASS:AMOUNT...]`, e.g. `VCPU:2,MEMORY_MB:1024`.".to_string(),
        "required" => {
            let mut t = "Traits every provider of the answer must have, comma-separated.".to_string();
            if v.at_least(22) {
                t.push_str(" A trait prefixed with `!` must be absent.");
            }
            if v.at_least(39) {
                t.push_str(" `in:A,B` asks for any one of A and B; the parameter may be repeated.");
            }
            t
        }
        "member_of" => {
            let mut t = "An aggregate uuid the provider must be in.".to_string();
            if v.at_least(3) {
                t.push_str(" `in:UUID,UUID` asks for any one of several.");
            }
            if v.at_least(24) {
                t.push_str(" May be repeated: each one must hold.");
            }
            if v.at_least(32) {
                t.push_str(" `!UUID` and `!in:UUID,UUID` exclude aggregates.");
            }
            t
        }
        "in_tree" => "A provider uuid: only providers of its tree.".to_string(),
        "limit" => "The most allocation requests to return.".to_string(),
        "group_policy" => "`isolate`: each suffixed request group on a different provider; `none`: no such rule. \
             Required with more than one suffixed group."
            .to_string(),
        "root_required" => "Traits the root provider of each tree must have (`!` for absent).".to_string(),
        "same_subtree" => "Suffixes of request groups to be satisfied within one subtree, comma-separated.".to_string(),
        "name" => "A provider's exact name.".to_string(),
        "uuid" => "A provider's uuid.".to_string(),
        "project_id" => "The project whose usage to report.".to_string(),
        "user_id" => "Only this user's usage.".to_string(),
        "consumer_type" => {
            "Only this consumer type's usage; `all` for every type together, `unknown` for none.".to_string()
        }
        "associated" => "`true`: only traits some provider has; `false`: only traits no provider has.".to_string(),
        _ => String::new(),
    }
}

/// `GET /traits`'s `name`.
const TRAIT_NAME: &str = "`in:A,B` for these traits, `startswith:PREFIX` for those starting so.";

/// The query parameters of `schema` (an object schema of string values).
pub fn from_schema(schema: &Value, v: Microversion, pattern: &str) -> Vec<Value> {
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut out = Vec::new();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let description =
            if pattern == "/traits" && name == "name" { TRAIT_NAME.to_string() } else { describe(name, v) };
        out.push(json!({
            "name": name,
            "in": "query",
            "required": required.contains(&name.as_str()),
            "description": description,
            "schema": string_form(name, pattern, property),
        }));
    }
    if let Some(patterns) = schema["patternProperties"].as_object() {
        // Request groups: `resources`, `required`, `member_of` (and from
        // 1.31 `in_tree`) each with an optional suffix naming the group.
        let keys: Vec<&String> = patterns.keys().collect();
        let suffix = if v.at_least(33) { "1 to 64 letters, digits, `_` or `-`" } else { "a number from 1" };
        out.push(json!({
            "name": "groups",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": true,
            "description": format!(
                "Request groups: `resources`, `required`, `member_of`{} without a suffix (the unsuffixed \
                 group, which may spread over a tree and sharing providers) or with one, {suffix} \
                 (a group one provider must satisfy), e.g. `resources1=VCPU:1&required1=HW_CPU_X86_AVX2`. \
                 Keys match {}. `resources`: {} `required`: {} `member_of`: {}",
                if v.at_least(31) { " and `in_tree`" } else { "" },
                keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                describe("resources", v),
                describe("required", v),
                describe("member_of", v),
            ),
            // Key patterns as one `propertyNames` (rather than
            // `patternProperties`), which client generators understand.
            "schema": {
                "type": "object",
                "propertyNames": {"pattern": keys.iter().map(|k| format!("(?:{k})")).collect::<Vec<_>>().join("|")},
                "additionalProperties": {"type": "string", "minLength": 1}
            }
        }));
    }
    out
}

/// A query value is text on the wire; keep the constraints a schema puts
/// on that text (pattern, enum, lengths), and add what the query parsers
/// (`placement_model::query`) refuse outright, so a value the document
/// calls invalid is one the server answers with 400.
fn string_form(name: &str, pattern: &str, property: &Value) -> Value {
    let mut s = property.clone();
    if let Some(map) = s.as_object_mut() {
        map.insert("type".into(), json!("string"));
        map.remove("minimum");
        match name {
            "resources" => {
                map.insert("pattern".into(), json!("^[^,:]+:[^,:]+(,[^,:]+:[^,:]+)*$"));
            }
            "required" | "member_of" | "root_required" | "same_subtree" | "in_tree" => {
                map.insert("minLength".into(), json!(1));
            }
            "name" if pattern == "/traits" => {
                map.insert("pattern".into(), json!(":"));
            }
            "associated" => {
                map.insert("pattern".into(), json!("^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"));
            }
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::requests;

    #[test]
    fn candidates_parameters_follow_the_version() {
        let names = |minor| -> Vec<String> {
            let v = Microversion::new(1, minor);
            from_schema(requests::candidates(v), v, "/allocation_candidates")
                .iter()
                .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(names(10), ["resources"]);
        assert!(names(16).contains(&"limit".to_string()));
        assert!(names(25).contains(&"groups".to_string()) && names(25).contains(&"group_policy".to_string()));
        assert!(!names(34).contains(&"root_required".to_string()));
        assert!(names(35).contains(&"root_required".to_string()));
        assert!(names(36).contains(&"same_subtree".to_string()));
    }

    #[test]
    fn syntax_notes_grow_with_versions() {
        assert!(!describe("member_of", Microversion::new(1, 31)).contains('!'));
        assert!(describe("member_of", Microversion::new(1, 32)).contains("`!UUID`"));
        assert!(describe("required", Microversion::new(1, 39)).contains("`in:A,B`"));
    }
}
