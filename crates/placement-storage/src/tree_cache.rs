//! Providers' traits, inventories and usage, kept between candidates
//! queries and checked against the database on every use.
//!
//! Every change to a provider's traits or inventories bumps its generation
//! in the same transaction (upstream Placement's rule, which this service
//! follows), and every change to its allocations either bumps the
//! generation or moves its `updated_at` strictly forward (ours: see
//! docs/usage-cache.md). So a cached entry is current while the provider's
//! uuid, generation, `updated_at`, parent and root read now are those it
//! was cached with. Each query therefore reads those few columns for every
//! provider and reloads only the providers that changed. Usage is cached
//! only when the cache is made with it ([`TreeCache::new`]): upstream's
//! own processes free allocations without moving anything. Aggregate
//! memberships can change without a bump (set before 1.19), so they are
//! never cached. Entries also expire, each between [`MAX_AGE`] and twice
//! that after it was read, so that even changes made behind the API's back
//! (direct SQL that bumps nothing) show within that time; spread by
//! provider, so that what one query loaded is not read again all at once
//! (at 600,000 allocation rows, reading all usage costs 100 ms or more).
//!
//! Standard traits' ids are kept for good: those rows are never deleted
//! (the API refuses to), so an id once read keeps its name. Aggregates'
//! ids by uuid are kept for [`MAX_AGE`]: no API call deletes those rows
//! either (upstream's neither), but nothing stops direct SQL from doing so.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::dsl::sum;
use diesel::prelude::*;
use placement_model::candidates::{Capacity, FastMap, ProviderNode, Snapshot};
use placement_model::standard::is_standard_trait;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::inventories::InventoryRecord;
use crate::schema::{
    allocations, inventories, placement_aggregates as agg, resource_provider_traits as rpt, resource_providers as rp,
    traits,
};

/// Ids are bound in chunks no backend refuses.
const CHUNK: usize = 10_000;

/// How long an entry is trusted without being read again, at least.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// When an entry of provider `id` read at `loaded_at` expires: between
/// [`MAX_AGE`] and twice that, by id.
fn expiry(id: i32, loaded_at: Instant) -> Instant {
    const SLOTS: u32 = 64;
    loaded_at + MAX_AGE + MAX_AGE * id.rem_euclid(SLOTS as i32).unsigned_abs() / SLOTS
}

/// A provider as every query reads it: what identifies a cached entry.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct ProviderRow {
    pub id: i32,
    pub uuid: String,
    pub generation: Option<i32>,
    /// Moves whenever the provider's usage moves without its generation.
    pub updated_at: Option<NaiveDateTime>,
    pub parent: Option<i32>,
    pub root: Option<i32>,
}

impl ProviderRow {
    fn root(&self) -> i32 {
        self.root.unwrap_or(self.id)
    }
}

/// One provider's traits and inventories (with usage when the cache
/// keeps it), as of `row`.
#[derive(Debug)]
struct Entry {
    row: ProviderRow,
    expires: Instant,
    traits: Arc<BTreeSet<i32>>,
    inventory: Vec<(i32, Capacity)>,
}

/// The cache; one per database.
#[derive(Debug, Default)]
pub struct TreeCache {
    /// Whether entries carry usage.
    usage: bool,
    entries: RwLock<FastMap<i32, Arc<Entry>>>,
    assembled: RwLock<Option<Arc<Assembled>>>,
    standard_traits: RwLock<StandardTraits>,
    aggregates: RwLock<HashMap<String, (i32, Instant)>>,
}

#[derive(Debug, Default)]
struct StandardTraits {
    ids: HashMap<String, i32>,
    names: FastMap<i32, String>,
}

impl TreeCache {
    /// A cache that keeps usage too when `usage` is set.
    pub fn new(usage: bool) -> TreeCache {
        TreeCache { usage, ..TreeCache::default() }
    }

    /// Whether what [`TreeCache::fill`] lends carries usage.
    pub fn keeps_usage(&self) -> bool {
        self.usage
    }

