//! Providers' traits, inventories, usage and aggregates, kept between
//! candidates queries and checked against the database on every use.
//!
//! Every change to a provider's traits or inventories bumps its generation
//! in the same transaction (upstream Placement's rule, which this service
//! follows), and every change to its allocations or, before 1.19, its
//! aggregates either bumps the generation or moves its `updated_at`
//! strictly forward (ours: see docs/usage-cache.md). So a cached entry is
//! current while the provider's uuid, generation, `updated_at`, parent and
//! root read now are those it was cached with. Each query therefore reads those few columns for every
//! provider and reloads only the providers that changed. Usage and
//! aggregates are cached only when the cache is made with them
//! ([`TreeCache::new`]): upstream's own processes free allocations and set
//! aggregates before 1.19 without moving anything. Entries also expire,
//! each between [`MAX_AGE`] and twice that after it was read, so that even
//! changes made behind the API's back (direct SQL that bumps nothing) show
//! within that time; spread by provider, so that what one query loaded is not read again all at once
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
use placement_model::candidates::{
    AggregateId, Capacity, ClassId, FastMap, LimitsPool, ProviderId, ProviderNode, Snapshot, TraitId,
};
use placement_model::standard::is_standard_trait;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::inventories::InventoryRecord;
use crate::schema::{
    allocations, inventories, placement_aggregates as agg, resource_provider_aggregates as rpa,
    resource_provider_traits as rpt, resource_providers as rp, traits,
};
use crate::uncached::load_all;

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
    /// Internal id.
    pub id: i32,
    /// The provider's uuid.
    pub uuid: String,
    /// The provider's generation.
    pub generation: Option<i32>,
    /// Moves whenever the provider's usage moves without its generation.
    pub updated_at: Option<NaiveDateTime>,
    /// Internal id of its parent, if it has one.
    pub parent: Option<i32>,
    /// Internal id of its root; `None` is taken as the provider itself.
    pub root: Option<i32>,
}

impl ProviderRow {
    fn root(&self) -> i32 {
        self.root.unwrap_or(self.id)
    }
}

/// Providers' traits and inventories (and usage and aggregates), kept
/// between candidates queries and checked against the database on every
/// use: a provider is reloaded when its generation, `updated_at`, parent
/// or root changed, and at the latest after five to ten minutes. One per database
/// ([`crate::Database::tree_cache`]); why it stays exact:
/// docs/usage-cache.md.
#[derive(Debug, Default)]
pub struct TreeCache {
    /// Whether entries carry usage and aggregates.
    usage: bool,
    assembled: RwLock<Option<Arc<Assembled>>>,
    standard_traits: RwLock<StandardTraits>,
    aggregates: RwLock<HashMap<String, (AggregateId, Instant)>>,
}

#[derive(Debug, Default)]
struct StandardTraits {
    ids: HashMap<String, TraitId>,
    names: FastMap<TraitId, String>,
}

impl TreeCache {
    /// A cache that keeps usage and aggregates too when `usage` is set.
    pub fn new(usage: bool) -> TreeCache {
        TreeCache { usage, ..TreeCache::default() }
    }

    /// Whether what [`TreeCache::fill`] lends carries usage and every
    /// provider's aggregates.
    pub fn keeps_usage_and_aggregates(&self) -> bool {
        self.usage
    }

