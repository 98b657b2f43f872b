//! Answers a differential run against upstream 16.0.0 found different
//! (issue 14), each pinned to upstream's answer or to a deviation recorded
//! in docs/deviations.md.

use serde_json::json;

use crate::on_every_backend;
use crate::providers::create;
use crate::support::Server;

const ROOT: &str = "7d1e0000-0000-4000-8000-000000000001";
const CHILD: &str = "7d1e0000-0000-4000-8000-000000000002";
const OTHER: &str = "7d1e0000-0000-4000-8000-000000000003";

/// 1. Replacing the inventories with none: no time to fold, so no
///    `last-modified`, but still `cache-control`; with some, both.
fn empty_inventories_put_has_no_last_modified(s: &Server) {
    create(s, ROOT, "root", None);
    let path = format!("/resource_providers/{ROOT}/inventories");
    let some = json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}});
    let r = s.req("PUT", &path).version("1.15").json(some).send().expect(200);
    assert!(r.header("last-modified").is_some(), "{:?}", r.headers);
    let none = json!({"resource_provider_generation": 1, "inventories": {}});
    let r = s.req("PUT", &path).version("1.15").json(none).send().expect(200);
    assert_eq!(r.header("last-modified"), None, "{:?}", r.headers);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let r = s.req("GET", &path).version("1.15").send().expect(200);
    assert_eq!(r.header("last-modified"), None, "{:?}", r.headers);
    // Before 1.15, neither.
    let none = json!({"resource_provider_generation": 2, "inventories": {}});
    let r = s.req("PUT", &path).version("1.14").json(none).send().expect(200);
    assert_eq!((r.header("last-modified"), r.header("cache-control")), (None, None));
}

/// 2. `PUT /resource_providers/{uuid}` sends the time of the provider's
///    previous update: none for a child never updated (its creation sets
///    no update time), one for a root (its creation sets its root id in an
///    update) and for anything updated before.
fn provider_update_last_modified_is_the_previous_update(s: &Server) {
    create(s, ROOT, "root", None);
    create(s, CHILD, "child", Some(ROOT));
    let rename = |uuid: &str, name: &str| {
        s.req("PUT", &format!("/resource_providers/{uuid}"))
            .version("1.15")
            .json(json!({"name": name}))
            .send()
            .expect(200)
    };
    let r = rename(CHILD, "child-1");
    assert_eq!(r.header("last-modified"), None, "{:?}", r.headers);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(rename(CHILD, "child-2").header("last-modified").is_some());
    assert!(rename(ROOT, "root-1").header("last-modified").is_some());
}

/// 3. An empty `name` filters nothing.
fn empty_name_filter_lists_every_provider(s: &Server) {
    create(s, ROOT, "root", None);
    create(s, OTHER, "other", None);
    let r = s.req("GET", "/resource_providers?name=").send().expect(200);
    assert_eq!(r.json["resource_providers"].as_array().map(Vec::len), Some(2), "{}", r.text);
    let r = s.req("GET", "/resource_providers?name=other").send().expect(200);
    assert_eq!(r.json["resource_providers"].as_array().map(Vec::len), Some(1), "{}", r.text);
}

/// 4. A uuid without its dashes is not a uuid to jsonschema's checker,
///    which upstream uses for query strings; bodies (upstream's own oslo
///    checker) and member_of (oslo too) take it.
fn uuids_without_dashes_are_refused(s: &Server) {
    create(s, ROOT, "root", None);
    let bare = ROOT.replace('-', "");
    for param in ["in_tree", "uuid"] {
        let r = s.req("GET", &format!("/resource_providers?{param}={bare}")).version("1.14").send().expect(400);
        assert!(
            r.text.contains(&format!("Invalid query string parameters: '{bare}' is not a 'uuid'")),
            "{param}: {}",
            r.text
        );
    }
    let other = OTHER.replace('-', "");
    s.req("POST", "/resource_providers").json(json!({"name": "bare", "uuid": other})).send().expect(201);
    s.req("GET", &format!("/resource_providers/{OTHER}")).send().expect(200);
    let upper = ROOT.to_uppercase();
    s.req("GET", &format!("/resource_providers?uuid={upper}")).version("1.14").send().expect(200);
    s.req("GET", &format!("/resource_providers?member_of={bare}")).version("1.3").send().expect(200);
}