    /// Trait ids by name, from what was learnt or one query for the rest;
    /// names that do not exist are left out.
    pub fn trait_ids(&self, conn: &mut DbConnection, wanted: &BTreeSet<String>) -> StorageResult<HashMap<String, i32>> {
        let mut found: HashMap<String, i32> = HashMap::new();
        let mut ask: Vec<String> = Vec::new();
        {
            let known = self.standard_traits.read().unwrap_or_else(|e| e.into_inner());
            for name in wanted {
                match known.ids.get(name) {
                    Some(id) => _ = found.insert(name.clone(), *id),
                    None => ask.push(name.clone()),
                }
            }
        }
        if !ask.is_empty() {
            let rows: Vec<(i32, String)> =
                traits::table.filter(traits::name.eq_any(&ask)).select((traits::id, traits::name)).load(conn)?;
            self.learn(&rows);
            found.extend(rows.into_iter().map(|(id, name)| (name, id)));
        }
        Ok(found)
    }

    /// Trait names by id, from what was learnt or one query for the rest.
    pub fn trait_names(&self, conn: &mut DbConnection, wanted: &BTreeSet<i32>) -> StorageResult<FastMap<i32, String>> {
        let mut found: FastMap<i32, String> = FastMap::default();
        let mut ask: Vec<i32> = Vec::new();
        {
            let known = self.standard_traits.read().unwrap_or_else(|e| e.into_inner());
            for id in wanted {
                match known.names.get(id) {
                    Some(name) => _ = found.insert(*id, name.clone()),
                    None => ask.push(*id),
                }
            }
        }
        for chunk in ask.chunks(CHUNK) {
            let rows: Vec<(i32, String)> =
                traits::table.filter(traits::id.eq_any(chunk)).select((traits::id, traits::name)).load(conn)?;
            self.learn(&rows);
            found.extend(rows);
        }
        Ok(found)
    }

    /// Aggregate ids by uuid, from what was learnt or one query for the
    /// rest; uuids without a row are left out.
    pub fn aggregate_ids(
        &self,
        conn: &mut DbConnection,
        wanted: &BTreeSet<String>,
    ) -> StorageResult<HashMap<String, i32>> {
        let now = Instant::now();
        let mut found: HashMap<String, i32> = HashMap::new();
        let mut ask: Vec<&String> = Vec::new();
        {
            let known = self.aggregates.read().unwrap_or_else(|e| e.into_inner());
            for uuid in wanted {
                match known.get(uuid) {
                    Some((id, at)) if now.duration_since(*at) < MAX_AGE => _ = found.insert(uuid.clone(), *id),
                    _ => ask.push(uuid),
                }
            }
        }
        if !ask.is_empty() {
            let rows: Vec<(i32, Option<String>)> =
                agg::table.filter(agg::uuid.eq_any(&ask)).select((agg::id, agg::uuid)).load(conn)?;
            let mut known = self.aggregates.write().unwrap_or_else(|e| e.into_inner());
            for (id, uuid) in rows {
                if let Some(uuid) = uuid {
                    known.insert(uuid.clone(), (id, now));
                    found.insert(uuid, id);
                }
            }
        }
        Ok(found)
    }

    fn learn(&self, rows: &[(i32, String)]) {
        let standard: Vec<&(i32, String)> = rows.iter().filter(|(_, name)| is_standard_trait(name)).collect();
        if standard.is_empty() {
            return;
        }
        let mut known = self.standard_traits.write().unwrap_or_else(|e| e.into_inner());
        for (id, name) in standard {
            known.ids.insert(name.clone(), *id);
            known.names.insert(*id, name.clone());
        }
    }

    /// Every provider, as the check needs it.
    pub fn providers(conn: &mut DbConnection) -> StorageResult<Vec<ProviderRow>> {
        Ok(rp::table
            .select((rp::id, rp::uuid, rp::generation, rp::updated_at, rp::parent_provider_id, rp::root_provider_id))
            .load(conn)?)
    }

