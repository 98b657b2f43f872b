//! Merging per-group results for one anchor tree: a depth-first walk over
//! one choice per group that drops a partial choice as soon as it breaks
//! group_policy=isolate or capacity, so the work follows the number of
//! valid candidates rather than the size of the cross product.

use std::collections::BTreeSet;

use super::budget::Budget;
use super::snapshot::Snapshot;
use super::{ClassId, GroupIndex, ProviderId};

/// What one group offers within one anchor: resources on providers, and
/// which providers serve which group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Areq {
    pub anchor: ProviderId,
    /// Sorted by provider then class.
    pub resources: Vec<(ProviderId, ClassId, i64)>,
    /// (group, provider) pairs, sorted and unique.
    pub mappings: Vec<(GroupIndex, ProviderId)>,
    pub same_provider: bool,
}

/// An areq's identity as upstream compares them: resources and mappings,
/// not the anchor.
pub type AreqKey = (Vec<(ProviderId, ClassId, i64)>, Vec<(GroupIndex, ProviderId)>);

impl Areq {
    pub fn key(&self) -> AreqKey {
        (self.resources.clone(), self.mappings.clone())
    }

    fn provider(&self) -> Option<ProviderId> {
        self.mappings.first().map(|m| m.1)
    }
}

/// The rules a full choice must pass.
pub struct Rules<'a> {
    pub snapshot: &'a Snapshot,
    pub isolate: bool,
    pub same_subtrees: &'a [BTreeSet<GroupIndex>],
    pub budget: &'a Budget,
}

impl Rules<'_> {
    fn same_subtree_ok(&self, chosen: &[&Areq]) -> bool {
        self.same_subtrees.iter().all(|groups| {
            let rps: BTreeSet<ProviderId> = chosen
                .iter()
                .flat_map(|a| a.mappings.iter().filter(|(g, _)| groups.contains(g)).map(|m| m.1))
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
    /// Next index to try at each level.
    next: Vec<usize>,
    chosen: Vec<&'a Areq>,
    /// Claimed amounts per (provider, class); few entries, so a vector.
    claimed: Vec<((ProviderId, ClassId), i64)>,
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
            claimed: Vec::new(),
            granular: Vec::new(),
        }
    }

    fn claimed(&self, key: (ProviderId, ClassId)) -> i64 {
        self.claimed.iter().find(|(k, _)| *k == key).map_or(0, |(_, v)| *v)
    }

    fn fits(&self, rules: &Rules<'_>, areq: &Areq) -> bool {
        if rules.isolate && areq.same_provider && areq.provider().is_some_and(|rp| self.granular.contains(&rp)) {
            return false;
        }
        areq.resources.iter().all(|(rp, rc, amount)| {
            let total = self.claimed((*rp, *rc)).saturating_add(*amount);
            match rules.snapshot.inventory.get(&(*rp, *rc)) {
                Some(cap) => cap.used.saturating_add(total) <= cap.capacity() && total <= i64::from(cap.max_unit),
                None => false,
            }
        })
    }

    fn push(&mut self, areq: &'a Areq) {
        for (rp, rc, amount) in &areq.resources {
            match self.claimed.iter_mut().find(|(k, _)| *k == (*rp, *rc)) {
                Some((_, v)) => *v = v.saturating_add(*amount),
                None => self.claimed.push(((*rp, *rc), *amount)),
            }
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
                if let Some((_, v)) = self.claimed.iter_mut().find(|(k, _)| *k == (*rp, *rc)) {
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
            if !rules.budget.step() {
                self.done = true;
                return None;
            }
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
    if let [single] = chosen {
        return (*single).clone();
    }
    let mut resources: Vec<(ProviderId, ClassId, i64)> =
        chosen.iter().flat_map(|a| a.resources.iter().copied()).collect();
    resources.sort_unstable();
    let mut merged: Vec<(ProviderId, ClassId, i64)> = Vec::with_capacity(resources.len());
    for (rp, rc, n) in resources {
        match merged.last_mut() {
            Some(last) if last.0 == rp && last.1 == rc => last.2 = last.2.saturating_add(n),
            _ => merged.push((rp, rc, n)),
        }
    }
    let mut mappings: Vec<(GroupIndex, ProviderId)> = chosen.iter().flat_map(|a| a.mappings.iter().copied()).collect();
    mappings.sort_unstable();
    mappings.dedup();
    Areq {
        anchor: chosen.first().map_or(ProviderId(0), |a| a.anchor),
        resources: merged,
        mappings,
        same_provider: false,
    }
}
