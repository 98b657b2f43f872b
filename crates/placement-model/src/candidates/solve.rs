//! The solver: per-group searches as upstream defines them, then the merge.

use std::collections::{BTreeMap, BTreeSet};

use super::budget::{Budget, Exhausted};
use super::enumerate::{AnchorWalk, Areq, Rules, consolidate};
use super::snapshot::{FastMap, FastSet, Snapshot};
use super::{ClassId, Group, GroupIndex, ProviderId, Request, TraitId};

/// The order anchors are visited in while candidates are generated.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Every candidate of one anchor before the next.
    #[default]
    DepthFirst,
    /// One candidate from each anchor in turn.
    BreadthFirst,
}

/// How a search is run and bounded.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// From 1.29; before it a candidate may not use two providers of one
    /// tree.
    pub nested_aware: bool,
    /// `[placement] max_allocation_candidates` (None: unlimited).
    pub max_candidates: Option<usize>,
    /// `[placement] allocation_candidates_generation_strategy`.
    pub strategy: Strategy,
    /// The `limit` query parameter.
    pub limit: Option<usize>,
    /// With `randomize_allocation_candidates`: a seed for sampling.
    pub shuffle_seed: Option<u64>,
    /// Most search steps one request may take (None: no limit).
    pub max_steps: Option<u64>,
    /// Longest one request may search (None: no limit).
    pub time_limit: Option<std::time::Duration>,
}

/// One allocation candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Root of the tree the candidate is built on (sharing providers join
    /// it through their aggregates).
    pub anchor: ProviderId,
    /// (provider, class, amount), sorted, one entry per provider and class.
    pub resources: Vec<(ProviderId, ClassId, i64)>,
    /// (group, provider serving it), sorted and unique; see
    /// [`Candidate::mappings_by_suffix`].
    pub mappings: Vec<(GroupIndex, ProviderId)>,
}

impl Candidate {
    /// The mappings as the API shows them: group suffix to providers.
    pub fn mappings_by_suffix(&self, req: &Request) -> BTreeMap<String, BTreeSet<ProviderId>> {
        let mut out: BTreeMap<String, BTreeSet<ProviderId>> = BTreeMap::new();
        for (gi, rp) in &self.mappings {
            out.entry(req.groups[usize::from(*gi)].suffix.clone()).or_default().insert(*rp);
        }
        out
    }
}

/// What a search found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Solution {
    /// The allocation candidates, in the order to return them.
    pub candidates: Vec<Candidate>,
    /// Providers to summarise, ascending.
    pub summaries: Vec<ProviderId>,
    /// Search steps taken.
    pub steps: u64,
}

type Pair = (ProviderId, ProviderId);
/// (provider, tree or anchor root, class).
type Nominee = (ProviderId, ProviderId, ClassId);

fn empty() -> Solution {
    Solution::default()
}

/// Solve a request over a snapshot, within the work `opts` allows.
pub fn solve(snap: &Snapshot, req: &Request, opts: &Options) -> Result<Solution, Exhausted> {
    let budget = Budget::new(opts.max_steps, opts.time_limit);
    let mut solution = search(snap, req, opts, &budget);
    if let Some(exhausted) = budget.exhausted() {
        return Err(exhausted);
    }
    solution.steps = budget.used();
    Ok(solution)
}