    /// Trait ids by name, from what was learnt or one query for the rest;
    /// names that do not exist are left out.
    pub fn trait_ids(
        &self,
        conn: &mut DbConnection,
        wanted: &BTreeSet<String>,
    ) -> StorageResult<HashMap<String, TraitId>> {
        let mut found: HashMap<String, TraitId> = HashMap::new();
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
            found.extend(rows.into_iter().map(|(id, name)| (name, TraitId(id))));
        }
        Ok(found)
    }

    /// Trait names by id, from what was learnt or one query for the rest.
    pub fn trait_names(
        &self,
        conn: &mut DbConnection,
        wanted: &BTreeSet<TraitId>,
    ) -> StorageResult<FastMap<TraitId, String>> {
        let mut found: FastMap<TraitId, String> = FastMap::default();
        let mut ask: Vec<i32> = Vec::new();
        {
            let known = self.standard_traits.read().unwrap_or_else(|e| e.into_inner());
            for id in wanted {
                match known.names.get(id) {
                    Some(name) => _ = found.insert(*id, name.clone()),
                    None => ask.push(id.0),
                }
            }
        }
        for chunk in ask.chunks(CHUNK) {
            let rows: Vec<(i32, String)> =
                traits::table.filter(traits::id.eq_any(chunk)).select((traits::id, traits::name)).load(conn)?;
            self.learn(&rows);
            found.extend(rows.into_iter().map(|(id, name)| (TraitId(id), name)));
        }
        Ok(found)
    }

    /// Aggregate ids by uuid, from what was learnt or one query for the
    /// rest; uuids without a row are left out.
    pub fn aggregate_ids(
        &self,
        conn: &mut DbConnection,
        wanted: &BTreeSet<String>,
    ) -> StorageResult<HashMap<String, AggregateId>> {
        let now = Instant::now();
        let mut found: HashMap<String, AggregateId> = HashMap::new();
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
                let id = AggregateId(id);
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
            known.ids.insert(name.clone(), TraitId(*id));
            known.names.insert(TraitId(*id), name.clone());
        }
    }

    /// Every provider, as the check needs it; about `expected` of them.
    pub fn providers(conn: &mut DbConnection, expected: usize) -> StorageResult<Vec<ProviderRow>> {
        Ok(load_all(
            conn,
            rp::table.order(rp::id).select((
                rp::id,
                rp::uuid,
                rp::generation,
                rp::updated_at,
                rp::parent_provider_id,
                rp::root_provider_id,
            )),
            expected,
        )?)
    }

    /// How many providers hold inventory of any of `classes`, and how
    /// many providers there are, as of the last query; `None` before it.
    pub fn estimate(&self, classes: &[ClassId]) -> Option<(usize, usize)> {
        let last = self.assembled.read().unwrap_or_else(|e| e.into_inner()).clone()?;
        let mut relevant = 0;
        let mut counted = None;
        // Keys run by provider, then class: each provider counted once.
        for (provider, class) in last.inventory.keys() {
            if counted != Some(*provider) && classes.contains(class) {
                relevant += 1;
                counted = Some(*provider);
            }
        }
        Some((relevant, last.stamps.len()))
    }

    /// Bring the cache up to date with `rows` (every provider), then give
    /// `snap` every tree: providers, traits and inventories, usage left at
    /// zero unless the cache keeps it. When nothing changed since the last
    /// call, `snap` shares what that call assembled. Returns every trait id
    /// any provider has.
    pub fn fill(
        &self,
        conn: &mut DbConnection,
        mut rows: Vec<ProviderRow>,
        snap: &mut Snapshot,
    ) -> StorageResult<Arc<BTreeSet<TraitId>>> {
        if !rows.is_sorted_by_key(|r| r.id) {
            rows.sort_unstable_by_key(|r| r.id);
        }
        // Started before `now` is read, so no entry is dated after its read.
        std::sync::LazyLock::force(&EPOCH);
        let now = Instant::now();
        let last = self.assembled.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(last) = &last
            && last.holds(&rows)
            && now < last.expires
        {
            last.lend(snap);
            return Ok(last.trait_ids.clone());
        }
        let kept = last.as_deref().map(|last| last.current(&rows, now)).unwrap_or_else(|| vec![None; rows.len()]);
        let stale: Vec<i32> = rows.iter().zip(&kept).filter(|(_, k)| k.is_none()).map(|(row, _)| row.id).collect();
        let fresh = if stale.is_empty() { FastMap::default() } else { load_entries(conn, &rows, &stale, self.usage)? };
        let assembled = Arc::new(Assembled::new(rows, &kept, last.as_deref(), fresh, now));
        assembled.lend(snap);
        let trait_ids = assembled.trait_ids.clone();
        *self.assembled.write().unwrap_or_else(|e| e.into_inner()) = Some(assembled);
        Ok(trait_ids)
    }
}

/// One provider's traits and inventories (with usage and aggregates when
/// the cache keeps them), as just read.
#[derive(Debug, Default)]
struct Entry {
    traits: Arc<BTreeSet<TraitId>>,
    inventory: Vec<(ClassId, Capacity)>,
    aggregates: Arc<[AggregateId]>,
}

/// Every provider's node, traits and inventories (usage as cached) as of
/// `rows`, put together once and shared by the queries that follow while
/// no provider changes; what is kept of a provider between queries is
/// kept only here (once: at 100,000 providers and 300,000 inventories,
/// about 20 MB).
#[derive(Debug)]
struct Assembled {
    /// What identifies each of `providers`' entries besides its node, and
    /// when the entry was read, in the same (id) order.
    stamps: Vec<Stamp>,
    /// When the first of them expires.
    expires: Instant,
    providers: Arc<BTreeMap<ProviderId, ProviderNode>>,
    traits: Arc<FastMap<ProviderId, Arc<BTreeSet<TraitId>>>>,
    inventory: Arc<BTreeMap<(ProviderId, ClassId), Capacity>>,
    /// Empty unless the cache keeps aggregates.
    aggregates: Arc<FastMap<ProviderId, Arc<[AggregateId]>>>,
    /// Every trait id among `traits`.
    trait_ids: Arc<BTreeSet<TraitId>>,
}

