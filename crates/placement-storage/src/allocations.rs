//! Allocations: read by consumer or provider, replace for a set of
//! consumers in one transaction (capacity checked, provider and consumer
//! generations bumped), delete.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::sum;
use diesel::prelude::*;
use placement_model::DomainError;
use placement_model::allocation::{Available, Claim, check_claims};

use crate::conn::DbConnection;
use crate::consumers::{self, Consumer, Created, NewConsumer, Owner, OwnerIds};
use crate::error::StorageResult;
use crate::inventories::InventoryRecord;
use crate::schema::{allocations, inventories as inv, resource_classes, resource_providers as rp};
use crate::url::Backend;
use crate::{now, providers, resource_classes as rc_store};

/// One allocation with what the API shows next to it.
#[derive(Clone, Debug, PartialEq)]
pub struct AllocationRow {
    /// The provider's uuid.
    pub provider_uuid: String,
    /// The provider's generation now.
    pub provider_generation: i32,
    /// The consumer's uuid.
    pub consumer_uuid: String,
    /// The resource class's name.
    pub class: String,
    /// The amount allocated.
    pub used: i64,
    /// When the allocation was written.
    pub created_at: Option<NaiveDateTime>,
    /// When it was last updated, if ever.
    pub updated_at: Option<NaiveDateTime>,
}

impl AllocationRow {
    /// When the row last changed: `updated_at`, else `created_at`.
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.updated_at.or(self.created_at)
    }
}

type Row = (String, Option<i32>, String, String, i32, Option<NaiveDateTime>, Option<NaiveDateTime>);

fn rows(
    conn: &mut DbConnection,
    by_consumer: Option<&str>,
    by_provider: Option<i32>,
) -> StorageResult<Vec<AllocationRow>> {
    let mut query = allocations::table
        .inner_join(rp::table.on(rp::id.eq(allocations::resource_provider_id)))
        .inner_join(resource_classes::table.on(resource_classes::id.eq(allocations::resource_class_id)))
        .select((
            rp::uuid,
            rp::generation,
            allocations::consumer_id,
            resource_classes::name,
            allocations::used,
            allocations::created_at,
            allocations::updated_at,
        ))
        .order(allocations::id)
        .into_boxed();
    if let Some(c) = by_consumer {
        query = query.filter(allocations::consumer_id.eq(c.to_string()));
    }
    if let Some(p) = by_provider {
        query = query.filter(allocations::resource_provider_id.eq(p));
    }
    let found: Vec<Row> = query.load(conn)?;
    Ok(found
        .into_iter()
        .map(|(provider_uuid, generation, consumer_uuid, class, used, created_at, updated_at)| AllocationRow {
            provider_uuid,
            provider_generation: generation.unwrap_or(0),
            consumer_uuid,
            class,
            used: used.into(),
            created_at,
            updated_at,
        })
        .collect())
}

/// A consumer's allocations (empty when it has none) and, with them, the
/// consumer record.
pub fn of_consumer(conn: &mut DbConnection, uuid: &str) -> StorageResult<(Vec<AllocationRow>, Option<Consumer>)> {
    let found = rows(conn, Some(uuid), None)?;
    let consumer = if found.is_empty() { None } else { consumers::find(conn, uuid)? };
    Ok((found, consumer))
}

/// A provider's allocations, with each consumer's generation.
pub fn of_provider(conn: &mut DbConnection, provider_id: i32) -> StorageResult<Vec<(AllocationRow, Option<i32>)>> {
    let found = rows(conn, None, Some(provider_id))?;
    let uuids: Vec<&String> = found.iter().map(|a| &a.consumer_uuid).collect::<BTreeSet<_>>().into_iter().collect();
    let mut generations: HashMap<String, i32> = HashMap::new();
    // A shared provider may serve tens of thousands of consumers.
    for chunk in uuids.chunks(crate::MAX_BOUND) {
        generations.extend(
            crate::schema::consumers::table
                .filter(crate::schema::consumers::uuid.eq_any(chunk))
                .select((crate::schema::consumers::uuid, crate::schema::consumers::generation))
                .load::<(String, i32)>(conn)?,
        );
    }
    Ok(found
        .into_iter()
        .map(|a| {
            let g = generations.get(&a.consumer_uuid).copied();
            (a, g)
        })
        .collect())
}

