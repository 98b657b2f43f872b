//! Resource providers: lookup, listing with filters, create, update
//! (including re-parenting), delete and generation bumps.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use placement_model::DomainError;
use placement_model::provider::ResourceProvider;
use placement_model::query::{AggregateFilter, ResourceAmounts, TraitFilter};

use crate::conn::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::resource_providers as rp;
use crate::schema::{allocations, inventories, resource_provider_aggregates, resource_provider_traits};
use crate::{aggregates, inventories as inv_store, now, resource_classes, traits as trait_store};

// The long form keeps the aliases private to this module.
diesel::alias! {
    const root_rp: Alias<RootProviders> = rp as root_rp;
    const parent_rp: Alias<ParentProviders> = rp as parent_rp;
}

type ProviderTuple = (
    i32,
    String,
    Option<String>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
);

fn into_provider(t: ProviderTuple) -> ResourceProvider {
    let (id, uuid, name, generation, root_uuid, parent_uuid, created_at, updated_at) = t;
    ResourceProvider {
        id,
        root_provider_uuid: root_uuid.unwrap_or_else(|| uuid.clone()),
        uuid,
        name,
        generation: generation.unwrap_or(0),
        parent_provider_uuid: parent_uuid,
        created_at,
        updated_at,
    }
}

macro_rules! provider_query {
    () => {
        rp::table
            .left_join(root_rp.on(rp::root_provider_id.eq(root_rp.field(rp::id).nullable())))
            .left_join(parent_rp.on(rp::parent_provider_id.eq(parent_rp.field(rp::id).nullable())))
            .select((
                rp::id,
                rp::uuid,
                rp::name,
                rp::generation,
                root_rp.field(rp::uuid).nullable(),
                parent_rp.field(rp::uuid).nullable(),
                rp::created_at,
                rp::updated_at,
            ))
    };
}

/// The provider with this uuid, if any.
pub fn find(conn: &mut DbConnection, uuid: &str) -> StorageResult<Option<ResourceProvider>> {
    Ok(provider_query!().filter(rp::uuid.eq(uuid)).first::<ProviderTuple>(conn).optional()?.map(into_provider))
}

/// The provider with this uuid, or upstream's not-found error.
pub fn get(conn: &mut DbConnection, uuid: &str) -> StorageResult<ResourceProvider> {
    find(conn, uuid)?.ok_or_else(|| DomainError::ProviderNotFound(uuid.to_string()).into())
}

/// Filters of `GET /resource_providers`.
#[derive(Clone, Debug, Default)]
pub struct ProviderFilter {
    /// Only the provider with this name.
    pub name: Option<String>,
    /// Only the provider with this uuid.
    pub uuid: Option<String>,
    /// Only providers in the tree of the provider with this uuid.
    pub in_tree: Option<String>,
    /// Aggregates required (one of each set) and forbidden.
    pub member_of: AggregateFilter,
    /// Traits required (one of each set) and forbidden.
    pub traits: TraitFilter,
    /// Amounts of resource classes the providers must have room for.
    pub resources: ResourceAmounts,
}

/// Providers matching every filter, ordered by internal id.
pub fn list(conn: &mut DbConnection, filter: &ProviderFilter) -> StorageResult<Vec<ResourceProvider>> {
    let mut query = provider_query!().order(rp::id).into_boxed();
    if let Some(name) = &filter.name {
        query = query.filter(rp::name.eq(name));
    }
    if let Some(uuid) = &filter.uuid {
        query = query.filter(rp::uuid.eq(uuid));
    }
    if let Some(tree) = &filter.in_tree {
        let root: Option<Option<i32>> =
            rp::table.filter(rp::uuid.eq(tree)).select(rp::root_provider_id).first(conn).optional()?;
        let Some(Some(root)) = root else {
            return Ok(Vec::new());
        };
        query = query.filter(rp::root_provider_id.eq(root));
    }
    let mut allowed = match ids_matching(conn, filter)? {
        Some(ids) if ids.is_empty() => return Ok(Vec::new()),
        other => other,
    };
    let forbidden = ids_forbidden(conn, filter)?;
    let rows: Vec<ProviderTuple> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|t| allowed.as_mut().is_none_or(|a| a.contains(&t.0)) && !forbidden.contains(&t.0))
        .map(into_provider)
        .collect())
}

