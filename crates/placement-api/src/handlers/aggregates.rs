//! `/resource_providers/{uuid}/aggregates` (from 1.1; generations from 1.19).

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_storage::{StorageError, aggregates as store, providers};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::context::{Ctx, Reply, parse_body};
use crate::error::ApiError;
use crate::schema::requests;

/// A provider's aggregates; the generation from 1.19.
#[derive(Serialize, ToSchema)]
pub struct AggregatesBody {
    pub aggregates: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_provider_generation: Option<i32>,
}

/// `PUT` from 1.19 (before it, the body is the bare list of uuids).
#[derive(Deserialize, ToSchema)]
pub struct AggregatesRequest {
    pub aggregates: Vec<String>,
    #[serde(deserialize_with = "crate::body::int")]
    pub resource_provider_generation: i64,
}

fn reply(ctx: &Ctx, aggregates: Vec<String>, generation: i32) -> Reply {
    let body =
        AggregatesBody { aggregates, resource_provider_generation: ctx.version.at_least(19).then_some(generation) };
    // Associations carry no times of their own; upstream reports now.
    Reply::body(&body).modified(ctx.version, None)
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/aggregates",
    responses((status = 200, body = AggregatesBody)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:aggregates:list")?;
    let uuid = ctx.param("uuid")?;
    let (rp, aggregates) = ctx.read(|c| {
        let rp = providers::get(c, uuid)?;
        let aggregates = store::of_provider(c, rp.id)?;
        Ok((rp, aggregates))
    })?;
    Ok(reply(ctx, aggregates, rp.generation))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}/aggregates", request_body = AggregatesRequest,
    responses((status = 200, body = AggregatesBody)))]
pub fn replace(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:aggregates:update")?;
    let uuid = ctx.param("uuid")?;
    let with_generation = ctx.version.at_least(19);
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let aggregates = if with_generation {
        let data: AggregatesRequest = parse_body(&ctx.body, requests::put_aggregates(ctx.version))?;
        if data.resource_provider_generation != i64::from(rp.generation) {
            return Err(ApiError::conflict(
                "Resource provider's generation already changed. Please update the generation and \
                 try again.",
            )
            .with_code(ErrorCode::ConcurrentUpdate));
        }
        data.aggregates
    } else {
        parse_body::<Vec<String>>(&ctx.body, requests::put_aggregates(ctx.version))?
    };
    let generation = ctx
        .db()
        .write(|c| store::set_for_provider(c, rp.id, rp.generation, &aggregates, with_generation))
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderConcurrentUpdate) => {
                ApiError::conflict(format!("Update conflict: {d}")).with_code(ErrorCode::ConcurrentUpdate)
            }
            other => other.into(),
        })?;
    Ok(reply(ctx, aggregates, generation))
}
