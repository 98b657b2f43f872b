//! The request body and query schemas, per microversion. Each function
//! builds its schema once.

use std::sync::OnceLock;

use serde_json::{Value, json};

/// `[A-Z0-9_]+`: resource class and trait names.
pub const NAME_PATTERN: &str = "^[A-Z0-9_]+$";
/// `CUSTOM_[A-Z0-9_]+`.
pub const CUSTOM_PATTERN: &str = "^CUSTOM_[A-Z0-9_]+$";
pub const MAX_INT: i64 = placement_model::inventory::MAX_INT;
/// The schemas' float maximum: upstream's `SQL_SP_FLOAT_MAX`, written as
/// upstream writes it (so its messages print `3.40282e+38`), a little under
/// the largest single-precision float.
pub const MAX_FLOAT: f64 = 3.40282e38;

macro_rules! schema {
    ($name:ident, $body:expr) => {
        pub fn $name() -> &'static Value {
            static SCHEMA: OnceLock<Value> = OnceLock::new();
            SCHEMA.get_or_init(|| $body)
        }
    };
}

fn with_property(mut base: Value, name: &str, schema: Value) -> Value {
    if let Some(props) = base.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(name.to_string(), schema);
    }
    base
}

fn without_property(mut base: Value, name: &str) -> Value {
    if let Some(props) = base.get_mut("properties").and_then(Value::as_object_mut) {
        props.remove(name);
    }
    base
}

fn provider_base() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "uuid": {"type": "string", "format": "uuid"}
        },
        "required": ["name"],
        "additionalProperties": false
    })
}

fn parent_uuid() -> Value {
    json!({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]})
}

schema!(post_provider, provider_base());
schema!(put_provider, without_property(provider_base(), "uuid"));
schema!(post_provider_1_14, with_property(provider_base(), "parent_provider_uuid", parent_uuid()));
schema!(put_provider_1_14, without_property(post_provider_1_14().clone(), "uuid"));

fn list_providers_base() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "uuid": {"type": "string", "format": "uuid"}
        },
        "additionalProperties": false
    })
}

schema!(list_providers_1_0, list_providers_base());
schema!(list_providers_1_3, with_property(list_providers_base(), "member_of", json!({"type": "string"})));
schema!(list_providers_1_4, with_property(list_providers_1_3().clone(), "resources", json!({"type": "string"})));
schema!(
    list_providers_1_14,
    with_property(list_providers_1_4().clone(), "in_tree", json!({"type": "string", "format": "uuid"}))
);
schema!(list_providers_1_18, with_property(list_providers_1_14().clone(), "required", json!({"type": "string"})));

fn bounded_int(min: i64) -> Value {
    json!({"type": "integer", "maximum": MAX_INT, "minimum": min})
}

fn inventory_base() -> Value {
    json!({
        "type": "object",
        "properties": {
            "resource_provider_generation": {"type": "integer"},
            "total": bounded_int(1),
            "reserved": bounded_int(0),
            "min_unit": bounded_int(1),
            "max_unit": bounded_int(1),
            "step_size": bounded_int(1),
            "allocation_ratio": {"type": "number", "maximum": MAX_FLOAT}
        },
        "required": ["total", "resource_provider_generation"],
        "additionalProperties": false
    })
}

schema!(put_inventory, inventory_base());
schema!(post_inventory, {
    let mut s = with_property(inventory_base(), "resource_class", json!({"type": "string", "pattern": NAME_PATTERN}));
    s["required"] = json!(["total", "resource_class"]);
    s
});
schema!(put_inventories, {
    let mut record = inventory_base();
    record["required"] = json!(["total"]);
    json!({
        "type": "object",
        "properties": {
            "resource_provider_generation": {"type": "integer"},
            "inventories": {"type": "object", "patternProperties": {NAME_PATTERN: record}}
        },
        "required": ["resource_provider_generation", "inventories"],
        "additionalProperties": false
    })
});

schema!(
    resource_class_name,
    json!({
        "type": "object",
        "properties": {"name": {"type": "string", "pattern": CUSTOM_PATTERN, "maxLength": 255}},
        "required": ["name"],
        "additionalProperties": false
    })
);

schema!(custom_trait, json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": CUSTOM_PATTERN}));
schema!(
    set_provider_traits,
    json!({
        "type": "object",
        "properties": {
            "traits": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}},
            "resource_provider_generation": {"type": "integer"}
        },
        "required": ["traits", "resource_provider_generation"],
        "additionalProperties": false
    })
);
schema!(
    list_traits,
    json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "associated": {"type": "string"}},
        "additionalProperties": false
    })
);

fn aggregate_list() -> Value {
    json!({"type": "array", "items": {"type": "string", "format": "uuid"}, "uniqueItems": true})
}

schema!(put_aggregates_1_1, aggregate_list());
schema!(
    put_aggregates_1_19,
    json!({
        "type": "object",
        "properties": {"aggregates": aggregate_list(), "resource_provider_generation": {"type": "integer"}},
        "required": ["aggregates", "resource_provider_generation"],
        "additionalProperties": false
    })
);

