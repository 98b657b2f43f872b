//! Allocations: consumer generations, moves, capacity and in-use rules.

use serde_json::json;

use crate::on_every_backend;
use crate::support::Server;

const A: &str = "a110c000-0000-4000-8000-00000000000a";
const B: &str = "a110c000-0000-4000-8000-00000000000b";
const CONSUMER: &str = "c0c0c0c0-0000-4000-8000-000000000001";

fn providers(s: &Server) {
    for (uuid, name) in [(A, "a"), (B, "b")] {
        s.req("POST", "/resource_providers").json(json!({"uuid": uuid, "name": name})).send().expect(201);
        s.req("PUT", &format!("/resource_providers/{uuid}/inventories"))
            .json(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}}))
            .send()
            .expect(200);
    }
}

fn allocate(s: &Server, rp: &str, vcpus: i64, generation: Option<i64>) -> crate::support::Resp {
    s.req("PUT", &format!("/allocations/{CONSUMER}"))
        .version("1.38")
        .json(json!({
            "allocations": {rp: {"resources": {"VCPU": vcpus}}},
            "project_id": "proj", "user_id": "user",
            "consumer_generation": generation, "consumer_type": "INSTANCE"
        }))
        .send()
}

fn consumer_generations_guard_every_write(s: &Server) {
    providers(s);
    allocate(s, A, 3, None).expect(204);
    let r = allocate(s, A, 3, None).expect(409);
    assert_eq!(r.code(), "placement.concurrent_update");
    assert!(r.text.contains("consumer generation conflict - expected 1 but got None"), "{}", r.text);
    let r = s.req("GET", &format!("/allocations/{CONSUMER}")).version("1.38").send().expect(200);
    assert_eq!(r.json["consumer_generation"], 1);
    assert_eq!(r.json["consumer_type"], "INSTANCE");
    assert_eq!(r.json["project_id"], "proj");
}

fn moving_frees_the_old_usage_first(s: &Server) {
    providers(s);
    allocate(s, A, 4, None).expect(204);
    // Capacity 4 on A: moving 4 VCPU within A is fine since the old 4 go.
    allocate(s, A, 4, Some(1)).expect(204);
    allocate(s, B, 4, Some(2)).expect(204);
    let a = s.req("GET", &format!("/resource_providers/{A}/usages")).send().expect(200);
    let b = s.req("GET", &format!("/resource_providers/{B}/usages")).send().expect(200);
    assert_eq!((a.json["usages"]["VCPU"].as_i64(), b.json["usages"]["VCPU"].as_i64()), (Some(0), Some(4)));
    let r = s
        .req("PUT", "/allocations/c0c0c0c0-0000-4000-8000-000000000002")
        .version("1.28")
        .json(json!({"allocations": {B: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u", "consumer_generation": null}))
        .send()
        .expect(409);
    assert!(r.text.contains("The requested amount would exceed the capacity"), "{}", r.text);
}

fn providers_and_inventory_in_use_are_protected(s: &Server) {
    providers(s);
    allocate(s, A, 2, None).expect(204);
    let r = s.req("DELETE", &format!("/resource_providers/{A}")).version("1.23").send().expect(409);
    assert_eq!(r.code(), "placement.resource_provider.inuse");
    let r = s
        .req("PUT", &format!("/resource_providers/{A}/inventories"))
        .version("1.23")
        .json(json!({"resource_provider_generation": 2, "inventories": {}}))
        .send()
        .expect(409);
    assert_eq!(r.code(), "placement.inventory.inuse");
    s.req("DELETE", &format!("/allocations/{CONSUMER}")).send().expect(204);
    s.req("DELETE", &format!("/allocations/{CONSUMER}")).send().expect(404);
    s.req("DELETE", &format!("/resource_providers/{A}")).send().expect(204);
}

fn post_allocations_is_all_or_nothing(s: &Server) {
    providers(s);
    let body = json!({
        "c0c0c0c0-0000-4000-8000-00000000000a": {"allocations": {A: {"resources": {"VCPU": 2}}},
            "project_id": "p", "user_id": "u", "consumer_generation": null},
        "c0c0c0c0-0000-4000-8000-00000000000b": {"allocations": {A: {"resources": {"VCPU": 3}}},
            "project_id": "p", "user_id": "u", "consumer_generation": null}
    });
    s.req("POST", "/allocations").version("1.28").json(body).send().expect(409);
    let r = s.req("GET", &format!("/resource_providers/{A}/allocations")).send().expect(200);
    assert_eq!(r.json["allocations"], json!({}), "nothing of the failed request stays");
    let r = s.req("GET", "/allocations/c0c0c0c0-0000-4000-8000-00000000000a").version("1.28").send().expect(200);
    assert_eq!(r.json, json!({"allocations": {}}));
}

fn an_overcommitted_consumer_may_shrink_but_not_grow(s: &Server) {
    providers(s);
    allocate(s, A, 4, None).expect(204);
    // Capacity falls under the usage: upstream allows it (with a warning).
    s.req("PUT", &format!("/resource_providers/{A}/inventories"))
        .json(json!({"resource_provider_generation": 2, "inventories": {"VCPU": {"total": 2}}}))
        .send()
        .expect(200);
    let r = allocate(s, A, 5, Some(1)).expect(409);
    assert!(r.text.contains("would exceed the capacity"), "{}", r.text);
    // Still over capacity, but less than before: let through.
    allocate(s, A, 3, Some(1)).expect(204);
    let usage = s.req("GET", &format!("/resource_providers/{A}/usages")).send().expect(200);
    assert_eq!(usage.json["usages"]["VCPU"], 3);
    // Anyone else's claim is over capacity.
    let r = s
        .req("PUT", "/allocations/c0c0c0c0-0000-4000-8000-000000000003")
        .version("1.28")
        .json(json!({"allocations": {A: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u", "consumer_generation": null}))
        .send()
        .expect(409);
    assert!(r.text.contains("would exceed the capacity"), "{}", r.text);
    let r = s.req("GET", &format!("/allocations/{CONSUMER}")).version("1.28").send().expect(200);
    assert_eq!(r.json["consumer_generation"], 2);
}

on_every_backend!(
    consumer_generations_guard_every_write,
    an_overcommitted_consumer_may_shrink_but_not_grow,
    moving_frees_the_old_usage_first,
    providers_and_inventory_in_use_are_protected,
    post_allocations_is_all_or_nothing,
);