/// Ids satisfying the positive filters (traits, aggregates, resources), or
/// `None` when there are none. Lookups and errors follow upstream's order
/// (traits, then aggregates, then resource classes), and as upstream's, the
/// search stops at the first filter nothing matches: an unknown resource
/// class after a required trait no provider has is no error.
fn ids_matching(conn: &mut DbConnection, filter: &ProviderFilter) -> StorageResult<Option<HashSet<i32>>> {
    let nothing = |ids: &Option<HashSet<i32>>| ids.as_ref().is_some_and(HashSet::is_empty);
    fn narrow(result: &mut Option<HashSet<i32>>, ids: HashSet<i32>) {
        *result = Some(match result.take() {
            None => ids,
            Some(prev) => prev.intersection(&ids).copied().collect(),
        });
    }
    let mut result: Option<HashSet<i32>> = None;
    for any_of in &filter.traits.required {
        let ids = trait_store::ids_for_names(conn, any_of)?;
        narrow(&mut result, providers_with_any_trait(conn, &ids)?);
    }
    if nothing(&result) {
        return Ok(result);
    }
    if !filter.traits.forbidden.is_empty() {
        // Resolve now so an unknown forbidden trait is reported.
        trait_store::ids_for_names(conn, &filter.traits.forbidden)?;
    }
    for any_of in &filter.member_of.required {
        let agg_ids = aggregates::ids_for_uuids(conn, any_of)?;
        narrow(&mut result, providers_in_any_aggregate(conn, &agg_ids)?);
    }
    if nothing(&result) {
        return Ok(result);
    }
    for (class, amount) in &filter.resources {
        let rc = resource_classes::id_for_name(conn, class)?;
        narrow(&mut result, inv_store::providers_with_capacity(conn, rc, *amount)?);
    }
    Ok(result)
}

fn ids_forbidden(conn: &mut DbConnection, filter: &ProviderFilter) -> StorageResult<HashSet<i32>> {
    let mut out = HashSet::new();
    if !filter.traits.forbidden.is_empty() {
        let ids = trait_store::ids_for_names(conn, &filter.traits.forbidden)?;
        out.extend(providers_with_any_trait(conn, &ids)?);
    }
    if !filter.member_of.forbidden.is_empty() {
        let ids = aggregates::ids_for_uuids(conn, &filter.member_of.forbidden)?;
        out.extend(providers_in_any_aggregate(conn, &ids)?);
    }
    Ok(out)
}

fn providers_with_any_trait(conn: &mut DbConnection, trait_ids: &[i32]) -> StorageResult<HashSet<i32>> {
    if trait_ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(resource_provider_traits::table
        .filter(resource_provider_traits::trait_id.eq_any(trait_ids))
        .select(resource_provider_traits::resource_provider_id)
        .load::<i32>(conn)?
        .into_iter()
        .collect())
}

fn providers_in_any_aggregate(conn: &mut DbConnection, agg_ids: &[i32]) -> StorageResult<HashSet<i32>> {
    if agg_ids.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(resource_provider_aggregates::table
        .filter(resource_provider_aggregates::aggregate_id.eq_any(agg_ids))
        .select(resource_provider_aggregates::resource_provider_id)
        .load::<i32>(conn)?
        .into_iter()
        .collect())
}

/// Internal ids of a provider, its parent and its root.
#[derive(Clone, Copy, Debug)]
struct TreeIds {
    id: i32,
    parent_id: Option<i32>,
    root_id: i32,
}

fn tree_ids(conn: &mut DbConnection, uuid: &str) -> StorageResult<Option<TreeIds>> {
    let row: Option<(i32, Option<i32>, Option<i32>)> = rp::table
        .filter(rp::uuid.eq(uuid))
        .select((rp::id, rp::parent_provider_id, rp::root_provider_id))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, parent_id, root_id)| TreeIds { id, parent_id, root_id: root_id.unwrap_or(id) }))
}