/// Whether the client's consumer generation is checked (from 1.28), and
/// what it expects (`None`: no consumer yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenerationCheck {
    /// Before 1.28: the client gives no generation and none is checked.
    Unchecked,
    /// The generation the client expects the consumer at; `None`: the
    /// consumer must not exist yet.
    Expect(Option<i64>),
}

/// What one consumer's allocations become.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerWrite {
    /// The consumer's uuid.
    pub consumer_uuid: String,
    /// The owning project's external id.
    pub project: String,
    /// The owning user's external id.
    pub user: String,
    /// Whether the consumer's generation is checked, and against what.
    pub generation: GenerationCheck,
    /// From 1.38; otherwise an existing consumer keeps its type.
    pub consumer_type: Option<String>,
    /// Provider uuid to (class, amount); empty removes every allocation.
    pub allocations: Vec<(String, Vec<(String, i64)>)>,
}

/// A consumer made ready for the write, and what it asked for.
struct Prepared<'a> {
    write: &'a ConsumerWrite,
    consumer: Consumer,
    /// Created by this write, so it holds no allocations yet.
    created: bool,
    /// At the generation this write leaves it at (created so, or bumped
    /// already): no bump due.
    bumped: bool,
    project_id: i32,
    user_id: i32,
    type_id: Option<i32>,
}

/// Check generations and make sure every consumer, project, user and type
/// exists, as upstream's `ensure_consumer` does, in request order.
/// With `bump_early`, consumers whose generation the client gave (and
/// that get allocations) are checked and bumped at once.
#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
fn prepare<'a>(
    conn: &mut DbConnection,
    ids: &OwnerIds,
    writes: &'a [ConsumerWrite],
    bump_early: bool,
    touched: &mut TouchedProviders,
) -> StorageResult<Vec<Prepared<'a>>> {
    let mut out = Vec::new();
    let mut made = Created::default();
    let postgres = conn.backend() == Backend::Postgres;
    for w in writes {
        let project_id = consumers::ensure(conn, ids, &mut made, Owner::Project, &w.project)?;
        let user_id = consumers::ensure(conn, ids, &mut made, Owner::User, &w.user)?;
        let type_id = match &w.consumer_type {
            Some(name) => Some(consumers::ensure(conn, ids, &mut made, Owner::ConsumerType, name)?),
            None => None,
        };
        let bumped = !w.allocations.is_empty();
        let new = NewConsumer {
            uuid: &w.consumer_uuid,
            project: (project_id, &w.project),
            user: (user_id, &w.user),
            consumer_type_id: type_id,
            generation: i32::from(bumped),
        };
        // A client expecting no consumer (Nova's new instances) is usually
        // right: where the insert says whether the row existed, try it
        // first; on one provider, bump that in the same statement.
        #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
        let mut tried = false;
        #[cfg(feature = "postgres")]
        if let (DbConnection::Postgresql(pg), true, GenerationCheck::Expect(None), [(provider, _)]) =
            (&mut *conn, bump_early && writes.len() == 1, w.generation, w.allocations.as_slice())
        {
            let (id, provider_bumped) = crate::pg_write::create_consumer_and_bump(pg, new.row(), provider)?;
            if let Some((provider_id, generation)) = provider_bumped {
                touched.add(Touched {
                    id: provider_id,
                    uuid: provider.clone(),
                    generation: generation - 1,
                    bumped: true,
                });
            }
            if let Some(id) = id {
                let consumer = new.made(id);
                out.push(Prepared { write: w, consumer, created: true, bumped, project_id, user_id, type_id });
                continue;
            }
            tried = true;
        }
        if postgres
            && !tried
            && w.generation == GenerationCheck::Expect(None)
            && let Some(consumer) = consumers::create(conn, &new)?
        {
            out.push(Prepared { write: w, consumer, created: true, bumped, project_id, user_id, type_id });
            continue;
        }
        // So is a client giving the consumer's generation: on PostgreSQL,
        // check and bump it in one statement (else it is bumped in `apply`).
        #[cfg(feature = "postgres")]
        if let (DbConnection::Postgresql(pg), true, GenerationCheck::Expect(Some(given))) =
            (&mut *conn, bump_early && !w.allocations.is_empty(), w.generation)
            && let Ok(given) = i32::try_from(given)
            && let Some(consumer) = crate::pg_write::bump_expected_consumer(pg, &w.consumer_uuid, given)?
        {
            out.push(Prepared { write: w, consumer, created: false, bumped: true, project_id, user_id, type_id });
            continue;
        }
        let existing = consumers::find(conn, &w.consumer_uuid)?;
        if let GenerationCheck::Expect(given) = w.generation {
            let stored = existing.as_ref().map(|c| i64::from(c.generation));
            if stored != given {
                return Err(DomainError::ConsumerGenerationConflict { expected: stored, got: given }.into());
            }
        }
        let (consumer, created) = match existing {
            Some(c) => (c, false),
            None => (consumers::create(conn, &new)?.ok_or(DomainError::ConsumerConcurrentUpdate)?, true),
        };
        out.push(Prepared { write: w, consumer, created, bumped: created && bumped, project_id, user_id, type_id });
    }
    Ok(out)
}

