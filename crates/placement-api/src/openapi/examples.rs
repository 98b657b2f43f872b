//! Examples for the main bodies, written for the version they appear in.

use placement_model::Microversion;
use serde_json::{Value, json};

const NODE: &str = "4e8e5957-649f-477b-9e5b-f1f75b21c03c";
const CHILD: &str = "cef2dc4b-7f4a-4a9e-8c6a-0a1f6f4ec6f1";
const PROJECT: &str = "6e3cb4a5-8a1d-4c8f-a2f3-1a2b3c4d5e6f";
const USER: &str = "7f4dc5b6-9b2e-4d9a-b3a4-2b3c4d5e6f70";

/// An example request body for an operation, if it has one.
pub fn request(operation: &str, v: Microversion) -> Option<Value> {
    Some(match operation {
        "createResourceProvider" => {
            let mut p = json!({"name": "compute-1", "uuid": NODE});
            if v.at_least(14) {
                p["parent_provider_uuid"] = Value::Null;
            }
            p
        }
        "replaceInventories" => json!({
            "resource_provider_generation": 1,
            "inventories": {
                "VCPU": {"total": 32, "allocation_ratio": 4.0, "max_unit": 32},
                "MEMORY_MB": {"total": 131072, "reserved": 512, "max_unit": 131072},
                "DISK_GB": {"total": 2048, "max_unit": 2048}
            }
        }),
        "putConsumerAllocations" => {
            if !v.at_least(12) {
                let mut body = json!({"allocations": [
                    {"resource_provider": {"uuid": NODE}, "resources": {"VCPU": 2, "MEMORY_MB": 4096}}
                ]});
                if v.at_least(8) {
                    body["project_id"] = json!(PROJECT);
                    body["user_id"] = json!(USER);
                }
                return Some(body);
            }
            let mut body = json!({
                "allocations": {NODE: {"resources": {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20}}},
                "project_id": PROJECT,
                "user_id": USER
            });
            if v.at_least(28) {
                body["consumer_generation"] = Value::Null;
            }
            if v.at_least(38) {
                body["consumer_type"] = json!("INSTANCE");
            }
            body
        }
        _ => return None,
    })
}

/// An example response body for an operation's success, if it has one.
pub fn response(operation: &str, v: Microversion) -> Option<Value> {
    Some(match operation {
        "showResourceProvider" => {
            let mut p = json!({
                "uuid": NODE,
                "name": "compute-1",
                "generation": 3,
                "links": [{"rel": "self", "href": format!("/resource_providers/{NODE}")}]
            });
            if v.at_least(14) {
                p["parent_provider_uuid"] = Value::Null;
                p["root_provider_uuid"] = json!(NODE);
            }
            p
        }
        "listAllocationCandidates" => {
            let request = if v.at_least(12) {
                let mut r = json!({"allocations": {
                    NODE: {"resources": {"VCPU": 2, "MEMORY_MB": 4096}},
                    CHILD: {"resources": {"DISK_GB": 20}}
                }});
                if v.at_least(34) {
                    r["mappings"] = json!({"": [NODE, CHILD]});
                }
                r
            } else {
                json!({"allocations": [
                    {"resource_provider": {"uuid": NODE}, "resources": {"VCPU": 2, "MEMORY_MB": 4096}},
                    {"resource_provider": {"uuid": CHILD}, "resources": {"DISK_GB": 20}}
                ]})
            };
            let summary = |resources: Value| {
                let mut s = json!({"resources": resources});
                if v.at_least(17) {
                    s["traits"] = json!(["HW_CPU_X86_AVX2"]);
                }
                if v.at_least(29) {
                    s["root_provider_uuid"] = json!(NODE);
                }
                s
            };
            let mut node = summary(json!({
                "VCPU": {"capacity": 128, "used": 12},
                "MEMORY_MB": {"capacity": 130560, "used": 24576}
            }));
            let mut child = summary(json!({"DISK_GB": {"capacity": 2048, "used": 120}}));
            if v.at_least(29) {
                node["parent_provider_uuid"] = Value::Null;
                child["parent_provider_uuid"] = json!(NODE);
            }
            json!({"allocation_requests": [request], "provider_summaries": {NODE: node, CHILD: child}})
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{requests, validator};

    #[test]
    fn request_examples_pass_the_validator_at_every_version() {
        for v in Microversion::all() {
            for (operation, schema) in [
                ("createResourceProvider", requests::create_provider(v)),
                ("replaceInventories", requests::put_inventories()),
                ("putConsumerAllocations", requests::put_allocations(v)),
            ] {
                let example = request(operation, v).expect("an example");
                assert!(validator::validate(&example, schema).is_ok(), "{operation} at {v}: {example}");
            }
        }
    }
}
