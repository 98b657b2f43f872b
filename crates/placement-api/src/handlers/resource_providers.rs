//! `/resource_providers` and `/resource_providers/{uuid}`.

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_model::provider::ResourceProvider;
use placement_model::query::{self, normalize_uuid};
use placement_storage::StorageError;
use placement_storage::providers::{self, ProviderFilter, ProviderUpdate};
use serde_json::{Value, json};

use crate::context::{Ctx, Reply, latest};
use crate::error::ApiError;
use crate::schema::requests;

pub fn provider_url(uuid: &str) -> String {
    format!("/resource_providers/{uuid}")
}

fn links(ctx: &Ctx, uuid: &str) -> Value {
    let url = provider_url(uuid);
    let mut rels = vec!["inventories", "usages"];
    if ctx.version.at_least(1) {
        rels.push("aggregates");
    }
    if ctx.version.at_least(6) {
        rels.push("traits");
    }
    if ctx.version.at_least(11) {
        rels.push("allocations");
    }
    let mut out = vec![json!({"rel": "self", "href": url})];
    out.extend(
        rels.into_iter()
            .map(|rel| json!({"rel": rel, "href": format!("{url}/{rel}")})),
    );
    Value::Array(out)
}

pub fn provider_json(ctx: &Ctx, rp: &ResourceProvider) -> Value {
    let mut body = json!({
        "uuid": rp.uuid,
        "name": rp.name,
        "generation": rp.generation,
        "links": links(ctx, &rp.uuid),
    });
    if ctx.version.at_least(14) {
        body["parent_provider_uuid"] = json!(rp.parent_provider_uuid);
        body["root_provider_uuid"] = json!(rp.root_provider_uuid);
    }
    body
}

#[utoipa::path(get, path = "/resource_providers", responses((status = 200)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:list")?;
    let v = ctx.version;
    let schema = if v.at_least(18) {
        requests::list_providers_1_18()
    } else if v.at_least(14) {
        requests::list_providers_1_14()
    } else if v.at_least(4) {
        requests::list_providers_1_4()
    } else if v.at_least(3) {
        requests::list_providers_1_3()
    } else {
        requests::list_providers_1_0()
    };
    ctx.validate_query(schema)?;
    let mut filter = ProviderFilter::default();
    if ctx.has_query("member_of") {
        filter.member_of = query::parse_member_of(
            &ctx.query_all("member_of"),
            "",
            v.at_least(24),
            v.at_least(32),
        )
        .map_err(ApiError::bad_request)?;
    }
    if ctx.has_query("required") {
        filter.traits =
            query::parse_required(&ctx.query_all("required"), v.at_least(22), v.at_least(39))
                .map_err(ApiError::bad_request)?;
    }
    filter.uuid = ctx.query_last("uuid").map(str::to_string);
    filter.name = ctx.query_last("name").map(str::to_string);
    filter.in_tree = ctx.query_last("in_tree").map(str::to_string);
    if let Some(resources) = ctx.query_last("resources") {
        filter.resources = query::parse_resources(resources).map_err(ApiError::bad_request)?;
    }
    let found = ctx
        .db()
        .read(|c| providers::list(c, &filter))
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => {
                ApiError::bad_request(format!(
                    "Invalid resource class in resources parameter: {d}"
                ))
            }
            StorageError::Domain(d @ DomainError::TraitNotFound(_)) => {
                ApiError::bad_request(format!("Invalid trait(s) in \"required\" parameter: {d}"))
            }
            other => other.into(),
        })?;
    let modified = latest(found.iter().map(ResourceProvider::last_modified));
    let body: Vec<Value> = found.iter().map(|rp| provider_json(ctx, rp)).collect();
    Ok(Reply::json(json!({"resource_providers": body})).modified(v, modified))
}

