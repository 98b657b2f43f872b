//! One OpenAPI 3.1 document per microversion, generated from the code: the
//! operations from the route table's version windows ([`crate::routes`]),
//! request bodies and query parameters from the schemas the validator
//! enforces ([`crate::schema::requests`]), response bodies from the
//! response types ([`annotated`]) less the fields the version does not
//! send, and every status, header and error envelope the server answers.

pub mod annotated;
mod changes;
pub mod check;
mod examples;
pub mod operations;
mod parameters;
mod schemas;

pub use annotated::ApiDoc;
pub use changes::changelog;

use placement_model::Microversion;
use serde_json::{Map, Value, json};

use crate::routes::ROUTES;

/// Every version's document, oldest first.
pub fn all() -> Vec<(Microversion, Value)> {
    Microversion::all().map(|v| (v, document(v))).collect()
}

/// [`all`], made once for the life of the process (served and checked
/// against, never changed).
pub fn cached() -> &'static [(Microversion, Value)] {
    static DOCS: std::sync::OnceLock<Vec<(Microversion, Value)>> = std::sync::OnceLock::new();
    DOCS.get_or_init(all)
}

/// A document as committed and served: pretty JSON ending in a newline.
pub fn render(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}

/// The file name of version `v`'s document.
pub fn file_name(v: Microversion) -> String {
    format!("placement-{v}.json")
}

/// Write every document and the changelog into `dir`.
pub fn write_all(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let documents = all();
    for (v, doc) in &documents {
        std::fs::write(dir.join(file_name(*v)), render(doc))?;
    }
    std::fs::write(dir.join("CHANGES.md"), changelog(&documents))
}

/// The document of version `v`.
pub fn document(v: Microversion) -> Value {
    let mut paths = Map::new();
    let mut roots: Vec<&'static str> = vec!["Errors", "Unauthorized", "Unavailable"];
    for route in ROUTES {
        let mut item = Map::new();
        for e in route.endpoints.iter().filter(|e| e.min <= v.minor && v.minor <= e.max) {
            let Some(doc) = operations::find(e.method, route.pattern, e.min) else {
                continue;
            };
            for s in (doc.success)(v) {
                roots.extend(s.body);
            }
            item.insert(e.method.to_ascii_lowercase(), operation(doc, v));
        }
        if !item.is_empty() {
            paths.insert(route.pattern.to_string(), Value::Object(item));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "OpenStack Placement API",
            "version": v.to_string(),
            "description": format!(
                "OpenStack Placement at microversion {v}. Every request names its version in the \
                 `OpenStack-API-Version: placement {v}` header (without it, the server answers as 1.0). \
                 Authenticate with a token in `X-Auth-Token`."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": schemas::components(v, &roots),
            "parameters": {
                "ApiVersion": {
                    "name": "OpenStack-API-Version",
                    "in": "header",
                    "required": false,
                    "description": format!(
                        "The microversion this document describes. Without the header (or with one that \
                         names no `placement` version) the server answers as 1.0; with another version, \
                         as that version's document says."
                    ),
                    "schema": {"type": "string", "enum": [format!("placement {v}")], "default": format!("placement {v}")}
                }
            },
            "headers": headers(),
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token",
                          "description": "A Keystone token (or, with `auth_strategy = noauth2`, any user name)."}
            }
        }
    })
}

fn headers() -> Value {
    let text = |description: &str| json!({"description": description, "schema": {"type": "string"}});
    json!({
        "OpenStackAPIVersion": text("The microversion that answered, e.g. `placement 1.39`."),
        "Vary": text("`openstack-api-version`."),
        "XOpenstackRequestId": text("This request's id, `req-` and a uuid."),
        "LastModified": text("When what the answer shows last changed (from 1.15)."),
        "CacheControl": text("`no-cache` (from 1.15)."),
        "Location": text("Where the created or named resource is."),
        "WWWAuthenticate": text("With `auth_strategy = keystone`: `Keystone uri=\"<identity endpoint>\"`, where to get a token."),
    })
}

fn header_refs(names: &[&str]) -> Value {
    let map: Map<String, Value> = names
        .iter()
        .map(|n| {
            let component = n.replace('-', "");
            (n.to_string(), json!({"$ref": format!("#/components/headers/{component}")}))
        })
        .collect();
    Value::Object(map)
}

