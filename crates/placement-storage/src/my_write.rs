//! The allocation write's statements on MySQL/MariaDB, kept prepared (see
//! `kept`) where diesel would prepare them afresh for each write: a
//! prepared statement costs MySQL a round trip to prepare and a command to
//! close beside the round trip to run it. Lists are written out one
//! placeholder per item, so each length is a statement of its own; only
//! the short lists a write usually has are kept (see [`keeps`]).

use chrono::NaiveDateTime;
use diesel::mysql::{Mysql, MysqlConnection};
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Double, HasSqlType, Integer, Text, Timestamp};

use crate::allocations::NewRow;
use crate::error::StorageResult;
use crate::inventories::InventoryRecord;
use crate::kept::{Fixed, kept};

/// The longest list a kept statement takes.
const KEPT_ITEMS: usize = 8;

/// Whether lists of these lengths go through the kept statements: short
/// ones, and not on Galera. There, with them kept, requests in
/// `galera_multi_writer_race_is_exact` went unanswered for 30 s in each of
/// three runs (why is not known yet: its writes are aborted by other
/// nodes' certification); with diesel's statements, made and closed each
/// time, it passes.
pub fn keeps(lengths: &[usize]) -> bool {
    lengths.iter().all(|n| *n <= KEPT_ITEMS) && !crate::conn::on_galera()
}

/// `(?, ?, ...)`, one placeholder of SQL type `ST` per item.
fn list<'b, ST, T>(out: &mut AstPass<'_, 'b, Mysql>, items: &'b [T]) -> QueryResult<()>
where
    Mysql: HasSqlType<ST>,
    T: ToSql<ST, Mysql>,
{
    out.push_sql("(");
    for (i, item) in items.iter().enumerate() {
        out.push_sql(if i == 0 { "" } else { ", " });
        out.push_bind_param::<ST, _>(item)?;
    }
    out.push_sql(")");
    Ok(())
}

struct DeleteAllocations<'a> {
    consumers: &'a [String],
}

impl Fixed<Mysql> for DeleteAllocations<'_> {
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        out.push_sql("DELETE FROM allocations WHERE consumer_id IN ");
        list::<Text, _>(&mut out, self.consumers)
    }
}

/// Remove every allocation of these consumers (see [`keeps`]).
pub fn delete_allocations(my: &mut MysqlConnection, consumers: &[String]) -> StorageResult<()> {
    kept::<Integer, _>(DeleteAllocations { consumers }).execute(my)?;
    Ok(())
}

struct Available<'a> {
    providers: &'a [i32],
    classes: &'a [i32],
}

impl Fixed<Mysql> for Available<'_> {
    // A join, as diesel's form of it: written with a correlated subquery,
    // the kept statement summed through the index on the class alone,
    // reading a third of all allocations per write.
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        out.push_sql(
            "SELECT i.resource_provider_id, i.resource_class_id, i.total, i.reserved, \
             i.min_unit, i.max_unit, i.step_size, i.allocation_ratio, \
             CAST(COALESCE(SUM(a.used), 0) AS SIGNED) \
             FROM inventories i LEFT JOIN allocations a \
             ON a.resource_provider_id = i.resource_provider_id AND a.resource_class_id = i.resource_class_id \
             WHERE i.resource_provider_id IN ",
        );
        list::<Integer, _>(&mut out, self.providers)?;
        out.push_sql(" AND i.resource_class_id IN ");
        list::<Integer, _>(&mut out, self.classes)?;
        // Every selected column: MariaDB's ONLY_FULL_GROUP_BY does not
        // infer functional dependencies.
        out.push_sql(
            " GROUP BY i.id, i.resource_provider_id, i.resource_class_id, i.total, i.reserved, \
             i.min_unit, i.max_unit, i.step_size, i.allocation_ratio",
        );
        Ok(())
    }
}

/// The inventories of these providers and classes (see
/// [`keeps`]), each with its usage.
pub fn available(
    my: &mut MysqlConnection,
    providers: &[i32],
    classes: &[i32],
) -> StorageResult<Vec<(InventoryRecord, i64)>> {
    type Record = (Integer, Integer, Integer, Integer, Integer, Integer, Integer, Double);
    Ok(kept::<(Record, BigInt), _>(Available { providers, classes }).load(my)?)
}

struct InsertAllocations<'a> {
    rows: &'a [NewRow<'a>],
    now: NaiveDateTime,
}

impl Fixed<Mysql> for InsertAllocations<'_> {
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO allocations (resource_provider_id, resource_class_id, consumer_id, used, created_at) VALUES ",
        );
        for (i, row) in self.rows.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Integer, _>(&row.provider_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, _>(&row.class_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(row.consumer_uuid)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, _>(&row.used)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&self.now)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// Insert these rows (see [`keeps`]), all created at `now`.
pub fn insert_allocations(my: &mut MysqlConnection, rows: &[NewRow<'_>], now: NaiveDateTime) -> StorageResult<()> {
    kept::<Integer, _>(InsertAllocations { rows, now }).execute(my)?;
    Ok(())
}

struct StampFreed<'a> {
    providers: &'a [i32],
    now: NaiveDateTime,
}

impl Fixed<Mysql> for StampFreed<'_> {
    // Upstream's schema keeps whole seconds; GREATEST is NULL if
    // `updated_at` is.
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        out.push_sql("UPDATE resource_providers SET updated_at = COALESCE(GREATEST(");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(", updated_at + INTERVAL 1 SECOND), ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(") WHERE id IN ");
        list::<Integer, _>(&mut out, self.providers)
    }
}

/// Move `updated_at` of these providers (see [`keeps`]) strictly forward.
pub fn stamp_freed(my: &mut MysqlConnection, providers: &[i32], now: NaiveDateTime) -> StorageResult<()> {
    kept::<Integer, _>(StampFreed { providers, now }).execute(my)?;
    Ok(())
}