/// Create a provider; with a parent it joins the parent's tree.
pub fn create(
    conn: &mut DbConnection,
    uuid: &str,
    name: &str,
    parent_uuid: Option<&str>,
) -> StorageResult<ResourceProvider> {
    let parent = match parent_uuid {
        None => None,
        Some(p) if p == uuid => {
            return Err(DomainError::InvalidTreeChange {
                action: "create",
                reason: "parent provider UUID cannot be same as UUID. Please set parent provider \
                         UUID to None if there is no parent."
                    .into(),
            }
            .into());
        }
        Some(p) => Some(tree_ids(conn, p)?.ok_or(DomainError::InvalidTreeChange {
            action: "create",
            reason: "parent provider UUID does not exist.".into(),
        })?),
    };
    check_unique(conn, Some(uuid), name, None)?;
    diesel::insert_into(rp::table)
        .values((
            rp::uuid.eq(uuid),
            rp::name.eq(name),
            rp::generation.eq(0),
            rp::parent_provider_id.eq(parent.map(|p| p.id)),
            rp::root_provider_id.eq(parent.map(|p| p.root_id)),
            rp::created_at.eq(now()),
        ))
        .execute(conn)
        .map_err(|e| duplicate_or(e, Some(uuid), name))?;
    if parent.is_none() {
        let id: i32 = rp::table.filter(rp::uuid.eq(uuid)).select(rp::id).first(conn)?;
        // Upstream sets a root's own id in a second ORM flush, which
        // stamps updated_at too: clients see it in last-modified.
        diesel::update(rp::table.filter(rp::id.eq(id)))
            .set((rp::root_provider_id.eq(id), rp::updated_at.eq(now())))
            .execute(conn)?;
    }
    get(conn, uuid)
}

/// Report which unique field an insert or update collides on, as upstream
/// does, before the database refuses it. The name comparison happens in the
/// database so it follows the column's collation.
fn check_unique(conn: &mut DbConnection, uuid: Option<&str>, name: &str, except_id: Option<i32>) -> StorageResult<()> {
    let taken = |ids: Vec<i32>| ids.into_iter().any(|id| Some(id) != except_id);
    let dup_uuid = match uuid {
        Some(u) => taken(rp::table.filter(rp::uuid.eq(u)).select(rp::id).load(conn)?).then(|| u.to_string()),
        None => None,
    };
    let dup_name = taken(rp::table.filter(rp::name.eq(name)).select(rp::id).load(conn)?).then(|| name.to_string());
    if dup_uuid.is_none() && dup_name.is_none() {
        return Ok(());
    }
    Err(DomainError::DuplicateProvider { uuid: dup_uuid, name: dup_name }.into())
}

fn duplicate_or(e: diesel::result::Error, uuid: Option<&str>, name: &str) -> StorageError {
    let err = StorageError::from(e);
    if err.is_unique_violation() {
        // Lost a race with another writer: report it like upstream.
        DomainError::DuplicateProvider { uuid: uuid.map(str::to_string), name: Some(name.to_string()) }.into()
    } else {
        err
    }
}

/// What `PUT /resource_providers/{uuid}` may change.
#[derive(Clone, Debug)]
pub struct ProviderUpdate {
    /// The name, new or not.
    pub name: String,
    /// `None`: leave the parent alone; `Some(None)`: un-parent.
    pub parent: Option<Option<String>>,
    /// Whether a parent once set may be changed or removed (from 1.37).
    pub allow_reparenting: bool,
}

