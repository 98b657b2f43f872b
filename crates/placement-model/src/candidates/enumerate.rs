//! Merging per-group results for one anchor tree: a depth-first walk over
//! one choice per group that drops a partial choice as soon as it breaks
//! group_policy=isolate or capacity, so the work follows the number of
//! valid candidates rather than the size of the cross product.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::snapshot::Snapshot;
use super::{ClassId, ProviderId};

/// An areq's identity: resources and mappings.
pub type AreqKey = (Vec<(ProviderId, ClassId, i64)>, BTreeMap<String, BTreeSet<ProviderId>>);

/// What one group offers within one anchor: resources on providers, and
/// which providers serve which group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Areq {
    pub anchor: ProviderId,
    /// Sorted by provider then class.
    pub resources: Vec<(ProviderId, ClassId, i64)>,
    pub mappings: BTreeMap<String, BTreeSet<ProviderId>>,
    pub same_provider: bool,
}

impl Areq {
    /// Identity as upstream compares them: resources and mappings, not the
    /// anchor.
    pub fn key(&self) -> AreqKey {
        (self.resources.clone(), self.mappings.clone())
    }

    fn provider(&self) -> Option<ProviderId> {
        self.mappings.values().next().and_then(|s| s.iter().next().copied())
    }
}

/// The rules a full choice must pass.
pub struct Rules<'a> {
    pub snapshot: &'a Snapshot,
    pub isolate: bool,
    pub same_subtrees: &'a [BTreeSet<String>],
}

impl Rules<'_> {
    fn same_subtree_ok(&self, chosen: &[&Areq]) -> bool {
        self.same_subtrees.iter().all(|suffixes| {
            let rps: BTreeSet<ProviderId> = chosen
                .iter()
                .flat_map(|a| suffixes.iter().filter_map(|s| a.mappings.get(s)).flatten().copied())
                .collect();
            if rps.len() <= 1 {
                return true;
            }
            let mut common: Option<BTreeSet<ProviderId>> = None;
            for rp in &rps {
                let ancestors = self.snapshot.ancestors_and_self(*rp);
                common = Some(match common {
                    None => ancestors,
                    Some(c) => c.intersection(&ancestors).copied().collect(),
                });
            }
            common.is_some_and(|c| c.iter().any(|rp| rps.contains(rp)))
        })
    }
}

/// Walks every valid choice of one areq per group for one anchor.
pub struct AnchorWalk<'a> {
    lists: Vec<Vec<&'a Areq>>,
    /// Next index to try at each level; `depth` levels are chosen.
    next: Vec<usize>,
    chosen: Vec<&'a Areq>,
    claimed: HashMap<(ProviderId, ClassId), i64>,
    granular: Vec<ProviderId>,
    done: bool,
}

impl<'a> AnchorWalk<'a> {
    pub fn new(lists: Vec<Vec<&'a Areq>>) -> Self {
        let levels = lists.len();
        AnchorWalk {
            done: lists.is_empty() || lists.iter().any(Vec::is_empty),
            lists,
            next: vec![0; levels],
            chosen: Vec::with_capacity(levels),
            claimed: HashMap::new(),
            granular: Vec::new(),
        }
    }

    fn fits(&self, rules: &Rules<'_>, areq: &Areq) -> bool {
        if rules.isolate && areq.same_provider && areq.provider().is_some_and(|rp| self.granular.contains(&rp)) {
            return false;
        }
        areq.resources.iter().all(|(rp, rc, amount)| {
            let total = self.claimed.get(&(*rp, *rc)).copied().unwrap_or(0) + amount;
            match rules.snapshot.inventory.get(&(*rp, *rc)) {
                Some(cap) => cap.used + total <= cap.capacity() && total <= cap.max_unit,
                None => false,
            }
        })
    }

    fn push(&mut self, areq: &'a Areq) {
        for (rp, rc, amount) in &areq.resources {
            *self.claimed.entry((*rp, *rc)).or_default() += amount;
        }
        if areq.same_provider
            && let Some(rp) = areq.provider()
        {
            self.granular.push(rp);
        }
        self.chosen.push(areq);
    }

    fn pop(&mut self) {
        if let Some(areq) = self.chosen.pop() {
            for (rp, rc, amount) in &areq.resources {
                if let Some(v) = self.claimed.get_mut(&(*rp, *rc)) {
                    *v -= amount;
                }
            }
            if areq.same_provider && areq.provider().is_some() {
                self.granular.pop();
            }
        }
    }

    /// The next valid full choice, in lexicographic order.
    pub fn next_choice(&mut self, rules: &Rules<'_>) -> Option<Vec<&'a Areq>> {
        if self.done {
            return None;
        }
        loop {
            let depth = self.chosen.len();
            if depth == self.lists.len() {
                let result = rules.same_subtree_ok(&self.chosen).then(|| self.chosen.clone());
                self.pop();
                if result.is_some() {
                    return result;
                }
                continue;
            }
            let i = self.next[depth];
            if i >= self.lists[depth].len() {
                // Level exhausted: back up one level.
                self.next[depth] = 0;
                if depth == 0 {
                    self.done = true;
                    return None;
                }
                self.pop();
                continue;
            }
            self.next[depth] = i + 1;
            let candidate = self.lists[depth][i];
            if self.fits(rules, candidate) {
                self.push(candidate);
            }
        }
    }
}

/// Sum a choice into one candidate: amounts per (provider, class), and the
/// union of mappings.
pub fn consolidate(chosen: &[&Areq]) -> Areq {
    let mut amounts: BTreeMap<(ProviderId, ClassId), i64> = BTreeMap::new();
    let mut mappings: BTreeMap<String, BTreeSet<ProviderId>> = BTreeMap::new();
    for a in chosen {
        for (rp, rc, amount) in &a.resources {
            *amounts.entry((*rp, *rc)).or_default() += amount;
        }
        for (suffix, rps) in &a.mappings {
            mappings.entry(suffix.clone()).or_default().extend(rps);
        }
    }
    Areq {
        anchor: chosen.first().map_or(0, |a| a.anchor),
        resources: amounts.into_iter().map(|((rp, rc), n)| (rp, rc, n)).collect(),
        mappings,
        same_provider: false,
    }
}
