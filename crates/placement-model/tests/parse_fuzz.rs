//! The query parsers on arbitrary input: any string, any mix of keys and
//! values, every microversion. They answer Ok or a 400 message; they never
//! panic, and their work grows linearly with the input.

use std::time::{Duration, Instant};

use placement_model::Microversion;
use placement_model::{query, request};
use proptest::prelude::*;

/// Keys the parser knows, with suffixes, and some it does not.
fn key() -> impl Strategy<Value = String> {
    let prefixes = prop::sample::select(vec![
        "resources",
        "required",
        "member_of",
        "in_tree",
        "limit",
        "group_policy",
        "root_required",
        "same_subtree",
        "junk",
    ]);
    let suffixes = prop::sample::select(vec!["", "1", "2", "10", "_X", "-y", "0", "ü", "_", "999999999999"]);
    (prefixes, suffixes).prop_map(|(p, s)| format!("{p}{s}"))
}

/// Values made of the parser's own tokens and hostile pieces.
fn value() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "VCPU",
        "VCPU:1",
        ":",
        ",",
        "!",
        "in:",
        "!in:",
        "CUSTOM_A",
        "-1",
        "0",
        "9223372036854775807",
        "99999999999999999999",
        "+5",
        " ",
        "isolate",
        "none",
        "5e08ea53-c4c6-448e-9334-ac4953de3cfa",
        "5E08EA53C4C6448E9334AC4953DE3CFA",
        "{",
        "}",
        "urn:uuid:",
        "☃",
        "\u{0}",
        "\n",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    #[test]
    fn candidate_queries_never_panic(
        pairs in prop::collection::vec((key(), value()), 0..24),
        minor in 0u16..=39,
    ) {
        let _ = request::parse(&pairs, Microversion::new(1, minor));
    }

    #[test]
    fn filter_parsers_never_panic(text in ".{0,200}", more in prop::collection::vec(value(), 0..6)) {
        let _ = query::parse_resources(&text);
        let values: Vec<&str> = more.iter().map(String::as_str).chain([text.as_str()]).collect();
        for (forbidden, any) in [(false, false), (true, false), (true, true)] {
            let _ = query::parse_required(&values, forbidden, any);
        }
        let _ = query::parse_member_of(&values, "1", true, true);
        let _ = query::parse_in_tree(&text);
        let _ = query::normalize_uuid(&text);
    }
}

/// The quickest of a few runs, to see through a noisy machine.
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
fn parsing_time_grows_linearly() {
    let query = |n: usize| -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = (0..n).map(|i| ("required".into(), format!("CUSTOM_T{i}"))).collect();
        q.extend((0..n).map(|i| (format!("member_of{}", i % 50 + 1), "5e08ea53-c4c6-448e-9334-ac4953de3cfa".into())));
        q.extend((1..=50).map(|i| (format!("resources{i}"), "VCPU:1".into())));
        q.push(("resources".into(), "VCPU:1".into()));
        q.push(("group_policy".into(), "none".into()));
        q
    };
    let (small, large) = (query(500), query(4000));
    let v = Microversion::new(1, 39);
    let t_small = quickest(|| assert!(request::parse(&small, v).is_ok()));
    let t_large = quickest(|| assert!(request::parse(&large, v).is_ok()));
    // Eight times the input: linear is about 8x, quadratic 64x.
    assert!(t_large < t_small * 24 + Duration::from_millis(5), "500 pairs took {t_small:?}, 4000 took {t_large:?}");
}