fn search(snap: &Snapshot, req: &Request, opts: &Options, budget: &Budget) -> Solution {
    let anchors = match &req.root_required {
        None => None,
        Some((required, forbidden)) => {
            let roots: BTreeSet<ProviderId> = snap
                .providers
                .values()
                .filter(|p| p.parent.is_none())
                .filter(|p| required.iter().all(|t| snap.has_trait(p.id, *t)))
                .filter(|p| !forbidden.iter().any(|t| snap.has_trait(p.id, *t)))
                .map(|p| p.id)
                .collect();
            if roots.is_empty() {
                return empty();
            }
            Some(roots)
        }
    };
    // Upstream narrows its shared set of sharing providers in place while
    // searching the unsuffixed group; the narrowing is visible afterwards.
    let mut sharing = snap.sharing.clone();
    let mut per_group: Vec<Vec<Areq>> = Vec::new();
    let mut rooms = rooms(snap, &req.groups).into_iter();
    for (gi, g) in req.groups.iter().enumerate() {
        let gi = gi as GroupIndex;
        let in_aggs = if g.member_of.is_empty() {
            None
        } else {
            let rps = snap.in_aggregates(&g.member_of);
            if rps.is_empty() {
                return empty();
            }
            Some(rps)
        };
        let tree = match g.in_tree {
            Some(None) => return empty(),
            Some(Some(root)) => Some(root),
            None => None,
        };
        let room = rooms.next().unwrap_or_default();
        if room.values().any(Vec::is_empty) {
            return empty();
        }
        let areqs = if !g.use_same_provider() && (!sharing.is_empty() || snap.has_trees) {
            if !g.required.is_empty() {
                let flat: BTreeSet<TraitId> = g.required.iter().flatten().copied().collect();
                if snap.with_any_trait(&flat).is_empty() {
                    return empty();
                }
            }
            let nominees = trees_matching_all(snap, g, &room, in_aggs.as_ref(), tree, anchors.as_ref(), &mut sharing);
            spread_over_trees(snap, g, gi, &nominees, budget)
        } else {
            let pairs = single_providers(snap, g, &room, in_aggs.as_ref());
            one_provider_each(snap, g, gi, &pairs, anchors.as_ref())
        };
        if areqs.is_empty() || budget.exhausted().is_some() {
            return empty();
        }
        per_group.push(areqs);
    }
    let same_subtrees: Vec<BTreeSet<GroupIndex>> = req
        .same_subtrees
        .iter()
        .map(|suffixes| {
            req.groups
                .iter()
                .enumerate()
                .filter(|(_, g)| suffixes.contains(&g.suffix))
                .map(|(i, _)| i as GroupIndex)
                .collect()
        })
        .collect();
    let rules = Rules { snapshot: snap, isolate: req.isolate, same_subtrees: &same_subtrees, budget };
    // Without sampling, and unless candidates are dropped after the merge
    // (before 1.29 in trees), `limit` keeps the first candidates: stop
    // there instead of making more only to drop them.
    let drops_after = !opts.nested_aware && snap.has_trees;
    let wanted = match opts.limit {
        Some(n) if opts.shuffle_seed.is_none() && !drops_after => Some(opts.max_candidates.map_or(n, |m| m.min(n))),
        _ => opts.max_candidates,
    };
    let merged = merge(per_group, &rules, opts, wanted);
    let mut candidates: Vec<Candidate> = merged
        .into_iter()
        .map(|a| Candidate { anchor: a.anchor, resources: a.resources, mappings: a.mappings })
        .collect();
    let summaries = if !opts.nested_aware && snap.has_trees {
        // Before 1.29: no two providers of one tree in a candidate, and
        // only the providers used are summarised.
        candidates.retain(|c| {
            let rps: BTreeSet<ProviderId> = c.resources.iter().map(|r| r.0).collect();
            let roots: BTreeSet<ProviderId> = rps.iter().map(|rp| snap.root_of(*rp)).collect();
            rps.len() == roots.len()
        });
        let used: BTreeSet<ProviderId> = candidates.iter().flat_map(|c| c.resources.iter().map(|r| r.0)).collect();
        used.into_iter().collect()
    } else {
        summaries_for(snap, &candidates)
    };
    limit(snap, candidates, summaries, opts)
}

/// For each group, the (provider, root) pairs with room for each class it
/// asks for (within its in_tree), sorted; one pass over the inventory.
fn rooms(snap: &Snapshot, groups: &[Group]) -> Vec<BTreeMap<ClassId, Vec<Pair>>> {
    let mut wants: FastMap<ClassId, Vec<(usize, i64)>> = FastMap::default();
    for (gi, g) in groups.iter().enumerate() {
        for (rc, amount) in &g.resources {
            wants.entry(*rc).or_default().push((gi, *amount));
        }
    }
    let mut out: Vec<BTreeMap<ClassId, Vec<Pair>>> =
        groups.iter().map(|g| g.resources.iter().map(|(rc, _)| (*rc, Vec::new())).collect()).collect();
    // The inventory is in provider order: look each root up once.
    let mut last: Option<Pair> = None;
    for ((rp, rc), cap) in snap.inventory.iter() {
        let Some(asks) = wants.get(rc) else {
            continue;
        };
        let root = match last {
            Some((seen, root)) if seen == *rp => root,
            _ => snap.root_of(*rp),
        };
        last = Some((*rp, root));
        for (gi, amount) in asks {
            let tree = groups[*gi].in_tree.flatten();
            if cap.fits(*amount)
                && tree.is_none_or(|t| t == root)
                && let Some(pairs) = out[*gi].get_mut(rc)
            {
                pairs.push((*rp, root));
            }
        }
    }
    out
}

