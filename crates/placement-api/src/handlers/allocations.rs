//! `/allocations/{consumer_uuid}`, `POST /allocations` (1.13) and
//! `/resource_providers/{uuid}/allocations`.

use std::collections::BTreeMap;

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_model::query::{is_uuid_like, normalize_uuid};
use placement_storage::allocations::{self as store, AllocationRow, ConsumerWrite, GenerationCheck};
use placement_storage::{StorageError, consumers, providers};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::context::{Ctx, Reply, latest, parse_json};
use crate::error::ApiError;
use crate::schema::requests;

/// One provider's part of a consumer's allocations.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProviderAllocation {
    /// Ignored in requests (kept for symmetry with responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i32>,
    pub resources: BTreeMap<String, i64>,
}

/// `PUT /allocations/{consumer_uuid}` from 1.12 (and one consumer's entry
/// in `POST /allocations`).
#[derive(Deserialize, ToSchema)]
pub struct AllocationRequest {
    /// Provider uuid to its resources; empty removes everything (1.28+).
    pub allocations: BTreeMap<String, ProviderAllocation>,
    pub project_id: String,
    pub user_id: String,
    /// From 1.28; `null` when the consumer should not exist yet.
    #[serde(default)]
    pub consumer_generation: Option<i64>,
    /// From 1.38.
    #[serde(default)]
    pub consumer_type: Option<String>,
    /// From 1.34: accepted and ignored.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub mappings: Option<Value>,
}

/// A consumer's allocations.
#[derive(Serialize, ToSchema)]
pub struct ConsumerAllocationsBody {
    pub allocations: BTreeMap<String, ProviderAllocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_generation: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_type: Option<String>,
}

/// One consumer's part of a provider's allocations.
#[derive(Serialize, ToSchema)]
pub struct ConsumerResources {
    pub resources: BTreeMap<String, i64>,
    /// From 1.28.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_generation: Option<Option<i32>>,
}

#[derive(Serialize, ToSchema)]
pub struct ProviderAllocationsBody {
    pub allocations: BTreeMap<String, ConsumerResources>,
    pub resource_provider_generation: i32,
}

fn last_modified(rows: &[AllocationRow]) -> Option<chrono::NaiveDateTime> {
    latest(rows.iter().map(AllocationRow::last_modified))
}

#[utoipa::path(get, path = "/allocations/{consumer_uuid}",
    responses((status = 200, body = ConsumerAllocationsBody)))]
pub fn for_consumer(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:allocations:list")?;
    let uuid = ctx.param("consumer_uuid")?;
    let (rows, consumer, type_name) = ctx.read(|c| {
        let (rows, consumer) = store::of_consumer(c, uuid)?;
        let type_name = match &consumer {
            Some(consumer) => Some(consumers::type_name(c, consumer.consumer_type_id)?),
            None => None,
        };
        Ok((rows, consumer, type_name))
    })?;
    let mut allocations: BTreeMap<String, ProviderAllocation> = BTreeMap::new();
    for row in &rows {
        let entry = allocations
            .entry(row.provider_uuid.clone())
            .or_insert_with(|| ProviderAllocation { generation: None, resources: BTreeMap::new() });
        entry.generation = Some(row.provider_generation);
        entry.resources.insert(row.class.clone(), row.used);
    }
    let v = ctx.version;
    let owner = consumer.filter(|_| v.at_least(12));
    let body = ConsumerAllocationsBody {
        allocations,
        project_id: owner.as_ref().map(|c| c.project.clone()),
        user_id: owner.as_ref().map(|c| c.user.clone()),
        consumer_generation: owner.as_ref().filter(|_| v.at_least(28)).map(|c| c.generation),
        consumer_type: type_name.filter(|_| owner.is_some() && v.at_least(38)),
    };
    Ok(Reply::body(&body).modified(v, last_modified(&rows)))
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/allocations",
    responses((status = 200, body = ProviderAllocationsBody)))]
pub fn for_provider(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:allocations:list")?;
    let uuid = ctx.param("uuid")?;
    let (rp, rows) = ctx
        .db()
        .read(|c| {
            let rp = providers::get(c, uuid)?;
            let rows = store::of_provider(c, rp.id)?;
            Ok((rp, rows))
        })
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderNotFound(_)) => {
                ApiError::not_found(format!("Resource provider '{uuid}' not found: {d}"))
            }
            other => other.into(),
        })?;
    let mut allocations: BTreeMap<String, ConsumerResources> = BTreeMap::new();
    for (row, generation) in &rows {
        let entry = allocations
            .entry(row.consumer_uuid.clone())
            .or_insert_with(|| ConsumerResources { resources: BTreeMap::new(), consumer_generation: None });
        entry.resources.insert(row.class.clone(), row.used);
        if ctx.version.at_least(28) {
            entry.consumer_generation = Some(*generation);
        }
    }
    let modified = latest(rows.iter().map(|(r, _)| r.last_modified()));
    let body = ProviderAllocationsBody { allocations, resource_provider_generation: rp.generation };
    Ok(Reply::body(&body).modified(ctx.version, modified))
}

/// Allocations as the request gives them: provider uuid to (class,
/// amount), in request order.
type Allocations = Vec<(String, Vec<(String, i64)>)>;

fn amounts(resources: &Value) -> Vec<(String, i64)> {
    resources
        .as_object()
        .into_iter()
        .flatten()
        .map(|(class, n)| (class.clone(), n.as_f64().unwrap_or(0.0) as i64))
        .collect()
}

