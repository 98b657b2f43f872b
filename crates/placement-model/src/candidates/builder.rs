//! A [`Snapshot`] of a whole cloud put together from its parts, with what
//! the solver derives from them (roots, sharing providers and the trees
//! they share with, whether any tree is nested) computed and checked here,
//! for callers that have no database (placement-storage fills the fields
//! itself, from the trees a request can use).

use std::collections::{BTreeMap, BTreeSet};

use super::{AggregateId, Capacity, ClassId, ProviderId, ProviderNode, Snapshot, TraitId};

/// Why the parts do not make a forest of providers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Two providers were given with the same id.
    #[error("provider {0} is given twice")]
    DuplicateProvider(ProviderId),
    /// A provider's parent is not among the providers.
    #[error("provider {provider}'s parent {parent} is not given")]
    UnknownParent {
        /// The child.
        provider: ProviderId,
        /// The missing parent.
        parent: ProviderId,
    },
    /// Following parents from this provider comes back to it.
    #[error("provider {0} is its own ancestor")]
    Cycle(ProviderId),
    /// Inventory, a trait or an aggregate was given for an unknown provider.
    #[error("{what} for provider {provider}, which is not given")]
    UnknownProvider {
        /// What was given for it (`inventory`, `a trait`, `an aggregate`).
        what: &'static str,
        /// The unknown provider.
        provider: ProviderId,
    },
}

/// The parts of a cloud; [`SnapshotBuilder::build`] checks and derives the
/// rest.
#[derive(Clone, Debug, Default)]
pub struct SnapshotBuilder {
    providers: Vec<(ProviderId, String, Option<ProviderId>)>,
    inventory: Vec<(ProviderId, ClassId, Capacity)>,
    traits: Vec<(ProviderId, TraitId)>,
    aggregates: Vec<(ProviderId, AggregateId)>,
    sharing_trait: Option<TraitId>,
}

impl SnapshotBuilder {
    /// An empty cloud.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider, under `parent` (which may be given later) or a root.
    pub fn provider(&mut self, id: ProviderId, uuid: impl Into<String>, parent: Option<ProviderId>) -> &mut Self {
        self.providers.push((id, uuid.into(), parent));
        self
    }

    /// An inventory (with its usage) of `class` on `provider`.
    pub fn inventory(&mut self, provider: ProviderId, class: ClassId, capacity: Capacity) -> &mut Self {
        self.inventory.push((provider, class, capacity));
        self
    }

    /// Give `provider` the trait `t`.
    pub fn with_trait(&mut self, provider: ProviderId, t: TraitId) -> &mut Self {
        self.traits.push((provider, t));
        self
    }

    /// Put `provider` in `aggregate` (repeats are kept once).
    pub fn in_aggregate(&mut self, provider: ProviderId, aggregate: AggregateId) -> &mut Self {
        self.aggregates.push((provider, aggregate));
        self
    }

    /// The id of `MISC_SHARES_VIA_AGGREGATE`: providers with it share their
    /// inventory with the trees in their aggregates.
    pub fn sharing_trait(&mut self, t: TraitId) -> &mut Self {
        self.sharing_trait = Some(t);
        self
    }

    /// Check the parts and make the snapshot: roots, sharing providers and
    /// the roots they share with, and whether any provider has a parent.
    pub fn build(&self) -> Result<Snapshot, SnapshotError> {
        let mut parents: BTreeMap<ProviderId, Option<ProviderId>> = BTreeMap::new();
        for (id, _, parent) in &self.providers {
            if parents.insert(*id, *parent).is_some() {
                return Err(SnapshotError::DuplicateProvider(*id));
            }
        }
        let known = |what, provider: &ProviderId| {
            if parents.contains_key(provider) {
                Ok(())
            } else {
                Err(SnapshotError::UnknownProvider { what, provider: *provider })
            }
        };
        let mut snap = Snapshot::default();
        for (id, uuid, parent) in &self.providers {
            let root = root_of(&parents, *id)?;
            snap.add_provider(ProviderNode { id: *id, uuid: uuid.as_str().into(), parent: *parent, root });
        }
        for (provider, class, capacity) in &self.inventory {
            known("inventory", provider)?;
            snap.add_inventory(*provider, *class, capacity.clone());
        }
        for (provider, t) in &self.traits {
            known("a trait", provider)?;
            snap.add_trait(*provider, *t);
        }
        let mut members: BTreeMap<AggregateId, BTreeSet<ProviderId>> = BTreeMap::new();
        let mut memberships: BTreeMap<ProviderId, Vec<AggregateId>> = BTreeMap::new();
        for (provider, aggregate) in &self.aggregates {
            known("an aggregate", provider)?;
            let mine = memberships.entry(*provider).or_default();
            if !mine.contains(aggregate) {
                mine.push(*aggregate);
            }
            members.entry(*aggregate).or_default().insert(*provider);
        }
        for (provider, aggregates) in memberships {
            snap.set_aggregates(provider, aggregates);
        }
        snap.has_trees = parents.values().any(Option::is_some);
        if let Some(t) = self.sharing_trait {
            snap.sharing = parents.keys().copied().filter(|rp| snap.has_trait(*rp, t)).collect();
        }
        for sharer in snap.sharing.clone() {
            let roots: BTreeSet<ProviderId> = snap
                .aggregates_of(sharer)
                .flat_map(|a| members.get(a).into_iter().flatten())
                .map(|rp| snap.root_of(*rp))
                .collect();
            if !roots.is_empty() {
                snap.anchors.insert(sharer, roots);
            }
        }
        Ok(snap)
    }
}