fn summaries_for(snap: &Snapshot, candidates: &[Candidate]) -> Vec<ProviderId> {
    let roots: FastSet<ProviderId> =
        candidates.iter().flat_map(|c| c.resources.iter().map(|r| snap.root_of(r.0))).collect();
    snap.providers.values().filter(|p| roots.contains(&p.root)).map(|p| p.id).collect()
}

fn limit(snap: &Snapshot, mut candidates: Vec<Candidate>, summaries: Vec<ProviderId>, opts: &Options) -> Solution {
    let mut rng = opts.shuffle_seed.map(XorShift::new);
    match opts.limit {
        Some(n) if n < candidates.len() => {
            if let Some(rng) = rng.as_mut() {
                rng.shuffle(&mut candidates);
            }
            candidates.truncate(n);
            let roots: BTreeSet<ProviderId> =
                candidates.iter().flat_map(|c| c.resources.iter().map(|r| snap.root_of(r.0))).collect();
            let summaries = summaries.into_iter().filter(|rp| roots.contains(&snap.root_of(*rp))).collect();
            Solution { candidates, summaries, steps: 0 }
        }
        _ => {
            if let Some(rng) = rng.as_mut() {
                rng.shuffle(&mut candidates);
            }
            Solution { candidates, summaries, steps: 0 }
        }
    }
}

/// A small deterministic shuffler (no dependency for one use).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Upstream's `get_trees_matching_all`: for each requested class, the
/// providers (and sharing providers, by anchor) with room, narrowed by
/// anchors, aggregates and trees common to every class, then by the
/// tree-wide traits filter.
fn trees_matching_all(
    snap: &Snapshot,
    g: &Group,
    room: &BTreeMap<ClassId, Vec<Pair>>,
    in_aggs: Option<&FastSet<ProviderId>>,
    tree: Option<ProviderId>,
    anchors: Option<&BTreeSet<ProviderId>>,
    sharing: &mut BTreeSet<ProviderId>,
) -> BTreeSet<Nominee> {
    let bad_aggs = snap.in_any_aggregate(&g.forbidden_aggregates);
    let mut all: BTreeSet<Nominee> = BTreeSet::new();
    for (rc, _) in &g.resources {
        let pairs = &room[rc];
        let mut list: BTreeSet<Nominee> = pairs.iter().map(|(rp, root)| (*rp, *root, *rc)).collect();
        if let Some(aggs) = in_aggs {
            sharing.retain(|s| aggs.contains(s));
        }
        let with_room: BTreeSet<ProviderId> = pairs.iter().map(|p| p.0).collect();
        let shared: Vec<ProviderId> = sharing.intersection(&with_room).copied().collect();
        if !shared.is_empty() && tree.is_none() {
            for s in shared {
                for anchor in snap.anchors.get(&s).into_iter().flatten() {
                    list.insert((s, *anchor, *rc));
                }
            }
        }
        if let Some(anchors) = anchors {
            list.retain(|n| anchors.contains(&n.1));
            if list.is_empty() {
                return list;
            }
        }
        if let Some(aggs) = in_aggs {
            list.retain(|n| aggs.contains(&n.0) || aggs.contains(&n.1));
            if list.is_empty() {
                return list;
            }
        }
        if !g.forbidden_aggregates.is_empty() {
            list.retain(|n| !(bad_aggs.contains(&n.0) || bad_aggs.contains(&n.1)));
            if list.is_empty() {
                return list;
            }
        }
        if all.is_empty() {
            all = list;
        } else {
            let trees_here: BTreeSet<ProviderId> = list.iter().map(|n| n.1).collect();
            let trees_before: BTreeSet<ProviderId> = all.iter().map(|n| n.1).collect();
            all.extend(list);
            all.retain(|n| trees_here.contains(&n.1) && trees_before.contains(&n.1));
        }
        if all.is_empty() {
            return all;
        }
    }
    if (g.required.is_empty() && g.forbidden.is_empty()) || !sharing.is_empty() {
        return all;
    }
    let rps: BTreeSet<ProviderId> = all.iter().map(|n| n.0).collect();
    let keep = trees_with_traits(snap, &rps, &g.required, &g.forbidden);
    all.retain(|n| keep.contains(&(n.0, n.1)));
    all
}