/// Rename a provider and, if asked, give it another parent or none; its
/// subtree moves with it. A loop is refused, and so is changing or
/// removing a parent it has unless `allow_reparenting`.
pub fn update(
    conn: &mut DbConnection,
    provider: &ResourceProvider,
    change: &ProviderUpdate,
) -> StorageResult<ResourceProvider> {
    let me = tree_ids(conn, &provider.uuid)?.ok_or_else(|| DomainError::ProviderNotFound(provider.uuid.clone()))?;
    let mut new_tree: Option<(Option<i32>, i32)> = None;
    match &change.parent {
        None => {}
        Some(Some(parent_uuid)) => {
            let parent = tree_ids(conn, parent_uuid)?.ok_or(DomainError::InvalidTreeChange {
                action: "create",
                reason: "parent provider UUID does not exist.".into(),
            })?;
            if me.parent_id.is_some_and(|p| p != parent.id) && !change.allow_reparenting {
                return Err(tree_error("re-parenting a provider is not currently allowed."));
            }
            if subtree_ids(conn, me)?.contains(&parent.id) {
                return Err(tree_error("creating loop in the provider tree is not allowed."));
            }
            new_tree = Some((Some(parent.id), parent.root_id));
        }
        Some(None) if me.parent_id.is_some() => {
            if !change.allow_reparenting {
                return Err(tree_error("un-parenting a provider is not currently allowed."));
            }
            new_tree = Some((None, me.id));
        }
        Some(None) => {}
    }
    check_unique(conn, None, &change.name, Some(me.id))?;
    let stamp = now();
    diesel::update(rp::table.filter(rp::id.eq(me.id)))
        .set((rp::name.eq(&change.name), rp::updated_at.eq(stamp)))
        .execute(conn)
        .map_err(|e| duplicate_or(e, None, &change.name))?;
    if let Some((parent_id, root_id)) = new_tree {
        diesel::update(rp::table.filter(rp::id.eq(me.id))).set(rp::parent_provider_id.eq(parent_id)).execute(conn)?;
        if root_id != me.root_id {
            let subtree = subtree_ids(conn, me)?;
            diesel::update(rp::table.filter(rp::id.eq_any(&subtree)))
                .set((rp::root_provider_id.eq(root_id), rp::updated_at.eq(stamp)))
                .execute(conn)?;
        }
    }
    get(conn, &provider.uuid)
}

fn tree_error(reason: &str) -> StorageError {
    DomainError::InvalidTreeChange { action: "update", reason: reason.into() }.into()
}

/// The provider and all its descendants.
fn subtree_ids(conn: &mut DbConnection, me: TreeIds) -> StorageResult<HashSet<i32>> {
    let tree: Vec<(i32, Option<i32>)> =
        rp::table.filter(rp::root_provider_id.eq(me.root_id)).select((rp::id, rp::parent_provider_id)).load(conn)?;
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (id, parent) in tree {
        if let Some(p) = parent {
            children.entry(p).or_default().push(id);
        }
    }
    let mut out = HashSet::from([me.id]);
    let mut stack = vec![me.id];
    while let Some(id) = stack.pop() {
        for child in children.get(&id).into_iter().flatten() {
            if out.insert(*child) {
                stack.push(*child);
            }
        }
    }
    Ok(out)
}

/// Delete a provider with no children and no allocations, with its
/// inventories, aggregate links and traits.
pub fn delete(conn: &mut DbConnection, uuid: &str) -> StorageResult<()> {
    let me = tree_ids(conn, uuid)?.ok_or_else(|| DomainError::ProviderNotFound(uuid.to_string()))?;
    let has_child =
        rp::table.filter(rp::parent_provider_id.eq(me.id)).select(rp::id).first::<i32>(conn).optional()?.is_some();
    if has_child {
        return Err(DomainError::CannotDeleteParent.into());
    }
    let allocated = allocations::table
        .filter(allocations::resource_provider_id.eq(me.id))
        .select(allocations::id)
        .first::<i32>(conn)
        .optional()?
        .is_some();
    if allocated {
        return Err(DomainError::ProviderInUse.into());
    }
    diesel::delete(inventories::table.filter(inventories::resource_provider_id.eq(me.id))).execute(conn)?;
    diesel::delete(
        resource_provider_aggregates::table.filter(resource_provider_aggregates::resource_provider_id.eq(me.id)),
    )
    .execute(conn)?;
    diesel::delete(resource_provider_traits::table.filter(resource_provider_traits::resource_provider_id.eq(me.id)))
        .execute(conn)?;
    // The self-reference must go before the row can.
    diesel::update(rp::table.filter(rp::id.eq(me.id))).set(rp::root_provider_id.eq(None::<i32>)).execute(conn)?;
    diesel::delete(rp::table.filter(rp::id.eq(me.id))).execute(conn)?;
    Ok(())
}

/// Bump the generation from `expected`; a different stored value means
/// another writer got there first.
pub fn bump_generation(conn: &mut DbConnection, id: i32, expected: i32) -> StorageResult<i32> {
    match crate::generation::bump(conn, crate::generation::Generational::Providers, id, expected)? {
        true => Ok(expected + 1),
        false => Err(DomainError::ProviderConcurrentUpdate.into()),
    }
}
