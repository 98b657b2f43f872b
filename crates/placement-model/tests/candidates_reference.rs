//! Property test of the allocation-candidates solver against a brute-force
//! reference written from the rules, not from the solver: random small
//! provider forests (nesting, sharing providers, traits, aggregates,
//! inventories with usage) and random requests; the solver must return
//! exactly the candidates the reference finds.
//!
//! The reference states upstream's rules as directly as it can:
//! * an anchor is a root; every provider used must be in the anchor's tree,
//!   or be a sharing provider whose aggregates reach that tree;
//! * a suffixed group takes all its resources from one provider that itself
//!   has the required traits, is in the member_of aggregates, not in a
//!   forbidden one, and in the in_tree tree (ignored by a resourceless
//!   group, as upstream applies it only while looking for resources);
//! * the unsuffixed group may take each resource from a different provider;
//!   its providers together hold the required traits, none holds a
//!   forbidden one, and each provider (or the anchor) is in the member_of
//!   aggregates and neither is in a forbidden one; with in_tree, no sharing;
//!   a sharing provider used away from its own tree must itself be in the
//!   member_of aggregates; a choice of sharing providers only is a choice
//!   under every anchor they reach;
//! * each amount fits the inventory it comes from (usage, min/max/step),
//!   and summed per provider and class fits the capacity and max_unit;
//! * isolate: suffixed groups use distinct providers; same_subtree: the
//!   providers of the named groups have one of them as common ancestor;
//!   root_required filters anchors; before 1.29 (with trees anywhere) a
//!   candidate uses at most one provider per tree.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use placement_model::candidates::{
    AggregateId, Capacity, ClassId, Group, Limits, Options, ProviderId, ProviderNode, Request, Snapshot, TraitId, solve,
};
use proptest::prelude::*;

const SHARING: TraitId = TraitId(99);
const CLASSES: [ClassId; 3] = [ClassId(0), ClassId(1), ClassId(2)];
const TRAITS: [TraitId; 3] = [TraitId(10), TraitId(11), TraitId(12)];
const AGGS: [AggregateId; 2] = [AggregateId(1), AggregateId(2)];
/// Marks a suffixed group's own provider among its (class, provider) pairs.
const NO_CLASS: ClassId = ClassId(-1);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn subset<T: Copy + Ord>(&mut self, items: &[T], percent: u64) -> BTreeSet<T> {
        items.iter().copied().filter(|_| self.chance(percent)).collect()
    }
}

fn forest(rng: &mut Rng) -> Snapshot {
    let mut snap = Snapshot::default();
    let mut next_id = 1;
    let trees = 1 + rng.below(3);
    for _ in 0..trees {
        let root = next_id;
        next_id += 1;
        let root_id = ProviderId(root);
        snap.add_provider(ProviderNode { id: root_id, uuid: format!("rp{root}").into(), parent: None, root: root_id });
        let children = rng.below(3);
        for _ in 0..children {
            let id = next_id;
            next_id += 1;
            let parent = ProviderId(if rng.chance(30) && id > root + 1 { id - 1 } else { root });
            let node = ProviderNode {
                id: ProviderId(id),
                uuid: format!("rp{id}").into(),
                parent: Some(parent),
                root: root_id,
            };
            snap.add_provider(node);
        }
    }
    let ids: Vec<ProviderId> = snap.providers.keys().copied().collect();
    for &rp in &ids {
        for rc in CLASSES {
            if rng.chance(60) {
                let total = 2 + rng.below(8) as i32;
                snap.add_inventory(
                    rp,
                    rc,
                    Capacity::new(
                        Limits {
                            total,
                            reserved: rng.below(2) as i32,
                            min_unit: if rng.chance(80) { 1 } else { 2 },
                            max_unit: 2 + rng.below(6) as i32,
                            step_size: if rng.chance(80) { 1 } else { 2 },
                            allocation_ratio: if rng.chance(30) { 1.5 } else { 1.0 },
                        },
                        rng.below(3) as i64,
                    ),
                );
            }
        }
        let mut traits = rng.subset(&TRAITS, 35);
        if snap.providers[&rp].parent.is_none() && rng.chance(25) {
            traits.insert(SHARING);
        }
        for t in traits {
            snap.add_trait(rp, t);
        }
        let aggs = rng.subset(&AGGS, 45);
        if !aggs.is_empty() {
            snap.set_aggregates(rp, aggs);
        }
    }
    snap.has_trees = snap.providers.values().any(|p| p.parent.is_some());
    snap.sharing = ids.iter().copied().filter(|rp| snap.has_trait(*rp, SHARING)).collect();
    for &s in &snap.sharing {
        let mine = snap.aggregates.get(&s).cloned().unwrap_or_default();
        let roots: BTreeSet<ProviderId> = snap
            .providers
            .values()
            .filter(|p| snap.aggregates.get(&p.id).is_some_and(|a| a.iter().any(|x| mine.contains(x))))
            .map(|p| p.root)
            .collect();
        if !roots.is_empty() {
            snap.anchors.insert(s, roots);
        }
    }
    snap
}

