//! Traits and the traits of providers.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use placement_model::{DomainError, names};

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::schema::{resource_provider_traits as rpt, traits};
use crate::{now, providers};

/// A trait as the API lists it.
#[derive(Clone, Debug, PartialEq, Queryable)]
pub struct Trait {
    /// Internal id.
    pub id: i32,
    /// The trait's name.
    pub name: String,
    /// When the record was created.
    pub created_at: Option<NaiveDateTime>,
    /// When it was last updated, if ever.
    pub updated_at: Option<NaiveDateTime>,
}

/// `GET /traits` filters.
#[derive(Clone, Debug, Default)]
pub struct TraitListFilter {
    /// Only traits with one of these names (`name=in:...`).
    pub name_in: Option<Vec<String>>,
    /// Only traits whose names start with this (`name=startswith:...`).
    pub prefix: Option<String>,
    /// Only traits some provider has (`true`) or none has (`false`).
    pub associated: Option<bool>,
}

/// Traits matching every filter, by id.
pub fn list(conn: &mut DbConnection, filter: &TraitListFilter) -> StorageResult<Vec<Trait>> {
    let Some(names) = &filter.name_in else {
        return list_among(conn, filter, None);
    };
    // Any number of names, each bound once.
    let unique: Vec<String> = names.iter().collect::<BTreeSet<_>>().into_iter().cloned().collect();
    let mut found = Vec::new();
    for chunk in unique.chunks(crate::MAX_BOUND) {
        found.extend(list_among(conn, filter, Some(chunk))?);
    }
    found.sort_by_key(|t| t.id);
    Ok(found)
}

fn list_among(
    conn: &mut DbConnection,
    filter: &TraitListFilter,
    names: Option<&[String]>,
) -> StorageResult<Vec<Trait>> {
    let mut query = traits::table
        .select((traits::id, traits::name, traits::created_at, traits::updated_at))
        .order(traits::id)
        .into_boxed();
    if let Some(names) = names {
        query = query.filter(traits::name.eq_any(names.to_vec()));
    }
    if let Some(prefix) = &filter.prefix {
        query = query.filter(traits::name.like(format!("{}%", escape_like(prefix))).escape('\\'));
    }
    match filter.associated {
        Some(true) => query = query.filter(traits::id.eq_any(rpt::table.select(rpt::trait_id))),
        Some(false) => query = query.filter(traits::id.ne_all(rpt::table.select(rpt::trait_id))),
        None => {}
    }
    Ok(query.load(conn)?)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The trait with this name, if any.
pub fn find(conn: &mut DbConnection, name: &str) -> StorageResult<Option<Trait>> {
    Ok(traits::table
        .filter(traits::name.eq(name))
        .select((traits::id, traits::name, traits::created_at, traits::updated_at))
        .first(conn)
        .optional()?)
}

/// Create a custom trait unless it exists; returns it and whether it was new.
pub fn ensure(conn: &mut DbConnection, name: &str) -> StorageResult<(Trait, bool)> {
    if let Some(existing) = find(conn, name)? {
        return Ok((existing, false));
    }
    diesel::insert_into(traits::table).values((traits::name.eq(name), traits::created_at.eq(now()))).execute(conn)?;
    let created = find(conn, name)?.ok_or_else(|| DomainError::TraitNotFound(name.to_string()))?;
    Ok((created, true))
}

/// Delete a custom trait no provider has.
pub fn delete(conn: &mut DbConnection, name: &str) -> StorageResult<()> {
    let found = find(conn, name)?.ok_or_else(|| DomainError::TraitNotFound(name.to_string()))?;
    if !names::is_custom(name) {
        return Err(DomainError::TraitCannotDeleteStandard(name.to_string()).into());
    }
    let in_use =
        rpt::table.filter(rpt::trait_id.eq(found.id)).select(rpt::trait_id).first::<i32>(conn).optional()?.is_some();
    if in_use {
        return Err(DomainError::TraitInUse(name.to_string()).into());
    }
    diesel::delete(traits::table.filter(traits::id.eq(found.id))).execute(conn)?;
    Ok(())
}

/// Ids for trait names; the first unknown name (in sorted order) is an
/// error, as upstream reports one missing trait at a time.
pub fn ids_for_names(conn: &mut DbConnection, wanted: &BTreeSet<String>) -> StorageResult<Vec<i32>> {
    let wanted_list: Vec<String> = wanted.iter().cloned().collect();
    let mut found: std::collections::HashMap<String, i32> = std::collections::HashMap::new();
    for chunk in wanted_list.chunks(crate::MAX_BOUND) {
        let rows: Vec<(i32, String)> =
            traits::table.filter(traits::name.eq_any(chunk)).select((traits::id, traits::name)).load(conn)?;
        found.extend(rows.into_iter().map(|(id, name)| (name, id)));
    }
    if let Some(missing) = wanted.iter().find(|w| !found.contains_key(*w)) {
        return Err(DomainError::TraitNotFound(missing.clone()).into());
    }
    Ok(wanted.iter().filter_map(|w| found.get(w).copied()).collect())
}

/// The traits of one provider, by internal provider id.
pub fn of_provider(conn: &mut DbConnection, provider_id: i32) -> StorageResult<Vec<Trait>> {
    Ok(traits::table
        .inner_join(rpt::table.on(rpt::trait_id.eq(traits::id)))
        .filter(rpt::resource_provider_id.eq(provider_id))
        .select((traits::id, traits::name, traits::created_at, traits::updated_at))
        .order(traits::id)
        .load(conn)?)
}

/// Replace a provider's traits. The generation is bumped (and checked)
/// only when the set changes, as upstream does.
pub fn set_for_provider(
    conn: &mut DbConnection,
    provider_id: i32,
    generation: i32,
    wanted: &[Trait],
) -> StorageResult<i32> {
    let existing: BTreeSet<i32> = of_provider(conn, provider_id)?.iter().map(|t| t.id).collect();
    let want: BTreeSet<i32> = wanted.iter().map(|t| t.id).collect();
    let to_delete: Vec<i32> = existing.difference(&want).copied().collect();
    let to_add: Vec<i32> = want.difference(&existing).copied().collect();
    if to_delete.is_empty() && to_add.is_empty() {
        return Ok(generation);
    }
    let new_generation = providers::bump_generation(conn, provider_id, generation)?;
    if !to_delete.is_empty() {
        diesel::delete(
            rpt::table.filter(rpt::resource_provider_id.eq(provider_id)).filter(rpt::trait_id.eq_any(&to_delete)),
        )
        .execute(conn)?;
    }
    let stamp = now();
    for trait_id in to_add {
        diesel::insert_into(rpt::table)
            .values((rpt::resource_provider_id.eq(provider_id), rpt::trait_id.eq(trait_id), rpt::created_at.eq(stamp)))
            .execute(conn)?;
    }
    Ok(new_generation)
}
