//! Whether a response is what the document of its version says: the
//! status is one the operation may answer, and a JSON body matches the
//! documented schema. Used, with `[api] validate_responses`, to check
//! every response of the conformance run against the documents.

use std::sync::OnceLock;

use placement_model::Microversion;
use serde_json::Value;

use crate::schema::validator;

/// Every version's document with its `$ref`s replaced by what they name.
fn documents() -> &'static Vec<(Microversion, Value)> {
    static DOCS: OnceLock<Vec<(Microversion, Value)>> = OnceLock::new();
    DOCS.get_or_init(|| {
        super::cached()
            .iter()
            .map(|(v, doc)| {
                let mut paths = doc["paths"].clone();
                inline(&mut paths, &doc["components"]["schemas"]);
                (*v, paths)
            })
            .collect()
    })
}

fn inline(v: &mut Value, schemas: &Value) {
    match v {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                let mut target = schemas[name].clone();
                inline(&mut target, schemas);
                *v = target;
                return;
            }
            map.values_mut().for_each(|x| inline(x, schemas));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| inline(x, schemas)),
        _ => {}
    }
}

/// Check one response of `method pattern` at version `v`.
pub fn response(v: Microversion, method: &str, pattern: &str, status: u16, body: Option<&str>) -> Result<(), String> {
    let Some((_, paths)) = documents().iter().find(|(known, _)| *known == v) else {
        return Err(format!("no document for {v}"));
    };
    let op = &paths[pattern][method.to_ascii_lowercase()];
    if op.is_null() {
        return Err(format!("{method} {pattern} is not in the {v} document"));
    }
    let documented = &op["responses"][status.to_string()];
    if documented.is_null() {
        return Err(format!("{method} {pattern} answered {status}, which the {v} document does not list"));
    }
    let schema = &documented["content"]["application/json"]["schema"];
    match (schema.is_null(), body.filter(|b| !b.is_empty())) {
        (true, None) => Ok(()),
        (true, Some(_)) => Err(format!("{method} {pattern} {status} has a body the {v} document does not describe")),
        (false, None) => Err(format!("{method} {pattern} {status} has no body, but the {v} document describes one")),
        (false, Some(text)) => {
            let value: Value =
                serde_json::from_str(text).map_err(|e| format!("{method} {pattern} {status}: not JSON: {e}"))?;
            validator::validate(&value, schema).map_err(|e| {
                format!("{method} {pattern} {status} at {v}: {}", e.describe().lines().next().unwrap_or(""))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v(minor: u16) -> Microversion {
        Microversion::new(1, minor)
    }

    #[test]
    fn fields_outside_their_window_are_violations() {
        let provider = json!({"uuid": "u", "name": "n", "generation": 1, "links": [],
                              "parent_provider_uuid": null, "root_provider_uuid": "u"});
        let text = provider.to_string();
        assert!(response(v(14), "GET", "/resource_providers/{uuid}", 200, Some(&text)).is_ok());
        let e = response(v(13), "GET", "/resource_providers/{uuid}", 200, Some(&text)).unwrap_err();
        assert!(e.contains("not allowed"), "{e}");
    }

    #[test]
    fn undocumented_statuses_and_bodies_are_violations() {
        assert!(response(v(39), "DELETE", "/resource_providers/{uuid}", 204, None).is_ok());
        assert!(response(v(39), "DELETE", "/resource_providers/{uuid}", 418, None).is_err());
        assert!(response(v(39), "DELETE", "/resource_providers/{uuid}", 204, Some("{}")).is_err());
        let error = json!({"errors": [{"status": 404, "title": "Not Found", "detail": "x", "request_id": "r",
                                       "code": "placement.undefined_code"}]});
        assert!(response(v(39), "DELETE", "/resource_providers/{uuid}", 404, Some(&error.to_string())).is_ok());
        assert!(
            response(v(22), "DELETE", "/resource_providers/{uuid}", 404, Some(&error.to_string())).is_err(),
            "no code before 1.23"
        );
    }
}
