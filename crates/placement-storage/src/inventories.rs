//! Inventories of providers: read, add, update, replace and delete, each
//! write checking and bumping the provider generation in the same
//! transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::sum;
use diesel::prelude::*;
use placement_model::DomainError;
use placement_model::candidates::Limits;
use placement_model::inventory::Inventory;
use placement_model::provider::ResourceProvider;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::schema::{allocations, inventories as inv, resource_classes};
use crate::{now, providers, resource_classes as rc_store};

/// An inventory with its record times.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredInventory {
    /// The inventory, with its class's name.
    pub inventory: Inventory,
    /// When the record was created.
    pub created_at: Option<NaiveDateTime>,
    /// When it was last updated, if ever.
    pub updated_at: Option<NaiveDateTime>,
}

impl StoredInventory {
    /// When the record last changed: `updated_at`, else `created_at`.
    pub fn last_modified(&self) -> Option<NaiveDateTime> {
        self.updated_at.or(self.created_at)
    }
}

type Row = (String, i32, i32, i32, i32, i32, f64, Option<NaiveDateTime>, Option<NaiveDateTime>);

/// A provider's inventories in resource class id order.
pub fn of_provider(conn: &mut DbConnection, provider_id: i32) -> StorageResult<Vec<StoredInventory>> {
    let rows: Vec<Row> = inv::table
        .inner_join(resource_classes::table.on(resource_classes::id.eq(inv::resource_class_id)))
        .filter(inv::resource_provider_id.eq(provider_id))
        .order(inv::resource_class_id)
        .select((
            resource_classes::name,
            inv::total,
            inv::reserved,
            inv::min_unit,
            inv::max_unit,
            inv::step_size,
            inv::allocation_ratio,
            inv::created_at,
            inv::updated_at,
        ))
        .load(conn)?;
    let mysql = conn.backend() == crate::url::Backend::Mysql;
    Ok(rows
        .into_iter()
        .map(|(rc, total, reserved, min_unit, max_unit, step_size, ratio, created_at, updated_at)| StoredInventory {
            inventory: Inventory {
                resource_class: rc,
                total: total.into(),
                reserved: reserved.into(),
                min_unit: min_unit.into(),
                max_unit: max_unit.into(),
                step_size: step_size.into(),
                allocation_ratio: if mysql { single_precision(ratio) } else { ratio },
            },
            created_at,
            updated_at,
        })
        .collect())
}

/// MySQL keeps the ratio in a single-precision FLOAT; report the shortest
/// decimal that reads back as the same float (1.1, not 1.100000023841858),
/// as upstream's text-protocol driver does.
pub(crate) fn single_precision(value: f64) -> f64 {
    let narrow = value as f32;
    narrow.to_string().parse().unwrap_or(value)
}