/// 5. The media type is compared as sent, as webob does.
fn media_type_is_compared_as_sent(s: &Server) {
    let body = json!({"name": "shouty"}).to_string().into_bytes();
    let r = s
        .req("POST", "/resource_providers")
        .header("content-type", "APPLICATION/JSON")
        .raw(body.clone())
        .send()
        .expect(415);
    assert!(r.text.contains("The media type APPLICATION/JSON is not supported, use application/json"), "{}", r.text);
    let r = s.req("GET", "/resource_providers?name=shouty").send().expect(200);
    assert_eq!(r.json["resource_providers"].as_array().map(Vec::len), Some(0), "nothing was created");
    s.req("POST", "/resource_providers")
        .header("content-type", "application/json; charset=UTF-8")
        .raw(body)
        .send()
        .expect(201);
}

/// 6. An amount past any integer is a 400 (upstream: a 500 from SQLite's
///    overflow; docs/deviations.md).
fn huge_amounts_are_bad_requests(s: &Server) {
    let r = s.req("GET", "/allocation_candidates?resources=VCPU:99999999999999999999").version("1.10").send();
    let r = r.expect(400);
    let message = "Requested resource VCPU expected positive integer amount. Got: 99999999999999999999.";
    assert!(r.text.contains(message), "{}", r.text);
}

/// 7. Root with DISK_GB, its child with DISK_GB and VCPU; the unnumbered
///    group and one numbered group both ask for DISK_GB. Every candidate
///    holds exactly the 5 DISK_GB asked for, whatever the group policy
///    (upstream, without one, adds one group's amount into a record the
///    next candidate shares, and answers 7; docs/deviations.md).
fn overlapping_groups_never_double_count(s: &Server) {
    create(s, ROOT, "root", None);
    create(s, CHILD, "child", Some(ROOT));
    let inventories = |uuid: &str, body: serde_json::Value| {
        s.req("PUT", &format!("/resource_providers/{uuid}/inventories"))
            .json(json!({"resource_provider_generation": 0, "inventories": body}))
            .send()
            .expect(200);
    };
    inventories(ROOT, json!({"DISK_GB": {"total": 10}}));
    inventories(CHILD, json!({"DISK_GB": {"total": 10}, "VCPU": {"total": 4}}));
    let want: std::collections::BTreeSet<(i64, i64, i64)> = [(5, 0, 1), (3, 2, 1), (2, 3, 1), (0, 5, 1)].into();
    for policy in ["", "&group_policy=none"] {
        let path = format!("/allocation_candidates?resources=VCPU:1,DISK_GB:3&resources1=DISK_GB:2{policy}");
        let r = s.req("GET", &path).version("1.39").send().expect(200);
        let got: std::collections::BTreeSet<(i64, i64, i64)> = r.json["allocation_requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let amount = |uuid: &str, class: &str| a["allocations"][uuid]["resources"][class].as_i64().unwrap_or(0);
                (amount(ROOT, "DISK_GB"), amount(CHILD, "DISK_GB"), amount(CHILD, "VCPU"))
            })
            .collect();
        assert_eq!(got, want, "policy {policy:?}: {}", r.text);
    }
}

