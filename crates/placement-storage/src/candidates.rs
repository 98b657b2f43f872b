//! Loading what `GET /allocation_candidates` needs: names resolved to ids
//! in upstream's order, and a snapshot of every provider tree that could
//! serve the request, in a handful of set-based queries.

use std::collections::{BTreeMap, BTreeSet};

use diesel::dsl::sum;
use diesel::prelude::*;
use placement_model::DomainError;
use placement_model::candidates::{
    self as cands, AggregateId, Capacity, ClassId, ProviderId, ProviderNode, Snapshot, TraitId,
};
use placement_model::request::CandidateRequest;
use placement_model::standard::{self, MIN_CUSTOM_RESOURCE_CLASS_ID};

use crate::conn::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::inventories::InventoryRecord;
use crate::schema::{
    allocations, inventories, resource_provider_aggregates as rpa, resource_provider_traits as rpt,
    resource_providers as rp,
};
use crate::tree_cache::TreeCache;

/// Ids are bound in chunks no backend refuses.
const CHUNK: usize = 10_000;

/// The sharing trait.
const SHARING_TRAIT: &str = "MISC_SHARES_VIA_AGGREGATE";

/// Typed ids as the database binds them.
fn raw<'a, Id: Copy + Into<i32> + 'a>(ids: impl IntoIterator<Item = &'a Id>) -> Vec<i32> {
    ids.into_iter().map(|id| (*id).into()).collect()
}

/// Names for rendering.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Resource class names by id.
    pub classes: cands::FastMap<ClassId, String>,
    /// Trait names by id.
    pub traits: cands::FastMap<TraitId, String>,
}

/// What was loaded: either nothing can match, or a resolved request and
/// its snapshot.
pub enum Loaded {
    /// Nothing can match: the answer is empty without solving.
    NoResults,
    /// The request resolved, with its snapshot.
    Ready(Box<Prepared>),
}

/// A resolved request and the snapshot it is solved over.
pub struct Prepared {
    /// The request with names resolved to ids.
    pub request: cands::Request,
    /// The provider trees that may serve it.
    pub snapshot: Snapshot,
    /// Class and trait names for rendering the candidates.
    pub names: Names,
}

fn trait_ids(
    conn: &mut DbConnection,
    cache: &TreeCache,
    wanted: &BTreeSet<String>,
) -> StorageResult<BTreeMap<String, TraitId>> {
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let map: BTreeMap<String, TraitId> = cache.trait_ids(conn, wanted)?.into_iter().collect();
    if let Some(missing) = wanted.iter().find(|w| !map.contains_key(*w)) {
        return Err(DomainError::TraitNotFound(missing.clone()).into());
    }
    Ok(map)
}

fn aggregate_ids(
    conn: &mut DbConnection,
    cache: &TreeCache,
    uuids: &BTreeSet<String>,
) -> StorageResult<BTreeMap<String, AggregateId>> {
    if uuids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(cache.aggregate_ids(conn, uuids)?.into_iter().collect())
}

/// Whether any provider is in an aggregate of every set.
fn any_provider_in(conn: &mut DbConnection, member_of: &[BTreeSet<AggregateId>]) -> StorageResult<bool> {
    if let [any] = member_of {
        let first: Option<i32> = rpa::table
            .filter(rpa::aggregate_id.eq_any(raw(any)))
            .select(rpa::resource_provider_id)
            .first(conn)
            .optional()?;
        return Ok(first.is_some());
    }
    let mut survivors: Option<BTreeSet<i32>> = None;
    for any in member_of {
        let rps: BTreeSet<i32> = rpa::table
            .filter(rpa::aggregate_id.eq_any(raw(any)))
            .select(rpa::resource_provider_id)
            .load::<i32>(conn)?
            .into_iter()
            .collect();
        let next = match survivors {
            None => rps,
            Some(prev) => &prev & &rps,
        };
        if next.is_empty() {
            return Ok(false);
        }
        survivors = Some(next);
    }
    Ok(true)
}

/// Resolve names in upstream's order: root_required traits, then per
/// group its classes, aggregates (nothing in them: no results), traits and
/// in_tree (unknown: no results).
fn resolve(
    conn: &mut DbConnection,
    cache: &TreeCache,
    req: &CandidateRequest,
) -> StorageResult<Option<(cands::Request, Names)>> {
    let mut member_of_checks = Vec::new();
    match resolve_names(conn, cache, req, &mut member_of_checks) {
        // Upstream answers "no results" at a group whose aggregates hold no
        // provider, before it resolves what follows. Only an error later on
        // makes that differ from what the solver finds, so only then is it
        // asked.
        Err(e @ StorageError::Domain(_)) => {
            for member_of in &member_of_checks {
                if !any_provider_in(conn, member_of)? {
                    return Ok(None);
                }
            }
            Err(e)
        }
        other => other,
    }
}

