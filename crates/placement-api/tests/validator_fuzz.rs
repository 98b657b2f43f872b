//! The body validator on arbitrary JSON against every request schema: it
//! answers Ok or an error whose text is bounded, never panics, and its
//! work grows linearly with the body.

use std::time::{Duration, Instant};

use placement_api::schema::{requests, validator};
use proptest::prelude::*;
use serde_json::{Value, json};

fn schemas() -> Vec<&'static Value> {
    vec![
        requests::post_provider(),
        requests::put_provider(),
        requests::post_provider_1_14(),
        requests::put_provider_1_14(),
        requests::list_providers_1_18(),
        requests::put_inventory(),
        requests::post_inventory(),
        requests::put_inventories(),
        requests::resource_class_name(),
        requests::custom_trait(),
        requests::set_provider_traits(),
        requests::list_traits(),
        requests::put_aggregates_1_1(),
        requests::put_aggregates_1_19(),
        requests::usages_1_38(),
        requests::candidates_v1_36(),
        requests::put_allocations_1_0(),
        requests::put_allocations_1_8(),
        requests::put_allocations_1_12(),
        requests::put_allocations_1_28(),
        requests::put_allocations_1_34(),
        requests::put_allocations_1_38(),
        requests::post_allocations_1_13(),
        requests::post_allocations_1_38(),
        requests::reshaper_1_30(),
        requests::reshaper_1_38(),
    ]
}

/// Keys and leaves from Placement's bodies, so the generated documents
/// reach deep into the schemas, and some that fit nowhere.
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "name",
        "uuid",
        "parent_provider_uuid",
        "allocations",
        "resources",
        "VCPU",
        "CUSTOM_X",
        "inventories",
        "total",
        "reserved",
        "min_unit",
        "max_unit",
        "step_size",
        "allocation_ratio",
        "traits",
        "aggregates",
        "resource_provider_generation",
        "consumer_generation",
        "project_id",
        "user_id",
        "consumer_type",
        "mappings",
        "generation",
        "resource_provider",
        "5e08ea53-c4c6-448e-9334-ac4953de3cfa",
        "",
        "☃",
        "x y",
    ])
    .prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop::sample::select(vec![0i64, 1, -1, 2_147_483_647, 2_147_483_648, i64::MAX]).prop_map(Value::from),
        key().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 200, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<serde_json::Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn any_document_gets_an_answer_of_bounded_size(doc in document()) {
        for schema in schemas() {
            if let Err(e) = validator::validate(&doc, schema) {
                let text = e.describe();
                prop_assert!(text.len() < 20_000, "{} bytes", text.len());
            }
        }
    }
}

fn quickest(f: impl Fn()) -> Duration {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn validation_time_grows_linearly() {
    // Many consumers, each wrong in a small way, and a uniqueItems list.
    let body = |n: usize| -> Value {
        let consumers: serde_json::Map<String, Value> = (0..n)
            .map(|i| {
                let c = json!({"allocations": {"5e08ea53-c4c6-448e-9334-ac4953de3cfa": {"resources": {"VCPU": "x"}}},
                               "project_id": "p", "user_id": "u", "consumer_generation": null});
                (format!("{i:08x}-0000-4000-8000-000000000000"), c)
            })
            .collect();
        Value::Object(consumers)
    };
    let aggregates =
        |n: usize| json!((0..n).map(|i| format!("{i:08x}-0000-4000-8000-000000000000")).collect::<Vec<_>>());
    let (small, large) = (body(1000), body(8000));
    let (few, many) = (aggregates(2000), aggregates(16000));
    let schema = requests::post_allocations_1_28();
    let t_small = quickest(|| assert!(validator::validate(&small, schema).is_err()));
    let t_large = quickest(|| assert!(validator::validate(&large, schema).is_err()));
    let t_few = quickest(|| assert!(validator::validate(&few, requests::put_aggregates_1_1()).is_ok()));
    let t_many = quickest(|| assert!(validator::validate(&many, requests::put_aggregates_1_1()).is_ok()));
    // Eight times the input: linear is about 8x, quadratic 64x.
    assert!(t_large < t_small * 24 + Duration::from_millis(5), "1000: {t_small:?}, 8000: {t_large:?}");
    assert!(t_many < t_few * 24 + Duration::from_millis(5), "2000: {t_few:?}, 16000: {t_many:?}");
}