/// Found by scripts/difftest (seed 44): the unnumbered group served by a
/// sharing provider alone combines with every tree the provider shares
/// with; upstream keeps it under one tree only (docs/deviations.md, "A
/// group served only by sharing providers ...").
fn sharing_provider_serves_every_tree(s: &Server) {
    const SHARED: &str = "7d1e0000-0000-4000-8000-000000000004";
    const AGG: &str = "7d1e0000-0000-4000-8000-0000000000a1";
    for (uuid, name) in [(ROOT, "cn1"), (OTHER, "cn2"), (SHARED, "shared")] {
        create(s, uuid, name, None);
        s.req("PUT", &format!("/resource_providers/{uuid}/inventories"))
            .json(json!({"resource_provider_generation": 0, "inventories": {"DISK_GB": {"total": 10}}}))
            .send()
            .expect(200);
        s.req("PUT", &format!("/resource_providers/{uuid}/aggregates"))
            .version("1.19")
            .json(json!({"aggregates": [AGG], "resource_provider_generation": 1}))
            .send()
            .expect(200);
    }
    s.req("PUT", &format!("/resource_providers/{SHARED}/traits"))
        .version("1.6")
        .json(json!({"traits": ["MISC_SHARES_VIA_AGGREGATE"], "resource_provider_generation": 2}))
        .send()
        .expect(200);
    let r = s
        .req("GET", "/allocation_candidates?resources=DISK_GB:1&resources1=DISK_GB:1&group_policy=none")
        .version("1.39")
        .send()
        .expect(200);
    let only =
        |m: &serde_json::Value| m.as_array().filter(|a| a.len() == 1).and_then(|a| a[0].as_str()).map(String::from);
    let got: std::collections::BTreeSet<(String, String)> = r.json["allocation_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (only(&a["mappings"][""]).unwrap(), only(&a["mappings"]["1"]).unwrap()))
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    let want = [
        pair(ROOT, ROOT),
        pair(ROOT, SHARED),
        pair(SHARED, ROOT),
        pair(OTHER, OTHER),
        pair(OTHER, SHARED),
        pair(SHARED, OTHER),
        pair(SHARED, SHARED),
    ]
    .into();
    assert_eq!(got, want, "{}", r.text);
}

/// 8. A path with an empty parameter is no route: a bare 404 without
///    `vary`, as upstream's router answers.
fn empty_path_parameter_is_no_route(s: &Server) {
    for path in ["/traits/", "/resource_classes/", "/resource_providers//inventories"] {
        let r = s.req("GET", path).version("1.6").send().expect(404);
        assert_eq!(r.header("vary"), None, "{path}: {:?}", r.headers);
    }
    let r = s.req("GET", "/traits/CUSTOM_NOPE").version("1.6").send().expect(404);
    assert_eq!(r.header("vary"), Some("openstack-api-version"), "a handler's 404 keeps it");
}

/// Found by scripts/difftest: of the version-gated GETs, only the
/// aggregates one checks `Accept` before its version (406, not 404); and
/// the float maximum prints as upstream writes it.
fn accept_before_version_and_float_maximum(s: &Server) {
    create(s, ROOT, "root", None);
    let html = |path: &str, version: &str| s.req("GET", path).version(version).header("accept", "text/html").send();
    html(&format!("/resource_providers/{ROOT}/aggregates"), "1.0").expect(406);
    html("/allocation_candidates?resources=VCPU:1", "1.9").expect(404);
    html("/traits", "1.5").expect(404);
    let body =
        json!({"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4, "allocation_ratio": 1e39}}});
    let r = s.req("PUT", &format!("/resource_providers/{ROOT}/inventories")).json(body).send().expect(400);
    assert!(r.text.contains("1e+39 is greater than the maximum of 3.40282e+38"), "{}", r.text);
}

/// Found by scripts/difftest: a HEAD no route serves is webob's 405, an
/// HTML page without its body, allowing every method of the route.
fn head_is_an_html_405_allowing_every_method(s: &Server) {
    let inventories = format!("/resource_providers/{ROOT}/inventories");
    for (path, allow) in [("/resource_providers", "GET, POST"), (inventories.as_str(), "GET, POST, PUT, DELETE")] {
        let r = s.req("HEAD", path).version("1.0").send().expect(405);
        assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"), "{path}");
        assert_eq!(r.header("allow"), Some(allow), "{path}");
        assert_eq!(r.header("vary"), Some("openstack-api-version"), "{path}");
        assert!(r.text.is_empty());
    }
}

/// Found by scripts/difftest: the provider list stops at the first filter
/// nothing matches (required traits, then aggregates), before it looks
/// up the resource classes; an unknown class is an error only when the
/// search gets that far.
fn provider_list_stops_at_the_first_empty_filter(s: &Server) {
    create(s, ROOT, "root", None);
    let list = |query: &str| s.req("GET", &format!("/resource_providers?{query}")).version("1.22").send();
    let r = list("required=HW_CPU_X86_AVX&resources=CUSTOM_NOPE:1").expect(200);
    assert_eq!(r.json["resource_providers"], json!([]), "{}", r.text);
    let r = list(&format!("member_of={OTHER}&resources=CUSTOM_NOPE:1")).expect(200);
    assert_eq!(r.json["resource_providers"], json!([]), "{}", r.text);
    let r = list("resources=CUSTOM_NOPE:1").expect(400);
    assert!(r.text.contains("Invalid resource class in resources parameter"), "{}", r.text);
    // An unknown trait is reported even when a filter before it matches nothing.
    let r = list(&format!("required=CUSTOM_NOPE&member_of={OTHER}")).expect(400);
    assert!(r.text.contains("Invalid trait(s)"), "{}", r.text);
    let r = list("required=!CUSTOM_NOPE").expect(400);
    assert!(r.text.contains("Invalid trait(s)"), "{}", r.text);
}

/// Found by scripts/difftest: a body that is not JSON is refused with
/// Python's reason, at Python's position (in characters, not bytes).
fn malformed_json_reasons_are_pythons(s: &Server) {
    let post = |body: &'static [u8]| {
        s.req("POST", "/resource_providers")
            .header("content-type", "application/json")
            .raw(body.to_vec())
            .send()
            .expect(400)
    };
    let r = post(br#"{"name": "x",}"#);
    assert!(
        r.text
            .contains("Malformed JSON: Expecting property name enclosed in double quotes: line 1 column 14 (char 13)"),
        "{}",
        r.text
    );
    let r = post(r#"{"name": "é" "uuid": 1}"#.as_bytes());
    assert!(r.text.contains("Malformed JSON: Expecting ',' delimiter: line 1 column 14 (char 13)"), "{}", r.text);
    let r = post(b"{\"name\": \"\xff\"}");
    assert!(
        r.text.contains("Malformed JSON: 'utf-8' codec can't decode byte 0xff in position 10: invalid start byte"),
        "{}",
        r.text
    );
}

/// Found by scripts/difftest: `PUT .../inventories` checks capacities in
/// the order sent, before it looks classes up; a key that cannot be a
/// class name escapes upstream's schema, so its record is read as it comes.
fn inventories_are_checked_in_the_order_sent(s: &Server) {
    create(s, ROOT, "root", None);
    let path = format!("/resource_providers/{ROOT}/inventories");
    let put = |inventories: &str| {
        let body = format!(r#"{{"resource_provider_generation": 0, "inventories": {inventories}}}"#);
        s.req("PUT", &path).version("1.24").header("content-type", "application/json").raw(body.into_bytes()).send()
    };
    let r = put(r#"{"VCPU": {"total": 2, "reserved": 2}, "DISK_GB": {"total": 1, "reserved": 1}}"#).expect(400);
    assert!(r.text.contains("Invalid inventory for 'VCPU'"), "{}", r.text);
    let r = put(r#"{"lower": {"total": 4}, "DISK_GB": {"total": 1, "reserved": 1}}"#).expect(400);
    assert!(r.text.contains("Invalid inventory for 'DISK_GB'"), "{}", r.text);
    let r = put(r#"{"DISK_GB": {"total": 1}, "lower": {"total": 4, "anything": [1]}}"#).expect(400);
    assert!(
        r.text.contains(&format!(
            "Unknown resource class in inventory for resource provider {ROOT}: No such resource class lower."
        )),
        "{}",
        r.text
    );
    let r = put(r#"{"lower": {"total": 4, "reserved": 4.5}}"#).expect(400);
    assert!(r.text.contains("Invalid inventory for 'lower'"), "{}", r.text);
    // Where upstream's Python fails with a TypeError (a 500), a 400.
    for record in [r#""4""#, r#"{"total": "4"}"#, r#"{"reserved": 1}"#] {
        let r = put(&format!(r#"{{"lower": {record}}}"#)).expect(400);
        assert!(r.text.contains("Bad inventory lower for resource provider"), "{}", r.text);
    }
    // The TypeError comes in its turn, after the capacities before it.
    let r = put(r#"{"VCPU": {"total": 1, "reserved": 1}, "lower": {"total": "4"}}"#).expect(400);
    assert!(r.text.contains("Invalid inventory for 'VCPU'"), "{}", r.text);
    let r = s.req("GET", &path).send().expect(200);
    assert_eq!(r.json["inventories"], json!({}), "nothing was written");
}

/// Found by scripts/difftest: a method the route never serves is a 405
/// allowing the methods served at the request's version (DELETE of all
/// inventories came with 1.5); upstream lists them all (a deviation, as
/// the version's OpenAPI document lists only the former).
fn unknown_method_allows_the_methods_of_its_version(s: &Server) {
    create(s, ROOT, "root", None);
    let path = format!("/resource_providers/{ROOT}/inventories");
    let r = s.req("PATCH", &path).version("1.4").send().expect(405);
    assert_eq!(r.header("allow"), Some("GET, POST, PUT"), "{:?}", r.headers);
    let r = s.req("PATCH", &path).version("1.5").send().expect(405);
    assert_eq!(r.header("allow"), Some("GET, POST, PUT, DELETE"), "{:?}", r.headers);
}

on_every_backend!(
    unknown_method_allows_the_methods_of_its_version,
    inventories_are_checked_in_the_order_sent,
    malformed_json_reasons_are_pythons,
    provider_list_stops_at_the_first_empty_filter,
    head_is_an_html_405_allowing_every_method,
    accept_before_version_and_float_maximum,
    empty_inventories_put_has_no_last_modified,
    provider_update_last_modified_is_the_previous_update,
    empty_name_filter_lists_every_provider,
    uuids_without_dashes_are_refused,
    media_type_is_compared_as_sent,
    huge_amounts_are_bad_requests,
    overlapping_groups_never_double_count,
    sharing_provider_serves_every_tree,
    empty_path_parameter_is_no_route,
);