impl Assembled {
    /// Whether these are exactly `rows` (in id order).
    fn holds(&self, rows: &[ProviderRow]) -> bool {
        rows.len() == self.stamps.len()
            && rows.iter().zip(self.stamps.iter().zip(self.providers.values())).all(|(row, kept)| same(row, kept))
    }

    /// For each of `rows` (in id order), the index of its entry here when
    /// that entry is current: the same row, not expired.
    fn current(&self, rows: &[ProviderRow], now: Instant) -> Vec<Option<usize>> {
        let mut mine = self.stamps.iter().zip(self.providers.values()).enumerate().peekable();
        rows.iter()
            .map(|row| {
                while mine.next_if(|(_, (_, node))| node.id.0 < row.id).is_some() {}
                let (i, kept) = mine.next_if(|(_, (_, node))| node.id.0 == row.id)?;
                (same(row, kept) && now < expiry(row.id, kept.0.read_at())).then_some(i)
            })
            .collect()
    }

    /// `rows`, each from `last` at the index `kept` gives, or from `fresh`
    /// (read at `now`).
    fn new(
        rows: Vec<ProviderRow>,
        kept: &[Option<usize>],
        last: Option<&Assembled>,
        mut fresh: FastMap<i32, Entry>,
        now: Instant,
    ) -> Assembled {
        let mut stamps = Vec::with_capacity(rows.len());
        let mut traits = FastMap::default();
        let mut aggregates = FastMap::default();
        let mut inventory = Vec::with_capacity(rows.len() * 3);
        let read_now = Seconds::at(now);
        for (row, kept) in rows.iter().zip(kept) {
            let id = ProviderId(row.id);
            match kept.zip(last) {
                Some((i, last)) => {
                    stamps.push(Stamp::of(row, last.stamps[i].read_at));
                    if let Some(ts) = last.traits.get(&id) {
                        traits.insert(id, ts.clone());
                    }
                    if let Some(a) = last.aggregates.get(&id) {
                        aggregates.insert(id, a.clone());
                    }
                    inventory.extend(
                        last.inventory.range((id, ClassId::MIN)..=(id, ClassId::MAX)).map(|(k, c)| (*k, c.clone())),
                    );
                }
                None => {
                    stamps.push(Stamp::of(row, read_now));
                    let entry = fresh.remove(&row.id).unwrap_or_default();
                    if !entry.traits.is_empty() {
                        traits.insert(id, entry.traits);
                    }
                    if !entry.aggregates.is_empty() {
                        aggregates.insert(id, entry.aggregates);
                    }
                    inventory.extend(entry.inventory.into_iter().map(|(class, capacity)| ((id, class), capacity)));
                }
            }
        }
        let expires = rows.iter().zip(&stamps).map(|(row, s)| expiry(row.id, s.read_at())).min().unwrap_or(now);
        // Collected rather than inserted one by one: built in bulk.
        let providers = rows
            .into_iter()
            .map(|row| {
                let (id, root) = (ProviderId(row.id), ProviderId(row.root()));
                (id, ProviderNode { id, uuid: row.uuid.into(), parent: row.parent.map(ProviderId), root })
            })
            .collect();
        let trait_ids = traits.values().flat_map(|ts: &Arc<BTreeSet<TraitId>>| ts.iter().copied()).collect();
        Assembled {
            trait_ids: Arc::new(trait_ids),
            stamps,
            expires,
            providers: Arc::new(providers),
            traits: Arc::new(traits),
            inventory: Arc::new(inventory.into_iter().collect()),
            aggregates: Arc::new(aggregates),
        }
    }

    /// Give `snap` these providers, traits and inventories, shared.
    fn lend(&self, snap: &mut Snapshot) {
        snap.providers = self.providers.clone();
        snap.traits = self.traits.clone();
        snap.inventory = self.inventory.clone();
        snap.aggregates = self.aggregates.clone();
    }
}

/// Whether `row` is the provider an entry was made from: its node (id,
/// uuid, parent, root) and stamp.
fn same(row: &ProviderRow, (stamp, node): (&Stamp, &ProviderNode)) -> bool {
    stamp.generation == row.generation
        && stamp.updated_at == row.updated_at
        && node.parent.map(|p| p.0) == row.parent
        && node.root.0 == row.root()
        && node.uuid == row.uuid
}

/// What of a [`ProviderRow`] its node does not hold, and when the entry
/// was read: 28 bytes a provider, kept for every provider of the cloud.
#[derive(Debug)]
struct Stamp {
    generation: Option<i32>,
    updated_at: Option<NaiveDateTime>,
    read_at: Seconds,
}

impl Stamp {
    fn of(row: &ProviderRow, read_at: Seconds) -> Stamp {
        Stamp { generation: row.generation, updated_at: row.updated_at, read_at }
    }

    fn read_at(&self) -> Instant {
        self.read_at.instant()
    }
}

