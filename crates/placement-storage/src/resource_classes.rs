//! Resource classes: the standard ones synced at start-up and custom ones
//! with ids from 10000.

use chrono::NaiveDateTime;
use diesel::dsl::max;
use diesel::prelude::*;
use placement_model::DomainError;
use placement_model::standard::MIN_CUSTOM_RESOURCE_CLASS_ID;

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::now;
use crate::schema::{inventories, resource_classes as rc};

/// A resource class as the API lists it.
#[derive(Clone, Debug, PartialEq, Queryable)]
pub struct ResourceClass {
    /// Internal id; custom classes' start at 10000.
    pub id: i32,
    /// The class's name.
    pub name: String,
    /// When the record was created.
    pub created_at: Option<NaiveDateTime>,
    /// When it was last updated (renamed), if ever.
    pub updated_at: Option<NaiveDateTime>,
}

impl ResourceClass {
    /// Whether it is a standard class: an id below the custom range.
    pub fn is_standard(&self) -> bool {
        self.id < MIN_CUSTOM_RESOURCE_CLASS_ID
    }
}

type Columns = (rc::id, rc::name, rc::created_at, rc::updated_at);
const COLUMNS: Columns = (rc::id, rc::name, rc::created_at, rc::updated_at);

/// Every class, by id.
pub fn list(conn: &mut DbConnection) -> StorageResult<Vec<ResourceClass>> {
    Ok(rc::table.select(COLUMNS).order(rc::id).load(conn)?)
}

/// The class with this name, if any.
pub fn find(conn: &mut DbConnection, name: &str) -> StorageResult<Option<ResourceClass>> {
    Ok(rc::table.filter(rc::name.eq(name)).select(COLUMNS).first(conn).optional()?)
}

/// The class with this name, or upstream's not-found error.
pub fn get(conn: &mut DbConnection, name: &str) -> StorageResult<ResourceClass> {
    find(conn, name)?.ok_or_else(|| DomainError::ResourceClassNotFound(name.to_string()).into())
}

/// A class's id; a standard class's id is fixed (and synced at start-up),
/// so only custom names need the database.
pub fn id_for_name(conn: &mut DbConnection, name: &str) -> StorageResult<i32> {
    if let Some(id) = placement_model::standard::resource_class_id(name) {
        return Ok(id);
    }
    Ok(get(conn, name)?.id)
}

/// Names for internal ids.
pub fn names_by_id(conn: &mut DbConnection) -> StorageResult<std::collections::HashMap<i32, String>> {
    Ok(rc::table.select((rc::id, rc::name)).load::<(i32, String)>(conn)?.into_iter().collect())
}

/// Create a custom class with the next free custom id.
pub fn create(conn: &mut DbConnection, name: &str) -> StorageResult<ResourceClass> {
    if find(conn, name)?.is_some() || placement_model::standard::resource_class_id(name).is_some() {
        return Err(DomainError::ResourceClassExists(name.to_string()).into());
    }
    let highest: Option<i32> = rc::table.select(max(rc::id)).first(conn)?;
    let id = highest.map_or(MIN_CUSTOM_RESOURCE_CLASS_ID, |h| (h + 1).max(MIN_CUSTOM_RESOURCE_CLASS_ID));
    diesel::insert_into(rc::table)
        .values((rc::id.eq(id), rc::name.eq(name), rc::created_at.eq(now())))
        .execute(conn)?;
    get(conn, name)
}

/// Rename a custom class (API 1.2 to 1.6).
pub fn rename(conn: &mut DbConnection, class: &ResourceClass, new_name: &str) -> StorageResult<ResourceClass> {
    if class.is_standard() {
        return Err(DomainError::ResourceClassCannotUpdateStandard(class.name.clone()).into());
    }
    if find(conn, new_name)?.is_some_and(|other| other.id != class.id) {
        return Err(DomainError::ResourceClassExists(new_name.to_string()).into());
    }
    diesel::update(rc::table.filter(rc::id.eq(class.id)))
        .set((rc::name.eq(new_name), rc::updated_at.eq(now())))
        .execute(conn)?;
    get(conn, new_name)
}

/// Delete a custom class no inventory uses.
pub fn delete(conn: &mut DbConnection, class: &ResourceClass) -> StorageResult<()> {
    if class.is_standard() {
        return Err(DomainError::ResourceClassCannotDeleteStandard(class.name.clone()).into());
    }
    let in_use = inventories::table
        .filter(inventories::resource_class_id.eq(class.id))
        .select(inventories::id)
        .first::<i32>(conn)
        .optional()?
        .is_some();
    if in_use {
        return Err(DomainError::ResourceClassInUse(class.name.clone()).into());
    }
    diesel::delete(rc::table.filter(rc::id.eq(class.id))).execute(conn)?;
    Ok(())
}