    /// How many providers hold inventory of any of `classes`, and how
    /// many providers there are, as of the last query; `None` before it.
    pub fn estimate(&self, classes: &[i32]) -> Option<(usize, usize)> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        if entries.is_empty() {
            return None;
        }
        let relevant = entries.values().filter(|e| e.inventory.iter().any(|(c, _)| classes.contains(c))).count();
        Some((relevant, entries.len()))
    }

    /// Bring the cache up to date with `rows` (every provider), then give
    /// `snap` every tree: providers, traits and inventories, usage left at
    /// zero unless the cache keeps it. When nothing changed since the last
    /// call, `snap` shares what that call assembled. Returns every trait id
    /// any provider has.
    pub fn fill(
        &self,
        conn: &mut DbConnection,
        rows: Vec<ProviderRow>,
        snap: &mut Snapshot,
    ) -> StorageResult<Arc<BTreeSet<i32>>> {
        let now = Instant::now();
        let last = self.assembled.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(last) = last.filter(|a| a.rows == rows && now < a.expires) {
            last.lend(snap);
            return Ok(last.trait_ids.clone());
        }
        let have = self.current_entries(conn, &rows, now)?;
        let assembled = Arc::new(Assembled::new(rows, &have));
        assembled.lend(snap);
        let trait_ids = assembled.trait_ids.clone();
        *self.assembled.write().unwrap_or_else(|e| e.into_inner()) = Some(assembled);
        Ok(trait_ids)
    }

    /// The entry of each of `rows`, from the cache where current, loaded
    /// (and cached) where not.
    fn current_entries(
        &self,
        conn: &mut DbConnection,
        rows: &[ProviderRow],
        now: Instant,
    ) -> StorageResult<Vec<Arc<Entry>>> {
        let mut have: Vec<Option<Arc<Entry>>> = {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            rows.iter().map(|row| entries.get(&row.id).filter(|e| e.row == *row && now < e.expires).cloned()).collect()
        };
        let stale: Vec<i32> = rows.iter().zip(&have).filter(|(_, e)| e.is_none()).map(|(row, _)| row.id).collect();
        if !stale.is_empty() {
            let mut fresh: FastMap<i32, Arc<Entry>> =
                load_entries(conn, rows, &stale, self.usage)?.into_iter().map(|e| (e.row.id, Arc::new(e))).collect();
            let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
            entries.extend(fresh.iter().map(|(id, e)| (*id, e.clone())));
            if entries.len() > rows.len() {
                // Some providers were deleted: keep only those that exist.
                let current: FastMap<i32, ()> = rows.iter().map(|r| (r.id, ())).collect();
                entries.retain(|id, _| current.contains_key(id));
            }
            drop(entries);
            for (row, entry) in rows.iter().zip(&mut have) {
                if entry.is_none() {
                    *entry = fresh.remove(&row.id);
                }
            }
        }
        Ok(have.into_iter().flatten().collect())
    }
}

/// Every provider's node, traits and inventories (usage as cached) as of
/// `rows`, put together once and shared by the queries that follow while
/// no provider changes.
#[derive(Debug)]
struct Assembled {
    rows: Vec<ProviderRow>,
    /// When the first of the entries used expires.
    expires: Instant,
    providers: Arc<BTreeMap<i32, ProviderNode>>,
    traits: Arc<FastMap<i32, Arc<BTreeSet<i32>>>>,
    inventory: Arc<BTreeMap<(i32, i32), Capacity>>,
    /// Every trait id among `traits`.
    trait_ids: Arc<BTreeSet<i32>>,
}

impl Assembled {
    fn new(rows: Vec<ProviderRow>, entries: &[Arc<Entry>]) -> Assembled {
        let expires = entries.iter().map(|e| e.expires).min().unwrap_or_else(Instant::now);
        let mut traits = FastMap::default();
        let mut inventory = Vec::with_capacity(entries.len() * 3);
        for entry in entries {
            let id = entry.row.id;
            if !entry.traits.is_empty() {
                traits.insert(id, entry.traits.clone());
            }
            inventory.extend(entry.inventory.iter().map(|(class, capacity)| ((id, *class), capacity.clone())));
        }
        // Collected rather than inserted one by one: built in bulk.
        let providers = rows
            .iter()
            .map(|row| {
                (row.id, ProviderNode { id: row.id, uuid: row.uuid.clone(), parent: row.parent, root: row.root() })
            })
            .collect();
        let trait_ids = traits.values().flat_map(|ts: &Arc<BTreeSet<i32>>| ts.iter().copied()).collect();
        Assembled {
            trait_ids: Arc::new(trait_ids),
            rows,
            expires,
            providers: Arc::new(providers),
            traits: Arc::new(traits),
            inventory: Arc::new(inventory.into_iter().collect()),
        }
    }

