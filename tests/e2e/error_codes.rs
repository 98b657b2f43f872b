//! Every `placement.*` error code the service defines is answered, with
//! upstream's status, by some request (the cases upstream's own tests use).

use std::collections::BTreeMap;

use placement_model::error::ErrorCode;
use serde_json::json;

use crate::support::{Backend, Resp, Server};

const PARENT: &str = "e0000000-0000-4000-8000-000000000001";
const CHILD: &str = "e0000000-0000-4000-8000-000000000002";
const CONSUMER: &str = "e0000000-0000-4000-8000-0000000000c1";
const AGGREGATE: &str = "e0000000-0000-4000-8000-0000000000a1";

#[test]
fn every_error_code_is_answered_by_some_request() {
    let s = Server::start(Backend::Sqlite, "");
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut check = |what: &'static str, r: Resp, status: u16, code: &str| {
        assert_eq!((r.status, r.code()), (status, code), "{what}: {}", r.text);
        seen.insert(code.to_string(), what);
    };
    let v = "1.39";
    check("unknown path", s.req("GET", "/barnabas").version(v).send(), 404, "placement.undefined_code");

    s.req("POST", "/resource_providers").version(v).json(json!({"name": "parent", "uuid": PARENT})).send().expect(200);
    s.req("POST", "/resource_providers")
        .version(v)
        .json(json!({"name": "child", "uuid": CHILD, "parent_provider_uuid": PARENT}))
        .send()
        .expect(200);
    let twin = s.req("POST", "/resource_providers").version(v).json(json!({"name": "parent"})).send();
    check("a second provider of the same name", twin, 409, "placement.duplicate_name");
    let parent = s.req("DELETE", &format!("/resource_providers/{PARENT}")).version(v).send();
    check("deleting a parent", parent, 409, "placement.resource_provider.cannot_delete_parent");

    let inventory =
        |generation: i64| json!({"resource_provider_generation": generation, "inventories": {"VCPU": {"total": 8}}});
    s.req("PUT", &format!("/resource_providers/{CHILD}/inventories")).version(v).json(inventory(0)).send().expect(200);
    let stale = s.req("PUT", &format!("/resource_providers/{CHILD}/inventories")).version(v).json(inventory(0)).send();
    check("a stale provider generation", stale, 409, "placement.concurrent_update");
    s.req("PUT", &format!("/allocations/{CONSUMER}"))
        .version(v)
        .json(json!({"allocations": {CHILD: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
                     "consumer_generation": null, "consumer_type": "INSTANCE"}))
        .send()
        .expect(204);
    // Upstream answers one class's deletion with concurrent_update, the
    // whole inventory's with inventory.inuse.
    let one = s.req("DELETE", &format!("/resource_providers/{CHILD}/inventories/VCPU")).version(v).send();
    check("deleting one class of inventory in use", one, 409, "placement.concurrent_update");
    let all = s.req("DELETE", &format!("/resource_providers/{CHILD}/inventories")).version(v).send();
    check("deleting all inventory in use", all, 409, "placement.inventory.inuse");
    let used = s.req("DELETE", &format!("/resource_providers/{CHILD}")).version(v).send();
    check("deleting a provider in use", used, 409, "placement.resource_provider.inuse");

    let reshape = json!({
        "inventories": {"39bafc00-3fff-444d-b87a-2ead3f866e05": {"resource_provider_generation": 0,
                                                               "inventories": {"VCPU": {"total": 10}}}},
        "allocations": {},
    });
    let unknown = s.req("POST", "/reshaper").version(v).header("x-roles", "service").json(reshape).send();
    check("reshaping an unknown provider", unknown, 400, "placement.resource_provider.not_found");

    let candidates = |query: &str| s.req("GET", &format!("/allocation_candidates?{query}")).version(v).send();
    check(
        "root_required twice",
        candidates("resources=VCPU:1&root_required=HW_CPU_X86_SSE&root_required=!HW_NUMA_ROOT"),
        400,
        "placement.query.duplicate_key",
    );
    check(
        "a resourceless group outside same_subtree",
        candidates(&format!("resources1=VCPU:1&member_of2={AGGREGATE}&group_policy=none")),
        400,
        "placement.query.bad_value",
    );
    let none = candidates(&format!("member_of1={AGGREGATE}&group_policy=none"));
    check("no resources at all", none, 400, "placement.query.missing_value");

    for code in ErrorCode::ALL {
        assert!(seen.contains_key(code.as_str()), "no request answered {}; seen: {seen:#?}", code.as_str());
    }
    assert_eq!(seen.len(), ErrorCode::ALL.len(), "codes answered that ErrorCode does not list: {seen:#?}");
}
