//! Resource providers: lifecycle, trees and filters.

use serde_json::json;

use crate::on_every_backend;
use crate::support::Server;

const PARENT: &str = "6e4c3c2a-0a4e-4a3b-9f64-3e5e9ef2a001";
const CHILD: &str = "6e4c3c2a-0a4e-4a3b-9f64-3e5e9ef2a002";

/// Create a provider (1.20), with a parent if given.
pub fn create(s: &Server, uuid: &str, name: &str, parent: Option<&str>) {
    s.req("POST", "/resource_providers")
        .version("1.20")
        .json(json!({"uuid": uuid, "name": name, "parent_provider_uuid": parent}))
        .send()
        .expect(200);
}

fn lifecycle_with_duplicate_names_refused(s: &Server) {
    let r = s.req("POST", "/resource_providers").json(json!({"name": "cn1", "uuid": PARENT})).send().expect(201);
    assert!(r.header("location").is_some_and(|l| l.ends_with(&format!("/resource_providers/{PARENT}"))));
    let r = s.req("GET", &format!("/resource_providers/{PARENT}")).version("1.14").send().expect(200);
    assert_eq!(r.json["generation"], 0);
    assert_eq!(r.json["root_provider_uuid"], PARENT);
    let r = s.req("POST", "/resource_providers").version("1.23").json(json!({"name": "cn1"})).send().expect(409);
    assert_eq!(r.code(), "placement.duplicate_name");
    let r = s.req("PUT", &format!("/resource_providers/{PARENT}")).json(json!({"name": "renamed"})).send().expect(200);
    assert_eq!(r.json["name"], "renamed");
    s.req("DELETE", &format!("/resource_providers/{PARENT}")).send().expect(204);
    s.req("GET", &format!("/resource_providers/{PARENT}")).send().expect(404);
}

fn trees_reparenting_and_parent_deletion(s: &Server) {
    create(s, PARENT, "parent", None);
    create(s, CHILD, "child", Some(PARENT));
    let r = s.req("GET", &format!("/resource_providers?in_tree={CHILD}")).version("1.14").send().expect(200);
    assert_eq!(r.json["resource_providers"].as_array().map(Vec::len), Some(2));
    let r = s.req("DELETE", &format!("/resource_providers/{PARENT}")).version("1.23").send().expect(409);
    assert_eq!(r.code(), "placement.resource_provider.cannot_delete_parent");
    // Un-parenting needs 1.37.
    let unparent = json!({"name": "child", "parent_provider_uuid": null});
    s.req("PUT", &format!("/resource_providers/{CHILD}")).version("1.36").json(unparent.clone()).send().expect(400);
    let r = s.req("PUT", &format!("/resource_providers/{CHILD}")).version("1.37").json(unparent).send().expect(200);
    assert_eq!(r.json["root_provider_uuid"], CHILD);
    // A loop is refused.
    let loop_body = json!({"name": "parent", "parent_provider_uuid": CHILD});
    s.req("PUT", &format!("/resource_providers/{PARENT}")).version("1.37").json(loop_body).send().expect(200);
    let back = json!({"name": "child", "parent_provider_uuid": PARENT});
    let r = s.req("PUT", &format!("/resource_providers/{CHILD}")).version("1.37").json(back).send().expect(400);
    assert!(r.text.contains("creating loop in the provider tree is not allowed."), "{}", r.text);
}

fn resources_filter_respects_capacity(s: &Server) {
    create(s, PARENT, "big", None);
    create(s, CHILD, "small", None);
    for (uuid, total) in [(PARENT, 16), (CHILD, 2)] {
        s.req("PUT", &format!("/resource_providers/{uuid}/inventories"))
            .json(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": total, "max_unit": 8}}}))
            .send()
            .expect(200);
    }
    let r = s.req("GET", "/resource_providers?resources=VCPU:4").version("1.4").send().expect(200);
    let names: Vec<&str> =
        r.json["resource_providers"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, vec!["big"]);
    s.req("GET", "/resource_providers?resources=VCPU:9").version("1.4").send().expect(200);
    let r = s.req("GET", "/resource_providers?resources=NOPE:1").version("1.4").send().expect(400);
    assert!(r.text.contains("Invalid resource class in resources parameter"), "{}", r.text);
}

on_every_backend!(
    lifecycle_with_duplicate_names_refused,
    trees_reparenting_and_parent_deletion,
    resources_filter_respects_capacity
);
