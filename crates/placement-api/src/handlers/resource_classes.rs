//! `/resource_classes` and `/resource_classes/{name}`.

use placement_model::DomainError;
use placement_storage::StorageError;
use placement_storage::resource_classes::{self as store, ResourceClass};
use serde_json::{Value, json};

use crate::context::{Ctx, Reply, latest, parse_json};
use crate::error::ApiError;
use crate::schema::requests;

fn class_url(name: &str) -> String {
    format!("/resource_classes/{name}")
}

fn class_json(rc: &ResourceClass) -> Value {
    json!({"name": rc.name, "links": [{"rel": "self", "href": class_url(&rc.name)}]})
}

fn last_modified(rc: &ResourceClass) -> Option<chrono::NaiveDateTime> {
    rc.updated_at.or(rc.created_at)
}

#[utoipa::path(get, path = "/resource_classes", responses((status = 200)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_classes:list")?;
    let classes = ctx.read(store::list)?;
    let modified = latest(classes.iter().map(last_modified));
    let body: Vec<Value> = classes.iter().map(class_json).collect();
    Ok(Reply::json(json!({"resource_classes": body})).modified(ctx.version, modified))
}

#[utoipa::path(post, path = "/resource_classes", responses((status = 201)))]
pub fn create(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_classes:create")?;
    let data = parse_json(&ctx.body, requests::resource_class_name())?;
    let name = data["name"].as_str().unwrap_or_default().to_string();
    let rc = ctx
        .db()
        .write(|c| store::create(c, &name))
        .map_err(|e| match e {
            StorageError::Domain(DomainError::ResourceClassExists(_)) => {
                ApiError::conflict(format!("Conflicting resource class already exists: {name}"))
            }
            other => other.into(),
        })?;
    Ok(Reply::empty(201).location(class_url(&rc.name)))
}

#[utoipa::path(get, path = "/resource_classes/{name}", responses((status = 200), (status = 404)))]
pub fn show(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_classes:show")?;
    let name = ctx.param("name");
    let rc = ctx.read(|c| store::get(c, name))?;
    Ok(Reply::json(class_json(&rc)).modified(ctx.version, last_modified(&rc)))
}

/// PUT before 1.7: rename a custom class.
#[utoipa::path(put, path = "/resource_classes/{name}", responses((status = 200)))]
pub fn rename(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_classes:update")?;
    let name = ctx.param("name");
    let data = parse_json(&ctx.body, requests::resource_class_name())?;
    let new_name = data["name"].as_str().unwrap_or_default().to_string();
    let rc = ctx
        .db()
        .write(|c| {
            let current = store::get(c, name)?;
            store::rename(c, &current, &new_name)
        })
        .map_err(|e| match e {
            StorageError::Domain(DomainError::ResourceClassExists(_)) => {
                ApiError::conflict(format!("Resource class already exists: {new_name}"))
            }
            StorageError::Domain(DomainError::ResourceClassCannotUpdateStandard(_)) => {
                ApiError::bad_request(format!("Cannot update standard resource class {name}"))
            }
            other => other.into(),
        })?;
    Ok(Reply::json(class_json(&rc)))
}

/// PUT from 1.7: create the custom class unless it exists (201 or 204).
#[utoipa::path(put, path = "/resource_classes/{name}", responses((status = 201), (status = 204)))]
pub fn ensure(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_classes:update")?;
    let name = ctx.param("name");
    // Upstream validates the name by wrapping it in a JSON document.
    let wrapped = format!("{{\"name\": \"{name}\"}}");
    parse_json(wrapped.as_bytes(), requests::resource_class_name())?;
    let (rc, created) = ctx.db().write(|c| match store::find(c, name)? {
        Some(existing) => Ok((existing, false)),
        None => store::create(c, name).map(|rc| (rc, true)),
    })?;
    Ok(Reply::empty(if created { 201 } else { 204 }).location(class_url(&rc.name)))
}

#[utoipa::path(delete, path = "/resource_classes/{name}", responses((status = 204)))]
pub fn delete(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_classes:delete")?;
    let name = ctx.param("name");
    ctx.db()
        .write(|c| {
            let rc = store::get(c, name)?;
            store::delete(c, &rc)
        })
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ResourceClassCannotDeleteStandard(_)) => {
                ApiError::bad_request(format!("Error in delete resource class: {d}"))
            }
            StorageError::Domain(d @ DomainError::ResourceClassInUse(_)) => {
                ApiError::conflict(format!("Error in delete resource class: {d}"))
            }
            other => other.into(),
        })?;
    Ok(Reply::empty(204))
}