#[utoipa::path(post, path = "/resource_providers", responses((status = 201), (status = 200)))]
pub fn create(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:create")?;
    let schema = if ctx.version.at_least(14) {
        requests::post_provider_1_14()
    } else {
        requests::post_provider()
    };
    let data = crate::context::parse_json(&ctx.body, schema)?;
    let name = data["name"].as_str().unwrap_or_default().to_string();
    let uuid = match data
        .get("uuid")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        Some(u) => normalize_uuid(u).unwrap_or_else(|| u.to_string()),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let parent = data
        .get("parent_provider_uuid")
        .and_then(Value::as_str)
        .map(str::to_string);
    if name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Unable to create resource provider \"{name}\", {uuid}: Object action create failed because: name is required"
        )));
    }
    let rp = ctx
        .db()
        .write(|c| providers::create(c, &uuid, &name, parent.as_deref()))
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::DuplicateProvider { .. }) => {
                ApiError::conflict(format!("{d}")).with_code(ErrorCode::DuplicateName)
            }
            StorageError::Domain(d @ DomainError::InvalidTreeChange { .. }) => {
                ApiError::bad_request(format!(
                    "Unable to create resource provider \"{name}\", {uuid}: {d}"
                ))
            }
            other => other.into(),
        })?;
    let reply = if ctx.version.at_least(20) {
        Reply::json(provider_json(ctx, &rp)).modified(ctx.version, rp.last_modified())
    } else {
        Reply::empty(201)
    };
    Ok(reply.location(provider_url(&rp.uuid)))
}

#[utoipa::path(get, path = "/resource_providers/{uuid}", responses((status = 200), (status = 404)))]
pub fn show(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:show")?;
    let uuid = ctx.param("uuid");
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    Ok(Reply::json(provider_json(ctx, &rp)).modified(ctx.version, rp.last_modified()))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}", responses((status = 200)))]
pub fn update(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:update")?;
    let uuid = ctx.param("uuid");
    let current = ctx.read(|c| providers::get(c, uuid))?;
    let schema = if ctx.version.at_least(14) {
        requests::put_provider_1_14()
    } else {
        requests::put_provider()
    };
    let data = crate::context::parse_json(&ctx.body, schema)?;
    let change = ProviderUpdate {
        name: data["name"].as_str().unwrap_or_default().to_string(),
        parent: data
            .get("parent_provider_uuid")
            .map(|p| p.as_str().map(str::to_string)),
        allow_reparenting: ctx.version.at_least(37),
    };
    let rp = ctx
        .db()
        .write(|c| providers::update(c, &current, &change))
        .map_err(|e| match e {
            StorageError::Domain(DomainError::DuplicateProvider { .. }) => {
                ApiError::conflict(format!(
                    "Conflicting resource provider {} already exists.",
                    change.name
                ))
                .with_code(ErrorCode::DuplicateName)
            }
            StorageError::Domain(d @ DomainError::InvalidTreeChange { .. }) => {
                ApiError::bad_request(format!("Unable to save resource provider {uuid}: {d}"))
            }
            other => other.into(),
        })?;
    Ok(Reply::json(provider_json(ctx, &rp)).modified(ctx.version, rp.updated_at))
}

#[utoipa::path(delete, path = "/resource_providers/{uuid}", responses((status = 204)))]
pub fn delete(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_providers:delete")?;
    let uuid = ctx.param("uuid");
    ctx.db()
        .write(|c| providers::delete(c, uuid))
        .map_err(|e| match e {
            StorageError::Domain(DomainError::ProviderNotFound(_)) => ApiError::not_found(format!(
                "No resource provider with uuid {uuid} found for delete"
            )),
            StorageError::Domain(d @ DomainError::ProviderInUse) => {
                ApiError::conflict(format!("Unable to delete resource provider {uuid}: {d}"))
                    .with_code(ErrorCode::ProviderInUse)
            }
            StorageError::Domain(DomainError::CannotDeleteParent) => ApiError::conflict(format!(
                "Unable to delete parent resource provider {uuid}: It has child resource providers."
            ))
            .with_code(ErrorCode::ProviderCannotDeleteParent),
            other => other.into(),
        })?;
    Ok(Reply::empty(204))
}
