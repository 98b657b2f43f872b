//! Aggregates and provider membership.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::schema::{placement_aggregates as agg, resource_provider_aggregates as rpa};
use crate::{freed, now, providers};

/// Internal ids of the aggregates among `uuids` that exist.
pub fn ids_for_uuids(conn: &mut DbConnection, uuids: &BTreeSet<String>) -> StorageResult<Vec<i32>> {
    Ok(agg::table.filter(agg::uuid.eq_any(uuids.iter().cloned().collect::<Vec<_>>())).select(agg::id).load(conn)?)
}

/// Aggregate uuids of a provider, in the order they were associated.
pub fn of_provider(conn: &mut DbConnection, provider_id: i32) -> StorageResult<Vec<String>> {
    Ok(agg::table
        .inner_join(rpa::table.on(rpa::aggregate_id.eq(agg::id)))
        .filter(rpa::resource_provider_id.eq(provider_id))
        .select(agg::uuid)
        .order(agg::id)
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect())
}

fn ensure_aggregate(conn: &mut DbConnection, uuid: &str) -> StorageResult<i32> {
    let found: Option<i32> = agg::table.filter(agg::uuid.eq(uuid)).select(agg::id).first(conn).optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    diesel::insert_into(agg::table).values((agg::uuid.eq(uuid), agg::created_at.eq(now()))).execute(conn)?;
    Ok(agg::table.filter(agg::uuid.eq(uuid)).select(agg::id).first(conn)?)
}

/// Replace a provider's aggregates. From 1.19 the generation is checked
/// and bumped; before it the generation is left alone.
pub fn set_for_provider(
    conn: &mut DbConnection,
    provider_id: i32,
    generation: i32,
    uuids: &[String],
    bump: bool,
) -> StorageResult<i32> {
    let wanted: BTreeSet<&str> = uuids.iter().map(String::as_str).collect();
    let existing: Vec<(i32, Option<String>)> = agg::table
        .inner_join(rpa::table.on(rpa::aggregate_id.eq(agg::id)))
        .filter(rpa::resource_provider_id.eq(provider_id))
        .select((agg::id, agg::uuid))
        .load(conn)?;
    let to_remove: Vec<i32> =
        existing.iter().filter(|(_, u)| !u.as_deref().is_some_and(|u| wanted.contains(u))).map(|(id, _)| *id).collect();
    let have: BTreeSet<&str> = existing.iter().filter_map(|(_, u)| u.as_deref()).collect();
    let to_add: Vec<&str> = wanted.iter().copied().filter(|u| !have.contains(u)).collect();
    let new_generation = if bump {
        providers::bump_generation(conn, provider_id, generation)?
    } else {
        if !to_add.is_empty() || !to_remove.is_empty() {
            freed::stamp(conn, &[provider_id])?;
        }
        generation
    };
    let stamp = now();
    for uuid in to_add {
        let agg_id = ensure_aggregate(conn, uuid)?;
        diesel::insert_into(rpa::table)
            .values((
                rpa::resource_provider_id.eq(provider_id),
                rpa::aggregate_id.eq(agg_id),
                rpa::created_at.eq(stamp),
            ))
            .execute(conn)?;
    }
    for chunk in to_remove.chunks(crate::MAX_BOUND) {
        diesel::delete(
            rpa::table.filter(rpa::resource_provider_id.eq(provider_id)).filter(rpa::aggregate_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(new_generation)
}
