//! Providers a write removes allocations from move their `updated_at`
//! strictly forward, in the write's transaction, so that a cache keyed by
//! (generation, `updated_at`) sees their usage fall (docs/usage-cache.md);
//! so do providers whose aggregates are set before 1.19. Their generation
//! stays: upstream bumps none there, and clients cache generations.

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
            Backend::Sqlite => {
                let ids: Vec<i32> = freed.select(rp::id).load(conn)?;
                stamp_on_sqlite(conn, &ids, now)?;
            }
        }
    }
    Ok(removed)
}

/// Stamp these providers; for a change that bumps no generation and
/// removes no allocation (aggregates set before 1.19).
pub fn stamp(conn: &mut DbConnection, providers: &[i32]) -> StorageResult<()> {
    let now = crate::now();
    for chunk in providers.chunks(crate::MAX_BOUND) {
        match conn {
            #[cfg(feature = "postgres")]
            DbConnection::Postgresql(pg) => {
                use diesel::dsl::sql;
                use diesel::sql_types::{Nullable, Timestamp};
                // Evaluated under the row lock, as in `pg_write`.
                let later = sql::<Nullable<Timestamp>>("GREATEST(")
                    .bind::<Timestamp, _>(now)
                    .sql(", updated_at + INTERVAL '1 microsecond')");
                diesel::update(rp::table.filter(rp::id.eq_any(chunk))).set(rp::updated_at.eq(later)).execute(pg)?;
            }
            #[cfg(feature = "mysql")]
            DbConnection::Mysql(my) => stamp_on_mysql(my, chunk, now)?,
            DbConnection::Sqlite(_) => stamp_on_sqlite(conn, chunk, now)?,
        }
    }
    Ok(())
}

/// SQLite's writers are serialized: the stamp is computed here, later
/// than every one it replaces.
fn stamp_on_sqlite(conn: &mut DbConnection, providers: &[i32], now: NaiveDateTime) -> StorageResult<()> {
    let stamped = rp::table.filter(rp::id.eq_any(providers));
    let previous: Vec<Option<NaiveDateTime>> = stamped.clone().select(rp::updated_at).load(conn)?;
    let latest = previous.into_iter().flatten().max();
    let stamp = latest.map_or(now, |t| now.max(t + TimeDelta::microseconds(1)));
    diesel::update(stamped).set(rp::updated_at.eq(stamp)).execute(conn)?;
    Ok(())
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
    stamp_on_mysql(my, &ids, now)?;
    Ok(removed)
}

/// Upstream's schema keeps whole seconds; GREATEST is NULL if
/// `updated_at` is. An UPDATE reads the latest committed row.
#[cfg(feature = "mysql")]
fn stamp_on_mysql(my: &mut diesel::MysqlConnection, providers: &[i32], now: NaiveDateTime) -> StorageResult<()> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Timestamp};
    if crate::my_write::keeps(&[providers.len()]) {
        return crate::my_write::stamp_freed(my, providers, now);
    }
    let later = sql::<Nullable<Timestamp>>("COALESCE(GREATEST(")
        .bind::<Timestamp, _>(now)
        .sql(", updated_at + INTERVAL 1 SECOND), ")
        .bind::<Timestamp, _>(now)
        .sql(")");
    diesel::update(rp::table.filter(rp::id.eq_any(providers))).set(rp::updated_at.eq(later)).execute(my)?;
    Ok(())
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
