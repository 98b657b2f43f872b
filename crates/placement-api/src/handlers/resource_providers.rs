//! `/resource_providers` and `/resource_providers/{uuid}`.

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_model::provider::ResourceProvider;
use placement_model::query::{self, normalize_uuid};
use placement_storage::StorageError;
use placement_storage::providers::{self, ProviderFilter, ProviderUpdate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body::Link;
use crate::context::{Ctx, Reply, latest, parse_body};
use crate::error::ApiError;
use crate::schema::requests;

pub fn provider_url(uuid: &str) -> String {
    format!("/resource_providers/{uuid}")
}

/// A resource provider as every version presents it.
#[derive(Serialize, ToSchema)]
pub struct ProviderBody {
    pub uuid: String,
    pub name: Option<String>,
    pub generation: i32,
    pub links: Vec<Link>,
    /// From 1.14.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_provider_uuid: Option<Option<String>>,
    /// From 1.14.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_provider_uuid: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProviderList {
    pub resource_providers: Vec<ProviderBody>,
}

/// `POST /resource_providers` (`uuid` optional; `parent_provider_uuid`
/// from 1.14) and `PUT /resource_providers/{uuid}` (no `uuid`).
#[derive(Deserialize, ToSchema)]
pub struct ProviderRequest {
    pub name: String,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default, deserialize_with = "crate::body::nullable")]
    #[schema(value_type = Option<String>)]
    pub parent_provider_uuid: Option<Option<String>>,
}

fn links(ctx: &Ctx, uuid: &str) -> Vec<Link> {
    let url = ctx.link(&provider_url(uuid));
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
    let mut out = vec![Link::new("self", url.clone())];
    out.extend(rels.into_iter().map(|rel| Link::new(rel, format!("{url}/{rel}"))));
    out
}

pub fn provider_body(ctx: &Ctx, rp: &ResourceProvider) -> ProviderBody {
    let nested = ctx.version.at_least(14);
    ProviderBody {
        uuid: rp.uuid.clone(),
        name: rp.name.clone(),
        generation: rp.generation,
        links: links(ctx, &rp.uuid),
        parent_provider_uuid: nested.then(|| rp.parent_provider_uuid.clone()),
        root_provider_uuid: nested.then(|| rp.root_provider_uuid.clone()),
    }
}

#[utoipa::path(get, path = "/resource_providers", responses((status = 200, body = ProviderList)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:list")?;
    let v = ctx.version;
    ctx.validate_query(requests::list_providers(v))?;
    let mut filter = ProviderFilter::default();
    if ctx.has_query("member_of") {
        filter.member_of = query::parse_member_of(&ctx.query_all("member_of"), "", v.at_least(24), v.at_least(32))
            .map_err(ApiError::bad_request)?;
    }
    if ctx.has_query("required") {
        filter.traits = query::parse_required(&ctx.query_all("required"), v.at_least(22), v.at_least(39))
            .map_err(ApiError::bad_request)?;
    }
    filter.uuid = ctx.query_last("uuid").map(str::to_string);
    // Upstream filters on a name only when it is not empty.
    filter.name = ctx.query_last("name").filter(|n| !n.is_empty()).map(str::to_string);
    filter.in_tree = ctx.query_last("in_tree").map(str::to_string);
    if let Some(resources) = ctx.query_last("resources") {
        filter.resources = query::parse_resources(resources).map_err(ApiError::bad_request)?;
    }
    let found = ctx.db().read(|c| providers::list(c, &filter)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => {
            ApiError::bad_request(format!("Invalid resource class in resources parameter: {d}"))
        }
        StorageError::Domain(d @ DomainError::TraitNotFound(_)) => {
            ApiError::bad_request(format!("Invalid trait(s) in \"required\" parameter: {d}"))
        }
        other => other.into(),
    })?;
    let modified = latest(found.iter().map(ResourceProvider::last_modified));
    let body = ProviderList { resource_providers: found.iter().map(|rp| provider_body(ctx, rp)).collect() };
    Ok(Reply::body(&body).modified(v, modified))
}

#[utoipa::path(post, path = "/resource_providers", request_body = ProviderRequest,
    responses((status = 201), (status = 200, body = ProviderBody)))]
pub fn create(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:create")?;
    let schema = requests::create_provider(ctx.version);
    let data: ProviderRequest = parse_body(&ctx.body, schema)?;
    let name = data.name;
    let uuid = match data.uuid.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => normalize_uuid(u).unwrap_or_else(|| u.to_string()),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let parent = data.parent_provider_uuid.flatten();
    if name.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Unable to create resource provider \"{name}\", {uuid}: Object action create failed because: name is required"
        )));
    }
    let rp = ctx.db().write(|c| providers::create(c, &uuid, &name, parent.as_deref())).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::DuplicateProvider { .. }) => {
            ApiError::conflict(format!("{d}")).with_code(ErrorCode::DuplicateName)
        }
        StorageError::Domain(d @ DomainError::InvalidTreeChange { .. }) => {
            ApiError::bad_request(format!("Unable to create resource provider \"{name}\", {uuid}: {d}"))
        }
        other => other.into(),
    })?;
    let reply = if ctx.version.at_least(20) {
        Reply::body(&provider_body(ctx, &rp)).modified(ctx.version, rp.last_modified())
    } else {
        Reply::empty(201)
    };
    Ok(reply.location(provider_url(&rp.uuid)))
}

#[utoipa::path(get, path = "/resource_providers/{uuid}", responses((status = 200, body = ProviderBody), (status = 404)))]
pub fn show(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:show")?;
    let uuid = ctx.param("uuid")?;
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    Ok(Reply::body(&provider_body(ctx, &rp)).modified(ctx.version, rp.last_modified()))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}", request_body = ProviderRequest,
    responses((status = 200, body = ProviderBody)))]
pub fn update(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:update")?;
    let uuid = ctx.param("uuid")?;
    let current = ctx.read(|c| providers::get(c, uuid))?;
    let schema = requests::update_provider(ctx.version);
    let data: ProviderRequest = parse_body(&ctx.body, schema)?;
    let change = ProviderUpdate {
        name: data.name,
        parent: data.parent_provider_uuid,
        allow_reparenting: ctx.version.at_least(37),
    };
    let rp = ctx.db().write(|c| providers::update(c, &current, &change)).map_err(|e| match e {
        StorageError::Domain(DomainError::DuplicateProvider { .. }) => {
            ApiError::conflict(format!("Conflicting resource provider {} already exists.", change.name))
                .with_code(ErrorCode::DuplicateName)
        }
        StorageError::Domain(d @ DomainError::InvalidTreeChange { .. }) => {
            ApiError::bad_request(format!("Unable to save resource provider {uuid}: {d}"))
        }
        other => other.into(),
    })?;
    // Upstream sends the time the provider was last updated before this
    // update (its object is not reloaded), none if it never was.
    Ok(Reply::body(&provider_body(ctx, &rp)).modified_if_known(ctx.version, current.updated_at))
}

#[utoipa::path(delete, path = "/resource_providers/{uuid}", responses((status = 204)))]
pub fn delete(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_providers:delete")?;
    let uuid = ctx.param("uuid")?;
    ctx.db().write(|c| providers::delete(c, uuid)).map_err(|e| match e {
        StorageError::Domain(DomainError::ProviderNotFound(_)) => {
            ApiError::not_found(format!("No resource provider with uuid {uuid} found for delete"))
        }
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
