//! What the solver knows about the providers that can matter to a request.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Deref;
use std::sync::Arc;

use super::{AggregateId, ClassId, ProviderId, TraitId, UuidText};

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
    pub uuid: UuidText,
    /// The parent's id; `None` for a root.
    pub parent: Option<ProviderId>,
    /// The id of the tree's root (its own, for a root).
    pub root: ProviderId,
}

/// What an inventory allows, apart from its usage. The amounts are
/// 32-bit, as upstream's columns are. Inventories that are alike (a cloud
/// has a few kinds of host) can share one ([`LimitsPool`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Units the provider has of this class.
    pub total: i32,
    /// Units held back from allocation.
    pub reserved: i32,
    /// Smallest amount one allocation may take.
    pub min_unit: i32,
    /// Largest amount one allocation may take.
    pub max_unit: i32,
    /// Allocations must be a multiple of this.
    pub step_size: i32,
    /// Overcommit factor applied to `total - reserved`.
    pub allocation_ratio: f64,
}

/// Every field of [`Limits`], the ratio by its bits: equal keys, equal
/// limits.
type LimitsKey = (i32, i32, i32, i32, i32, u64);

impl Limits {
    fn key(&self) -> LimitsKey {
        (self.total, self.reserved, self.min_unit, self.max_unit, self.step_size, self.allocation_ratio.to_bits())
    }
}

/// One copy of each distinct [`Limits`], for a cache that holds hundreds
/// of thousands of inventories: each is then a 16-byte [`Capacity`] and
/// the few kinds of limits are held once.
#[derive(Debug, Default)]
pub struct LimitsPool(HashMap<LimitsKey, Arc<Limits>>);

impl LimitsPool {
    /// The pool's copy of `limits`, added if new.
    pub fn share(&mut self, limits: Limits) -> Arc<Limits> {
        self.0.entry(limits.key()).or_insert_with(|| Arc::new(limits)).clone()
    }
}

/// One inventory and its current usage; reads as its [`Limits`] too
/// (`capacity.total`).
#[derive(Clone, Debug, PartialEq)]
pub struct Capacity {
    /// What the inventory allows, maybe shared with others alike.
    pub limits: Arc<Limits>,
    /// Units already allocated.
    pub used: i64,
}

impl Deref for Capacity {
    type Target = Limits;

    fn deref(&self) -> &Limits {
        &self.limits
    }
}

impl Capacity {
    /// An inventory with these limits and this much used.
    pub fn new(limits: Limits, used: i64) -> Capacity {
        Capacity { limits: Arc::new(limits), used }
    }

    /// `int((total - reserved) * allocation_ratio)`, as summaries show it.
    pub fn capacity(&self) -> i64 {
        (self.unreserved() as f64 * self.allocation_ratio) as i64
    }

    /// `total - reserved`, without overflow.
    fn unreserved(&self) -> i64 {
        i64::from(self.total) - i64::from(self.reserved)
    }

    /// Whether `amount` more fits, by upstream's SQL test.
    pub fn fits(&self, amount: i64) -> bool {
        // Saturating: the amount comes from the client, up to i64::MAX.
        (self.used.saturating_add(amount) as f64) <= self.unreserved() as f64 * self.allocation_ratio
            && i64::from(self.min_unit) <= amount
            && amount <= i64::from(self.max_unit)
            && self.step_size > 0
            && amount % i64::from(self.step_size) == 0
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
    /// Memberships, without repeats (a few per provider: a list is
    /// cheapest); only those in aggregates the request names are needed,
    /// though a cache may lend all. Shared, like the above.
    pub aggregates: Arc<FastMap<ProviderId, Arc<[AggregateId]>>>,
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

    /// Put `rp` in exactly these aggregates (given without repeats).
    pub fn set_aggregates(&mut self, rp: ProviderId, aggregates: impl IntoIterator<Item = AggregateId>) {
        Arc::make_mut(&mut self.aggregates).insert(rp, aggregates.into_iter().collect());
    }

    /// The traits of `rp`.
    pub fn traits_of(&self, rp: ProviderId) -> impl Iterator<Item = &TraitId> {
        self.traits.get(&rp).into_iter().flat_map(|ts| ts.iter())
    }

    /// The aggregates `rp` is in.
    pub fn aggregates_of(&self, rp: ProviderId) -> impl Iterator<Item = &AggregateId> {
        self.aggregates.get(&rp).into_iter().flat_map(|a| a.iter())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: i32, allocation_ratio: f64) -> Limits {
        Limits { total, reserved: 0, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio }
    }

    #[test]
    fn alike_limits_share_one_copy_and_any_difference_keeps_its_own() {
        let mut pool = LimitsPool::default();
        let first = pool.share(limits(8, 16.0));
        assert!(Arc::ptr_eq(&first, &pool.share(limits(8, 16.0))));
        for other in [limits(9, 16.0), limits(8, 16.000000000000004), Limits { step_size: 2, ..limits(8, 16.0) }] {
            let kept = pool.share(other.clone());
            assert!(!Arc::ptr_eq(&first, &kept));
            assert_eq!(*kept, other);
        }
    }

    #[test]
    fn a_capacity_reads_as_its_limits_and_its_usage() {
        let cap = Capacity::new(Limits { reserved: 2, ..limits(10, 1.5) }, 5);
        assert_eq!((cap.total, cap.reserved, cap.capacity()), (10, 2, 12));
        assert!(cap.fits(7));
        assert!(!cap.fits(8));
        let most = Capacity::new(Limits { reserved: i32::MIN, ..limits(i32::MAX, 1.0) }, 0);
        assert_eq!(most.capacity(), i64::from(i32::MAX) - i64::from(i32::MIN), "no overflow at the extremes");
    }
}
