//! `/resource_providers/{uuid}/aggregates` (from 1.1; generations from 1.19).

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_storage::{StorageError, aggregates as store, providers};
use serde_json::{Value, json};

use crate::context::{Ctx, Reply, parse_json};
use crate::error::ApiError;
use crate::schema::requests;

fn reply(ctx: &Ctx, aggregates: &[String], generation: i32) -> Reply {
    let mut body = json!({"aggregates": aggregates});
    if ctx.version.at_least(19) {
        body["resource_provider_generation"] = json!(generation);
    }
    // Associations carry no times of their own; upstream reports now.
    Reply::json(body).modified(ctx.version, None)
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/aggregates", responses((status = 200)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:aggregates:list")?;
    let uuid = ctx.param("uuid");
    let (rp, aggregates) = ctx.read(|c| {
        let rp = providers::get(c, uuid)?;
        let aggregates = store::of_provider(c, rp.id)?;
        Ok((rp, aggregates))
    })?;
    Ok(reply(ctx, &aggregates, rp.generation))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}/aggregates", responses((status = 200)))]
pub fn replace(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:aggregates:update")?;
    let uuid = ctx.param("uuid");
    let with_generation = ctx.version.at_least(19);
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let schema = if with_generation {
        requests::put_aggregates_1_19()
    } else {
        requests::put_aggregates_1_1()
    };
    let data = parse_json(&ctx.body, schema)?;
    let list = if with_generation {
        &data["aggregates"]
    } else {
        &data
    };
    let aggregates: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if with_generation
        && data["resource_provider_generation"].as_i64() != Some(i64::from(rp.generation))
    {
        return Err(ApiError::conflict(
            "Resource provider's generation already changed. Please update the generation and try again.",
        )
        .with_code(ErrorCode::ConcurrentUpdate));
    }
    let generation = ctx
        .db()
        .write(|c| store::set_for_provider(c, rp.id, rp.generation, &aggregates, with_generation))
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderConcurrentUpdate) => {
                ApiError::conflict(format!("Update conflict: {d}"))
                    .with_code(ErrorCode::ConcurrentUpdate)
            }
            other => other.into(),
        })?;
    Ok(reply(ctx, &aggregates, generation))
}