    /// Give `snap` these providers, traits and inventories, shared.
    fn lend(&self, snap: &mut Snapshot) {
        snap.providers = self.providers.clone();
        snap.traits = self.traits.clone();
        snap.inventory = self.inventory.clone();
    }
}

/// Entries for the `stale` providers among `rows`, with usage if `usage`.
fn load_entries(
    conn: &mut DbConnection,
    rows: &[ProviderRow],
    stale: &[i32],
    usage: bool,
) -> StorageResult<Vec<Entry>> {
    let loaded_at = Instant::now();
    let mut traits: Vec<(i32, i32)> = Vec::new();
    let mut inventory: Vec<InventoryRecord> = Vec::new();
    let mut used: Vec<(i32, i32, Option<i64>)> = Vec::new();
    let usage_columns = (allocations::resource_provider_id, allocations::resource_class_id, sum(allocations::used));
    let by_provider_and_class = (allocations::resource_provider_id, allocations::resource_class_id);
    if stale.len() * 2 >= rows.len() {
        // Mostly stale (a cold cache): one read of everything is cheaper.
        traits = rpt::table.select((rpt::resource_provider_id, rpt::trait_id)).load(conn)?;
        inventory = inventories::table.select(InventoryRecord::as_select()).load(conn)?;
        if usage {
            used = allocations::table.group_by(by_provider_and_class).select(usage_columns).load(conn)?;
        }
    } else {
        for chunk in stale.chunks(CHUNK) {
            traits.extend(
                rpt::table
                    .filter(rpt::resource_provider_id.eq_any(chunk))
                    .select((rpt::resource_provider_id, rpt::trait_id))
                    .load::<(i32, i32)>(conn)?,
            );
            inventory.extend(
                inventories::table
                    .filter(inventories::resource_provider_id.eq_any(chunk))
                    .select(InventoryRecord::as_select())
                    .load::<InventoryRecord>(conn)?,
            );
            if usage {
                used.extend(
                    allocations::table
                        .filter(allocations::resource_provider_id.eq_any(chunk))
                        .group_by(by_provider_and_class)
                        .select(usage_columns)
                        .load::<(i32, i32, Option<i64>)>(conn)?,
                );
            }
        }
    }
    let wanted: FastMap<i32, ()> = stale.iter().map(|id| (*id, ())).collect();
    let mut by_id: FastMap<i32, Entry> = rows
        .iter()
        .filter(|r| wanted.contains_key(&r.id))
        .map(|r| {
            let expires = expiry(r.id, loaded_at);
            (r.id, Entry { row: r.clone(), expires, traits: Arc::default(), inventory: Vec::new() })
        })
        .collect();
    for (provider, trait_id) in traits {
        if let Some(e) = by_id.get_mut(&provider) {
            Arc::make_mut(&mut e.traits).insert(trait_id);
        }
    }
    let mysql = conn.backend() == crate::url::Backend::Mysql;
    for row in inventory {
        if let Some(e) = by_id.get_mut(&row.provider_id) {
            e.inventory.push((row.class_id, row.capacity(mysql)));
        }
    }
    for (provider, class, amount) in used {
        if let Some(e) = by_id.get_mut(&provider)
            && let Some((_, capacity)) = e.inventory.iter_mut().find(|(c, _)| *c == class)
        {
            capacity.used = amount.unwrap_or(0);
        }
    }
    Ok(by_id.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_spread_over_one_more_max_age() {
        let t = Instant::now();
        let all: BTreeSet<Instant> = (0..64).map(|id| expiry(id, t)).collect();
        assert_eq!(all.len(), 64, "every slot its own time");
        for id in [-5, 0, 1, 63, 64, i32::MAX, i32::MIN] {
            let at = expiry(id, t);
            assert!(at >= t + MAX_AGE && at < t + 2 * MAX_AGE, "{id}");
        }
    }
}
