//! `POST /reshaper` (1.30; consumer types from 1.38).

use std::collections::BTreeMap;

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_storage::StorageError;
use placement_storage::reshaper::{self as store, ProviderInventories};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::context::{Ctx, Reply, parse_json};
use crate::error::ApiError;
use crate::handlers::allocations::{AllocationRequest, consumer_write};
use crate::handlers::inventories::InventoriesRequest;
use crate::schema::requests;

/// The new inventories of each provider and the new allocations of each
/// consumer.
#[derive(Deserialize, ToSchema)]
pub struct ReshapeRequest {
    pub inventories: BTreeMap<String, InventoriesRequest>,
    pub allocations: BTreeMap<String, AllocationRequest>,
}

#[utoipa::path(post, path = "/reshaper", request_body = ReshapeRequest,
    responses((status = 204), (status = 400), (status = 409)))]
pub fn reshape(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:reshaper:reshape")?;
    let data = parse_json(&ctx.body, requests::reshape(ctx.version))?;
    let empty = Map::new();
    let mut wanted = Vec::new();
    for (uuid, entry) in data["inventories"].as_object().unwrap_or(&empty) {
        let parsed: InventoriesRequest = serde_json::from_value(entry.clone())
            .map_err(|e| ApiError::bad_request(format!("JSON does not validate: {e}")))?;
        wanted.push(ProviderInventories {
            provider_uuid: uuid.clone(),
            generation: parsed.resource_provider_generation,
            inventories: parsed.inventories.iter().map(|(class, r)| r.inventory(class)).collect(),
        });
    }
    let writes: Vec<_> = data["allocations"]
        .as_object()
        .unwrap_or(&empty)
        .iter()
        .map(|(uuid, body): (&String, &Value)| consumer_write(ctx, uuid.clone(), body))
        .collect();
    let attempts = ctx.state.placement.allocation_conflict_retry_count;
    ctx.db()
        .write_retrying_conflicts(attempts, |c| store::reshape(c, ctx.db().owner_ids(), &wanted, &writes))
        .map_err(|e| match e {
            StorageError::Domain(d) => match d {
                DomainError::ProviderNotFound(ref uuid) => {
                    ApiError::bad_request(format!("Resource provider {uuid} in inventories not found: {d}"))
                        .with_code(ErrorCode::ResourceProviderNotFound)
                }
                DomainError::ProviderGenerationConflict { .. } | DomainError::ConsumerGenerationConflict { .. } => {
                    ApiError::conflict(d.to_string()).with_code(ErrorCode::ConcurrentUpdate)
                }
                DomainError::AllocationProviderNotFound(_) => ApiError::bad_request(d.to_string()),
                DomainError::ProviderConcurrentUpdate | DomainError::ConsumerConcurrentUpdate => {
                    ApiError::conflict(format!("update conflict: {d}")).with_code(ErrorCode::ConcurrentUpdate)
                }
                DomainError::ResourceClassNotFound(_) | DomainError::InventoryNotFound(_) => {
                    ApiError::bad_request(format!("malformed reshaper data: {d}"))
                }
                DomainError::InventoryInUse { .. } => {
                    ApiError::conflict(format!("update conflict: {d}")).with_code(ErrorCode::InventoryInUse)
                }
                DomainError::InvalidInventory { .. }
                | DomainError::AllocationCapacityExceeded { .. }
                | DomainError::AllocationConstraintsViolated { .. } => {
                    ApiError::conflict(format!("Unable to allocate inventory: {d}"))
                }
                other => other.into(),
            },
            other => other.into(),
        })?;
    Ok(Reply::empty(204))
}