fn resolve_names(
    conn: &mut DbConnection,
    cache: &TreeCache,
    req: &CandidateRequest,
    member_of_checks: &mut Vec<Vec<BTreeSet<AggregateId>>>,
) -> StorageResult<Option<(cands::Request, Names)>> {
    let mut names = Names::default();
    let mut out = cands::Request {
        isolate: req.wide.group_policy == Some(placement_model::request::GroupPolicy::Isolate),
        same_subtrees: req.wide.same_subtrees.clone(),
        ..Default::default()
    };
    if !req.wide.root_required.is_empty() || !req.wide.root_forbidden.is_empty() {
        let required = trait_ids(conn, cache, &req.wide.root_required)?;
        let forbidden = trait_ids(conn, cache, &req.wide.root_forbidden)?;
        out.root_required = Some((required.values().copied().collect(), forbidden.values().copied().collect()));
    }
    for g in &req.groups {
        let mut group = cands::Group { suffix: g.suffix.clone(), ..Default::default() };
        for (class, amount) in &g.resources {
            let id = ClassId(crate::resource_classes::id_for_name(conn, class)?);
            names.classes.insert(id, class.clone());
            group.resources.push((id, *amount));
        }
        let uuids: BTreeSet<String> = g.member_of.required.iter().flatten().cloned().collect();
        let known = aggregate_ids(conn, cache, &uuids)?;
        group.member_of =
            g.member_of.required.iter().map(|any| any.iter().filter_map(|u| known.get(u).copied()).collect()).collect();
        if !group.member_of.is_empty() {
            member_of_checks.push(group.member_of.clone());
        }
        group.forbidden_aggregates = aggregate_ids(conn, cache, &g.member_of.forbidden)?.into_values().collect();
        for any in &g.traits.required {
            let ids = trait_ids(conn, cache, any)?;
            group.required.push(ids.values().copied().collect());
        }
        group.forbidden = trait_ids(conn, cache, &g.traits.forbidden)?.into_values().collect();
        if let Some(tree) = &g.in_tree {
            let root: Option<Option<i32>> =
                rp::table.filter(rp::uuid.eq(tree)).select(rp::root_provider_id).first(conn).optional()?;
            match root.flatten() {
                Some(root) => group.in_tree = Some(Some(ProviderId(root))),
                None => return Ok(None),
            }
        }
        out.groups.push(group);
    }
    Ok(Some((out, names)))
}