/// A provider touched by the write, with the generation read before any
/// usage was.
#[derive(Clone)]
struct Touched {
    id: i32,
    uuid: String,
    generation: i32,
    /// Bumped (and so locked) as it was resolved.
    bumped: bool,
}

/// One amount a write asks for.
struct Pending {
    /// Which of the plan's consumers asks.
    consumer: usize,
    provider_uuid: String,
    class: String,
    /// 0 removes.
    used: i64,
}

/// A row to insert into `allocations`.
pub(crate) struct NewRow<'a> {
    pub(crate) provider_id: i32,
    pub(crate) class_id: i32,
    pub(crate) consumer_uuid: &'a str,
    pub(crate) used: i32,
}

/// A checked-in write, ready to apply: consumers exist, providers are
/// resolved with their generations, removals are listed.
pub struct Plan<'a> {
    prepared: Vec<Prepared<'a>>,
    touched: Vec<Touched>,
    pending: Vec<Pending>,
    /// The providers freed are stamped already (see `freed`).
    stamped: bool,
}

impl Plan<'_> {
    /// Provider generations this plan will bump from, after the caller
    /// changed them itself (the reshaper's interim inventories).
    pub fn set_generation(&mut self, provider_id: i32, generation: i32) {
        if let Some(t) = self.touched.iter_mut().find(|t| t.id == provider_id) {
            t.generation = generation;
        }
    }
}

/// Replace the allocations of every consumer in `writes`, all or nothing.
pub fn replace(conn: &mut DbConnection, ids: &OwnerIds, writes: &[ConsumerWrite]) -> StorageResult<()> {
    let lock_early = conn.backend() == Backend::Postgres;
    let plan = plan_with(conn, ids, writes, lock_early)?;
    apply(conn, plan).map(|_| ())
}

/// Ensure the consumers and resolve the providers of a write, in
/// upstream's order, so its errors come first.
pub fn plan<'a>(conn: &mut DbConnection, ids: &OwnerIds, writes: &'a [ConsumerWrite]) -> StorageResult<Plan<'a>> {
    plan_with(conn, ids, writes, false)
}

