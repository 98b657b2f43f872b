//! The candidates cache stays true to the database: after every kind of
//! change, made by another server process, a long-running server answers
//! exactly as a freshly started one (which reads everything anew).

use serde_json::{Value, json};

use crate::on_every_backend;
use crate::support::Server;

const CN1: &str = "cac4e000-0000-4000-8000-000000000001";
const CN2: &str = "cac4e000-0000-4000-8000-000000000002";
const PF: &str = "cac4e000-0000-4000-8000-000000000003";
const EXTRA: &str = "cac4e000-0000-4000-8000-000000000004";
const REUSE: &str = "cac4e000-0000-4000-8000-000000000005";
const SHARED: &str = "cac4e000-0000-4000-8000-000000000006";
const AGG: &str = "cac4e000-0000-4000-8000-0000000000a1";
const CONSUMER: &str = "cac4e000-0000-4000-8000-0000000000c1";

const QUERIES: [&str; 7] = [
    "resources=VCPU:1",
    "resources=VCPU:1&required=HW_CPU_X86_AVX2",
    "resources=VCPU:1&required=CUSTOM_CACHED",
    "resources=VCPU:1&member_of=cac4e000-0000-4000-8000-0000000000a1",
    "resources=VCPU:1&resources1=SRIOV_NET_VF:1",
    "resources=VCPU:2,MEMORY_MB:1024",
    "resources=VCPU:1,DISK_GB:10",
];

fn answers(s: &Server) -> Vec<Value> {
    QUERIES
        .iter()
        .map(|q| {
            let mut answer =
                s.req("GET", &format!("/allocation_candidates?{q}")).version("1.39").send().expect(200).json;
            if let Some(list) = answer["allocation_requests"].as_array_mut() {
                list.sort_by_key(Value::to_string);
            }
            answer
        })
        .collect()
}

/// The long-running server answers as a fresh one does.
#[track_caller]
fn agree(warm: &Server, fresh: &dyn Fn() -> Server, step: &str) {
    let got = answers(warm);
    let fresh = fresh();
    let expected = answers(&fresh);
    drop(fresh);
    for ((q, got), expected) in QUERIES.iter().zip(&got).zip(&expected) {
        assert_eq!(got, expected, "after {step}, for {q}");
    }
}

fn generation(s: &Server, uuid: &str) -> Value {
    s.req("GET", &format!("/resource_providers/{uuid}")).send().expect(200).json["generation"].clone()
}

fn set_inventory(s: &Server, uuid: &str, inventories: Value) {
    let body = json!({"resource_provider_generation": generation(s, uuid), "inventories": inventories});
    s.req("PUT", &format!("/resource_providers/{uuid}/inventories")).json(body).send().expect(200);
}

fn set_traits(s: &Server, uuid: &str, traits: &[&str]) {
    let body = json!({"resource_provider_generation": generation(s, uuid), "traits": traits});
    s.req("PUT", &format!("/resource_providers/{uuid}/traits")).version("1.6").json(body).send().expect(200);
}

fn create(s: &Server, uuid: &str, name: &str, parent: Option<&str>) {
    let body = json!({"uuid": uuid, "name": name, "parent_provider_uuid": parent});
    s.req("POST", "/resource_providers").version("1.20").json(body).send().expect(200);
}

fn candidates_cache_follows_every_change(s: &Server) {
    let other = s.sibling();
    follows_every_change(s, &other, &|| s.sibling());
}