/// Resolve the request and load the snapshot it needs, from `cache` where
/// it is current.
pub fn load(conn: &mut DbConnection, req: &CandidateRequest, cache: &TreeCache) -> StorageResult<Loaded> {
    let Some((request, mut names)) = resolve(conn, cache, req)? else {
        return Ok(Loaded::NoResults);
    };
    let classes: Vec<ClassId> = request.groups.iter().flat_map(|g| g.resources.iter().map(|r| r.0)).collect();
    let class_ids = raw(&classes);
    // By the trait's (cached) id, so lookups use the primary key.
    let sharing_trait = cache.trait_ids(conn, &BTreeSet::from([SHARING_TRAIT.to_string()]))?.values().next().copied();
    let aggregates: Vec<AggregateId> = request
        .groups
        .iter()
        .flat_map(|g| g.member_of.iter().flatten().chain(&g.forbidden_aggregates))
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut snapshot = Snapshot::default();
    // Trees with inventory of a requested class, and those sharing
    // providers serve. When they may be most trees (as the cache or a
    // count of inventory rows suggests: a rough guess is enough), reading
    // every tree costs less than filtering by thousands of roots, and the
    // cache spares reading what did not change; the solver skips the
    // irrelevant trees.
    let (relevant, all_roots) = match cache.estimate(&classes) {
        Some((relevant, all)) => (relevant as i64, all as i64),
        None => (
            inventories::table.filter(inventories::resource_class_id.eq_any(&class_ids)).count().get_result(conn)?,
            rp::table.filter(rp::parent_provider_id.is_null()).count().get_result(conn)?,
        ),
    };
    let trait_ids: std::sync::Arc<BTreeSet<TraitId>> = if relevant * 2 >= all_roots {
        let rows = TreeCache::providers(conn, all_roots as usize)?;
        snapshot.has_trees = rows.iter().any(|r| r.parent.is_some());
        let trait_ids = cache.fill(conn, rows, &mut snapshot)?;
        // Every provider's traits are at hand: the sharing ones among them.
        if let Some(t) = sharing_trait {
            snapshot.sharing = snapshot.traits.iter().filter(|(_, ts)| ts.contains(&t)).map(|(rp, _)| *rp).collect();
        }
        let serving: Vec<ProviderId> = snapshot
            .sharing
            .iter()
            .copied()
            .filter(|rp| classes.iter().any(|c| snapshot.inventory.contains_key(&(*rp, *c))))
            .collect();
        (snapshot.anchors, _) = anchors(conn, &serving)?;
        if !cache.keeps_usage_and_aggregates() {
            load_memberships_and_usage(conn, None, &aggregates, &mut snapshot)?;
        }
        trait_ids
    } else {
        if let Some(t) = sharing_trait {
            snapshot.sharing = rpt::table
                .filter(rpt::trait_id.eq(t.0))
                .select(rpt::resource_provider_id)
                .load::<i32>(conn)?
                .into_iter()
                .map(ProviderId)
                .collect();
        }
        let mut serving: Vec<ProviderId> = Vec::new();
        let sharing: Vec<i32> = raw(&snapshot.sharing);
        for chunk in sharing.chunks(CHUNK) {
            serving.extend(
                inventories::table
                    .filter(inventories::resource_class_id.eq_any(&class_ids))
                    .filter(inventories::resource_provider_id.eq_any(chunk))
                    .select(inventories::resource_provider_id)
                    .distinct()
                    .load::<i32>(conn)?
                    .into_iter()
                    .map(ProviderId),
            );
        }
        let mut roots;
        (snapshot.anchors, roots) = anchors(conn, &serving)?;
        snapshot.has_trees = rp::table
            .filter(rp::parent_provider_id.is_not_null())
            .select(rp::id)
            .first::<i32>(conn)
            .optional()?
            .is_some();
        roots.extend(
            inventories::table
                .inner_join(rp::table.on(rp::id.eq(inventories::resource_provider_id)))
                .filter(inventories::resource_class_id.eq_any(&class_ids))
                .select(rp::root_provider_id)
                .distinct()
                .load::<Option<i32>>(conn)?
                .into_iter()
                .flatten()
                .map(ProviderId),
        );
        let roots: Vec<i32> = raw(&roots);
        for chunk in roots.chunks(CHUNK) {
            load_trees(conn, chunk, &mut snapshot)?;
            load_memberships_and_usage(conn, Some(chunk), &aggregates, &mut snapshot)?;
        }
        std::sync::Arc::new(snapshot.traits.values().flat_map(|ts| ts.iter().copied()).collect())
    };
    // Standard classes' ids are fixed; only custom ones need reading.
    let custom = snapshot.inventory.keys().any(|(_, class)| class.0 >= MIN_CUSTOM_RESOURCE_CLASS_ID);
    if custom {
        names.classes.extend(crate::resource_classes::names_by_id(conn)?.into_iter().map(|(id, n)| (ClassId(id), n)));
    } else {
        names
            .classes
            .extend(standard::resource_classes().iter().enumerate().map(|(i, n)| (ClassId(i as i32), n.to_string())));
    }
    names.traits.extend(cache.trait_names(conn, &trait_ids)?);
    Ok(Loaded::Ready(Box::new(Prepared { request, snapshot, names })))
}

type Anchors = (cands::FastMap<ProviderId, BTreeSet<ProviderId>>, BTreeSet<ProviderId>);

/// For each of these sharing providers (those with inventory of a
/// requested class), the roots of the trees it shares with: those with a
/// provider in one of its aggregates; and all those roots.
fn anchors(conn: &mut DbConnection, serving: &[ProviderId]) -> StorageResult<Anchors> {
    let mut anchors: cands::FastMap<ProviderId, BTreeSet<ProviderId>> = cands::FastMap::default();
    let mut anchor_roots: BTreeSet<ProviderId> = BTreeSet::new();
    for chunk in serving.chunks(CHUNK) {
        let chunk = raw(chunk);
        let own: Vec<(i32, i32)> = rpa::table
            .filter(rpa::resource_provider_id.eq_any(chunk))
            .select((rpa::resource_provider_id, rpa::aggregate_id))
            .load(conn)?;
        let agg_ids: Vec<i32> = own.iter().map(|x| x.1).collect::<BTreeSet<_>>().into_iter().collect();
        let members: Vec<(i32, Option<i32>, i32)> = rpa::table
            .inner_join(rp::table.on(rp::id.eq(rpa::resource_provider_id)))
            .filter(rpa::aggregate_id.eq_any(&agg_ids))
            .select((rpa::aggregate_id, rp::root_provider_id, rp::id))
            .load(conn)?;
        for (sharer, aggregate) in own {
            for (a, root, id) in &members {
                if *a == aggregate {
                    let root = ProviderId(root.unwrap_or(*id));
                    anchors.entry(ProviderId(sharer)).or_default().insert(root);
                    anchor_roots.insert(root);
                }
            }
        }
    }
    Ok((anchors, anchor_roots))
}