fn group(rng: &mut Rng, suffix: &str, snap: &Snapshot, resourceless: bool) -> Group {
    let mut g = Group { suffix: suffix.to_string(), ..Default::default() };
    if !resourceless {
        let mut classes: Vec<ClassId> = CLASSES.to_vec();
        let n = 1 + rng.below(2) as usize;
        for _ in 0..n {
            let rc = classes.remove(rng.below(classes.len() as u64) as usize);
            g.resources.push((rc, 1 + rng.below(2) as i64));
        }
    }
    if rng.chance(25) || resourceless {
        g.required.push(rng.subset(&TRAITS, 50).into_iter().chain([TRAITS[rng.below(3) as usize]]).collect());
    }
    if rng.chance(15) {
        g.forbidden.insert(TRAITS[rng.below(3) as usize]);
    }
    g.required.retain(|any| !any.iter().all(|t| g.forbidden.contains(t)));
    if rng.chance(15) {
        g.member_of.push([AGGS[rng.below(2) as usize]].into());
    }
    if rng.chance(10) {
        g.forbidden_aggregates.insert(AGGS[rng.below(2) as usize]);
    }
    if rng.chance(10) {
        let roots: Vec<ProviderId> = snap.providers.values().filter(|p| p.parent.is_none()).map(|p| p.id).collect();
        g.in_tree = Some(Some(roots[rng.below(roots.len() as u64) as usize]));
    }
    g
}

fn request(rng: &mut Rng, snap: &Snapshot) -> Request {
    let mut req = Request::default();
    if rng.chance(70) {
        req.groups.push(group(rng, "", snap, false));
    }
    let granular = if req.groups.is_empty() { 1 + rng.below(2) } else { rng.below(3) };
    for i in 1..=granular {
        req.groups.push(group(rng, &i.to_string(), snap, false));
    }
    if granular >= 1 && rng.chance(15) {
        req.groups.push(group(rng, "x", snap, true));
        req.same_subtrees.push(["1".to_string(), "x".to_string()].into());
    } else if granular == 2 && rng.chance(20) {
        req.same_subtrees.push(["1".to_string(), "2".to_string()].into());
    }
    req.isolate = rng.chance(50);
    if rng.chance(15) {
        req.root_required = Some((rng.subset(&TRAITS, 30), rng.subset(&TRAITS, 20)));
        if let Some((r, f)) = &mut req.root_required {
            let both: Vec<TraitId> = r.intersection(f).copied().collect();
            for t in both {
                f.remove(&t);
            }
        }
    }
    req
}

type Key = (Vec<(ProviderId, ClassId, i64)>, BTreeMap<String, BTreeSet<ProviderId>>);

