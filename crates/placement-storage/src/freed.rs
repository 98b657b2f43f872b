//! Providers a write removes allocations from move their `updated_at`
//! strictly forward, in the write's transaction, so that a cache keyed by
//! (generation, `updated_at`) sees their usage fall (docs/usage-cache.md).
//! Their generation stays: upstream bumps none there, and clients cache
//! generations.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::schema::{allocations, resource_providers as rp};
use crate::url::Backend;

/// The allocations (provider id, class id, used) a write is about to
/// remove, where stamping read them: usage before the removal is usage
/// after it plus these. `None` where they were not read.
pub type Removed = Option<Vec<(i32, i32, i32)>>;

/// Stamp every provider holding allocations of these consumers; call it
/// before removing them.
pub fn mark(conn: &mut DbConnection, consumers: &[String]) -> StorageResult<Removed> {
    let now = crate::now();
    let mut removed: Removed = None;
    for chunk in consumers.chunks(crate::MAX_BOUND) {
        let holding =
            allocations::table.filter(allocations::consumer_id.eq_any(chunk)).select(allocations::resource_provider_id);
        let freed = rp::table.filter(rp::id.eq_any(holding));
        match conn.backend() {
            // Evaluated under the row lock the UPDATE takes, against the
            // latest committed value: strictly later even when two writers
            // free the same provider at once (pg_write keeps it prepared).
            Backend::Postgres => stamp_on_postgres(conn, chunk)?,
            Backend::Mysql => removed.get_or_insert_with(Vec::new).extend(mark_on_mysql(conn, chunk, now)?),
            // SQLite's writers are serialized: computed here.
            Backend::Sqlite => {
                let previous: Vec<Option<NaiveDateTime>> = freed.clone().select(rp::updated_at).load(conn)?;
                let latest = previous.into_iter().flatten().max();
                let stamp = latest.map_or(now, |t| now.max(t + TimeDelta::microseconds(1)));
                diesel::update(freed).set(rp::updated_at.eq(stamp)).execute(conn)?;
            }
        }
    }
    Ok(removed)
}

/// MariaDB runs an UPDATE's `IN (subquery)` as a scan that locks every
/// provider row it reads (all moves then queue on one another): the rows
/// first, by a locking read (the latest committed rows, as the DELETE that
/// follows sees them; returned), then an UPDATE by primary key. Upstream's
/// schema keeps whole seconds; GREATEST is NULL if `updated_at` is.
#[cfg(feature = "mysql")]
fn mark_on_mysql(
    conn: &mut DbConnection,
    consumers: &[String],
    now: NaiveDateTime,
) -> StorageResult<Vec<(i32, i32, i32)>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Timestamp};
    let DbConnection::Mysql(my) = conn else {
        return Ok(Vec::new());
    };
    // Not kept prepared (see `my_write`): with this locking read kept,
    // 10 clients' moves on MariaDB hung within seconds, a request waiting
    // for an answer while its connection sat idle in the processlist. Why
    // is not known yet; deadlocks among the moves are reported here.
    let removed: Vec<(i32, i32, i32)> = allocations::table
        .filter(allocations::consumer_id.eq_any(consumers))
        .select((allocations::resource_provider_id, allocations::resource_class_id, allocations::used))
        .for_update()
        .load(my)?;
    let mut ids: Vec<i32> = removed.iter().map(|(provider, _, _)| *provider).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(removed);
    }
    if crate::my_write::keeps(&[ids.len()]) {
        crate::my_write::stamp_freed(my, &ids, now)?;
        return Ok(removed);
    }
    let later = sql::<Nullable<Timestamp>>("COALESCE(GREATEST(")
        .bind::<Timestamp, _>(now)
        .sql(", updated_at + INTERVAL 1 SECOND), ")
        .bind::<Timestamp, _>(now)
        .sql(")");
    diesel::update(rp::table.filter(rp::id.eq_any(&ids))).set(rp::updated_at.eq(later)).execute(my)?;
    Ok(removed)
}

#[cfg(feature = "postgres")]
fn stamp_on_postgres(conn: &mut DbConnection, consumers: &[String]) -> StorageResult<()> {
    match conn {
        DbConnection::Postgresql(pg) => crate::pg_write::stamp_freed(pg, consumers),
        _ => Ok(()),
    }
}

#[cfg(not(feature = "postgres"))]
fn stamp_on_postgres(_: &mut DbConnection, _: &[String]) -> StorageResult<()> {
    Ok(())
}

#[cfg(not(feature = "mysql"))]
fn mark_on_mysql(_: &mut DbConnection, _: &[String], _: NaiveDateTime) -> StorageResult<Vec<(i32, i32, i32)>> {
    Ok(Vec::new())
}