/// As [`plan`]; with `lock_early` (PostgreSQL only) each provider is bumped
/// as it is resolved, one statement instead of a read now and a checked
/// bump later.
fn plan_with<'a>(
    conn: &mut DbConnection,
    ids: &OwnerIds,
    writes: &'a [ConsumerWrite],
    lock_early: bool,
) -> StorageResult<Plan<'a>> {
    // Providers (and their generations) are read before any usage, so a
    // concurrent writer either shows in the usage or fails our bump.
    let mut touched = TouchedProviders::default();
    let prepared = prepare(conn, ids, writes, lock_early, &mut touched)?;
    #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
    let mut stamped = false;
    #[cfg(feature = "postgres")]
    if let (DbConnection::Postgresql(pg), true) = (&mut *conn, lock_early) {
        let mut uuids: Vec<String> =
            writes.iter().flat_map(|w| w.allocations.iter().map(|(uuid, _)| uuid.clone())).collect();
        uuids.sort_unstable();
        uuids.dedup();
        // New consumers on one provider lock nothing else: its bump is
        // their only lock. On several, bumps one by one would lock them in
        // the order of their uuids, not of their ids as everyone else.
        if prepared.iter().any(|p| !p.created) || uuids.len() > 1 {
            let consumers: Vec<String> =
                prepared.iter().filter(|p| !p.created).map(|p| p.consumer.uuid.clone()).collect();
            for (uuid, id, generation) in crate::pg_write::lock_bump_and_stamp(pg, &uuids, &consumers)? {
                touched.add(Touched { id, uuid, generation: generation - 1, bumped: true });
            }
            stamped = true;
        }
    }
    let mut pending: Vec<Pending> = Vec::new();
    for (i, p) in prepared.iter().enumerate() {
        if p.write.allocations.is_empty() {
            for a in rows(conn, Some(&p.consumer.uuid), None)? {
                touch(conn, &mut touched, &a.provider_uuid, lock_early)?;
                pending.push(Pending { consumer: i, provider_uuid: a.provider_uuid, class: a.class, used: 0 });
            }
            continue;
        }
        for (uuid, resources) in &p.write.allocations {
            if !touch(conn, &mut touched, uuid, lock_early)? {
                return Err(DomainError::AllocationProviderNotFound(uuid.clone()).into());
            }
            for (class, used) in resources {
                pending.push(Pending { consumer: i, provider_uuid: uuid.clone(), class: class.clone(), used: *used });
            }
        }
    }
    Ok(Plan { prepared, touched: touched.list, pending, stamped })
}

/// The providers touched so far, in order, with an index by uuid (a write
/// may name thousands).
#[derive(Default)]
struct TouchedProviders {
    list: Vec<Touched>,
    known: HashSet<String>,
}

/// Add a provider to `touched` unless it is there: read with its
/// generation, or bumped at once with `lock_early` on PostgreSQL. False
/// when there is no such provider.
#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
fn touch(conn: &mut DbConnection, touched: &mut TouchedProviders, uuid: &str, lock_early: bool) -> StorageResult<bool> {
    if touched.known.contains(uuid) {
        return Ok(true);
    }
    let found = match conn {
        #[cfg(feature = "postgres")]
        DbConnection::Postgresql(pg) if lock_early => crate::pg_write::bump_provider(pg, uuid)?
            .map(|(id, g)| Touched { id, uuid: uuid.to_string(), generation: g - 1, bumped: true }),
        _ => providers::find(conn, uuid)?.map(|p| Touched {
            id: p.id,
            uuid: p.uuid,
            generation: p.generation,
            bumped: false,
        }),
    };
    let exists = found.is_some();
    if let Some(t) = found {
        touched.add(t);
    }
    Ok(exists)
}

impl TouchedProviders {
    fn add(&mut self, t: Touched) {
        if self.known.insert(t.uuid.clone()) {
            self.list.push(t);
        }
    }
}