/// A group's options within one anchor: provider per requested class.
fn group_choices(snap: &Snapshot, g: &Group, anchor: ProviderId) -> Vec<Vec<(ClassId, ProviderId)>> {
    let in_aggs = |rp: ProviderId, sets: &[BTreeSet<AggregateId>]| {
        sets.iter().all(|any| snap.aggregates.get(&rp).is_some_and(|a| a.iter().any(|x| any.contains(x))))
    };
    let bad_agg =
        |rp: ProviderId| snap.aggregates.get(&rp).is_some_and(|a| a.iter().any(|x| g.forbidden_aggregates.contains(x)));
    let has = |rp: ProviderId, t: &TraitId| snap.has_trait(rp, *t);
    let reaches = |rp: ProviderId| {
        snap.root_of(rp) == anchor
            || (snap.sharing.contains(&rp) && snap.anchors.get(&rp).is_some_and(|a| a.contains(&anchor)))
    };
    let fits = |rp: ProviderId, rc: ClassId, n: i64| snap.inventory.get(&(rp, rc)).is_some_and(|c| c.fits(n));
    let providers: Vec<ProviderId> = snap.providers.keys().copied().collect();
    if g.use_same_provider() {
        let mut out = Vec::new();
        for &rp in &providers {
            // Upstream applies in_tree only while looking for resources, so
            // a resourceless group ignores it.
            let ok = reaches(rp)
                && (g.resources.is_empty() || g.in_tree.is_none_or(|t| t == Some(snap.root_of(rp))))
                && g.required.iter().all(|any| any.iter().any(|t| has(rp, t)))
                && !g.forbidden.iter().any(|t| has(rp, t))
                && in_aggs(rp, &g.member_of)
                && !bad_agg(rp)
                && g.resources.iter().all(|(rc, n)| fits(rp, *rc, *n));
            let resourceless_ok = !g.resources.is_empty() || !g.required.is_empty() || !g.member_of.is_empty();
            if ok && resourceless_ok {
                out.push(g.resources.iter().map(|(rc, _)| (*rc, rp)).chain(std::iter::once((NO_CLASS, rp))).collect());
            }
        }
        return out;
    }
    // Unsuffixed: each class from any provider that reaches the anchor.
    if g.in_tree.is_some_and(|tree| tree != Some(anchor)) {
        return Vec::new();
    }

    let mut options: Vec<Vec<ProviderId>> = Vec::new();
    for (rc, n) in &g.resources {
        let list: Vec<ProviderId> = providers
            .iter()
            .copied()
            .filter(|rp| fits(*rp, *rc, *n))
            .filter(|rp| {
                let own = snap.root_of(*rp) == anchor;
                let shared = !own && reaches(*rp);
                (own || (shared && g.in_tree.is_none() && (g.member_of.is_empty() || in_aggs(*rp, &g.member_of))))
                    && (g.member_of.is_empty() || in_aggs(*rp, &g.member_of) || in_aggs(anchor, &g.member_of))
                    && !(g.forbidden_aggregates.iter().len() > 0 && (bad_agg(*rp) || bad_agg(anchor)))
                    && !g.forbidden.iter().any(|t| has(*rp, t))
            })
            .collect();
        options.push(list);
    }
    let mut out = Vec::new();
    let mut idx = vec![0usize; options.len()];
    if options.iter().any(Vec::is_empty) {
        return out;
    }
    loop {
        let choice: Vec<(ClassId, ProviderId)> =
            g.resources.iter().zip(&idx).zip(&options).map(|(((rc, _), i), l)| (*rc, l[*i])).collect();
        let traits_ok = g.required.iter().all(|any| any.iter().any(|t| choice.iter().any(|(_, rp)| has(*rp, t))));
        if traits_ok {
            out.push(choice);
        }
        let mut level = idx.len();
        let mut done = true;
        while level > 0 {
            level -= 1;
            idx[level] += 1;
            if idx[level] < options[level].len() {
                done = false;
                break;
            }
            idx[level] = 0;
        }
        if done {
            break;
        }
    }
    out
}

fn reference(snap: &Snapshot, req: &Request, nested_aware: bool) -> BTreeSet<Key> {
    let roots: Vec<ProviderId> = snap.providers.values().filter(|p| p.parent.is_none()).map(|p| p.id).collect();
    let anchors: Vec<ProviderId> = roots
        .into_iter()
        .filter(|r| match &req.root_required {
            None => true,
            Some((need, forbid)) => {
                need.iter().all(|t| snap.has_trait(*r, *t)) && !forbid.iter().any(|t| snap.has_trait(*r, *t))
            }
        })
        .collect();
    let mut out = BTreeSet::new();
    for &anchor in &anchors {
        let per_group: Vec<Vec<Vec<(ClassId, ProviderId)>>> =
            req.groups.iter().map(|g| group_choices(snap, g, anchor)).collect();
        if per_group.iter().any(Vec::is_empty) {
            continue;
        }
        let mut idx = vec![0usize; per_group.len()];
        loop {
            let chosen: Vec<&Vec<(ClassId, ProviderId)>> = per_group.iter().zip(&idx).map(|(l, i)| &l[*i]).collect();
            if let Some(key) = accept(snap, req, &chosen, nested_aware) {
                out.insert(key);
            }
            let mut level = idx.len();
            let mut done = true;
            while level > 0 {
                level -= 1;
                idx[level] += 1;
                if idx[level] < per_group[level].len() {
                    done = false;
                    break;
                }
                idx[level] = 0;
            }
            if done {
                break;
            }
        }
    }
    out
}