/// Upstream's `_get_trees_with_traits`: the (provider, root) pairs whose
/// tree, counting only providers without forbidden traits, has all the
/// required traits.
fn trees_with_traits(
    snap: &Snapshot,
    rps: &BTreeSet<ProviderId>,
    required: &[BTreeSet<TraitId>],
    forbidden: &BTreeSet<TraitId>,
) -> BTreeSet<Pair> {
    let original: Vec<Pair> = rps.iter().map(|rp| (*rp, snap.root_of(*rp))).collect();
    let good: Vec<Pair> =
        original.iter().copied().filter(|(rp, _)| !forbidden.iter().any(|t| snap.has_trait(*rp, *t))).collect();
    if required.is_empty() {
        let good_roots: BTreeSet<ProviderId> = good.iter().map(|p| p.1).collect();
        return original.into_iter().filter(|p| good_roots.contains(&p.1)).collect();
    }
    let mut root_traits: BTreeMap<ProviderId, BTreeSet<TraitId>> = BTreeMap::new();
    for (rp, root) in &good {
        root_traits.entry(*root).or_default().extend(snap.traits_of(*rp));
    }
    let ok_roots: BTreeSet<ProviderId> = root_traits
        .iter()
        .filter(|(_, ts)| required.iter().all(|any| any.iter().any(|t| ts.contains(t))))
        .map(|(root, _)| *root)
        .collect();
    original.into_iter().filter(|p| ok_roots.contains(&p.1)).collect()
}

/// Upstream's `_alloc_candidates_multiple_providers`: per anchor tree, one
/// provider for each class; a choice must hold the required traits
/// together and none may hold a forbidden one. A choice made only of
/// sharing providers is kept under every anchor it serves, as upstream's
/// single-provider path keeps it; upstream's set here folds such choices
/// into whichever anchor it meets first (docs/deviations.md).
fn spread_over_trees(
    snap: &Snapshot,
    g: &Group,
    gi: GroupIndex,
    nominees: &BTreeSet<Nominee>,
    budget: &Budget,
) -> Vec<Areq> {
    let amounts: BTreeMap<ClassId, i64> = g.resources.iter().copied().collect();
    let mut by_tree: BTreeMap<ProviderId, BTreeMap<ClassId, Vec<ProviderId>>> = BTreeMap::new();
    for (rp, root, rc) in nominees {
        // A provider with a forbidden trait can be in no valid choice.
        if g.forbidden.iter().any(|t| snap.has_trait(*rp, *t)) {
            by_tree.entry(*root).or_default().entry(*rc).or_default();
            continue;
        }
        by_tree.entry(*root).or_default().entry(*rc).or_default().push(*rp);
    }
    let mut out = Vec::new();
    for (root, by_class) in by_tree {
        let lists: Vec<(ClassId, Vec<ProviderId>)> = by_class.into_iter().collect();
        if lists.is_empty() || lists.len() != amounts.len() || lists.iter().any(|(_, l)| l.is_empty()) {
            continue;
        }

        let mut index = vec![0usize; lists.len()];
        loop {
            if !budget.step() {
                return out;
            }
            let choice: Vec<(ProviderId, ClassId)> =
                lists.iter().zip(&index).map(|((rc, l), i)| (l[*i], *rc)).collect();
            if traits_together_ok(snap, &choice, &g.required) {
                let mut resources: Vec<(ProviderId, ClassId, i64)> =
                    choice.iter().map(|(rp, rc)| (*rp, *rc, amounts[rc])).collect();
                resources.sort_unstable();
                let rps: BTreeSet<ProviderId> = choice.iter().map(|c| c.0).collect();
                let areq = Areq {
                    anchor: root,
                    resources,
                    mappings: rps.into_iter().map(|rp| (gi, rp)).collect(),
                    same_provider: false,
                };
                out.push(areq);
            }
            // Advance the mixed-radix counter.
            let mut level = lists.len();
            loop {
                if level == 0 {
                    break;
                }
                level -= 1;
                index[level] += 1;
                if index[level] < lists[level].1.len() {
                    break;
                }
                index[level] = 0;
                if level == 0 {
                    level = usize::MAX;
                    break;
                }
            }
            if level == usize::MAX {
                break;
            }
        }
    }
    out
}