fn usages_base() -> Value {
    json!({
        "type": "object",
        "properties": {
            "project_id": {"type": "string", "minLength": 1, "maxLength": 255},
            "user_id": {"type": "string", "minLength": 1, "maxLength": 255}
        },
        "required": ["project_id"],
        "additionalProperties": false
    })
}

schema!(usages_1_9, usages_base());
schema!(
    usages_1_38,
    with_property(
        usages_base(),
        "consumer_type",
        json!({
            "type": "string",
            "pattern": "^[A-Z0-9_]+$|^all|^unknown$",
            "minLength": 1,
            "maxLength": 255
        })
    )
);

fn candidates_1_10() -> Value {
    json!({
        "type": "object",
        "properties": {"resources": {"type": "string"}},
        "required": ["resources"],
        "additionalProperties": false
    })
}

fn candidates_1_16() -> Value {
    with_property(
        candidates_1_10(),
        "limit",
        json!({"type": ["integer", "string"], "pattern": "^[1-9][0-9]*$", "minimum": 1, "minLength": 1}),
    )
}

fn candidates_1_21() -> Value {
    let s = with_property(candidates_1_16(), "required", json!({"type": ["string"]}));
    with_property(s, "member_of", json!({"type": ["string"]}))
}

/// From 1.25 the group keys are patterns; `suffix` is the suffix pattern.
fn candidates_grouped(suffix: &str, with_in_tree: bool) -> Value {
    let mut s = candidates_1_16();
    if let Some(map) = s.as_object_mut() {
        map.remove("required");
    }
    s = without_property(s, "resources");
    let mut patterns = serde_json::Map::new();
    let mut kinds = vec!["resources", "required", "member_of"];
    if with_in_tree {
        kinds.push("in_tree");
    }
    for kind in kinds {
        patterns.insert(format!("^{kind}({suffix})?$"), json!({"type": "string"}));
    }
    s["patternProperties"] = Value::Object(patterns);
    with_property(s, "group_policy", json!({"type": "string", "enum": ["none", "isolate"]}))
}

const NUMERIC_SUFFIX: &str = "[1-9][0-9]*";
const STRING_SUFFIX: &str = "[a-zA-Z0-9_-]{1,64}";

schema!(candidates_v1_10, candidates_1_10());
schema!(candidates_v1_16, candidates_1_16());
schema!(candidates_v1_17, with_property(candidates_1_16(), "required", json!({"type": ["string"]})));
schema!(candidates_v1_21, candidates_1_21());
schema!(candidates_v1_25, candidates_grouped(NUMERIC_SUFFIX, false));
schema!(candidates_v1_31, candidates_grouped(NUMERIC_SUFFIX, true));
schema!(candidates_v1_33, candidates_grouped(STRING_SUFFIX, true));
schema!(
    candidates_v1_35,
    with_property(candidates_grouped(STRING_SUFFIX, true), "root_required", json!({"type": ["string"]}))
);
schema!(candidates_v1_36, with_property(candidates_v1_35().clone(), "same_subtree", json!({"type": ["string"]})));

/// The candidates query schema for a version.
pub fn candidates(version: placement_model::Microversion) -> &'static Value {
    match version.minor {
        36.. => candidates_v1_36(),
        35 => candidates_v1_35(),
        33 | 34 => candidates_v1_33(),
        31 | 32 => candidates_v1_31(),
        25..=30 => candidates_v1_25(),
        21..=24 => candidates_v1_21(),
        17..=20 => candidates_v1_17(),
        16 => candidates_v1_16(),
        _ => candidates_v1_10(),
    }
}

const UUID_PATTERN: &str = "^[0-9a-fA-F-]{36}$";
const GROUP_SUFFIX_PATTERN: &str = "[a-zA-Z0-9_-]{1,64}";

fn amounts() -> Value {
    json!({
        "type": "object",
        "minProperties": 1,
        "patternProperties": {NAME_PATTERN: {"type": "integer", "minimum": 1}},
        "additionalProperties": false
    })
}

fn owner_id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 255})
}

/// Before 1.12: a list of `{resource_provider: {uuid}, resources}`.
fn allocation_list() -> Value {
    json!({
        "type": "object",
        "properties": {
            "allocations": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "resource_provider": {
                            "type": "object",
                            "properties": {"uuid": {"type": "string", "format": "uuid"}},
                            "additionalProperties": false,
                            "required": ["uuid"]
                        },
                        "resources": amounts()
                    },
                    "required": ["resource_provider", "resources"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["allocations"],
        "additionalProperties": false
    })
}

/// From 1.12: a dict by provider uuid, with owners.
fn allocation_dict(min_providers: u64) -> Value {
    json!({
        "type": "object",
        "properties": {
            "allocations": {
                "type": "object",
                "minProperties": min_providers,
                "patternProperties": {UUID_PATTERN: {
                    "type": "object",
                    "properties": {"generation": {"type": "integer"}, "resources": amounts()},
                    "required": ["resources"],
                    "additionalProperties": false
                }},
                "additionalProperties": false
            },
            "project_id": owner_id(),
            "user_id": owner_id()
        },
        "additionalProperties": false,
        "required": ["allocations", "project_id", "user_id"]
    })
}

fn require(mut schema: Value, name: &str) -> Value {
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.push(json!(name));
    }
    schema
}