/// `s` (long-running) answers as a fresh server after each change `other`
/// makes; `fresh` starts the fresh one (on the same database, or on another
/// node of a cluster).
pub fn follows_every_change(s: &Server, other: &Server, fresh: &dyn Fn() -> Server) {
    other.req("PUT", "/traits/CUSTOM_CACHED").version("1.6").send().expect(201);
    create(other, CN1, "cn1", None);
    create(other, CN2, "cn2", None);
    create(other, PF, "pf", Some(CN1));
    set_inventory(other, CN1, json!({"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096}}));
    set_inventory(other, CN2, json!({"VCPU": {"total": 4}, "MEMORY_MB": {"total": 512}}));
    set_inventory(other, PF, json!({"SRIOV_NET_VF": {"total": 2}}));
    agree(s, fresh, "creating providers");

    set_inventory(other, CN2, json!({"VCPU": {"total": 4}, "MEMORY_MB": {"total": 2048}}));
    agree(s, fresh, "changing inventory");

    set_traits(other, CN1, &["HW_CPU_X86_AVX2"]);
    set_traits(other, CN2, &["CUSTOM_CACHED"]);
    agree(s, fresh, "setting traits");

    // A custom trait deleted and made again may get another id.
    set_traits(other, CN2, &[]);
    other.req("DELETE", "/traits/CUSTOM_CACHED").version("1.6").send().expect(204);
    other.req("PUT", "/traits/CUSTOM_OTHER").version("1.6").send().expect(201);
    other.req("PUT", "/traits/CUSTOM_CACHED").version("1.6").send().expect(201);
    set_traits(other, CN1, &["HW_CPU_X86_AVX2", "CUSTOM_CACHED"]);
    agree(s, fresh, "making a custom trait again");

    // Before 1.19, setting aggregates leaves the generation alone.
    let before = generation(other, CN2);
    other
        .req("PUT", &format!("/resource_providers/{CN2}/aggregates"))
        .version("1.18")
        .json(json!([AGG]))
        .send()
        .expect(200);
    assert_eq!(generation(other, CN2), before);
    agree(s, fresh, "setting aggregates without a generation bump");
    // Out and in again, several times within a second (MariaDB keeps
    // `updated_at` in whole seconds), each seen at once.
    for (step, aggregates) in [("leaving", json!([])), ("rejoining", json!([AGG]))].iter().cycle().take(4) {
        let path = format!("/resource_providers/{CN2}/aggregates");
        other.req("PUT", &path).version("1.18").json(aggregates.clone()).send().expect(200);
        let member_of = format!("/allocation_candidates?resources=VCPU:1&member_of={AGG}");
        let found = s.req("GET", &member_of).version("1.39").send().expect(200).json;
        let expected = if *step == "leaving" { Value::Null } else { json!({CN2: {"resources": {"VCPU": 1}}}) };
        assert_eq!(found["allocation_requests"][0]["allocations"], expected, "{step}");
    }
    assert_eq!(generation(other, CN2), before);
    agree(s, fresh, "leaving and rejoining an aggregate without a generation bump");

    create(other, SHARED, "shared", None);
    set_inventory(other, SHARED, json!({"DISK_GB": {"total": 100}}));
    let body = json!({"aggregates": [AGG], "resource_provider_generation": generation(other, SHARED)});
    other.req("PUT", &format!("/resource_providers/{SHARED}/aggregates")).version("1.19").json(body).send().expect(200);
    set_traits(other, SHARED, &["MISC_SHARES_VIA_AGGREGATE"]);
    agree(s, fresh, "making a provider share");
    let shared = answers(s).pop().unwrap_or_default();
    assert_eq!(shared["allocation_requests"][0]["allocations"][SHARED]["resources"], json!({"DISK_GB": 10}));
    set_traits(other, SHARED, &[]);
    agree(s, fresh, "making it stop sharing");
    assert_eq!(answers(s).pop().unwrap_or_default()["allocation_requests"], json!([]));

    let claim = json!({"allocations": {CN1: {"resources": {"VCPU": 7}}}, "project_id": "p", "user_id": "u",
                       "consumer_generation": null});
    other.req("PUT", &format!("/allocations/{CONSUMER}")).version("1.28").json(claim).send().expect(204);
    agree(s, fresh, "allocating");
    // Deleting allocations leaves generations alone too.
    other.req("DELETE", &format!("/allocations/{CONSUMER}")).send().expect(204);
    agree(s, fresh, "deleting allocations");

    frees_are_seen_at_once(s, other);
    agree(s, fresh, "freeing allocations without generation bumps");

    let body = json!({"name": "pf", "parent_provider_uuid": CN2});
    other.req("PUT", &format!("/resource_providers/{PF}")).version("1.37").json(body).send().expect(200);
    agree(s, fresh, "moving a provider to another tree");

    // A new provider may take a deleted one's id (SQLite reuses the highest
    // rowid) and reach the same generation with different inventory.
    create(other, EXTRA, "extra", None);
    set_inventory(other, EXTRA, json!({"VCPU": {"total": 1}}));
    agree(s, fresh, "adding a provider");
    other.req("DELETE", &format!("/resource_providers/{EXTRA}")).send().expect(204);
    create(other, REUSE, "reuse", None);
    set_inventory(other, REUSE, json!({"VCPU": {"total": 16}, "MEMORY_MB": {"total": 8192}}));
    agree(s, fresh, "replacing a deleted provider");
}

/// Each way of freeing a provider leaves its generation alone, and the
/// long-running server sees each at once, several within one second
/// (MariaDB keeps `updated_at` in whole seconds).
fn frees_are_seen_at_once(s: &Server, other: &Server) {
    const FIRST: &str = "cac4e000-0000-4000-8000-0000000000c2";
    const SECOND: &str = "cac4e000-0000-4000-8000-0000000000c3";
    let claim = |consumer: &str, provider: &str, vcpu: i64, consumer_generation: Value| {
        let body = json!({"allocations": {provider: {"resources": {"VCPU": vcpu}}}, "project_id": "p",
                          "user_id": "u", "consumer_generation": consumer_generation});
        other.req("PUT", &format!("/allocations/{consumer}")).version("1.28").json(body).send().expect(204);
    };
    let used = |uuid: &str| {
        let answer = s.req("GET", "/allocation_candidates?resources=VCPU:1").version("1.39").send().expect(200).json;
        answer["provider_summaries"][uuid]["resources"]["VCPU"]["used"].as_i64().unwrap_or(-1)
    };
    let consumer_generation = |consumer: &str| {
        other.req("GET", &format!("/allocations/{consumer}")).version("1.28").send().expect(200).json["consumer_generation"]
            .clone()
    };
    claim(FIRST, CN1, 3, Value::Null);
    claim(SECOND, CN1, 4, Value::Null);
    assert_eq!(used(CN1), 7);
    let cn1 = generation(other, CN1);
    other.req("DELETE", &format!("/allocations/{FIRST}")).send().expect(204);
    assert_eq!(used(CN1), 4, "after deleting one consumer's allocations");
    other.req("DELETE", &format!("/allocations/{SECOND}")).send().expect(204);
    assert_eq!(used(CN1), 0, "after deleting the other's");
    assert_eq!(generation(other, CN1), cn1, "deletes leave the generation");

    claim(FIRST, CN1, 3, Value::Null);
    assert_eq!(used(CN1), 3);
    let cn1 = generation(other, CN1);
    claim(FIRST, CN2, 1, consumer_generation(FIRST));
    assert_eq!((used(CN1), used(CN2)), (0, 1), "after moving the consumer to another provider");
    assert_eq!(generation(other, CN1), cn1, "a move leaves the generation of what it leaves");
    let body = json!({FIRST: {"allocations": {}, "project_id": "p", "user_id": "u",
                              "consumer_generation": consumer_generation(FIRST)}});
    other.req("POST", "/allocations").version("1.28").json(body).send().expect(204);
    assert_eq!(used(CN2), 0, "after emptying the consumer by POST /allocations");
}

/// Frees written as upstream's processes write them (rows deleted, nothing
/// stamped) are what the usage cache cannot see, and why it can be
/// switched off: with `usage_cache = false` they show at once.
fn usage_cache_can_be_switched_off(s: &Server) {
    let url = s.database_url().expect("a database of its own").to_string();
    let mut off = Server::launch_on(&url, "[placement]\nusage_cache = false\n");
    off.wait_ready();
    create(s, CN1, "cn1", None);
    set_inventory(s, CN1, json!({"VCPU": {"total": 8}}));
    let claim = json!({"allocations": {CN1: {"resources": {"VCPU": 7}}}, "project_id": "p", "user_id": "u",
                       "consumer_generation": null});
    s.req("PUT", &format!("/allocations/{CONSUMER}")).version("1.28").json(claim).send().expect(204);
    let used = |server: &Server| {
        let answer =
            server.req("GET", "/allocation_candidates?resources=VCPU:1").version("1.39").send().expect(200).json;
        answer["provider_summaries"][CN1]["resources"]["VCPU"]["used"].as_i64().unwrap_or(-1)
    };
    assert_eq!((used(s), used(&off)), (7, 7));
    let db = placement_storage::DatabaseUrl::parse(&url).expect("url parses");
    placement_storage::conn::execute_once(&db, &format!("DELETE FROM allocations WHERE consumer_id = '{CONSUMER}'"))
        .expect("delete behind the API");
    assert_eq!(used(&off), 0, "without the usage cache");
    assert_eq!(used(s), 7, "the cache cannot see a free that stamps nothing");
}

on_every_backend!(candidates_cache_follows_every_change, usage_cache_can_be_switched_off);
