//! The work one candidates request can make the solver do is bounded:
//! hopeless requests are cut short without a search, the rest stop at a
//! step budget or a time limit, and `limit` stops the search once it has
//! what it will return.

use std::collections::BTreeSet;
use std::time::Duration;

use placement_model::candidates::{
    Capacity, ClassId, Exhausted, Group, Limits, Options, ProviderId, ProviderNode, Request, Snapshot, TraitId, solve,
};

const PGPU: ClassId = ClassId(1);
const SMALL: TraitId = TraitId(1);
const ROOT: ProviderId = ProviderId(1);

fn capacity(total: i32) -> Capacity {
    Capacity::new(Limits { total, reserved: 0, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: 1.0 }, 0)
}

/// One root with `small` children of one PGPU each (trait SMALL), and
/// optionally a big child of 100 PGPU without the trait.
fn wide_tree(small: i32, big: bool) -> Snapshot {
    let mut snap = Snapshot { has_trees: true, ..Default::default() };
    snap.add_provider(ProviderNode { id: ROOT, uuid: format!("{:032}", 1).into(), parent: None, root: ROOT });
    for id in (2..small + 2).map(ProviderId) {
        snap.add_provider(ProviderNode { id, uuid: format!("{:032}", id.0).into(), parent: Some(ROOT), root: ROOT });
        snap.add_inventory(id, PGPU, capacity(1));
        snap.add_trait(id, SMALL);
    }
    if big {
        let id = ProviderId(small + 2);
        snap.add_provider(ProviderNode { id, uuid: format!("{:032}", id.0).into(), parent: Some(ROOT), root: ROOT });
        snap.add_inventory(id, PGPU, capacity(100));
    }
    snap
}

fn group(i: usize, small_only: bool) -> Group {
    Group {
        suffix: i.to_string(),
        resources: vec![(PGPU, 1)],
        required: if small_only { vec![BTreeSet::from([SMALL])] } else { Vec::new() },
        ..Default::default()
    }
}

fn opts() -> Options {
    Options { nested_aware: true, ..Default::default() }
}

#[test]
fn more_groups_than_the_tree_has_room_for_end_without_a_search() {
    // Thirteen one-unit groups on twelve one-unit children: 12! partial
    // choices to try, none complete.
    let snap = wide_tree(12, false);
    let req = Request { groups: (1..=13).map(|i| group(i, false)).collect(), isolate: true, ..Default::default() };
    let solution = solve(&snap, &req, &Options { max_steps: Some(10_000), ..opts() }).expect("no search needed");
    assert!(solution.candidates.is_empty());
    assert!(solution.steps < 1_000, "{} steps", solution.steps);
}

/// Room enough in all (the big child), but thirteen groups need the
/// twelve small ones: no shortcut sees it, the search is exponential.
fn hopeless() -> (Snapshot, Request) {
    let snap = wide_tree(12, true);
    let groups = std::iter::once(group(0, false)).chain((1..=13).map(|i| group(i, true))).collect();
    (snap, Request { groups, isolate: false, ..Default::default() })
}

#[test]
fn an_exponential_search_stops_at_the_step_budget() {
    let (snap, req) = hopeless();
    let result = solve(&snap, &req, &Options { max_steps: Some(200_000), ..opts() });
    assert_eq!(result.unwrap_err(), Exhausted::Steps(200_000));
}

#[test]
fn an_exponential_search_stops_at_the_time_limit() {
    let (snap, req) = hopeless();
    let limit = Duration::from_millis(50);
    let result = solve(&snap, &req, &Options { time_limit: Some(limit), ..opts() });
    assert_eq!(result.unwrap_err(), Exhausted::Time(limit));
}

#[test]
fn limit_stops_the_search_at_what_it_returns() {
    // Four one-unit groups on twelve children: 11,880 candidates.
    let snap = wide_tree(12, false);
    let req = Request { groups: (1..=4).map(|i| group(i, true)).collect(), isolate: true, ..Default::default() };
    let all = solve(&snap, &req, &opts()).expect("finishes");
    assert_eq!(all.candidates.len(), 12 * 11 * 10 * 9);
    let one = solve(&snap, &req, &Options { limit: Some(1), ..opts() }).expect("finishes");
    assert_eq!(one.candidates, all.candidates[..1]);
    assert!(one.steps * 100 < all.steps, "limit=1 took {} steps of {}", one.steps, all.steps);
    // With a budget too small for all of them, limit still answers.
    let budget = Options { max_steps: Some(all.steps / 10), ..opts() };
    assert!(solve(&snap, &req, &budget).is_err());
    assert_eq!(solve(&snap, &req, &Options { limit: Some(5), ..budget }).expect("within budget").candidates.len(), 5);
}
