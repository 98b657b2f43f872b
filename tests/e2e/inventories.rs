//! Inventories and the generation checks that guard them.

use serde_json::json;

use crate::on_every_backend;
use crate::support::Server;

const RP: &str = "1f3b7c9e-2d4a-4b6c-8e0f-a1b2c3d4e5f6";

fn setup(s: &Server) {
    s.req("POST", "/resource_providers").json(json!({"name": "inv", "uuid": RP})).send().expect(201);
}

fn replace_update_and_stale_generations(s: &Server) {
    setup(s);
    let body = json!({"resource_provider_generation": 0, "inventories": {
        "VCPU": {"total": 8, "allocation_ratio": 16.0},
        "DISK_GB": {"total": 100, "reserved": 10, "step_size": 10}
    }});
    let r = s.req("PUT", &format!("/resource_providers/{RP}/inventories")).json(body.clone()).send().expect(200);
    assert_eq!(r.json["resource_provider_generation"], 1);
    // The same body again carries a stale generation.
    let r =
        s.req("PUT", &format!("/resource_providers/{RP}/inventories")).version("1.23").json(body).send().expect(409);
    assert_eq!(r.code(), "placement.concurrent_update");
    let r = s.req("GET", &format!("/resource_providers/{RP}/inventories/VCPU")).send().expect(200);
    assert_eq!(r.json["allocation_ratio"], 16.0);
    assert_eq!(r.json["max_unit"], 2147483647);
    let r = s
        .req("PUT", &format!("/resource_providers/{RP}/inventories/VCPU"))
        .json(json!({"resource_provider_generation": 1, "total": 4}))
        .send()
        .expect(200);
    assert_eq!(r.json["resource_provider_generation"], 2);
    let r = s.req("GET", &format!("/resource_providers/{RP}/usages")).send().expect(200);
    assert_eq!(r.json["usages"], json!({"VCPU": 0, "DISK_GB": 0}));
}

fn reserved_rules_follow_the_microversion(s: &Server) {
    setup(s);
    let full = json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4, "reserved": 4}}});
    let r = s
        .req("PUT", &format!("/resource_providers/{RP}/inventories"))
        .version("1.25")
        .json(full.clone())
        .send()
        .expect(400);
    assert!(r.text.contains("greater than or equal to total"), "{}", r.text);
    s.req("PUT", &format!("/resource_providers/{RP}/inventories")).version("1.26").json(full).send().expect(200);
}

fn delete_all_needs_1_5(s: &Server) {
    setup(s);
    s.req("DELETE", &format!("/resource_providers/{RP}/inventories")).version("1.4").send().expect(405);
    s.req("DELETE", &format!("/resource_providers/{RP}/inventories")).version("1.5").send().expect(204);
}

on_every_backend!(replace_update_and_stale_generations, reserved_rules_follow_the_microversion, delete_all_needs_1_5);