fn traits_together_ok(snap: &Snapshot, choice: &[(ProviderId, ClassId)], required: &[BTreeSet<TraitId>]) -> bool {
    required.iter().all(|any| any.iter().any(|t| choice.iter().any(|(rp, _)| snap.has_trait(*rp, *t))))
}

/// Upstream's `get_provider_ids_matching`: providers that alone have room
/// for every class and pass the trait and aggregate filters.
fn single_providers(
    snap: &Snapshot,
    g: &Group,
    room: &BTreeMap<ClassId, Vec<Pair>>,
    in_aggs: Option<&FastSet<ProviderId>>,
) -> Vec<Pair> {
    if let Some(((first, _), rest)) = g.resources.split_first() {
        // Every filter is an intersection: test each provider with room
        // for the first class against the rest.
        let bad_aggs = &g.forbidden_aggregates;
        return room[first]
            .iter()
            .copied()
            .filter(|pair| rest.iter().all(|(rc, _)| room[rc].binary_search(pair).is_ok()))
            .filter(|(rp, _)| {
                let rp = *rp;
                g.required.iter().all(|any| any.iter().any(|t| snap.has_trait(rp, *t)))
                    && in_aggs.is_none_or(|aggs| aggs.contains(&rp))
                    && !g.forbidden.iter().any(|t| snap.has_trait(rp, *t))
                    && (bad_aggs.is_empty() || !snap.aggregates_of(rp).any(|a| bad_aggs.contains(a)))
            })
            .collect();
    }
    // A group without resources (1.36) takes any provider passing the
    // filters, and needs at least one filter.
    let mut filtered: BTreeSet<ProviderId> = BTreeSet::new();
    if !g.required.is_empty() {
        filtered = snap.with_required_traits(&g.required);
        if filtered.is_empty() {
            return Vec::new();
        }
    }
    if let Some(aggs) = in_aggs {
        if filtered.is_empty() {
            filtered = aggs.iter().copied().collect();
        } else {
            filtered.retain(|rp| aggs.contains(rp));
        }
        if filtered.is_empty() {
            return Vec::new();
        }
    }
    let mut forbidden: BTreeSet<ProviderId> = BTreeSet::new();
    for bad in [
        (!g.forbidden_aggregates.is_empty()).then(|| snap.in_any_aggregate(&g.forbidden_aggregates)),
        (!g.forbidden.is_empty()).then(|| snap.with_any_trait(&g.forbidden)),
    ]
    .into_iter()
    .flatten()
    {
        forbidden.extend(&bad);
        if !filtered.is_empty() {
            filtered = &filtered - &bad;
            if filtered.is_empty() {
                return Vec::new();
            }
        }
    }
    snap.providers
        .values()
        .filter(|p| filtered.contains(&p.id) && !forbidden.contains(&p.id))
        .map(|p| (p.id, p.root))
        .collect()
}

/// Upstream's `_alloc_candidates_single_provider`: everything the group
/// asks of one provider, anchored at its root and, for a sharing
/// provider, at every other root it shares with.
fn one_provider_each(
    snap: &Snapshot,
    g: &Group,
    gi: GroupIndex,
    pairs: &[Pair],
    anchors: Option<&BTreeSet<ProviderId>>,
) -> Vec<Areq> {
    let allowed = |root: ProviderId| anchors.is_none_or(|a| a.contains(&root));
    let mut out = Vec::new();
    for (rp, root) in pairs {
        let mut resources: Vec<(ProviderId, ClassId, i64)> = g.resources.iter().map(|(rc, n)| (*rp, *rc, *n)).collect();
        resources.sort_unstable();
        let areq = Areq { anchor: *root, resources, mappings: vec![(gi, *rp)], same_provider: g.use_same_provider() };
        if !snap.sharing.contains(rp) {
            if allowed(*root) {
                out.push(areq);
            }
            continue;
        }
        if allowed(*root) {
            out.push(areq.clone());
        }
        for anchor in snap.anchors.get(rp).into_iter().flatten() {
            if *anchor != *root && allowed(*anchor) {
                out.push(Areq { anchor: *anchor, ..areq.clone() });
            }
        }
    }
    out
}