/// Apply a plan: update owners, replace the allocations with capacity
/// checked, bump provider and consumer generations, drop emptied
/// consumers. Returns the touched providers' new generations by id.
pub fn apply(conn: &mut DbConnection, plan: Plan<'_>) -> StorageResult<HashMap<i32, i32>> {
    let Plan { prepared, touched, pending, stamped } = plan;
    for p in &prepared {
        if p.project_id != p.consumer.project_id
            || p.user_id != p.consumer.user_id
            || (p.type_id.is_some() && p.type_id != p.consumer.consumer_type_id)
        {
            let type_id = p.type_id.or(p.consumer.consumer_type_id);
            consumers::set_owner(conn, &p.consumer, p.project_id, p.user_id, type_id)?;
        }
    }
    let mut generations = HashMap::new();
    if pending.is_empty() {
        return Ok(generations);
    }
    // Classes resolve before anything is removed, as upstream's usage
    // summary does.
    let mut class_ids: HashMap<String, i32> = HashMap::new();
    for p in &pending {
        if !class_ids.contains_key(&p.class) {
            class_ids.insert(p.class.clone(), rc_store::id_for_name(conn, &p.class)?);
        }
    }
    // Bump (and so lock) every provider and consumer before reading the
    // usage that decides the claim: a racing writer either committed
    // before (and moved a generation we read, failing this) or waits.
    for t in &touched {
        let bumped = match t.bumped {
            true => t.generation + 1,
            false => providers::bump_generation(conn, t.id, t.generation)?,
        };
        generations.insert(t.id, bumped);
    }
    // Consumers with something pending, in order, each once; a write may
    // hold tens of thousands, so sets rather than scans.
    let mut consumer_uuids: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for p in &pending {
        let u = &prepared[p.consumer].consumer.uuid;
        if seen.insert(u) {
            consumer_uuids.push(u.clone());
        }
    }
    let mut first_unbumped: HashMap<&str, &Prepared<'_>> = HashMap::new();
    for p in prepared.iter().filter(|p| !p.bumped) {
        first_unbumped.entry(p.consumer.uuid.as_str()).or_insert(p);
    }
    for uuid in &consumer_uuids {
        if let Some(p) = first_unbumped.get(uuid.as_str()) {
            consumers::bump_generation(conn, p.consumer.id, p.consumer.generation)?;
        }
    }
    let provider_ids: Vec<i32> = touched.iter().map(|t| t.id).collect();
    let wanted_classes: Vec<i32> = class_ids.values().copied().collect();
    let ids_by_uuid: HashMap<&str, i32> = touched.iter().map(|t| (t.uuid.as_str(), t.id)).collect();
    let id_of = |uuid: &str| ids_by_uuid.get(uuid).copied().unwrap_or(0);
    let claims: Vec<Claim> = pending
        .iter()
        .map(|p| Claim {
            provider_id: id_of(&p.provider_uuid),
            provider_uuid: p.provider_uuid.clone(),
            class_id: class_ids[&p.class],
            class: p.class.clone(),
            used: p.used,
        })
        .collect();
    let rows: Vec<NewRow> = pending
        .iter()
        .zip(&claims)
        .filter(|(_, claim)| claim.used > 0)
        .map(|(p, claim)| NewRow {
            provider_id: claim.provider_id,
            class_id: claim.class_id,
            consumer_uuid: prepared[p.consumer].consumer.uuid.as_str(),
            used: i32::try_from(claim.used).unwrap_or(i32::MAX),
        })
        .collect();
    // Usage before the write matters only if it removes allocations.
    let removes = !prepared.iter().all(|p| p.created);
    let removed = match removes && !stamped {
        true => crate::freed::mark(conn, &consumer_uuids)?,
        false => None,
    };
    let removal = Removal {
        consumer_uuids: &consumer_uuids,
        provider_ids: &provider_ids,
        class_ids: &wanted_classes,
        removes,
        removed,
    };
    let (available, before, inserted) = replace_and_read(conn, &removal, &rows)?;
    // A claim that does not fit fails the transaction, and with it any
    // rows already inserted.
    check_claims(&claims, &available, &before)?;
    if !inserted {
        insert(conn, &rows)?;
    }
    let holding: HashSet<&str> =
        pending.iter().filter(|p| p.used > 0).map(|p| prepared[p.consumer].consumer.uuid.as_str()).collect();
    let emptied: Vec<String> = consumer_uuids.iter().filter(|u| !holding.contains(u.as_str())).cloned().collect();
    consumers::delete_if_unused(conn, &emptied)?;
    Ok(generations)
}

