//! What the solver knows about the providers that can matter to a request.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::{AggregateId, ClassId, ProviderId, TraitId};

/// Sets and maps of the solver's small integer keys, with rustc's fast
/// (not DoS-resistant: the keys are database ids) hasher.
pub type FastSet<T> = HashSet<T, rustc_hash::FxBuildHasher>;
/// A map with the same hasher as [`FastSet`].
pub type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// A provider's place in its tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderNode {
    /// The provider's database id.
    pub id: ProviderId,
    /// The provider's uuid.
    pub uuid: String,
    /// The parent's id; `None` for a root.
    pub parent: Option<ProviderId>,
    /// The id of the tree's root (its own, for a root).
    pub root: ProviderId,
}

/// One inventory and its current usage.
#[derive(Clone, Debug, PartialEq)]
pub struct Capacity {
    /// Units the provider has of this class.
    pub total: i64,
    /// Units held back from allocation.
    pub reserved: i64,
    /// Smallest amount one allocation may take.
    pub min_unit: i64,
    /// Largest amount one allocation may take.
    pub max_unit: i64,
    /// Allocations must be a multiple of this.
    pub step_size: i64,
    /// Overcommit factor applied to `total - reserved`.
    pub allocation_ratio: f64,
    /// Units already allocated.
    pub used: i64,
}

impl Capacity {
    /// `int((total - reserved) * allocation_ratio)`, as summaries show it.
    pub fn capacity(&self) -> i64 {
        ((self.total - self.reserved) as f64 * self.allocation_ratio) as i64
    }

    /// Whether `amount` more fits, by upstream's SQL test.
    pub fn fits(&self, amount: i64) -> bool {
        // Saturating: the amount comes from the client, up to i64::MAX.
        (self.used.saturating_add(amount) as f64) <= (self.total - self.reserved) as f64 * self.allocation_ratio
            && self.min_unit <= amount
            && amount <= self.max_unit
            && self.step_size > 0
            && amount % self.step_size == 0
    }
}

/// The relevant provider trees, complete: every provider of every tree
/// included, with traits, aggregates, inventories and usage. Providers,
/// traits and inventories are shared (copied on write), as a cache may
/// hand the same ones to many queries.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every provider of the trees, by id.
    pub providers: Arc<BTreeMap<ProviderId, ProviderNode>>,
    /// Each provider's traits (providers without any may be absent).
    pub traits: Arc<FastMap<ProviderId, Arc<BTreeSet<TraitId>>>>,
    /// Memberships, without repeats; only those in aggregates the request
    /// names are needed (a few per provider: a list is cheapest).
    pub aggregates: FastMap<ProviderId, Vec<AggregateId>>,
    /// Each inventory with its usage, by provider and class.
    pub inventory: Arc<BTreeMap<(ProviderId, ClassId), Capacity>>,
    /// Every sharing provider in the deployment (not only these trees).
    pub sharing: BTreeSet<ProviderId>,
    /// For each sharing provider here, the roots of the trees it shares
    /// with (those with a provider in one of its aggregates).
    pub anchors: FastMap<ProviderId, BTreeSet<ProviderId>>,
    /// Whether any provider anywhere has a parent.
    pub has_trees: bool,
}

impl Snapshot {
    /// Add (or replace) a provider.
    pub fn add_provider(&mut self, node: ProviderNode) {
        Arc::make_mut(&mut self.providers).insert(node.id, node);
    }

    /// Add (or replace) the inventory of `class` on `rp`.
    pub fn add_inventory(&mut self, rp: ProviderId, class: ClassId, capacity: Capacity) {
        Arc::make_mut(&mut self.inventory).insert((rp, class), capacity);
    }

    /// Give `rp` the trait `t`.
    pub fn add_trait(&mut self, rp: ProviderId, t: TraitId) {
        Arc::make_mut(Arc::make_mut(&mut self.traits).entry(rp).or_default()).insert(t);
    }

    /// The traits of `rp`.
    pub fn traits_of(&self, rp: ProviderId) -> impl Iterator<Item = &TraitId> {
        self.traits.get(&rp).into_iter().flat_map(|ts| ts.iter())
    }

    /// The aggregates `rp` is in.
    pub fn aggregates_of(&self, rp: ProviderId) -> impl Iterator<Item = &AggregateId> {
        self.aggregates.get(&rp).into_iter().flatten()
    }

    /// Whether `rp` has the trait `t`.
    pub fn has_trait(&self, rp: ProviderId, t: TraitId) -> bool {
        self.traits.get(&rp).is_some_and(|ts| ts.contains(&t))
    }

    /// The root of `rp`'s tree (`rp` itself if unknown).
    pub fn root_of(&self, rp: ProviderId) -> ProviderId {
        self.providers.get(&rp).map_or(rp, |p| p.root)
    }

    /// The uuid of `rp` (empty if unknown).
    pub fn uuid(&self, rp: ProviderId) -> &str {
        self.providers.get(&rp).map_or("", |p| p.uuid.as_str())
    }

    /// Providers in at least one aggregate of every set.
    pub fn in_aggregates(&self, member_of: &[BTreeSet<AggregateId>]) -> FastSet<ProviderId> {
        self.providers
            .keys()
            .copied()
            .filter(|rp| {
                let mine = self.aggregates.get(rp);
                member_of.iter().all(|any| mine.is_some_and(|m| any.iter().any(|a| m.contains(a))))
            })
            .collect()
    }

    /// Providers in any of these aggregates.
    pub fn in_any_aggregate(&self, aggs: &BTreeSet<AggregateId>) -> BTreeSet<ProviderId> {
        self.providers
            .keys()
            .copied()
            .filter(|rp| self.aggregates.get(rp).is_some_and(|m| aggs.iter().any(|a| m.contains(a))))
            .collect()
    }

    /// Providers with any of these traits.
    pub fn with_any_trait(&self, traits: &BTreeSet<TraitId>) -> BTreeSet<ProviderId> {
        self.providers.keys().copied().filter(|rp| traits.iter().any(|t| self.has_trait(*rp, *t))).collect()
    }

    /// Providers that each satisfy every any-of set of traits.
    pub fn with_required_traits(&self, required: &[BTreeSet<TraitId>]) -> BTreeSet<ProviderId> {
        self.providers
            .keys()
            .copied()
            .filter(|rp| required.iter().all(|any| any.iter().any(|t| self.has_trait(*rp, *t))))
            .collect()
    }

    /// A provider and all its ancestors.
    pub fn ancestors_and_self(&self, rp: ProviderId) -> BTreeSet<ProviderId> {
        let mut out = BTreeSet::from([rp]);
        let mut current = rp;
        while let Some(parent) = self.providers.get(&current).and_then(|p| p.parent) {
            if !out.insert(parent) {
                break;
            }
            current = parent;
        }
        out
    }
}