/// Whether the providers an anchor's groups may use have, together, room
/// for what the groups ask in all. If not, no choice can fit, however
/// many there are to try (thirteen one-unit groups over twelve one-unit
/// providers): skip the anchor before walking its choices.
fn enough_room(snap: &Snapshot, lists: &[Vec<&Areq>]) -> bool {
    let mut demand: FastMap<ClassId, i64> = FastMap::default();
    for list in lists {
        // Every areq of one group asks the same amounts.
        for (_, rc, n) in list.first().map(|a| a.resources.as_slice()).unwrap_or_default() {
            let d = demand.entry(*rc).or_default();
            *d = d.saturating_add(*n);
        }
    }
    let mut offered: FastSet<(ProviderId, ClassId)> = FastSet::default();
    let mut supply: FastMap<ClassId, i64> = FastMap::default();
    for (rp, rc, _) in lists.iter().flatten().flat_map(|a| a.resources.iter()) {
        if offered.insert((*rp, *rc))
            && let Some(cap) = snap.inventory.get(&(*rp, *rc))
        {
            let s = supply.entry(*rc).or_default();
            *s = s.saturating_add((cap.capacity() - cap.used).max(0));
        }
    }
    demand.iter().all(|(rc, d)| supply.get(rc).is_some_and(|s| s >= d))
}

/// Merge per-group results anchor by anchor, stopping at `wanted`.
fn merge(mut per_group: Vec<Vec<Areq>>, rules: &Rules<'_>, opts: &Options, wanted: Option<usize>) -> Vec<Areq> {
    let full = |n: usize| wanted.is_some_and(|max| n >= max);
    if per_group.len() == 1 {
        // One group: each of its results is a candidate on its own. Each
        // claim is one the group asked of a provider with room for it, so
        // no capacity check is left to make.
        let only = per_group.pop().unwrap_or_default();
        let mut keep = vec![false; only.len()];
        let mut kept = 0;
        let mut seen = FastSet::default();
        // Only a sharing provider yields equal areqs, one per anchor it
        // serves; otherwise every areq is distinct.
        let may_repeat = !rules.snapshot.sharing.is_empty();
        for (i, a) in only.iter().enumerate() {
            if !may_repeat || seen.insert((&a.resources, &a.mappings)) {
                keep[i] = true;
                kept += 1;
                if full(kept) {
                    break;
                }
            }
        }
        return only.into_iter().zip(keep).filter_map(|(a, k)| k.then_some(a)).collect();
    }
    let per_group = &per_group;
    let mut out: Vec<Areq> = Vec::new();
    let mut seen = FastSet::default();
    // Anchors in the order first seen; per anchor, each group's areqs.
    let mut order: Vec<ProviderId> = Vec::new();
    let mut by_anchor: BTreeMap<ProviderId, Vec<Vec<&Areq>>> = BTreeMap::new();
    for (gi, areqs) in per_group.iter().enumerate() {
        for a in areqs {
            let lists = by_anchor.entry(a.anchor).or_insert_with(|| {
                order.push(a.anchor);
                vec![Vec::new(); per_group.len()]
            });
            lists[gi].push(a);
        }
    }
    let mut walks: Vec<AnchorWalk<'_>> = order
        .iter()
        .filter_map(|anchor| by_anchor.remove(anchor))
        .filter(|lists| lists.iter().all(|l| !l.is_empty()))
        .filter(|lists| enough_room(rules.snapshot, lists))
        .map(AnchorWalk::new)
        .collect();
    match opts.strategy {
        Strategy::DepthFirst => {
            'walks: for walk in &mut walks {
                while let Some(choice) = walk.next_choice(rules) {
                    let c = consolidate(&choice);
                    if seen.insert(c.key()) {
                        out.push(c);
                        if full(out.len()) {
                            break 'walks;
                        }
                    }
                }
            }
        }
        Strategy::BreadthFirst => {
            let mut live: Vec<usize> = (0..walks.len()).collect();
            while !live.is_empty() && !full(out.len()) {
                live.retain(|i| {
                    if full(out.len()) {
                        return true;
                    }
                    match walks[*i].next_choice(rules) {
                        Some(choice) => {
                            let c = consolidate(&choice);
                            if seen.insert(c.key()) {
                                out.push(c);
                            }
                            true
                        }
                        None => false,
                    }
                });
            }
        }
    }
    out
}