/// Follow parents up to the root, refusing a missing parent or a cycle.
fn root_of(parents: &BTreeMap<ProviderId, Option<ProviderId>>, id: ProviderId) -> Result<ProviderId, SnapshotError> {
    let mut seen = BTreeSet::from([id]);
    let mut current = id;
    while let Some(parent) = parents[&current] {
        if !parents.contains_key(&parent) {
            return Err(SnapshotError::UnknownParent { provider: current, parent });
        }
        if !seen.insert(parent) {
            return Err(SnapshotError::Cycle(id));
        }
        current = parent;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::{Group, Limits, Options, Request, solve};

    const VCPU: ClassId = ClassId(0);
    const DISK_GB: ClassId = ClassId(2);
    const SHARES: TraitId = TraitId(7);
    const AGG: AggregateId = AggregateId(100);
    const CN: ProviderId = ProviderId(1);
    const NUMA: ProviderId = ProviderId(2);
    const PF: ProviderId = ProviderId(3);
    const UNKNOWN: ProviderId = ProviderId(5);
    const STORAGE: ProviderId = ProviderId(9);

    fn room(total: i32) -> Capacity {
        Capacity::new(
            Limits { total, reserved: 0, min_unit: 1, max_unit: total, step_size: 1, allocation_ratio: 1.0 },
            0,
        )
    }

    #[test]
    fn roots_trees_and_sharing_are_derived() {
        let mut b = SnapshotBuilder::new();
        b.provider(CN, "cn", None).provider(NUMA, "numa", Some(CN)).provider(PF, "pf", Some(NUMA));
        b.provider(STORAGE, "storage", None).with_trait(STORAGE, SHARES).sharing_trait(SHARES);
        b.in_aggregate(STORAGE, AGG).in_aggregate(CN, AGG).in_aggregate(CN, AGG);
        let snap = b.build().unwrap();
        assert_eq!(snap.root_of(PF), CN);
        assert!(snap.has_trees);
        assert_eq!(snap.sharing, BTreeSet::from([STORAGE]));
        assert_eq!(snap.anchors[&STORAGE], BTreeSet::from([CN, STORAGE]));
        assert_eq!(snap.aggregates_of(CN).count(), 1, "a membership given twice is kept once");
    }

    #[test]
    fn an_inconsistent_forest_is_refused() {
        let build = |f: &dyn Fn(&mut SnapshotBuilder)| {
            let mut b = SnapshotBuilder::new();
            f(&mut b);
            b.build().map(|_| ())
        };
        assert_eq!(
            build(&|b| {
                b.provider(CN, "a", None).provider(CN, "b", None);
            }),
            Err(SnapshotError::DuplicateProvider(CN))
        );
        assert_eq!(
            build(&|b| {
                b.provider(NUMA, "child", Some(CN));
            }),
            Err(SnapshotError::UnknownParent { provider: NUMA, parent: CN })
        );
        assert_eq!(
            build(&|b| {
                b.provider(CN, "a", Some(NUMA)).provider(NUMA, "b", Some(CN));
            }),
            Err(SnapshotError::Cycle(CN))
        );
        assert_eq!(
            build(&|b| {
                b.provider(CN, "a", None).inventory(UNKNOWN, VCPU, room(1));
            }),
            Err(SnapshotError::UnknownProvider { what: "inventory", provider: UNKNOWN })
        );
        assert_eq!(
            build(&|b| {
                b.provider(CN, "a", None).with_trait(UNKNOWN, SHARES);
            }),
            Err(SnapshotError::UnknownProvider { what: "a trait", provider: UNKNOWN })
        );
    }

    #[test]
    fn the_solver_uses_shared_disk_from_a_built_snapshot() {
        let mut b = SnapshotBuilder::new();
        b.provider(CN, "cn", None).inventory(CN, VCPU, room(8)).in_aggregate(CN, AGG);
        b.provider(STORAGE, "storage", None).inventory(STORAGE, DISK_GB, room(1000)).in_aggregate(STORAGE, AGG);
        b.with_trait(STORAGE, SHARES).sharing_trait(SHARES);
        let snap = b.build().unwrap();
        let request = Request {
            groups: vec![Group { resources: vec![(VCPU, 1), (DISK_GB, 100)], ..Default::default() }],
            ..Default::default()
        };
        let found = solve(&snap, &request, &Options { nested_aware: true, ..Default::default() }).unwrap();
        assert_eq!(found.candidates.len(), 1);
        assert_eq!(found.candidates[0].resources, vec![(CN, VCPU, 1), (STORAGE, DISK_GB, 100)]);
    }
}