/// Providers, traits and inventories (usage left at zero) of the trees
/// with these roots.
fn load_trees(conn: &mut DbConnection, roots: &[i32], snap: &mut Snapshot) -> StorageResult<()> {
    let providers: Vec<(i32, String, Option<i32>, Option<i32>)> = rp::table
        .filter(rp::root_provider_id.eq_any(roots))
        .select((rp::id, rp::uuid, rp::parent_provider_id, rp::root_provider_id))
        .load(conn)?;
    for (id, uuid, parent, root) in providers {
        let node = ProviderNode {
            id: ProviderId(id),
            uuid: uuid.into(),
            parent: parent.map(ProviderId),
            root: ProviderId(root.unwrap_or(id)),
        };
        snap.add_provider(node);
    }
    let with_traits: Vec<(i32, i32)> = rpt::table
        .inner_join(rp::table.on(rp::id.eq(rpt::resource_provider_id)))
        .filter(rp::root_provider_id.eq_any(roots))
        .select((rpt::resource_provider_id, rpt::trait_id))
        .load(conn)?;
    for (provider, trait_id) in with_traits {
        snap.add_trait(ProviderId(provider), TraitId(trait_id));
    }
    let inventory: Vec<InventoryRecord> = inventories::table
        .inner_join(rp::table.on(rp::id.eq(inventories::resource_provider_id)))
        .filter(rp::root_provider_id.eq_any(roots))
        .select(InventoryRecord::as_select())
        .load(conn)?;
    let mysql = conn.backend() == crate::url::Backend::Mysql;
    for row in inventory {
        snap.add_inventory(ProviderId(row.provider_id), ClassId(row.class_id), Capacity::new(row.limits(mysql), 0));
    }
    Ok(())
}

/// Memberships in `aggregates` (the only ones the solver consults: those
/// the request names) and usage of the trees with these roots (all trees
/// when `None`), for a snapshot the cache lent without them.
fn load_memberships_and_usage(
    conn: &mut DbConnection,
    roots: Option<&[i32]>,
    aggregates: &[AggregateId],
    snap: &mut Snapshot,
) -> StorageResult<()> {
    let aggregates = raw(aggregates);
    let in_aggs: Vec<(i32, i32)> = match roots {
        _ if aggregates.is_empty() => Vec::new(),
        None => rpa::table
            .filter(rpa::aggregate_id.eq_any(&aggregates))
            .select((rpa::resource_provider_id, rpa::aggregate_id))
            .load(conn)?,
        Some(roots) => rpa::table
            .inner_join(rp::table.on(rp::id.eq(rpa::resource_provider_id)))
            .filter(rp::root_provider_id.eq_any(roots))
            .filter(rpa::aggregate_id.eq_any(&aggregates))
            .select((rpa::resource_provider_id, rpa::aggregate_id))
            .load(conn)?,
    };
    let mut memberships: cands::FastMap<ProviderId, Vec<AggregateId>> = cands::FastMap::default();
    for (provider, aggregate) in in_aggs {
        // Unique per (provider, aggregate), so never repeated.
        memberships.entry(ProviderId(provider)).or_default().push(AggregateId(aggregate));
    }
    for (provider, aggregates) in memberships {
        snap.set_aggregates(provider, aggregates);
    }
    let usage = (allocations::resource_provider_id, allocations::resource_class_id, sum(allocations::used));
    let used: Vec<(i32, i32, Option<i64>)> = match roots {
        None => allocations::table
            .group_by((allocations::resource_provider_id, allocations::resource_class_id))
            .select(usage)
            .load(conn)?,
        Some(roots) => allocations::table
            .inner_join(rp::table.on(rp::id.eq(allocations::resource_provider_id)))
            .filter(rp::root_provider_id.eq_any(roots))
            .group_by((allocations::resource_provider_id, allocations::resource_class_id))
            .select(usage)
            .load(conn)?,
    };
    if used.is_empty() {
        return Ok(());
    }
    // The inventories may be shared with the cache: copied before writing.
    let inventory = std::sync::Arc::make_mut(&mut snap.inventory);
    for (provider, class, amount) in used {
        if let Some(capacity) = inventory.get_mut(&(ProviderId(provider), ClassId(class))) {
            capacity.used = amount.unwrap_or(0);
        }
    }
    Ok(())
}
