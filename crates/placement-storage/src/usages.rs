//! Usage reports: per provider, and per project/user (optionally grouped
//! by consumer type).

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::resource_classes;
use crate::schema::{allocations, consumer_types, consumers, inventories, projects, users};

/// Usage of every class the provider has inventory of (zero if unused).
pub fn of_provider(conn: &mut DbConnection, provider_id: i32) -> StorageResult<BTreeMap<String, i64>> {
    let names = resource_classes::names_by_id(conn)?;
    let classes: Vec<i32> = inventories::table
        .filter(inventories::resource_provider_id.eq(provider_id))
        .select(inventories::resource_class_id)
        .load(conn)?;
    let used = crate::inventories::usage_by_class(conn, provider_id)?;
    Ok(classes
        .into_iter()
        .filter_map(|rc| Some((names.get(&rc)?.clone(), used.get(&rc).copied().unwrap_or(0))))
        .collect())
}

/// One row of `GET /usages` from 1.38.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedUsage {
    /// The consumer type's name, or the group's (`all`, `unknown`).
    pub consumer_type: String,
    /// The resource class's name.
    pub resource_class: String,
    /// How much of the class the group's consumers use.
    pub used: i64,
    /// How many consumers the group holds, whatever class they use.
    pub consumer_count: i64,
}

/// Which consumers `GET /usages` counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerTypeFilter {
    /// No filter: group by each consumer's type.
    Each,
    /// `all`: one group for every consumer.
    All,
    /// `unknown`: consumers with no type, in one group.
    Unknown,
    /// One named type.
    Named(String),
}

/// Usage per class for a project (and optionally a user).
pub fn of_project(conn: &mut DbConnection, project: &str, user: Option<&str>) -> StorageResult<BTreeMap<String, i64>> {
    let names = resource_classes::names_by_id(conn)?;
    let mut query = allocations::table
        .inner_join(consumers::table.on(consumers::uuid.eq(allocations::consumer_id)))
        .inner_join(projects::table.on(projects::id.eq(consumers::project_id)))
        .inner_join(users::table.on(users::id.eq(consumers::user_id)))
        .filter(projects::external_id.eq(project.to_string()))
        .into_boxed();
    if let Some(user) = user {
        query = query.filter(users::external_id.eq(user.to_string()));
    }
    let rows: Vec<(i32, i32)> = query.select((allocations::resource_class_id, allocations::used)).load(conn)?;
    let mut used: BTreeMap<String, i64> = BTreeMap::new();
    for (rc, amount) in rows {
        if let Some(name) = names.get(&rc) {
            *used.entry(name.clone()).or_default() += i64::from(amount);
        }
    }
    Ok(used)
}

/// Usage per consumer type and class for a project (1.38).
pub fn of_project_by_type(
    conn: &mut DbConnection,
    project: &str,
    user: Option<&str>,
    filter: &ConsumerTypeFilter,
) -> StorageResult<Vec<TypedUsage>> {
    let names = resource_classes::names_by_id(conn)?;
    // (class id, type name, used, consumer uuid) rows, aggregated in memory
    // so every backend computes the same grouping.
    let mut query = allocations::table
        .inner_join(consumers::table.on(consumers::uuid.eq(allocations::consumer_id)))
        .inner_join(projects::table.on(projects::id.eq(consumers::project_id)))
        .inner_join(users::table.on(users::id.eq(consumers::user_id)))
        .left_join(consumer_types::table.on(consumers::consumer_type_id.eq(consumer_types::id.nullable())))
        .filter(projects::external_id.eq(project.to_string()))
        .into_boxed();
    if let Some(user) = user {
        query = query.filter(users::external_id.eq(user.to_string()));
    }
    match filter {
        ConsumerTypeFilter::Unknown => query = query.filter(consumers::consumer_type_id.is_null()),
        ConsumerTypeFilter::Named(name) => query = query.filter(consumer_types::name.eq(name.clone())),
        ConsumerTypeFilter::Each | ConsumerTypeFilter::All => {}
    }
    let rows: Vec<(i32, Option<String>, i32, String)> = query
        .select((
            allocations::resource_class_id,
            consumer_types::name.nullable(),
            allocations::used,
            allocations::consumer_id,
        ))
        .load(conn)?;
    let group_of = |type_name: Option<String>| match filter {
        ConsumerTypeFilter::All => "all".to_string(),
        ConsumerTypeFilter::Unknown => "unknown".to_string(),
        _ => type_name.unwrap_or_else(|| "unknown".to_string()),
    };
    let mut used: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut consumers_of: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    for (rc, type_name, amount, consumer) in rows {
        let group = group_of(type_name);
        *used.entry((group.clone(), rc)).or_default() += i64::from(amount);
        consumers_of.entry(group).or_default().insert(consumer);
    }
    Ok(used
        .into_iter()
        .filter_map(|((group, rc), amount)| {
            Some(TypedUsage {
                consumer_count: consumers_of.get(&group).map_or(0, |c| c.len() as i64),
                resource_class: names.get(&rc)?.clone(),
                consumer_type: group,
                used: amount,
            })
        })
        .collect())
}