fn consumer_generation() -> Value {
    json!({"type": ["integer", "null"], "additionalProperties": false})
}

fn mappings() -> Value {
    json!({
        "type": "object",
        "minProperties": 1,
        "patternProperties": {GROUP_SUFFIX_PATTERN: {
            "type": "array", "minItems": 1, "items": {"type": "string", "format": "uuid"}
        }}
    })
}

fn consumer_type() -> Value {
    json!({"type": "string", "pattern": NAME_PATTERN, "minLength": 1, "maxLength": 255})
}

fn allocation_1_28() -> Value {
    require(with_property(allocation_dict(0), "consumer_generation", consumer_generation()), "consumer_generation")
}

fn allocation_1_34() -> Value {
    with_property(allocation_1_28(), "mappings", mappings())
}

fn allocation_1_38() -> Value {
    require(with_property(allocation_1_34(), "consumer_type", consumer_type()), "consumer_type")
}

schema!(put_allocations_1_0, allocation_list());
schema!(put_allocations_1_8, {
    let s = with_property(allocation_list(), "project_id", owner_id());
    require(require(with_property(s, "user_id", owner_id()), "project_id"), "user_id")
});
schema!(put_allocations_1_12, allocation_dict(1));
schema!(put_allocations_1_28, allocation_1_28());
schema!(put_allocations_1_34, allocation_1_34());
schema!(put_allocations_1_38, allocation_1_38());

fn by_consumer(per_consumer: Value, min: u64) -> Value {
    json!({
        "type": "object",
        "minProperties": min,
        "additionalProperties": false,
        "patternProperties": {UUID_PATTERN: per_consumer}
    })
}

schema!(post_allocations_1_13, by_consumer(allocation_dict(0), 1));
schema!(post_allocations_1_28, by_consumer(allocation_1_28(), 1));
schema!(post_allocations_1_34, by_consumer(allocation_1_34(), 1));
schema!(post_allocations_1_38, by_consumer(allocation_1_38(), 1));

fn reshaper(allocations: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "inventories": {
                "type": "object",
                "patternProperties": {UUID_PATTERN: put_inventories().clone()},
                "minProperties": 1,
                "additionalProperties": false
            },
            "allocations": allocations
        },
        "required": ["inventories", "allocations"],
        "additionalProperties": false
    })
}

schema!(reshaper_1_30, reshaper(by_consumer(allocation_1_28(), 0)));
schema!(reshaper_1_34, reshaper(by_consumer(allocation_1_34(), 0)));
schema!(reshaper_1_38, reshaper(by_consumer(allocation_1_38(), 0)));

// The schema each operation validates against at a version: handlers and
// the OpenAPI documents both take them from here, so they cannot disagree.

type Version = placement_model::Microversion;

/// `GET /resource_providers` query.
pub fn list_providers(v: Version) -> &'static Value {
    match v.minor {
        18.. => list_providers_1_18(),
        14..=17 => list_providers_1_14(),
        4..=13 => list_providers_1_4(),
        3 => list_providers_1_3(),
        _ => list_providers_1_0(),
    }
}

/// `POST /resource_providers` body.
pub fn create_provider(v: Version) -> &'static Value {
    if v.at_least(14) { post_provider_1_14() } else { post_provider() }
}

/// `PUT /resource_providers/{uuid}` body.
pub fn update_provider(v: Version) -> &'static Value {
    if v.at_least(14) { put_provider_1_14() } else { put_provider() }
}

/// `PUT /resource_providers/{uuid}/aggregates` body: a bare list before
/// 1.19.
pub fn put_aggregates(v: Version) -> &'static Value {
    if v.at_least(19) { put_aggregates_1_19() } else { put_aggregates_1_1() }
}

/// `GET /usages` query.
pub fn usages(v: Version) -> &'static Value {
    if v.at_least(38) { usages_1_38() } else { usages_1_9() }
}

/// `PUT /allocations/{consumer_uuid}` body.
pub fn put_allocations(v: Version) -> &'static Value {
    match v.minor {
        38.. => put_allocations_1_38(),
        34..=37 => put_allocations_1_34(),
        28..=33 => put_allocations_1_28(),
        12..=27 => put_allocations_1_12(),
        8..=11 => put_allocations_1_8(),
        _ => put_allocations_1_0(),
    }
}

/// `POST /allocations` body.
pub fn post_allocations(v: Version) -> &'static Value {
    match v.minor {
        38.. => post_allocations_1_38(),
        34..=37 => post_allocations_1_34(),
        28..=33 => post_allocations_1_28(),
        _ => post_allocations_1_13(),
    }
}

/// `POST /reshaper` body.
pub fn reshape(v: Version) -> &'static Value {
    match v.minor {
        38.. => reshaper_1_38(),
        34..=37 => reshaper_1_34(),
        _ => reshaper_1_30(),
    }
}