fn path_parameters(doc: &operations::OperationDoc) -> Vec<Value> {
    doc.pattern
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let (description, schema) = match name {
                "uuid" => ("A resource provider's uuid.", json!({"type": "string", "format": "uuid"})),
                // Any text names a consumer (with no allocations, it has none).
                "consumer_uuid" => ("A consumer's uuid (an instance, a migration...).", json!({"type": "string"})),
                "resource_class" => {
                    ("A resource class name, e.g. `VCPU` or `CUSTOM_GOLD`.", json!({"type": "string", "minLength": 1}))
                }
                // Only custom names can be created or deleted; the server
                // refuses the others with 400.
                _ if doc.method != "GET" && doc.id != "renameResourceClass" => (
                    "A custom name (`CUSTOM_` and capitals, digits or `_`).",
                    json!({"type": "string", "pattern": crate::schema::requests::CUSTOM_PATTERN, "maxLength": 255}),
                ),
                _ => ("A name.", json!({"type": "string", "minLength": 1})),
            };
            json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
        })
        .collect()
}

fn operation(doc: &operations::OperationDoc, v: Microversion) -> Value {
    let mut parameters = vec![json!({"$ref": "#/components/parameters/ApiVersion"})];
    parameters.extend(path_parameters(doc));
    if let Some(query) = doc.query {
        parameters.extend(parameters::from_schema(query(v), v, doc.pattern));
    }
    let mut op = json!({
        "operationId": doc.id,
        "tags": [doc.tag],
        "summary": doc.summary,
        "parameters": parameters,
        "responses": responses(doc, v),
    });
    if let Some(body) = doc.body {
        let mut media = json!({"schema": for_clients(body(v))});
        if let Some(example) = examples::request(doc.id, v) {
            media["example"] = example;
        }
        op["requestBody"] = json!({"required": true, "content": {"application/json": media}});
    }
    if doc.pattern == "/" {
        op["security"] = json!([]);
    }
    op
}

/// The validator's schema, with each object keyed by one pattern
/// (`patternProperties` with a single pattern and no other properties)
/// written as the equivalent `propertyNames` and `additionalProperties`,
/// which client generators understand (they drop pattern-keyed members).
pub fn for_clients(schema: &Value) -> Value {
    let mut out = schema.clone();
    rewrite(&mut out);
    out
}

fn rewrite(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let single = map
                .get("patternProperties")
                .and_then(Value::as_object)
                .filter(|p| p.len() == 1)
                .map(|p| p.iter().next().map(|(k, s)| (k.clone(), s.clone())));
            if let Some(Some((pattern, member))) = single
                && map.get("additionalProperties") == Some(&Value::Bool(false))
                && !map.contains_key("properties")
            {
                map.remove("patternProperties");
                map.insert("propertyNames".into(), json!({"pattern": pattern}));
                map.insert("additionalProperties".into(), member);
            }
            map.values_mut().for_each(rewrite);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

fn responses(doc: &operations::OperationDoc, v: Microversion) -> Value {
    let mut out = Map::new();
    let mut common = vec!["OpenStack-API-Version", "Vary", "X-Openstack-Request-Id"];
    if doc.modified && v.at_least(15) {
        common.extend(["Last-Modified", "Cache-Control"]);
    }
    for s in (doc.success)(v) {
        let mut names = common.clone();
        if doc.location && matches!(s.status, 200 | 201 | 204) {
            names.push("Location");
        }
        let mut response = json!({
            "description": success_description(s.status),
            "headers": header_refs(&names),
        });
        if let Some(body) = s.body {
            let mut media = json!({"schema": {"$ref": format!("#/components/schemas/{body}")}});
            if let Some(example) = examples::response(doc.id, v) {
                media["example"] = example;
            }
            response["content"] = json!({"application/json": media});
        }
        out.insert(s.status.to_string(), response);
    }
    let mut failures: Vec<u16> = vec![400, 406];
    if doc.pattern != "/" {
        failures.extend([401, 403, 503]);
    }
    if doc.body.is_some() {
        failures.extend([413, 415]);
    }
    failures.extend(doc.errors);
    failures.sort_unstable();
    failures.dedup();
    for status in failures {
        // The authentication layer answers in its own shapes, as
        // keystonemiddleware (and webob under it) does in front of upstream.
        let (schema, headers) = match status {
            401 => ("Unauthorized", &["X-Openstack-Request-Id", "WWW-Authenticate"][..]),
            503 => ("Unavailable", &["X-Openstack-Request-Id"][..]),
            _ => ("Errors", &["X-Openstack-Request-Id"][..]),
        };
        out.insert(
            status.to_string(),
            json!({
                "description": failure_description(status),
                "headers": header_refs(headers),
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
            }),
        );
    }
    Value::Object(out)
}

fn success_description(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        _ => "Done, nothing to show",
    }
}