fn accept(snap: &Snapshot, req: &Request, chosen: &[&Vec<(ClassId, ProviderId)>], nested_aware: bool) -> Option<Key> {
    let mut amounts: BTreeMap<(ProviderId, ClassId), i64> = BTreeMap::new();
    let mut mappings: BTreeMap<String, BTreeSet<ProviderId>> = BTreeMap::new();
    let mut granular: Vec<ProviderId> = Vec::new();
    for (g, choice) in req.groups.iter().zip(chosen) {
        let need: HashMap<ClassId, i64> = g.resources.iter().copied().collect();
        for (rc, rp) in choice.iter() {
            if *rc != NO_CLASS {
                *amounts.entry((*rp, *rc)).or_default() += need[rc];
            }
            mappings.entry(g.suffix.clone()).or_default().insert(*rp);
        }
        if g.use_same_provider() {
            granular.push(choice[0].1);
        }
    }
    for ((rp, rc), total) in &amounts {
        let cap = &snap.inventory[&(*rp, *rc)];
        if cap.used + total > cap.capacity() || *total > i64::from(cap.max_unit) {
            return None;
        }
    }
    if req.isolate && granular.iter().collect::<BTreeSet<_>>().len() != granular.len() {
        return None;
    }
    for suffixes in &req.same_subtrees {
        let rps: BTreeSet<ProviderId> = suffixes.iter().filter_map(|s| mappings.get(s)).flatten().copied().collect();
        if rps.len() > 1 {
            let common = rps
                .iter()
                .map(|rp| snap.ancestors_and_self(*rp))
                .reduce(|a, b| a.intersection(&b).copied().collect())
                .unwrap_or_default();
            if !common.iter().any(|rp| rps.contains(rp)) {
                return None;
            }
        }
    }
    let used: BTreeSet<ProviderId> = amounts.keys().map(|k| k.0).collect();
    if !nested_aware && snap.has_trees {
        let trees: BTreeSet<ProviderId> = used.iter().map(|rp| snap.root_of(*rp)).collect();
        if trees.len() != used.len() {
            return None;
        }
    }
    Some((amounts.into_iter().map(|((rp, rc), n)| (rp, rc, n)).collect(), mappings))
}

fn solver(snap: &Snapshot, req: &Request, nested_aware: bool) -> BTreeSet<Key> {
    let opts = Options { nested_aware, ..Default::default() };
    let solution = solve(snap, req, &opts).expect("without a budget the search finishes");
    let keys: Vec<Key> = solution.candidates.iter().map(|c| (c.resources.clone(), c.mappings_by_suffix(req))).collect();
    let set: BTreeSet<Key> = keys.iter().cloned().collect();
    assert_eq!(set.len(), keys.len(), "the solver returned a candidate twice");
    set
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn solver_matches_brute_force(seed in any::<u64>(), nested_aware in any::<bool>()) {
        let mut rng = Rng(seed | 1);
        let snap = forest(&mut rng);
        let req = request(&mut rng, &snap);
        let expected = reference(&snap, &req, nested_aware);
        let got = solver(&snap, &req, nested_aware);
        prop_assert_eq!(&got, &expected, "seed {} request {:?}", seed, req);
    }
}

/// The generator must exercise what the property is about: candidates
/// found, sharing providers used, nested trees, several groups.
#[test]
fn generated_cases_are_not_trivial() {
    let (mut found, mut shared, mut nested, mut multi, mut several) = (0, 0, 0, 0, 0);
    for seed in 1..=2000u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let snap = forest(&mut rng);
        let req = request(&mut rng, &snap);
        let got = reference(&snap, &req, true);
        if got.is_empty() {
            continue;
        }
        found += 1;
        if got.iter().any(|(res, _)| res.iter().any(|(rp, _, _)| snap.sharing.contains(rp))) {
            shared += 1;
        }
        if snap.has_trees {
            nested += 1;
        }
        if got.iter().any(|(res, _)| res.iter().map(|r| r.0).collect::<BTreeSet<_>>().len() > 1) {
            multi += 1;
        }
        if req.groups.len() > 1 {
            several += 1;
        }
    }
    eprintln!("non-empty {found}, sharing {shared}, nested {nested}, multi-provider {multi}, several groups {several}");
    assert!(found > 400, "{found}");
    assert!(shared > 20 && nested > 100 && multi > 100 && several > 100);
}