/// The allocations of a validated body, list form (before 1.12) or dict.
fn allocations_of(data: &Value) -> Allocations {
    match &data["allocations"] {
        Value::Array(items) => {
            let mut out: Allocations = Vec::new();
            for item in items {
                let uuid = item["resource_provider"]["uuid"].as_str().unwrap_or_default().to_string();
                let resources = amounts(&item["resources"]);
                // A provider named twice keeps its last entry, as a dict would.
                match out.iter_mut().find(|(u, _)| *u == uuid) {
                    Some(existing) => existing.1 = resources,
                    None => out.push((uuid, resources)),
                }
            }
            out
        }
        Value::Object(map) => map.iter().map(|(uuid, entry)| (uuid.clone(), amounts(&entry["resources"]))).collect(),
        _ => Vec::new(),
    }
}

/// One consumer's write from its validated body.
pub(crate) fn consumer_write(ctx: &Ctx, consumer_uuid: String, data: &Value) -> ConsumerWrite {
    let v = ctx.version;
    let settings = &ctx.state.placement;
    let (project, user) = match data.get("project_id").and_then(Value::as_str) {
        Some(p) => (p.to_string(), data.get("user_id").and_then(Value::as_str).unwrap_or_default().to_string()),
        None => (settings.incomplete_consumer_project_id.clone(), settings.incomplete_consumer_user_id.clone()),
    };
    ConsumerWrite {
        consumer_uuid,
        project,
        user,
        generation: if v.at_least(28) {
            GenerationCheck::Expect(data.get("consumer_generation").and_then(Value::as_i64))
        } else {
            GenerationCheck::Unchecked
        },
        consumer_type: if v.at_least(38) {
            data.get("consumer_type").and_then(Value::as_str).map(str::to_string)
        } else {
            None
        },
        allocations: allocations_of(data),
    }
}

/// Write, retrying lost races, and word failures as upstream does.
/// `class_error` words an unknown resource class.
fn write(ctx: &Ctx, writes: &[ConsumerWrite], class_error: impl Fn(&DomainError) -> String) -> Result<(), ApiError> {
    let attempts = ctx.state.placement.allocation_conflict_retry_count;
    ctx.db().write_retrying_conflicts(attempts, |c| store::replace(c, ctx.db().owner_ids(), writes)).map_err(
        |e| match e {
            StorageError::Domain(d) => match d {
                DomainError::ConsumerGenerationConflict { .. } => {
                    ApiError::conflict(d.to_string()).with_code(ErrorCode::ConcurrentUpdate)
                }
                DomainError::AllocationProviderNotFound(_) => ApiError::bad_request(d.to_string()),
                DomainError::ResourceClassNotFound(_) => ApiError::bad_request(class_error(&d)),
                DomainError::InvalidInventory { .. }
                | DomainError::AllocationCapacityExceeded { .. }
                | DomainError::AllocationConstraintsViolated { .. } => {
                    ApiError::conflict(format!("Unable to allocate inventory: {d}"))
                }
                DomainError::ProviderConcurrentUpdate | DomainError::ConsumerConcurrentUpdate => ApiError::conflict(
                    format!("Inventory and/or allocations changed while attempting to allocate: {d}"),
                )
                .with_code(ErrorCode::ConcurrentUpdate),
                other => other.into(),
            },
            other => other.into(),
        },
    )
}

#[utoipa::path(put, path = "/allocations/{consumer_uuid}", request_body = AllocationRequest,
    responses((status = 204), (status = 400), (status = 409)))]
pub fn put_for_consumer(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:allocations:update")?;
    let raw = ctx.param("consumer_uuid")?;
    if !is_uuid_like(raw) {
        return Err(ApiError::bad_request(format!("Malformed consumer_uuid: {raw}")));
    }
    let uuid = normalize_uuid(raw).unwrap_or_else(|| raw.to_string());
    let v = ctx.version;
    let schema = requests::put_allocations(v);
    let data = parse_json(&ctx.body, schema)?;
    let w = consumer_write(ctx, uuid.clone(), &data);
    write(ctx, &[w], |d| format!("Unable to allocate inventory for consumer {uuid}: {d}"))?;
    Ok(Reply::empty(204))
}

#[utoipa::path(post, path = "/allocations", request_body = BTreeMap<String, AllocationRequest>,
    responses((status = 204), (status = 400), (status = 409)))]
pub fn post(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:allocations:manage")?;
    let v = ctx.version;
    let schema = requests::post_allocations(v);
    let data = parse_json(&ctx.body, schema)?;
    let empty = Map::new();
    let writes: Vec<ConsumerWrite> =
        data.as_object().unwrap_or(&empty).iter().map(|(uuid, body)| consumer_write(ctx, uuid.clone(), body)).collect();
    // The parsed document is several times the body's size: not kept
    // through the write.
    drop(data);
    write(ctx, &writes, |d| format!("Unable to allocate inventory {d}"))?;
    Ok(Reply::empty(204))
}

#[utoipa::path(delete, path = "/allocations/{consumer_uuid}", responses((status = 204), (status = 404)))]
pub fn delete_for_consumer(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:allocations:delete")?;
    let uuid = ctx.param("consumer_uuid")?;
    let removed = ctx.write(|c| store::delete_for_consumer(c, uuid))?;
    if removed == 0 {
        return Err(ApiError::not_found(format!("No allocations for consumer '{uuid}'")));
    }
    Ok(Reply::empty(204))
}
