//! Traits, resource classes and aggregates, and the filters they drive.

use serde_json::json;

use crate::on_every_backend;
use crate::support::Server;

const A: &str = "0a1b2c3d-1111-4222-8333-944455556666";
const B: &str = "0a1b2c3d-1111-4222-8333-944455557777";
const AGG: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f1a2b3c4d";

fn providers(s: &Server) {
    for (uuid, name) in [(A, "a"), (B, "b")] {
        s.req("POST", "/resource_providers").json(json!({"uuid": uuid, "name": name})).send().expect(201);
    }
}

fn names(r: &crate::support::Resp) -> Vec<String> {
    let mut out: Vec<String> = r.json["resource_providers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

fn traits_required_forbidden_and_in_use(s: &Server) {
    providers(s);
    s.req("PUT", "/traits/CUSTOM_GOLD").version("1.6").send().expect(201);
    s.req("PUT", "/traits/CUSTOM_GOLD").version("1.6").send().expect(204);
    s.req("PUT", "/traits/gold").version("1.6").send().expect(400);
    s.req("PUT", &format!("/resource_providers/{A}/traits"))
        .version("1.6")
        .json(json!({"resource_provider_generation": 0, "traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"]}))
        .send()
        .expect(200);
    let r = s.req("GET", "/resource_providers?required=CUSTOM_GOLD").version("1.18").send().expect(200);
    assert_eq!(names(&r), vec!["a"]);
    let r = s.req("GET", "/resource_providers?required=!CUSTOM_GOLD").version("1.22").send().expect(200);
    assert_eq!(names(&r), vec!["b"]);
    let r =
        s.req("GET", "/resource_providers?required=in:CUSTOM_GOLD,HW_CPU_X86_SSE").version("1.39").send().expect(200);
    assert_eq!(names(&r), vec!["a"]);
    s.req("GET", "/resource_providers?required=CUSTOM_NOPE").version("1.18").send().expect(400);
    s.req("DELETE", "/traits/CUSTOM_GOLD").version("1.6").send().expect(409);
    s.req("DELETE", "/traits/HW_CPU_X86_AVX2").version("1.6").send().expect(400);
    let r = s.req("GET", "/traits?name=startswith:CUSTOM_&associated=true").version("1.6").send().expect(200);
    assert_eq!(r.json["traits"], json!(["CUSTOM_GOLD"]));
}

fn aggregates_and_member_of(s: &Server) {
    providers(s);
    // Before 1.19 the list form is used and the generation is not bumped.
    s.req("PUT", &format!("/resource_providers/{A}/aggregates")).version("1.1").json(json!([AGG])).send().expect(200);
    let r = s.req("GET", &format!("/resource_providers/{A}")).send().expect(200);
    assert_eq!(r.json["generation"], 0);
    let r = s
        .req("PUT", &format!("/resource_providers/{B}/aggregates"))
        .version("1.19")
        .json(json!({"aggregates": [AGG], "resource_provider_generation": 0}))
        .send()
        .expect(200);
    assert_eq!(r.json["resource_provider_generation"], 1);
    let r = s
        .req("PUT", &format!("/resource_providers/{B}/aggregates"))
        .version("1.23")
        .json(json!({"aggregates": [], "resource_provider_generation": 0}))
        .send()
        .expect(409);
    assert_eq!(r.code(), "placement.concurrent_update");
    let r = s.req("GET", &format!("/resource_providers?member_of={AGG}")).version("1.3").send().expect(200);
    assert_eq!(names(&r), vec!["a", "b"]);
    let r = s.req("GET", &format!("/resource_providers?member_of=!{AGG}")).version("1.32").send().expect(200);
    assert_eq!(names(&r), Vec::<String>::new());
}

fn custom_resource_classes(s: &Server) {
    s.req("PUT", "/resource_classes/CUSTOM_FPGA").version("1.7").send().expect(201);
    s.req("PUT", "/resource_classes/CUSTOM_FPGA").version("1.7").send().expect(204);
    let r = s.req("GET", "/resource_classes").version("1.2").send().expect(200);
    let listed = r.json["resource_classes"].as_array().unwrap();
    assert_eq!(listed[0]["name"], "VCPU", "standard classes keep upstream's ids and order");
    assert!(listed.iter().any(|c| c["name"] == "CUSTOM_FPGA"));
    s.req("DELETE", "/resource_classes/VCPU").version("1.2").send().expect(400);
    s.req("POST", "/resource_providers").json(json!({"uuid": A, "name": "a"})).send().expect(201);
    s.req("POST", &format!("/resource_providers/{A}/inventories"))
        .json(json!({"resource_class": "CUSTOM_FPGA", "total": 1}))
        .send()
        .expect(201);
    s.req("DELETE", "/resource_classes/CUSTOM_FPGA").version("1.2").send().expect(409);
}

/// Upstream answers "no results" at a group whose aggregates hold no
/// provider, before it looks at the traits that follow.
fn empty_aggregates_answer_before_unknown_traits(s: &Server) {
    providers(s);
    s.req("PUT", &format!("/resource_providers/{A}/inventories"))
        .json(json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}}))
        .send()
        .expect(200);
    s.req("PUT", &format!("/resource_providers/{A}/aggregates"))
        .version("1.19")
        .json(json!({"aggregates": [AGG], "resource_provider_generation": 1}))
        .send()
        .expect(200);
    let empty = "9a8b7c6d-5e4f-4a3b-9c2d-000000000000";
    let r = s
        .req("GET", &format!("/allocation_candidates?resources=VCPU:1&member_of={empty}&required=CUSTOM_NOPE"))
        .version("1.21")
        .send()
        .expect(200);
    assert_eq!(r.json, json!({"allocation_requests": [], "provider_summaries": {}}));
    // With members, the unknown trait is reported.
    let r = s
        .req("GET", &format!("/allocation_candidates?resources=VCPU:1&member_of={AGG}&required=CUSTOM_NOPE"))
        .version("1.21")
        .send()
        .expect(400);
    assert!(r.text.contains("CUSTOM_NOPE"), "{}", r.text);
    let r = s
        .req("GET", &format!("/allocation_candidates?resources=VCPU:1&member_of={AGG}"))
        .version("1.21")
        .send()
        .expect(200);
    assert_eq!(r.json["allocation_requests"].as_array().map(Vec::len), Some(1));
}

on_every_backend!(
    traits_required_forbidden_and_in_use,
    aggregates_and_member_of,
    custom_resource_classes,
    empty_aggregates_answer_before_unknown_traits,
);
