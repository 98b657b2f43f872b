//! Consumers, and the projects, users and consumer types they belong to.

use diesel::prelude::*;
use placement_model::DomainError;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::now;
use crate::schema::{allocations, consumer_types, consumers, projects, users};

/// The consumer type name upstream reports for consumers without one.
pub const UNKNOWN_TYPE: &str = "unknown";

/// A consumer with its owners' external ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    pub id: i32,
    pub uuid: String,
    pub project_id: i32,
    pub project: String,
    pub user_id: i32,
    pub user: String,
    pub generation: i32,
    pub consumer_type_id: Option<i32>,
}

type Row = (i32, String, i32, String, i32, String, i32, Option<i32>);

pub fn find(conn: &mut DbConnection, uuid: &str) -> StorageResult<Option<Consumer>> {
    let row: Option<Row> = consumers::table
        .inner_join(projects::table.on(projects::id.eq(consumers::project_id)))
        .inner_join(users::table.on(users::id.eq(consumers::user_id)))
        .filter(consumers::uuid.eq(uuid))
        .select((
            consumers::id,
            consumers::uuid,
            projects::id,
            projects::external_id,
            users::id,
            users::external_id,
            consumers::generation,
            consumers::consumer_type_id,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, uuid, project_id, project, user_id, user, generation, consumer_type_id)| Consumer {
        id,
        uuid,
        project_id,
        project,
        user_id,
        user,
        generation,
        consumer_type_id,
    }))
}

/// The id of a project by external id, creating the record if needed.
pub fn ensure_project(conn: &mut DbConnection, external_id: &str) -> StorageResult<i32> {
    let found: Option<i32> =
        projects::table.filter(projects::external_id.eq(external_id)).select(projects::id).first(conn).optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    diesel::insert_into(projects::table)
        .values((projects::external_id.eq(external_id), projects::created_at.eq(now())))
        .execute(conn)?;
    Ok(projects::table.filter(projects::external_id.eq(external_id)).select(projects::id).first(conn)?)
}

/// The id of a user by external id, creating the record if needed.
pub fn ensure_user(conn: &mut DbConnection, external_id: &str) -> StorageResult<i32> {
    let found: Option<i32> =
        users::table.filter(users::external_id.eq(external_id)).select(users::id).first(conn).optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    diesel::insert_into(users::table)
        .values((users::external_id.eq(external_id), users::created_at.eq(now())))
        .execute(conn)?;
    Ok(users::table.filter(users::external_id.eq(external_id)).select(users::id).first(conn)?)
}

/// The id of a consumer type by name, creating it if needed.
pub fn ensure_type(conn: &mut DbConnection, name: &str) -> StorageResult<i32> {
    let found: Option<i32> = consumer_types::table
        .filter(consumer_types::name.eq(name))
        .select(consumer_types::id)
        .first(conn)
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    diesel::insert_into(consumer_types::table)
        .values((consumer_types::name.eq(name), consumer_types::created_at.eq(now())))
        .execute(conn)?;
    Ok(consumer_types::table.filter(consumer_types::name.eq(name)).select(consumer_types::id).first(conn)?)
}

/// A consumer type's name; consumers without one are `unknown`.
pub fn type_name(conn: &mut DbConnection, id: Option<i32>) -> StorageResult<String> {
    let Some(id) = id else {
        return Ok(UNKNOWN_TYPE.to_string());
    };
    let name: Option<String> =
        consumer_types::table.filter(consumer_types::id.eq(id)).select(consumer_types::name).first(conn).optional()?;
    Ok(name.unwrap_or_else(|| UNKNOWN_TYPE.to_string()))
}

pub fn create(
    conn: &mut DbConnection,
    uuid: &str,
    project_id: i32,
    user_id: i32,
    consumer_type_id: Option<i32>,
) -> StorageResult<Consumer> {
    diesel::insert_into(consumers::table)
        .values((
            consumers::uuid.eq(uuid),
            consumers::project_id.eq(project_id),
            consumers::user_id.eq(user_id),
            consumers::generation.eq(0),
            consumers::consumer_type_id.eq(consumer_type_id),
            consumers::created_at.eq(now()),
        ))
        .execute(conn)?;
    find(conn, uuid)?.ok_or_else(|| DomainError::ConsumerConcurrentUpdate.into())
}

/// Change a consumer's owners or type without bumping its generation.
pub fn set_owner(
    conn: &mut DbConnection,
    consumer: &Consumer,
    project_id: i32,
    user_id: i32,
    consumer_type_id: Option<i32>,
) -> StorageResult<()> {
    diesel::update(
        consumers::table.filter(consumers::id.eq(consumer.id)).filter(consumers::generation.eq(consumer.generation)),
    )
    .set((
        consumers::project_id.eq(project_id),
        consumers::user_id.eq(user_id),
        consumers::consumer_type_id.eq(consumer_type_id),
        consumers::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Bump the generation from the one read; another writer got there first
/// if it changed.
pub fn bump_generation(conn: &mut DbConnection, id: i32, expected: i32) -> StorageResult<i32> {
    let changed =
        diesel::update(consumers::table.filter(consumers::id.eq(id)).filter(consumers::generation.eq(expected)))
            .set((consumers::generation.eq(expected + 1), consumers::updated_at.eq(now())))
            .execute(conn)?;
    if changed == 1 { Ok(expected + 1) } else { Err(DomainError::ConsumerConcurrentUpdate.into()) }
}

/// Delete those of these consumers that have no allocations left.
pub fn delete_if_unused(conn: &mut DbConnection, uuids: &[String]) -> StorageResult<()> {
    if uuids.is_empty() {
        return Ok(());
    }
    let in_use: Vec<String> = allocations::table
        .filter(allocations::consumer_id.eq_any(uuids))
        .select(allocations::consumer_id)
        .distinct()
        .load(conn)?;
    let unused: Vec<&String> = uuids.iter().filter(|u| !in_use.contains(u)).collect();
    if !unused.is_empty() {
        diesel::delete(consumers::table.filter(consumers::uuid.eq_any(unused))).execute(conn)?;
    }
    Ok(())
}