fn failure_description(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed: a body, query or microversion header the server cannot accept",
        401 => {
            "No valid token: none, one Keystone does not vouch for (unknown, expired, revoked), or an invalid \
                `X-Service-Token`"
        }
        403 => "The policy does not allow this caller to do this",
        404 => "No such resource",
        406 => {
            "The microversion asked for is not offered (the body says which are), or `Accept` wants \
                something other than JSON"
        }
        409 => {
            "A conflict: a generation changed under the caller (`placement.concurrent_update`), \
                capacity would be exceeded, or the resource is in use"
        }
        413 => "The body is larger than the server accepts",
        415 => "The body is not `application/json`",
        503 => "The database or Keystone is unreachable, or the server is too busy: try again later",
        _ => "Refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(minor: u16) -> Microversion {
        Microversion::new(1, minor)
    }

    #[test]
    fn operations_follow_the_route_windows() {
        let at = |minor| document(v(minor));
        assert!(at(29)["paths"].get("/reshaper").is_none());
        assert!(at(30)["paths"]["/reshaper"].get("post").is_some());
        assert!(at(9)["paths"].get("/allocation_candidates").is_none());
        assert!(at(10)["paths"]["/allocation_candidates"].get("get").is_some());
        assert!(at(4)["paths"]["/resource_providers/{uuid}/inventories"].get("delete").is_none());
        assert!(at(5)["paths"]["/resource_providers/{uuid}/inventories"].get("delete").is_some());
        assert!(at(8)["paths"].get("/usages").is_none());
        let rc = |minor| at(minor)["paths"]["/resource_classes/{name}"]["put"].clone();
        assert!(rc(6).get("requestBody").is_some() && rc(7).get("requestBody").is_none());
    }

    #[test]
    fn consumer_generation_is_required_from_1_28() {
        let body = |minor| {
            document(v(minor))["paths"]["/allocations/{consumer_uuid}"]["put"]["requestBody"]["content"]
                ["application/json"]["schema"]
                .clone()
        };
        let required = |b: &Value| b["required"].as_array().cloned().unwrap_or_default();
        assert!(required(&body(28)).contains(&json!("consumer_generation")));
        assert!(!required(&body(27)).contains(&json!("consumer_generation")));
        assert_eq!(
            body(28),
            for_clients(crate::schema::requests::put_allocations(v(28))),
            "the validator's own schema"
        );
        let allocations = &body(28)["properties"]["allocations"];
        assert!(allocations.get("patternProperties").is_none() && allocations.get("propertyNames").is_some());
    }

    #[test]
    fn the_root_is_public_and_headers_follow_1_15() {
        let d = document(v(15));
        assert_eq!(d["paths"]["/"]["get"]["security"], json!([]));
        let headers = &d["paths"]["/resource_providers"]["get"]["responses"]["200"]["headers"];
        assert!(headers.get("Last-Modified").is_some());
        let old = document(v(14));
        assert!(
            old["paths"]["/resource_providers"]["get"]["responses"]["200"]["headers"].get("Last-Modified").is_none()
        );
        assert_eq!(d["components"]["parameters"]["ApiVersion"]["schema"]["default"], "placement 1.15");
    }

    /// `openapi/` holds what the code generates (`make openapi` rewrites it).
    #[test]
    fn the_committed_documents_are_the_generated_ones() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi");
        let documents = all();
        for (version, doc) in &documents {
            let path = dir.join(file_name(*version));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == render(doc),
                "{} differs from the code's document: run `make openapi`",
                path.display()
            );
        }
        let committed = std::fs::read_to_string(dir.join("CHANGES.md")).unwrap_or_default();
        assert!(committed == changelog(&documents), "openapi/CHANGES.md differs: run `make openapi`");
        let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or_default();
        assert_eq!(files, documents.len() + 1, "only the documents and the changelog are in openapi/");
    }

    #[test]
    fn every_reference_resolves() {
        for (version, doc) in all() {
            let mut refs = Vec::new();
            gather(&doc, &mut refs);
            for r in refs {
                let pointer = r.trim_start_matches('#');
                assert!(doc.pointer(pointer).is_some(), "{version}: {r} does not resolve");
            }
        }
    }

    fn gather(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    out.push(r.to_string());
                }
                m.values().for_each(|x| gather(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| gather(x, out)),
            _ => {}
        }
    }
}
