//! `/traits`, `/traits/{name}` and `/resource_providers/{uuid}/traits`.

use std::collections::BTreeSet;

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_storage::traits::{self as store, Trait, TraitListFilter};
use placement_storage::{StorageError, providers};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::context::{Ctx, Reply, latest, parse_body};
use crate::error::ApiError;
use crate::schema::{requests, validator};

/// A list of trait names; with a provider's generation for its traits.
#[derive(Serialize, ToSchema)]
pub struct TraitsBody {
    pub traits: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_provider_generation: Option<i32>,
}

impl TraitsBody {
    fn new(traits: &[Trait], generation: Option<i32>) -> Self {
        TraitsBody { traits: traits.iter().map(|t| t.name.clone()).collect(), resource_provider_generation: generation }
    }
}

/// `PUT /resource_providers/{uuid}/traits`.
#[derive(Deserialize, ToSchema)]
pub struct ProviderTraitsRequest {
    pub traits: Vec<String>,
    #[serde(deserialize_with = "crate::body::int")]
    pub resource_provider_generation: i64,
}

fn modified(traits: &[Trait]) -> Option<chrono::NaiveDateTime> {
    latest(traits.iter().map(|t| t.updated_at.or(t.created_at)))
}

#[utoipa::path(get, path = "/traits", responses((status = 200, body = TraitsBody)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:traits:list")?;
    ctx.validate_query(requests::list_traits())?;
    let mut filter = TraitListFilter::default();
    if let Some(name) = ctx.query_last("name") {
        let Some((op, value)) = name.split_once(':') else {
            return Err(ApiError::bad_request(format!(
                "Badly formatted name parameter. Expected name query string parameter in form: \
                 ?name=[in|startswith]:[name1,name2|prefix]. Got: \"{name}\""
            )));
        };
        match op {
            "in" => filter.name_in = Some(value.split(',').map(str::to_string).collect()),
            "startswith" => filter.prefix = Some(value.to_string()),
            _ => {}
        }
    }
    if let Some(associated) = ctx.query_last("associated") {
        filter.associated = match associated.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                return Err(ApiError::bad_request(
                    "The query parameter \"associated\" only accepts \"true\" or \"false\"",
                ));
            }
        };
    }
    let traits = ctx.read(|c| store::list(c, &filter))?;
    Ok(Reply::body(&TraitsBody::new(&traits, None)).modified(ctx.version, modified(&traits)))
}

#[utoipa::path(get, path = "/traits/{name}", responses((status = 204), (status = 404)))]
pub fn show(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:traits:show")?;
    let name = ctx.param("name")?;
    let found = ctx.read(|c| store::find(c, name))?;
    let t = found.ok_or_else(|| ApiError::not_found(DomainError::TraitNotFound(name.to_string()).to_string()))?;
    Ok(Reply::empty(204).modified(ctx.version, t.created_at))
}

#[utoipa::path(put, path = "/traits/{name}", responses((status = 201), (status = 204)))]
pub fn ensure(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:traits:update")?;
    let name = ctx.param("name")?;
    if validator::validate(&json!(name), requests::custom_trait()).is_err() {
        return Err(ApiError::bad_request(
            "The trait is invalid. A valid trait must be no longer than 255 characters, start with the \
             prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\"",
        ));
    }
    let (t, created) = ctx.write(|c| store::ensure(c, name))?;
    Ok(Reply::empty(if created { 201 } else { 204 })
        .location(format!("/traits/{}", t.name))
        .modified(ctx.version, t.created_at))
}

#[utoipa::path(delete, path = "/traits/{name}", responses((status = 204)))]
pub fn delete(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:traits:delete")?;
    let name = ctx.param("name")?;
    ctx.db().write(|c| store::delete(c, name)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::TraitNotFound(_)) => ApiError::not_found(d.to_string()),
        StorageError::Domain(d @ DomainError::TraitCannotDeleteStandard(_)) => ApiError::bad_request(d.to_string()),
        StorageError::Domain(d @ DomainError::TraitInUse(_)) => ApiError::conflict(d.to_string()),
        other => other.into(),
    })?;
    Ok(Reply::empty(204))
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/traits", responses((status = 200, body = TraitsBody)))]
pub fn of_provider(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:traits:list")?;
    let uuid = ctx.param("uuid")?;
    let (rp, traits) = ctx
        .db()
        .read(|c| {
            let rp = providers::get(c, uuid)?;
            let traits = store::of_provider(c, rp.id)?;
            Ok((rp, traits))
        })
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderNotFound(_)) => {
                ApiError::not_found(format!("No resource provider with uuid {uuid} found: {d}"))
            }
            other => other.into(),
        })?;
    let body = TraitsBody::new(&traits, Some(rp.generation));
    Ok(Reply::body(&body).modified(ctx.version, modified(&traits)))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}/traits", request_body = ProviderTraitsRequest,
    responses((status = 200, body = TraitsBody)))]
pub fn replace_for_provider(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:traits:update")?;
    let uuid = ctx.param("uuid")?;
    let data: ProviderTraitsRequest = parse_body(&ctx.body, requests::set_provider_traits())?;
    let generation = data.resource_provider_generation;
    let wanted = data.traits;
    let outcome = ctx.write(|c| {
        let rp = providers::get(c, uuid)?;
        if i64::from(rp.generation) != generation {
            return Ok(Err(ApiError::conflict(
                "Resource provider's generation already changed. Please update the generation and try again.",
            )
            .with_code(ErrorCode::ConcurrentUpdate)));
        }
        let filter = TraitListFilter { name_in: Some(wanted.clone()), ..Default::default() };
        let found = store::list(c, &filter)?;
        let known: BTreeSet<&str> = found.iter().map(|t| t.name.as_str()).collect();
        let missing: BTreeSet<&str> = wanted.iter().map(String::as_str).filter(|n| !known.contains(n)).collect();
        if !missing.is_empty() {
            let names = missing.into_iter().collect::<Vec<_>>().join(", ");
            return Ok(Err(ApiError::bad_request(format!("No such trait {names}"))));
        }
        let new_generation = store::set_for_provider(c, rp.id, rp.generation, &found)?;
        Ok(Ok((new_generation, found)))
    })?;
    let (generation, traits) = outcome?;
    let body = TraitsBody::new(&traits, Some(generation));
    Ok(Reply::body(&body).modified(ctx.version, modified(&traits)))
}

#[utoipa::path(delete, path = "/resource_providers/{uuid}/traits", responses((status = 204)))]
pub fn delete_for_provider(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_providers:traits:delete")?;
    let uuid = ctx.param("uuid")?;
    ctx.db()
        .write(|c| {
            let rp = providers::get(c, uuid)?;
            store::set_for_provider(c, rp.id, rp.generation, &[])
        })
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderConcurrentUpdate) => {
                ApiError::conflict(d.to_string()).with_code(ErrorCode::ConcurrentUpdate)
            }
            other => other.into(),
        })?;
    Ok(Reply::empty(204))
}