fn to_i32(value: i64) -> i32 {
    // Values are schema-checked to the 32-bit range before they get here.
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn insert(conn: &mut DbConnection, provider_id: i32, rc_id: i32, i: &Inventory) -> StorageResult<()> {
    diesel::insert_into(inv::table)
        .values((
            inv::resource_provider_id.eq(provider_id),
            inv::resource_class_id.eq(rc_id),
            inv::total.eq(to_i32(i.total)),
            inv::reserved.eq(to_i32(i.reserved)),
            inv::min_unit.eq(to_i32(i.min_unit)),
            inv::max_unit.eq(to_i32(i.max_unit)),
            inv::step_size.eq(to_i32(i.step_size)),
            inv::allocation_ratio.eq(i.allocation_ratio),
            inv::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Update one record; returns false when there was none.
fn update_row(conn: &mut DbConnection, provider_id: i32, rc_id: i32, i: &Inventory) -> StorageResult<bool> {
    let changed = diesel::update(
        inv::table.filter(inv::resource_provider_id.eq(provider_id)).filter(inv::resource_class_id.eq(rc_id)),
    )
    .set((
        inv::total.eq(to_i32(i.total)),
        inv::reserved.eq(to_i32(i.reserved)),
        inv::min_unit.eq(to_i32(i.min_unit)),
        inv::max_unit.eq(to_i32(i.max_unit)),
        inv::step_size.eq(to_i32(i.step_size)),
        inv::allocation_ratio.eq(i.allocation_ratio),
        inv::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(changed > 0)
}

/// Usage per resource class id on one provider.
pub fn usage_by_class(conn: &mut DbConnection, provider_id: i32) -> StorageResult<HashMap<i32, i64>> {
    let rows: Vec<(i32, Option<i64>)> = allocations::table
        .filter(allocations::resource_provider_id.eq(provider_id))
        .group_by(allocations::resource_class_id)
        .select((allocations::resource_class_id, sum(allocations::used)))
        .load(conn)?;
    Ok(rows.into_iter().map(|(rc, used)| (rc, used.unwrap_or(0))).collect())
}

fn warn_if_over_capacity(provider: &ResourceProvider, i: &Inventory, used: i64) {
    if used > i.capacity() {
        log::warn!("Resource provider {} is now over-capacity for {}", provider.uuid, i.resource_class);
    }
}

/// Add one inventory the provider does not have yet.
pub fn add(conn: &mut DbConnection, provider: &ResourceProvider, i: &Inventory) -> StorageResult<i32> {
    let rc_id = rc_store::id_for_name(conn, &i.resource_class)?;
    let generation = providers::bump_generation(conn, provider.id, provider.generation)?;
    insert(conn, provider.id, rc_id, i)?;
    Ok(generation)
}

/// Change one existing inventory.
pub fn update(conn: &mut DbConnection, provider: &ResourceProvider, i: &Inventory) -> StorageResult<i32> {
    let rc_id = rc_store::id_for_name(conn, &i.resource_class)?;
    let used = usage_by_class(conn, provider.id)?.get(&rc_id).copied().unwrap_or(0);
    let generation = providers::bump_generation(conn, provider.id, provider.generation)?;
    if !update_row(conn, provider.id, rc_id, i)? {
        return Err(DomainError::InventoryNotFound(i.resource_class.clone()).into());
    }
    warn_if_over_capacity(provider, i, used);
    Ok(generation)
}

/// Delete one inventory that has no allocations.
pub fn delete(conn: &mut DbConnection, provider: &ResourceProvider, class: &str) -> StorageResult<i32> {
    let rc_id = rc_store::id_for_name(conn, class)?;
    ensure_unused(conn, provider, &[rc_id])?;
    let generation = providers::bump_generation(conn, provider.id, provider.generation)?;
    let removed = diesel::delete(
        inv::table.filter(inv::resource_provider_id.eq(provider.id)).filter(inv::resource_class_id.eq(rc_id)),
    )
    .execute(conn)?;
    if removed == 0 {
        return Err(DomainError::InventoryNotFound(class.to_string()).into());
    }
    Ok(generation)
}

fn ensure_unused(conn: &mut DbConnection, provider: &ResourceProvider, rc_ids: &[i32]) -> StorageResult<()> {
    let usage = usage_by_class(conn, provider.id)?;
    let mut busy: Vec<i32> = rc_ids.iter().copied().filter(|rc| usage.contains_key(rc)).collect();
    if busy.is_empty() {
        return Ok(());
    }
    busy.sort_unstable();
    let names = rc_store::names_by_id(conn)?;
    let classes = busy.iter().filter_map(|id| names.get(id).cloned()).collect::<Vec<_>>().join(", ");
    Err(DomainError::InventoryInUse { classes, provider: provider.uuid.clone() }.into())
}

/// Replace all of a provider's inventory: delete what is absent (refusing
/// classes in use), add what is new, update the rest.
pub fn replace(conn: &mut DbConnection, provider: &ResourceProvider, wanted: &[Inventory]) -> StorageResult<i32> {
    let mut by_id: BTreeMap<i32, &Inventory> = BTreeMap::new();
    for i in wanted {
        by_id.insert(rc_store::id_for_name(conn, &i.resource_class)?, i);
    }
    let existing: HashSet<i32> = inv::table
        .filter(inv::resource_provider_id.eq(provider.id))
        .select(inv::resource_class_id)
        .load::<i32>(conn)?
        .into_iter()
        .collect();
    let to_delete: Vec<i32> = existing.iter().copied().filter(|rc| !by_id.contains_key(rc)).collect();
    if !to_delete.is_empty() {
        ensure_unused(conn, provider, &to_delete)?;
    }
    // Bump (and lock the provider row) before writing, so a racing writer
    // waits here and then fails its generation check.
    let generation = providers::bump_generation(conn, provider.id, provider.generation)?;
    if !to_delete.is_empty() {
        diesel::delete(
            inv::table
                .filter(inv::resource_provider_id.eq(provider.id))
                .filter(inv::resource_class_id.eq_any(&to_delete)),
        )
        .execute(conn)?;
    }
    let usage = usage_by_class(conn, provider.id)?;
    for (rc_id, i) in &by_id {
        if existing.contains(rc_id) {
            if !update_row(conn, provider.id, *rc_id, i)? {
                return Err(DomainError::InventoryNotFound(i.resource_class.clone()).into());
            }
            warn_if_over_capacity(provider, i, usage.get(rc_id).copied().unwrap_or(0));
        } else {
            insert(conn, provider.id, *rc_id, i)?;
        }
    }
    Ok(generation)
}

/// An inventory row as capacity checks and allocation candidates need it:
/// by provider and class id. Read with `InventoryRecord::as_select()`.
#[derive(Queryable, Selectable)]
#[diesel(table_name = inv)]
pub struct InventoryRecord {
    /// Internal id of the provider.
    #[diesel(column_name = resource_provider_id)]
    pub provider_id: i32,
    /// Internal id of the resource class.
    #[diesel(column_name = resource_class_id)]
    pub class_id: i32,
    /// How much of the class the provider has.
    pub total: i32,
    /// How much of `total` is kept out of allocations.
    pub reserved: i32,
    /// The least one allocation may take.
    pub min_unit: i32,
    /// The most one allocation may take.
    pub max_unit: i32,
    /// Allocations come in multiples of this.
    pub step_size: i32,
    /// Overcommit factor: capacity is `(total - reserved) * allocation_ratio`.
    pub allocation_ratio: f64,
}

impl InventoryRecord {
    /// The model's inventory, its class name left empty.
    pub fn inventory(&self) -> Inventory {
        Inventory {
            resource_class: String::new(),
            total: self.total.into(),
            reserved: self.reserved.into(),
            min_unit: self.min_unit.into(),
            max_unit: self.max_unit.into(),
            step_size: self.step_size.into(),
            allocation_ratio: self.allocation_ratio,
        }
    }

    /// The solver's view of its limits; on MySQL the ratio as its
    /// single-precision column holds it.
    pub(crate) fn limits(&self, mysql: bool) -> Limits {
        Limits {
            total: self.total,
            reserved: self.reserved,
            min_unit: self.min_unit,
            max_unit: self.max_unit,
            step_size: self.step_size,
            allocation_ratio: if mysql { single_precision(self.allocation_ratio) } else { self.allocation_ratio },
        }
    }
}

/// Providers with room for `amount` of one class (capacity, usage and unit
/// constraints), for the `resources` filter.
pub fn providers_with_capacity(conn: &mut DbConnection, rc_id: i32, amount: i64) -> StorageResult<HashSet<i32>> {
    let rows: Vec<InventoryRecord> =
        inv::table.filter(inv::resource_class_id.eq(rc_id)).select(InventoryRecord::as_select()).load(conn)?;
    let used: HashMap<i32, i64> = allocations::table
        .filter(allocations::resource_class_id.eq(rc_id))
        .group_by(allocations::resource_provider_id)
        .select((allocations::resource_provider_id, sum(allocations::used)))
        .load::<(i32, Option<i64>)>(conn)?
        .into_iter()
        .map(|(rp, u)| (rp, u.unwrap_or(0)))
        .collect();
    Ok(rows
        .iter()
        .filter(|r| r.inventory().fits(used.get(&r.provider_id).copied().unwrap_or(0), amount))
        .map(|r| r.provider_id)
        .collect())
}