/// A time as whole seconds since the process's first use of it, rounded
/// down: an entry so dated expires up to a second early, never late.
#[derive(Clone, Copy, Debug)]
struct Seconds(u32);

static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

impl Seconds {
    fn at(t: Instant) -> Seconds {
        Seconds(u32::try_from(t.saturating_duration_since(*EPOCH).as_secs()).unwrap_or(u32::MAX))
    }

    fn instant(self) -> Instant {
        *EPOCH + Duration::from_secs(self.0.into())
    }
}

/// Entries for the `stale` providers among `rows`, with usage and
/// aggregates if `usage`.
fn load_entries(
    conn: &mut DbConnection,
    rows: &[ProviderRow],
    stale: &[i32],
    usage: bool,
) -> StorageResult<FastMap<i32, Entry>> {
    let mut traits: Vec<(i32, i32)> = Vec::new();
    let mut inventory: Vec<InventoryRecord> = Vec::new();
    let mut used: Vec<(i32, i32, Option<i64>)> = Vec::new();
    let mut memberships: Vec<(i32, i32)> = Vec::new();
    let membership_columns = (rpa::resource_provider_id, rpa::aggregate_id);
    let usage_columns = (allocations::resource_provider_id, allocations::resource_class_id, sum(allocations::used));
    let by_provider_and_class = (allocations::resource_provider_id, allocations::resource_class_id);
    if stale.len() * 2 >= rows.len() {
        // Mostly stale (a cold cache): one read of everything is cheaper.
        let n = rows.len();
        traits = load_all(conn, rpt::table.select((rpt::resource_provider_id, rpt::trait_id)), n)?;
        inventory = load_all(conn, inventories::table.select(InventoryRecord::as_select()), n)?;
        if usage {
            used = load_all(conn, allocations::table.group_by(by_provider_and_class).select(usage_columns), n)?;
            memberships = load_all(conn, rpa::table.select(membership_columns), n)?;
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
                memberships.extend(
                    rpa::table
                        .filter(rpa::resource_provider_id.eq_any(chunk))
                        .select(membership_columns)
                        .load::<(i32, i32)>(conn)?,
                );
            }
        }
    }
    let mut by_id: FastMap<i32, Entry> = stale.iter().map(|id| (*id, Entry::default())).collect();
    for (provider, trait_id) in traits {
        if let Some(e) = by_id.get_mut(&provider) {
            Arc::make_mut(&mut e.traits).insert(TraitId(trait_id));
        }
    }
    // Most providers share one of a few trait sets: one copy of each.
    let mut interned: HashMap<BTreeSet<TraitId>, Arc<BTreeSet<TraitId>>> = HashMap::new();
    for entry in by_id.values_mut().filter(|e| !e.traits.is_empty()) {
        match interned.get(&*entry.traits) {
            Some(shared) => entry.traits = shared.clone(),
            None => {
                interned.insert((*entry.traits).clone(), entry.traits.clone());
            }
        }
    }
    let mut in_aggregates: FastMap<i32, Vec<AggregateId>> = FastMap::default();
    for (provider, aggregate) in memberships {
        // Unique per (provider, aggregate), so never repeated.
        in_aggregates.entry(provider).or_default().push(AggregateId(aggregate));
    }
    // And one of a few sets of aggregates.
    let mut alike_aggregates: HashMap<Vec<AggregateId>, Arc<[AggregateId]>> = HashMap::new();
    for (provider, mut aggregates) in in_aggregates {
        if let Some(e) = by_id.get_mut(&provider) {
            aggregates.sort_unstable();
            e.aggregates = alike_aggregates.entry(aggregates).or_insert_with_key(|a| a.as_slice().into()).clone();
        }
    }
    // So do most inventories of one class.
    let mut alike = LimitsPool::default();
    let mysql = conn.backend() == crate::url::Backend::Mysql;
    for row in inventory {
        if let Some(e) = by_id.get_mut(&row.provider_id) {
            let capacity = Capacity { limits: alike.share(row.limits(mysql)), used: 0 };
            e.inventory.push((ClassId(row.class_id), capacity));
        }
    }
    for (provider, class, amount) in used {
        if let Some(e) = by_id.get_mut(&provider)
            && let Some((_, capacity)) = e.inventory.iter_mut().find(|(c, _)| c.0 == class)
        {
            capacity.used = amount.unwrap_or(0);
        }
    }
    Ok(by_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_dated_no_later_than_they_were_read() {
        let start = *EPOCH;
        for after in [Duration::ZERO, Duration::from_millis(999), Duration::from_millis(1001), MAX_AGE * 7] {
            let at = start + after;
            let dated = Seconds::at(at).instant();
            assert!(dated <= at && at - dated < Duration::from_secs(1), "{after:?}");
        }
    }

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