/// Insert allocation rows.
fn insert(conn: &mut DbConnection, rows: &[NewRow<'_>]) -> StorageResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let stamp = now();
    #[cfg(feature = "mysql")]
    if let DbConnection::Mysql(my) = conn
        && crate::my_write::keeps(&[rows.len()])
    {
        return crate::my_write::insert_allocations(my, rows, stamp);
    }
    let values: Vec<_> = rows
        .iter()
        .map(|row| {
            (
                allocations::resource_provider_id.eq(row.provider_id),
                allocations::resource_class_id.eq(row.class_id),
                allocations::consumer_id.eq(row.consumer_uuid),
                allocations::used.eq(row.used),
                allocations::created_at.eq(stamp),
            )
        })
        .collect();
    // One statement where the backend takes several rows (a round trip
    // each otherwise); SQLite is in-process, so a loop costs little there.
    match conn {
        #[cfg(feature = "mysql")]
        DbConnection::Mysql(my) => {
            for chunk in values.chunks(crate::MAX_BOUND / 8) {
                diesel::insert_into(allocations::table).values(chunk).execute(my)?;
            }
        }
        _ => {
            for row in values {
                diesel::insert_into(allocations::table).values(row).execute(conn)?;
            }
        }
    }
    Ok(())
}

type Usage = HashMap<(i32, i32), i64>;
type Availability = HashMap<(i32, i32), Available>;

/// The allocations a write removes, and what it reads beside.
struct Removal<'a> {
    consumer_uuids: &'a [String],
    provider_ids: &'a [i32],
    class_ids: &'a [i32],
    /// Whether anything may be removed (else usage before is usage after).
    removes: bool,
    /// What will be removed, if stamping the freed providers read it.
    removed: crate::freed::Removed,
}

