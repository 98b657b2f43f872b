//! Response body schemas for one version: the response types' own schemas
//! (their `ToSchema` derives), less the fields the version does not send;
//! the allocation candidates body, whose allocation requests change shape
//! with the version; and the error envelope.

use placement_model::Microversion;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use super::annotated::ApiDoc;

const LATEST: u16 = Microversion::MAX.minor;

/// Fields sent only within a window of versions: (schema, field, first
/// version, last version).
const FIELD_WINDOWS: &[(&str, &str, u16, u16)] = &[
    ("ProviderBody", "parent_provider_uuid", 14, LATEST),
    ("ProviderBody", "root_provider_uuid", 14, LATEST),
    ("AggregatesBody", "resource_provider_generation", 19, LATEST),
    ("ConsumerAllocationsBody", "project_id", 12, LATEST),
    ("ConsumerAllocationsBody", "user_id", 12, LATEST),
    ("ConsumerAllocationsBody", "consumer_generation", 28, LATEST),
    ("ConsumerAllocationsBody", "consumer_type", 38, LATEST),
    ("ConsumerResources", "consumer_generation", 28, LATEST),
    ("ProviderSummary", "traits", 17, LATEST),
    ("ProviderSummary", "parent_provider_uuid", 29, LATEST),
    ("ProviderSummary", "root_provider_uuid", 29, LATEST),
];

/// Every schema the response types derive, as the latest version has them
/// (read once; each version takes a copy to trim).
fn derived() -> Map<String, Value> {
    static DERIVED: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    DERIVED
        .get_or_init(|| {
            let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
            doc["components"]["schemas"].as_object().cloned().unwrap_or_default()
        })
        .clone()
}

/// The schemas of version `v` that `roots` refer to, directly or not.
pub fn components(v: Microversion, roots: &[&str]) -> Map<String, Value> {
    let mut all = derived();
    all.insert("CandidatesBody".into(), candidates_body(v));
    all.insert("Error".into(), error(v));
    // webob's own error shape: noauth2's 401, Keystone unreachable's 503.
    all.insert(
        "WebobError".into(),
        json!({
            "type": "object",
            "required": ["message", "code", "title"],
            "properties": {"message": {"type": "string"}, "code": {"type": "string"}, "title": {"type": "string"}}
        }),
    );
    // keystonemiddleware's refusal of a request without a valid token.
    all.insert(
        "KeystoneError".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "title", "message"],
                "properties": {"code": {"type": "integer"}, "title": {"type": "string"},
                               "message": {"type": "string"}}
            }}
        }),
    );
    all.insert(
        "Unauthorized".into(),
        json!({"anyOf": [{"$ref": "#/components/schemas/KeystoneError"}, {"$ref": "#/components/schemas/WebobError"}]}),
    );
    all.insert(
        "Unavailable".into(),
        json!({"anyOf": [{"$ref": "#/components/schemas/Errors"}, {"$ref": "#/components/schemas/WebobError"}]}),
    );
    all.insert(
        "Errors".into(),
        json!({
            "type": "object",
            "required": ["errors"],
            "properties": {"errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}}
        }),
    );
    for (schema, field, first, last) in FIELD_WINDOWS {
        if !(*first..=*last).contains(&v.minor)
            && let Some(s) = all.get_mut(*schema)
        {
            if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
                props.remove(*field);
            }
            if let Some(required) = s.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|r| r != field);
            }
        }
    }
    let mut wanted: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
    let mut out = Map::new();
    while let Some(name) = wanted.pop() {
        if out.contains_key(&name) {
            continue;
        }
        let Some(schema) = all.get(&name) else {
            continue;
        };
        collect_refs(schema, &mut wanted);
        out.insert(name, schema.clone());
    }
    let mut sorted: Vec<(String, Value)> = out.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .into_iter()
        .map(|(name, mut schema)| {
            close(&mut schema);
            (name, schema)
        })
        .collect()
}

/// Objects with named fields have no others: what a version does not send
/// is not in its document, and a field sent outside its window shows as a
/// violation.
fn close(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str)
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                out.push(name.to_string());
            }
            map.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The error envelope: `code` from 1.23; `min_version`/`max_version` on a
/// 406 for an unacceptable version.
fn error(v: Microversion) -> Value {
    let mut properties = json!({
        "status": {"type": "integer"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "min_version": {"type": "string", "description": "On a 406 for an unacceptable version."},
        "max_version": {"type": "string", "description": "On a 406 for an unacceptable version."}
    });
    if v.at_least(23) {
        properties["code"] = json!({
            "type": "string",
            "description": "A placement.* code that does not change between releases.",
            "examples": ["placement.undefined_code", "placement.concurrent_update"]
        });
    }
    json!({"type": "object", "required": ["status", "title", "detail"], "properties": properties})
}

/// The allocation candidates answer of version `v`, as
/// `handlers::candidates_json` writes it.
fn candidates_body(v: Microversion) -> Value {
    let resources = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    let request = if v.at_least(12) {
        let mut r = json!({
            "type": "object",
            "required": ["allocations"],
            "properties": {
                "allocations": {
                    "type": "object",
                    "description": "By provider uuid.",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["resources"],
                        "properties": {"resources": resources}
                    }
                }
            }
        });
        if v.at_least(34) {
            r["properties"]["mappings"] = json!({
                "type": "object",
                "description": "Request group suffix to the providers that satisfy it.",
                "additionalProperties": {"type": "array", "items": {"type": "string", "format": "uuid"}}
            });
        }
        r
    } else {
        json!({
            "type": "object",
            "required": ["allocations"],
            "properties": {
                "allocations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["resource_provider", "resources"],
                        "properties": {
                            "resource_provider": {
                                "type": "object",
                                "properties": {"uuid": {"type": "string", "format": "uuid"}}
                            },
                            "resources": resources
                        }
                    }
                }
            }
        })
    };
    json!({
        "type": "object",
        "required": ["allocation_requests", "provider_summaries"],
        "properties": {
            "allocation_requests": {"type": "array", "items": request},
            "provider_summaries": {
                "type": "object",
                "description": "By provider uuid.",
                "additionalProperties": {"$ref": "#/components/schemas/ProviderSummary"}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_and_go_with_versions() {
        let old = components(Microversion::new(1, 13), &["ProviderBody", "ConsumerAllocationsBody"]);
        let new = components(Microversion::new(1, 39), &["ProviderBody", "ConsumerAllocationsBody"]);
        assert!(old["ProviderBody"]["properties"].get("root_provider_uuid").is_none());
        assert!(new["ProviderBody"]["properties"].get("root_provider_uuid").is_some());
        assert!(old["ConsumerAllocationsBody"]["properties"].get("consumer_generation").is_none());
        assert!(new["ConsumerAllocationsBody"]["properties"].get("consumer_type").is_some());
        assert!(old.contains_key("Link"), "referred schemas are included");
    }

    #[test]
    fn candidates_change_shape_at_1_12_and_1_34() {
        let at = |minor| components(Microversion::new(1, minor), &["CandidatesBody"])["CandidatesBody"].clone();
        let items = |b: &Value| b["properties"]["allocation_requests"]["items"].clone();
        assert_eq!(items(&at(11))["properties"]["allocations"]["type"], "array");
        assert_eq!(items(&at(12))["properties"]["allocations"]["type"], "object");
        assert!(items(&at(33))["properties"].get("mappings").is_none());
        assert!(items(&at(34))["properties"].get("mappings").is_some());
    }
}
