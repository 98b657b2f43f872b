//! `/resource_classes` and `/resource_classes/{name}`.

use placement_model::DomainError;
use placement_storage::StorageError;
use placement_storage::resource_classes::{self as store, ResourceClass};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body::Link;
use crate::context::{Ctx, Reply, latest, parse_body};
use crate::error::ApiError;
use crate::schema::requests;

fn class_url(name: &str) -> String {
    format!("/resource_classes/{name}")
}

#[derive(Serialize, ToSchema)]
pub struct ResourceClassBody {
    pub name: String,
    pub links: Vec<Link>,
}

impl ResourceClassBody {
    fn new(ctx: &Ctx, rc: &ResourceClass) -> Self {
        ResourceClassBody { name: rc.name.clone(), links: vec![Link::new("self", ctx.link(&class_url(&rc.name)))] }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ResourceClassList {
    pub resource_classes: Vec<ResourceClassBody>,
}

/// `POST /resource_classes` and `PUT /resource_classes/{name}` before 1.7.
#[derive(Deserialize, ToSchema)]
pub struct ResourceClassRequest {
    pub name: String,
}

fn last_modified(rc: &ResourceClass) -> Option<chrono::NaiveDateTime> {
    rc.updated_at.or(rc.created_at)
}

#[utoipa::path(get, path = "/resource_classes", responses((status = 200, body = ResourceClassList)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_classes:list")?;
    let classes = ctx.read(store::list)?;
    let modified = latest(classes.iter().map(last_modified));
    let body =
        ResourceClassList { resource_classes: classes.iter().map(|rc| ResourceClassBody::new(ctx, rc)).collect() };
    Ok(Reply::body(&body).modified(ctx.version, modified))
}

#[utoipa::path(post, path = "/resource_classes", request_body = ResourceClassRequest, responses((status = 201)))]
pub fn create(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_classes:create")?;
    let data: ResourceClassRequest = parse_body(&ctx.body, requests::resource_class_name())?;
    let name = data.name;
    let rc = ctx.db().write(|c| store::create(c, &name)).map_err(|e| match e {
        StorageError::Domain(DomainError::ResourceClassExists(_)) => {
            ApiError::conflict(format!("Conflicting resource class already exists: {name}"))
        }
        other => other.into(),
    })?;
    Ok(Reply::empty(201).location(class_url(&rc.name)))
}

#[utoipa::path(get, path = "/resource_classes/{name}", responses((status = 200, body = ResourceClassBody), (status = 404)))]
pub fn show(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_classes:show")?;
    let name = ctx.param("name")?;
    let rc = ctx.read(|c| store::get(c, name))?;
    Ok(Reply::body(&ResourceClassBody::new(ctx, &rc)).modified(ctx.version, last_modified(&rc)))
}

/// PUT before 1.7: rename a custom class.
#[utoipa::path(put, path = "/resource_classes/{name}", request_body = ResourceClassRequest,
    responses((status = 200, body = ResourceClassBody)))]
pub fn rename(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_classes:update")?;
    let name = ctx.param("name")?;
    let data: ResourceClassRequest = parse_body(&ctx.body, requests::resource_class_name())?;
    let new_name = data.name;

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
    Ok(Reply::body(&ResourceClassBody::new(ctx, &rc)))
}

/// PUT from 1.7: create the custom class unless it exists (201 or 204).
#[utoipa::path(put, path = "/resource_classes/{name}", responses((status = 201), (status = 204)))]
pub fn ensure(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_classes:update")?;
    let name = ctx.param("name")?;
    // Upstream pastes the name into a JSON text and validates that, so a
    // name with quotes can validate as another name; validate the name
    // itself, with upstream's message.
    let wrapped = serde_json::json!({ "name": name });
    if let Err(e) = crate::schema::validator::validate(&wrapped, requests::resource_class_name()) {
        return Err(ApiError::bad_request(format!("JSON does not validate: {}", e.describe())));
    }
    let (rc, created) = ctx.db().write(|c| match store::find(c, name)? {
        Some(existing) => Ok((existing, false)),
        None => store::create(c, name).map(|rc| (rc, true)),
    })?;
    Ok(Reply::empty(if created { 201 } else { 204 }).location(class_url(&rc.name)))
}

#[utoipa::path(delete, path = "/resource_classes/{name}", responses((status = 204)))]
pub fn delete(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_classes:delete")?;
    let name = ctx.param("name")?;
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