/// Remove the consumers' allocations; the inventories of these providers
/// and classes with their usage after that, and (when `removes`, else the
/// same) the usage before. On PostgreSQL the same statement inserts
/// `rows` (true returned); elsewhere the caller inserts them.
#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
fn replace_and_read(
    conn: &mut DbConnection,
    removal: &Removal<'_>,
    rows: &[NewRow<'_>],
) -> StorageResult<(Availability, Usage, bool)> {
    let Removal { consumer_uuids, provider_ids, class_ids, removes, ref removed } = *removal;
    let (available, before, inserted): (Availability, Option<Usage>, bool) = match conn {
        #[cfg(feature = "postgres")]
        DbConnection::Postgresql(pg) => {
            let mut columns = crate::pg_write::NewAllocations::default();
            for row in rows {
                columns.providers.push(row.provider_id);
                columns.classes.push(row.class_id);
                columns.consumers.push(row.consumer_uuid.to_string());
                columns.used.push(row.used);
            }
            let read = crate::pg_write::replace_and_read(pg, consumer_uuids, &columns, provider_ids, class_ids, now())?;
            let before =
                removes.then(|| read.iter().map(|(r, before, _)| ((r.provider_id, r.class_id), *before)).collect());
            let available = read
                .into_iter()
                .map(|(r, _, after)| ((r.provider_id, r.class_id), Available { inventory: r.inventory(), used: after }))
                .collect();
            (available, before, true)
        }
        _ => {
            // Read before the removal only if the removed rows are unknown.
            let before = match removes && removed.is_none() {
                true => Some(available(conn, provider_ids, class_ids)?.into_iter().map(|(k, a)| (k, a.used)).collect()),
                false => None,
            };
            match conn {
                #[cfg(feature = "mysql")]
                DbConnection::Mysql(my) if crate::my_write::keeps(&[consumer_uuids.len()]) => {
                    crate::my_write::delete_allocations(my, consumer_uuids)?
                }
                _ => {
                    for chunk in consumer_uuids.chunks(crate::MAX_BOUND) {
                        diesel::delete(allocations::table.filter(allocations::consumer_id.eq_any(chunk)))
                            .execute(conn)?;
                    }
                }
            }
            let after = available(conn, provider_ids, class_ids)?;
            let before = before.or_else(|| removed.as_deref().map(|rows| usage_before(&after, rows)));
            (after, before, false)
        }
    };
    let before = before.unwrap_or_else(|| available.iter().map(|(key, a)| (*key, a.used)).collect());
    Ok((available, before, inserted))
}

/// Usage before `removed` went, from usage after it.
fn usage_before(after: &Availability, removed: &[(i32, i32, i32)]) -> Usage {
    let mut before: Usage = after.iter().map(|(key, a)| (*key, a.used)).collect();
    for (provider, class, used) in removed {
        if let Some(u) = before.get_mut(&(*provider, *class)) {
            *u += i64::from(*used);
        }
    }
    before
}

/// Inventory and usage per (provider, class) among these, in one
/// statement; pairs without inventory are left out (no claim fits them).
fn available(conn: &mut DbConnection, provider_ids: &[i32], class_ids: &[i32]) -> StorageResult<Availability> {
    let mut out = Availability::new();
    for chunk in provider_ids.chunks(crate::MAX_BOUND) {
        out.extend(available_among(conn, chunk, class_ids)?);
    }
    Ok(out)
}

fn available_among(conn: &mut DbConnection, provider_ids: &[i32], class_ids: &[i32]) -> StorageResult<Availability> {
    #[cfg(feature = "mysql")]
    if let DbConnection::Mysql(my) = conn
        && crate::my_write::keeps(&[provider_ids.len(), class_ids.len()])
    {
        return Ok(crate::my_write::available(my, provider_ids, class_ids)?
            .into_iter()
            .map(|(r, used)| ((r.provider_id, r.class_id), Available { inventory: r.inventory(), used }))
            .collect());
    }
    let found: Vec<(InventoryRecord, Option<i64>)> = inv::table
        .left_join(
            allocations::table.on(allocations::resource_provider_id
                .eq(inv::resource_provider_id)
                .and(allocations::resource_class_id.eq(inv::resource_class_id))),
        )
        .filter(inv::resource_provider_id.eq_any(provider_ids))
        .filter(inv::resource_class_id.eq_any(class_ids))
        // Every selected column, not just the key: MariaDB's
        // ONLY_FULL_GROUP_BY does not infer functional dependencies.
        .group_by((
            inv::id,
            inv::resource_provider_id,
            inv::resource_class_id,
            inv::total,
            inv::reserved,
            inv::min_unit,
            inv::max_unit,
            inv::step_size,
            inv::allocation_ratio,
        ))
        .select((InventoryRecord::as_select(), sum(allocations::used.nullable())))
        .load(conn)?;
    Ok(found
        .into_iter()
        .map(|(r, used)| ((r.provider_id, r.class_id), Available { inventory: r.inventory(), used: used.unwrap_or(0) }))
        .collect())
}

/// Remove every allocation of a consumer, and the consumer. Upstream does
/// not bump generations here; the providers' `updated_at` moves.
pub fn delete_for_consumer(conn: &mut DbConnection, uuid: &str) -> StorageResult<usize> {
    crate::freed::mark(conn, &[uuid.to_string()])?;
    let removed = diesel::delete(allocations::table.filter(allocations::consumer_id.eq(uuid))).execute(conn)?;
    if removed > 0 {
        consumers::delete_if_unused(conn, &[uuid.to_string()])?;
    }
    Ok(removed)
}
